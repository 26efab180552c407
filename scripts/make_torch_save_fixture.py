#!/usr/bin/env python3
"""Writes Tests/Fixtures/export/torch_small.pth: what `torch.save` writes (to an in-memory
buffer, so the archive folder is `archive/`) for a small state dict whose values the Swift test
rebuilds (TorchSaveTests). Only the first 20 digits of `.data/serialization_id` are random in
PyTorch; the test masks them.

    /work/venv/bin/python scripts/make_torch_save_fixture.py
"""

import collections
import io
import os

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "export")

sd = collections.OrderedDict()
sd["conv.weight"] = (torch.arange(24, dtype=torch.float32) * 0.5 - 3.0).reshape(2, 3, 2, 2)
sd["bn.running_mean"] = torch.tensor([0.25, -1.5, 3.0])
sd["bn.num_batches_tracked"] = torch.tensor(7)
sd["fc.weight"] = (torch.arange(6, dtype=torch.float32) / 3.0).reshape(3, 2)
sd["steps"] = torch.tensor([-5, 300, 70000, 1 << 40], dtype=torch.int64)
sd["empty"] = torch.zeros(0, 4)
buf = io.BytesIO()
torch.save(sd, buf)
os.makedirs(ROOT, exist_ok=True)
with open(os.path.join(ROOT, "torch_small.pth"), "wb") as f:
    f.write(buf.getvalue())
print(len(buf.getvalue()), "bytes")
