#!/usr/bin/env python3
"""Known-answer vectors for Repro's NumPy bit generators and front ends.

Writes Tests/Fixtures/rng/numpy_extra.json with the real NumPy 2.4.6: raw
streams of PCG64, PCG64DXSM, SFC64, Philox and MT19937 (all seeded through
SeedSequence) for several seeds, states after seeding, advance/jumped
results, SeedSequence cases (large entropy, spawn keys, pool sizes), extra
RandomState/Generator calls and long-run digests. Every entry carries its
`recipe` (rng.md §9.2 conventions; `s` is the enclosing seed).

Usage:  python3 scripts/make_numpy_extra_vectors.py [OUT.json]

The script runs inside its own virtualenv (scripts/.venv, numpy==2.4.6),
created on first use; set REPRO_VENV to an existing environment with that
numpy to reuse it. Tests never run this script.
"""
import hashlib
import json
import os
import subprocess
import sys
import venv

NUMPY_VERSION = "2.4.6"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ensure_environment():
    """Re-executes this script under a Python that has the pinned numpy."""
    if os.environ.get("_REPRO_NUMPY_VECTORS_CHILD") == "1":
        return
    env_dir = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv")
    python = os.path.join(env_dir, "bin", "python")
    if not os.path.exists(python):
        venv.create(env_dir, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", f"numpy=={NUMPY_VERSION}"])
    env = dict(os.environ, _REPRO_NUMPY_VECTORS_CHILD="1")
    os.execve(python, [python, os.path.abspath(__file__)] + sys.argv[1:], env)


def u64hex(values):
    return {"encoding": "u64_hex", "values": ["0x%016x" % int(v) for v in values]}


def u32(values):
    return {"encoding": "u32", "values": [int(v) for v in values]}


def f64(values):
    import numpy as np
    arr = np.asarray(values, dtype=np.float64).ravel()
    return {"encoding": "f64", "bits": ["0x%016x" % int(b) for b in arr.view(np.uint64)],
            "dec": [repr(float(x)) for x in arr]}


def ints(values):
    vals = [int(v) for v in values]
    if all(abs(v) < 2**53 for v in vals):
        return {"encoding": "int", "values": vals}
    return {"encoding": "int_str", "values": [str(v) for v in vals]}


def words_of(n):
    """32-bit words of a non-negative integer, least significant first (0 -> [0])."""
    out = []
    while True:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
        if n == 0:
            return out


def hex128(v):
    return "0x%032x" % int(v)


def with_recipe(entry, recipe):
    entry = dict(entry)
    entry["recipe"] = recipe
    return entry


def sha256_f64(values):
    import numpy as np
    return hashlib.sha256(np.asarray(values, dtype="<f8").tobytes()).hexdigest()


BIG128 = 0x0123456789ABCDEFFEDCBA9876543210
SEEDS = [0, 1, 42, 2**64 + 3, BIG128]


def bitgen_section(np):
    out = {}
    for s in SEEDS:
        key = str(s)
        per = {"entropy_words": words_of(s)}

        # PCG64
        bg = np.random.PCG64(s)
        st = bg.state["state"]
        d = {"state_after_seeding": hex128(st["state"]), "inc_after_seeding": hex128(st["inc"]),
             "recipe": "st = np.random.PCG64(s).state['state']; state_after_seeding = st['state']; inc_after_seeding = st['inc']"}
        per["PCG64"] = {
            "seeding": d,
            "raw_first8": with_recipe(u64hex(np.random.PCG64(s).random_raw(8)), "np.random.PCG64(s).random_raw(8)"),
        }
        # PCG64DXSM
        bg = np.random.PCG64DXSM(s)
        st = bg.state["state"]
        b2 = np.random.PCG64DXSM(s)
        b2.advance(2**100 + 12345)
        j = np.random.PCG64DXSM(s).jumped(3)
        per["PCG64DXSM"] = {
            "seeding": {"state_after_seeding": hex128(st["state"]), "inc_after_seeding": hex128(st["inc"]),
                        "recipe": "st = np.random.PCG64DXSM(s).state['state']; state_after_seeding = st['state']; inc_after_seeding = st['inc']"},
            "raw_first8": with_recipe(u64hex(np.random.PCG64DXSM(s).random_raw(8)), "np.random.PCG64DXSM(s).random_raw(8)"),
            "advance_2p100_p12345": {"state": hex128(b2.state["state"]["state"]),
                                     "raw_after": u64hex(b2.random_raw(3)),
                                     "recipe": "b = np.random.PCG64DXSM(s); b.advance(2**100 + 12345); state = b.state['state']['state']; raw_after = b.random_raw(3)"},
            "jumped3": {"state": hex128(j.state["state"]["state"]), "raw_after": u64hex(j.random_raw(3)),
                        "recipe": "j = np.random.PCG64DXSM(s).jumped(3); state = j.state['state']['state']; raw_after = j.random_raw(3)"},
        }
        # SFC64
        st = np.random.SFC64(s).state
        per["SFC64"] = {
            "seeding": {"state_after_seeding": u64hex(st["state"]["state"]),
                        "recipe": "state_after_seeding = np.random.SFC64(s).state['state']['state']"},
            "raw_first8": with_recipe(u64hex(np.random.SFC64(s).random_raw(8)), "np.random.SFC64(s).random_raw(8)"),
        }
        # Philox
        st = np.random.Philox(s).state
        b = np.random.Philox(s)
        b.random_raw(5)
        b.advance(2**200 + 2**64 - 3)
        adv_counter = b.state["state"]["counter"]
        adv_raw = b.random_raw(3)
        j = np.random.Philox(s)
        j.random_raw(2)
        j = j.jumped(2)
        per["Philox"] = {
            "seeding": {"key": u64hex(st["state"]["key"]), "counter": u64hex(st["state"]["counter"]),
                        "recipe": "st = np.random.Philox(s).state['state']; key = st['key']; counter = st['counter']"},
            "raw_first10": with_recipe(u64hex(np.random.Philox(s).random_raw(10)), "np.random.Philox(s).random_raw(10)"),
            "advance_after_5": {"counter": u64hex(adv_counter), "raw_after": u64hex(adv_raw),
                                "recipe": "b = np.random.Philox(s); b.random_raw(5); b.advance(2**200 + 2**64 - 3); counter = b.state['state']['counter']; raw_after = b.random_raw(3)"},
            "jumped2_after_2": {"counter": u64hex(j.state["state"]["counter"]), "raw_after": u64hex(j.random_raw(3)),
                                "recipe": "j = np.random.Philox(s); j.random_raw(2); j = j.jumped(2); counter = j.state['state']['counter']; raw_after = j.random_raw(3)"},
        }
        # MT19937 through SeedSequence
        m = np.random.MT19937(s)
        raw = m.random_raw(1000)
        per["MT19937"] = {
            "raw_first8": with_recipe(u32(raw[:8]), "np.random.MT19937(s).random_raw(8)"),
            "raw_620_to_630": with_recipe(u32(raw[620:630]), "np.random.MT19937(s).random_raw(1000)[620:630]"),
            "pos_after_seeding": int(np.random.MT19937(s).state["state"]["pos"]),
        }
        # Generator over each bit generator
        gens = {}
        for name in ["PCG64", "PCG64DXSM", "SFC64", "Philox", "MT19937"]:
            g = np.random.Generator(getattr(np.random, name)(s))
            r = g.random(3)
            i = g.integers(0, 1000, 5)
            z = g.standard_normal(4)
            p = g.permutation(10)
            gens[name] = {
                "random_3": f64(r), "integers_0_1000_x5": ints(i), "standard_normal_4": f64(z),
                "permutation_10": ints(p),
                "recipe": f"g = np.random.Generator(np.random.{name}(s)); random_3 = g.random(3); "
                          "integers_0_1000_x5 = g.integers(0, 1000, 5); standard_normal_4 = g.standard_normal(4); "
                          "permutation_10 = g.permutation(10)",
            }
        per["generator_over"] = gens
        out[key] = per

    # Philox with an explicit key and a counter that carries across words.
    b = np.random.Philox(key=2**64 + 1, counter=2**128 - 2)
    raw = b.random_raw(9)
    explicit = {"key": u64hex(b.state["state"]["key"]), "counter_after": u64hex(b.state["state"]["counter"]),
                "raw_first9": u64hex(raw), "buffer_pos_after": int(b.state["buffer_pos"]),
                "recipe": "b = np.random.Philox(key=2**64 + 1, counter=2**128 - 2); raw_first9 = b.random_raw(9); "
                          "key = b.state['state']['key']; counter_after = b.state['state']['counter']; buffer_pos_after = b.state['buffer_pos']"}
    return out, explicit


def seedsequence_section(np):
    cases = []

    def case(name, ss, entropy_kind, entropy, recipe, spawn_key=(), pool_size=4):
        c = {"name": name, "entropy_kind": entropy_kind, "entropy": entropy,
             "spawn_key": [str(k) for k in spawn_key], "pool_size": pool_size,
             "pool": u32(ss.pool), "generate_state_8_u32": u32(ss.generate_state(8)),
             "generate_state_3_u64": u64hex(ss.generate_state(3, np.uint64))}
        kids = ss.spawn(2)
        more = ss.spawn(1)
        c["spawn2_then_spawn1_generate_state_2_u32"] = [u32(k.generate_state(2)) for k in kids + more]
        c["spawn_keys"] = [[str(x) for x in k.spawn_key] for k in kids + more]
        grand = kids[1].spawn(2)[1]
        c["grandchild_1_1_generate_state_4_u32"] = u32(grand.generate_state(4))
        c["recipe"] = (recipe + "; pool = ss.pool; generate_state_8_u32 = ss.generate_state(8); "
                       "generate_state_3_u64 = ss.generate_state(3, np.uint64); kids = ss.spawn(2) + ss.spawn(1); "
                       "spawn2_then_spawn1_generate_state_2_u32 = [k.generate_state(2) for k in kids]; "
                       "grandchild_1_1_generate_state_4_u32 = kids[1].spawn(2)[1].generate_state(4)")
        cases.append(c)

    for s in [0, 2**32, 2**64 + 3, BIG128, 2**200 + 12345]:
        case(f"int_{s}", np.random.SeedSequence(s), "big_int_words", words_of(s), f"ss = np.random.SeedSequence({s})")
    lst = [1, 2**32, 0, 2**63 + 5]
    case("list_of_ints", np.random.SeedSequence(lst), "uint64_list", [str(v) for v in lst],
         f"ss = np.random.SeedSequence({lst})")
    case("spawn_key", np.random.SeedSequence(5, spawn_key=(3, 2**40)), "big_int_words", [5],
         "ss = np.random.SeedSequence(5, spawn_key=(3, 2**40))", spawn_key=(3, 2**40))
    case("spawn_key_long_entropy", np.random.SeedSequence(2**200 + 1, spawn_key=(7,)), "big_int_words",
         words_of(2**200 + 1), "ss = np.random.SeedSequence(2**200 + 1, spawn_key=(7,))", spawn_key=(7,))
    case("pool_size_8", np.random.SeedSequence(123, pool_size=8), "big_int_words", [123],
         "ss = np.random.SeedSequence(123, pool_size=8)", pool_size=8)
    arr = np.array([0, 0, 7], dtype=np.uint32)
    case("uint32_array", np.random.SeedSequence(arr), "uint32_words", [0, 0, 7],
         "ss = np.random.SeedSequence(np.array([0, 0, 7], dtype=np.uint32))")
    try:
        np.random.SeedSequence(1, pool_size=3)
        raise SystemExit("expected pool_size=3 to raise")
    except ValueError as e:
        pool_error = {"raises": f"ValueError: {e}", "recipe": "np.random.SeedSequence(1, pool_size=3)"}
    return cases, pool_error


def legacy_section(np):
    out = {}
    for s in [0, 42, 4294967295]:
        rs = np.random.RandomState(s)
        n = rs.normal(0.5, 2.0, 5)
        rs = np.random.RandomState(s)
        rs.standard_normal(3)
        st = rs.get_state(legacy=False)
        e = {
            "normal_0.5_2_x5": with_recipe(f64(n), "np.random.RandomState(s).normal(0.5, 2.0, 5)"),
            "after_standard_normal_3": {"has_gauss": int(st["has_gauss"]), "gauss": f64([st["gauss"]]),
                                        "recipe": "rs = np.random.RandomState(s); rs.standard_normal(3); st = rs.get_state(legacy=False); has_gauss = st['has_gauss']; gauss = st['gauss']"},
            "randint_m2p63_2p63m1_x4": with_recipe(ints(np.random.RandomState(s).randint(-2**63, 2**63 - 1, 4)),
                                                   "np.random.RandomState(s).randint(-2**63, 2**63 - 1, 4)"),
            "randint_0_2p32_x4": with_recipe(ints(np.random.RandomState(s).randint(0, 2**32, 4)),
                                             "np.random.RandomState(s).randint(0, 2**32, 4)"),
        }
        rs = np.random.RandomState(s)
        a = rs.randint(5, 6, 3)
        b = rs.random_sample(1)
        e["randint_5_6_x3_then_random_sample_1"] = {"randint": ints(a), "random_sample": f64(b),
                                                     "recipe": "rs = np.random.RandomState(s); randint = rs.randint(5, 6, 3); random_sample = rs.random_sample(1)"}
        rs = np.random.RandomState(s)
        x = list(range(10))
        rs.shuffle(x)
        e["shuffle_list10"] = with_recipe(ints(x), "rs = np.random.RandomState(s); x = list(range(10)); rs.shuffle(x); x")
        out[str(s)] = e
    errors = {}
    for label, seed in [("negative", -1), ("empty_array", []), ("word_2p32", [1, 2**32])]:
        try:
            np.random.RandomState(seed)
            raise SystemExit(f"expected RandomState({seed!r}) to raise")
        except ValueError as ex:
            errors[label] = {"seed": repr(seed), "raises": f"ValueError: {ex}", "recipe": f"np.random.RandomState({seed!r})"}
    return out, errors


def generator_section(np):
    out = {}
    for s in [0, 42, 2**64 + 3]:
        key = str(s)
        e = {
            "integers_0_2p32_x4": with_recipe(ints(np.random.default_rng(s).integers(0, 2**32, 4)),
                                              "np.random.default_rng(s).integers(0, 2**32, 4)"),
            "integers_m2p63_2p63m1_x4": with_recipe(ints(np.random.default_rng(s).integers(-2**63, 2**63 - 1, 4)),
                                                    "np.random.default_rng(s).integers(-2**63, 2**63 - 1, 4)"),
            "integers_0_2p32p1_x4": with_recipe(ints(np.random.default_rng(s).integers(0, 2**32 + 1, 4)),
                                                "np.random.default_rng(s).integers(0, 2**32 + 1, 4)"),
        }
        g = np.random.default_rng(s)
        a = g.integers(7, 8, 3)
        b = g.random(1)
        e["integers_7_8_x3_then_random_1"] = {"integers": ints(a), "random": f64(b),
                                              "recipe": "g = np.random.default_rng(s); integers = g.integers(7, 8, 3); random = g.random(1)"}
        g = np.random.default_rng(s)
        x = list(range(10))
        g.shuffle(x)
        e["shuffle_list10"] = with_recipe(ints(x), "g = np.random.default_rng(s); x = list(range(10)); g.shuffle(x); x")
        e["entropy_words"] = words_of(s)
        out[key] = e
    return out


def long_runs(np):
    zig = np.concatenate([np.random.default_rng(s).standard_normal(25000) for s in range(8)])
    legacy = np.random.RandomState(7).standard_normal(100000)
    dx = np.random.Generator(np.random.PCG64DXSM(9)).standard_normal(100000)
    return {
        "ziggurat_8x25000": {"sha256_f64le": sha256_f64(zig), "count": int(zig.size),
                             "first3": f64(zig[:3]), "min": f64([zig.min()]), "max": f64([zig.max()]),
                             "recipe": "np.concatenate([np.random.default_rng(s).standard_normal(25000) for s in range(8)])"},
        "legacy_standard_normal_100000_seed7": {"sha256_f64le": sha256_f64(legacy), "count": 100000,
                                                "recipe": "np.random.RandomState(7).standard_normal(100000)"},
        "pcg64dxsm_standard_normal_100000_seed9": {"sha256_f64le": sha256_f64(dx), "count": 100000,
                                                   "recipe": "np.random.Generator(np.random.PCG64DXSM(9)).standard_normal(100000)"},
    }


def numpy_testsets(np):
    """A few values of NumPy's own `numpy/random/tests/data/*-testset-*.csv`
    (shipped in the wheel): seed, outputs 0..7 and 999 of `random_raw` after
    `X(seed)` (SeedSequence seeding, MT19937 included). Each is re-derived here
    with the running NumPy before it is stored."""
    data_dir = os.path.join(os.path.dirname(np.__file__), "random", "tests", "data")
    out = {}
    for name, cls in [("pcg64", "PCG64"), ("pcg64dxsm", "PCG64DXSM"), ("sfc64", "SFC64"),
                      ("philox", "Philox"), ("mt19937", "MT19937")]:
        for k in (1, 2):
            with open(os.path.join(data_dir, f"{name}-testset-{k}.csv")) as f:
                rows = [line.strip().split(",") for line in f if line.strip()]
            seed = int(rows[0][1], 0)
            values = [int(r[1], 0) for r in rows[1:]]
            bg = getattr(np.random, cls)(seed)
            recipe = f"np.random.{cls}(s).random_raw(1000)"
            raw = [int(v) for v in bg.random_raw(len(values))]
            if raw != values:
                raise SystemExit(f"{name}-testset-{k}: numpy does not reproduce its own test set")
            out[f"{name}-testset-{k}"] = {"bit_generator": cls, "seed": str(seed),
                                          "first8": u64hex(values[:8]), "index999": u64hex([values[999]]),
                                          "recipe": recipe}
    return out


def main():
    ensure_environment()
    import numpy as np
    if np.__version__ != NUMPY_VERSION:
        raise SystemExit(f"need numpy {NUMPY_VERSION}, found {np.__version__}")
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "Fixtures", "rng", "numpy_extra.json")
    bitgens, philox_explicit = bitgen_section(np)
    ss_cases, pool_error = seedsequence_section(np)
    legacy, legacy_errors = legacy_section(np)
    doc = {
        "meta": {"numpy": np.__version__, "python": sys.version.split()[0],
                 "generator": "scripts/make_numpy_extra_vectors.py",
                 "encodings": "as rng.md §9.1; entropy_words are the seed's 32-bit words, least significant first",
                 "recipe_convention": "rng.md §9.2; s is the enclosing seed key"},
        "bitgen": bitgens,
        "philox_explicit_key_counter": philox_explicit,
        "seedsequence_cases": ss_cases,
        "seedsequence_pool_size_3": pool_error,
        "legacy": legacy,
        "legacy_errors": legacy_errors,
        "generator": generator_section(np),
        "long_runs": long_runs(np),
        "numpy_testsets": numpy_testsets(np),
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
