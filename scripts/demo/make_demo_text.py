#!/usr/bin/env python3
"""Writes a GENERATED text regression set for `make demo-text` (standard library only).

    python3 scripts/demo/make_demo_text.py OUT_DIR [COUNT]

OUT_DIR/labels.csv has id,text,label,shop: short, messy product reviews (random casing, typos,
emoji, accents, stray whitespace, a few very long rambles past the tokenizer's limit) whose label
is the star rating (1-5, plus a little noise) that the wording expresses, so a sentence encoder's
features can carry it. Four rows are deliberately bad (an empty text, a whitespace-only text, a
text of control characters only, and a non-numeric label) to show the errors tables.
"""

import csv
import random
import sys
from pathlib import Path

# (rating, phrases): what a reviewer at that rating says.
OPINIONS = [
    (1, ["absolutely terrible", "broke after one day", "a complete waste of money", "never again",
         "worst purchase i have ever made", "awful, do not buy"]),
    (2, ["pretty disappointing", "not great, not worth the price", "cheaply made",
         "it works, barely", "below my expectations"]),
    (3, ["it's okay", "average, nothing special", "does the job i guess", "fine for the price",
         "mixed feelings about this one"]),
    (4, ["really good", "happy with it overall", "works well, minor issues",
         "would recommend", "solid and well made"]),
    (5, ["absolutely love it", "perfect in every way", "best thing i bought this year",
         "exceeded all my expectations", "flawless, five stars"]),
]
ITEMS = ["kettle", "headphones", "café table", "running shoes", "phone case", "desk lamp",
         "backpack", "crêpe pan", "umbrella", "keyboard"]
EMOJI = {1: ["😡", "👎", "💩"], 2: ["😕", "🙁"], 3: ["😐", "🤷"], 4: ["🙂", "👍"], 5: ["😍", "🤩", "⭐⭐⭐⭐⭐"]}
FILLER = ["anyway", "honestly", "so yeah", "long story short", "tbh", "fwiw", "lol"]


def messy(text: str, rng: random.Random) -> str:
    words = text.split()
    out = []
    for word in words:
        roll = rng.random()
        if roll < 0.08 and len(word) > 3:  # typo: swap two letters
            i = rng.randrange(len(word) - 1)
            word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif roll < 0.15:
            word = word.upper()
        out.append(word)
    sep = rng.choice([" ", " ", " ", "  ", " \t"])
    return rng.choice(["", " ", "\n"]) + sep.join(out) + rng.choice(["", "!!", "...", " ?", "\n"])


def review(rng: random.Random) -> tuple[str, float]:
    rating, phrases = rng.choice(OPINIONS)
    item = rng.choice(ITEMS)
    parts = [f"the {item}: {rng.choice(phrases)}"]
    if rng.random() < 0.5:
        parts.append(rng.choice(phrases))
    if rng.random() < 0.4:
        parts.append(rng.choice(EMOJI[rating]))
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(FILLER))
    text = ", ".join(parts)
    if rng.random() < 0.04:  # a long ramble: past MiniLM's 256 tokens, so it is truncated
        text = " ".join([text] + [rng.choice(FILLER) + " " + rng.choice(phrases) for _ in range(120)])
    return messy(text, rng), rating + rng.gauss(0, 0.15)


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label", "shop"])
        for i in range(count):
            rng = random.Random(i)
            text, label = review(rng)
            label_text = f"{label:.3f}"
            if i == 5:
                text = ""
            elif i == 11:
                text = "   \t  "
            elif i == 17:
                text = "\x07\x01\x02"  # no token survives BERT's text cleaning
            elif i == 23:
                label_text = "n/a"
            writer.writerow([f"review{i:05d}", text, label_text, f"shop{i % 5}"])


if __name__ == "__main__":
    main()
