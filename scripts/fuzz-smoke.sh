#!/usr/bin/env bash
# Fuzz smoke test: builds the fuzz targets in fuzz/ with plain cargo on
# stable Rust (no cargo-fuzz, nothing to install: libfuzzer-sys builds
# libFuzzer from source with the system C++ compiler), then runs every
# target for FUZZ_SECONDS seconds (default 30) over its seed corpus,
# one target at a time. Exits non-zero if any target crashed (the others
# still run); each crashing input is left in fuzz/artifacts/<target>/.
#
# Environment:
#   FUZZ_SECONDS      seconds per target (default 30)
#   FUZZ_TARGETS      space-separated targets (default: all of them)
#   FUZZ_REGRESSIONS  1: instead of fuzzing, replay fuzz/regressions/<target>/*
#                     once each (fails while a recorded bug is not fixed)
#   CARGO_BUILD_JOBS  build parallelism (default 1)
#   FUZZ_BUILD_ONLY   1: build the targets and stop (scripts/fuzz-long.sh)
#
# New inputs found during the run go to a temporary directory, so the
# committed corpus does not change.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-frame parse frame_parse session encode utf7}
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

# The flags `cargo fuzz build --sanitizer none -O -a` (cargo-fuzz 0.13)
# passes on Linux, plus -Coverflow-checks, which -Cdebug-assertions
# already implies. See fuzz/README.md.
fuzz_rustflags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    --cfg fuzzing
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cdebug-assertions
    -Coverflow-checks
    -Ccodegen-units=1
)
export RUSTFLAGS="${fuzz_rustflags[*]} ${RUSTFLAGS:-}"

# --target keeps RUSTFLAGS away from build scripts and proc macros.
cargo build --manifest-path fuzz/Cargo.toml --target-dir fuzz/target \
    --release --target "$triple" --bins
bin=fuzz/target/$triple/release
[[ ${FUZZ_BUILD_ONLY:-0} == 1 ]] && exit 0

failed=()
for t in $targets; do
    if [[ ${FUZZ_REGRESSIONS:-0} == 1 ]]; then
        inputs=(fuzz/regressions/"$t"/*)
        [[ -e ${inputs[0]} ]] || continue
        echo "== $t: replaying ${#inputs[@]} regression input(s)"
        if ! "$bin/$t" -runs=1 "${inputs[@]}"; then
            failed+=("$t")
        fi
        continue
    fi
    echo "== $t: ${seconds}s"
    scratch=$(mktemp -d)
    mkdir -p "fuzz/artifacts/$t"
    status=0
    "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
        -dict=fuzz/dict/imap.dict \
        "$scratch" "fuzz/corpus/$t" || status=$?
    rm -rf "$scratch"
    if [[ $status != 0 ]]; then
        echo "== $t: FAILED (exit $status); input in fuzz/artifacts/$t/" >&2
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz smoke: crash in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz smoke: all targets ran without a crash"
