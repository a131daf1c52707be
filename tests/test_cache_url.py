"""``BULLETIN_CACHE_URL`` (issue 20): the chunk cache in a folder named by a URL, or in S3.

The URL's reading and the folder cache's write-if-absent run in the main suite; the S3
cache runs against moto's real server (``ThreadedMotoServer``: real HTTP, real
``If-None-Match: *``), marked ``distributed`` with the station group's other tests.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from memory_engine import MemoryEngine, tone_wav

from bulletin.audio.settings import EncodeOptions
from bulletin.engines.base import Clip, VoiceSettings
from bulletin.environment import CACHE_URL, Dirs, dirs
from bulletin.errors import ConfigError
from bulletin.run.build import run_build
from bulletin.run.cache import ClipCache, open_cache
from bulletin.run.options import BuildOptions, OutputOptions, SourceOptions

VOICE = VoiceSettings(engine="memory", voice="test")
FIXED = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def test_a_file_url_is_the_cache_folder(tmp_path: Path) -> None:
    found = dirs({CACHE_URL: f"file://{tmp_path}/shared%20cache", "BULLETIN_CACHE_DIR": "/elsewhere"})
    assert found.cache == tmp_path / "shared cache" and found.cache_url is None
    assert isinstance(open_cache(found), ClipCache)


def test_an_s3_url_is_kept_and_anything_else_is_a_usage_error() -> None:
    assert dirs({CACHE_URL: "s3://bucket/bulletin"}).cache_url == "s3://bucket/bulletin"
    for bad in ("http://cache/", "s3://", "file://host/x", "/srv/cache"):
        with pytest.raises(ConfigError, match=CACHE_URL):
            dirs({CACHE_URL: bad})


def test_the_first_writer_of_a_key_wins(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    key = ClipCache.key("1", VOICE, "同一句")
    assert cache.put(key, Clip(b"first", "wav"))
    assert cache.put(key, Clip(b"second", "wav"))  # there already: kept, not an error
    got = cache.get(key)
    assert got is not None and got.data == b"first"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{key}.clip"]  # no temp left


# ---- S3, against moto's server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on a real moto S3 server on 127.0.0.1; the cache URL naming it."""
    pytest.importorskip("boto3", reason="needs the s3 extra")
    server_module = pytest.importorskip("moto.server", reason="needs moto[server] (distributed-test extra)")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="station")
        yield f"s3://station/bulletin/cache?endpoint={endpoint}"
    finally:
        server.stop()


@pytest.mark.distributed
def test_the_s3_cache_keeps_whole_entries_written_once(s3_url: str) -> None:
    from bulletin.run.cache import BULLETINS
    from bulletin.run.cache_s3 import S3ClipCache

    cache = S3ClipCache.from_url(s3_url)
    key = ClipCache.key("1", VOICE, "颱風")
    assert not cache.has(key) and cache.get(key) is None
    first = Clip(tone_wav(0.2), "wav")
    assert cache.put(key, first)
    assert cache.has(key)
    assert cache.put(key, Clip(b"another take", "wav"))  # If-None-Match: * refused it; still True
    got = cache.get(key)
    assert got is not None and got.data == first.data and got.meta == {"cached": True}
    assert cache.info().entries == 1 and cache.info().path == s3_url

    name = cache._name(key)  # damaged in the store: a miss, and removed
    cache.client.put_object(Bucket="station", Key=name, Body=b"BULLETIN-CLIP-2\n garbage")
    assert cache.get(key) is None and not cache.has(key)

    for i in range(4):
        cache.put_entry(f"{i + 1:064x}", b"mp3", {"kind": "bulletin"}, shelf=BULLETINS)
    assert cache.keep_newest(BULLETINS, 2) == 2
    assert cache.info().entries == 2
    assert cache.clear() == 2 and cache.info().entries == 0


@pytest.mark.distributed
def test_a_build_reads_and_writes_its_chunks_in_s3(s3_url: str, sample: Path, tmp_path: Path) -> None:
    """Two builds on two "machines" (separate folders) sharing only the S3 cache: the second says nothing."""
    opts = [
        BuildOptions(
            sources=SourceOptions(articles=(str(sample),)),
            output=OutputOptions(path=str(tmp_path / f"{name}.mp3"), encode=EncodeOptions(normalize=False)),
        )
        for name in ("a", "b")
    ]
    one, two = MemoryEngine(), MemoryEngine()
    first = run_build(
        opts[0], engine=one, dirs=replace(Dirs.under(tmp_path / "m1"), cache_url=s3_url), clock=lambda: FIXED
    )
    second = run_build(
        opts[1], engine=two, dirs=replace(Dirs.under(tmp_path / "m2"), cache_url=s3_url), clock=lambda: FIXED
    )
    assert first.chunks.synthesized > 0 and two.texts == []
    assert second.chunks.cached == first.chunks.synthesized
    assert (tmp_path / "b.mp3").read_bytes() == (tmp_path / "a.mp3").read_bytes()
    assert not (tmp_path / "m1" / "cache").exists() and not (tmp_path / "m2" / "cache").exists()
