"""What the offline voice says, character by character (``bulletin pronounce``).

Each text goes the way a chunk goes to the offline voice: lexicon words replaced,
numbers read out (:func:`bulletin.text.normalize.spoken_spans`), then read by the
offline reader (:class:`bulletin.engines.reading.Reader`, polyphones in
context). The readings are then put back on the characters of the text as written:
a replaced word or number of the same length gets one reading per character (重慶 →
崇慶 gives chong2 on 重); otherwise its first character carries every syllable of it
(``24`` → ``er4 shi2 si4`` on ``2``, ``null`` on ``4``). The lexicon is applied to the
gaps between lexicon words; numbers are read within those gaps, as in a chunk.

It streams: lines are read one at a time (:func:`read_lines`, never the whole input),
read out in batches of at most :data:`BATCH_LINES` lines and :data:`BATCH_CHARS`
characters, and each batch is printed before the next is read, so time grows with the
input and memory does not. A line longer than :data:`MAX_LINE_CHARS` is refused with one
line (the polyphone network reads a line as one sequence: a 400,000-character line took
27 s and 1.3 GB).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from bulletin.engines import Reader, Reading
from bulletin.errors import InputError
from bulletin.text.chars import has_han
from bulletin.text.lexicon import Lexicon, say
from bulletin.text.normalize import detect_script, spoken_spans


@dataclass(frozen=True)
class Said:
    """One input character and the syllables said for it (None: nothing, or said with its word)."""

    char: str
    pinyin: str | None


def _pieces(text: str, lexicon: Lexicon | None, script: str) -> list[tuple[int, int, str]]:
    """``(start, end, spoken)`` for every part of ``text`` that is not said as written."""
    pieces: list[tuple[int, int, str]] = []
    at = 0
    for start, end, entry in lexicon.matches(text) if lexicon else []:
        pieces += [(at + s, at + e, spoken) for s, e, spoken in spoken_spans(text[at:start], script)]  # type: ignore[arg-type]
        pieces.append((start, end, say(text[start:end], entry, script)))
        at = end
    pieces += [(at + s, at + e, spoken) for s, e, spoken in spoken_spans(text[at:], script)]  # type: ignore[arg-type]
    return pieces


def pronounce_lines(
    texts: list[str], reader: Reader, *, lexicon: Lexicon | None, sandhi: bool
) -> list[list[Said]]:
    """One :class:`Said` per character of each text."""
    prepared = [_spoken(text, lexicon) for text in texts]
    readings = reader.read_many([spoken for spoken, _ in prepared], sandhi=sandhi)
    return [
        _said(text, owners, found) for text, (_, owners), found in zip(texts, prepared, readings, strict=True)
    ]


def _spoken(text: str, lexicon: Lexicon | None) -> tuple[str, list[tuple[int, int, int, int]]]:
    """The spoken form of ``text``, and which parts of it stand for which written parts."""
    script = detect_script(text) if has_han(text) else "hans"
    spoken_parts: list[str] = []
    owners: list[tuple[int, int, int, int]] = []  # (text start, text end, spoken start, spoken end)
    at = length = 0
    for start, end, spoken in _pieces(text, lexicon, script):
        spoken_parts.append(text[at:start])
        length += start - at
        spoken_parts.append(spoken)
        owners.append((start, end, length, length + len(spoken)))
        length += len(spoken)
        at = end
    spoken_parts.append(text[at:])
    return "".join(spoken_parts), owners


def _said(text: str, owners: list[tuple[int, int, int, int]], readings: list[Reading]) -> list[Said]:
    result: list[Said] = []
    position = 0  # in the spoken text
    i = 0
    owner = iter(owners)
    current = next(owner, None)
    while i < len(text):
        if current is not None and i == current[0]:
            start, end, s_start, s_end = current
            said = readings[s_start:s_end]
            if end - start == s_end - s_start:
                result += [Said(text[start + k], _syllables([r])) for k, r in enumerate(said)]
            else:
                result.append(Said(text[start], _syllables(said)))
                result += [Said(ch, None) for ch in text[start + 1 : end]]
            i, position = end, s_end
            current = next(owner, None)
            continue
        result.append(Said(text[i], _syllables([readings[position]])))
        i += 1
        position += 1
    return result


def _syllables(readings: Iterable[object]) -> str | None:
    found = [s for r in readings for s in r.syllables]  # type: ignore[attr-defined]
    return " ".join(found) if found else None


#: The longest line read out (about five pages of a newspaper); a longer one is refused.
MAX_LINE_CHARS = 10_000
#: Lines and characters read out together, at most (the polyphone network runs them at once).
BATCH_LINES = 256
BATCH_CHARS = 32_768


def read_lines(stream: BinaryIO, name: str = "-") -> Iterator[str]:
    """The lines of a UTF-8 ``stream`` (line ends dropped), one at a time, each read with a
    bounded read: a line over :data:`MAX_LINE_CHARS` is an :class:`InputError` before it is
    read whole, as is a line that is not UTF-8."""
    limit = 4 * MAX_LINE_CHARS + 2  # UTF-8: at most 4 bytes a character, and \r\n
    for number, raw in enumerate(iter(lambda: stream.readline(limit), b""), 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            if len(raw) >= limit:
                raise _too_long(name, number) from None
            raise InputError(f"{name}: line {number} is not UTF-8 text") from None
        if len(line) > MAX_LINE_CHARS or (len(raw) >= limit and not raw.endswith(b"\n")):
            raise _too_long(name, number)
        yield line


def _too_long(name: str, number: int) -> InputError:
    return InputError(
        f"{name}: line {number} is over {MAX_LINE_CHARS:,} characters; break it into shorter lines"
    )


def pronounce(
    lines: Iterable[str],
    *,
    lexicon: Lexicon | None = None,
    sandhi: bool = False,
    batch: int = BATCH_LINES,
    chars: int = BATCH_CHARS,
) -> Iterator[list[Said]]:
    """Each line's characters with their readings, in order, in batches of at most
    ``batch`` lines and ``chars`` characters (a line alone may be longer).

    Lines are read in batches so that the polyphone network runs them together (a
    10,000-line file takes seconds, not minutes); memory holds one batch. A line over
    :data:`MAX_LINE_CHARS` is an :class:`InputError` (what came before it is out already).
    """
    reader = Reader()
    pending: list[str] = []
    size = 0
    try:
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_LINE_CHARS:
                raise _too_long("text", number)
            if pending and (len(pending) >= batch or size + len(line) > chars):
                yield from pronounce_lines(pending, reader, lexicon=lexicon, sandhi=sandhi)
                pending, size = [], 0
            pending.append(line)
            size += len(line)
    except InputError:  # the lines before the bad one are said first
        yield from pronounce_lines(pending, reader, lexicon=lexicon, sandhi=sandhi)
        raise
    if pending:
        yield from pronounce_lines(pending, reader, lexicon=lexicon, sandhi=sandhi)
