"""Shared fixtures: the nona binary and a small generated image dataset."""

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _png(path: Path, width: int, height: int, seed: int) -> None:
    """Writes a small 8-bit RGB PNG without third-party libraries."""
    rows = b"".join(
        b"\x00" + bytes(((seed * 7 + x * 20) % 256, (y * 30) % 256, (seed + x + y) % 256)[c] for x in range(width) for c in range(3))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def nona_bin() -> str:
    path = os.environ.get("NONA_BIN", str(REPO / "target" / "debug" / "nona"))
    assert Path(path).is_file(), f"nona binary not found at {path}; build it or set NONA_BIN"
    return path


@pytest.fixture()
def image_run(tmp_path: Path, nona_bin: str) -> Path:
    """Runs a generated 25-image pipeline (two bad samples, ResNet-18 with synthetic weights) and
    returns the run directory."""
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    lines = ["id,path,label"]
    for i in range(25):
        if i == 3:
            (data / "img" / f"{i}.png").write_bytes(b"not an image")
        elif i != 4:
            _png(data / "img" / f"{i}.png", 8 + i % 3, 6 + i % 2, i)
        lines.append(f"x{i},img/{i}.png,{i * 1.5}")
    (data / "labels.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "interop.toml").write_text(
        f"""
[dataset]
root = "{data}"
manifest = "labels.csv"
modality = "image"
synthetic = true

[preprocess]
shard_rows = 10

[preprocess.image]
transforms = [{{ resize = [16, 16] }}, {{ normalize = "half" }}]

[embed]
backbone = "resnet18"
weights = "synthetic"
shard_rows = 10
"""
    )
    result = subprocess.run([nona_bin, "run", "interop.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return tmp_path / "runs" / "interop"
