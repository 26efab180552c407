#!/usr/bin/env python3
"""Regenerate Tests/Fixtures/rng/python_extra.json from CPython 3.11's `random`.

Extra vectors for `PythonRandom` beyond ../shared/vectors/python_random.json:
big-integer, negative, string and bytes seeds, getrandbits(1..200), choice,
randint (including the full 64-bit range), randrange with steps, sample (both
of CPython's algorithms), gauss with mu/sigma, and getstate/setstate (including
a state with index 0, which CPython accepts but never produces itself).

Only the standard library is used, so no virtualenv is needed: the script only
has to run under CPython 3.11 (it refuses any other version, because `random`'s
algorithms are version-specific). `gauss` and `sample`'s threshold use libm; the
stored vectors come from glibc on x86-64.

Usage: python3.11 scripts/make_python_extra_vectors.py [output path]
"""
import hashlib
import json
import platform
import random
import struct
import sys

if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
    sys.exit(f"needs CPython 3.11, this is {sys.implementation.name} {platform.python_version()}")

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/rng/python_extra.json"


def f64(x):
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def words_sha256(words):
    return hashlib.sha256(struct.pack("<624I", *words)).hexdigest()


def state_summary(r):
    version, internal, gauss_next = r.getstate()
    return {
        "index": internal[624],
        "gauss_next": None if gauss_next is None else f64(gauss_next),
        "words_sha256": words_sha256(internal[:624]),
    }


# Each seed: (kind, JSON value, Python value). Int seeds are decimal strings.
SEEDS = [
    ("int", str(2**100 + 7), 2**100 + 7),
    ("int", str(-(2**70 + 3)), -(2**70 + 3)),
    ("int", str(2**64 - 1), 2**64 - 1),
    ("int", str(-(2**63)), -(2**63)),
    ("int", str(2**32), 2**32),
    ("int", "0", 0),
    ("int", str(3**200), 3**200),
    ("str", "hello", "hello"),
    ("str", "", ""),
    ("str", "Repro \u2713 \u00fcn\u00efc\u00f6de", "Repro \u2713 \u00fcn\u00efc\u00f6de"),
    ("bytes_hex", "00000102ff", bytes.fromhex("00000102ff")),
]

POP = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]

cases = []
for kind, value, seed in SEEDS:
    r = random.Random(seed)
    case = {"seed_kind": kind, "seed": value}
    case["random_5"] = [f64(r.random()) for _ in range(5)]
    case["getrandbits_1_to_200_hex"] = ["%x" % r.getrandbits(k) for k in range(1, 201)]
    case["choice_pop7_x10"] = [POP.index(r.choice(POP)) for _ in range(10)]
    case["randint_m5_5_x10"] = [r.randint(-5, 5) for _ in range(10)]
    case["randint_full_int64_x5"] = [str(r.randint(-(2**63), 2**63 - 1)) for _ in range(5)]
    case["randrange_3_100_7_x5"] = [r.randrange(3, 100, 7) for _ in range(5)]
    case["randrange_100_3_m7_x5"] = [r.randrange(100, 3, -7) for _ in range(5)]
    case["randrange_2p62_x5"] = [str(r.randrange(2**62)) for _ in range(5)]
    case["sample_range30_k10"] = r.sample(range(30), 10)
    case["sample_range1000000_k8"] = r.sample(range(1000000), 8)
    case["sample_range100_k64"] = r.sample(range(100), 64)
    case["gauss_mu2_sigma0.3_x5"] = [f64(r.gauss(2.0, 0.3)) for _ in range(5)]
    case["uniform_m1_3_x3"] = [f64(r.uniform(-1.0, 3.0)) for _ in range(3)]
    case["state_after"] = state_summary(r)
    case["recipe"] = (
        "r = random.Random(seed); random_5, getrandbits(1..200) as hex, choice(POP) index x10, "
        "randint(-5,5) x10, randint(-2**63, 2**63-1) x5, randrange(3,100,7) x5, randrange(100,3,-7) x5, "
        "randrange(2**62) x5, sample(range(30),10), sample(range(1000000),8), sample(range(100),64), "
        "gauss(2.0,0.3) x5, uniform(-1.0,3.0) x3, then getstate() (index, gauss_next, sha256 of words as u32 LE)"
    )
    cases.append(case)

# A state with index 0 (words used as they are, no regeneration first), built
# from a seeded state's words, and a state carrying a cached Gaussian.
base = random.Random(12345)
_, internal, _ = base.getstate()
words = list(internal[:624])
r0 = random.Random()
r0.setstate((3, tuple(words) + (0,), None))
index0 = {
    "words_from_seed": 12345,
    "random_5": [f64(r0.random()) for _ in range(5)],
    "recipe": "w = random.Random(12345).getstate()[1][:624]; r.setstate((3, w + (0,), None)); 5 x r.random()",
}
rg = random.Random(7)
first = rg.gauss()
cached = {
    "seed": 7,
    "first_gauss": f64(first),
    "state_after_first": state_summary(rg),
    "next_gauss_x3": [f64(rg.gauss()) for _ in range(3)],
    "recipe": "r = random.Random(7); r.gauss(); getstate(); 3 x r.gauss()",
}

doc = {
    "meta": {
        "generator": "scripts/make_python_extra_vectors.py",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "libc": "-".join(platform.libc_ver()),
        "encoding": "floats: IEEE-754 binary64 bit patterns as 0x + 16 hex digits; ints beyond 2**53 and seeds: "
                    "decimal strings; getrandbits: lowercase hex without 0x",
        "pop7": POP,
    },
    "cases": cases,
    "state_index0": index0,
    "gauss_cache_state": cached,
}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote", OUT)
