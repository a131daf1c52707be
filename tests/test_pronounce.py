"""Pronunciation (issue 11): polyphones in context, nothing dropped silently, the lexicon,
``bulletin pronounce`` and ``bulletin lexicon check``, through the CLI and the library.

None of these needs the offline voice model: the reader (pypinyin + the polyphone network
from the g2pM wheel) works without it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import run_cli as run
from memory_engine import MemoryEngine

from bulletin.audio.settings import EncodeOptions
from bulletin.engines.base import VoiceSettings
from bulletin.engines.offline import OfflineEngine
from bulletin.engines.reading import Reader, unspoken
from bulletin.environment import Dirs
from bulletin.errors import InputError
from bulletin.run.build import run_build
from bulletin.run.options import BuildOptions, OutputOptions, SourceOptions, VoiceOptions
from bulletin.text.lexicon import Lexicon, char_readings, merged, parse, respell

QUICK = EncodeOptions(normalize=False)  # no loudness passes: these tests are about words


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def said(reader: Reader, text: str, sandhi: bool = False) -> str:
    return " ".join(s for r in reader.read(text, sandhi=sandhi) for s in r.syllables)


@pytest.fixture(autouse=True)
def no_user_lexicon(monkeypatch, tmp_path):
    """The user's own lexicon.toml must not leak into the tests."""
    monkeypatch.setenv("BULLETIN_CONFIG_DIR", str(tmp_path / "config"))


# ---------------------------------------------------------------- polyphones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("重庆银行行长", "chong2 qing4 yin2 hang2 hang2 zhang3"),
        ("重慶銀行行長", "chong2 qing4 yin2 hang2 hang2 zhang3"),  # Traditional: looked up in Simplified
        ("他长大了", "ta1 zhang3 da4 le5"),
        ("進一步了解各國的想法", "jin4 yi2 bu4 liao3 jie3 ge4 guo2 de5 xiang3 fa3"),
        ("為了這次會談", "wei4 le5 zhe4 ci4 hui4 tan2"),
        ("外交通商次長", "wai4 jiao1 tong1 shang1 ci4 zhang3"),
    ],
)
def test_polyphones_are_read_in_context(reader: Reader, text: str, expected: str) -> None:
    assert said(reader, text) == expected


def test_sandhi_is_applied_only_when_asked(reader: Reader) -> None:
    assert said(reader, "你好") == "ni3 hao3"
    assert said(reader, "你好", sandhi=True) == "ni2 hao3"
    assert said(reader, "一天不是", sandhi=True) == "yi4 tian1 bu2 shi4"
    assert said(reader, "十一月第一", sandhi=True) == "shi2 yi1 yue4 di4 yi1"  # numbers keep yi1


def test_every_character_gets_one_reading(reader: Reader) -> None:
    for text in ("😀 <speak>你好</speak> \x00，。", "ＡＢＣ１２３", "e\u0301t\u00e9", "㍿重"):
        assert len(reader.read(text)) == len(text)


# ---------------------------------------------------------------- nothing dropped silently


def test_an_unreadable_character_is_skipped_not_read_as_a_digit(reader: Reader) -> None:
    readings = reader.read("㘃很好")
    assert readings[0].kind == "skip" and readings[0].syllables == ()
    assert said(reader, "㘃很好") == "hen3 hao3"  # it was 'wu3 hen3 hao3': the 5 of a neutral tone
    assert unspoken(readings) == ["㘃"]


def test_latin_words_are_spelled_or_listed(reader: Reader) -> None:
    readings = reader.read("iPhone 16 Pro 在WTO")
    assert unspoken(readings) == ["iPhone", "Pro"]
    assert said(reader, "WTO") == "da2 bu5 liu5 ti4 ou1"


class OfflineReading(MemoryEngine):
    """Audio from memory, and the offline engine's own list of what it skips (which loads no model)."""

    def __init__(self) -> None:
        super().__init__(name="offline")
        self.offline = OfflineEngine()

    def unspoken(self, texts: Sequence[str], voices: Sequence[VoiceSettings]) -> list[str]:
        return self.offline.unspoken(texts, voices)


def test_the_run_lists_what_the_offline_voice_skips(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("蘋果發表iPhone 16 Pro，售價不變。㘃字很少見。\n", encoding="utf-8")
    baker = BuildOptions(
        sources=SourceOptions(articles=(str(article),)),
        voice=VoiceOptions(name="baker"),
        output=OutputOptions(path=str(tmp_path / "a.mp3"), encode=QUICK),
    )
    report = run_build(baker, engine=OfflineReading(), dirs=Dirs.under(tmp_path / "dirs"))
    assert report.unspoken == ["iPhone", "Pro", "㘃"]  # Baker skips Latin words
    kokoro = BuildOptions(
        sources=SourceOptions(articles=(str(article),)),
        output=OutputOptions(path=str(tmp_path / "b.mp3"), encode=QUICK),
    )
    report = run_build(kokoro, engine=OfflineReading(), dirs=Dirs.under(tmp_path / "dirs"))
    assert report.unspoken == ["㘃"]  # a Kokoro voice spells them
    # an engine that says everything has nothing to list
    report = run_build(kokoro, engine=MemoryEngine(name="offline"), dirs=Dirs.under(tmp_path / "more"))
    assert report.unspoken == []


def test_kokoro_spells_latin_words_and_skips_only_very_long_ones() -> None:
    from bulletin.engines.reading import Reader, unspoken

    reader = Reader()
    readings = reader.read("蘋果iPhone和Google，還有Supercalifragilistic", spell=True)
    assert unspoken(readings) == ["Supercalifragilistic"]
    spelled = " ".join("".join(r.syllables) for r in readings if r.kind == "letter")
    assert spelled.startswith("ai4 pi1 ai4qi1")  # i-P-h…


# ---------------------------------------------------------------- pronounce


def test_pronounce_plain_and_json() -> None:
    result = run("pronounce", "重慶銀行行長說了", "你好！")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["chong2 qing4 yin2 hang2 hang2 zhang3 shuo1 le5", "ni3 hao3"]
    result = run("pronounce", "--json", "了 OK㘃")
    items = json.loads(result.stdout)
    assert [i["char"] for i in items] == list("了 OK㘃")
    assert items[0] == {"char": "了", "pinyin": "le5"}
    assert items[1]["pinyin"] is None and items[-1]["pinyin"] is None
    assert items[2] == {"char": "O", "pinyin": "ou1"}  # an acronym, spelled


def test_pronounce_sandhi_and_numbers() -> None:
    result = run("pronounce", "--sandhi", "--json", "你好24號")
    items = json.loads(result.stdout)
    assert [i["pinyin"] for i in items] == ["ni2", "hao3", "er4 shi2 si4", None, "hao4"]


def test_pronounce_answers_ten_thousand_lines_in_order() -> None:
    words = ["重慶", "銀行", "行長", "了解", "你好", "一天", "长大", "音乐"]
    lines = [f"{words[i % len(words)]}{words[(i * 7) % len(words)]}" for i in range(10_000)]
    result = run("pronounce", "--json", "-", input="\n".join(lines).encode())
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert len(out) == 10_000
    for line, answer in zip(lines, out, strict=True):
        assert "".join(item["char"] for item in json.loads(answer)) == line


# ---------------------------------------------------------------- the lexicon


def test_lexicon_entries_and_respellings() -> None:
    entries = parse('"曾國城" = "增國城"\n"重慶" = { pinyin = "chong2 qing4" }\n"NVIDIA" = "輝達"\n', "t")
    lexicon = Lexicon(entries)
    assert lexicon.apply("曾國城和NVIDIA在重慶", "hant") == "增國城和輝達在崇慶"
    assert lexicon.apply("曾国城在重庆", "hans") == "增国城在崇庆"  # the other script matches too
    assert lexicon.apply("NVIDIAS", "hant") == "NVIDIAS"  # not inside a longer Latin word
    for script in ("hant", "hans"):
        spelled = respell("蚌埠", ("beng4", "bu4"), script)
        assert [char_readings(ch)[0] for ch in spelled] == ["beng4", "bu4"]
        assert char_readings(spelled[0]) == ("beng4",)  # a character with that one reading


def test_lexicon_files_merge_the_more_specific_winning(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "lexicon.toml").write_text('"蚌埠" = "甲"\n"乙地" = "乙"\n', encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text('"蚌埠" = "丙"\n', encoding="utf-8")
    user = config / "lexicon.toml"
    assert merged(user=user).apply("蚌埠乙地番禺", "hant").startswith("甲乙")
    assert merged([mine], user=user).apply("蚌埠乙地", "hant") == "丙乙"
    assert merged(default=False).apply("番禺", "hant") == "番禺"
    assert merged().apply("番禺", "hant") != "番禺"  # the shipped lexicon


def test_dry_run_shows_the_respelling_and_clean_the_original(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("主持人曾國城今天在重慶主持節目。\n", encoding="utf-8")
    lexicon = tmp_path / "l.toml"
    lexicon.write_text('"重慶" = { pinyin = "chong2 qing4" }\n', encoding="utf-8")
    result = run("build", str(article), "--dry-run", "--json", "--engine", "edge", "--lexicon", str(lexicon))
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    chunk = plan["chunks"][0]
    assert "曾國城" in chunk["text"] and "重慶" in chunk["text"]
    assert "增國城" in chunk["spoken"] and "崇慶" in chunk["spoken"]  # shipped + --lexicon
    assert "重慶" in run("clean", str(article)).stdout
    result = run("pronounce", "--lexicon", str(lexicon), "--json", "曾國城在重慶")
    assert [i["pinyin"] for i in json.loads(result.stdout)] == [
        "zeng1",
        "guo2",
        "cheng2",
        "zai4",
        "chong2",
        "qing4",
    ]
    off = run("build", str(article), "--dry-run", "--json", "--engine", "edge", "--no-default-lexicon")
    assert "曾國城" in json.loads(off.stdout)["chunks"][0]["spoken"]


def test_subtitles_keep_the_original_words(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("主持人曾國城今天出席活動。\n", encoding="utf-8")
    engine = MemoryEngine()
    options = BuildOptions(
        sources=SourceOptions(articles=(str(article),)),
        output=OutputOptions(path=str(tmp_path / "a.mp3"), subtitles=str(tmp_path / "a.srt"), encode=QUICK),
    )
    run_build(options, engine=engine, dirs=Dirs.under(tmp_path / "dirs"))
    assert "增國城" in engine.texts[0]
    assert "曾國城" in (tmp_path / "a.srt").read_text(encoding="utf-8")


def test_a_changed_lexicon_rebuilds(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("他們在蚌埠見面。\n", encoding="utf-8")
    lexicon = tmp_path / "l.toml"
    lexicon.write_text('"見面" = "碰面"\n', encoding="utf-8")
    options = BuildOptions(
        sources=SourceOptions(articles=(str(article),)),
        voice=VoiceOptions(lexicons=(str(lexicon),)),
        output=OutputOptions(path=str(tmp_path / "a.mp3"), encode=QUICK),
    )
    dirs = Dirs.under(tmp_path / "dirs")
    assert run_build(options, engine=MemoryEngine(), dirs=dirs).skipped_unchanged is None
    assert run_build(options, engine=MemoryEngine(), dirs=dirs).skipped_unchanged is not None
    lexicon.write_text('"見面" = "會面"\n', encoding="utf-8")
    engine = MemoryEngine()
    assert run_build(options, engine=engine, dirs=dirs).skipped_unchanged is None
    assert "會面" in engine.texts[0]


def test_lexicon_check(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('"重慶" = { pinyin = "chong2 qing4" }\n"NVIDIA" = "輝達"\n', encoding="utf-8")
    result = run("lexicon", "check", str(good))
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('"重慶" = { pinyin = "chong9 qing4" }\n"" = "x"\n"A" = ""\n"B" = 3\n', encoding="utf-8")
    result = run("lexicon", "check", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 4 and all(line.startswith("bulletin: error: ") for line in lines)
    assert "unknown syllable 'chong9'" in lines[0] and "empty word" in lines[1]
    broken = tmp_path / "broken.toml"
    broken.write_text('"a" = [\n', encoding="utf-8")
    result = run("lexicon", "check", str(broken))
    assert (
        result.exit_code == 2 and "not valid TOML" in result.stderr and len(result.stderr.splitlines()) == 1
    )
    assert run("lexicon", "check", "bulletin/text/news_lexicon.toml").exit_code == 0


def test_a_bad_lexicon_stops_the_build_before_any_work(tmp_path: Path, sample: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('"重慶" = { pinyin = "chong2" }\n', encoding="utf-8")
    result = run("build", str(sample), "--dry-run", "--engine", "edge", "--lexicon", str(bad))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "1 syllables for 2 characters" in result.stderr
    with pytest.raises(InputError):
        merged([tmp_path / "missing.toml"])


@pytest.mark.slow
def test_the_voice_model_gets_no_digit_for_an_unreadable_character() -> None:
    """What the offline model is fed (its symbols), with the real model's symbol table."""
    from bulletin.engines.offline.baker import store as models
    from bulletin.engines.offline.baker.frontend import PinyinFrontend

    base = models.data_dir()
    if not models.is_installed(base):
        models.install_model(None, base=base)
    frontend = PinyinFrontend(models.model_dir(base) / models.MAPPER)
    (phrase,) = frontend.phrases("㘃很好", 40)
    assert phrase.syllables == 2 and "u3" not in phrase.symbols  # not 五 (w u3) before 很好
    (phrase,) = frontend.phrases("重慶銀行", 40)
    assert phrase.text == "chong2 qing4 yin2 hang2"
