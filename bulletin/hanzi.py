"""Chinese characters, for the text stages and the offline voice alike.

Several stages look Traditional text up in Simplified dictionaries while keeping every
character where it was: word segmentation for subtitle breaks, lexicon matching, the
offline voice's polyphone lookup, and same-story folding. They sit in layers that may
not import each other (text and engines), so the conversion lives here, below both, and
OpenCC's tables are loaded once per process. pypinyin's per-character readings are here
for the same reason (the lexicon and the offline frontend both need them).
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from typing import Any


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _tw2s() -> Any:
    import opencc

    return opencc.OpenCC("tw2s")


def to_simplified(text: str) -> str:
    """``text`` in Simplified characters, one character for one (position i stays character i).

    OpenCC converts phrases first (乾隆 stays, 乾燥 → 干燥), which is what a dictionary
    lookup wants; where a phrase rule would change the length, the text is converted
    character by character instead.
    """
    converted: str = _t2s().convert(text)
    if len(converted) == len(text):
        return _zhe(text, converted)
    out = []
    for ch in text:
        one: str = _t2s().convert(ch)
        out.append(one if len(one) == 1 else ch)
    return "".join(out)


def _zhe(text: str, converted: str) -> str:
    """著 as Taiwan writes the particle (隨著, 接著, 睡著, 著急) becomes 着, not 著.

    OpenCC's plain t2s keeps 著 (著名 and 著作 are 著 in Simplified too), and the readers
    then say zhù where Taiwan text means zhe or zháo; its tw2s knows the words, but also
    turns 么 into 幺 and 抬 into 擡. So tw2s decides 著 only.
    """
    if "著" not in text:
        return converted
    taiwan: str = _tw2s().convert(text)
    if len(taiwan) != len(text):
        return converted
    return "".join(
        "着" if ch == "著" and tw == "着" else out
        for ch, tw, out in zip(text, taiwan, converted, strict=True)
    )


@cache
def simplified_table() -> dict[int, str]:
    """OpenCC's Traditional → Simplified *character* table, for ``str.translate``.

    Much faster than :func:`to_simplified` (no phrase rules), for comparing texts rather
    than looking words up.
    """
    path = importlib.resources.files("opencc") / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if len(key) == 1 and values:
            table[ord(key)] = values.split(" ")[0]
    return table


@cache
def char_readings(ch: str) -> tuple[str, ...]:
    """pypinyin's readings of a character (empty if it has none), TONE3 with 5 for neutral."""
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_tone3

    value = PINYIN_DICT.get(ord(ch))
    if not value:
        return ()
    return tuple(dict.fromkeys(to_tone3(v, neutral_tone_with_five=True) for v in value.split(",")))
