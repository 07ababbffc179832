#!/usr/bin/env bash
# Runs the manual example of the imap4 crate (it starts its own server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
exec cargo run --quiet -p imap4 --example manual "$@"
