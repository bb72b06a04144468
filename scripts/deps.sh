#!/usr/bin/env bash
# Installs the Debian packages farcall needs to build, test and demo.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # compiler and build
  clang libclang-rt-14-dev           # sanitizers and libFuzzer
  libcmocka-dev                      # unit-test framework
  libtirpc-dev rpcsvc-proto          # test peers: libtirpc and rpcgen (never linked into libfarcall)
  libsodium-dev                      # cryptography for the security layer
  libgnutls28-dev                    # its AES-256-GCM (the faster one; libsodium the fallback)
  libjansson-dev                     # JSON for dynamic calls (farcall/dyn.h, far call)
  libsqlite3-dev sqlite3             # the exactly-once reply store (farcall_sqlite) and its tests
  rpcbind                            # test peer: Debian's rpcbind and rpcinfo (started by the tests only)
  groff-base                         # man_pages and install_consumer render the man pages
  libxxhash-dev                      # bulk transfer: XXH3 checksums per chunk and per transfer
  libcurl4-openssl-dev               # cluster naming: etcd's JSON API (with libjansson)
  etcd-server etcd-client            # test peer: a three-member etcd cluster on loopback (tests only)
  python3-dissononce                 # test peer: an independent Noise implementation (tests only)
)

missing=()
for p in "${PACKAGES[@]}"; do
  case "$p" in \#*) continue ;; esac
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing missing Debian packages: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "deps: not root and no sudo; install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
# Debian's rpcbind starts its daemon on install when it can; the binder tests
# start and stop it themselves, so keep it from starting: a policy-rc.d that
# forbids starting services, for the length of the install only.
policy=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  placed=1
  trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
if [ "$placed" = 1 ]; then
  "${SUDO[@]}" rm -f "$policy"
  trap - EXIT
fi
# systemd socket activation (when systemd runs) would start it on first use
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl disable --now rpcbind.socket rpcbind.service >/dev/null 2>&1 || true
fi
