"""Split cleaned stories into speakable chunks (stage: chunk).

(Splitting functions are being written; the :class:`Chunk` type below is stable.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What follows a chunk, which decides the pause after it in assembly.
#: "clause": a long sentence was cut at a comma; "sentence", "paragraph", "story": the
#: chunk ends one of those; "end": the last chunk of the bulletin.
PauseKind = Literal["clause", "sentence", "paragraph", "story", "end"]


@dataclass(frozen=True)
class Chunk:
    """One unit of synthesis.

    ``text`` is an exact slice of the cleaned paragraph (so the chunks of a story join
    back to it); ``spoken`` is what the engine is given (numbers read out, etc.).
    Chunks of one long sentence share ``sentence``, so subtitles get one cue per sentence.
    """

    index: int
    text: str
    spoken: str
    story: int
    paragraph: int
    sentence: int
    pause_after: PauseKind
