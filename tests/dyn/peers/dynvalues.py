#!/usr/bin/env python3
"""Random JSON values of the types of a far_desc, and checks of values
against it (python3, stdlib only).

The description is the JSON `far describe --json` prints (the mapping of
include/farcall/dyn.h applied to far_desc of src/dyn/far_reflect.x):
  {"prog": .., "vers": .., "prog_name": .., "vers_name": ..,
   "types": [{"name": "..", "body": {"kind": "FAR_T_STRUCT",
                                     "members": [{"name": .., "type": i}]}}],
   "consts": [..], "procs": [{"name": .., "proc": n, "args": [i], "res": i}]}
A type is named by its index in "types".

Values are written in the mapping's canonical output form -- the form
`far call` prints -- so that an echo returns the very text:
  hyper as a decimal string, enums by name, opaques as padded standard
  base64, unions {"<disc>": d, "<arm>": v} (no arm member for a void arm),
  optional data null or the value, floats that a float32 or a double holds
  exactly (and "NaN", "Infinity", "-Infinity"), strings of valid UTF-8 with
  no NUL (a C string in the peer) within their bound in bytes.
Sizes are kept small (lists short, optional data thinning out with depth)
so that a thousand values of a type stay quick to send.

usage: dynvalues.py DESC.json TYPE COUNT SEED   (JSON lines on stdout; TYPE
       is a type name, or "#N" for the type at index N)
"""
import base64
import json
import math
import random
import struct
import sys

UNBOUNDED = 0xFFFFFFFF
INT_RANGES = {
    "FAR_T_INT": (-2**31, 2**31 - 1),
    "FAR_T_UINT": (0, 2**32 - 1),
    "FAR_T_HYPER": (-2**63, 2**63 - 1),
    "FAR_T_UHYPER": (0, 2**64 - 1),
    "FAR_T_CHAR": (-2**7, 2**7 - 1),
    "FAR_T_UCHAR": (0, 2**8 - 1),
    "FAR_T_SHORT": (-2**15, 2**15 - 1),
    "FAR_T_USHORT": (0, 2**16 - 1),
}
FLOATS = ("FAR_T_FLOAT", "FAR_T_DOUBLE")
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# characters of the strings: mostly ASCII, some escapes, 2-, 3- and 4-byte UTF-8
CHARS = ([chr(c) for c in range(0x20, 0x7F)] * 4 + ["\t", "\n", "\x01", "\x7f", "\"", "\\"] +
         ["\u00e9", "\u00df", "\u0416", "\u20ac", "\u4e2d", "\ufffd", "\U0001f600", "\U00010348"])
MAX_STR = 24     # bytes of a string (or its bound)
MAX_OPAQUE = 40  # bytes of a variable opaque
MAX_DEPTH = 8    # optional data is null below this


class Desc:
    def __init__(self, desc):
        self.d = desc
        self.types = desc["types"]
        self.by_name = {}
        for i, t in enumerate(self.types):
            if t["name"]:
                self.by_name.setdefault(t["name"], i)

    def index(self, name):
        if name.startswith("#"):
            return int(name[1:])
        return self.by_name[name]

    def body(self, i):
        return self.types[i]["body"]

    def kind(self, i):
        return self.body(i)["kind"]

    def resolve(self, i):
        """Follows aliases."""
        seen = 0
        while self.kind(i) == "FAR_T_ALIAS":
            i = self.body(i)["elem"]
            seen += 1
            if seen > len(self.types):
                raise ValueError("alias loop at type %d" % i)
        return i

    def show(self, i):
        t = self.types[i]
        return t["name"] or "#%d %s" % (i, t["body"]["kind"])

    def children(self, i):
        b = self.body(i)
        k = b["kind"]
        if k == "FAR_T_STRUCT":
            return [m["type"] for m in b["members"]]
        if k == "FAR_T_UNION":
            u = b["u"]
            arms = list(u["arms"]) + ([u["dflt"]] if u.get("dflt") else [])
            return [u["disc_type"]] + [a["type"] for a in arms]
        if k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
            return [b["seq"]["elem"]]
        if k in ("FAR_T_OPTIONAL", "FAR_T_ALIAS"):
            return [b["elem"]]
        return []

    def unusable(self, i):
        """Why values of type i cannot be made here (None: they can): an
        external type (no XDR known) or a quadruple (the peers lack it)
        anywhere in it."""
        todo, seen = [i], set()
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            k = self.kind(j)
            if k == "FAR_T_EXTERN":
                return "uses the external type %s (its XDR is not known)" % self.show(j)
            if k == "FAR_T_QUAD":
                return "uses quadruple (rpcgen and libtirpc have none)"
            todo.extend(self.children(j))
        return None

    # ------------------------------------------------------------ enums

    def enum_names(self, i):
        return {v["name"]: v["value"] for v in self.body(self.resolve(i))["values"]}

    def enum_by_value(self, i):
        out = {}
        for v in self.body(self.resolve(i))["values"]:
            out.setdefault(v["value"], v["name"])
        return out

    def disc_json(self, dt, value):
        """A union's case value (a 32-bit int of far_tarm.cases) as the
        discriminant's JSON."""
        k = self.kind(self.resolve(dt))
        if k == "FAR_T_ENUM":
            return self.enum_by_value(dt).get(value, value)
        if k == "FAR_T_BOOL":
            return bool(value)
        if k == "FAR_T_UINT":
            return value & 0xFFFFFFFF
        return value

    def disc_value(self, dt, j):
        """The discriminant's JSON as a 32-bit signed value (None: not one)."""
        k = self.kind(self.resolve(dt))
        if k == "FAR_T_ENUM":
            if isinstance(j, str):
                return self.enum_names(dt).get(j)
            return j if isinstance(j, int) and not isinstance(j, bool) else None
        if k == "FAR_T_BOOL":
            return int(j) if isinstance(j, bool) else None
        if not isinstance(j, int) or isinstance(j, bool):
            return None
        if k == "FAR_T_UINT":
            return j - 2**32 if j >= 2**31 else j
        return j

    # ------------------------------------------------------- generating

    def gen(self, rng, i, depth=0):
        b = self.body(i)
        k = b["kind"]
        if k in INT_RANGES:
            lo, hi = INT_RANGES[k]
            r = rng.random()
            if r < 0.1:
                v = rng.choice((lo, hi, 0, 1, -1 if lo < 0 else 2))
            elif r < 0.4:
                v = rng.randint(max(lo, -1000), min(hi, 1000))
            else:
                v = rng.randint(lo, hi)
            return str(v) if k in ("FAR_T_HYPER", "FAR_T_UHYPER") else v
        if k in FLOATS:
            return self.gen_float(rng, k == "FAR_T_FLOAT")
        if k == "FAR_T_BOOL":
            return rng.random() < 0.5
        if k == "FAR_T_VOID":
            return None
        if k == "FAR_T_ENUM":
            # a value, by its first name (a later one for the same value is
            # an alias: the output gives the first)
            by_value = self.enum_by_value(i)
            return by_value[rng.choice(sorted(by_value))]
        if k == "FAR_T_STRUCT":
            return {m["name"]: self.gen(rng, m["type"], depth + 1) for m in b["members"]}
        if k == "FAR_T_UNION":
            return self.gen_union(rng, b["u"], depth)
        if k == "FAR_T_OPAQUE_FIXED":
            return b64(rng.randbytes(b["bound"]))
        if k == "FAR_T_OPAQUE_VAR":
            return b64(rng.randbytes(rng.randint(0, min(b["bound"], MAX_OPAQUE))))
        if k == "FAR_T_STRING":
            return self.gen_string(rng, min(b["bound"], MAX_STR))
        if k == "FAR_T_ARRAY_FIXED":
            return [self.gen(rng, b["seq"]["elem"], depth + 1) for _ in range(b["seq"]["bound"])]
        if k == "FAR_T_ARRAY_VAR":
            cap = 4 if depth < 3 else 2 if depth < 6 else 0
            n = rng.randint(0, min(b["seq"]["bound"], cap))
            return [self.gen(rng, b["seq"]["elem"], depth + 1) for _ in range(n)]
        if k == "FAR_T_OPTIONAL":
            if depth >= MAX_DEPTH or rng.random() < 0.25 + 0.1 * depth:
                return None
            return self.gen(rng, b["elem"], depth + 1)
        if k == "FAR_T_ALIAS":
            return self.gen(rng, b["elem"], depth)
        raise ValueError("cannot make a value of %s" % self.show(i))

    def gen_union(self, rng, u, depth):
        dt = u["disc_type"]
        arms = [a for a in u["arms"] if a["cases"]]
        choices = [(a, c) for a in arms for c in a["cases"]]
        dflt = u.get("dflt")
        if dflt:
            other = self.default_disc(rng, dt, {c for a in arms for c in a["cases"]})
            if other is not None:
                # the default arm as often as one case
                choices.append((dflt, other))
        if not choices:
            raise ValueError("a union with no arm")
        arm, case = rng.choice(choices)
        out = {u["disc_name"]: self.disc_json(dt, case)}
        if self.kind(self.resolve(arm["type"])) != "FAR_T_VOID" or arm["name"]:
            out[arm["name"]] = self.gen(rng, arm["type"], depth + 1)
        return out

    def default_disc(self, rng, dt, cases):
        """A discriminant value no case names (None: there is none)."""
        k = self.kind(self.resolve(dt))
        if k == "FAR_T_ENUM":
            free = sorted({v for v in self.enum_names(dt).values() if v not in cases})
            return rng.choice(free) if free else None
        if k == "FAR_T_BOOL":
            free = [v for v in (0, 1) if v not in cases]
            return rng.choice(free) if free else None
        for _ in range(100):
            v = rng.choice((rng.randint(-5, 5), rng.randint(-2**31, 2**31 - 1)))
            if v not in cases:
                return v
        return None

    def gen_float(self, rng, single):
        r = rng.random()
        if r < 0.03:
            return rng.choice(list(SPECIAL))
        if r < 0.1:
            v = rng.choice((0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, 3.4e38 if single else 1.7e308))
        elif r < 0.4:
            v = rng.randint(-100000, 100000) / rng.choice((1, 2, 4, 8, 1024))
        else:
            while True:
                raw = rng.randbytes(4 if single else 8)
                v = struct.unpack("<f" if single else "<d", raw)[0]
                if math.isfinite(v):
                    break
        if single:
            v = struct.unpack("<f", struct.pack("<f", v))[0]
        return v

    def gen_string(self, rng, limit):
        n = rng.randint(0, limit)
        out, used = [], 0
        while True:
            c = rng.choice(CHARS)
            size = len(c.encode("utf-8"))
            if used + size > n:
                return "".join(out)
            out.append(c)
            used += size

    # -------------------------------------------------------- checking

    def check(self, i, v, path):
        """Checks that v is a value of type i in canonical form; raises
        ValueError naming the path."""
        b = self.body(i)
        k = b["kind"]

        def bad(what):
            raise ValueError("%s: %s, got %s" % (path, what, json.dumps(v)[:80]))

        if k in INT_RANGES:
            lo, hi = INT_RANGES[k]
            if k in ("FAR_T_HYPER", "FAR_T_UHYPER"):
                if not isinstance(v, str) or str(int_or_none(v)) != v:
                    bad("expected a decimal string")
                n = int(v)
            else:
                if not isinstance(v, int) or isinstance(v, bool):
                    bad("expected an integer")
                n = v
            if not lo <= n <= hi:
                bad("out of range")
        elif k in FLOATS:
            if isinstance(v, str):
                if v not in SPECIAL:
                    bad("expected a number or NaN/Infinity/-Infinity")
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                bad("expected a number")
            elif k == "FAR_T_FLOAT" and abs(v) > 3.4028234663852886e38:
                bad("beyond a float32")
        elif k == "FAR_T_BOOL":
            if not isinstance(v, bool):
                bad("expected true or false")
        elif k == "FAR_T_VOID":
            if v is not None:
                bad("expected null")
        elif k == "FAR_T_ENUM":
            names = {x["name"] for x in b["values"]}
            if v not in names:
                bad("expected a name of the enum")
        elif k == "FAR_T_STRUCT":
            if not isinstance(v, dict):
                bad("expected an object")
            want = [m["name"] for m in b["members"]]
            if list(v) != want:
                bad("expected the members %s in order" % want)
            for m in b["members"]:
                self.check(m["type"], v[m["name"]], path + "." + m["name"])
        elif k == "FAR_T_UNION":
            self.check_union(b["u"], v, path, bad)
        elif k in ("FAR_T_OPAQUE_FIXED", "FAR_T_OPAQUE_VAR"):
            if not isinstance(v, str):
                bad("expected base64")
            try:
                raw = base64.b64decode(v, validate=True)
            except ValueError:
                bad("not base64")
            if b64(raw) != v:
                bad("not canonical base64")
            if k == "FAR_T_OPAQUE_FIXED" and len(raw) != b["bound"]:
                bad("expected %d bytes" % b["bound"])
            if k == "FAR_T_OPAQUE_VAR" and len(raw) > b["bound"]:
                bad("more than %d bytes" % b["bound"])
        elif k == "FAR_T_STRING":
            if not isinstance(v, str):
                bad("expected a string")
            try:
                raw = v.encode("utf-8")
            except UnicodeError:
                bad("not valid UTF-8")
            if len(raw) > b["bound"]:
                bad("more than %d bytes" % b["bound"])
        elif k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
            if not isinstance(v, list):
                bad("expected an array")
            n = b["seq"]["bound"]
            if (k == "FAR_T_ARRAY_FIXED" and len(v) != n) or len(v) > n:
                bad("wrong count (bound %d)" % n)
            for j, x in enumerate(v):
                self.check(b["seq"]["elem"], x, "%s[%d]" % (path, j))
        elif k == "FAR_T_OPTIONAL":
            if v is not None:
                self.check(b["elem"], v, path)
        elif k == "FAR_T_ALIAS":
            self.check(b["elem"], v, path)
        else:
            bad("no check for %s" % k)

    def check_union(self, u, v, path, bad):
        if not isinstance(v, dict) or u["disc_name"] not in v:
            bad("expected an object with %r" % u["disc_name"])
        dt = u["disc_type"]
        d = self.disc_value(dt, v[u["disc_name"]])
        if d is None:
            bad("a bad discriminant")
        self.check(dt, v[u["disc_name"]], path + "." + u["disc_name"])
        arm = next((a for a in u["arms"] if d in a["cases"]), u.get("dflt"))
        if arm is None:
            bad("no arm for that discriminant")
        void = self.kind(self.resolve(arm["type"])) == "FAR_T_VOID" and not arm["name"]
        want = [u["disc_name"]] + ([] if void else [arm["name"]])
        if list(v) != want:
            bad("expected the members %s" % want)
        if not void:
            self.check(arm["type"], v[arm["name"]], path + "." + arm["name"])

    # ------------------------------------------- other accepted forms

    def vary(self, rng, i, v):
        """v (canonical) in another form the mapping accepts on the way in,
        chosen at random member by member: an enum by number, a hyper as a
        JSON integer (within +-2^53), an opaque as base64url or unpadded, an
        integral float as a JSON integer.  far prints it back canonical."""
        b = self.body(i)
        k = b["kind"]
        flip = rng.random() < 0.5
        if k == "FAR_T_ENUM" and flip:
            return self.enum_names(i)[v]
        if k in ("FAR_T_HYPER", "FAR_T_UHYPER") and flip and abs(int(v)) <= 2**53:
            return int(v)
        if k in ("FAR_T_OPAQUE_FIXED", "FAR_T_OPAQUE_VAR") and flip:
            if rng.random() < 0.5:
                v = v.replace("+", "-").replace("/", "_")
            return v.rstrip("=") if rng.random() < 0.5 else v
        if k in FLOATS and flip and isinstance(v, float) and v.is_integer() and \
                abs(v) < 2**53 and math.copysign(1, v) > 0:
            return int(v)
        if k == "FAR_T_STRUCT":
            return {m["name"]: self.vary(rng, m["type"], v[m["name"]]) for m in b["members"]}
        if k == "FAR_T_UNION":
            u = b["u"]
            out = dict(v)
            out[u["disc_name"]] = self.vary(rng, u["disc_type"], v[u["disc_name"]])
            d = self.disc_value(u["disc_type"], v[u["disc_name"]])
            arm = next((x for x in u["arms"] if d in x["cases"]), u.get("dflt"))
            if arm and arm["name"] in v:
                out[arm["name"]] = self.vary(rng, arm["type"], v[arm["name"]])
            return out
        if k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
            return [self.vary(rng, b["seq"]["elem"], x) for x in v]
        if k in ("FAR_T_OPTIONAL", "FAR_T_ALIAS"):
            return None if v is None else self.vary(rng, b["elem"], v)
        return v

    # -------------------------------------------------------- comparing

    def same(self, i, a, b, path):
        """None if a and b are the same value of type i; else where they
        differ.  Typed: true is not 1, a float is compared as a float (NaN
        with NaN, -0.0 not with 0.0)."""
        k = self.kind(i)
        body = self.body(i)
        if k in FLOATS:
            fa, fb = as_float(a), as_float(b)
            if fa is None or fb is None:
                return path
            if math.isnan(fa) or math.isnan(fb):
                return None if math.isnan(fa) and math.isnan(fb) else path
            # bit for bit (0.0 is not -0.0); a float as the float32 it
            # reads back as ("0.1" is the float 0.1f)
            fmt = "<f" if k == "FAR_T_FLOAT" else "<d"
            try:
                return None if struct.pack(fmt, fa) == struct.pack(fmt, fb) else path
            except OverflowError:
                return path
        if k == "FAR_T_ALIAS":
            return self.same(body["elem"], a, b, path)
        if k == "FAR_T_OPTIONAL":
            if a is None or b is None:
                return None if a is None and b is None else path
            return self.same(body["elem"], a, b, path)
        if k == "FAR_T_STRUCT":
            if not isinstance(a, dict) or not isinstance(b, dict) or list(a) != list(b):
                return path
            for m in body["members"]:
                if m["name"] not in a:
                    return path
                r = self.same(m["type"], a[m["name"]], b[m["name"]], path + "." + m["name"])
                if r:
                    return r
            return None
        if k == "FAR_T_UNION":
            u = body["u"]
            if not isinstance(a, dict) or not isinstance(b, dict) or list(a) != list(b):
                return path
            dn = u["disc_name"]
            if dn not in a or not same_plain(a[dn], b[dn]):
                return path + "." + dn
            d = self.disc_value(u["disc_type"], a[dn])
            arm = next((x for x in u["arms"] if d in x["cases"]), u.get("dflt"))
            if arm is None:
                return path
            if arm["name"] in a:
                return self.same(arm["type"], a[arm["name"]], b[arm["name"]],
                                 path + "." + arm["name"])
            return None
        if k in ("FAR_T_ARRAY_FIXED", "FAR_T_ARRAY_VAR"):
            if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
                return path
            for j, (x, y) in enumerate(zip(a, b)):
                r = self.same(body["seq"]["elem"], x, y, "%s[%d]" % (path, j))
                if r:
                    return r
            return None
        return None if same_plain(a, b) else path


def same_plain(a, b):
    return type(a) is type(b) and a == b


def as_float(x):
    if isinstance(x, str):
        return SPECIAL.get(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def int_or_none(s):
    try:
        return int(s, 10)
    except ValueError:
        return None


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def dumps(v):
    """One line of JSON, as far reads it (NaN never appears: it is "NaN")."""
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[-1])
    with open(sys.argv[1]) as f:
        d = Desc(json.load(f))
    i = d.index(sys.argv[2])
    rng = random.Random(int(sys.argv[4]))
    for _ in range(int(sys.argv[3])):
        sys.stdout.write(dumps(d.gen(rng, i)) + "\n")


if __name__ == "__main__":
    main()
