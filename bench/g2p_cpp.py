"""Polyphones in context: the offline frontend's accuracy on CPP dev, and its speed.

CPP (Chinese Polyphones with Pinyin, from the g2pM paper) marks one polyphonic
character per sentence (``▁了▁``) and gives its dictionary reading. This reads every
sentence with :class:`bulletin.engines.reading.Reader` (dictionary tones, no
sandhi, as the labels are) and counts the marked characters read right: on the
Simplified sentences as given, and on the same sentences converted to Traditional
(OpenCC ``s2t``; sentences whose length changes are left out, so positions still match).
Then it times the frontend over the whole set, model already loaded, one thread:
characters per second read one sentence at a time (as the offline engine reads its
chunks; dictionary tones, then with sandhi), and all sentences as one batch (as
``bulletin pronounce`` reads lines; the network runs 64 texts per step).

    python bench/g2p_cpp.py [--data ../shared/data/cpp] [--limit N] [--errors FILE] [--baseline]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bulletin.engines.reading import Reader  # noqa: E402

MARK = "\u2581"


def load(folder: Path, limit: int | None) -> list[tuple[str, int, str]]:
    sentences = (folder / "dev.sent").read_text(encoding="utf-8").splitlines()
    labels = (folder / "dev.lb").read_text(encoding="utf-8").splitlines()
    items = []
    for sentence, label in zip(sentences, labels, strict=True):
        at = sentence.index(MARK)
        items.append((sentence.replace(MARK, ""), at, label.strip().replace("u:", "v")))
    return items[:limit] if limit else items


def accuracy(
    reader: Reader, items: list[tuple[str, int, str]], errors: list[str] | None, polyphones: bool = True
) -> float:
    right = 0
    for text, at, label in items:
        reading = reader.read(text, sandhi=False, polyphones=polyphones)[at]
        got = reading.syllables[0] if reading.syllables else None
        right += got == label
        if errors is not None and got != label:
            errors.append(f"{text[:at]}[{text[at]}]{text[at + 1 :]}\t{label}\t{got}")
    return right / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "cpp")
    parser.add_argument("--limit", type=int, help="only the first N sentences")
    parser.add_argument("--errors", type=Path, help="write the misread characters here")
    parser.add_argument("--baseline", action="store_true", help="also pypinyin alone (no network)")
    args = parser.parse_args()
    import opencc

    simplified = load(args.data, args.limit)
    s2t = opencc.OpenCC("s2t")
    traditional = []
    for text, at, label in simplified:
        converted = s2t.convert(text)
        if len(converted) == len(text):
            traditional.append((converted, at, label))
    reader = Reader()
    reader.read("预热一下模型。")  # load the network before timing anything
    errors: list[str] | None = [] if args.errors else None
    simp = accuracy(reader, simplified, errors)
    trad = accuracy(reader, traditional, errors)
    if args.errors and errors is not None:
        args.errors.write_text("\n".join(errors) + "\n", encoding="utf-8")
    chars = sum(len(t) for t, _, _ in simplified)
    rates = []
    for sandhi in (False, True):  # one text at a time, as the offline engine reads its chunks
        started = time.perf_counter()
        for text, _, _ in simplified:
            reader.read(text, sandhi=sandhi)
        rates.append(chars / (time.perf_counter() - started))
    started = time.perf_counter()  # in batches, as bulletin pronounce reads lines
    reader.read_many([t for t, _, _ in simplified], sandhi=True)
    rates.append(chars / (time.perf_counter() - started))
    print(f"CPP dev, {len(simplified)} sentences ({len(traditional)} in Traditional), {chars} characters")
    print(f"Simplified  accuracy {simp:.2%}")
    print(f"Traditional accuracy {trad:.2%}")
    if args.baseline:
        plain = [accuracy(reader, items, None, polyphones=False) for items in (simplified, traditional)]
        print(
            f"pypinyin alone (its words, no network): Simplified {plain[0]:.2%}, Traditional {plain[1]:.2%}"
        )
    print(f"speed, one text at a time: {rates[0]:,.0f} chars/s (dictionary tones), {rates[1]:,.0f} (sandhi)")
    print(f"speed, all texts as one batch (sandhi): {rates[2]:,.0f} chars/s")
    print(f"one thread; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
