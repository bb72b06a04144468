#!/bin/bash
# Every output of `fargen -a` for one .x compiles warning-free as C11 with gcc
# and clang (and as C23 where the compiler knows -std=c2x: typeof, constexpr,
# nullptr ... are keywords there), and the header as C++11 and C++20 with g++
# and clang++ (co_await, concept, requires, char8_t ... are keywords from
# C++20 on).  gcc and g++ must be there; clang and clang++ are used if they are.
#
# usage: compile.sh FARGEN FILE.x INCLUDE_DIR
set -u
fargen=$1 x=$2 inc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 n=0
base=$(basename "$x" .x)
if ! "$fargen" -a -o "$work" "$x"; then
    echo "FAIL: fargen -a $x"
    exit 1
fi
for tool in gcc g++; do
    command -v $tool >/dev/null || { echo "FAIL: $tool not found"; exit 1; }
done
# does COMPILER accept -std=STD for a file of LANGUAGE (c or c++)?
knows() {
    echo 'int x;' | "$1" -x "$3" -std="$2" -fsyntax-only - 2>/dev/null
}
flags=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -I"$inc" -I"$work")
for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    for std in c11 c2x; do
        knows $cc $std c || continue
        for f in "$work"/*.c; do
            n=$((n + 1))
            if $cc -std=$std "${flags[@]}" -c "$f" -o "$work/o.o" 2>"$work/err"; then
                echo "ok $cc -std=$std $(basename "$f")"
            else
                echo "FAIL $cc -std=$std $(basename "$f"):"; head -20 "$work/err"; fail=$((fail + 1))
            fi
        done
    done
done
printf '#include "%s.h"\nint main() { return 0; }\n' "$base" >"$work/hdr.cc"
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || continue
    for std in c++11 c++20; do
        knows $cxx $std c++ || continue
        n=$((n + 1))
        if $cxx -std=$std -Wall -Wextra -Werror -Wshadow -I"$inc" -I"$work" -fsyntax-only \
                "$work/hdr.cc" 2>"$work/err"; then
            echo "ok $cxx -std=$std $base.h"
        else
            echo "FAIL $cxx -std=$std $base.h:"; head -20 "$work/err"; fail=$((fail + 1))
        fi
    done
done
echo "$n compilations, $fail failed"
[ $fail = 0 ]
