"""Never speak garbage (issue 19): every badly encoded page, feed and file is read right or left out.

Each fixture is made here from a story written for the purpose: a Big5 page with a UTF-8
link title or a UTF-8 paragraph (decoded by segment), pages whose header or ``<meta>``
names the wrong charset, a page with stray bytes in its story, a page encoded twice
(mojibake), a feed item with replacement characters, a Japanese page, a text file with
U+FFFD in it. Each goes through a dry run beside a good article: the run goes on, nothing
planned holds U+FFFD or mojibake, and the fixture is either read right (its story whole)
or left out with a warning that says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli as run
from fake_news import NewsSite

STORY = (
    "颱風凱米今天清晨從宜蘭登陸，中央氣象署表示，暴風圈籠罩全台，各地持續出現豪雨。",
    "行政院宣布全台停止上班上課一天，交通部提醒民眾避免前往山區與海邊，注意落石與瘋狗浪。",
    "台電統計，截至中午已有二十萬戶停電，搶修人員將在風雨減弱後全力恢復供電。",
)
GOOD = "国家统计局15日发布数据，3月全国居民消费价格同比上涨0.1%，核心物价保持稳定。"


def page(paragraphs: list[str], *, charset: str, furniture: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="zh-TW"><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        f"<title>颱風凱米登陸</title></head><body><div class=nav>{furniture}</div>"
        f"<h1>颱風凱米登陸</h1><div class=story>{body}</div></body></html>"
    )


def big5_with_utf8(where: str) -> bytes:
    """A Big5 page with one piece written in UTF-8: a link title, or a paragraph of the story."""
    marker = "@@UTF8@@"
    if where == "link":
        html = page(list(STORY), charset="big5", furniture=f"<a href='#c' title='{marker}'>{marker}</a>")
        return html.encode("big5").replace(marker.encode(), "討論".encode())
    html = page([STORY[0], marker, STORY[2]], charset="big5")
    return html.encode("big5").replace(marker.encode(), STORY[1].encode("utf-8"))


def stray_bytes() -> bytes:
    data = page(list(STORY), charset="utf-8").encode("utf-8")
    return data.replace("行政院".encode(), b"\xff\xfe\xfd", 1)


def mojibake() -> bytes:
    html = page(list(STORY), charset="utf-8")
    return html.encode("utf-8").decode("latin-1").encode("utf-8")


def feed_with_replacement() -> bytes:
    body = "".join(f"<p>{p}</p>" for p in STORY).replace("宜蘭", "\ufffd\ufffd")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>新聞</title>'
        "<item><title>颱風凱米登陸</title><link>/never.html</link>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
    ).encode()


JAPANESE = (
    "台風10号は今朝、九州南部に上陸しました。気象庁によりますと、各地で大雨が続いています。",
    "政府は全国の学校を休校とし、交通機関の多くが運休しています。停電は二十万戸にのぼります。",
)

#: name → (bytes, HTTP Content-Type, "read" or "left out")
FIXTURES = {
    "Big5 page with a UTF-8 link title": (big5_with_utf8("link"), "text/html", "read"),
    "Big5 page with a UTF-8 paragraph": (big5_with_utf8("paragraph"), "text/html", "read"),
    "GBK page whose <meta> says Big5": (
        page(list(STORY), charset="big5").encode("gbk"),
        "text/html",
        "read",
    ),
    "UTF-8 page whose <meta> says GB2312, header UTF-8": (
        page(list(STORY), charset="gb2312").encode("utf-8"),
        "text/html; charset=utf-8",
        "read",
    ),
    "UTF-8 page whose header says Big5": (
        page(list(STORY), charset="utf-8").encode("utf-8"),
        "text/html; charset=big5",
        "read",
    ),
    "page with stray bytes in its story": (stray_bytes(), "text/html", "left out"),
    "page encoded twice (mojibake)": (mojibake(), "text/html", "left out"),
    "feed item with replacement characters": (feed_with_replacement(), "application/rss+xml", "left out"),
    "Japanese page in Shift-JIS": (
        page(list(JAPANESE), charset="shift_jis").encode("shift_jis"),
        "text/html",
        "left out",
    ),
}


@pytest.fixture
def site(monkeypatch, tmp_path):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    with NewsSite() as news:
        yield news


def _planned(result) -> dict:
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    for chunk in plan["chunks"]:
        for text in (chunk["text"], chunk["spoken"]):
            assert "\ufffd" not in text
            assert not any(mark in text for mark in ("æ", "é", "ã", "â€"))  # UTF-8 read as Latin-1
    assert GOOD in plan["text"]  # the run went on
    return plan


@pytest.mark.parametrize("name", FIXTURES)
def test_a_bad_encoding_is_read_right_or_left_out_with_a_warning(site, tmp_path, name):
    data, content_type, expected = FIXTURES[name]
    url = site.add("/bad", data, content_type=content_type)
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    result = run("build", "--dry-run", "--json", "--engine", "offline", url, str(good))
    plan = _planned(result)
    story = STORY if "Japanese" not in name else JAPANESE
    if expected == "read":
        for paragraph in story:
            assert paragraph in plan["text"], name
    else:
        assert not any(p[:12] in plan["text"] for p in story), name
        warned = " ".join(w for s in plan["sources"] for w in s["warnings"]) + result.stderr
        assert ": garbled text" in warned or ": no Chinese text" in warned, name


def test_a_text_file_holding_replacement_characters_is_left_out_with_a_warning(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(STORY).replace("宜蘭", "\ufffd"), encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    result = run("build", "--dry-run", "--json", "--engine", "offline", str(bad), str(good))
    plan = _planned(result)
    assert f"skipped {bad}: garbled text (1 undecodable character)" in result.stderr
    assert STORY[1] not in plan["text"]


def test_every_fixture_in_one_run(site, tmp_path):
    urls = [site.add(f"/bad/{n}", data, content_type=t) for n, (data, t, _) in enumerate(FIXTURES.values())]
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    plan = _planned(run("build", "--dry-run", "--json", "--engine", "offline", *urls, str(good)))
    assert plan["text"].count(STORY[2]) <= 1  # the copies read right are one story


def test_a_big5_page_read_by_segment_says_so(tmp_path):
    path = Path(tmp_path / "udn.html")
    path.write_bytes(big5_with_utf8("link"))
    result = run("clean", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"][0]["encoding"] == "big5hkscs+utf-8"
    assert data["stories"] == [list(STORY)]
