#!/usr/bin/env python3
"""Writes Tests/Fixtures/train/init_digests.json: `weights_sha256` of freshly initialised models
as PyTorch builds them, for `repro train`'s initialisation tests (TrainingRunTests).

    /work/venv/bin/python scripts/make_train_reference.py > Tests/Fixtures/train/init_digests.json

`weights_sha256` is the SHA-256 of every parameter and buffer in `state_dict()` order, as
little-endian bytes back to back (what `repro train --log` reports). Models:
- `cnn-small` (the PyTorch definition below, the one documented on Repro's `SmallConvNet`)
  after `torch.manual_seed(seed)`, num_classes 10, seeds 0 and 7;
- torchvision's `resnet18(num_classes=10)` after `torch.manual_seed(0)`.
"""

import hashlib
import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torchvision_cpu_nms import install  # noqa: E402

install()
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402


from check_torch_export import CNNSmall  # noqa: E402  (the one definition of cnn-small in torch)


def weights_sha256(model):
    h = hashlib.sha256()
    for t in model.state_dict().values():
        h.update(t.detach().contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": []}
for seed in (0, 7):
    torch.manual_seed(seed)
    m = CNNSmall(10)
    out["models"].append({"architecture": "cnn-small", "num_classes": 10, "seed": seed, "weights_sha256": weights_sha256(m),
                          "keys": list(m.state_dict().keys())})
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=10)
out["models"].append({"architecture": "resnet18", "num_classes": 10, "seed": 0, "weights_sha256": weights_sha256(m),
                      "keys": len(m.state_dict())})
print(json.dumps(out, indent=1))
