#!/usr/bin/python3
"""The dissononce side of the Noise interop test (tests/noise/noise_peer.c
starts it with its stdin and stdout as pipes; run with Debian's
/usr/bin/python3, which has python3-dissononce).

    dissononce_peer.py init|resp PROTOCOL PSK_HEX|-

Frames both ways: one type byte, a 4-byte big-endian length, the bytes.
  K  this side's static public key (sent first, both sides; fresh)
  H  a handshake message
  X  the handshake hash (after the handshake)
  T  a transport message
  F  the sender failed (the text says why), then it exits 0
  D  done
The handshake payloads are b"hs <n> from dissononce" / b"hs <n> from farcall"
(checked here).  Then for 100 rounds: farcall sends T (random bytes), this
side answers T with the plaintext reversed and the round number (4 bytes,
big-endian); farcall checks it.  One PSK is used for every psk modifier.
"""
import struct
import sys

from dissononce.dh.x25519.x25519 import PublicKey, X25519DH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory

PROLOGUE = b"farcall noise interop"
ROUNDS = 100
inp = sys.stdin.buffer
out = sys.stdout.buffer


def send(kind, data):
    out.write(kind + struct.pack(">I", len(data)) + data)
    out.flush()


def recv(want):
    head = inp.read(5)
    if len(head) != 5:
        raise SystemExit("dissononce_peer: the peer closed the pipe")
    kind, n = head[:1], struct.unpack(">I", head[1:])[0]
    if n > 70000:
        raise SystemExit("dissononce_peer: frame too long")
    data = inp.read(n)
    if len(data) != n:
        raise SystemExit("dissononce_peer: short frame")
    if kind == b"F" and want != b"F":
        sys.stderr.write("dissononce_peer: farcall failed: %s\n" % data.decode(errors="replace"))
        raise SystemExit(0)
    if kind != want:
        raise SystemExit("dissononce_peer: got frame %r, wanted %r" % (kind, want))
    return data


def main():
    role, name, psk_hex = sys.argv[1], sys.argv[2], sys.argv[3]
    initiator = role == "init"
    protocol = NoiseProtocolFactory().get_noise_protocol(name)
    pattern = protocol.pattern
    s = X25519DH().generate_keypair()
    send(b"K", s.public.data)
    peer_pub = recv(b"K")

    pre = pattern.responder_pre_message_pattern if initiator else pattern.initiator_pre_message_pattern
    rs = PublicKey(peer_pub) if "s" in pre else None
    npsk = sum(1 for m in pattern.message_patterns for t in m if t == "psk")
    psks = [bytes.fromhex(psk_hex)] * npsk if npsk else None
    hs = protocol.create_handshakestate()
    hs.initialize(pattern, initiator, PROLOGUE, s=s, rs=rs, psks=psks)

    cipherstates = None
    nmsgs = len(pattern.message_patterns)
    for i in range(nmsgs):
        ours = (i % 2 == 0) == initiator
        if ours:
            buf = bytearray()
            cipherstates = hs.write_message(b"hs %d from dissononce" % i, buf)
            send(b"H", bytes(buf))
        else:
            msg = recv(b"H")
            payload = bytearray()
            try:
                cipherstates = hs.read_message(msg, payload)
            except DecryptFailedException as e:
                send(b"F", ("message %d: DecryptFailedException: %s" % (i, e)).encode())
                return
            if bytes(payload) != b"hs %d from farcall" % i:
                send(b"F", b"message %d: unexpected payload %r" % (i, bytes(payload)))
                return
    if cipherstates is None:
        send(b"F", b"the handshake did not end")
        return
    send(b"X", hs.symmetricstate.get_handshake_hash())

    # cipherstates[0]: initiator -> responder
    rx, tx = (cipherstates[1], cipherstates[0]) if initiator else (cipherstates[0], cipherstates[1])
    for r in range(ROUNDS):
        ct = recv(b"T")
        try:
            pt = rx.decrypt_with_ad(b"", ct)
        except DecryptFailedException as e:
            send(b"F", ("transport %d: DecryptFailedException: %s" % (r, e)).encode())
            return
        send(b"T", tx.encrypt_with_ad(b"", bytes(pt)[::-1] + struct.pack(">I", r)))
    send(b"D", b"")


if __name__ == "__main__":
    main()
