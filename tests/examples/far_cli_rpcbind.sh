#!/usr/bin/env bash
# far against Debian's rpcbind, a classic binder that keeps no names: far info
# prints the table and silently leaves the names out; far name says the
# binder keeps none.  Needs root and a free port 111 (ctest RESOURCE_LOCK
# port111), as tests/bind/bind_rpcbind.sh.
source "$(dirname "$0")/../bind/common.sh"
need_port111
RPCBIND=$(command -v rpcbind || echo /usr/sbin/rpcbind)
[ -x "$RPCBIND" ] || fail "rpcbind not installed (scripts/deps.sh installs it)"
EXTRA_CLEANUP="rm -f /run/rpcbind.sock"
unset FARCALL_BINDER

"$RPCBIND" -f >"$TMP/rpcbind.log" 2>&1 &
PIDS+=("$!")
wait_for 10 test -S /run/rpcbind.sock || fail "rpcbind did not start"
wait_for 10 rpcinfo -T tcp 127.0.0.1 100000 4 || fail "rpcbind not answering"

out=$("$FAR" info 2>"$TMP/info.err") || fail "far info via rpcbind: $(cat "$TMP/info.err")"
[ ! -s "$TMP/info.err" ] || fail "far info via rpcbind wrote to stderr: $(cat "$TMP/info.err")"
echo "$out" | grep -q "^binder unix:/run/rpcbind.sock: " || fail "far info did not ask rpcbind: $out"
echo "$out" | grep -Eq "^ +100000 +4 +" || fail "far info lacks rpcbind's own entries: $out"
echo "$out" | grep -q "names" && fail "far info via rpcbind mentions names: $out"
"$FAR" info -x | grep -Eq "^0x000186a0 +4 " || fail "far info -x via rpcbind"
pass "far info via rpcbind: the table, no names, nothing on stderr"

out=$("$FAR" name list 2>&1) && fail "far name list via rpcbind succeeded: $out"
echo "$out" | grep -q "keeps no names" || fail "far name list via rpcbind: $out"
out=$("$FAR" name set farcli 12345 2>&1) && fail "far name set via rpcbind succeeded: $out"
echo "$out" | grep -q "keeps no names" || fail "far name set via rpcbind: $out"
out=$("$FAR" name get farcli 2>&1) && fail "far name get via rpcbind succeeded: $out"
echo "$out" | grep -q "keeps no names" || fail "far name get via rpcbind: $out"
pass "far name via rpcbind: the binder keeps no names"
pass "all done"
