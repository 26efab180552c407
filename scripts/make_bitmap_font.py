#!/usr/bin/env python3
"""Prints the glyph table of Sources/ReproImage/BitmapFont.swift from
scripts/bitmap_font.txt (each glyph: its character on one line, then 7 rows
of 5 cells, '#' = ink). Standard library only."""
from pathlib import Path

lines = (Path(__file__).parent / "bitmap_font.txt").read_text().splitlines()
entries = []
for i in range(0, len(lines), 8):
    ch, rows = lines[i], lines[i + 1:i + 8]
    assert len(ch) == 1 and all(len(r) == 5 for r in rows), ch
    bits = 0
    for r in rows:
        for c in r:
            bits = (bits << 1) | (c == "#")
    entries.append((ch, bits))
for ch, bits in entries:
    esc = ch.replace("\\", "\\\\").replace("'", "\\'")
    print(f"        ({ord(ch)}, 0x{bits:09X}),  // {ch}")
