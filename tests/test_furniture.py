"""Site furniture is never read (issue 19): every class of :data:`bulletin.text.furniture.KINDS`.

Pages written for the purpose (no real site's page is copied here): a story of three
paragraphs in a site's template, with one piece of furniture put where sites put it, by
its text (each example of the table) and by its markup (each class or id word of the
table), read through ``bulletin clean --json``; and two whole templates, a Taiwanese
portal and a mainland one, read to exactly their story.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run

from bulletin.text.furniture import HIDDEN, KINDS, NAVIGATION, line_kind, strip_tails

TEMPLATES = ROOT / "tests" / "data" / "templates"

BODY = (
    "行政院今天宣布，明年起調高基本工資，月薪調整為新台幣2萬9500元，時薪調整為196元。",
    "勞動部長表示，這次調整將讓約240萬名勞工受惠，企業人事成本每年增加約新台幣200億元。",
    "經濟學者認為，調幅符合物價上漲趨勢。但中小企業的負擔仍需政府以補助與減稅協助。",
)


def page(body: list[str], *, between: str = "", around: str = "") -> str:
    """A site's article page: header, the story's paragraphs (``between`` after the first),
    ``around`` after the article."""
    paragraphs = [f"<p>{p}</p>" for p in body]
    paragraphs.insert(1, between)
    return (
        '<!DOCTYPE html><html lang="zh-Hant-TW"><head><meta charset="utf-8">'
        "<title>基本工資明年調漲 - 東方新聞網</title></head><body>"
        '<div class="site-head"><a href="/">東方新聞網</a></div>'
        '<div class="wrapper"><h1>基本工資明年調漲</h1>'
        f'<div class="story">{"".join(paragraphs)}</div>{around}</div>'
        "</body></html>"
    )


def read(tmp_path: Path, html: str) -> list[str]:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    result = run("clean", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["stories"][0]


def squash(text: str) -> str:
    return re.sub(r"[\W_]", "", text)


def said(paragraphs: list[str], piece: str) -> bool:
    """Is any of ``piece``'s words (a run of four letters or more) in what is read?"""
    text = squash("".join(paragraphs))
    words = [w for w in re.findall(r"[\w]{4,}", squash(piece))]
    return any(w[:8] in text for w in words)


def _examples(where: str) -> list[tuple[str, str]]:
    return [(k.name, e) for k in KINDS if k.where == where for e in k.examples]


@pytest.mark.parametrize(("kind", "example"), _examples("pages"))
def test_each_example_is_its_class(kind, example):
    rest, taken = strip_tails(example)
    assert line_kind(example) == kind or (taken and not rest), example


@pytest.mark.parametrize(("kind", "example"), _examples("pages"))
def test_no_example_is_read_from_a_page_as_a_paragraph_or_glued_to_one(tmp_path, kind, example):
    body = list(BODY)
    as_paragraph = read(tmp_path, page(body, between=f"<p>{example}</p>"))
    assert as_paragraph == list(BODY), (kind, example)
    rest, taken = strip_tails(example)
    if taken and not rest:  # the whole of it is what sites glue to a paragraph's end
        glued = read(tmp_path, page([*body[:-1], body[-1] + example]))
        assert glued == list(BODY), (kind, example)


def _placed(kind: str, example: str) -> list[str]:
    """Where wire copy puts each kind of the text furniture :mod:`bulletin.text.structure` takes out."""
    first, middle, last = BODY
    tail = example.split("。", 1)[1] if example.startswith("…") else example
    if kind == "datelines":
        return [example + first, middle, last]
    if kind == "bylines":
        if not example.startswith(("（", "(", "【")):
            return [example, first, middle, last]
        if example.startswith("【"):
            return [example + first, middle, last]
        if re.search("[報报][導道]）$", example):
            return [first + example, middle, last]
        return [first, middle, last + example]
    if kind in ("wire codes", "editor credits") and (example.startswith("…") or "（編輯" in example):
        return [first, middle, last + tail]
    return [first, middle, last, example]


@pytest.mark.parametrize(("kind", "example"), _examples("structure"))
def test_wire_furniture_is_not_read_from_pages_or_plain_text(tmp_path, kind, example):
    placed = _placed(kind, example)
    from_page = read(tmp_path, "".join(page(placed).split("\n")))
    assert from_page == list(BODY), (kind, example)
    text = tmp_path / "story.txt"
    text.write_text("\n\n".join(["基本工資明年調漲", *placed]), encoding="utf-8")
    result = run("clean", str(text), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stories"][0] == list(BODY), (kind, example)


_MARKUP = sorted({(k.name, w) for k in KINDS for w in k.markup} | {("hidden", w) for w in HIDDEN})
_MARKUP += sorted(("navigation", w) for w in NAVIGATION)
FURNITURE = (
    "這一段是網站放在文章裡的區塊，它的內容與這則新聞無關，聽眾不應該聽到這段話，也不該被當成新聞的一部分。"
)


@pytest.mark.parametrize(("kind", "word"), _MARKUP)
def test_an_element_marked_as_furniture_is_not_read_inside_or_beside_the_story(tmp_path, kind, word):
    for where in ("between", "around"):
        block = f'<div class="block-{word}"><p>{FURNITURE}</p></div>'
        read_back = read(tmp_path, page(list(BODY), **{where: block}))
        assert not said(read_back, FURNITURE), (kind, word, where)
        assert read_back == list(BODY), (kind, word, where)


def test_furniture_is_found_by_its_shape(tmp_path):
    links = "".join(
        f'<li><a href="/n/{n}">{t}</a></li>'
        for n, t in enumerate(["颱風假一次看", "明天天氣轉涼", "股市收盤上漲"])
    )
    shapes = {
        "link list": f"<ul>{links}</ul>",
        "caption under an image": '<p><img src="/a.jpg"></p><p>市府前廣場的人潮。</p>',
        "image and caption in one block": '<p><img src="/a.jpg"><br>市府前廣場的人潮。</p>',
        "hidden by style": f'<div style="display: none"><p>{FURNITURE}</p></div>',
        "hidden attribute": f"<div hidden><p>{FURNITURE}</p></div>",
    }
    for name, html in shapes.items():
        read_back = read(tmp_path, page(list(BODY), between=html))
        assert read_back == list(BODY), name


def test_the_story_itself_is_never_pruned_whatever_its_class(tmp_path):
    html = page(list(BODY)).replace('<div class="story">', '<div class="story share hidden comment-box">')
    assert read(tmp_path, html) == list(BODY)


def test_a_story_about_an_app_or_a_photographer_is_read(tmp_path):
    story = [
        "衛福部今天表示，民眾可下載健保快易通APP查詢口罩庫存，也能在網站上預約領取快篩試劑。",
        BODY[1],
        "攝影師王小明說，他拍攝這組照片花了三年，希望讓更多人看見偏鄉學童的笑容與努力。",
    ]
    assert read(tmp_path, page(story)) == story


@pytest.mark.parametrize(
    ("name", "story"),
    [
        (
            "tw-portal.html",
            [
                "行政院今天宣布，明年起調高基本工資，月薪由新台幣2萬7470元調整為2萬9500元，時薪調整為196元，約240萬名勞工受惠。",
                "勞動部長表示，這次調幅為7.39%，考量物價上漲與經濟成長，企業人事成本每年將增加約新台幣200億元。",
                "經濟學者認為，調幅符合物價趨勢，但中小企業的負擔仍需政府以補助與減稅協助，避免衝擊就業。",
                "勞團則批評調幅不足，要求政府儘速制定最低工資法，讓基本工資的調整有法源依據。",
            ],
        ),
        (
            "cn-portal.html",
            [
                "长江大桥主体工程2日完工，大桥全长4.6公里，双向六车道，预计明年5月建成通车。",
                "建设单位负责人介绍，大桥采用双塔斜拉结构，主跨长达1120米，施工中攻克了深水基础等多项技术难题。",
                "通车后，两岸之间的车程将由40分钟缩短至8分钟，每天可分流过江车辆约5万辆次，缓解现有桥梁的交通压力。",
            ],
        ),
    ],
)
def test_a_whole_site_template_is_read_to_exactly_its_story(name, story):
    result = run("clean", str(TEMPLATES / name), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stories"] == [story]
    assert squash(data["articles"][0]["headline"]) in (
        "基本工資明年調漲月薪2萬9500元",
        "长江大桥主体工程完工预计明年通车",
    )


def test_short_paragraphs_under_photos_are_the_story_where_photos_sit_between_paragraphs(tmp_path):
    """A page whose photos are followed by long paragraphs does not caption them with the
    block under them: its short paragraphs there are the story (and a clause ending in a
    colon introduces what follows)."""
    long = (
        "市府今天公布明年度預算，總額比今年增加百分之五，其中社會福利與長期照顧的經費成長最多，"
        "交通建設的比重則略為下降，議會將在下個月開始審查。"
    )
    photo = '<p><img src="/p.jpg"></p>'
    short = "這也說明了市府照顧長者的決心。"
    colon = "除此之外，市府還提出三項配套措施："
    last = "包括增加托老中心、補助居家照顧人力，以及擴大敬老卡的使用範圍，預計明年七月上路。"
    html = page([long, short, long.replace("今天", "昨天"), colon, last])
    html = html.replace(f"<p>{short}</p>", photo + f"<p>{short}</p>").replace(
        "<p>" + long.replace("今天", "昨天"), photo + "<p>" + long.replace("今天", "昨天")
    )
    got = read(tmp_path, html)  # (repair runs the colon's clause into what it introduces)
    assert "".join(got) == "".join([long, short, long.replace("今天", "昨天"), colon, last])


def test_a_keyword_link_inside_a_sentence_stays_in_the_sentence(tmp_path):
    linked = BODY[0].replace("基本工資", '<a class="tag" href="/tag/wage">基本工資</a>', 1)
    html = page(list(BODY)).replace(f"<p>{BODY[0]}</p>", f"<p>{linked}</p>")
    assert read(tmp_path, html) == list(BODY)


@pytest.mark.parametrize("classes", ["story-editor rich-text", "hidden-xs", "author-content"])
def test_the_storys_blocks_are_read_whatever_their_class(tmp_path, classes):
    """A site may call its story's blocks ``editor``, hide them on small screens only, or
    mark them ``author``: long blocks and blocks shown on some screens are read."""
    more = [p.replace("。", "，而且這是第二段的內容。") for p in BODY]
    html = page(list(BODY), around=f'<div class="{classes}">{"".join(f"<p>{p}</p>" for p in more)}</div>')
    html = html.replace('<div class="story">', f'<div class="story {classes}">')
    assert read(tmp_path, html) == [*BODY, *more]
