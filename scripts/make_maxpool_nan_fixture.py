#!/usr/bin/env python3
"""Writes Tests/Fixtures/gradkernels/maxpool_nan.json: PyTorch's CPU max pooling on windows holding
several NaNs with distinct payloads and signs, ties and -inf, so the tests can pin which input each
output copies (torch keeps the LAST NaN of a window in scan order, and the first of tied maxima).

Cases are recorded both without gradient (the inference call) and with `return_indices`, in NCHW and
channels-last memory formats; the script checks all four give the same bits before writing. Floats are
stored as float32 bit patterns (uint32); x, y and indices are NHWC ([N, H, W, C]).
Run with the reference venv:  /work/venv/bin/python scripts/make_maxpool_nan_fixture.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "gradkernels", "maxpool_nan.json")


def bits(t):
    return np.ascontiguousarray(t.detach().to(torch.float32).numpy()).view(np.uint32).reshape(-1).tolist()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def nan_with(payload, negative):
    word = (0xFFC00000 if negative else 0x7FC00000) | payload
    return float(np.array([word], dtype=np.uint32).view(np.float32)[0])


def make_input(gen, n, c, h, w):
    x = torch.randint(-2, 3, (n, c, h, w), generator=gen).to(torch.float32)
    flat = x.view(-1)
    # About one value in five is a NaN with its own payload (and sign), so most windows hold several.
    picks = torch.randperm(flat.numel(), generator=gen)[: flat.numel() // 5].tolist()
    for k, i in enumerate(picks):
        flat[i] = nan_with(1 + k, negative=(k % 3 == 1))
    for i in torch.randperm(flat.numel(), generator=gen)[: flat.numel() // 20].tolist():
        flat[i] = float("-inf")
    return x


def cases(gen):
    out = []
    # (N, C, H, W, kernel, stride, padding): C = 11 and 19 cover the 8-lane SIMD path and its scalar tail.
    for n, c, h, w, k, s, p in [(2, 11, 7, 6, 3, 2, 1), (1, 19, 6, 7, 3, 1, 1), (2, 5, 8, 8, 2, 2, 0)]:
        x = make_input(gen, n, c, h, w)
        y_plain = F.max_pool2d(x, k, s, p)
        y_cl = F.max_pool2d(x.contiguous(memory_format=torch.channels_last), k, s, p)
        xg = x.clone().requires_grad_()
        y_grad, idx = F.max_pool2d(xg, k, s, p, return_indices=True)
        for other in (y_cl, y_grad):
            assert bits(other) == bits(y_plain), "torch's max-pool paths disagree on NaN payloads"
        out.append(dict(batch=n, channels=c, height=h, width=w, kernel=k, stride=s, padding=p,
                        x=bits(nhwc(x)), y=bits(nhwc(y_plain)), indices=nhwc(idx).reshape(-1).tolist()))
    return out


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20261203)
    meta = dict(torch=torch.__version__, generator="make_maxpool_nan_fixture.py")
    with open(OUT, "w") as f:
        json.dump(dict(meta=meta, cases=cases(gen)), f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
