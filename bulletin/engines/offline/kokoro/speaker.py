"""The Kokoro voices' runtime: Kokoro-82M v1.0 on onnxruntime.

:class:`bulletin.engines.offline.kokoro.Kokoro` hands texts here when the voice is a
Kokoro name (``zm_yunxi``, ``zf_xiaoxiao``, … see :mod:`bulletin.engines.voices`). The
model comes from :mod:`bulletin.engines.offline.kokoro.store`, the phonemes from
:mod:`bulletin.engines.offline.kokoro.frontend`, the voice vectors from ``voices/kokoro/``
(checked against their SHA256SUMS before use).

How it runs, and why (measured on 2 cores; bench/README.md, bench/kokoro/FINDINGS.md):

* **Two halves, one call each, two calls at once.** The model is cut in two
  (:mod:`bulletin.engines.offline.kokoro.rewrite`): the predictor (a few % of the work) gives
  each token's duration and, per 25 ms frame, the features, pitch and energy the decoder
  reads. The decoder is handed only the frames around the speech (:func:`speech_window`:
  from :data:`LEAD_FRAMES` before the first frame whose predicted energy passes
  :data:`SPEECH_ENERGY` to :data:`TAIL_FRAMES` after the last), so the ~0.4 s before and
  ~1.1 s after the speech that every call used to make and throw away is never computed.
  Each half is one session (both loaded in the background, side by side, while the
  first batch's words are cut), and one Python thread per core calls ``run()``
  (onnxruntime releases the GIL and ``run`` is thread-safe; 130 MB less than a session
  per thread). Two calls at once on one intra-op thread each is the cheapest way to use
  both cores, but the memory budget (below) lets two long calls meet only now and then,
  so each call may use :data:`INTRA_OP_THREADS` (two, spinning off): a call that runs
  alone still uses both cores.
* **The rewritten model** (ConvInteger → MatMulInteger): the same samples, ~25 % less CPU.
* **Memory is the frames in flight, within a budget.** The decoder's activations grow
  ~0.6 MB per frame it makes, and the predictor says how many frames a call will take
  before the decoder starts: a decoder call starts only while the frames of the calls in
  flight stay within :data:`FRAMES_IN_FLIGHT` (one runs alone whatever its size), and a
  free thread takes the first piece in text order expected to fit beside the call
  running, so a short piece runs beside a long one and texts finish one after another
  (:data:`IN_TEXT_ORDER`). Texts are cut into pieces of at most
  :data:`MAX_PIECE_TOKENS` tokens (at sentence ends, then clause breaks).
* **What else the process holds is kept small, and does not grow with the bulletin**
  (issue 22 found what set the build's peak: the loaded halves, rjieba's dictionary, the
  arena's slack beside two decoder calls, and over a long bulletin the threads' heaps):
  what loading freed is trimmed, and the words are cut by rjieba in a short-lived child
  (:func:`~.frontend.word_spans`), so its 32 MB dictionary is never in this process. The
  arena stays (shrunk after each call): the allocator without it cost 38 % more CPU
  (:data:`CPU_ARENA`). glibc's mmap threshold is pinned (:data:`PIN_MMAP_THRESHOLD`), so
  what the arena gives back leaves the process instead of staying in a thread's heap.
* Pieces are trimmed of that silence, joined with the Baker voice's pauses (a sentence
  end 0.35 s, a cut inside a sentence 0.12 s), and a clip whose peak passes full scale
  (Kokoro's output can) is scaled down, never clipped.
* The model predicts durations inside the graph but does not return them, so clips
  carry a boundary per model call (a clause or so, timed by where its audio went): the
  model reports no durations, so subtitles spread each piece's time over its characters.
* Deterministic: the same text gives the same samples, whatever ran beside it and with
  one intra-op thread or two (onnxruntime splits the work, not a sum's order).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import numpy as np

from bulletin.engines.base import Boundary, Clip, OnClip, wav_bytes
from bulletin.engines.offline.heap import pin_mmap_threshold, release_free_memory
from bulletin.engines.offline.kokoro.frontend import (
    FRONTEND_VERSION,
    KokoroFrontend,
    Piece,
    load_vocab,
    word_spans,
)
from bulletin.engines.reading import READING_VERSION
from bulletin.engines.voices import KOKORO_VOICES, kokoro_files_dir
from bulletin.errors import ConfigError, ModelError, SynthesisError

SAMPLE_RATE = 24_000
#: Bump when anything here changes how the same text sounds (part of the cache key).
#: 2: arena shrinkage, 著 and 发 read right; 3: boundaries per piece; 4: only the speech's frames decoded
KOKORO_REVISION = 4
#: Longest model call, in phoneme tokens (the model's limit is 510). See the module docstring.
#: 56 tokens with 220 frames in flight peaked no lower (570 MB) and read worse (CER 0.063
#: against 0.035): more cuts inside sentences (bench/README.md, issue 22).
MAX_PIECE_TOKENS = 100
#: Frames (25 ms of audio each) the decoder calls in flight may hold together: the memory
#: budget of the activations (~0.6–0.8 MB a frame). The sample's 100-token pieces are given
#: 83–197 frames, so a long one runs beside a short one, and two long ones one after the
#: other. Measured builds of the sample (issue 22, the arena kept, rjieba in a child):
#: 300 frames peaked at 529 MB, 270 at 507, 240 at 489 (4 % more wall time than 270). With
#: 240 a 12-minute bulletin peaked at 474–521 MB in six builds (the floor under the calls
#: moves between builds), with 200 at 447–449 (474 with 240 in the same run), for ~3 % more
#: wall time on the sample (RTF 0.270 against 0.262, three rounds; bench/README.md, issue 22).
#: Since the decoder's columns are gathered (rewrite v3): 430–431 MB in three builds.
FRAMES_IN_FLIGHT = 200
#: The frames a call's decoder is given: from ``LEAD_FRAMES`` before the first frame whose
#: predicted energy passes ``SPEECH_ENERGY`` to ``TAIL_FRAMES`` after the last one. The
#: tail is the longer: the decoder's last frames are shaped by its end, and with 8 frames
#: a final syllable's release came out up to 0.13 s shorter (bench/README.md, issue 22).
SPEECH_ENERGY = 1.0
LEAD_FRAMES = 4
TAIL_FRAMES = 16
#: Frames a piece's decoder is given per token, about (the speech window at the normal
#: rate: 74 tokens 149 frames, 100 tokens 181–197): which piece to take next is chosen by it,
#: so that a short piece runs beside a long one within the budget.
WINDOW_FRAMES_PER_TOKEN = 2.0
#: Frames a token makes at most at the normal rate: the plain model's (no predictor of its
#: own) share of the budget is estimated with it.
FRAMES_PER_TOKEN = 2.5
FRAME_SAMPLES = 600
#: onnxruntime's CPU arena, kept. Without it (a call's tensors plain ``malloc`` blocks,
#: glibc's mmap threshold pinned at :data:`MMAP_THRESHOLD` so each large one is its own
#: mapping, given back when freed) one 149-frame decoder call peaked 90 MB above the loaded
#: sessions instead of 124, two at once 175 instead of 230, but the mappings made and
#: unmade on every call cost **38 % more CPU** (24 % with a 4 MB threshold, which also
#: peaked higher); without the arena and without the pin glibc keeps the freed blocks
#: (504 MB on a first call). See bench/README.md, issue 22.
CPU_ARENA = True
MMAP_THRESHOLD = 1 << 20
#: Pin glibc's mmap threshold at :data:`MMAP_THRESHOLD` with the arena kept, too (always
#: pinned without it). Unpinned, glibc raises its threshold as large blocks are freed, so
#: the arena's regions come from the threads' own heaps, which stay as large as they once
#: were: a 12-minute bulletin peaked at 594 MB against the sample's ~465. Pinned, what the
#: arena's shrinkage frees leaves the process: 497 MB in the same bench, for ~2 % more CPU
#: (the regions are few and large; bench/README.md, issue 22).
PIN_MMAP_THRESHOLD = True
#: Pieces are taken in text order (see :meth:`KokoroSpeaker.speak`'s ``take``), so the texts
#: of a batch finish one after another: each one's raw audio is let go and its clip handed
#: on as the batch goes. Longest first (False) held nearly all of a batch's raw audio and
#: clips until its end, and assembly waited for it: a 12-minute bulletin's build ended
#: 125–143 s after its last model call, in text order 24 s (peak 482 MB with the pin; 474–521
#: in six later builds).
#: The samples are the same either way.
IN_TEXT_ORDER = True
#: With the arena: give its memory back after each call (onnxruntime's arena shrinkage).
SHRINK_ARENA = True
#: onnxruntime's memory pattern (a call's buffers planned from the shapes of the last call
#: of the same shape) and weight prepacking; measured in issue 22, kept at the defaults
#: (prepacking off saved 10 MB of load and changed the samples, and cost 13 % more CPU).
MEMORY_PATTERN = True
PREPACK = True
#: Threads one model call may use (onnxruntime's intra-op pool, the calling thread
#: included; never more than the speaker's workers). Two, because the frame budget lets
#: two long calls run together only now and then, and a call that runs alone would leave
#: the second core idle: on the sample's calls one alone took 0.66x the wall time of one
#: thread for 1.19x its CPU, and two at once (two threads each) no longer than two at once
#: on one thread each; a whole build 0.73x the wall time of one thread (bench/README.md,
#: issue 22). The samples are the same with one thread or two (tested).
INTRA_OP_THREADS = 2
SENTENCE_PAUSE_S = 0.35
CLAUSE_PAUSE_S = 0.12
#: Trimming a call's silence: samples quieter than this are silence; this much is kept
#: around the speech so a word's onset and release are not cut.
SILENCE = 0.01
KEEP_LEAD_S = 0.03
KEEP_TAIL_S = 0.06
#: Peaks are kept below this: Kokoro's output passes full scale (1.013 on the sample).
PEAK = 0.99


@dataclass(frozen=True)
class Style:
    """How a Kokoro voice speaks one batch: its vectors, speed and gain."""

    vectors: np.ndarray  # [510, 256] float32: row n for n + 1 tokens
    speed: float = 1.0  # the model's speed input: > 1 is faster
    gain: float = 1.0


def kokoro_version() -> str:
    """What Kokoro clips depend on: model, onnxruntime, readings, phonemes, our tuning (cache key)."""
    from bulletin.engines.offline.kokoro.store import MODEL_SHA256

    try:
        runtime = dist_version("onnxruntime")
        pinyin = dist_version("pypinyin")
    except Exception:  # metadata missing in odd installs: still a usable key
        runtime = pinyin = "unknown"
    return (
        f"kokoro/{MODEL_SHA256[:12]}/ort{runtime}/frontend{FRONTEND_VERSION}/reading{READING_VERSION}/pypinyin{pinyin}"
        f"/pieces{MAX_PIECE_TOKENS}/frames{SPEECH_ENERGY:g}-{LEAD_FRAMES}-{TAIL_FRAMES}/r{KOKORO_REVISION}"
    )


def shipped_file(name: str, folder: Path | None = None) -> bytes:
    """A file shipped in ``voices/kokoro`` (a voice vector, the phoneme table), checked
    against SHA256SUMS: a damaged one is a one-line error naming it, never a wrong sound."""
    folder = folder or kokoro_files_dir()
    path = folder / name
    try:
        lines = (folder / "SHA256SUMS").read_text("ascii").splitlines()
        sums: dict[str, str] = {name: digest for digest, name in (line.split() for line in lines if line)}
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the Kokoro file {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sums.get(path.name):
        raise ModelError(f"the Kokoro file {path} is damaged (its sha256 is not the shipped one)")
    return data


def voice_vectors(name: str, folder: Path | None = None) -> np.ndarray:
    """The voice's 510 x 256 style table, after checking the file against SHA256SUMS."""
    if name not in KOKORO_VOICES:
        raise ConfigError(f"unknown Kokoro voice {name!r} (one of {', '.join(KOKORO_VOICES)})")
    return np.frombuffer(shipped_file(f"{name}.bin", folder), dtype="<f4").reshape(510, 256)


def trim(audio: np.ndarray) -> np.ndarray:
    """A call's audio without its leading and trailing near-silence (see :data:`SILENCE`)."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE)
    if loud.size == 0:
        return audio[:0]
    start = max(0, int(loud[0]) - int(KEEP_LEAD_S * SAMPLE_RATE))
    return audio[start : int(loud[-1]) + int(KEEP_TAIL_S * SAMPLE_RATE)]


def join(pieces: Sequence[tuple[Piece, np.ndarray]], speed: float, gain: float) -> np.ndarray:
    """A text's audio: its trimmed pieces with pauses between, gain applied, peaks scaled."""
    return join_timed(pieces, speed, gain)[0]


def join_timed(
    pieces: Sequence[tuple[Piece, np.ndarray]], speed: float, gain: float
) -> tuple[np.ndarray, list[tuple[Piece, float, float]]]:
    """:func:`join`, and where each piece's speech is in it (seconds from the start, and how long).

    The model reports no durations, but the engine knows where every call's audio went:
    subtitles are timed piece by piece (a clause or so) instead of over the whole chunk.
    """
    parts: list[np.ndarray] = []
    times: list[tuple[Piece, float, float]] = []
    at = 0
    for n, (piece, audio) in enumerate(pieces):
        said = trim(audio)
        times.append((piece, at / SAMPLE_RATE, said.size / SAMPLE_RATE))
        parts.append(said)
        at += said.size
        if n < len(pieces) - 1:
            pause = SENTENCE_PAUSE_S if piece.ends_sentence else CLAUSE_PAUSE_S
            parts.append(np.zeros(int(pause / speed * SAMPLE_RATE), dtype=np.float32))
            at += parts[-1].size
    if not parts or not any(p.size for p in parts):  # nothing speakable: a short silence
        return np.zeros(int(0.2 * SAMPLE_RATE), dtype=np.float32), []
    audio = np.concatenate(parts).astype(np.float32, copy=False)
    if gain != 1.0:
        audio = audio * np.float32(gain)
    peak = float(np.abs(audio).max())
    if peak > PEAK:
        audio = audio * np.float32(PEAK / peak)
    return audio, times


def boundaries(text: str, times: Sequence[tuple[Piece, float, float]]) -> tuple[Boundary, ...]:
    """One ``"word"`` boundary per piece: the text it says (stripped of edge punctuation and
    spaces, as subtitles search for it) and when, in the clip."""
    out = []
    for piece, start, length in times:
        said = text[piece.span[0] : piece.span[1]].strip(" \t\n\u3000，。、；：！？,.;:!?「」『』（）()")
        if said and length > 0:
            out.append(Boundary("word", said, start, length))
    return tuple(out)


def open_session(model: Path, threads: int = 1) -> Any:
    """One onnxruntime session: ``threads`` intra-op threads (the caller's included), no spinning.

    The graph optimized by onnxruntime is saved on first load (keyed by its version) and
    loaded as it is afterwards: faster to load and ~50 MB less at its peak.
    """
    import onnxruntime as ort

    from bulletin.engines.offline.kokoro import store as kokoro_store

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: cron mails whatever reaches stderr
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = CPU_ARENA
    options.enable_mem_pattern = MEMORY_PATTERN
    if not PREPACK:
        options.add_session_config_entry("session.disable_prepacking", "1")
    saved = kokoro_store.optimized_ready(model, ort.__version__)
    cpu = ["CPUExecutionProvider"]
    try:
        if saved is not None:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            return ort.InferenceSession(str(saved), options, providers=cpu)
        # EXTENDED, not ALL: ALL may save layout changes specific to this CPU
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        # saved under a name of its own, renamed in when complete: another build never
        # reads it half-written; a folder that cannot hold it only costs the saving
        temp = kokoro_store.optimized_temp(model, ort.__version__)
        options.optimized_model_filepath = str(temp) if temp is not None else ""
        try:
            session = ort.InferenceSession(str(model), options, providers=cpu)
        except Exception:
            if temp is None:
                raise
            kokoro_store.discard(temp)
            options.optimized_model_filepath = ""
            return ort.InferenceSession(str(model), options, providers=cpu)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load the Kokoro model: {str(exc).strip().splitlines()[0][:200]}") from exc
    if temp is not None:
        kokoro_store.keep_optimized(temp, model, ort.__version__)
    return session


def vocab_table() -> dict[str, int]:
    """The shipped phoneme → token table, checked against SHA256SUMS."""
    import json

    return dict(json.loads(shipped_file("vocab.json"))["vocab"])


def speech_window(energy: np.ndarray) -> tuple[int, int]:
    """The frames ``[start, end)`` worth decoding, from the predicted energy (two values a frame).

    The speech's frames and a margin around them: :data:`LEAD_FRAMES` before the first
    frame whose energy passes :data:`SPEECH_ENERGY`, :data:`TAIL_FRAMES` after the last.
    Every frame when none does (nothing to go by: decode it all).
    """
    frames = energy.reshape(-1)
    frames = frames[: frames.size // 2 * 2].reshape(-1, 2).max(axis=1)
    loud = np.flatnonzero(frames > SPEECH_ENERGY)
    if loud.size == 0:
        return 0, int(frames.size)
    return max(0, int(loud[0]) - LEAD_FRAMES), min(int(frames.size), int(loud[-1]) + 1 + TAIL_FRAMES)


@dataclass
class Call:
    """One piece between the two halves: what the decoder is fed, and how many frames that is."""

    feeds: dict[str, np.ndarray]
    frames: int


class KokoroSpeaker:
    """The loaded model and frontend; speaks batches of texts (one batch at a time).

    ``model`` is the predictor and decoder (:func:`kokoro_store.model_files`), or the plain
    model alone, which then makes every frame of every call.
    """

    def __init__(self, model: Path | Sequence[Path], workers: int, vocab: Path | None = None) -> None:
        files = (model,) if isinstance(model, Path) else tuple(model)
        if PIN_MMAP_THRESHOLD or not CPU_ARENA:
            pin_mmap_threshold(MMAP_THRESHOLD)
        self.workers = max(1, workers)
        threads = min(INTRA_OP_THREADS, self.workers)
        # The halves load in the background, side by side (onnxruntime and hashlib let go
        # of the GIL), while the first batch's words are cut and its phonemes made: its
        # first call starts ~0.3 s sooner. Their first use waits for them (:meth:`_loaded`).
        pool = ThreadPoolExecutor(2, thread_name_prefix="kokoro-load")
        second = pool.submit(open_session, files[-1], threads)  # the decoder, or the whole model
        first = pool.submit(open_session, files[0], threads) if len(files) == 2 else None
        pool.shutdown(wait=False)
        self._loading: tuple[Future[Any] | None, Future[Any]] = (first, second)
        self._halves: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()
        self.frontend = KokoroFrontend(load_vocab(vocab) if vocab else vocab_table())
        self._styles: dict[str, np.ndarray] = {}

    def _loaded(self) -> tuple[Any, Any]:
        """The predictor (None with the plain model) and the decoder, once loaded; a load's
        :class:`ModelError` is raised here."""
        if self._halves is None:
            with self._load_lock:
                if self._halves is None:
                    first, second = self._loading
                    self._halves = (first.result() if first is not None else None, second.result())
                    release_free_memory()  # what loading parsed and copied (15–30 MB)
        return self._halves

    @property
    def predictor(self) -> Any:
        """The predictor's session (None: the plain model, all of it in the decoder's)."""
        return self._loaded()[0]

    @property
    def session(self) -> Any:
        """The decoder's session, or the plain model's."""
        return self._loaded()[1]

    def style(self, name: str) -> np.ndarray:
        if name not in self._styles:
            self._styles[name] = voice_vectors(name)
        return self._styles[name]

    def prepare(self, piece: Piece, style: Style) -> Call:
        """The predictor's half of a call: the frames worth decoding (see :func:`speech_window`)."""
        n = len(piece.ids)
        vector = np.ascontiguousarray(style.vectors[n - 1 : n])
        tokens = {
            "tokens": np.array([[0, *piece.ids, 0]], dtype=np.int64),
            "style": vector,
            "speed": np.array([style.speed], dtype=np.float32),
        }
        if self.predictor is None:  # the plain model: all of it in one call, its frames estimated
            return Call(tokens, int(FRAMES_PER_TOKEN * (n + 2) / max(style.speed, 0.1)))
        _, features, pitch, energy = self.predictor.run(None, tokens, _run_options())
        start, end = speech_window(energy)
        feeds = {
            "features": np.ascontiguousarray(features[:, :, start:end]),
            "pitch": np.ascontiguousarray(pitch[:, 2 * start : 2 * end]),
            "energy": np.ascontiguousarray(energy[:, 2 * start : 2 * end]),
            "style": vector,
        }
        return Call(feeds, end - start)

    def decode(self, call: Call) -> np.ndarray:
        """The decoder's half (or the whole model): the call's raw 24 kHz audio."""
        audio = self.session.run(None, call.feeds, _run_options())[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def run(self, piece: Piece, style: Style) -> np.ndarray:
        """One model call, both halves: the piece's raw audio (a margin of silence included)."""
        return self.decode(self.prepare(piece, style))

    def speak(
        self,
        texts: Sequence[str],
        style: Style,
        *,
        on_clip: OnClip | None = None,
        max_tokens: int | None = None,
        frames_in_flight: int | None = None,
    ) -> list[Clip]:
        """Clips for ``texts`` in order; ``on_clip`` is called (in this thread) as each is done.

        ``max_tokens`` and ``frames_in_flight`` default to :data:`MAX_PIECE_TOKENS` and
        :data:`FRAMES_IN_FLIGHT` as they are when called (the benchmark sets them).
        """
        max_tokens = max_tokens or MAX_PIECE_TOKENS
        budget = frames_in_flight or FRAMES_IN_FLIGHT
        try:
            words = word_spans(texts)  # rjieba in a child: its dictionary stays out of this process
            pieces = [self.frontend.pieces(text, max_tokens, w) for text, w in zip(texts, words, strict=True)]
        except Exception as exc:
            raise SynthesisError(f"offline voice could not read the text: {_first_line(exc)}") from exc
        jobs = [(i, k) for i, ps in enumerate(pieces) for k in range(len(ps))]
        if not IN_TEXT_ORDER:
            jobs.sort(key=lambda job: -len(pieces[job[0]][job[1]].ids))
        audio: list[list[np.ndarray | None]] = [[None] * len(ps) for ps in pieces]
        left = [len(ps) for ps in pieces]
        done: queue.SimpleQueue[int | tuple[int, BaseException]] = queue.SimpleQueue()
        gate = threading.Condition()
        state = {"frames": 0, "running": 0, "expected": 0, "failed": False}

        def expected(job: tuple[int, int]) -> int:
            return int(WINDOW_FRAMES_PER_TOKEN * len(pieces[job[0]][job[1]].ids) / max(style.speed, 0.1))

        def take() -> tuple[int, int] | None:
            """The next piece (None: no more, or a call failed): the first in text order whose
            expected frames fit in the budget beside the calls running or being predicted,
            else the first, which waits for room (:func:`admit`)."""
            with gate:
                if not jobs or state["failed"]:
                    return None
                room = budget - state["frames"] - state["expected"]
                pick = next((n for n, job in enumerate(jobs) if expected(job) <= room), 0)
                job = jobs.pop(pick)
                state["expected"] += expected(job)
                return job

        def admit(job: tuple[int, int], frames: int) -> bool:
            """Wait until ``frames`` fit in the budget beside the decoder calls running (or
            none runs); False if a call failed meanwhile."""
            with gate:
                state["expected"] -= expected(job)
                gate.notify_all()
                while not state["failed"] and state["running"] and state["frames"] + frames > budget:
                    gate.wait()
                if state["failed"]:
                    return False
                state["frames"] += frames
                state["running"] += 1
                return True

        def worker() -> None:
            while (job := take()) is not None:
                i, k = job
                frames = 0
                try:
                    call = self.prepare(pieces[i][k], style)
                    if not admit(job, frames := call.frames):
                        return
                    try:
                        result = self.decode(call)
                    finally:
                        with gate:
                            state["frames"] -= frames
                            state["running"] -= 1
                            gate.notify_all()
                except Exception as exc:  # the model's own errors, for this text
                    with gate:
                        state["failed"] = True
                        gate.notify_all()
                    done.put((i, exc))
                    return
                with gate:
                    audio[i][k] = result
                    left[i] -= 1
                    finished = left[i] == 0
                if finished:
                    done.put(i)

        threads = [
            threading.Thread(target=worker, name=f"kokoro-{n}", daemon=True)
            for n in range(min(self.workers, max(1, len(jobs))))
        ]
        for thread in threads:
            thread.start()
        clips: list[Clip | None] = [None] * len(texts)
        for i, ps in enumerate(pieces):  # texts with nothing to say are done at once
            if not ps:
                done.put(i)
        try:
            for _ in range(len(texts)):
                item = done.get()
                if isinstance(item, tuple):
                    i, failure = item
                    raise SynthesisError(
                        f"offline voice could not speak chunk {i}: {_first_line(failure)}", chunk=i
                    ) from failure
                made = [(p, a) for p, a in zip(pieces[item], audio[item], strict=True) if a is not None]
                samples, times = join_timed(made, style.speed, style.gain)
                audio[item] = []  # this text's raw audio is no longer needed
                release_free_memory()  # and its pages go back to the system (see engines.offline.heap)
                clips[item] = Clip(
                    data=wav_bytes(samples, SAMPLE_RATE),
                    format="wav",
                    boundaries=boundaries(texts[item], times),
                    meta={"model_calls": len(pieces[item])},
                )
                if on_clip is not None:
                    on_clip(item, clips[item])  # type: ignore[arg-type]
        finally:
            with gate:
                state["failed"] = True  # stops the workers if we leave early
                gate.notify_all()
            for thread in threads:
                thread.join()
        return [clip for clip in clips if clip is not None]


def _run_options() -> Any:
    """Per call: onnxruntime gives the arena's memory back after it (:data:`SHRINK_ARENA`)."""
    if not (CPU_ARENA and SHRINK_ARENA):
        return None
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
