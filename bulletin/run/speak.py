"""Plans and clips: what each chunk says, and its audio from the cache or the engine, in order.

A :class:`Plan` (chunks and their cache keys) is made once per engine and voice in a run
(:class:`Planner` remembers it), so the cache check, synthesis and the assembled-bulletin
key all use the same one.

:func:`clips_in_order` is how audio flows into assembly: a generator that yields each
chunk's clip in chunk order as soon as it exists, while the engine works ahead in a
background thread on batches of the chunks not in the cache. Memory therefore holds a
batch or so of clips, not the whole bulletin, on either engine; cache hits are read
from disk only when their turn comes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bulletin.engines.base import Clip, Engine, VoiceSettings
from bulletin.errors import SynthesisError
from bulletin.run.cache import ClipCache
from bulletin.run.report import ChunkStats
from bulletin.run.reuse import chunk_keys
from bulletin.text.chunk import Chunk
from bulletin.text.lexicon import Lexicon
from bulletin.text.pipeline import CleanText, plan

#: Texts handed to the engine at once: enough for Edge's concurrency and both offline
#: threads to stay busy, few enough that a batch of clips is small in memory.
BATCH = 24
#: How many finished clips may wait for assembly before the engine pauses between batches.
AHEAD = 48
#: How often the run's main thread, waiting for the engine's next clip, wakes to look for
#: a signal. CPython runs a Ctrl-C or SIGTERM handler only in the main thread, between
#: bytecodes; when the kernel hands the signal to another thread (the engine's, under
#: load) a main thread blocked in an untimed wait would not see it until the next clip,
#: which with a stalled Edge server never comes (a killed-run test in
#: tests/test_build_edge.py hung this way once in a while under load; its stacks showed it).
WAKE_S = 0.25


class Progress(Protocol):
    """Where progress goes (the CLI's console draws a bar)."""

    def progress(self, done: int, total: int, audio_seconds: float) -> None: ...


@dataclass(frozen=True)
class Plan:
    """The chunks of one bulletin for one engine, each chunk's cache key and voice.

    A bulletin has one voice; a programme's anchors take turns, story by story.
    """

    chunks: tuple[Chunk, ...]
    keys: tuple[str, ...]
    voices: tuple[VoiceSettings, ...]

    def only(self, indexes: Sequence[int]) -> Plan:
        """The chunks at ``indexes`` (those still to be synthesized), with their keys and voices."""
        return Plan(
            tuple(self.chunks[i] for i in indexes),
            tuple(self.keys[i] for i in indexes),
            tuple(self.voices[i] for i in indexes),
        )

    def head(self, count: int, last: Chunk) -> Plan:
        """The first ``count`` chunks, the last of them replaced by ``last`` (a preview)."""
        return Plan((*self.chunks[: count - 1], last), self.keys[:count], self.voices[:count])

    def all_cached(self, cache: ClipCache | None) -> bool:
        return cache is not None and bool(self.keys) and all(cache.has(k) for k in self.keys)


class Planner:
    """Plans for one cleaned text, made once per (engine, voices) and then remembered."""

    def __init__(self, clean: CleanText, lexicon: Lexicon | None = None) -> None:
        self.clean = clean
        self.lexicon = lexicon
        self._plans: dict[tuple[str, int, tuple[VoiceSettings, ...]], Plan] = {}

    def __call__(self, engine: Engine, voice: VoiceSettings | Sequence[VoiceSettings]) -> Plan:
        """The plan for ``engine``; ``voice`` is one voice, or one per story (a programme's anchors)."""
        per_story = (voice,) * len(self.clean.stories) if isinstance(voice, VoiceSettings) else tuple(voice)
        key = (tuple(engine.version(v) for v in per_story), engine.max_chunk_chars, per_story)
        if key not in self._plans:
            chunks = tuple(plan(self.clean, engine.max_chunk_chars, self.lexicon))
            voices = tuple(per_story[c.story] for c in chunks)
            keys = [""] * len(chunks)
            for v in dict.fromkeys(voices):  # keyed voice by voice: an engine's version may cost a lookup
                at = [i for i, w in enumerate(voices) if w == v]
                for i, k in zip(at, chunk_keys([chunks[i] for i in at], engine, v), strict=True):
                    keys[i] = k
            self._plans[key] = Plan(chunks, tuple(keys), voices)
        return self._plans[key]


class FanOut(Protocol):
    """Has the chunks of ``plan`` made by other processes into ``cache``; returns when all are there.

    The run's one hook for a station group (:mod:`bulletin.distributed.fanout`): a
    programme's rounds hand it the chunks they still miss, then read them from the cache
    as if an earlier run had made them. Raises the engine's errors like a local synthesis.
    """

    def __call__(self, plan: Plan, engine: Engine, cache: ClipCache) -> None: ...


def clip_seconds(clip: Clip) -> float:
    """Rough duration for progress display (exact lengths come from assembly)."""
    if clip.format == "wav":
        return max(0, len(clip.data) - 44) / 48000  # 24 kHz, 16-bit mono
    return len(clip.data) * 8 / 48000  # Edge: 48 kbit/s


def clips_in_order(
    plan: Plan,
    engine: Engine,
    cache: ClipCache | None,
    stats: ChunkStats,
    progress: Progress,
    *,
    batch: int = BATCH,
) -> Generator[Clip, None, None]:
    """Every chunk's clip, in chunk order, from the cache or the engine (see module docstring).

    Raises the engine's :class:`~bulletin.errors.SynthesisError` with the chunk number of
    the *bulletin* (engines count within the batch they were given). Closing the generator
    early (assembly failed) stops the engine after its current batch.
    """
    missing = [i for i, key in enumerate(plan.keys) if cache is None or not cache.has(key)]
    stats.total, stats.cached = len(plan.chunks), len(plan.chunks) - len(missing)
    return _stream(plan, missing, engine, cache, stats, progress, batch)


def _stream(
    plan: Plan,
    missing: list[int],
    engine: Engine,
    cache: ClipCache | None,
    stats: ChunkStats,
    progress: Progress,
    batch: int,
) -> Generator[Clip, None, None]:
    """The generator behind :func:`clips_in_order` (which counts the cached chunks up front)."""
    chunks, keys = plan.chunks, plan.keys
    pending = frozenset(missing)
    made: dict[int, Clip] = {}
    failure: list[BaseException] = []
    ready = threading.Condition()
    stop = threading.Event()
    done = stats.cached
    audio = 0.0
    progress.progress(done, len(chunks), audio)

    def on_clip(index: int, clip: Clip) -> None:
        nonlocal done, audio
        if cache is not None:
            cache.put(keys[index], clip)
        with ready:
            made[index] = clip
            done += 1
            audio += clip_seconds(clip)
            stats.synthesized += 1
            stats.retries += clip.retries
            ready.notify_all()
        progress.progress(done, len(chunks), audio)

    def produce() -> None:
        try:
            for start in range(0, len(missing), batch):
                with ready:
                    ready.wait_for(lambda: stop.is_set() or len(made) < AHEAD)
                if stop.is_set():
                    return
                group = missing[start : start + batch]
                _synthesize(engine, plan, group, on_clip, stats)
        except BaseException as exc:  # handed to the consumer, raised there
            with ready:
                failure.append(exc)
                ready.notify_all()

    worker = threading.Thread(target=produce, name="bulletin-synth", daemon=True) if missing else None
    if worker is not None:
        worker.start()
    try:
        for i, key in enumerate(keys):
            clip = None if i in pending or cache is None else cache.get(key)
            if clip is None and i not in pending:
                # a cache entry that turned out unreadable: synthesize that chunk now, alone
                stats.cached -= 1
                _synthesize(engine, plan, [i], on_clip, stats)
            if clip is None:
                with ready:
                    while not ready.wait_for(lambda i=i: i in made or bool(failure), timeout=WAKE_S):
                        pass  # awake now and then, so that a Ctrl-C is raised here (see WAKE_S)
                    if i not in made:
                        raise failure[0]
                    clip = made.pop(i)
                    ready.notify_all()
            yield clip
    finally:
        # Not joined: on Ctrl-C or a failed assembly the run must end now, not after the
        # engine's current batch; the thread is a daemon and stops at the next batch.
        stop.set()
        with ready:
            ready.notify_all()


def _synthesize(
    engine: Engine,
    plan: Plan,
    group: Sequence[int],
    on_clip: Callable[[int, Clip], None],
    stats: ChunkStats,
) -> None:
    """Speak the chunks at ``group``, one engine call per voice; clips go to ``on_clip`` by bulletin index."""
    for voice in dict.fromkeys(plan.voices[i] for i in group):
        _synthesize_one(
            engine, plan.chunks, [i for i in group if plan.voices[i] == voice], voice, on_clip, stats
        )


def _synthesize_one(
    engine: Engine,
    chunks: Sequence[Chunk],
    group: Sequence[int],
    voice: VoiceSettings,
    on_clip: Callable[[int, Clip], None],
    stats: ChunkStats,
) -> None:
    """Speak the chunks at ``group`` with ``voice``; each clip goes to ``on_clip`` by its bulletin index."""
    delivered: set[int] = set()

    def deliver(position: int, clip: Clip) -> None:
        delivered.add(position)
        on_clip(group[position], clip)

    try:
        result = engine.synthesize([chunks[i].spoken for i in group], voice, on_clip=deliver)
    except SynthesisError as exc:
        stats.retries += max(0, exc.attempts - 1)  # the failing chunk's, too
        position = exc.chunk
        if position is None or not 0 <= position < len(group):
            raise
        chunk = chunks[group[position]]
        text = chunk.text.strip()
        quoted = text if len(text) <= 20 else text[:20] + "…"
        cause = re.sub(r"\bchunk \d+ ", "", str(exc), count=1)
        raise type(exc)(
            f"chunk {chunk.index} ({quoted}): {cause}", chunk=chunk.index, attempts=exc.attempts
        ) from exc
    for position, clip in enumerate(result):
        if position not in delivered:  # engines that do not call on_clip
            deliver(position, clip)
