"""Output names: templates such as ``out/{date:%Y%m%d-%H%M}-{slug}.mp3`` and their slugs."""

from __future__ import annotations

import os
import string
import unicodedata
from datetime import datetime
from pathlib import Path

from bulletin.errors import ConfigError

_SLUG_MAX = 60
_SLUG_FALLBACK = "bulletin"
_TEMPLATE_FIELDS = frozenset({"date", "time", "slug", "voice", "engine"})


def slugify(title: str, max_length: int = _SLUG_MAX) -> str:
    """A file-name-safe slug of a headline; Chinese characters are kept as they are.

    Letters and digits of any script survive (``六邊會談明天在北京召開``) and ASCII is
    lower-cased. Runs of anything else — spaces, punctuation, path separators, control
    characters, dots — become one ``-`` (so no leading dot, no ``..``); invisible format
    characters (zero-width space) are dropped. Cut to *max_length* characters: at most
    240 UTF-8 bytes, within every filesystem's 255-byte name limit. Empty → "bulletin".
    """
    text = unicodedata.normalize("NFKC", title)
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LN" or (category[0] == "M" and out) or char == "_":
            out.append(char.lower() if char.isascii() else char)
        elif category == "Cf":  # zero-width and direction marks: invisible, so dropped
            continue
        elif out and out[-1] != "-":
            out.append("-")
    slug = "".join(out).strip("-_")[:max_length].rstrip("-_")
    return slug or _SLUG_FALLBACK


def _safe_component(value: str) -> str:
    """Make a voice/engine name safe inside a file name without changing normal names."""
    cleaned = "".join(
        "-" if char in "/\\" or unicodedata.category(char)[0] == "C" else char for char in value
    )
    return cleaned.lstrip(".") or "unknown"


def render_output_path(template: str, *, when: datetime, title: str, voice: str, engine: str) -> Path:
    """Fill an output template such as ``out/{date:%Y%m%d-%H%M}-{slug}.mp3``.

    Fields: ``date`` (a datetime; ``time`` is an alias; any strftime spec works),
    ``slug`` (of *title*, see :func:`slugify`), ``voice``, ``engine``. Attribute access and
    indexing are not allowed (``{date.year}`` → use ``{date:%Y}``). A template without
    fields is just a path. Unknown fields or bad syntax raise :class:`ConfigError`.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"bad output template {template!r}: {exc}") from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if conversion is not None or (spec and "{" in spec):
            raise ConfigError(f"bad output template {template!r}: no !conversions or nested fields")
        if field not in _TEMPLATE_FIELDS:
            known = ", ".join(f"{{{name}}}" for name in sorted(_TEMPLATE_FIELDS))
            shown = f"{{{field}}}" if field else "{}"
            raise ConfigError(f"unknown field {shown} in output template {template!r}; use {known}")
    values = {
        "date": when,
        "time": when,
        "slug": slugify(title),
        "voice": _safe_component(voice),
        "engine": _safe_component(engine),
    }
    try:
        rendered = template.format_map(values)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(f"bad output template {template!r}: {exc}") from None
    if not rendered.strip() or rendered.endswith(("/", os.sep)):
        raise ConfigError(f"output template {template!r} does not name a file")
    return Path(rendered)


def widest_output_path(template: str) -> Path:
    """The template rendered with the widest values a run can give it (for length checks).

    A slug is at most 60 characters, and Chinese ones take 3 bytes each in a name.
    """
    return render_output_path(
        template,
        when=datetime(2026, 12, 31, 23, 59, 59).astimezone(),
        title="龍" * _SLUG_MAX,
        voice="zh-CN-liaoning-XiaobeiNeural",
        engine="offline",
    )
