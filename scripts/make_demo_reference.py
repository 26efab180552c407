#!/usr/bin/env python3
"""Writes Tests/Fixtures/demo/demo_reference.json, the PyTorch side of `repro demo`:

1. torchvision's **detection digest** for seed 3407 on the built-in sample scene, which `repro demo` pins
   and compares with its own ("matches torchvision: yes/no");
2. PyTorch's **measured behaviour across threads and batches** (1 vs 2 threads, batch 1 vs 3), shown by
   `repro demo` beside Repro's identical bytes and recorded in docs/retinanet.md.

The model is built as `repro detect` builds its own without --weights: `torch.manual_seed(3407)` then
`retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)`, eval mode, defaults (score threshold
0.05, 300 detections). Input: the decoded RGB image as float32 / 255, [3, H, W].

The digest. Two libraries that sum in different orders never agree to the last bit (Repro vs PyTorch on
this image: scores within a few float32 ulps, boxes within ~6e-4 px; docs/retinanet.md), so the digest
is taken over a representation both produce identically: one line per detection,
`label score x1 y1 x2 y2` with the score rounded to 2 decimals and the box corners to whole pixels
(`%d %.2f %.0f %.0f %.0f %.0f`, round half to even on the float32 value widened to double), the lines
sorted as byte strings and joined with "\\n" (a trailing "\\n" after each), SHA-256 of that UTF-8 text.
Sorting the text makes near-ties in rank irrelevant. Rounding can still split two nearly equal values
that straddle a boundary, so the script also runs Repro (`repro detect --json`, the same model and
image), checks that its digest is the same, and records the largest Repro-vs-PyTorch difference and
the smallest distance of any value to a rounding boundary: the digest is robust while the first stays
below the second. `Sources/repro/DemoDigest.swift` computes the same text in Swift.

The batch of three: the sample (640x480), the sample mirrored left-right, and a 360x480 portrait
crop of it (columns 160..<520). torchvision pads a batch to its largest height and width (rounded up to
32), so in a batch the landscape and portrait images are padded to 1088x1088 and the v2 head's
GroupNorm statistics and the P6/P7 anchor strides change; Repro gives every image its own canvas.
`repro demo` builds the same three images (`DemoImages` in Sources/repro/DemoCommand.swift).

    swift build -c release --product repro
    /work/venv/bin/python scripts/make_demo_reference.py [--repro PATH]

Needs torch, torchvision, numpy, pillow. torchvision's compiled `nms` is replaced by
scripts/torchvision_cpu_nms.py where the installed torchvision's ops cannot load (recorded).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, HERE)
import torchvision_cpu_nms  # noqa: E402

NMS_SHIM = torchvision_cpu_nms.install()
import torchvision  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

SEED = 3407
SAMPLE = os.path.join(ROOT, "Tests", "Fixtures", "detect", "sample-scene.png")
DETECT_REFERENCE = os.path.join(ROOT, "Tests", "Fixtures", "detect", "retinanet_v2_seed3407.json")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "demo", "demo_reference.json")
SCORE_DECIMALS, BOX_DECIMALS = 2, 0


def digest_lines(labels, scores, boxes):
    """The canonical text (see the module docstring) of one image's detections."""
    lines = []
    for label, score, box in zip(labels, scores, boxes):
        # float32 values widened to double; Python's % formatting rounds half to even on the exact binary value,
        # as Swift's String(format:) (C's printf) does.
        lines.append("%d %.2f %.0f %.0f %.0f %.0f" % (label, score, *box))
    return sorted(lines, key=lambda s: s.encode())


def digest(labels, scores, boxes):
    return hashlib.sha256("".join(l + "\n" for l in digest_lines(labels, scores, boxes)).encode()).hexdigest()


def boundary_margin(v, decimals):
    q = 10.0 ** -decimals
    x = v / q
    return abs(x - math.floor(x) - 0.5) * q


def demo_images():
    rgb = np.array(Image.open(SAMPLE).convert("RGB"))
    assert rgb.shape == (480, 640, 3), rgb.shape
    return {"sample": rgb, "mirrored": np.ascontiguousarray(rgb[:, ::-1]), "portrait": np.ascontiguousarray(rgb[:, 160:520])}


def to_tensor(rgb):
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255


def run(model, images, threads):
    torch.set_num_threads(threads)
    with torch.no_grad():
        return model([to_tensor(x) for x in images])


def as_lists(out):
    return ([int(v) for v in out["labels"].tolist()], [float(v) for v in out["scores"].tolist()],
            [[float(v) for v in b] for b in out["boxes"].tolist()])


def compare(a, b):
    """How two outputs of the same image differ: bitwise equality, counts, largest differences."""
    same_bits = (a["scores"].shape == b["scores"].shape and torch.equal(a["scores"], b["scores"])
                 and torch.equal(a["boxes"], b["boxes"]) and torch.equal(a["labels"], b["labels"]))
    r = {"identical_bits": bool(same_bits), "count_a": int(a["scores"].numel()), "count_b": int(b["scores"].numel()),
         "digest_equal": digest(*as_lists(a)) == digest(*as_lists(b))}
    # Largest differences over detections matched by label and nearest box (as in DetectionReference).
    la, sa, ba = as_lists(a)
    lb, sb, bb = as_lists(b)
    used = set()
    max_score, max_box = 0.0, 0.0
    for l, s, box in zip(la, sa, ba):
        cands = [j for j in range(len(lb)) if j not in used and lb[j] == l]
        if not cands:
            continue
        j = min(cands, key=lambda j: sum(abs(p - q) for p, q in zip(bb[j], box)) + abs(sb[j] - s) * 1e4)
        used.add(j)
        max_score = max(max_score, abs(sb[j] - s))
        max_box = max(max_box, max(abs(p - q) for p, q in zip(bb[j], box)))
    r["max_abs_score_diff"], r["max_abs_box_diff_px"] = max_score, max_box
    return r


def repro_sample_detections(repro):
    out = subprocess.check_output([repro, "detect", "--json", "--seed", str(SEED)], stderr=subprocess.DEVNULL, text=True)
    record = [json.loads(l) for l in out.splitlines()][-1]
    dets = record["detections"]
    return ([d["label"] for d in dets], [d["score"] for d in dets], [d["box"] for d in dets], record["rgb_sha256"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", help="the repro executable (default: the release build's)")
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    if NMS_SHIM:
        print(f"torchvision's compiled ops unavailable: nms transcription checked on "
              f"{torchvision_cpu_nms.check()} recorded torchvision cases", file=sys.stderr)
    repro = a.repro or os.path.join(subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"],
                                                            cwd=ROOT, text=True).strip(), "repro")
    images = demo_images()
    sample_sha = hashlib.sha256(images["sample"].tobytes()).hexdigest()
    assert sample_sha == json.load(open(DETECT_REFERENCE))["images"]["sample"]["pixel_sha256"], \
        "detect/sample-scene.png is not the CLI's sample: rerun scripts/make_detect_reference.py"

    torch.manual_seed(SEED)
    model = torchvision.models.detection.retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None).eval()
    names = ["sample", "mirrored", "portrait"]

    # 1. The pinned digest (1 thread, batch of one).
    solo1 = {n: run(model, [images[n]], 1)[0] for n in names}
    torch_lists = as_lists(solo1["sample"])
    torch_digest = digest(*torch_lists)

    # Repro's side: same digest, and the margin that makes it robust.
    r_labels, r_scores, r_boxes, r_sha = repro_sample_detections(repro)
    assert r_sha == sample_sha, "repro's built-in sample differs from detect/sample-scene.png"
    repro_digest = digest(r_labels, r_scores, r_boxes)
    r_out = {"labels": torch.tensor(r_labels), "scores": torch.tensor(r_scores, dtype=torch.float32),
             "boxes": torch.tensor(r_boxes, dtype=torch.float32).reshape(-1, 4)}
    vs_repro = compare(solo1["sample"], r_out)
    margin_score = min(boundary_margin(s, SCORE_DECIMALS) for s in torch_lists[1])
    margin_box = min(boundary_margin(v, BOX_DECIMALS) for b in torch_lists[2] for v in b)
    print(f"torchvision digest {torch_digest} ({len(torch_lists[0])} detections); repro {repro_digest}", file=sys.stderr)
    print(f"repro vs torch: score {vs_repro['max_abs_score_diff']:.3g}, box {vs_repro['max_abs_box_diff_px']:.3g} px; "
          f"margins to a rounding boundary: score {margin_score:.3g}, box {margin_box:.3g} px", file=sys.stderr)
    assert repro_digest == torch_digest, "Repro's digest differs from torchvision's: see the differences above"

    # 2. PyTorch's thread and batch behaviour.
    solo2 = {n: run(model, [images[n]], 2)[0] for n in names}
    threads = compare(solo1["sample"], solo2["sample"])
    batch = run(model, [images[n] for n in names], 2)
    batch_cmp = {n: compare(solo2[n], batch[i]) for i, n in enumerate(names)}
    for n in names:
        print(f"batch 1 vs 3 {n}: {batch_cmp[n]}", file=sys.stderr)
    print(f"threads 1 vs 2 sample: {threads}", file=sys.stderr)

    labels_count = {}
    for l in torch_lists[0]:
        labels_count[str(l)] = labels_count.get(str(l), 0) + 1
    doc = {
        "meta": {
            "generator": "scripts/make_demo_reference.py",
            "model": f"torch.manual_seed({SEED}); torchvision.models.detection.retinanet_resnet50_fpn_v2("
                     "weights=None, weights_backbone=None).eval(); model([rgb float32 / 255, ...])",
            "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
            "pillow": PIL.__version__, "python": platform.python_version(), "machine": platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "nms": "scripts/torchvision_cpu_nms.py" if NMS_SHIM else "torchvision's compiled kernel",
            "digest_representation": "one line per detection '%d %.2f %.0f %.0f %.0f %.0f' (label, score, x1, y1, "
                                     "x2, y2), lines sorted bytewise, each followed by \\n; SHA-256 of the UTF-8 text",
            "batch_images": "sample 640x480; sample mirrored left-right; portrait crop columns 160..<520 (360x480)",
        },
        "seed": SEED,
        "sample_rgb_sha256": sample_sha,
        "torchvision": {"digest": torch_digest, "count": len(torch_lists[0]), "labels": labels_count},
        "repro_check": {"digest": repro_digest, "max_abs_score_diff": vs_repro["max_abs_score_diff"],
                        "max_abs_box_diff_px": vs_repro["max_abs_box_diff_px"],
                        "min_score_margin": margin_score, "min_box_margin_px": margin_box},
        "pytorch_threads_1_vs_2": threads,
        "pytorch_batch_1_vs_3": batch_cmp,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
