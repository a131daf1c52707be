"""What repeats across a site's pages is its furniture: taken out of every page before the text is read.

A site's template puts the same blocks into each of its pages: the byline and share row,
the ad block, the editor's credit, the app promo glued to the last paragraph. The class
rules (:mod:`bulletin.text.furniture`) know the common shapes; this knows the *site's*: a
paragraph, or a sentence of :data:`MIN_CHARS` or more, found on :data:`REPEAT_PAGES`
different pages of one host is the site's, not a story's, and is removed from all of them.
Those pages are the run's and, remembered in the state folder, earlier runs' (a feed of
three items today still has its template recognized). Left alone:

* an article that would lose more than :data:`MAX_SHARE` of its text (the same story at
  three addresses of one site is not furniture);
* pages without a host (files), whose templates nobody can tell apart.

The memory (``state/furniture/<host key>.json``, or that name in a station group's shared
store: :class:`Memory`) holds, for the pieces at each page's edges (its first :data:`EDGE`
and last :data:`EDGE` paragraphs, where templates put their blocks), hashes of the piece
and of the pages it was seen on (at most :data:`REPEAT_PAGES`), and when it was last
seen; pieces unseen for :data:`KEEP_DAYS` are forgotten, and a host keeps at most
:data:`MAX_PIECES`. It is a cache: a record that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from bulletin.errors import BulletinError
from bulletin.files import FolderStore, StateStore
from bulletin.text.chars import split_sentences
from bulletin.text.read import Article

#: A piece on this many different pages of one host is the site's.
REPEAT_PAGES = 3
#: Sentences shorter than this are not judged alone (他說。 repeats in any site's stories).
MIN_CHARS = 10
#: An article losing more than this share of its text to repeats keeps it all.
MAX_SHARE = 0.5
#: How many paragraphs at each end of a page are remembered for later runs.
EDGE = 3
KEEP_DAYS = 30
MAX_PIECES = 5000
_MAX_FILE = 4 << 20
_SPACE = re.compile(r"\s+")


def _key(text: str) -> str:
    return hashlib.sha256(_SPACE.sub("", text).encode("utf-8", "surrogateescape")).hexdigest()[:20]


def _host(article: Article) -> str | None:
    return (urlsplit(article.url).hostname or None) if article.url else None


def _pieces(paragraphs: Sequence[str]) -> list[tuple[int, str]]:
    """(paragraph index, key) for each paragraph and each of its long sentences."""
    found = []
    for n, paragraph in enumerate(paragraphs):
        if len(paragraph.strip()) >= MIN_CHARS:
            found.append((n, _key(paragraph)))
        sentences = split_sentences(paragraph)
        if len(sentences) > 1:
            found += [(n, _key(s)) for s in sentences if len(s.strip()) >= MIN_CHARS]
    return found


class Memory:
    """The pieces seen at the edges of each host's pages: in the state folder, or shared.

    ``shared``: a station group's store (its Redis). What a site's template is then is the
    group's, not one worker's: a worker that never read a host's pages before removes the
    furniture another worker learned, so a programme reads the same whichever worker
    builds it. Records there are forgotten :data:`KEEP_DAYS` after they were last written.

    Two runs may read and write one host's record at once (two workers; two cron runs on
    one machine). Each record is read again just before it is written and this run's
    pieces are merged into it, so the last writer keeps what the other wrote unless the
    two read-and-write steps interleave; then the pieces the loser learned are missing
    until the next pages show them again (a piece needs :data:`REPEAT_PAGES` pages anyway),
    a run later than they would have been. Closing that gap would take a compare-and-set
    (or a lock) in every store; for a cache whose loss is a delay, it is not worth it.

    ``warn``: told once if the shared store cannot be written (the run goes on); a state
    folder that cannot be written is ignored as before.
    """

    def __init__(
        self, folder: Path | None, shared: StateStore | None = None, warn: Callable[[str], None] | None = None
    ) -> None:
        self.store: StateStore | None = shared
        if shared is None and folder is not None:
            self.store = FolderStore(folder, durable=False)
        self.shared = shared is not None
        self._warn = warn
        self._hosts: dict[str, dict[str, list]] = {}

    @staticmethod
    def _name(host: str) -> str:
        return f"furniture/{hashlib.sha256(host.encode('utf-8', 'surrogateescape')).hexdigest()[:32]}.json"

    def _load(self, host: str) -> dict[str, list]:
        """The host's record as kept (empty if there is none, or it is damaged or another host's)."""
        raw = self.store.read(self._name(host), _MAX_FILE) if self.store is not None else None
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return {}
        if not (isinstance(data, dict) and data.get("host") == host and isinstance(data.get("pieces"), dict)):
            return {}
        return {
            k: v
            for k, v in data["pieces"].items()
            if isinstance(k, str)
            and isinstance(v, list)
            and v
            and isinstance(v[0], int | float)
            and not isinstance(v[0], bool)
            and all(isinstance(p, str) for p in v[1:])
        }

    def pieces(self, host: str) -> dict[str, list]:
        """Piece key → [last seen (seconds), page keys…] for ``host``."""
        if host not in self._hosts:
            self._hosts[host] = self._load(host)
        return self._hosts[host]

    def remember(self, host: str, page: str, keys: Iterable[str], now: float) -> None:
        pieces = self.pieces(host)
        for key in keys:
            entry = pieces.setdefault(key, [now])
            entry[0] = now
            if page not in entry[1:] and len(entry) <= REPEAT_PAGES:
                entry.append(page)

    def save(self, now: float) -> None:
        """Write each host's record: what is kept now, with this run's pieces merged in."""
        if self.store is None:
            return
        for host, ours in self._hosts.items():
            pieces = _merged(self._load(host), ours)
            fresh = {k: v for k, v in pieces.items() if now - v[0] < KEEP_DAYS * 86400}
            kept = dict(sorted(fresh.items(), key=lambda kv: -kv[1][0])[:MAX_PIECES])
            data = json.dumps({"host": host, "pieces": kept}, separators=(",", ":"))
            try:
                self.store.write(
                    self._name(host), data.encode("utf-8", "surrogateescape"), keep=KEEP_DAYS * 86400
                )
            except (OSError, BulletinError) as exc:  # a state folder's failure: ignored, as before
                if self.shared and self._warn is not None:
                    self._warn(f"could not keep what the sites' pages repeat ({exc}); the run goes on")
                    self._warn = None  # once a run


def _merged(kept: dict[str, list], ours: dict[str, list]) -> dict[str, list]:
    """``ours`` (read earlier, with this run's pieces) merged into ``kept`` (as read now).

    For each piece the later time and the pages of both, at most :data:`REPEAT_PAGES`;
    when nobody else wrote meanwhile, ``kept`` is what ``ours`` was read from, and the
    result is ``ours``, in the same order.
    """
    out = {key: list(entry) for key, entry in kept.items()}
    for key, entry in ours.items():
        have = out.get(key)
        if have is None:
            out[key] = list(entry)
            continue
        have[0] = max(have[0], entry[0])
        for page in entry[1:]:
            if page not in have[1:] and len(have) <= REPEAT_PAGES:
                have.append(page)
    return out


def strip_repeats(articles: Sequence[Article], memory: Memory, now: float) -> tuple[list[Article], list[int]]:
    """The articles with their site's repeated pieces taken out, and how many each lost.

    ``memory`` is read for the hosts seen and told about this run's pages (save it after).
    """
    by_host: dict[str, dict[str, list[tuple[int, str]]]] = {}  # host → page → pieces
    paragraphs = [a.text.split("\n\n") for a in articles]
    for article, paras in zip(articles, paragraphs, strict=True):
        host = _host(article)
        if host is not None and article.url:
            by_host.setdefault(host, {})[_key(article.url)] = _pieces(paras)
    site: dict[str, set[str]] = {}
    for host, pages in by_host.items():
        seen: dict[str, set[str]] = {}
        for key, entry in memory.pieces(host).items():
            seen[key] = set(entry[1:])
        for page, pieces in pages.items():
            for _, key in pieces:
                seen.setdefault(key, set()).add(page)
        site[host] = {key for key, pages_ in seen.items() if len(pages_) >= REPEAT_PAGES}
        for page, pieces in pages.items():
            count = len({n for n, _ in pieces})
            edges = {n for n in range(count) if n < EDGE or n >= count - EDGE}
            memory.remember(host, page, (key for n, key in pieces if n in edges), now)
    out: list[Article] = []
    removed: list[int] = []
    for article, paras in zip(articles, paragraphs, strict=True):
        host = _host(article)
        repeated = site.get(host or "", set())
        kept, taken = _without(paras, repeated) if repeated else (paras, 0)
        if not taken or sum(map(len, kept)) < (1 - MAX_SHARE) * sum(map(len, paras)):
            out.append(article)
            removed.append(0)
            continue
        removed.append(taken)
        text = "\n\n".join(kept)
        data = text.encode("utf-8", "surrogateescape")
        out.append(replace(article, text=text, sha256=hashlib.sha256(data).hexdigest(), size=len(data)))
    return out, removed


def _without(paragraphs: Sequence[str], repeated: set[str]) -> tuple[list[str], int]:
    kept: list[str] = []
    taken = 0
    for paragraph in paragraphs:
        if _key(paragraph) in repeated:
            taken += 1
            continue
        sentences = split_sentences(paragraph)
        left = [s for s in sentences if len(s.strip()) < MIN_CHARS or _key(s) not in repeated]
        taken += len(sentences) - len(left)
        if "".join(left).strip():
            kept.append("".join(left).strip())
    return kept, taken
