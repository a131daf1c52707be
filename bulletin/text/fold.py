"""Read each event once: fold articles about the same event into one story (stage: fold).

A newsroom's input holds the same event several times: the Central News Agency's
Traditional story and Xinhua's Simplified one, a flash (``快訊／…``) and the full story
that followed it, one wire story carried by two feeds under two headlines. Sentence
dedupe cannot see these (the sentences differ), so articles are compared as wholes first,
and each group about one event becomes one story: the fullest version, preferring the
bulletin's script when two are about as long, at the place of the group's earliest
article. What was folded into what, and how similar it was, is returned for ``-v``, the
report and the dry-run JSON.

Telling one event from another that only shares its topic (two earthquakes on one day,
two central banks' decisions) is the hard part: such decoys share a lot of wording. The
method was chosen on ``tests/data/same_story`` (36 articles, 15 events, decoys in pairs;
``bench/fold_bench.py``, figures in ``bench/README.md``). There, plain shingle overlap
(MinHash Jaccard on 3-grams, exact containment of bigrams) scored some decoy pairs
*higher* than some true pairs whatever the threshold; what separates them is:

* **one script, no furniture.** Articles are compared after NFKC and Traditional →
  Simplified folding character by character (OpenCC's character table; its phrase
  conversion costs 0.18 s per 70,000 characters in pure Python, and characters are all a
  comparison needs), with datelines, editor credits and flash markers taken out: they make
  any two stories of one agency look alike.
* **rare characters weigh more.** The evidence is the character bigrams (Han characters
  and digits), each weighing 1, 2 or 3 as its rarer character is among the 1,000 most
  common characters, the 3,500 most common, or rarer (digits 2): place and person names
  and figures count, 表示 and 今天 little. The weight of what two articles share is
  divided by the weight of the *smaller* one (containment), so a flash inside its full
  story scores high. The weights come from a fixed table, not from the batch (as IDF
  would), so the decision on two articles does not depend on what else came in, with
  one exception:
* **a site's own text weighs nothing.** What nearly all the articles of one site (a page's
  host, or the feed or folder they came from) share in a run, and what nearly all the
  articles of a large run share, is the template's (a byline and share row, an ad block,
  an editor's credit that extraction let through), not the event's: bigrams, numbers and
  anchors found there are left out of both articles before they are compared
  (:data:`COMMON_MIN`, :data:`COMMON_SHARE`, :data:`RUN_MIN`). Three events on one
  template then stay three stories; two articles are one event only on what is
  particular to them.
* **facts.** Every number both give (5.8, 10, 589.3, 2%) adds :data:`NUMBER_BONUS` (three
  at most); two articles that both give decimals (magnitudes, rates, amounts) and share
  none lose :data:`CONFLICT_PENALTY`, and two that both give three figures or more but
  agree on fewer than half of them lose :data:`DISAGREE_PENALTY`: a second earthquake in
  the same county is told in the same words, with another time, magnitude and depth (a
  flash's one or two early figures, 4 dead where the full story says 13, do not count).
* **anchors.** Two articles that both name places (the two characters before 市/县/区/乡/
  镇/省/州, or a Taiwanese city or county named bare: 台中市西屯区 and 台中西屯 share 台中), or
  both name laws (the four characters before 法 or 条例, or what 《》 enclose), and share
  none of that kind lose :data:`ANCHOR_PENALTY`, which no pair survives: a fire in
  高雄市苓雅区 told in the words of one in 台中市西屯区, amendments to another law, a cold
  warning for other counties (``tests/data/same_story/decoys.toml``).

Two articles are about one event at :data:`THRESHOLD` or more, and a story is a connected
group (a flash joins its full story even when it shares little with another agency's
rewrite). Only pairs that share two rare keys (bigrams with a less common character, or
numbers) are compared, through an inverted index, and a pair already in one story is not
compared again, so the stage stays near-linear for hundreds of articles. Pure functions.

**Digests.** An article that repeats several stories (a round-up, 今日新聞摘要) scores high
with each of them (each is contained in it), so it would join them all into one group
and, being the fullest, be the one read: six stories swallowed by their summary. So in a
group of three or more, an article linked to articles that tell *different* events (not
linked to each other, once it is set aside) and that each match *different* paragraphs of
it (or sentences, in a one-paragraph digest) is a digest: it is left out, folded into the
story it is closest to, and the stories it repeats stay apart (:func:`_split_digests`).
A full story with its flash and another agency's rewrite is not taken for one: the flash
and the rewrite match the same lead.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bulletin.hanzi import simplified_table
from bulletin.text.chars import HAN, split_sentences
from bulletin.text.common_chars import COMMON, VERY_COMMON
from bulletin.text.normalize import detect_script

#: Two articles scoring this or more tell one event: the middle of the thresholds that
#: give exactly the events of the same-story set (0.26–0.39; bench/README.md).
THRESHOLD = 0.33
#: Added for each number both articles give, for at most :data:`MAX_NUMBERS` of them.
NUMBER_BONUS = 0.05
MAX_NUMBERS = 3
#: Taken off when both articles give decimals and share none (5.8 vs 6.1 on the Richter scale).
CONFLICT_PENALTY = 0.15
#: Taken off when both give :data:`MIN_FIGURES` or more figures (any number but dates) and
#: share fewer than half of the smaller set: a second earthquake in the same county, told
#: in the same words at another time, with another magnitude and depth. A flash's one or
#: two early figures (4 dead; the full story says 13) are not held against it.
DISAGREE_PENALTY = 0.25
MIN_FIGURES = 3
#: Taken off when both articles name places, or both name laws, and share none of that kind:
#: a fire in 台中市西屯區 and one in 高雄市苓雅區, amendments to two laws, cold warnings for
#: two pairs of counties are told in the same formula (0.71, 0.55, 0.87 without it). In effect
#: a veto: no pair scores over 1.15 before it (containment 1, three numbers' bonus).
ANCHOR_PENALTY = 1.0
#: Articles with fewer comparable characters (after furniture) say too little to be folded.
MIN_CHARS = 30
#: Versions within this share of the longest are "as full"; the bulletin's script decides.
SIMILAR_LENGTH = 0.85
#: Only pairs sharing this many rare keys are scored: on the same-story sets every pair
#: that tells one event and scores over the threshold shares 2 to 19, other pairs 0.25–0.7 on average.
MIN_SHARED_KEYS = 2
#: Keys carried by more articles than this say little about one event and are not indexed.
MAX_POSTINGS = 100
#: Text common to this many articles of one site (or folder) in the run, and to at least
#: :data:`COMMON_SHARE` of them, is the site's (a byline and share row, an ad block, an
#: editor's credit its template puts in every article) and weighs nothing: three different
#: events on one template scored 0.54–0.55 on it and were read as one story. The share is
#: high because a template is in every page, and four of a site's five items about one
#: event must still fold (items all about one event cannot be told from a template: they
#: may stay apart, and sentence dedupe then drops what they repeat word for word).
COMMON_MIN = 3
COMMON_SHARE = 0.9
#: Across the whole run, text in :data:`RUN_SHARE` of the articles of a run of at least
#: :data:`RUN_MIN` weighs nothing either (what every story of the day says). Smaller runs
#: are not judged whole: three agencies telling one event share its words.
RUN_MIN = 10
RUN_SHARE = 0.9
#: A paragraph (or sentence) of a digest is "about" an article when this share of its weight
#: is in that article.
COVER = 0.5
#: Groups larger than this are not searched for digests (every pair of them is scored).
MAX_DIGEST_GROUP = 64

# After NFKC (full-width brackets and colons are ASCII) and folding to Simplified.
_FURNITURE = re.compile(
    r"\([^()]{0,40}?(?:电|报导|报道)\)"  # （中央社記者汪淑芬台北26日電）
    r"|\(编辑[:：][^()]{0,20}\)\d{0,8}"  # （編輯：陳俊華）1151126
    r"|新华社[^\s,。]{0,12}?\d+月\d+日电(?:\(记者[^()]{0,12}\))?"  # 新华社北京11月26日电（记者…）
    r"|(?:快讯|快报|突发)/"
)
_COMPARABLE = re.compile(f"[{HAN}0-9.]+")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])(%?)")
_DATE_UNITS = "日月年"
_DIGITS = re.compile(r"[0-9.]")
# Anchors, read after folding to Simplified: the two characters before a place suffix
# (台中市西屯区 → 台中, 西屯), Taiwan's cities and counties and a few others named bare
# (台中西屯 → 台中), and laws: the four characters before 法 or 条例, or what 《》 enclose.
_PLACE = re.compile(f"(?=([{HAN}]{{2}})([市县区乡镇省州]))")
_NOT_PLACE_WORDS = (
    "地区社区景区园区灾区城区郊区山区市区辖区特区战区选区街区小区分区产区海区专区学区"
    "城市上市股市都市县市超市门市夜市全市本市该市各市城乡家乡乡镇城镇重镇全县本县该县"
    "各县全省本省该省各省外省节省反省全区本区该区各区地市"
)  # two characters each
_NOT_PLACES = frozenset(_NOT_PLACE_WORDS[i : i + 2] for i in range(0, len(_NOT_PLACE_WORDS), 2))
_SUFFIXES = frozenset("市县区乡镇省州")
_NOT_FIRST = frozenset("在于从向对的与和及到至由往赴抵是为")  # 在德州: a one-character name
_NOT_AFTER = frozenset("场值况面域间块")  # 市场, 市值, 市况, 市面, 区域, 区间, 区块
_CITIES = re.compile(
    "台北|新北|桃园|台中|台南|高雄|基隆|新竹|苗栗|彰化|南投|云林|嘉义|屏东|宜兰|花莲|台东|澎湖|金门|马祖"
    "|北京|上海|天津|重庆|广州|深圳|香港|澳门|东京|大阪|首尔"
)
_LAW = re.compile(f"《([^《》]{{1,30}})》|(?=([{HAN}]{{4}})(法(?![院律官规人庭治务令案])|条例))")
_NOT_LAWS = frozenset("立方办做说司执违依合非修看想无设手语算疗变兵军宪刑民")
_VERY_COMMON = frozenset(VERY_COMMON)
_COMMON = frozenset(COMMON)


@dataclass(frozen=True)
class Folded:
    """One article read as part of another's story."""

    index: int  # the article folded away (its place in the input)
    matched: int  # the article it was found to tell the same event as
    similarity: float  # their score (see the module docstring)


@dataclass(frozen=True)
class Fold:
    """One story told by several articles: the one kept, and the others."""

    kept: int
    folded: tuple[Folded, ...]

    def to_dict(self, sources: Sequence[str]) -> dict[str, object]:
        """For JSON: articles named by their index and source."""
        return {
            "kept": {"index": self.kept, "source": sources[self.kept]},
            "folded": [
                {
                    "index": f.index,
                    "source": sources[f.index],
                    "matched": sources[f.matched],
                    "similarity": round(f.similarity, 3),
                }
                for f in self.folded
            ],
        }


@dataclass(frozen=True)
class _Raw:
    """What an article is compared on, before the run's common text is taken out."""

    grams: frozenset[str]
    numbers: frozenset[str]
    decimals: frozenset[str]
    figures: frozenset[str]
    length: int
    places: frozenset[str]
    laws: frozenset[str]


@dataclass(frozen=True)
class _Common:
    """Text common to many articles of the run or of one site: bigrams, numbers, anchors."""

    grams: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    laws: frozenset[str] = frozenset()


_NOTHING = _Common()


@dataclass(frozen=True)
class _Features:
    grams: frozenset[str]
    weight: float
    numbers: frozenset[str]
    decimals: frozenset[str]
    figures: frozenset[str]
    keys: frozenset[str]
    length: int
    places: frozenset[str]
    laws: frozenset[str]


def comparable(text: str) -> str:
    """``text`` as compared: NFKC, Simplified characters, wire furniture taken out."""
    folded = unicodedata.normalize("NFKC", text).translate(simplified_table())
    return _FURNITURE.sub("", folded)


def _char_weight(ch: str) -> int:
    if ch in _VERY_COMMON:
        return 1
    return 2 if ch in _COMMON or ch.isdigit() or ch == "." else 3


def anchors(body: str) -> tuple[frozenset[str], frozenset[str]]:
    """The places and the laws an article (as :func:`comparable` gives it) names."""
    places = {m.group() for m in _CITIES.finditer(body)}
    for m in _PLACE.finditer(body):
        name, suffix = m.groups()
        after = body[m.end(2) : m.end(2) + 1]
        if (
            name[1] + suffix not in _NOT_PLACES
            and after not in _NOT_AFTER
            and not set(name) & _SUFFIXES
            and name[0] not in _NOT_FIRST
        ):
            places.add(name)
    laws = set()
    for m in _LAW.finditer(body):
        enclosed, name, suffix = m.groups()
        if enclosed:
            keep = 5 if enclosed.endswith("法") else 6 if enclosed.endswith("条例") else len(enclosed)
            laws.add(enclosed[-keep:])
        elif suffix == "条例" or name[-1] not in _NOT_LAWS:
            laws.add(name + suffix)
    return frozenset(places), frozenset(laws)


def _raw(text: str) -> _Raw:
    body = comparable(text)
    kept = "".join(_COMPARABLE.findall(body))
    grams = frozenset(kept[i : i + 2] for i in range(len(kept) - 1))
    numbers: set[str] = set()
    decimals: set[str] = set()
    figures: set[str] = set()
    for match in _NUMBER.finditer(body):
        value, percent = match.groups()
        after = body[match.end() : match.end() + 1]
        if after and after in _DATE_UNITS:
            continue  # 26日, 11月: every story of the day has them
        figures.add(value + percent)
        if percent:
            numbers.add(value + "%")
        if "." in value:
            decimals.add(value)
        if "." in value or len(value) >= 2:
            numbers.add(value)
    return _Raw(grams, frozenset(numbers), frozenset(decimals), frozenset(figures), len(kept), *anchors(body))


def _finish(raw: _Raw, weights: dict[str, int], common: _Common) -> _Features:
    grams = raw.grams - common.grams
    for gram in grams:
        if gram not in weights:
            weights[gram] = max(_char_weight(gram[0]), _char_weight(gram[1]))
    numbers = raw.numbers - common.numbers
    # digit bigrams (the 12 of 12时 and of 2012) would make every article a candidate: numbers are keys whole
    keys = frozenset(g for g in grams if weights[g] > 1 and not _DIGITS.search(g))
    keys |= {"#" + n for n in numbers}
    return _Features(
        grams,
        float(sum(weights[g] for g in grams)),
        numbers,
        raw.decimals - common.numbers,
        raw.figures - common.numbers,
        keys,
        raw.length,
        raw.places - common.places,
        raw.laws - common.laws,
    )


def _features(text: str, weights: dict[str, int], common: _Common = _NOTHING) -> _Features:
    return _finish(_raw(text), weights, common)


def _shared(raws: Sequence[_Raw], groups: Sequence[str | None]) -> _Common:
    """What many articles of one site (:data:`COMMON_MIN`, :data:`COMMON_SHARE`) or of the
    whole run (:data:`RUN_MIN`, :data:`RUN_SHARE`) have in common."""
    by_site: dict[str, list[_Raw]] = {}
    for raw, group in zip(raws, groups, strict=True):
        if group is not None:
            by_site.setdefault(group, []).append(raw)
    found: dict[str, set[str]] = {"grams": set(), "numbers": set(), "places": set(), "laws": set()}
    judged = [(members, COMMON_SHARE) for members in by_site.values() if len(members) >= COMMON_MIN]
    if len(raws) >= RUN_MIN:
        judged.append((list(raws), RUN_SHARE))
    for members, share in judged:
        need = max(COMMON_MIN, math.ceil(share * len(members)))
        for name, kept in found.items():
            counts: Counter[str] = Counter()
            for raw in members:
                counts.update(getattr(raw, name))
            kept.update(item for item, n in counts.items() if n >= need)
    return _Common(**{name: frozenset(kept) for name, kept in found.items()})


def similarity(a: _Features, b: _Features, weights: dict[str, int]) -> float:
    """How surely ``a`` and ``b`` tell one event (see the module docstring); 0 without text."""
    smaller = min(a.weight, b.weight)
    if not smaller:
        return 0.0
    text = sum(weights[g] for g in a.grams & b.grams) / smaller
    agree = min(len(a.numbers & b.numbers), MAX_NUMBERS)
    conflict = bool(a.decimals and b.decimals and not a.decimals & b.decimals)
    fewer = min(len(a.figures), len(b.figures))
    disagree = fewer >= MIN_FIGURES and 2 * len(a.figures & b.figures) < fewer
    apart = any(x and y and not x & y for x, y in ((a.places, b.places), (a.laws, b.laws)))
    return (
        text
        + NUMBER_BONUS * agree
        - CONFLICT_PENALTY * conflict
        - DISAGREE_PENALTY * disagree
        - ANCHOR_PENALTY * apart
    )


def score_texts(texts: Sequence[str], groups: Sequence[str | None] | None = None) -> list[list[float]]:
    """Every pair's score, for the benchmark and the tests (quadratic: not used to fold)."""
    weights: dict[str, int] = {}
    raws = [_raw(t) for t in texts]
    common = _shared(raws, groups or [None] * len(texts))
    features = [_finish(r, weights, common) for r in raws]
    return [[similarity(a, b, weights) for b in features] for a in features]


def fold(
    stories: Sequence[Sequence[str]], script: str, groups: Sequence[str | None] | None = None
) -> tuple[list[int], tuple[Fold, ...]]:
    """Group the stories (each a list of paragraphs) by event.

    Returns which stories to keep, in bulletin order (each at the place of its group's
    earliest story), and the folds (kept story, the others and their similarity).
    ``script`` is the bulletin's (``"hant"`` or ``"hans"``): of two versions about as
    full, the one in it is kept. ``groups``: each story's site (its page's host, or the
    feed or folder it came from; None when unknown), so that what a site's template puts
    in all its articles weighs nothing (:data:`COMMON_MIN`).
    """
    weights: dict[str, int] = {}
    texts = ["".join(story) for story in stories]
    raws = [_raw(t) for t in texts]
    common = _shared(raws, groups or [None] * len(texts))
    features = [_finish(r, weights, common) for r in raws]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best: dict[int, tuple[float, int]] = {}  # article → (its strongest link, to whom)
    postings: dict[str, list[int]] = {}
    for i, mine in enumerate(features):
        if mine.length < MIN_CHARS:
            continue
        shared: dict[int, int] = {}
        for key in mine.keys:
            earlier = postings.setdefault(key, [])
            if len(earlier) < MAX_POSTINGS:
                for j in earlier:
                    shared[j] = shared.get(j, 0) + 1
                earlier.append(i)
        for j in sorted(
            (j for j, n in shared.items() if n >= MIN_SHARED_KEYS), key=shared.__getitem__, reverse=True
        ):
            if root(j) == root(i):
                continue  # already one story: a further link changes nothing
            score = similarity(mine, features[j], weights)
            if score < THRESHOLD:
                continue
            parent[root(j)] = root(i)
            for a, b in ((i, j), (j, i)):
                if a not in best or score > best[a][0]:
                    best[a] = (score, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    kept_at: dict[int, int] = {}  # the group's earliest article → the article kept
    folds: list[Fold] = []
    for group in groups.values():
        stories_of_group, digests = _split_digests(group, stories, features, weights, common)
        kept_of: list[int] = []
        for members in stories_of_group:
            keep = _fullest(members, features, texts, script)
            kept_at[members[0]] = keep
            kept_of.append(keep)
            folded = tuple(Folded(m, *_link(m, keep, best, features, weights)) for m in members if m != keep)
            for digest, (score, into) in digests.items():  # a digest: folded into its closest story
                if into in members:
                    folded += (Folded(digest, into, score),)
            if folded:
                folds.append(Fold(keep, tuple(sorted(folded, key=lambda f: f.index))))
    order = [kept_at[i] for i in range(len(texts)) if i in kept_at]
    place = {kept: n for n, kept in enumerate(order)}
    folds.sort(key=lambda f: place[f.kept])
    return order, tuple(folds)


def _split_digests(
    group: list[int],
    stories: Sequence[Sequence[str]],
    features: list[_Features],
    weights: dict[str, int],
    common: _Common = _NOTHING,
) -> tuple[list[list[int]], dict[int, tuple[float, int]]]:
    """A group's stories once its digests are set aside, and each digest's closest article.

    Returns the group's members as lists of one event each (the group itself when it has no
    digest), and for each digest (score, the member it is closest to). See the module
    docstring; every pair of the group is scored, so only groups of three to
    :data:`MAX_DIGEST_GROUP` are searched.
    """
    if not 3 <= len(group) <= MAX_DIGEST_GROUP:
        return [group], {}
    score = {(a, b): similarity(features[a], features[b], weights) for a in group for b in group if a < b}

    def pair(a: int, b: int) -> float:
        return score[(a, b) if a < b else (b, a)]

    def linked(a: int, b: int) -> bool:
        return pair(a, b) >= THRESHOLD

    found: list[int] = []
    for candidate in sorted(group, key=lambda m: -features[m].length):
        rest = [m for m in group if m != candidate and m not in found]
        events = _components([m for m in rest if linked(candidate, m)], linked)
        if len(events) >= 2 and _tells_apart(stories[candidate], events, features, weights, common):
            found.append(candidate)
    if not found:
        return [group], {}
    kept = [m for m in group if m not in found]
    digests = {}
    for digest in found:
        closest = max(kept, key=lambda m: pair(digest, m))
        digests[digest] = (pair(digest, closest), closest)
    return _components(kept, linked), digests


def _components(members: list[int], linked: Callable[[int, int], bool]) -> list[list[int]]:
    """``members`` in connected groups (each in input order, groups by their first member)."""
    groups: list[list[int]] = []
    for m in members:
        joined = [g for g in groups if any(linked(m, other) for other in g)]
        merged = sorted([m, *(x for g in joined for x in g)])
        groups = [g for g in groups if g not in joined] + [merged]
    return sorted(groups, key=lambda g: g[0])


def _tells_apart(
    digest: Sequence[str],
    events: list[list[int]],
    features: list[_Features],
    weights: dict[str, int],
    common: _Common = _NOTHING,
) -> bool:
    """Do two of ``events`` each match parts of ``digest`` that the other does not?

    The parts are its paragraphs, or its sentences when it has one paragraph only; an
    event matches a part holding :data:`COVER` of its weight in any of the event's articles.
    """
    parts = [p for p in digest if p.strip()]
    if len(parts) < 2:
        parts = split_sentences("".join(parts))
    grams = [_features(part, weights, common).grams for part in parts]  # the site's text: weightless
    matched: list[frozenset[int]] = []
    for event in events:
        found = set()
        for n, part in enumerate(grams):
            whole = sum(weights[g] for g in part)
            if whole and any(
                sum(weights[g] for g in part & features[m].grams) >= COVER * whole for m in event
            ):
                found.add(n)
        matched.append(frozenset(found))
    return any(a and b and not a & b for a, b in itertools.combinations(matched, 2))


def _link(
    member: int,
    keep: int,
    best: dict[int, tuple[float, int]],
    features: list[_Features],
    weights: dict[str, int],
) -> tuple[int, float]:
    """Whom ``member`` was matched with and how closely: the kept article if it is a link."""
    direct = similarity(features[member], features[keep], weights)
    score, other = best[member]
    return (keep, direct) if direct >= THRESHOLD or other == keep else (other, score)


def _fullest(members: list[int], features: list[_Features], texts: list[str], script: str) -> int:
    """The version to read: the fullest; of those about as full, one in the bulletin's script."""
    longest = max(features[m].length for m in members)
    full = [m for m in members if features[m].length >= SIMILAR_LENGTH * longest]
    in_script = [m for m in full if detect_script(texts[m]) == script] or full
    return max(in_script, key=lambda m: (features[m].length, -m))
