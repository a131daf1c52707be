"""Where a source may lead us: the network policy for feeds and pages, and URLs fit to show.

A feed names the pages we fetch, and a server says where a request is redirected, so a
feed on the public internet could send us to this machine or to the private network
behind it (a router's admin page, a cloud metadata service on 169.254.169.254, a database
on 127.0.0.1) and have what it answers read out on air. So before every request, and
every redirect, the URL's host is resolved and each address checked:

* a public address (``ipaddress``'s ``is_global``) may always be asked;
* a private, loopback, link-local or otherwise non-public one only if the user named a
  source at that very address and port (a newsroom's intranet feed, a gateway on this
  machine), or passed ``--allow-private``.

The connection is then made only to the addresses that passed (:class:`CheckedResolver`
filters what aiohttp's own lookup answers, so a name that resolves to a public address
once and a private one the next time gains nothing). Through a proxy, the proxy looks the
name up itself; our check is then made on our own lookup only.

Credentials in a URL (``user:pass@``) are never shown: :func:`shown` takes them out of
every URL that goes into a message, a warning or a report. Links found in a feed, and
redirects, lose theirs before they are fetched (:func:`without_credentials`): a feed has
no business handing us credentials to send elsewhere. A URL the user named keeps its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bulletin.errors import SourceError

#: A host's address and the port asked there.
Address = tuple[str, int]


def without_credentials(url: str) -> str:
    """``url`` with any ``user:pass@`` taken out (the rest as it was)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def shown(url: str) -> str:
    """``url`` as it may be printed: never with the credentials it may carry."""
    return without_credentials(url)


def is_public(address: str) -> bool:
    """Is this IP address on the public internet (not private, loopback, link-local, reserved…)?"""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def _port(parts: Any) -> int:
    try:
        port = parts.port
    except ValueError:
        port = None
    return port or (443 if parts.scheme == "https" else 80)


@dataclass
class Policy:
    """Which addresses a run's requests may reach (see the module docstring)."""

    allow_private: bool = False
    #: Non-public addresses the user named a source at, with their ports.
    named: set[Address] = field(default_factory=set)
    #: Proxy hosts from the environment: our connections go there, whatever their address.
    proxies: frozenset[str] = frozenset()

    def allows(self, address: str, port: int) -> bool:
        return self.allow_private or is_public(address) or (address, port) in self.named

    async def name_sources(self, urls: Iterable[str]) -> None:
        """Let the non-public addresses the user's own sources are at be asked (at their ports)."""
        loop = asyncio.get_running_loop()
        for url in urls:
            parts = urlsplit(url)
            if not parts.hostname:
                continue
            port = _port(parts)
            try:
                found = await loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                continue  # the request will fail and say why
            self.named |= {(info[4][0], port) for info in found if not is_public(info[4][0])}

    async def check(self, url: str) -> None:
        """:class:`SourceError` unless ``url`` is http(s) and every address of its host may be asked."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"{shown(url)}: not an http(s) URL")
        if self.allow_private:
            return
        port = _port(parts)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return  # no address at all: the request itself fails, with the resolver's reason
        refused = sorted({info[4][0] for info in found if not self.allows(info[4][0], port)})
        if refused:
            raise SourceError(
                f"{shown(url)}: refused: {parts.hostname} is at a private address ({refused[0]}) "
                "that no source named; name it as a source, or pass --allow-private"
            )


def checked_resolver(policy: Policy) -> Any:
    """An aiohttp resolver that hands the connector only the addresses ``policy`` allows.

    Made here, so that aiohttp is imported only when something is fetched.
    """
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import DefaultResolver

    class CheckedResolver(AbstractResolver):
        def __init__(self) -> None:
            self._inner = DefaultResolver()

        async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> Any:
            found = await self._inner.resolve(host, port, family)
            if host in policy.proxies:
                return found
            allowed = [r for r in found if policy.allows(r["host"], port)]
            if not allowed:
                raise OSError(f"{host} is at a private address that no source named (--allow-private)")
            return allowed

        async def close(self) -> None:
            await self._inner.close()

    return CheckedResolver()
