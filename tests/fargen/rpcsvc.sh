#!/bin/bash
# Every .x of the system (Debian's libc6-dev / rpcsvc-proto in /usr/include/rpcsvc,
# libtirpc-dev in /usr/include/tirpc/rpcsvc) goes through fargen, read in place
# (so #include "nis_object.x" resolves), and every generated file compiles with
# -Wall -Wextra -Werror as C11 (gcc and clang), the header also as C++.
#
# Generated code is compiled with -I/usr/include/tirpc because pass-through
# lines in these files include <rpc/types.h> and <rpc/xdr.h>, which glibc no
# longer ships; libtirpc's are the ones rpcgen's output would use too.
#
# Types a .x uses without defining them (rpcgen trusts that xdr_T exists) are
# declared with fargen --extern, as a user would, with the user's header (and
# for des_block a codec, tests/fargen/extern/des_block.c, compiled here too).
#
# Exceptions, where the .x file itself is at fault, are listed below with the
# reason; for each the test checks that fargen's diagnostic (or the compiler's,
# on code copied verbatim from the .x) is the expected one.
#
# usage: rpcsvc.sh FARGEN INCLUDE_DIR CC
set -u
fargen=$1 inc=$2 cc=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 pass=0

# file -> the types it uses but no .x it includes defines (rpcgen: "trusts
# that xdr_T exists"), declared external
declare -A fargen_opts=(
    # des_block is a C type of libtirpc's <rpc/auth.h>; the codec is ours
    [key_prot.x]="--extern des_block=des_block.h"
    # nis_object and nis_error are nis.x's (<rpcsvc/nis.h>, which the file's
    # own pass-through lines include)
    [nis_callback.x]="--extern nis_object --extern nis_error"
)
# file -> how it fails and why; checked below
declare -A expect_fargen=()
declare -A expect_cc=(
    # pass-through code calls __FBSDID, a FreeBSD macro glibc lacks
    [crypt.x]="__FBSDID"
    # pass-through code includes "nis_clnt.h", which no system ships
    # (rpcgen's output fails the same way)
    [nis_callback.x]="nis_clnt.h"
)
# pass-through "#pragma ident" lines, unknown to gcc: compiled with
# -Wno-unknown-pragmas (nis.x includes nis_object.x)
declare -A relax=([nis_object.x]=1 [nis.x]=1 [nis_callback.x]=1)

flags=(-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
       -I"$inc" -I/usr/include/tirpc -I"$here/extern")
compilers=("$cc")
for c in gcc clang; do
    command -v $c >/dev/null && [ "$(command -v $c)" != "$(command -v "$cc")" ] && compilers+=($c)
done
cxx=$(command -v g++ || command -v clang++)

# A missing corpus fails the test rather than shrinking it.
for d in "/usr/include/rpcsvc rpcsvc-proto" "/usr/include/tirpc/rpcsvc libtirpc-dev"; do
    read -r dir pkg <<<"$d"
    if ! compgen -G "$dir/*.x" >/dev/null; then
        echo "FAIL: no .x files in $dir: install $pkg (scripts/deps.sh)"
        exit 1
    fi
done

for x in /usr/include/rpcsvc/*.x /usr/include/tirpc/rpcsvc/*.x; do
    name=$(basename "$x")
    base=${name%.x}
    out="$work/$base"
    mkdir -p "$out"
    # shellcheck disable=SC2086 # the options are words
    if ! "$fargen" -a ${fargen_opts[$name]:-} -o "$out" "$x" 2>"$out/fargen.err"; then
        want=${expect_fargen[$name]:-}
        if [ -n "$want" ] && grep -qF "$want" "$out/fargen.err" && [ -z "$(ls "$out"/*.[ch] 2>/dev/null)" ]; then
            echo "EXCEPTION $name: $(cat "$out/fargen.err")"
        else
            echo "FAIL $name: fargen failed:"; cat "$out/fargen.err"; fail=$((fail + 1))
        fi
        continue
    fi
    if [ -n "${expect_fargen[$name]:-}" ]; then
        echo "FAIL $name: expected fargen to fail with ${expect_fargen[$name]}"; fail=$((fail + 1))
        continue
    fi
    extra=()
    [ -n "${relax[$name]:-}" ] && extra=(-Wno-unknown-pragmas)
    ok=1
    for c in "${compilers[@]}"; do
        for f in "$out"/*.c; do
            if ! $c "${flags[@]}" "${extra[@]}" -I"$out" -c "$f" -o "$out/o.o" 2>"$out/cc.err"; then
                want=${expect_cc[$name]:-}
                if [ -n "$want" ] && grep -qF "$want" "$out/cc.err" &&
                   ! grep -v "$want" "$out/cc.err" | grep -q "error:.*$base"'\.[hc]:' ; then
                    continue  # the expected failure, in code copied from the .x
                fi
                echo "FAIL $name: $c $(basename "$f"):"; head -20 "$out/cc.err"; ok=0
            fi
        done
    done
    if [ -n "$cxx" ]; then
        printf '#include "%s.h"\n' "$base" >"$out/hdr.cc"
        if ! $cxx -std=c++11 -Wall -Wextra -Werror "${extra[@]}" -I"$inc" -I/usr/include/tirpc \
                -I"$here/extern" -I"$out" -fsyntax-only "$out/hdr.cc" 2>"$out/cxx.err"; then
            echo "FAIL $name: the header as C++:"; head -20 "$out/cxx.err"; ok=0
        fi
    fi
    if [ -n "${expect_cc[$name]:-}" ] && [ $ok = 1 ]; then
        # the header (RPC_HDR skips the bad pass-through) must still compile
        echo "EXCEPTION $name: pass-through code needs ${expect_cc[$name]}; the header compiles"
        continue
    fi
    if [ $ok = 1 ]; then
        pass=$((pass + 1)); echo "ok $name"
    else
        fail=$((fail + 1))
    fi
done
# the user's codec of an external type compiles against fargen's header
for c in "${compilers[@]}"; do
    if ! $c "${flags[@]}" -I"$work/key_prot" -include key_prot.h -c "$here/extern/des_block.c" \
            -o "$work/o.o" 2>"$work/cc.err"; then
        echo "FAIL des_block.c ($c):"; head -20 "$work/cc.err"; fail=$((fail + 1))
    fi
done
echo "$pass files compiled, $fail failed"
[ $fail = 0 ]
