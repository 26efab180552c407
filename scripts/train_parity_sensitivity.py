#!/usr/bin/env python3
"""Why ResNet-18's third SGD step in ResNet18TrainingParityTests parts from PyTorch (issue 14).

Same setup as scripts/make_train_parity_fixtures.py (torchvision resnet18(num_classes=10) after
manual_seed(0), batch randn(4,3,64,64) after manual_seed(1), targets [3,7,0,7], train-mode batch
norm, SGD(lr=0.01, momentum=0.9, weight_decay=1e-4), three steps on the same batch), in torch only:

1. A threshold, not a slope: noise added to step 1's conv1.weight gradient (one output channel,
   scale * the tensor's largest gradient) leaves the step-3 loss within ~1e-5 up to scale 1e-5,
   then moves it by ~3e-3 from scale 3e-5 on. The step-2 loss moves by < 1e-6 throughout.
2. The switch: in torch's own run, the second ReLU of layer4.0 (after the residual add) sees
   +1.08e-5 at sample 0, channel 93, position (0, 1) in step 2's forward. Forcing that one
   activation to 0 (a float-rounding-sized change that closes the gate: its gradient no longer
   flows) gives step-3 loss 0.082249 instead of 0.082474 -- where Repro lands (0.082247).

So the third step's loss is not a continuous function of the rounding at this point: any
implementation whose activations differ from torch's by ~1e-5 (a different summation order is
enough) may fall on the other side of that gate. Run:

    /work/venv/bin/python scripts/train_parity_sensitivity.py
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import torchvision_cpu_nms  # noqa: E402

torchvision_cpu_nms.install()  # must precede the torchvision import
import torchvision  # noqa: E402

torch.set_num_threads(1)


def run(noise=0.0, force=None, channel=21, seed=5):
    """Three SGD steps; `noise` perturbs step 1's conv1.weight gradient in one channel; `force`
    = (module, call, index, value) overwrites one ReLU output in step 2's forward."""
    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=10)
    m.train()
    torch.manual_seed(1)
    x = torch.randn(4, 3, 64, 64)
    t = torch.tensor([3, 7, 0, 7])
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    state = {"step": 0, "calls": {}}

    def hook(name):
        def h(module, inputs, out):
            key = (state["step"], name)
            call = state["calls"][key] = state["calls"].get(key, -1) + 1
            if force and state["step"] == 1 and force[:2] == (name, call):
                out = out.clone()
                out[force[2]] = force[3]
                return out
        return h

    for name, module in m.named_modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
            module.register_forward_hook(hook(name))
    losses = []
    for step in range(3):
        state["step"] = step
        opt.zero_grad()
        loss = F.cross_entropy(m(x), t)
        loss.backward()
        losses.append(loss.item())
        if step == 0 and noise:
            grad = m.conv1.weight.grad
            grad[channel].add_(torch.randn(grad[channel].shape, generator=g) * noise * grad.abs().max())
        opt.step()
    return losses


def main():
    base = run()
    print("torch losses", base)
    for noise in (1e-6, 1e-5, 3e-5, 1e-4):
        losses = run(noise=noise)
        print(f"conv1 gradient noise {noise:g}: step-2 loss {losses[1]:.9g}, step-3 loss {losses[2]:.9g}"
              f" ({(losses[2] - base[2]) / base[2]:+.2e} relative)")
    gate = ("layer4.0.relu", 1, (0, 93, 0, 1), 0.0)
    losses = run(force=gate)
    print(f"step 2, layer4.0 second ReLU output [0, 93, 0, 1] forced to 0: losses {losses}"
          f" ({(losses[2] - base[2]) / base[2]:+.2e} relative at step 3)")


if __name__ == "__main__":
    main()
