#!/usr/bin/env python3
"""Records an activation trace of torchvision's RetinaNet in Repro's trace format, so that
`repro check diff` can compare a PyTorch run with a Repro run module by module.

    /work/venv/bin/python scripts/torchvision_trace.py IMAGE... --out tv.trace.json [--tensors]
        [--arch v2|v1] [--seed 3407] [--weights FILE] [--threads N] [--digest sha256|repro-nh-v1]
    repro detect IMAGE... --trace repro.trace.json --trace-tensors
    repro check diff repro.trace.json tv.trace.json --tolerance 1e-4,1e-3

The model is built as `repro detect` builds its own: `torch.manual_seed(seed)` then
`retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)` (v1: `retinanet_resnet50_fpn`), eval
mode; `--weights` loads a state dict (strict). Each image is decoded with Pillow (`convert("RGB")`),
scaled to float32 / 255 and passed alone (`model([x])`), as Repro does.

What is recorded, to match Repro's traces (docs/diagnosing.md, "Traces and `repro check`"):
- a forward hook on every named module whose output is a tensor, in execution order, under its
  dotted name (the state-dict prefix); containers returning dicts or lists are skipped;
- feature maps `[N, C, H, W]` are permuted to channels-last `[N, H, W, C]` before hashing and saving
  (Repro computes channels-last); `sha256` is SHA-256 of the contiguous little-endian bytes, or with
  `--digest repro-nh-v1` Repro's fast digest of them (scripts/repro_nh.py; `repro detect --trace-digest`);
- ResNet's shared `relu` modules: Repro fuses conv + norm + ReLU and reports the result under the
  norm's name, so the k-th call of a block's `relu` (k < number of convolutions; k = 1 for the stem)
  replaces the entry of `bn<k>`; its last call is the block output, which the block's own hook records;
- the model fingerprint and weights digest are computed from `state_dict()` exactly as Repro's
  `ModuleFingerprint` does, and the input digest is SHA-256 of the RGB bytes.
Entries that only one side has (torchvision's separate conv1 before a fused bn1, a head's
concatenated output) are listed by `repro check diff` as "only in A/B" and not compared.

`--tensors` writes the outputs to a safetensors file beside the trace (keys "<image>/<entry>"),
which `--tolerance` needs. Needs torch, torchvision, numpy, pillow, safetensors; never run by tests.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import repro_nh  # noqa: E402
import torchvision_cpu_nms  # noqa: E402

torchvision_cpu_nms.install()
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402


def fingerprint(state_dict):
    arch, weights = hashlib.sha256(), hashlib.sha256()
    for key, value in state_dict.items():
        dtype = str(value.dtype).replace("torch.", "")
        arch.update(f"{key}\t{dtype}\t{','.join(str(d) for d in value.shape)}\n".encode())
        weights.update(key.encode() + b"\0")
        weights.update(value.detach().contiguous().numpy().tobytes())
    return arch.hexdigest(), weights.hexdigest()


def describe(module):
    if isinstance(module, torch.nn.Conv2d):
        kh, kw = module.kernel_size
        s = "" if module.stride == (1, 1) else f"/{module.stride[0]}"
        return f"Conv2d {kh}x{kw}{s} {module.in_channels}->{module.out_channels}, torch {torch.__version__}"
    return type(module).__name__


class Recorder:
    def __init__(self, model, keep, digest="sha256"):
        self.keep = keep
        self.digest = (lambda b: hashlib.sha256(b).hexdigest()) if digest == "sha256" else repro_nh.digest
        self.entries, self.tensors, self.relu_calls = [], [], {}
        self.block_convs = {}
        for name, m in model.named_modules():
            if isinstance(m, (torchvision.models.resnet.Bottleneck, torchvision.models.resnet.BasicBlock)):
                self.block_convs[name] = sum(1 for c, _ in m.named_children() if c.startswith("conv"))
            elif isinstance(m, (torchvision.models.resnet.ResNet, torchvision.models._utils.IntermediateLayerGetter)):
                self.block_convs[name] = 2  # the stem: relu's only call follows bn1
            if name:
                m.register_forward_hook(self.hook(name, m))

    def start(self):
        self.entries, self.tensors, self.relu_calls = [], [], {}

    @staticmethod
    def canonical(t):
        t = t.detach()
        return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t.contiguous()

    def add(self, name, op, t, replace=None):
        c = self.canonical(t)
        entry = {"name": name, "op": op, "shape": list(c.shape), "dtype": str(c.dtype).replace("torch.", ""),
                 "sha256": self.digest(c.numpy().tobytes())}
        if replace is None:
            self.entries.append(entry)
            if self.keep:
                self.tensors.append(c.clone())
        else:
            entry["name"] = self.entries[replace]["name"]
            entry["op"] = self.entries[replace]["op"] + " + ReLU"
            self.entries[replace] = entry
            if self.keep:
                self.tensors[replace] = c.clone()

    def hook(self, name, module):
        parent, _, leaf = name.rpartition(".")

        def fn(_module, _inputs, output):
            if not isinstance(output, torch.Tensor):
                return
            if leaf == "relu" and parent in self.block_convs:
                k = self.relu_calls.get(name, 0) + 1
                self.relu_calls[name] = k
                if k >= self.block_convs[parent]:
                    return  # the block's output: its own hook records it
                target = (parent + "." if parent else "") + f"bn{k}"
                idx = max(i for i, e in enumerate(self.entries) if e["name"] == target)
                self.add(name, "", output, replace=idx)
                return
            self.add(name, describe(module), output)
        return fn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--out", required=True, help="the trace JSON to write")
    ap.add_argument("--tensors", action="store_true", help="also write the outputs to OUT's .safetensors")
    ap.add_argument("--arch", choices=["v2", "v1"], default="v2")
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--weights")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--digest", choices=["sha256", repro_nh.NAME], default="sha256",
                    help="the module digest (repro-nh-v1: Repro's fast digest, for traces made with --trace-digest)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    build = torchvision.models.detection.retinanet_resnet50_fpn_v2 if a.arch == "v2" \
        else torchvision.models.detection.retinanet_resnet50_fpn
    model = build(weights=None, weights_backbone=None)
    if a.weights:
        model.load_state_dict(torch.load(a.weights, map_location="cpu", weights_only=True), strict=True)
    model.eval()
    arch_fp, weights_fp = fingerprint(model.state_dict())
    rec = Recorder(model, a.tensors, a.digest)
    images, saved = [], {}
    for i, path in enumerate(a.images):
        rgb = Image.open(path).convert("RGB")
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float() / 255
        rec.start()
        with torch.no_grad():
            model([x])
        images.append({"file": path, "input_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(), "modules": rec.entries})
        for k, t in enumerate(rec.tensors):
            saved[f"{i}/{k}"] = t
    tensors_file = None
    if a.tensors:
        from safetensors.torch import save_file
        base = a.out[:-5] if a.out.endswith(".json") else a.out
        save_file(saved, base + ".safetensors")
        tensors_file = os.path.basename(base + ".safetensors")
    doc = {"format": "repro-trace", "version": 1, "producer": f"torchvision {torchvision.__version__} "
           f"(torch {torch.__version__}, scripts/torchvision_trace.py)", "layout": "channels-last", "digest": a.digest,
           "model": {"arch": a.arch, "fingerprint": arch_fp, "weights_sha256": weights_fp},
           "tensors": tensors_file, "images": images}
    with open(a.out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {sum(len(im['modules']) for im in images)} module outputs", file=sys.stderr)


if __name__ == "__main__":
    main()
