"""Synthesize the example programme's jingles: ``examples/programme/jingles/``.

A programme needs an opener, a music bed, a sting and a closer. Recorded music would bring
someone else's licence into the repository; tones computed here are ours (MIT, like the
code), small (FLAC compresses pure tones well) and exactly known, so the programme tests can
check the decoded mix for these frequencies instead of trusting internal numbers.

The files are committed; this script says where they came from and makes them again,
sample for sample (``tests/test_jingles.py`` checks that, decoding both, since FLAC's
header records the encoder's version). Every sample is a pure function of the constants
below: no randomness, no dither, rounding once at the end.

They are 44.1 kHz, 16-bit stereo on purpose: a bulletin is 24 kHz mono, so the mixer has
to resample and downmix them, as it will a producer's own jingles.

Usage: ``python tools/make_jingles.py`` (writes into ``examples/programme/jingles/``), or
``python tools/make_jingles.py OUT_DIR``.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

from bulletin.audio.ffmpeg import run_ffmpeg

#: Where the committed files live.
JINGLES = Path(__file__).resolve().parent.parent / "examples" / "programme" / "jingles"

#: The format of every file: CD rate and stereo, not the bulletin's 24 kHz mono.
RATE = 44100
CHANNELS = 2
SAMPLE_WIDTH = 2  # bytes: 16-bit

#: Peak level of the opener, sting and closer, as a fraction of full scale (−6 dBFS): the
#: programme's loudness is set on the whole mix, so this only keeps headroom for the sum.
PEAK = 0.5

#: The opener: C major rising (C5 E5 G5 C6, Hz), one note every NOTE_STEP seconds, each
#: struck like a bell (ATTACK, then an exponential decay of time constant NOTE_DECAY) and
#: left to ring out until OPEN_SECONDS; the closer is the same notes falling (C6 → C5).
OPEN_NOTES = (523.25, 659.25, 783.99, 1046.5)
CLOSE_NOTES = tuple(reversed(OPEN_NOTES))
OPEN_SECONDS = 3.0
CLOSE_SECONDS = 3.0
NOTE_STEP = 0.15
NOTE_DECAY = 0.6
#: The last note of an arpeggio rings longer: the ring-out.
LAST_NOTE_DECAY = 0.9
#: A struck bell's rise (seconds): short, but not a click.
ATTACK = 0.005
#: Every file that does not loop fades to exactly zero over its last FADE_OUT seconds.
FADE_OUT = 0.25

#: The bed: two sines a fifth apart (E4 and B4 in just intonation: 330 and 495 Hz, the
#: second at BED_FIFTH_LEVEL of the first) under a slow tremolo (BED_TREMOLO_HZ, gain
#: dipping by BED_TREMOLO_DEPTH), BED_SECONDS long. Each of them completes a whole number
#: of cycles in BED_SECONDS (2640, 3960 and 2), so the loop's end leads into its start as
#: any sample leads into the next: it loops with no seam to hear.
BED_TONES = (330.0, 495.0)
BED_FIFTH_LEVEL = 0.7
BED_SECONDS = 8.0
BED_TREMOLO_HZ = 0.25
BED_TREMOLO_DEPTH = 0.2
#: The bed's RMS level in dBFS (full scale = a square wave at full amplitude; a full-scale
#: sine is −3 dBFS): quiet, as a bed under a voice is, before the mixer ducks it further.
BED_RMS_DBFS = -20.0

#: The sting: A6 and E7 (1760 and 2637 Hz, a twelfth apart), struck together, decaying.
STING_TONES = (1760.0, 2637.0)
STING_SECONDS = 0.6
STING_DECAY = 0.15

#: The file names, as the example programme refers to them.
FILES = {"open": "open.flac", "bed": "bed.flac", "sting": "sting.wav", "close": "close.flac"}


def _times(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * RATE), dtype=np.float64) / RATE


def _strike(t: np.ndarray, onset: float, hz: float, decay: float) -> np.ndarray:
    """A bell-like note struck at ``onset``: a raised-cosine rise over ATTACK, then e^(−t/decay).

    The sine starts at phase 0 at the onset, so a note begins without a step.
    """
    local = t - onset
    rise = np.clip(local / ATTACK, 0.0, 1.0)
    envelope = np.where(local < 0, 0.0, 0.5 - 0.5 * np.cos(np.pi * rise)) * np.exp(
        -np.maximum(local, 0) / decay
    )
    return envelope * np.sin(2 * np.pi * hz * local)


def _fade_out(signal: np.ndarray) -> np.ndarray:
    """A raised-cosine fade to exactly zero over the last FADE_OUT seconds: the file ends silent."""
    n = round(FADE_OUT * RATE)
    fade = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
    out = signal.copy()
    out[-n:] *= fade
    return out


def _to_peak(signal: np.ndarray, peak: float) -> np.ndarray:
    return signal * (peak / np.max(np.abs(signal)))


def arpeggio(notes: tuple[float, ...], seconds: float) -> np.ndarray:
    """``notes`` struck one after another, every NOTE_STEP seconds, ringing out to ``seconds``."""
    t = _times(seconds)
    signal = np.zeros_like(t)
    for i, hz in enumerate(notes):
        decay = LAST_NOTE_DECAY if i == len(notes) - 1 else NOTE_DECAY
        signal += _strike(t, i * NOTE_STEP, hz, decay)
    return _to_peak(_fade_out(signal), PEAK)


def bed() -> np.ndarray:
    """The looping pad: two sines under a slow tremolo, scaled to BED_RMS_DBFS."""
    t = _times(BED_SECONDS)
    low, fifth = BED_TONES
    tones = np.sin(2 * np.pi * low * t) + BED_FIFTH_LEVEL * np.sin(2 * np.pi * fifth * t)
    tremolo = 1.0 - BED_TREMOLO_DEPTH * (0.5 - 0.5 * np.cos(2 * np.pi * BED_TREMOLO_HZ * t))
    signal = tones * tremolo
    rms = np.sqrt(np.mean(signal**2))
    return signal * (10 ** (BED_RMS_DBFS / 20) / rms)


def sting() -> np.ndarray:
    """The short bell between stories."""
    t = _times(STING_SECONDS)
    signal = sum(_strike(t, 0.0, hz, STING_DECAY) for hz in STING_TONES)
    return _to_peak(_fade_out(signal), PEAK)


def signals() -> dict[str, np.ndarray]:
    """Every jingle as mono float samples in −1 … 1, by name (the keys of FILES)."""
    return {
        "open": arpeggio(OPEN_NOTES, OPEN_SECONDS),
        "bed": bed(),
        "sting": sting(),
        "close": arpeggio(CLOSE_NOTES, CLOSE_SECONDS),
    }


def pcm(signal: np.ndarray) -> bytes:
    """Interleaved 16-bit little-endian stereo frames (the same sound in both channels)."""
    samples = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    return np.repeat(samples, CHANNELS).tobytes()


def write(path: Path, signal: np.ndarray) -> None:
    """Write ``signal`` as WAV (the ``wave`` module) or FLAC (ffmpeg's encoder, bit-exact mode)."""
    data = pcm(signal)
    if path.suffix == ".wav":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(CHANNELS)
            w.setsampwidth(SAMPLE_WIDTH)
            w.setframerate(RATE)
            w.writeframes(data)
        return
    raw = ["-f", "s16le", "-ar", str(RATE), "-ac", str(CHANNELS), "-i", "pipe:0"]
    # no tags, no encoder string: the same input makes the same file with the same ffmpeg
    exact = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    run_ffmpeg(
        ["-v", "error", "-y", *raw, *exact, "-c:a", "flac", "-compression_level", "12", str(path)],
        input=data,
        what=f"writing {path.name}",
    )


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else JINGLES
    out.mkdir(parents=True, exist_ok=True)
    for name, signal in signals().items():
        write(out / FILES[name], signal)
        print(f"{out / FILES[name]}: {len(signal) / RATE:.2f} s, {(out / FILES[name]).stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
