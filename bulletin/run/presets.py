"""Voice presets: named TOML files in ``voices/`` (stage: choosing who speaks).

A preset fixes engine, voice and prosody, so that a cron job says ``--voice tw-news``
instead of four options. ``--voice`` also takes a bare Edge ShortName, or an offline
voice's name (``zm_yunxi``, ``zf_xiaoxiao``, ``baker``…). The presets
ship inside the wheel (as ``bulletin/_voices``) and are read from the source tree's
``voices/`` when running from a checkout, so both kinds of install find them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from bulletin.engines import (
    DEFAULT_OFFLINE_VOICE,
    NOT_SHIPPED,
    applies_pitch,
    offline_for_edge,
    offline_voice,
    shipped_voices_dir,
    validate_prosody,
)
from bulletin.engines.base import VoiceSettings
from bulletin.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENGINES = ("edge", "offline")
OFFLINE_VOICE = DEFAULT_OFFLINE_VOICE
DEFAULT_FOR_SCRIPT = {"hant": "tw-news", "hans": "cn-news"}
OFFLINE_PRESET = "offline"

_SHORTNAME_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})+-[A-Za-z0-9]+Neural$")


@dataclass(frozen=True)
class Preset:
    """A named voice: engine, voice and prosody, plus a line for ``bulletin voices``."""

    name: str
    engine: str
    voice: str
    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"
    description: str = ""
    #: True when no ``--voice`` was given and the text's script chose this preset.
    by_default: bool = False

    @property
    def settings(self) -> VoiceSettings:
        return VoiceSettings(self.engine, self.voice, self.rate, self.volume, self.pitch)


def presets_dir() -> Path:
    """Where the shipped presets are: inside the installed package, else the checkout's ``voices/``."""
    return shipped_voices_dir()


def _load(path: Path) -> Preset:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"voice preset {path}: {exc}") from None
    fields = {
        k: data[k] for k in ("name", "engine", "voice", "rate", "volume", "pitch", "description") if k in data
    }
    fields.setdefault("name", path.stem)
    if "voice" not in fields or fields.get("engine") not in ENGINES:
        raise ConfigError(f"voice preset {path}: needs voice and engine (one of {', '.join(ENGINES)})")
    preset = Preset(**{k: str(v) for k, v in fields.items()})
    validate_prosody(preset.rate, preset.volume, preset.pitch)
    return preset


def load_presets(directory: Path | None = None) -> dict[str, Preset]:
    """All presets by name, sorted."""
    directory = directory or presets_dir()
    presets = [_load(p) for p in sorted(directory.glob("*.toml"))]
    return {p.name: p for p in presets}


def resolve(
    spec: str | None,
    *,
    script: str,
    rate: str | None = None,
    volume: str | None = None,
    pitch: str | None = None,
    presets: dict[str, Preset] | None = None,
) -> Preset:
    """Turn ``--voice`` (a preset name, an Edge ShortName or nothing) and overrides into a preset.

    With no ``spec`` the preset follows the text's script: Traditional → ``tw-news``,
    Simplified → ``cn-news``.
    """
    presets = presets if presets is not None else load_presets()
    name = spec or DEFAULT_FOR_SCRIPT.get(script, "cn-news")
    if name in presets:
        preset = replace(presets[name], by_default=not spec)
    elif _SHORTNAME_RE.fullmatch(name):
        preset = Preset(name=name, engine="edge", voice=name, description="Edge voice")
    elif (offline := offline_voice(name)) is not None:
        preset = Preset(name=offline.name, engine="offline", voice=offline.name, description="offline voice")
    elif name.strip().lower() in NOT_SHIPPED:
        raise ConfigError(
            f"voice {name!r} is not shipped: {NOT_SHIPPED[name.strip().lower()]} (see `bulletin voices`)"
        )
    else:
        known = ", ".join(presets)
        raise ConfigError(
            f"unknown voice {name!r}: use a preset ({known}), an offline voice (zm_yunxi, zf_xiaoxiao, "
            "baker…: see `bulletin voices`) or an Edge ShortName like zh-TW-HsiaoChenNeural"
        )
    overrides = {k: v for k, v in (("rate", rate), ("volume", volume), ("pitch", pitch)) if v is not None}
    preset = replace(preset, **overrides)
    validate_prosody(preset.rate, preset.volume, preset.pitch)
    return preset


def pitch_unused(preset: Preset) -> tuple[Preset, str | None]:
    """The preset without a pitch its voice cannot make (Kokoro's), and a note saying so.

    So the report tells the truth and the cache does not keep one copy per unused pitch.
    """
    if applies_pitch(preset.engine, preset.voice) or preset.pitch in ("+0Hz", "-0Hz"):
        return preset, None
    return replace(preset, pitch="+0Hz"), f"the Kokoro voices have no pitch: {preset.pitch} not applied"


def script_of(preset: Preset, default: str) -> str:
    """The script a voice reads in ("hant" for Taiwan and Hong Kong voices, "hans" for the
    mainland's), for texts made for it (a programme's spoken time); ``default`` otherwise."""
    locale = preset.voice.split("-")
    if preset.engine == "edge" and len(locale) > 2 and locale[0] == "zh":
        return "hant" if locale[1] in ("TW", "HK", "MO") else "hans"
    return default


def for_engine(
    preset: Preset, engine: str, presets: dict[str, Preset] | None = None, *, same_gender: bool = True
) -> Preset:
    """The preset to use once the engine is known: an Edge preset falls back to the offline voice.

    The offline voice is the Kokoro voice of the Edge voice's gender (a female anchor stays
    female, so two anchors still alternate offline), or the default one for an Edge voice
    of unknown gender or with ``same_gender=False`` (``--engine offline`` and no
    ``--voice``: the user asked for the offline voice, not for this one). Prosody carries
    over, so ``--rate +10%`` still applies when the network is down.
    """
    if preset.engine == engine:
        return preset
    if engine not in ENGINES:  # a caller's own engine: same voice and prosody, its name
        return replace(preset, engine=engine)
    if engine == "offline":
        presets = presets if presets is not None else load_presets()
        base = presets.get(OFFLINE_PRESET, Preset(OFFLINE_PRESET, "offline", OFFLINE_VOICE))
        voice = offline_for_edge(preset.voice) if preset.engine == "edge" and same_gender else base.voice
        return replace(base, voice=voice, rate=preset.rate, volume=preset.volume, pitch=preset.pitch)
    raise ConfigError(
        f"voice {preset.name!r} is an {preset.engine} voice; it cannot be used with --engine {engine}"
    )
