"""ID3 tags and chapters for the finished MP3, and the default title.

Tags are written as ID3v2.3 (mutagen converts TDRC to TYER/TDAT/TIME and writes text as
UTF-16): v2.3 is what the widest range of players (car stereos, Windows, older podcast
apps) reads, and it carries Chinese text and the CHAP/CTOC chapter frames fine. Any tag
already in the file is replaced, and an ID3v1 tag is removed (it cannot hold Chinese).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mutagen.id3 import CHAP, CTOC, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TPUB, TSSE, CTOCFlags, ID3TimeStamp

from bulletin.errors import AudioError, ConfigError

#: Most chapters an ID3 table of contents holds; beyond, the last one spans the rest.
MAX_CHAPTERS = 255
#: Longest default title, in characters (a phone lock screen shows about this much).
TITLE_MAX_CHARS = 30

_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s|$)")
#: Punctuation and quotes never left at the end of a title.
_TRAILING = "，。、；：！？,.;:!?…—–-·\"'“”‘’「」『』（）()《》〈〉【】[] \t\u3000"


@dataclass(frozen=True)
class Chapter:
    """One chapter (a story): title and its span in seconds."""

    title: str
    start: float
    end: float


def _is_word_char(ch: str) -> bool:
    """Letters/digits of scripts written with spaces (a cut between two of them splits a word)."""
    if not ch:
        return False
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return False
    return ch.isalnum() or ch in "'’.%"


def _is_continuation(ch: str) -> bool:
    """Characters that belong to the character before them (combining marks, ZWJ, selectors)."""
    return bool(unicodedata.combining(ch)) or ch in "\u200d\ufe0e\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def default_title(text: str, max_chars: int = TITLE_MAX_CHARS, fallback: str = "新闻简报") -> str:
    """A title from the first sentence of ``text``: at most ``max_chars``, no trailing punctuation.

    A long sentence is cut at the last clause break (，、：) that fits when there is one,
    otherwise at ``max_chars``, backing off so the cut never falls inside a Latin word or
    a number, or between a character and its combining marks. ``fallback`` when there is
    no speakable text.
    """
    if max_chars < 4:
        raise ConfigError(f"title length must be at least 4 characters, not {max_chars}")
    stripped = " ".join(text.split())
    first = _SENTENCE_END.split(stripped, maxsplit=1)[0].strip().rstrip(_TRAILING)
    if not first:
        return fallback
    if len(first) > max_chars:
        cut = max_chars
        clause = max(first.rfind(p, 0, max_chars + 1) for p in "，、：,:")
        if clause >= max_chars // 2:
            cut = clause
        else:
            while cut > 0 and (
                _is_continuation(first[cut]) or (_is_word_char(first[cut - 1]) and _is_word_char(first[cut]))
            ):
                cut -= 1
            if cut == 0:  # one enormous word: cut it rather than give nothing
                cut = max_chars
        first = first[:cut].rstrip(_TRAILING)
    return first or fallback


def write_tags(
    path: str | Path,
    *,
    title: str,
    author: str | None = None,
    album: str | None = None,
    publisher: str | None = None,
    date: datetime | None = None,
    language: str = "zho",
    chapters: Sequence[Chapter] = (),
) -> None:
    """Write ID3v2.3 tags to the MP3 at ``path``, replacing any tag there.

    ``language`` is an ISO 639-2 code (TLAN); ``album`` (TALB) is a programme's name. With
    two or more ``chapters`` (one per story, or per part of a programme) a table of
    contents (CTOC, top-level and ordered) and a CHAP frame per chapter, each with its own
    TIT2, are added; a single story gets no chapters.
    """
    if not title.strip():
        raise ConfigError("the title must not be empty")
    if not re.fullmatch(r"[a-z]{3}", language):
        raise ConfigError(f"language must be a three-letter ISO 639-2 code like zho, not {language!r}")
    tags = ID3()
    tags.add(TIT2(encoding=3, text=[title.strip()]))
    if author:
        tags.add(TPE1(encoding=3, text=[author]))
    if album:
        tags.add(TALB(encoding=3, text=[album]))
    if publisher:
        tags.add(TPUB(encoding=3, text=[publisher]))
    if date is not None:
        tags.add(TDRC(encoding=3, text=[ID3TimeStamp(date.strftime("%Y-%m-%dT%H:%M:%S"))]))
    tags.add(TLAN(encoding=3, text=[language]))
    tags.add(TSSE(encoding=3, text=["bulletin"]))
    if len(chapters) > MAX_CHAPTERS:  # the table of contents counts its entries in one byte
        rest = chapters[MAX_CHAPTERS - 1 :]
        chapters = [*chapters[: MAX_CHAPTERS - 1], Chapter("……", rest[0].start, rest[-1].end)]
    if len(chapters) >= 2:
        ids = [f"chp{i}" for i in range(len(chapters))]
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=["目录"])],
            )
        )
        for cid, ch in zip(ids, chapters, strict=True):
            start, end = round(ch.start * 1000), round(ch.end * 1000)
            if end < start:
                raise ConfigError(f"chapter {ch.title!r} ends before it starts")
            tags.add(
                CHAP(
                    element_id=cid,
                    start_time=start,
                    end_time=end,
                    sub_frames=[TIT2(encoding=3, text=[ch.title])],
                )
            )
    try:
        tags.save(str(path), v2_version=3, v1=0)
    except Exception as exc:  # mutagen raises several unrelated types (MutagenError, OSError)
        raise AudioError(f"cannot write tags to {Path(path).name}: {exc}") from exc
