#!/usr/bin/env bash
# layers.sh SRC_DIR: the runtime's layers are kept (docs/architecture.md).
# Each layer uses only those below it:
#   common < xdr < msg < net < clnt, svc < bulk, bind, cluster < hooks.c (the wiring);
#   noise (the Noise core) uses only common
# Checked here from the source text: which internal headers each folder
# includes, and which names of the layers above it appears in its code.
set -u
src=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# includes: folder -> headers it must not include
check_includes() {
    local dir=$1
    shift
    for f in "$src/$dir"/*.[ch]; do
        for h in "$@"; do
            if grep -qE "^#include \"$h" "$f"; then
                bad "$(basename "$dir")/$(basename "$f") includes $h (a layer above it)"
            fi
        done
    done
}
check_includes common xdr/ msg/ net/ clnt/ svc/ bind/ hooks.h farcall/rpc.h farcall/bind.h
check_includes xdr msg/ net/ clnt/ svc/ bind/ hooks.h farcall/rpc.h farcall/bind.h
check_includes msg net/ clnt/ svc/ bind/ hooks.h farcall/rpc.h farcall/bind.h
check_includes noise msg/ net/ clnt/ svc/ bind/ dyn/ hooks.h farcall/rpc.h farcall/bind.h
check_includes net clnt/ svc/ bind/ hooks.h farcall/rpc.h farcall/bind.h
check_includes clnt svc/ bind/ cluster/ farcall/bind.h
check_includes svc clnt/ bind/ cluster/ farcall/bind.h
# bulk is built on the public client and server (and what hooks.h asks of them)
check_includes bulk clnt/ svc/ bind/ net/ farcall/bind.h
# the cluster layer is written on the public API (and common/), as bind is
check_includes cluster clnt/ svc/ msg/ net/ xdr/ bind/

# names: folder -> identifiers of the layers above it it must not use
check_names() {
    local dir=$1 re=$2 what=$3
    local hits
    # comments do not count, nor text in string literals (an error message
    # may name the option of another layer that raises a limit)
    hits=$(grep -nE "$re" "$src/$dir"/*.[ch] | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)' |
        sed -E 's/"([^"\\]|\\.)*"/""/g' | grep -E "$re" || true)
    if [ -n "$hits" ]; then
        bad "$dir names $what:"
        echo "$hits" | head -5
    fi
}
check_names common 'far_(client|server|svc_req|bind)|far__(client|server|svc|bind|stream|loop)' 'the client, server, binder or net'
check_names msg 'far_(client|server|svc_req|bind)_|far__(client|server|svc_|bind_|stream|loop)' 'the client, server, binder or net'
check_names net 'far_(client|server|svc_req|bind)_|far__(client|server|svc_|bind_)' 'the client, server or binder'
check_names clnt 'far_bind_|far__bind_|far_server_|far__svc_|far__server_' 'the binder or the server'
check_names svc 'far_bind_|far__bind_|far_client_|far__(tab|conn|io|udp|client)_|far__call_(get|free|unref|set_status|complete|unlink|fail|detach)' 'the binder or the client'

# the one file that wires the binder in
for f in "$src"/*.c; do
    [ "$(basename "$f")" = hooks.c ] && continue
    grep -q '#include "bind/' "$f" && bad "$(basename "$f") includes bind/ (only hooks.c may)"
    grep -q '#include "cluster/' "$f" && bad "$(basename "$f") includes cluster/ (only hooks.c may)"
done

# each .c file of the runtime opens with a comment naming its job
for f in "$src"/*/*.c "$src"/*.c; do
    head -1 "$f" | grep -q '^/\*' || bad "$f does not open with a comment saying what it does"
done

[ $fail = 0 ] && echo "ok: layers kept"
exit $fail
