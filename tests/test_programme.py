"""Programmes (issue 10), end to end through the CLI, checked on the decoded audio.

The voice is the fake Edge server (real edge-tts client, real sockets) speaking at a
newsreader's pace (0.2 s a character), as tones of 300-690 Hz in steps of 10 Hz; the
example programme's jingles are the project's own (``tools/make_jingles.py``): the bed at
330 + 495 Hz, the sting at 1760 + 2637 Hz, the opener's notes from 523 Hz up. So the
bed, the stings and the jingles can each be found in the mix by frequency.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import pointed_at_fake_edge
from conftest import run_cli as run
from mp3_duration import probe_duration
from mutagen.id3 import ID3

from bulletin.audio.ffmpeg import measure_loudness, run_ffmpeg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "programme" / "hourly.toml"
NEWS = sorted((ROOT / "examples" / "programme" / "news").glob("*.txt"))
RATE = 24_000
#: The fake Edge's seconds of audio a character: about a newsreader's pace.
PACE = 0.2


def _jingles():
    spec = importlib.util.spec_from_file_location("make_jingles", ROOT / "tools" / "make_jingles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JINGLES = _jingles()


@pytest.fixture
def paced_edge(monkeypatch, tmp_path):
    """The fake Edge at about a newsreader's pace, with private cache and state folders."""
    with pointed_at_fake_edge(monkeypatch, tmp_path, seconds_per_char=PACE) as server:
        yield server


def decode(path: Path) -> np.ndarray:
    data = run_ffmpeg(["-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(RATE), "pipe:1"])
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0


def level(pcm: np.ndarray, start: float, end: float, freq: float) -> float:
    """dBFS of the sine at ``freq`` in ``start``..``end`` s (Blackman window, peak of ±3 Hz)."""
    part = pcm[int(start * RATE) : int(end * RATE)]
    window = np.blackman(part.size)
    spectrum = np.abs(np.fft.rfft(part * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(part.size, 1 / RATE)
    near = (freqs > freq - 3) & (freqs < freq + 3)
    return float(20 * np.log10(max(spectrum[near].max(), 1e-9)))


def dry_plan(*args: str) -> dict:
    """The dry run's JSON plan for ``build ARGS`` on the fake Edge."""
    return json.loads(run("build", *args, "--dry-run", "--json", "--engine", "edge").stdout)


def cues(srt: Path) -> list[tuple[float, float, str]]:
    out = []
    for block in srt.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        a, b = re.findall(r"(\d+):(\d+):(\d+),(\d+)", lines[1])
        to_s = lambda t: int(t[0]) * 3600 + int(t[1]) * 60 + int(t[2]) + int(t[3]) / 1000  # noqa: E731
        out.append((to_s(a), to_s(b), "".join(lines[2:])))
    return out


def chapters(mp3: Path) -> list[tuple[str, float, float]]:
    tags = ID3(mp3)
    chaps = sorted((f for k, f in tags.items() if k.startswith("CHAP")), key=lambda f: f.start_time)
    return [(c.sub_frames["TIT2"].text[0], c.start_time / 1000, c.end_time / 1000) for c in chaps]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example programme built once from its six stories (more than two minutes of news)."""
    folder = tmp_path_factory.mktemp("programme")
    with (
        pytest.MonkeyPatch.context() as mp,
        pointed_at_fake_edge(mp, folder, seconds_per_char=PACE) as server,
    ):
        out = folder / "hourly.mp3"
        args = ["build", "--programme", str(EXAMPLE), "--engine", "edge", "-o", str(out)]
        args += ["--air-time", "2026-11-26T21:00", "--subtitles", str(folder / "hourly.srt")]
        args += ["--feed", str(folder / "feed.xml"), "--base-url", "https://news.example.org/"]
        result = run(*args, "--report", str(folder / "report.json"))
        assert result.exit_code == 0, result.output
        requests = [
            (re.search(r"name='([^']+)'", s)[1], t) for s, t in zip(server.ssml, server.texts, strict=True)
        ]
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        yield {
            "mp3": out,
            "pcm": decode(out),
            "srt": folder / "hourly.srt",
            "report": report,
            "requests": requests,
            "stderr": result.stderr,
            "feed": folder / "feed.xml",
        }


def test_the_example_lasts_the_slot_from_more_news_than_fits(example) -> None:
    programme = example["report"]["programme"]
    assert programme["dropped"], "the example's six stories are more than two minutes"
    assert "left out story" in example["stderr"]
    assert 119.0 <= probe_duration(example["mp3"]) <= 120.0
    assert 119.0 <= example["pcm"].size / RATE <= 120.0
    loudness = measure_loudness(example["mp3"])
    assert abs(loudness.integrated + 16) <= 1.0 and loudness.true_peak <= -0.9


def test_it_opens_with_the_jingle_and_has_a_chapter_for_every_part(example) -> None:
    pcm = example["pcm"]
    for note in JINGLES.OPEN_NOTES:  # every note of the opener rings in its first three seconds
        assert level(pcm, 0.0, JINGLES.OPEN_SECONDS, note) > -40
    titles = [c[0] for c in chapters(example["mp3"])]
    aired = example["report"]["programme"]["aired"]
    assert titles[:2] == ["焦點新聞", "頭條新聞"] and titles[-1] == "結語"
    assert len(titles) == 3 + len(aired)
    said = "".join(text for _a, _b, text in cues(example["srt"]))  # subtitles for every spoken part
    assert "今天是十一月二十六日" in said and "首先為您報導重點新聞" in said and "謝謝您的收聽" in said
    headlines = example["report"]["programme"]["headlines"]
    assert len(headlines) == min(3, len(aired)) and titles[2 : 2 + len(headlines)] == headlines


def test_the_feed_item_lists_the_headlines_and_airs_at_the_air_time(example) -> None:
    import feedparser

    item = feedparser.parse(str(example["feed"])).entries[0]
    assert item.summary.split("\n") == example["report"]["programme"]["headlines"]
    assert item.title == "焦點新聞 十一月二十六日晚上九點整"
    assert item.published.startswith("Thu, 26 Nov 2026 21:00:00")
    assert ID3(example["mp3"])["TALB"].text[0] == "焦點新聞"


def test_a_sting_between_every_two_stories_and_none_after_the_last(example) -> None:
    pcm = example["pcm"]
    parts = chapters(example["mp3"])
    stories = parts[2:-1]
    sting = JINGLES.STING_TONES[0]
    for _title, start, _end in stories[1:]:  # each later story starts with the sting
        assert level(pcm, start, start + 1.5, sting) > -45
    first = stories[0]
    assert level(pcm, first[1], first[1] + 1.5, sting) < -70  # not before the first story
    closer = parts[-1]
    assert level(pcm, stories[-1][2] - 2.0, closer[2], sting) < -70  # none after the last


def test_the_bed_plays_under_opener_and_headlines_and_dips_under_the_voice(example) -> None:
    pcm = example["pcm"]
    bed = JINGLES.BED_TONES[1]
    said = cues(example["srt"])
    alone = level(pcm, JINGLES.OPEN_SECONDS + 0.45, said[0][0] - 0.3, bed)
    assert alone > -45, "the bed is heard before the opener's speech"
    headlines_end = chapters(example["mp3"])[1][2]
    under = [level(pcm, a + 0.3, b - 0.3, bed) for a, b, _ in said if b < headlines_end and b - a > 1.2]
    assert len(under) >= 3
    assert max(under) <= alone - 12, (alone, under)
    first_story = chapters(example["mp3"])[2][1]
    assert level(pcm, first_story + 0.5, first_story + 20, bed) < alone - 30  # faded out before the stories


def test_two_anchors_take_turns_story_by_story(example) -> None:
    aired = example["report"]["programme"]["aired"]
    anchors = ["(zh-TW, HsiaoChenNeural)", "(zh-TW, YunJheNeural)"]
    for turn, story in enumerate(aired):
        text = NEWS[story].read_text(encoding="utf-8")
        body = text.split("\n\n", 1)[1]
        voices = {v for v, t in example["requests"] if t and t in body}
        assert len(voices) == 1 and next(iter(voices)).endswith(anchors[turn % 2]), (story, voices)


def test_the_opener_says_the_air_time_in_the_voices_script(paced_edge, tmp_path) -> None:
    plan = dry_plan(
        "--programme",
        str(EXAMPLE),
        "--air-time",
        "2026-11-26T21:00",
    )
    opener = "".join(c["text"] for c in plan["chunks"] if c["segment"] == "opener")
    assert "十一月二十六日" in opener and "星期四" in opener and "晚上九點" in opener
    assert {c["segment"] for c in plan["chunks"]} == {"opener", "headlines", "story", "closer"}
    assert {c["voice"] for c in plan["chunks"] if c["segment"] == "story"} == {
        "zh-TW-HsiaoChenNeural",
        "zh-TW-YunJheNeural",
    }
    aired = [s for s in plan["programme"]["stories"] if s["aired"]]
    assert 0 < len(aired) < len(NEWS)
    simplified = dry_plan("--programme", str(EXAMPLE), "--air-time", "2026-11-26T00:15", "--voice", "cn-news")
    opener = "".join(c["text"] for c in simplified["chunks"] if c["segment"] == "opener")
    assert "凌晨零点十五分" in opener


@pytest.mark.loudness
def test_short_news_is_said_and_the_closing_bed_fills_the_slot(paced_edge, tmp_path) -> None:
    jingles = EXAMPLE.parent / "jingles"
    (tmp_path / "short.toml").write_text(
        f'name = "午間快報"\nslot = "1:00"\nvoice = "tw-news"\n'
        f'[opener]\ntext = "{{name}}，現在是{{time}}。"\naudio = "{jingles / "open.flac"}"\n'
        f'[closer]\ntext = "以上是{{name}}。"\nbed = "{jingles / "bed.flac"}"\n'
        f'audio = "{jingles / "close.flac"}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "short.mp3"
    args = ["build", str(NEWS[4]), "--programme", str(tmp_path / "short.toml"), "--engine", "edge"]
    result = run(*args, "-o", str(out), "--report", str(tmp_path / "r.json"), "--air-time", "12:30")
    assert result.exit_code == 0, result.output
    assert "short of the 60 s slot" in result.stderr and "closing bed fills it" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["programme"]
    assert report["short_by_seconds"] > 5 and report["filled_seconds"] == report["short_by_seconds"]
    assert 59.0 <= probe_duration(out) <= 60.0
    pcm = decode(out)
    closer = chapters(out)[-1]
    end_of_speech = closer[2] - JINGLES.CLOSE_SECONDS - 2.5
    assert level(pcm, end_of_speech - 3, end_of_speech, JINGLES.BED_TONES[1]) > -45  # the bed fills


def test_a_new_hour_says_nothing_again_that_was_said(paced_edge, tmp_path) -> None:
    out = tmp_path / "a.mp3"
    first = run(
        "build", "--programme", str(EXAMPLE), "--engine", "edge", "-o", str(out), "--air-time", "21:00"
    )
    assert first.exit_code == 0, first.output
    before = paced_edge.requests
    second = run(
        "build", "--programme", str(EXAMPLE), "--engine", "edge", "-o", str(out), "--air-time", "22:00"
    )
    assert second.exit_code == 0, second.output
    asked = [
        (re.search(r"name='([^']+)'", s)[1], t)
        for s, t in zip(paced_edge.ssml, paced_edge.texts, strict=True)
    ]
    again, said = asked[before:], set(asked[:before])
    assert any("十點" in t for _v, t in again), again  # the new time
    assert not said & set(again), again  # nothing said at nine, in the same voice, is synthesized again
    # the stories the nine o'clock left out lead now (issue 18: rotation); the rest come from the cache
    report = json.loads(
        run(
            "build",
            "--programme",
            str(EXAMPLE),
            "--engine",
            "edge",
            "-o",
            str(out),
            "--air-time",
            "22:00",
            "--dry-run",
            "--json",
        ).stdout
    )["rundown"]
    assert report[0]["status"] == "new"
    third = run(
        "build", "--programme", str(EXAMPLE), "--engine", "edge", "-o", str(out), "--air-time", "22:00"
    )
    assert "unchanged" in third.stderr and paced_edge.requests == before + len(again)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('name = "x"\n[opener]\ntexts = "hi"\n', "unknown key opener.texts"),
        ('[opener]\naudio = "nowhere.wav"\n', "opener.audio: no audio file"),
        ('[opener]\ntext = "現在是{hour}。"\n', "unknown placeholder {hour}"),
        ('slot = "2:75"\n', "slot '2:75' is not a length"),
        ('[stories]\nvoices = ["tw-news", "nobody"]\n', "unknown voice 'nobody'"),
        ('[stories]\nvoices = ["tw-news", "offline"]\n', "voices are of different engines"),
        ("name = \n", "not valid TOML"),
        ('[opener]\ntext = "現在是{time:>10}。"\n', "write placeholders plain"),
        ('[closer]\ntext = "以上是{name!r}。"\n', "write placeholders plain"),
        ('name = "新聞\\u0001"\n', "name: holds a control character"),
        ("slot = true\n", "slot True is not a length"),
        ('[stories]\nsting = "not-audio.wav"\n', "not audio ffmpeg can read"),
    ],
)
def test_a_bad_programme_is_one_line_exit_2_before_anything_is_said(
    paced_edge, tmp_path, toml: str, message: str
) -> None:
    (tmp_path / "not-audio.wav").write_text("hello", encoding="utf-8")
    (tmp_path / "p.toml").write_text(toml, encoding="utf-8")
    out = tmp_path / "x.mp3"
    result = run(
        "build", str(NEWS[0]), "--programme", str(tmp_path / "p.toml"), "--engine", "edge", "-o", str(out)
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert paced_edge.requests == 0 and not out.exists()


def test_bad_air_times_are_usage_errors(paced_edge, tmp_path) -> None:
    for bad in (["--air-time", "25:00"], ["--timezone", "Mars/Olympus"]):
        result = run("build", str(NEWS[0]), "--engine", "edge", "-o", str(tmp_path / "x.mp3"), *bad)
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_programme_needs_no_article_on_the_command_line_but_something_to_read(tmp_path) -> None:
    (tmp_path / "p.toml").write_text('name = "x"\n', encoding="utf-8")
    result = run("build", "--programme", str(tmp_path / "p.toml"), "--dry-run")
    assert result.exit_code == 2 and "name at least one article" in result.stderr
    result = run("build", "--dry-run")
    assert result.exit_code == 2 and "name at least one article" in result.stderr


def test_preview_plays_the_start_of_the_programme(paced_edge, tmp_path) -> None:
    out = tmp_path / "p.mp3"
    args = ["preview", "--programme", str(EXAMPLE), "--engine", "edge", "--seconds", "8", "--out", str(out)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    pcm = decode(out)
    assert level(pcm, 0.0, JINGLES.OPEN_SECONDS, JINGLES.OPEN_NOTES[0]) > -40  # the opening jingle
    assert level(pcm, JINGLES.OPEN_SECONDS + 0.45, JINGLES.OPEN_SECONDS + 1.0, JINGLES.BED_TONES[1]) > -45
    assert 8 < pcm.size / RATE < 30


def _programme(tmp_path: Path, body: str) -> Path:
    """A programme file beside the example's jingles (its paths are absolute)."""
    jingles = EXAMPLE.parent / "jingles"
    path = tmp_path / "p.toml"
    path.write_text(body.replace("JINGLES", str(jingles)), encoding="utf-8")
    return path


def test_a_closing_bed_fills_only_what_the_stories_leave(paced_edge, tmp_path) -> None:
    toml = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace('"jingles/', '"JINGLES/')
        .replace('"news/', f'"{NEWS[0].parent}/')
    )
    toml += '\nbed = "JINGLES/bed.flac"\n'  # under [closer], the last table
    out = tmp_path / "x.mp3"
    result = run(
        "build",
        "--programme",
        str(_programme(tmp_path, toml)),
        "--engine",
        "edge",
        "-o",
        str(out),
        "--report",
        str(tmp_path / "r.json"),
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["programme"]
    assert len(report["aired"]) >= 3 and report["dropped"]  # as many stories as without the bed
    assert report["filled_seconds"] < 20
    assert 119.0 <= probe_duration(out) <= 120.0


def test_a_programme_of_a_slot_alone_reads_what_fits(paced_edge, tmp_path) -> None:
    out = tmp_path / "x.mp3"
    result = run(
        "build",
        *map(str, NEWS),
        "--programme",
        str(_programme(tmp_path, 'slot = "0:40"\n')),
        "--engine",
        "edge",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    seconds = probe_duration(out)
    assert seconds <= 40.0
    short = re.search(
        r"the news is ([0-9.]+) s short of the 40 s slot \(no other story fits\); it ends early",
        result.stderr,
    )
    assert seconds >= 39.0 or (short and abs(seconds + float(short[1]) - 39.6) < 0.3), result.stderr


def test_a_slot_no_story_fits_is_refused_and_nothing_published(paced_edge, tmp_path) -> None:
    body = 'slot = "0:15"\n[opener]\ntext = "{name}。現在是{time}。"\naudio = "JINGLES/open.flac"\n'
    out = tmp_path / "x.mp3"
    out.write_bytes(b"the last hour's programme")
    result = run(
        "build",
        str(NEWS[0]),
        "--programme",
        str(_programme(tmp_path, body)),
        "--engine",
        "edge",
        "-o",
        str(out),
    )
    assert result.exit_code == 2, result.output
    assert "over its 15 s slot; nothing published" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3
    assert out.read_bytes() == b"the last hour's programme"


def test_the_midnight_programme_made_before_midnight_says_tomorrow(paced_edge, tmp_path) -> None:
    from datetime import datetime, timedelta

    now = datetime.now().astimezone()
    air = (now + timedelta(minutes=7)).strftime("%H:%M")  # a few minutes ahead, maybe past midnight
    plan = dry_plan(
        str(NEWS[0]),
        "--programme",
        str(EXAMPLE),
        "--air-time",
        air,
    )
    opener = "".join(c["text"] for c in plan["chunks"] if c["segment"] == "opener")
    soon = now + timedelta(minutes=7)
    from bulletin.text.airtime import spoken_date

    assert spoken_date(soon, "hant") in opener


def test_the_anchors_stay_two_voices_offline(tmp_path) -> None:
    """Offline (asked for, or Edge's fallback: the same mapping), a female and a male Kokoro voice."""
    result = run("build", "--programme", str(EXAMPLE), "--engine", "offline", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    story_voices = [c["voice"] for c in plan["chunks"] if c["segment"] == "story"]
    by_story = {c["story"]: c["voice"] for c in plan["chunks"] if c["segment"] == "story"}
    assert set(story_voices) == {"zf_xiaoxiao", "zm_yunxi"}
    voices = [by_story[n] for n in sorted(by_story)]
    assert all(a != b for a, b in itertools.pairwise(voices))
