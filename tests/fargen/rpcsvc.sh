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
# Exceptions, where the .x file itself is at fault, are listed below with the
# reason; for each the test checks that fargen's diagnostic (or the compiler's,
# on code copied verbatim from the .x) is the expected one.
#
# usage: rpcsvc.sh FARGEN INCLUDE_DIR CC
set -u
fargen=$1 inc=$2 cc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 pass=0

# file -> how it fails and why; checked below
declare -A expect_fargen=(
    # types used but defined in another file (nis_object.x, which nis.x includes)
    [nis_callback.x]="nis_callback.x:51:9: error: unknown type 'nis_object'"
    # des_block is a C type of libtirpc's <rpc/auth.h>; no .x defines it
    [key_prot.x]="key_prot.x:101:2: error: unknown type 'des_block'"
)
declare -A expect_cc=(
    # pass-through code calls __FBSDID, a FreeBSD macro glibc lacks
    [crypt.x]="__FBSDID"
)
# pass-through "#pragma ident" lines, unknown to gcc: compiled with
# -Wno-unknown-pragmas (nis.x includes nis_object.x)
declare -A relax=([nis_object.x]=1 [nis.x]=1)

flags=(-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
       -I"$inc" -I/usr/include/tirpc)
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
    if ! "$fargen" -a -o "$out" "$x" 2>"$out/fargen.err"; then
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
                -I"$out" -fsyntax-only "$out/hdr.cc" 2>"$out/cxx.err"; then
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
echo "$pass files compiled, $fail failed"
[ $fail = 0 ]
