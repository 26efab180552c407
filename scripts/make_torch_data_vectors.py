#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/data/torch_distributed.json: PyTorch's
DistributedSampler shards and multi-epoch RandomSampler orders, for ReproData's
torch-compatible shuffling. Makes its own virtualenv (or uses $REPRO_VENV)."""
import json, os, subprocess, sys, venv

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "data", "torch_distributed.json")

def ensure_torch():
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    env = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv-torch")
    py = os.path.join(env, "bin", "python")
    if not os.path.exists(py):
        venv.create(env, with_pip=True)
        subprocess.check_call([py, "-m", "pip", "install", "torch"])
    os.execv(py, [py] + sys.argv)

def main():
    ensure_torch()
    import torch
    from torch.utils.data import DistributedSampler, RandomSampler
    cases = []
    for (n, world, seed, epoch, drop_last) in [(10, 3, 0, 0, False), (10, 3, 7, 2, False), (10, 3, 7, 2, True),
                                                 (25, 4, 42, 1, False), (5, 8, 3, 5, False), (100, 6, 1234, 3, True)]:
        shards = []
        for rank in range(world):
            s = DistributedSampler(list(range(n)), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=drop_last)
            s.set_epoch(epoch)
            shards.append(list(s))
        cases.append({"count": n, "world_size": world, "seed": seed, "epoch": epoch, "drop_last": drop_last, "shards": shards})
    epochs = []
    for (n, seed) in [(25, 0), (7, 42), (300, 3407)]:
        g = torch.Generator().manual_seed(seed)
        smp = RandomSampler(list(range(n)), generator=g)
        epochs.append({"count": n, "seed": seed, "epochs": [list(smp) for _ in range(4)]})
    out = {"torch_version": torch.__version__,
           "recipe": "DistributedSampler(range(count), num_replicas, rank, shuffle=True, seed, drop_last).set_epoch(epoch); "
                     "RandomSampler(range(count), generator=torch.Generator().manual_seed(seed)) listed 4 times",
           "distributed": cases, "random_sampler_epochs": epochs}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")

if __name__ == "__main__":
    main()
