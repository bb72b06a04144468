#!/usr/bin/env bash
# farbind's command line and table rules, each against a farbind of its own on
# a Unix socket in a temp dir (and loopback TCP where a rule needs it):
# --help/--version, -v logging of SET and UNSET.
source "$(dirname "$0")/common.sh"
P1=$((0x20000d01))

# --- --help and --version: exit 0, on stdout, nothing on stderr
out=$("$FARBIND" --help 2>"$TMP/err") || fail "farbind --help exited $?"
[ ! -s "$TMP/err" ] || fail "farbind --help wrote to stderr: $(cat "$TMP/err")"
echo "$out" | grep -q "^usage: farbind " || fail "farbind --help: no usage line: $out"
echo "$out" | grep -q -- "--version" || fail "farbind --help does not mention --version"
"$FARBIND" -h | grep -q "^usage: farbind " || fail "farbind -h"
out=$("$FARBIND" --version 2>"$TMP/err") || fail "farbind --version exited $?"
[ ! -s "$TMP/err" ] || fail "farbind --version wrote to stderr: $(cat "$TMP/err")"
echo "$out" | grep -Eqx "farbind \(farcall\) [0-9]+\.[0-9]+\.[0-9]+" || fail "farbind --version: $out"
rc=0; "$FARBIND" --no-such-option >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "an unknown option exited $rc, not 2"
grep -q -- "--help" "$TMP/err" || fail "an unknown option does not point at --help: $(cat "$TMP/err")"
pass "--help and --version exit 0 on stdout; an unknown option exits 2"

# --- -v logs SET and UNSET (the entries point where nothing listens: no probing)
start_farbind vlog -v -a "unix:$TMP/v.sock" -p 0
export FARCALL_BINDER="unix:$TMP/v.sock"
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET"
"$PEER" unset $P1 1 | grep -qx true || fail "UNSET"
"$PEER" unset $P1 1 | grep -qx false || fail "UNSET of nothing"
grep -q "SET $P1/1 tcp 127.0.0.1.1.1 by superuser.*: ok" "$TMP/vlog.log" || fail "-v: no SET line"
grep -q "UNSET $P1/1 tcp 127.0.0.1.1.1 of superuser, by superuser (unix: uid 0): removed" \
  "$TMP/vlog.log" || fail "-v: no UNSET line"
grep -q "UNSET $P1/1 (every transport) by superuser (unix: uid 0): nothing registered" \
  "$TMP/vlog.log" || fail "-v: no line for the UNSET that removed nothing"
stop_pid "$vlog_PID"
pass "-v logs SET, UNSET and an UNSET that removed nothing"

pass "all done"
