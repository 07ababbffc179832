#!/usr/bin/env bash
# The full check: dependencies, formatting, lints, all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==== %s ====\n' "$*"; }

section "install dependencies"
scripts/install-deps.sh

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

section "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

section "cargo test"
cargo test --workspace --all-features

section "cargo package (imap4-proto, imap4)"
cargo package -p imap4-proto -p imap4 --allow-dirty

section "fuzz regressions and smoke (${FUZZ_SECONDS:-30} s per target)"
FUZZ_REGRESSIONS=1 scripts/fuzz-smoke.sh
scripts/fuzz-smoke.sh

section "all checks passed"
