#!/usr/bin/env python3
"""Writes the optimizer, schedule and gradient-clipping references that Tests/ReproNNTests/Optim* read:

    Tests/Fixtures/optim/optimizers.json         parameter names/shapes, the configurations (groups, hyper-parameters,
                                                 which gradients are None at which step), the clipping cases
    Tests/Fixtures/optim/optimizers.safetensors  initial parameters, the 5 steps of gradients, and for each kernel set
                                                 and configuration the parameters and the state after 5 steps;
                                                 clipping: total norm and clipped gradients per kernel set
    Tests/Fixtures/optim/schedules.json          1000 steps of each LR schedule: every lr (and OneCycleLR's momentum)
                                                 as base64 of the Python doubles' little-endian bytes; the
                                                 base lrs are 0.1 and 0.037 (two parameter groups)

    /work/venv/bin/python scripts/make_optimizer_fixtures.py

Each kernel set runs in its own process: ATEN_CPU_CAPABILITY is read when torch is imported. "unfused" is the
DEFAULT kernel set (no fused multiply-add anywhere), "fused" the vectorised one (AVX-512 here; AVX2 computes the
same). torch.sqrt goes through MKL's vector math, whose bits depend on MKL's code path: on an Intel AVX-512 Xeon
(measured with torch 2.15) with MKL_ENABLE_INSTRUCTIONS=AVX2 it is correctly rounded, but on the AMD EPYC these
fixtures were made on MKL takes a path that is 1 ulp off for ~17 % of inputs whatever MKL_ENABLE_INSTRUCTIONS says. So the reference
optimizer runs replace Tensor.sqrt (the only sqrt in Adam's single-tensor step) by a correctly rounded square
root -- every other operation is torch's own kernel -- and the parameters torch reaches with its MKL sqrt are
stored too (mkl_sqrt.*), so the tests can state how far they are.
Gradients are torch.randn draws (fixed seed, drawn once in the parent process: randn's bits depend on the
kernel set) scaled per parameter; the optimizers use torch's default CPU path
(foreach=None, fused=None: the single-tensor loop).
"""
import base64
import json
import math
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "optim")
sys.dont_write_bytecode = True

SHAPES = [[1], [7], [8], [9], [3, 5], [16], [17], [3, 11], [10, 100]]  # 1, 7, 8, 9, 15, 16, 17, 33, 1000 elements
NAMES = [f"layer{i}.weight" for i in range(len(SHAPES))]
STEPS = 5
ALL = list(range(len(SHAPES)))


def sgd(name, groups, none=()):
    return {"name": name, "optimizer": "sgd", "groups": groups, "none_gradients": [list(x) for x in none]}


def adam(name, kind, groups, none=()):
    return {"name": name, "optimizer": kind, "groups": groups, "none_gradients": [list(x) for x in none]}


CONFIGS = [
    sgd("sgd_plain", [{"params": ALL, "lr": 0.1}]),
    sgd("sgd_momentum", [{"params": ALL, "lr": 0.05, "momentum": 0.9}]),
    sgd("sgd_dampening", [{"params": ALL, "lr": 0.05, "momentum": 0.8, "dampening": 0.3}]),
    sgd("sgd_nesterov", [{"params": ALL, "lr": 0.03, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}]),
    sgd("sgd_weight_decay", [{"params": ALL, "lr": 0.1, "momentum": 0.7, "weight_decay": 5e-2}]),
    sgd("sgd_maximize", [{"params": ALL, "lr": 0.07, "momentum": 0.9, "weight_decay": 1e-3, "maximize": True}]),
    sgd("sgd_groups_frozen", [{"params": [0, 1, 2, 3], "lr": 0.1, "momentum": 0.9},
                              {"params": [4, 5, 6, 7, 8], "lr": 0.01, "momentum": 0.5, "weight_decay": 1e-2}],
        none=[(s, 2) for s in range(STEPS)] + [(2, 5)]),
    adam("adam", "adam", [{"params": ALL, "lr": 1e-3}]),
    adam("adam_amsgrad", "adam", [{"params": ALL, "lr": 2e-3, "amsgrad": True}]),
    adam("adam_weight_decay", "adam", [{"params": ALL, "lr": 1e-2, "weight_decay": 0.1, "betas": [0.8, 0.99]}]),
    adam("adam_maximize_small_beta1", "adam",
         [{"params": ALL, "lr": 3e-3, "betas": [0.3, 0.95], "eps": 1e-6, "maximize": True, "amsgrad": True}]),
    adam("adamw", "adamw", [{"params": ALL, "lr": 1e-3}]),
    adam("adamw_amsgrad", "adamw", [{"params": ALL, "lr": 5e-3, "weight_decay": 0.05, "amsgrad": True}]),
    adam("adamw_maximize", "adamw", [{"params": ALL, "lr": 1e-2, "betas": [0.5, 0.9], "maximize": True}]),
    adam("adamw_groups_frozen", "adamw",
         [{"params": [0, 1, 2, 3], "lr": 1e-3, "weight_decay": 0.1},
          {"params": [4, 5, 6, 7, 8], "lr": 3e-3, "weight_decay": 0.0, "amsgrad": True}],
         none=[(s, 2) for s in range(STEPS)] + [(3, 5)]),
]

CLIP_CASES = [
    {"name": "l2_clipped", "max_norm": 0.7, "norm_type": "2"},
    {"name": "l2_unclipped", "max_norm": 1e6, "norm_type": "2"},
    {"name": "inf_clipped", "max_norm": 0.25, "norm_type": "inf"},
]

KERNEL_SETS = {"unfused": "default", "fused": "avx512"}


def state_keys(kind, group):
    if kind == "sgd":
        return ["momentum_buffer"] if group.get("momentum", 0) != 0 else []
    keys = ["step", "exp_avg", "exp_avg_sq"]
    return keys + (["max_exp_avg_sq"] if group.get("amsgrad", False) else [])


def inputs(torch):
    """Initial parameters and gradients. torch.randn's bits depend on the kernel set, so the parent
    process draws them once and hands the same tensors to every worker."""
    path = os.environ.get("_OPTIM_FIXTURE_INPUTS")
    if path:
        import pickle
        with open(path, "rb") as f:
            params, grads = pickle.load(f)
        return [torch.from_numpy(p) for p in params], [[torch.from_numpy(g) for g in s] for s in grads]
    g = torch.Generator().manual_seed(20240614)
    params = [torch.randn(s, generator=g) * (0.5 + i / 4) for i, s in enumerate(SHAPES)]
    grads = [[torch.randn(s, generator=g) * (10.0 ** (i % 4 - 2)) for i, s in enumerate(SHAPES)]
             for _ in range(STEPS)]
    return params, grads


def run_config(torch, cfg, params0, grads):
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    groups = []
    for grp in cfg["groups"]:
        d = {k: v for k, v in grp.items() if k != "params"}
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        d["params"] = [params[i] for i in grp["params"]]
        groups.append(d)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg["optimizer"]]
    opt = cls(groups)
    none = {tuple(x) for x in cfg["none_gradients"]}
    for s in range(STEPS):
        for i, p in enumerate(params):
            p.grad = None if (s, i) in none else grads[s][i].clone()
        opt.step()
    out = {}
    for grp in cfg["groups"]:
        for i in grp["params"]:
            out[f"param.{NAMES[i]}"] = params[i].detach().clone()
            st = opt.state.get(params[i], {})
            for key in state_keys(cfg["optimizer"], grp):
                if key in st and st[key] is not None:
                    out[f"state.{NAMES[i]}.{key}"] = st[key].detach().clone().reshape(st[key].shape)
    return out


def clip_run(torch, case, grads):
    ps = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES]
    for p, g in zip(ps, grads):
        p.grad = g.clone()
    nt = float("inf") if case["norm_type"] == "inf" else float(case["norm_type"])
    total = torch.nn.utils.clip_grad_norm_(ps, case["max_norm"], norm_type=nt)
    out = {"total": total.detach().clone().reshape([])}
    for i, p in enumerate(ps):
        out[f"grad.{NAMES[i]}"] = p.grad.clone()
    return out


def ieee_sqrt(torch):
    """Replaces Tensor.sqrt (MKL VML) by a correctly rounded square root; returns the original."""
    import numpy as np
    original = torch.Tensor.sqrt

    def sqrt(self):
        return torch.from_numpy(np.sqrt(self.detach().numpy()))
    torch.Tensor.sqrt = sqrt
    return original


def worker():
    import torch
    torch.set_num_threads(1)
    cap = torch.backends.cpu.get_cpu_capability()
    params, grads = inputs(torch)
    tensors = {}
    # torch's own Adam with MKL's sqrt, for the record (the tests measure the distance to it)
    for cfg in CONFIGS:
        if cfg["optimizer"] != "sgd":
            for k, v in run_config(torch, cfg, params, grads).items():
                if k.startswith("param."):
                    tensors[f"mkl_sqrt.{cfg['name']}.{k}"] = v
    mkl_sqrt = ieee_sqrt(torch)
    for cfg in CONFIGS:
        for k, v in run_config(torch, cfg, params, grads).items():
            tensors[f"{cfg['name']}.{k}"] = v
    torch.Tensor.sqrt = mkl_sqrt
    # clipping: the step-0 gradients scaled up so that the 2-norm exceeds the clip thresholds
    clip_grads = [g * 3.0 for g in grads[0]]
    for case in CLIP_CASES:
        for k, v in clip_run(torch, case, clip_grads).items():
            tensors[f"clip.{case['name']}.{k}"] = v
    return cap, tensors, params, grads, clip_grads


def child(mode, env_extra):
    env = dict(os.environ, **env_extra, _OPTIM_FIXTURE_MODE=mode)
    r = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    return r.stdout


def series(values):
    """Doubles as base64 of their little-endian IEEE 754 bytes (exact, and a third of the size of hex text)."""
    assert all(type(x) is float for x in values)
    return base64.b64encode(struct.pack(f"<{len(values)}d", *values)).decode()


# ------------------------------------------------------------------ schedules
SCHED_STEPS = 1000
TWO_GROUP_CASES = {"step", "cosine_37_eta", "onecycle_cos", "onecycle_three_phase", "sequential_three"}


def schedules(torch):
    from torch.optim import lr_scheduler as L
    import warnings
    warnings.filterwarnings("ignore")

    cases = [
        ("step", {"kind": "step", "step_size": 3, "gamma": 0.9}, lambda o: L.StepLR(o, 3, 0.9)),
        ("step_half", {"kind": "step", "step_size": 7, "gamma": 0.5}, lambda o: L.StepLR(o, 7, 0.5)),
        ("multistep", {"kind": "multistep", "milestones": [100, 300, 300, 700], "gamma": 0.1},
         lambda o: L.MultiStepLR(o, [100, 300, 300, 700], 0.1)),
        ("exponential", {"kind": "exponential", "gamma": 0.99}, lambda o: L.ExponentialLR(o, 0.99)),
        ("cosine_100", {"kind": "cosine", "t_max": 100, "eta_min": 0.0}, lambda o: L.CosineAnnealingLR(o, 100, 0.0)),
        ("cosine_37_eta", {"kind": "cosine", "t_max": 37, "eta_min": 1e-3},
         lambda o: L.CosineAnnealingLR(o, 37, 1e-3)),
        ("cosine_1000", {"kind": "cosine", "t_max": 1000, "eta_min": 1e-4},
         lambda o: L.CosineAnnealingLR(o, 1000, 1e-4)),
        ("linear_warmup", {"kind": "linear", "start_factor": 1 / 3, "end_factor": 1.0, "total_iters": 5},
         lambda o: L.LinearLR(o, 1 / 3, 1.0, 5)),
        ("linear_long", {"kind": "linear", "start_factor": 0.001, "end_factor": 1.0, "total_iters": 500},
         lambda o: L.LinearLR(o, 0.001, 1.0, 500)),
        ("linear_decay", {"kind": "linear", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 1000},
         lambda o: L.LinearLR(o, 1.0, 0.1, 1000)),
        ("onecycle_cos", {"kind": "onecycle", "max_lr": [0.1, 0.05], "total_steps": 1001},
         lambda o: L.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=1001)),
        ("onecycle_linear_adam", {"kind": "onecycle", "max_lr": [0.01, 0.01], "total_steps": 1000, "pct_start": 0.25,
                                  "anneal_strategy": "linear", "optimizer": "adam"},
         lambda o: L.OneCycleLR(o, max_lr=0.01, total_steps=1000, pct_start=0.25, anneal_strategy="linear")),
        ("onecycle_three_phase", {"kind": "onecycle", "max_lr": [0.1, 0.2], "total_steps": 1001, "three_phase": True,
                                  "div_factor": 10.0, "final_div_factor": 100.0, "base_momentum": 0.8,
                                  "max_momentum": 0.9},
         lambda o: L.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=1001, three_phase=True, div_factor=10.0,
                                final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)),
        ("onecycle_no_momentum", {"kind": "onecycle", "max_lr": [0.3, 0.3], "total_steps": 1200, "pct_start": 0.1,
                                  "cycle_momentum": False},
         lambda o: L.OneCycleLR(o, max_lr=0.3, total_steps=1200, pct_start=0.1, cycle_momentum=False)),
        ("sequential_warmup_cosine",
         {"kind": "sequential", "milestones": [5], "schedules": [
             {"kind": "linear", "start_factor": 0.1, "end_factor": 1.0, "total_iters": 5},
             {"kind": "cosine", "t_max": 995, "eta_min": 0.0}]},
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.CosineAnnealingLR(o, 995, 0.0)], milestones=[5])),
        ("sequential_three",
         {"kind": "sequential", "milestones": [20, 400], "schedules": [
             {"kind": "exponential", "gamma": 1.05},
             {"kind": "cosine", "t_max": 150, "eta_min": 3e-3},
             {"kind": "step", "step_size": 50, "gamma": 0.7}]},
         lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 1.05), L.CosineAnnealingLR(o, 150, 3e-3),
                                      L.StepLR(o, 50, 0.7)], milestones=[20, 400])),
        ("sequential_multistep_linear",
         {"kind": "sequential", "milestones": [300], "schedules": [
             {"kind": "multistep", "milestones": [100, 200], "gamma": 0.3},
             {"kind": "linear", "start_factor": 0.5, "end_factor": 0.05, "total_iters": 400}]},
         lambda o: L.SequentialLR(o, [L.MultiStepLR(o, [100, 200], 0.3), L.LinearLR(o, 0.5, 0.05, 400)],
                                  milestones=[300])),
    ]
    base = [0.1, 0.037]
    out = []
    for name, spec, make in cases:
        ps = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
        if spec.get("optimizer") == "adam":
            opt = torch.optim.Adam([{"params": [ps[0]], "lr": base[0]}, {"params": [ps[1]], "lr": base[1]}])
        else:
            opt = torch.optim.SGD([{"params": [ps[0]], "lr": base[0]}, {"params": [ps[1]], "lr": base[1]}],
                                  momentum=0.9)
        s = make(opt)

        cycles = spec["kind"] == "onecycle" and spec.get("cycle_momentum", True)

        def momenta():
            return [g["betas"][0] if "betas" in opt.defaults else g["momentum"] for g in opt.param_groups]

        lrs, moms = [], []
        for k in range(SCHED_STEPS + 1):
            if k:
                opt.step()
                s.step()
            lrs.append(list(s.get_last_lr()))
            if cycles:
                moms.append(momenta())
        # both groups for a few cases (per-group base lrs), the first group elsewhere (fixture size)
        groups = 2 if name in TWO_GROUP_CASES else 1
        entry = {"name": name, "schedule": spec, "base_lrs": base[:groups],
                 "lrs": [series([row[j] for row in lrs]) for j in range(groups)]}
        if cycles:
            entry["momenta"] = [series([row[j] for row in moms]) for j in range(groups)]
        out.append(entry)
    return out


def main():
    import numpy as np
    import torch
    from safetensors.numpy import save_file

    mode = os.environ.get("_OPTIM_FIXTURE_MODE")
    if mode == "worker":
        cap, tensors, params, grads, clip_grads = worker()
        import pickle
        sys.stdout.write(pickle.dumps((cap, {k: v.numpy() for k, v in tensors.items()},
                                       [p.numpy() for p in params], [[g.numpy() for g in s] for s in grads],
                                       [g.numpy() for g in clip_grads])).hex())
        return

    import pickle
    import tempfile
    params0, grads0 = inputs(torch)
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        pickle.dump(([p.numpy() for p in params0], [[g.numpy() for g in s] for s in grads0]), f)
        os.environ["_OPTIM_FIXTURE_INPUTS"] = f.name
    tensors = {}
    caps = {}
    for label, cap in KERNEL_SETS.items():
        raw = child("worker", {"ATEN_CPU_CAPABILITY": cap, "MKL_ENABLE_INSTRUCTIONS": "AVX2"})
        got_cap, t, params, grads, clip_grads = pickle.loads(bytes.fromhex(raw))
        caps[label] = got_cap
        for k, v in t.items():
            tensors[f"{label}.{k}"] = np.ascontiguousarray(v)
    assert caps["unfused"] == "DEFAULT" and caps["fused"] in ("AVX512", "AVX2"), caps
    for i, p in enumerate(params):
        tensors[f"initial.{NAMES[i]}"] = np.ascontiguousarray(p)
        tensors[f"clip.gradient.{NAMES[i]}"] = np.ascontiguousarray(clip_grads[i])
    for s, gs in enumerate(grads):
        for i, g in enumerate(gs):
            tensors[f"gradient.{s}.{NAMES[i]}"] = np.ascontiguousarray(g)

    # which configurations differ between kernel sets (the test checks that they do)
    differs = {}
    for cfg in CONFIGS:
        keys = [k for k in tensors if k.startswith(f"fused.{cfg['name']}.")]
        differs[cfg["name"]] = sum(int((tensors[k].view(np.uint32) != tensors["un" + k].view(np.uint32)).sum())
                                   for k in keys)
    # how far MKL's sqrt is from the correctly rounded one on this machine, for the record
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1_000_000, generator=g).abs()
    mkl_sqrt_off = float((torch.sqrt(x).numpy() != np.sqrt(x.numpy())).mean())
    os.unlink(os.environ.pop("_OPTIM_FIXTURE_INPUTS"))
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "optimizers.safetensors"))
    meta = {
        "generator": "scripts/make_optimizer_fixtures.py",
        "torch": torch.__version__,
        "kernel_sets": caps,
        "mkl_enable_instructions": "AVX2",
        "names": NAMES,
        "shapes": SHAPES,
        "steps": STEPS,
        "configs": CONFIGS,
        "clip_cases": CLIP_CASES,
        "elements_differing_between_kernel_sets": differs,
        "sqrt": "Tensor.sqrt replaced by a correctly rounded square root for the reference runs; "
                "mkl_sqrt.* keys hold the fused-kernel parameters with torch's own (MKL) sqrt",
        "mkl_sqrt_fraction_not_correctly_rounded_here": mkl_sqrt_off,
    }
    with open(os.path.join(OUT, "optimizers.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    sched = {"generator": "scripts/make_optimizer_fixtures.py", "torch": torch.__version__,
             "steps": SCHED_STEPS, "cases": schedules(torch)}
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(sched, f, separators=(",", ":"))
        f.write("\n")
    print("kernel sets:", caps)
    print("elements differing between kernel sets:", differs)
    print("fraction of |N(0,1)| inputs where torch.sqrt (MKL) is not correctly rounded here:", mkl_sqrt_off)


if __name__ == "__main__":
    main()
