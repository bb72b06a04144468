#!/usr/bin/env python3
"""Makes an echo server's .x and C out of a .x file (build time).

usage: mkecho.py --rpcgen RPCGEN --prog N --out DIR [--skip TYPE=REASON]...
                 [--drop-pass TEXT]... [--extern NAME]... [--wire NAME=DEF]...
                 FILE.x

Writes into DIR:
  echo_BASE.x     FILE.x's definitions (its own program blocks removed) and
                  program ECHO_PROG { version ECHO_V { T ECHO_T(T) = n; ...
                  } = 1; } = N; one procedure per type rpcgen declares an
                  xdr_T for (struct, union, enum, typedef), in source order
  echo_BASE_far.x the same for far call --x: each --wire NAME=DEF type,
                  external to rpcgen's code (--extern NAME: the C library
                  has it), is defined by DEF, its wire form, so far can
                  send it (des_block: "typedef opaque des_block[8]")
  echo_BASE_fn.c  the procedures: T *echo_t_1_svc(T *arg, ...) returns arg
                  (rpcgen's dispatch sends the reply before it frees the
                  arguments)
  echo_BASE.types the types echoed, one a line
  echo_BASE.skip  the types not echoed, "TYPE: REASON" a line
and copies the files FILE.x includes with #include "..." beside it.

The list of types is rpcgen's own (the xdr_T its -h output declares), so
this script parses no .x: it only cuts program blocks out of the text.  Two
edits keep rpcgen and the C compiler working on files they trip on, each
asked for by the caller: --drop-pass TEXT turns a pass-through (%) line
containing TEXT into a comment; backslash-continued % lines are always
joined into one (rpcgen reads a % line only to its end of line).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def join_pass_continuations(text):
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("%"):
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i].strip()
        out.append(line)
        i += 1
    return "\n".join(out)


def drop_pass(text, needles):
    out = []
    for line in text.split("\n"):
        if line.lstrip().startswith("%") and any(n in line for n in needles):
            line = "/* mkecho: dropped pass-through line: %s */" % line.replace("*/", "* /")
        out.append(line)
    return "\n".join(out)


def cut_programs(text):
    """Removes every `program NAME { ... } = N;` block (comments and % lines
    are skipped while matching braces)."""
    out, pos = [], 0
    pat = re.compile(r"^[ \t]*program[ \t]+\w+[ \t\n]*\{", re.M)
    while True:
        m = pat.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        i, depth = m.end(), 1
        while depth and i < len(text):
            if text.startswith("/*", i):
                i = text.index("*/", i) + 2
                continue
            c = text[i]
            depth += c == "{"
            depth -= c == "}"
            i += 1
        end = text.index(";", i) + 1
        out.append("/* mkecho: program block removed */\n")
        pos = end


def rpcgen_header(rpcgen, xfile):
    """rpcgen -h's output for xfile (in a scratch directory: rpcgen will not
    overwrite a file)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.basename(xfile)
        for f in os.listdir(os.path.dirname(xfile)):
            if f.endswith(".x"):
                shutil.copy(os.path.join(os.path.dirname(xfile), f), tmp)
        r = subprocess.run([rpcgen, "-h", "-o", "t.h", base], cwd=tmp, capture_output=True,
                           text=True)
        if r.returncode:
            sys.exit("mkecho: rpcgen -h %s failed:\n%s" % (xfile, r.stderr))
        return open(os.path.join(tmp, "t.h")).read()


def rpcgen_types(rpcgen, xfile):
    """The types rpcgen makes an xdr_T for, in order."""
    hdr = rpcgen_header(rpcgen, xfile)
    seen, types = set(), []
    # rpcgen's own declaration (not a pass-through line's): two spaces, then
    # (XDR *, T*) or, for a fixed array, (XDR *, T)
    for m in re.finditer(r"^extern  bool_t xdr_(\w+) \(XDR \*, \1\*?\);$", hdr, re.M):
        if m.group(1) not in seen:
            seen.add(m.group(1))
            types.append(m.group(1))
    return types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpcgen", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--drop-pass", action="append", default=[])
    ap.add_argument("--extern", action="append", default=[])
    ap.add_argument("--wire", action="append", default=[])
    ap.add_argument("x")
    a = ap.parse_args()
    base = os.path.basename(a.x)[:-2]
    srcdir = os.path.dirname(os.path.abspath(a.x))
    os.makedirs(a.out, exist_ok=True)

    text = open(a.x).read()
    text = join_pass_continuations(text)
    text = drop_pass(text, a.drop_pass)
    text = cut_programs(text)
    for inc in re.findall(r'^#\s*include\s+"([^"]+)"', text, re.M):
        shutil.copy(os.path.join(srcdir, inc), a.out)
    head = "/* Made by tests/dyn/peers/mkecho.py from %s -- do not edit. */\n" % a.x
    if a.extern:
        head += "/*@ extern %s */\n" % " ".join(a.extern)
    defs = os.path.join(a.out, "echo_%s.defs.x" % base)
    with open(defs, "w") as f:
        f.write(head + text)

    skips = dict(s.split("=", 1) for s in a.skip)
    types = rpcgen_types(a.rpcgen, defs)
    os.unlink(defs)
    for t in skips:
        if t not in types:
            sys.exit("mkecho: --skip %s: rpcgen declares no xdr_%s in %s" % (t, t, a.x))
    echoed = [t for t in types if t not in skips]
    if not echoed:
        sys.exit("mkecho: no type of %s left to echo" % a.x)

    procs = "".join("\t\t%s ECHO_%s(%s) = %d;\n" % (t, t.upper(), t, i + 1)
                    for i, t in enumerate(echoed))
    program = ("\nprogram ECHO_PROG {\n\tversion ECHO_V {\n%s\t} = 1;\n} = %s;\n"
               % (procs, a.prog))
    with open(os.path.join(a.out, "echo_%s.x" % base), "w") as f:
        f.write(head + text + program)
    wire = dict(w.split("=", 1) for w in a.wire)
    for name in wire:
        if name not in a.extern:
            sys.exit("mkecho: --wire %s: not an --extern type" % name)
    far_head = head.split("\n")[0] + "\n"
    rest = [n for n in a.extern if n not in wire]
    if rest:
        far_head += "/*@ extern %s */\n" % " ".join(rest)
    far_head += "".join("%s; /* its wire form (mkecho.py --wire) */\n" % d.rstrip(";")
                        for d in wire.values())
    with open(os.path.join(a.out, "echo_%s_far.x" % base), "w") as f:
        f.write(far_head + text + program)
    # The C types of each procedure as rpcgen's header declares them (a
    # fixed-array typedef goes as a pointer to its element).
    hdr = rpcgen_header(a.rpcgen, os.path.join(a.out, "echo_%s.x" % base))
    with open(os.path.join(a.out, "echo_%s_fn.c" % base), "w") as f:
        f.write("/* Made by tests/dyn/peers/mkecho.py -- do not edit. */\n")
        f.write('#include "echo_%s.h"\n\n' % base)
        for t in echoed:
            fn = "echo_%s_1_svc" % t.lower()
            m = re.search(r"^extern\s+(.*?)\s*\b%s\s*\((.*?),\s*struct svc_req\s*\*\s*\);" % fn,
                          hdr, re.M)
            if not m:
                sys.exit("mkecho: rpcgen's header of %s declares no %s" % (a.x, fn))
            f.write("%s %s(%s arg, struct svc_req *rq)\n{\n"
                    "    (void)rq;\n    return arg;\n}\n\n" % (m.group(1), fn, m.group(2)))
    with open(os.path.join(a.out, "echo_%s.types" % base), "w") as f:
        f.write("".join(t + "\n" for t in echoed))
    with open(os.path.join(a.out, "echo_%s.skip" % base), "w") as f:
        f.write("".join("%s: %s\n" % kv for kv in skips.items()))


if __name__ == "__main__":
    main()
