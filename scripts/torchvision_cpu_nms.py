"""Makes `import torchvision` work with a CPU-only torch when torchvision's compiled ops cannot load.

The torchvision wheels on PyPI are built against CUDA torch: their `_C.so` needs libcudart and
libtorch_cuda, so with the CPU torch wheel `torchvision.ops.nms` does not exist and `import
torchvision` fails (its fake-tensor registrations name `torchvision::nms`). RetinaNet needs only
`nms`; `install()` defines `torchvision::nms` (and the `qnms` schema that torchvision's import
registers a fake for) with a CPU kernel transcribed from torchvision's
`csrc/ops/cpu/nms_kernel.cpp`: scores sorted descending with a stable sort, then greedy
suppression in float32 with the kernel's exact arithmetic (`inter / (iarea + areas[j] - inter)`,
compared with `> iou_threshold` in double). `check()` verifies it against torchvision's own keep
lists recorded in Tests/Fixtures/retinanet/nms_cases.{json,safetensors}.

Call `install()` before `import torchvision`; it does nothing when the real ops load.
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
_lib = None
installed = False


def _nms_cpu(dets, scores, iou_threshold):
    if dets.numel() == 0:
        return torch.empty(0, dtype=torch.long)
    x1, y1, x2, y2 = (dets[:, i].contiguous() for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    order = torch.sort(scores, stable=True, dim=0, descending=True).indices
    n = dets.shape[0]
    suppressed = torch.zeros(n, dtype=torch.bool)
    keep = []
    zero = torch.zeros((), dtype=dets.dtype)
    for _i in range(n):
        i = int(order[_i])
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[_i + 1:]
        rest = rest[~suppressed[rest]]
        if rest.numel() == 0:
            continue
        xx1 = torch.maximum(x1[i], x1[rest])
        yy1 = torch.maximum(y1[i], y1[rest])
        xx2 = torch.minimum(x2[i], x2[rest])
        yy2 = torch.minimum(y2[i], y2[rest])
        w = torch.maximum(zero, xx2 - xx1)
        h = torch.maximum(zero, yy2 - yy1)
        inter = w * h
        ovr = inter / ((areas[i] + areas[rest]) - inter)
        suppressed[rest[ovr.double() > iou_threshold]] = True
    return torch.tensor(keep, dtype=torch.long)


def install():
    """Defines torchvision::nms on CPU if torchvision's compiled ops are unavailable; returns whether it did."""
    global _lib, installed
    import sys
    try:
        import torchvision  # noqa: F401
        return False  # the real ops loaded
    except RuntimeError as e:
        if "torchvision::nms" not in str(e):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _lib = torch.library.Library("torchvision", "DEF")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.impl("nms", _nms_cpu, "CPU")
    installed = True
    import torchvision.extension
    import torchvision  # noqa: F401,F811  (now imports)
    torchvision.extension._has_ops = lambda: True  # ops.nms asserts this before calling the op
    return True


def check():
    """torchvision.ops.batched_nms with this kernel against torchvision's recorded keep lists."""
    import torchvision
    from safetensors.torch import load_file
    base = os.path.join(ROOT, "Tests", "Fixtures", "retinanet", "nms_cases")
    meta = json.load(open(base + ".json"))
    tensors = load_file(base + ".safetensors")
    cases = [k for k in meta if isinstance(meta[k], dict) and k + ".keep" in [t[:len(k) + 5] for t in tensors]]
    for case in cases:
        keep = torchvision.ops.batched_nms(tensors[case + ".boxes"], tensors[case + ".scores"],
                                           tensors[case + ".labels"], float(meta["iou_threshold"]))
        assert torch.equal(keep, tensors[case + ".keep"]), f"nms case {case} differs from torchvision's"
    return len(cases)
