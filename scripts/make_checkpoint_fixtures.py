#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/checkpoints/: small PyTorch and safetensors files, and hostile ones.

Needs torch and safetensors: creates scripts/.venv (or uses REPRO_VENV). Never run by tests or CI.

    python3 scripts/make_checkpoint_fixtures.py
"""
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "checkpoints")


def ensure_venv():
    venv = os.environ.get("REPRO_VENV") or os.path.join(HERE, ".venv")
    py = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "torch==2.15.0", "safetensors", "numpy"])
    os.execv(py, [py, *sys.argv])


ensure_venv()
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


def describe(t):
    t = t.contiguous()
    if t.dtype == torch.float32:
        return {"dtype": "float32", "shape": list(t.shape),
                "bits": [f"0x{x & 0xffffffff:08x}" for x in t.view(torch.int32).flatten().tolist()]}
    if t.dtype == torch.float16:
        return {"dtype": "float16", "shape": list(t.shape),
                "bits": [f"0x{x & 0xffff:04x}" for x in t.view(torch.int16).flatten().tolist()]}
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
            "values": [str(v) for v in t.flatten().tolist()]}  # strings: int64 values pass 2**53


class Evil:
    """An object whose unpickling would call fn(arg): what a hostile checkpoint does."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    sd = model.state_dict()
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3.0
    sd["shared.a"] = base[2:8].view(2, 3)            # view with an offset into a shared storage
    sd["shared.b"] = base.view(4, 6).t()[1:3]        # non-contiguous view of the same storage
    sd["ints"] = torch.tensor([[-3, 7], [2**40, -2**62]], dtype=torch.int64)
    sd["half"] = torch.tensor([1.5, -2.25], dtype=torch.float16)
    sd["scalar"] = torch.tensor(3.25)
    torch.save(sd, os.path.join(OUT, "small.pth"))
    torch.save(sd, os.path.join(OUT, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(OUT, "small.safetensors"))
    with open(os.path.join(OUT, "small.expected.json"), "w") as f:
        json.dump({"recipe": "scripts/make_checkpoint_fixtures.py", "torch": torch.__version__,
                   "keys": list(sd.keys()), "tensors": {k: describe(v) for k, v in sd.items()},
                   "module_versions": {k: v["version"] for k, v in sd._metadata.items()}},
                  f, indent=1, sort_keys=True)

    import builtins
    for name, payload in [("evil_os_system", Evil(os.system, "echo pwned > /tmp/repro-pwned")),
                          ("evil_builtins_eval", Evil(builtins.eval, "1+1"))]:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pickle.dumps({"w": payload}, protocol=2))
            z.writestr("archive/byteorder", "little")
        open(os.path.join(OUT, name + ".pth"), "wb").write(buf.getvalue())

    data = open(os.path.join(OUT, "small.pth"), "rb").read()
    open(os.path.join(OUT, "truncated.pth"), "wb").write(data[: len(data) // 2])

    # A storage shorter than its tensor: rewrite one storage entry with fewer bytes.
    src = zipfile.ZipFile(os.path.join(OUT, "small.pth"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename.endswith("/data/0"):
                content = content[:-8]
            z.writestr(info.filename, content)
    open(os.path.join(OUT, "short_storage.pth"), "wb").write(buf.getvalue())

    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}).encode()
    open(os.path.join(OUT, "bad_offsets.safetensors"), "wb").write(struct.pack("<Q", len(header)) + header + b"\0" * 16)


if __name__ == "__main__":
    main()
