#!/bin/bash
# Golden tests: fargen's output for each tests/golden/NAME.x must equal the
# checked-in tests/golden/expected/NAME/ files byte for byte, and compile
# warning-free (C11 with gcc and clang, the header also as C++ with g++ and
# clang++).
#
# usage: golden.sh FARGEN GOLDEN_DIR INCLUDE_DIR
# To regenerate after an intended change (then review the diff):
#   FARGEN_GOLDEN_UPDATE=1 tests/golden/golden.sh build/tools/fargen/fargen tests/golden include
# Update mode never passes (exit status 1 once the files are written), so a
# run with FARGEN_GOLDEN_UPDATE set, in CI say, cannot go green by rewriting
# the expected output.
set -u
fargen=$1 dir=$2 inc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 updated=0
for x in "$dir"/*.x; do
    name=$(basename "$x" .x)
    mkdir -p "$work/$name"
    cp "$x" "$work/$name/"
    # run in the .x file's directory so markers and banners name "NAME.x"
    if ! (cd "$work/$name" && "$fargen" -a "$name.x"); then
        echo "FAIL $name: fargen failed"; fail=$((fail + 1)); continue
    fi
    rm "$work/$name/$name.x"
    before=$fail
    if [ -n "${FARGEN_GOLDEN_UPDATE:-}" ]; then
        rm -rf "$dir/expected/$name"
        mkdir -p "$dir/expected/$name"
        cp "$work/$name"/* "$dir/expected/$name/"
        echo "updated $name"; updated=$((updated + 1))
    elif ! diff -ru "$dir/expected/$name" "$work/$name"; then
        echo "FAIL $name: output differs from tests/golden/expected/$name"; fail=$((fail + 1))
        continue
    fi
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        for f in "$work/$name"/*.c; do
            if ! $cc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
                    -I"$inc" -I"$work/$name" -c "$f" -o "$work/o.o"; then
                echo "FAIL $name: $cc $(basename "$f")"; fail=$((fail + 1))
            fi
        done
    done
    printf '#include "%s.h"\n' "$name" >"$work/h.cc"
    for cxx in g++ clang++; do
        [ $cxx = g++ ] || command -v $cxx >/dev/null || continue
        if ! $cxx -std=c++11 -Wall -Wextra -Werror -I"$inc" -I"$work/$name" -fsyntax-only "$work/h.cc"; then
            echo "FAIL $name: header as C++ ($cxx)"; fail=$((fail + 1))
        fi
    done
    [ $fail = $before ] && echo "ok $name"
done
if [ -n "${FARGEN_GOLDEN_UPDATE:-}" ]; then
    echo "updated $updated golden directories in $dir/expected — review the diff;" \
         "update mode never passes (unset FARGEN_GOLDEN_UPDATE to test)"
    exit 1
fi
[ $fail = 0 ]
