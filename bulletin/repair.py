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

from bulletin.textutil import CJK_PUNCT, CLOSERS, HAN, SENTENCE_END

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
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

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
    """Drop HTML/SSML tags and decode character references (web copy pasted as source).

    Only tags with known names go, so that ``a<b`` or 《書名》 stay as written; markup
    must never reach a voice as markup (Edge escapes it and would read it out).
    """
    if "<" in text:
        text = _TAG_RE.sub(_markup, text)
    if "&" in text:
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), text)
    return text


def normalize_characters(text: str) -> str:
    """Line endings to ``\\n``; drop invisible and control characters and markup; full-width
    letters and digits to ASCII."""
    text = strip_markup(_NEWLINES_RE.sub("\n", text))
    text = _INVISIBLE_RE.sub("", text)
    # translate only the runs that need it: a whole-text str.translate costs more than the rest
    text = _FULLWIDTH_RE.sub(lambda m: m.group().translate(_HALF_WIDTH), text)
    return _FW_POINT_RE.sub(".", text)


def repair(text: str) -> list[str]:
    """Return the paragraphs of ``text`` with hard wraps joined and whitespace cleaned.

    Pure function; the result has no newlines inside a paragraph and no empty paragraphs.
    """
    text = normalize_characters(text)
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(_join_lines(current))
            current.clear()

    lines = text.split("\n")
    # An indent starts a paragraph only where some lines are not indented: text indented
    # throughout (quoted, or wrapped by a mail client) has no paragraph marks in its indent.
    indents_mark_paragraphs = any(line.strip() and not _INDENT_RE.match(line) for line in lines)
    for raw in lines:
        line = raw.strip()
        if not line:
            flush()
            continue
        continues = line[0] in _CONTINUATION
        if continues and not current and paragraphs:
            current.append(paragraphs.pop())  # punctuation after a blank line: same paragraph
        elif indents_mark_paragraphs and _INDENT_RE.match(raw) and not continues:
            flush()
        current.append(line)
    flush()
    cleaned = (_CJK_SPACE_RE.sub("", _SPACES_RE.sub(" ", p)).strip() for p in paragraphs)
    return [p for p in cleaned if p]
