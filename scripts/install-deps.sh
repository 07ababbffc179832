#!/usr/bin/env bash
# Install what the tests need besides Rust: the four IMAP servers the test
# kit starts (Dovecot 2.3, Cyrus IMAP 3.6, Courier-IMAP 5, GNU Mailutils
# imap4d 3.15), the openssl command, python3 and g++. Idempotent: does
# nothing when everything is present. Never starts a system server: the
# tests run their own throw-away instances (crates/imap4-testkit).
#
# cyrus-imapd and courier-imap both conflict with dovecot-imapd
# (Provides/Conflicts: imap-server), so only their libraries and tools are
# installed, and the two small conflicting packages are unpacked privately
# into $IMAP4_TESTKIT_PKGS (default /var/cache/imap4-testkit) with
# `apt-get download` + `dpkg-deb -x`, without registering them with dpkg.
set -euo pipefail

# A plain file at /dev/null keeps whatever is written to it (build scripts
# send their probe compilers' warnings there), and whatever opens it to read
# gets those bytes: cargo's `rustc -` target probe then fails on them
# ("unknown start of token"). `imap4 show -o /dev/null`, run as root by an
# old CLI test, once renamed a temp file over the device and left such a
# file behind. Put the real device back when we can (root), else empty the
# file; either way say so.
if [ ! -c /dev/null ]; then
  if [ "$(id -u)" = 0 ] && mknod -m 666 /dev/null.imap4-$$ c 1 3 2>/dev/null \
    && mv -f /dev/null.imap4-$$ /dev/null; then
    echo "install-deps: /dev/null was a plain file; replaced it with the null device" >&2
  else
    rm -f /dev/null.imap4-$$ 2>/dev/null || true
    : 2>/dev/null >/dev/null || true
    echo "install-deps: warning: /dev/null is a plain file (not a device) and could not be replaced" >&2
  fi
fi

PKGS=${IMAP4_TESTKIT_PKGS:-/var/cache/imap4-testkit}
# (package, a file it installs)
wanted=(
  "dovecot-core /usr/sbin/dovecot"
  "dovecot-imapd /usr/lib/dovecot/imap"
  "cyrus-common /usr/lib/cyrus/bin/master"
  "sasl2-bin /usr/sbin/saslpasswd2"
  "courier-base /usr/sbin/couriertcpd"
  "courier-authdaemon /usr/lib/courier/courier-authlib/authdaemond"
  "courier-authlib-userdb /usr/sbin/makeuserdb"
  "mailutils-imap4d /usr/sbin/imap4d"
  "openssl /usr/bin/openssl"
  "python3 python3"
  "g++ g++"
)
private=(
  "cyrus-imapd usr/lib/cyrus/bin/imapd"
  "courier-imap usr/bin/imapd"
)

present() { [ -x "$1" ] || command -v "$1" >/dev/null 2>&1; }

need=()
for w in "${wanted[@]}"; do
  set -- $w
  present "$2" || need+=("$1")
done
unpack=()
for p in "${private[@]}"; do
  set -- $p
  [ -e "$PKGS/$1/$2" ] || unpack+=("$1")
done

if [ ${#need[@]} -eq 0 ] && [ ${#unpack[@]} -eq 0 ]; then
  echo "install-deps: all four IMAP servers, openssl, python3 and g++ are present"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing ${need[*]} ${unpack[*]}; run as root or install sudo" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${need[*]} ${unpack[*]} and no apt-get; install them by hand" >&2
  exit 1
fi

# Keep package scripts from starting daemons (a system Dovecot, Cyrus or
# Courier on the standard ports): only when no policy is in place already.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
fi
updated=0
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  updated=1
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${need[@]}"
fi

for p in "${private[@]}"; do
  set -- $p
  [ -e "$PKGS/$1/$2" ] && continue
  echo "install-deps: unpacking $1 into $PKGS/$1 (not registered with dpkg)"
  work=$(mktemp -d)
  (cd "$work" && { apt-get download "$1" >/dev/null 2>&1 ||
    { [ $updated = 1 ] || "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null; updated=1
      apt-get download "$1"; }; })
  "${SUDO[@]}" mkdir -p "$PKGS"
  "${SUDO[@]}" rm -rf "$PKGS/$1"
  "${SUDO[@]}" dpkg-deb -x "$work"/"$1"_*.deb "$PKGS/$1"
  rm -rf "$work"
done

missing=()
for w in "${wanted[@]}"; do
  set -- $w
  present "$2" || missing+=("$2")
done
for p in "${private[@]}"; do
  set -- $p
  [ -e "$PKGS/$1/$2" ] || missing+=("$PKGS/$1/$2")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: still missing: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: done"
