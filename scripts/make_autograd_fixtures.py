#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/autograd/{ops,small_resnet}.safetensors with PyTorch's autograd.

ops.safetensors: for each case `<case>.x` (inputs, NCHW where 4-d), parameters `<case>.<name>`,
the upstream weights `<case>.w` (loss = sum(w * y)), and torch's gradients `<case>.grad.<name>`.
Activations are stored NCHW as torch computes them; the Swift tests convert to NHWC.

small_resnet.safetensors: a torchvision-BasicBlock ResNet (stem 8, planes 8/16/16/16, one block per
stage, 10 classes) with randomised weights and norm statistics (`model.<key>`), a batch of 4
64x64 images (`input`, NCHW), class targets (`target`, int64), the mean cross-entropy
(`loss`), every parameter's gradient (`grad.<key>`) and the running statistics after the
training-mode forward (`after.<key>`).

Run: /work/venv/bin/python scripts/make_autograd_fixtures.py
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "autograd")
torch.manual_seed(1234)
torch.set_num_threads(1)


def case(store, name, fn, inputs, params):
    """Runs fn(*inputs, **params), loss = sum(w * y), stores inputs, params, w and gradients."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in {**inputs, **params}.items()}
    y = fn(**leaves)
    w = torch.randn(y.shape)
    (y * w).sum().backward()
    store[f"{name}.w"] = w
    for k, v in leaves.items():
        store[f"{name}.{k}"] = v.detach().clone()
        store[f"{name}.grad.{k}"] = v.grad.clone()


def ops():
    s = {}
    r = torch.randn
    case(s, "linear", lambda x, weight, bias: F.linear(x, weight, bias),
         {"x": r(3, 5)}, {"weight": r(4, 5), "bias": r(4)})
    case(s, "conv", lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1),
         {"x": r(2, 3, 7, 6)}, {"weight": r(4, 3, 3, 3), "bias": r(4)})
    case(s, "convdil", lambda x, weight: F.conv2d(x, weight, None, stride=1, padding=2, dilation=2, groups=2),
         {"x": r(2, 4, 6, 5)}, {"weight": r(6, 2, 3, 2)})
    # Integer values give ties: torch's CPU kernel sends the gradient to the first maximum.
    case(s, "maxpool", lambda x: F.max_pool2d(x, 3, 2, 1),
         {"x": torch.randint(-2, 3, (2, 3, 7, 6)).float()}, {})
    case(s, "avgpool", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), {"x": r(2, 3, 7, 5)}, {})
    case(s, "upsample", lambda x: F.interpolate(x, size=(6, 8), mode="nearest"), {"x": r(2, 3, 3, 4)}, {})
    case(s, "bntrain", lambda x, weight, bias: F.batch_norm(x, torch.zeros(3), torch.ones(3), weight, bias, training=True, eps=1e-5),
         {"x": r(4, 3, 5, 4) * 2 + 1}, {"weight": r(3), "bias": r(3)})
    case(s, "bneval", lambda x, weight, bias: F.batch_norm(x, torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 2.0]),
                                                          weight, bias, training=False, eps=1e-5),
         {"x": r(2, 3, 4, 4)}, {"weight": r(3), "bias": r(3)})
    case(s, "groupnorm", lambda x, weight, bias: F.group_norm(x, 2, weight, bias, eps=1e-5),
         {"x": r(2, 4, 5, 3) * 3}, {"weight": r(4), "bias": r(4)})
    case(s, "logsoftmax", lambda x: F.log_softmax(x, dim=-1), {"x": r(3, 7) * 3}, {})
    case(s, "softmax", lambda x: F.softmax(x, dim=-1), {"x": r(3, 7) * 3}, {})
    case(s, "sigmoid", lambda x: torch.sigmoid(x), {"x": r(3, 6) * 4}, {})
    case(s, "exp", lambda x: torch.exp(x), {"x": r(3, 6)}, {})
    case(s, "log", lambda x: torch.log(x), {"x": torch.rand(3, 6) + 0.1}, {})
    case(s, "relu", lambda x: torch.relu(x), {"x": r(3, 6)}, {})
    return s


def small_resnet():
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    import torchvision_cpu_nms
    torchvision_cpu_nms.install()  # torchvision's compiled ops may not load; install() must precede the import
    from torchvision.models.resnet import BasicBlock

    class SmallResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            inplanes = 8
            for i, (planes, stride) in enumerate([(8, 1), (16, 2), (16, 2), (16, 2)]):
                ds = None
                if stride != 1 or inplanes != planes:
                    ds = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inplanes, planes, stride, ds)))
                inplanes = planes
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    m = SmallResNet()
    with torch.no_grad():
        for name, mod in m.named_modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(1 + 0.2 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.1 * torch.randn_like(mod.bias))
                mod.running_mean.copy_(0.1 * torch.randn_like(mod.running_mean))
                mod.running_var.copy_(1 + 0.2 * torch.rand_like(mod.running_var))
    store = {f"model.{k}": v.detach().clone() for k, v in m.state_dict().items()}
    x = torch.randn(4, 3, 64, 64)
    target = torch.tensor([1, 7, 3, 3])
    m.train()
    loss = F.cross_entropy(m(x), target)
    loss.backward()
    store["input"] = x
    store["target"] = target
    store["loss"] = loss.detach().reshape(1)
    for k, p in m.named_parameters():
        store[f"grad.{k}"] = p.grad.clone()
    for k, v in m.state_dict().items():
        if "running" in k or "num_batches" in k:
            store[f"after.{k}"] = v.detach().clone()
    return store


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous() for k, v in ops().items()}, os.path.join(OUT, "ops.safetensors"))
    save_file({k: v.contiguous() for k, v in small_resnet().items()}, os.path.join(OUT, "small_resnet.safetensors"))
    print("wrote", OUT)
