"""What a run takes from the cache instead of making it again: clips, and whole bulletins.

A clip is keyed by what the engine would be asked to say and how (:func:`chunk_keys`).
A whole assembled, untagged bulletin is keyed by its clips, its structure and the audio
settings (:func:`assembly_key`); a re-run that finds it copies the MP3 and rebuilds the
:class:`~bulletin.audio.timeline.Assembly` from the entry's header.

Light on purpose: nothing here imports numpy, ffmpeg wrappers or an engine, so a run
served wholly from the cache never loads them (:mod:`bulletin.audio.assemble` is imported
only when a bulletin must really be assembled).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bulletin import __version__
from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.audio.timeline import Assembly, Loudness, Placed
from bulletin.engines.base import Boundary, Clip, Engine, VoiceSettings
from bulletin.run.cache import BULLETINS, KEEP_BULLETINS, ClipCache
from bulletin.text.chunk import Chunk


def chunk_keys(chunks: Sequence[Chunk], engine: Engine, voice: VoiceSettings) -> list[str]:
    """The chunk-cache key of every chunk (what the engine would be asked to say, and how)."""
    version = engine.version(voice)
    return [ClipCache.key(version, voice, c.spoken) for c in chunks]


def assembly_key(keys: Sequence[str], chunks: Sequence[Chunk], pauses: Pauses, encode: EncodeOptions) -> str:
    """Cache key of a whole assembled (untagged) bulletin: its clips, structure and audio settings."""
    recipe = {
        "kind": "bulletin",
        "bulletin": __version__,
        "code": _assembly_code_digest(),
        "clips": list(keys),
        "pauses_after": [c.pause_after for c in chunks],
        "pauses": asdict(pauses),
        "encode": asdict(encode),
    }
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_assembly(cache: ClipCache, key: str, chunks: Sequence[Chunk], dest: Path) -> Assembly | None:
    """The bulletin assembled before under ``key``, copied to ``dest``; None if there is none.

    An entry whose header does not fit ``chunks`` counts as missing, and ``dest`` is then
    left untouched.
    """
    entry = cache.get_entry(key, shelf=BULLETINS)
    assembly = _assembly_from(entry[0], chunks) if entry else None
    if entry and assembly:
        dest.write_bytes(entry[1])
    return assembly


def remember_assembly(cache: ClipCache, key: str, mp3: Path, assembly: Assembly) -> None:
    """Keep the bulletin just assembled at ``mp3`` for the next run (only the newest few stay)."""
    cache.put_entry(key, mp3.read_bytes(), _assembly_header(assembly), shelf=BULLETINS)
    cache.keep_newest(BULLETINS, KEEP_BULLETINS)


def assemble_or_reuse(
    chunks: Sequence[Chunk],
    keys: Sequence[str],
    clips: Iterable[Clip],
    dest: Path,
    *,
    pauses: Pauses,
    encode: EncodeOptions,
    cache: ClipCache | None,
) -> Assembly:
    """Assemble into ``dest``, or copy the same bulletin assembled before from the cache.

    ``clips`` is consumed lazily by assembly; on a cache hit it is not touched at all, so
    nothing is synthesized.
    """
    key = assembly_key(keys, chunks, pauses, encode)
    assembly = cached_assembly(cache, key, chunks, dest) if cache else None
    if assembly is None:
        from bulletin.audio.assemble import assemble  # numpy and ffmpeg: only when really assembling

        assembly = assemble(chunks, clips, dest, pauses=pauses, options=encode)
        if cache:
            remember_assembly(cache, key, dest, assembly)
    return assembly


@functools.cache
def _assembly_code_digest() -> str:
    """A digest of the modules that shape the assembled audio, read without importing them.

    Part of the assembled-bulletin cache key, so that a fix to trimming, pauses or loudness
    is heard at once instead of being hidden behind bulletins assembled by the old code.
    """
    digest = hashlib.sha256()
    spec = importlib.util.find_spec("bulletin.audio")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            for path in sorted(Path(folder).glob("*.py")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _assembly_header(assembly: Assembly) -> dict[str, Any]:
    """What an :class:`Assembly` says, as JSON-ready values stored beside the cached MP3."""
    loudness = assembly.loudness
    return {
        "kind": "bulletin",
        "duration": assembly.duration,
        "loudness": None if loudness is None else [loudness.integrated, loudness.true_peak, loudness.lra],
        "attempts": assembly.attempts,
        "limited": assembly.limited,
        "on_target": assembly.on_target,
        "timeline": [
            [p.start, p.end, [[b.kind, b.text, b.offset, b.duration] for b in p.boundaries]]
            for p in assembly.timeline
        ],
    }


def _assembly_from(header: dict[str, Any], chunks: Sequence[Chunk]) -> Assembly | None:
    """Rebuild an :class:`Assembly` from a cached header; None if it does not fit these chunks."""
    try:
        if header.get("kind") != "bulletin" or len(header["timeline"]) != len(chunks):
            return None
        timeline = [
            Placed(
                chunk,
                float(start),
                float(end),
                tuple(Boundary(k, t, float(o), float(d)) for k, t, o, d in bounds),
            )
            for chunk, (start, end, bounds) in zip(chunks, header["timeline"], strict=True)
        ]
        loud = header["loudness"]
        return Assembly(
            duration=float(header["duration"]),
            timeline=timeline,
            loudness=None if loud is None else Loudness(*(float(x) for x in loud)),
            attempts=int(header["attempts"]),
            limited=bool(header["limited"]),
            on_target=bool(header["on_target"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
