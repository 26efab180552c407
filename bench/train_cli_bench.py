#!/usr/bin/env python3
"""`repro train` beside a plain PyTorch training loop, in one run; and cnn-small's time to accuracy.

Part 1 — ResNet-18 training throughput (both sides under the same conditions):
  * data: a generated ImageFolder (10 classes, --images JPEGs of 224x224 with random shapes, made
    once into --data, default bench/.train-data);
  * model: resnet18(num_classes=10) after torch.manual_seed(0) (Repro replays the same init);
  * SGD (lr 0.1, momentum 0.9), batch --batch (32), BatchNorm in training mode, mean cross-entropy;
  * augmentation: RandomResizedCrop(224), RandomHorizontalFlip, ColorJitter(0.4, 0.4, 0.4, 0.1),
    ToTensor, Normalize(ImageNet) — `repro train --augment standard` (Repro's own random draws);
  * PyTorch: DataLoader(num_workers=2, shuffle, drop_last), torch.set_num_threads(--threads);
    Repro: `repro train DIR --arch resnet18 --workers 2 --threads --threads --no-val`;
  * --steps optimizer steps each (default 20); samples/s over the steps after the first (PyTorch),
    or over the whole command minus a 1-step run (Repro: start-up, listing and the first step
    are subtracted by running the command twice);
  * peak memory: max RSS of each engine's main process (os.wait4; PyTorch's loader workers are
    separate processes and not included; Repro's workers are threads and are).

Part 2 — time to accuracy: `repro train --threads T` with no other option (the default recipe:
cnn-small on the built-in data set, DEFAULT_RECIPE below), validation accuracy after each epoch and
the wall time at which each validation line arrived (the log is unbuffered), against the accuracy
the README states (--target, default 0.80).

Run: python3 bench/train_cli_bench.py [--steps 20] [--threads 2] [--pairs N] [--repro PATH] [--skip-torch]
(builds `repro` in release mode unless --repro is given; uses REPRO_VENV or bench/.venv for torch,
e.g. REPRO_VENV=/path/to/venv with torch and torchvision). A smoke run: --steps 3 --images 160.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _venv  # noqa: E402

TORCH_WORKER = r'''
import json, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
sys.path.insert(0, args["scripts"])
import torchvision_cpu_nms
torchvision_cpu_nms.install()
import torchvision
from torchvision import transforms as T
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).train()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4, 0.1),
                T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = torchvision.datasets.ImageFolder(args["data"], transform=tf)
loader = torch.utils.data.DataLoader(ds, batch_size=args["batch"], shuffle=True, num_workers=2, drop_last=True,
                                     generator=torch.Generator().manual_seed(0))
times, steps = [], 0
t = time.perf_counter()
while steps < args["steps"]:
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        now = time.perf_counter()
        times.append(now - t)
        t = now
        steps += 1
        if steps == args["steps"]:
            break
print(json.dumps({"step_s": times}))
'''


def run_child(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return out, usage.ru_maxrss / 1024


def make_data(folder, count):
    from PIL import Image, ImageDraw
    import random
    if os.path.exists(os.path.join(folder, "done")):
        return
    rng = random.Random(0)
    for i in range(count):
        c = i % 10
        os.makedirs(os.path.join(folder, f"class{c}"), exist_ok=True)
        im = Image.new("RGB", (224, 224), tuple(rng.randrange(256) for _ in range(3)))
        d = ImageDraw.Draw(im)
        x, y, r = rng.randrange(60, 164), rng.randrange(60, 164), rng.randrange(20, 60)
        fill = tuple(rng.randrange(256) for _ in range(3))
        (d.ellipse if c % 2 else d.rectangle)([x - r, y - r, x + r, y + r], fill=fill)
        im.save(os.path.join(folder, f"class{c}", f"{i}.jpg"), quality=90)
    open(os.path.join(folder, "done"), "w").close()


DEFAULT_RECIPE = ("cnn-small, built-in data set (10 classes, 10,000 training / 2,000 validation images of 32x32), "
                  "batch 64, AdamW one-cycle up to lr 0.006, 2 epochs = 312 steps")


def repro_train_timed(repro, extra):
    """Runs `repro train --log -` and returns its JSON lines, each with the wall seconds at which it arrived."""
    start = time.perf_counter()
    p = subprocess.Popen([repro, "train", "--no-progress", "--log", "-"] + extra, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in p.stdout:
        if line.startswith("{"):
            record = json.loads(line)
            record["wall_s"] = time.perf_counter() - start
            lines.append(record)
    if p.wait() != 0:
        raise SystemExit(f"repro train failed with status {p.returncode}")
    return lines


def repro_train(repro, extra):
    out, rss = run_child([repro, "train", "--no-progress", "--log", "-"] + extra)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "profile" not in line], rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps of each ResNet-18 run (default 20)")
    ap.add_argument("--batch", type=int, default=32, help="batch size of the ResNet-18 runs (default 32)")
    ap.add_argument("--threads", type=int, default=2, help="compute threads of both engines (default 2)")
    ap.add_argument("--images", type=int, default=800, help="JPEGs in the generated ImageFolder (default 800)")
    ap.add_argument("--data", default=os.path.join(HERE, ".train-data-224"), help="where the ImageFolder is generated")
    ap.add_argument("--target", type=float, default=0.80, help="the stated validation accuracy of the default recipe")
    ap.add_argument("--repro", help="a release `repro` binary (default: build one)")
    ap.add_argument("--skip-torch", action="store_true", help="no PyTorch run (no ratio)")
    ap.add_argument("--pairs", type=int, default=1,
                    help="Repro-then-PyTorch pairs to run back to back (default 1); with more, the median ratio "
                         "(a shared machine's load moves single runs by 10–20%%)")
    ap.add_argument("--skip-resnet", action="store_true", help="only part 2 (time to accuracy)")
    ap.add_argument("--skip-accuracy", action="store_true", help="only part 1 (ResNet-18 throughput)")
    ap.add_argument("--accuracy-steps", type=int, help="smoke test only: cut part 2 to this many steps (not the recipe)")
    a = ap.parse_args()
    if a.steps < 2:
        ap.error("--steps must be at least 2 (the first step is not timed)")
    _venv.ensure_venv(["torchvision", "pillow"])
    repro = a.repro
    if not repro:
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "repro"], cwd=ROOT)
        repro = os.path.join(ROOT, ".build", "release", "repro")
    if not a.skip_resnet:
        make_data(a.data, a.images)
        common = [a.data, "--arch", "resnet18", "--batch-size", str(a.batch), "--threads", str(a.threads), "--workers", "2",
                  "--augment", "standard", "--no-val", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9",
                  "--schedule", "constant", "--seed", "0"]
        print(f"ResNet-18 224x224, batch {a.batch}, {a.threads} threads, SGD momentum, {a.steps} steps, 2 loader workers")
        print("| pair | engine | s/step | samples/s | peak RSS MiB |")
        print("| --- | --- | --- | --- | --- |")
        ratios, rss_ratios = [], []
        for pair in range(1, a.pairs + 1):
            one, _ = repro_train(repro, common + ["--steps", "1"])
            # --profile: the phase table (wall and process CPU per phase, loader stages) goes to stderr.
            full, repro_rss = repro_train(repro, common + ["--steps", str(a.steps), "--profile"])
            repro_step = (full[-1]["seconds"] - one[-1]["seconds"]) / (a.steps - 1)
            if not a.skip_torch:
                args = {"threads": a.threads, "batch": a.batch, "steps": a.steps, "data": a.data,
                        "scripts": os.path.join(ROOT, "scripts")}
                out, torch_rss = run_child([sys.executable, "-c", TORCH_WORKER, json.dumps(args)])
                t = json.loads(out.strip().splitlines()[-1])["step_s"][1:]
                torch_step = sum(t) / len(t)
                import torch
                print(f"| {pair} | PyTorch {torch.__version__} | {torch_step:.2f} | {a.batch / torch_step:.1f} | {torch_rss:.0f} |")
            print(f"| {pair} | repro train | {repro_step:.2f} | {a.batch / repro_step:.1f} | {repro_rss:.0f} |", flush=True)
            if not a.skip_torch:
                ratios.append(repro_step / torch_step)
                rss_ratios.append(repro_rss / torch_rss)
                print(f"Repro / PyTorch time per step (pair {pair}): {ratios[-1]:.2f}x; peak RSS {rss_ratios[-1]:.2f}x", flush=True)
        if len(ratios) > 1:
            ordered = sorted(ratios)
            median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2
            print(f"Repro / PyTorch time per step over {len(ratios)} pairs: median {median:.2f}x "
                  f"(min {ordered[0]:.2f}x, max {ordered[-1]:.2f}x); peak RSS at most {max(rss_ratios):.2f}x")
    if not a.skip_accuracy:
        time_to_accuracy(repro, a)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


def time_to_accuracy(repro, a):
    extra = ["--steps", str(a.accuracy_steps)] if a.accuracy_steps else []
    lines = repro_train_timed(repro, ["--threads", str(a.threads)] + extra)
    print(f"\n`repro train --threads {a.threads}{' ' + ' '.join(extra) if extra else ''}` (the default recipe: {DEFAULT_RECIPE})")
    print("| epoch | validation accuracy | validation loss | wall s |")
    print("| --- | --- | --- | --- |")
    reached = None
    for line in lines:
        if "val_accuracy" in line:
            print(f"| {line['epoch']} | {line['val_accuracy']:.4f} | {line['val_loss']:.4f} | {line['wall_s']:.1f} |")
            if reached is None and line["val_accuracy"] >= a.target:
                reached = line["wall_s"]
    final = lines[-1]
    print(f"{final['steps']} steps, {final['wall_s']:.1f} s wall, weights_sha256 {final['weights_sha256']}")
    print(f"time to {a.target:.0%} validation accuracy: " + (f"{reached:.1f} s" if reached is not None else "NOT reached"))


if __name__ == "__main__":
    main()
