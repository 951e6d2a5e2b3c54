#!/usr/bin/env python3
"""Writes a GENERATED image regression set for `make demo` (standard library only).

    python3 scripts/demo/make_demo_images.py OUT_DIR [COUNT]

OUT_DIR/labels.csv has id,path,label,site; OUT_DIR/img/<id>.png are RGB PNGs of a bright disc on
a noisy background whose radius is the label (so a backbone's features can carry it). Three rows
are deliberately bad (a corrupt PNG, a missing file, a non-numeric label) to show the errors table.
"""

import math
import random
import struct
import sys
import zlib
from pathlib import Path


def write_png(path: Path, width: int, height: int, pixel) -> None:
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    (out / "img").mkdir(parents=True, exist_ok=True)
    lines = ["id,path,label,site"]
    for i in range(count):
        rng = random.Random(i)
        size = rng.randint(80, 120)
        radius = rng.uniform(8, 40)
        cx, cy = rng.uniform(40, size - 40), rng.uniform(40, size - 40)
        path = out / "img" / f"{i:05d}.png"
        if i == 7:
            path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        elif i != 13:
            def pixel(x, y, rng=rng):
                inside = math.hypot(x - cx, y - cy) < radius
                base = 200 if inside else 40
                return [max(0, min(255, base + int(rng.gauss(0, 20)))) for _ in range(3)]

            write_png(path, size, size, pixel)
        label = "n/a" if i == 21 else f"{radius:.3f}"
        lines.append(f"demo{i:05d},img/{i:05d}.png,{label},site{i % 4}")
    (out / "labels.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
