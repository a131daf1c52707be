"""Text → Baker symbol ids for the offline FastSpeech2 voice.

The model was trained (TensorFlowTTS, Baker corpus) on sequences like
``sil zh ong1 #0 g uo2 #3 ... sil eos``: one initial and one toned final per
syllable, ``#0`` between syllables, ``#1``–``#3`` prosody marks, ``sil`` at both
ends. This module rebuilds such sequences from plain text with pypinyin.

Choices, and why:

* Traditional characters go to pypinyin as they are: converting to Simplified
  first lost context (進行 came out jin4 hang2 instead of jin4 xing2).
* Tone sandhi (3-3, 一, 不) is applied, because the Baker labels the model learned
  from are written with sandhi tones (卡尔普 is labelled ka2 er2 pu3).
* Clause punctuation (，、：；— and friends) becomes ``#3``, the intonation-phrase
  boundary the corpus puts at commas, so the model makes its own natural pause.
  Sentence punctuation (。！？…) ends a *phrase*: the engine synthesizes phrases
  separately and puts a measured silence between them. This also keeps every
  model call short, far from the model's hard limit of 2048 mel frames.
* Latin letters: the model has no English phones. Short all-capital tokens
  (acronyms such as WTO, APEC, G) are spelled letter by letter the way Chinese
  newsreaders do (WTO → da2 bu5 liu5 ti4 ou1); other Latin words are dropped,
  since spelling "Trump" letter by letter is worse than silence.
* Stray ASCII digits (text is meant to arrive normalized) are read digit by digit.
* Everything else without a pinyin reading (emoji, control characters, markup
  such as ``<speak>``, symbols) is dropped; a text with nothing speakable yields
  no phrases rather than an error.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from pypinyin import Style
from pypinyin.contrib.neutral_tone import NeutralToneWith5Mixin
from pypinyin.contrib.tone_sandhi import ToneSandhiMixin
from pypinyin.converter import DefaultConverter
from pypinyin.core import Pinyin

#: Bump whenever the same text would produce different symbols (part of the cache key).
FRONTEND_VERSION = 1

#: Characters that end a sentence: the engine makes a separate model call per phrase.
SENTENCE_END = frozenset("。！？!?…；;\n")
#: Characters that mark a clause boundary inside a sentence: ``#3`` (a learned pause).
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

_DIGITS = "零一二三四五六七八九"
_TAG = re.compile(r"<[^<>]{0,200}>")
_LATIN = re.compile(r"[A-Za-z]+")
_TONE3 = re.compile(r"^([a-z]+)([1-5])$")


class _Converter(ToneSandhiMixin, NeutralToneWith5Mixin, DefaultConverter):
    """pypinyin converter: sandhi tones, neutral tone written as 5 (Baker's convention)."""


@dataclass(frozen=True)
class Phrase:
    """One model call's worth of speech: its symbols and the text it came from."""

    text: str
    symbols: tuple[str, ...]  # without the leading/trailing sil and eos
    syllables: int
    ends_sentence: bool  # False when a long sentence was cut here (shorter pause)


class PinyinFrontend:
    """Turns text into Baker symbol-id sequences; immutable after construction."""

    def __init__(self, mapper_path: Path) -> None:
        mapper = json.loads(Path(mapper_path).read_text(encoding="utf-8"))
        self._symbol_to_id: dict[str, int] = dict(mapper["symbol_to_id"])
        self._pinyin_dict: dict[str, tuple[str, str]] = {
            k: (v[0], v[1]) for k, v in mapper["pinyin_dict"].items()
        }
        self._pinyin = Pinyin(_Converter())

    # ----------------------------------------------------------------- text

    @staticmethod
    def clean(text: str) -> str:
        """Drop markup and control characters, fold full-width ASCII, keep newlines."""
        text = _TAG.sub(" ", text)
        text = unicodedata.normalize("NFKC", text)
        return "".join(ch if ch == "\n" or unicodedata.category(ch)[0] != "C" else " " for ch in text)

    def syllable_symbols(self, pinyin: str) -> tuple[str, str] | None:
        """``zhong1`` → ``("zh", "ong1")``; None for anything the model cannot say."""
        match = _TONE3.match(pinyin.lower().replace("ü", "v"))
        if not match:
            return None
        base, tone = match.groups()
        if base in ("n", "m", "ng", "hm", "hng"):  # 嗯, 呣…: interjections, said as "en"
            base = "en"
        pair = self._pinyin_dict.get(base)
        if pair is None:
            return None
        return pair[0], pair[1] + tone

    def _latin(self, token: str) -> list[str]:
        """Pinyin for a Latin token: spelled if it looks like an acronym, else nothing."""
        if len(token) <= MAX_ACRONYM and (token.isupper() or len(token) == 1):
            return [p for letter in token.upper() for p in LETTER_PINYIN[letter]]
        return []

    def _items(self, text: str) -> list[str]:
        """The text as a flat list of pinyin syllables and break marks ("#3", "||")."""
        items: list[str] = []
        for piece in self._pinyin.lazy_pinyin(
            text, style=Style.TONE3, errors=lambda chars: [chars], strict=False
        ):
            if _TONE3.match(piece):
                items.append(piece)
                continue
            for match in re.finditer(r"[A-Za-z]+|.", piece, flags=re.S):
                chunk = match.group()
                if _LATIN.fullmatch(chunk):
                    items.extend(self._latin(chunk))
                elif chunk.isdigit() and chunk.isascii():
                    items.extend(self._pinyin.lazy_pinyin(_DIGITS[int(chunk)], style=Style.TONE3))
                elif chunk in SENTENCE_END:
                    items.append("||")
                elif chunk in CLAUSE_BREAK:
                    items.append("#3")
                # anything else (spaces, quotes, brackets, emoji, symbols) is dropped
        return items

    # -------------------------------------------------------------- phrases

    def phrases(self, text: str, max_syllables: int) -> list[Phrase]:
        """Split text into model calls of at most ``max_syllables`` syllables each.

        Sentences end a phrase. A longer sentence is cut at its last clause break
        that fits (``#3``), and a clause still too long is cut evenly, so no call
        comes near the model's position limit.
        """
        sentences: list[list[str]] = [[]]
        for item in self._items(self.clean(text)):
            if item == "||":
                if sentences[-1]:
                    sentences.append([])
            elif item == "#3":
                if sentences[-1] and sentences[-1][-1] != "#3":
                    sentences[-1].append(item)
            elif self.syllable_symbols(item) is not None:
                sentences[-1].append(item)
        result: list[Phrase] = []
        for sentence in sentences:
            parts = _split_long(sentence, max(1, max_syllables))
            for n, part in enumerate(parts):
                symbols: list[str] = []
                for item in part:
                    if item == "#3":
                        if symbols:
                            symbols[-1] = "#3"  # replaces the #0 after the last syllable
                        continue
                    pair = self.syllable_symbols(item)
                    assert pair is not None
                    symbols.extend((*pair, "#0"))
                if symbols:
                    symbols.pop()  # no boundary mark before the closing sil
                    count = sum(1 for item in part if item != "#3")
                    result.append(Phrase(" ".join(part), tuple(symbols), count, n == len(parts) - 1))
        return result

    def ids(self, phrase: Phrase) -> list[int]:
        """Model input ids for one phrase: ``sil … sil eos``."""
        return [self._symbol_to_id[s] for s in ("sil", *phrase.symbols, "sil", "eos")]


def _split_long(items: list[str], limit: int) -> list[list[str]]:
    """Cut a sentence's items into parts of at most ``limit`` syllables."""
    while items and items[-1] == "#3":
        items = items[:-1]
    parts: list[list[str]] = []
    while items:
        syllables = [i for i, item in enumerate(items) if item != "#3"]
        if len(syllables) <= limit:
            parts.append(items)
            break
        end = syllables[limit - 1] + 1  # index just past the limit-th syllable
        breaks = [i for i in range(end) if items[i] == "#3" and i > 0]
        if breaks and breaks[-1] >= end // 3:
            cut = breaks[-1]
        else:
            pieces = -(-len(syllables) // limit)  # even cut: no tiny last piece
            cut = syllables[-(-len(syllables) // pieces) - 1] + 1
        parts.append(items[:cut])
        items = items[cut:]
        while items and items[0] == "#3":
            items = items[1:]
    return [p for p in parts if p]
