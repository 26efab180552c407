#!/usr/bin/env python3
"""Writes Tests/Fixtures/rng/streams.json: every `repro random` stream, computed by the real libraries.

For each stream pattern that `repro random --help` lists (RandomStream.acceptedNames) and each seed in
SEEDS, the first COUNT values exactly as `repro random STREAM --seed S --count N --format hex` defines
them (floats as IEEE bit patterns, integers decimal), or `"refused": true` where the library itself
refuses the seed (np.random.seed(-42), torch.manual_seed(2**100 + 3), ...). The test
Tests/ReproTests/RandomStreamVectorTests.swift requires an entry for every stream of the library.

Libraries: torch (CPU), NumPy and CPython's `random`, from the reference virtualenv:

    python3 -m venv /work/venv
    /work/venv/bin/pip install /path/to/torch-2.13.0+cpu-...whl numpy pillow safetensors
    /work/venv/bin/python scripts/make_random_stream_vectors.py [--cross-check]

`philox4x32.raw` is PyTorch's C++ engine `at::Philox4_32(seed, 0, 0)`, which no Python API of torch
2.13 exposes (torch 2.15's `torch.ops.aten._philox_randint_` does): its values come from the
Philox4x32-10 transcription below, which this script first checks against the Random123 known-answer
vectors and against the torch 2.15 values recorded in Tests/Fixtures/rng/{philox,torch_cpu}.json.

`--cross-check` evaluates the recipes of the torch 2.15 vectors in Tests/Fixtures/rng/torch_cpu.json
with the installed torch and reports any difference (the RNG streams do not change between versions).
"""
import argparse
import json
import os
import platform
import random
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "rng", "streams.json")

# 0, a small positive, a negative, a large 64-bit and a seed wider than 64 bits.
SEEDS = [0, 3407, -42, 12345678901234567890, 2**100 + 3]
COUNT = 20

# Every pattern of RandomStream.acceptedNames with the parameters used (two where the
# library switches algorithm with the range: 32- vs 64-bit draws, one vs several words).
PATTERNS = {
    "torch.rand": [""],
    "torch.rand64": [""],
    "torch.randn": [""],
    "torch.randint:LOW:HIGH": ["-5:10", "-1000000:1099511627776"],
    "torch.randperm:N": ["30"],
    "torch.bernoulli:P": ["0.3"],
    "torch.RandomSampler:N": ["25"],
    "numpy.legacy.random_sample": [""],
    "numpy.legacy.standard_normal": [""],
    "numpy.legacy.randint:LOW:HIGH": ["-5:10", "0:1099511627776"],
    "numpy.legacy.permutation:N": ["25"],
    "numpy.default_rng.random": [""],
    "numpy.default_rng.standard_normal": [""],
    "numpy.default_rng.integers:LOW:HIGH": ["-5:10", "-1000:1125899906842624"],
    "numpy.default_rng.permutation:N": ["25"],
    "numpy.MT19937.raw": [""],
    "numpy.PCG64.raw": [""],
    "numpy.PCG64DXSM.raw": [""],
    "numpy.Philox.raw": [""],
    "numpy.SFC64.raw": [""],
    "python.random": [""],
    "python.getrandbits:K": ["32", "100"],
    "python.randrange:N": ["1000", "1000000000000"],
    "python.shuffle:N": ["25"],
    "python.gauss": [""],
    "philox4x32.raw": [""],
}


def f32hex(values):
    return ["0x%08x" % struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in values]


def f64hex(values):
    return ["0x%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in values]


def ints(values):
    return [str(int(v)) for v in values]


# --- Philox4x32-10 (Random123; at::Philox4_32 uses key = seed, counter = (offset, subsequence)) ---

M32 = 0xFFFFFFFF


def philox_block(ctr, key, rounds=10):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
    return [c0, c1, c2, c3]


def philox_engine_words(seed, n, subsequence=0, offset_blocks=0):
    """The 32-bit words of at::Philox4_32(seed, subsequence, offset): the 128-bit counter starts at
    offset + subsequence * 2^64 (words least significant first) and counts up with carry, key (seed
    low, seed high)."""
    key = [seed & M32, (seed >> 32) & M32]
    out, counter = [], (offset_blocks + (subsequence << 64)) % 2**128
    while len(out) < n:
        out += philox_block([(counter >> (32 * i)) & M32 for i in range(4)], key)
        counter = (counter + 1) % 2**128
    return out[:n]


def check_philox():
    """The transcription against the Random123 KATs and torch 2.15's recorded engine streams."""
    rng_dir = os.path.join(ROOT, "Tests", "Fixtures", "rng")
    philox = json.load(open(os.path.join(rng_dir, "philox.json")))
    for kat in philox["kats"]:
        got = philox_block([int(x, 16) for x in kat["ctr"]], [int(x, 16) for x in kat["key"]], kat["rounds"])
        assert got == [int(x, 16) for x in kat["expected"]], ("Random123 KAT", kat)
    checked = len(philox["kats"])
    for c in philox["philox_engine_streams"]["cases"]:
        got = philox_engine_words(int(c["seed"]), 10, int(c["subsequence"]), int(c["offset_blocks"]))
        want = [int(x, 16) if isinstance(x, str) and x.startswith("0x") else int(x) for x in
                (c["first10_u32"]["values"] if isinstance(c["first10_u32"], dict) else c["first10_u32"])]
        assert got == want, ("engine stream", c)
        checked += 1
    torch_cpu = json.load(open(os.path.join(rng_dir, "torch_cpu.json")))
    for c in torch_cpu["capability_independent"]["torch_stateless_philox_randint_uint32"]:
        if int(c["offset"]) == 0:   # offset 0: torch's stateless Philox is the engine stream
            assert philox_engine_words(int(c["seed"]), 10) == c["uint32_x10"]["values"], ("torch 2.15", c)
            checked += 1
    return checked


# --- The libraries' values ---

def torch_gen(s):
    return torch.Generator().manual_seed(s)


def reference(stream, s, n):
    """The library's values for one stream in `repro random --format hex` form; raises where the
    library refuses the seed."""
    name, *params = stream.split(":")
    p = [int(x) if x.lstrip("-").isdigit() else float(x) for x in params]
    if name == "torch.rand":
        return f32hex(torch.rand(n, generator=torch_gen(s)).tolist())
    if name == "torch.rand64":
        return f64hex(torch.rand(n, dtype=torch.float64, generator=torch_gen(s)).tolist())
    if name == "torch.randn":
        return f32hex(torch.randn(n, generator=torch_gen(s)).tolist())
    if name == "torch.randint":
        return ints(torch.randint(p[0], p[1], (n,), generator=torch_gen(s)).tolist())
    if name == "torch.randperm":
        return ints(torch.randperm(p[0], generator=torch_gen(s)).tolist()[:n])
    if name == "torch.bernoulli":
        return f32hex(torch.empty(n).bernoulli_(p[0], generator=torch_gen(s)).tolist())
    if name == "torch.RandomSampler":
        return ints(list(torch.utils.data.RandomSampler(range(p[0]), generator=torch_gen(s)))[:n])
    if name.startswith("numpy.legacy."):
        rs = np.random.RandomState()
        rs.seed(s)
        kind = name.split(".")[-1]
        if kind == "random_sample":
            return f64hex(rs.random_sample(n))
        if kind == "standard_normal":
            return f64hex(rs.standard_normal(n))
        if kind == "randint":
            return ints(rs.randint(p[0], p[1], n, dtype=np.int64))
        if kind == "permutation":
            return ints(rs.permutation(p[0])[:n])
    if name.startswith("numpy.default_rng."):
        g = np.random.default_rng(s)
        kind = name.split(".")[-1]
        if kind == "random":
            return f64hex(g.random(n))
        if kind == "standard_normal":
            return f64hex(g.standard_normal(n))
        if kind == "integers":
            return ints(g.integers(p[0], p[1], n))
        if kind == "permutation":
            return ints(g.permutation(p[0])[:n])
    if name.startswith("numpy.") and name.endswith(".raw"):
        return ints(getattr(np.random, name.split(".")[1])(s).random_raw(n))
    if name.startswith("python."):
        r = random.Random(s)
        kind = name.split(".")[1]
        if kind == "random":
            return f64hex([r.random() for _ in range(n)])
        if kind == "getrandbits":
            return ints([r.getrandbits(p[0]) for _ in range(n)])
        if kind == "randrange":
            return ints([r.randrange(p[0]) for _ in range(n)])
        if kind == "shuffle":
            x = list(range(p[0]))
            r.shuffle(x)
            return ints(x[:n])
        if kind == "gauss":
            return f64hex([r.gauss() for _ in range(n)])
    if name == "philox4x32.raw":
        # at::Philox4_32 takes a uint64 seed; repro gives negatives as two's complement and
        # accepts torch.manual_seed's range.
        if not -2**63 <= s < 2**64:
            raise ValueError("seed outside torch.manual_seed's range")
        return ints(philox_engine_words(s % 2**64, n))
    raise SystemExit(f"no reference for {stream}")


def cross_check():
    """Evaluates torch_cpu.json's per-seed recipes (recorded with torch 2.15) with this torch."""
    d = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "rng", "torch_cpu.json")))
    same = differ = 0
    for seed, entries in d["capability_independent"]["per_seed"].items():
        for key, e in entries.items():
            if not isinstance(e, dict) or "recipe" not in e or not ("values" in e or "bits" in e):
                continue
            encoding = e.get("encoding")
            if encoding not in ("int", "int_str", "u32", "f32", "f64"):
                continue
            *stmts, last = e["recipe"].split("; ")
            env = {"torch": torch, "np": np, "random": random, "s": int(seed)}
            try:
                exec("; ".join(stmts), env)
                got = torch.as_tensor(eval(last, env)).flatten().tolist()
            except Exception:  # recipes whose last part is not an expression
                continue
            if encoding in ("f32", "f64"):
                got, want = (f32hex if encoding == "f32" else f64hex)(got), e["bits"]
            else:
                got, want = [int(v) for v in got], [int(v) for v in e["values"]]
            if got == want:
                same += 1
            else:
                differ += 1
                print(f"DIFFERS: seed {seed} {key}", file=sys.stderr)
    print(f"cross-check: {same} torch 2.15 vectors reproduced by torch {torch.__version__}, {differ} differ",
          file=sys.stderr)
    return differ == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cross-check", action="store_true")
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    print(f"philox transcription: {check_philox()} reference vectors reproduced", file=sys.stderr)
    if a.cross_check and not cross_check():
        sys.exit(1)
    streams = {}
    for pattern, params in PATTERNS.items():
        base = pattern.split(":")[0]
        cases = []
        for param in params:
            name = base + (":" + param if param else "")
            fixed = int(param) if base.split(".")[-1] in ("randperm", "RandomSampler", "permutation", "shuffle") else None
            count = fixed if fixed is not None else COUNT
            for s in SEEDS:
                case = {"stream": name, "seed": str(s), "count": count}
                try:
                    case["values"] = reference(name, s, count)
                except (ValueError, RuntimeError, OverflowError, TypeError) as e:
                    case["refused"] = True
                    case["library_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
                cases.append(case)
        streams[pattern] = cases
    meta = {
        "generator": "scripts/make_random_stream_vectors.py",
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "machine": platform.machine(),
        "format": "values as `repro random STREAM --seed S --count N --format hex` prints them: floats as "
                  "IEEE bit patterns (0x + 8 or 16 hex digits), integers decimal; 'refused': the library "
                  "raised library_error for this seed, so repro must refuse it too",
        "philox4x32.raw": "at::Philox4_32(S, 0, 0), no Python API in this torch: the script's Philox4x32-10 "
                          "transcription, checked against the Random123 KATs and torch 2.15's recorded "
                          "_philox_randint_ streams",
    }
    with open(a.out, "w") as f:
        json.dump({"meta": meta, "streams": streams}, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(len(c) for c in streams.values())
    print(f"wrote {a.out}: {len(streams)} streams, {total} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
