#!/usr/bin/env bash
# How servers register with farbind, and how clients find them again:
#   - a second instance does not take over the first's entry, says so, and
#     when it stops leaves the first's entry alone; with require_binder it
#     does not start;
#   - an instance that died without unregistering is replaced by the next;
#   - the .x program name is registered with the server, found by clients
#     ("REG_PROG/1"), and goes with the last server of its program;
#   - a client opened by program keeps working across a server restart on
#     other addresses (it looks the server up again);
#   - no binder, or a full table: the server says why; require_binder makes
#     it fatal.
source "$(dirname "$0")/common.sh"
REG_PEER=$B/tests/bind/reg_peer
REG_PROG=$((0x20000bc1))

# start_reg NAME ARGS...: reg_peer serve in the background, log in
# $TMP/NAME.log (stdout and the library's log), pid in $NAME_PID.
start_reg() {
  local name=$1; shift
  "$REG_PEER" serve "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q "^ready" "$TMP/$name.log" || fail "$name did not start"
}
info() { "$FAR" info; }

# probing off (-p 0): the entries of a killed server must stay until the
# next server finds them dead
start_farbind fb -a "unix:$TMP/fb.sock" -p 0
export FARCALL_BINDER="unix:$TMP/fb.sock"

# --- the first instance registers its program and its .x name
start_reg a "unix:$TMP/a.sock" tcp://127.0.0.1:0
A_TCP=$(grep -o "listening tcp://127.0.0.1:[0-9]*" "$TMP/a.log" | sed 's/listening //')
[ "$(count $REG_PROG)" = 2 ] || fail "first instance: $(count $REG_PROG) registrations, not 2"
grep -q "info: program $REG_PROG (REG_PROG) version 1 on local: registered unix:$TMP/a.sock" "$TMP/a.log" \
  || fail "no info line for the registration"
info | grep -Eq "^ +REG_PROG +$REG_PROG " || fail "the .x name is not registered: $(info)"
"$REG_PEER" load REG_PROG/1 100 | grep -qx "ok $a_PID" || fail "a client by .x name"
pass "a server registers its program and its .x name (REG_PROG/1 finds it)"

# --- a second instance: not replaced, said so, not fatal; fatal with -r
start_reg b "unix:$TMP/b.sock" tcp://127.0.0.1:0
grep -q "warning: program $REG_PROG (REG_PROG) version 1 on local (unix:$TMP/b.sock): not registered with the binder at unix:$TMP/fb.sock: already registered by a running server at unix:$TMP/a.sock (not replaced)" "$TMP/b.log" \
  || fail "the second instance does not say why it is not registered"
grep -q "already registered by a running server at $A_TCP (not replaced)" "$TMP/b.log" \
  || fail "the second instance: nothing said for tcp"
info | grep -q "$TMP/a.sock" || fail "the first's unix entry was replaced: $(info)"
info | grep -q "$TMP/b.sock" && fail "the second's entry is in the table: $(info)"
"$REG_PEER" serve -r "unix:$TMP/c.sock" >"$TMP/c.log" 2>&1 && fail "-r started while a live server holds the entry"
grep -q "^start failed: FAR_EADDRINUSE: .*already registered by a running server at unix:$TMP/a.sock (not replaced) (far_server_opts.require_binder is set)" \
  "$TMP/c.log" || fail "-r: $(cat "$TMP/c.log")"
[ -e "$TMP/c.sock" ] && fail "-r: the failed server left its socket"
stop_pid "$b_PID"
grep -q "^stopped" "$TMP/b.log" || fail "second instance did not stop cleanly"
[ "$(count $REG_PROG)" = 2 ] || fail "stopping the second instance removed entries: $(info)"
info | grep -q "$TMP/a.sock" || fail "stopping the second instance removed the first's entry"
info | grep -Eq "^ +REG_PROG +$REG_PROG " || fail "stopping the second instance removed the name"
"$REG_PEER" load "$REG_PROG/1" 100 | grep -qx "ok $a_PID" || fail "the first is not reachable after the second stopped"
pass "a second instance leaves the first's entries (and says so), -r refuses to start, its stop removes nothing"

# --- a client opened by program, across a restart on other addresses: the
# first instance dies without unregistering (SIGKILL), the next one finds its
# entries dead and replaces them, and the client finds the new one
"$REG_PEER" load "$REG_PROG/1" 6000 >"$TMP/load.log" 2>&1 &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
wait_for 5 grep -qx "ok $a_PID" "$TMP/load.log" || fail "load: no answer from the first"
kill -9 "$a_PID"
wait "$a_PID" 2>/dev/null || true
sleep 0.3
[ "$(count $REG_PROG)" = 2 ] || fail "the killed server's entries are gone already: $(info)"
start_reg d "unix:$TMP/d.sock" tcp://127.0.0.1:0
grep -q "registered unix:$TMP/d.sock" "$TMP/d.log" || fail "the next server did not replace the dead entry: $(cat "$TMP/d.log")"
info | grep -q "$TMP/a.sock" && fail "the dead entry is still there: $(info)"
wait_for 8 grep -qx "ok $d_PID" "$TMP/load.log" || fail "the client did not find the restarted server: $(tail -5 "$TMP/load.log")"
wait "$LOAD_PID" || true
grep -q "^err " "$TMP/load.log" || fail "load: no failure while no server ran (the test did not test)"
[ "$(tail -1 "$TMP/load.log")" = "ok $d_PID" ] || fail "load: last call: $(tail -1 "$TMP/load.log")"
pass "a dead registration is replaced; a client opened by program finds the restarted server ($(grep -c '^err' "$TMP/load.log") calls failed meanwhile)"

# --- the name goes with the last server of its program
stop_pid "$d_PID"
[ "$(count $REG_PROG)" = 0 ] || fail "entries left after the last server stopped: $(info)"
"$PEER" name lookup REG_PROG | grep -qx FAR_ENOTREG || fail "the name stays after its server: $(info)"
out=$("$REG_PEER" load REG_PROG/1 100 2>&1) && fail "a client found a stopped server by name"
echo "$out" | grep -q "open failed: FAR_EADDR: REG_PROG: unknown program name" || fail "gone name: $out"
out=$("$REG_PEER" load "$REG_PROG/1" 100 2>&1) && fail "a client found a stopped server"
echo "$out" | grep -q "open failed: FAR_ENOTREG: program $REG_PROG version 1: not registered with the binder at unix:$TMP/fb.sock" \
  || fail "not registered: $out"
pass "the name and the entries go with the last server; the client says not registered (FAR_ENOTREG)"

# --- no binder: said, not fatal; fatal with -r
export FARCALL_BINDER="unix:$TMP/none.sock"
start_reg e "unix:$TMP/e.sock"
grep -q "warning: not registered with a binder: no binder answered (tried unix:$TMP/none.sock)" "$TMP/e.log" \
  || fail "no binder: $(cat "$TMP/e.log")"
stop_pid "$e_PID"
"$REG_PEER" serve -r "unix:$TMP/e.sock" >"$TMP/e2.log" 2>&1 && fail "-r started without a binder"
grep -q "^start failed: FAR_ENOBINDER: " "$TMP/e2.log" || fail "-r without binder: $(cat "$TMP/e2.log")"
out=$("$REG_PEER" load "$REG_PROG/1" 100 2>&1) && fail "a client found a server without a binder"
echo "$out" | grep -q "open failed: FAR_ENOBINDER: no binder answered (tried unix:$TMP/none.sock)" \
  || fail "client without binder: $out"
pass "no binder: the server warns (fatal with -r), the client says FAR_ENOBINDER"

# --- a full table: the reason comes from farbind (FARBIND_WHY)
start_farbind full -a "unix:$TMP/full.sock" -p 0 -m 1
export FARCALL_BINDER="unix:$TMP/full.sock"
start_reg f "unix:$TMP/f.sock"
"$REG_PEER" serve -r -v 2 "unix:$TMP/g.sock" >"$TMP/g.log" 2>&1 && fail "-r started with the table full"
grep -q "^start failed: FAR_ETOOMANY: .*the binder refused: the binder's table is full (1 registration: farbind -m raises it)" \
  "$TMP/g.log" || fail "full table: $(cat "$TMP/g.log")"
stop_pid "$f_PID"
pass "a full table: the server reports farbind's reason"
pass "all done"
