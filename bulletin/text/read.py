"""Read articles from files or stdin and decode them (stage: read).

Newsroom files arrive as UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK or
Big5. Strict UTF-8 is tried first because it is by far the most common and a strict
decode almost never succeeds on GB18030 or Big5 bytes by accident; everything else is
left to :mod:`bulletin.text.detect`, which reads the bytes in each Chinese encoding and
keeps the reading that looks most like Chinese (a general-purpose detector guessed Big5
for one-line GBK articles, and Cyrillic or Latin-1 are never what a newsroom sends).
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from bulletin.errors import InputError
from bulletin.files import NotRegularFile, read_regular
from bulletin.text.detect import detect

#: Larger inputs are refused: 16 MiB of Chinese text is about 200 hours of speech.
MAX_INPUT_BYTES = 16 * 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"%PDF",
    b"PK\x03\x04",
    b"ID3",
    b"RIFF",
    b"\x7fELF",
    b"\x1f\x8b",
)


@dataclass(frozen=True)
class Article:
    """One input article, decoded but otherwise untouched.

    Articles from feeds and web pages (:mod:`bulletin.sources`) also carry what the page or
    feed said about them: the headline (kept apart from the body, so that it is not read as
    the first sentence), the article's URL, its publication time and the source it came from
    (the feed or folder named on the command line).
    """

    source: str  # the path or URL as given, or "-" for stdin
    text: str
    encoding: str
    sha256: str
    size: int
    headline: str | None = None
    url: str | None = None
    published: datetime | None = None
    origin: str | None = None  # the feed, page or folder argument this article came from


def _display(source: str) -> str:
    return "<stdin>" if source == "-" else source


def decode(data: bytes, source: str = "-", encoding: str | None = None) -> tuple[str, str]:
    """Decode ``data``, returning ``(text, encoding name)``.

    Raises :class:`InputError` naming ``source`` for empty, binary or undecodable input.
    """
    name = _display(source)
    if not data.strip():
        raise InputError(f"{name}: the file is empty")
    if encoding:
        try:
            text_codec = codecs.lookup(encoding)._is_text_encoding
        except LookupError:
            text_codec = None
        if not text_codec:  # unknown, or a bytes-to-bytes codec such as rot13, hex or zlib
            what = "" if text_codec is None else " (a codec, but not a text encoding)"
            raise InputError(f"unknown encoding {encoding!r}{what}: try utf-8, gb18030 or big5") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}: cannot be decoded as {encoding} (byte {exc.start}); drop --encoding to detect it"
            ) from None
        except (UnicodeError, ValueError, TypeError) as exc:  # e.g. the "undefined" codec
            raise InputError(f"{name}: cannot be decoded as {encoding} ({exc})") from None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                raise InputError(f"{name}: starts with a {enc} byte-order mark but is not {enc}") from None
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data[:8192]:
        raise InputError(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    found = detect(data)
    if found is None:
        raise InputError(
            f"{name}: undecodable: not UTF-8, UTF-16, GB18030 or Big5 (use --encoding to force one)"
        )
    return found


def _check_text(text: str, name: str, encoding: str | None = None) -> None:
    """Refuse text that is mostly control characters (a few are stray bytes, dropped in repair)."""
    sample = text[:65536]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls >= 16 and controls / len(sample) > 0.10:
        if encoding:
            raise InputError(f"{name}: does not look like {encoding} text (drop --encoding to detect it)")
        raise InputError(f"{name}: looks like a binary file, not text")
    if not text.strip():
        raise InputError(f"{name}: contains only whitespace")


def read_bytes(source: str | Path, stdin: BinaryIO | None = None) -> bytes:
    """Read raw bytes from a path or ``-`` (stdin), refusing directories and huge inputs."""
    src = str(source)
    name = _display(src)
    if src == "-":
        if stdin is None and sys.stdin is None:  # started with stdin closed (``<&-``)
            raise InputError(f"{name}: is closed; pipe the article in, or name its file")
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    else:
        path = Path(src)
        try:
            if path.is_dir():
                raise InputError(f"{name}: is a directory, not a text file")
            size = path.stat().st_size
            if size > MAX_INPUT_BYTES:
                limit = MAX_INPUT_BYTES // (1024 * 1024)
                raise InputError(f"{name}: {size / 1e6:.1f} MB is over the {limit} MiB input limit")
            # only a regular file: a FIFO with no writer would block the run forever, and
            # /dev/zero never ends (a stream is read with -, from stdin)
            data = read_regular(path, MAX_INPUT_BYTES)
        except NotRegularFile:
            raise InputError(
                f"{name}: not a regular file (a device, pipe or socket); pipe it in with - instead"
            ) from None
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except PermissionError:
            raise InputError(f"{name}: permission denied") from None
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                raise InputError(
                    f"{name}: over the {MAX_INPUT_BYTES // (1024 * 1024)} MiB input limit"
                ) from None
            raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: over the {MAX_INPUT_BYTES // (1024 * 1024)} MiB input limit")
    return data


def read_article(
    source: str | Path, *, encoding: str | None = None, stdin: BinaryIO | None = None
) -> Article:
    """Read and decode one article from a path, or from stdin when ``source`` is ``-``."""
    src = str(source)
    data = read_bytes(src, stdin)
    text, enc = decode(data, src, encoding)
    _check_text(text, _display(src), encoding)
    return Article(
        source=src, text=text, encoding=enc, sha256=hashlib.sha256(data).hexdigest(), size=len(data)
    )


def read_articles(
    sources: Iterable[str | Path], *, encoding: str | None = None, stdin: BinaryIO | None = None
) -> list[Article]:
    """Read several articles in order; stdin (``-``) may be given once."""
    sources = [str(s) for s in sources]
    if not sources:
        raise InputError("no article given (name files, or - for stdin)")
    if sources.count("-") > 1:
        raise InputError("stdin (-) can be read only once")
    return [read_article(s, encoding=encoding, stdin=stdin) for s in sources]
