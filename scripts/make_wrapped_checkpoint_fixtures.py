#!/usr/bin/env python3
"""Regenerates the training-checkpoint and half-precision fixtures in Tests/Fixtures/checkpoints/.

- wrapped_state_dict.pth: {"state_dict": sd, "optimizer": {...}, "epoch": 3} (a training checkpoint)
- wrapped_model.pth:      {"model": sd, "epoch": 7}
- not_a_state_dict.pth:   {"epoch": 3, "weights": [tensor]} (no tensor dict anywhere: refused)
- half_precision.safetensors + half_precision.expected.json: float16 and bfloat16 tensors with
  normals, subnormals, zeros, infinities and NaNs, and the float32 bits PyTorch's `.float()` gives.

sd is a small Conv2d + BatchNorm2d state dict (torch.manual_seed(0)). Needs torch and safetensors
(e.g. REPRO_PYTHON=/path/to/python); never run by tests or CI.

    python3 scripts/make_wrapped_checkpoint_fixtures.py
"""
import json
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "checkpoints")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    sd = model.state_dict()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.save({"state_dict": sd, "optimizer": opt.state_dict(), "epoch": 3},
               os.path.join(OUT, "wrapped_state_dict.pth"))
    torch.save({"model": sd, "epoch": 7}, os.path.join(OUT, "wrapped_model.pth"))
    torch.save({"epoch": 3, "weights": [sd["0.weight"]]}, os.path.join(OUT, "not_a_state_dict.pth"))

    f16_bits = [0x0000, 0x8000, 0x0001, 0x8001, 0x0200, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF,
                0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7D55, 0x3555, 0x1234]
    bf16_bits = [0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x3F80, 0xBF80, 0x7F7F, 0x7F80, 0xFF80,
                 0x7FC0, 0xFFC1, 0x7F81, 0x4049, 0x1234]
    f16 = torch.tensor(f16_bits, dtype=torch.int32).to(torch.int16).view(torch.float16)
    bf16 = torch.tensor(bf16_bits, dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
    save_file({"f16": f16.contiguous(), "bf16": bf16.contiguous()}, os.path.join(OUT, "half_precision.safetensors"))
    expected = {name: [f"0x{x & 0xffffffff:08x}" for x in t.float().view(torch.int32).tolist()]
                for name, t in [("f16", f16), ("bf16", bf16)]}
    with open(os.path.join(OUT, "half_precision.expected.json"), "w") as f:
        json.dump({"recipe": "scripts/make_wrapped_checkpoint_fixtures.py", "torch": torch.__version__,
                   "float32_bits": expected}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
