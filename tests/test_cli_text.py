"""The text commands through the CLI, on real files: clean, build --dry-run, bad input."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SIMPLIFIED, TRADITIONAL
from conftest import run_cli as run

from bulletin.text.chars import is_speakable


def test_clean_prints_the_story_once(sample):
    result = run("clean", str(sample))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert len(re.sub(r"\s", "", text)) == 581
    assert "24號" in text and "二○○二年" in text
    assert text.count("國際高度關注") == 1


def test_clean_verbose_reports_removals_on_stderr(sample):
    result = run("clean", str(sample), "-v")
    assert "removed 110 repeated sentences" in result.stderr
    assert "removed" not in result.stdout


def test_clean_json_and_stdin(sample):
    result = run("clean", "-", "--json", input=sample.read_bytes())
    data = json.loads(result.stdout)
    assert data["inputs"][0]["path"] == "-"
    assert data["inputs"][0]["encoding"] == "utf-8"
    assert data["removed"]["sentences"] == 110
    assert data["script"] == "hant"


def test_clean_several_articles_kept_in_order(tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_bytes(TRADITIONAL.encode("big5"))
    b.write_bytes(SIMPLIFIED.encode("gb18030"))
    result = run("clean", str(a), str(b))
    assert result.exit_code == 0, result.output
    stories = result.stdout.strip().split("\n\n")
    assert len(stories) == 2
    assert stories[0].startswith("颱風凱米") and "51公尺" in stories[0]
    assert stories[1].startswith("国家统计局")


def test_dry_run_json_plan(sample):
    result = run("build", str(sample), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    cleaned = run("clean", str(sample)).stdout.strip()
    chunks = plan["chunks"]
    assert "".join(c["text"] for c in chunks) == cleaned
    assert all(len(c["spoken"]) <= plan["limit"] for c in chunks)
    assert all(is_speakable(c["text"]) for c in chunks)
    spoken = "".join(c["spoken"] for c in chunks)
    assert "二十四號" in spoken and "二零零二年" in spoken
    assert all({"text", "spoken", "story", "paragraph"} <= set(c) for c in chunks)
    assert 60 < plan["estimated_seconds"] < 240
    assert plan["text"] == cleaned


def test_dry_run_offline_uses_the_offline_limit(sample):
    plan = json.loads(run("build", str(sample), "--dry-run", "--json", "--engine", "offline").stdout)
    assert plan["engine"] == "offline"
    assert all(len(c["spoken"]) <= plan["limit"] for c in plan["chunks"])


def test_dry_run_text_table(sample):
    result = run("build", str(sample), "--dry-run")
    assert result.exit_code == 0
    assert "estimated duration" in result.stdout
    assert "二十四號" in result.stdout


def test_default_voice_follows_script(tmp_path):
    a = tmp_path / "s.txt"
    a.write_text(SIMPLIFIED, encoding="utf-8")
    plan = json.loads(run("build", str(a), "--dry-run", "--json").stdout)
    assert plan["voice"].startswith("zh-CN-")
    a.write_text(TRADITIONAL, encoding="utf-8")
    plan = json.loads(run("build", str(a), "--dry-run", "--json").stdout)
    assert plan["voice"].startswith("zh-TW-")


BAD_INPUTS = {
    "empty.txt": b"",
    "blank.txt": b"  \n\r\n\t\n",
    "image.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "garbage.txt": bytes(range(0x80, 0x100)) * 8,
    "english.txt": b"Only English text here, nothing Chinese at all.",
    "punct.txt": "。，、！？……「」\n".encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", [["clean"], ["build", "--dry-run"], ["build", "-o", "x.mp3"]])
def test_bad_input_one_line_exit_2(tmp_path, name, command):
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name])
    result = run(*command, str(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulletin: error:")
    assert str(path) in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.mp3").exists()


def test_missing_path_and_directory(tmp_path):
    result = run("clean", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = run("clean", str(tmp_path))  # a folder with no articles in it: nothing new, not an error
    assert result.exit_code == 0 and result.stderr.strip() == "bulletin: no new stories"


def test_bad_options_are_usage_errors(sample):
    for args, message in (
        (["--rate", "fast"], "bad rate"),
        (["--pitch", "+2%"], "bad pitch"),
        (["--voice", "nobody"], "unknown voice"),
        (["--subtitles", "x.txt"], ".srt or .vtt"),
        (["--feed", "f.xml"], "--base-url"),
        (["--encoding", "klingon"], "unknown encoding"),
        (["--feed", "f.xml", "--base-url", "notaurl"], "http"),
        (["--pause-story", "15000"], "pause-story"),
    ):
        result = run("build", str(sample), "--dry-run", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_markup_and_control_characters_and_emoji_are_text(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("記者<speak>報導</voice>，今天\x07天氣晴😀。", encoding="utf-8")
    plan = json.loads(run("build", str(path), "--dry-run", "--json").stdout)
    assert "\x07" not in plan["text"]
    assert "報導" in plan["chunks"][0]["spoken"]


def test_help_everywhere_has_examples():
    for command in (
        ["--help"],
        ["clean", "--help"],
        ["build", "--help"],
        ["preview", "--help"],
        ["voices", "--help"],
        ["voices", "install", "--help"],
        ["cache", "--help"],
        ["cache", "info", "--help"],
        ["cache", "clear", "--help"],
    ):
        result = run(*command)
        assert result.exit_code == 0
        assert "bulletin" in result.output
    assert "Exit codes" in run("build", "--help").output


def test_voices_lists_presets():
    result = run("voices")
    assert result.exit_code == 0
    assert "tw-news" in result.stdout and "offline" in result.stdout


def test_unwritable_output_folder_is_refused_before_any_work(sample):
    result = run("build", str(sample), "-o", "/proc/bulletin-test.mp3")
    assert result.exit_code == 2
    assert "cannot write in /proc" in result.stderr
    assert "engine:" not in result.stderr
