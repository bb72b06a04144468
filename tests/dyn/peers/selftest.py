#!/usr/bin/env python3
"""The peer tests' own checks, checked: dynvalues.py's values pass its
check, and every changed value fails its comparison (a comparer that says
"same" too readily would let the peer tests pass on anything).  No network:
the description comes from `far describe --json --x` (no server asked).

usage: selftest.py FAR ECHO_MIX_far.x   (mix.x's: the specific cases use its types)

For each type of the description: 200 values must pass check() and compare
equal to themselves after a JSON round trip; each value changed at one
random place (an integer or hyper off by one, a float's sign or last bit,
a bool flipped, another enum name, a string or opaque one byte longer or
different, an optional null <-> present, an array element dropped, members
swapped in order, true for 1) must compare different -- or fail check()
where the change leaves the type (more than a bound) -- and specific
cases must hold (NaN equals NaN, -0.0 is not 0.0, 0.1 reads as a float32).
"""
import base64
import copy
import json
import math
import os
import random
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dynvalues  # noqa: E402

PER_TYPE = 200


def leaves(d, i, v, path, out):
    """(path, type, setter) of every place in v."""
    b = d.body(i)
    k = b["kind"]
    if k == "FAR_T_ALIAS":
        return leaves(d, b["elem"], v, path, out)
    if k == "FAR_T_OPTIONAL":
        out.append((path, i))
        if v is not None:
            leaves(d, b["elem"], v, path, out)
        return out
    if k == "FAR_T_STRUCT":
        out.append((path, i))
        for m in b["members"]:
            leaves(d, m["type"], v[m["name"]], path + [m["name"]], out)
        return out
    if k == "FAR_T_UNION":
        u = b["u"]
        out.append((path + [u["disc_name"]], u["disc_type"]))
        dv = d.disc_value(u["disc_type"], v[u["disc_name"]])
        arm = next((a for a in u["arms"] if dv in a["cases"]), u.get("dflt"))
        if arm and arm["name"] in v:
            leaves(d, arm["type"], v[arm["name"]], path + [arm["name"]], out)
        return out
    if k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
        out.append((path, i))
        for j, x in enumerate(v):
            leaves(d, b["seq"]["elem"], x, path + [j], out)
        return out
    out.append((path, i))
    return out


def get(v, path):
    for p in path:
        v = v[p]
    return v


def put(v, path, x):
    if not path:
        return x
    get(v, path[:-1])[path[-1]] = x
    return v


def change(d, rng, i, x):
    """x (a value of type i) changed, or None if there is no change of it
    here.  May leave the type: the caller accepts a check() failure too."""
    b = d.body(d.resolve(i))
    k = b["kind"]
    if k in dynvalues.INT_RANGES:
        if k in ("FAR_T_HYPER", "FAR_T_UHYPER"):
            return str(int(x) + rng.choice((1, -1)))
        return rng.choice((x + 1, x - 1, float(x) if rng.random() < 0.3 else x ^ 1))
    if k in dynvalues.FLOATS:
        f = dynvalues.as_float(x)
        if math.isnan(f):
            return 0.0
        if math.isinf(f):
            return "NaN"
        if f == 0:
            return -f if math.copysign(1, f) > 0 else 0.0
        if rng.random() < 0.5:
            return -f
        fmt = "<f" if k == "FAR_T_FLOAT" else "<d"
        raw = bytearray(struct.pack(fmt, f))
        raw[0] ^= 1
        return struct.unpack(fmt, bytes(raw))[0]
    if k == "FAR_T_BOOL":
        return rng.choice((not x, int(x)))
    if k == "FAR_T_ENUM":
        names = sorted({n for n in d.enum_by_value(i).values() if n != x})
        return rng.choice(names) if names else None
    if k == "FAR_T_STRING":
        return x + "a" if rng.random() < 0.5 or not x else x[:-1]
    if k in ("FAR_T_OPAQUE_FIXED", "FAR_T_OPAQUE_VAR"):
        raw = bytearray(base64.b64decode(x))
        if raw and rng.random() < 0.7:
            raw[rng.randrange(len(raw))] ^= 0x40
        else:
            raw.append(0)
        return dynvalues.b64(bytes(raw))
    if k == "FAR_T_OPTIONAL":
        return d.gen(rng, b["elem"], dynvalues.MAX_DEPTH) if x is None else None
    if k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
        return x[:-1] if x else None
    if k == "FAR_T_STRUCT":
        if len(x) < 2:
            return None
        keys = list(x)
        keys[0], keys[1] = keys[1], keys[0]
        return {key: x[key] for key in keys}
    return None


def main():
    far, xfile = sys.argv[1:3]
    r = subprocess.run([far, "describe", "--json", "--x", xfile, "tcp://127.0.0.1:1",
                        "ECHO_PROG.1"], capture_output=True, text=True, timeout=60)
    if r.returncode:
        print("FAIL: far describe --json --x %s: %s" % (xfile, r.stderr.strip()))
        return 1
    d = dynvalues.Desc(json.loads(r.stdout))
    rng = random.Random(1)
    fails = checked = by_check = by_same = 0
    for p in d.d["procs"]:
        ti = p["args"][0]
        for _ in range(PER_TYPE):
            v = d.gen(rng, ti)
            w = json.loads(dynvalues.dumps(v))
            try:
                d.check(ti, w, "v")
            except ValueError as e:
                print("FAIL %s: a generated value fails check: %s" % (p["name"], e))
                fails += 1
                continue
            if d.same(ti, v, w, "v"):
                print("FAIL %s: a value differs from itself: %s" % (p["name"], dynvalues.dumps(v)))
                fails += 1
            path, li = rng.choice(leaves(d, ti, w, [], []))
            x = change(d, rng, li, get(w, path))
            if x is None:
                continue
            m = put(copy.deepcopy(w), path, x)
            checked += 1
            try:
                d.check(ti, m, "v")
            except ValueError:
                by_check += 1
                continue
            if d.same(ti, w, m, "v") is None:
                print("FAIL %s: a change at %s is not seen:\n  %s\n  %s"
                      % (p["name"], path, dynvalues.dumps(w), dynvalues.dumps(m)))
                fails += 1
            else:
                by_same += 1
    # specific cases, on mix.x's real32 / real64 / flag
    f32, f64, flag = (d.resolve(d.index(n)) for n in ("real32", "real64", "flag"))
    cases = [(f64, "NaN", "NaN", True), (f64, -0.0, 0.0, False), (f64, 0.0, 0, True),
             (f32, 0.1, 0.10000000149011612, True), (f64, 0.1, 0.10000000149011612, False),
             (f64, "Infinity", "-Infinity", False), (flag, True, 1, False)]
    for t, a, b, eq in cases:
        if (d.same(t, a, b, "v") is None) != eq:
            print("FAIL: %r and %r should %sbe the same %s" % (a, b, "" if eq else "not ",
                                                               d.show(t)))
            fails += 1
    print("selftest: %d types, %d changed values: %d refused by check, %d seen as different, "
          "%d failures" % (len(d.d["procs"]), checked, by_check, by_same, fails))
    return 1 if fails or checked < 100 * len(d.d["procs"]) // 2 else 0


if __name__ == "__main__":
    sys.exit(main())
