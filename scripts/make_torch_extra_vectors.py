#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/rng/torch_extra.json: PyTorch 2.15 CPU behaviour
that the shared vectors (torch_cpu.json, torch_data.json) do not cover —
random_(from, None) per dtype, RandomSampler with replacement / num_samples,
SubsetRandomSampler, kaiming_normal_/xavier_*, calculate_gain with a slope
whose pow(x, 2) differs from x*x, grouped Conv2d, non-contiguous float64
normal_. Written for Repro; run it with torch 2.15.0 on x86-64 / glibc 2.36.

Usage:  scripts/make_torch_extra_vectors.py            (makes ./.venv-torch-extra)
        REPRO_VENV=/path/to/venv scripts/make_torch_extra_vectors.py
The tests never run this script; they read the JSON it wrote.
"""
import hashlib, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "rng", "torch_extra.json")
SEEDS = [0, 42, 3407]


def ensure_venv():
    venv = os.environ.get("REPRO_VENV") or os.path.join(HERE, "..", ".venv-torch-extra")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "torch==2.15.0", "--index-url",
                               "https://download.pytorch.org/whl/cpu"])
    return py


def f32(t):
    import torch
    b = t.detach().contiguous().view(torch.int32).reshape(-1).tolist()
    return {"encoding": "f32", "bits": ["0x%08x" % (x & 0xffffffff) for x in b]}


def f64(t):
    import torch
    b = t.detach().contiguous().view(torch.int64).reshape(-1).tolist()
    return {"encoding": "f64", "bits": ["0x%016x" % (x & 0xffffffffffffffff) for x in b]}


def digest_f32(t):
    import numpy as np
    a = t.detach().contiguous().numpy().astype("<f4")
    return {"sha256_f32le": hashlib.sha256(a.tobytes()).hexdigest(), "count": int(a.size),
            "first8": f32(t.reshape(-1)[:8])}


def ints(v):
    return {"encoding": "int", "values": [int(x) for x in v]}


def capability_dependent(s):
    import torch, math
    nn = torch.nn
    out = {}
    torch.manual_seed(s); w = torch.empty(64, 3, 7, 7)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    out["kaiming_normal_64x3x7x7_fanout_relu"] = digest_f32(w)
    torch.manual_seed(s); w = torch.empty(3, 5); nn.init.xavier_uniform_(w)
    out["xavier_uniform_3x5"] = f32(w)
    torch.manual_seed(s); w = torch.empty(16, 4, 5); nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))
    out["xavier_normal_16x4x5_tanh"] = f32(w)
    slope = float.fromhex("0x1.65663c051cd4ep+2")
    torch.manual_seed(s); w = torch.empty(40, 60); nn.init.kaiming_uniform_(w, a=slope)
    out["kaiming_uniform_40x60_slope5.5843648958137475"] = digest_f32(w)
    torch.manual_seed(s); m = nn.Conv2d(4, 6, (1, 3), groups=2)
    out["conv2d_4_6_1x3_groups2"] = {"weight": f32(m.weight), "bias": f32(m.bias)}
    torch.manual_seed(s); t = torch.empty(4, 8, dtype=torch.float64).t(); t.normal_(0.5, 0.3)
    out["noncontiguous_normal_f64_mean0.5_std0.3"] = f64(t.t().reshape(-1))
    return out


def independent(s):
    import torch
    from torch.utils.data import RandomSampler, SubsetRandomSampler
    out = {}
    for name in ["int32", "int16", "int8", "uint8", "bool", "float32", "float64", "float16", "bfloat16"]:
        torch.manual_seed(s)
        frm = 0 if name == "bool" else 3
        v = torch.empty(6, dtype=getattr(torch, name)).random_(**{"from": frm, "to": None})
        out["random__from%d_toNone_%s_x6" % (frm, name)] = ints(v.tolist())
    torch.manual_seed(s)
    out["random__m100_100_int16_x6"] = ints(torch.empty(6, dtype=torch.int16).random_(-100, 100).tolist())
    g = torch.Generator().manual_seed(s)
    out["RandomSampler_range7_replacement_n40"] = ints(list(RandomSampler(range(7), replacement=True, num_samples=40, generator=g)))
    g = torch.Generator().manual_seed(s)
    out["RandomSampler_range5_numsamples12"] = ints(list(RandomSampler(range(5), num_samples=12, generator=g)))
    torch.manual_seed(s)
    out["SubsetRandomSampler_nogen_100to190"] = ints(list(SubsetRandomSampler(list(range(100, 200, 10)))))
    torch.manual_seed(s)
    out["bernoulli__scalar0.3_f64_x16"] = ints(torch.empty(16, dtype=torch.float64).bernoulli_(0.3).tolist())
    return out


def child(cap):
    import torch
    got = torch.backends.cpu.get_cpu_capability()
    assert got == cap, (got, cap)
    res = {"capability": cap, "per_seed": {str(s): capability_dependent(s) for s in SEEDS}}
    if cap == "AVX2":
        res["independent"] = {str(s): independent(s) for s in SEEDS}
        res["torch"] = torch.__version__
    print(json.dumps(res))


def main():
    py = ensure_venv()
    runs = {}
    for cap, env in [("AVX2", {}), ("DEFAULT", {"ATEN_CPU_CAPABILITY": "default"})]:
        e = dict(os.environ, **env)
        text = subprocess.check_output([py, os.path.abspath(__file__), "--child", cap], env=e)
        runs[cap] = json.loads(text)
    doc = {
        "meta": {"generator": "scripts/make_torch_extra_vectors.py", "torch": runs["AVX2"]["torch"],
                 "encodings": "as in rng.md §9.1 (f32/f64 bits, int values); *_sha256_f32le = SHA-256 of the float32 LE bytes",
                 "recipes": "see capability_dependent() and independent() in the script; each entry starts from its own seeding"},
        "capability_independent": runs["AVX2"]["independent"],
        "capability_dependent": {cap: runs[cap]["per_seed"] for cap in runs},
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
