"""What the offline voice says, character by character (``bulletin pronounce``).

Each text goes the way a chunk goes to the offline voice: lexicon words replaced,
numbers read out (:func:`bulletin.text.normalize.spoken_spans`), then read by the
offline reader (:class:`bulletin.engines.reading.Reader`, polyphones in
context). The readings are then put back on the characters of the text as written:
a replaced word or number of the same length gets one reading per character (重慶 →
崇慶 gives chong2 on 重); otherwise its first character carries every syllable of it
(``24`` → ``er4 shi2 si4`` on ``2``, ``null`` on ``4``). The lexicon is applied to the
gaps between lexicon words; numbers are read within those gaps, as in a chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bulletin.engines import Reader, Reading
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


def pronounce(
    lines: Iterable[str], *, lexicon: Lexicon | None = None, sandhi: bool = False, batch: int = 256
) -> Iterator[list[Said]]:
    """Each line's characters with their readings, in order, ``batch`` lines at a time.

    Lines are read in batches so that the polyphone network runs them together (a
    10,000-line file takes seconds, not minutes); memory holds one batch.
    """
    reader = Reader()
    pending: list[str] = []
    for line in lines:
        pending.append(line)
        if len(pending) >= batch:
            yield from pronounce_lines(pending, reader, lexicon=lexicon, sandhi=sandhi)
            pending = []
    if pending:
        yield from pronounce_lines(pending, reader, lexicon=lexicon, sandhi=sandhi)
