"""Reading, repair, deduplication and chunking, rule by rule, on real-looking text."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from conftest import SIMPLIFIED, TRADITIONAL

from bulletin.errors import InputError
from bulletin.text.chars import is_speakable, split_sentences
from bulletin.text.chunk import plan_chunks, split_to_limit
from bulletin.text.dedupe import dedupe
from bulletin.text.read import MAX_INPUT_BYTES, decode, read_article, read_articles
from bulletin.text.repair import repair

# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", TRADITIONAL),
        ("utf-8-sig", SIMPLIFIED),
        ("utf-16", TRADITIONAL),
        ("gb18030", SIMPLIFIED),
        ("gbk", SIMPLIFIED),
        ("big5", TRADITIONAL),
        ("gb18030", TRADITIONAL),  # Traditional characters exist in GB18030 too
    ],
)
def test_encodings_are_detected(tmp_path, encoding, text):
    path = tmp_path / f"article-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    article = read_article(path)
    assert article.text.lstrip("\ufeff") == text
    assert article.size == path.stat().st_size


def test_big5_and_gb18030_sample_files(tmp_path, sample_text):
    for enc in ("big5", "gb18030"):
        path = tmp_path / f"sample.{enc}.txt"
        path.write_bytes(sample_text.encode(enc))
        assert read_article(path).text == sample_text


def test_encoding_can_be_forced(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(TRADITIONAL.encode("big5"))
    assert read_article(path, encoding="big5").text == TRADITIONAL
    with pytest.raises(InputError, match="cannot be decoded as utf-8"):
        read_article(path, encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding"):
        read_article(path, encoding="klingon")


def test_stdin_and_order(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text(SIMPLIFIED, encoding="utf-8")
    articles = read_articles(["-", path], stdin=io.BytesIO(TRADITIONAL.encode("utf-8")))
    assert [a.source for a in articles] == ["-", str(path)]
    assert articles[0].text == TRADITIONAL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\t \r\n", "empty"),
        ("\u3000\u3000\n".encode(), "only whitespace"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\x00\x01\x02\x03hello", "binary"),
        (bytes(range(0x80, 0x100)) * 4, "undecodable|binary"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_article(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_directory_and_huge(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_article(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        read_article(tmp_path)
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(InputError, match="input limit"):
        read_article(big)


def test_decode_prefers_utf8_and_handles_boms():
    assert decode("中文".encode())[1] == "utf-8"
    assert decode(b"\xef\xbb\xbf" + "中文".encode())[0] == "中文"
    assert decode("中文".encode("utf-16"))[0] == "中文"


# --- repair --------------------------------------------------------------------------------


def test_hard_wraps_join_without_spaces_and_numbers_rejoin():
    assert repair(TRADITIONAL) == [
        "颱風凱米預計明天中午登陸，中央氣象署表示，最大風速每秒51公尺。民眾應做好防颱準備。"
    ]
    assert repair("北韓在2\n4號表示") == ["北韓在24號表示"]
    assert repair("全長約2\n8.6公里") == ["全長約28.6公里"]
    assert repair("成長28.\n6%") == ["成長28.6%"]
    assert repair("總計1,\n000人") == ["總計1,000人"]


def test_latin_words_keep_one_space():
    assert repair("蘋果發表新款 Apple\nWatch 手錶") == ["蘋果發表新款 Apple Watch 手錶"]
    assert repair("the  quick\n\tbrown") == ["the quick", "brown"]  # a tab indent starts a paragraph


def test_line_starting_with_punctuation_joins_previous_even_after_blank_line():
    assert repair("他表示\n，這是好事。") == ["他表示，這是好事。"]
    assert repair("他表示\n\n，這是好事。") == ["他表示，這是好事。"]
    assert repair("「好\n」他說。") == ["「好」他說。"]


def test_paragraph_breaks_blank_lines_and_fullwidth_indent():
    text = "\u3000\u3000第一段第一行\n第一段第二行。\n\u3000\u3000第二段。\n\n第三段。"
    assert repair(text) == ["第一段第一行第一段第二行。", "第二段。", "第三段。"]


def test_crlf_cr_and_fullwidth_alphanumerics():
    assert repair("甲乙\r\n丙丁\r戊。") == ["甲乙丙丁戊。"]
    assert repair("ＡＰＥＣ會議於２０２４年舉行，成長３．５％。") == ["APEC會議於2024年舉行，成長3.5％。"]


def test_control_and_invisible_characters_are_dropped():
    assert repair("新\x07聞\u200b報\ufeff導\x1b。") == ["新聞報導。"]


def test_spaces_between_chinese_characters_are_removed():
    assert repair("中 文 新 聞。") == ["中文新聞。"]


def test_sample_repairs_to_one_paragraph(sample_text):
    paragraphs = repair(sample_text)
    assert len(paragraphs) == 1
    assert "\n" not in paragraphs[0]
    assert " " not in paragraphs[0]


# --- dedupe --------------------------------------------------------------------------------


def _nows(s: str) -> str:
    return re.sub(r"\s", "", s)


def test_sample_eleven_copies_become_one(sample_text):
    stories, stats = dedupe([repair(sample_text)])
    text = "".join(stories[0])
    assert len(_nows(text)) == 581
    assert text.count("國際高度關注第二輪六邊會談") == 1
    assert "24號" in text and "二○○二年" in text
    assert stats.sentences == 110


def test_repeated_paragraphs_and_order_kept():
    paras = ["第一段。", "第二段。", "第一段。", "第三段。", "第二段。"]
    stories, stats = dedupe([paras])
    assert stories == [["第一段。", "第二段。", "第三段。"]]
    assert stats.sentences == 2 and stats.paragraphs == 2


def test_trailing_fragment_of_known_sentence_is_dropped():
    story = ["市政府今天宣布，明年起調漲公車票價。議員表示反對。市政府今天宣布，明年起調"]
    stories, stats = dedupe([story])
    assert stories == [["市政府今天宣布，明年起調漲公車票價。議員表示反對。"]]
    assert stats.fragments == 1


def test_fragment_spliced_into_next_copy_is_cut():
    story = ["甲地發生地震，震度五級。乙地無災情。甲地發生地震，震甲地發生地震，震度五級。乙地無災情。"]
    stories, _ = dedupe([story])
    assert stories == [["甲地發生地震，震度五級。乙地無災情。"]]


def test_paste_starting_mid_sentence_is_dropped():
    story = [
        "国务院常务会议今天研究部署稳定就业工作。会议指出要加大支持力度。",
        "研究部署稳定就业工作。会议指出要加大支持力度。",
    ]
    stories, stats = dedupe([story])
    assert stories == [["国务院常务会议今天研究部署稳定就业工作。会议指出要加大支持力度。"]]
    assert stats.fragments == 1


def test_repeats_across_articles_and_whole_story_repeat():
    a = ["美國總統今天抵達東京。", "他將與日本首相會談。"]
    b = ["美國總統今天抵達東京。", "他將與日本首相會談。"]
    c = ["另一則新聞。他將與日本首相會談。"]
    stories, stats = dedupe([a, b, c])
    assert stories == [a, ["另一則新聞。"]]
    assert stats.stories == 1


def test_headline_that_begins_the_lede_is_kept():
    story = ["颱風逼近", "颱風逼近，氣象局發布海上警報。"]
    assert dedupe([story])[0] == [story]


def test_whitespace_differences_still_count_as_repeats():
    stories, _ = dedupe([["Apple 發表 新產品。", "Apple發表新產品。"]])
    assert stories == [["Apple 發表 新產品。"]]


# --- chunking ------------------------------------------------------------------------------


def test_sentences_split_and_rejoin():
    text = "他說：「好。」然後走了！？又……「真的嗎？」"
    assert "".join(split_sentences(text)) == text


def test_chunks_rejoin_respect_limit_and_are_speakable(sample_text):
    stories, _ = dedupe([repair(sample_text)])
    for limit in (8, 20, 40, 300):
        chunks = plan_chunks(stories, limit)
        assert "".join(c.text for c in chunks) == stories[0][0]
        assert all(len(c.spoken) <= limit for c in chunks)
        assert all(is_speakable(c.text) for c in chunks)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        assert chunks[-1].pause_after == "end"


def test_long_sentence_cuts_at_clauses_then_safe_points():
    sentence = "第一個子句比較長一些，第二個子句，第三個子句很長很長很長很長很長很長很長很長。"
    pieces = split_to_limit(sentence, 12)
    assert "".join(pieces) == sentence
    assert pieces[0] == "第一個子句比較長一些，"
    assert all(len(p) <= 12 for p in pieces)
    # never inside a number or a Latin word
    pieces = split_to_limit("營收達到1234567890元與Supercalifragilistic的比較", 10)
    assert "".join(pieces) == "營收達到1234567890元與Supercalifragilistic的比較"
    assert not any(p[-1].isdigit() and q[0].isdigit() for p, q in itertools.pairwise(pieces) if len(p) < 10)


def test_punctuation_only_pieces_are_glued():
    chunks = plan_chunks([["好。……」真的？！"]], 40)
    assert all(is_speakable(c.text) for c in chunks)
    assert "".join(c.text for c in chunks) == "好。……」真的？！"


def test_pause_kinds_follow_structure():
    chunks = plan_chunks([["一。二。", "三。"], ["四，五，六。"]], 3)
    kinds = [(c.text, c.pause_after, c.story, c.paragraph) for c in chunks]
    assert kinds == [
        ("一。", "sentence", 0, 0),
        ("二。", "paragraph", 0, 0),
        ("三。", "story", 0, 1),
        ("四，", "clause", 1, 0),
        ("五，", "clause", 1, 0),
        ("六。", "end", 1, 0),
    ]
    assert chunks[3].sentence == chunks[4].sentence == chunks[5].sentence


def test_spoken_expansion_is_split_again_but_never_inside_a_number():
    text = "號碼是12345678而電話是87654321。"
    chunks = plan_chunks([[text]], 10, speak=lambda t: re.sub(r"\d", "九九", t))
    assert "".join(c.text for c in chunks) == text
    assert any("12345678" in c.text for c in chunks) and any("87654321" in c.text for c in chunks)
    for c in chunks:  # over the limit only where one number, said whole, needs more room
        assert len(c.spoken) <= 10 or re.fullmatch(r"[^0-9]{0,2}[0-9]+[^0-9]{0,2}", c.text), c


def test_markup_is_dropped_and_entities_decoded_but_plain_brackets_stay():
    text = (
        '記者<speak version="1.0">報導</voice>，今天<br/>天氣&amp;晴&nbsp;。a<b 與 c>d。《書名》<p>新段落</p>'
    )
    assert repair(text) == ["記者報導，今天天氣&晴。a<b 與 c>d。《書名》", "新段落"]
    assert repair('<mstts:express-as style="news">好消息</mstts:express-as>。') == ["好消息。"]


def test_text_indented_throughout_is_not_cut_into_paragraphs():
    text = "  國際高度關注第二輪六邊會談，明天將在北\n  京召開。為了替這次會談\n  營造善意。"
    assert repair(text) == ["國際高度關注第二輪六邊會談，明天將在北京召開。為了替這次會談營造善意。"]
    assert repair("\t第一行\n\t第二行。") == ["第一行第二行。"]


def test_a_few_stray_control_characters_are_not_binary(tmp_path):
    path = tmp_path / "stray.txt"
    path.write_bytes("北京\x07今天\x1b[31m天氣晴朗\x08。記者\x0c報導，測試\x7f結束\x01。\r\n".encode())
    assert "天氣晴朗" in read_article(path).text
    path.write_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08" * 8 + "中文".encode())
    with pytest.raises(InputError, match="binary"):
        read_article(path)


def test_short_sentences_may_repeat():
    assert dedupe([["好。好。對。"]])[0] == [["好。好。對。"]]


def test_one_paragraph_per_line_keeps_headline_and_dateline_apart():
    text = (
        "颱風凱米襲台 全台停班停課\n中央社記者王小明台北24日電\n"
        "颱風凱米今天凌晨登陸宜蘭，中央氣象署表示，暴風圈已籠罩全台。\n行政院宣布全台停班停課。\n"
    )
    assert repair(text) == [
        "颱風凱米襲台，全台停班停課",  # a space between headline phrases becomes a pause
        "中央社記者王小明台北24日電",
        "颱風凱米今天凌晨登陸宜蘭，中央氣象署表示，暴風圈已籠罩全台。",
        "行政院宣布全台停班停課。",
    ]


def test_wrapped_text_short_lines_end_paragraphs():
    story = "颱風凱米今天凌晨登陸宜蘭，中央氣象署表示暴風圈已經籠罩全台各地，累積雨量最高達到一千毫米。"
    second = "行政院長上午召開會議，指示各部會全力防災，並宣布全台停班停課，民眾應該做好準備。"
    wrapped = "\n".join(story[i : i + 16] for i in range(0, len(story), 16))
    wrapped += "\n" + "\n".join(second[i : i + 16] for i in range(0, len(second), 16))
    assert repair(wrapped) == [story, second]


def test_double_spaced_paste_and_blank_after_comma_are_not_paragraphs():
    lines = [
        "颱風凱米今日凌晨登陸宜蘭，中央氣",
        "象署表示，暴風圈已籠罩全台，累積雨量",
        "最高達到一千毫米。",
        "",
    ]
    text = "\r\r\n".join(lines)
    assert repair(text) == [
        "颱風凱米今日凌晨登陸宜蘭，中央氣象署表示，暴風圈已籠罩全台，累積雨量最高達到一千毫米。"
    ]
    assert repair("據報導，\n\n這次事件造成3人死亡、\n\n15人受傷。") == [
        "據報導，這次事件造成3人死亡、15人受傷。"
    ]


def test_web_addresses_are_dropped():
    assert repair("詳情請見 https://www.cna.com.tw/news/123.aspx 。") == ["詳情請見。"]


def test_end_marks_sigils_and_byline_slashes():
    assert repair("（記者王小明／台北報導）颱風來襲，#台股大跌，@中央社報導。（完）") == [
        "（記者王小明，台北報導）颱風來襲，台股大跌，中央社報導。"
    ]


def test_header_block_and_credit_lines():
    text = (
        "国务院常务会议部署稳经济政策\n新华社北京5月25日电\n\n"
        "\u3000\u3000国务院总理25日主持召开会议，部署稳经济的政策措施。\n"
        "\u3000\u3000会议还研究了其他事项。（完）\n责任编辑：王五\n"
    )
    assert repair(text) == [
        "国务院常务会议部署稳经济政策",
        "新华社北京5月25日电",
        "国务院总理25日主持召开会议，部署稳经济的政策措施。",
        "会议还研究了其他事项。",
    ]


# ---- numbers are never cut (issue 12, item 8) ---------------------------------------------


NUMBERISH = ["119945149", "12:30", "1,234.5", "2024-03-15", "3/15", "50%", "iPhone", "0912345678", "2.5%"]


@pytest.mark.parametrize("limit", [100, 300, 30])
@pytest.mark.parametrize("seed", range(5))
def test_long_unpunctuated_sentences_are_cut_only_between_tokens(limit: int, seed: int) -> None:
    """A long sentence with no clause mark is cut between tokens, never inside a number or word."""
    import random
    import re

    from bulletin.text.chunk import plan_chunks

    rng = random.Random(seed)
    filler = "國際新聞今天報導各方代表在會場外面等候進場觀看比賽的結果以及後續發展"
    parts = []
    while sum(map(len, parts)) < 4 * limit:
        parts.append(filler[: rng.randint(1, 12)])
        parts.append(rng.choice(NUMBERISH))
    sentence = "".join(parts) + "。"
    chunks = plan_chunks([[sentence]], limit)
    assert "".join(c.text for c in chunks) == sentence
    cuts, at = set(), 0
    for c in chunks[:-1]:
        at += len(c.text)
        cuts.add(at)
    token = re.compile(r"[0-9A-Za-z]+(?:[.,:/'\-][0-9A-Za-z]+)*%?")
    for m in token.finditer(sentence):
        assert not cuts & set(range(m.start() + 1, m.end())), (m.group(), [c.text for c in chunks])
