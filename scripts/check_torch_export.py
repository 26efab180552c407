#!/usr/bin/env python3
"""Checks a Repro-exported `.pth` in PyTorch and prints the fixture of hashes.

Usage (regenerates Tests/Fixtures/export/resnet18_seed0_k10.json):

    REPRO_EXPORT_PATH=/tmp/resnet18.pth swift test --filter ResNetExportTests
    /work/venv/bin/python scripts/check_torch_export.py /tmp/resnet18.pth --num-classes 10 \
        --seed 0 > Tests/Fixtures/export/resnet18_seed0_k10.json

The test writes the export of `ResNet(configuration: .resnet18 with numClasses 10, seed: 0)`
to REPRO_EXPORT_PATH (it fails until the fixture exists; the file is written first).

What this script checks, failing loudly otherwise:
- `torch.load(path, weights_only=True)` reads the file (the restricted unpickler);
- `torchvision.models.resnet18(num_classes=K).load_state_dict(sd)` accepts it (strict);
- the key order and dtypes are torchvision's `state_dict()` order and dtypes;
- every tensor equals, bit for bit, the one of `torch.manual_seed(seed)` + the torchvision
  builder (Repro replays torchvision's initialisation exactly);
- `torch.save` of the loaded dict (to a buffer: folder `archive/`) writes the same bytes as
  Repro, except the first 20 digits of `.data/serialization_id`, random in PyTorch (and that
  entry's CRC-32).

It prints JSON: the file's SHA-256, and per tensor (state-dict order) the dtype, shape and the
SHA-256 of its little-endian bytes.
"""

import argparse
import hashlib
import io
import json
import os
import re
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchvision_cpu_nms import install  # noqa: E402

install()

import torch  # noqa: E402
import torchvision  # noqa: E402


def tensor_sha256(t):
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    raw = open(args.path, "rb").read()
    sd = torch.load(args.path, weights_only=True)
    model = torchvision.models.resnet18(num_classes=args.num_classes)
    model.load_state_dict(sd, strict=True)

    torch.manual_seed(args.seed)
    reference = torchvision.models.resnet18(num_classes=args.num_classes).state_dict()
    assert list(sd.keys()) == list(reference.keys()), "key order differs from torchvision's"
    for k, v in reference.items():
        assert sd[k].dtype == v.dtype, f"{k}: dtype {sd[k].dtype}, torchvision {v.dtype}"
        assert sd[k].shape == v.shape, f"{k}: shape {tuple(sd[k].shape)}, torchvision {tuple(v.shape)}"
        assert tensor_sha256(sd[k]) == tensor_sha256(v), f"{k}: bits differ from torchvision's seeded init"

    buf = io.BytesIO()
    torch.save(sd, buf)
    theirs = buf.getvalue()
    # PyTorch draws the first 20 digits of `.data/serialization_id` at random: put Repro's in,
    # fix that entry's CRC-32 (data descriptor and central directory), then compare every byte.
    sid = re.compile(rb"archive/\.data/serialization_idFB(..)", re.S)
    def digits_at(b):
        m = sid.search(b)
        return m.end() + struct.unpack("<H", m.group(1))[0]
    o, t = digits_at(raw), digits_at(theirs)
    old_crc = struct.pack("<I", zlib.crc32(theirs[t:t + 40]))
    patched = theirs[:t] + raw[o:o + 20] + theirs[t + 20:]
    new_crc = struct.pack("<I", zlib.crc32(patched[t:t + 40]))
    tail = patched[t + 40:]
    assert tail.count(old_crc) == 2, "the id's CRC should appear twice after it"
    patched = patched[:t + 40] + tail.replace(old_crc, new_crc)
    assert patched == raw, "torch.save writes other bytes than Repro"

    out = {
        "description": "Repro export of ResNet-18 (torchvision init replayed from the seed), checked in torch",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": args.seed,
        "num_classes": args.num_classes,
        "file_sha256": hashlib.sha256(raw).hexdigest(),
        "file_bytes": len(raw),
        "tensors": [
            {"name": k, "dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "sha256": tensor_sha256(v)}
            for k, v in sd.items()
        ],
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
