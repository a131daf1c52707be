"""Repair hard-wrapped, messy newsroom text into clean paragraphs (stage: repair).

Pasted wire copy is wrapped at a fixed width with no regard for words or numbers:
``李秀赫，2`` / ``4號上午``. Chinese has no spaces between words, so a wrapped line
must be joined with *nothing* between the two halves; only two Latin words get
one space. Paragraphs are separated by blank lines or by an indent of full-width
spaces (the Chinese convention), a tab, or two or more spaces.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter

from bulletin.text.chars import CJK_PUNCT, CLOSERS, HAN, SENTENCE_END

# Full-width digits and Latin letters to ASCII (punctuation stays full-width: it drives pauses).
_HALF_WIDTH = str.maketrans(
    {
        chr(c): chr(c - 0xFEE0)
        for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
    }
)
_FULLWIDTH_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_NEWLINES_RE = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
# C0/C1 controls (but tab and newline) and invisible format characters: never spoken.
_INVISIBLE_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b-\u200f\u2060-\u2064\ufeff]")
_FW_POINT_RE = re.compile(r"(?<=\d)．(?=\d)")
_SPACES_RE = re.compile(r"[ \t\u3000\u00a0]+")
_CJK_SPACE_RE = re.compile(rf"(?<=[{HAN}{CJK_PUNCT}]) (?=[{HAN}{CJK_PUNCT}])")
_INDENT_RE = re.compile(r"^(?:\u3000|\t| {2,})")
_MID_SENTENCE = "，、：,:"
# Editors' and sources' credit lines: metadata, never read out.
_CREDIT_RE = re.compile(
    r"^\s*[（(【\[]?\s*(?:责任编辑|責任編輯|编辑|編輯|校对|校對|审核|審核|审校|審校|来源|來源|原标题|原標題)\s*[:：]"
)
_LINE_END_RE = re.compile(rf"[{re.escape(SENTENCE_END)}][{re.escape(CLOSERS)}]*$")
# A space between two runs of Chinese (2+ characters each) separates headline phrases
# (颱風凱米襲台 全台停班停課): read it as a pause. Between single characters it is noise.
_HEADLINE_SPACE_RE = re.compile(rf"(?<=[{HAN}]{{2}}) (?=[{HAN}]{{2}})")
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"}
)
_TAG_NAMES = (
    "speak|voice|prosody|break|say-as|phoneme|sub|emphasis|audio|lang|mark|mstts:[a-z-]+|s|"
    "p|br|div|span|a|b|i|u|em|strong|font|img|li|ul|ol|h[1-6]|table|tr|td|th|tbody|thead|"
    "html|head|body|title|meta|link|blockquote|center|small|big|sup|hr|section|article|figure|figcaption"
)
_ATTRIBUTE = r"""\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))?"""
_TAG_RE = re.compile(rf"</?\s*({_TAG_NAMES})(?![A-Za-z0-9-])(?:{_ATTRIBUTE}){{0,20}}\s*/?>", re.IGNORECASE)
# End marks and social-media sigils say nothing: （完）, #台股 → 台股, @中央社 → 中央社.
_NOISE_RE = re.compile(r"[（(【\[]\s*完\s*[）)】\]]|[#＃@＠](?=[^\s#＃@＠])")
# A slash between Chinese words (記者王小明／台北報導) is a pause, not a "slash".
_SLASH_RE = re.compile(rf"(?<=[{HAN}])\s?[／/]\s?(?=[{HAN}])")
_URL_RE = re.compile(r"(?<![A-Za-z0-9@])(?:https?://|www\.)[!-~]+")
#: Elements whose content is never text to read: scripts, styles, embedded frames.
_HIDDEN_RE = re.compile(
    r"<\s*(script|style|iframe|noscript|template)\b[^>]*>.*?<\s*/\s*\1\s*>|<\s*(?:script|style|iframe)\b[^>]*/?>",
    re.IGNORECASE | re.DOTALL,
)
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,10}|#[xX][0-9A-Fa-f]{1,8});")

#: A line starting with one of these continues the previous line, even after a blank line.
_CONTINUATION = SENTENCE_END + CLOSERS + "，、：,.:%％"
_LATIN_END = ",.;:!?)'\"%"


def _join_space(a: str, b: str) -> str:
    """What goes between the last character of one line and the first of the next."""
    if not (a.isascii() and b.isascii()):
        return ""  # anything next to Chinese joins directly
    if b.isdigit() and (a.isdigit() or a in ".,"):
        return ""  # a number cut by the wrap: 2\n4 -> 24, 28.\n6 -> 28.6
    if (a.isalnum() or a in _LATIN_END) and (b.isalnum() or b in "(\"'"):
        return " "
    return ""


def _join_lines(lines: list[str]) -> str:
    parts = [lines[0]]
    for prev, line in itertools.pairwise(lines):
        parts.append(_join_space(prev[-1], line[0]))
        parts.append(line)
    return "".join(parts)


def _markup(m: re.Match[str]) -> str:
    """A line break for block-level HTML tags, nothing for the rest (SSML included)."""
    name = m.group(1).lower()
    if name == "br":
        return "\n"
    return "\n\n" if name in _BLOCK_TAGS else ""


def strip_markup(text: str) -> str:
    """Drop HTML/SSML tags and web addresses, decode character references (pasted web copy).

    Only tags with known names go, so that ``a<b`` or 《書名》 stay as written; markup
    must never reach a voice as markup (Edge escapes it and would read it out).
    """
    if "<" in text:
        text = _TAG_RE.sub(_markup, _HIDDEN_RE.sub("", text))
    if "&" in text:  # before the sigils go: &#20013; must not lose its #
        text = _ENTITY_RE.sub(_entity, text)
    if "://" in text or "www." in text:
        text = _URL_RE.sub("", text)  # a web address read aloud is noise, not news
    text = _NOISE_RE.sub("", text)
    return _SLASH_RE.sub("，", text)


def _entity(m: re.Match[str]) -> str:
    """A character reference decoded; one that names no character (&#99999999;) goes."""
    decoded = html.unescape(m.group())
    return "" if decoded == "\ufffd" or (decoded == m.group() and m.group().startswith("&#")) else decoded


def normalize_characters(text: str) -> str:
    """Line endings to ``\\n``; drop invisible and control characters and markup; full-width
    letters and digits to ASCII."""
    text = strip_markup(_NEWLINES_RE.sub("\n", text))
    text = _INVISIBLE_RE.sub("", text)
    # translate only the runs that need it: a whole-text str.translate costs more than the rest
    text = _FULLWIDTH_RE.sub(lambda m: m.group().translate(_HALF_WIDTH), text)
    return _FW_POINT_RE.sub(".", text)


def _single_blanks_are_wraps(lines: list[str]) -> list[str]:
    """Undo double spacing: when *every* line is followed by a blank one (``\\r\\r\\n`` endings,
    or a "double-spaced" paste), one blank line is a line break, two are a paragraph break."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) < 3 or any(b - a == 1 for a, b in itertools.pairwise(filled)):
        return lines
    out: list[str] = []
    blanks = 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        if blanks >= 2 and out:
            out.append("")
        blanks = 0
        out.append(line)
    return out


def wrap_width(lines: list[str]) -> int | None:
    """The width the text was hard-wrapped at, if most of its lines share one (else None).

    Wire copy wrapped every N characters has most lines N long (or N-1, when a punctuation
    mark was kept off the next line); a line clearly shorter ends a paragraph or is a
    headline. Text whose lines vary freely was not wrapped by width: no guess is made.
    """
    lengths = [len(line.strip()) for line in lines if line.strip()]
    if len(lengths) < 4:
        return None
    counts = Counter(lengths)
    width = max(counts, key=lambda n: (counts[n] + counts[n - 1], n))
    near = sum(1 for n in lengths if width - 1 <= n <= width)
    return width if width >= 8 and near >= 0.6 * len(lengths) else None


def _short(line: str, width: int | None) -> bool:
    """Is this line clearly shorter than the wrap width (so the break after it is real)?"""
    if width is None:
        return False
    slack = 12 if line[-1].isascii() and line[-1].isalpha() else 2  # word wrap loses up to a word
    return len(line) < width - slack


def _number_cut(line: str, following: str | None) -> bool:
    """Does the break fall inside a number or a Latin word (2 / 4號, Apple / Watch)?"""
    return bool(following) and line[-1].isascii() and line[-1].isalnum() and following[0].isascii()


def _header_lines(lines: list[str]) -> set[int]:
    """Lines of header blocks: two or more short lines, none ending a sentence or clause,
    set off by a blank line from more text after them (headline + dateline, say)."""
    heads: set[int] = set()
    block: list[int] = []
    last = max((n for n, raw in enumerate(lines) if raw.strip()), default=-1)
    for n, raw in enumerate([*lines, ""]):
        if raw.strip():
            block.append(n)
            continue
        if len(block) >= 2 and n < last and all(_is_header(lines[i].strip()) for i in block):
            heads.update(block)
        block = []
    return heads


def _is_header(line: str) -> bool:
    return len(line) <= 30 and line[-1] not in SENTENCE_END + CLOSERS + _MID_SENTENCE


def _lines_are_paragraphs(filled: list[str], width: int | None) -> bool:
    """Text not wrapped by width whose lines mostly end a sentence: one paragraph per line.

    Then a line without an ending mark is a headline or a dateline, not half a sentence.
    """
    if width is not None or len(filled) < 3:
        return False
    ends = sum(1 for line in filled if _LINE_END_RE.search(line))
    return ends * 2 >= len(filled)


def repair(text: str) -> list[str]:
    """Return the paragraphs of ``text`` with hard wraps joined and whitespace cleaned.

    Lines are joined within a paragraph; paragraphs end at blank lines, at full-width (or
    tab) indents, after a line clearly shorter than the width the text was wrapped at,
    after every line of text laid out one paragraph per line, and after each line of a
    header block (headline, dateline). A blank line after a comma does not end a
    paragraph; editors' credit lines (责任编辑：…) are dropped. Pure function; the result
    has no newlines inside a paragraph and no empty paragraphs.
    """
    text = normalize_characters(text)
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(_join_lines(current))
            current.clear()

    lines = _single_blanks_are_wraps([x for x in text.split("\n") if not _CREDIT_RE.match(x)])
    width = wrap_width(lines)
    # An indent starts a paragraph only where some lines are not indented: text indented
    # throughout (quoted, or wrapped by a mail client) has no paragraph marks in its indent.
    indents_mark_paragraphs = any(line.strip() and not _INDENT_RE.match(line) for line in lines)
    filled = [line.strip() for line in lines if line.strip()]
    indented = indents_mark_paragraphs and any(_INDENT_RE.match(line) for line in lines if line.strip())
    per_line = not indented and _lines_are_paragraphs(filled, width)  # indents, when used, decide
    heads = _header_lines(lines)
    following_of: list[str | None] = [None] * len(lines)  # the next non-blank line, for each line
    upcoming: str | None = None
    for n in range(len(lines) - 1, -1, -1):
        following_of[n] = upcoming
        upcoming = lines[n].strip() or upcoming
    for n, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            if not (current and current[-1][-1] in _MID_SENTENCE):  # "據報導，" + blank: same sentence
                flush()
            continue
        continues = line[0] in _CONTINUATION
        if continues and not current and paragraphs:
            current.append(paragraphs.pop())  # punctuation after a blank line: same paragraph
        elif indents_mark_paragraphs and _INDENT_RE.match(raw) and not continues:
            flush()
        current.append(line)
        following = following_of[n]
        ends_here = (
            (per_line or n in heads) and line[-1] not in _MID_SENTENCE and not _number_cut(line, following)
        )
        if following and following[0] not in _CONTINUATION and (ends_here or _short(line, width)):
            flush()
    flush()
    cleaned = (_HEADLINE_SPACE_RE.sub("，", _SPACES_RE.sub(" ", p)) for p in paragraphs)
    cleaned = (_CJK_SPACE_RE.sub("", p).strip() for p in cleaned)
    return [p for p in cleaned if p]
