#!/usr/bin/env python3
"""Data-loading throughput: PyTorch DataLoader + torchvision vs `repro batches`.

Workload (issue 6): 2,000 JPEGs of about 500x375 (generated once into a temp
folder, 10 class subfolders), decoded, RandomResizedCrop(224), horizontal flip,
to-tensor, ImageNet normalize, batched by 32, 2 workers, one epoch each, same
machine. Prints images/s for both and the ratio Repro / PyTorch (target >= 1.0).

`repro batches` also hashes every batch (SHA-256 of its float32 bytes, about
0.6 MB per image) on the worker threads and prints one line per batch; PyTorch
only produces tensors. So Repro is timed twice: as is, and with --no-hash
(the loader alone, the like-for-like comparison).

Usage: bench/loader_bench.py [--repro PATH] [--images N] [--keep DIR]
Uses $REPRO_VENV (a virtualenv with torch, torchvision, pillow, numpy) when
set, otherwise creates bench/.venv and installs them there.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time, venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ensure_env():
    try:
        import torch, torchvision, PIL, numpy  # noqa: F401
        return
    except ImportError:
        pass
    env = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv")
    py = os.path.join(env, "bin", "python")
    # A virtualenv's python is usually a symlink to the system interpreter, so
    # compare prefixes (not executables) to tell whether we already run inside it.
    if os.path.realpath(sys.prefix) == os.path.realpath(env):
        sys.exit("the virtualenv at %s lacks torch/torchvision/pillow/numpy" % env)
    if not os.path.exists(py):
        venv.create(env, with_pip=True)
        subprocess.check_call([py, "-m", "pip", "install", "torch", "torchvision", "pillow", "numpy"])
    os.execv(py, [py] + sys.argv)


def make_images(folder, count):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:375, 0:500].astype(np.float32)
    for i in range(count):
        cls = os.path.join(folder, "class%02d" % (i % 10))
        os.makedirs(cls, exist_ok=True)
        fx, fy, ph = rng.uniform(0.005, 0.05, 3)
        base = np.stack([np.sin(xx * fx + ph), np.cos(yy * fy - ph), np.sin((xx + yy) * (fx + fy))], axis=-1)
        img = (base * 90 + 128 + rng.normal(0, 20, base.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img, "RGB").save(os.path.join(cls, "%05d.jpg" % i), quality=90)


def bench_torch(folder, workers, batch):
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
    t = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                            transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = datasets.ImageFolder(folder, transform=t)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    n = 0
    for x, _ in loader:
        n += x.shape[0]
    return n, time.perf_counter() - start


def bench_repro(repro, folder, workers, batch, hashing=True):
    start = time.perf_counter()
    out = subprocess.run([repro, "batches", folder, "--workers", str(workers), "--batch-size", str(batch),
                          "--augment", "crop", "--seed", "0", "--no-progress"] + ([] if hashing else ["--no-hash"]),
                         check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = out.stdout.strip().splitlines()
    n = sum(len(l.split(" indices ")[1].split(" ")[0].split(",")) for l in lines)
    return n, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", default=os.path.join(ROOT, ".build", "release", "repro"))
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--keep", help="generate (or reuse) the images in this folder instead of a temp one")
    args = ap.parse_args()
    ensure_env()
    if not os.path.exists(args.repro):
        sys.exit("no repro binary at %s (swift build -c release --product repro)" % args.repro)
    folder = args.keep or tempfile.mkdtemp(prefix="repro-loader-bench-")
    try:
        if not os.path.isdir(os.path.join(folder, "class00")):
            t0 = time.perf_counter()
            make_images(folder, args.images)
            print("generated %d JPEGs in %.1fs" % (args.images, time.perf_counter() - t0))
        tn, tt = bench_torch(folder, args.workers, args.batch_size)
        rn, rt = bench_repro(args.repro, folder, args.workers, args.batch_size)
        hn, ht = bench_repro(args.repro, folder, args.workers, args.batch_size, hashing=False)
        assert tn == rn == hn == args.images, (tn, rn, hn)
        print("PyTorch DataLoader (torchvision, %d workers):    %8.1f images/s" % (args.workers, tn / tt))
        print("repro batches      (%d workers, SHA-256/batch):  %8.1f images/s  ratio %.2fx"
              % (args.workers, rn / rt, (rn / rt) / (tn / tt)))
        print("repro batches      (%d workers, --no-hash):      %8.1f images/s  ratio %.2fx"
              % (args.workers, hn / ht, (hn / ht) / (tn / tt)))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
