#!/usr/bin/env python3
"""Writes Tests/Fixtures/gradkernels/*.json: PyTorch's CPU gradients of convolution, pooling,
normalisation and nearest upsampling on small awkward shapes, for ReproTensor's backward kernels.

Every float is stored as its float32 bit pattern (uint32), so NaN, -inf and ties survive exactly.
Activations are stored NHWC ([N, H, W, C]); weights OIHW; max-pool indices are torch's
(iy * W + ix within the plane), permuted to NHWC. Parameter gradients are torch's batch sums.
Run with the reference venv:  /work/venv/bin/python scripts/make_gradkernel_fixtures.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "gradkernels")


def bits(t):
    return np.ascontiguousarray(t.detach().to(torch.float32).numpy()).view(np.uint32).reshape(-1).tolist()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def rand(gen, *shape, scale=1.0):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * scale


def conv_cases(gen):
    cases = []
    # (N, C, H, W, O, (kh, kw), stride, padding, dilation, groups)
    for n, c, h, w, o, k, s, p, d, g in [
        (2, 4, 7, 6, 6, (3, 3), (2, 2), (1, 1), (1, 1), 2),
        (2, 3, 8, 9, 5, (3, 2), (1, 1), (1, 0), (2, 1), 1),
        (3, 6, 5, 5, 4, (1, 1), (1, 1), (0, 0), (1, 1), 1),
        (1, 8, 9, 7, 8, (3, 3), (1, 2), (2, 1), (1, 1), 8),
        (2, 3, 11, 10, 4, (7, 7), (2, 2), (3, 3), (1, 1), 1),
    ]:
        x = rand(gen, n, c, h, w).requires_grad_()
        wt = rand(gen, o, c // g, *k, scale=0.5).requires_grad_()
        b = rand(gen, o).requires_grad_()
        y = F.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=g)
        dy = rand(gen, *y.shape)
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, outChannels=o, kernel=list(k), stride=list(s),
                          padding=list(p), dilation=list(d), groups=g, x=bits(nhwc(x)), weight=bits(wt),
                          dy=bits(nhwc(dy)), dx=bits(nhwc(x.grad)), dw=bits(wt.grad), db=bits(b.grad)))
    return cases


def pool_input(gen, n, c, h, w, specials):
    # Small integers make ties; specials put NaN / -inf at fixed places.
    x = torch.randint(-3, 4, (n, c, h, w), generator=gen).to(torch.float32)
    if specials:
        flat = x.view(-1)
        flat[5] = float("nan"); flat[6] = float("nan"); flat[17] = float("-inf"); flat[40] = float("nan")
        x[0, 1, :3, :3] = float("-inf")
    return x


def max_pool_cases(gen):
    cases = []
    for n, c, h, w, k, s, p, d, ceil in [
        (2, 3, 9, 8, (3, 3), (2, 2), (1, 1), (1, 1), False),
        (1, 4, 7, 7, (2, 3), (1, 2), (1, 1), (2, 1), True),
        (2, 2, 6, 9, (3, 3), (2, 2), (0, 1), (1, 1), True),
        (1, 17, 5, 6, (2, 2), (2, 2), (0, 0), (1, 1), False),
    ]:
        x = pool_input(gen, n, c, h, w, specials=True).requires_grad_()
        y, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        dy = torch.randint(-4, 5, y.shape, generator=gen).to(torch.float32) / 4
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, kernel=list(k), stride=list(s), padding=list(p),
                          dilation=list(d), ceilMode=ceil, x=bits(nhwc(x)), y=bits(nhwc(y)),
                          indices=nhwc(idx).reshape(-1).tolist(), dy=bits(nhwc(dy)), dx=bits(nhwc(x.grad))))
    return cases


def avg_pool_cases(gen):
    cases = []
    for n, c, h, w, k, s, p, ceil, include, div in [
        (2, 3, 9, 8, (3, 3), (2, 2), (1, 1), False, True, None),
        (2, 3, 9, 8, (3, 3), (2, 2), (1, 1), True, False, None),
        (1, 5, 7, 6, (2, 3), (2, 1), (1, 1), True, True, None),
        (1, 4, 6, 6, (3, 2), (1, 2), (0, 1), False, True, 5),
    ]:
        x = rand(gen, n, c, h, w).requires_grad_()
        y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include, divisor_override=div)
        dy = rand(gen, *y.shape)
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, kernel=list(k), stride=list(s), padding=list(p),
                          ceilMode=ceil, countIncludePad=include, divisorOverride=div, x=bits(nhwc(x)),
                          y=bits(nhwc(y)), dy=bits(nhwc(dy)), dx=bits(nhwc(x.grad))))
    return cases


def adaptive_cases(gen):
    cases = []
    for n, c, h, w, oh, ow in [(2, 3, 7, 5, 3, 2), (1, 4, 10, 9, 4, 4), (2, 2, 5, 5, 1, 1), (1, 3, 3, 4, 5, 7)]:
        x = rand(gen, n, c, h, w).requires_grad_()
        y = F.adaptive_avg_pool2d(x, (oh, ow))
        dy = rand(gen, *y.shape)
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, outHeight=oh, outWidth=ow, x=bits(nhwc(x)),
                          y=bits(nhwc(y)), dy=bits(nhwc(dy)), dx=bits(nhwc(x.grad))))
    return cases


def nearest_cases(gen):
    cases = []
    for n, c, h, w, oh, ow in [(2, 3, 5, 3, 8, 7), (1, 4, 4, 4, 8, 8), (1, 2, 7, 5, 3, 2), (1, 2, 13, 17, 25, 34)]:
        x = rand(gen, n, c, h, w).requires_grad_()
        y = F.interpolate(x, size=(oh, ow), mode="nearest")
        dy = rand(gen, *y.shape)
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, outHeight=oh, outWidth=ow, x=bits(nhwc(x)),
                          y=bits(nhwc(y)), dy=bits(nhwc(dy)), dx=bits(nhwc(x.grad))))
    return cases


def batch_norm_cases(gen):
    cases = []
    for n, c, h, w, momentum, tracked in [(4, 3, 5, 6, 0.1, 0), (2, 5, 3, 3, None, 2), (3, 4, 1, 1, 0.3, 7)]:
        bn = torch.nn.BatchNorm2d(c, momentum=momentum)
        with torch.no_grad():
            bn.weight.copy_(rand(gen, c) + 1.5); bn.bias.copy_(rand(gen, c))
            bn.running_mean.copy_(rand(gen, c)); bn.running_var.copy_(rand(gen, c) * 0.5 + 1)
            bn.num_batches_tracked.fill_(tracked)
        rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
        x = (rand(gen, n, c, h, w) * 3 + 0.5).requires_grad_()
        bn.train()
        y = bn(x)
        dy = rand(gen, *y.shape)
        y.backward(dy)
        case = dict(batch=n, channels=c, height=h, width=w, momentum=momentum, batchesTracked=tracked,
                    eps=bn.eps, weight=bits(bn.weight), bias=bits(bn.bias), runningMean=bits(rm0),
                    runningVariance=bits(rv0), x=bits(nhwc(x)), dy=bits(nhwc(dy)), y=bits(nhwc(y)),
                    dx=bits(nhwc(x.grad)), dweight=bits(bn.weight.grad), dbias=bits(bn.bias.grad),
                    newRunningMean=bits(bn.running_mean), newRunningVariance=bits(bn.running_var),
                    newBatchesTracked=int(bn.num_batches_tracked))
        # Eval mode: the running statistics after the update.
        bn.eval(); bn.zero_grad()
        x2 = x.detach().clone().requires_grad_()
        y2 = bn(x2)
        y2.backward(dy)
        case.update(evalDx=bits(nhwc(x2.grad)), evalDweight=bits(bn.weight.grad), evalDbias=bits(bn.bias.grad))
        # torchvision's FrozenBatchNorm2d: x * scale + shift, scale = w * (rv + eps).rsqrt().
        x3 = x.detach().clone().requires_grad_()
        scale = bn.weight.detach() * (bn.running_var + bn.eps).rsqrt()
        shift = bn.bias.detach() - bn.running_mean * scale
        (x3 * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)).backward(dy)
        case.update(frozenDx=bits(nhwc(x3.grad)))
        cases.append(case)
    return cases


def group_norm_cases(gen):
    cases = []
    for n, c, h, w, g in [(2, 6, 5, 4, 3), (3, 8, 3, 3, 8), (1, 4, 7, 6, 1), (2, 32, 4, 5, 8)]:
        x = (rand(gen, n, c, h, w) * 2 + 0.3).requires_grad_()
        wt = (rand(gen, c) + 1.5).requires_grad_()
        b = rand(gen, c).requires_grad_()
        y, mean, rstd = torch.ops.aten.native_group_norm(x, wt, b, n, c, h * w, g, 1e-5)
        dy = rand(gen, *y.shape)
        y.backward(dy)
        cases.append(dict(batch=n, channels=c, height=h, width=w, groups=g, eps=1e-5, weight=bits(wt), bias=bits(b),
                          x=bits(nhwc(x)), dy=bits(nhwc(dy)), y=bits(nhwc(y)), mean=bits(mean), rstd=bits(rstd),
                          dx=bits(nhwc(x.grad)), dweight=bits(wt.grad), dbias=bits(b.grad)))
    return cases


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20260101)
    os.makedirs(OUT, exist_ok=True)
    meta = dict(torch=torch.__version__, generator="make_gradkernel_fixtures.py")
    for name, make in [("conv2d", conv_cases), ("maxpool2d", max_pool_cases), ("avgpool2d", avg_pool_cases),
                       ("adaptiveavgpool2d", adaptive_cases), ("nearest", nearest_cases),
                       ("batchnorm2d", batch_norm_cases), ("groupnorm", group_norm_cases)]:
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(dict(meta=meta, cases=make(gen)), f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
