"""Tell GB18030/GBK from Big5 in undeclared input that is not UTF-8 (used by stage: read).

The two families overlap almost completely: most GBK byte strings are also valid Big5 and the
other way round, so "which codec decodes without error" decides nothing, and a statistical
detector fed one or two sentences has too little to go on (charset-normalizer took short
GBK news with curly quotes, ℃ or € for Big5 and the bulletin read mojibake aloud, or refused
it). What does differ is what each decoding *looks like*: the right one is made of the few
thousand characters that make up almost all written Chinese plus ordinary news punctuation;
the wrong one is made of rarer characters, Bopomofo, box drawing, geometric shapes and
private-use code points (Big5 punctuation read as GB18030 lands in the private-use area;
GBK's full-width digits and commas read as Big5 become Bopomofo). So every candidate decoding
of a bounded sample is scored by the share of such evidence, in either script (a Traditional
article written in GB18030 must still look right), and the best one wins. A file none of whose
decodings looks like Chinese is refused rather than guessed.

Pure: bytes in, a codec name out; only the first :data:`SAMPLE_BYTES` are scored, so a 16 MiB
file costs the same as a short one (the winner then decodes the whole file, strictly).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from bulletin.text.common_chars import COMMON, VERY_COMMON

#: Candidate codecs, in the order ties are broken: GB18030 (a superset of GBK and GB2312)
#: first, then Big5 as Python defines it, then Microsoft's code page 950 (adds €, and reads a
#: few marks differently), then Hong Kong's extension.
CANDIDATES = ("gb18030", "big5", "cp950", "big5hkscs")

#: How much of the input is scored (decoding the winner still covers the whole file).
SAMPLE_BYTES = 16 * 1024

#: The best score below which no candidate is taken for Chinese. On the test corpus right
#: readings score 0.79 (a headline of rare names) to 1, wrong ones -4 to 0.27; Shift-JIS read
#: as GB18030 scores about -0.2, EUC-KR about 0.5.
MIN_SCORE = 0.6

#: Marks and symbols that ordinary news text uses (full-width letters and digits are added
#: below): each counts as evidence, like a common character.
NEWS_MARKS = frozenset("，。、；：？！“”‘’「」『』《》〈〉（）【】〔〕—―–…·‧％℃€￥°　－．／～＋＝×÷±≤≥")

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_VERY_COMMON = frozenset(VERY_COMMON)
_COMMON = frozenset(COMMON)

#: Weights: what each kind of non-ASCII character says about a decoding (ASCII is the same
#: in every candidate, so it says nothing and is skipped).
W_VERY_COMMON = 1.0
W_COMMON = 0.8
W_MARK = 1.0
W_RARE_HAN = -0.3  # a real but uncommon ideograph: names and places have some, mojibake many
W_ODD = -1.0  # Bopomofo, kana, radicals, Extension A, box drawing, shapes, vertical forms, …
W_BROKEN = -4.0  # private use, unassigned, control characters: never in a real article


@dataclass(frozen=True)
class Guess:
    """One candidate decoding and how Chinese its sample looks."""

    encoding: str
    score: float  # mean weight per non-ASCII character, from -4 to 1


def _weight(ch: str) -> float:
    if ch in _VERY_COMMON:
        return W_VERY_COMMON
    if ch in _COMMON:
        return W_COMMON
    if ch in NEWS_MARKS:
        return W_MARK
    code = ord(ch)
    if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
        return W_MARK  # full-width digits and letters
    if 0x4E00 <= code <= 0x9FFF:
        return W_RARE_HAN
    category = unicodedata.category(ch)
    if category in ("Co", "Cn", "Cc", "Cs"):
        return W_BROKEN
    if ch.isspace():
        return 0.0
    return W_ODD


def score(text: str) -> float:
    """How much ``text`` looks like Chinese news: the mean weight of its non-ASCII characters.

    1 means every one is a common character (either script) or an ordinary mark; mojibake
    scores low because the wrong family's decoding is made of rare characters and symbols.
    Text with no non-ASCII character at all scores 0 (nothing to go on).
    """
    total = 0.0
    count = 0
    for ch in text:
        if ch < "\x80":
            continue
        count += 1
        total += _weight(ch)
    return total / count if count else 0.0


def _sample(data: bytes, encoding: str) -> str | None:
    """Strictly decode the sample (a character cut at its end is dropped), or None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(data[:SAMPLE_BYTES], final=len(data) <= SAMPLE_BYTES)
    except UnicodeDecodeError:
        return None


def _first_non_ascii(data: bytes) -> int:
    """Where the evidence starts: ASCII reads the same in every candidate, so a long English
    or markup head must not fill the sample. The first byte over 0x7f is always a lead byte
    (a trail byte follows one), so decoding can start there."""
    match = _NON_ASCII.search(data)
    return match.start() if match else 0


def rank(data: bytes) -> list[Guess]:
    """Every candidate whose sample decodes strictly, best first (ties keep :data:`CANDIDATES` order)."""
    data = data[_first_non_ascii(data) :]
    guesses = []
    for encoding in CANDIDATES:
        text = _sample(data, encoding)
        if text is not None:
            guesses.append(Guess(encoding, score(text)))
    return sorted(guesses, key=lambda g: -g.score)


def detect(data: bytes) -> tuple[str, str] | None:
    """Decode undeclared, non-UTF-8 ``data`` as the CJK codec whose reading looks most Chinese.

    Returns ``(text, encoding)``, or None when no candidate decodes the whole input strictly
    with a score of at least :data:`MIN_SCORE` (the caller refuses it).
    """
    for guess in rank(data):
        if guess.score < MIN_SCORE:
            break
        try:
            return data.decode(guess.encoding), guess.encoding
        except UnicodeDecodeError:  # past the sample: try the next best
            continue
    return None


#: Text whose non-ASCII characters score under this (:func:`score`) does not read as Chinese:
#: articles in the test sets and the real pages score 0.9 or more, a wrong decoding under 0.3.
GARBLED_SCORE = 0.5
#: How many characters, from the first non-ASCII one, :func:`reads_as_chinese` scores.
CHECK_CHARS = 20_000


def reads_as_chinese(text: str) -> bool:
    """Do the text's non-ASCII characters read as Chinese (or is there none to judge)?"""
    start = next((n for n, ch in enumerate(text) if ch >= "\x80"), None)
    if start is None:
        return True
    return score(text[start : start + CHECK_CHARS]) >= GARBLED_SCORE


def garbled(text: str) -> str | None:
    """Why ``text`` must not be spoken, if it must not: replacement characters (bytes that
    were not decoded), or characters that are not what Chinese news is written in (a wrong
    decoding). None when it reads as Chinese."""
    bad = text.count("\ufffd")
    if bad:
        return f"garbled text ({bad} undecodable character{'s' if bad > 1 else ''})"
    if not reads_as_chinese(text):
        return "garbled text (it does not read as Chinese: a wrong encoding?)"
    return None
