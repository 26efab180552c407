#!/usr/bin/env python3
"""Writes the reference for the README's main command, `repro detect --json -`:

    Tests/Fixtures/detect/sample-scene.png          the CLI's built-in 640x480 sample, exported by the CLI
    Tests/Fixtures/detect/retinanet_v2_seed3407.json torchvision's detections on it and on one photo

torchvision's model is built exactly as `repro detect` builds its own without --weights:
`torch.manual_seed(3407)` then `retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)`, eval
mode, defaults (score threshold 0.05, 300 detections per image). The input is the decoded RGB image
as float32 / 255, [3, H, W], as Repro converts it.

The sample is exported through the CLI itself: `repro detect --arch mini --max-detections 0 --draw DIR`
draws no box, so DIR/sample-scene.detections.png is the built-in sample pixel for pixel; the script
checks that its RGB SHA-256 equals the `pixel_sha256` that `repro detect --json` reports.

    swift build -c release --product repro
    /work/venv/bin/python scripts/make_detect_reference.py [--repro PATH] [--threads N]

Needs torch, torchvision, numpy, pillow (see docs/testing.md). torchvision's compiled `nms` is replaced
by scripts/torchvision_cpu_nms.py where the installed torchvision's ops cannot load (recorded in the
JSON), after checking it against torchvision's recorded keep lists.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

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

OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "detect")
SEED = 3407
PHOTO = "Tests/Fixtures/images/photo_coffee.jpg"


def rgb_sha256(path):
    return hashlib.sha256(Image.open(path).convert("RGB").tobytes()).hexdigest()


def export_sample(repro, out_dir):
    tmp = tempfile.mkdtemp()
    try:
        js = os.path.join(tmp, "out.json")
        subprocess.check_call([repro, "detect", "--arch", "mini", "--max-detections", "0", "--draw", tmp, "--json", js],
                              stderr=subprocess.DEVNULL)
        record = json.load(open(js))[0]
        png = os.path.join(tmp, "sample-scene.detections.png")
        assert record["detections"] == [] and record["width"] == 640 and record["height"] == 480, record
        assert rgb_sha256(png) == record["pixel_sha256"], "exported PNG is not the built-in sample"
        os.makedirs(out_dir, exist_ok=True)
        dest = os.path.join(out_dir, "sample-scene.png")
        shutil.copyfile(png, dest)
        os.chmod(dest, 0o644)
        return dest, record["pixel_sha256"]
    finally:
        shutil.rmtree(tmp)


def detect(model, path):
    rgb = np.array(Image.open(path).convert("RGB"))
    x = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        out = model([x])[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repro", help="the repro executable (default: the release build's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out-dir", default=OUT_DIR, help="where to write (default: Tests/Fixtures/detect)")
    a = ap.parse_args()
    if NMS_SHIM:
        print(f"torchvision's compiled ops unavailable: nms transcription checked on "
              f"{torchvision_cpu_nms.check()} recorded torchvision cases", file=sys.stderr)
    repro = a.repro or os.path.join(subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"],
                                                            cwd=ROOT, text=True).strip(), "repro")
    sample, sample_sha = export_sample(repro, a.out_dir)
    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    model = torchvision.models.detection.retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)
    model.eval()
    images = {}
    for key, path in [("sample", sample), ("photo", os.path.join(ROOT, PHOTO))]:
        out = detect(model, path)
        img = Image.open(path)
        images[key] = {
            "file": "detect/sample-scene.png" if key == "sample" else os.path.relpath(PHOTO, "Tests/Fixtures"),
            "width": img.width, "height": img.height, "pixel_sha256": rgb_sha256(path),
            "count": int(out["scores"].numel()),
            "boxes": [[float(v) for v in b] for b in out["boxes"].tolist()],
            "scores": [float(v) for v in out["scores"].tolist()],
            "labels": [int(v) for v in out["labels"].tolist()],
        }
        s = out["scores"]
        print(f"{key}: {s.numel()} detections, scores {float(s.max()) if s.numel() else 0:.6f}.."
              f"{float(s.min()) if s.numel() else 0:.6f}", file=sys.stderr)
    assert images["sample"]["pixel_sha256"] == sample_sha
    meta = {
        "generator": "scripts/make_detect_reference.py",
        "model": f"torch.manual_seed({SEED}); torchvision.models.detection.retinanet_resnet50_fpn_v2("
                 "weights=None, weights_backbone=None).eval(); model([rgb float32 / 255])",
        "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
        "pillow": PIL.__version__,
        "python": platform.python_version(), "machine": platform.machine(), "torch_num_threads": a.threads,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "nms": ("scripts/torchvision_cpu_nms.py (torchvision's CPU kernel transcribed; the wheel's compiled ops "
                "need CUDA torch), checked against torchvision's recorded keep lists") if NMS_SHIM
               else "torchvision's compiled kernel",
        "score_thresh": model.score_thresh, "nms_thresh": model.nms_thresh,
        "detections_per_img": model.detections_per_img,
    }
    dest = os.path.join(a.out_dir, f"retinanet_v2_seed{SEED}.json")
    with open(dest, "w") as f:
        json.dump({"meta": meta, "images": images}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {dest} ({os.path.getsize(dest)} bytes) and {sample} ({os.path.getsize(sample)} bytes)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
