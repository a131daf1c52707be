"""Words and how to say them: the pronunciation lexicon (stage: before normalize).

A lexicon is a TOML file of words, each with what to say instead::

    "曾國城" = "增國城"                     # a respelling: what every engine is sent
    "重慶" = { pinyin = "chong2 qing4" }    # a reading, in pinyin with tone numbers
    "NVIDIA" = "輝達"                       # a Latin word the offline voice cannot say

Why respellings and not markup: Edge takes no phoneme markup (the SSML ``<phoneme>``
tag is refused), so the only way to steer it is the text it is sent. A pinyin entry is
therefore turned into a respelling too, with characters that have that one reading only
in pypinyin's dictionary (重慶 → 崇慶; a character whose usual reading is the wanted one is
kept), chosen among the commonest characters of the article's script (GB2312 level 1
for Simplified, Big5 level 1 for Traditional, characters in both preferred). The offline
voice reads such characters with their only reading, so both engines say the pinyin
(``bulletin pronounce`` shows it). Where no such character exists (neutral tones mostly)
the original character is kept, and ``bulletin lexicon check`` says so.

Where lexicons come from, the more specific winning for the same word: the small
reviewed news lexicon shipped with bulletin (``news_lexicon.toml`` here; place names,
surnames in safe contexts), then the user's (``lexicon.toml`` in the config folder, see
:func:`bulletin.environment.config_dir`), then ``--lexicon FILE`` in the order given.
Every word also matches in the other script (a Traditional entry fixes Simplified text).

Only the spoken form changes (``Chunk.spoken``): the cleaned text, subtitles, tags and
the feed keep the article's words. Pure functions, apart from reading the files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType

from bulletin.errors import InputError
from bulletin.files import NotRegularFile, read_regular
from bulletin.hanzi import char_readings
from bulletin.hanzi import to_simplified as simplified
from bulletin.text.chars import HAN_RE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The lexicon shipped with bulletin (applied unless turned off).
DEFAULT_LEXICON = Path(__file__).with_name("news_lexicon.toml")
#: What an entry may say for its word, at most: this many characters (or syllables) per
#: character of the word (WHO → 世界衛生組織 is 2; IMF → 國際貨幣基金組織 under 3). So applying
#: a lexicon never makes a text more than this many times longer: a lexicon that respelled
#: 的 as a million 的 once grew a bulletin past 3 GB.
MAX_EXPANSION = 8
_SYLLABLE = re.compile(r"^[a-zü:]+[1-5]$")
_LATIN_EDGE = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Entry:
    """One word: a respelling, or a reading in pinyin (then ``respelling`` is computed per script)."""

    word: str
    respelling: str | None = None
    pinyin: tuple[str, ...] | None = None
    source: str = ""

    def spoken(self, script: str) -> str:
        """What the engines are sent for this word in text of ``script`` (``hant``/``hans``)."""
        if self.respelling is not None:
            return self.respelling
        assert self.pinyin is not None
        return respell(self.word, self.pinyin, script)


#: How many applied texts a lexicon remembers (sentences; a bulletin of hours stays bounded).
_REMEMBERED = 20_000


class Lexicon:
    """Merged entries, matched leftmost-longest; immutable after construction."""

    def __init__(self, entries: Mapping[str, Entry] | None = None) -> None:
        self.entries: Mapping[str, Entry] = MappingProxyType(dict(entries or {}))
        #: Texts already applied (a programme's fit plans the same sentences in every round).
        self._said: dict[tuple[str, str], str] = {}

    @cached_property
    def _keys(self) -> dict[str, Entry]:
        """Words are matched in Simplified (text and words both converted, one character for
        one), so a word matches in either script with one converter loaded, not two. Made on
        first use: a run that finds its bulletin unchanged needs only :meth:`digest`."""
        keys: dict[str, Entry] = {}
        for word, entry in self.entries.items():
            key = simplified(word)
            if key not in keys or word == key:  # the word as written wins over a variant
                keys[key] = entry
        return keys

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return _pattern(self._keys)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def matches(self, text: str) -> list[tuple[int, int, Entry]]:
        """``(start, end, entry)`` for every word of the lexicon in ``text``, left to right."""
        if self._pattern is None:
            return []
        return [(m.start(), m.end(), self._keys[m.group()]) for m in self._pattern.finditer(simplified(text))]

    def apply(self, text: str, script: str) -> str:
        """``text`` with every lexicon word replaced by what the engines should be sent."""
        if self._pattern is None:
            return text
        if (text, script) in self._said:
            return self._said[(text, script)]
        out, at = [], 0
        for start, end, entry in self.matches(text):
            out += [text[at:start], say(text[start:end], entry, script)]
            at = end
        out.append(text[at:])
        if len(self._said) < _REMEMBERED:
            self._said[(text, script)] = "".join(out)
        return "".join(out)

    def digest(self) -> str:
        """Changes whenever any entry changes (part of the skip-unchanged fingerprint)."""
        data = sorted((w, e.respelling, e.pinyin) for w, e in self.entries.items())
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:16]


def say(written: str, entry: Entry, script: str) -> str:
    """What the engines are sent for ``written``, a match of ``entry`` in text of ``script``."""
    if entry.pinyin is not None:  # respelled from the word as written here, in its script
        return respell(written, entry.pinyin, script)
    if script == "hans":
        return simplified(entry.spoken(script))  # 增國城 in Simplified text: 增国城
    return entry.spoken(script)


def _pattern(entries: Mapping[str, Entry]) -> re.Pattern[str] | None:
    if not entries:
        return None
    parts = []
    for word in sorted(entries, key=lambda w: (-len(w), w)):  # longest first: leftmost-longest
        part = re.escape(word)
        if _LATIN_EDGE.match(word[0]):
            part = r"(?<![A-Za-z0-9])" + part  # NVIDIA, not the middle of a longer word
        if _LATIN_EDGE.match(word[-1]):
            part += r"(?![A-Za-z0-9])"
        parts.append(part)
    return re.compile("|".join(parts))


# --------------------------------------------------------------------------- files


def parse(text: str, source: str) -> dict[str, Entry]:
    """Entries from TOML text; :class:`InputError` (one line, naming ``source``) if malformed."""
    entries, problems = _parse(text, source)
    if problems:
        raise InputError(problems[0])
    return entries


def _parse(text: str, source: str) -> tuple[dict[str, Entry], list[str]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{source}: not valid TOML: {exc}"]
    entries: dict[str, Entry] = {}
    problems: list[str] = []
    for word, value in data.items():
        where = f"{source}: {word!r}"
        if not word.strip():
            problems.append(f"{source}: an empty word")
            continue
        longest = MAX_EXPANSION * len(word)
        if isinstance(value, str):
            if not value.strip():
                problems.append(f"{where}: empty respelling")
                continue
            if len(value.strip()) > longest:
                problems.append(
                    f"{where}: a respelling of {len(value.strip()):,} characters for {len(word)}; "
                    f"at most {MAX_EXPANSION} per character of the word"
                )
                continue
            entries[word] = Entry(word, respelling=value.strip(), source=source)
        elif isinstance(value, dict) and set(value) == {"pinyin"} and isinstance(value["pinyin"], str):
            syllables = tuple(value["pinyin"].lower().replace("ü", "v").replace("u:", "v").split())
            bad = [s for s in syllables if s not in valid_syllables()]
            if not syllables:
                problems.append(f"{where}: empty pinyin")
            elif len(syllables) > longest:
                problems.append(
                    f"{where}: {len(syllables):,} syllables for {len(word)} characters; "
                    f"at most {MAX_EXPANSION} per character of the word"
                )
            elif bad:
                problems.append(f"{where}: unknown syllable {bad[0]!r} (pinyin with tone numbers 1-5)")
            elif _is_han_word(word) and len(syllables) != len(word):
                problems.append(f"{where}: {len(syllables)} syllables for {len(word)} characters")
            else:
                entries[word] = Entry(word, pinyin=syllables, source=source)
        else:
            problems.append(f'{where}: give a respelling ("...") or {{ pinyin = "..." }}')
    return entries, problems


def check(path: Path) -> list[str]:
    """Every problem in a lexicon file, one line each (empty when it is fine).

    Also says where a pinyin entry cannot be respelled exactly for Edge (no character
    has that reading only), though the file is still usable then.
    """
    try:
        text = _read(path)
    except InputError as exc:
        return [str(exc)]
    entries, problems = _parse(text, str(path))
    for entry in entries.values():
        if entry.pinyin is not None and _is_han_word(entry.word):
            for script in ("hant", "hans"):
                spelled = respell(entry.word, entry.pinyin, script)
                loose = [
                    f"{ch} ({syl})"
                    for ch, syl in zip(spelled, entry.pinyin, strict=True)
                    if char_readings(ch)[0] != syl
                ]
                if loose:
                    problems.append(
                        f"{path}: {entry.word!r}: no character reads only {', '.join(loose)}; "
                        "Edge may read it otherwise"
                    )
                    break
    return problems


def load(path: Path) -> dict[str, Entry]:
    """The entries of one lexicon file; :class:`InputError` if it cannot be read or is malformed."""
    return parse(_read(path), str(path))


#: A lexicon of 200,000 words is about 6 MB; anything over this is not one.
MAX_LEXICON_BYTES = 16 << 20


def _read(path: Path) -> str:
    """A lexicon file's text: a regular file (never a FIFO or ``/dev/zero``), bounded, UTF-8."""
    try:
        data = read_regular(Path(path), MAX_LEXICON_BYTES)
    except NotRegularFile:
        raise InputError(
            f"{path}: not a regular file (a device, pipe or folder); name a lexicon file"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise InputError(f"{path}: over the {MAX_LEXICON_BYTES >> 20} MiB lexicon limit") from None
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def merged(files: Iterable[str | Path] = (), *, user: Path | None = None, default: bool = True) -> Lexicon:
    """The lexicon of a run: shipped default, then the user's file (if there), then ``files``."""
    entries: dict[str, Entry] = {}
    if default:
        entries.update(_default_entries())
    if user is not None and user.is_file():
        entries.update(load(user))
    for path in files:
        entries.update(load(Path(path)))
    return Lexicon(entries)


@cache
def _default_entries() -> Mapping[str, Entry]:
    return MappingProxyType(parse(DEFAULT_LEXICON.read_text(encoding="utf-8"), DEFAULT_LEXICON.name))


# --------------------------------------------------------------------------- readings


#: Every toneless syllable pypinyin's dictionary uses (425), written out so that reading a
#: lexicon never loads pypinyin's 55 MB of dictionaries (a cron run that finds its bulletin
#: unchanged only needs the lexicon's digest).
_BASES = (
    "a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu ca cai "
    "can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai "
    "chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di "
    "dia dian diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng "
    "fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha "
    "hai han hang hao he hei hen heng hm hng hong hou hu hua huai huan huang hui hun huo ji jia jian "
    "jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku "
    "kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin "
    "ling liu lo long lou lu luan lun luo lv lve m ma mai man mang mao me mei men meng mi mian miao mie "
    "min ming miu mo mou mu n na nai nan nang nao ne nei nen neng ng ni nia nian niang niao nie nin ning "
    "niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping "
    "po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri "
    "rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei "
    "shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta "
    "tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei "
    "wen weng wo wong wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye "
    "yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao "
    "zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan "
    "zui zun zuo"
)


@cache
def valid_syllables() -> frozenset[str]:
    """Pinyin syllables with tone numbers 1-5 (``v`` for ü)."""
    return frozenset(base + tone for base in _BASES.split() for tone in "12345")


def _common(ch: str, codec: str, first: int, last: int) -> bool:
    try:
        code = int.from_bytes(ch.encode(codec), "big")
    except UnicodeEncodeError:
        return False
    return first <= code <= last


@cache
def _single_reading_chars(script: str) -> Mapping[str, str]:
    """syllable → a common character whose only reading it is, for ``script``.

    Common: GB2312 level 1 (Simplified) or Big5 level 1 (Traditional), the characters
    every reader and every voice knows; characters common in both scripts first, then
    those in the most dictionary words.
    """
    from pypinyin.constants import PINYIN_DICT

    known = [chr(code) for code in PINYIN_DICT if 0x4E00 <= code <= 0x9FFF]
    gb = {ch for ch in known if _common(ch, "gb2312", 0xB0A1, 0xD7FE)}
    big5 = {ch for ch in known if _common(ch, "big5", 0xA440, 0xC67E)}
    home = big5 if script == "hant" else gb
    uses = _phrase_counts()
    best: dict[str, str] = {}
    for ch in sorted(home, key=lambda c: (c not in (gb & big5), -uses.get(c, 0), ord(c))):
        found = char_readings(ch)
        if len(found) == 1:
            best.setdefault(found[0], ch)
    return MappingProxyType(best)


@cache
def _phrase_counts() -> Mapping[str, int]:
    """How many of pypinyin's phrases each character is in: the commoner first (路, not 戮)."""
    from collections import Counter

    from pypinyin.constants import PHRASES_DICT

    return Counter(ch for phrase in PHRASES_DICT for ch in phrase)


@cache
def respell(word: str, pinyin: tuple[str, ...], script: str) -> str:
    """``word`` written with characters that can only be read as ``pinyin`` (重慶 → 崇慶).

    A character whose usual (first) reading is already the wanted one stays; a word that
    is not all Chinese characters becomes one character per syllable.
    """
    chars = list(word) if _is_han_word(word) and len(word) == len(pinyin) else [""] * len(pinyin)
    home = _single_reading_chars(script)
    other = _single_reading_chars("hans" if script == "hant" else "hant")
    out = []
    for ch, syllable in zip(chars, pinyin, strict=True):
        if ch and char_readings(ch)[0] == syllable:
            out.append(ch)  # its usual reading already (市 shi4, though it has a rare fu2)
        elif syllable in home or syllable in other:
            out.append(home.get(syllable) or other[syllable])
        else:  # no character has only this reading (neutral tones): keep the word's own
            out.append(ch or _any_reading(syllable, script))
    return "".join(out)


def _any_reading(syllable: str, script: str) -> str:
    """A common character whose usual reading is ``syllable`` (the last resort of :func:`respell`)."""
    for ch in sorted(_single_reading_chars(script).values()) + [chr(c) for c in range(0x4E00, 0xA000)]:
        if char_readings(ch)[:1] == (syllable,):
            return ch
    return ""


def _is_han_word(word: str) -> bool:
    return all(HAN_RE.fullmatch(ch) for ch in word)
