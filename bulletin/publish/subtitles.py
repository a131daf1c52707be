"""SRT/WebVTT subtitles that fit the screen, timed by the speech itself.

Chinese subtitle practice is at most two lines of about 16 characters and at most about
7 seconds a cue; a sentence of news text is often 40-90 characters, so a sentence is cut
into several cues (:class:`Layout` holds the limits; ``--subtitle-chars`` and
``--subtitle-lines`` change them). Cues never span two sentences.

**Where to cut.** A sentence is cut into words (:func:`bulletin.text.words.words`: a
segmenter for Chinese, numbers and Latin words whole), punctuation staying with its word
(a comma with the word before it, an opening quote with the word after). Cues and lines
break only between words. Every cue and every break has a cost (a break after clause
punctuation ，、：； none, at a space some, between two words more, before a particle
such as 的 or 了 more still) and the cheapest cutting that fits wins: so a cue ends at a
clause where it can, and holds two clauses rather than leave a short one alone. The lines
of each cue are then made as even as those costs allow. Only a single "word" longer than a
line (a long number or URL) is ever cut inside, and only there. A sentence is cut in one
pass over its words (dynamic programming, a cue at most ``chars x lines`` long): ~1.5 s
for the subtitles of a 70-minute bulletin.

**When.** Each character gets the time it is heard, from the engine's ``"word"``
boundaries (Edge's word boundaries; the offline model's predicted durations): a word's
time is spread over its characters, punctuation takes none. The boundaries are words of
the *spoken* text (25 is sent as 二十五), while subtitles show the original text, so
spoken and original are aligned character by character (``difflib``; a rewritten span
shares its time among the original characters it came from). A chunk without word
boundaries (an engine that reports none) spreads its
speech (tightened to Edge's sentence boundaries if it has those) over its characters. A
cue runs from its first character's start to its last's end, plus a short linger into the
pause after it; cues stay in order, never overlap, stay inside the audio and never last
longer than the limit.

Text is the original text (``chunk.text``), not the spoken form. Chinese is never given
spaces: whitespace between two CJK characters (e.g. from a line break in the source) is
dropped, elsewhere it is collapsed to one space.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bulletin.errors import ConfigError, PublishError
from bulletin.text.chars import CLAUSE_END, CLOSERS, SENTENCE_END, is_speakable

if TYPE_CHECKING:  # the options read the limits from here: importing us stays light
    from bulletin.audio.timeline import Placed

#: Characters a line may hold (``--subtitle-chars``): Chinese subtitle practice.
LINE_CHARS = 16
#: Lines a cue may have (``--subtitle-lines``).
CUE_LINES = 2
#: Longest a cue stays on screen, in seconds.
CUE_SECONDS = 7.0
#: The limits a user may set: a line must hold a few words; more than four lines hide the picture.
CHARS_RANGE = (4, 80)
LINES_RANGE = (1, 4)
#: How long a cue may stay up into the pause after its words, in seconds.
LINGER = 0.4
#: How far past the last word a word boundary's text is looked for in the spoken text.
SEARCH = 16

# Costs of a break (cue or line) after a word; a cue costs CUE (a short one a little more),
# a line after a cue's first LINE. A clause break is free, a break before a particle dear.
CLAUSE, SPACE, WORD, PARTICLE, FORCED = 0.0, 20.0, 40.0, 70.0, 1000.0
CUE, LINE = 10.0, 5.0
_PARTICLES = frozenset("的了著着們们嗎吗呢吧啊")
_BREAK_AFTER = frozenset(CLAUSE_END + SENTENCE_END + "；")
_OPENERS = frozenset("「『“‘（([［【〈《")

Time = tuple[float, float]


@dataclass(frozen=True)
class Layout:
    """How much a cue may hold: ``lines`` lines of ``chars`` characters, for ``seconds``."""

    chars: int = LINE_CHARS
    lines: int = CUE_LINES
    seconds: float = CUE_SECONDS

    def check(self) -> None:
        """Refuse limits no subtitle can meet (a :class:`ConfigError`, before any work)."""
        if not CHARS_RANGE[0] <= self.chars <= CHARS_RANGE[1]:
            raise ConfigError(
                f"--subtitle-chars {self.chars}: give {CHARS_RANGE[0]} to {CHARS_RANGE[1]} characters a line"
            )
        if not LINES_RANGE[0] <= self.lines <= LINES_RANGE[1]:
            raise ConfigError(
                f"--subtitle-lines {self.lines}: give {LINES_RANGE[0]} to {LINES_RANGE[1]} lines"
            )
        if not (math.isfinite(self.seconds) and self.seconds >= 1.0):
            raise ConfigError(f"subtitle cues must be allowed at least 1 s, not {self.seconds}")


@dataclass(frozen=True)
class Cue:
    """One subtitle: seconds from the start of the audio, its text, and that text in lines."""

    start: float
    end: float
    text: str
    lines: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- timing


def _weight(ch: str) -> int:
    return 1 if is_speakable(ch) else 0


def _spread(times: list[Time | None], text: str, lo: int, hi: int, t0: float, t1: float) -> None:
    """Share ``[t0, t1]`` among ``text[lo:hi]`` by speakable characters; the rest take no time."""
    t1 = max(t1, t0)
    total = sum(_weight(c) for c in text[lo:hi])
    done = 0
    for i in range(lo, hi):
        w = _weight(text[i]) if total else 0
        start = t0 + (t1 - t0) * done / total if total else t0
        done += w
        end = t0 + (t1 - t0) * done / total if total else t0
        times[i] = (start, end)


def _filled(times: list[Time | None], text: str, start: float, end: float) -> list[Time]:
    """Give characters no boundary covered the time between their neighbours."""
    i = 0
    while i < len(times):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(times) and times[j] is None:
            j += 1
        before = times[i - 1][1] if i else start  # type: ignore[index]
        after = times[j][0] if j < len(times) else end  # type: ignore[index]
        _spread(times, text, i, j, before, max(before, after))
        i = j
    return [t for t in times if t is not None]


def _in_order(times: list[Time]) -> list[Time]:
    """Times that never go back (a service may report a word starting before the last ended)."""
    out: list[Time] = []
    latest = -math.inf
    for start, end in times:
        start = max(start, latest)
        latest = max(start, end)
        out.append((start, latest))
    return out


def spoken_times(placed: Placed) -> list[Time]:
    """When each character of the chunk's *spoken* text is heard, in seconds of the file.

    Word boundaries are found in the spoken text in order, each searched from where the
    last one ended, at most :data:`SEARCH` characters further on (a word the service
    reports differently is skipped, and cannot make a common character such as 的 match
    far ahead); the characters in between share the time between the words they lie between.
    """
    spoken = placed.chunk.spoken
    times: list[Time | None] = [None] * len(spoken)
    cursor = 0
    for b in placed.boundaries:
        word = b.text.strip()
        if b.kind != "word" or not word:
            continue
        at = spoken.find(word, cursor, cursor + SEARCH + len(word))
        if at < 0:
            continue
        _spread(times, spoken, at, at + len(word), b.offset, b.offset + b.duration)
        cursor = at + len(word)
    start, end = placed.start, max(placed.end, placed.start)
    if cursor == 0:  # no word boundaries: the chunk's speech, tightened by Edge's sentences
        sentences = [b for b in placed.boundaries if b.kind == "sentence"]
        if sentences:
            tight = max(start, sentences[0].offset), min(end, sentences[-1].offset + sentences[-1].duration)
            if tight[1] > tight[0]:
                start, end = tight
        _spread(times, spoken, 0, len(spoken), start, end)
    return _in_order(_filled(times, spoken, start, end))


def text_times(placed: Placed) -> list[Time]:
    """When each character of the chunk's original text is heard (see module docstring)."""
    text, spoken = placed.chunk.text, placed.chunk.spoken
    heard = spoken_times(placed)
    if text == spoken:
        return heard
    import difflib

    times: list[Time | None] = [None] * len(text)
    matcher = difflib.SequenceMatcher(None, spoken, text, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            times[j1:j2] = heard[i1:i2]
        elif tag == "replace":  # 25 said as 二十五: the digits share the words' time
            _spread(times, text, j1, j2, heard[i1][0], heard[i2 - 1][1])
    # characters not said at all share the time between their neighbours (mostly none)
    return _in_order(_filled(times, text, placed.start, max(placed.start, placed.end)))


# ------------------------------------------------------------------------------ words


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _cleaned(chars: list[tuple[str, Time]]) -> list[tuple[str, Time]]:
    """Drop whitespace between two wide (CJK) characters and at the ends; collapse the rest."""
    out: list[tuple[str, Time]] = []
    i = 0
    while i < len(chars):
        ch, t = chars[i]
        if not ch.isspace():
            out.append((ch, t))
            i += 1
            continue
        j = i
        while j < len(chars) and chars[j][0].isspace():
            j += 1
        before = out[-1][0] if out else ""
        after = chars[j][0] if j < len(chars) else ""
        if before and after and not (_is_wide(before) and _is_wide(after)):
            out.append((" ", t))
        i = j
    return out


def clean_text(text: str) -> str:
    """Join a cue's text: drop whitespace between two wide (CJK) characters, collapse the rest."""
    return "".join(ch for ch, _ in _cleaned([(ch, (0.0, 0.0)) for ch in text]))


@dataclass(frozen=True)
class _Word:
    """A piece of a sentence never broken: a word with its punctuation (and a trailing space)."""

    lo: int  # slice of the sentence's text
    hi: int
    stop: int  # where its text ends without the trailing space (a line's last word ends there)
    cost: float  # of a break after it
    start: float  # when its first speakable character starts
    end: float  # when its last speakable character ends


def _words(text: str, times: Sequence[Time], chars: int) -> list[_Word]:
    from bulletin.text.words import words as segment

    pieces: list[list[int]] = []  # [lo, hi] slices
    pending_open: int | None = None
    at = 0
    for word in segment(text):
        lo, hi = at, at + len(word)
        at = hi
        if not any(_weight(c) for c in word):
            if pieces and not (word[0] in _OPENERS and word.strip(" ")):
                pieces[-1][1] = hi  # a comma, closing quote or space stays with the word before
            elif pending_open is None:
                pending_open = lo  # an opening quote (or leading punctuation) goes with the next
            continue
        pieces.append([pending_open if pending_open is not None else lo, hi])
        pending_open = None
    if pending_open is not None:
        if pieces:
            pieces[-1][1] = len(text)
        else:
            pieces.append([pending_open, len(text)])
    out: list[_Word] = []
    for lo, hi in pieces:
        # a "word" longer than a line (a long number, a URL) is the one thing cut inside
        for a in range(lo, hi, chars):
            b = min(hi, a + chars)
            stop = len(text[a:b].rstrip(" ")) + a
            out.append(_Word(a, b, stop, FORCED if b < hi else _cost(text, b), *_heard(times, text, a, b)))
    return out


def _cost(text: str, at: int) -> float:
    """What a break before ``text[at]`` costs: nothing after clause punctuation, more elsewhere."""
    if at >= len(text):
        return CLAUSE
    before = text[:at].rstrip(" ").rstrip(CLOSERS)
    if before and before[-1] in _BREAK_AFTER:
        return CLAUSE
    if text[at] in _PARTICLES:
        return PARTICLE  # a line starting with 的 or 了 reads as a mistake
    return SPACE if text[at - 1] == " " else WORD


def _heard(times: Sequence[Time], text: str, lo: int, hi: int) -> Time:
    spoken = [times[i] for i in range(lo, hi) if _weight(text[i])] or [times[i] for i in range(lo, hi)]
    return spoken[0][0], spoken[-1][1]


# ----------------------------------------------------------------------------- layout


def _length(words: Sequence[_Word], a: int, b: int) -> int:
    """Characters of the line holding ``words[a:b]``."""
    return words[b - 1].stop - words[a].lo


def _fits(words: Sequence[_Word], b: int, layout: Layout) -> dict[int, float]:
    """For every cue ``words[j:b]`` that may end at ``b``: what its cheapest layout costs.

    A cue may be at most ``chars x lines`` long and :attr:`Layout.seconds` long (a single
    word always may). Its layout is the cheapest way to put it in at most ``lines`` lines:
    each line after the first costs :data:`LINE` plus the break before it, so one line is
    preferred, then breaks at clause punctuation. Worked out for all ``j`` at once, from
    the end backwards (``fit[j]``: ``words[j:b]`` in at most n lines, for n = 1, 2, ...),
    which keeps the cutting of a sentence linear in its length whatever the limits.
    """
    chars, end = layout.chars, words[b - 1]
    first = b - 1
    while first > 0 and (
        end.stop - words[first - 1].lo <= chars * layout.lines + layout.lines
        and end.end - words[first - 1].start <= layout.seconds
    ):
        first -= 1  # adding words in front only makes it longer: stop at the first too long
    fit = [0.0 if end.stop - words[j].lo <= chars else math.inf for j in range(first, b)]
    for _ in range(layout.lines - 1):
        more = list(fit)
        for j in range(first, b):
            cheapest, start = more[j - first], words[j].lo
            for k in range(j + 1, b):  # the first line is words[j:k]
                if words[k - 1].stop - start > chars:
                    break
                rest = fit[k - first]
                if rest != math.inf and words[k - 1].cost + LINE + rest < cheapest:
                    cheapest = words[k - 1].cost + LINE + rest
            more[j - first] = cheapest
        if more == fit:
            break
        fit = more
    # nearest start first: on a tie the shorter last cue wins, as the cheapest cut is kept
    return {
        j: fit[j - first] for j in range(b - 1, first - 1, -1) if fit[j - first] != math.inf or j == b - 1
    }


def _arrange(
    words: Sequence[_Word], a: int, b: int, chars: int, lines: int, target: float | None
) -> tuple[float, list[int]] | None:
    """The cheapest layout of ``words[a:b]`` in at most ``lines`` lines: (cost, line starts).

    Costs as in :func:`_fits`; with a ``target`` line length, lines far from it cost more
    (squared), which balances the lines of a cue.
    """
    best: dict[tuple[int, int], tuple[float, int]] = {(0, a): (0.0, -1)}  # (lines, end) -> (cost, start)
    for n in range(1, lines + 1):
        for k in range(a + 1, b + 1):
            for j in range(k - 1, a - 1, -1):
                length = _length(words, j, k)
                if length > chars and k - j > 1:
                    break
                before = best.get((n - 1, j))
                if before is None:
                    continue
                cost = before[0] + ((length - target) ** 2 / 2 if target else 0.0)
                if k < b:
                    cost += words[k - 1].cost + LINE
                if cost < best.get((n, k), (math.inf, -1))[0]:
                    best[(n, k)] = (cost, j)
    ends = [(best[(n, b)][0], n) for n in range(1, lines + 1) if (n, b) in best]
    if not ends:
        return None
    cost, n = min(ends)
    starts, k = [], b
    for m in range(n, 0, -1):
        k = best[(m, k)][1]
        starts.append(k)
    return cost, starts[::-1]


def _lines(text: str, words: Sequence[_Word], a: int, b: int, layout: Layout) -> tuple[str, ...]:
    """``words[a:b]`` as the lines of one cue: cheapest breaks, then balanced lengths."""
    plain = _arrange(words, a, b, layout.chars, layout.lines, None)
    count = len(plain[1]) if plain else 1
    arranged = _arrange(words, a, b, layout.chars, count, _length(words, a, b) / count) or plain
    if arranged is None:  # cannot happen for a cue chosen by _sentence_cues; stay safe
        return (text[words[a].lo : words[b - 1].stop],)
    starts = [*arranged[1], b]
    return tuple(text[words[j].lo : words[k - 1].stop] for j, k in itertools.pairwise(starts))


def _sentence_cues(text: str, times: Sequence[Time], layout: Layout) -> list[Cue]:
    """Cut one sentence into cues (see module docstring): fewest cues, cheapest breaks."""
    words = _words(text, times, layout.chars)
    n = len(words)
    best: list[tuple[float, int]] = [(0.0, -1)] + [(math.inf, -1)] * n
    for i in range(1, n + 1):
        for j, fit in _fits(words, i, layout).items():
            size = _length(words, j, i)
            short = max(0, layout.chars // 2 - size) if (j, i) != (0, n) else 0
            cost = best[j][0] + CUE + min(fit, FORCED) + short + (words[i - 1].cost if i < n else 0.0)
            if cost < best[i][0]:
                best[i] = (cost, j)
    spans, i = [], n
    while i > 0:
        j = best[i][1]
        spans.append((j, i))
        i = j
    cues = []
    for j, i in reversed(spans):
        lines = _lines(text, words, j, i, layout)
        cue_text = text[words[j].lo : words[i - 1].stop]
        cues.append(Cue(words[j].start, words[i - 1].end, cue_text, lines))
    return cues


def _sentence(placed: Placed) -> tuple[int, int, int]:
    return placed.chunk.story, placed.chunk.paragraph, placed.chunk.sentence


def build_cues(
    timeline: Sequence[Placed], duration: float | None = None, layout: Layout | None = None
) -> list[Cue]:
    """Cues within ``layout``'s limits, in order, non-overlapping, inside ``[0, duration]``."""
    layout = layout or Layout()
    layout.check()
    groups: list[list[Placed]] = []
    for placed in timeline:
        if groups and _sentence(groups[-1][0]) == _sentence(placed):
            groups[-1].append(placed)  # a long sentence said in several chunks
        else:
            groups.append([placed])
    last = max((p.end for p in timeline), default=0.0)
    end_of_audio = duration if duration is not None else last + LINGER

    raw: list[Cue] = []
    for group in groups:
        chars = _cleaned([(ch, t) for p in group for ch, t in zip(p.chunk.text, text_times(p), strict=True)])
        if not chars:
            continue
        text = "".join(ch for ch, _ in chars)
        raw.extend(_sentence_cues(text, [t for _, t in chars], layout))

    cues: list[Cue] = []
    for i, cue in enumerate(raw):
        nxt = raw[i + 1].start if i + 1 < len(raw) else end_of_audio
        start = max(0.0, cue.start, cues[-1].end if cues else 0.0)
        end = min(max(cue.end, start) + LINGER, max(nxt, start), end_of_audio, start + layout.seconds)
        if end - start < 0.001 or (cue.end <= cue.start and not is_speakable(cue.text)):
            # nothing heard (a silent chunk, a lone 。): nothing to show
            continue
        cues.append(Cue(start, end, cue.text, cue.lines))
    return cues


# ---------------------------------------------------------------------------- formats


def _ms(seconds: float) -> int:
    return max(0, math.floor(seconds * 1000 + 0.5))


def _stamp(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


#: What a cue's text may not hold: the arrow of a timing line (``-->``: a WebVTT parser ends
#: the cue there and reads the line as the next cue's timing), line breaks (a blank line ends
#: a cue in both formats) and control characters.
_CUE_BREAKERS = re.compile(r"-->|[\x00-\x1f\x7f\u2028\u2029]")


def cue_line(line: str) -> str:
    """One line of a cue's text made safe to write: it can never end the cue or start a new one.

    ``-->`` becomes ``→`` (what it stands for in prose), a line break or control character
    a space; the text around is kept.
    """
    return _CUE_BREAKERS.sub(lambda m: "→" if m.group() == "-->" else " ", line).strip()


def _timed(cues: Sequence[Cue]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Cues in whole milliseconds, still non-overlapping (and no longer) after rounding; each
    line made safe (:func:`cue_line`), empty lines left out, a cue with no text left out."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    for cue in cues:
        start = max(_ms(cue.start), out[-1][1] if out else 0)
        end = min(_ms(cue.end), start + math.floor((cue.end - cue.start) * 1000))
        lines = tuple(safe for line in cue.lines or (cue.text,) if (safe := cue_line(line)))
        if end <= start or not lines:
            continue
        out.append((start, end, lines))
    return out


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text (``HH:MM:SS,mmm``), numbered from 1, blank line after each cue."""
    blocks = [
        f"{n}\n{_stamp(s, ',')} --> {_stamp(e, ',')}\n" + "\n".join(lines) + "\n"
        for n, (s, e, lines) in enumerate(_timed(cues), 1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text (``HH:MM:SS.mmm``): the lines made safe by :func:`cue_line`, & and < escaped."""
    blocks = ["WEBVTT\n"]
    for s, e, lines in _timed(cues):
        body = "\n".join(ln.replace("&", "&amp;").replace("<", "&lt;") for ln in lines)
        blocks.append(f"{_stamp(s, '.')} --> {_stamp(e, '.')}\n{body}\n")
    return "\n".join(blocks)


def write_subtitles(
    path: str | Path,
    timeline: Sequence[Placed],
    *,
    fmt: str | None = None,
    duration: float | None = None,
    layout: Layout | None = None,
) -> list[Cue]:
    """Write SRT or WebVTT to ``path``, UTF-8; returns the cues.

    The format is ``fmt`` ("srt"/"vtt") when given (for writing to a temporary name),
    else the suffix of ``path`` (.srt/.vtt). Anything else is a :class:`ConfigError`,
    raised before anything is written. Pass ``duration`` (``Assembly.duration``) so the
    last cue's linger stops at the end of the audio, and ``layout`` for other limits.
    """
    p = Path(path)
    kind = (fmt if fmt is not None else p.suffix).lower().lstrip(".")
    if kind not in ("srt", "vtt"):
        raise ConfigError(f"subtitles must be .srt or .vtt, not {fmt or p.name!r}")
    cues = build_cues(timeline, duration, layout)
    text = to_srt(cues) if kind == "srt" else to_vtt(cues)
    try:
        p.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise PublishError(f"cannot write subtitles to {p}: {exc}") from exc
    return cues
