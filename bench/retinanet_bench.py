#!/usr/bin/env python3
"""Full-size RetinaNet v2 inference: Repro (`repro detect --profile`) beside PyTorch/torchvision.

What it measures (both engines, same conditions):
  * model: retinanet_resnet50_fpn_v2, random weights from torch.manual_seed(SEED) (3407) —
    Repro's `RetinaNet(configuration: .v2, seed:)` reproduces torchvision's initialisation bit for bit;
  * input: one 800x1067 RGB PNG (scale 1.0, padded canvas 800x1088, the spec's reference shape),
    synthesised deterministically by this script unless --image is given;
  * threads: 2 (torch.set_num_threads(2) + torch.inference_mode(); REPRO_THREADS=2 / --threads 2);
  * --rounds alternating rounds (PyTorch process, Repro process, ...; a load change hits both alike), each with
    one warm-up run, then --runs timed runs; best and median wall-clock seconds per stage over all rounds:
      transform    PyTorch: to_tensor + model.transform         Repro: uint8->float, normalise, resize, pad, -> NHWC
      body         model.backbone.body                           ResNet-50 stem..layer4
      fpn          model.backbone.fpn                            FPN + P6/P7
      head         model.head (flatten + concat included)        both heads, all levels
      postprocess  anchor_generator + postprocess_detections     anchors, top-k, decode, NMS, rescale
                   + transform.postprocess
  * peak memory: each engine runs in its own child process; its max RSS comes from os.wait4's rusage
    (ru_maxrss, kB; the largest over the rounds) — the whole process: libraries, weights, activations.
The model construction time is reported but not in the stage times: PyTorch's builder call after
torch.manual_seed (random init of 38 M parameters), Repro's `--profile` init_seconds (the same initialisation
+ preparation) -- exactly what bench/detect_process_bench.py's "construction from a seed" row times. It is one
sample per process, and the first touch of a process's fresh memory varies several-fold between processes on
a VM, so the figure is the median over the rounds, printed with its range: quote it from --rounds 3 or more
(a single round's sample is what made the two benches disagree, 0.83 against 0.36).

It prints a markdown table (with `uptime`: rerun on a quiet machine for figures to quote) and the
targets: Repro/PyTorch time <= 0.75, Repro peak RSS <= PyTorch's.

Uses a private virtualenv bench/.venv (torch 2.15, torchvision 0.29, pillow, numpy) unless REPRO_VENV
names an existing one; builds `repro` in release mode (swift build -c release --product repro)
unless --repro PATH is given.
    python3 bench/retinanet_bench.py [--runs 3] [--rounds 2] [--threads 2] [--image PATH] [--repro PATH]
                                     [--json PATH] [--plot PATH.png]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _venv  # noqa: E402

STAGES = ["transform", "body", "fpn", "head", "postprocess", "total"]

TORCH_WORKER = r'''
import json, os, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
# A torchvision wheel built for CUDA torch cannot load its ops next to the CPU torch wheel; the shim then
# supplies its NMS (a transcription of the CPU kernel; postprocess times are then not torchvision's own).
sys.path.insert(0, args["scripts"])
import torchvision_cpu_nms
torchvision_cpu_nms.install()
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.models.detection import retinanet_resnet50_fpn_v2

torch.manual_seed(args["seed"])
t0 = time.perf_counter()
model = retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)
init = time.perf_counter() - t0
model.eval()
img = Image.open(args["image"]).convert("RGB")

def once():
    t = {}
    with torch.inference_mode():
        a = time.perf_counter()
        x = TF.to_tensor(img)
        original = [tuple(x.shape[-2:])]
        images, _ = model.transform([x])
        b = time.perf_counter(); t["transform"] = b - a
        body = model.backbone.body(images.tensors)
        c = time.perf_counter(); t["body"] = c - b
        feats = list(model.backbone.fpn(body).values())
        d = time.perf_counter(); t["fpn"] = d - c
        head = model.head(feats)
        e = time.perf_counter(); t["head"] = e - d
        anchors = model.anchor_generator(images, feats)
        hw = [f.size(2) * f.size(3) for f in feats]
        a_per = head["cls_logits"].size(1) // sum(hw)
        split = [n * a_per for n in hw]
        sh = {k: list(v.split(split, dim=1)) for k, v in head.items()}
        sa = [list(x.split(split)) for x in anchors]
        dets = model.postprocess_detections(sh, sa, images.image_sizes)
        dets = model.transform.postprocess(dets, images.image_sizes, original)
        f = time.perf_counter(); t["postprocess"] = f - e
    t["total"] = f - a
    return t, len(dets[0]["scores"])

warm = [once()[0] for _ in range(args["warmup"])]
runs, n = [], 0
for _ in range(args["runs"]):
    t, n = once()
    runs.append(t)
hwm = -1
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1])
print(json.dumps({"init_seconds": init, "detections": n, "peak_rss_kb": hwm, "warmup": warm, "runs": runs,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
'''


def make_image(path, height=800, width=1067, seed=0):
    """A deterministic synthetic photo-like RGB image (smooth gradients + rectangles + noise)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([0.5 + 0.4 * np.sin(x / 97.0 + c) * np.cos(y / 131.0 - c) for c in range(3)], axis=-1)
    for _ in range(24):
        h, w = rng.integers(40, 300, size=2)
        y0, x0 = rng.integers(0, height - h), rng.integers(0, width - w)
        img[y0:y0 + h, x0:x0 + w] = rng.random(3)
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


def run_child(cmd, env=None):
    """Runs a child process; returns (stdout, max RSS in kB from wait4's rusage)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return text, usage.ru_maxrss


def build_repro():
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro"], cwd=ROOT, stdout=sys.stderr)
    out = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True)
    return os.path.join(out.strip(), "repro")


def summarise(runs):
    return {s: (min(r[s] for r in runs), statistics.median(r[s] for r in runs)) for s in STAGES}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per engine and round (after the warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (PyTorch, Repro, PyTorch, ...)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--image", help="input image (default: a synthetic 800x1067 PNG)")
    ap.add_argument("--repro", help="path to a release-built repro executable (default: build it)")
    ap.add_argument("--json", help="also write the raw measurements here")
    ap.add_argument("--plot", metavar="PATH.png", help="also draw the stage times and peak memory as a bar chart")
    args = ap.parse_args()

    repro = args.repro or build_repro()
    tmp = tempfile.mkdtemp(prefix="retinanet-bench-")
    image = args.image or os.path.join(tmp, "synthetic_800x1067.png")
    if not args.image:
        make_image(image)
    load_before = open("/proc/loadavg").read().split()[:3]

    env = dict(os.environ, REPRO_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    targs = {"image": image, "seed": args.seed, "threads": args.threads, "runs": args.runs, "warmup": args.warmup,
             "scripts": os.path.join(ROOT, "scripts")}
    torch_res, repro_res, torch_rss, repro_rss = None, None, 0, 0
    # The construction time is one sample per process: keep every round's and report the median, as
    # bench/detect_process_bench.py does (the first round alone, a cold process, was what this printed).
    torch_inits, repro_inits = [], []
    # Engines alternate round by round, so a change in machine load hits both alike.
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds}: PyTorch {args.runs} runs ...", file=sys.stderr)
        text, rss = run_child([sys.executable, "-c", TORCH_WORKER, json.dumps(targs)], env=env)
        res = json.loads(text.strip().splitlines()[-1])
        torch_rss = max(torch_rss, rss)
        torch_inits.append(res["init_seconds"])
        if torch_res is None:
            torch_res = res
        else:
            torch_res["runs"] += res["runs"]
        print(f"round {rnd + 1}/{args.rounds}: Repro {args.runs} runs ...", file=sys.stderr)
        text, rss = run_child([repro, "detect", "--profile", "--profile-runs", str(args.runs),
                               "--profile-warmup", str(args.warmup), "--threads", str(args.threads),
                               "--seed", str(args.seed), "--arch", "v2", image], env=env)
        res = json.loads(text.strip().splitlines()[-1])
        repro_rss = max(repro_rss, rss)
        repro_inits.append(res["init_seconds"])
        if repro_res is None:
            repro_res = res
        else:
            repro_res["runs"] += res["runs"]
    load_after = open("/proc/loadavg").read().split()[:3]
    torch_res["init_seconds"], torch_res["init_seconds_rounds"] = statistics.median(torch_inits), torch_inits
    repro_res["init_seconds"], repro_res["init_seconds_rounds"] = statistics.median(repro_inits), repro_inits

    t, r = summarise(torch_res["runs"]), summarise(repro_res["runs"])
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nRetinaNet v2, 800x1067 input (canvas 800x1088), seed {args.seed}, {args.threads} threads, "
          f"best / median of {args.runs * args.rounds} ({args.rounds} alternating rounds of {args.runs} after "
          f"{args.warmup} warm-up); seconds.")
    print(f"PyTorch {torch_res['torch']} ({torch_res['threads']} threads, inference_mode) vs `repro detect --profile` "
          f"(release). Load average before {' '.join(load_before)}, after {' '.join(load_after)}; {os.cpu_count()} CPUs.")
    print(f"`uptime`: {uptime}\n")
    print("| stage | PyTorch best | PyTorch median | Repro best | Repro median | Repro/PyTorch (best) | (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in STAGES:
        name = f"**{s}**" if s == "total" else s
        print(f"| {name} | {t[s][0]:.3f} | {t[s][1]:.3f} | {r[s][0]:.3f} | {r[s][1]:.3f} | "
              f"{r[s][0] / t[s][0]:.2f} | {r[s][1] / t[s][1]:.2f} |")
    print(f"| model construction (seeded init, median of {args.rounds} rounds, not in total) | {torch_res['init_seconds']:.2f} | | "
          f"{repro_res['init_seconds']:.2f} | | {repro_res['init_seconds'] / torch_res['init_seconds']:.2f} | |")
    print(f"| (construction, range over the rounds) | {min(torch_inits):.2f}-{max(torch_inits):.2f} | | "
          f"{min(repro_inits):.2f}-{max(repro_inits):.2f} | | | |")
    print(f"| peak RSS, MiB (wait4 ru_maxrss) | {torch_rss / 1024:.0f} | | {repro_rss / 1024:.0f} | | "
          f"{repro_rss / torch_rss:.2f} | |")
    print(f"| detections | {torch_res['detections']} | | {repro_res['detections']} | | | |")
    ratio = r["total"][0] / t["total"][0]
    print(f"\nTargets: time ratio <= 0.75 -> {ratio:.2f} ({'met' if ratio <= 0.75 else 'NOT met'}); "
          f"peak RSS Repro <= PyTorch -> {repro_rss / 1024:.0f} vs {torch_rss / 1024:.0f} MiB "
          f"({'met' if repro_rss <= torch_rss else 'NOT met'}).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch_res, "repro": repro_res, "torch_maxrss_kb": torch_rss,
                       "repro_maxrss_kb": repro_rss, "uptime": uptime}, f, indent=1)
    if args.plot:
        import _plot
        times = [(s, t[s][0], r[s][0]) for s in STAGES]
        times.append(("construction", torch_res["init_seconds"], repro_res["init_seconds"]))
        _plot.bar_chart(args.plot, f"RetinaNet v2, one 800x1067 image, {args.threads} threads: PyTorch "
                        f"{torch_res['torch']} vs Repro (best of {args.runs * args.rounds})",
                        [("time per stage (best)", "s", times),
                         ("peak RSS", "MiB", [("process", torch_rss / 1024, repro_rss / 1024)])],
                        note=f"load average before {' '.join(load_before)}, after {' '.join(load_after)}; "
                             f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    _venv.ensure_venv(extra=("torchvision==0.29.2", "pillow"))
    main()
