#!/usr/bin/env python3
"""Decode speed of ReproImage against Pillow 13, in the same run.

Times the corpus's large files plus a few bigger images made here from
scikit-image's astronaut (2048x2048 JPEG baseline 4:2:0, progressive, 4:4:4,
PNG RGB), written to a temporary folder. Ours: `repro image --repeat N --json`
(the median of N decodes of bytes already in memory, release build). Pillow:
the median of N `Image.open(BytesIO(data)).load()`. The two alternate for
--rounds rounds (Repro, Pillow, Repro, ...); each side's best round median is
compared (the median round beside it), so both get the same chances at a quiet
minute. Also checks that both give the same RGB SHA-256. Prints ratio = Pillow
time / our time (>= 1: we are at least as fast) and the load average. Targets:
PNG >= 1.0, JPEG >= 1.0 (geometric means).

Usage: swift build -c release --product repro && python3 bench/image_decode.py [N] [--rounds R]
(creates bench/.venv with pillow==13.0.0 scikit-image numpy, or reuses $REPRO_VENV)
"""
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_venv():
    if os.environ.get("_REPRO_BENCH_CHILD") == "1":
        return
    venv = os.environ.get("REPRO_VENV") or str(ROOT / "bench" / ".venv")
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", "pillow==13.0.0", "scikit-image", "numpy"])
    env = dict(os.environ, _REPRO_BENCH_CHILD="1")
    sys.exit(subprocess.call([str(py), __file__] + sys.argv[1:], env=env))


ensure_venv()

from PIL import Image  # noqa: E402


def pillow_ms(data, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        im = Image.open(io.BytesIO(data))
        im.load()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    args = sys.argv[1:]
    rounds = 3
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    n = int(args[0]) if args else 15
    binary = os.environ.get("REPRO_BIN") or str(ROOT / ".build" / "release" / "repro")
    if not Path(binary).exists():
        sys.exit(f"build first: swift build -c release --product repro  (looked for {binary})")
    fixtures = ROOT / "Tests" / "Fixtures" / "images"
    files = [fixtures / f for f in ("photo_astronaut_full.jpg", "photo_astronaut_full_prog.jpg",
                                    "photo_coffee.jpg", "photo_astronaut_full.png", "photo_camera.png")]
    tmp = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    from skimage import data as skdata
    big = Image.fromarray(skdata.astronaut()).resize((2048, 2048), Image.Resampling.BICUBIC)
    for name, kw in (("big_420.jpg", {"quality": 90}), ("big_420_prog.jpg", {"quality": 90, "progressive": True}),
                     ("big_444.jpg", {"quality": 90, "subsampling": 0})):
        big.save(tmp / name, "JPEG", **kw)
        files.append(tmp / name)
    big.save(tmp / "big_rgb.png", "PNG")
    big.convert("L").save(tmp / "big_gray.png", "PNG")
    files += [tmp / "big_rgb.png", tmp / "big_gray.png"]

    load_before = os.getloadavg()[0]
    ours_rounds, pillow_rounds, ours = [], [], {}
    for _ in range(rounds):
        out = subprocess.run([binary, "image", "--json", "--repeat", str(n)] + [str(f) for f in files],
                             capture_output=True, text=True, check=True).stdout
        ours = {r["file"]: r for r in map(json.loads, out.splitlines()) if r}  # JSON lines: one object per file
        ours_rounds.append({f: ours[str(f)]["decode_ms"] for f in files})
        pillow_rounds.append({f: pillow_ms(f.read_bytes(), n) for f in files})
    print(f"{rounds} rounds of {n} decodes, alternating; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; best round (median round)")
    print(f"{'file':30} {'size':>11} {'Pillow ms':>16} {'Repro ms':>16} {'ratio':>6}  pixels")
    ratios = {"PNG": [], "JPEG": []}
    for f in files:
        r = ours[str(f)]
        p_all = [pr[f] for pr in pillow_rounds]
        o_all = [orr[f] for orr in ours_rounds]
        p, o = min(p_all), min(o_all)
        with Image.open(io.BytesIO(f.read_bytes())) as im:
            same = hashlib.sha256(im.convert("RGB").tobytes()).hexdigest() == r["rgb_sha256"]
        ratio = p / o
        ratios[r["format"]].append(ratio)
        print(f"{f.name:30} {r['width']:>5}x{r['height']:<5} {p:7.3f} ({statistics.median(p_all):6.3f}) "
              f"{o:7.3f} ({statistics.median(o_all):6.3f}) {ratio:6.2f}  {'identical' if same else 'DIFFERENT'}")
    for fmt, rs in ratios.items():
        gm = statistics.geometric_mean(rs)
        print(f"{fmt}: geometric-mean ratio {gm:.2f} (target 1.0)")


if __name__ == "__main__":
    main()
