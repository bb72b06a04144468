#!/usr/bin/env bash
# `make demo`: the rdir example end to end on loopback (a server on a Unix
# socket in a temporary directory, a client calling it, the server stopped
# gracefully; everything started here is stopped), then the XDR codec demo.
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
"$here/../examples/run_example.sh" rdir "$build/examples/rdir/rdir_server" \
    "$build/examples/rdir/rdir_client" "hello from make demo"
"$build/examples/xdrdemo/xdrdemo"
