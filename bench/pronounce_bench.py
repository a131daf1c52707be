"""``bulletin pronounce`` on large inputs: linear time, memory independent of the input (issue 23).

Not a test: run it by hand from the repository root with the project's venv.

    python bench/pronounce_bench.py                 # 1 MB and 17 MB of text on stdin
    python bench/pronounce_bench.py --sizes 1 4     # other sizes, in MB

The input is ``bench/pronounce_sentences.txt`` (names, places, polyphones, numbers) line
after line, each line numbered (``1234. 重慶市政府…``, so the numbers read out differ), up to
the size asked. Each size is run as ``bulletin pronounce -`` in a child process of its own,
stdout thrown away; measured: wall time, characters per second, and the child's peak
resident memory. The start-up (Python, the models) is measured on a one-line input and
shown apart. The issue's targets: the largest input's throughput within 2x of the 1 MB
input's, and its peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ROOT / "bench" / "pronounce_sentences.txt"
#: Targets from issue 23.
MAX_SLOWDOWN = 2.0
MAX_PEAK_MB = 300.0


def make_input(path: Path, size: int) -> tuple[int, int]:
    """Write about ``size`` bytes of numbered sentences to ``path``: (lines, characters)."""
    sentences = [s for s in SENTENCES.read_text(encoding="utf-8").splitlines() if s.strip()]
    lines = chars = written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while written < size:
            line = f"{lines + 1}. {sentences[lines % len(sentences)]}\n"
            out.write(line)
            lines += 1
            chars += len(line) - 1
            written += len(line.encode("utf-8"))
    return lines, chars


def run(path: Path) -> tuple[float, float, int]:
    """Wall seconds, peak MB and exit code of ``bulletin pronounce -`` reading ``path``."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "with open(sys.argv[1], 'rb') as stdin:\n"
        "    rc = subprocess.call(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - start\n"
        "print(rc, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path), sys.executable, "-m", "bulletin", "pronounce", "-"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    rc, wall, peak = done.stdout.split()
    return float(wall), float(peak), int(rc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 17], help="input sizes in MB")
    args = parser.parse_args()
    assert resource.getrlimit(resource.RLIMIT_AS)  # peak RSS of the child (Unix)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pronounce-bench-") as tmp:
        one = Path(tmp) / "one.txt"
        one.write_text("重慶銀行行長說。\n", encoding="utf-8")
        startup, startup_peak, _ = run(one)
        print(f"start-up (one line): {startup:.1f} s, peak {startup_peak:.0f} MB", flush=True)
        for mb in args.sizes:
            path = Path(tmp) / f"{mb:g}.txt"
            lines, chars = make_input(path, int(mb * 1_000_000))
            wall, peak, rc = run(path)
            rate = chars / max(wall - startup, 1e-9)
            rows.append((mb, lines, chars, wall, rate, peak, rc))
            print(
                f"{mb:g} MB: {lines:,} lines, {chars:,} characters, {wall:.1f} s, "
                f"{rate:,.0f} characters/s after start-up, peak {peak:.0f} MB, exit {rc}",
                flush=True,
            )
            path.unlink()
    print()
    print("| input | lines | characters | wall | characters/s (after start-up) | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|")
    for mb, lines, chars, wall, rate, peak, _ in rows:
        print(f"| {mb:g} MB | {lines:,} | {chars:,} | {wall:.1f} s | {rate:,.0f} | {peak:.0f} MB |")
    first, last = rows[0], rows[-1]
    slowdown = first[4] / last[4]
    ok = slowdown <= MAX_SLOWDOWN and last[5] < MAX_PEAK_MB and all(r[6] == 0 for r in rows)
    print()
    print(
        f"throughput {first[0]:g} MB / {last[0]:g} MB: {slowdown:.2f}x (target <= {MAX_SLOWDOWN:g}x); "
        f"peak {last[5]:.0f} MB (target < {MAX_PEAK_MB:g} MB): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
