"""Chunk cache: a second, identical Edge build must be ≥10× faster and send no request.

Usage: python bench/cache_bench.py [--latency 0.3] [--input ARTICLE...]
                                   [--out /tmp/h-bench/CACHE.md]

Starts the local fake Edge service (``tests/fake_edge.py``, ``--latency`` seconds per
request as the real service has, default seconds per character), points the CLI at it
(``BULLETIN_EDGE_WSS_URL``/``BULLETIN_EDGE_VOICES_URL``) with a fresh temporary
``BULLETIN_CACHE_DIR`` and ``BULLETIN_STATE_DIR``, and runs, as a subprocess each time
(so interpreter start-up and imports are counted, as a user or cron sees them)::

    python -m bulletin build INPUT --engine edge -o OUT.mp3 --report rN.json

(a) cold: empty cache, every chunk synthesized;
(b) the same plus ``--force``: the "unchanged, nothing to do" shortcut is bypassed, so
    every chunk has to come from the chunk cache, and the whole assembly runs again;
(c) the same without ``--force``: the unchanged shortcut.

Prints the wall time of each run, the server's request count after each (must not grow
on (b) and (c)), the ratios (a)/(b) and (a)/(c), and the per-stage durations from each
run's ``--report`` JSON, so a missed target shows where the time goes. Run (c) is the
floor of any CLI run (start-up, imports, reading, fingerprint). Compare ratios within
one run: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake service lives with the tests

from fake_edge import FakeEdgeServer  # noqa: E402

TARGET = 10.0


def run_build(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, exit status, stderr) of one CLI run."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - t0, proc.returncode, proc.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--input", nargs="+", default=["examples/six-party-talks.txt"], help="one or more articles"
    )
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/h-bench/CACHE.md"))
    args = ap.parse_args()

    rows: list[dict[str, object]] = []
    with FakeEdgeServer(latency=args.latency) as srv, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "BULLETIN_EDGE_WSS_URL": srv.wss_url,
            "BULLETIN_EDGE_VOICES_URL": srv.voices_url,
            "BULLETIN_CACHE_DIR": str(work / "cache"),
            "BULLETIN_STATE_DIR": str(work / "state"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        out = work / "OUT.mp3"
        base = ["build", *args.input, "--engine", "edge", "-o", str(out)]
        for label, extra in (
            ("(a) cold cache", []),
            ("(b) --force, warm chunk cache", ["--force"]),
            ("(c) unchanged shortcut", []),
        ):
            report = work / f"report-{len(rows)}.json"
            wall, status, stderr = run_build([*base, *extra, "--report", str(report)], env)
            if status != 0:
                print(stderr, file=sys.stderr)
                raise SystemExit(f"{label}: exit status {status}")
            data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
            rows.append(
                {
                    "label": label,
                    "wall": wall,
                    "requests": srv.requests,
                    "chunks": data.get("chunks", {}),
                    "durations": data.get("durations", {}),
                    "skipped": data.get("skipped_unchanged"),
                    "size": out.stat().st_size if out.exists() else 0,
                }
            )
            print(f"{label:32s} wall {wall:6.2f} s  server requests so far {srv.requests}", flush=True)

    a, b, c = (float(r["wall"]) for r in rows)  # type: ignore[arg-type]
    grew_b = rows[1]["requests"] != rows[0]["requests"]
    grew_c = rows[2]["requests"] != rows[1]["requests"]
    met = a / b >= TARGET and not grew_b and not grew_c
    stages = sorted({k for r in rows for k in r["durations"]})  # type: ignore[union-attr]
    lines = [
        "# Chunk cache benchmark (fake Edge service on 127.0.0.1)",
        "",
        f"Input: {' '.join(args.input)}; {args.latency * 1000:.0f} ms service latency per request; "
        f"{os.cpu_count()} cores. Each run is a fresh `python -m bulletin build ... --engine edge` "
        "process; server requests are counted after each run.",
        "",
        "| run | wall (s) | server requests after | chunks synthesized / cached | (a) / this |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ch = r["chunks"] or {}
        lines.append(
            f"| {r['label']} | {float(r['wall']):.2f} | {r['requests']} "  # type: ignore[arg-type]
            f"| {ch.get('synthesized', '-')} / {ch.get('cached', '-')} "  # type: ignore[union-attr]
            f"| {a / float(r['wall']):.1f}x |"  # type: ignore[arg-type]
        )
    lines += [
        "",
        "Per-stage seconds from each run's `--report` (`durations`):",
        "",
        "| stage | " + " | ".join(str(r["label"]) for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for stage in stages:
        cells = []
        for r in rows:
            v = r["durations"].get(stage)  # type: ignore[union-attr]
            cells.append(f"{v:.2f}" if isinstance(v, (int, float)) else "-")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Target: (a)/(b) ≥ {TARGET:.0f}x with no synthesis request on (b) and (c). "
        f"Got (a)/(b) = **{a / b:.1f}x**, (a)/(c) = **{a / c:.1f}x**; requests grew on (b): "
        f"{'yes' if grew_b else 'no'}, on (c): {'yes' if grew_c else 'no'}. "
        f"**{'MET' if met else 'NOT MET'}**.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0 if not (grew_b or grew_c) else 1


if __name__ == "__main__":
    raise SystemExit(main())
