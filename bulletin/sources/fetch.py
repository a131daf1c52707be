"""HTTP for sources: bounded, polite, conditional, concurrent.

Why aiohttp (already a dependency, for Edge) rather than threads with urllib: its
``ClientTimeout`` bounds a whole request (connect, headers *and* a body trickled a byte
at a time), which urllib's per-socket-operation timeout does not, and one event loop
fetches every feed and every item page at once with a semaphore rather than a thread
each. Each source also gets a deadline for all its requests together
(:attr:`FetchOptions.timeout`, 20 s by default), so a stalled server costs at most that.

Every request: a ``User-Agent`` naming bulletin and its version; its host's addresses
checked against the network policy first (:mod:`bulletin.sources.policy`); at most
:attr:`FetchOptions.max_bytes` read (a huge or endless answer fails, it is not
truncated); redirects followed (at most 5, each checked as the first request was); 5xx
and dropped connections retried with backoff; ``ETag`` / ``Last-Modified`` remembered
(with the body, when it is at most :data:`KEEP_BYTES`) in the state folder, or a station
group's shared store, so the next run asks conditionally and a ``304 Not Modified`` is
answered from what was kept; the folder holds at most :data:`KEEP_TOTAL_BYTES` (the
records used longest ago go first).
At most :attr:`FetchOptions.concurrency` requests run at once; a request's own timeout
starts when it gets its turn, not while it waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from bulletin import __version__, environment
from bulletin.errors import BulletinError, SourceError
from bulletin.files import FolderStore, StateStore
from bulletin.sources.policy import Policy, checked_resolver, shown, without_credentials

USER_AGENT = f"bulletin/{__version__} (Mandarin news bulletins; +https://pypi.org/project/bulletin/)"
#: Status codes worth another try.
_RETRY_STATUS = frozenset({500, 502, 503, 504})
#: Conditional-request records not used for this long are removed.
KEEP_SECONDS = 14 * 86400
#: An answer larger than this is not kept for conditional requests (it is fetched whole
#: again next time): a feed of 60 teasers with 7 MB pages once left 154 MB after two runs.
KEEP_BYTES = 2 * 1024 * 1024
#: What the state folder keeps for conditional requests, at most, over all sources.
KEEP_TOTAL_BYTES = 32 * 1024 * 1024
#: In a station group's shared store (:class:`Validators`): a body kept compressed, at most
#: this, and every record forgotten this long after it was written.
SHARED_KEEP_BYTES = 256 * 1024
SHARED_KEEP_SECONDS = 86400
#: Redirects followed, at most.
MAX_REDIRECTS = 5
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchOptions:
    """How sources are fetched (the defaults are the CLI's, from ``run/options.py``)."""

    timeout: float = 20.0  # all requests of one source together
    request_timeout: float = 10.0  # one request, body included
    max_bytes: int = 8 * 1024 * 1024
    retries: int = 2
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    concurrency: int = 8  # requests at once, over all sources
    #: Let sources lead to private, loopback and link-local addresses (``--allow-private``).
    allow_private: bool = False


@dataclass(frozen=True)
class Response:
    """A page or feed as fetched (or, on 304, as kept from the last time)."""

    url: str  # after redirects
    body: bytes
    content_type: str | None
    charset: str | None
    not_modified: bool = False


class Validators:
    """ETag / Last-Modified and the body they validate, per URL: in the state folder, or shared.

    A cache: a record that cannot be read or written is ignored (the request is then
    unconditional), never an error.

    ``shared``: a station group's store (its Redis), so a page one worker fetched is asked
    for conditionally by the others too. The bodies go there with the validators: a ``304``
    is answered from the kept body, so validators without their body are worth nothing to
    a worker that has not fetched the page itself. But that store is the broker's memory,
    which the group's queues need, and unlike the folder it is not pruned to a total; so a
    body is kept there compressed (zlib), only if it then takes at most
    :data:`SHARED_KEEP_BYTES`, and a record is forgotten :data:`SHARED_KEEP_SECONDS` after
    it was written (a ``304`` does not renew it: no write per request). Redis then holds
    at most the pages of the last day's distinct URLs, each within that cap; a page that
    stays in its feed longer is fetched whole once a day. Two workers writing one URL's
    record at once: the last writer wins, and a body that is not the one its record's
    sha256 names (one worker's body, the other's record) is a miss, never a wrong page.
    ``warn``: told once if the shared store cannot be written.
    """

    def __init__(
        self,
        folder: Path | None,
        max_bytes: int,
        shared: StateStore | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.store: StateStore | None = shared
        if shared is None and folder is not None:
            self.store = FolderStore(folder, durable=False)
        self.shared = shared is not None
        #: The state folder's records (pruned and touched there); None when shared.
        self.folder = folder / "sources" if folder is not None and shared is None else None
        self.max_bytes = max_bytes
        self._warn = warn

    @staticmethod
    def _key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:40]

    def get(self, url: str) -> tuple[dict[str, Any], bytes] | None:
        if self.store is None:
            return None
        key = self._key(url)
        raw = self.store.read(f"sources/{key}.json", 1 << 16)
        body = self.store.read(f"sources/{key}.body", SHARED_KEEP_BYTES if self.shared else self.max_bytes)
        if raw is None or body is None:
            return None
        try:
            meta = json.loads(raw)
            if isinstance(meta, dict) and meta.get("body") == "zlib":
                body = _inflate(body, self.max_bytes)
        except (ValueError, RecursionError, zlib.error):  # a damaged record, nested too deep too
            return None
        if not isinstance(meta, dict) or meta.get("url") != shown(url):
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        return meta, body

    def put(self, url: str, response: Response, etag: str | None, modified: str | None) -> None:
        if self.store is None or not (etag or modified):
            return
        key = self._key(url)
        body = response.body
        if self.shared and len(body) <= KEEP_BYTES:
            body = zlib.compress(body, 6)
        if len(response.body) > KEEP_BYTES or len(body) > (SHARED_KEEP_BYTES if self.shared else KEEP_BYTES):
            self._forget(key)  # too large to keep: forget an older record too
            return
        meta = {
            "url": shown(url),  # never a password on disk
            "final_url": response.url,
            "etag": etag,
            "last_modified": modified,
            "content_type": response.content_type,
            "charset": response.charset,
            "sha256": hashlib.sha256(response.body).hexdigest(),
        }
        if self.shared:
            meta["body"] = "zlib"
        keep = SHARED_KEEP_SECONDS if self.shared else None
        try:
            self.store.write(f"sources/{key}.body", body, keep=keep)
            self.store.write(f"sources/{key}.json", json.dumps(meta).encode(), keep=keep)
        except (OSError, BulletinError) as exc:  # a state folder's failure: ignored, as before
            self._failed(exc)

    def _forget(self, key: str) -> None:
        if self.folder is not None:
            for path in (self.folder / f"{key}.json", self.folder / f"{key}.body"):
                with contextlib.suppress(OSError):
                    path.unlink()
        elif self.store is not None:  # shared: an empty record is no record
            try:
                self.store.write(f"sources/{key}.json", b"", keep=SHARED_KEEP_SECONDS)
            except (OSError, BulletinError) as exc:
                self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if self.shared and self._warn is not None:
            self._warn(f"could not keep the sources' conditional-request records ({exc}); the run goes on")
            self._warn = None  # once a run

    def prune(self) -> None:
        """Forget records not used for :data:`KEEP_SECONDS` (feeds' item pages come and go),
        then the least recently used ones until the folder holds :data:`KEEP_TOTAL_BYTES`.
        (A shared store forgets by itself: :data:`SHARED_KEEP_SECONDS`.)"""
        if self.folder is None or not self.folder.is_dir():
            return
        old = time.time() - KEEP_SECONDS
        kept: list[tuple[float, int, Path]] = []
        with contextlib.suppress(OSError):
            for entry in self.folder.iterdir():
                with contextlib.suppress(OSError):
                    info = entry.stat()
                    if not entry.is_file():
                        continue
                    if info.st_mtime < old:
                        entry.unlink()
                    else:
                        kept.append((info.st_mtime, info.st_size, entry))
        total = sum(size for _, size, _ in kept)
        for _, size, entry in sorted(kept, key=lambda k: k[0]):
            if total <= KEEP_TOTAL_BYTES:
                break
            with contextlib.suppress(OSError):
                entry.unlink()
                total -= size

    def touch(self, url: str) -> None:
        """A record just used is the last the folder's pruning removes."""
        if self.folder is not None:
            key = self._key(url)
            for path in (self.folder / f"{key}.json", self.folder / f"{key}.body"):
                with contextlib.suppress(OSError):
                    path.touch()


def _inflate(data: bytes, limit: int) -> bytes:
    """A compressed body unpacked, if it unpacks whole to at most ``limit`` bytes (else ValueError)."""
    unpack = zlib.decompressobj()
    body = unpack.decompress(data, limit + 1)
    if len(body) > limit or not unpack.eof:
        raise ValueError("a kept body that is damaged or too large")
    return body


class Fetcher:
    """One session for the run's sources (use inside a running event loop).

    ``named``: the URLs the user gave (their addresses may be private; see
    :class:`~bulletin.sources.policy.Policy`).
    """

    def __init__(self, options: FetchOptions, validators: Validators, named: Iterable[str] = ()) -> None:
        self.options = options
        self.validators = validators
        self.policy = Policy(options.allow_private, proxies=environment.proxy_hosts())
        self._named = list(named)
        self._session: Any = None
        self._slots = asyncio.Semaphore(options.concurrency)

    async def __aenter__(self) -> Fetcher:
        import aiohttp

        await self.policy.name_sources(self._named)
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            trust_env=True,
            connector=aiohttp.TCPConnector(resolver=checked_resolver(self.policy)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def get(self, url: str, deadline: float, accept: str = "*/*") -> Response:
        """GET ``url`` before ``deadline`` (the loop's clock); :class:`SourceError` if it fails.

        Each try waits for one of the run's request slots first; its own timeout (at most
        :attr:`FetchOptions.request_timeout`, and never past ``deadline``) starts then.
        """
        import aiohttp

        loop = asyncio.get_running_loop()
        kept = self.validators.get(url)
        headers = {"Accept": accept}
        if kept is not None:
            if kept[0].get("etag"):
                headers["If-None-Match"] = kept[0]["etag"]
            if kept[0].get("last_modified"):
                headers["If-Modified-Since"] = kept[0]["last_modified"]
        last = "no answer"
        delay = self.options.backoff
        for attempt in range(self.options.retries + 1):
            async with self._slots:
                remaining = deadline - loop.time()
                if remaining <= 0.05:
                    last = "the source timeout ran out before it could be asked"
                    break
                budget = min(self.options.request_timeout, remaining)
                timeout = aiohttp.ClientTimeout(total=budget)
                try:  # the whole request, redirects and address checks included
                    return await asyncio.wait_for(self._once(url, headers, timeout, kept), budget)
                except asyncio.TimeoutError:
                    raise SourceError(
                        f"{shown(url)}: timed out (no complete answer within {round(budget, 1):g} s)"
                    ) from None
                except _Retry as exc:
                    last = str(exc)
                except (aiohttp.ClientError, OSError) as exc:
                    last = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            if attempt < self.options.retries and deadline - loop.time() > delay:
                await asyncio.sleep(delay)
                delay *= 2
        raise SourceError(f"{shown(url)}: {_hide(last, url)}")

    async def _once(
        self, url: str, headers: dict[str, str], timeout: Any, kept: tuple[dict[str, Any], bytes] | None
    ) -> Response:
        """One request, its redirects followed by hand: each hop is checked by the policy."""
        cap = self.options.max_bytes
        here = url
        for _ in range(MAX_REDIRECTS + 1):
            await self.policy.check(here)
            async with self._session.get(
                here, headers=headers, timeout=timeout, allow_redirects=False
            ) as answer:
                if answer.status in _REDIRECT_STATUS and answer.headers.get("Location"):
                    here = without_credentials(urljoin(here, answer.headers["Location"]))
                    continue
                if answer.status == 304 and kept is not None:
                    meta, kept_body = kept
                    self.validators.touch(url)
                    return Response(
                        meta.get("final_url") or shown(url),
                        kept_body,
                        meta.get("content_type"),
                        meta.get("charset"),
                        True,
                    )
                if answer.status in _RETRY_STATUS:
                    raise _Retry(f"HTTP {answer.status} {answer.reason or ''}".strip())
                if answer.status >= 400:
                    raise SourceError(f"{shown(url)}: HTTP {answer.status} {answer.reason or ''}".strip())
                if answer.content_length is not None and answer.content_length > cap:
                    raise SourceError(
                        f"{shown(url)}: {answer.content_length / 1e6:.1f} MB is over the {_mib(cap)} limit"
                    )
                body = bytearray()
                async for piece in answer.content.iter_chunked(1 << 16):
                    body += piece
                    if len(body) > cap:
                        raise SourceError(f"{shown(url)}: the answer is over the {_mib(cap)} limit")
                response = Response(shown(here), bytes(body), answer.content_type, answer.charset)
                self.validators.put(
                    url, response, answer.headers.get("ETag"), answer.headers.get("Last-Modified")
                )
                return response
        raise SourceError(f"{shown(url)}: too many redirects (more than {MAX_REDIRECTS})")


def _hide(message: str, url: str) -> str:
    """An error's text with the URL's credentials taken out, wherever a library put them."""
    full, bare = url, shown(url)
    return message.replace(full, bare) if full != bare else message


def keep_loopback_off_proxies(urls: Iterable[str]) -> None:
    """The session honours HTTP(S)_PROXY (trust_env, as cron hosts behind a proxy need); a
    source on this machine (a local gateway, the tests' server) must not go through it."""
    names = {"localhost", "127.0.0.1", "::1"}

    def loopback(host: str | None) -> bool:
        if not host or host in names:
            return bool(host)
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    hosts = {urlsplit(u).hostname for u in urls}
    if any(loopback(h) for h in hosts):
        environment.bypass_proxy_for(sorted(names | {h for h in hosts if h and loopback(h)}))


class _Retry(Exception):
    """A 5xx answer: worth another try."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
