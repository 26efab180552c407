#!/usr/bin/env python3
"""Copies the small RetinaNet mini fixture files into Tests/Fixtures/retinanet and
writes the SHA-256 of every weight tensor (raw little-endian bytes as stored in
weights.safetensors), so the tests can check the Swift torch-compatible
initialisation + perturbation recipe without committing the weights.

Standard library only (no virtualenv needed). Usage:
    python3 scripts/retinanet_fixture_subset.py [../shared/fixtures/retinanet]
"""
import hashlib
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "fixtures", "retinanet")
DST = os.path.join(REPO, "Tests", "Fixtures", "retinanet")
IMAGES = ["img0_coffee_154x231", "img1_synthetic_300x120"]


def safetensors_hashes(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[key] = {"dtype": info["dtype"], "shape": info["shape"],
                    "sha256": hashlib.sha256(data[base + a:base + b]).hexdigest()}
    return out


def main():
    os.makedirs(os.path.join(DST, "images"), exist_ok=True)
    for variant in ("mini", "mini_v1"):
        src, dst = os.path.join(SRC, variant), os.path.join(DST, variant)
        os.makedirs(dst, exist_ok=True)
        for name in ["config.json", "tensor_summaries.json"] + [f"{i}.detections.json" for i in IMAGES]:
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
        for i in IMAGES:
            shutil.copyfile(os.path.join(src, f"{i}.png"), os.path.join(DST, "images", f"{i}.png"))
        hashes = safetensors_hashes(os.path.join(src, "weights.safetensors"))
        with open(os.path.join(dst, "weights_sha256.json"), "w") as f:
            json.dump(hashes, f, indent=0, sort_keys=True)
            f.write("\n")
        print(variant, len(hashes), "tensors")


if __name__ == "__main__":
    main()
