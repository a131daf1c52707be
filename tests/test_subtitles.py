"""Subtitles from a timeline: one cue per sentence, ordered, inside the audio, no overlap."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bulletin.audio.assemble import Placed
from bulletin.engines.base import Boundary
from bulletin.errors import ConfigError
from bulletin.publish.subtitles import Cue, build_cues, clean_text, to_srt, to_vtt, wrap, write_subtitles
from bulletin.text.chunk import Chunk, PauseKind

DURATION = 20.0


def placed(
    i: int,
    text: str,
    sentence: int,
    start: float,
    end: float,
    kind: PauseKind = "sentence",
    story: int = 0,
    boundaries: tuple[Boundary, ...] = (),
) -> Placed:
    return Placed(Chunk(i, text, text, story, 0, sentence, kind), start, end, boundaries)


@pytest.fixture
def timeline() -> list[Placed]:
    return [
        # one long sentence split in two chunks (clause pause between them)
        placed(0, "国务院今天发布了关于进一步优化营商环境、", 0, 0.30, 3.10, "clause"),
        placed(1, "降低企业成本的若干意见，要求各地抓紧落实。", 0, 3.30, 6.20),
        # Edge reported a tighter sentence boundary (file time)
        placed(
            2,
            "美联储宣布加息25个基点。",
            1,
            6.55,
            9.00,
            "story",
            boundaries=(Boundary("sentence", "美联储宣布加息25个基点。", 6.60, 2.30),),
        ),
        placed(3, "Apple发布了新款 iPhone 16 Pro Max手机，售价\n 7999元。", 2, 10.50, 14.00, "end", story=1),
    ]


def parse(text: str, vtt: bool) -> list[tuple[float, float, str]]:
    sep = r"\." if vtt else ","
    stamp = rf"(\d\d):(\d\d):(\d\d){sep}(\d\d\d)"
    cues = []
    for m in re.finditer(rf"{stamp} --> {stamp}\n((?:.+\n?)+)", text):
        g = [int(x) for x in m.groups()[:8]]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append((start, end, m.group(9).rstrip("\n")))
    return cues


def test_one_cue_per_sentence(timeline: list[Placed]) -> None:
    cues = build_cues(timeline, DURATION)
    assert [c.text for c in cues] == [
        "国务院今天发布了关于进一步优化营商环境、降低企业成本的若干意见，要求各地抓紧落实。",
        "美联储宣布加息25个基点。",
        "Apple发布了新款 iPhone 16 Pro Max手机，售价 7999元。",  # CJK|digit space kept
    ]
    assert cues[0].start == pytest.approx(0.30) and cues[0].end >= 6.20
    assert cues[1].start == pytest.approx(6.60)  # tightened by Edge's boundary
    for a, b in itertools.pairwise(cues):
        assert a.start < a.end <= b.start
    assert cues[-1].end <= DURATION


@pytest.mark.parametrize("vtt", [False, True])
def test_formats_parse_back(timeline: list[Placed], vtt: bool) -> None:
    cues = build_cues(timeline, DURATION)
    text = to_vtt(cues) if vtt else to_srt(cues)
    if vtt:
        assert text.startswith("WEBVTT\n\n")
    else:
        assert text.startswith("1\n00:00:00,300 --> ")
    back = parse(text, vtt)
    assert len(back) == len(cues) == 3
    for (start, end, body), cue in zip(back, cues, strict=True):
        assert start == pytest.approx(cue.start, abs=0.001)
        assert end == pytest.approx(cue.end, abs=0.001)
        assert body.replace("\n", "") == cue.text.replace(" ", "") or body.replace("\n", " ") == cue.text
        assert len(body.split("\n")) <= 2
    for a, b in itertools.pairwise(back):
        assert a[1] <= b[0]
    assert all(0 <= s < e <= DURATION for s, e, _ in back)


def test_write_subtitles_by_suffix(tmp_path: Path, timeline: list[Placed]) -> None:
    srt = tmp_path / "b.srt"
    vtt = tmp_path / "b.vtt"
    assert len(write_subtitles(srt, timeline, duration=DURATION)) == 3
    write_subtitles(vtt, timeline, duration=DURATION)
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


def test_wrap_breaks_only_between_words() -> None:
    lines = wrap("国务院今天发布了关于进一步优化营商环境、降低企业成本的若干意见，要求各地抓紧落实。")
    assert lines[0].endswith(("、", "，")) and len(lines) == 2
    lines = wrap("Apple发布了新款iPhone 16 Pro Max手机以及一系列其他的新产品和服务内容")
    assert len(lines) == 2
    for word in ("Apple", "iPhone", "16", "Pro", "Max"):
        assert any(word in line for line in lines)
    lines = wrap("全年GDP增长5.2%，总量达到1,260,582亿元人民币，比上年增加了很多很多很多")
    assert any("1,260,582亿元" in line for line in lines) and any("5.2%" in line for line in lines)
    assert wrap("短句。") == ["短句。"]
    unbreakable = "一二三四五六七八九十" * 3
    assert wrap(unbreakable) == [unbreakable]


def test_cues_stay_inside_the_audio_and_skip_silent_sentences() -> None:
    tl = [
        placed(0, "第一句。", 0, 0.3, 1.0),
        placed(1, "。", 1, 1.35, 1.35),
        placed(2, "第二句。", 2, 1.35, 2.0, "end"),
    ]
    cues = build_cues(tl, duration=2.1)
    assert [c.text for c in cues] == ["第一句。", "第二句。"]
    assert cues[-1].end <= 2.1
