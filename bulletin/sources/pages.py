"""An article page's main text, without the site around it (HTML in, headline and paragraphs out).

Built on trafilatura, which beat readability-lxml on Chinese news pages wrapped in real
sites' furniture (``bench/extract_bench.py``, results in ``bench/README.md``): both find
every body paragraph, but readability keeps share bars, photo captions and inline ads
that trafilatura drops. What trafilatura still lets through is taken out here, line by
line: the headline and the date line above the body, photo captions (``…摄``), editors'
credits, copyright notices, "more" links (``看更多：…``), inline ads and other short lines
that hold no sentence. Datelines and bylines inside the first paragraph are left to
:mod:`bulletin.text.structure`, which treats plain-text articles the same way.

Encodings: a byte-order mark, then the HTTP header's charset, then ``<meta charset>`` (or
``http-equiv``), then strict UTF-8, then :func:`bulletin.text.detect.detect` for undeclared
Chinese bytes. GB2312 and GBK are read as GB18030 (their superset: pages declared GB2312
routinely use GBK characters) and Big5 as Big5-HKSCS for the same reason; a declared
charset that does not decode falls through to detection (pages lie about their charset).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bulletin.errors import SourceError
from bulletin.sources.notices import notice_kind
from bulletin.text.chars import CLOSERS, SENTENCE_END
from bulletin.text.detect import detect

#: Superset codecs for what pages declare.
_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
}
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._-]{2,40})""", re.IGNORECASE
)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

#: Lines that are furniture whatever their length.
_CAPTION = re.compile(
    r"(?:^[（(]?(?:圖為|图为|圖：|图：|圖/|图/|圖／|图／|照片))|(?:[摄攝](?:影)?|提供|翻[攝摄])\s*[）)]?$"
)
_COPYRIGHT = re.compile(
    r"版[權权]所有|不得[轉转]載|不得转载|未[經经][授许][權权可]|非[經经]授[權权]|"
    r"All Rights Reserved|Copyright",
    re.IGNORECASE,
)
_PROMO = re.compile(
    r"^\W{0,3}(?:看更多|更多新聞|更多新闻|延伸閱讀|延伸阅读|相關新聞|相关新闻|推薦閱讀|推荐阅读|點我|点我|點擊|点击|"
    r"下載|下载|訂閱|订阅|加入|追蹤|关注|關注|分享|廣告|广告|贊助|赞助)"
)
_HASHTAGS = re.compile(r"^[#＃]")
#: A line shorter than this with no sentence-final mark is a title, date, byline or link.
_SHORT = 50

_META_DATE = re.compile(
    r"""<meta\s[^>]{0,200}?(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|og:published_time|"""
    r"""pubdate|publishdate|publish-date|publish_date|datePublished|dc\.date|parsely-pub-date|date)["']"""
    r"""[^>]{0,200}?content\s*=\s*["']([^"']{8,40})["']""",
    re.IGNORECASE,
)
_META_DATE_FIRST = re.compile(
    r"""<meta\s[^>]{0,200}?content\s*=\s*["']([^"']{8,40})["'][^>]{0,200}?(?:property|name|itemprop)\s*=\s*"""
    r"""["'](?:article:published_time|og:published_time|pubdate|publishdate|datePublished)["']""",
    re.IGNORECASE,
)
_LD_DATE = re.compile(r""""datePublished"\s*:\s*"([^"]{8,40})\"""")
_TIME_TAG = re.compile(r"""<time\s[^>]{0,200}?datetime\s*=\s*["']([^"']{8,40})["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """What an article page holds for a bulletin."""

    headline: str | None
    paragraphs: tuple[str, ...]
    published: datetime | None
    encoding: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _WIDER.get(name, name)
    try:
        return codecs.lookup(name).name if codecs.lookup(name)._is_text_encoding else None
    except LookupError:
        return None


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode a page or feed: BOM, the HTTP charset, ``<meta charset>``, UTF-8, then detection."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    meta = _META_CHARSET.search(data[:4096])
    for codec in (_codec(declared), _codec(meta.group(1).decode("ascii")) if meta else None, "utf-8"):
        if codec:
            try:
                return data.decode(codec), codec
            except (UnicodeDecodeError, LookupError):
                continue
    found = detect(data)
    if found is not None:
        return found
    return data.decode("utf-8", errors="replace"), "utf-8"


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(CLOSERS + " ")
    return bool(stripped) and stripped[-1] in SENTENCE_END


def _squash(text: str) -> str:
    return re.sub(r"[\s，,、：:｜|／/·・\-—_]", "", text)


def is_furniture(line: str, headline: str | None = None) -> bool:
    """Is this extracted line site furniture rather than the article's text?"""
    if headline and _squash(line) == _squash(headline):
        return True
    if _COPYRIGHT.search(line) or _HASHTAGS.match(line):
        return True
    if _CAPTION.search(line) and len(line) < 120:
        return True
    if _PROMO.match(line) and (len(line) < _SHORT or not _ends_sentence(line)):
        return True
    return len(line) < _SHORT and not _ends_sentence(line) and not any(m in line for m in "。！？")


def clean_lines(lines: list[str], headline: str | None = None) -> list[str]:
    """The lines that are the article (see :func:`is_furniture`)."""
    kept = [line.strip() for line in lines if line.strip()]
    return [line for line in kept if not is_furniture(line, headline)]


def _title(html: str) -> str | None:
    for pattern in (
        r"""<meta\s[^>]{0,100}?property\s*=\s*["']og:title["'][^>]{0,50}?content\s*=\s*["']([^"']{1,300})["']""",
        r"<h1[^>]*>(.{1,600}?)</h1>",
        r"<title[^>]*>(.{1,600}?)</title>",
    ):
        m = re.search(pattern, html, re.IGNORECASE | re.DOTALL)
        if m:
            import html as html_module

            text = html_module.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()
            if pattern.startswith("<title"):  # "headline | section | site": the headline
                text = re.split(r"\s[|｜_–—-]\s|_", text)[0].strip()
            if text:
                return text
    return None


def parse_time(value: str) -> datetime | None:
    """An ISO-like timestamp (``2026-11-26T09:12:00+08:00``, ``2026-11-26 10:30:00``, ``…Z``).

    No zone: local time. A date alone: the end of that day (so ``--since`` skips only what
    surely came before it).
    """
    value = value.strip().replace("Z", "+00:00").replace("/", "-")
    m = re.match(
        r"^(\d{4}-\d{1,2}-\d{1,2})(?:[T\s](\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*([+-]\d{2}:?\d{2})?)?", value
    )
    if not m:
        return None
    day, clock, zone = m.groups()
    from datetime import timezone

    try:
        y, mo, d = (int(x) for x in day.split("-"))
        if clock is None:
            when = datetime.combine(datetime(y, mo, d), time(23, 59, 59)).astimezone()
        else:
            parts = [int(x) for x in clock.split(":")]
            when = datetime(y, mo, d, parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
            if zone:
                zone = zone.replace(":", "")
                sign = 1 if zone[0] == "+" else -1
                offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
                when = when.replace(tzinfo=timezone(sign * offset))
            else:
                when = when.astimezone()
        when.astimezone(timezone.utc)  # a time the clock can hold in every zone, or none
    except (ValueError, OverflowError):  # 0001-01-01 in a zone east of UTC, month 13, +25:00
        return None
    return when


def published_time(html: str, fallback: str | None = None) -> datetime | None:
    """The page's publication time from its meta tags, JSON-LD or ``<time>``, else ``fallback``."""
    head = html[:200_000]
    for pattern in (_META_DATE, _META_DATE_FIRST, _LD_DATE, _TIME_TAG):
        m = pattern.search(head)
        if m:
            when = parse_time(m.group(1))
            if when is not None:
                return when
    return parse_time(fallback) if fallback else None


def extract(data: bytes, *, url: str | None, declared: str | None, name: str | None = None) -> Page:
    """The main text of an article page (bytes as fetched or read), or :class:`SourceError`."""
    import trafilatura

    html, encoding = decode_html(data, declared)
    shown = name or url or "page"
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            with_metadata=True,
            prune_xpath=["//figcaption", "//figure", "//nav", "//footer", "//aside"],
        )
    except Exception as exc:  # trafilatura on hostile markup: this page fails, not the run
        raise SourceError(f"{shown}: could not extract the article ({type(exc).__name__})") from None
    text = getattr(document, "text", None) if document is not None else None
    headline = _title(html) or (getattr(document, "title", None) if document is not None else None)
    paragraphs = clean_lines((text or "").split("\n"), headline)
    if not paragraphs:
        raise SourceError(f"{shown}: no article text found on the page")
    if (notice := notice_kind(headline, paragraphs)) is not None:  # 系統維護中, answered with 200
        raise SourceError(f"{shown}: {notice}, not an article")
    date = getattr(document, "date", None) if document is not None else None
    return Page(headline, tuple(paragraphs), published_time(html, date), encoding)


def fragment_lines(fragment: str) -> list[str]:
    """The paragraphs of an HTML fragment (a feed item's ``content:encoded``), furniture out."""
    import html as html_module

    text = re.sub(r"(?is)<(script|style|figcaption)[^>]*>.*?</\1>", "", fragment)
    text = re.sub(r"(?i)<br\s*/?>|</?(?:p|div|li|h[1-6]|blockquote|tr|section|article)\b[^>]*>", "\n", text)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", text))
    return clean_lines(text.split("\n"))
