"""ID3 tags, chapters and the default title."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import lameenc
import numpy as np
import pytest
from mp3_duration import probe_duration
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from bulletin.errors import ConfigError
from bulletin.publish.tags import Chapter, default_title, write_tags


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    t = np.arange(24000 * 3) / 24000
    pcm = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    enc = lameenc.Encoder()
    enc.set_bit_rate(48)
    enc.set_in_sample_rate(24000)
    enc.set_channels(1)
    path = tmp_path / "b.mp3"
    path.write_bytes(bytes(enc.encode(pcm.tobytes()) + enc.flush()))
    return path


def test_tags_and_chapters(mp3: Path) -> None:
    length = MP3(str(mp3)).info.length
    chapters = [Chapter("第一条", 0.0, 1.2), Chapter("第二条", 1.2, 2.0), Chapter("第三条", 2.0, 3.0)]
    write_tags(
        mp3,
        title="早间新闻：国务院发布新规",
        author="新闻台",
        publisher="bulletin",
        date=datetime(2025, 3, 1, 7, 30),
        chapters=chapters,
    )
    tags = ID3(str(mp3))
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "早间新闻：国务院发布新规"
    assert str(tags["TPE1"]) == "新闻台"
    assert str(tags["TPUB"]) == "bulletin"
    assert str(tags["TLAN"]) == "zho"
    assert str(tags["TDRC"]).startswith("2025-03-01")
    (toc,) = tags.getall("CTOC")
    assert toc.child_element_ids == ["chp0", "chp1", "chp2"]
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [(c.start_time, c.end_time) for c in chaps] == [(0, 1200), (1200, 2000), (2000, 3000)]
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["第一条", "第二条", "第三条"]
    assert MP3(str(mp3)).info.length == pytest.approx(length)  # audio untouched


def test_one_story_has_no_chapters_and_tags_are_replaced(mp3: Path) -> None:
    write_tags(mp3, title="旧标题", chapters=[Chapter("a", 0, 1), Chapter("b", 1, 2)])
    write_tags(mp3, title="新标题", chapters=[Chapter("only", 0, 3)])
    tags = ID3(str(mp3))
    assert tags.getall("TIT2")[0].text == ["新标题"]
    assert not tags.getall("CHAP") and not tags.getall("CTOC")
    assert "TPE1" not in tags
    assert probe_duration(mp3) == pytest.approx(3.0, abs=0.1)


def test_bad_tag_values(mp3: Path) -> None:
    with pytest.raises(ConfigError):
        write_tags(mp3, title="  ")
    with pytest.raises(ConfigError):
        write_tags(mp3, title="x", language="zh")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("国务院今天召开常务会议。会议决定……", "国务院今天召开常务会议"),
        ("  “美联储”宣布加息25个基点！市场震荡。", "“美联储”宣布加息25个基点"),
        (
            "国务院今天发布了关于进一步优化营商环境、降低企业成本的若干意见，要求各地抓紧落实。",
            "国务院今天发布了关于进一步优化营商环境",
        ),
        (
            "NASA announced the Artemis mission launch window today at 12345678 hours",
            "NASA announced the Artemis",
        ),
        ("。。！", "新闻简报"),
        ("", "新闻简报"),
    ],
)
def test_default_title(text: str, title: str) -> None:
    assert default_title(text) == title


def test_default_title_never_cuts_a_word_or_number() -> None:
    title = default_title("今日要闻包括全国粮食总产量达到6954100000000公斤的最新统计")
    assert len(title) <= 30
    assert not title.endswith(("695", "6954", "69541"))
    assert "6954100000000" in title or not any(ch.isdigit() for ch in title)
    accent = default_title("e\u0301" * 40)  # combining marks stay with their letter
    assert not accent.startswith("\u0301") and len(accent) <= 30
    long_clause = "一二三四五六七八九十" * 3 + "一二三，好"
    assert not default_title(long_clause).endswith("，")
