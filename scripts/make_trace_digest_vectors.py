#!/usr/bin/env python3
"""Writes Tests/Fixtures/trace/nh_vectors.json: test vectors of the `repro-nh-v1` trace digest
(Repro's `TraceDigest.nh`), computed here independently of Repro's Swift/C code, twice: with NumPy
(scripts/repro_nh.py, what scripts/torchvision_trace.py uses) and with plain Python integers; the two
must agree. Input k of length n is bytes(pattern(i) for i in range(n)), pattern(i) = (i*167 + (i>>8)*13 + 5) & 255,
except the "float32" vector: the little-endian float32 values 0.5*i - 1000 for i < 5000.

    /work/venv/bin/python scripts/make_trace_digest_vectors.py
"""
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import repro_nh  # noqa: E402

ROOT = os.path.dirname(HERE)
LENGTHS = [0, 1, 3, 4, 8, 4095, 4096, 4097, 3 * 4096 + 5, 100_000, 64 * 4096 * 3 + 12]


def pattern(n):
    return bytes((i * 167 + (i >> 8) * 13 + 5) & 255 for i in range(n))


def plain_digest(data):
    """The same digest with Python integers only (no NumPy)."""
    m32, m64 = (1 << 32) - 1, (1 << 64) - 1
    k0, k1 = [int(v) for v in repro_nh.KEY0], [int(v) for v in repro_nh.KEY1]
    padded = data + bytes(-len(data) % repro_nh.CHUNK)
    h = hashlib.sha256(b"repro-nh-v1\0" + struct.pack("<Q", len(data)))
    for c in range(0, len(padded), repro_nh.CHUNK):
        w = struct.unpack("<1024I", padded[c:c + repro_nh.CHUNK])
        sums = []
        for key in (k0, k1):
            s = 0
            for j in range(0, 1024, 2):
                s += ((w[j] + key[j]) & m32) * ((w[j + 1] + key[j + 1]) & m32)
            sums.append(s & m64)
        h.update(struct.pack("<QQ", *sums))
    return h.hexdigest()


def main():
    vectors = []
    for n in LENGTHS:
        data = pattern(n)
        d = repro_nh.digest(data)
        assert d == plain_digest(data), n
        vectors.append({"input": "pattern", "length": n, "digest": d})
    floats = struct.pack("<5000f", *[0.5 * i - 1000 for i in range(5000)])
    d = repro_nh.digest(floats)
    assert d == plain_digest(floats)
    vectors.append({"input": "float32", "length": len(floats), "digest": d})
    doc = {"algorithm": repro_nh.NAME, "key0_first": [int(v) for v in repro_nh.KEY0[:4]],
           "key1_first": [int(v) for v in repro_nh.KEY1[:4]], "vectors": vectors}
    out = os.path.join(ROOT, "Tests/Fixtures/trace/nh_vectors.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"{out}: {len(vectors)} vectors")


if __name__ == "__main__":
    main()
