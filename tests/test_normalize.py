"""Tests of the normalize stage: what the TTS engine is given to read aloud.

Many cases are ported from public Chinese text-normalization test suites, adapted where
bulletin reads differently on purpose (documented in ``bulletin/normalize.py``):

* WeTextProcessing (wenet-e2e/WeTextProcessing, Apache-2.0), ``tn/chinese/test/data/*.txt``
  (cardinal, date, time, fraction, measure, normalizer). Differences: 1 is 一, never 幺;
  kg is 公斤, not 千克; °C is 摄氏…度 (the written order in Chinese news), not …摄氏度;
  a score N-M reads as a range (到), since nothing in the text says it is a score.
* speechio chinese_text_normalization (speechio/chinese_text_normalization),
  ``python/example_plain.txt`` with its expected ``thrax/testcase_cn.txt``.
"""

from __future__ import annotations

import random
import re

import pytest

from bulletin.text.normalize import detect_script, to_spoken

# ----------------------------------------------------------------- the sample article

SAMPLE = [
    ("北韓在24號表示", "北韓在二十四號表示"),
    ("在二○○二年八月爆發", "在二零零二年八月爆發"),
    ("違反一九九四年簽定的核子凍結協定", "違反一九九四年簽定的核子凍結協定"),
    ("24號上午抵達北京後", "二十四號上午抵達北京後"),
]


@pytest.mark.parametrize(("text", "spoken"), SAMPLE)
def test_sample_article(text: str, spoken: str) -> None:
    assert to_spoken(text) == spoken


def test_sample_file_has_no_digits_left() -> None:
    from pathlib import Path

    sample = Path(__file__).parent.parent / "examples" / "six-party-talks.txt"
    text = sample.read_text(encoding="utf-8").replace("\n", "")
    spoken = to_spoken(text)
    assert detect_script(text) == "hant"
    assert not re.search(r"[0-9○]", spoken)
    assert "二十四號" in spoken and "二零零二年" in spoken and "一九九四年" in spoken


# ----------------------------------------------------------------- Traditional (hant)

HANT = [
    # cardinals and 兩
    ("共有1,234名旅客", "共有一千二百三十四名旅客"),
    ("人口10000人", "人口一萬人"),
    ("新增2萬人", "新增兩萬人"),
    ("派出2個小組", "派出兩個小組"),
    ("第2個階段", "第二個階段"),
    ("第2-3名", "第二到三名"),
    ("2-3個月", "兩到三個月"),
    ("2年後", "兩年後"),
    ("小學2年級", "小學二年級"),
    ("民國2年", "民國二年"),
    ("約2000人", "約兩千人"),
    ("12000名", "一萬兩千名"),
    ("200人", "二百人"),
    ("100010000", "一億零一萬"),
    ("10001000", "一千萬一千"),
    ("1,000,000,000,000元", "一兆元"),
    ("2.5萬", "二點五萬"),
    ("第3季", "第三季"),
    # decimals and percentages
    ("氣溫28.6度", "氣溫二十八點六度"),
    ("成長15%", "成長百分之十五"),
    ("成長3.5％", "成長百分之三點五"),
    ("股價下跌-2.5%", "股價下跌負百分之二點五"),
    ("失業率3%-5%", "失業率百分之三到百分之五"),
    # dates and years
    ("2002年", "二零零二年"),
    ("2024年3月15日", "二零二四年三月十五日"),
    ("2024/03/15", "二零二四年三月十五日"),
    ("2020-2024年", "二零二零到二零二四年"),
    ("1990年代", "一九九零年代"),
    ("民國113年", "民國一百一十三年"),
    ("民國86年8月18日", "民國八十六年八月十八日"),
    # times
    ("下午3:30開會", "下午三點三十分開會"),
    ("12:05", "十二點零五分"),
    ("下午4時", "下午四時"),
    ("下午2點", "下午兩點"),
    ("10:00-12:00", "十點到十二點"),
    # money
    ("價格是$13.5", "價格是十三點五美元"),
    ("新臺幣3.2億元", "新臺幣三點二億元"),
    ("NT$100", "新臺幣一百元"),
    ("NT$1,500萬", "新臺幣一千五百萬元"),
    ("US$2億", "兩億美元"),
    ("HK$300", "三百港元"),
    # digit strings
    ("電話 0912345678", "電話 零九一二三四五六七八"),
    ("查詢電話02-2345-6789", "查詢電話零二二三四五六七八九"),
    ("請撥(02)2345-6789", "請撥零二二三四五六七八九"),
    ("帳號12345678", "帳號一二三四五六七八"),
    ("華航班機CI100", "華航班機CI一零零"),
    # units (Taiwan names)
    ("最大風速每秒51公尺", "最大風速每秒五十一公尺"),
    ("跑了5km", "跑了五公里"),
    ("長100m", "長一百公尺"),
    ("雨量達120mm", "雨量達一百二十公釐"),
    ("重25kg", "重二十五公斤"),
    ("面積120m²", "面積一百二十平方公尺"),
    ("時速10km/h", "時速每小時十公里"),
    ("距離2km", "距離兩公里"),
    ("氣溫38°C", "氣溫攝氏三十八度"),
    ("低溫-5°C", "低溫攝氏零下五度"),
    ("零下3℃", "攝氏零下三度"),
    ("高溫32至35°C", "高溫攝氏三十二至三十五度"),
    # ranges, fractions, signs
    ("3-5天", "三到五天"),
    ("2~3天", "兩到三天"),
    ("約1/3的民眾", "約三分之一的民眾"),
    ("以3:2擊敗對手", "以三比二擊敗對手"),
]


@pytest.mark.parametrize(("text", "spoken"), HANT)
def test_traditional(text: str, spoken: str) -> None:
    assert to_spoken(text, script="hant") == spoken


# ----------------------------------------------------------------- Simplified (hans)

HANS = [
    ("投资365亿元", "投资三百六十五亿元"),
    ("人口10000人", "人口一万人"),
    ("新增2万人", "新增两万人"),
    ("来了2个人", "来了两个人"),
    ("增长28.6", "增长二十八点六"),
    ("同比增长15%", "同比增长百分之十五"),
    ("3:30", "三点三十分"),
    ("12:05", "十二点零五分"),
    ("价格是￥13.5", "价格是十三点五元"),
    ("价格是$13.5", "价格是十三点五美元"),
    ("NT$100", "新台币一百元"),
    ("2024-03-15发布", "二零二四年三月十五日发布"),
    ("最高气温38℃", "最高气温摄氏三十八度"),
    ("面积120m²", "面积一百二十平方米"),
    ("长100m", "长一百米"),
    ("直径5cm", "直径五厘米"),
    ("降雨量12mm", "降雨量十二毫米"),
    ("时速120km/h", "每小时一百二十公里"[:0] + "时速每小时一百二十公里"),
    ("第3届", "第三届"),
    ("2020-2024年", "二零二零到二零二四年"),
    ("零下5℃", "摄氏零下五度"),
    ("出生于86年8月18日", "出生于八六年八月十八日"),
    ("计算-2的绝对值", "计算负二的绝对值"),
    ("120000000", "一亿两千万"),
    ("1,000,000,000,000元", "一万亿元"),
]


@pytest.mark.parametrize(("text", "spoken"), HANS)
def test_simplified(text: str, spoken: str) -> None:
    assert to_spoken(text, script="hans") == spoken


# ----------------------------------------------------------------- ported suites

# WeTextProcessing tn/chinese/test/data/*.txt (adapted as noted in the module docstring).
WETEXT = [
    # normalizer.txt
    ("共465篇，约315万字", "共四百六十五篇，约三百一十五万字"),
    ("共计6.42万人", "共计六点四二万人"),
    ("同比升高0.6个百分点", "同比升高零点六个百分点"),
    ("总量的1/5以上", "总量的五分之一以上"),
    ("相当于头发丝的1/16", "相当于头发丝的十六分之一"),
    ("3/2是一个假分数", "二分之三是一个假分数"),
    ("同比增长6.3%", "同比增长百分之六点三"),
    ("增幅0.4%", "增幅百分之零点四"),
    ("2002/01/28", "二零零二年一月二十八日"),
    ("2002-01-28", "二零零二年一月二十八日"),
    ("2002.01.28", "二零零二年一月二十八日"),
    ("2002/01", "二零零二年一月"),
    ("8月16号12:00之前", "八月十六号十二点之前"),
    ("我是5:02开始的", "我是五点零二分开始的"),
    ("于5:35:36发射", "于五点三十五分三十六秒发射"),
    ("8:00 a.m.准时开会", "上午八点准时开会"),
    ("比分定格在78:96", "比分定格在七十八比九十六"),
    ("计算-2的绝对值是2", "计算负二的绝对值是二"),
    ("±2的平方都是4", "正负二的平方都是四"),
    ("价格是￥13.5", "价格是十三点五元"),
    ("价格是$13.5", "价格是十三点五美元"),
    ("价格是A$13.5", "价格是十三点五澳元"),
    ("价格是HKD13.5", "价格是十三点五港元"),
    ("重达25kg", "重达二十五公斤"),  # WeText: 二十五千克
    ("最高气温38°C", "最高气温摄氏三十八度"),  # WeText: 三十八摄氏度
    ("实际面积120m²", "实际面积一百二十平方米"),
    ("渲染速度10ms一帧", "渲染速度十毫秒一帧"),
    ("可以打我手机13501234567", "可以打我手机一三五零一二三四五六七"),
    ("可以拨打12306来咨询", "可以拨打一二三零六来咨询"),
    # cardinal.txt (幺 → 一)
    ("127.0.0.1", "一二七点零点零点一"),
    ("010-64035547", "零一零六四零三五五四七"),
    ("尾号1702", "尾号一七零二"),
    ("尾号是3385", "尾号是三三八五"),
    ("尾号为2349", "尾号为二三四九"),
    # date.txt
    ("2008-08-08", "二零零八年八月八日"),
    ("2008/08/08", "二零零八年八月八日"),
    ("2008.08.08", "二零零八年八月八日"),
    ("2008-8-8", "二零零八年八月八日"),
    ("2008-08", "二零零八年八月"),
    ("2008/08", "二零零八年八月"),
    # time.txt
    ("2:02", "两点零二分"),
    ("11:00", "十一点"),
    ("22：58", "二十二点五十八分"),
    ("13:10:36", "十三点十分三十六秒"),
    ("1:02:36am", "上午一点零二分三十六秒"),
    ("1:02:36 am", "上午一点零二分三十六秒"),
    # fraction.txt
    ("1/2", "二分之一"),
    ("3/16", "十六分之三"),
    ("1 / 2", "二分之一"),
    # measure.txt
    ("1年后", "一年后"),
    ("2年后", "两年后"),
    ("20年后", "二十年后"),
    ("100余", "一百余"),
    ("10几", "十几"),
    ("2两", "二两"),
    ("1kg", "一公斤"),
    ("1 kg", "一公斤"),
    ("2%", "百分之二"),
    ("10km/h", "每小时十公里"),
    # sport.txt (WeText: 一比二, 零比一)
    ("中国1-2", "中国一到二"),
]


@pytest.mark.parametrize(("text", "spoken"), WETEXT)
def test_wetextprocessing_cases(text: str, spoken: str) -> None:
    assert to_spoken(text, script="hans") == spoken


# speechio chinese_text_normalization: python/example_plain.txt → thrax/testcase_cn.txt
SPEECHIO = [
    ("这块黄金重达324.75克", "这块黄金重达三百二十四点七五克"),
    (
        "她出生于86年8月18日，她弟弟出生于1995年3月1日",
        "她出生于八六年八月十八日，她弟弟出生于一九九五年三月一日",
    ),
    ("电影中梁朝伟扮演的陈永仁的编号27149", "电影中梁朝伟扮演的陈永仁的编号二七一四九"),
    ("现场有7/12的观众投出了赞成票", "现场有十二分之七的观众投出了赞成票"),
    ("随便来几个价格12块5，34.5元，20.1万", "随便来几个价格十二块五，三十四点五元，二十点一万"),
    ("明天有62％的概率降雨", "明天有百分之六十二的概率降雨"),
    ("这是固话0421-33441122", "这是固话零四二一三三四四一一二二"),
    ("这是手机+86 18544139121", "这是手机八六一八五四四一三九一二一"),
    ("00:10登机，08:05下飞机", "零点十分登机，八点零五分下飞机"),
    ("12300多人", "一万两千三百多人"),
    ("3.1415926", "三点一四一五九二六"),
]


@pytest.mark.parametrize(("text", "spoken"), SPEECHIO)
def test_speechio_cases(text: str, spoken: str) -> None:
    assert to_spoken(text, script="hans") == spoken


# ----------------------------------------------------------------- news sentences, auto script

NEWS = [
    (
        "颱風凱米預計24日下午2點登陸，中央氣象署表示，最大風速每秒51公尺，累積雨量可達1,200毫米。",
        "颱風凱米預計二十四日下午兩點登陸，中央氣象署表示，最大風速每秒五十一公尺，累積雨量可達一千二百毫米。",
    ),
    (
        "行政院今天通過2025年度總預算，歲出新臺幣3.1兆元，較去年增加4.5%。",
        "行政院今天通過二零二五年度總預算，歲出新臺幣三點一兆元，較去年增加百分之四點五。",
    ),
    (
        "國家統計局15日發布數據，2024年1-2月社會消費品零售總額8.1萬億元，同比增長5.5%。",
        "國家統計局十五日發布數據，二零二四年一到二月社會消費品零售總額八點一萬億元，同比增長百分之五點五。",
    ),
    (
        "国家统计局15日发布数据，2024年1-2月社会消费品零售总额81307亿元，同比增长5.5%。",
        "国家统计局十五日发布数据，二零二四年一到二月社会消费品零售总额八万一千三百零七亿元，同比增长百分之五点五。",
    ),
    (
        "北京时间3月15日晚8:30，国足以2:0战胜对手，现场约有5万名观众。",
        "北京时间三月十五日晚八点三十分，国足以二比零战胜对手，现场约有五万名观众。",
    ),
    (
        "如有疑問，請撥打客服專線0800-123-456或1999市民熱線。",
        "如有疑問，請撥打客服專線零八零零一二三四五六或一九九九市民熱線。",
    ),
    (
        "受寒流影響，合歡山今晨氣溫降到-2°C，平地低溫約10至12度。",
        "受寒流影響，合歡山今晨氣溫降到攝氏零下二度，平地低溫約十至十二度。",
    ),
]


@pytest.mark.parametrize(("text", "spoken"), NEWS)
def test_news_sentences_in_their_own_script(text: str, spoken: str) -> None:
    assert to_spoken(text) == spoken


# ----------------------------------------------------------------- ○, script, robustness


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("二○○二年", "二零零二年"),
        ("二〇二四年", "二零二四年"),
        ("一○一大樓", "一零一大樓"),
        ("王○明涉案", "王○明涉案"),  # a redacted name, not a number
        ("林○○", "林○○"),
        ("○ 第一項", "○ 第一項"),  # a bullet
    ],
)
def test_circle_zero(text: str, spoken: str) -> None:
    assert to_spoken(text, script="hant") == spoken


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("北韓在24號表示不會在這次談判中討論", "hant"),
        ("朝鲜在24号表示不会在这次谈判中讨论", "hans"),
        ("臺灣的經濟成長", "hant"),
        ("国务院常务会议", "hans"),
        ("", "hans"),
        ("12345", "hans"),
    ],
)
def test_detect_script(text: str, script: str) -> None:
    assert detect_script(text) == script


def test_script_decides_the_characters() -> None:
    assert to_spoken("2.5万", script="hant") == "二點五万"
    assert to_spoken("20000", script="hant") == "兩萬"
    assert to_spoken("20000", script="hans") == "两万"
    assert to_spoken("-5°C", script="hant") == "攝氏零下五度"
    assert to_spoken("-5°C", script="hans") == "摄氏零下五度"


def test_unknown_script_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="script"):
        to_spoken("24號", script="latn")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "沒有數字的句子。",
        "https://example.com/2024/03/15/news.html 全文",
        "聯絡 press@example.com",
        "GB、MB、TB",
        "$",
        "1/0",
        "🎉🎉",
        "\x00\x07\x1b[31m",
        "<b>標題</b>",
    ],
)
def test_what_it_does_not_understand_stays(text: str) -> None:
    assert to_spoken(text) == text


def test_full_width_digits_are_read_too() -> None:
    assert to_spoken("２４號", script="hant") == "二十四號"
    assert to_spoken("１０％", script="hant") == "百分之十"


def test_never_raises_on_random_input() -> None:
    rng = random.Random(2024)
    alphabet = "0123456789.,:-/%％$￥°C℃kmg年月日號个萬億第○〇一二 \n\x00🎉<>&@+±~"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for script in ("hant", "hans", None):
            assert isinstance(to_spoken(text, script=script), str)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "_"), HANT + NEWS)
def test_idempotent(text: str, _: str) -> None:
    once = to_spoken(text, script="hant")
    assert to_spoken(once, script="hant") == once


def test_long_and_pathological_input_is_read() -> None:
    """Long runs of number-like input are read whole (their speed: bench/text_bench.py --nasty)."""
    for nasty in ("1-" * 5_000, "1:" * 5_000, "a@" * 5_000, "一" * 10_000 + "○", "1" * 10_000):
        spoken = to_spoken(nasty)
        assert spoken and not any(ch.isdigit() for ch in spoken)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("票價1.50元", "票價一點五元"),
        ("新臺幣3.20億元", "新臺幣三點二億元"),
        ("成長100.00%", "成長百分之一百"),
        ("跳遠3.50公尺", "跳遠三點五零公尺"),  # a measurement keeps its precision
    ],
)
def test_money_and_percentages_drop_trailing_zeros(text, spoken):
    assert to_spoken(text, script="hant") == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("新制7/1起實施", "新制七月一日起實施"),
        ("即日起至12/31止", "即日起至十二月三十一日止"),
        ("3/15至4/30", "三月十五日至四月三十日"),
        ("9/11事件", "九月十一日事件"),
        ("3/4的民眾", "四分之三的民眾"),
        ("5·12汶川地震", "五一二汶川地震"),
        ("80後與95后", "八零後與九五后"),
        ("3天後", "三天後"),
        ("921大地震", "九二一大地震"),
        ("228事件", "二二八事件"),
        ("2024-25賽季", "二零二四到二五賽季"),
    ],
)
def test_news_dates_generations_and_named_events(text, spoken):
    assert to_spoken(text, script="hant") == spoken


def test_list_item_numbers_read_as_list_marks():
    assert to_spoken("1. 赤字率提高到3%。", script="hans") == "一、 赤字率提高到百分之三。"
    assert to_spoken("他說：2.先做", script="hant") == "他說：二、先做"
    assert to_spoken("成長2.5%", script="hant") == "成長百分之二點五"
