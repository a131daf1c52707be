"""An article page's main text, without the site around it (HTML in, headline and paragraphs out).

Built on trafilatura, which beat readability-lxml on Chinese news pages wrapped in real
sites' furniture (``bench/extract_bench.py``, results in ``bench/README.md``): both find
every body paragraph, but readability keeps share bars, photo captions and inline ads
that trafilatura drops. Before trafilatura sees the page, the furniture its markup names
is pruned (:mod:`bulletin.sources.markup`); what trafilatura still lets through is taken
out here, line by line, by the classes of :data:`bulletin.text.furniture.KINDS` (promos,
captions and credits, comment furniture, link lists, copyright, share rows, ads, notices,
source notes: whole lines, and what is glued to a paragraph's end), the headline repeated
above the body, and other short lines that hold no sentence. Datelines, bylines and wire
codes are left to :mod:`bulletin.text.structure`, which treats plain-text articles the
same way.

Encodings (:func:`decode_html`): a byte-order mark decides; otherwise the HTTP header's
charset, then ``<meta charset>`` (or ``http-equiv``), then UTF-8 are tried strictly, and
the first whose text reads as Chinese is taken (a page declared Big5 that is GBK decodes
"strictly" into rare characters); then :func:`bulletin.text.detect.detect`. GB2312 and
GBK are read as GB18030 (their superset: pages declared GB2312 routinely use GBK
characters) and Big5 as Big5-HKSCS for the same reason. A page no codec reads whole (a
Big5 page with one UTF-8 link title) is decoded by segment; what is still undecodable
becomes U+FFFD, and an article holding any is never spoken
(:func:`bulletin.text.detect.garbled`).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

from bulletin.errors import SourceError
from bulletin.sources.markup import prune
from bulletin.sources.notices import notice_kind
from bulletin.sources.zones import OFFSET_STAMP, Choice, SourceZone, offset_of
from bulletin.text.chars import CLOSERS, SENTENCE_END
from bulletin.text.detect import detect, rank, reads_as_chinese, score
from bulletin.text.furniture import line_kind, strip_tails

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

#: How much of a decoded page is scored when choosing between readings.
_SAMPLE_CHARS = 20_000
_HASHTAGS = re.compile(r"^[#＃]")
#: A clause that introduces what follows (a comma in it, a colon at its end) is the story's.
_INTRODUCES = re.compile(r"[，,][^，,]{2,}[：:]\s*[」”]?$")
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
#: Where a page says its language: ``<html lang>``, ``content-language``, ``og:locale``.
_LANGUAGE = (
    re.compile(r"""<html\b[^>]{0,300}?\blang\s*=\s*["']?([A-Za-z_-]{2,20})""", re.IGNORECASE),
    re.compile(
        r"""<meta\s[^>]{0,100}?(?:http-equiv|name)\s*=\s*["']?(?:content-language|language)["']?[^>]{0,50}?"""
        r"""content\s*=\s*["']([A-Za-z_,-]{2,20})""",
        re.IGNORECASE,
    ),
    re.compile(
        r"""<meta\s[^>]{0,100}?property\s*=\s*["']og:locale["'][^>]{0,50}?content\s*=\s*["']([A-Za-z_-]{2,20})""",
        re.IGNORECASE,
    ),
)
_TIME_TAG = re.compile(r"""<time\s[^>]{0,200}?datetime\s*=\s*["']([^"']{8,40})["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """What an article page holds for a bulletin."""

    headline: str | None
    paragraphs: tuple[str, ...]
    published: datetime | None
    encoding: str
    #: What the user should know: a publication time read in the machine's zone.
    notes: tuple[str, ...] = ()

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
    """Decode a page or feed, weighing what the HTTP header and ``<meta>`` declare against the bytes.

    A byte-order mark decides. Otherwise the declared charsets (the header's, then
    ``<meta>``'s), then UTF-8, are tried strictly, and the first whose text reads as Chinese
    (:func:`bulletin.text.detect.reads_as_chinese`: a page that says Big5 but is GBK decodes
    "strictly" into rare characters) is taken; then detection among the Chinese codecs.
    A page no codec decodes whole (a Big5 page with one UTF-8 link title) is decoded by
    segment: the declared or detected codec, and runs of UTF-8 where it fails; bytes
    neither reads become U+FFFD, which keeps what they reach from being spoken (the text
    stage leaves such an article out, with a warning). The encoding named for a page read
    by segment is ``big5hkscs+utf-8``.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    meta = _META_CHARSET.search(data[:4096])
    named = [_codec(declared), _codec(meta.group(1).decode("ascii")) if meta else None]
    candidates = list(dict.fromkeys(c for c in (*named, "utf-8") if c))
    strict: tuple[str, str] | None = None
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if reads_as_chinese(text):
            return text, codec
        strict = strict or (text, codec)
    found = detect(data)
    if found is not None:
        return found
    if strict is not None:  # decodes, but is not Chinese: another language, or too little text
        return strict
    return _by_segment(data, [c for c in named if c] + [g.encoding for g in rank(data)])


#: Two or more three-byte UTF-8 characters in a row (Chinese characters and full-width marks):
#: what a UTF-8 fragment in a Big5 or GBK page looks like.
_UTF8_RUN = re.compile(rb"(?:[\xe2-\xef][\x80-\xbf]{2}){2,}")


def decode_segments(data: bytes, codec: str) -> tuple[str, int, int]:
    """``data`` in ``codec``, with the runs of UTF-8 Chinese that ``codec`` cannot read (or reads
    as less Chinese than UTF-8 does) decoded as UTF-8: the text, how many UTF-8 runs were
    read, and how many characters neither reads (each a U+FFFD)."""
    out: list[str] = []
    pos = runs = 0
    for m in _UTF8_RUN.finditer(data):
        piece = m.group()
        try:
            theirs = piece.decode(codec)
        except UnicodeDecodeError:
            theirs = None
        ours = piece.decode("utf-8")
        if theirs is not None and score(theirs) >= score(ours):
            continue  # the page's own codec reads it as well: not a fragment
        out.append(data[pos : m.start()].decode(codec, errors="replace"))
        out.append(ours)
        runs, pos = runs + 1, m.end()
    out.append(data[pos:].decode(codec, errors="replace"))
    text = "".join(out)
    return text, runs, text.count("\ufffd")


def _by_segment(data: bytes, codecs_: list[str]) -> tuple[str, str]:
    best: tuple[int, float, str, str] | None = None
    for codec in dict.fromkeys(codecs_ or ["utf-8"]):
        try:
            text, runs, bad = decode_segments(data, codec)
        except LookupError:
            continue
        name = f"{codec}+utf-8" if runs else codec
        if not bad and reads_as_chinese(text):
            return text, name
        key = (bad, -score(text[:_SAMPLE_CHARS]), text, name)
        if best is None or key[:2] < best[:2]:
            best = key
    if best is None:
        return data.decode("utf-8", errors="replace"), "utf-8"
    return best[2], best[3]


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(CLOSERS + " ")
    return bool(stripped) and stripped[-1] in SENTENCE_END


def _squash(text: str) -> str:
    return re.sub(r"[\s，,、：:｜|／/·・\-—_]", "", text)


def is_furniture(line: str, headline: str | None = None) -> bool:
    """Is this extracted line site furniture rather than the article's text?

    The classes of :data:`bulletin.text.furniture.KINDS`, the headline repeated, hashtags,
    and a short line that holds no sentence (a title, a date, a name, a link).
    """
    if headline and _squash(line) == _squash(headline):
        return True
    if _HASHTAGS.match(line) or line_kind(line) is not None:
        return True
    if _INTRODUCES.search(line):  # 除此之外，他還提出三點： (the story goes on after it)
        return False
    return len(line) < _SHORT and not _ends_sentence(line) and not any(m in line for m in "。！？")


def clean_lines(lines: list[str], headline: str | None = None) -> list[str]:
    """The lines that are the article: furniture glued to their ends taken off, furniture
    lines left out (see :func:`is_furniture`)."""
    kept = []
    for line in lines:
        line = line.strip()
        if not line or is_furniture(line, headline):  # a caption is one whole, credit and all
            continue
        line, _ = strip_tails(line)
        if line and not is_furniture(line, headline):
            kept.append(line)
    return kept


_TITLE_PARTS = re.compile(r"\s[|｜_–—-]\s|｜|_")


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
            # "headline | section | site" (in <title>, and in many sites' og:title): the
            # headline, the longest part ("專訪｜…" keeps what follows the label)
            parts = [p.strip() for p in _TITLE_PARTS.split(text)]
            text = max(parts, key=len) if parts else text
            if text:
                return text
    return None


def parse_time(value: str, zone: tzinfo | None = None) -> datetime | None:
    """An ISO-like timestamp (``2026-11-26T09:12:00+08:00``, ``2026-11-26 10:30:00``, ``…Z``).

    No offset: in ``zone`` (the source's: :mod:`bulletin.sources.zones`), else the machine's
    local time. A date alone: the end of that day (so ``--since`` skips only what surely
    came before it).
    """
    when = naive_time(value)
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=zone) if zone is not None else when.astimezone()


def naive_time(value: str) -> datetime | None:
    """:func:`parse_time` without choosing a zone: naive when ``value`` gives no offset."""
    value = value.strip().replace("Z", "+00:00").replace("/", "-")
    m = re.match(
        r"^(\d{4}-\d{1,2}-\d{1,2})(?:[T\s](\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*([+-]\d{2}:?\d{2})?)?", value
    )
    if not m:
        return None
    day, clock, zone = m.groups()
    try:
        y, mo, d = (int(x) for x in day.split("-"))
        if clock is None:
            when = datetime.combine(datetime(y, mo, d), time(23, 59, 59))
        else:
            parts = [int(x) for x in clock.split(":")]
            when = datetime(y, mo, d, parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
            if zone:
                zone = zone.replace(":", "")
                sign = 1 if zone[0] == "+" else -1
                offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
                when = when.replace(tzinfo=timezone(sign * offset))
        # a time the clock can hold in every zone (the source's is chosen later), or none
        if when.tzinfo is not None:
            when.astimezone(timezone.utc)
        else:
            _ = (when - timedelta(days=1), when + timedelta(days=1))
    except (ValueError, OverflowError):  # 0001-01-01 in a zone east of UTC, month 13, +25:00
        return None
    return when


def published_time(html: str, fallback: str | None = None) -> datetime | None:
    """The page's publication time from its meta tags, JSON-LD or ``<time>``, else ``fallback``;
    naive when the page gives it without an offset (see :func:`page_zone`)."""
    head = html[:200_000]
    for pattern in (_META_DATE, _META_DATE_FIRST, _LD_DATE, _TIME_TAG):
        m = pattern.search(head)
        if m:
            when = naive_time(m.group(1))
            if when is not None:
                return when
    return naive_time(fallback) if fallback else None


def page_zone(html: str, url: str | None, zone: SourceZone) -> Choice:
    """The zone of a page's times without an offset: its other times' offsets, its language
    (``<html lang>``, ``content-language``, ``og:locale``) or host, else what the run says."""
    head = html[:200_000]
    offsets = [o for m in OFFSET_STAMP.finditer(head) if (o := offset_of(m.group(1))) is not None]
    language = next((m.group(1) for p in _LANGUAGE if (m := p.search(head))), None)
    return zone.pick(offsets=offsets, language=language, url=url)


def extract(
    data: bytes,
    *,
    url: str | None,
    declared: str | None,
    name: str | None = None,
    zone: SourceZone | None = None,
) -> Page:
    """The main text of an article page (bytes as fetched or read), or :class:`SourceError`.

    ``zone``: what is known of the source's time zone, for a publication time given
    without an offset (:mod:`bulletin.sources.zones`).
    """
    import trafilatura

    html, encoding = decode_html(data, declared)
    shown = name or url or "page"
    try:
        tree = trafilatura.load_html(html)
        if tree is not None:
            prune(tree)
        document = trafilatura.bare_extraction(
            tree if tree is not None else html,
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
    published = published_time(html, date)
    notes: tuple[str, ...] = ()
    if published is not None and published.tzinfo is None:
        choice = page_zone(html, url, zone or SourceZone())
        published = published.replace(tzinfo=choice.zone)
        notes = tuple(w for w in [choice.warning(shown)] if w)
    return Page(headline, tuple(paragraphs), published, encoding, notes)


def fragment_lines(fragment: str) -> list[str]:
    """The paragraphs of an HTML fragment (a feed item's ``content:encoded``), furniture out."""
    import html as html_module

    text = re.sub(r"(?is)<(script|style|figcaption)[^>]*>.*?</\1>", "", fragment)
    text = re.sub(r"(?i)<br\s*/?>|</?(?:p|div|li|h[1-6]|blockquote|tr|section|article)\b[^>]*>", "\n", text)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", text))
    return clean_lines(text.split("\n"))
