#!/usr/bin/env python3
"""Regenerates the image decoding corpus in Tests/Fixtures/images/.

Every file is decoded with Pillow 13 (`Image.open(p).convert("RGB")`) and the
SHA-256 of the RGB bytes is written to `manifest.json`; ReproImage's tests
require its decoders to produce exactly those bytes.

Pillow's own encoders cannot write every case the tests need (2-bit grey PNG,
16-bit PNG of every colour type, JPEG with 4:4:0 or 4:1:1 sampling, restart
intervals, YCbCr-less Adobe files), so this script also carries a small PNG
writer and a small baseline JPEG writer of its own. The expected pixels always
come from Pillow's decoder, never from these writers.

Usage:  python3 scripts/make_image_corpus.py
        (creates .venv-image-corpus/ with pillow==13.0.0, scikit-image, numpy,
        or reuses the virtualenv named by $REPRO_VENV)
"""
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "images"


def ensure_venv():
    """Re-executes this script inside a virtualenv that has the pinned packages."""
    if os.environ.get("_REPRO_CORPUS_CHILD") == "1":
        return
    venv = os.environ.get("REPRO_VENV") or str(ROOT / ".venv-image-corpus")
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q",
                               "pillow==13.0.0", "scikit-image", "numpy"])
    env = dict(os.environ, _REPRO_CORPUS_CHILD="1")
    sys.exit(subprocess.call([str(py), __file__] + sys.argv[1:], env=env))


ensure_venv()

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
import PIL  # noqa: E402

assert PIL.__version__ == "13.0.0", f"need Pillow 13.0.0, have {PIL.__version__}"

RNG = np.random.default_rng(20261128)


def synthetic(w, h, seed=0):
    """A deterministic test picture: gradients, a sinusoid, hard edges and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127.5 + 127.5 * np.sin(x / 3.0 + y / 5.0)
    img = np.stack([r, g, b], axis=-1)
    img[(x // 8 + y // 8) % 5 == 0] = [250, 20, 30]
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- PNG writer

def png_chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(raw_rows, bpp):
    """Filters each row with type (row index % 5), so every filter is exercised."""
    out = bytearray()
    prev = bytes(len(raw_rows[0])) if raw_rows else b""
    for i, row in enumerate(raw_rows):
        ft = i % 5
        f = bytearray(len(row))
        for j in range(len(row)):
            a = row[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            f[j] = (row[j] - pred) & 0xFF
        out.append(ft)
        out += f
        prev = row
    return bytes(out)


def pack_rows(samples, depth):
    """samples: (h, w*channels) ints -> list of packed big-endian rows."""
    rows = []
    for r in samples:
        if depth == 16:
            rows.append(b"".join(struct.pack(">H", int(v)) for v in r))
        elif depth == 8:
            rows.append(bytes(int(v) for v in r))
        else:
            per = 8 // depth
            bb = bytearray()
            for k in range(0, len(r), per):
                byte = 0
                for t in range(per):
                    v = int(r[k + t]) if k + t < len(r) else 0
                    byte |= v << (8 - depth * (t + 1))
                bb.append(byte)
            rows.append(bytes(bb))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, samples, ctype, depth, interlace=False, palette=None, trns=None,
              extra_chunks=(), idat_pieces=1):
    """samples: (h, w, channels) array of raw sample values."""
    h, w, ch = samples.shape
    bpp = max(1, ch * depth // 8)
    if interlace:
        data = b""
        for (x0, y0, dx, dy) in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            data += filter_rows(pack_rows(sub.reshape(sub.shape[0], -1), depth), bpp)
    else:
        data = filter_rows(pack_rows(samples.reshape(h, -1), depth), bpp)
    z = zlib.compress(data, 9)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    for c in extra_chunks:
        out += png_chunk(*c)
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    step = max(1, -(-len(z) // idat_pieces))
    for k in range(0, max(len(z), 1), step):
        out += png_chunk(b"IDAT", z[k:k + step])
    out += png_chunk(b"IEND", b"")
    path.write_bytes(out)


# --------------------------------------------------------------- JPEG writer
# A plain baseline (SOF0) writer: float DCT, given quantisation tables, the
# Huffman tables taken from a Pillow-written baseline file (the standard
# Annex K tables), any sampling factors, optional restart interval, optional
# Adobe APP14 marker. Used only for layouts Pillow's encoder cannot produce.

def std_tables():
    """(quant tables, DHT segment payloads) from a Pillow baseline JPEG."""
    buf = io.BytesIO()
    Image.fromarray(synthetic(16, 16)).save(buf, "JPEG", quality=75)
    d = buf.getvalue()
    i, dht, dqt = 2, [], []
    while i < len(d):
        m = d[i + 1]
        ln = struct.unpack(">H", d[i + 2:i + 4])[0]
        seg = d[i + 4:i + 2 + ln]
        if m == 0xC4:
            dht.append(seg)
        if m == 0xDB:
            dqt.append(seg)
        if m == 0xDA:
            break
        i += 2 + ln
    return dqt, dht


def parse_dht(segs):
    tables = {}
    for seg in segs:
        p = 0
        while p < len(seg):
            tc_th = seg[p]
            counts = seg[p + 1:p + 17]
            n = sum(counts)
            vals = seg[p + 17:p + 17 + n]
            code, k, codes = 0, 0, {}
            for length in range(1, 17):
                for _ in range(counts[length - 1]):
                    codes[vals[k]] = (code, length)
                    code += 1
                    k += 1
                code <<= 1
            tables[tc_th] = codes
            p += 17 + n
    return tables


ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
          14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
          53, 60, 61, 54, 47, 55, 62, 63]


def dct_matrix():
    m = np.zeros((8, 8))
    for k in range(8):
        for n in range(8):
            c = np.sqrt(1 / 8) if k == 0 else np.sqrt(2 / 8)
            m[k, n] = c * np.cos(np.pi * (2 * n + 1) * k / 16)
    return m


class BitWriter:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, code, length):
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            b = (self.acc >> (self.n - 8)) & 0xFF
            self.out.append(b)
            if b == 0xFF:
                self.out.append(0)
            self.n -= 8

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)
        self.acc = 0


def write_jpeg(path, planes, factors, qsel, restart=0, adobe=None, ids=None, app_segments=()):
    """planes: list of full-resolution uint8 (h, w) arrays; factors: [(h, v)]."""
    dqt, dht = std_tables()
    huff = parse_dht(dht)
    # quant tables in natural order, indexed by table id
    qt = {}
    for seg in dqt:
        p = 0
        while p < len(seg):
            tid = seg[p] & 15
            zz = list(seg[p + 1:p + 65])
            nat = [0] * 64
            for k in range(64):
                nat[ZIGZAG[k]] = zz[k]
            qt[tid] = np.array(nat, dtype=np.float64).reshape(8, 8)
            p += 65
    h, w = planes[0].shape
    hmax = max(f[0] for f in factors)
    vmax = max(f[1] for f in factors)
    mcux, mcuy = -(-w // (8 * hmax)), -(-h // (8 * vmax))
    D = dct_matrix()
    comps = []
    for plane, (hf, vf) in zip(planes, factors):
        # downsample by box average to ceil(w*hf/hmax) x ceil(h*vf/vmax), then pad
        sx, sy = hmax // hf, vmax // vf
        cw, chh = -(-w * hf // hmax), -(-h * vf // vmax)
        pw, ph = mcux * hf * 8, mcuy * vf * 8
        full = np.pad(plane.astype(np.float64), ((0, ph * sy - h), (0, pw * sx - w)), mode="edge")
        small = full.reshape(ph, sy, pw, sx).mean(axis=(1, 3))
        small[:, cw:] = small[:, cw - 1:cw]
        small[chh:, :] = small[chh - 1:chh, :]
        comps.append(np.round(small))
    bw = BitWriter()
    preds = [0] * len(planes)
    n_mcu = 0
    for my in range(mcuy):
        for mx in range(mcux):
            if restart and n_mcu and n_mcu % restart == 0:
                bw.flush()
                bw.out += bytes([0xFF, 0xD0 + ((n_mcu // restart - 1) % 8)])
                preds = [0] * len(planes)
            n_mcu += 1
            for ci, (hf, vf) in enumerate(factors):
                q = qt[qsel[ci]]
                dc_t, ac_t = huff[0x00 | (qsel[ci])], huff[0x10 | (qsel[ci])]
                for by in range(vf):
                    for bx in range(hf):
                        y0, x0 = (my * vf + by) * 8, (mx * hf + bx) * 8
                        blk = comps[ci][y0:y0 + 8, x0:x0 + 8] - 128
                        coef = np.round((D @ blk @ D.T) / q).astype(int).reshape(-1)
                        zz = [int(coef[ZIGZAG[k]]) for k in range(64)]
                        diff = zz[0] - preds[ci]
                        preds[ci] = zz[0]
                        emit_coef(bw, dc_t, 0, diff, dc=True)
                        run = 0
                        last = max([k for k in range(1, 64) if zz[k] != 0], default=0)
                        for k in range(1, last + 1):
                            if zz[k] == 0:
                                run += 1
                                if run == 16:
                                    code, ln = ac_t[0xF0]
                                    bw.put(code, ln)
                                    run = 0
                                continue
                            emit_coef(bw, ac_t, run, zz[k], dc=False)
                            run = 0
                        if last < 63:
                            code, ln = ac_t[0x00]
                            bw.put(code, ln)
    bw.flush()
    out = bytearray(b"\xff\xd8")
    for seg in app_segments:
        out += seg
    if adobe is not None:
        payload = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, adobe)
        out += b"\xff\xee" + struct.pack(">H", len(payload) + 2) + payload
    for seg in dqt:
        out += b"\xff\xdb" + struct.pack(">H", len(seg) + 2) + seg
    ids = ids or list(range(1, len(planes) + 1))
    sof = struct.pack(">BHHB", 8, h, w, len(planes))
    for ci, (hf, vf) in enumerate(factors):
        sof += bytes([ids[ci], (hf << 4) | vf, qsel[ci]])
    out += b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof
    for seg in dht:
        out += b"\xff\xc4" + struct.pack(">H", len(seg) + 2) + seg
    if restart:
        out += b"\xff\xdd\x00\x04" + struct.pack(">H", restart)
    sos = bytes([len(planes)])
    for ci in range(len(planes)):
        sos += bytes([ids[ci], (qsel[ci] << 4) | qsel[ci]])
    sos += bytes([0, 63, 0])
    out += b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos
    out += bw.out + b"\xff\xd9"
    path.write_bytes(bytes(out))


def emit_coef(bw, table, run, v, dc):
    mag = abs(v)
    size = mag.bit_length()
    sym = size if dc else (run << 4) | size
    code, ln = table[sym]
    bw.put(code, ln)
    if size:
        bits = v if v > 0 else v + (1 << size) - 1
        bw.put(bits, size)


# ------------------------------------------------------------------- corpus

def exif_with_orientation(o):
    ex = Image.Exif()
    ex[0x0112] = o
    return ex


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for p in sorted(OUT.iterdir()):
        if p.suffix in (".png", ".jpg") or p.name == "manifest.json":
            p.unlink()
    made = []

    def jpeg_pil(name, arr, **kw):
        p = OUT / name
        Image.fromarray(arr).save(p, "JPEG", **kw)
        made.append(name)

    def png_pil(name, im, **kw):
        im.save(OUT / name, "PNG", **kw)
        made.append(name)

    base = synthetic(64, 48, seed=1)
    # JPEG: qualities, subsamplings, progressive, optimised tables
    for q in (10, 25, 50, 75, 90, 95, 100):
        jpeg_pil(f"q{q:03d}_420.jpg", base, quality=q)
    for ss, tag in ((0, "444"), (1, "422"), (2, "420")):
        jpeg_pil(f"ss{tag}_baseline.jpg", base, quality=85, subsampling=ss)
        jpeg_pil(f"ss{tag}_progressive.jpg", base, quality=85, subsampling=ss, progressive=True)
        jpeg_pil(f"ss{tag}_optimized.jpg", base, quality=85, subsampling=ss, optimize=True)
        for (w, h) in ((1, 1), (17, 33), (1001, 3), (3, 1001 // 10)):
            jpeg_pil(f"odd{w}x{h}_{tag}.jpg", synthetic(w, h, seed=w * h), quality=80, subsampling=ss)
            jpeg_pil(f"odd{w}x{h}_{tag}_prog.jpg", synthetic(w, h, seed=w * h + 1), quality=80,
                     subsampling=ss, progressive=True)
    jpeg_pil("progressive_q100_444.jpg", base, quality=100, subsampling=0, progressive=True)
    jpeg_pil("progressive_q20_opt.jpg", base, quality=20, progressive=True, optimize=True)
    gray = np.asarray(Image.fromarray(base).convert("L"))
    for name, kw in (("gray.jpg", {}), ("gray_prog.jpg", {"progressive": True}),
                     ("gray_opt.jpg", {"optimize": True})):
        Image.fromarray(gray).save(OUT / name, "JPEG", quality=80, **kw)
        made.append(name)
    Image.fromarray(synthetic(17, 33, 5)[:, :, 0]).save(OUT / "gray17x33.jpg", "JPEG", quality=70)
    made.append("gray17x33.jpg")
    # CMYK via Pillow (Adobe marker, inverted)
    cmyk = Image.fromarray(base).convert("CMYK")
    cmyk.save(OUT / "cmyk.jpg", "JPEG", quality=85)
    made.append("cmyk.jpg")
    cmyk.save(OUT / "cmyk_prog.jpg", "JPEG", quality=85, progressive=True)
    made.append("cmyk_prog.jpg")
    # EXIF orientation
    for o in range(1, 9):
        Image.fromarray(synthetic(20, 12, 7)).save(OUT / f"exif_orient{o}.jpg", "JPEG", quality=90,
                                                   exif=exif_with_orientation(o))
        made.append(f"exif_orient{o}.jpg")
    # Own writer: sampling layouts Pillow cannot write, restart intervals, Adobe
    ycc = np.asarray(Image.fromarray(base).convert("YCbCr"))
    planes = [ycc[:, :, k] for k in range(3)]
    layouts = {
        "440": [(1, 2), (1, 1), (1, 1)], "411": [(4, 1), (1, 1), (1, 1)],
        "420": [(2, 2), (1, 1), (1, 1)], "422": [(2, 1), (1, 1), (1, 1)],
        "444": [(1, 1), (1, 1), (1, 1)], "410": [(4, 2), (1, 1), (1, 1)],
        "mixed": [(2, 2), (2, 1), (1, 2)],
    }
    for tag, fac in layouts.items():
        write_jpeg(OUT / f"own_{tag}.jpg", planes, fac, [0, 1, 1])
        made.append(f"own_{tag}.jpg")
    for tag in ("440", "411"):
        odd = np.asarray(Image.fromarray(synthetic(37, 29, 9)).convert("YCbCr"))
        write_jpeg(OUT / f"own_{tag}_37x29.jpg", [odd[:, :, k] for k in range(3)], layouts[tag], [0, 1, 1])
        made.append(f"own_{tag}_37x29.jpg")
    for tag, rst in (("420", 1), ("420", 3), ("444", 5), ("440", 2), ("411", 7)):
        write_jpeg(OUT / f"own_{tag}_rst{rst}.jpg", planes, layouts[tag], [0, 1, 1], restart=rst)
        made.append(f"own_{tag}_rst{rst}.jpg")
    write_jpeg(OUT / "own_gray_rst4.jpg", [gray], [(1, 1)], [0], restart=4)
    made.append("own_gray_rst4.jpg")
    write_jpeg(OUT / "own_gray_h2v2.jpg", [gray], [(2, 2)], [0])
    made.append("own_gray_h2v2.jpg")
    rgb = [base[:, :, k] for k in range(3)]
    write_jpeg(OUT / "own_adobe_rgb.jpg", rgb, layouts["444"], [0, 0, 0], adobe=0)
    made.append("own_adobe_rgb.jpg")
    write_jpeg(OUT / "own_rgb_ids.jpg", rgb, layouts["444"], [0, 0, 0], ids=[ord("R"), ord("G"), ord("B")])
    made.append("own_rgb_ids.jpg")
    # YCCK: Y, Cb, Cr of the inverted CMY, plus K, Adobe transform 2
    c = np.asarray(cmyk)
    inv = 255 - c[:, :, :3]
    yk = np.asarray(Image.fromarray(np.ascontiguousarray(inv)).convert("YCbCr"))
    write_jpeg(OUT / "own_ycck.jpg", [yk[:, :, 0], yk[:, :, 1], yk[:, :, 2], 255 - c[:, :, 3]],
               [(2, 2), (1, 1), (1, 1), (2, 2)], [0, 1, 1, 0], adobe=2)
    made.append("own_ycck.jpg")
    # Real photographs (scikit-image samples), kept small
    from skimage import data as skdata
    photos = {"astronaut": skdata.astronaut(), "coffee": skdata.coffee(), "chelsea": skdata.chelsea()}
    for name, arr in photos.items():
        im = Image.fromarray(arr)
        small = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
        jpeg_pil(f"photo_{name}.jpg", np.asarray(small), quality=88)
    jpeg_pil("photo_astronaut_full.jpg", photos["astronaut"], quality=90)
    jpeg_pil("photo_astronaut_full_prog.jpg", photos["astronaut"], quality=90, progressive=True)
    png_pil("photo_astronaut_full.png", Image.fromarray(photos["astronaut"]))
    png_pil("photo_camera.png", Image.fromarray(skdata.camera()))
    # PNG: every colour type x depth, interlaced or not, tRNS
    rng = np.random.default_rng(7)
    for (w, h) in ((13, 11), (1, 1), (17, 33), (1001, 3)):
        sz = f"{w}x{h}"
        for depth in (1, 2, 4, 8, 16):
            for il in (False, True):
                suffix = f"{sz}_d{depth}{'_i' if il else ''}"
                maxv = (1 << depth) - 1
                g = rng.integers(0, maxv + 1, (h, w, 1))
                write_png(OUT / f"gray_{suffix}.png", g, 0, depth, il)
                made.append(f"gray_{suffix}.png")
                if depth <= 8:
                    npal = min(1 << depth, 200)
                    pal = rng.integers(0, 256, (npal, 3))
                    idx = rng.integers(0, npal, (h, w, 1))
                    write_png(OUT / f"pal_{suffix}.png", idx, 3, depth, il, palette=pal)
                    made.append(f"pal_{suffix}.png")
                    alphas = bytes(int(a) for a in rng.integers(0, 256, min(npal, 5)))
                    write_png(OUT / f"palt_{suffix}.png", idx, 3, depth, il, palette=pal, trns=alphas)
                    made.append(f"palt_{suffix}.png")
                if depth >= 8:
                    for ctype, ch, tag in ((2, 3, "rgb"), (4, 2, "ga"), (6, 4, "rgba")):
                        s = rng.integers(0, maxv + 1, (h, w, ch))
                        write_png(OUT / f"{tag}_{suffix}.png", s, ctype, depth, il, idat_pieces=3)
                        made.append(f"{tag}_{suffix}.png")
                    s = rng.integers(0, maxv + 1, (h, w, 3))
                    write_png(OUT / f"rgbt_{suffix}.png", s, 2, depth, il,
                              trns=struct.pack(">HHH", *[int(v) for v in s[0, 0]]))
                    made.append(f"rgbt_{suffix}.png")
                gt = struct.pack(">H", int(g[0, 0, 0]))
                write_png(OUT / f"grayt_{suffix}.png", g, 0, depth, il, trns=gt,
                          extra_chunks=[(b"tEXt", b"Comment\x00hello"), (b"zzZz", b"\x01\x02unknown")])
                made.append(f"grayt_{suffix}.png")
    # Indices past the end of a short palette (Pillow shows them black).
    short_idx = np.arange(48 * 3).reshape(12, 12, 1) % 256
    short_pal = rng.integers(0, 256, (5, 3))
    write_png(OUT / "pal_short.png", short_idx, 3, 8, palette=short_pal)
    write_png(OUT / "pal_short_trns.png", short_idx, 3, 8, palette=short_pal, trns=b"\x05\x06")
    made += ["pal_short.png", "pal_short_trns.png"]
    png_pil("pil_rgb_opt.png", Image.fromarray(base), optimize=True)
    png_pil("pil_p_adaptive.png", Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=37))

    manifest = []
    for name in sorted(made):
        p = OUT / name
        with Image.open(p) as im:
            fmt, mode, size = im.format, im.mode, im.size
            exif = im.getexif().get(0x0112) if fmt == "JPEG" else None
            rgb = im.convert("RGB")
            raw = rgb.tobytes()
            digest = hashlib.sha256(raw).hexdigest()
            stride = 3 * size[0]
            # Per-row CRC-32s let a failing test name the first differing row.
            rows = [zlib.crc32(raw[y * stride:(y + 1) * stride]) for y in range(size[1])]
            entry = {"file": name, "format": fmt, "mode": mode, "width": size[0], "height": size[1],
                     "exif_orientation": exif or 1, "rgb_sha256": digest, "row_crc32": rows}
            if (exif or 1) != 1:
                up = ImageOps.exif_transpose(im).convert("RGB")
                entry["oriented_sha256"] = hashlib.sha256(up.tobytes()).hexdigest()
        manifest.append(entry)
    (OUT / "manifest.json").write_text(
        json.dumps({"pillow": PIL.__version__, "images": manifest}, separators=(",", ":")).replace("},{", "},\n{") + "\n")
    total = sum((OUT / n).stat().st_size for n in made)
    print(f"{len(made)} images, {total / 1e6:.2f} MB, manifest written")


if __name__ == "__main__":
    main()
