"""Chunk fan-out (issue 20): a programme's chunks synthesized by every worker of the group.

A programme build is a chord in three steps: the build task plans (sources, text, chunk
keys), each round of its fitting loop fans the chunks it still misses out as one task per
chunk (:data:`CHUNK`), and once every one is in the shared cache it mixes, fits and
publishes (fenced, :mod:`bulletin.distributed.ledger`). The run itself is unchanged: its
one hook, :class:`bulletin.run.speak.FanOut`, is called by the programme's rounds, which
then read the chunks from the cache as if an earlier run had made them.

It is a chord in shape, not Celery's ``chord`` primitive, for two reasons. The fitting
loop is one call in the run that needs the chunks' lengths before its next round, so the
join happens inside the build task, not in a callback task. And a build task that only
waited for its chunk tasks would deadlock the group when every worker process is busy
building (twelve programmes on two processes): the chunk tasks would queue behind the
builds that wait for them. So the build task works too:
it makes its own missing chunks in order, skipping those another process has claimed,
and returns when all are in the cache. A chunk is claimed in Redis (``SET NX`` with a
time to live) before it is synthesized, so it is made once across the group: two
programmes airing the same story share its chunks (content-addressed keys), and a chunk
task whose key is already cached or claimed returns at once. A claim whose holder was
killed stops being renewed and expires after :data:`CLAIM_TTL`; the build then makes the
chunk itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from bulletin.engines.base import Engine, VoiceSettings
from bulletin.run.cache import ClipCache
from bulletin.run.context import Silent
from bulletin.run.report import ChunkStats
from bulletin.run.speak import Plan, clips_in_order

#: The chunk task's name (Flower shows it beside ``bulletin.build_edition``).
CHUNK = "bulletin.synthesize_chunk"
#: The queue chunk tasks go to; every worker consumes it beside the builds' queue.
CHUNKS_QUEUE = "bulletin.chunks"
#: Seconds a chunk claim lives without renewal (its holder renews it every third of
#: that while it synthesizes): a claim whose holder was killed holds a build up this long.
CLAIM_TTL = 15
#: Seconds the build waits between looks at chunks others are making.
POLL = 0.05
PREFIX = "bulletin:"

log = logging.getLogger(__name__)

#: Let go of a claim only if it is still ours (it may have expired and been taken).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
#: Renew a claim only if it is still ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


def me() -> str:
    """This process, as claims and the counts name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Claims:
    """Who is making which chunk, and how many chunks each process made (Redis)."""

    client: Any  # redis.Redis, decode_responses=True
    ttl: int = CLAIM_TTL

    def take(self, key: str) -> str | None:
        """Claim ``key`` for this process; the claim's token, or None if another holds it."""
        token = f"{me()}:{time.monotonic_ns()}"
        return token if self.client.set(f"{PREFIX}chunk:{key}", token, nx=True, ex=self.ttl) else None

    def held(self, key: str) -> bool:
        return bool(self.client.exists(f"{PREFIX}chunk:{key}"))

    def release(self, key: str, token: str) -> None:
        self.client.eval(_RELEASE, 1, f"{PREFIX}chunk:{key}", token)

    @contextlib.contextmanager
    def kept(self, key: str, token: str) -> Iterator[None]:
        """Renew the claim while the chunk is made (a long chunk on a busy machine outlives the TTL)."""
        from redis.exceptions import RedisError

        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.ttl / 3):
                try:
                    self.client.eval(_RENEW, 1, f"{PREFIX}chunk:{key}", token, self.ttl)
                except RedisError:
                    return  # lost: the claim expires, and the build makes the chunk itself

        keeper = threading.Thread(target=renew, name=f"claim {key[:8]}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()

    def count(self, worker: str) -> None:
        self.client.hincrby(f"{PREFIX}chunks", worker, 1)

    def counts(self) -> dict[str, int]:
        """Chunks synthesized by each process since the counts were last cleared."""
        return {k: int(v) for k, v in self.client.hgetall(f"{PREFIX}chunks").items()}


def make_chunk(
    claims: Claims, cache: ClipCache, plan: Plan, index: int, engine: Engine, worker: str = ""
) -> str:
    """Make chunk ``index`` of ``plan`` into ``cache`` unless it is there or being made.

    ``made``, ``cached`` or ``claimed`` (another process is making it). The clip is made
    by the run's own code (:func:`bulletin.run.speak.clips_in_order`), which stores it.
    """
    key = plan.keys[index]
    if cache.has(key):
        return "cached"
    token = claims.take(key)
    if token is None:
        return "claimed"
    try:
        if cache.has(key):  # made between the look and the claim
            return "cached"
        with claims.kept(key, token):
            clips = clips_in_order(plan.only([index]), engine, cache, ChunkStats(), Silent())
            try:
                for _ in clips:
                    pass
            finally:
                clips.close()
        claims.count(worker or me())
        return "made"
    finally:
        claims.release(key, token)


@dataclass
class FanOut:
    """The run's :class:`~bulletin.run.speak.FanOut` for a build task: chunk tasks, and helping."""

    app: Any  # the Celery app
    claims: Claims
    edition: str = ""
    worker: str = ""

    def __call__(self, plan: Plan, engine: Engine, cache: ClipCache) -> None:
        first: dict[str, int] = {}
        for i, key in enumerate(plan.keys):
            if key not in first and not cache.has(key):
                first[key] = i
        wanted = list(first.values())
        try:
            self._send(plan, engine, wanted)
        except Exception as exc:  # the broker is away: this build makes every chunk itself
            log.warning("chunk fan-out: could not queue the chunks (%s); making them here", exc)
        left, tried = wanted, set()
        while left:
            for i in left:  # this build makes what nobody has claimed yet
                if make_chunk(self.claims, cache, plan, i, engine, self.worker) == "made":
                    tried.add(i)
            # one this build made that is still not cached could not be stored: the run makes it again
            left = [i for i in left if i not in tried and not cache.has(plan.keys[i])]
            if left and all(self.claims.held(plan.keys[i]) for i in left):
                time.sleep(POLL)  # the rest are being made elsewhere

    def _send(self, plan: Plan, engine: Engine, wanted: list[int]) -> None:
        """One task per chunk; another worker's may find it made and return at once."""
        for i in wanted:
            self.app.send_task(
                CHUNK,
                kwargs={
                    "edition": self.edition,
                    "key": plan.keys[i],
                    "spoken": plan.chunks[i].spoken,
                    "engine": engine.name,
                    "voice": asdict(plan.voices[i]),
                },
                queue=CHUNKS_QUEUE,
            )


def chunk_plan(key: str, spoken: str, voice: VoiceSettings) -> Plan:
    """A plan of the one chunk a chunk task is about."""
    from bulletin.text.chunk import Chunk

    return Plan((Chunk(0, spoken, spoken, 0, 0, 0, "end"),), (key,), (voice,))
