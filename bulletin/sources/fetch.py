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
(with the body, when it is at most :data:`KEEP_BYTES`) in the state folder, so the next
run asks conditionally and a ``304 Not Modified`` is answered from what was kept; the
folder holds at most :data:`KEEP_TOTAL_BYTES` (the records used longest ago go first).
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from bulletin import __version__, environment
from bulletin.errors import SourceError
from bulletin.files import read_regular, write_bytes_atomic
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
    """ETag / Last-Modified and the body they validate, per URL, kept in the state folder.

    A cache: a record that cannot be read or written is ignored (the request is then
    unconditional), never an error.
    """

    def __init__(self, folder: Path | None, max_bytes: int) -> None:
        self.folder = folder / "sources" if folder is not None else None
        self.max_bytes = max_bytes

    def _paths(self, url: str) -> tuple[Path, Path] | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:40]
        return self.folder / f"{key}.json", self.folder / f"{key}.body"

    def get(self, url: str) -> tuple[dict[str, Any], bytes] | None:
        paths = self._paths(url)
        if paths is None:
            return None
        try:
            meta = json.loads(read_regular(paths[0], 1 << 16))
            body = read_regular(paths[1], self.max_bytes)
        except (OSError, ValueError, RecursionError):  # a damaged record, nested too deep too
            return None
        if not isinstance(meta, dict) or meta.get("url") != shown(url):
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None
        return meta, body

    def put(self, url: str, response: Response, etag: str | None, modified: str | None) -> None:
        paths = self._paths(url)
        if paths is None or not (etag or modified):
            return
        if len(response.body) > KEEP_BYTES:  # too large to keep: forget an older record too
            for path in paths:
                with contextlib.suppress(OSError):
                    path.unlink()
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
        with contextlib.suppress(OSError):
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(paths[1], response.body, durable=False)
            write_bytes_atomic(paths[0], json.dumps(meta).encode(), durable=False)

    def prune(self) -> None:
        """Forget records not used for :data:`KEEP_SECONDS` (feeds' item pages come and go),
        then the least recently used ones until the folder holds :data:`KEEP_TOTAL_BYTES`."""
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
        paths = self._paths(url)
        if paths is not None:
            for path in paths:
                with contextlib.suppress(OSError):
                    path.touch()


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
