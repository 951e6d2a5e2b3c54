#!/usr/bin/env python3
"""Writes a GENERATED audio regression set for `make demo-audio` (standard library only).

    python3 scripts/demo/make_demo_audio.py OUT_DIR [COUNT]

OUT_DIR/labels.csv has id,path,label,session; OUT_DIR/wav/<id>.wav are 16-bit PCM WAVs (8, 16,
22.05 or 44.1 kHz, mono or stereo, 1-4 s) of a harmonic tone with a little noise and an attack and
release envelope, some with noise bursts on top. The label is the tone's pitch as a MIDI note
number (A4 = 69; fractional notes allowed), something an audio encoder's features can carry.
Three rows are deliberately bad: a WAV cut in half (its header promises more), an empty (0-byte)
file, and a text file named .wav.
"""

import math
import random
import struct
import sys
import wave
from pathlib import Path

RATES = [8000, 16000, 22050, 44100]


def tone(rng: random.Random, rate: int, seconds: float, note: float) -> list[float]:
    freq = 440.0 * 2 ** ((note - 69) / 12)
    n = int(rate * seconds)
    harmonics = [(k, rng.uniform(0.2, 1.0) / k) for k in (1, 2, 3, 4) if k * freq < rate / 2]
    scale = 0.6 / sum(a for _, a in harmonics)
    attack, release = int(0.02 * rate), int(0.1 * rate)
    bursts = [(rng.uniform(0, seconds), rng.uniform(0.05, 0.2)) for _ in range(rng.randint(0, 3))]
    samples = []
    for i in range(n):
        t = i / rate
        env = min(1.0, i / attack, (n - i) / release)
        x = scale * env * sum(a * math.sin(2 * math.pi * k * freq * t) for k, a in harmonics)
        x += rng.gauss(0, 0.01)
        if any(start <= t < start + width for start, width in bursts):
            x += rng.gauss(0, 0.1)
        samples.append(max(-1.0, min(1.0, x)))
    return samples


def write_wav(path: Path, samples: list[float], rate: int, channels: int) -> None:
    frames = bytearray()
    for s in samples:
        value = int(round(s * 32767))
        frames += struct.pack("<h", value) * channels
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    (out / "wav").mkdir(parents=True, exist_ok=True)
    lines = ["id,path,label,session"]
    for i in range(count):
        rng = random.Random(i)
        note = rng.uniform(48, 84)  # C3 .. C6
        rate = rng.choice(RATES)
        path = out / "wav" / f"{i:05d}.wav"
        if i == 13:
            path.write_bytes(b"")
        elif i == 21:
            path.write_text("this is not audio\n")
        else:
            write_wav(path, tone(rng, rate, rng.uniform(1.0, 4.0), note), rate, rng.choice([1, 2]))
            if i == 7:
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])
        lines.append(f"tone{i:05d},wav/{i:05d}.wav,{note:.3f},session{i % 3}")
    (out / "labels.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
