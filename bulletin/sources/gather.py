"""Every source of a run read into articles, in the order given: :func:`read_sources`.

A source is a file (``.txt``, an ``.html`` page, a feed file), ``-`` for stdin, a folder
(its text, HTML and feed files, oldest first), or an ``http(s)://`` URL of a feed or an
article page. A file named on the command line that cannot be read is the user's mistake
(:class:`~bulletin.errors.InputError`, exit 2), as before; a feed, a page or a file in a
folder that fails is *reported, not fatal*: one warning naming it, a failed
:class:`SourceReport`, and the bulletin is made from the rest. Only when every source
fails does :meth:`Gathered.check` raise :class:`~bulletin.errors.SourcesFailed` (exit 75,
try again later). No article at all, with sources that worked, is "no new stories", a
success the run reports without publishing.

``since``: feed items, pages and files in folders published (or, for files, modified)
before it are skipped; files named on the command line are always read. A feed's or
page's time given without an offset is in the source's zone (:mod:`bulletin.sources.zones`),
never the machine's silently. Last, what repeats on several pages of one site is taken
out of them (:mod:`bulletin.sources.repeats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from bulletin.errors import ConfigError, InputError, SourceError, SourcesFailed
from bulletin.files import StateStore
from bulletin.sources.feeds import Item, looks_like_feed, parse_feed
from bulletin.sources.fetch import Fetcher, FetchOptions, Response, Validators, keep_loopback_off_proxies
from bulletin.sources.pages import Page, extract, parse_time
from bulletin.sources.policy import shown
from bulletin.sources.repeats import Memory, strip_repeats
from bulletin.sources.zones import SourceZone
from bulletin.text.read import Article, read_article, read_bytes

#: Files a folder source reads (others, such as images or notes, are left alone).
PAGE_SUFFIXES = (".html", ".htm")
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".json")
TEXT_SUFFIXES = (".txt",)
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/html;q=0.8, */*;q=0.5"
)
_DURATION = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*[smhdw])+\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
T = TypeVar("T")


@dataclass
class SourceReport:
    """How one source went (the run report's and the dry run's ``sources``)."""

    source: str
    kind: str  # file, stdin, folder, feed, page
    status: str = "ok"  # ok, failed, not-modified (a 304: what was kept last time was used)
    error: str | None = None
    items: int = 0  # articles taken from it
    skipped: int = 0  # older than --since
    warnings: list[str] = field(default_factory=list)  # e.g. item pages that failed
    #: A feed's items by where their text came from: the feed's own content (the whole
    #: story, so no page was fetched), their pages (the feed gave a teaser), or the teaser
    #: itself (its page failed, or was past :data:`MAX_ITEM_PAGES`).
    from_feed: int = 0
    from_pages: int = 0
    from_summaries: int = 0
    #: Paragraphs and sentences taken out as the site's own, found on several of its pages
    #: (:mod:`bulletin.sources.repeats`).
    site_furniture: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Gathered:
    """The articles read, in order, and how each source went."""

    articles: tuple[Article, ...]
    sources: tuple[SourceReport, ...]

    def check(self) -> None:
        """Raise :class:`SourcesFailed` when every source failed (nothing to make a bulletin from)."""
        if self.sources and all(s.status == "failed" for s in self.sources):
            why = "; ".join(s.error or s.source for s in self.sources)
            raise SourcesFailed(f"every source failed ({why}); nothing was published")


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


#: The date-and-time forms ``--since`` takes, whole (a zone name or trailing words are refused).
_SINCE_TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?(?:Z|[+-]\d{2}:?\d{2})?")


def parse_since(value: str, now: datetime) -> datetime:
    """``--since``: a duration back from ``now`` (``12h``, ``90m``, ``1h30m``, ``2d``) or a
    date and time (``2026-11-26T08:00``, ``2026-11-26 08:00+08:00``; a date alone is its start)."""
    text = value.strip()
    wrong = ConfigError(
        f"--since {value!r}: give a duration (12h, 30m, 2d) or a date and time (2026-11-26T08:00)"
    )
    try:
        if text and _DURATION.match(text):
            seconds = sum(
                float(n) * _UNITS[u.lower()] for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*([a-zA-Z])", text)
            )
            return now - timedelta(seconds=seconds)
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            return datetime.fromisoformat("-".join(f"{int(p):02d}" for p in text.split("-"))).astimezone()
        when = parse_time(text) if _SINCE_TIME.fullmatch(text) else None
    except (ValueError, OverflowError):  # year 0, 3,000,000 days back, a +99:00 offset
        raise wrong from None
    if when is None:
        raise wrong
    return when


def _sha(text: str) -> tuple[str, int]:
    data = text.encode("utf-8")
    return hashlib.sha256(data).hexdigest(), len(data)


def _article(text: str, *, source: str, encoding: str, **meta: Any) -> Article:
    digest, size = _sha(text)
    return Article(source=source, text=text, encoding=encoding, sha256=digest, size=size, **meta)


def _older(when: datetime | None, since: datetime | None) -> bool:
    return since is not None and when is not None and when < since


def _page_article(page: Page, source: str, origin: str, url: str | None) -> Article:
    return _article(
        page.text,
        source=source,
        encoding=page.encoding,
        headline=page.headline,
        url=url,
        published=page.published,
        origin=origin,
    )


# --------------------------------------------------------------------------- local sources


def _local_page(path: Path, origin: str, zone: SourceZone, report: SourceReport) -> Article:
    page = extract(read_bytes(path), url=None, declared=None, name=str(path), zone=zone)
    report.warnings += page.notes
    return _page_article(page, str(path), origin, None)


def _local_feed(path: Path, since: datetime | None, report: SourceReport, zone: SourceZone) -> list[Article]:
    """A feed saved as a file: items with their own content (no pages are fetched for it)."""
    items, warning = parse_feed(read_bytes(path), str(path), zone=zone)
    if warning:
        report.warnings.append(f"{path}: {warning}")
    articles: list[Article] = []
    for n, item in enumerate(items):
        if _older(item.published, since):
            report.skipped += 1
            continue
        paragraphs = item.content or item.summary
        if paragraphs:
            _count(report, "feed" if item.whole() else "summary")
            articles.append(_item_article(item, paragraphs, f"{path}#{n + 1}", str(path), "utf-8"))
    return articles


def _count(report: SourceReport, where: str) -> None:
    """One more feed item read from ``where`` (feed, page or summary)."""
    if where == "feed":
        report.from_feed += 1
    elif where == "page":
        report.from_pages += 1
    else:
        report.from_summaries += 1


def _item_article(item: Item, paragraphs: Iterable[str], source: str, origin: str, encoding: str) -> Article:
    return _article(
        "\n\n".join(paragraphs),
        source=item.link or source,
        encoding=encoding,
        headline=item.title,
        url=item.link,
        published=item.published,
        origin=origin,
    )


def _read_file(
    path: Path, *, encoding: str | None, since: datetime | None, report: SourceReport, zone: SourceZone
) -> list[Article]:
    suffix = path.suffix.lower()
    in_folder = report.kind == "folder"
    if suffix in PAGE_SUFFIXES:
        article = _local_page(path, report.source, zone, report)
        if in_folder and _older(article.published, since):
            report.skipped += 1
            return []
        # a page named on the command line answers for itself (nothing to say is exit 2);
        # one of a folder's files is only skipped
        return [article if in_folder else replace(article, origin=None)]
    if suffix in FEED_SUFFIXES or (suffix not in TEXT_SUFFIXES and _sniff_feed(path)):
        return _local_feed(path, since, report, zone)
    article = read_article(path, encoding=encoding)
    return [replace(article, origin=report.source) if in_folder else article]


def _sniff_feed(path: Path) -> bool:
    """Is this file (with no telling suffix) a saved feed? Only regular files are looked at:
    a FIFO or a device is read once, as text."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            return looks_like_feed(handle.read(4096))
    except OSError:
        return False  # reading it as text says what is wrong


def _folder(
    path: Path,
    *,
    encoding: str | None,
    since: datetime | None,
    report: SourceReport,
    warn: Callable[[str], None],
    zone: SourceZone,
) -> list[Article]:
    suffixes = TEXT_SUFFIXES + PAGE_SUFFIXES + FEED_SUFFIXES
    try:
        names = [p for p in path.iterdir() if p.suffix.lower() in suffixes and not p.name.startswith(".")]
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    found: list[tuple[float, Path]] = []
    for entry in names:  # each file looked at once: one may go (or come) while the folder is read
        try:
            info = entry.stat()
        except OSError:
            continue  # gone since the listing: not there
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, entry))
    if not found:  # a newsroom folder with nothing in it this hour: no news, not an error
        report.warnings.append(f"{path}: no .txt, .html or feed files")
        return []
    found.sort(key=lambda f: (f[0], f[1].name))  # oldest first
    entries = [entry for _, entry in found]
    articles: list[Article] = []
    failed = gone = 0
    for mtime, entry in found:
        if since is not None:  # a file not changed since then holds nothing newer (pages and
            # feed items without dates included)
            modified = datetime.fromtimestamp(mtime).astimezone()
            if modified < since:
                report.skipped += 1
                continue
        try:
            articles += _read_file(entry, encoding=encoding, since=since, report=report, zone=zone)
        except (InputError, SourceError) as exc:
            if not os.path.lexists(entry):  # removed while the folder was read: not there
                gone += 1
                continue
            failed += 1
            report.warnings.append(str(exc))
            warn(f"skipped {exc}")
    if failed and not articles and failed == len(entries) - report.skipped - gone:
        report.status, report.error = "failed", f"{path}: none of its {failed} files could be read"
    return articles


# --------------------------------------------------------------------------- remote sources


#: Feeds and pages parsed at once, at most (each in a thread of its own; see :func:`_parsed`).
PARSERS = 2
_parsers = threading.BoundedSemaphore(PARSERS)


async def _parsed(deadline: float, what: str, parse: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``parse(*args, **kwargs)`` in a thread, waited for until ``deadline`` (the loop's clock).

    A parse still running at the deadline is given up on, not waited for: its thread is a
    daemon, so neither the run nor the process waits for it (``asyncio.to_thread`` made the
    run wait for every parse to end, deadline or not). At most :data:`PARSERS` run at once,
    and one not started by the deadline never starts. :class:`SourceError` at the deadline.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    wanted = threading.Event()
    wanted.set()

    def settle(outcome: tuple[bool, Any]) -> None:
        if not done.done():
            ok, value = outcome
            done.set_result(value) if ok else done.set_exception(value)

    def work() -> None:
        with _parsers:
            if not wanted.is_set():
                return
            try:
                outcome: tuple[bool, Any] = (True, parse(*args, **kwargs))
            except BaseException as exc:  # handed to the waiting coroutine
                outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=work, name="bulletin-parse", daemon=True).start()
    try:
        return await asyncio.wait_for(done, max(0.0, deadline - loop.time()))
    except asyncio.TimeoutError:
        raise SourceError(f"{what}: not read within the source timeout") from None
    finally:
        wanted.clear()


async def _remote(
    fetcher: Fetcher,
    url: str,
    since: datetime | None,
    report: SourceReport,
    deadline: float,
    zone: SourceZone,
) -> list[Article]:
    response = await fetcher.get(url, deadline, _ACCEPT)
    name = shown(url)
    if response.not_modified:
        report.status = "not-modified"
    if looks_like_feed(response.body, response.content_type):
        report.kind = "feed"
        items, warning = await _parsed(
            deadline, name, parse_feed, response.body, name, response.charset, zone
        )
        if warning:
            report.warnings.append(f"{name}: {warning}")
        return await _feed_items(fetcher, name, items, since, report, deadline, zone)
    if _is_html(response):
        report.kind = "page"
        page = await _parsed(
            deadline,
            name,
            extract,
            response.body,
            url=response.url,
            declared=response.charset,
            name=name,
            zone=zone,
        )
        report.warnings += page.notes
        if _older(page.published, since):
            report.skipped += 1
            return []
        return [_page_article(page, name, name, response.url)]
    kind = response.content_type or "unknown content"
    raise SourceError(f"{name}: not a feed or an article page ({kind})")


def _is_html(response: Response) -> bool:
    if response.content_type and "html" in response.content_type:
        return True
    head = response.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in response.body[:8192].lower()


#: Item pages fetched per feed, at most (the feed's first items, usually its newest).
MAX_ITEM_PAGES = 60


async def _feed_items(
    fetcher: Fetcher,
    url: str,
    items: list[Item],
    since: datetime | None,
    report: SourceReport,
    deadline: float,
    zone: SourceZone,
) -> list[Article]:
    """Each item's text: its content when that is the article, else its page (fetched at once).

    Every page is fetched and read by ``deadline``; an item whose page is not in by then
    (a slow site, a page sent a byte at a time) is read from its summary, and the feed
    goes on with the others.
    """
    fresh = []
    for n, item in enumerate(items):
        if _older(item.published, since):
            report.skipped += 1
        else:
            fresh.append((n, item))

    # a bulletin reads a few dozen stories: a feed of thousands gets pages for its first
    # items only (the rest are read from their content or summary), so it ends in time
    full = {n for n, item in fresh if item.whole()}
    with_pages = {n for n, item in fresh if item.link and n not in full}
    with_pages = set(sorted(with_pages)[:MAX_ITEM_PAGES])

    in_hand = asyncio.Semaphore(fetcher.options.concurrency)

    async def one(n: int, item: Item) -> Article | None:
        paragraphs = item.content or item.summary
        where = "feed" if n in full else "summary"
        if n in with_pages:
            try:
                async with in_hand:  # fetched and not yet read: a few pages in memory, not 60
                    response = await fetcher.get(item.link, deadline, "text/html, */*;q=0.5")
                    page = await _parsed(
                        deadline,
                        item.link,
                        extract,
                        response.body,
                        url=response.url,
                        declared=response.charset,
                        name=item.link,
                        zone=zone,
                    )
                report.warnings += [n for n in page.notes if n not in report.warnings]
                if len(page.text) > len("".join(paragraphs)):
                    item = Item(
                        item.title or page.headline, item.link, item.published or page.published, (), ()
                    )
                    paragraphs, where = page.paragraphs, "page"
            except SourceError as exc:
                what = "its summary was read instead" if paragraphs else "the item was left out"
                report.warnings.append(f"{exc} ({what})")
        if not paragraphs:
            return None
        _count(report, where)
        return _item_article(item, paragraphs, f"{url}#{n + 1}", url, "utf-8")

    found = await asyncio.gather(*(one(n, item) for n, item in fresh))
    return [a for a in found if a is not None]


async def _fetch_all(
    urls: list[str],
    options: FetchOptions,
    validators: Validators,
    since: datetime | None,
    reports: dict[str, SourceReport],
    zones: Callable[[str], SourceZone],
) -> dict[str, list[Article]]:
    async with Fetcher(options, validators, urls) as fetcher:
        # one budget for the whole run's sources: every feed, page and item page is in by
        # this time, or given up (an item page for its summary, a feed or page as failed)
        deadline = asyncio.get_running_loop().time() + options.timeout

        async def bounded(url: str) -> list[Article]:
            report, name = reports[url], shown(url)
            try:  # the deadline bounds every step; this is only a last guard
                return await asyncio.wait_for(
                    _remote(fetcher, url, since, report, deadline, zones(url)), options.timeout + 5
                )
            except asyncio.TimeoutError:
                report.status, report.error = "failed", f"{name}: timed out after {options.timeout:g} s"
            except SourceError as exc:
                report.status, report.error = "failed", str(exc)
            except Exception as exc:  # what a hostile answer does to a parser: this source only
                report.status, report.error = (
                    "failed",
                    f"{name}: could not be read ({type(exc).__name__}: {exc})",
                )
            return []

        results = await asyncio.gather(*(bounded(u) for u in urls))
    return dict(zip(urls, results, strict=True))


def _fetch(
    urls: list[str],
    options: FetchOptions,
    state: Path | None,
    since: datetime | None,
    reports: dict[str, SourceReport],
    zones: Callable[[str], SourceZone],
    shared: StateStore | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, list[Article]]:
    if not urls:
        return {}
    validators = Validators(state, options.max_bytes, shared, warn)
    keep_loopback_off_proxies(urls)
    try:
        return asyncio.run(_fetch_all(urls, options, validators, since, reports, zones))
    finally:
        validators.prune()


# --------------------------------------------------------------------------- the entry


def read_sources(
    sources: Iterable[str | Path],
    *,
    encoding: str | None = None,
    stdin: BinaryIO | None = None,
    since: datetime | None = None,
    state: Path | None = None,
    fetch: FetchOptions = FetchOptions(),
    warn: Callable[[str], None] | None = None,
    zone: tzinfo | None = None,
    zones: Mapping[str, tzinfo] | None = None,
    local_zone: tzinfo | None = None,
    shared: StateStore | None = None,
) -> Gathered:
    """Read every source, in order: the articles, and a :class:`SourceReport` for each source.

    ``state``: the folder where conditional-request validators and each site's remembered
    furniture are kept (None: none kept). ``shared``: a station group's store, where they are
    kept instead, so every worker reads a site's pages alike (:class:`~bulletin.sources.repeats.Memory`).
    ``warn``: told once about each source that failed (default: the ``bulletin`` logger).
    Times a feed or page gives without an offset are read in the source's zone
    (:mod:`bulletin.sources.zones`): ``zones`` (a source's own, as a programme gives it),
    what the source itself says, then ``zone`` (``--source-timezone``), then ``local_zone``
    (the machine's, with a warning; asked of :mod:`bulletin.environment` when None).
    """
    say = warn or logging.getLogger("bulletin").warning
    names = [str(s) for s in sources]
    if not names:
        raise InputError("no article given (name files, folders or feed URLs, or - for stdin)")
    if names.count("-") > 1:
        raise InputError("stdin (-) can be read only once")
    reports = {n: SourceReport(shown(n), _kind(n)) for n in dict.fromkeys(names)}  # no passwords shown

    def zone_of(name: str) -> SourceZone:
        return SourceZone(given=(zones or {}).get(name), default=zone, local=local_zone)

    fetched = _fetch([n for n in reports if is_url(n)], fetch, state, since, reports, zone_of, shared, say)
    articles: list[Article] = []
    for name in names:
        report = reports[name]
        if is_url(name):
            found = fetched.get(name, [])
        elif name == "-":
            found = [read_article(name, encoding=encoding, stdin=stdin)]
        elif Path(name).is_dir():
            found = _folder(
                Path(name), encoding=encoding, since=since, report=report, warn=say, zone=zone_of(name)
            )
        else:
            try:
                found = _read_file(
                    Path(name), encoding=encoding, since=since, report=report, zone=zone_of(name)
                )
            except SourceError as exc:  # a file the user named: their mistake, as before
                raise InputError(str(exc)) from None
        report.items += len(found)
        articles += [_held(a) for a in found]
    memory, now = Memory(state, shared, say), time.time()
    articles, taken = strip_repeats(articles, memory, now)
    memory.save(now)
    by_source = {report.source: report for report in reports.values()}  # an article's origin is shown
    for article, count in zip(articles, taken, strict=True):
        if count and article.origin in by_source:
            by_source[article.origin].site_furniture += count
    for report in reports.values():
        if report.status == "failed":
            say(f"source failed: {report.error}")
        for warning in report.warnings if report.kind != "folder" else []:
            say(warning)
    return Gathered(tuple(articles), tuple(reports[n] for n in dict.fromkeys(names)))


#: What XML 1.0 cannot hold (C0 controls but tab and line ends, lone surrogates, U+FFFE and
#: U+FFFF) and the C1 controls, which ID3 tags and subtitle players cannot show either.
_UNHELD = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _held(article: Article) -> Article:
    """The article with every character our feed, tags and subtitles cannot hold taken out.

    Done once, here, where sources are read: a headline read leniently from a feed with a
    ``&#1;`` or a BEL in it once made our own podcast feed fail on every later run.
    """
    fields = {"text": article.text, "headline": article.headline, "url": article.url}
    cleaned = {k: _UNHELD.sub("", v) for k, v in fields.items() if v is not None and _UNHELD.search(v)}
    if not cleaned:
        return article
    if "headline" in cleaned:
        cleaned["headline"] = cleaned["headline"].strip() or None
    return replace(article, **cleaned)


def _kind(name: str) -> str:
    if is_url(name):
        return "url"
    if name == "-":
        return "stdin"
    return "folder" if Path(name).is_dir() else "file"
