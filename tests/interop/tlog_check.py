#!/usr/bin/python3
"""An independent check of a Custodian transparency log, written from the specs alone.

Reads only GET <url>/log/checkpoint and GET <url>/log/tile/..., recomputes the RFC 6962 root of
the tree the checkpoint names from the level-0 hash tiles (C2SP tlog-tiles), checks that every
leaf hash in them is SHA-256(0x00 || entry) of the entry bundles, compares the root with the
checkpoint's, and verifies the checkpoint's Ed25519 signature (C2SP signed-note) with the vkey.
Shares no code with Custodian (Python standard library + python3-cryptography).

usage: tlog_check.py URL VKEY        exit 0 and "root OK <size> <base64 root>", else exit 1
"""
import base64
import hashlib
import struct
import sys
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def tile_path(level, n, width):
    # C2SP tlog-tiles: N in groups of three digits, all but the last prefixed with "x".
    digits = "%d" % n
    digits = "0" * ((3 - len(digits) % 3) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    path = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    name = "tile/%s/%s" % (level, path)
    return name if width == 256 else name + ".p/%d" % width


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    # RFC 6962 2.1: split at the largest power of two smaller than n.
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def main():
    if len(sys.argv) != 3:
        fail("usage: tlog_check.py URL VKEY")
    url, vkey = sys.argv[1].rstrip("/"), sys.argv[2]

    name, key_hash_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    if key[0] != 1 or len(key) != 33:
        fail("vkey is not an Ed25519 note key")
    want_hash = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if want_hash.hex() != key_hash_hex:
        fail("vkey hash does not match its name and key")

    note = get(url + "/log/checkpoint").decode("utf-8")
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        fail("checkpoint has no signature block")
    text += "\n"
    lines = text.split("\n")
    origin, size, root_b64 = lines[0], int(lines[1]), lines[2]
    verified = False
    for line in sigs.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail("bad signature line: %r" % line)
        sig_name, sig_b64 = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(sig_b64)
        if sig_name == name and raw[:4] == want_hash:
            try:
                Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[4:], text.encode())
                verified = True
            except InvalidSignature:
                fail("checkpoint signature does not verify")
    if not verified:
        fail("no signature by %s on the checkpoint" % name)

    leaves = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        tile = get(url + "/log/" + tile_path(0, n, width))[:width * 32]
        bundle = get(url + "/log/" + tile_path("entries", n, width))
        hashes = [tile[i * 32:(i + 1) * 32] for i in range(width)]
        at = 0
        for i in range(width):
            (length,) = struct.unpack(">H", bundle[at:at + 2])
            entry = bundle[at + 2:at + 2 + length]
            at += 2 + length
            if hashlib.sha256(b"\x00" + entry).digest() != hashes[i]:
                fail("leaf %d: tile hash is not the hash of its entry" % (n * 256 + i))
        leaves += hashes
    root = mth(leaves) if leaves else hashlib.sha256(b"").digest()
    if base64.b64encode(root).decode() != root_b64:
        fail("root %s recomputed from the tiles differs from the checkpoint's %s" %
             (base64.b64encode(root).decode(), root_b64))
    print("root OK %s %d %s" % (origin, size, root_b64))


main()
