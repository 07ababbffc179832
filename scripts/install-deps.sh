#!/usr/bin/env bash
# Install what the tests need besides Rust: Dovecot 2.3 (dovecot-core,
# dovecot-imapd), the openssl command and python3. Idempotent: does nothing
# when everything is present. Never starts a system Dovecot: the tests run
# their own throw-away instances (crates/imap4-testkit).
set -euo pipefail

need=()
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || need+=(dovecot-core)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The fuzz smoke in scripts/test.sh builds libFuzzer from source.
command -v g++ >/dev/null 2>&1 || need+=(g++)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: dovecot, openssl, python3 and g++ are present"
  exit 0
fi

# Dovecot packages come together: install both when either is missing.
case " ${need[*]} " in
  *" dovecot-core "*|*" dovecot-imapd "*) need+=(dovecot-core dovecot-imapd) ;;
esac
# unique, keep order
mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++')

if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing ${need[*]}; run as root or install sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]} and no apt-get; install them by hand" >&2
  exit 1
fi

echo "install-deps: installing ${need[*]}"
# Keep package scripts from starting daemons (a system Dovecot on the
# standard ports): only when no policy is in place already.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${need[@]}"

for tool in /usr/sbin/dovecot /usr/lib/dovecot/imap; do
  [ -x "$tool" ] || { echo "install-deps: $tool still missing" >&2; exit 1; }
done
command -v openssl >/dev/null 2>&1 || { echo "install-deps: openssl still missing" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "install-deps: python3 still missing" >&2; exit 1; }
echo "install-deps: done"
