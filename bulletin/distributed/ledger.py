"""What the station group knows in Redis: each edition's outcome, the publish lock and its
fencing token, failures and late editions.

Exactly once rests on three things. A redis-py :class:`~redis.lock.Lock` per edition, so
one worker at a time builds it, kept alive by a renewal thread while its holder is alive
(a worker killed with SIGKILL, or stalled, stops renewing and the lock expires). A
fencing token, a counter incremented by every new holder. And :meth:`Claim.check`, run
by the build just before the files are renamed into place: a Lua script, atomic on the
server, that refuses the commit unless this holder's token is still the newest, its lock
still its own and the edition not yet published (and the air time plus grace not passed).
A stalled holder that wakes after its lock expired is therefore refused, not published.

What is *not* guaranteed: the check and the renames are not one atomic step, so a holder
that stalls for longer than the lock's time-to-live in the milliseconds between them can
still publish late; and a worker killed between the renames and :meth:`Claim.finish`
leaves an edition published but unrecorded, which the redelivered task builds again into
the same files (the feed keeps one item per URL, so the feed still holds it once).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from bulletin.distributed.edition import Edition
from bulletin.errors import PublishError

PREFIX = "bulletin:"
#: Seconds a publish lock lives without renewal; renewed every third of it.
LOCK_TTL = 20.0
#: How many runs and failures ``bulletin status`` keeps.
KEEP = 200
#: Outcomes after which an edition is never built again.
FINAL = ("published", "unchanged", "late")

#: Under the lock: the outcome if the edition is finished (never overwritten), else a new token.
_BEGIN = """
local s = redis.call('hget', KEYS[1], 'status')
if s == 'published' or s == 'unchanged' or s == 'late' then return s end
local token = redis.call('incr', KEYS[2])
redis.call('hset', KEYS[1], 'status', 'building', 'token', token, 'worker', ARGV[1], 'at', ARGV[2])
return tostring(token)
"""

_NOTE = """
local s = redis.call('hget', KEYS[1], 'status')
if s == 'published' or s == 'unchanged' or s == 'late' then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV))
return 1
"""

_CHECK = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 'fenced' end
if redis.call('get', KEYS[2]) ~= ARGV[2] then return 'expired' end
local s = redis.call('hget', KEYS[3], 'status')
if s == 'published' or s == 'unchanged' or s == 'late' then return 'done' end
if tonumber(ARGV[3]) > 0 and tonumber(redis.call('time')[1]) > tonumber(ARGV[3]) then return 'late' end
if #ARGV > 3 then redis.call('hset', KEYS[3], unpack(ARGV, 4)) end
return 'ok'
"""


class EditionRefused(PublishError):
    """This worker may not publish the edition (its fence is stale, or it is done or late)."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


@dataclass
class Ledger:
    """The station group's records in one Redis database (the broker's)."""

    client: Any  # redis.Redis
    ttl: float = LOCK_TTL

    @classmethod
    def connect(cls, url: str, ttl: float = LOCK_TTL) -> Ledger:
        import redis

        return cls(redis.Redis.from_url(url, decode_responses=True), ttl)

    def key(self, kind: str, edition: str = "") -> str:
        return f"{PREFIX}{kind}:{edition}" if edition else f"{PREFIX}{kind}"

    def outcome(self, edition: str) -> dict[str, str]:
        """The edition's record (``status`` and what was published), empty if none."""
        return self.client.hgetall(self.key("edition", edition))

    def done(self, edition: str) -> str | None:
        status = self.outcome(edition).get("status")
        return status if status in FINAL else None

    def claim(self, edition: Edition, wait: float, worker: str = "") -> Claim | None:
        """Take the edition's publish lock (waiting up to ``wait`` s) and a new fencing token.

        None if the lock stays taken. A claim whose ``done`` is set found the edition
        finished by the previous holder: nothing to build (its lock is already let go).
        """
        lock = self.client.lock(
            self.key("lock", edition.id), timeout=self.ttl, blocking_timeout=wait, thread_local=False
        )
        if not lock.acquire():
            return None
        keys = [self.key("edition", edition.id), self.key("fence", edition.id)]
        token = self.client.eval(_BEGIN, 2, *keys, worker, str(time.time()))
        claim = Claim(self, edition, lock, str(token))
        if token in FINAL:
            claim.done = token
            claim.release()
        return claim

    def note(self, edition: Edition, status: str, **fields: object) -> None:
        """Record an outcome not made under a claim: late before any work, or a failure."""
        record = {"status": status, "at": time.time(), "programme": str(edition.programme), **fields}
        flat = [str(x) for kv in record.items() for x in kv]
        if self.client.eval(_NOTE, 1, self.key("edition", edition.id), *flat):  # a finished one stays
            self.log(edition, status, **fields)

    def log(self, edition: Edition, status: str, **fields: object) -> None:
        entry = json.dumps({"edition": edition.id, "status": status, "at": time.time(), **fields})
        pipe = self.client.pipeline()
        pipe.lpush(self.key("runs"), entry).ltrim(self.key("runs"), 0, KEEP - 1)
        pipe.hset(self.key("last"), str(edition.programme), entry)
        if status in ("failed", "late"):
            pipe.lpush(self.key("failures"), entry).ltrim(self.key("failures"), 0, KEEP - 1)
        pipe.execute()

    def runs(self, kind: str = "runs", count: int = 20) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.client.lrange(self.key(kind), 0, count - 1)]

    def last(self) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.client.hgetall(self.key("last")).items()}


@dataclass
class RedisRecords:
    """What runs keep (:class:`bulletin.files.StateStore`) in Redis, not in a state folder.

    The run records: what the last edition of each output was (its fingerprint, what it
    aired) is then the same for every worker, so an edition built on one machine rotates
    the stories the last one, built on another, aired; a record is a small JSON document,
    kept without expiry. And the sources' caches (``furniture/…``, ``sources/…``): what
    each site's pages repeat, so a page reads the same on every worker, and the
    conditional-request records, each with the expiry its writer asks for.

    A cache, whatever it holds: a read that fails is a miss (None); a write that fails is
    a :class:`~bulletin.errors.PublishError`, which the run records' writer reports and the
    sources' caches turn into a warning.
    """

    client: Any  # redis.Redis, decode_responses=True

    def read(self, name: str, limit: int) -> bytes | None:
        """The value, None if there is none, it is over ``limit`` or Redis does not answer."""
        from redis.client import NEVER_DECODE
        from redis.exceptions import RedisError

        try:  # as bytes: a kept body is not text, and the client decodes by default
            found = self.client.execute_command("GET", f"{PREFIX}state:{name}", **{NEVER_DECODE: []})
        except RedisError:
            return None
        if isinstance(found, str):
            found = found.encode("utf-8")
        return None if found is None or len(found) > limit else bytes(found)

    def write(self, name: str, data: bytes, *, keep: float | None = None) -> None:
        from redis.exceptions import RedisError

        try:
            self.client.set(f"{PREFIX}state:{name}", data, ex=max(1, round(keep)) if keep else None)
        except RedisError as exc:
            raise PublishError(f"cannot keep {name} in Redis: {exc}") from exc


class Claim:
    """The lock and fencing token one worker holds on one edition while it builds it."""

    def __init__(self, ledger: Ledger, edition: Edition, lock: Any, token: str) -> None:
        self.ledger, self.edition, self.lock, self.token = ledger, edition, lock, token
        self.done: str | None = None
        self._stop = threading.Event()
        self._renew = threading.Thread(target=self._keep_alive, name=f"lock {edition.id}", daemon=True)
        self._renew.start()

    def _keep_alive(self) -> None:
        from redis.exceptions import LockError, RedisError

        while not self._stop.wait(self.ledger.ttl / 3):
            try:
                self.lock.reacquire()
            except (LockError, RedisError):
                return  # lost: the check before the commit will refuse

    def _script(self, fields: dict[str, object] | None = None, *, in_time: bool = True) -> str:
        keys = [self.ledger.key(k, self.edition.id) for k in ("fence", "lock", "edition")]
        flat = [str(x) for kv in (fields or {}).items() for x in kv]
        args = [self.token, self.lock.local.token, str(int(self.edition.deadline) if in_time else 0), *flat]
        return self.ledger.client.eval(_CHECK, 3, *keys, *args)

    def check(self) -> None:
        """Just before the commit: refuse unless this claim is still the newest, live and in time."""
        why = self._script()
        if why != "ok":
            raise EditionRefused(_REFUSED[why].format(self.edition.id, self.token), why)

    def finish(self, status: str, **fields: object) -> bool:
        """Record the outcome under the same check; False if the fence has moved on."""
        record = {"status": status, "at": time.time(), "token": self.token, **fields}
        record["programme"] = str(self.edition.programme)
        why = self._script(record, in_time=False)  # published in time: recorded whenever
        if why == "ok":
            self.ledger.log(self.edition, status, **fields)
        return why == "ok"

    def release(self) -> None:
        from redis.exceptions import LockError, RedisError

        self._stop.set()
        self._renew.join()
        with contextlib.suppress(LockError, RedisError):  # expired, perhaps taken: not ours to release
            self.lock.release()


_REFUSED = {
    "fenced": "edition {} was taken over by another worker (fencing token {} is stale); not published",
    "expired": "the publish lock of edition {} expired (token {}); not published",
    "done": "edition {} is already published; not published again",
    "late": "edition {} is past its air time plus grace; dropped, not published",
}
