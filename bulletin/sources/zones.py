"""Which time zone a feed's or a page's times without an offset are in (never the machine's silently).

CNA prints ``2014/04/04 21:20`` and means Taipei; read on a UTC server as the machine's
time, it was eight hours late, and ``--since`` skipped or kept the wrong stories. A time
without an offset takes the *source's* zone, found in this order:

1. **the document's own offsets**: another time in the same feed or page that carries one
   (``+08:00`` in the page's JSON-LD, the feed's other items): a fact about that source;
2. **the source's zone as the user gave it**: a programme's per-source ``timezone``;
3. **the site's language and country**: ``zh-TW`` or a ``.tw`` host → Asia/Taipei, ``zh-HK``
   / ``.hk`` → Asia/Hong_Kong, ``zh-MO`` / ``.mo`` → Asia/Macau, ``zh-CN`` / ``.cn`` →
   Asia/Shanghai, ``zh-SG`` / ``.sg`` → Asia/Singapore (:data:`BY_REGION`);
4. offsets of zero (``Z``) in the document: a site that stamps its machine-readable times
   in UTC;
5. ``--source-timezone ZONE``, for every source the above leave unknown;
6. the machine's zone, **with a warning** naming the source and the option to give.

Pure: the machine's zone is handed in (only :mod:`bulletin.environment` reads ``TZ``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo
from urllib.parse import urlsplit

#: A region (from a language tag's subtags or a host's top-level domain) → its IANA zone.
BY_REGION = {
    "tw": "Asia/Taipei",
    "hk": "Asia/Hong_Kong",
    "mo": "Asia/Macau",
    "cn": "Asia/Shanghai",
    "sg": "Asia/Singapore",
}
#: An ISO time with an offset, anywhere in a page (JSON-LD, meta tags, ``<time>``).
OFFSET_STAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?\s?(Z|[+-]\d{2}:?\d{2})(?![\d:])"
)
#: The zone chosen last, when nothing about the source says which.
MACHINE = "the machine's zone"


def offset_of(text: str) -> timedelta | None:
    """The offset written at the end of ``text`` (``Z``, ``+08:00``, ``+0800``), if any."""
    m = re.search(r"(Z|[+-]\d{2}:?\d{2})\s*$", text.strip())
    if m is None:
        return None
    if m.group(1) == "Z":
        return timedelta(0)
    digits = m.group(1).replace(":", "")
    sign = 1 if digits[0] == "+" else -1
    hours, minutes = int(digits[1:3]), int(digits[3:5])
    if hours > 18 or minutes > 59:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


def region_of(language: str | None, url: str | None) -> str | None:
    """The region a language tag (``zh-Hant-TW``, ``zh_tw``) or else a URL's host names."""
    for tag in (language or "").replace("_", "-").lower().split(",")[:1]:
        for subtag in tag.strip().split("-")[1:]:
            if subtag in BY_REGION:
                return subtag
    host = urlsplit(url).hostname if url else None
    if host and "." in host:
        top = host.rsplit(".", 1)[1].lower()
        if top in BY_REGION:
            return top
    return None


@dataclass(frozen=True)
class Choice:
    """The zone a source's naive times are read in, and why."""

    zone: tzinfo
    why: str

    def warning(self, source: str) -> str | None:
        """What to tell the user when the zone was only the machine's."""
        if self.why != MACHINE:
            return None
        return (
            f"{source}: times without a zone read in {MACHINE} ({self.zone}); "
            "give --source-timezone (or the source's timezone in the programme)"
        )


@dataclass(frozen=True)
class SourceZone:
    """What is known of a source's zone before it is read: the user's word for this source,
    the run's ``--source-timezone``, and the machine's zone (handed in)."""

    given: tzinfo | None = None
    default: tzinfo | None = None
    local: tzinfo | None = None

    def pick(self, *, offsets: Iterable[timedelta], language: str | None, url: str | None) -> Choice:
        """The zone for the source's times without an offset (see the module docstring)."""
        seen = list(offsets)
        nonzero = [o for o in seen if o]
        if nonzero:
            most = max(set(nonzero), key=nonzero.count)
            return Choice(timezone(most), "offsets in the same document")
        if self.given is not None:
            return Choice(self.given, "the source's timezone")
        region = region_of(language, url)
        if region is not None:
            from zoneinfo import ZoneInfo

            return Choice(ZoneInfo(BY_REGION[region]), f"the site's region ({region})")
        if seen:
            return Choice(timezone.utc, "offsets in the same document")
        if self.default is not None:
            return Choice(self.default, "--source-timezone")
        if self.local is not None:
            return Choice(self.local, MACHINE)
        from bulletin.environment import local_zone

        return Choice(local_zone(), MACHINE)
