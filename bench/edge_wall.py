"""Wall time of the Edge engine vs. edge-tts's own CLI, against the local fake service.

Usage: python bench/edge_wall.py [--chars 581] [--latency 0.3] [--out /tmp/h-edge/FIGURES.md]

Takes the first 581 characters of examples/six-party-talks.txt (newlines removed), splits
them at 。！？ into sentences (one chunk each), and times, in one run, against
``tests/fake_edge.py`` with ``--latency`` seconds of service latency per request:

1. ours, concurrent: ``EdgeEngine(concurrency=6).synthesize(chunks)``;
2. ours, one at a time: ``EdgeEngine(concurrency=1)`` (same process, same client code:
   isolates what concurrency buys);
3. edge-tts's CLI, chunk after chunk, one process per chunk, as a shell script would do.

The edge-tts CLI cannot be pointed at another endpoint: it reads the URL from
``edge_tts.communicate.WSS_URL``, fixed at import (there is no option or variable).
So each chunk runs ``python -c "<set edge_tts.communicate.WSS_URL from
$BULLETIN_EDGE_WSS_URL>; edge_tts.util.main()" --voice ... --text ... --write-media ...``
with ``NO_PROXY=127.0.0.1,localhost`` in its environment: the real CLI code path
(argument parsing, Communicate, writing the file), only the endpoint patched.
Every output is checked to hold the full audio (same seconds as ours).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(ROOT / "tests"))  # the fake service lives with the tests

from fake_edge import FakeEdgeServer  # noqa: E402

from bulletin.engines.base import VoiceSettings  # noqa: E402
from bulletin.engines.edge.engine import EdgeEngine, mp3_duration  # noqa: E402

VOICE = VoiceSettings(engine="edge", voice="zh-CN-XiaoxiaoNeural")
CLI_SHIM = (
    "import os, edge_tts.communicate, edge_tts.util; "
    "edge_tts.communicate.WSS_URL = os.environ['BULLETIN_EDGE_WSS_URL']; "
    "edge_tts.util.main()"
)


def sample_chunks(chars: int, clause_chars: int = 0) -> list[str]:
    """The sample's first ``chars`` characters (newlines removed), one chunk per sentence.

    With ``clause_chars``, sentences longer than that are cut at ，into packs of clauses
    of at most that many characters (as a chunker with a small limit would).
    """
    text = (ROOT / "examples" / "six-party-talks.txt").read_text(encoding="utf-8")
    text = text.replace("\r", "").replace("\n", "")[:chars]
    sentences = [s for s in re.split(r"(?<=[。！？])", text) if s.strip()]
    if not clause_chars:
        return sentences
    chunks: list[str] = []
    for sentence in sentences:
        current = ""
        for clause in re.split(r"(?<=，)", sentence):
            if current and len(current) + len(clause) > clause_chars:
                chunks.append(current)
                current = ""
            current += clause
        if current:
            chunks.append(current)
    return chunks


def time_ours(chunks: list[str], concurrency: int) -> tuple[float, float]:
    """(wall seconds, audio seconds) for our engine."""
    engine = EdgeEngine(concurrency=concurrency)
    t0 = time.perf_counter()
    clips = engine.synthesize(chunks, VOICE)
    wall = time.perf_counter() - t0
    return wall, sum(mp3_duration(c.data) for c in clips)


def time_cli(chunks: list[str], env: dict[str, str], workdir: Path) -> tuple[float, float]:
    """(wall seconds, audio seconds) for the edge-tts CLI, one process per chunk, in turn."""
    audio = 0.0
    t0 = time.perf_counter()
    for i, chunk in enumerate(chunks):
        out = workdir / f"cli-{i:03d}.mp3"
        subprocess.run(
            [
                sys.executable,
                "-c",
                CLI_SHIM,
                "--voice",
                VOICE.voice,
                "--text",
                chunk,
                "--write-media",
                str(out),
                "--no-progress",
            ],
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
        )
        audio += mp3_duration(out.read_bytes())
    return time.perf_counter() - t0, audio


def measure(srv: FakeEdgeServer, chunks: list[str], env: dict[str, str], workdir: Path) -> dict[str, float]:
    """Time the three runs on one chunking; checks each made one request a chunk, full audio."""
    srv.reset()
    ours_wall, ours_audio = time_ours(chunks, concurrency=6)
    ours_requests, peak = srv.requests, srv.max_in_flight
    srv.reset()
    seq_wall, seq_audio = time_ours(chunks, concurrency=1)
    srv.reset()
    cli_wall, cli_audio = time_cli(chunks, env, workdir)
    cli_requests = srv.requests
    assert ours_requests == cli_requests == len(chunks), (ours_requests, cli_requests)
    assert abs(ours_audio - cli_audio) < 0.01 and abs(seq_audio - cli_audio) < 0.01, (ours_audio, cli_audio)
    return {
        "ours": ours_wall,
        "seq": seq_wall,
        "cli": cli_wall,
        "audio": ours_audio,
        "peak": peak,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=581)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--clause-chars", type=int, default=40, help="second chunking: clauses packed to N chars")
    ap.add_argument("--out", type=Path, default=Path("/tmp/h-edge/FIGURES.md"))
    args = ap.parse_args()

    chunkings = {
        "sentences (split at 。！？)": sample_chunks(args.chars),
        f"clauses (sentences over {args.clause_chars} chars cut at ，)": sample_chunks(
            args.chars, args.clause_chars
        ),
    }
    results: dict[str, dict[str, float]] = {}
    with FakeEdgeServer(latency=0.0) as srv, tempfile.TemporaryDirectory() as tmp:
        os.environ["BULLETIN_EDGE_WSS_URL"] = srv.wss_url
        os.environ["BULLETIN_EDGE_VOICES_URL"] = srv.voices_url
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        for chunks in chunkings.values():  # warm-up: the fake encodes (and caches) its MP3s
            EdgeEngine().synthesize(chunks, VOICE)
        srv.latency = args.latency
        for name, chunks in chunkings.items():
            results[name] = measure(srv, chunks, env, Path(tmp))

    lines = [
        "# Edge engine wall time (fake Edge service on 127.0.0.1)",
        "",
        f"Input: first {args.chars} characters of examples/six-party-talks.txt, newlines removed; "
        f"{args.latency * 1000:.0f} ms service latency per request; audio 0.2 s a spoken character; "
        f"{os.cpu_count()} cores. One request per chunk in every run; every run's audio has the "
        "same total length.",
        "",
        "| chunking | chunks | audio (s) | ours, concurrency 6 (s) | ours, concurrency 1 (s) "
        "| edge-tts CLI, chunk after chunk (s) | CLI / ours (concurrent) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        n = len(chunkings[name])
        lines.append(
            f"| {name} | {n} | {r['audio']:.1f} | {r['ours']:.2f} | {r['seq']:.2f} | {r['cli']:.2f} "
            f"| **{r['cli'] / r['ours']:.1f}x** |"
        )
    lines += [
        "",
        "Peak concurrent requests seen by the server (ours, concurrency 6): "
        + ", ".join(f"{int(r['peak'])}" for r in results.values())
        + ".",
        "",
        'edge-tts CLI was run once per chunk as `python -c "import os, edge_tts.communicate, '
        "edge_tts.util; edge_tts.communicate.WSS_URL = os.environ['BULLETIN_EDGE_WSS_URL']; "
        'edge_tts.util.main()" --voice zh-CN-XiaoxiaoNeural --text <chunk> --write-media <file> '
        "--no-progress` with NO_PROXY=127.0.0.1,localhost: the CLI has no option or variable for "
        "its endpoint (it uses edge_tts.communicate.WSS_URL, fixed at import). Its time includes "
        "Python start-up and import per chunk (that is what a shell loop over the CLI costs); "
        "'ours, concurrency 1' shows the same client without that cost and without concurrency.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
