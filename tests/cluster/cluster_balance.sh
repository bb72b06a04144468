#!/usr/bin/env bash
# Client-side balancing over instances found through several binders
# (PROG/VERS@W1,W2,W3: three farbinds, one farcall server registered with
# each), and health (docs/cluster.md):
#   - a server ten times slower than the two others gets at most 10% of
#     the calls under the load-aware default (p2c), and its third under
#     round robin (which shows what the 10% measures);
#   - pick-first sends every call to the first instance;
#   - a server that hangs (SIGSTOP) is ejected within 1.5 s and let back
#     within 2 s of answering again;
#   - a call whose instance died running it: at most once, not sent
#     again; idempotent, answered by another instance;
#   - async calls are balanced, each callback runs once; those on an
#     instance killed under them are sent to another (0 failed);
#   - a server started on another port is found without reopening (the
#     binders are asked again every second).
. "$(dirname "$0")/common.sh"
unset FARCALL_ETCD
for i in 1 2 3; do
  "$FARBIND" -a "unix:$TMP/fb$i.sock" -p 0 >"$TMP/fb$i.log" 2>&1 &
  PIDS+=("$!")
  wait_for 10 grep -q ready "$TMP/fb$i.log" || fail "farbind $i did not start"
done
# (milliseconds, not less: the client's own scheduling on a loaded machine
# must not be a large part of what a call takes)
FARCALL_BINDER=unix:$TMP/fb1.sock start s1 "$SRV" 1 5000
FARCALL_BINDER=unix:$TMP/fb2.sock start s2 "$SRV" 2 5000
FARCALL_BINDER=unix:$TMP/fb3.sock start s3 "$SRV" 3 50000
SPEC=$PROG/1@unix:$TMP/fb1.sock,unix:$TMP/fb2.sock,unix:$TMP/fb3.sock
pass "three servers (5 ms, 5 ms, 50 ms a call), each registered with its own farbind"

"$CLIENT" share "$SPEC" 2000 8 p2c "$s3_ADDR" 3 10 >"$TMP/p2c.out" 2>&1 ||
  fail "p2c: $(cat "$TMP/p2c.out")"
cat "$TMP/p2c.out"
grep -q "2000 calls, 0 failed" "$TMP/p2c.out" || fail "p2c: calls failed"
pass "p2c: the slow server had at most 10% of the calls"

"$CLIENT" share "$SPEC" 600 8 round_robin "$s3_ADDR" 3 100 >"$TMP/rr.out" 2>&1 ||
  fail "round robin: $(cat "$TMP/rr.out")"
pct=$(grep -E "^  $s3_ADDR " "$TMP/rr.out" | tail -1 | sed -E 's/.*\( *([0-9.]+)%\).*/\1/')
cat "$TMP/rr.out"
python3 -c "import sys; sys.exit(0 if float('$pct') >= 30 else 1)" ||
  fail "round robin gave the slow server $pct% (each in turn: a third)"
pass "round robin: the slow server had $pct% of the calls"

"$CLIENT" share "$SPEC" 300 2 pick_first "$s3_ADDR" 3 100 >"$TMP/pf.out" 2>&1 ||
  fail "pick first: $(cat "$TMP/pf.out")"
first=$(printf '%s\n' "$s1_ADDR" "$s2_ADDR" "$s3_ADDR" | sort | head -1)
grep -qE "^  $first .*calls +300 " "$TMP/pf.out" || fail "pick first: not all to $first: $(cat "$TMP/pf.out")"
pass "pick first: all 300 calls to $first"

"$CLIENT" health "$SPEC" 3 "$s2_PID" "$s2_ADDR" >"$TMP/health.out" 2>&1 ||
  fail "health: $(cat "$TMP/health.out")"
cat "$TMP/health.out"
pass "a hung server ejected and let back"

"$CLIENT" async "$SPEC" 1000 3 >"$TMP/async.out" 2>&1 || fail "async: $(cat "$TMP/async.out")"
tail -1 "$TMP/async.out"
pass "1000 async calls balanced over the three, every callback once, 0 failed"

# a server moved to another port: found by the client already open
"$CLIENT" calls "$SPEC" 1500 4 1000 3 "$TMP/progress" - >"$TMP/move.out" 2>&1 &
CL=$!
PIDS+=("$CL")
progress() { [ -f "$TMP/progress" ] && [ "$(cat "$TMP/progress" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_for 30 progress 300 || fail "the client made no calls"
kill -TERM "$s1_PID"
wait "$s1_PID" || fail "s1 did not stop cleanly"
FARCALL_BINDER=unix:$TMP/fb1.sock start s1 "$SRV" 1 5000
for _ in $(seq 600); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done
wait "$CL" || fail "client: $(tail -20 "$TMP/move.out")"
grep -q "1500 calls, 0 failed" "$TMP/move.out" || fail "calls failed"
grep -qE "^  $s1_ADDR .* calls +[1-9]" "$TMP/move.out" || fail "s1's new address had no call: $(cat "$TMP/move.out")"
pass "s1 restarted at $s1_ADDR: found through its binder, 0 calls failed"
# async calls while an instance is killed: sent again elsewhere
"$CLIENT" async "$SPEC" 3000 3 "$s2_PID" >"$TMP/async-kill.out" 2>&1 ||
  fail "async with a kill: $(cat "$TMP/async-kill.out")"
wait "$s2_PID" 2>/dev/null || true
cat "$TMP/async-kill.out"
pass "3000 async calls, one instance killed during them: 0 failed"
FARCALL_BINDER=unix:$TMP/fb2.sock start s2 "$SRV" 2 5000

# which calls go to another instance after one died running them
"$CLIENT" semantics "$SPEC" 3 >"$TMP/sem.out" 2>&1 || fail "semantics: $(cat "$TMP/sem.out")"
cat "$TMP/sem.out"
pass "an at-most-once call that may have run is not sent again; an idempotent one is, elsewhere"
no_sanitizer_reports
echo "all cluster_balance checks passed"
