#!/usr/bin/env python3
"""Checks a Repro-exported `.pth` in PyTorch and prints the fixture of hashes.

Usage, seeded (untrained) ResNet-18 (regenerates Tests/Fixtures/export/resnet18_seed0_k10.json):

    REPRO_EXPORT_PATH=/tmp/resnet18.pth swift test --filter ResNetExportTests
    python scripts/check_torch_export.py /tmp/resnet18.pth --num-classes 10 \
        --seed 0 > Tests/Fixtures/export/resnet18_seed0_k10.json

The test writes the export of `ResNet(configuration: .resnet18 with numClasses 10, seed: 0)`
to REPRO_EXPORT_PATH (it fails until the fixture exists; the file is written first).

Usage, trained by `repro train` (regenerates Tests/Fixtures/export/train_*_steps2.json; the
options are the ones `TrainExportTests` runs):

    for arch in resnet18 cnn-small; do
      repro train --arch $arch --steps 2 --image-size 32 --batch-size 4 --optimizer sgd --schedule constant \
          --no-val --no-progress --export /tmp/$arch.pth
      python scripts/check_torch_export.py /tmp/$arch.pth --arch $arch --trained-steps 2 \
          > Tests/Fixtures/export/train_${arch}_steps2.json
    done

What this script checks, failing loudly otherwise:
- `torch.load(path, weights_only=True)` reads the file (the restricted unpickler);
- `torchvision.models.resnet18(num_classes=K)` (or cnn-small's PyTorch definition below)
  `.load_state_dict(sd, strict=True)` accepts it;
- the key order, dtypes and shapes are the PyTorch module's `state_dict()` ones (BatchNorm's
  `num_batches_tracked` int64);
- untrained: every tensor equals, bit for bit, the one of `torch.manual_seed(seed)` + the
  builder (Repro replays the initialisation exactly);
- trained (`--trained-steps N`): every BatchNorm's `num_batches_tracked` is N, every
  convolution and linear weight differs from the seeded initialisation (training moved it),
  every float is finite, and the loaded module's forward pass in evaluation mode gives finite
  logits;
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


class CNNSmall(torch.nn.Module):
    """`repro train --arch cnn-small` (ReproVision's SmallConvNet), as its doc comment defines it."""

    def __init__(self, num_classes=10):
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.GroupNorm(8, 32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, 64), nn.ReLU(inplace=True),
            nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), nn.GroupNorm(8, 128), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


BUILDERS = {"resnet18": lambda k: torchvision.models.resnet18(num_classes=k), "cnn-small": CNNSmall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--arch", choices=sorted(BUILDERS), default="resnet18")
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trained-steps", type=int, help="the export is of a model trained for this many steps")
    args = ap.parse_args()
    build = BUILDERS[args.arch]
    trained = args.trained_steps is not None

    raw = open(args.path, "rb").read()
    sd = torch.load(args.path, weights_only=True)
    model = build(args.num_classes)
    model.load_state_dict(sd, strict=True)

    torch.manual_seed(args.seed)
    reference = build(args.num_classes).state_dict()
    assert list(sd.keys()) == list(reference.keys()), "key order differs from the PyTorch module's"
    for k, v in reference.items():
        assert sd[k].dtype == v.dtype, f"{k}: dtype {sd[k].dtype}, PyTorch {v.dtype}"
        assert sd[k].shape == v.shape, f"{k}: shape {tuple(sd[k].shape)}, PyTorch {tuple(v.shape)}"
        if not trained:
            assert tensor_sha256(sd[k]) == tensor_sha256(v), f"{k}: bits differ from the seeded init"
        elif k.endswith("num_batches_tracked"):
            assert v.dtype == torch.int64 and int(sd[k]) == args.trained_steps, f"{k} = {int(sd[k])}"
        else:
            assert bool(torch.isfinite(sd[k]).all()), f"{k}: not finite"
            if v.dim() >= 2:
                assert not torch.equal(sd[k], v), f"{k}: unchanged by {args.trained_steps} training steps"
    if trained:
        model.eval()
        with torch.no_grad():
            logits = model(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
        assert logits.shape == (2, args.num_classes) and bool(torch.isfinite(logits).all()), "forward pass"

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
        "description": (f"Repro export of {args.arch} after `repro train --steps {args.trained_steps} --image-size 32 "
                        "--batch-size 4 --no-val` (SGD lr 0.1, momentum 0.9, constant), checked in torch" if trained else
                        "Repro export of ResNet-18 (torchvision init replayed from the seed), checked in torch"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": args.seed,
        **({"arch": args.arch, "trained_steps": args.trained_steps} if trained else {}),
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
