"""Character classes and the sentence splitter shared by the text stages.

Kept in one place so that repair, dedupe and chunk agree on what a Chinese
character, a sentence end and a "speakable" piece of text are.
"""

from __future__ import annotations

import re

#: Ideographs (BMP, Extension A, compatibility, Extensions B+) and the ideographic zero.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f\u3007\u25cb"
#: CJK symbols and punctuation, full-width forms, CJK quotation marks.
CJK_PUNCT = "\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d\u2026\u2014\u00b7"

#: Sentence enders: Chinese full stop, exclamation, question, semicolon, ellipsis.
SENTENCE_END = "。！？；!?;…"
#: Closing marks that belong to the sentence they follow.
CLOSERS = "」』”’）)］]〉》】"
#: Where a long sentence may be cut when it is over the chunk limit.
CLAUSE_END = "，、：,:—"

_END = re.escape(SENTENCE_END)
_CLOSE = re.escape(CLOSERS)
HAN_RE = re.compile(f"[{HAN}]")
_SPEAKABLE_RE = re.compile(rf"[{HAN}A-Za-z0-9\u00c0-\u024f]")
_SENTENCE_RE = re.compile(rf"[^{_END}]+(?:[{_END}]+[{_CLOSE}]*)?|[{_END}]+[{_CLOSE}]*")
_TERMINATED_RE = re.compile(rf"[{_END}][{_CLOSE}]*\s*$")


def split_sentences(text: str) -> list[str]:
    """Split at Chinese sentence ends, keeping the punctuation; ``"".join`` restores ``text``."""
    return _SENTENCE_RE.findall(text)


def is_terminated(sentence: str) -> bool:
    """Does the sentence end with a sentence-ending mark (a paste may cut one off)?"""
    return bool(_TERMINATED_RE.search(sentence))


def is_speakable(text: str) -> bool:
    """Has at least one character a voice can say (not punctuation or symbols only)."""
    return bool(_SPEAKABLE_RE.search(text))


def has_han(text: str) -> bool:
    """Contains at least one Chinese character."""
    return bool(HAN_RE.search(text))
