#!/usr/bin/env bash
# The rdir walk-through as an RPyC user does it, from a shell with no stubs:
# connect, ask what the server has (far describe), ask for its working
# directory, print on its standard output, list its library search path,
# and walk into the directories it names -- a tree made here, the server
# started in it with LD_LIBRARY_PATH pointing into it, and another server
# started in each subdirectory the walk reaches.  rdir.x has no directory
# listing procedure: the server's working directory and its library path
# are what it can list.
#   dyn_rdir.sh BUILD_DIR SOURCE_DIR [RPCGEN]
. "$(dirname "$0")/common.sh" "$@"
T=$(cd "$TMP" && pwd -P)/tree
mkdir -p "$T/lib/x86" "$T/lib/arm" "$T/share/doc" "$T/empty"
touch "$T/lib/x86/libdemo.so" "$T/share/doc/README"
start_binder
LD_LIBRARY_PATH="$T/lib/x86:$T/lib/arm:$T/share" start_server rdir "$T" "$EX/rdir/rdir_server" \
  "unix:$TMP/rdir.sock"
A=unix:$TMP/rdir.sock

# what is there (rpyc: conn.root)
"$FAR" describe "$A" RDIR_PROG >"$TMP/rdir.x" || fail "far describe rdir"
for p in "path GET_CWD(void) = 1;" "void PRINT(path) = 2;" "path_list LIBRARY_PATH(void) = 3;"; do
  grep -qF "$p" "$TMP/rdir.x" || fail "far describe rdir has no '$p': $(cat "$TMP/rdir.x")"
done
pass "far describe: rdir's three procedures"

# conn.modules.os.getcwd()
expect_json "GET_CWD: the tree's root" "\"$T\"" "$FAR" call "$A" RDIR_PROG.1.GET_CWD null
# print("...") on the server
expect_json "PRINT" null "$FAR" call "$A" RDIR_PROG.1.PRINT '"written by far call"'
wait_for 5 grep -q "written by far call" "$TMP/rdir.log" || fail "PRINT did not reach the server's output"
pass "PRINT: on the server's standard output"
# conn.modules.sys.path
r=$("$FAR" call "$A" RDIR_PROG.1.LIBRARY_PATH null) || fail "LIBRARY_PATH"
[ "$(json_get "$r" 'v[:3]')" = "['$T/lib/x86', '$T/lib/arm', '$T/share']" ] ||
  fail "LIBRARY_PATH does not start with LD_LIBRARY_PATH: $r"
[ "$(json_get "$r" 'any(p.startswith("/usr/lib") or p.startswith("/lib") for p in v[3:])')" = True ] ||
  fail "LIBRARY_PATH has none of the loader's directories: $r"
pass "LIBRARY_PATH: LD_LIBRARY_PATH first, then the loader's directories"

# walk into every directory under the tree the path names, and one level
# below: a server started there reports it as its working directory
n=0
for dir in $(json_get "$r" '" ".join(p for p in v if p.startswith("'"$T"'"))') "$T/share/doc" "$T/empty"; do
  n=$((n + 1))
  start_server "walk$n" "$dir" "$EX/rdir/rdir_server" "unix:$TMP/walk$n.sock"
  expect_json "walk into ${dir#$T/}" "\"$dir\"" "$FAR" call "unix:$TMP/walk$n.sock" RDIR_PROG.RDIR_V1.GET_CWD ""
  stop_pid "$(eval echo "\$walk${n}_PID")"
done
[ $n = 5 ] || fail "walked $n directories, want 5"
# a path longer than path<4096> is refused before it is sent, naming the bound
long=$(printf 'x%.0s' $(seq 4097))
expect_err "PRINT of a path over path<4096>" "arguments of PRINT: .*4096" \
  "$FAR" call "$A" RDIR_PROG.1.PRINT "\"$long\""
echo "all dyn_rdir checks passed"
