"""Subtitles that fit: cues of at most two lines of 16 characters and 7 seconds, timed by the speech.

The sample is checked end to end through the CLI on both engines (the fake Edge server
sending real-format word boundaries, and the real offline model); the rules behind it
(where cues and lines break, how characters are timed from the boundaries of the spoken
text) are checked on small timelines with known timings.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli as run
from mp3_duration import probe_duration

from bulletin.audio.ffmpeg import ffmpeg_exe
from bulletin.audio.timeline import Placed
from bulletin.engines.base import Boundary
from bulletin.errors import ConfigError
from bulletin.publish.subtitles import (
    CUE_LINES,
    CUE_SECONDS,
    LINE_CHARS,
    Cue,
    Layout,
    build_cues,
    clean_text,
    to_srt,
    to_vtt,
    write_subtitles,
)
from bulletin.text.chunk import Chunk, PauseKind
from bulletin.text.words import words

DURATION = 60.0


def parse(text: str, vtt: bool = False) -> list[tuple[float, float, list[str]]]:
    """(start, end, lines) of every cue in SRT or WebVTT text."""
    sep = r"\." if vtt else ","
    stamp = rf"(\d\d):(\d\d):(\d\d){sep}(\d\d\d)"
    cues = []
    for m in re.finditer(rf"{stamp} --> {stamp}\n((?:.+\n?)+)", text):
        g = [int(x) for x in m.groups()[:8]]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((start, end, m.group(9).rstrip("\n").split("\n")))
    return cues


def assert_fits(
    cues: list[tuple[float, float, list[str]]],
    duration: float,
    chars: int = LINE_CHARS,
    lines: int = CUE_LINES,
    seconds: float = CUE_SECONDS,
) -> None:
    """The check of issue 11: within the limits, in order, no overlap, inside the audio."""
    assert cues
    for start, end, body in cues:
        assert 1 <= len(body) <= lines, body
        assert all(0 < len(line) <= chars for line in body), body
        assert 0 <= start < end <= duration + 0.001
        assert end - start <= seconds + 1e-9, (start, end, body)
    for a, b in itertools.pairwise(cues):
        assert a[1] <= b[0]


def assert_breaks_between_words(cues: list[tuple[float, float, list[str]]]) -> None:
    """Every cue and line ends where a word ends (the segmenter's words, numbers and Latin whole)."""
    pieces = [line for _, _, body in cues for line in body]
    joined = "".join(pieces)
    cuts = set(itertools.accumulate(len(w) for w in words(joined)))
    ends = list(itertools.accumulate(len(p) for p in pieces))
    inside = [joined[max(0, e - 4) : e] + "|" + joined[e : e + 4] for e in ends if e not in cuts]
    assert not inside, inside


# ---------------------------------------------------------------------- the sample, CLI


def test_sample_fits_on_edge(edge, sample: Path, tmp_path: Path) -> None:
    out, srt = tmp_path / "b.mp3", tmp_path / "b.srt"
    result = run("build", str(sample), "--engine", "edge", "-o", str(out), "--subtitles", str(srt))
    assert result.exit_code == 0, result.output
    assert all('"wordBoundaryEnabled":"true"' in c for c in edge.state.configs)  # timed by words
    cues = parse(srt.read_text(encoding="utf-8"))
    assert_fits(cues, probe_duration(out))
    assert_breaks_between_words(cues)
    assert cues[0][2] == ["國際高度關注第二輪六邊會談，", "明天將在北京召開。"]  # clause breaks first
    clean = run("clean", str(sample)).stdout
    assert "".join(line for _, _, body in cues for line in body) == re.sub(r"\s", "", clean)


def test_cues_start_when_the_words_are_heard(edge, sample: Path, tmp_path: Path) -> None:
    """The fake voice pauses after each comma and full stop, as a voice does; cues follow the words."""
    edge.clause_pause = 0.4
    out, srt = tmp_path / "b.mp3", tmp_path / "b.srt"
    result = run("build", str(sample), "--engine", "edge", "-o", str(out), "--subtitles", str(srt))
    assert result.exit_code == 0, result.output
    cues = parse(srt.read_text(encoding="utf-8"))
    assert_fits(cues, probe_duration(out))
    pcm = decode(out)
    # every cue is up within 0.1 s of its first word being heard (MP3 decoding shifts speech
    # ~50 ms after the times the service gives), and no sooner than that before it
    for start, _, body in cues:
        assert loudness(pcm, start + 0.1, start + 0.13) > -20, (start, body)
    # most cues start after a pause, and wait for the voice (spread by character count, they
    # would drift into the middle of pauses and words)
    after_pause = [start for start, _, _ in cues if loudness(pcm, start - 0.15, start - 0.06) < -50]
    assert len(after_pause) >= len(cues) * 3 // 4


def decode(mp3: Path) -> np.ndarray:
    """The MP3 as float samples at 24 kHz, decoded by ffmpeg."""
    pcm = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-ar", "24000", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768


def loudness(pcm: np.ndarray, start: float, end: float) -> float:
    """RMS level in dBFS of ``pcm`` between two times."""
    part = pcm[max(0, round(start * 24000)) : round(end * 24000)]
    return 20 * math.log10(max(1e-9, float(np.sqrt(np.mean(part**2))) if part.size else 1e-9))


def test_limits_are_options(edge, sample: Path, tmp_path: Path) -> None:
    out, vtt = tmp_path / "b.mp3", tmp_path / "b.vtt"
    args = ["build", str(sample), "--engine", "edge", "-o", str(out), "--subtitles", str(vtt)]
    assert run(*args).exit_code == 0
    first, requests = vtt.read_text(encoding="utf-8"), edge.requests
    # new limits are new settings: the subtitles are written again, from the cache
    result = run(*args, "--subtitle-chars", "10", "--subtitle-lines", "1")
    assert result.exit_code == 0, result.output
    assert edge.requests == requests and vtt.read_text(encoding="utf-8") != first
    cues = parse(vtt.read_text(encoding="utf-8"), vtt=True)
    assert_fits(cues, probe_duration(out), chars=10, lines=1)
    assert_breaks_between_words(cues)


@pytest.mark.parametrize(("option", "value"), [("--subtitle-chars", "2"), ("--subtitle-lines", "0")])
def test_bad_limits_are_usage_errors(sample: Path, tmp_path: Path, option: str, value: str) -> None:
    result = run("build", str(sample), "-o", str(tmp_path / "b.mp3"), option, value)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0]
    assert not (tmp_path / "b.mp3").exists()


# ------------------------------------------------------------------ the rules, timelines


def placed(
    text: str,
    start: float,
    end: float,
    *,
    spoken: str | None = None,
    sentence: int = 0,
    index: int = 0,
    kind: PauseKind = "sentence",
    boundaries: tuple[Boundary, ...] = (),
) -> Placed:
    chunk = Chunk(index, text, spoken if spoken is not None else text, 0, 0, sentence, kind)
    return Placed(chunk, start, end, boundaries)


def word_times(spoken_words: list[str], start: float, per_char: float) -> tuple[Boundary, ...]:
    """Word boundaries for consecutive words, ``per_char`` seconds a character."""
    out, at = [], start
    for w in spoken_words:
        out.append(Boundary("word", w, at, per_char * len(w)))
        at += per_char * len(w)
    return tuple(out)


LONG = (
    "國際高度關注第二輪六邊會談，明天將在北京召開。"
    "為了替這次會談營造善意，北韓放出風聲，表示願意完全放棄核計畫。"
)


def test_a_long_sentence_becomes_cues_that_fit() -> None:
    # one sentence in two chunks, as the chunker cuts a long one, Edge-style word boundaries
    first, second = LONG[:23], LONG[23:]
    timeline = [
        placed(
            first, 0.3, 0.3 + 0.25 * 21, kind="clause", boundaries=word_times(words(first[:-1]), 0.3, 0.25)
        ),
        placed(second, 6.0, 6.0 + 0.25 * 37, index=1, boundaries=word_times(words(second), 6.0, 0.25)),
    ]
    cues = build_cues(timeline, DURATION)
    assert "".join(c.text for c in cues) == LONG
    assert_fits([(c.start, c.end, list(c.lines)) for c in cues], DURATION)
    assert cues[0].lines == ("國際高度關注第二輪六邊會談，", "明天將在北京召開。")
    assert all(c.lines[-1][-1] in "，。" for c in cues)  # every cue ends at a clause here


def test_cues_are_timed_by_the_words_of_the_spoken_text() -> None:
    # "25" is said as 二十五: the digits get that word's time; the speech is slow, then fast
    text = "美聯儲今天宣布加息25個基點，市場普遍預期年內還會再加息一次。"
    spoken = "美聯儲今天宣布加息二十五個基點，市場普遍預期年內還會再加息一次。"
    slow = [("美聯儲", 1.0), ("今天", 2.0), ("宣布", 3.0), ("加息", 4.0), ("二十五", 5.0), ("個", 6.0)]
    fast = [("基點", 6.5), ("市場", 7.0), ("普遍", 7.2), ("預期", 7.4), ("年內", 7.6)]
    fast += [("還會", 7.8), ("再", 8.0), ("加息", 8.1), ("一次", 8.3)]
    bounds = tuple(Boundary("word", w, t, 0.4 if t < 6.5 else 0.2) for w, t in slow + fast)
    cues = build_cues([placed(text, 0.9, 8.6, spoken=spoken, boundaries=bounds)], DURATION, Layout(chars=8))
    assert [c.lines for c in cues] == [
        ("美聯儲今天宣布", "加息25個基點，"),
        ("市場普遍預期年內", "還會再加息一次。"),
    ]
    assert cues[0].start == pytest.approx(1.0)  # the first word's offset, not the chunk's start
    assert cues[1].start == pytest.approx(7.0)  # 市場's offset (spread evenly it would be ~4.5 s)
    assert cues[1].end == pytest.approx(8.5 + 0.4)  # the last word's end and a short linger


def test_a_word_the_text_does_not_hold_is_skipped() -> None:
    text = "市場普遍預期的是年內的再加息。"
    good = word_times(["市場", "普遍", "預期", "的", "是", "年內", "的", "再", "加息"], 1.0, 0.3)
    odd = (*good[:3], Boundary("word", "某詞", 1.9, 0.2), *good[3:])  # reported, but not in the text
    expected = build_cues([placed(text, 0.8, 5.6, boundaries=good)], DURATION, Layout(chars=4))
    assert build_cues([placed(text, 0.8, 5.6, boundaries=odd)], DURATION, Layout(chars=4)) == expected
    assert expected[0].start == pytest.approx(1.0)


def test_seven_seconds_at_most_even_when_slow() -> None:
    text = "各國代表今天在北京舉行會談。"
    bounds = word_times(words(text[:-1]), 0.0, 1.5)  # 1.5 s a character: 19.5 s of speech
    cues = build_cues([placed(text, 0.0, 19.5, boundaries=bounds)], DURATION)
    assert len(cues) > 1 and "".join(c.text for c in cues) == text
    assert all(c.end - c.start <= CUE_SECONDS for c in cues)
    assert cues[1].start == pytest.approx(bounds[len(words(cues[0].text))].offset)


def test_no_word_boundaries_spread_the_chunk_over_its_characters() -> None:
    # an engine without timings (or an old cached clip): the chunk's time, shared by characters
    text = "北韓放出風聲，表示願意完全放棄核計畫，美國也透露將在會談中展現更多善意。"
    heard = [c for c in text if c not in "，。"]  # punctuation takes no time
    cues = build_cues([placed(text, 1.0, 1.0 + 0.2 * len(heard))], DURATION)
    assert len(cues) == 2
    assert cues[0].start == pytest.approx(1.0)
    first = [c for c in cues[0].text if c not in "，。"]
    assert cues[1].start == pytest.approx(1.0 + 0.2 * len(first))


def test_latin_words_and_numbers_are_never_cut() -> None:
    text = "Apple發布了新款 iPhone 16 Pro Max手機，售價7999元，全年GDP增長5.2%，總量達到1,260,582億元。"
    cues = build_cues([placed(text, 0.0, 20.0)], DURATION)
    lines = [line for c in cues for line in c.lines]
    assert all(len(line) <= LINE_CHARS for line in lines)
    for token in ("Apple", "iPhone", "Pro", "Max", "7999", "5.2%", "1,260,582"):
        assert any(token in line for line in lines), (token, lines)
    assert not any(line.startswith(" ") or line.endswith(" ") for line in lines)


def test_a_word_longer_than_a_line_is_the_only_thing_cut() -> None:
    text = "網址是https://example.org/news/2024/story。"
    cues = build_cues([placed(text, 0.0, 5.0)], DURATION)
    assert "".join(c.text for c in cues) == text
    assert all(len(line) <= LINE_CHARS for c in cues for line in c.lines)


@pytest.mark.parametrize("layout", [Layout(chars=10, lines=1), Layout(chars=12, lines=3), Layout(chars=40)])
def test_other_limits(layout: Layout) -> None:
    cues = build_cues([placed(LONG, 0.0, 12.0)], DURATION, layout)
    assert all(len(c.lines) <= layout.lines and max(map(len, c.lines)) <= layout.chars for c in cues)
    assert "".join(c.text for c in cues) == LONG
    assert_breaks_between_words([(c.start, c.end, list(c.lines)) for c in cues])


@pytest.mark.parametrize("layout", [Layout(chars=3), Layout(lines=0), Layout(lines=9), Layout(seconds=0.5)])
def test_impossible_limits_are_refused(layout: Layout) -> None:
    with pytest.raises(ConfigError):
        build_cues([placed("你好。", 0.0, 1.0)], DURATION, layout)


def test_sentences_never_share_a_cue_and_silent_ones_are_skipped() -> None:
    timeline = [
        placed("第一句。", 0.3, 1.0),
        placed("。", 1.35, 1.35, sentence=1, index=1),
        placed("第二句。", 1.35, 2.0, sentence=2, index=2, kind="end"),
    ]
    cues = build_cues(timeline, duration=2.1)
    assert [c.text for c in cues] == ["第一句。", "第二句。"]
    assert cues[0].end <= cues[1].start and cues[-1].end <= 2.1


# --------------------------------------------------------------------------- the formats


@pytest.fixture
def timeline() -> list[Placed]:
    return [
        placed("國際高度關注第二輪六邊會談，明天將在北京召開。", 0.3, 5.0),
        placed("Apple發布了新款 iPhone 16 Pro Max手機，售價\n 7999元。", 5.5, 12.0, sentence=1, index=1),
    ]


@pytest.mark.parametrize("vtt", [False, True])
def test_formats_parse_back(timeline: list[Placed], vtt: bool) -> None:
    cues = build_cues(timeline, DURATION)
    text = to_vtt(cues) if vtt else to_srt(cues)
    assert text.startswith("WEBVTT\n\n" if vtt else "1\n00:00:00,300 --> ")
    back = parse(text, vtt)
    assert len(back) == len(cues)
    for (start, end, body), cue in zip(back, cues, strict=True):
        assert start == pytest.approx(cue.start, abs=0.001) and end == pytest.approx(cue.end, abs=0.001)
        assert tuple(body) == cue.lines
    assert_fits(back, DURATION)


def test_write_subtitles_by_suffix(tmp_path: Path, timeline: list[Placed]) -> None:
    srt, vtt = tmp_path / "b.srt", tmp_path / "b.vtt"
    assert write_subtitles(srt, timeline, duration=DURATION)
    write_subtitles(vtt, timeline, duration=DURATION, layout=Layout(chars=20))
    assert srt.read_text(encoding="utf-8").startswith("1\n")
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT")
    tmp = tmp_path / "b.srt.tmp123"
    write_subtitles(tmp, timeline, fmt="vtt")
    assert tmp.read_text(encoding="utf-8").startswith("WEBVTT")
    with pytest.raises(ConfigError):
        write_subtitles(tmp_path / "b.txt", timeline)
    assert not (tmp_path / "b.txt").exists()


def test_no_spaces_inside_chinese() -> None:
    assert clean_text("中国 人民\n银行 今天 宣布") == "中国人民银行今天宣布"
    assert clean_text("新款 iPhone  16 发布") == "新款 iPhone 16 发布"
    text = to_srt([Cue(0, 1, clean_text("中 国 人 民 银 行"))])
    assert "中国人民银行" in text and "中 " not in text
