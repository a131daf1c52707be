"""What repeats across a site's pages is the site's, not the story's (issue 19).

Pages written for the purpose, served by a local news site (tests/fake_news.py): one
site's template leaks a notice paragraph and a sign-off glued to each story's end, which
no class of furniture names. Three pages of the site in one run, or two remembered from an
earlier run and one new, are enough to tell it from the stories; three different events
on that template are three stories, and the same story at three addresses is still read.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli as run
from fake_news import NewsSite

NOTICE = "本網站提醒您：新聞內容僅供參考，投資與消費請審慎判斷，並自負一切風險。"
SIGN_OFF = "東方新聞網關心您的健康，祝福大家平安喜樂、闔家幸福。"
EVENTS = (
    (
        "亞太經濟合作會議領袖峰會今天在秘魯利馬登場，21個經濟體領袖出席，聚焦區域貿易與供應鏈韌性。",
        "主辦國秘魯總統在開幕致詞中呼籲各國降低關稅壁壘，並推動數位經濟合作，峰會預計發表共同宣言。",
    ),
    (
        "台北市公車票價明年元月起調漲，全票由15元調整為18元，學生票與敬老票維持不變。",
        "市府交通局表示，燃料與人事成本上漲，業者虧損擴大，這是十年來首次調整票價，將同步加強班次。",
    ),
    (
        "經濟部公布10月製造業採購經理人指數為52.3，連續三個月擴張，電子零組件業表現最佳。",
        "分析師指出，人工智慧伺服器需求強勁帶動出口，但傳統產業仍受削價競爭影響，復甦緩慢。",
    ),
)


def page(event: tuple[str, str]) -> str:
    first, second = event
    return (
        '<!DOCTYPE html><html lang="zh-Hant-TW"><head><meta charset="utf-8"><title>東方新聞網</title></head>'
        f"<body><h1>新聞</h1><div class=story><p>{NOTICE}</p><p>{first}</p><p>{second}{SIGN_OFF}</p>"
        "</div></body></html>"
    )


@pytest.fixture
def site(monkeypatch, tmp_path):
    monkeypatch.setenv("BULLETIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    with NewsSite() as news:
        yield news


def clean(*urls: str) -> dict:
    result = run("clean", *urls, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_three_events_on_one_template_are_three_stories_without_the_template(site):
    urls = [site.add(f"/news/{n}.html", page(event)) for n, event in enumerate(EVENTS)]
    data = clean(*urls)
    assert data["stories"] == [list(event) for event in EVENTS]
    assert data["folded"] == []
    assert [s["site_furniture"] for s in data["sources"]] == [2, 2, 2]


def test_the_template_is_remembered_from_earlier_runs(site):
    first = [site.add(f"/news/{n}.html", page(event)) for n, event in enumerate(EVENTS[:2])]
    earlier = clean(*first)  # two pages: not enough to tell the site's from a story's
    assert NOTICE in earlier["text"] and SIGN_OFF in earlier["text"]
    later = clean(site.add("/news/2.html", page(EVENTS[2])))
    assert later["stories"] == [list(EVENTS[2])]


def test_the_same_story_at_three_addresses_is_still_read(site):
    urls = [site.add(path, page(EVENTS[0])) for path in ("/news/0.html", "/amp/0.html", "/m/0.html")]
    data = clean(*urls)
    assert EVENTS[0][0] in data["text"] and EVENTS[0][1] in data["text"]
    assert len(data["stories"]) == 1
