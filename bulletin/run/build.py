"""One bulletin run, start to finish, as a library call (the CLI only parses options).

    options → prepare text → choose voice and engine → plan chunks → cache / synthesize
            → assemble (pauses, loudness, one MP3 encode) → tags, subtitles
            → publish atomically (lock, feed, state, report)

The engine is chosen in :mod:`bulletin.run.choose`; what can be taken from the cache
instead of made again (clips, whole assembled bulletins) is keyed in :mod:`bulletin.run.reuse`.

Failures are :class:`~bulletin.errors.BulletinError`; the previous bulletin, feed and
subtitles stay byte-identical, because nothing is renamed into place before every
step that can fail has succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from bulletin.audio.settings import EncodeOptions, Pauses
from bulletin.audio.timeline import Assembly
from bulletin.engines import EDGE_MAX_CHUNK_CHARS
from bulletin.engines.base import Clip, Engine, VoiceSettings
from bulletin.environment import dirs
from bulletin.errors import BulletinError, ConfigError, EngineUnavailable, InputError, SynthesisError
from bulletin.run.cache import ClipCache
from bulletin.run.choose import announce_model_install, cached_edge, choose_engine, make_engine
from bulletin.run.presets import Preset, for_engine, load_presets, resolve
from bulletin.run.report import ChunkStats, InputInfo, RunReport
from bulletin.run.reuse import assemble_or_reuse, chunk_keys
from bulletin.text.chunk import Chunk
from bulletin.text.pipeline import CleanText, estimate_seconds, plan, prepare


class Console(Protocol):
    """Where a run reports to (the CLI's console; tests may pass their own)."""

    def info(self, message: str) -> None: ...
    def detail(self, message: str) -> None: ...
    def progress(self, done: int, total: int, audio_seconds: float) -> None: ...


class Silent:
    """A console that says nothing (library use)."""

    def info(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass

    def progress(self, done: int, total: int, audio_seconds: float) -> None:
        pass


@dataclass(frozen=True)
class BuildOptions:
    """Everything that decides a bulletin. Defaults are the CLI's defaults."""

    articles: tuple[str, ...]
    output: str | None = None
    engine: str = "auto"
    voice: str | None = None
    rate: str | None = None
    volume: str | None = None
    pitch: str | None = None
    concurrency: int = 6
    encoding: str | None = None
    title: str | None = None
    author: str | None = None
    subtitles: str | None = None
    pauses: Pauses = field(default_factory=Pauses)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    cache_dir: str | None = None
    use_cache: bool = True
    lock_timeout: float = 0.0
    force: bool = False
    report: str | None = None
    feed: str | None = None
    base_url: str | None = None
    feed_keep: int = 20

    @classmethod
    def from_cli(cls, *, articles: Sequence[str], **opts: Any) -> BuildOptions:
        """Build options from the CLI's keyword arguments (milliseconds, flags, ...)."""
        pauses = Pauses(
            sentence=opts.pop("pause_sentence", 350) / 1000,
            paragraph=opts.pop("pause_paragraph", 800) / 1000,
            story=opts.pop("pause_story", 1500) / 1000,
        )
        encode = EncodeOptions(loudness=opts.pop("loudness", -16.0), bitrate=opts.pop("bitrate", "64k"))
        use_cache = not opts.pop("no_cache", False)
        known = {k: v for k, v in opts.items() if k in cls.__dataclass_fields__}
        options = cls(articles=tuple(articles), pauses=pauses, encode=encode, use_cache=use_cache, **known)
        if options.feed and not options.base_url:
            raise ConfigError("--feed needs --base-url (the URL of the folder the MP3 is served from)")
        if options.base_url and not re.match(r"^https?://[^/\s]+", options.base_url):
            raise ConfigError(f"--base-url {options.base_url!r}: give an http:// or https:// URL")
        if options.feed and options.output == "-":
            raise ConfigError("--feed cannot be used with -o - (the feed needs a published file)")
        if options.subtitles and Path(options.subtitles).suffix.lower() not in (".srt", ".vtt"):
            raise ConfigError(f"--subtitles {options.subtitles}: the name must end in .srt or .vtt")
        options.check_outputs()
        return options

    def check_outputs(self) -> None:
        """Refuse bad output names and folders before any work is done (not after synthesis)."""
        from bulletin.publish.names import render_output_path

        if self.output == "-" and sys.stdout.isatty():
            raise ConfigError("-o - would write MP3 to a terminal; redirect stdout or name a file")
        named: list[tuple[str, str | None]] = []
        if self.output and self.output != "-":
            probe = render_output_path(
                self.output, when=datetime.now().astimezone(), title="probe", voice="voice", engine="edge"
            )
            if probe.is_dir() or self.output.endswith(("/", "\\")):
                raise InputError(f"-o {self.output}: is a folder; name the MP3 file to write")
            named.append(("-o", str(probe)))
        named += [("--subtitles", self.subtitles), ("--feed", self.feed), ("--report", self.report)]
        for label, value in named:
            if not value:
                continue
            if Path(value).is_dir():
                raise InputError(f"{label} {value}: is a folder, not a file")
            if not _writable_folder(Path(value)):
                raise InputError(f"{label} {value}: cannot write in {Path(value).absolute().parent}")


def _writable_folder(path: Path) -> bool:
    """Can ``path`` be created: is its nearest existing folder writable (it may not exist yet)?"""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:  # try it: permission bits say nothing for root, or on /proc and read-only mounts
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@dataclass
class BuildResult:
    """What a run produced (also in the report)."""

    output: Path | None
    duration: float = 0.0
    engine: str = ""
    voice: str = ""
    synthesized: int = 0
    cached: int = 0
    unchanged: bool = False


# --------------------------------------------------------------------------- planning


def _pause_table(pauses: Pauses) -> dict[str, float]:
    return {k: pauses.after(k) for k in ("clause", "sentence", "paragraph", "story", "end")}  # type: ignore[arg-type]


def _planning_engine(requested: str, preset: Preset) -> str:
    """The engine whose chunk limit a dry run plans for (no network probe in a dry run)."""
    if requested == "auto":
        return preset.engine
    return requested


def _limit(engine_name: str) -> int:
    if engine_name == "edge":
        return EDGE_MAX_CHUNK_CHARS
    from bulletin.engines.offline import OfflineEngine

    return OfflineEngine.max_chunk_chars


def _chunk_dict(c: Chunk) -> dict[str, Any]:
    return {
        "text": c.text,
        "spoken": c.spoken,
        "story": c.story,
        "paragraph": c.paragraph,
        "sentence": c.sentence,
        "pause_after": c.pause_after,
    }


def dry_run_plan(options: BuildOptions, console: Console | None = None) -> dict[str, Any]:
    """The chunk plan and estimated duration, without synthesizing (or probing) anything."""
    clean = prepare(options.articles, encoding=options.encoding)
    preset = resolve(
        options.voice, script=clean.script, rate=options.rate, volume=options.volume, pitch=options.pitch
    )
    engine = _planning_engine(options.engine, preset)
    if options.engine == "offline":
        preset = for_engine(preset, "offline")
    limit = _limit(engine)
    chunks = plan(clean, limit)
    return {
        "text": clean.text,
        "engine": engine,
        "voice": preset.voice,
        "limit": limit,
        "removed": clean.removed.to_dict(),
        "chunks": [_chunk_dict(c) for c in chunks],
        "estimated_seconds": estimate_seconds(chunks, _pause_table(options.pauses), preset.rate),
    }


# --------------------------------------------------------------------------- synthesis


def _clip_seconds(clip: Clip) -> float:
    """Rough duration for progress display (exact lengths come from assembly)."""
    if clip.format == "wav":
        return max(0, len(clip.data) - 44) / 48000  # 24 kHz, 16-bit mono
    return len(clip.data) * 8 / 48000  # Edge: 48 kbit/s


def synthesize_chunks(
    chunks: Sequence[Chunk],
    keys: Sequence[str],
    engine: Engine,
    voice: VoiceSettings,
    cache: ClipCache | None,
    console: Console,
    stats: ChunkStats,
) -> list[Clip]:
    """Clips for every chunk: from the cache where possible, the rest from the engine."""
    clips: list[Clip | None] = [None] * len(chunks)
    missing: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache else None
        if hit is None:
            missing.append(i)
        else:
            clips[i] = hit
    stats.total = len(chunks)
    stats.cached = len(chunks) - len(missing)
    audio = sum(_clip_seconds(c) for c in clips if c is not None)
    done = stats.cached
    console.progress(done, len(chunks), audio)

    def on_clip(position: int, clip: Clip) -> None:
        nonlocal done, audio
        index = missing[position]
        clips[index] = clip
        if cache:
            cache.put(keys[index], clip)
        done += 1
        audio += _clip_seconds(clip)
        stats.synthesized += 1
        stats.retries += clip.retries
        console.progress(done, len(chunks), audio)

    if missing:
        try:
            result = engine.synthesize([chunks[i].spoken for i in missing], voice, on_clip=on_clip)
        except BulletinError as exc:
            stats.retries += max(0, getattr(exc, "attempts", 0) - 1)  # the failing chunk's, too
            chunk_no = getattr(exc, "chunk", None)
            if chunk_no is not None and 0 <= chunk_no < len(missing):
                # engines count within the batch they were given; the user counts the bulletin
                chunk = chunks[missing[chunk_no]]
                text = chunk.text.strip()
                quoted = text if len(text) <= 20 else text[:20] + "…"
                cause = re.sub(r"\bchunk \d+ ", "", str(exc), count=1)
                raise type(exc)(
                    f"chunk {chunk.index} ({quoted}): {cause}", chunk=chunk.index, attempts=exc.attempts
                ) from exc
            raise
        for position, clip in enumerate(result):
            if clips[missing[position]] is None:  # engines that do not call on_clip
                on_clip(position, clip)
    return [c for c in clips if c is not None]


# --------------------------------------------------------------------------- publishing


def default_output(articles: Sequence[str]) -> str:
    """``story.txt`` → ``story.mp3`` in the current folder; stdin → ``bulletin.mp3``."""
    first = articles[0] if articles else "-"
    return "bulletin.mp3" if first == "-" else Path(first).with_suffix(".mp3").name


def _template_has_fields(template: str) -> bool:
    return "{" in template


def _lock_target(template: str, feed: str | None) -> Path:
    """What to lock: the feed (runs sharing a feed must not interleave), else the output.

    A templated name differs from run to run, so the template itself is locked (a lock
    file named after it, in the folder its fixed part names): runs of the same job exclude
    each other, other jobs writing into the same folder do not.
    """
    if feed:
        return Path(feed)
    if not _template_has_fields(template):
        return Path(template)
    fixed = template.split("{", 1)[0]
    folder = Path(fixed) if fixed.endswith(("/", "\\")) else Path(fixed).parent
    return folder / f"bulletin-{hashlib.sha256(template.encode('utf-8')).hexdigest()[:12]}"


def _settings(options: BuildOptions, preset: Preset) -> dict[str, Any]:
    """All settings that change the bulletin's bytes (the skip-unchanged fingerprint)."""
    return {
        "engine": options.engine,
        "voice": asdict(preset),
        "pauses": asdict(options.pauses),
        "encode": asdict(options.encode),
        "title": options.title,
        "author": options.author,
        "subtitles": options.subtitles,
        "feed": options.feed,
        "base_url": options.base_url,
    }


def _first_sentence(clean: CleanText) -> str:
    from bulletin.publish.tags import default_title

    return default_title(clean.stories[0][0])


def _write_tags(
    mp3: Path, assembly: Assembly, clean: CleanText, title: str, options: BuildOptions, when: datetime
) -> None:
    from bulletin.publish.tags import Chapter, write_tags

    chapters: list[Chapter] = []
    if len(clean.stories) > 1:
        for story in range(len(clean.stories)):
            placed = [p for p in assembly.timeline if p.chunk.story == story]
            end = assembly.duration if story == len(clean.stories) - 1 else None
            start = 0.0 if story == 0 else placed[0].start
            chapters.append(Chapter(title=_story_title(clean.stories[story]), start=start, end=end or 0.0))
        for n in range(len(chapters) - 1):
            chapters[n] = Chapter(chapters[n].title, chapters[n].start, chapters[n + 1].start)
    write_tags(mp3, title=title, author=options.author, date=when, chapters=chapters)


def _story_title(paragraphs: Sequence[str]) -> str:
    from bulletin.publish.tags import default_title

    return default_title(paragraphs[0])


@contextlib.contextmanager
def _maybe_lock(target: Path | None, timeout: float, name: str) -> Iterator[None]:
    """Hold the output's lock; a busy lock names the output as the user wrote it."""
    if target is None:
        yield
        return
    from bulletin.errors import BusyError
    from bulletin.publish.lock import output_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(output_lock(target, timeout))
        except BusyError as exc:
            raise BusyError(str(exc).replace(str(target), name, 1)) from None
        yield


def run_build(options: BuildOptions, console: Console | None = None) -> BuildResult:
    """Make and publish one bulletin. See the module docstring for the order of things."""
    console = console or Silent()
    report = RunReport(engine_requested=options.engine)
    to_stdout = options.output == "-"
    template = options.output or default_output(options.articles)
    try:
        result = _build(options, console, report, template, to_stdout)
        report.finish(0)
        return result
    except BulletinError as exc:
        report.fail(str(exc))
        report.finish(exc.exit_code)
        raise
    except KeyboardInterrupt:
        report.fail("interrupted")
        report.finish(130)
        raise
    except BrokenPipeError:
        report.fail("stdout was closed before the whole MP3 was written")
        report.finish(141)
        raise
    except Exception as exc:  # a bug: the report still says what happened
        report.fail(f"internal error: {type(exc).__name__}: {exc}")
        report.finish(1)
        raise
    finally:
        if options.report:
            try:
                report.write(Path(options.report))
            except BulletinError as exc:
                console.info(f"warning: could not write the report: {exc}")


def _build(
    options: BuildOptions, console: Console, report: RunReport, template: str, to_stdout: bool
) -> BuildResult:
    from bulletin.files import atomic_output
    from bulletin.publish.names import render_output_path
    from bulletin.publish.state import RunState, fingerprint, output_key

    when = datetime.now().astimezone()
    with report.stage("read"):
        clean = prepare(options.articles, encoding=options.encoding)
    report.inputs = [InputInfo(a.source, a.encoding, a.sha256, a.size) for a in clean.articles]
    report.removed_duplicates = clean.removed.to_dict()
    r = clean.removed
    console.detail(
        f"read {len(clean.articles)} article(s): {clean.characters} characters kept; removed {r.sentences} "
        f"repeated sentences, {r.fragments} fragments, {r.stories} repeated stories"
    )
    preset = resolve(
        options.voice, script=clean.script, rate=options.rate, volume=options.volume, pitch=options.pitch
    )
    title = options.title or _first_sentence(clean)

    lock_target = None if to_stdout else _lock_target(template, options.feed)
    with _maybe_lock(lock_target, options.lock_timeout, options.feed or template):
        state = RunState(dirs().state)
        key = output_key(template)
        fp = fingerprint(clean.text, _settings(options, preset))
        if not to_stdout and not options.force:
            record = state.unchanged(key, fp)
            retry_edge = options.engine == "auto" and preset.engine == "edge"
            fell_back = retry_edge and (record or {}).get("extra", {}).get("engine") == "offline"
            if record is not None and not fell_back and _companions_intact(record):
                report.skipped_unchanged = report.output.path = record["output"]
                console.info(f"unchanged: {record['output']} is up to date (use --force to rebuild)")
                return BuildResult(Path(record["output"]), unchanged=True)
        if options.feed:
            _check_feed(Path(options.feed))  # a broken feed is refused now, not after synthesis

        cache = None
        if options.use_cache:
            cache = ClipCache(Path(options.cache_dir) if options.cache_dir else dirs().cache)
        with report.stage("engine"):
            chosen = cached_edge(clean, preset, options.engine, options.concurrency, cache)
            engine, why = chosen or choose_engine(options.engine, preset, options.concurrency)
        preset = for_engine(preset, engine.name, load_presets())
        voice = preset.settings
        report.engine_used = engine.name
        report.voice = asdict(voice)
        if options.engine == "auto" and engine.name == "offline" and "unreachable" in why:
            report.fallback_reason = why
        console.info(f"engine: {engine.name} ({why}); voice: {voice.voice}")
        announce_model_install(engine, console)

        started = time.monotonic()
        with report.stage("synthesize"):
            engine, preset, chunks, keys, clips = _speak(
                clean, engine, preset, options, cache, console, report
            )
        voice = preset.settings
        console.detail(
            f"{report.chunks.synthesized} chunks synthesized, {report.chunks.cached} from cache, "
            f"{report.chunks.retries} retries, {time.monotonic() - started:.1f}s"
        )

        def render(dest: Path, subtitles: Path | None) -> Assembly:
            """The finished bulletin at ``dest`` (assembled and tagged) and its subtitles."""
            assembly = _assemble(chunks, keys, clips, dest, options, report, cache)
            _write_tags(dest, assembly, clean, title, options, when)
            if subtitles is not None:
                _write_subtitles(subtitles, Path(options.subtitles or ""), assembly)
            return assembly

        # Every file is written to a temp name first and renamed only when all are ready:
        # a failure anywhere leaves the previous bulletin and subtitles as they were.
        with contextlib.ExitStack() as publishing:
            subtitles = None
            if options.subtitles:
                subtitles = publishing.enter_context(atomic_output(Path(options.subtitles)))
            if to_stdout:
                mp3 = (
                    Path(publishing.enter_context(tempfile.TemporaryDirectory(prefix="bulletin-"))) / "b.mp3"
                )
                assembly = render(mp3, subtitles)
                with mp3.open("rb") as f:
                    shutil.copyfileobj(f, sys.stdout.buffer)
                sys.stdout.buffer.flush()
                size = mp3.stat().st_size
                output = None
            else:
                output = render_output_path(
                    template, when=when, title=title, voice=voice.voice, engine=engine.name
                )
                if output.is_dir():
                    raise InputError(f"{output} is a folder; name the MP3 file to write")
                assembly = render(publishing.enter_context(atomic_output(output)), subtitles)
        if output is not None:
            size = output.stat().st_size
            # the engine is kept so that a bulletin made offline as a fallback is redone with
            # Edge next time, even though its text and settings are unchanged
            companions: dict[str, Any] = {"duration": assembly.duration, "engine": engine.name}
            if options.subtitles:
                companions["subtitles"] = _digest(Path(options.subtitles))
            if options.feed:
                guid = _publish_feed(options, output, size, assembly.duration, title, clean, when)
                companions["feed"] = {"path": str(Path(options.feed).absolute()), "guid": guid}
            state.record_success(key, fp, output, companions)

    report.output.path = str(output) if output else "-"
    report.output.size = size
    report.output.duration_seconds = round(assembly.duration, 2)
    minutes, seconds = divmod(assembly.duration, 60)
    console.info(
        f"wrote {output or 'stdout'}: {int(minutes)}:{seconds:04.1f}, {engine.name} voice {voice.voice}, "
        f"{report.chunks.synthesized} chunks synthesized, {report.chunks.cached} from cache"
    )
    return BuildResult(
        output, assembly.duration, engine.name, voice.voice, report.chunks.synthesized, report.chunks.cached
    )


def _speak(
    clean: CleanText,
    engine: Engine,
    preset: Preset,
    options: BuildOptions,
    cache: ClipCache | None,
    console: Console,
    report: RunReport,
) -> tuple[Engine, Preset, list[Chunk], list[str], list[Clip]]:
    """Plan and synthesize the whole bulletin with ``engine``.

    With ``--engine auto``, an Edge that fails for good (after its retries) or turns out
    unreachable does not end the run: the *whole* bulletin is made again with the offline
    voice (never a mix of the two), and the report says why.
    """
    chunks = plan(clean, engine.max_chunk_chars)
    keys = chunk_keys(chunks, engine, preset.settings)
    try:
        clips = synthesize_chunks(chunks, keys, engine, preset.settings, cache, console, report.chunks)
        return engine, preset, chunks, keys, clips
    except (SynthesisError, EngineUnavailable) as exc:
        if options.engine != "auto" or engine.name != "edge":
            raise
        why = f"Edge failed ({exc})"
    console.info(f"{why}; making the whole bulletin with the offline voice instead")
    engine = make_engine("offline")
    preset = for_engine(preset, "offline", load_presets())
    report.engine_used, report.fallback_reason, report.voice = "offline", why, asdict(preset.settings)
    report.chunks.synthesized = report.chunks.cached = 0
    announce_model_install(engine, console)
    chunks = plan(clean, engine.max_chunk_chars)
    keys = chunk_keys(chunks, engine, preset.settings)
    clips = synthesize_chunks(chunks, keys, engine, preset.settings, cache, console, report.chunks)
    return engine, preset, chunks, keys, clips


def _assemble(
    chunks: Sequence[Chunk],
    keys: Sequence[str],
    clips: Sequence[Clip],
    dest: Path,
    options: BuildOptions,
    report: RunReport,
    cache: ClipCache | None,
) -> Assembly:
    """Assemble into ``dest`` (or reuse it from the cache) and report its loudness."""
    with report.stage("assemble"):
        assembly = assemble_or_reuse(
            chunks, keys, clips, dest, pauses=options.pauses, encode=options.encode, cache=cache
        )
    if assembly.loudness is not None:
        report.loudness = {
            "integrated_lufs": round(assembly.loudness.integrated, 2),
            "true_peak_dbtp": round(assembly.loudness.true_peak, 2),
            "target_lufs": options.encode.loudness,
        }
    return assembly


def _write_subtitles(dest: Path, name: Path, assembly: Assembly) -> None:
    """Subtitles for ``name`` (its suffix picks SRT or VTT), written to the temp file ``dest``."""
    from bulletin.publish.subtitles import write_subtitles

    write_subtitles(dest, assembly.timeline, fmt=name.suffix.lower().lstrip("."), duration=assembly.duration)


def _digest(path: Path) -> dict[str, Any]:
    from bulletin.files import file_digest

    size, sha256 = file_digest(path)
    return {"path": str(path.absolute()), "size": size, "sha256": sha256}


def _companions_intact(record: dict[str, Any]) -> bool:
    """Are the subtitles and feed entry of the last run still there as written?

    "Unchanged" must not leave a deleted subtitle file or feed missing for good.
    """
    extra = record.get("extra") or {}
    subs = extra.get("subtitles")
    if subs:
        try:
            if _digest(Path(subs["path"])) != subs:
                return False
        except (OSError, KeyError, TypeError):
            return False
    feed = extra.get("feed")
    if feed:
        from bulletin.publish.feed import read_feed_items

        try:
            return any(item.id == feed["guid"] for item in read_feed_items(Path(feed["path"])))
        except (BulletinError, OSError, KeyError, TypeError):
            return False
    return True


def _check_feed(path: Path) -> None:
    """Refuse a feed that is there but is not RSS 2.0, before anything is synthesized."""
    from bulletin.errors import PublishError
    from bulletin.publish.feed import read_feed_items

    if path.exists():
        try:
            read_feed_items(path)
        except PublishError as exc:
            raise InputError(str(exc)) from None


def _publish_feed(
    options: BuildOptions,
    output: Path,
    size: int,
    duration: float,
    title: str,
    clean: CleanText,
    when: datetime,
) -> str:
    """Add this bulletin to the feed; returns the item's GUID.

    The GUID holds the MP3's digest, so a bulletin republished under a fixed name is a
    new episode for podcast apps (the feed drops the older item with the same URL).
    """
    from bulletin.files import file_digest
    from bulletin.publish.feed import FeedItem, update_feed

    base = quote((options.base_url or "").rstrip("/"), safe=":/?#[]@!$&'()*+,;=%~")
    url = f"{base}/{quote(output.name)}"  # slugs keep Chinese characters: percent-encode
    guid = f"{url}#{file_digest(output)[1][:16]}"
    item = FeedItem(
        title=title,
        description=_description(clean.stories[0]),
        url=url,
        guid=guid,
        length=size,
        pub_date=when,
        duration_seconds=duration,
    )
    update_feed(
        Path(options.feed or ""),
        item,
        keep=options.feed_keep,
        channel_title=options.author or "bulletin",
        channel_link=base or "http://localhost/",
        channel_description="Mandarin news bulletins made with bulletin",
    )
    return guid


def _description(paragraphs: Sequence[str], limit: int = 400) -> str:
    """The story's opening, cut at a sentence end (never mid-sentence) within ``limit`` characters."""
    from bulletin.text.chars import split_sentences

    text = ""
    for sentence in split_sentences("\n".join(paragraphs)):
        if text and len(text) + len(sentence) > limit:
            break
        text += sentence
    return text[:limit].strip()


# --------------------------------------------------------------------------- preview


def run_preview(
    options: BuildOptions, console: Console | None = None, *, seconds: float = 20.0, out: Path | None = None
) -> Path | None:
    """Synthesize just enough chunks for ``seconds`` of audio and play them (or write them).

    Returns the written file's path when it was written rather than played.
    """
    from bulletin.audio.player import find_player, play
    from bulletin.files import atomic_output
    from bulletin.text.pipeline import CHARS_PER_SECOND, rate_factor

    console = console or Silent()
    clean = prepare(options.articles, encoding=options.encoding)
    preset = resolve(
        options.voice, script=clean.script, rate=options.rate, volume=options.volume, pitch=options.pitch
    )
    engine, why = choose_engine(options.engine, preset, options.concurrency)
    preset = for_engine(preset, engine.name)
    console.info(f"engine: {engine.name} ({why}); voice: {preset.voice}")
    announce_model_install(engine, console)
    chunks = plan(clean, engine.max_chunk_chars)
    budget = seconds * CHARS_PER_SECOND * rate_factor(preset.rate)
    chosen: list[Chunk] = []
    for chunk in chunks:
        chosen.append(chunk)
        budget -= len(chunk.spoken)
        if budget <= 0:
            break
    cache = (
        None
        if not options.use_cache
        else ClipCache(Path(options.cache_dir) if options.cache_dir else dirs().cache)
    )
    keys = chunk_keys(chosen, engine, preset.settings)
    clips = synthesize_chunks(chosen, keys, engine, preset.settings, cache, console, ChunkStats())
    player = None if out is not None else find_player()
    target = out if out is not None else Path(tempfile.gettempdir()) / "bulletin-preview.mp3"
    if player is None and out is None:
        target = Path.cwd() / "bulletin-preview.mp3"
        console.info(
            "no audio player found (ffplay, mpv, afplay, paplay, aplay); writing the preview instead"
        )
    from bulletin.audio.assemble import assemble

    with atomic_output(target) as tmp:
        assemble(
            [*chosen[:-1], _as_end(chosen[-1])], clips, tmp, pauses=options.pauses, options=options.encode
        )
    if player is not None:
        play(target)
        return None
    return target


def _as_end(chunk: Chunk) -> Chunk:
    return Chunk(chunk.index, chunk.text, chunk.spoken, chunk.story, chunk.paragraph, chunk.sentence, "end")
