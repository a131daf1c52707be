"""The chunk cache in an object store: ``BULLETIN_CACHE_URL=s3://bucket/prefix`` (issue 20).

A station group's workers on several machines share one cache without a shared folder.
Same entries as the folder cache (:mod:`bulletin.run.cache`: header, audio, a checksum over
both), same object names under the prefix (``v2/ab/abcdef….clip``), and the same rule
for writers: an entry is written only if absent, with S3's conditional write
(``If-None-Match: *``), so the first writer of a key wins and an entry never changes
under a reader. Never a reason for a run to fail: a broken or unreadable object is a
miss, a failed write is logged.

Credentials, region and endpoint come from boto3's own configuration (``AWS_*``, the
shared config files, an instance role); ``?endpoint=http://host:port`` and
``?region=…`` in the URL name a store that is not AWS (MinIO, Ceph, moto). Needs
``pip install 'bulletin[s3]'``.

``bulletin cache clear --older-than`` goes by when an object was written (S3 keeps no
time of last read), so an entry still in use is made again once after it is pruned.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from bulletin.errors import ConfigError
from bulletin.run.cache import _SUFFIX, CACHE_FORMAT, CacheInfo, ClipCache, _decode, _encode

T = TypeVar("T")

log = logging.getLogger(__name__)


@functools.cache
def _client(endpoint: str | None, region: str | None) -> Any:
    """One boto3 client per store for the process (clients are thread-safe; making one is slow)."""
    try:
        import boto3
    except ImportError:
        raise ConfigError("boto3 is not installed: pip install 'bulletin[s3]' for an s3:// cache") from None
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


class S3ClipCache(ClipCache):
    """A :class:`~bulletin.run.cache.ClipCache` whose entries are objects under ``s3://bucket/prefix``."""

    def __init__(self, bucket: str, prefix: str, client: Any, url: str) -> None:
        self.bucket, self.prefix, self.client, self.url = bucket, prefix.strip("/"), client, url
        super().__init__(Path(self.prefix or "."))  # object names are the folder cache's paths

    @classmethod
    def from_url(cls, url: str) -> S3ClipCache:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"cache URL {url!r}: expected s3://bucket/prefix")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        client = _client(query.get("endpoint"), query.get("region"))
        return cls(parts.netloc, parts.path, client, url)

    def _name(self, key: str, shelf: str | None = None) -> str:
        path = self._path(key, shelf)  # checks the key
        inside = f"v{CACHE_FORMAT}/{path.parent.name}/{path.name}"
        return f"{self.prefix}/{inside}" if self.prefix else inside

    def _under(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    # ----------------------------------------------------------------- read

    def _answer(self, what: str, name: str, ask: Callable[[], T]) -> T | None:
        """What the store answers, or None: a missing object quietly, any other failure logged
        (a cache that cannot be read costs a synthesis, never the run)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return ask()
        except ClientError as exc:
            if _status(exc) != 404:
                log.warning("cache: cannot %s %s: %s", what, name, exc)
        except BotoCoreError as exc:
            log.warning("cache: cannot %s %s: %s", what, name, exc)
        return None

    def has(self, key: str) -> bool:
        name = self._name(key)
        return (
            self._answer("look up", name, lambda: self.client.head_object(Bucket=self.bucket, Key=name))
            is not None
        )

    def get_entry(self, key: str, *, shelf: str | None = None) -> tuple[dict[str, Any], bytes] | None:
        name = self._name(key, shelf)
        raw = self._answer(
            "read", name, lambda: self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        )
        if raw is None:
            return None
        entry = _decode(raw)
        if entry is None:  # written whole or not at all, so this is damage: away with it
            log.warning("cache: removing corrupt entry %s", name)
            self._delete([name])
        return entry

    # ----------------------------------------------------------------- write

    def put_entry(
        self, key: str, data: bytes, header: Mapping[str, Any], *, shelf: str | None = None
    ) -> bool:
        """Store the entry unless the key is there already (``If-None-Match: *``); False if it failed."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key, shelf)
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=_encode(data, header), IfNoneMatch="*")
        except ClientError as exc:
            if _status(exc) in (409, 412):  # there already, or being written by another: theirs stays
                return True
            log.warning("cache: cannot store %s: %s", name, exc)
            return False
        except BotoCoreError as exc:
            log.warning("cache: cannot store %s: %s", name, exc)
            return False
        return True

    # ----------------------------------------------------------------- housekeeping

    def _objects(self, under: str = "") -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self._under() + under):
            for found in page.get("Contents", []):
                if found["Key"].endswith(_SUFFIX):
                    yield found

    def _delete(self, names: list[str]) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        removed = 0
        for start in range(0, len(names), 1000):  # S3's limit per request
            batch = [{"Key": n} for n in names[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                removed += len(batch)
            except (ClientError, BotoCoreError) as exc:
                log.warning("cache: cannot remove entries: %s", exc)
        return removed

    def info(self) -> CacheInfo:
        found = list(self._objects(f"v{CACHE_FORMAT}/"))
        return CacheInfo(path=self.url, entries=len(found), bytes=sum(o["Size"] for o in found))

    def clear(self) -> int:
        return self._delete([o["Key"] for o in self._objects("v")])

    def prune(self, older_than_seconds: float) -> int:
        import time

        cutoff = time.time() - older_than_seconds
        old = [o["Key"] for o in self._objects(f"v{CACHE_FORMAT}/") if o["LastModified"].timestamp() < cutoff]
        return self._delete(old)

    def keep_newest(self, shelf: str, count: int) -> int:
        found = sorted(
            self._objects(f"v{CACHE_FORMAT}/{shelf}/"), key=lambda o: o["LastModified"], reverse=True
        )
        return self._delete([o["Key"] for o in found[count:]])


def _status(exc: Any) -> int:
    """The HTTP status of a botocore ``ClientError`` (0 if it has none)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
