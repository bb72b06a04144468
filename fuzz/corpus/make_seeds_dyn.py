#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_dyn.c (fuzz/corpus/dyn/): descriptions
(XDR far_desc of src/dyn/far_reflect.x) with a JSON value and XDR bytes of
one of their procedures.  The input format is described at the top of the
harness.  Run from anywhere: python3 fuzz/corpus/make_seeds_dyn.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

(VOID, INT, UINT, HYPER, UHYPER, FLOAT, DOUBLE, QUAD, BOOL, CHAR, UCHAR, SHORT, USHORT,
 ENUM, STRUCT, UNION, OPAQUE_FIXED, OPAQUE_VAR, STRING, ARRAY_FIXED, ARRAY_VAR,
 OPTIONAL, ALIAS, EXTERN) = range(24)
UNBOUNDED = 0xFFFFFFFF


def u32(*vs):
    return b"".join(struct.pack(">I", v & 0xFFFFFFFF) for v in vs)


def s(text):
    b = text.encode()
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def arr(items):
    return u32(len(items)) + b"".join(items)


def typ(name, kind, body=b""):
    return s(name) + u32(kind) + body


def struct_(name, members):
    return typ(name, STRUCT, arr([s(m) + u32(t) for m, t in members]))


def enum(name, values):
    return typ(name, ENUM, arr([s(n) + u32(v) for n, v in values]))


def arm(cases, name, t):
    return arr([u32(c) for c in cases]) + s(name) + u32(t)


def union(name, disc, disc_type, arms, dflt=None):
    body = s(disc) + u32(disc_type) + arr(arms)
    body += u32(1) + dflt if dflt is not None else u32(0)
    return typ(name, UNION, body)


def desc(prog, vers, pname, vname, types, consts, procs):
    out = u32(prog, vers) + s(pname) + s(vname) + arr(types)
    out += arr([s(n) + struct.pack(">q", v) for n, v in consts])
    out += arr([s(n) + u32(num) + arr([u32(a) for a in args]) + u32(res)
                for n, num, args, res in procs])
    return out


def seed(name, d, json, xdr):
    j = json.encode()
    data = struct.pack(">H", len(d)) + d + struct.pack(">H", len(j)) + j + xdr
    with open(os.path.join(HERE, "dyn", name), "wb") as f:
        f.write(data)


os.makedirs(os.path.join(HERE, "dyn"), exist_ok=True)

# kv: a struct with a bounded string, an array of it
kv = desc(0x20000200, 1, "KV_PROG", "KV_V1", [
    typ("", INT),
    typ("", STRING, u32(16)),
    struct_("kv", [("key", 1), ("value", 0)]),
    typ("", VOID),
    typ("tags", ARRAY_VAR, u32(2, 4)),
], [("MAXKEY", 16)], [("KV_NULL", 0, [], 3), ("KV_ECHO", 1, [4], 4)])
seed("kv", kv, '[{"key":"a","value":1},{"key":"b","value":-2}]',
     u32(2) + s("a") + u32(1) + s("b") + u32(0xFFFFFFFE))

# mix: enum, union with void and default arms, a list, hyper, double, opaque
mix = desc(0x20000201, 2, "MIX_PROG", "MIX_V2", [
    typ("", INT),
    enum("color", [("RED", 0), ("GREEN", 1), ("BLUE", 2)]),
    struct_("node", [("v", 0), ("next", 3)]),
    typ("", OPTIONAL, u32(2)),
    union("shape", "c", 1, [arm([0], "i", 0), arm([1], "", 5)], arm([], "n", 2)),
    typ("", VOID),
    typ("", HYPER),
    typ("", DOUBLE),
    typ("", OPAQUE_VAR, u32(8)),
    struct_("mix", [("h", 6), ("d", 7), ("o", 8), ("s", 4)]),
    typ("", QUAD),
    typ("", STRING, u32(UNBOUNDED)),
], [], [("MIX_NULL", 0, [], 5), ("MIX_MIX", 1, [9], 4), ("MIX_TWO", 2, [10, 11], 0)])
seed("mix", mix, '{"h":"-5","d":1.5,"o":"AQI=","s":{"c":"BLUE","n":{"v":1,"next":null}}}',
     u32(0, 7))
seed("mix_two", mix, '["3fff8000000000000000000000000000","hi"]',
     u32(0x3FFF8000, 0, 0, 0) + s("hi"))
