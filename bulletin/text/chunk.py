"""Split cleaned stories into speakable chunks (stage: chunk).

A chunk is one sentence (cut at 。！？；…), so that assembly can put a pause of the
right length after it. A sentence longer than the engine's limit is cut at clause
marks (，、：), then at any point that is not inside a number or a Latin word.
Pieces with nothing to say (a lone 」 or ……) are glued to a neighbour: Edge answers
punctuation-only requests with NoAudioReceived. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bulletin.text.chars import CLAUSE_END, is_speakable, split_sentences

#: What follows a chunk, which decides the pause after it in assembly.
#: "clause": a long sentence was cut at a comma; "sentence", "paragraph", "story": the
#: chunk ends one of those; "end": the last chunk of the bulletin.
PauseKind = Literal["clause", "sentence", "paragraph", "story", "end"]

_ENDS = re.escape(CLAUSE_END)
#: A clause runs to its clause mark; a colon or comma between digits (12:30, 1,234) is no mark.
_CLAUSE_RE = re.compile(rf"(?:[^{_ENDS}]|(?<=[0-9])[:,](?=[0-9]))+[{_ENDS}]*|[{_ENDS}]+")
#: What is never cut: a number or Latin word with its inner marks (12:30, 1,234.5, 2024-03-15,
#: 3/15, 50%, don't), read as one by the normalizer and by the voice.
_TOKEN_RE = re.compile(r"[0-9A-Za-z]+(?:[.,:/'\-][0-9A-Za-z]+)*%?")
_WORDISH = re.compile(r"[A-Za-z0-9.,%'\-]")


@dataclass(frozen=True)
class Chunk:
    """One unit of synthesis.

    ``text`` is an exact slice of the cleaned paragraph (so the chunks of a story join
    back to it); ``spoken`` is what the engine is given (numbers read out, etc.).
    Chunks of one long sentence share ``sentence``, so subtitles never put two sentences in a cue.
    """

    index: int
    text: str
    spoken: str
    story: int
    paragraph: int
    sentence: int
    pause_after: PauseKind


def _glue_unspeakable(pieces: list[str]) -> list[str]:
    """Attach pieces with nothing to say to the previous piece (or the next, at the start)."""
    out: list[str] = []
    pending = ""
    for piece in pieces:
        if not is_speakable(piece):
            if out:
                out[-1] += piece
            else:
                pending += piece
            continue
        out.append(pending + piece)
        pending = ""
    if pending:
        if out:
            out[-1] += pending
        else:
            out.append(pending)
    return out


def _safe_cut(text: str, limit: int) -> int:
    """The last position <= limit where ``text`` may be cut: never inside a number or Latin word.

    Only the first ``limit`` characters are looked at (this runs once per cut of a long
    clause). When a token straddles every possible cut (a number longer than the limit),
    the cut goes after it: a chunk a little over the limit is better than a number read in
    pieces.
    """
    end = min(limit, len(text) - 1)
    inside = bytearray(end + 2)
    last = None
    for m in _TOKEN_RE.finditer(text, 0, end + 1):
        inside[m.start() + 1 : m.end()] = b"\1" * (m.end() - m.start() - 1)
        last = m
    for i in range(end, 0, -1):
        b = text[i]
        if inside[i] or (not is_speakable(b) and not b.isspace()):
            continue  # inside a token, or punctuation: it stays with what it ends
        return i
    if last is not None:  # the window ends inside a token: cut after the whole token
        whole = _TOKEN_RE.match(text, last.start())
        if whole is not None and end < whole.end() <= max(2 * limit, 64):
            return whole.end()
    return min(limit, len(text))  # one endless word: cut anyway rather than grow without bound


def _pack(units: list[str], limit: int) -> list[str]:
    """Greedily join consecutive units while they fit in ``limit``."""
    out: list[str] = []
    for unit in units:
        if out and len(out[-1]) + len(unit) <= limit:
            out[-1] += unit
        else:
            out.append(unit)
    return out


def split_to_limit(sentence: str, limit: int) -> list[str]:
    """Cut a sentence into pieces of at most ``limit`` characters (clauses first)."""
    if len(sentence) <= limit:
        return [sentence]
    units: list[str] = []
    for clause in _CLAUSE_RE.findall(sentence):
        while len(clause) > limit:
            cut = _safe_cut(clause, limit)
            units.append(clause[:cut])
            clause = clause[cut:]
        if clause:
            units.append(clause)
    return _pack(units, limit)


def _spoken_pieces(sentence: str, limit: int, speak: Callable[[str], str]) -> list[tuple[str, str]]:
    """Pieces of ``sentence`` whose *spoken* form fits the limit (numbers can grow when read out)."""
    result: list[tuple[str, str]] = []
    pieces = _glue_unspeakable(split_to_limit(sentence, limit))
    for piece in pieces:
        spoken = speak(piece).strip()
        smaller = max(1, min(len(piece) - 1, limit * len(piece) // max(len(spoken), 1)))
        if len(spoken) > limit and len(piece) > 1 and (piece != sentence or smaller < limit):
            result.extend(_spoken_pieces(piece, smaller, speak))  # always shorter: terminates
        else:
            result.append((piece, spoken))
    return result


def sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences as chunks count them (a piece with nothing to say joins its neighbour)."""
    return _glue_unspeakable(split_sentences(paragraph))


def plan_chunks(
    stories: list[list[str]],
    limit: int,
    speak: Callable[[str], str] | Sequence[Callable[[str], str]] = str.strip,
) -> list[Chunk]:
    """Cut stories (lists of paragraphs) into chunks of at most ``limit`` spoken characters.

    ``speak`` turns a piece of text into what the engine should say (see
    :func:`bulletin.text.normalize.to_spoken`); it is applied per piece. A sequence gives one
    function per story (each story read in its own script).
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    speakers = [speak] * len(stories) if callable(speak) else list(speak)
    chunks: list[Chunk] = []
    sentence_no = 0
    for s_i, story in enumerate(stories):
        story_speak = speakers[s_i]
        for p_i, para in enumerate(story):
            said = sentences(para)
            for n, sentence in enumerate(said):
                pieces = _spoken_pieces(sentence, limit, story_speak)
                for k, (text, spoken) in enumerate(pieces):
                    if k < len(pieces) - 1:
                        pause: PauseKind = "clause"
                    elif n < len(said) - 1:
                        pause = "sentence"
                    elif p_i < len(story) - 1:
                        pause = "paragraph"
                    else:
                        pause = "story"
                    chunks.append(Chunk(len(chunks), text, spoken, s_i, p_i, sentence_no, pause))
                sentence_no += 1
    if chunks:
        last = chunks[-1]
        chunks[-1] = Chunk(
            last.index, last.text, last.spoken, last.story, last.paragraph, last.sentence, "end"
        )
    return chunks
