"""The `repro-nh-v1` trace digest in NumPy (Repro's `TraceDigest.nh`; docs/diagnosing.md, "Digests").

The bytes are cut into 4096-byte chunks (the last one zero-padded); each chunk's 1024 little-endian
32-bit words w get two NH sums, for key K in (key0, key1):
    sum over j < 512 of ((w[2j] + K[2j]) mod 2^32) * ((w[2j+1] + K[2j+1]) mod 2^32)   mod 2^64
and the digest is SHA-256 of b"repro-nh-v1\\0", the byte count (uint64 little-endian) and every chunk's
two sums (uint64 little-endian), in chunk order. The keys are the 1024 outputs of SplitMix64 seeded
with 0x726570726f2d6e68 (the ASCII bytes "repro-nh"): key0 takes the low 32 bits, key1 the high.

    import repro_nh; repro_nh.digest(array.tobytes())
"""
import hashlib

import numpy as np

NAME = "repro-nh-v1"
CHUNK = 4096
_MASK = (1 << 64) - 1


def _keys():
    state, out = 0x726570726F2D6E68, []
    for _ in range(CHUNK // 4):
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        out.append(z ^ (z >> 31))
    k = np.array(out, dtype=np.uint64)
    return (k & 0xFFFFFFFF).astype(np.uint32), (k >> 32).astype(np.uint32)


KEY0, KEY1 = _keys()


def chunk_sums(data, rows=4096):
    """The (chunks, 2) uint64 NH sums of `data` (bytes-like), `rows` chunks at a time to bound memory."""
    n = len(data)
    chunks = -(-n // CHUNK)
    out = np.empty((chunks, 2), dtype=np.uint64)
    view = memoryview(data).cast("B")
    for lo in range(0, chunks, rows):
        hi = min(lo + rows, chunks)
        block = view[lo * CHUNK:hi * CHUNK]
        if len(block) < (hi - lo) * CHUNK:
            padded = bytearray((hi - lo) * CHUNK)
            padded[:len(block)] = block
            block = padded
        w = np.frombuffer(block, dtype="<u4").reshape(hi - lo, CHUNK // 4)
        for lane, key in enumerate((KEY0, KEY1)):
            x = (w + key).astype(np.uint64)  # uint32 addition wraps modulo 2^32
            with np.errstate(over="ignore"):
                out[lo:hi, lane] = (x[:, 0::2] * x[:, 1::2]).sum(axis=1, dtype=np.uint64)  # wraps modulo 2^64
    return out


def digest(data):
    """`repro-nh-v1` of `data` (bytes-like), lowercase hex."""
    h = hashlib.sha256(NAME.encode() + b"\0")
    h.update(np.array([len(data)], dtype="<u8").tobytes())
    h.update(chunk_sums(data).astype("<u8").tobytes())
    return h.hexdigest()
