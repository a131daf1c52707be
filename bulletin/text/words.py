"""Cut text into words, for breaking subtitle lines where a reader expects a break.

Chinese is written without spaces, so "never break inside a word" needs a segmenter.
We use ``rjieba`` (jieba's dictionary and algorithm, in Rust): the dictionary is inside
its wheel, it loads in ~0.1 s and ~30 MB and segments the sample in under a millisecond,
where the pure-Python ``jieba`` takes ~1 s and ~85 MB to load, writes a cache file into
the system temp folder and logs to stderr on first use. Breaking a line only at clause
punctuation and between Chinese and Latin text (what we did before) is not enough for
lines of 16 characters: most clauses of news text are longer than that.

jieba's dictionary is Simplified; on Traditional text it finds few words (國|際|高度|關|注).
So the text is looked up in Simplified (``opencc-python-reimplemented``, pure Python,
character for character, so positions stay put) and the words are cut out of the text as
it is (國際|高度|關注). A number or Latin word with its inner marks (3.5%, 1,234, iPhone,
12:30) is always one word, whatever the segmenter thinks.

Pure functions; the segmenter and the converter are loaded on first use (only when
subtitles are written).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from bulletin.hanzi import to_simplified

#: A number or Latin word with its inner marks, or a run of Chinese numerals (二○○二年 is
#: written with ○, which the dictionary does not know): read as one, never broken.
_TOKEN = re.compile(
    r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+(?:[.,:/'\-][0-9A-Za-z]+)*[%％]?"
    r"|[〇○零一二三四五六七八九十百千万萬亿億两兩]{2,}"
)


@functools.cache
def _segmenter() -> Callable[[str], list[str]]:
    import rjieba

    return lambda text: rjieba.cut(text, False)  # no HMM: only dictionary words


def words(text: str) -> list[str]:
    """``text`` cut into words; they join back to ``text`` exactly (spaces are words too)."""
    if not text:
        return []
    lookup = to_simplified(text)
    cuts: set[int] = set()
    at = 0
    for word in _segmenter()(lookup):
        at += len(word)
        cuts.add(at)
    for match in _TOKEN.finditer(text):  # no cut inside a number or a Latin word
        cuts.difference_update(range(match.start() + 1, match.end()))
    cuts.discard(0)
    cuts.add(len(text))
    out: list[str] = []
    start = 0
    for end in sorted(cuts):
        if end > start:
            out.append(text[start:end])
            start = end
    return out
