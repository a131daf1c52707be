"""What a run publishes besides the MP3, and what it checks before: the glue to :mod:`bulletin.publish`.

Kept out of :mod:`bulletin.run.build` so the build reads as its sequence of steps: the
lock target, the skip-unchanged fingerprint, chapters and tags, subtitles, the feed item,
and the check that a recorded bulletin's companions are still there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bulletin.audio.timeline import Assembly
from bulletin.errors import BulletinError, BusyError, InputError, PublishError
from bulletin.files import file_digest
from bulletin.run.options import BuildOptions
from bulletin.run.presets import Preset
from bulletin.text.chars import split_sentences
from bulletin.text.pipeline import CleanText

if TYPE_CHECKING:
    from bulletin.publish.feed import FeedItem
    from bulletin.publish.state import Records


def lock_target(options: BuildOptions) -> Path | None:
    """What to lock: the feed (runs sharing a feed must not interleave), else the output.

    A templated name differs from run to run, so the template itself is locked (a lock
    file named after it, in the folder its fixed part names): runs of the same job exclude
    each other, other jobs writing into the same folder do not. Nothing for ``-o -``.
    """
    if options.output.to_stdout:
        return None
    if options.publish.feed:
        return Path(options.publish.feed)
    template = options.template
    if "{" not in template:
        return Path(template)
    fixed = template.split("{", 1)[0]
    folder = Path(fixed) if fixed.endswith(("/", "\\")) else Path(fixed).parent
    return folder / f"bulletin-{hashlib.sha256(os.fsencode(template)).hexdigest()[:12]}"


@contextlib.contextmanager
def locked(options: BuildOptions) -> Iterator[None]:
    """Hold the output's lock; a busy lock names the output as the user wrote it."""
    target = lock_target(options)
    if target is None:
        yield
        return
    from bulletin.publish.lock import output_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(output_lock(target, options.publish.lock_timeout))
        except BusyError as exc:
            shown = options.publish.feed or options.template
            raise BusyError(str(exc).replace(str(target), shown, 1)) from None
        yield


@dataclass(frozen=True)
class About:
    """What the published files say the bulletin is: title, author, and a programme's name.

    The name is the ID3 album (and artist, when no author is given) and the feed's title.
    """

    title: str
    author: str | None = None
    name: str | None = None

    @property
    def artist(self) -> str | None:
        return self.author or self.name


def last_aired(
    options: BuildOptions, state: Path, warn: Callable[[str], None], records: Records | None = None
) -> tuple[tuple[str, ...], ...]:
    """What the last edition of this output aired (each story's sentence digests); none for stdout."""
    if options.output.to_stdout:
        return ()
    from bulletin.publish.state import RunState, output_key

    return RunState(state, warn, records).last_aired(output_key(options.template))


def settings_fingerprint(options: BuildOptions, preset: Preset, lexicon: str = "") -> dict[str, Any]:
    """All settings that change the bulletin's bytes (the skip-unchanged fingerprint).

    ``lexicon``: the digest of the run's merged lexicon (its files may change, not their names).
    """
    out, layout = options.output, options.output.subtitle_layout
    return {
        "lexicon": lexicon,
        "engine": options.voice.engine,
        "voice": asdict(preset),
        "pauses": asdict(out.pauses),
        "encode": asdict(out.encode),
        "title": out.title,
        "author": out.author,
        "subtitles": [out.subtitles, layout.chars, layout.lines] if out.subtitles else None,
        "feed": options.publish.feed,
        "base_url": options.publish.base_url,
    }


def default_title(clean: CleanText) -> str:
    """The first article's headline, else the first sentence of the first story (ID3 title,
    slug, feed item): a headline is what a title is, now that it is no longer spoken."""
    from bulletin.publish.tags import default_title as first_sentence

    if clean.structures and clean.structures[0].headline:
        return first_sentence(clean.structures[0].headline)
    return first_sentence(clean.stories[0][0])


def write_tags(mp3: Path, assembly: Assembly, clean: CleanText, about: About, when: datetime) -> None:
    """ID3 title, artist, album, date, and chapters: a programme's parts, else one per story."""
    from bulletin.publish.tags import Chapter
    from bulletin.publish.tags import default_title as first_sentence
    from bulletin.publish.tags import write_tags as write

    chapters: list[Chapter] = []
    if assembly.spans:
        chapters = [Chapter(title=s.title, start=s.start, end=s.end) for s in assembly.spans]
    elif len(clean.stories) > 1:
        starts = []
        for story in range(len(clean.stories)):
            placed = [p for p in assembly.timeline if p.chunk.story == story]
            starts.append(0.0 if story == 0 or not placed else placed[0].start)
        ends = [*starts[1:], assembly.duration]
        chapters = [
            Chapter(title=first_sentence(clean.stories[n][0]), start=starts[n], end=ends[n])
            for n in range(len(clean.stories))
        ]
    write(mp3, title=about.title, author=about.artist, album=about.name, date=when, chapters=chapters)


def write_subtitles(dest: Path, name: str, assembly: Assembly, options: BuildOptions) -> None:
    """Subtitles for ``name`` (its suffix picks SRT or VTT), written to the temp file ``dest``."""
    from bulletin.publish.subtitles import write_subtitles as write

    fmt = Path(name).suffix.lower().lstrip(".")
    write(dest, assembly.timeline, fmt=fmt, duration=assembly.duration, layout=options.output.subtitle_layout)


def digest(path: Path) -> dict[str, Any]:
    size, sha256 = file_digest(path)
    return {"path": str(path.absolute()), "size": size, "sha256": sha256}


def companions_intact(record: dict[str, Any]) -> bool:
    """Are the subtitles and feed entry of the last run still there as written?

    "Unchanged" must not leave a deleted subtitle file or feed missing for good.
    """
    extra = record.get("extra") or {}
    subs = extra.get("subtitles")
    if subs:
        try:
            if digest(Path(subs["path"])) != subs:
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


def check_feed(options: BuildOptions, about: About, described: str, when: datetime) -> None:
    """Refuse now, before anything is synthesized, what would fail the feed afterwards.

    The feed is built once with a stand-in item carrying this run's real texts (title,
    description, channel fields): an existing file that is not our RSS, an item in it we
    cannot carry over, or text that XML cannot hold (control characters) fails here, as a
    usage error, while the old bulletin and feed are still untouched.
    """
    stand_in = _feed_item(
        options, "bulletin.mp3", about, described, when, length=0, sha256="0" * 64, duration=0
    )
    try:
        _updated_feed(options, about, stand_in)
    except PublishError as exc:
        raise InputError(str(exc)) from None


def feed_with(
    options: BuildOptions,
    output: Path,
    mp3: Path,
    duration: float,
    about: About,
    described: str,
    when: datetime,
) -> tuple[bytes, str]:
    """The feed with this bulletin added (bytes to publish with the MP3), and the item's GUID.

    ``mp3`` holds the bytes that will be published as ``output``. The GUID holds their
    digest, so a bulletin republished under a fixed name is a new episode for podcast
    apps (the feed drops the older item with the same URL).
    """
    size, sha256 = file_digest(mp3)
    item = _feed_item(
        options, output.name, about, described, when, length=size, sha256=sha256, duration=duration
    )
    return _updated_feed(options, about, item), item.id


def _feed_item(
    options: BuildOptions,
    name: str,
    about: About,
    described: str,
    when: datetime,
    *,
    length: int,
    sha256: str,
    duration: float,
) -> FeedItem:
    from bulletin.publish.feed import FeedItem

    # slugs keep Chinese characters: percent-encode the name's bytes (any the OS accepts)
    url = f"{_base_url(options)}/{quote(os.fsencode(name))}"
    return FeedItem(
        title=about.title,
        description=described,
        url=url,
        guid=f"{url}#{sha256[:16]}",
        length=length,
        pub_date=when,
        duration_seconds=duration,
    )


def _updated_feed(options: BuildOptions, about: About, item: FeedItem) -> bytes:
    from bulletin.publish.feed import updated_feed

    data, _items = updated_feed(
        Path(options.publish.feed or ""),
        item,
        keep=options.publish.feed_keep,
        channel_title=about.artist or "bulletin",
        channel_link=_base_url(options) or "http://localhost/",
        channel_description="Mandarin news bulletins made with bulletin",
    )
    return data


def _base_url(options: BuildOptions) -> str:
    return quote((options.publish.base_url or "").rstrip("/"), safe=":/?#[]@!$&'()*+,;=%~")


def description(paragraphs: Sequence[str], limit: int = 400) -> str:
    """The story's opening, cut at a sentence end (never mid-sentence) within ``limit`` characters."""
    text = ""
    for sentence in split_sentences("\n".join(paragraphs)):
        if text and len(text) + len(sentence) > limit:
            break
        text += sentence
    return text[:limit].strip()
