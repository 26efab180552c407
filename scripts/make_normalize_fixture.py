#!/usr/bin/env python3
"""Writes Tests/Fixtures/data/to_tensor_normalize.json: torchvision's `ToTensor` + `Normalize`
(ImageNet mean/std) on a 16x16 RGB image in which every channel holds each byte value 0...255
once, as float32 bit patterns (what `repro train --augment none` must give, bit for bit).

    /work/venv/bin/python scripts/make_normalize_fixture.py
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchvision_cpu_nms import install  # noqa: E402

install()

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

H = W = 16
hwc = np.zeros((H, W, 3), dtype=np.uint8)
for c in range(3):
    for i in range(H * W):
        hwc[i // W, i % W, c] = (i * 7 + c * 85) % 256
pic = Image.fromarray(hwc, "RGB")
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
x = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])(pic)
assert x.dtype == torch.float32 and tuple(x.shape) == (3, H, W)

# How torch computes it: (v / 255 - mean) / std in float32, a true division (not * (1 / std)).
v = torch.from_numpy(hwc).permute(2, 0, 1).float()
divided = (v / 255 - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
reciprocal = (v / 255 - torch.tensor(mean).view(3, 1, 1)) * (1 / torch.tensor(std).view(3, 1, 1))
assert torch.equal(x, divided), "Normalize is not a float32 division"
assert not torch.equal(x, reciprocal), "the fixture cannot tell division from reciprocal multiplication"

out = {
    "description": "torchvision ToTensor + Normalize(ImageNet) of a 16x16 RGB image, pixel (y, x) channel c = ((16y + x) * 7 + 85c) % 256",
    "torch": torch.__version__,
    "height": H,
    "width": W,
    "chw_float32_bits": [int(b) for b in x.contiguous().view(torch.int32).flatten().tolist()],
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "data", "to_tensor_normalize.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("wrote", path)
