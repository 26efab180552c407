#!/usr/bin/env python3
"""Extracts the size/anchor facts of the shared RetinaNet fixtures into Tests/Fixtures/retinanet/geometry.json.

Plain Python (reads safetensors headers itself); run from the repository root with ../shared beside it:

    python3 scripts/make_retinanet_geometry_fixture.py
"""
import hashlib
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SHARED = os.path.join(ROOT, "..", "shared", "fixtures", "retinanet")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "retinanet", "geometry.json")


def tensor_bytes(path, key):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        begin, end = header[key]["data_offsets"]
        f.seek(8 + n + begin)
        return header[key]["shape"], f.read(end - begin)


def main():
    cases = []
    for variant in ["mini", "mini_v1"]:
        cfg = json.load(open(os.path.join(SHARED, variant, "config.json")))
        for name in sorted(os.listdir(os.path.join(SHARED, variant))):
            if not name.endswith(".detections.json") or name.startswith("batch"):
                continue
            d = json.load(open(os.path.join(SHARED, variant, name)))
            shape, raw = tensor_bytes(os.path.join(SHARED, variant, d["tensors"]), "anchors")
            cases.append({
                "variant": variant, "image": d["image"],
                "min_size": cfg["transform"]["min_size"][-1], "max_size": cfg["transform"]["max_size"],
                "original_size_hw": d["original_size_hw"], "resized_size_hw": d["resized_size_hw"],
                "scale_factor": d["scale_factor"], "batched_size_hw": d["batched_size_hw"],
                "feature_sizes_hw": d["feature_sizes_hw"], "anchor_strides_hw": d["anchor_strides_hw"],
                "anchors_shape": shape, "anchors_sha256_f32le": hashlib.sha256(raw).hexdigest(),
                "anchors_first3": list(struct.unpack("<12f", raw[:48])),
            })
    json.dump({"recipe": "scripts/make_retinanet_geometry_fixture.py from shared/fixtures/retinanet", "cases": cases},
              open(OUT, "w"), indent=1)


if __name__ == "__main__":
    main()
