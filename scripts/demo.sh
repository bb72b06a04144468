#!/usr/bin/env bash
# `make demo`: until the runtime lands, the demo shows the XDR codec at work.
set -euo pipefail
build=${1:-build}
"$build/examples/xdrdemo/xdrdemo"
