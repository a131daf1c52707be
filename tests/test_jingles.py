"""The example programme's jingles (tools/make_jingles.py), checked on the decoded files.

What the programme tests will look for in a mix (these frequencies, a bed that loops) is
checked here on the committed files themselves, and the files are checked to be exactly
what the tool makes, so the constants the tests import describe the audio that ships.
"""

from __future__ import annotations

import importlib.util
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from mutagen.flac import FLAC

from bulletin.audio.ffmpeg import run_ffmpeg

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = ROOT / "examples" / "programme"


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_jingles", ROOT / "tools" / "make_jingles.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_jingles", module)
    spec.loader.exec_module(module)
    return module


mj = _load_tool()


def decode(path: Path, rate: int | None = None, channels: int | None = None) -> np.ndarray:
    """Samples as ffmpeg decodes them: (frames, channels) int16, at the file's own rate and
    channels unless asked to resample or downmix (as the mixer will, to 24 kHz mono)."""
    args = ["-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le"]
    args += ["-ar", str(rate or mj.RATE), "-ac", str(channels or mj.CHANNELS), "pipe:1"]
    pcm = np.frombuffer(run_ffmpeg(args, what=f"decoding {path.name}"), dtype="<i2")
    return pcm.reshape(-1, channels or mj.CHANNELS)


def committed(name: str) -> Path:
    return mj.JINGLES / mj.FILES[name]


def peaks(samples: np.ndarray, rate: int, count: int, apart: float = 40.0) -> list[float]:
    """The ``count`` strongest spectral peaks (Hz), each at least ``apart`` Hz from the others."""
    x = samples.astype(np.float64) * np.hanning(len(samples))
    n_fft = 1 << (4 * len(x) - 1).bit_length()  # zero-padded: bins well under 1 Hz
    spectrum = np.abs(np.fft.rfft(x, n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    found = []
    for _ in range(count):
        i = int(np.argmax(spectrum))
        found.append(float(freqs[i]))
        spectrum[np.abs(freqs - freqs[i]) < apart] = 0
    return sorted(found)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("jingles")
    mj.main([str(out)])
    return out


@pytest.mark.parametrize("name", list(mj.FILES))
def test_committed_files_are_what_the_tool_makes(name, regenerated):
    """Compared as decoded samples, not bytes: FLAC's header names the encoder's version."""
    again = decode(regenerated / mj.FILES[name])
    shipped = decode(committed(name))
    assert again.shape == shipped.shape
    assert np.array_equal(again, shipped)
    # and losslessly what the synthesis computed
    expected = np.frombuffer(mj.pcm(mj.signals()[name]), dtype="<i2").reshape(-1, mj.CHANNELS)
    assert np.array_equal(shipped, expected)


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("open", mj.OPEN_SECONDS),
        ("bed", mj.BED_SECONDS),
        ("sting", mj.STING_SECONDS),
        ("close", mj.CLOSE_SECONDS),
    ],
)
def test_format_is_cd_stereo_not_the_bulletins(name, seconds):
    path = committed(name)
    if path.suffix == ".flac":
        info = FLAC(path).info
        rate, channels, bits, frames = (
            info.sample_rate,
            info.channels,
            info.bits_per_sample,
            info.total_samples,
        )
    else:
        with wave.open(str(path)) as w:
            rate, channels, bits, frames = (
                w.getframerate(),
                w.getnchannels(),
                8 * w.getsampwidth(),
                w.getnframes(),
            )
    assert (rate, channels, bits) == (44100, 2, 16)
    assert frames == round(seconds * 44100)


def test_small_enough_to_commit():
    assert sum(committed(name).stat().st_size for name in mj.FILES) < 1_000_000


@pytest.mark.parametrize(
    ("name", "tones"),
    [("open", mj.OPEN_NOTES), ("close", mj.CLOSE_NOTES), ("sting", mj.STING_TONES), ("bed", mj.BED_TONES)],
)
def test_dominant_frequencies_are_the_documented_ones(name, tones):
    samples = decode(committed(name))
    assert np.array_equal(samples[:, 0], samples[:, 1])  # the same sound in both channels
    found = peaks(samples[:, 0], mj.RATE, len(tones))
    assert found == pytest.approx(sorted(tones), abs=2.0)


@pytest.mark.parametrize("name", list(mj.FILES))
def test_frequencies_survive_resampling_to_the_bulletin_rate(name):
    tones = {"open": mj.OPEN_NOTES, "close": mj.CLOSE_NOTES, "sting": mj.STING_TONES, "bed": mj.BED_TONES}
    samples = decode(committed(name), rate=24000, channels=1)[:, 0]
    assert peaks(samples, 24000, len(tones[name])) == pytest.approx(sorted(tones[name]), abs=2.0)


@pytest.mark.parametrize(("name", "notes"), [("open", mj.OPEN_NOTES), ("close", mj.CLOSE_NOTES)])
def test_arpeggios_rise_and_fall(name, notes):
    """Just after each note is struck, it is the loudest thing sounding: C5 E5 G5 C6 in order
    for the opener, C6 G5 E5 C5 for the closer."""
    samples = decode(committed(name))[:, 0]
    heard = []
    for i in range(len(notes)):
        start = round((i * mj.NOTE_STEP + 0.01) * mj.RATE)
        window = samples[start : start + round((mj.NOTE_STEP - 0.01) * mj.RATE)]
        heard.append(peaks(window, mj.RATE, 1)[0])
    assert heard == pytest.approx(list(notes), abs=5.0)


def test_bed_level():
    samples = decode(committed("bed"))[:, 0].astype(np.float64) / 32767
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    assert rms_dbfs == pytest.approx(mj.BED_RMS_DBFS, abs=0.1)


def test_bed_loops_without_a_click():
    """Played twice end to end, the seam is no rougher than any other pair of samples: the
    step (first difference) and the bend (second difference) there are within what the
    bed does everywhere else. A click would be a step many times larger."""
    bed = decode(committed("bed"))[:, 0].astype(np.int64)
    twice = np.concatenate([bed, bed])
    seam = len(bed)
    step, bend = np.diff(twice), np.diff(twice, 2)
    inner_step = np.max(np.abs(np.diff(bed)))
    inner_bend = np.max(np.abs(np.diff(bed, 2)))
    assert np.max(np.abs(step[seam - 2 : seam + 1])) <= inner_step
    assert np.max(np.abs(bend[seam - 3 : seam + 1])) <= inner_bend + 2  # + rounding of the 16-bit samples
    # and the seam's step is what the sines predict for one sample at the start of the loop
    assert abs(int(bed[0]) - int(bed[-1])) <= abs(int(bed[1]) - int(bed[0])) + 2


@pytest.mark.parametrize("name", ["open", "sting", "close"])
def test_one_shots_start_and_end_in_silence(name):
    """No click when the mixer starts or stops one: zero at both ends, a ring-out before."""
    samples = decode(committed(name))[:, 0]
    assert samples[0] == 0 and samples[-1] == 0
    tail = samples[-round(0.01 * mj.RATE) :].astype(np.float64) / 32767
    assert np.max(np.abs(tail)) < 10 ** (-50 / 20)
    assert np.max(np.abs(samples)) == pytest.approx(mj.PEAK * 32767, abs=1)


def test_example_programme_refers_to_files_that_exist():
    path = PROGRAMME / "hourly.toml"
    programme = tomllib.loads(path.read_text(encoding="utf-8"))
    audio = [
        programme["opener"]["audio"],
        programme["opener"]["bed"],
        programme["stories"]["sting"],
        programme["closer"]["audio"],
    ]
    for relative in audio + programme["sources"]:
        assert (path.parent / relative).is_file(), relative
    assert {(path.parent / a).resolve() for a in audio} == {committed(n).resolve() for n in mj.FILES}
    voices = {p.stem for p in (ROOT / "voices").glob("*.toml")}
    assert programme["voice"] in voices and set(programme["stories"]["voices"]) <= voices
