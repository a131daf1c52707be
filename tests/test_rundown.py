"""The desk's decisions (issue 18): stories ranked, cut to radio length, rotated between editions.

The pure decisions of :mod:`bulletin.run.editorial` are tested directly; the programme on
the rundown set (19 wire articles about 10 events, three agencies' feeds:
``tests/data/rundown/wires.toml``) through ``run_build`` with the in-memory engine at a
newsreader's pace (0.2 s a character); pins, drops, source priority and ``order =
"given"`` through the CLI's dry run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import run_cli
from memory_engine import MemoryEngine
from mp3_duration import probe_duration
from wires import write_feeds

from bulletin.audio.settings import EncodeOptions
from bulletin.environment import Dirs
from bulletin.errors import ConfigError
from bulletin.run.build import run_build
from bulletin.run.context import Run
from bulletin.run.dry_run import dry_run_plan
from bulletin.run.editorial import (
    NEW,
    REPEATED,
    UPDATED,
    Desk,
    Facts,
    cut,
    cut_to,
    rank,
    sentence_digests,
    status,
)
from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions, SourceOptions
from bulletin.run.read import clean_sources, gather
from bulletin.text.chunk import sentences

#: 10:00 in Taipei, the hour after the last wire article.
AIR = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)
PACE = 0.2
HOURLY = 'name = "整點新聞"\nslot = "2:00"\nvoice = "tw-news"\n[opener]\ntext = "{name}，現在是{time}。"\n'


# --- the pure decisions -------------------------------------------------------------------


def facts(story: int, *, sources: int = 1, hour: int = 8, headline: str = "", said: tuple[str, ...] = ()):
    when = datetime(2026, 12, 4, hour, tzinfo=timezone.utc)
    origins = tuple(f"wire{n}" for n in range(sources))
    return Facts(story, headline, "", origins, sources, when, said or (f"s{story}",))


def order(entries) -> list[int]:
    return [e.story for e in entries if e.left_out is None]


def test_more_sources_lead_then_the_newer_then_the_order_given() -> None:
    stories = [facts(0, hour=9), facts(1, sources=3, hour=5), facts(2, sources=2), facts(3, hour=9)]
    assert order(rank(stories, Desk(order="importance"))) == [1, 2, 0, 3]
    assert order(rank(stories, Desk(order="given"))) == [0, 1, 2, 3]
    entries = rank(stories, Desk(order="importance", max_stories=2))
    assert [e.left_out for e in entries] == [None, None, "over max_stories (2)", "over max_stories (2)"]
    assert [e.rank for e in entries] == [1, 2, 3, 4]


def test_pins_lead_in_pin_order_in_either_script_and_drops_are_never_aired() -> None:
    stories = [
        facts(0, sources=3, headline="央行利率不變"),
        facts(1, headline="台风白鹿逼近"),  # Simplified: the pin is Traditional
        facts(2, headline="地震"),
        facts(3, sources=5, headline="本週特惠，業配"),
    ]
    desk = Desk(order="importance", pins=("地震", "颱風"), drops=("廣告", "業配"))
    entries = rank(stories, desk)
    assert order(entries) == [2, 1, 0]
    dropped = entries[-1]
    assert dropped.story == 3 and dropped.left_out == "dropped by word 業配" and dropped.rank is None
    assert [e.pinned for e in entries[:3]] == [True, True, False]


def test_a_story_aired_unchanged_ranks_after_the_others_unless_pinned() -> None:
    big = facts(0, sources=3, headline="颱風", said=("a", "b"))
    grown = facts(1, sources=2, said=("c", "d", "e"))  # gained a sentence since
    fresh = facts(2, said=("f",))
    last = [("a", "b", "x"), ("c", "d")]
    assert [status(f.sentences, last) for f in (big, grown, fresh)] == [REPEATED, UPDATED, NEW]
    assert order(rank([big, grown, fresh], Desk(order="importance", rotate=True), last)) == [1, 2, 0]
    assert order(rank([big, grown, fresh], Desk(order="importance", rotate=False), last)) == [0, 1, 2]
    pinned = Desk(order="importance", rotate=True, pins=("颱風",))
    assert order(rank([big, grown, fresh], pinned, last)) == [0, 1, 2]


def test_when_every_story_is_a_repeat_last_editions_lead_does_not_lead_again() -> None:
    a, b = facts(0, sources=3, said=("a",)), facts(1, sources=2, said=("b",))
    assert order(rank([a, b], Desk(order="importance", rotate=True), [("a",), ("b",)])) == [1, 0]


def test_a_story_is_cut_at_a_sentence_end_keeping_its_start() -> None:
    assert cut_to([8.0, 9.0, 7.0, 5.0], [0.5, 0.5, 0.5], 20.0).kept == 2  # 8 + 0.5 + 9
    assert cut_to([8.0, 9.0, 7.0, 5.0], [0.5, 0.5, 0.5], 40.0).kept == 4
    assert cut_to([8.0, 30.0, 1.0], [0.5, 0.5], 20.0).kept == 1  # never the third without the second
    alone = cut_to([45.0, 3.0], [0.5], 30.0)  # the first sentence stays whole, even alone over budget
    assert (alone.kept, alone.total, alone.seconds) == (1, 2, 45.0)
    assert cut_to([8.0, 9.0], [0.5], None).kept == 2
    story = ("甲說話了。乙也說了！丙呢？", "丁走了。戊來了。")
    assert cut(story, 2) == ("甲說話了。乙也說了！",)
    assert cut(story, 4) == ("甲說話了。乙也說了！丙呢？", "丁走了。")
    assert cut(story, 9) == story
    assert sentence_digests(["甲說話了。"]) == sentence_digests(["甲说话了。"])  # script does not matter


# --- the programme on the rundown set ------------------------------------------------------


def hourly(tmp_path: Path, sources: list[Path], *, air: str = "10:00", body: str = HOURLY) -> BuildOptions:
    programme = tmp_path / "hourly.toml"
    programme.write_text(body, encoding="utf-8")
    return BuildOptions(
        sources=SourceOptions(articles=tuple(map(str, sources))),
        output=OutputOptions(path=str(tmp_path / "hourly.mp3"), encode=EncodeOptions(normalize=False)),
        programme=ProgrammeOptions(file=str(programme), air_time=air, timezone="Asia/Taipei"),
    )


def build(options: BuildOptions, dirs: Path, hours: int = 0):
    engine = MemoryEngine(seconds_per_char=PACE)
    clock = lambda: AIR + timedelta(hours=hours)  # noqa: E731
    return run_build(options, engine=engine, dirs=Dirs.under(dirs), clock=clock)


def aired(report) -> list[dict]:
    return [line for line in report.rundown if line["aired"]]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The rundown set as an hourly two-minute programme, built once (its clips are cached
    for the other builds; its run record is the last edition of its output)."""
    folder = tmp_path_factory.mktemp("rundown")
    feeds = write_feeds(folder / "feeds")
    options = hourly(folder, feeds)
    report = build(options, folder / "dirs")
    seconds = probe_duration(Path(options.output.path or ""))
    return {"folder": folder, "feeds": feeds, "report": report, "options": options, "seconds": seconds}


def test_the_programme_airs_five_stories_or_more_each_within_its_budget(edition) -> None:
    report = edition["report"]
    lines = aired(report)
    assert len(lines) >= 5, report.rundown
    for line in lines:
        assert line["budget_seconds"] == 30.0 and line["seconds"] <= 30.0 + 1.0, line
    lead = lines[0]
    assert lead["rank"] == 1 and len(lead["sources"]) == 3 and lead["headline"].startswith("晶耀科技")
    assert lead["sentences_dropped"] > 0  # the chip-maker's story is cut to radio length
    assert abs(edition["seconds"] - 120.0) <= 1.0
    left = [line for line in report.rundown if not line["aired"]]
    assert left and all(line["left_out"] == "did not fit" for line in left)
    assert [line["story"] for line in lines] == report.programme["aired"]


def test_the_same_files_in_reversed_order_give_the_same_rundown(edition, tmp_path) -> None:
    report = build(hourly(tmp_path, edition["feeds"][::-1]), edition["folder"] / "dirs")  # another output

    def said(r) -> list[tuple[str, int]]:
        return [(line["headline"], line["sentences_kept"]) for line in aired(r)]

    assert said(report) == said(edition["report"])


def test_every_aired_story_is_whole_sentences_from_the_start_of_its_story(edition) -> None:
    options = edition["options"]
    run = Run.make(options)
    clean = clean_sources(run, gather(run))
    assert clean is not None
    plan = dry_run_plan(options, engine=MemoryEngine(seconds_per_char=PACE))
    told: dict[int, str] = {}
    for chunk in plan["chunks"]:
        if chunk["segment"] == "story":
            told[chunk["story"]] = told.get(chunk["story"], "") + chunk["text"]
    assert len(told) >= 5
    for story, text in told.items():
        whole = [s for p in clean.stories[story] for s in sentences(p)]
        kept = next(line["sentences_kept"] for line in plan["rundown"] if line["story"] == story)
        assert "".join(text.split()) == "".join("".join(whole[:kept]).split()), story


def test_the_next_edition_airs_the_new_story_and_leads_with_no_repeat(edition, tmp_path) -> None:
    import shutil

    first = aired(edition["report"])
    feeds = write_feeds(tmp_path / "feeds", extra=True)
    folder = edition["folder"]
    shutil.copytree(folder / "dirs" / "state", tmp_path / "state")  # the first edition's record
    dirs = Dirs(cache=folder / "dirs" / "cache", state=tmp_path / "state", data=folder / "dirs" / "data")
    clock = lambda: AIR + timedelta(hours=1)  # noqa: E731
    options = hourly(folder, feeds, air="11:00")  # the same output, an hour later
    again = run_build(options, engine=MemoryEngine(seconds_per_char=PACE), dirs=dirs, clock=clock)
    lines = aired(again)
    assert any(line["headline"].startswith("宜蘭外海") for line in lines), again.rundown
    assert lines[0]["status"] != REPEATED and lines[0]["headline"] != first[0]["headline"]
    repeated = {line["headline"] for line in again.rundown if line["status"] == REPEATED}
    assert repeated == {line["headline"] for line in first}  # the first edition's stories, unchanged


def test_a_dry_run_reads_the_last_edition_and_remembers_nothing(edition, monkeypatch) -> None:
    state = edition["folder"] / "dirs" / "state"
    records = {p: p.read_bytes() for p in state.rglob("*.json")}
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(state))
    options = hourly(edition["folder"], edition["feeds"], air="11:00")
    for _ in range(2):
        plan = dry_run_plan(options, engine=MemoryEngine(seconds_per_char=PACE))
        repeated = {line["story"] for line in plan["rundown"] if line["status"] == REPEATED}
        assert repeated == {line["story"] for line in aired(edition["report"])}
        assert plan["rundown"][0]["status"] != REPEATED
    assert records and {p: p.read_bytes() for p in state.rglob("*.json")} == records


# --- through the CLI: pins, drops, source priority, order = "given" -------------------------


@pytest.fixture(autouse=True)
def private_folders(monkeypatch, tmp_path):
    """The CLI's cache and state in the test's own folder (no last edition but the test's)."""
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cli-cache"))
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "cli-state"))


def dry(tmp_path: Path, body: str, *args: str) -> list[dict]:
    feeds = write_feeds(tmp_path / "feeds")
    programme = tmp_path / "p.toml"
    programme.write_text(body.replace("FEEDS", str(tmp_path / "feeds")), encoding="utf-8")
    sources = [] if "sources" in body else list(map(str, feeds))
    result = run_cli("build", *sources, "--programme", str(programme), "--dry-run", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["rundown"]


def headlines(rundown: list[dict]) -> list[str]:
    return [line["headline"][:4] for line in rundown if line["left_out"] is None]


def test_a_pin_leads_and_a_drop_is_never_aired_through_the_cli(tmp_path) -> None:
    body = HOURLY + '[rundown]\npin = ["登革熱", "故宮"]\ndrop = ["颱風"]\n'
    rundown = dry(tmp_path, body, "--engine", "offline")
    assert headlines(rundown)[:2] == ["台南登革", "故宮南院"]
    assert [line["pinned"] for line in rundown[:3]] == [True, True, False]
    typhoon = next(line for line in rundown if line["headline"].startswith("颱風"))
    assert typhoon["left_out"] == "dropped by word 颱風" and not typhoon["aired"]


def test_a_programme_whose_every_story_is_dropped_is_one_line_exit_2(tmp_path) -> None:
    feeds = write_feeds(tmp_path / "feeds")
    programme = tmp_path / "p.toml"
    programme.write_text(HOURLY + '[rundown]\ndrop = ["晶耀", "利率", "上海港", "天問"]\n', encoding="utf-8")
    out = tmp_path / "out.mp3"
    result = run_cli(
        "build", str(feeds[1]), "--programme", str(programme), "-o", str(out), "--engine", "offline"
    )
    assert (
        result.exit_code == 2
        and "every story holds a word of its rundown's drop (晶耀, 利率, 上海港, 天問)" in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_sources_priority_counts_as_coverage_and_plain_strings_still_work(tmp_path) -> None:
    body = (
        'slot = "2:00"\nsources = ["FEEDS/cna.json", { url = "FEEDS/udn.json", priority = 2 },\n'
        '  { url = "FEEDS/xinhua.json" }]\n'
    )
    rundown = dry(tmp_path, body, "--engine", "offline")
    # udn's stories gain 2: the chip-maker (three wires, udn among them: 5), the stories udn
    # carries with one other wire (4), udn's own (3), before those of two other wires (2)
    assert rundown[0]["headline"].startswith("晶耀科技") and rundown[0]["coverage"] == 5
    assert [line["coverage"] for line in rundown[1:6]] == [4, 4, 4, 4, 4]
    eggs = next(line for line in rundown if line["headline"].startswith("雞蛋"))
    assert eggs["coverage"] == 3 and eggs["rank"] < next(
        line["rank"] for line in rundown if line["headline"].startswith("上海港")
    )


def test_order_given_keeps_the_order_of_the_sources(tmp_path) -> None:
    body = HOURLY + '[rundown]\norder = "given"\n'
    rundown = dry(tmp_path, body, "--engine", "offline")
    # the feeds are read cna, xinhua, udn: cna's stories first, in the feed's order
    by_rank = sorted(rundown, key=lambda line: line["rank"])
    assert [line["headline"][:4] for line in by_rank[:3]] == ["晶耀科技", "颱風白鹿", "央行理監"]
    assert [line["story"] for line in by_rank] == list(range(len(rundown)))
    played = [line["story"] for line in rundown if line["aired"]]
    assert played == sorted(played) and len(played) >= 4


def test_a_plain_bulletin_keeps_its_order_unless_asked_and_cuts_only_when_asked(tmp_path) -> None:
    feeds = write_feeds(tmp_path / "feeds")
    args = ["build", *map(str, feeds[::-1]), "--dry-run", "--json", "--engine", "offline"]
    given = json.loads(run_cli(*args).stdout)["rundown"]
    assert [line["story"] for line in given] == list(range(len(given)))
    assert all(line["sentences_dropped"] in (None, 0) for line in given)
    ranked = json.loads(run_cli(*args, "--order", "importance", "--story-seconds", "15").stdout)
    lead = ranked["rundown"][0]
    assert lead["headline"].startswith(("晶耀科技", "AI晶片")) and len(lead["sources"]) == 3
    assert lead["sentences_dropped"] > 0 and lead["seconds"] <= 15 + 1
    assert ranked["chunks"][0]["story"] == lead["story"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[rundown]\norder = "loudest"\n', 'rundown.order must be "importance" or "given"'),
        ("[rundown]\nrotate = 1\n", "rundown.rotate must be true or false"),
        ('[rundown]\npin = "颱風"\nshuffle = true\n', "unknown key rundown.shuffle"),
        ("[stories]\nmax_seconds = 2\n", "stories.max_seconds must be a number of seconds from 5"),
        ('sources = [{ url = "a.txt", priority = "high" }]\n', "sources.priority must be a whole number"),
        ('sources = [{ path = "a.txt" }]\n', "unknown key sources.path"),
    ],
)
def test_a_bad_rundown_is_a_one_line_usage_error(tmp_path, toml: str, message: str) -> None:
    from bulletin.run.programme import load_programme

    path = tmp_path / "p.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_programme(path)


def test_a_plain_bulletin_by_importance_has_its_chapters_in_aired_order(tmp_path) -> None:
    from mutagen.id3 import ID3

    feeds = write_feeds(tmp_path / "feeds")
    out = tmp_path / "b.mp3"

    def options(count: int) -> BuildOptions:
        sources = SourceOptions(
            articles=tuple(map(str, feeds[::-1])), order="importance", story_seconds=15, max_stories=count
        )
        return BuildOptions(
            sources=sources, output=OutputOptions(path=str(out), encode=EncodeOptions(normalize=False))
        )

    first = build(options(3), tmp_path / "dirs")
    lines = aired(first)
    assert len(lines) == 3 and lines[0]["headline"].startswith("晶耀科技") and lines[0]["sentences_kept"] < 5
    assert all(line["seconds"] <= 15 + 1 or line["sentences_kept"] == 1 for line in lines)
    chapters = sorted((f for k, f in ID3(out).items() if k.startswith("CHAP")), key=lambda f: f.start_time)
    assert [c.sub_frames["TIT2"].text[0][:4] for c in chapters] == ["晶片製造", "中央氣象", "中央銀行"]
    assert ID3(out)["TIT2"].text[0].startswith(("晶耀科技", "AI晶片"))  # the lead's headline
    second = build(options(2), tmp_path / "dirs")  # another max_stories is another bulletin
    assert second.skipped_unchanged is None and len(aired(second)) == 2
