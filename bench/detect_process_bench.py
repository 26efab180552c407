#!/usr/bin/env python3
"""Whole-process `repro detect --weights` beside PyTorch's equivalent script, timed from outside.

What a user runs is one process that loads a checkpoint, builds the model and detects a few images; this
script measures exactly that, for both engines, as separate child processes:

  * checkpoint: a full-size `retinanet_resnet50_fpn_v2` state dict (`torch.manual_seed(0)`, random weights,
    `torch.save(model.state_dict(), ...)`, ~153 MB), created once with the reference PyTorch and cached in
    --cache (default /tmp/repro-bench);
  * images: three synthetic 800x1067 PNGs (bench/retinanet_bench.py's generator, seeds 0, 1, 2), and a 32x32
    one (the first, resized) for the "one small forward pass" case;
  * PyTorch's script: torch.set_num_threads(T); model = retinanet_resnet50_fpn_v2(weights=None,
    weights_backbone=None); model.load_state_dict(torch.load(FILE)); model.eval(); per image PIL decode,
    to_tensor, model([x]) under inference_mode; print the detection counts;
  * Repro: `repro detect --weights FILE --threads T --json IMG...` (stdout to a file);
  * whole process: wall time (perf_counter around spawn + wait) and peak RSS (os.wait4's ru_maxrss) of each
    child, engines alternated pair by pair (a change in machine load hits both alike), median of --pairs;
  * ready model from a .pth, in process, the same logical work on both sides -- from the file's path to a
    model that can run, its parameters holding the file's values:
      PyTorch: `sd = torch.load(FILE)` (zip directory, unpickling, every storage read into fresh memory)
               + `model.load_state_dict(sd)` (one copy into the parameters); the model's construction,
               which allocated and randomly initialised those parameters, is NOT counted (a second row
               adds it);
      Repro:   `repro detect --profile --weights FILE`'s init_seconds: open + mmap, zip directory, pickle
               (tensors are views of the mapping), building the module tree without any random
               initialisation, one copy of each tensor into its final storage (the parameters' memory is
               allocated here), preparation (norms folded, 1x1/strided convolutions packed), and waiting
               for the file's SHA-256 that the provenance record needs (hashed from the start on a thread
               of its own; the command writes nothing before it has it).
    Both sides print their phases (PyTorch: torch.load / load_state_dict; Repro: `init_phases`: read,
    construct, convert, prepare, sha256_wait, and sha256_thread, the hash's own time beside them);
  * construction from a seed: PyTorch `retinanet_resnet50_fpn_v2(...)` after torch.manual_seed (the builder
    call alone); Repro `repro detect --profile --seed`'s init_seconds (construction with torchvision's
    initialisation + preparation). bench/retinanet_bench.py times the same two things. One sample per
    process: the figure is the median over --pairs processes, printed with its range, because the first
    touch of a process's fresh memory (the 146 MB of parameters) varies several-fold from process to process
    on a VM. Measured in two conditions: "after the other engine" (the alternation above: each Repro run
    follows a PyTorch process, which frees about 1 GB just before; on this VM that memory comes back as
    host-reclaimed pages whose first touch costs several times a warm page's) and "after itself" (each
    engine runs twice back to back and the second run is kept, so both start from the pages their own
    previous run freed). --seed-only runs just these rows;
  * the 32x32 case: the whole process with --weights on one 32x32 image.

Targets (issue 16): whole process <= 0.5x PyTorch's wall time and peak RSS <= 0.75x; ready model from a .pth
<= torch.load + load_state_dict; construction from a seed <= 0.5x PyTorch's.

    REPRO_VENV=/path/to/venv python3 bench/detect_process_bench.py [--pairs 4] [--threads 2] [--repro PATH]
        [--seed-only] [--json PATH] [--plot PATH.png]      (--replot JSON --plot PATH.png redraws an earlier run's --json)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _venv  # noqa: E402

TORCH_WORKER = r'''
import json, sys, time
args = json.loads(sys.argv[1])
t_start = time.perf_counter()
import torch
torch.set_num_threads(args["threads"])
sys.path.insert(0, args["scripts"])
import torchvision_cpu_nms
torchvision_cpu_nms.install()
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.models.detection import retinanet_resnet50_fpn_v2
t_import = time.perf_counter()
mode = args["mode"]
if mode == "seed":
    torch.manual_seed(args["seed"])
t0 = time.perf_counter()
model = retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)
t1 = t_mid = time.perf_counter()
if mode != "seed":
    state = torch.load(args["weights"])
    t_mid = time.perf_counter()
    model.load_state_dict(state)
    del state
t2 = time.perf_counter()
model.eval()
counts = []
with torch.inference_mode():
    for path in args["images"]:
        x = TF.to_tensor(Image.open(path).convert("RGB"))
        counts.append(len(model([x])[0]["scores"]))
t3 = time.perf_counter()
print(json.dumps({"import": t_import - t_start, "construct": t1 - t0, "load": t2 - t1, "torch_load": t_mid - t1,
                  "load_state_dict": t2 - t_mid, "detect": t3 - t2,
                  "detections": counts, "torch": torch.__version__}))
'''

MAKE_CHECKPOINT = r'''
import sys, torch
sys.path.insert(0, sys.argv[2])
import torchvision_cpu_nms
torchvision_cpu_nms.install()
from torchvision.models.detection import retinanet_resnet50_fpn_v2
torch.manual_seed(0)
model = retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)
torch.save(model.state_dict(), sys.argv[1] + ".tmp")
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
'''


def run_child(cmd, env):
    """Runs a child; returns (stdout, wall seconds, peak RSS in MiB from wait4's rusage)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if code != 0:
        sys.exit(f"command failed ({code}): {' '.join(cmd)}")
    return text, wall, usage.ru_maxrss / 1024


def prepare_inputs(cache):
    import retinanet_bench
    os.makedirs(cache, exist_ok=True)
    ckpt = os.path.join(cache, "retinanet_resnet50_fpn_v2_seed0.pth")
    if not os.path.exists(ckpt):
        print(f"creating {ckpt} (one-off)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-c", MAKE_CHECKPOINT, ckpt, os.path.join(ROOT, "scripts")])
    images = []
    for seed in range(3):
        path = os.path.join(cache, f"synthetic_800x1067_{seed}.png")
        if not os.path.exists(path):
            retinanet_bench.make_image(path, seed=seed)
        images.append(path)
    tiny = os.path.join(cache, "synthetic_32x32.png")
    if not os.path.exists(tiny):
        from PIL import Image
        Image.open(images[0]).convert("RGB").resize((32, 32), Image.BILINEAR).save(tiny)
    return ckpt, images, tiny


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=4, help="alternating (PyTorch, Repro) pairs per measurement")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3407, help="seed of the construction-from-a-seed measurement")
    ap.add_argument("--cache", default="/tmp/repro-bench", help="where the checkpoint and images are kept")
    ap.add_argument("--repro", help="path to a release-built repro executable (default: build it)")
    ap.add_argument("--seed-only", action="store_true", help="measure only construction from a seed (both conditions)")
    ap.add_argument("--json", help="also write the raw measurements here")
    ap.add_argument("--plot", metavar="PATH.png", help="also draw the table as a bar chart (needs matplotlib)")
    ap.add_argument("--replot", metavar="JSON", help="draw --plot from a --json file of an earlier run; measure nothing")
    args = ap.parse_args()
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        plot(args.plot or sys.exit("--replot needs --plot"), saved["results"], saved["threads"], saved["load"])
        return

    import retinanet_bench
    repro = args.repro or retinanet_bench.build_repro()
    ckpt, images, tiny = prepare_inputs(args.cache)
    env = dict(os.environ, REPRO_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    scripts = os.path.join(ROOT, "scripts")
    load_before = open("/proc/loadavg").read().split()[:3]

    def torch_cmd(mode, imgs):
        a = {"mode": mode, "weights": ckpt, "images": imgs, "threads": args.threads, "seed": args.seed,
             "scripts": scripts}
        return [sys.executable, "-c", TORCH_WORKER, json.dumps(a)]

    def repro_detect(imgs):
        return [repro, "detect", "--weights", ckpt, "--threads", str(args.threads), "--json", *imgs]

    def repro_profile(weights):
        cmd = [repro, "detect", "--profile", "--profile-runs", "1", "--profile-warmup", "0",
               "--threads", str(args.threads), tiny]
        return cmd + (["--weights", ckpt] if weights else ["--seed", str(args.seed)])

    results = {}
    # (name, PyTorch command, Repro command, runs of each per pair: only the last run's figures are kept)
    plan = [("whole", torch_cmd("pth", images), repro_detect(images), 1),
            ("tiny", torch_cmd("pth", [tiny]), repro_detect([tiny]), 1),
            ("seed", torch_cmd("seed", [tiny]), repro_profile(False), 1),
            ("seed_self", torch_cmd("seed", [tiny]), repro_profile(False), 2),
            ("ready", None, repro_profile(True), 1)]
    if args.seed_only:
        plan = [p for p in plan if p[0].startswith("seed")]
    for name, tcmd, rcmd, runs in plan:
        rows = []
        for i in range(args.pairs):
            print(f"{name}: pair {i + 1}/{args.pairs}", file=sys.stderr)
            row = {}
            if tcmd:
                for _ in range(runs):
                    text, wall, rss = run_child(tcmd, env)
                row["torch"] = {"wall": wall, "rss": rss, **json.loads(text.strip().splitlines()[-1])}
            for _ in range(runs):
                text, wall, rss = run_child(rcmd, env)
            row["repro"] = {"wall": wall, "rss": rss}
            if "--profile" in rcmd:
                record = json.loads(text.strip().splitlines()[-1])
                row["repro"]["init"] = record["init_seconds"]
                row["repro"]["phases"] = record.get("init_phases", {})
            else:
                row["repro"]["detections"] = [len(json.loads(l)["detections"]) for l in text.strip().splitlines()[1:]]
            rows.append(row)
        results[name] = rows
        if args.json:  # partial results survive an interrupted run
            with open(args.json, "w") as f:
                json.dump({"results": results, "threads": args.threads, "load": (load_before, ["?"] * 3)}, f, indent=1)
    load_after = open("/proc/loadavg").read().split()[:3]
    load = (load_before, load_after)
    if args.seed_only:
        print_seed_rows(results, args.pairs, load)
        return

    def med(name, engine, key):
        return med_of(results, name, engine, key)

    def spread(name, engine, key):
        return spread_of(results, name, engine, key)

    # PyTorch's load time comes from the "whole" and "tiny" runs (both load the same file).
    torch_load = statistics.median([r["torch"]["load"] for n in ("whole", "tiny") for r in results[n]])
    torch_ready = statistics.median([r["torch"]["load"] + r["torch"]["construct"]
                                     for n in ("whole", "tiny") for r in results[n]])
    repro_ready = med("ready", "repro", "init")
    torch_seed, repro_seed = med("seed", "torch", "construct"), med("seed", "repro", "init")
    torch_version = results["whole"][0]["torch"]["torch"]
    print(f"\n`repro detect --weights` vs PyTorch {torch_version}'s script, {args.threads} threads, median of "
          f"{args.pairs} alternating pairs; checkpoint {os.path.getsize(ckpt) / 1e6:.0f} MB "
          f"(retinanet_resnet50_fpn_v2, torch.manual_seed(0)). Load average before {' '.join(load_before)}, "
          f"after {' '.join(load_after)}; {os.cpu_count()} CPUs.\n")
    print("| measurement | PyTorch | Repro | Repro / PyTorch | target |")
    print("|---|---:|---:|---:|---|")
    verdicts = []

    def row(label, t, r, unit, target=None):
        ratio = r / t
        verdict = ""
        if target is not None:
            verdict = f"<= {target} {'met' if ratio <= target else 'NOT met'}"
            verdicts.append(f"{label}: {ratio:.2f} ({verdict})")
        print(f"| {label} | {t:.{2 if unit == 's' else 0}f} {unit} | {r:.{2 if unit == 's' else 0}f} {unit} | "
              f"{ratio:.2f} | {verdict} |")

    row("whole process, .pth + 3 images 800x1067: wall", med("whole", "torch", "wall"), med("whole", "repro", "wall"), "s", 0.5)
    row("whole process, .pth + 3 images 800x1067: peak RSS", med("whole", "torch", "rss"), med("whole", "repro", "rss"), "MiB", 0.75)
    row("whole process, .pth + one 32x32 image: wall", med("tiny", "torch", "wall"), med("tiny", "repro", "wall"), "s")
    row("whole process, .pth + one 32x32 image: peak RSS", med("tiny", "torch", "rss"), med("tiny", "repro", "rss"), "MiB")
    row("ready model from .pth (PyTorch: torch.load + load_state_dict)", torch_load, repro_ready, "s", 1.0)
    row("ready model from .pth (PyTorch: + construction)", torch_ready, repro_ready, "s")
    row("construction from a seed (after the other engine)", torch_seed, repro_seed, "s", 0.5)
    print(f"| (construction from a seed, range of {args.pairs}) | {spread('seed', 'torch', 'construct')} | "
          f"{spread('seed', 'repro', 'init')} | | |")
    row("construction from a seed (after itself)", med("seed_self", "torch", "construct"),
        med("seed_self", "repro", "init"), "s", 0.5)
    print(f"| (after itself, range of {args.pairs}) | {spread('seed_self', 'torch', 'construct')} | "
          f"{spread('seed_self', 'repro', 'init')} | | |")
    print(f"| (PyTorch import time, in its wall times) | {med('whole', 'torch', 'import'):.2f} s | | | |")
    print(f"| detections per image | {results['whole'][0]['torch']['detections']} | "
          f"{results['whole'][0]['repro']['detections']} | | |")
    print("\nTargets: " + "; ".join(verdicts))
    print_ready_phases(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "threads": args.threads, "load": load}, f, indent=1)
    if args.plot:
        plot(args.plot, results, args.threads, load)


def print_seed_rows(results, pairs, load):
    """The construction-from-a-seed rows alone (--seed-only)."""
    print(f"\nConstruction from a seed, median of {pairs} pairs; load average before {' '.join(load[0])}, "
          f"after {' '.join(load[1])}.\n")
    print("| condition | PyTorch | Repro | Repro / PyTorch | range PyTorch | range Repro |")
    print("|---|---:|---:|---:|---|---|")
    for name, label in (("seed", "after the other engine"), ("seed_self", "after itself")):
        t, r = med_of(results, name, "torch", "construct"), med_of(results, name, "repro", "init")
        print(f"| {label} | {t:.3f} s | {r:.3f} s | {r / t:.2f} | {spread_of(results, name, 'torch', 'construct')} | "
              f"{spread_of(results, name, 'repro', 'init')} |")


def med_of(results, name, engine, key):
    return statistics.median(r[engine][key] for r in results[name])


def print_ready_phases(results):
    """Where the time to a ready model from the .pth goes, on each side (medians, seconds)."""
    torch_rows = [r["torch"] for n in ("whole", "tiny") for r in results[n] if "torch_load" in r["torch"]]
    phases = [r["repro"].get("phases") or {} for r in results["ready"]]
    if not torch_rows or not all(phases):
        return
    m = lambda rows, key: statistics.median(x[key] for x in rows)  # noqa: E731
    print("\nReady model from the .pth, phases (medians; PyTorch over the whole/tiny runs, Repro over the ready runs):\n")
    print("| PyTorch phase | s | Repro phase | s |")
    print("|---|---:|---|---:|")
    left = [("torch.load (zip, unpickle, storages read into fresh memory)", m(torch_rows, "torch_load")),
            ("model.load_state_dict (copy into the constructed parameters)", m(torch_rows, "load_state_dict")),
            ("(construction + random init, not counted)", m(torch_rows, "construct"))]
    right = [("read: open, mmap, zip directory, pickle", m(phases, "read")),
             ("construct: module tree, placeholders (no init)", m(phases, "construct")),
             ("convert: one copy per tensor into fresh storage", m(phases, "convert")),
             ("prepare: fold norms, pack convolutions", m(phases, "prepare")),
             ("sha256_wait: waiting for the file's SHA-256", m(phases, "sha256_wait")),
             ("(sha256_thread: the hash on its own thread, overlapped)", m(phases, "sha256_thread"))]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", None)
        b = right[i] if i < len(right) else ("", None)
        fa = f"{a[1]:.3f}" if a[1] is not None else ""
        fb = f"{b[1]:.3f}" if b[1] is not None else ""
        print(f"| {a[0]} | {fa} | {b[0]} | {fb} |")
    print(f"| **torch.load + load_state_dict** | {m(torch_rows, 'load'):.3f} | **init_seconds** | "
          f"{med_of(results, 'ready', 'repro', 'init'):.3f} |")


def spread_of(results, name, engine, key):
    values = [r[engine][key] for r in results[name]]
    return f"{min(values):.2f}-{max(values):.2f} s"


def plot(path, results, threads, load):
    """The table as a chart: wall times and in-process times (s), peak RSS (MiB)."""
    import _plot
    med = lambda name, engine, key: med_of(results, name, engine, key)  # noqa: E731
    torch_load = statistics.median([r["torch"]["load"] for n in ("whole", "tiny") for r in results[n]])
    torch_version = results["whole"][0]["torch"]["torch"]
    _plot.bar_chart(path, f"repro detect --weights (153 MB .pth) vs PyTorch {torch_version}'s script, "
                    f"{threads} threads, median of {len(results['whole'])} pairs",
                    [("whole process, wall", "s", [("3 images\n800x1067", med("whole", "torch", "wall"), med("whole", "repro", "wall")),
                                                   ("one 32x32\nimage", med("tiny", "torch", "wall"), med("tiny", "repro", "wall"))]),
                     ("in process", "s", [("ready model\nfrom .pth", torch_load, med("ready", "repro", "init")),
                                          ("construction\nfrom a seed", med("seed", "torch", "construct"), med("seed", "repro", "init"))]),
                     ("whole process, peak RSS", "MiB", [("3 images", med("whole", "torch", "rss"), med("whole", "repro", "rss")),
                                                         ("one 32x32", med("tiny", "torch", "rss"), med("tiny", "repro", "rss"))])],
                    note=f"load average before {' '.join(load[0])}, after {' '.join(load[1])}; PyTorch's wall "
                         f"times include its import ({med('whole', 'torch', 'import'):.1f} s)")


if __name__ == "__main__":
    _venv.ensure_venv(extra=("torchvision==0.29.2", "pillow"))
    main()
