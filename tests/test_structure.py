"""Articles have structure: headline, dateline, byline and body, on plain text files too.

The wire furniture of issue 9 is not spoken: ``（中央社記者…26日電）``, ``新华社北京11月26日电``,
``本報訊``, ``【記者…／台北報導】``, ``快訊／``, ``（完）``; nor is the headline, unless
``--keep-headlines`` asks for the behaviour before.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli as run

from bulletin.text.repair import repair
from bulletin.text.structure import looks_like_headline, structure

BODY = "立法院今天三讀通過修正條文，明年元旦上路。行政院表示將儘速公布施行。"

FURNISHED = {
    "cna": ("（中央社記者張茂森台北26日電）" + BODY, "（中央社記者張茂森台北26日電）", None),
    "xinhua": (
        "新华社北京11月26日电（记者 王小明）" + BODY,
        "新华社北京11月26日电（记者，王小明）",
        None,
    ),  # as repaired
    "paper": ("本報訊 " + BODY, "本報訊", None),
    "byline": ("【記者林小美／台北報導】" + BODY, None, "【記者林小美，台北報導】"),
    "flash": ("快訊／" + BODY, None, None),
    "flash+byline": ("快訊／【記者林小美／台北報導】" + BODY, None, "【記者林小美，台北報導】"),
    "liberty": ("〔記者王小明／台北報導〕" + BODY, None, "〔記者王小明，台北報導〕"),
    "byline line": ("記者王小明／台北報導\n" + BODY, None, "記者王小明，台北報導"),
}


@pytest.mark.parametrize("name", sorted(FURNISHED))
def test_furniture_is_taken_off_the_first_paragraph(name):
    text, dateline, byline = FURNISHED[name]
    parts = structure(repair(text + "\n（完）\n"), source="x.txt")
    assert parts.paragraphs == (BODY,)
    assert parts.dateline == dateline and parts.byline == byline
    assert parts.removed  # what was taken out is shown, not lost


def test_headline_is_a_title_line_not_the_lede():
    parts = structure(repair("颱風凱米逼近 全台停班停課\n\n" + BODY + "\n\n第二段。\n"), source="x")
    assert parts.headline == "颱風凱米逼近，全台停班停課"
    assert parts.paragraphs[0] == BODY
    # a first line with a sentence in it, or the only paragraph, is text
    assert not looks_like_headline("國際高度關注第二輪六邊會談，明天將在北京召開。為了替這次會談營造")
    assert structure([BODY], source="x").headline is None


def test_a_given_headline_repeated_in_the_body_is_dropped():
    parts = structure(["快訊，北市大樓火警", BODY], source="x", headline="快訊／北市大樓火警")
    assert parts.headline == "北市大樓火警" and parts.paragraphs == (BODY,)


def test_the_sample_has_no_headline_and_reads_as_before(sample):
    """Its first line is wrapped lede (it holds a 。), not a title: nothing is taken out."""
    result = run("clean", str(sample), "--json")
    data = json.loads(result.stdout)
    assert data["articles"][0]["headline"] is None and data["articles"][0]["removed"] == []
    assert data["text"].startswith("國際高度關注第二輪六邊會談")


def test_clean_and_dry_run_leave_furniture_unspoken_unless_keep_headlines(tmp_path):
    article = tmp_path / "wire.txt"
    article.write_text(
        "快訊／北市信義區大樓火警\n（中央社記者張茂森台北26日電）" + BODY + "\n（完）\n", encoding="utf-8"
    )
    result = run("clean", str(article), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["text"] == BODY
    assert data["articles"][0]["headline"] == "北市信義區大樓火警"
    assert data["articles"][0]["dateline"] == "（中央社記者張茂森台北26日電）"
    plan = json.loads(run("build", str(article), "--dry-run", "--json", "--engine", "offline").stdout)
    assert plan["chunks"][0]["text"].startswith("立法院") and plan["articles"][0]["headline"]
    kept = run("clean", str(article), "--keep-headlines")
    assert kept.stdout.splitlines()[0] == "北市信義區大樓火警"
    assert "中央社" not in kept.stdout and "快訊" not in kept.stdout


def test_a_lede_that_lost_its_full_stop_is_read_not_taken_for_a_headline(tmp_path):
    """Three clauses are a sentence: only a line with at most one break is a headline."""
    article = tmp_path / "a.txt"
    article.write_text(
        "美國總統川普今天宣布對中國商品加徵關稅，稅率為百分之二十五，涉及金額三千億美元\n\n"
        "北京方面隨即表示將採取反制措施。\n",
        encoding="utf-8",
    )
    data = json.loads(run("clean", str(article), "--json").stdout)
    assert (
        data["stories"][0][0].startswith("美國總統川普今天宣布") and data["articles"][0]["headline"] is None
    )


def test_references_scripts_and_broken_entities_never_reach_the_voice(tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(
        "台北下雨。&#20013;國隊贏了。<script>alert(1)</script>好。&#99999999;完\n", encoding="utf-8"
    )
    assert run("clean", str(article)).stdout.strip() == "台北下雨。中國隊贏了。好。完"
