"""Spoken-form text → Kokoro phoneme tokens, cut into model calls.

Kokoro-82M v1.0 learned Mandarin from misaki 0.9.4's legacy ``ZHG2P()``: jieba's words,
pypinyin's dictionary-tone readings (**no tone sandhi**), each syllable turned into IPA with
tone arrows by ``misaki.transcription``, words joined by a space, Chinese punctuation mapped
to ``, . ! ? ; :``. We rebuild exactly that format, with better parts where it matters:

* **Readings from our own reader** (:class:`bulletin.engines.reading.Reader`, with
  ``sandhi=False``): polyphones decided in context by g2pM's network (97.7 % on CPP against
  pypinyin's 87.7 %), Traditional text looked up in Simplified (misaki on Traditional text
  reads 重慶 as zhong4, 銀行 as yin2 xing2: wrong; converted first they are right). The
  lexicon's readings arrive already as respellings in the spoken text, so they apply here too.
* **Words from rjieba** on the Simplified form (the Rust port of jieba, already ours for
  subtitle breaks): the same segmentation as jieba, so the spaces are where training had
  them, without python-jieba's 80 MB dictionary.
* **Latin letters**: Kokoro's vocabulary holds Latin capitals as English *phoneme* symbols
  (A, I, O, Q, S, T, W, Y), so misaki's pass-through turned "WTO" into junk. Acronyms are
  spelled the way Chinese newsreaders say them (the reader's letter names: WTO → da2 bu5
  liu5 ti4 ou1), and so are other Latin words of up to 12 letters (iPhone, Google: nothing
  is dropped silently; a lexicon entry gives a word its proper reading). Longer ones are
  skipped, and the run lists them (``unspoken`` in its report). Digits are read one by one.
* **Length**: the model takes at most 510 tokens a call, and its memory grows with the
  call's length (~23 MB per second of audio), so a text is cut into pieces of at most
  ``max_tokens``, at sentence ends first, then at clause breaks, then between words.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bulletin.engines.reading import Reader
from bulletin.hanzi import to_simplified

#: Bump whenever the same text would give other tokens (part of the cache key).
FRONTEND_VERSION = 3  # 2: Latin words spelled, not skipped; 3: pieces know their text
#: The model's limit: tokens per call, without the two pad tokens (its voice tables have 510 rows).
MAX_TOKENS = 510
#: A text's words as ``(start, end)`` character spans.
Spans = list[tuple[int, int]]
#: How long the child that cuts a batch into words may take before the batch is cut here.
CUT_TIMEOUT_S = 120

#: Punctuation as misaki maps it (a clause mark, then a space).
_SENTENCE_MARKS = {"。": ". ", "．": ". ", ".": ". ", "！": "! ", "!": "! ", "？": "? ", "?": "? "}
_SENTENCE_MARKS |= {"\n": ". ", "…": "… ", "；": "; ", ";": "; "}
_CLAUSE_MARKS = {"，": ", ", ",": ", ", "、": ", ", "：": ": ", ":": ": ", "—": ", ", "–": ", "}
_CLAUSE_MARKS |= {"~": ", ", "～": ", "}
_PUNCT = ",.;:!?…"
#: Break strengths a piece may be cut at: the end of a sentence, a clause, a word.
SENTENCE, CLAUSE, WORD = 3, 2, 1


@cache
def syllable_phonemes(pinyin: str) -> str:
    """One pinyin syllable (``zhong1``, ``le5``) → Kokoro phonemes, as misaki's ``py2ipa`` makes them.

    ``'''`` on a syllable misaki cannot parse: nothing is better than a wrong sound.
    """
    from misaki.transcription import pinyin_to_ipa

    try:
        parts = pinyin_to_ipa(pinyin)[0]
    except (ValueError, KeyError, IndexError):
        return ""
    out = []
    for p in parts:
        p = p.replace("˧˩˧", "↓").replace("˧˥", "↗").replace("˥˩", "↘").replace("˥", "→")
        out.append(p.replace("ɻ̩", "ɨ").replace("ɹ̩", "ɨ"))
    return "".join(out).replace("\u032f", "")  # the non-syllabic mark: not in the vocabulary


@dataclass(frozen=True)
class Piece:
    """One model call: its token ids (at most :data:`MAX_TOKENS`) and the pause after it."""

    ids: tuple[int, ...]
    phonemes: str
    ends_sentence: bool
    #: The characters of the text it says (start, end): where subtitles find it.
    span: tuple[int, int] = (0, 0)


def load_vocab(path: Path) -> dict[str, int]:
    """The phoneme → token table (``vocab.json`` of the ONNX export)."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["vocab"])


class KokoroFrontend:
    """Text → phonemes → :class:`Piece` s; immutable after construction, thread-safe."""

    def __init__(self, vocab: dict[str, int], reader: Reader | None = None) -> None:
        self.vocab = vocab
        self.reader = reader or Reader()

    def units(self, text: str) -> list[tuple[str, int]]:
        """The text as ``(phonemes or punctuation, break strength after it)`` units, in order.

        A unit is a word's phonemes (break ``WORD``) or a mapped punctuation mark (its
        strength); characters that are not said contribute nothing.
        """
        return [(unit, strength) for unit, strength, _ in self._units(text)]

    def _units(self, text: str, words: Spans | None = None) -> list[tuple[str, int, int]]:
        """:meth:`units`, each with the index one past the last character it covers."""
        readings = self.reader.read(text, sandhi=False, spell=True)
        units: list[tuple[str, int, int]] = []
        for start, end in _words(text) if words is None else words:
            word = ""
            for i in range(start, end):
                reading = readings[i]
                if reading.syllables:
                    word += "".join(syllable_phonemes(s) for s in reading.syllables)
                    continue
                if word:
                    units.append((word, WORD, i))
                    word = ""
                ch = reading.char
                if reading.kind in ("end", "pause") or ch in _SENTENCE_MARKS or ch in _CLAUSE_MARKS:
                    mark = _SENTENCE_MARKS.get(ch) or _CLAUSE_MARKS.get(ch) or ", "
                    strength = SENTENCE if (ch in _SENTENCE_MARKS or reading.kind == "end") else CLAUSE
                    if units and units[-1][1] < CLAUSE:  # never two marks in a row, nor one first
                        units.append((mark, strength, i + 1))
                    elif units and strength > units[-1][1]:
                        units[-1] = (mark, strength, i + 1)
            if word:
                units.append((word, WORD, end))
        return units

    def phonemes(self, text: str) -> str:
        """The phoneme string misaki's format would give for ``text`` (what ``pieces`` encodes)."""
        return _render([u for u, _ in self.units(text)])

    def pieces(self, text: str, max_tokens: int = MAX_TOKENS, words: Spans | None = None) -> list[Piece]:
        """Model calls for ``text``: each at most ``max_tokens`` tokens, cut at the strongest break.

        ``words``: the text's word spans if already cut (:func:`word_spans`), else rjieba here.

        Greedy: a piece takes units while they fit, and is cut after the last sentence end
        in it, else the last clause break, else the last word (past a third of the piece, so
        no tiny pieces); a single word longer than the limit is cut where it must be.
        """
        limit = max(8, min(max_tokens, MAX_TOKENS))
        spanned = self._units(text, words)
        units = [(unit, strength) for unit, strength, _ in spanned]
        rendered = []  # each unit with the space misaki puts before it
        for k, (unit, _) in enumerate(units):
            space = k > 0 and not units[k - 1][0].endswith(" ") and unit[0] not in _PUNCT
            rendered.append((" " if space else "") + unit)
        tokens = [len(self._ids(r)) for r in rendered]
        out: list[Piece] = []
        start = 0
        while start < len(units):
            end, total = start, 0
            while end < len(units) and total + tokens[end] <= limit:
                total += tokens[end]
                end += 1
            cut = end if end == len(units) else _cut_point(units, start, end)
            begin = spanned[start - 1][2] if start else 0
            out.extend(self._piece(units[start:cut], (begin, spanned[cut - 1][2])))
            start = cut
        if out and not out[-1].ends_sentence:  # the text's end is a sentence's end
            out[-1] = Piece(out[-1].ids, out[-1].phonemes, True, out[-1].span)
        return out

    def _ids(self, phonemes: str) -> list[int]:
        vocab = self.vocab
        return [vocab[c] for c in phonemes if c in vocab]

    def _piece(self, units: list[tuple[str, int]], span: tuple[int, int]) -> Iterator[Piece]:
        """One piece, or a word too long for any piece hard-cut into several (the first
        of them carries the span)."""
        phonemes = _render([u for u, _ in units])
        ids = self._ids(phonemes)
        if not any(c not in _PUNCT + " " for c in phonemes):
            return  # punctuation only: nothing to say (and no voice row for it)
        ends = units[-1][1] >= SENTENCE if units else True
        for at in range(0, len(ids), MAX_TOKENS):
            last = at + MAX_TOKENS >= len(ids)
            here = span if at == 0 else (span[1], span[1])
            yield Piece(tuple(ids[at : at + MAX_TOKENS]), phonemes, ends if last else False, here)


def _render(units: list[str]) -> str:
    """Units joined as misaki joins them: words by a space, punctuation carrying its own space."""
    out = ""
    for unit in units:
        if out and not out.endswith(" ") and unit[0] not in _PUNCT:
            out += " "
        out += unit
    return out.strip()


def _cut_point(units: list[tuple[str, int]], start: int, end: int) -> int:
    """Where the piece starting at ``start`` ends, given that ``units[start:end]`` fit.

    After the last sentence end, else clause break, else word, in the last two thirds;
    at least one unit, even one that does not fit alone (it is hard-cut later).
    """
    if end <= start:
        return start + 1
    for strength in (SENTENCE, CLAUSE, WORD):
        for k in range(end, start + max(1, (end - start) // 3) - 1, -1):
            if units[k - 1][1] >= strength:
                return k
    return end


def _words(text: str) -> Spans:
    """Word spans of ``text`` from rjieba on its Simplified form (same length, same positions)."""
    import rjieba

    return _spans(text, rjieba.cut(to_simplified(text)))


def _spans(text: str, cut: Sequence[str]) -> Spans:
    spans = []
    at = 0
    for word in cut:
        spans.append((at, at + len(word)))
        at += len(word)
    if at != len(text):  # rjieba lost or added characters (never seen): one character a word
        return [(i, i + 1) for i in range(len(text))]
    return spans


#: rjieba in a child: Simplified texts in (JSON on stdin), their cuts out (JSON on stdout).
_CUT_CHILD = "import json, sys, rjieba; print(json.dumps([rjieba.cut(t) for t in json.load(sys.stdin)]))"


def word_spans(texts: Sequence[str]) -> list[Spans]:
    """Word spans of each text, as :func:`_words` gives them, cut by rjieba in a child process.

    rjieba's dictionary is 32 MB once loaded, for the life of the process; the synthesis
    process has no other use for it, so a batch's texts are cut by a short-lived child
    (0.2 CPU s) and the dictionary is never in the process that holds the model
    (bench/README.md, issue 22). If the child cannot run, the texts are cut here.
    """
    simplified = [to_simplified(text) for text in texts]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CUT_CHILD],
            input=json.dumps(simplified),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=CUT_TIMEOUT_S,
            check=True,
        )
        cuts = json.loads(done.stdout)
        if not isinstance(cuts, list) or len(cuts) != len(texts):
            raise ValueError("not one cut per text")
    except (OSError, ValueError, subprocess.SubprocessError):
        return [_words(text) for text in texts]
    return [_spans(text, cut) for text, cut in zip(texts, cuts, strict=True)]
