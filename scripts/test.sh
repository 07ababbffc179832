#!/usr/bin/env bash
# The full check: dependencies, formatting, lints, all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
section() { printf '\n==== %s ====\n' "$*"; }

section "install dependencies"
scripts/install-deps.sh </dev/null
# Nothing below reads stdin; a test must not block on, or read, the
# caller's. (install-deps.sh has made /dev/null the null device.)
exec </dev/null

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

section "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

section "cargo test"
cargo test --workspace --all-features

section "cargo package (imap4-proto, imap4)"
# Verified in a fresh target dir, with no imap4-proto left unpacked or
# built by an earlier run: cargo treats a registry crate of the same
# version as unchanged, so imap4 would be checked against a stale copy.
rm -rf target/package
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rm -rf "$cargo_home"/registry/src/-*/imap4-proto-* "$cargo_home"/registry/cache/-*/imap4-proto-*
package_target=$(mktemp -d)
cargo package -p imap4-proto -p imap4 --allow-dirty --target-dir "$package_target"
rm -rf "$package_target"

section "fuzz regressions and smoke (${FUZZ_SECONDS:-30} s per target)"
FUZZ_REGRESSIONS=1 scripts/fuzz-smoke.sh
scripts/fuzz-smoke.sh

section "all checks passed"
