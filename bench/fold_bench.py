"""The same story once (issue 9, item 4): how well articles are folded, and how fast.

Not a test: run it by hand from the repository root with the project's venv.

    python bench/fold_bench.py              # accuracy on both sets, the methods compared, 500 articles timed
    python bench/fold_bench.py --articles 2000

1. **Pairing** on ``tests/data/same_story/articles.toml`` (the set the threshold was chosen
   on) and ``heldout.toml`` (written with it, used only to check): a pair of articles is
   *true* when both tell one event, *found* when the bulletin reads them as one story.
   Precision = true found / found, recall = true found / true.
2. **Methods compared** on both sets: for each way of scoring two articles, the thresholds
   at which connected groups are exactly the events (the wider the better), else the best
   precision / recall any threshold gives. MinHash (datasketch, 128 permutations) is
   included when datasketch is installed (it is not a dependency).
3. **Timing**: folding N articles synthesized from the sets by variation (figures changed,
   sentences dropped, some in the other script), as ``clean_articles`` runs it, best of 5.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bulletin.hanzi import simplified_table  # noqa: E402
from bulletin.text import fold as fold_module  # noqa: E402
from bulletin.text.fold import THRESHOLD, comparable, fold  # noqa: E402
from bulletin.text.normalize import detect_script  # noqa: E402
from bulletin.text.pipeline import clean_articles  # noqa: E402
from bulletin.text.read import Article  # noqa: E402
from bulletin.text.repair import repair  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = ROOT / "tests" / "data" / "same_story"
Row = dict[str, str]


def load(name: str) -> list[Row]:
    with (DATA / name).open("rb") as f:
        return tomllib.load(f)["article"]


def pairing(rows: Sequence[Row], group: Sequence[int]) -> tuple[float, float, int, int, int]:
    """Precision, recall, true found, false found, missed."""
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(rows)), 2):
        same, together = rows[i]["event"] == rows[j]["event"], group[i] == group[j]
        tp += same and together
        fp += together and not same
        fn += same and not together
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp, fp, fn


def folded_groups(rows: Sequence[Row]) -> list[int]:
    articles = [Article(r["id"], r["text"].strip(), "utf-8", "", 0) for r in rows]
    clean = clean_articles(articles)
    group = list(range(len(rows)))
    for f in clean.folded:
        for member in f.folded:
            group[member.index] = f.kept
    return group


# --------------------------------------------------------------------------- methods


def _connected(n: int, scores: list[list[float]], tau: float) -> list[int]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(n), 2):
        if scores[i][j] >= tau:
            parent[root(i)] = root(j)
    return [root(i) for i in range(n)]


def _bigrams(text: str) -> set[str]:
    kept = "".join(re.findall(r"[\u3400-\u9fff0-9.]+", text))
    return {kept[i : i + 2] for i in range(len(kept) - 1)}


def _containment(texts: Sequence[str]) -> list[list[float]]:
    grams = [_bigrams(t) for t in texts]
    return [[len(a & b) / max(1, min(len(a), len(b))) for b in grams] for a in grams]


def _weighted_only(texts: Sequence[str]) -> list[list[float]]:
    """The chosen score without the numbers' bonus and penalty."""
    weights: dict[str, int] = {}
    feats = [fold_module._features(t, weights) for t in texts]
    out = []
    for a in feats:
        row = []
        for b in feats:
            smaller = min(a.weight, b.weight)
            row.append(sum(weights[g] for g in a.grams & b.grams) / smaller if smaller else 0.0)
        out.append(row)
    return out


def _minhash(texts: Sequence[str], fold_script: bool) -> list[list[float]] | None:
    try:
        from datasketch import MinHash
    except ImportError:
        return None
    sketches = []
    for t in texts:
        body = comparable(t) if fold_script else t
        kept = "".join(re.findall(r"[\u3400-\u9fff0-9.]+", body))
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([kept[i : i + 3].encode() for i in range(len(kept) - 2)])
        sketches.append(m)
    return [[a.jaccard(b) for b in sketches] for a in sketches]


def _without_disagreement(texts: Sequence[str]) -> list[list[float]]:
    """The chosen score without the penalty for figures that disagree."""
    saved, fold_module.DISAGREE_PENALTY = fold_module.DISAGREE_PENALTY, 0.0
    try:
        return fold_module.score_texts(texts)
    finally:
        fold_module.DISAGREE_PENALTY = saved


METHODS: list[tuple[str, Callable[[Sequence[str]], list[list[float]] | None]]] = [
    ("MinHash 3-grams, as written (datasketch)", lambda t: _minhash(t, False)),
    ("MinHash 3-grams, folded (datasketch)", lambda t: _minhash(t, True)),
    ("bigram containment, as written", _containment),
    ("bigram containment, folded, no furniture", lambda t: _containment([comparable(x) for x in t])),
    ("+ rare characters weigh more", _weighted_only),
    ("+ numbers: shared ones, different decimals", _without_disagreement),
    ("+ figures that disagree (chosen: bulletin.text.fold)", fold_module.score_texts),
]


def compare_methods(sets: dict[str, list[Row]]) -> None:
    print("\n| method | " + " | ".join(f"{name}: exact at" for name in sets) + " |")
    print("|---|" + "---|" * len(sets))
    taus = [x / 100 for x in range(1, 120)]
    for label, method in METHODS:
        cells = []
        for rows in sets.values():
            texts = ["".join(repair(r["text"])) for r in rows]
            scores = method(texts)
            if scores is None:
                cells.append("(datasketch not installed)")
                continue
            results = [(pairing(rows, _connected(len(rows), scores, tau))[:2], tau) for tau in taus]
            exact = [tau for (p, r), tau in results if p == r == 1.0]
            if exact:
                cells.append(f"{exact[0]:.2f}–{exact[-1]:.2f}")
            else:
                (p, r), tau = max(results, key=lambda x: (min(x[0]), sum(x[0])))
                cells.append(f"never (best P {p:.2f} R {r:.2f} at {tau:.2f})")
        print(f"| {label} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- timing

_DIGIT = re.compile(r"\d")


def synthesize(rows: Sequence[Row], n: int, seed: int = 7) -> tuple[list[str], list[int]]:
    """``n`` articles varied from ``rows``, and the event of each.

    Each event is a set article with its names and figures replaced: every character
    outside the 1,000 most common by another less common one, every digit by another
    (one mapping per event), so events made from one article are look-alikes that share
    all their wording but names and figures. Each event is told three times: sentences
    dropped (the lede stays), a third of the versions in the other script, some a flash
    (the lede only).
    """
    try:
        import opencc

        to_hant, to_hans = opencc.OpenCC("s2t").convert, opencc.OpenCC("t2s").convert
    except ImportError:  # pragma: no cover
        to_hant = to_hans = str
    from bulletin.text.common_chars import COMMON, VERY_COMMON

    common, rare_pool = set(VERY_COMMON), [ch for ch in COMMON if ch not in VERY_COMMON]
    rng = random.Random(seed)
    bases = ["".join(repair(r["text"])) for r in rows]
    texts: list[str] = []
    events: list[int] = []
    event = 0
    while len(texts) < n:
        base = bases[event % len(bases)]
        digits = list("0123456789")
        rng.shuffle(digits)
        names: dict[str, str] = {}
        for ch in base:
            if ch.isdigit():
                names[ch] = digits[int(ch)]
            elif "\u4e00" <= ch <= "\u9fff" and ch not in common:
                names.setdefault(ch, rng.choice(rare_pool))
        told = "".join(names.get(ch, ch) for ch in base)
        sentences = re.findall(r"[^。]+。?", told)
        for _ in range(min(3, n - len(texts))):
            if rng.random() < 0.15:
                keep = sentences[:1]
            else:
                keep = sentences[:1] + [s for s in sentences[1:] if rng.random() < 0.8]
            text = "".join(keep)
            if rng.random() < 0.3:
                text = to_hans(text) if detect_script(text) == "hant" else to_hant(text)
            texts.append(text)
            events.append(event)
        event += 1
    return texts, events


def time_fold(texts: list[str], repeats: int = 5) -> tuple[float, list[int]]:
    """Best time of ``fold`` over ``texts``, and the story of each text."""
    stories = [repair(t) for t in texts]
    script = detect_script("".join(texts))
    simplified_table()  # loaded once per process, not per run
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, folds = fold(stories, script)
        times.append(time.perf_counter() - start)
    group = list(range(len(texts)))
    for f in folds:
        for member in f.folded:
            group[member.index] = f.kept
    return min(times), group


def time_clean(texts: list[str], same_story: bool, repeats: int = 3) -> float:
    """The whole text stage up to dedupe (repair, fold, dedupe), best of ``repeats``."""
    articles = [Article(str(n), t, "utf-8", "", 0) for n, t in enumerate(texts)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clean_articles(articles, same_story=same_story)
        times.append(time.perf_counter() - start)
    return min(times)


def time_minhash_lsh(texts: list[str]) -> float | None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=0.2, num_perm=128)
    sketches = []
    for n, t in enumerate(texts):
        kept = "".join(re.findall(r"[\u3400-\u9fff0-9.]+", comparable(t)))
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([kept[i : i + 3].encode() for i in range(len(kept) - 2)])
        lsh.insert(str(n), m)
        sketches.append(m)
    for m in sketches:
        lsh.query(m)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[100, 500, 1000])
    args = parser.parse_args()
    sets = {"set": load("articles.toml"), "held-out": load("heldout.toml")}
    print(f"threshold {THRESHOLD}")
    print("\n| set | articles | events | stories | precision | recall | pairs: true found, false, missed |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, rows in sets.items():
        group = folded_groups(rows)
        p, r, tp, fp, fn = pairing(rows, group)
        events = len({row["event"] for row in rows})
        print(
            f"| {name} | {len(rows)} | {events} | {len(set(group))} | {p:.2f} | {r:.2f} | {tp}, {fp}, {fn} |"
        )
    compare_methods(sets)
    rows = sets["set"] + sets["held-out"]
    print(
        "\n| articles | events | fold (best of 5) | stories | precision | recall "
        "| clean_articles, with fold | without | MinHash+LSH sketch and query only (datasketch) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.articles:
        texts, events = synthesize(rows, n)
        seconds, group = time_fold(texts)
        p, r, *_ = pairing([{"event": str(e)} for e in events], group)
        with_fold, without = time_clean(texts, True), time_clean(texts, False)
        lsh = time_minhash_lsh(texts)
        lsh_cell = f"{lsh * 1000:.0f} ms" if lsh is not None else "-"
        print(
            f"| {n} | {len(set(events))} | {seconds * 1000:.0f} ms | {len(set(group))} | {p:.3f} | {r:.3f} "
            f"| {with_fold * 1000:.0f} ms | {without * 1000:.0f} ms | {lsh_cell} |"
        )
    mean = statistics.mean(len(t) for t in synthesize(rows, 500)[0])
    base = statistics.mean(len("".join(repair(r["text"]))) for r in rows)
    print(f"\nmean article length: {mean:.0f} characters synthesized, {base:.0f} in the sets")


if __name__ == "__main__":
    main()
