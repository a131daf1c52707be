"""SRT/WebVTT subtitles from the assembly timeline: one cue per sentence.

A long sentence was split into several chunks (sharing ``chunk.sentence``); they are
merged back into one cue, because a cue per chunk would flash half-sentences. Timing
comes from the engine's sentence boundaries where Edge reported them (tighter than the
chunk's trimmed audio) and from the chunk times otherwise. Cues never overlap, stay
inside the audio, and keep a short linger into the following pause so they can be read.

Text is the original text (``chunk.text``), not the spoken form. Chinese is never given
spaces: whitespace between two CJK characters (e.g. from a line break in the source) is
dropped, elsewhere it is collapsed to one space. A long cue is wrapped onto two lines at
the most balanced break that does not split a word: after clause punctuation (，、：；
etc.) first, else at a space between Latin words, else between Chinese and Latin text;
never inside a Latin word or a number, and never between arbitrary Chinese characters
(we have no word segmenter, and a break inside a word reads badly).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bulletin.audio.timeline import Placed
from bulletin.errors import ConfigError, PublishError
from bulletin.text.chars import CLOSERS

#: A line longer than this (in display columns: a Chinese character is 2) is wrapped.
LINE_COLUMNS = 36
#: How long a cue may stay up into the pause after its sentence, in seconds.
LINGER = 0.4

_BREAK_AFTER = frozenset("，、：；,;:）)」』”")


@dataclass(frozen=True)
class Cue:
    """One subtitle: seconds from the start of the audio, and the (unwrapped) text."""

    start: float
    end: float
    text: str


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _columns(text: str) -> int:
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def clean_text(text: str) -> str:
    """Join a cue's text: drop whitespace between two wide (CJK) characters, collapse the rest."""

    def repl(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() > 0 else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if not before or not after or (_is_wide(before) and _is_wide(after)):
            return ""
        return " "

    return re.sub(r"\s+", repl, text).strip()


def _script_edge(prev: str, ch: str) -> bool:
    """A Chinese/Latin-letter edge: safe to break (not a number and its unit, not punctuation)."""
    narrow = ch if _is_wide(prev) else prev
    wide = prev if _is_wide(prev) else ch
    return narrow.isalpha() and unicodedata.category(wide).startswith("L")


def wrap(text: str, columns: int = LINE_COLUMNS) -> list[str]:
    """Split ``text`` onto at most two lines at the most balanced safe break (see module doc)."""
    if _columns(text) <= columns:
        return [text]
    # (priority, index): the break falls before text[index]; a space at index is dropped.
    candidates: list[tuple[int, int]] = []
    for i in range(1, len(text)):
        prev, ch = text[i - 1], text[i]
        if ch in CLOSERS or ch in _BREAK_AFTER:
            continue  # a closing mark or a comma never starts a line: 「好」，
        if prev in _BREAK_AFTER and ch != " " and not (prev in ",:;" and ch.isdigit()):
            candidates.append((0, i))
        elif ch == " " and i + 1 < len(text):
            candidates.append((1, i))
        elif _is_wide(prev) != _is_wide(ch) and _script_edge(prev, ch):
            candidates.append((2, i))
    if not candidates:
        return [text]
    total = _columns(text)

    def cost(c: tuple[int, int]) -> tuple[int, int]:
        left = _columns(text[: c[1]])
        imbalance = abs(total - 2 * left)
        # a clause break is worth some imbalance: prefer it unless it is much worse
        return (imbalance + 8 * c[0], c[0])

    _, at = min(candidates, key=cost)
    first, second = text[:at].rstrip(), text[at:].lstrip()
    return [first, second] if first and second else [text]


def build_cues(timeline: Sequence[Placed], duration: float | None = None) -> list[Cue]:
    """One cue per sentence, in order, non-overlapping, inside ``[0, duration]``."""
    groups: list[list[Placed]] = []
    for placed in timeline:
        c = placed.chunk
        key = (c.story, c.paragraph, c.sentence)
        if (
            groups
            and (groups[-1][0].chunk.story, groups[-1][0].chunk.paragraph, groups[-1][0].chunk.sentence)
            == key
        ):
            groups[-1].append(placed)
        else:
            groups.append([placed])
    last = max((p.end for p in timeline), default=0.0)
    end_of_audio = duration if duration is not None else last + LINGER

    raw: list[Cue] = []
    for group in groups:
        text = clean_text("".join(p.chunk.text for p in group))
        if not text:
            continue
        start, end = group[0].start, group[-1].end
        sentences = [b for p in group for b in p.boundaries if b.kind == "sentence"]
        if sentences:
            # Edge's sentence boundaries are tighter than trimmed audio; never looser.
            start = max(start, sentences[0].offset)
            end = min(end, sentences[-1].offset + sentences[-1].duration)
            if end <= start:
                start, end = group[0].start, group[-1].end
        raw.append(Cue(start, end, text))

    cues: list[Cue] = []
    for i, cue in enumerate(raw):
        nxt = raw[i + 1].start if i + 1 < len(raw) else end_of_audio
        start = max(0.0, cue.start, cues[-1].end if cues else 0.0)
        end = min(max(cue.end, start) + LINGER, nxt, end_of_audio)
        if end - start < 0.001:  # a zero-length sentence (silent chunk): nothing to show
            continue
        cues.append(Cue(start, end, cue.text))
    return cues


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _stamp(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _timed(cues: Sequence[Cue]) -> list[tuple[int, int, list[str]]]:
    """Cues in whole milliseconds, still non-overlapping after rounding."""
    out: list[tuple[int, int, list[str]]] = []
    for cue in cues:
        start = max(_ms(cue.start), out[-1][1] if out else 0)
        end = _ms(cue.end)
        if end <= start:
            continue
        out.append((start, end, wrap(cue.text)))
    return out


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text (``HH:MM:SS,mmm``), numbered from 1, blank line after each cue."""
    blocks = [
        f"{n}\n{_stamp(s, ',')} --> {_stamp(e, ',')}\n" + "\n".join(lines) + "\n"
        for n, (s, e, lines) in enumerate(_timed(cues), 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text (``HH:MM:SS.mmm``); "-->" cannot occur in our text, so no escaping beyond & and <."""
    blocks = ["WEBVTT\n"]
    for s, e, lines in _timed(cues):
        body = "\n".join(ln.replace("&", "&amp;").replace("<", "&lt;") for ln in lines)
        blocks.append(f"{_stamp(s, '.')} --> {_stamp(e, '.')}\n{body}\n")
    return "\n".join(blocks)


def write_subtitles(
    path: str | Path, timeline: Sequence[Placed], *, fmt: str | None = None, duration: float | None = None
) -> list[Cue]:
    """Write SRT or WebVTT to ``path``, UTF-8; returns the cues.

    The format is ``fmt`` ("srt"/"vtt") when given (for writing to a temporary name),
    else the suffix of ``path`` (.srt/.vtt). Anything else is a :class:`ConfigError`,
    raised before anything is written. Pass ``duration`` (``Assembly.duration``) so the
    last cue's linger stops at the end of the audio.
    """
    p = Path(path)
    kind = (fmt if fmt is not None else p.suffix).lower().lstrip(".")
    if kind not in ("srt", "vtt"):
        raise ConfigError(f"subtitles must be .srt or .vtt, not {fmt or p.name!r}")
    cues = build_cues(timeline, duration)
    text = to_srt(cues) if kind == "srt" else to_vtt(cues)
    try:
        p.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise PublishError(f"cannot write subtitles to {p}: {exc}") from exc
    return cues
