#!/usr/bin/env python3
"""Writes Tests/Fixtures/retinanet/{mini,mini_v1}/values.safetensors: torchvision's intermediate
tensors of the mini RetinaNet fixtures, subsampled at fixed indices, for a value-by-value parity test
(Tests/ReproVisionTests/RetinaNetLocalParity.swift) that needs no folder outside the repository.

The full reference tensors (~13 MB per image, made by torchvision 0.29.2 / torch 2.15.0 with the
weights that `RetinaNet(configuration: .mini/.miniV1, seed: 0)` plus the fixture recipe rebuild in
Swift) live outside the repository; this script reads them from --source (default: the shared
fixtures folder next to the checkout) and keeps, for every stage of every image,

    {image}/{stage}/shape    int64 [rank]   the stage's shape
    {image}/{stage}/index    int64 [K]      flat row-major indices, sorted, distinct
    {image}/{stage}/values   float32 [K]    the reference values at those indices

with K = min(1024, element count) drawn by numpy.random.default_rng(SEED) without replacement,
plus the first and last element (a layout error moves values around; statistics would not see it).
Detections are compared against the committed {image}.detections.json, which this script checks
to equal the reference tensors' det.* exactly.

    /work/venv/bin/python scripts/make_retinanet_value_samples.py [--source DIR]
"""
import argparse
import hashlib
import json
import os
import platform

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
DEFAULT_SOURCE = os.path.join(ROOT, "..", "shared", "fixtures", "retinanet")
VARIANTS = ["mini", "mini_v1"]
IMAGES = ["img0_coffee_154x231", "img1_synthetic_300x120"]
STAGES = ["resized", "batched", "stem", "body.C3", "body.C4", "body.C5",
          "fpn.P3", "fpn.P4", "fpn.P5", "fpn.P6", "fpn.P7", "head.cls_logits", "head.bbox_regression"]
K = 1024
SEED = 20261203


def sample_indices(count, stage_number):
    rng = np.random.default_rng([SEED, stage_number, count])
    k = min(K, count)
    chosen = set(rng.choice(count, size=k, replace=False).tolist()) if k < count else set(range(count))
    chosen |= {0, count - 1}
    return np.array(sorted(chosen), dtype=np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    a = ap.parse_args()
    for variant in VARIANTS:
        out = {}
        provenance = {}
        for image in IMAGES:
            path = os.path.join(a.source, variant, f"{image}.tensors.safetensors")
            ref = load_file(path)
            provenance[image] = hashlib.sha256(open(path, "rb").read()).hexdigest()
            for n, stage in enumerate(STAGES):
                t = np.ascontiguousarray(ref[stage], dtype=np.float32)
                flat = t.reshape(-1)
                idx = sample_indices(flat.size, n)
                out[f"{image}/{stage}/shape"] = np.array(t.shape, dtype=np.int64)
                out[f"{image}/{stage}/index"] = idx
                out[f"{image}/{stage}/values"] = flat[idx]
            # The committed detections JSON holds the same detections as the reference tensors.
            det = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "retinanet", variant,
                                              f"{image}.detections.json")))["detections"]
            assert np.array_equal(np.array(det["labels"], dtype=np.int64), ref["det.labels"]), (variant, image)
            assert np.array_equal(np.array(det["scores"], dtype=np.float32), ref["det.scores"]), (variant, image)
            assert np.array_equal(np.array(det["boxes"], dtype=np.float32).reshape(-1, 4), ref["det.boxes"]), (variant, image)
        dest = os.path.join(ROOT, "Tests", "Fixtures", "retinanet", variant, "values.safetensors")
        config = json.load(open(os.path.join(a.source, variant, "config.json")))
        versions = config["versions"]
        save_file(out, dest, metadata={
            "generator": "scripts/make_retinanet_value_samples.py",
            "source_sha256": json.dumps(provenance, sort_keys=True),
            "reference_versions": json.dumps(versions, sort_keys=True),
            "sampled_with": json.dumps({"numpy": np.__version__, "python": platform.python_version()}, sort_keys=True),
            "sampling": f"numpy.random.default_rng([{SEED}, stage number, element count]).choice(count, min({K}, count), "
                        "replace=False) plus the first and last element, sorted",
        })
        print(f"wrote {dest}: {os.path.getsize(dest)} bytes, {len(out) // 3} stages")


if __name__ == "__main__":
    main()
