#!/usr/bin/env bash
# Runs every benchmark and appends the results to BENCHMARKS.md:
#  1. the parser micro-benchmark (criterion): imap4-proto's parse_response
#     against imap-proto and imap-codec, then the ratio table;
#  2. the end-to-end benchmark: imap4 against CPython's imaplib on a real
#     Dovecot with 10,000 messages.
# Extra arguments go to imap4-bench (e.g. --runs 5, --no-append).
# BENCH_CALLGRIND=1 also counts the parser's instructions with valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f scripts/install-deps.sh ]; then
    bash scripts/install-deps.sh
fi

cargo bench -p imap4-proto --bench parse
python3 scripts/parse-ratios.py --append BENCHMARKS.md
if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
    python3 scripts/parse-ratios.py --callgrind --append BENCHMARKS.md
fi
cargo run --release -p imap4-bench -- "$@"
