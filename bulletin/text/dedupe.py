"""Remove repeated text, keeping the first occurrence and the order (stage: dedupe).

Wire copy gets pasted several times, whole or in part, and the copies often run
straight into each other with no blank line between them. So repeats are found
sentence by sentence across all stories, not paragraph by paragraph:

* a sentence seen before (ignoring whitespace) is dropped;
* an unterminated piece that is only the *beginning* of a sentence seen anywhere
  in the input (a paste cut off mid-sentence) is dropped; when such a fragment ran
  into the next copy's first sentence, the fragment is cut off and the rest is
  judged on its own;
* a piece that is only the *end* of a sentence already kept in the same article
  (a paste that started mid-sentence) is dropped when it is long enough not to
  be a legitimate short sentence; another article may well open with a clause
  that ends one of ours.

Paragraphs and stories left empty disappear. Pure functions; linear in the input
apart from an O(n log n) sort of the sentence keys.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bulletin.text.chars import is_speakable, is_terminated, split_sentences

_WS_RE = re.compile(r"\s+")
#: Shorter sentences may legitimately repeat (好。好。); longer ones repeated are pastes.
MIN_REPEAT_CHARS = 4
#: A trailing fragment must be at least this long to be dropped as the end of a known sentence.
MIN_SUFFIX_CHARS = 8
#: A fragment glued to the next copy must be at least this long to be cut off.
MIN_SPLICE_CHARS = 2
#: How far before the shared prefix's end a splice point is looked for.
SPLICE_WINDOW = 8


@dataclass(frozen=True)
class DedupeStats:
    """What was removed, for ``-v`` and the run report."""

    sentences: int = 0  # exact repeats
    fragments: int = 0  # partial repeats (cut-off beginnings or ends)
    paragraphs: int = 0  # paragraphs left empty
    stories: int = 0  # whole stories that were repeats

    @property
    def total(self) -> int:
        return self.sentences + self.fragments

    def to_dict(self) -> dict[str, int]:
        return {
            "sentences": self.sentences,
            "fragments": self.fragments,
            "paragraphs": self.paragraphs,
            "stories": self.stories,
        }


def _key(sentence: str) -> str:
    return _WS_RE.sub("", sentence)


class _Index:
    """All terminated sentence keys of the input, for prefix and suffix questions."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.forward = sorted(keys)
        self.backward = sorted(k[::-1] for k in keys)
        # Positions and neighbour prefixes computed once, in one pass each: a binary search
        # per sentence over a large list costs more (cache misses) the larger the input.
        self._positions = {k: i for i, k in enumerate(self.forward)}
        self._back_positions = {k: i for i, k in enumerate(self.backward)}
        shared = [0] * len(self.forward)
        for i in range(len(self.forward) - 1):
            n = len(os.path.commonprefix(self.forward[i : i + 2]))  # noqa: RUF071 (text, not paths)
            shared[i] = max(shared[i], n)
            shared[i + 1] = n
        self._shared = shared

    def _extensions(self, sorted_keys: list[str], piece: str) -> Iterator[str]:
        """Keys in ``sorted_keys`` that start with ``piece`` and are longer than it."""
        positions = self._positions if sorted_keys is self.forward else self._back_positions
        known = positions.get(piece)
        i = known + 1 if known is not None else bisect.bisect_right(sorted_keys, piece)
        while i < len(sorted_keys) and sorted_keys[i].startswith(piece):
            yield sorted_keys[i]
            i += 1

    def is_beginning(self, piece: str, *, other_than: str = "") -> bool:
        """Is ``piece`` a proper beginning of a known sentence (other than ``other_than``)?"""
        return any(k != other_than for k in self._extensions(self.forward, piece))

    def ends_kept(self, piece: str, kept: set[str]) -> bool:
        """Is ``piece`` a proper end of a sentence already kept?"""
        return any(k[::-1] in kept for k in self._extensions(self.backward, piece[::-1]))

    def splice_point(self, key: str) -> int:
        """Where a cut-off beginning ends and a known sentence starts inside ``key`` (0: none).

        The cut-off beginning must also begin some *other* known sentence, so it ends
        where ``key`` stops agreeing with that sentence: at the longest prefix ``key``
        shares with its neighbours in sorted order, or a few characters before it (when
        the next copy happens to start like the cut sentence went on). Only that window
        of :data:`SPLICE_WINDOW` cut points is tried, which keeps dedupe linear.
        """
        position = self._positions.get(key)
        if position is None:
            return 0  # only known (terminated) sentences can hold a known sentence's start
        shared = self._shared[position]
        for p in range(min(shared, len(key) - 1), max(MIN_SPLICE_CHARS, shared - SPLICE_WINDOW) - 1, -1):
            if key[p:] in self.keys:
                return p
        return 0


def _text_offset(sentence: str, key_chars: int) -> int:
    """Index in ``sentence`` after ``key_chars`` non-whitespace characters."""
    seen = 0
    for i, ch in enumerate(sentence):
        if seen == key_chars:
            return i
        if not ch.isspace():
            seen += 1
    return len(sentence)


def dedupe(stories: list[list[str]]) -> tuple[list[list[str]], DedupeStats]:
    """Drop repeated sentences across ``stories`` (each a list of paragraphs).

    Returns the stories that still have text, and counts of what was removed.
    """
    each, stats = dedupe_each(stories)
    return [story for story in each if story], stats


def dedupe_each(stories: list[list[str]]) -> tuple[list[list[str]], DedupeStats]:
    """:func:`dedupe`, keeping a place for every story: one told entirely before is ``[]``.

    So a caller can still tell which article each surviving story came from.
    """
    split = [[split_sentences(p) for p in story] for story in stories]
    index = _Index({_key(s) for story in split for para in story for s in para if is_terminated(s)})
    seen: set[str] = set()
    repeats = fragments = empty_paragraphs = empty_stories = 0
    result: list[list[str]] = []
    for story in split:
        kept_story: list[str] = []
        seen_here: set[str] = set()  # a paste that starts mid-sentence repeats its own article
        for p_index, para in enumerate(story):
            kept: list[str] = []
            for sentence in para:
                key = _key(sentence)
                if not key:
                    continue
                if key in seen and len(key) >= MIN_REPEAT_CHARS and is_speakable(key):
                    repeats += 1
                    continue
                if key not in seen and is_terminated(sentence) and len(key) > MIN_SPLICE_CHARS:
                    cut = index.splice_point(key)
                    if cut:
                        fragments += 1
                        sentence = sentence[_text_offset(sentence, cut) :]
                        key = key[cut:]
                        if key in seen:
                            repeats += 1
                            continue
                elif not is_terminated(sentence) and index.is_beginning(key):
                    headline = len(para) == 1 and p_index == 0 and len(story) > 1
                    if not headline:
                        fragments += 1
                        continue
                if len(key) >= MIN_SUFFIX_CHARS and index.ends_kept(key, seen_here):
                    fragments += 1
                    continue
                seen.add(key)
                seen_here.add(key)
                kept.append(sentence)
            if kept:
                kept_story.append("".join(kept).strip())
            else:
                empty_paragraphs += 1
        if not kept_story:
            empty_stories += 1
        result.append(kept_story)
    stats = DedupeStats(repeats, fragments, empty_paragraphs, empty_stories)
    return result, stats
