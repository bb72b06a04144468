#!/usr/bin/env bash
# Installs the built farcall into a temporary prefix, then builds a small
# outside project against it both ways: CMake find_package(farcall) and
# pkg-config, each with the shared and the static library, and runs them.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)/consumer
work=$(mktemp -d /tmp/farcall-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/farcall/farcall.h include/farcall/xdr.h; do
  [ -f "$prefix/$f" ] || { echo "install: missing $f"; exit 1; }
done
pc=$(find "$prefix" -name farcall.pc | head -n1)
cfg=$(find "$prefix" -name farcallConfig.cmake | head -n1)
[ -n "$pc" ] && [ -n "$cfg" ] || { echo "install: no farcall.pc or farcallConfig.cmake"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")

echo "== find_package(farcall)"
cmake -S "$src" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cm.log"
cmake --build "$work/cm" >>"$work/cm.log" 2>&1 || { cat "$work/cm.log"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/cm/consumer_shared"
"$work/cm/consumer_static"
# the shared one must really use the installed shared library
# (ldd's output is captured first: `ldd | grep -q` can fail under pipefail
# when grep exits early and ldd gets SIGPIPE)
deps=$(LD_LIBRARY_PATH=$libdir ldd "$work/cm/consumer_shared")
case "$deps" in
  *"$libdir/libfarcall.so"*) ;;
  *) echo "consumer_shared does not load $libdir/libfarcall.so:"; echo "$deps"; exit 1 ;;
esac

echo "== pkg-config farcall"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Wextra -Werror "$src/main.c" $(pkg-config --cflags --libs farcall) \
  -o "$work/pc_shared"
LD_LIBRARY_PATH=$libdir "$work/pc_shared"
cc -std=c11 -Wall -Wextra -Werror "$src/main.c" $(pkg-config --cflags farcall) \
  "$libdir/libfarcall.a" $(pkg-config --static --libs-only-l farcall | sed 's/-lfarcall//') \
  -o "$work/pc_static"
"$work/pc_static"
echo "install: 4 consumers built and ran"
