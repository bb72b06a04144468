#!/usr/bin/env python3
"""far call against one rpcgen + libtirpc echo server (peers.sh runs it
with the server up, PORT its port).

usage: peers.py FAR ECHO.x PORT TYPES SKIP MIN [COUNT]

Asks `far describe --json --x ECHO.x` for the echo program's description;
for each type of TYPES (mkecho.py's list: one procedure ECHO_T per type),
writes COUNT (1000) random values of it (dynvalues.py, seeded by the type's
name) and the first VARIANTS (100) of them again in other forms the mapping
accepts (enums by number, hypers as JSON integers, base64url...), pipes them into `far call --x ECHO.x tcp://127.0.0.1:PORT
ECHO_PROG.1.ECHO_T -` and compares every line far prints with the line
sent (as first written): it must be a value of the type in canonical form
and the same value.
Prints one line per type and a summary; exits 1 on any mismatch, any far
failure, or fewer than MIN types run.  Types not run are printed with why
(SKIP: mkecho.py's --skip list; those whose values need a type with no XDR
here).
"""
import json
import os
import random
import subprocess
import sys
import zlib

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dynvalues  # noqa: E402

CALL_SECONDS = 150  # one far call - process of COUNT values (ASan builds are slow)
VARIANTS = 100  # values sent again in other accepted forms (dynvalues.vary)


def no_constant(name):
    raise ValueError("not JSON: %s" % name)


def sanitizer_report(text):
    return any(s in text for s in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                                   "UndefinedBehaviorSanitizer"))


def run_far(args, stdin=None, timeout=60):
    r = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit(__doc__.split("\n\n")[1])
    far, xfile, port, types_file, skip_file, minimum = sys.argv[1:7]
    count = int(sys.argv[7]) if len(sys.argv) == 8 else 1000
    host = "tcp://127.0.0.1:%s" % port
    fname = os.path.basename(xfile)
    types = [t for t in open(types_file).read().split() if t]
    skipped = [ln.split(": ", 1) for ln in open(skip_file).read().splitlines() if ln.strip()]

    rc, out, err = run_far([far, "describe", "--json", "--x", xfile, host, "ECHO_PROG.1"])
    if rc or sanitizer_report(err):
        print("FAIL %s: far describe --json exited %d:\n%s" % (fname, rc, err.strip()))
        return 1
    desc = dynvalues.Desc(json.loads(out, parse_constant=no_constant))
    procs = {p["name"]: p for p in desc.d["procs"]}

    ran = values = mismatches = 0
    failed = []
    for t in types:
        p = procs.get("ECHO_" + t.upper())
        if p is None or len(p["args"]) != 1:
            print("FAIL %s: the description has no procedure ECHO_%s of one argument"
                  % (t, t.upper()))
            failed.append(t)
            continue
        ti = p["args"][0]
        why = desc.unusable(ti)
        if why:
            skipped.append((t, why))
            continue
        rng = random.Random(zlib.crc32(("%s/%s" % (fname, t)).encode()))
        sent = [desc.gen(rng, ti) for _ in range(count)]
        lines = [dynvalues.dumps(v) for v in sent]
        # then VARIANTS of them in other forms far accepts, to come back as
        # they were first written
        want = list(lines)
        for v in sent[:VARIANTS]:
            lines.append(dynvalues.dumps(desc.vary(rng, ti, v)))
            want.append(dynvalues.dumps(v))
        try:
            rc, out, err = run_far([far, "call", "-t", "20000", "--x", xfile, host,
                                    "ECHO_PROG.1.ECHO_" + t.upper(), "-"],
                                   ("\n".join(lines) + "\n").encode("utf-8"), CALL_SECONDS)
        except subprocess.TimeoutExpired:
            print("FAIL %s: far call took over %d s" % (t, CALL_SECONDS))
            failed.append(t)
            continue
        got = out.split("\n")
        if got and got[-1] == "":
            got.pop()
        bad, first = 0, None
        for k, line in enumerate(lines):
            echo = got[k] if k < len(got) else None
            why = None
            if echo is None:
                why = "no output line"
            elif echo.startswith("error: "):
                why = echo
            else:
                try:
                    v = json.loads(echo, parse_constant=no_constant)
                    desc.check(ti, v, "result")
                    where = desc.same(ti, json.loads(want[k]), v, "result")
                    if where:
                        why = "differs at %s" % where
                except ValueError as e:
                    why = str(e)
            if why:
                bad += 1
                if first is None:
                    first = "line %d: %s\n    sent %s\n    got  %s" % (k + 1, why, line[:400],
                                                                     (echo or "")[:400])
                    if line != want[k]:
                        first += "\n    want %s" % want[k][:400]
        if len(got) > len(lines):
            bad += 1
            first = first or "%d lines printed for %d sent" % (len(got), len(lines))
        if rc not in (0, 1) or (rc == 1 and not bad) or (rc == 0 and bad):
            bad += 1
            first = first or "far call exited %d" % rc
        if sanitizer_report(err):
            bad += 1
            first = (first or "") + "\n    sanitizer:\n" + err[:2000]
        ran += 1
        values += len(lines)
        mismatches += bad
        if bad:
            failed.append(t)
            print("FAIL %s: %d of %d values (far exited %d)\n  first: %s%s"
                  % (t, bad, len(lines), rc, first,
                     "\n  stderr: " + err.strip()[:600] if err.strip() else ""))
        else:
            print("ok %s: %d values (%d of them again in other accepted forms)"
                  % (t, len(lines), len(lines) - len(sent)))

    for t, why in skipped:
        print("SKIP %s: %s" % (t, why))
    print("%s: 1 file, %d types, %d values, %d mismatches, %d types failed, %d skipped"
          % (fname, ran, values, mismatches, len(failed), len(skipped)))
    if ran < int(minimum):
        print("FAIL %s: %d types ran, fewer than the %s expected" % (fname, ran, minimum))
        return 1
    return 1 if failed or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
