"""The chunk cache: keys, round trips, corruption, concurrent writers, housekeeping."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from bulletin.engines.base import Boundary, Clip, VoiceSettings
from bulletin.environment import dirs
from bulletin.run.cache import ClipCache

VOICE = VoiceSettings(engine="edge", voice="zh-CN-XiaoxiaoNeural")


def make_clip(seed: int = 0, size: int = 2000) -> Clip:
    data = bytes((seed + i) % 256 for i in range(size))
    return Clip(
        data=data,
        format="mp3",
        boundaries=(
            Boundary(kind="sentence", text="六邊會談明天召開。", offset=0.1, duration=1.5),
            Boundary(kind="word", text="六邊", offset=0.1, duration=0.4),
        ),
        retries=2,
    )


def test_default_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BULLETIN_CACHE_DIR", str(tmp_path / "c"))
    assert dirs().cache == tmp_path / "c"
    monkeypatch.delenv("BULLETIN_CACHE_DIR")
    assert dirs().cache.name == "bulletin"


def test_key_depends_on_everything_that_changes_the_sound() -> None:
    base = ClipCache.key("7.0", VOICE, "你好")
    assert base == ClipCache.key("7.0", VoiceSettings("edge", "zh-CN-XiaoxiaoNeural"), "你好")
    assert len(base) == 64
    variants = {
        ClipCache.key("7.1", VOICE, "你好"),
        ClipCache.key("7.0", VOICE, "你好。"),
        ClipCache.key("7.0", VoiceSettings("offline", "zh-CN-XiaoxiaoNeural"), "你好"),
        ClipCache.key("7.0", VoiceSettings("edge", "zh-CN-YunxiNeural"), "你好"),
        ClipCache.key("7.0", VoiceSettings("edge", VOICE.voice, rate="+10%"), "你好"),
        ClipCache.key("7.0", VoiceSettings("edge", VOICE.voice, volume="-5%"), "你好"),
        ClipCache.key("7.0", VoiceSettings("edge", VOICE.voice, pitch="+2Hz"), "你好"),
    }
    assert base not in variants
    assert len(variants) == 7


def test_round_trip_and_sharding(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    key = ClipCache.key("1", VOICE, "你好")
    assert cache.get(key) is None
    clip = make_clip()
    assert cache.put(key, clip)
    got = cache.get(key)
    assert got is not None
    assert got.data == clip.data
    assert got.format == "mp3"
    assert got.boundaries == clip.boundaries
    assert got.retries == 0  # retries belong to the run that made it, not to a hit
    assert got.meta.get("cached") is True
    entries = list(tmp_path.rglob("*.clip"))
    assert len(entries) == 1
    assert entries[0].parent.name == key[:2]


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated (partial write)
        lambda raw: b"",  # empty
        lambda raw: b"garbage" * 10,  # not ours
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 0xFF]),  # audio bit flip
        lambda raw: raw[:25] + b"\xff\xfe" + raw[27:],  # header damage
    ],
)
def test_corrupt_entry_is_a_miss_and_removed(tmp_path: Path, damage) -> None:
    cache = ClipCache(tmp_path)
    key = ClipCache.key("1", VOICE, "壞")
    cache.put(key, make_clip())
    (entry,) = tmp_path.rglob("*.clip")
    entry.write_bytes(damage(entry.read_bytes()))
    assert cache.get(key) is None
    assert not entry.exists()
    cache.put(key, make_clip(1))
    again = cache.get(key)
    assert again is not None and again.data == make_clip(1).data


def test_bad_key_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ClipCache(tmp_path).get("../../etc/passwd")


def test_put_failure_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = ClipCache(blocker)  # root is a file: nothing can be stored
    key = ClipCache.key("1", VOICE, "x")
    assert cache.put(key, make_clip()) is False
    assert cache.get(key) is None


def test_info_and_clear(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "cache")
    assert cache.info().entries == 0
    assert cache.clear() == 0
    for i in range(5):
        cache.put(ClipCache.key("1", VOICE, f"句子{i}"), make_clip(i, size=1000))
    # a leftover temp file from a killed writer is neither an entry nor kept by clear
    shard = next((tmp_path / "cache").rglob("*.clip")).parent
    (shard / ".deadbeef.x.tmp").write_bytes(b"partial")
    info = cache.info()
    assert info.path == tmp_path / "cache"
    assert info.entries == 5
    assert info.bytes > 5000
    assert cache.clear() == 5
    assert cache.info().entries == 0
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def _hammer(root: str, worker: int, rounds: int) -> None:
    """Write the same keys as the other worker (and some of its own), reading as it goes."""
    cache = ClipCache(Path(root))
    for r in range(rounds):
        for k in range(8):
            key = ClipCache.key("1", VOICE, f"shared {k}")
            cache.put(key, make_clip(k, size=20_000))
            got = cache.get(key)
            if got is not None and got.data != make_clip(k, size=20_000).data:
                raise AssertionError(f"worker {worker} read a wrong clip for {k}")
        cache.put(ClipCache.key("1", VOICE, f"own {worker} {r}"), make_clip(worker + r))


def test_concurrent_writers_leave_valid_entries(tmp_path: Path) -> None:
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), w, 15)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ClipCache(tmp_path)
    for k in range(8):
        got = cache.get(ClipCache.key("1", VOICE, f"shared {k}"))
        assert got is not None and got.data == make_clip(k, size=20_000).data
    for w in range(2):
        for r in range(15):
            assert cache.get(ClipCache.key("1", VOICE, f"own {w} {r}")) is not None
    assert cache.info().entries == 8 + 2 * 15
    assert not list(tmp_path.rglob("*.tmp"))


def test_only_the_newest_bulletins_are_kept(tmp_path: Path) -> None:
    import os

    from bulletin.run.cache import BULLETINS

    cache = ClipCache(tmp_path)
    keys = [f"{i:064x}" for i in range(1, 6)]
    for age, key in enumerate(reversed(keys)):
        assert cache.put_entry(key, b"mp3", {"kind": "bulletin"}, shelf=BULLETINS)
        path = cache._path(key, BULLETINS)
        os.utime(path, (1000 + age, 1000 + age))
    assert cache.keep_newest(BULLETINS, 2) == 3
    assert [k for k in keys if cache.get_entry(k, shelf=BULLETINS)] == keys[:2]
    assert cache.info().entries == 2
    assert cache.clear() == 2
