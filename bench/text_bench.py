"""Throughput of the text pipeline (read → repair → dedupe → normalize → chunk) on messy text.

Not a test: run it by hand, on a quiet machine if you can, and compare the figures as
ratios within one run (the machines are shared and noisy).

    python bench/text_bench.py            # 1 MB and 10 MB
    python bench/text_bench.py --sizes 1 2 4 8
    python bench/text_bench.py --nasty   # number-like runs: time grows with length, not its square

Generated input looks like pasted wire copy: sentences built from the sample story's
clauses, each opened by a random two- or three-character name, with varying numbers
(so most are unique), whole paragraphs pasted twice, lines
hard-wrapped every 32 characters (cutting numbers), CRLF line ends in half the stories.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bulletin.text.chunk import plan_chunks  # noqa: E402
from bulletin.text.pipeline import plan, prepare  # noqa: E402

SAMPLE = ROOT / "examples" / "six-party-talks.txt"


def _name(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 3)))


def messy_text(target_bytes: int, seed: int = 1) -> str:
    """About ``target_bytes`` of UTF-8 wire copy with repeats, hard wraps and CRLFs."""
    rng = random.Random(seed)
    story = SAMPLE.read_text(encoding="utf-8").replace("\n", "")[:581]
    clauses = [c for c in re.split(r"[，。]", story) if c]
    out: list[str] = []
    size = 0
    while size < target_bytes:
        sentences = []
        for _ in range(rng.randint(3, 8)):
            # the sample's clauses, each opened by a random name or place (2-3 characters), so
            # that 10 MB of text is not 10 MB of the same thirty clauses reshuffled
            parts = [_name(rng) + c for c in rng.sample(clauses, rng.randint(2, 4))]
            parts.insert(
                rng.randrange(len(parts)),
                f"{rng.randint(1, 99999)}號{rng.randint(1, 99)}.{rng.randint(0, 9)}%",
            )
            sentences.append("，".join(parts) + "。")
        paragraph = "".join(sentences)
        if rng.random() < 0.3:
            paragraph += paragraph  # pasted twice
        if rng.random() < 0.2:
            paragraph += sentences[0][: rng.randint(3, 12)]  # a paste cut off mid-sentence
        lines = [paragraph[i : i + 32] for i in range(0, len(paragraph), 32)]
        newline = "\r\n" if rng.random() < 0.5 else "\n"
        block = newline.join(lines) + newline + newline
        out.append(block)
        size += len(block.encode("utf-8"))
    return "".join(out)


def measure(path: Path) -> tuple[float, float, int]:
    """Seconds for clean+chunk (the text stages), and for the same plus normalization."""
    start = time.perf_counter()
    clean = prepare([path])
    chunks = plan_chunks([list(s) for s in clean.stories], 300)
    text_only = time.perf_counter() - start
    start = time.perf_counter()
    clean = prepare([path])
    spoken = plan(clean, 300)
    assert len(spoken) >= len(chunks)
    return text_only, time.perf_counter() - start, len(chunks)


def nasty_runs() -> None:
    """Runs that could hide a quadratic corner in the number reader: 10x longer must cost ~10x."""
    from bulletin.text.normalize import to_spoken

    for unit in ("1-", "1:", "a@", "一", "1"):
        times = []
        for n in (10_000, 100_000):
            start = time.perf_counter()
            to_spoken(unit * n + "○")
            times.append(time.perf_counter() - start)
        print(
            f"{unit!r:>6} x10k {times[0]:6.3f} s  x100k {times[1]:6.3f} s  ratio {times[1] / times[0]:5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10], help="sizes in MB")
    parser.add_argument("--nasty", action="store_true", help="time pathological number-like runs instead")
    args = parser.parse_args()
    if args.nasty:
        nasty_runs()
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.sizes:
            path = Path(tmp) / f"messy-{mb}MB.txt"
            path.write_text(messy_text(int(mb * 1_000_000)), encoding="utf-8", newline="")
            nbytes = path.stat().st_size
            runs = [measure(path) for _ in range(3)]
            seconds = min(r[0] for r in runs)
            with_norm = min(r[1] for r in runs)
            chunks = runs[0][2]
            rows.append((nbytes, seconds, with_norm))
            mb = nbytes / 1e6
            print(
                f"{mb:6.2f} MB  clean+chunk {seconds:6.3f} s = {mb / seconds:5.2f} MB/s   "
                f"+normalize {with_norm:6.3f} s = {mb / with_norm:5.2f} MB/s   {chunks} chunks"
            )
    if len(rows) > 1:
        (b0, s0, n0), (b1, s1, n1) = rows[0], rows[-1]
        print(
            f"size ratio {b1 / b0:.1f}x; time ratio clean+chunk {s1 / s0:.1f}x, +normalize {n1 / n0:.1f}x "
            "(linear when they match the size ratio)"
        )


if __name__ == "__main__":
    main()
