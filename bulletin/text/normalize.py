"""Rewrite cleaned Chinese text into what a TTS engine should read aloud (stage: normalize).

:func:`to_spoken` is applied to each chunk just before synthesis (``Chunk.spoken``); the
cleaned text itself keeps its digits, so subtitles and the feed show what the article
showed. :func:`detect_script` tells Traditional from Simplified text; other stages use it
to choose a default voice, and callers should pass its answer for the *whole* article as
``script=`` so that every chunk of one article is read out in the same script (a short
chunk such as ``"3.5%"`` carries no evidence of its own).

Why a small number reader of our own and not cn2an (which is installed, and was tried;
cn2an 0.5.24):

* cn2an speaks Simplified only: ``transform("新臺幣3.2億元", "an2cn")`` gives 新臺幣三点二億元,
  mixed scripts. Mapping 点/万/亿/两 back is easy, but its 二 vs 两 cannot be steered: it
  reads 2000 二千, 20000 二万, 2个人 二个人, where news readers say 兩千, 兩萬, 兩個人.
* ``transform`` knows dates, fractions, percentages and ℃ only: 3:30 comes out as 三:三十,
  and it has no money, units, phone numbers, ranges with years, nor 攝氏 in Traditional.
* Every ``an2cn`` call first converts its input Traditional→Simplified and full→half width
  (about 7 µs a call) and reports bad input with ``warnings.warn``, noise in a stage that
  must stay quiet and linear.
* Reading an integer is ~40 lines (:func:`_read_int`; it agrees with cn2an on the 零
  rules, e.g. 100010000 一億零一萬, 10001000 一千萬一千), and owning it gives full control
  over 零, 兩 and both scripts.

So the numbers are read by :func:`_read_int` here, and all patterns are one compiled
alternation (:data:`_TOKEN`) scanned once, left to right, by a single ``re.sub``; each
match is rewritten by a small function chosen by the name of the branch that matched.
Everything that is not matched is copied unchanged, and a rewrite that fails leaves its
match unchanged, so odd input (emoji, markup, control characters) never raises.

Reading conventions (chosen for news read aloud; cases ported from public TN suites):

* Cardinals: 24 → 二十四, 10000 → 一萬/一万, 1,234 → 一千二百三十四, 10 → 十, 100010000 →
  一億零一萬. A leading 2 before 千 or alone before 萬/億 reads 兩/两 (2000 → 兩千, 20000
  → 兩萬, 12000 → 一萬兩千); 200 stays 二百 (formal news style).
* A bare 2 reads 兩/两 before a measure word (2個 → 兩個, 2萬 → 兩萬, 2年後 → 兩年後,
  2km → 兩公里), but never after 第 (第2個 → 第二個) nor in years, dates, decimals,
  percentages, temperatures or digit strings.
* Years are read digit by digit when four digits precede 年 (2002年 → 二零零二年) and in
  numeric dates (2024-03-15, 2024/3/15, 2024.03.15 → 二零二四年三月十五日); a year of
  fewer digits is read as a cardinal, which suits Republic-of-China years (民國113年 →
  民國一百一十三年) and durations (20年 → 二十年).
* Digit strings are read digit by digit (0 → 零, 1 → 一, never 幺) when they start with 0
  and have three or more digits, have 11 or more digits, follow Latin letters (A320 →
  A三二零, MH370), look like phone numbers (02-2345-6789, +886 912 345 678), or follow a
  word such as 電話/电话, 編號/编号, 帳號/账号, 尾號/尾号, 撥打/拨打 within three characters.
* N/M is a month/day when the words around it say so (3/15起, 至4/30, 9/11事件) or the
  denominator is 1 (7/1), else a fraction (3/4 → 四分之三).
* 3-5 → 三到五 (also for scores: a plain N-M is read as a range, never as 比); N:M that is
  not a time (3:2, 78:96) → 比.
* ○/〇 inside a run of Chinese digits reads 零 (二○○二 → 二零零二); alone (a bullet, or a
  redacted name such as 王○明) it is left as it is.
* Units: km 公里, kg 公斤, °C 攝氏…度/摄氏…度, m² 平方公尺/平方米, etc., with Taiwan
  names in Traditional text (公尺, 公分, 公釐, 公克, 公升) and mainland names in
  Simplified (米, 厘米, 毫米, 克, 升). MB/GB/TB are left as letters, which engines spell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["Script", "detect_script", "spoken_spans", "to_spoken"]

Script = Literal["hant", "hans"]

# --------------------------------------------------------------------------- script

# Common characters that differ between the scripts, as aligned Traditional/Simplified
# pairs (checked against the T2S table of ``proces``, cn2an's helper). Characters that are
# also at home in the other script are left out (干, 只, 划, 昇) or, on the Simplified side
# of a pair, not counted (_HANS_AMBIGUOUS: 台, 后, 里, 于 … appear in Traditional text).
_PAIRS = (
    "國国 們们 會会 來来 這这 個个 說说 時时 對对 發发 為为 經经 過过 還还 與与 學学 動动 "
    "開开 關关 問问 題题 實实 現现 點点 線线 電电 話话 東东 車车 門门 見见 長长 頭头 邊边 "
    "體体 從从 將将 樣样 讓让 認认 進进 變变 機机 業业 區区 號号 陸陆 華华 萬万 億亿 兩两 "
    "灣湾 語语 錢钱 銀银 貨货 買买 賣卖 價价 務务 產产 處处 總总 氣气 聯联 農农 醫医 應应 "
    "條条 軍军 隊队 團团 組组 織织 員员 層层 報报 導导 記记 錄录 歲岁 視视 聽听 讀读 寫写 "
    "書书 館馆 計计 設设 協协 議议 競竞 選选 擇择 舉举 輪轮 談谈 韓韩 鮮鲜 統统 權权 黨党 "
    "際际 護护 險险 費费 資资 遠远 歡欢 鐘钟 難难 離离 顯显 風风 飛飞 馬马 魚鱼 鳥鸟 麼么 "
    "龍龙 廣广 專专 隨随 陽阳 陰阴 給给 紀纪 約约 級级 紅红 結结 絕绝 練练 習习 參参 雙双 "
    "獨独 筆笔 類类 據据 擊击 擴扩 驗验 壓压 證证 論论 較较 運运 達达 違违 鄉乡 鐵铁 錯错 "
    "閉闭 間间 雖虽 靜静 響响 頁页 順顺 預预 領领 麗丽 歷历 愛爱 親亲 島岛 歐欧 亞亚 傳传 "
    "優优 勝胜 勞劳 嚴严 圖图 執执 場场 塊块 壞坏 夠够 夢梦 奪夺 婦妇 孫孙 寶宝 屆届 帶带 "
    "幣币 幫帮 廳厅 張张 彈弹 徵征 態态 慶庆 戰战 據据 擔担 換换 損损 敗败 數数 斷断 於于 "
    "曉晓 東东 極极 構构 標标 橋桥 權权 歸归 歲岁 決决 沒没 況况 準准 滅灭 漢汉 濟济 "
    "災灾 爭争 狀状 獎奖 環环 療疗 發发 盡尽 監监 確确 礎础 禮礼 穩稳 競竞 築筑 簡简 糧粮 "
    "紙纸 網网 緊紧 續续 罰罚 義义 聞闻 職职 膽胆 與与 艦舰 藝艺 蘭兰 處处 術术 衛卫 衝冲 "
    "裝装 規规 覺觉 觀观 訊讯 訪访 評评 詢询 誤误 調调 請请 諾诺 謝谢 變变 豐丰 貿贸 資资 "
    "贊赞 跡迹 蹤踪 輕轻 輸输 轉转 辦办 遲迟 適适 選选 鄰邻 醫医 釋释 鋼钢 錶表 鎮镇 鏡镜 "
    "關关 陣阵 隱隐 雜杂 雞鸡 離离 顧顾 飯饭 餘余 騰腾 驚惊 鬥斗 黨党 齡龄 後后 裡里 臺台"
)
_HANT_CHARS = "".join(sorted({pair[0] for pair in _PAIRS.split()}))
_HANS_AMBIGUOUS = frozenset("于余表斗冲后里台准征")
_HANS_CHARS = "".join(sorted({pair[1] for pair in _PAIRS.split()} - _HANS_AMBIGUOUS))
_HANT_RE = re.compile(f"[{_HANT_CHARS}]")
_HANS_RE = re.compile(f"[{_HANS_CHARS}]")


def detect_script(text: str) -> Script:
    """Say whether ``text`` is written in Traditional (``"hant"``) or Simplified (``"hans"``).

    Counts common characters that exist in only one of the scripts (a built-in table, so
    no OpenCC-sized dependency for a yes/no question). Text with no such character, or
    as many of each, counts as Simplified, the more widespread script; callers that know
    better pass ``script=`` explicitly.
    """
    hant = len(_HANT_RE.findall(text))
    hans = len(_HANS_RE.findall(text))
    return "hant" if hant > hans else "hans"


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Lexicon:
    """The words of one script; everything script-dependent lives here."""

    point: str
    wan: str
    yi: str
    zhao: str  # 10**12: 兆 in Taiwan usage, 万亿 on the mainland
    liang: str
    neg: str
    plus_minus: str
    celsius: str
    fahrenheit: str
    per_hour: str
    hour_word: str  # the 點 of 3點30分
    units: Mapping[str, str]
    currencies: Mapping[str, tuple[str, str]]  # symbol → (before the number, after it)
    measure: re.Pattern[str]  # words after which a bare 2 reads 兩


def _currencies(twd: str, rmb: str, eur: str, gbp: str, jpy: str) -> Mapping[str, tuple[str, str]]:
    usd = ("", "美元")
    table = {
        "$": usd, "US$": usd, "USD": usd,
        "NT$": (twd, "元"), "TWD": (twd, "元"), "NTD": (twd, "元"),
        "HK$": ("", "港元"), "HKD": ("", "港元"),
        "A$": ("", "澳元"), "AUD": ("", "澳元"),
        "S$": ("", "新加坡元"), "SGD": ("", "新加坡元"),
        "C$": ("", "加元"), "CAD": ("", "加元"),
        "￥": ("", "元"), "¥": ("", "元"), "RMB": (rmb, "元"), "CNY": (rmb, "元"),
        "€": ("", eur), "EUR": ("", eur),
        "£": ("", gbp), "GBP": ("", gbp),
        "JPY": ("", jpy),
    }  # fmt: skip
    return MappingProxyType(table)


# Measure words after which a bare "2" is read 兩/两 (both scripts' forms in one list).
_MEASURE_WORDS = (
    "個 个 位 名 人 次 天 年 歲 岁 家 件 輛 辆 架 艘 條 条 隻 只 張 张 本 份 場 场 項 项 座 所 "
    "間 间 倍 週 周 種 种 點 点 萬 万 億 亿 千 兆 小時 小时 分鐘 分钟 秒 秒鐘 秒钟 公里 公斤 公尺 "
    "米 公分 厘米 公克 克 公升 升 毫升 成 支 枚 顆 颗 棵 部 台 臺 輪 轮 屆 届 岸 國 国 韓 韩 黨 "
    "党 方 邊 边 隊 队 席 票 把 雙 双 對 对 套 層 层 趟 遍 股 筆 笔 頁 页 元 塊 块 口 戶 户 所 群 "
    "組 组 幅 段 句 封 篇 集 季 期 類 类 樣 样 款 起 宗"
)
# Longest first, so that 小時 wins over 小 and 秒鐘 over 秒; 年 not before 級/度/代 (2年級 is a
# grade, 2年度 a fiscal year).
_MEASURE_RE = re.compile(
    r" ?(?:"
    + "|".join(sorted(set(_MEASURE_WORDS.split()) - {"年"}, key=len, reverse=True))
    + r"|年(?![級级度代]))"
)

_HANT = _Lexicon(
    point="點", wan="萬", yi="億", zhao="兆", liang="兩", neg="負", plus_minus="正負",
    celsius="攝氏", fahrenheit="華氏", per_hour="每小時", hour_word="點",
    units=MappingProxyType({
        "km": "公里", "KM": "公里", "m": "公尺", "cm": "公分", "mm": "公釐",
        "kg": "公斤", "KG": "公斤", "g": "公克", "mg": "毫克", "L": "公升", "ml": "毫升", "mL": "毫升",
        "m²": "平方公尺", "m2": "平方公尺", "km²": "平方公里", "km2": "平方公里",
        "cm²": "平方公分", "m³": "立方公尺", "m3": "立方公尺", "ms": "毫秒",
        "kW": "千瓦", "MW": "百萬瓦", "GW": "十億瓦", "kWh": "度",
    }),
    currencies=_currencies("新臺幣", "人民幣", "歐元", "英鎊", "日圓"),
    measure=_MEASURE_RE,
)  # fmt: skip
_HANS = _Lexicon(
    point="点", wan="万", yi="亿", zhao="万亿", liang="两", neg="负", plus_minus="正负",
    celsius="摄氏", fahrenheit="华氏", per_hour="每小时", hour_word="点",
    units=MappingProxyType({
        "km": "公里", "KM": "公里", "m": "米", "cm": "厘米", "mm": "毫米",
        "kg": "公斤", "KG": "公斤", "g": "克", "mg": "毫克", "L": "升", "ml": "毫升", "mL": "毫升",
        "m²": "平方米", "m2": "平方米", "km²": "平方公里", "km2": "平方公里",
        "cm²": "平方厘米", "m³": "立方米", "m3": "立方米", "ms": "毫秒",
        "kW": "千瓦", "MW": "兆瓦", "GW": "吉瓦", "kWh": "千瓦时",
    }),
    currencies=_currencies("新台币", "人民币", "欧元", "英镑", "日元"),
    measure=_MEASURE_RE,
)  # fmt: skip
_LEXICONS: Mapping[str, _Lexicon] = MappingProxyType({"hant": _HANT, "hans": _HANS})

# --------------------------------------------------------------------------- reading numbers

_DIGIT_NAMES = "零一二三四五六七八九"
_DIGITS_TO_NAMES = str.maketrans("0123456789", _DIGIT_NAMES)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULLWIDTH_DIGIT_RE = re.compile("[０-９]")
_MAX_CARDINAL_DIGITS = 16  # up to 9999兆 / 9999万亿; longer runs are read digit by digit


def _read_digits(digits: str) -> str:
    """Read a string of ASCII digits one by one (0912 → 零九一二); other characters dropped."""
    return "".join(ch for ch in digits if ch.isascii() and ch.isdigit()).translate(_DIGITS_TO_NAMES)


def _read_section(section: str) -> str:
    """Read a zero-padded 4-digit group (千百十個), one 零 for each run of inner zeros.

    The leading zeros of a group are not read here: the caller decides (they read 零 only
    when a higher group was read before).
    """
    parts: list[str] = []
    zero = False
    for digit, unit in zip(section, ("千", "百", "十", ""), strict=True):
        if digit == "0":
            zero = bool(parts)
            continue
        if zero:
            parts.append("零")
            zero = False
        parts.append(("兩" if digit == "2" and unit == "千" else _DIGIT_NAMES[int(digit)]) + unit)
    return "".join(parts)


def _read_int(digits: str, lex: _Lexicon, *, liang: bool = False) -> str:
    """Read a non-negative integer (ASCII digits, no separators) as a Chinese cardinal.

    ``liang``: read a bare 2 as 兩/两 (the caller saw a measure word after it). A leading
    2 before 千, or a leading group of exactly 2 before 萬/億, always reads 兩/两.
    """
    digits = digits.lstrip("0")
    if not digits:
        return "零"
    if len(digits) > _MAX_CARDINAL_DIGITS:
        return _read_digits(digits)
    if digits == "2":
        return lex.liang if liang else "二"
    padded = digits.zfill(-(-len(digits) // 4) * 4)
    groups = [padded[i : i + 4] for i in range(0, len(padded), 4)]
    units = ("", lex.wan, lex.yi, lex.zhao)
    out: list[str] = []
    zero_pending = False
    for index, group in enumerate(groups):
        unit = units[len(groups) - 1 - index]
        if group == "0000":
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group[0] == "0"):
            out.append("零")
        if not out and group == "0002" and unit:
            out.append(lex.liang)
        else:
            out.append(_read_section(group))
        out.append(unit)
        zero_pending = False
    spoken = "".join(out).replace("兩", lex.liang)
    # 10-19 at the head of a number read 十…, not 一十… (but 110 is 一百一十).
    return spoken[1:] if spoken.startswith("一十") else spoken


def _read_number(number: str, lex: _Lexicon, *, liang: bool = False, trim: bool = False) -> str:
    """Read an integer or decimal, thousands separators allowed (1,234.5 → 一千二百三十四點五).

    ``trim`` drops trailing zeros of the fraction, as newsreaders do for money and
    percentages (1.50元 → 一點五元, 100.00% → 百分之一百); measurements keep them.
    """
    number = number.replace(",", "")
    whole, _, fraction = number.partition(".")
    if trim:
        fraction = fraction.rstrip("0")
    if not fraction:
        return _read_int(whole, lex, liang=liang)
    return _read_int(whole, lex) + lex.point + _read_digits(fraction)


# --------------------------------------------------------------------------- patterns

# A number as written: 1,234,567.89 (groups of exactly three) or 1234.5.
_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)"
_NOT_AFTER_NUM = r"(?![0-9]|\.[0-9])"
# A minus sign, not a hyphen between letters or digits (COVID-19, 3-5).
_NEG = r"(?<![0-9A-Za-z.)\]%％])[-−]"
_DASH = r"[-~～–—]"


def _time(tag: str) -> str:
    return (
        rf"(?P<{tag}h>[01]?[0-9]|2[0-4])[:：](?P<{tag}m>[0-5][0-9])"
        rf"(?:[:：](?P<{tag}s>[0-5][0-9]))?(?![0-9]|[:：][0-9])"
        rf"(?:\s?(?P<{tag}ap>[AaPp])\.?[Mm]\.?(?![A-Za-z]))?"
    )


_CURRENCY_SYMBOLS = sorted(_HANT.currencies, key=len, reverse=True)
_CURRENCY_PREFIX = "|".join(re.escape(sym) + (r" ?" if sym.isalpha() else "") for sym in _CURRENCY_SYMBOLS)
_CURRENCY_CODES = "|".join(sym for sym in _CURRENCY_SYMBOLS if sym.isalpha())
_UNIT_SYMBOLS = "km/h|" + "|".join(re.escape(u) for u in sorted(_HANT.units, key=len, reverse=True))
_TEMP_UNIT = r"°C|℃|°F|℉|度C|度(?![0-9])|°(?![CF])"

# Words after which a run of digits is an identifier read digit by digit (电话 0912…).
_DIGIT_CONTEXT = re.compile(
    r"(?:電話|电话|手機|手机|號碼|号码|帳號|账号|帐号|帳戶|账户|尾號|尾号|編號|编号|熱線|热线|"
    r"撥打|拨打|致電|致电|專線|专线|傳真|传真|分機|分机|證號|证号|代碼|代码|代號|代号|郵編|邮编|"
    r"區號|区号|車牌|车牌|航班|班機|班机|車次|车次|房號|房号|卡號|卡号|統編|序號|序号|密碼|密码|"
    r"驗證碼|验证码|單號|单号|字號|字号|門牌|门牌|信箱|QQ|微信|Line|LINE)"
    r"[^0-9\n]{0,3}$"
)

# …and words after it (1999市民熱線, 110報案, 921大地震, 228事件).
_DIGIT_CONTEXT_AFTER = re.compile(
    r"[^0-9\n，。,]{0,2}(?:熱線|热线|專線|专线|報案|报案|報警|报警|急救|火警|客服|事件|地震|大地震|紀念|纪念|慘案|惨案)"
)
# Words that make N/M a month/day: after it (3/15起, 4/30止) or shortly before it (至4/30).
_DATE_AFTER = re.compile(
    r"\s?(?:起|止|至|到|前|後|后|開始|开始|當天|当天|當日|当日|凌晨|上午|下午|晚上|晚間|事件|[（(][週周星])"
)
_DATE_BEFORE = re.compile(r"(?:至|自|於|于|從|从|到|截至|即日起至)\s?$")

# One alternation, tried in this order at each position; the name of the outer group
# says which rewrite applies (see _REWRITES).
_TOKEN = re.compile(
    # A cheap look at the first character skips most positions before the branches are tried.
    # (Matches that start with a letter all start a run of letters: URLs, e-mail, USD 5.)
    r"(?=[0-9○〇零一二三四五六七八九$￥¥€£±+\-−(._%\x1b]|(?<![A-Za-z0-9._%+\-])[A-Za-z])(?:"
    + "|".join(
        (
            r"(?P<ansi>\x1b\[[0-9;?]*[A-Za-z])",  # a terminal escape that survived cleaning
            r"(?P<url>(?<![A-Za-z0-9._%+-])(?:https?://|www\.)[!-~]+)",
            r"(?P<email>(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
            r"(?P<circle>(?<![○〇零一二三四五六七八九])[零一二三四五六七八九]*[○〇][○〇零一二三四五六七八九]*)",
            r"(?P<ymd>(?<![0-9.])(?P<ymd_y>[12][0-9]{3})(?P<ymd_sep>[-/.])(?P<ymd_m>0?[1-9]|1[0-2])"
            r"(?P=ymd_sep)(?P<ymd_d>0?[1-9]|[12][0-9]|3[01])(?![0-9]|\.[0-9]))",
            r"(?P<ym>(?<![0-9.])(?P<ym_y>[12][0-9]{3})[-/](?P<ym_m>0?[1-9]|1[0-2])(?![0-9]|[-/.][0-9]))",
            rf"(?P<time>(?<![0-9.:：]){_time('t1')}(?:\s?{_DASH}\s?{_time('t2')})?)",
            r"(?P<ratio>(?<![0-9.:：])(?P<ratio_a>[0-9]+)[:：](?P<ratio_b>[0-9]+)(?![0-9]|[:：.][0-9]))",
            r"(?P<dotted>(?<![0-9.])[0-9]+(?:\.[0-9]+){2,}(?![0-9]|\.[0-9]))",
            r"(?P<phone>(?<![0-9])(?:\+[0-9]{1,3}[ -]?)?(?:\(0[0-9]{1,3}\) ?|0[0-9]{1,3}-)"
            r"[0-9]{3,4}-?[0-9]{3,4}(?![0-9]))",
            r"(?P<intl>(?<![0-9A-Za-z])\+[0-9]{1,3}[ -]?[0-9][0-9 -]{5,}[0-9](?![0-9]))",
            r"(?P<season>(?<![0-9.])(?P<season_a>(?:19|20)[0-9]{2})[-/–](?P<season_b>[0-9]{2})"
            r"(?=\s?(?:賽季|赛季|球季|年度|學年|学年|財年|财年|會計年度|会计年度)))",
            r"(?P<years>(?<![0-9.])(?P<years_a>(?:19|20)[0-9]{2})\s?[-~～–—]\s?"
            r"(?P<years_b>(?:19|20)[0-9]{2})(?![0-9]|\.[0-9]|\s?[%％A-Za-z萬万億亿千百元人名個个位公米度]))",
            rf"(?P<temp>(?:(?P<temp_neg1>{_NEG}|零下)?(?P<temp_a>{_NUM})\s?(?:{_TEMP_UNIT})?\s?"
            rf"(?P<temp_sep>{_DASH}|至|到)\s?)?(?P<temp_neg2>{_NEG}|零下)?(?P<temp_b>{_NUM})\s?"
            rf"(?P<temp_unit>{_TEMP_UNIT}))",
            rf"(?P<range>(?<![0-9A-Za-z.\-])(?P<range_a>{_NUM})(?P<range_pct>[%％])?\s?{_DASH}\s?"
            rf"(?=[0-9]+(?:\.[0-9]+)?(?![0-9]|\.[0-9]|{_DASH}[0-9])))",
            rf"(?P<pct>(?P<pct_neg>{_NEG})?(?P<pct_n>{_NUM})\s?(?P<pct_sign>[%％‰]))",
            rf"(?P<money>(?<![A-Za-z])(?P<money_cur>{_CURRENCY_PREFIX})(?P<money_n>{_NUM})"
            r"(?P<money_mag>[萬万億亿兆千百]*)(?P<money_yuan>元)?)",
            r"(?P<listno>(?<![^\s。！？；：:])(?P<listno_n>[0-9]{1,2})[.．](?=\s?[^\s0-9.．]))",
            r"(?P<dotdate>(?<![0-9.])(?P<dd_a>[0-9]{1,2})[·・•](?P<dd_b>[0-9]{1,2})(?![0-9]))",
            r"(?P<decade>(?<![0-9.第])(?P<decade_n>[05-9][0-9])(?=[後后](?![天日年來来])))",
            r"(?P<frac>(?<![0-9./])(?P<frac_a>[0-9]+) ?/ ?(?P<frac_b>[0-9]+)(?![0-9/]|\.[0-9]))",
            rf"(?P<unit>(?P<unit_n>{_NUM}) ?(?P<unit_sym>{_UNIT_SYMBOLS}|{_CURRENCY_CODES})"
            r"(?![A-Za-z0-9]))",
            r"(?P<year>(?P<year_y>[0-9]{4})(?=\s?年))",
            r"(?P<year2>(?<![0-9.])(?P<year2_y>[0-9]{2})(?=年[0-9]{1,2}月))",
            rf"(?P<code>(?<=[A-Za-z])[0-9]{{3,}}{_NOT_AFTER_NUM})",
            rf"(?P<longdigits>(?<![0-9.])(?:0[0-9]{{2,}}|[0-9]{{11,}}){_NOT_AFTER_NUM})",
            r"(?P<plusminus>±(?=\s?[0-9]))",
            rf"(?P<neg>{_NEG}(?=[0-9]))",
            rf"(?P<num>{_NUM})",
        )
    )
    + ")"
)

# --------------------------------------------------------------------------- rewrites

_Rewrite = Callable[[re.Match[str], _Lexicon], str]


def _rw_keep(m: re.Match[str], lex: _Lexicon) -> str:
    return m.group()


def _rw_circle(m: re.Match[str], lex: _Lexicon) -> str:
    run = m.group()
    if len(run) < 2 or not any(ch in "一二三四五六七八九" for ch in run):
        return run  # a bullet or a redaction mark (王○明), not a number
    return run.replace("○", "零").replace("〇", "零")


def _date(lex: _Lexicon, year: str, month: str, day: str | None = None) -> str:
    spoken = f"{_read_digits(year)}年{_read_int(month, lex)}月"
    return spoken + (f"{_read_int(day, lex)}日" if day else "")


def _rw_ymd(m: re.Match[str], lex: _Lexicon) -> str:
    return _date(lex, m["ymd_y"], m["ymd_m"], m["ymd_d"])


def _rw_ym(m: re.Match[str], lex: _Lexicon) -> str:
    return _date(lex, m["ym_y"], m["ym_m"])


def _clock(m: re.Match[str], lex: _Lexicon, tag: str) -> str:
    hour, minute, second = m[tag + "h"], m[tag + "m"], m[tag + "s"]
    ampm = m[tag + "ap"]
    spoken = "" if not ampm else ("上午" if ampm in "Aa" else "下午")
    spoken += _read_int(hour, lex, liang=True) + lex.hour_word
    if minute != "00" or (second and second != "00"):
        spoken += ("零" if minute[0] == "0" and minute != "00" else "") + _read_int(minute, lex) + "分"
    if second and second != "00":
        spoken += ("零" if second[0] == "0" else "") + _read_int(second, lex) + "秒"
    return spoken


def _rw_time(m: re.Match[str], lex: _Lexicon) -> str:
    spoken = _clock(m, lex, "t1")
    return spoken + "到" + _clock(m, lex, "t2") if m["t2h"] else spoken


def _rw_ratio(m: re.Match[str], lex: _Lexicon) -> str:
    return f"{_read_int(m['ratio_a'], lex)}比{_read_int(m['ratio_b'], lex)}"


def _rw_dotted(m: re.Match[str], lex: _Lexicon) -> str:
    # IP addresses and version numbers: 127.0.0.1 → 一二七點零點零點一
    return lex.point.join(_read_digits(part) for part in m.group().split("."))


def _rw_digits(m: re.Match[str], lex: _Lexicon) -> str:
    return _read_digits(m.group())


def _temperature(lex: _Lexicon, neg: str | None, number: str) -> str:
    if neg:
        return "零下" + _read_number(number, lex)
    return _read_number(number, lex)


def _rw_temp(m: re.Match[str], lex: _Lexicon) -> str:
    unit = m["temp_unit"]
    if unit in ("°F", "℉"):
        prefix = lex.fahrenheit
    elif unit in ("°C", "℃", "度C"):
        prefix = lex.celsius
    else:
        prefix = ""
    spoken = prefix
    if m["temp_a"] is not None:
        sep = m["temp_sep"]
        spoken += _temperature(lex, m["temp_neg1"], m["temp_a"]) + (sep if sep in "至到" else "到")
    return spoken + _temperature(lex, m["temp_neg2"], m["temp_b"]) + "度"


_RANGE_TAIL = re.compile(rf"({_NUM})\s?([%％])?")
_YEAR_AFTER = re.compile(r"\s?年")


def _rw_range(m: re.Match[str], lex: _Lexicon) -> str:
    """Read the first number of a range and its dash; the second number is read on its own."""
    first, text = m["range_a"], m.string
    tail = _RANGE_TAIL.match(text, m.end())
    if tail is None:  # cannot happen (the pattern looked ahead), but stay safe
        return m.group()
    if len(first) == 4 and len(tail[1]) == 4 and _YEAR_AFTER.match(text, tail.end()):
        return _read_digits(first) + "到"  # 2020-2024年 → 二零二零到二零二四年
    if m["range_pct"] or tail[2]:
        return "百分之" + _read_number(first, lex) + "到"  # 3-5% → 百分之三到百分之五
    liang = (  # 2-3個 → 兩到三個, but 第2-3名 → 第二到三名
        text[m.start() - 1 : m.start()] != "第" and lex.measure.match(text, tail.end()) is not None
    )
    return _read_number(first, lex, liang=liang) + "到"


def _rw_years(m: re.Match[str], lex: _Lexicon) -> str:
    first, second = m["years_a"], m["years_b"]
    if first < second:  # 2020-2024(年) → 二零二零到二零二四(年)
        return f"{_read_digits(first)}到{_read_digits(second)}"
    return f"{_read_int(first, lex)}到{_read_int(second, lex)}"


def _rw_pct(m: re.Match[str], lex: _Lexicon) -> str:
    spoken = ("千分之" if m["pct_sign"] == "‰" else "百分之") + _read_number(m["pct_n"], lex, trim=True)
    return (lex.neg if m["pct_neg"] else "") + spoken


def _rw_money(m: re.Match[str], lex: _Lexicon) -> str:
    before, after = lex.currencies[m["money_cur"].strip()]
    magnitude = m["money_mag"]
    liang = not magnitude or magnitude[0] in "萬万億亿千兆"  # $2 → 兩美元, $2萬 → 兩萬美元
    spoken = before + _read_number(m["money_n"], lex, liang=liang, trim=True) + magnitude
    if m["money_yuan"] and not after.endswith("元"):
        after += "元"  # keep the 元 the text wrote after a symbol that does not say it
    return spoken + after


def _rw_frac(m: re.Match[str], lex: _Lexicon) -> str:
    """N/M: a month/day when the words around it say so (3/15起, 至4/30, 9/11事件) or the
    denominator is 1 (7/1), else a fraction (3/4 → 四分之三, 1/16 → 十六分之一)."""
    numerator, denominator = m["frac_a"], m["frac_b"]
    a, b = int(numerator), int(denominator)
    is_day = 1 <= a <= 12 and 1 <= b <= 31
    around = _DATE_AFTER.match(m.string, m.end()) or _DATE_BEFORE.search(m.string, 0, m.start())
    if is_day and (around or b == 1):
        return f"{_read_int(numerator, lex)}月{_read_int(denominator, lex)}日"
    if not denominator.strip("0"):
        return m.group()
    return f"{_read_int(denominator, lex)}分之{_read_int(numerator, lex)}"


def _rw_season(m: re.Match[str], lex: _Lexicon) -> str:
    """2024-25賽季: a season or fiscal year spanning two years, both read digit by digit."""
    return _read_digits(m["season_a"]) + "到" + _read_digits(m["season_b"])


def _rw_listno(m: re.Match[str], lex: _Lexicon) -> str:
    """A list item number (1. 赤字率) as Chinese writes it (一、): "一." may be read 一點."""
    return _read_int(m["listno_n"], lex) + "、"


def _rw_dotdate(m: re.Match[str], lex: _Lexicon) -> str:
    """5·12 (汶川地震), 9·11, 3·15: dates named by their digits."""
    return _read_digits(m["dd_a"]) + _read_digits(m["dd_b"])


def _rw_decade(m: re.Match[str], lex: _Lexicon) -> str:
    """80後, 95后: a generation, read digit by digit (八零後)."""
    return _read_digits(m["decade_n"])


def _rw_unit(m: re.Match[str], lex: _Lexicon) -> str:
    symbol, number = m["unit_sym"], m["unit_n"]
    if symbol == "km/h":  # 10km/h → 每小時十公里
        return lex.per_hour + _read_number(number, lex, liang=True) + "公里"
    if symbol in lex.currencies:
        before, after = lex.currencies[symbol]
        return before + _read_number(number, lex, liang=True) + after
    return _read_number(number, lex, liang=True) + lex.units[symbol]


def _rw_year(m: re.Match[str], lex: _Lexicon) -> str:
    return _read_digits(m["year_y"])


def _rw_year2(m: re.Match[str], lex: _Lexicon) -> str:
    # 86年8月: on the mainland a short year (一九)八六; in Taiwan a Republic year, 八十六
    year = m["year2_y"]
    return _read_int(year, lex) if lex is _HANT else _read_digits(year)


def _rw_plusminus(m: re.Match[str], lex: _Lexicon) -> str:
    return lex.plus_minus


def _rw_neg(m: re.Match[str], lex: _Lexicon) -> str:
    return lex.neg


def _rw_num(m: re.Match[str], lex: _Lexicon) -> str:
    number, start, text = m.group(), m.start(), m.string
    if (
        len(number) >= 3
        and number.isdigit()
        and (
            _DIGIT_CONTEXT.search(text, max(0, start - 12), start)
            or _DIGIT_CONTEXT_AFTER.match(text, m.end())
        )
    ):
        return _read_digits(number)  # 撥打1999, 編號27149, 1999市民熱線
    liang = (
        number == "2"
        and text[start - 1 : start] not in ("第", ".", "-", "−")
        and text[max(0, start - 2) : start] not in ("民國", "民国")
        and lex.measure.match(text, m.end()) is not None
    )
    after = text[m.end() : m.end() + 2]
    money = after[:1] in ("元", "圓", "块", "塊", "角") or (
        after[:1] in "萬万億亿" and after[1:] in ("元", "圓")
    )
    return _read_number(number, lex, liang=liang, trim=money)


_REWRITES: Mapping[str, _Rewrite] = MappingProxyType(
    {
        "ansi": _rw_keep,
        "url": _rw_keep,
        "email": _rw_keep,
        "circle": _rw_circle,
        "ymd": _rw_ymd,
        "ym": _rw_ym,
        "time": _rw_time,
        "ratio": _rw_ratio,
        "dotted": _rw_dotted,
        "phone": _rw_digits,
        "intl": _rw_digits,
        "years": _rw_years,
        "temp": _rw_temp,
        "range": _rw_range,
        "pct": _rw_pct,
        "money": _rw_money,
        "frac": _rw_frac,
        "dotdate": _rw_dotdate,
        "listno": _rw_listno,
        "season": _rw_season,
        "decade": _rw_decade,
        "unit": _rw_unit,
        "year": _rw_year,
        "year2": _rw_year2,
        "code": _rw_digits,
        "longdigits": _rw_digits,
        "plusminus": _rw_plusminus,
        "neg": _rw_neg,
        "num": _rw_num,
    }
)


def to_spoken(text: str, script: Script | None = None) -> str:
    """Rewrite ``text`` as it should be read aloud: digits, dates, times, money, units…

    ``script`` picks the characters of the output (點/点, 萬/万, 兩/两, 攝氏/摄氏); by
    default it is detected from ``text`` itself, but a chunk is short, so callers should
    pass the script of the whole article. Anything not understood is left as it is, and no
    input text makes this raise (only an unknown ``script`` does, with ValueError).
    """
    if _FULLWIDTH_DIGIT_RE.search(text):
        text = text.translate(_FULLWIDTH_DIGITS)
    pieces, at = [], 0
    for start, end, spoken in spoken_spans(text, script):
        pieces += [text[at:start], spoken]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def spoken_spans(text: str, script: Script | None = None) -> list[tuple[int, int, str]]:
    """What :func:`to_spoken` rewrites, as ``(start, end, spoken)`` spans of ``text``.

    For callers that must say which written characters a reading belongs to
    (``bulletin pronounce``); splicing the spans into ``text`` gives ``to_spoken(text)``.
    """
    if script is None:
        script = detect_script(text)
    lex = _LEXICONS.get(script)
    if lex is None:
        raise ValueError(f"unknown script {script!r}: expected 'hant' or 'hans'")
    if _FULLWIDTH_DIGIT_RE.search(text):
        text = text.translate(_FULLWIDTH_DIGITS)  # one character for one: positions hold
    spans = []
    for m in _TOKEN.finditer(text):
        try:
            spoken = _REWRITES[m.lastgroup or "url"](m, lex)
        except Exception:  # a rewrite bug must not lose the bulletin: keep the original
            continue
        if spoken != m.group():
            spans.append((m.start(), m.end(), spoken))
    return spans
