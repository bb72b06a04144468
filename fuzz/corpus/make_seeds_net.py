#!/usr/bin/env python3
"""Writes the seed corpora of the network-level harnesses:
fuzz/corpus/svc_conn/ (fuzz_svc_conn.c) and fuzz/corpus/clnt_reply/
(fuzz_clnt_reply.c).  The input formats are described at the top of each
harness.  Run from anywhere: python3 fuzz/corpus/make_seeds_net.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TPROG, TPROG2 = 0x20000101, 0x20000102


def u32(*vs):
    return b"".join(struct.pack(">I", v & 0xFFFFFFFF) for v in vs)


def opaque(b):
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def chunk(flags, body):
    assert len(body) < 65536
    return bytes([flags]) + struct.pack(">H", len(body)) + body


def auth_sys(stamp, machine, uid, gid, gids):
    return u32(stamp) + opaque(machine) + u32(uid, gid, len(gids), *gids)


def call(xid, prog, vers, proc, args=b"", cred=(0, b""), rpcvers=2, mtype=0):
    return (u32(xid, mtype, rpcvers, prog, vers, proc, cred[0]) + opaque(cred[1]) + u32(0, 0)
            + args)


def record(body, frag=0):
    """RFC 5531 record marking, in fragments of `frag` bytes (0: one)."""
    if not frag or frag >= len(body):
        return u32(0x80000000 | len(body)) + body
    out = b""
    for off in range(0, len(body), frag):
        piece = body[off:off + frag]
        out += u32((0x80000000 if off + frag >= len(body) else 0) | len(piece)) + piece
    return out


def write(dirname, name, data):
    d = os.path.join(HERE, dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------ svc_conn

FRAMED, RAW = b"\x01", b"\x00"
T, T_SYS = 0x40, 0xC0  # chunk flags: call header made by the harness (AUTH_NONE / AUTH_SYS)


def tcall(sel, args=b"", flags=T):
    """A call through the harness's header: sel picks prog/vers/proc."""
    return chunk(flags, bytes([sel]) + args)


svc = {
    "null": [tcall(0x00)],
    "echo": [tcall(0x01, opaque(b"hello, farcall"))],
    "add": [tcall(0x02, u32(40, 2))],
    "fail_codes": [tcall(0x03, u32(c)) for c in (0, 22, 23, 24, 26, 26 | 7 << 16, 99)],
    "str": [tcall(0x04, u32(10)), tcall(0x04, u32(255)), tcall(0x04, u32(290))],
    "whoami_sys": [tcall(0x05, flags=T_SYS), tcall(0x05, flags=T_SYS | 0x04),
                   tcall(0x05, flags=T_SYS | 0x04), tcall(0x05, flags=T_SYS | 0x04)],
    "whoami_none": [tcall(0x05)],
    "name": [tcall(0x06, opaque(b"bob")), tcall(0x06, opaque(b"sixteen-letters!"))],
    "sum": [tcall(0x07, u32(3, 1, 2, 3)), tcall(0x07, u32(65) + u32(*range(65)))],
    "v3": [tcall(0x20), tcall(0x21, u32(5)), tcall(0x22, u32(1, 2))],
    "prog2": [tcall(0x40), tcall(0x42, u32(7, 8)), tcall(0x41)],
    "mismatch": [tcall(0x80), tcall(0x1F)],
    "garbage": [tcall(0x02, u32(1)), tcall(0x01, u32(100)), tcall(0x06, opaque(b"a\0b"))],
    "fragments": [chunk(T | 0x01, bytes([0x01]) + opaque(b"two fragments")),
                  chunk(T | 0x02, bytes([0x02]) + u32(1, 2)),
                  chunk(T | 0x32, bytes([0x01]) + opaque(b"22-byte fragments" * 3)),
                  chunk(T | 0x03, bytes([0x07]) + u32(1, 9))],
    # Zero-padded to 65536 bytes (the server's maximum): an ECHO of 65492.
    "echo_64k": [chunk(T | 0x08, bytes([0x01]) + u32(65536 - 44))],
    "echo_64k_minus4": [chunk(T | 0x18, bytes([0x01]) + u32(65532 - 44))],
    "pipelined_20": [tcall(0x02, u32(i, i)) for i in range(20)],
    # Whole call records (no harness header): credentials, versions.
    "raw_headers": [
        chunk(0, call(1, TPROG, 1, 2, u32(1, 2), cred=(1, auth_sys(1, b"h", 0, 0, [])))),
        chunk(0, call(2, TPROG, 1, 5, cred=(1, auth_sys(2, b"m" * 255, 5, 6, list(range(16)))))),
        chunk(0, call(3, TPROG, 1, 5, cred=(1, auth_sys(3, b"x", 1, 1, list(range(17)))))),
        chunk(0, call(4, TPROG, 1, 0, cred=(7, b"1234"))),
        chunk(0, call(5, TPROG, 1, 0, rpcvers=3)),
        chunk(0, call(6, 12345, 1, 0)),
        chunk(0, call(7, TPROG, 1, 0, mtype=1)),
        chunk(0, u32(8, 0) + u32(2, TPROG, 1, 0, 0, 401)),
    ],
}
for name, chunks in svc.items():
    write("svc_conn", "framed_" + name, FRAMED + b"".join(chunks))

# A lazy reader (byte 0 & 2) against large replies: the server's writes back
# up and the connection pauses; the same ending the stream at once (& 4).
big = [chunk(T | 0x08, bytes([0x01]) + u32(65536 - 44)) for _ in range(4)]
write("svc_conn", "framed_lazy_echo_4x64k", b"\x03" + b"".join(big + svc["pipelined_20"]))
write("svc_conn", "framed_early_shutdown", b"\x05" + b"".join(svc["pipelined_20"] + big[:2]))
write("svc_conn", "framed_lazy_early_shutdown", b"\x07" + b"".join(big[:3] + svc["fail_codes"]))

batch = b"".join(record(call(100 + i, TPROG, 1, 2, u32(i, 1))) for i in range(6))
batch += record(call(200, TPROG, 1, 1, opaque(b"in fragments" * 4)), frag=7)
batch += record(call(201, TPROG, 1, 5, cred=(1, auth_sys(9, b"raw", 1000, 100, [1, 2]))))
write("svc_conn", "raw_batch", RAW + b"\x00" + batch)
# The same in writes of (3+1)*8, (0+1)*8 and (17+1)*8 bytes.
write("svc_conn", "raw_batch_writes", RAW + b"\x13" + batch + bytes([3, 0, 17]))
write("svc_conn", "raw_bad_marks",
      RAW + b"\x00" + record(call(300, TPROG, 1, 0)) + u32(0) + record(call(301, TPROG, 1, 0)))
write("svc_conn", "raw_oversize",
      RAW + b"\x00" + record(call(400, TPROG, 1, 0)) + u32(0x80010001) + b"\0" * 64)
write("svc_conn", "raw_half_record", RAW + b"\x00" + record(call(500, TPROG, 1, 0)) + u32(100))

# ------------------------------------------------------------ clnt_reply

K_VOID, K_BLOB_ARENA, K_BLOB_HEAP, K_INTS, K_STR_ARENA, K_STR_HEAP, K_LIST = range(7)
TPL = 0x08  # chunk flag: a SUCCESS reply header for the call made by the harness


def spec(kind, argmode=0):
    """The call byte for a decoder kind (b % 7) and an argument (b >> 3) % 3."""
    return next(b for b in range(256) if b % 7 == kind and (b >> 3) % 3 == argmode)


def ok_reply(call_index, results, flags=0):
    return chunk(TPL | call_index << 1 | flags, results)


def xid_reply(call_index, rest, flags=0):
    """A whole reply record whose first 4 bytes become the call's xid."""
    return chunk(0x01 | call_index << 1 | flags, b"XXXX" + rest)


clnt = {
    "void": (0, [K_VOID], [ok_reply(0, b"")]),
    "blob_arena": (0, [K_BLOB_ARENA], [ok_reply(0, opaque(b"some bytes"))]),
    "blob_heap": (0, [spec(K_BLOB_HEAP, 1)], [ok_reply(0, opaque(b"heap bytes!"))]),
    "ints": (0, [spec(K_INTS, 2)], [ok_reply(0, u32(0xFFFFFFFF, 7, 1, 2))]),
    "str_arena": (0, [K_STR_ARENA], [ok_reply(0, opaque(b"a string"))]),
    "str_heap": (0, [K_STR_HEAP], [ok_reply(0, opaque(b"thirty-two bytes of string here!"))]),
    "list": (0, [K_LIST], [ok_reply(0, u32(3, 10, 20, 30))]),
    "four_calls": (3, [spec(K_BLOB_ARENA, 1), spec(K_INTS, 2), K_STR_HEAP, spec(K_LIST, 1)],
                   [ok_reply(2, opaque(b"third")), ok_reply(0, opaque(b"first")),
                    ok_reply(3, u32(1, 5)), ok_reply(1, u32(1, 2, 3, 4))]),
    "errors": (3, [K_VOID, K_INTS, K_BLOB_HEAP, K_STR_ARENA],
               [xid_reply(0, u32(1, 0, 0, 0, 2, 1, 3)),  # PROG_MISMATCH 1-3
                xid_reply(1, u32(1, 1, 1, 5)),  # AUTH_ERROR AUTH_TOOWEAK
                xid_reply(2, u32(1, 1, 0, 2, 2)),  # RPC_MISMATCH
                xid_reply(3, u32(1, 0, 0, 0, 4))]),  # GARBAGE_ARGS
    "unavail": (1, [K_VOID, K_LIST],
                [xid_reply(0, u32(1, 0, 0, 0, 1)), xid_reply(1, u32(1, 0, 0, 0, 3))]),
    "verifier": (0, [K_INTS], [xid_reply(0, u32(1, 0, 1) + opaque(b"verf") + u32(0, 1, 2, 3, 4))]),
    "fragments": (2, [K_BLOB_ARENA, K_BLOB_HEAP, K_STR_ARENA],
                  [ok_reply(0, opaque(b"two fragments"), 0x10),
                   ok_reply(1, opaque(b"eight-byte fragments"), 0x20),
                   ok_reply(2, opaque(b"own mark"), 0)]),
    "own_mark": (0, [K_BLOB_ARENA], [chunk(0x38, u32(0x80000000 | 32) + opaque(b"x" * 4))]),
    "bad_mark": (1, [K_VOID, K_INTS], [ok_reply(0, b""), chunk(0x30, u32(0) + b"tail")]),
    "stray_then_real": (0, [K_INTS], [chunk(0, u32(1, 1, 0, 0, 0, 0)),
                                       ok_reply(0, u32(1, 2, 3, 4))]),
    "duplicate": (0, [K_STR_HEAP], [ok_reply(0, opaque(b"first")), ok_reply(0, opaque(b"2nd"))]),
    "refusal": (1, [K_VOID, K_VOID], [chunk(0, u32(0, 1, 0, 0, 0, 5)), ok_reply(1, b"")]),
    "empty_record": (0, [K_VOID], [chunk(0, b""), ok_reply(0, b"")]),
    "no_reply": (3, [K_VOID, K_BLOB_ARENA, K_INTS, K_LIST], []),
    # Zero-padded to 65536 bytes (the client's maximum): the in-place decoding
    # of large replies into an arena, and one byte past the maximum.
    "blob_64k_arena": (0, [K_BLOB_ARENA], [ok_reply(0, u32(65508) + b"\0\0", 0x80)]),
    "blob_64k_heap": (0, [K_BLOB_HEAP], [ok_reply(0, u32(65508) + b"\0\0", 0x80)]),
    "blob_64k_plus1": (0, [K_BLOB_ARENA], [ok_reply(0, u32(65508) + b"\0\0\0", 0x80)]),
}
for name, (ncalls, specs, chunks) in clnt.items():
    write("clnt_reply", name, bytes([ncalls]) + bytes(specs) + b"".join(chunks))
# The calls sent in 8-byte fragments, with AUTH_SYS credentials.
write("clnt_reply", "auth_sys_fragmented",
      bytes([0x0C | 1, K_INTS, K_STR_ARENA]) + ok_reply(0, u32(1, 2, 3, 4)) +
      ok_reply(1, opaque(b"creds")))
