#!/usr/bin/env python3
"""Writes Tests/Fixtures/models/resnet_state_dicts.json: torchvision's state_dict() of
resnet18(num_classes=50) and resnet50(num_classes=50) right after torch.manual_seed(0) — every
key in order with its shape, dtype and the SHA-256 of its little-endian bytes — plus the
SHA-256 of the torch.rand(1, 3, 224, 224) drawn afterwards from the same generator.

ReproVisionTests (ModelTreeTests) compares the walk of our ResNet with it: the key order proves
the tree, the hashes prove the construction-order initialisation bit for bit.

Usage: python scripts/make_model_tree_fixtures.py [OUT]   (torch + torchvision, CPU)
"""
import hashlib
import json
import sys
import types

# torchvision's fake-kernel registrations fail on some torch/torchvision pairs; they are not
# needed to build models on the CPU.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))

import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision.models import resnet18, resnet50  # noqa: E402


def describe(builder):
    torch.manual_seed(0)
    model = builder(num_classes=50)
    entries = []
    for key, t in model.state_dict().items():
        data = t.detach().contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        entries.append({"key": key, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                        "sha256": hashlib.sha256(data).hexdigest()})
    x = torch.rand(1, 3, 224, 224)
    return {"state_dict": entries, "rand_after_sha256": hashlib.sha256(x.numpy().astype("<f4").tobytes()).hexdigest()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/models/resnet_state_dicts.json"
    doc = {
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
        "recipe": "torch.manual_seed(0); model = resnetXX(num_classes=50); torch.rand(1, 3, 224, 224)",
        "resnet18": describe(resnet18),
        "resnet50": describe(resnet50),
    }
    # One state-dict entry per line: small diffs when a version changes a value.
    text = json.dumps(doc, indent=1)
    for name in ("resnet18", "resnet50"):
        for e in doc[name]["state_dict"]:
            text = text.replace(json.dumps(e, indent=1).replace("\n", "\n   "), json.dumps(e), 1)
    with open(out, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
