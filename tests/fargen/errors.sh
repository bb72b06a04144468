#!/bin/bash
# Every error class: each errors/NAME.x starts with "/* expect: MESSAGE */"
# (or "// expect: MESSAGE", for a message with a "*/" in it).
# fargen must exit with status 1, print exactly that diagnostic
# ("file:line:col: error: ..." naming the offending token), and leave the output
# directory as it was: no new files, no temporary files, an old output untouched.
#
# usage: errors.sh FARGEN ERRORS_DIR
set -u
fargen=$1 dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 n=0
for x in "$dir"/*.x; do
    name=$(basename "$x" .x)
    n=$((n + 1))
    want=$(sed -n '1s|^/\* expect: \(.*\) \*/$|\1|p; 1s|^// expect: \(.*\)$|\1|p' "$x")
    mkdir -p "$work/$name/out"
    cp "$x" "$work/$name/"
    echo "stale" >"$work/$name/out/$name.h"  # an old output must survive
    (cd "$work/$name" && "$fargen" -a -o out "$name.x") >"$work/$name/stdout" 2>"$work/$name/stderr"
    st=$?
    got=$(cat "$work/$name/stderr")
    files=$(cd "$work/$name/out" && ls -A)
    if [ $st != 1 ]; then
        echo "FAIL $name: exit status $st, expected 1"; fail=$((fail + 1))
    elif [ "$got" != "$want" ]; then
        echo "FAIL $name:"; echo "  expected: $want"; echo "  got:      $got"; fail=$((fail + 1))
    elif [ "$files" != "$name.h" ] || [ "$(cat "$work/$name/out/$name.h")" != stale ]; then
        echo "FAIL $name: the output directory changed: $files"; fail=$((fail + 1))
    else
        echo "ok $name: $got"
    fi
done
# and the same through cpp's line markers: an error in an included file names it
mkdir -p "$work/inc/out"
printf 'struct ok { int a; };\n#include "bad.h.x"\n' >"$work/inc/main.x"
printf '\n\nstruct bad { nosuch b; };\n' >"$work/inc/bad.h.x"
got=$(cd "$work/inc" && "$fargen" -o out main.x 2>&1)
n=$((n + 1))
if [ "$got" != "bad.h.x:3:14: error: unknown type 'nosuch' (defined outside the .x? declare it: --extern nosuch, or /*@ extern nosuch */ in the .x)" ] ||
   [ -n "$(ls -A "$work/inc/out")" ]; then
    echo "FAIL include: $got"; fail=$((fail + 1))
else
    echo "ok include: $got"
fi
echo "$n error cases, $fail failed"
[ $fail = 0 ]
