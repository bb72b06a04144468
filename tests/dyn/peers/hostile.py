#!/usr/bin/env python3
"""Hostile JSON for far call, against the rpcgen echo server of mix.x
(peers.sh runs it with the server up, PORT its port).

usage: hostile.py [--names] FAR ECHO_MIX.x PORT

Two tests run it: dyn_hostile checks that far refuses every case safely
(exit status, one line, no sanitizer report, bounded memory, the server
still up); dyn_hostile_names (--names) checks as well that each error
names what the issue asks for (the field), so a safety regression is not
hidden behind a message that is merely unhelpful.

Every case must be refused: far exits non-zero and below 128 (no signal),
prints one line that names the field at fault (or, for JSON that does not
parse, what is wrong with it), and no sanitizer report.  Cases: 100,000
nested arrays and objects, a list through optional data deeper than
FAR_DYN_MAX_DEPTH, 1e400 and 99999999999999999999 for integer fields, a
wrong JSON type for every kind, out-of-range values, invalid UTF-8, a
100 MB string for a string<255> (far runs under a 1.5 GB address-space
limit, unless it is built with ASan, and its peak RSS must stay under
1 GB; and 10 MB, under far's line limit), duplicate, missing and extra members, bad discriminants and arms.
The same cases go once more through one `far call -` (one line each): one
error line each, and a valid call after them is answered.  The server must
answer a valid call at the end (and peers.sh checks it is still up).
"""
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

SMALLS = {"c": 1, "uc": 2, "s": 3, "us": 4, "i": 5, "u": 6, "b": True}
NUMBERS = {"h": "1", "uh": "2", "f": 1.5, "d": 2.5, "hs": ["1", "2"], "uhs": [], "ds": []}
NOTE = {"id": 1, "text": "hi"}
TREE = {"id": 1, "left": None, "right": None, "extra": None}
AS_LIMIT = 1536 << 20  # bytes of address space (ulimit -v 1.5 GB)
RSS_LIMIT = 1024 << 20  # bytes of peak RSS
BIG = 100 << 20  # the long string's length


def with_(base, **kw):
    v = dict(base)
    v.update(kw)
    return json.dumps(v)


def raw_with(base, key, text):
    """base with member key's value replaced by raw JSON text."""
    v = dict(base)
    v[key] = "@@"
    return json.dumps(v).replace('"@@"', text)


# (procedure, JSON text or bytes, what the error must name: a regex)
CASES = [
    # nesting
    ("ECHO_COLORS", "[" * 100000, r"(?i)depth|nest|deep"),
    # (20,000: a command-line argument is at most 128 KiB)
    ("ECHO_NOTE", '{"id":' * 20000, r"(?i)depth|nest|deep"),
    ("ECHO_LIST", '{"key":"k","val":{"status":1},"next":' * 3000 + "null" + "}" * 3000,
     r"(?i)depth|nest|deep|FAR_DYN_MAX_DEPTH"),
    # numbers too big for any integer
    ("ECHO_SMALLS", raw_with(SMALLS, "i", "1e400"), r"\bi\b"),
    ("ECHO_SMALLS", raw_with(SMALLS, "i", "99999999999999999999"), r"\bi\b"),
    ("ECHO_SMALLS", raw_with(SMALLS, "u", "99999999999999999999"), r"\bu\b"),
    ("ECHO_NUMBERS", raw_with(NUMBERS, "h", "99999999999999999999"), r"\bh\b"),
    ("ECHO_NUMBERS", raw_with(NUMBERS, "uh", "1e400"), r"\buh\b"),
    ("ECHO_NUMBERS", raw_with(NUMBERS, "d", "1e400"), r"\bd\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, h="99999999999999999999"), r"\bh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, h="9223372036854775808"), r"\bh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, uh="18446744073709551616"), r"\buh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, uh="-1"), r"\buh\b"),
    # a JSON integer for a hyper is accepted within +-2^53 only
    ("ECHO_NUMBERS", raw_with(NUMBERS, "h", "9007199254740993"), r"\bh\b"),
    # out of range for the small integers
    ("ECHO_SMALLS", with_(SMALLS, c=128), r"\bc\b"),
    ("ECHO_SMALLS", with_(SMALLS, uc=256), r"\buc\b"),
    ("ECHO_SMALLS", with_(SMALLS, uc=-1), r"\buc\b"),
    ("ECHO_SMALLS", with_(SMALLS, s=32768), r"\bs\b"),
    ("ECHO_SMALLS", with_(SMALLS, us=65536), r"\bus\b"),
    ("ECHO_SMALLS", with_(SMALLS, i=2**31), r"\bi\b"),
    ("ECHO_SMALLS", with_(SMALLS, u=-1), r"\bu\b"),
    ("ECHO_SMALLS", with_(SMALLS, u=2**32), r"\bu\b"),
    # wrong JSON types, one per kind
    ("ECHO_SMALLS", with_(SMALLS, i="x"), r"\bi\b"),
    ("ECHO_SMALLS", with_(SMALLS, i=1.5), r"\bi\b"),
    ("ECHO_SMALLS", with_(SMALLS, u=True), r"\bu\b"),
    ("ECHO_SMALLS", with_(SMALLS, c=[]), r"\bc\b"),
    ("ECHO_SMALLS", with_(SMALLS, us={}), r"\bus\b"),
    ("ECHO_SMALLS", with_(SMALLS, b=1), r"\bb\b"),
    ("ECHO_SMALLS", with_(SMALLS, b="true"), r"\bb\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, h=True), r"\bh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, h="12x"), r"\bh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, uh=[]), r"\buh\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, f="abc"), r"\bf\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, f=None), r"\bf\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, d=[]), r"\bd\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, hs=["1"]), r"\bhs\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, hs="1"), r"\bhs\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, uhs=["1", "2", "3", "4"]), r"\buhs\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, ds={}), r"\bds\b"),
    ("ECHO_NUMBERS", with_(NUMBERS, ds=[1, "x"]), r"\bds\b"),
    ("ECHO_SHAPE", '{"kind":"PURPLE","radius":1}', r"\bkind\b"),
    ("ECHO_SHAPE", '{"kind":1.5,"radius":1}', r"\bkind\b"),
    ("ECHO_SHAPE", '{"kind":true,"radius":1}', r"\bkind\b"),
    ("ECHO_SHAPE", '{"radius":1}', r"\bkind\b"),
    ("ECHO_SHAPE", '{"kind":"RED","sides":[]}', r"\bradius\b|\bsides\b"),
    ("ECHO_SHAPE", '{"kind":"RED","radius":1,"extra":2}', r"\bextra\b"),
    ("ECHO_SHAPE", '{"kind":"RED","radius":"1"}', r"\bradius\b"),
    ("ECHO_SHAPE", '{"kind":"NEGATIVE","radius":1}', r"\bradius\b"),
    ("ECHO_SHAPE", '["RED",1]', r"(?i)object|shape|union"),
    ("ECHO_SHAPE", '{"kind":"GREEN","label":"x"}', r"\blabel\b|\bsides\b"),
    ("ECHO_WIDE", '{"which":5,"raw":"AAAA"}', r"\bwhich\b"),
    ("ECHO_WIDE", '{"which":-1,"top":"1"}', r"\bwhich\b"),
    ("ECHO_SINGLE", '{"l":"ONLY"}', r"\bb\b"),
    ("ECHO_SINGLE", '{"l":6,"b":""}', r"\bl\b"),
    ("ECHO_MAYBE", '{"present":1}', r"\bpresent\b"),
    ("ECHO_REPLY", '{"status":0,"value":"x"}', r"\bvalue\b"),
    ("ECHO_DIGEST", '"AAAA"', r"(?i)20|byte|digest"),
    ("ECHO_DIGEST", '5', r"(?i)base64|string|digest"),
    ("ECHO_BLOB", '"!!!!"', r"(?i)base64"),
    ("ECHO_BLOB", json.dumps("A" * 24), r"(?i)16|byte|blob"),
    ("ECHO_NOTE", with_(NOTE, text=5), r"\btext\b"),
    ("ECHO_NOTE", with_(NOTE, text="a" * 256), r"\btext\b"),
    ("ECHO_NOTE", with_(NOTE, text=None), r"\btext\b"),
    ("ECHO_NAME", json.dumps("a" * 13), r"(?i)12|byte|name"),
    ("ECHO_TREE", with_(TREE, left=5), r"\bleft\b"),
    ("ECHO_TREE", with_(TREE, extra="x"), r"\bextra\b"),
    ("ECHO_TREE", with_(TREE, left={"id": 1}), r"\bleft\b"),
    ("ECHO_TRIPLE", "[1,2]", r"(?i)3|count|triple"),
    ("ECHO_COLORS", '["RED","RED","RED","RED","RED"]', r"(?i)4|colors|count"),
    ("ECHO_COLORS", '{"0":"RED"}', r"(?i)array|colors"),
    ("ECHO_FLAG", "0", r"(?i)true|false|bool|flag"),
    # structs: not an object, missing, extra and duplicate members
    ("ECHO_NOTE", "[1,\"hi\"]", r"(?i)object|note"),
    ("ECHO_NOTE", '{"id":1}', r"\btext\b"),
    ("ECHO_NOTE", '{"text":"a"}', r"\bid\b"),
    ("ECHO_NOTE", '{"id":1,"text":"a","more":2}', r"\bmore\b"),
    ("ECHO_NOTE", '{"id":1,"id":2,"text":"a"}', r"(?i)\bid\b|duplicate"),
    ("ECHO_NOTE", '{"id":1,"text":"a","text":"b"}', r"(?i)\btext\b|duplicate"),
    # not JSON at all, or more than one value
    ("ECHO_NOTE", '{"id":1,"text":"a"', r"(?i)json|end|expected|parse"),
    ("ECHO_NOTE", '{"id":1,"text":"a"} {}', r"(?i)json|end|expected|parse|garbage|trailing"),
    # invalid UTF-8 and escapes that are not characters
    ("ECHO_NOTE", b'{"id":1,"text":"a\xff\xfeb"}', r"(?i)\btext\b|utf-?8"),
    ("ECHO_NOTE", b'{"id":1,"text":"\xc0\xaf"}', r"(?i)\btext\b|utf-?8"),
    ("ECHO_NOTE", b'{"id":1,"text":"\xed\xa0\x80"}', r"(?i)\btext\b|utf-?8"),
    ("ECHO_NOTE", '{"id":1,"text":"\\ud800"}', r"(?i)\btext\b|utf|unicode|surrogate"),
]


def sanitizer(text):
    return any(s in text for s in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                                   "UndefinedBehaviorSanitizer"))


def main():
    args = sys.argv[1:]
    names = args[:1] == ["--names"]
    if names:
        args = args[1:]
    far, xfile, port = args
    host = "tcp://127.0.0.1:%s" % port
    asan = b"__asan_init" in open(far, "rb").read()
    base = [far, "call", "-t", "20000", "--x", xfile, host]
    failures = []

    def limit():
        if not asan:
            resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    def run(proc, arg, stdin=None):
        r = subprocess.run(base + ["ECHO_PROG.1." + proc, arg], input=stdin, capture_output=True,
                           timeout=120, preexec_fn=limit)
        return (r.returncode, r.stdout.decode("utf-8", "replace"),
                r.stderr.decode("utf-8", "replace"))

    def refused(name, rc, out, err, want):
        lines = [ln for ln in (out + err).split("\n") if ln.strip()]
        why = None
        if rc == 0:
            why = "exited 0"
        elif rc < 0 or rc >= 128:
            why = "exited %d (a signal)" % rc
        elif sanitizer(err):
            why = "a sanitizer report"
        elif len(lines) != 1:
            why = "%d lines of output, not 1" % len(lines)
        elif names and not re.search(want, lines[0]):
            why = "the error does not name /%s/" % want
        if why:
            failures.append(name)
            print("FAIL %s: %s\n  rc %d; stdout %r\n  stderr %r" % (name, why, rc, out[:300],
                                                                   err[:1500]))
        else:
            print("ok %s: %s" % (name, lines[0][:160]))

    # each case as its own command line
    for n, (proc, arg, want) in enumerate(CASES):
        name = "%s #%d" % (proc, n + 1)
        if isinstance(arg, str):
            arg = arg.encode("utf-8")
        rc, out, err = run(proc, arg)
        refused(name, rc, out, err, want)

    # the same through `far call -`: one error line each, then a valid call
    stdin_cases = [(p, a if isinstance(a, bytes) else a.encode(), w) for p, a, w in CASES
                   if p == "ECHO_NOTE" and b"\n" not in (a if isinstance(a, bytes) else a.encode())]
    lines = b"".join(a + b"\n" for _, a, _ in stdin_cases) + json.dumps(NOTE).encode() + b"\n"
    rc, out, err = run("ECHO_NOTE", "-", lines)
    got = out.rstrip("\n").split("\n")
    if len(got) != len(stdin_cases) + 1 or rc != 1 or sanitizer(err):
        failures.append("far call -")
        print("FAIL far call -: rc %d, %d lines for %d calls\n  %s\n  stderr %r"
              % (rc, len(got), len(stdin_cases) + 1, "\n  ".join(got[:40]), err[:1500]))
    else:
        for k, (_, _, want) in enumerate(stdin_cases):
            if not got[k].startswith("error: ") or (names and not re.search(want, got[k])):
                failures.append("far call - line %d" % (k + 1))
                print("FAIL far call - line %d: %r (wants /%s/)" % (k + 1, got[k], want))
        if json.loads(got[-1]) != NOTE:
            failures.append("far call - valid")
            print("FAIL far call -: the valid call after the errors gave %r" % got[-1])
        else:
            print("ok far call -: %d errors, then the valid call answered" % len(stdin_cases))

    # 10 MB and 100 MB for a string<255>, from a file through `far call -`,
    # a valid call on the next line: an error line naming the field, then
    # the answer (far goes on after errors)
    for size in (10 << 20, BIG):
        name = "a %d MB string (%s)" % (size >> 20, "ASan: no address-space limit" if asan
                                         else "ulimit -v 1.5 GB")
        with tempfile.TemporaryFile() as f:
            f.write(b'{"id":1,"text":"')
            chunk = b"a" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
            f.write(b'"}\n' + json.dumps(NOTE).encode() + b"\n")
            f.seek(0)
            r = subprocess.run(base + ["ECHO_PROG.1.ECHO_NOTE", "-"], stdin=f,
                               capture_output=True, timeout=120, preexec_fn=limit)
            # the peak of every child so far: this one is the largest
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss << 10
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        got = out.rstrip("\n").split("\n")
        why = None
        if r.returncode != 1:
            why = "exited %d, not 1" % r.returncode
        elif sanitizer(err):
            why = "a sanitizer report"
        elif len(got) != 2 or not got[0].startswith("error: "):
            why = "expected an error line and the valid call's answer"
        elif names and not re.search(r"\btext\b", got[0]):
            why = "the error does not name the field text"
        elif got[1] != json.dumps(NOTE, separators=(",", ":")):
            why = "the valid call after it gave %r" % got[1][:200]
        if why:
            failures.append(name)
            print("FAIL %s: %s\n  stdout %r\n  stderr %r" % (name, why, out[:300], err[:1500]))
        else:
            print("ok %s: %s" % (name, got[0][:160]))
        if rss > RSS_LIMIT:
            failures.append(name + " RSS")
            print("FAIL %s: far's peak RSS was %d MB" % (name, rss >> 20))
        else:
            print("ok %s: far's peak RSS at most %d MB" % (name, rss >> 20))

    # the server still answers
    rc, out, err = run("ECHO_NOTE", json.dumps(NOTE).encode())
    try:
        ok = rc == 0 and json.loads(out) == NOTE
    except ValueError:
        ok = False
    if not ok:
        failures.append("valid call")
        print("FAIL a valid call after the hostile ones: rc %d, %r %r" % (rc, out, err[:500]))
    else:
        print("ok a valid call after the hostile ones")

    total = len(CASES) + 7
    print("hostile%s: %d checks, %d failed" % (" (errors must name the field)" if names else "",
                                               total, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
