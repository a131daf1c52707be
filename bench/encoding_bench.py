"""How often encoding detection gets short articles right, and what it costs on a big file.

Not a test (tests/test_encodings.py is): run it by hand to compare detectors.

    python bench/encoding_bench.py

Items: the short-news corpus of the tests (one item a file, then two items a file) and every
sentence of the sample story (Traditional) on its own; each in every encoding that holds it.
A decoding is right when it gives back the text, wrong when it gives other text (mojibake
read aloud), refused when no encoding is found. The old detector (charset-normalizer,
restricted to the Chinese encodings as bulletin used it before issue 12) is compared when
that package is installed (`pip install charset-normalizer`).
"""

from __future__ import annotations

import collections
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bulletin.text.detect import detect  # noqa: E402

ENCODINGS = ("gb18030", "gbk", "gb2312", "big5", "cp950")
OLD_CANDIDATES = ["gb18030", "big5", "big5hkscs", "cp950", "utf_16", "utf_8"]


def new(data: bytes) -> str | None:
    found = detect(data)
    return found and found[0]


def old(data: bytes) -> str | None:
    import charset_normalizer

    best = charset_normalizer.from_bytes(data, cp_isolation=OLD_CANDIDATES).best()
    return None if best is None else str(best)


def item_sets() -> dict[str, list[str]]:
    corpus = (ROOT / "tests" / "data" / "short_news.txt").read_text(encoding="utf-8")
    items = [line for line in corpus.splitlines() if line.strip() and not line.startswith("#")]
    sample = (ROOT / "examples" / "six-party-talks.txt").read_text(encoding="utf-8")
    sentences = sorted(
        {s.strip() for s in re.findall(r"[^。！？\n]+[。！？]?", sample) if len(s.strip()) >= 4}
    )
    return {
        "corpus, one item a file": [item + "\n" for item in items],
        "corpus, two items a file": [
            a + "\n" + b + "\n" for a, b in zip(items, items[1:] + items[:1], strict=True)
        ],
        "sample sentences, one a file": sentences,
    }


def measure(detector: Callable[[bytes], str | None], texts: list[str]) -> dict[str, collections.Counter]:
    counts: dict[str, collections.Counter] = {}
    for encoding in ENCODINGS:
        counter: collections.Counter = collections.Counter()
        for text in texts:
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:
                continue
            got = detector(data)
            counter["right" if got == text else "refused" if got is None else "wrong"] += 1
        counts[encoding] = counter
    return counts


def main() -> None:
    detectors: list[Callable[[bytes], str | None]] = [new]
    try:
        import charset_normalizer  # noqa: F401

        detectors.insert(0, old)
    except ImportError:
        print("(charset-normalizer is not installed: the old detector is not compared)")
    for name, texts in item_sets().items():
        print(f"\n{name} ({len(texts)} texts)")
        for detector in detectors:
            counts = measure(detector, texts)
            cells = []
            for encoding, c in counts.items():
                total = sum(c.values())
                cells.append(f"{encoding} {c['right']}/{total} (wrong {c['wrong']}, refused {c['refused']})")
            print(f"  {detector.__name__}: " + "; ".join(cells))
    story = (ROOT / "examples" / "six-party-talks.txt").read_text(encoding="utf-8")
    big = (story * 4000).encode("gb18030")[: 16 * 1024 * 1024 - 8]
    big = big[: big.rfind("。".encode("gb18030")) + 2]
    start = time.perf_counter()
    _, encoding = detect(big)
    print(f"\n{len(big) / 1e6:.1f} MB of GB18030: detected {encoding} in {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
