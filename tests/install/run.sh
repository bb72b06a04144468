#!/usr/bin/env bash
# Installs the built farcall into a temporary prefix, checks the tools and the
# man pages are there, then builds a small outside project against it both
# ways -- CMake find_package(farcall) with farcall_generate, and pkg-config
# with the installed fargen -- with the shared and the static library, and
# runs it.  README.md's "Use farcall in your project" shows these commands.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)/consumer
work=$(mktemp -d /tmp/farcall-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/farcall/farcall.h include/farcall/xdr.h bin/fargen bin/far sbin/farbind; do
  [ -e "$prefix/$f" ] || { echo "install: missing $f"; exit 1; }
done
"$prefix/bin/far" --version | grep -q "^far (farcall) " || { echo "install: far --version"; exit 1; }

echo "== man pages"
mandir=$prefix/share/man
for f in man1/far.1 man1/fargen.1 man8/farbind.8 man3/farcall.3 man3/farcall_err.3 \
         man3/farcall_arena.3 man3/farcall_xdr.3 man3/farcall_rpc.3 man3/farcall_bind.3 \
         man3/far_client_call.3 man3/far_server_create.3 man3/far_arena_init.3 \
         man3/far_xdr_dec_init.3 man3/far_bind_name_set.3 man3/far_strerror.3; do
  [ -f "$mandir/$f" ] || { echo "install: missing share/man/$f"; exit 1; }
done
grep -q "^\.TH FAR 1 .*\"farcall [0-9.]*\"" "$mandir/man1/far.1" ||
  { echo "install: far.1 has no version: $(head -1 "$mandir/man1/far.1")"; exit 1; }
# an alias page renders as the page it points at (groff -s: soelim)
(cd "$mandir" && groff -s -man -Tutf8 man3/far_client_call.3) | grep -q "far_client_call_async" ||
  { echo "install: man3/far_client_call.3 does not render farcall_rpc(3)"; exit 1; }
if command -v man >/dev/null; then
  out=$(MANPATH=$mandir man -w far_client_call 2>&1) && [[ $out == "$mandir/man3/"* ]] ||
    { echo "install: man does not find far_client_call under $mandir: $out"; exit 1; }
  MANPATH=$mandir MANPAGER=cat man 8 farbind 2>/dev/null | grep -q "portmapper" ||
    { echo "install: man 8 farbind"; exit 1; }
fi
echo "man pages: share/man/man1, man3 (pages and aliases), man8"
pc=$(find "$prefix" -name farcall.pc | head -n1)
cfg=$(find "$prefix" -name farcallConfig.cmake | head -n1)
[ -n "$pc" ] && [ -n "$cfg" ] || { echo "install: no farcall.pc or farcallConfig.cmake"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")

export FARCALL_BINDER=none # hello's server registers nowhere

echo "== find_package(farcall) + farcall_generate"
cmake -S "$src" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cm.log"
cmake --build "$work/cm" >>"$work/cm.log" 2>&1 || { cat "$work/cm.log"; exit 1; }
grep -q "fargen hello.x" "$work/cm.log" || { echo "farcall_generate did not run fargen"; exit 1; }
grep -q "FARCALL_FARGEN:FILEPATH=$prefix/bin/fargen" "$work/cm/CMakeCache.txt" ||
  { echo "farcall_generate did not use the installed fargen:"; grep FARGEN "$work/cm/CMakeCache.txt"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/cm/consumer_shared"
"$work/cm/consumer_static"
out=$(LD_LIBRARY_PATH=$libdir "$work/cm/hello" "$work/hello.sock" cmake)
[ "$out" = "hello, cmake" ] || { echo "hello (CMake) answered '$out'"; exit 1; }
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
mkdir "$work/gen"
"$prefix/bin/fargen" -o "$work/gen" "$src/hello.x"
cc -std=c11 -Wall -Wextra -Werror -I"$work/gen" "$src/hello.c" "$work/gen/hello_xdr.c" \
  "$work/gen/hello_clnt.c" "$work/gen/hello_svc.c" $(pkg-config --cflags --libs farcall) \
  -o "$work/pc_hello"
out=$(LD_LIBRARY_PATH=$libdir "$work/pc_hello" "$work/hello.sock" pkg-config)
[ "$out" = "hello, pkg-config" ] || { echo "hello (pkg-config) answered '$out'"; exit 1; }
echo "install: 6 consumers built and ran (2 with stubs from the installed fargen)"
