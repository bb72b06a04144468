#!/usr/bin/env bash
# Registration against Debian's rpcbind (a real peer): a second instance of a
# program leaves the first's entries alone and its stop removes nothing; an
# instance killed without unregistering is replaced by the next; a client
# opened by program follows the restart.  Needs root and a free port 111
# (ctest RESOURCE_LOCK port111); rpcbind is started here and stopped.
source "$(dirname "$0")/common.sh"
need_port111
RPCBIND=$(command -v rpcbind || echo /usr/sbin/rpcbind)
[ -x "$RPCBIND" ] || fail "rpcbind not installed (scripts/deps.sh installs it)"
EXTRA_CLEANUP="rm -f /run/rpcbind.sock"
unset FARCALL_BINDER
REG_PEER=$B/tests/bind/reg_peer
REG_PROG=$((0x20000bc1))

start_reg() {
  local name=$1; shift
  "$REG_PEER" serve "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q "^ready" "$TMP/$name.log" || fail "$name did not start"
}
port_of() { grep -o "listening tcp://127.0.0.1:[0-9]*" "$TMP/$1.log" | sed 's/.*://'; }
# the TCP port rpcbind has for REG_PROG version 1
registered_port() { rpcinfo -p 127.0.0.1 | awk -v p=$REG_PROG '$1 == p && $2 == 1 && $3 == "tcp" {print $4}'; }

"$RPCBIND" -f >"$TMP/rpcbind.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
wait_for 10 test -S /run/rpcbind.sock || fail "rpcbind did not start"
wait_for 10 rpcinfo -T tcp 127.0.0.1 100000 4 || fail "rpcbind not answering"

start_reg a tcp://127.0.0.1:0 "unix:$TMP/a.sock"
[ "$(registered_port)" = "$(port_of a)" ] || fail "first instance not registered: $(rpcinfo -p 127.0.0.1)"
start_reg b tcp://127.0.0.1:0 "unix:$TMP/b.sock"
grep -q "not registered with the binder at unix:/run/rpcbind.sock: already registered by a running server at tcp://127.0.0.1:$(port_of a) (not replaced)" \
  "$TMP/b.log" || fail "second instance: $(cat "$TMP/b.log")"
[ "$(registered_port)" = "$(port_of a)" ] || fail "the second instance took the entry: $(rpcinfo -p 127.0.0.1)"
stop_pid "$b_PID"
[ "$(registered_port)" = "$(port_of a)" ] || fail "the second's stop removed the first's entry: $(rpcinfo -p 127.0.0.1)"
rpcinfo -T tcp 127.0.0.1 $REG_PROG 1 | grep -q "ready and waiting" || fail "rpcinfo cannot reach the first"
pass "rpcbind: a second instance leaves the first's entry and its stop removes nothing"

"$REG_PEER" load "$REG_PROG/1" 6000 >"$TMP/load.log" 2>&1 &
LOAD_PID=$!; PIDS+=("$LOAD_PID")
wait_for 5 grep -qx "ok $a_PID" "$TMP/load.log" || fail "load: no answer from the first"
kill -9 "$a_PID"; wait "$a_PID" 2>/dev/null || true
[ "$(registered_port)" = "$(port_of a)" ] || fail "the killed server's entry is gone already"
start_reg d tcp://127.0.0.1:0 "unix:$TMP/d.sock"
[ "$(registered_port)" = "$(port_of d)" ] || fail "the dead entry was not replaced: $(rpcinfo -p 127.0.0.1) $(cat "$TMP/d.log")"
wait_for 8 grep -qx "ok $d_PID" "$TMP/load.log" || fail "the client did not follow the restart: $(tail -3 "$TMP/load.log")"
wait "$LOAD_PID" || true
[ "$(tail -1 "$TMP/load.log")" = "ok $d_PID" ] || fail "load: last call: $(tail -1 "$TMP/load.log")"
stop_pid "$d_PID"
rpcinfo -p 127.0.0.1 | grep -q " $REG_PROG " && fail "entries left after the last server: $(rpcinfo -p 127.0.0.1)"
pass "rpcbind: a dead entry is replaced, the client follows the restart, the last stop unregisters"
stop_pid "$RPID"
pass "all done"
