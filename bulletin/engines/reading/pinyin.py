"""Text → a :class:`Reading` per character: what the offline voices say for it.

Both offline models read through this (Baker turns the readings into its symbols,
:mod:`bulletin.engines.offline.baker.frontend`; Kokoro into phonemes,
:mod:`bulletin.engines.offline.kokoro.frontend`), and so does ``bulletin pronounce``.

Choices, and why:

* Every input character gets a :class:`Reading` (:meth:`Reader.read`), so what
  the voice will say can be shown character by character (``bulletin pronounce``) and
  what it cannot say can be listed (:func:`unspoken`), never dropped silently.
* Readings: pypinyin (its phrase dictionary and segmentation) on the text as it is,
  with polyphones decided in context by :mod:`bulletin.engines.reading.polyphones` (g2pM's
  network on the Simplified form of the text, pypinyin's phrase words where the network
  is unsure): 87.7 % → 97.7 % on CPP dev, in Simplified and in Traditional (``bench/g2p_cpp.py``).
* Tone sandhi (3-3, 一, 不, pypinyin's rules, within a word) is applied, because the Baker
  labels the model learned from are written with sandhi tones (卡尔普 is labelled ka2
  er2 pu3). ``read(..., sandhi=False)`` gives dictionary tones (what Kokoro learned).
* Clause punctuation (，、：— and friends) is a ``pause`` and sentence punctuation
  (。！？…；) an ``end``: each model makes its own kind of break of them.
* Latin letters: Baker has no English phones. Short all-capital tokens
  (acronyms such as WTO, APEC, G) are spelled letter by letter the way Chinese
  newsreaders do (WTO → da2 bu5 liu5 ti4 ou1); other Latin words cannot be said by
  Baker (spelling "Trump" letter by letter is worse than silence): they are skipped and
  listed by :func:`unspoken` (the run reports them; a lexicon entry gives them a reading).
  ``spell=True`` spells them too (up to 12 letters): the Kokoro voices do.
* Stray ASCII digits (text is meant to arrive normalized) are read digit by digit.
* A character pypinyin has no reading for (㘃) is skipped and listed; it used to come
  out as its neutral-tone mark, the digit 5, which the voice read as 五.
* Punctuation, emoji, symbols and markup such as ``<speak>`` are not speech: silent,
  without a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

from pypinyin import Style
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
from pypinyin.contrib.neutral_tone import NeutralToneWith5Mixin
from pypinyin.contrib.tone_convert import to_tone, to_tone3
from pypinyin.contrib.tone_sandhi import ToneSandhiMixin
from pypinyin.converter import DefaultConverter
from pypinyin.core import Pinyin

from bulletin.engines.reading.polyphones import LEXICAL, TRUST, PolyphoneModel, polyphone_model
from bulletin.hanzi import char_readings, to_simplified

#: Bump whenever the same text would be read differently (part of both offline models' cache keys).
READING_VERSION = 3  # 2: polyphones in context (g2pM), unreadable characters skipped; 3: 著 and 发

#: Characters that end a sentence (Baker makes a separate model call per sentence).
SENTENCE_END = frozenset("。！？!?…；;\n")
#: Characters that mark a clause boundary inside a sentence (Baker's ``#3``, a learned pause).
CLAUSE_BREAK = frozenset("，,、：:—–~～")

#: Letters as Chinese newsreaders say them, in pinyin the Baker inventory can express.
LETTER_PINYIN: dict[str, tuple[str, ...]] = {
    "A": ("ei1",),
    "B": ("bi4",),
    "C": ("xi1",),
    "D": ("di4",),
    "E": ("yi4",),
    "F": ("ai4", "fu5"),
    "G": ("ji4",),
    "H": ("ai4", "qi1"),
    "I": ("ai4",),
    "J": ("jie4",),
    "K": ("kai4",),
    "L": ("ai4", "le5"),
    "M": ("ai4", "mu5"),
    "N": ("en1",),
    "O": ("ou1",),
    "P": ("pi1",),
    "Q": ("kou4",),
    "R": ("a4", "er3"),
    "S": ("ai4", "si5"),
    "T": ("ti4",),
    "U": ("you1",),
    "V": ("wei1",),
    "W": ("da2", "bu5", "liu5"),
    "X": ("ai4", "ke4", "si5"),
    "Y": ("wai4",),
    "Z": ("zei4",),
}
#: Longest all-capital token spelled out; longer ones are more likely words than acronyms.
MAX_ACRONYM = 6
#: Longest Latin word spelled when words are spelled (``spell=True``); longer ones are skipped.
MAX_SPELLED = 12

#: Characters of numbers (一 next to them is a digit, read yi1) and of dates (一月, 一號).
_NUMERALS = frozenset("零〇○一二三四五六七八九十兩两")
_DATES = frozenset("月日號号點点")
_DIGIT_PINYIN = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
_TAG = re.compile(r"<[^<>]{0,200}>")
_LATIN = re.compile(r"[A-Za-z]+")

#: What a character is to the voice. ``han``, ``letter``, ``digit``: said (``syllables``);
#: ``pause``: a clause break; ``end``: a sentence end; ``skip``: a word or character the
#: voice cannot say (listed by :func:`unspoken`); ``silent``: punctuation, spaces, symbols.
Kind = Literal["han", "letter", "digit", "pause", "end", "skip", "silent"]


@dataclass(frozen=True)
class Reading:
    """One input character and what the voice says for it."""

    char: str
    syllables: tuple[str, ...]  # pinyin with tone numbers; empty when nothing is said
    kind: Kind


class _Dictionary(NeutralToneWith5Mixin, DefaultConverter):
    """pypinyin converter: dictionary tones, neutral tone written as 5 (Baker's convention)."""


class _Sandhi(ToneSandhiMixin, DefaultConverter):
    """pypinyin's tone sandhi rules (3-3, 一, 不), applied to the readings we chose."""


def _fold(ch: str) -> str:
    """Full-width ASCII to ASCII and the like (NFKC), only where it stays one character."""
    if ch == "\n":
        return ch
    if unicodedata.category(ch)[0] == "C":
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def _is_han(ch: str) -> bool:
    return bool(RE_HANS.match(ch)) and ord(ch) in PINYIN_DICT


@dataclass(frozen=True)
class _Draft:
    """A text prepared for reading: folded, in Simplified, cut into pypinyin's words."""

    text: str  # as given, markup blanked out
    folded: str  # NFKC-folded character by character
    simplified: str  # for the lookups (same length)
    words: tuple[tuple[int, str, tuple[str, ...]], ...]  # (start, word, dictionary readings)
    runs: tuple[tuple[int, int], ...]

    @cached_property
    def traditional(self) -> bool:
        """Is this Traditional text (more than a tenth of its Chinese characters converted)?"""
        han = [i for a, b in self.runs for i in range(a, b)]
        changed = sum(self.folded[i] != self.simplified[i] for i in han)
        return changed * 10 > len(han)

    @classmethod
    def of(cls, text: str, words_of: Callable[[str], tuple[tuple[str, tuple[str, ...]], ...]]) -> _Draft:
        text = _TAG.sub(lambda m: " " * len(m.group()), text)  # markup is not read
        folded = "".join(_fold(ch) for ch in text)
        runs = tuple(_han_runs(folded))
        # pypinyin's words and phrase readings are looked up in Simplified, where its phrase
        # dictionary has its words (銀行行長 is 银行 + 行长 there, unknown words in
        # Traditional); the characters' own readings are still checked on the original.
        simplified = to_simplified(folded) if runs else folded
        words = []
        for start, end in runs:
            pos = start
            for word, syllables in words_of(simplified[start:end]):
                words.append((pos, word, syllables))
                pos += len(word)
        return cls(text, folded, simplified, tuple(words), runs)

    def for_network(self, candidates: Mapping[str, object]) -> tuple[str, list[int]]:
        """The text the network reads (Simplified), and the positions of the characters it decides.

        Always the Simplified form, even for a character the network also knows as it is:
        on Traditional text, 於 left as 於 came out wu1 (as 于 it is yu2).
        """
        text = self.simplified
        return text, [i for a, b in self.runs for i in range(a, b) if text[i] in candidates]


class Reader:
    """Text → one :class:`Reading` per character; immutable after construction, thread-safe.

    Needs no voice model (``bulletin pronounce`` and the run's list of what will be
    skipped use it on their own); the polyphone network is loaded on first use.
    """

    def __init__(self, polyphones: PolyphoneModel | None = None) -> None:
        self._converter = _Dictionary()
        self._pinyin = Pinyin(self._converter)
        self._sandhi = _Sandhi()
        self._polyphones = polyphones

    @property
    def polyphones(self) -> PolyphoneModel:
        if self._polyphones is None:
            self._polyphones = polyphone_model()
        return self._polyphones

    def read(
        self, text: str, *, sandhi: bool = True, polyphones: bool = True, spell: bool = False
    ) -> list[Reading]:
        """What the voice says for each character of ``text`` (same length as ``text``).

        ``polyphones=False`` skips the network (dictionary readings only): enough to know
        what will be skipped, at a fraction of the cost. ``spell``: Latin words that are
        not acronyms are spelled letter by letter too (up to :data:`MAX_SPELLED` letters),
        not skipped: the Kokoro voices do this.
        """
        return self.read_many([text], sandhi=sandhi, polyphones=polyphones, spell=spell)[0]

    def read_many(
        self, texts: Sequence[str], *, sandhi: bool = True, polyphones: bool = True, spell: bool = False
    ) -> list[list[Reading]]:
        """:meth:`read` for several texts at once (the network runs them as one batch)."""
        drafts = [_Draft.of(text, self._words) for text in texts]
        decided: list[dict[int, tuple[str, float]]] = [{} for _ in drafts]
        if polyphones:
            model = self.polyphones
            asked = [d.for_network(model.candidates) for d in drafts]
            for found, (_, positions), guesses in zip(decided, asked, model.predict_many(asked), strict=True):
                found.update(zip(positions, guesses, strict=True))
        return [self._finish(d, found, sandhi, spell) for d, found in zip(drafts, decided, strict=True)]

    def _words(self, run: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """A run of Chinese characters as pypinyin's words, each with its dictionary readings."""
        return tuple((word, self._word(word)) for word in self._pinyin.seg(run))

    @lru_cache(maxsize=65536)  # noqa: B019 - one Reader per process; words repeat a lot
    def _word(self, word: str) -> tuple[str, ...]:
        items = self._converter.convert(word, Style.TONE3, False, "ignore", False)
        syllables = tuple(item[0] for item in items)
        if len(syllables) != len(word):  # a character pypinyin cannot read after all
            syllables = tuple((char_readings(ch) or ("",))[0] for ch in word)
        return syllables

    def _finish(
        self, draft: _Draft, decided: dict[int, tuple[str, float]], sandhi: bool, spell: bool = False
    ) -> list[Reading]:
        text, folded, simplified = draft.text, draft.folded, draft.simplified
        readings: list[Reading | None] = [None] * len(text)
        for start, word, dictionary in draft.words:
            syllables = list(dictionary)
            in_phrase = len(word) > 1 and word in PHRASES_DICT
            for k, ch in enumerate(folded[start : start + len(word)]):
                own = char_readings(ch)
                if not syllables[k] or (own and syllables[k] not in own):
                    syllables[k] = (own or ("",))[0]  # the converted character read otherwise (閤 → 合)
                guess = decided.get(start + k)
                if guess is None:
                    continue
                reading, probability = guess
                if reading == syllables[k]:
                    continue
                # A Traditional character in Simplified text (閤) keeps to its own readings; in
                # Traditional text, where every such character is converted, the network's
                # reading is taken even where pypinyin does not list it (剎 has only sha1 there,
                # 剎那 is cha4). Measured on CPP: Simplified 97.65 % → 97.71 % with the check,
                # Traditional 97.68 % without it, 97.43 % with it.
                if not draft.traditional and own and reading not in own:
                    continue
                if in_phrase and (probability < TRUST or simplified[start + k] in LEXICAL):
                    continue  # a dictionary word with its own reading, and the network unsure
                syllables[k] = reading
            if sandhi:
                syllables = self._apply_sandhi(word, syllables)
            for k, syllable in enumerate(syllables):
                readings[start + k] = Reading(text[start + k], (syllable,) if syllable else (), "han")
        if sandhi:
            for start, word, _ in draft.words:
                if word in ("一", "不"):
                    self._yi_bu(folded, readings, start)
        for m in _LATIN.finditer(folded):
            token = m.group()
            acronym = len(token) <= MAX_ACRONYM and (token.isupper() or len(token) == 1)
            if acronym or (spell and len(token) <= MAX_SPELLED):
                for i in range(m.start(), m.end()):
                    readings[i] = Reading(text[i], LETTER_PINYIN[folded[i].upper()], "letter")
            else:
                for i in range(m.start(), m.end()):
                    readings[i] = Reading(text[i], (), "skip")
        result = []
        for i, found in enumerate(readings):
            if found is None:
                ch = folded[i]
                if ch.isascii() and ch.isdigit():
                    found = Reading(text[i], (_DIGIT_PINYIN[int(ch)],), "digit")
                elif ch in SENTENCE_END:
                    found = Reading(text[i], (), "end")
                elif ch in CLAUSE_BREAK:
                    found = Reading(text[i], (), "pause")
                elif unicodedata.category(ch)[0] in "LN":  # a letter or number with no reading
                    found = Reading(text[i], (), "skip")
                else:
                    found = Reading(text[i], (), "silent")
            result.append(found)
        return result

    @staticmethod
    def _yi_bu(folded: str, out: list[Reading | None], at: int) -> None:
        """一 and 不 standing alone before another word (pypinyin's rules work within words).

        不 before a fourth tone is bu2; 一 before a fourth tone yi2, before others yi4,
        but not in numbers, dates and ordinals (十一, 一九九七, 一月, 第一), where it stays yi1.
        """
        here, after = out[at], out[at + 1] if at + 1 < len(out) else None
        if here is None or after is None or after.kind != "han" or not after.syllables:
            return
        tone = after.syllables[0][-1]
        if folded[at] == "不" and here.syllables == ("bu4",) and tone == "4":
            out[at] = Reading(here.char, ("bu2",), "han")
        elif folded[at] == "一" and here.syllables == ("yi1",):
            before = folded[at - 1] if at else ""
            if (
                before in _NUMERALS
                or before == "第"
                or folded[at + 1] in _NUMERALS
                or folded[at + 1] in _DATES
            ):
                return
            out[at] = Reading(here.char, ("yi2" if tone == "4" else "yi4",), "han")

    def _apply_sandhi(self, word: str, syllables: list[str]) -> list[str]:
        if "一" not in word and "不" not in word and sum(s.endswith("3") for s in syllables) < 2:
            return syllables  # nothing for the rules to change (most words): skip the conversions
        marked = [[to_tone(s)] for s in syllables]
        marked = self._sandhi.post_pinyin(word, False, marked) or marked
        return [to_tone3(item[0], neutral_tone_with_five=True) for item in marked]


def _han_runs(text: str) -> Iterator[tuple[int, int]]:
    """Maximal runs of characters pypinyin can read."""
    start = None
    for i, ch in enumerate(text):
        if _is_han(ch):
            if start is None:
                start = i
        elif start is not None:
            yield start, i
            start = None
    if start is not None:
        yield start, len(text)


def unspoken(readings: list[Reading]) -> list[str]:
    """The words and characters the voice will skip, in order (``iPhone``, ``㘃``)."""
    found: list[str] = []
    word = ""
    for reading in readings:
        if reading.kind == "skip":
            word += reading.char
            continue
        if word:
            found.append(word)
            word = ""
    if word:
        found.append(word)
    return found
