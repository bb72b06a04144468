#!/bin/bash
# nis_callback.x has no echo server: its two types (obj_p, cback_data) are
# made of nis_object, a type of nis.x that it does not include, and no
# library here has xdr_nis_object to link rpcgen's code with.  This test
# prints the skip and checks it still holds: it fails once mkecho.py finds a
# type of the file that does not need nis_object (then it should get an echo
# server like the others, in CMakeLists.txt).
#
# usage: nis_callback.sh RPCGEN PYTHON3
set -u
rpcgen=$1 py=$2
here=$(cd "$(dirname "$0")" && pwd)
x=/usr/include/rpcsvc/nis_callback.x
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -e "$x" ] || { echo "FAIL: no $x: install rpcsvc-proto (scripts/deps.sh)"; exit 1; }
why="made of nis_object (nis.x's), whose XDR routine no library here has"
if "$py" "$here/mkecho.py" --rpcgen "$rpcgen" --prog 0x2fff00ff --out "$work" \
        --skip "obj_p=$why" --skip "cback_data=$why" "$x" 2>"$work/err"; then
    echo "FAIL: nis_callback.x has types other than obj_p and cback_data: $(cat "$work/echo_nis_callback.types")"
    exit 1
fi
if ! grep -q "no type of .* left to echo" "$work/err"; then
    echo "FAIL: mkecho.py:"; cat "$work/err"; exit 1
fi
echo "SKIP obj_p: $why"
echo "SKIP cback_data: $why"
echo "nis_callback.x: 1 file, 0 types, 0 values, 0 mismatches, 0 types failed, 2 skipped"
