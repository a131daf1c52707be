"""Text → Baker symbol ids for the offline FastSpeech2 voice.

The model was trained (TensorFlowTTS, Baker corpus) on sequences like
``sil zh ong1 #0 g uo2 #3 ... sil eos``: one initial and one toned final per
syllable, ``#0`` between syllables, ``#1``–``#3`` prosody marks, ``sil`` at both
ends. This module rebuilds such sequences from the readings of
:class:`bulletin.engines.reading.Reader` (with tone sandhi: the Baker labels are
written with sandhi tones).

* Clause punctuation (，、：— and friends) becomes ``#3``, the intonation-phrase
  boundary the corpus puts at commas, so the model makes its own natural pause.
  Sentence punctuation (。！？…；) ends a *phrase*: the engine synthesizes phrases
  separately and puts a measured silence between them. This also keeps every
  model call short, far from the model's hard limit of 2048 mel frames.
* A syllable the model's inventory cannot express is dropped; a text with nothing
  speakable yields no phrases rather than an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bulletin.engines.reading import Reader

_TONE3 = re.compile(r"^([a-z]+)([1-5])$")


@dataclass(frozen=True)
class Phrase:
    """One model call's worth of speech: its symbols and the text it came from."""

    text: str
    symbols: tuple[str, ...]  # without the leading/trailing sil and eos
    syllables: int
    ends_sentence: bool  # False when a long sentence was cut here (shorter pause)


class PinyinFrontend:
    """Turns text into Baker symbol-id sequences; immutable after construction."""

    def __init__(self, mapper_path: Path, reader: Reader | None = None) -> None:
        mapper = json.loads(Path(mapper_path).read_text(encoding="utf-8"))
        self._symbol_to_id: dict[str, int] = dict(mapper["symbol_to_id"])
        self._pinyin_dict: dict[str, tuple[str, str]] = {
            k: (v[0], v[1]) for k, v in mapper["pinyin_dict"].items()
        }
        self.reader = reader or Reader()

    # ----------------------------------------------------------------- text

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

    def _items(self, text: str) -> list[str]:
        """The text as a flat list of pinyin syllables and break marks ("#3", "||")."""
        items: list[str] = []
        for reading in self.reader.read(text):
            if reading.kind == "end":
                items.append("||")
            elif reading.kind == "pause":
                items.append("#3")
            else:
                items.extend(reading.syllables)
        return items

    # -------------------------------------------------------------- phrases

    def phrases(self, text: str, max_syllables: int) -> list[Phrase]:
        """Split text into model calls of at most ``max_syllables`` syllables each.

        Sentences end a phrase. A longer sentence is cut at its last clause break
        that fits (``#3``), and a clause still too long is cut evenly, so no call
        comes near the model's position limit.
        """
        sentences: list[list[str]] = [[]]
        for item in self._items(text):
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
