#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/tensor/torch_ops.json: PyTorch 2.15 CPU outputs
of the ops ReproTensor reimplements, on inputs from a 64-bit LCG that the
Swift tests reproduce exactly (so no inputs are stored).

LCG: s = s * 6364136223846793005 + 1442695040888963407 (mod 2^64), value =
float32((s >> 40) * 2^-23 - 1), starting from s = seed (the first value uses
the first step). Uses REPRO_VENV if set, otherwise makes scripts/.venv.
"""
import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def python():
    if os.environ.get("REPRO_VENV"):
        return os.path.join(os.environ["REPRO_VENV"], "bin", "python")
    path = os.path.join(HERE, ".venv")
    py = os.path.join(path, "bin", "python")
    if not os.path.exists(py):
        venv.create(path, with_pip=True)
        subprocess.check_call([py, "-m", "pip", "install", "-q", "torch==2.15.*", "numpy"])
    return py


WORKER = r'''
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
M = (1 << 64) - 1
def lcg(n, seed, scale=1.0):
    s = seed; out = np.empty(n, dtype=np.float32)
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & M
        out[i] = np.float32((s >> 40) * 2.0 ** -23 - 1) * np.float32(scale)
    return out
def t(shape, seed, scale=1.0):
    return torch.from_numpy(lcg(int(np.prod(shape)), seed, scale).reshape(shape))
def f32(x):
    return {"encoding": "f32", "shape": list(x.shape),
            "bits": x.detach().contiguous().numpy().astype(np.float32).view(np.uint32).ravel().tolist()}
F = torch.nn.functional
out = {"torch": torch.__version__}
x = t((2, 3, 20, 30), 1)
out["bilinear_2x3x20x30_to_31x17"] = f32(F.interpolate(x, size=(31, 17), mode="bilinear", align_corners=False))
out["nearest_2x3x20x30_to_41x45"] = f32(F.interpolate(x, size=(41, 45), mode="nearest"))
out["maxpool_2x3x20x30_k3s2p1"] = f32(F.max_pool2d(x, 3, 2, 1))
g = t((2, 8, 5, 6), 2, 4.0); gw = t((8,), 3); gb = t((8,), 4)
out["groupnorm_2x8x5x6_g4"] = f32(F.group_norm(g, 4, gw, gb, eps=1e-5))
cx = t((1, 4, 9, 11), 5); cw = t((6, 4, 3, 3), 6); cb = t((6,), 7)
out["conv3x3_1x4x9x11_to_6_pad1_bias"] = f32(F.conv2d(cx, cw, cb, padding=1))
bw = t((4,), 8); bb = t((4,), 9); bm = t((4,), 10); bv = t((4,), 11) ** 2 + 0.1
scale = bw * (bv + 1e-5).rsqrt(); shift = bb - bm * scale
out["frozenbn_scale"] = f32(scale); out["frozenbn_shift"] = f32(shift)
out["frozenbn_apply_1x4x9x11"] = f32(cx * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1))
e = t((4096,), 12, 80.0)
out["exp_4096_scale80"] = f32(torch.exp(e)); out["sigmoid_4096_scale80"] = f32(torch.sigmoid(e))
out["log_4096_abs_scale80"] = f32(torch.log(e.abs()))
json.dump(out, sys.stdout, separators=(",", ":"))
'''

if __name__ == "__main__":
    data = subprocess.check_output([python(), "-c", WORKER])
    dst = os.path.join(ROOT, "Tests", "Fixtures", "tensor", "torch_ops.json")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(data)
    print("wrote", dst, len(data), "bytes")
