"""Short articles in every encoding a newsroom sends come back as the text (issue 12, item 7).

The corpus (tests/data/short_news.txt) is short real-looking news, one or two sentences or a
headline, Simplified and Traditional, with the marks that fooled the old detector. Each item
is written in every encoding that can represent it and read by ``bulletin clean`` through the
CLI; the result must be what ``clean`` prints for the UTF-8 file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import run_cli as run

from bulletin.text.detect import CANDIDATES, MIN_SCORE, SAMPLE_BYTES, detect, rank

CORPUS = Path(__file__).parent / "data" / "short_news.txt"
ITEMS = [
    line
    for line in CORPUS.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]

#: Every encoding under test, and the names detection may report for it.
ENCODINGS = {
    "gb18030": {"gb18030"},
    "gbk": {"gb18030"},
    "gb2312": {"gb18030"},
    "big5": {"big5", "cp950", "big5hkscs"},
    "cp950": {"big5", "cp950", "big5hkscs"},
    "utf-8": {"utf-8"},
    "utf-16": {"utf-16"},  # Python's utf-16 writes a byte-order mark
}


def _encodable(encoding: str) -> list[tuple[int, bytes]]:
    out = []
    for index, item in enumerate(ITEMS):
        try:
            out.append((index, (item + "\n").encode(encoding)))
        except UnicodeEncodeError:
            continue
    return out


def test_the_corpus_is_big_and_has_the_hard_marks():
    assert len(ITEMS) >= 60
    joined = "".join(ITEMS)
    for mark in "“”℃€％０·—《》「」":
        assert mark in joined, mark
    assert any("們" in item or "說" in item for item in ITEMS)  # Traditional
    assert any("们" in item or "说" in item for item in ITEMS)  # Simplified
    for encoding in ENCODINGS:
        assert len(_encodable(encoding)) >= 30, encoding


def _clean_json(paths: list[Path]) -> dict:
    result = run("clean", "--json", *map(str, paths))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_clean_gives_back_the_text_in_every_encoding(tmp_path, encoding):
    """One ``clean`` run over every item the encoding can hold, against the same items in UTF-8."""
    items = _encodable(encoding)
    (tmp_path / "utf8").mkdir()
    (tmp_path / encoding).mkdir()
    originals, encoded = [], []
    for index, data in items:
        original = tmp_path / "utf8" / f"{index:03}.txt"
        original.write_text(ITEMS[index] + "\n", encoding="utf-8")
        originals.append(original)
        path = tmp_path / encoding / f"{index:03}.txt"
        path.write_bytes(data)
        encoded.append(path)
    expected = _clean_json(originals)
    got = _clean_json(encoded)
    assert len(expected["stories"]) == len(got["stories"]) == len(items)  # one story per item
    wrong = [
        (ITEMS[index], story)
        for (index, _), story, want in zip(items, got["stories"], expected["stories"], strict=True)
        if story != want
    ]
    assert not wrong, wrong[:5]
    assert got["stories"] == expected["stories"] and got["text"] == expected["text"]
    reported = {entry["encoding"] for entry in got["inputs"]}
    assert reported <= ENCODINGS[encoding], reported


def test_the_right_reading_wins_by_a_margin():
    """On every item and encoding, the right decoding scores well above the bar and every wrong
    one well below it (today: right ones from 0.79, with rare names like 嫦娥; wrong ones at
    most 0.27), so the choice does not hang on a fine-tuned weight."""
    for encoding in ("gb18030", "gbk", "gb2312", "big5", "cp950"):
        for index, data in _encodable(encoding):
            text = ITEMS[index] + "\n"
            for guess in rank(data):
                if data.decode(guess.encoding) == text:
                    assert guess.score >= MIN_SCORE + 0.15, (encoding, text, guess)
                else:
                    assert guess.score <= MIN_SCORE - 0.3, (encoding, text, guess)
            assert detect(data) == (text, detect(data)[1]), (encoding, text)


def test_not_chinese_is_refused_not_guessed(tmp_path):
    random.seed(12)
    others = {
        "sjis.txt": "東京都は今日、新しい計画を発表しました。".encode("shift_jis"),
        "latin1.txt": "Le président a déclaré que l'économie était en crise.".encode("latin-1"),
        "noise.txt": bytes(random.randrange(0x80, 0x100) for _ in range(200)),
    }
    for name, data in others.items():
        assert detect(data) is None, name
        path = tmp_path / name
        path.write_bytes(data)
        result = run("clean", str(path))
        assert result.exit_code == 2, (name, result.output)
        assert result.stderr.strip().splitlines() == [
            f"bulletin: error: {path}: undecodable: not UTF-8, UTF-16, GB18030 or Big5 "
            "(use --encoding to force one)"
        ]


def test_a_long_ascii_head_does_not_hide_the_chinese():
    data = b"<!-- exported by the wire system -->\n" * 1000 + "他说：“好。”\n".encode("gbk")
    assert len(data) > SAMPLE_BYTES
    assert detect(data) == (data.decode("gb18030"), "gb18030")


def test_only_a_sample_is_scored_but_the_whole_file_is_decoded(tmp_path):
    body = "国家统计局说，五月份居民消费价格同比上涨０．３％。\n" * 2000
    data = body.encode("gb18030")
    assert len(data) > 4 * SAMPLE_BYTES
    assert detect(data) == (body, "gb18030")
    # A byte no candidate accepts, past the sample: refused whole, never half-read.
    assert detect(data + b"\xff") is None
    path = tmp_path / "long.txt"
    path.write_bytes(data + b"\xff")
    result = run("clean", str(path))
    assert result.exit_code == 2 and "undecodable" in result.stderr


def test_cp950_only_marks_pick_cp950():
    """€ exists in Microsoft's Big5 (cp950) only; Python's big5 refuses its bytes."""
    data = "門票價格為１２０€。".encode("cp950")
    assert detect(data) == ("門票價格為１２０€。", "cp950")
    assert rank(data)[0].encoding == "cp950"
    assert set(CANDIDATES) >= {"gb18030", "big5", "cp950"}
