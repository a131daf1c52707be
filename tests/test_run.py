"""The run as a library call: ``run_build`` handed an in-memory engine, folders and a clock.

These test the run's sequence (engine choice, plan, streaming into assembly, publishing,
skip-unchanged) on real audio without a network or a model; loudness passes are skipped
(``normalize=False``) where loudness is not what is tested (test_assemble.py tests it).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from memory_engine import MemoryEngine
from mp3_duration import probe_duration
from mutagen.id3 import ID3

from bulletin.audio.settings import EncodeOptions
from bulletin.cli import build_options
from bulletin.environment import Dirs
from bulletin.errors import ConfigError, SynthesisError
from bulletin.run.build import run_build
from bulletin.run.dry_run import dry_run_plan
from bulletin.run.options import (
    DEFAULTS,
    BuildOptions,
    OutputOptions,
    PublishOptions,
    SourceOptions,
    VoiceOptions,
)

FIXED = datetime(2026, 11, 26, 21, 0, tzinfo=timezone.utc)
QUICK = EncodeOptions(normalize=False)


def options(
    *articles: Path, output: str | None = None, report: str | None = None, engine: str = "auto"
) -> BuildOptions:
    return BuildOptions(
        sources=SourceOptions(articles=tuple(str(a) for a in articles)),
        voice=VoiceOptions(engine=engine),
        output=OutputOptions(path=output, encode=QUICK),
        publish=PublishOptions(report=report),
    )


def build(opts: BuildOptions, tmp_path: Path, engine: MemoryEngine | None = None):
    engine = engine or MemoryEngine()
    report = run_build(opts, engine=engine, dirs=Dirs.under(tmp_path / "dirs"), clock=lambda: FIXED)
    return report, engine


def test_the_engine_says_every_chunk_once_in_order(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    report, engine = build(options(sample, output=str(out)), tmp_path)
    planned = dry_run_plan(options(sample), engine=MemoryEngine())
    assert engine.texts == [c["spoken"] for c in planned["chunks"]]
    assert report.exit_status == 0 and report.engine_used == "memory"
    assert report.chunks.synthesized == len(engine.texts) and report.chunks.cached == 0
    speech = sum(engine.seconds_for(t) for t in engine.texts)
    duration = probe_duration(out)
    assert speech < duration < speech + 0.35 * len(engine.texts) + 3
    assert report.output.duration_seconds == pytest.approx(duration, abs=0.1)
    assert ID3(out)["TIT2"].text[0].startswith("國際高度關注")


def test_clips_stream_into_assembly_in_batches(tmp_path: Path) -> None:
    """Memory does not grow with the bulletin: the engine works in batches, clips are let go."""
    article = tmp_path / "long.txt"
    article.write_text(
        "".join(f"第{n}號公報指出，今年第{n}季的出口增加了{n}成。" for n in range(1, 301)), "utf-8"
    )
    report, engine = build(options(article, output=str(tmp_path / "long.mp3")), tmp_path)
    assert report.chunks.synthesized == len(engine.texts) >= 300
    assert max(engine.batches) <= 24
    assert engine.most_alive < 120  # far fewer than the chunks: clips do not pile up


def test_folders_and_clock_are_the_callers(sample: Path, tmp_path: Path) -> None:
    template = str(tmp_path / "pub" / "{date:%Y%m%d-%H%M}.mp3")
    report, _ = build(options(sample, output=template), tmp_path)
    assert report.output.path == str(tmp_path / "pub" / "20261126-2100.mp3")
    assert any((tmp_path / "dirs" / "cache").rglob("*.clip"))
    assert any((tmp_path / "dirs" / "state").rglob("*.json"))
    # the same run again is unchanged: nothing said, nothing written
    again, engine = build(options(sample, output=template), tmp_path)
    assert again.skipped_unchanged == report.output.path and engine.texts == []


def test_cached_chunks_are_not_said_again(sample: Path, tmp_path: Path) -> None:
    first, _ = build(options(sample, output=str(tmp_path / "a.mp3")), tmp_path)
    second, engine = build(options(sample, output=str(tmp_path / "b.mp3")), tmp_path)
    assert engine.texts == [] and second.chunks.cached == first.chunks.synthesized
    assert (tmp_path / "b.mp3").read_bytes() == (tmp_path / "a.mp3").read_bytes()


def test_a_failing_engine_publishes_nothing_and_the_report_says_why(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    out.write_bytes(b"old bulletin")
    engine = MemoryEngine(fail_on="外交通商次長")
    opts = options(sample, output=str(out), report=str(tmp_path / "r.json"))
    with pytest.raises(SynthesisError, match=r"^chunk \d+ \("):
        build(opts, tmp_path, engine)
    assert out.read_bytes() == b"old bulletin"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    report = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert report["exit_status"] == 1 and "外交通商次長" in report["errors"][0]


def test_unknown_option_names_are_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown build option"):
        build_options(["a.txt"], bogus_option=1)


def test_defaults_are_written_once() -> None:
    opts = build_options(["a.txt"])
    assert opts == BuildOptions(sources=SourceOptions(articles=("a.txt",)))
    assert DEFAULTS.output.encode.loudness == -16.0 and DEFAULTS.voice.concurrency == 6
    assert DEFAULTS.publish.feed_keep == 20


def test_dry_run_and_build_choose_the_same_engine_and_voice(sample: Path, tmp_path: Path) -> None:
    plan = dry_run_plan(options(sample, engine="offline"))
    assert plan["engine"] == "offline" and plan["voice"] == "zm_yunxi" and plan["limit"] == 100
    edge = dry_run_plan(options(sample))
    assert edge["engine"] == "edge" and edge["voice"] == "zh-TW-HsiaoChenNeural" and edge["limit"] == 300


def test_auto_falls_back_to_offline_when_edge_fails_for_good_then_returns(
    sample: Path, tmp_path: Path
) -> None:
    """One bulletin, one engine: Edge failing mid-run hands the whole bulletin to the offline voice."""
    made: dict[str, MemoryEngine] = {}
    down = True

    def engines(name: str) -> MemoryEngine:
        made[name] = MemoryEngine(fail_on="" if name == "edge" and down else None, name=name)
        return made[name]

    out = tmp_path / "o.mp3"
    dirs = Dirs.under(tmp_path / "dirs")
    opts = options(sample, output=str(out))
    report = run_build(opts, engines=engines, dirs=dirs, clock=lambda: FIXED)
    assert report.engine_used == "offline" and "Edge failed" in (report.fallback_reason or "")
    assert made["offline"].texts and not made["edge"].texts
    assert report.chunks.synthesized == len(made["offline"].texts)
    down = False
    again = run_build(opts, engines=engines, dirs=dirs, clock=lambda: FIXED)
    assert again.skipped_unchanged is None  # a fallback bulletin is redone once Edge is back
    assert again.engine_used == "edge" and made["edge"].texts
    # the plan is the engine's own: a caller's engine gets its chunk limit, not bulletin's Edge's
    assert max(len(t) for t in made["edge"].texts) <= MemoryEngine.max_chunk_chars < 300


def test_failure_names_the_bulletins_chunk_number(sample: Path, tmp_path: Path) -> None:
    """Engines count within the batch they are given; the message counts the bulletin."""
    build(options(sample, output=str(tmp_path / "a.mp3")), tmp_path)
    longer = tmp_path / "longer.txt"
    longer.write_text(sample.read_text(encoding="utf-8") + "\n\n新的句子在這裡。\n", encoding="utf-8")
    engine = MemoryEngine(fail_on="新的句子")
    with pytest.raises(SynthesisError) as failed:
        build(options(longer, output=str(tmp_path / "b.mp3")), tmp_path, engine)
    chunks = dry_run_plan(options(longer), engine=MemoryEngine())["chunks"]
    assert f"chunk {len(chunks) - 1} (新的句子在這裡。)" in str(failed.value)
    assert engine.batches == [1]  # only the new chunk was asked for: the rest came from the cache


def test_temp_folders_of_killed_runs_are_swept(sample: Path, tmp_path: Path, monkeypatch) -> None:
    """What a run killed with SIGKILL left in the temp folder is removed by the next run (issue 12, 4)."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(gone.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        leftovers = {
            "dead": temp / f"bulletin-{dead}-asm-abc",
            "alive": temp / f"bulletin-{alive.pid}-asm-def",
            "old style, old": temp / "bulletin-asm-old",
            "old style, new": temp / "bulletin-asm-new",
            "not ours": temp / "other-asm-x",
        }
        for folder in leftovers.values():
            folder.mkdir()
            (folder / "bulletin.raw").write_bytes(b"\0" * 1000)
        hours_ago = time.time() - 7200
        os.utime(leftovers["old style, old"], (hours_ago, hours_ago))
        build(options(sample, output=str(tmp_path / "o.mp3")), tmp_path)
        assert {k for k, v in leftovers.items() if v.exists()} == {"alive", "old style, new", "not ours"}
        assert not [p for p in temp.iterdir() if p.name.startswith(f"bulletin-{os.getpid()}-")]
    finally:
        alive.kill()
        alive.wait()
