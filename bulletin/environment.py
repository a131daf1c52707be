"""Folders, endpoints and the local time zone: the one module that reads the environment.

Everything else is handed what it needs (a :class:`Dirs`, an :class:`Endpoints`), so a
library caller or a test can run bulletin against any folders and any Edge endpoint
without touching ``os.environ``, and a cron job's environment is read exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import platformdirs

from bulletin.errors import ConfigError

#: The variables bulletin reads (documented in the README's Environment table).
CACHE_DIR = "BULLETIN_CACHE_DIR"
#: The chunk cache as a URL (issue 20): ``file:///folder`` (e.g. on NFS) or
#: ``s3://bucket/prefix``; shared by a station group's workers. Overrides ``BULLETIN_CACHE_DIR``.
CACHE_URL = "BULLETIN_CACHE_URL"
STATE_DIR = "BULLETIN_STATE_DIR"
DATA_DIR = "BULLETIN_DATA_DIR"
CONFIG_DIR = "BULLETIN_CONFIG_DIR"
#: The user's pronunciation lexicon, in the config folder (see :mod:`bulletin.text.lexicon`).
LEXICON_FILE = "lexicon.toml"
EDGE_WSS_URL = "BULLETIN_EDGE_WSS_URL"
EDGE_VOICES_URL = "BULLETIN_EDGE_VOICES_URL"
#: The Redis URL of a station group's broker (issue 20); unset: one machine, Celery never imported.
BROKER = "BULLETIN_BROKER"
#: Test-only: ``module:callable`` making the engine a distributed worker speaks with
#: (the tests' in-memory engine), instead of the engines the programme asks for.
ENGINE_FACTORY = "BULLETIN_ENGINE_FACTORY"
#: The C library's time zone variable, read by :func:`local_zone`.
TZ = "TZ"
#: The system's zone setting on Linux and macOS: a link into the zone database.
LOCALTIME = Path("/etc/localtime")


@dataclass(frozen=True)
class Dirs:
    """Where a run keeps things between runs: the chunk cache, run state, the offline model."""

    cache: Path
    state: Path
    data: Path
    #: An object store holding the chunk cache instead of ``cache`` (``s3://bucket/prefix``).
    cache_url: str | None = None

    @classmethod
    def under(cls, root: Path) -> Dirs:
        """All three folders inside ``root`` (tests, sandboxes)."""
        root = Path(root)
        return cls(cache=root / "cache", state=root / "state", data=root / "data")


@dataclass(frozen=True)
class Endpoints:
    """Edge's WebSocket and voice-list URLs; None means edge-tts's own defaults."""

    wss_url: str | None = None
    voices_url: str | None = None


def _folder(env: Mapping[str, str], name: str, default: str) -> Path:
    value = env.get(name)
    return Path(value).expanduser() if value else Path(default)


def dirs(env: Mapping[str, str] | None = None) -> Dirs:
    """The folders from ``BULLETIN_*_DIR``, else the platform's user folders."""
    env = os.environ if env is None else env
    cache, url = _cache(env)
    return Dirs(
        cache=cache,
        state=_folder(env, STATE_DIR, platformdirs.user_state_dir("bulletin", appauthor=False)),
        data=_folder(env, DATA_DIR, platformdirs.user_data_dir("bulletin", appauthor=False)),
        cache_url=url,
    )


def _cache(env: Mapping[str, str]) -> tuple[Path, str | None]:
    """The cache folder, and the object store URL when ``BULLETIN_CACHE_URL`` names one.

    ``file:///srv/cache`` is just a folder (NFS mounts are folders); ``s3://bucket/prefix``
    is kept as a URL for :mod:`bulletin.run.cache_s3`. Anything else is a usage error, said
    now rather than when the first chunk is stored.
    """
    from urllib.parse import unquote, urlsplit

    default = _folder(env, CACHE_DIR, platformdirs.user_cache_dir("bulletin", appauthor=False))
    value = env.get(CACHE_URL, "").strip()
    if not value:
        return default, None
    parts = urlsplit(value)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return Path(unquote(parts.path)), None
    if parts.scheme == "s3" and parts.netloc:
        return default, value
    raise ConfigError(f"{CACHE_URL}={value!r}: use file:///folder or s3://bucket/prefix")


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's config folder (``BULLETIN_CONFIG_DIR``, else the platform's), where
    ``lexicon.toml`` is looked for."""
    env = os.environ if env is None else env
    return _folder(env, CONFIG_DIR, platformdirs.user_config_dir("bulletin", appauthor=False))


def user_lexicon(env: Mapping[str, str] | None = None) -> Path:
    """Where the user's own lexicon is (it may not exist)."""
    return config_dir(env) / LEXICON_FILE


def endpoints(env: Mapping[str, str] | None = None) -> Endpoints:
    """Edge endpoints from ``BULLETIN_EDGE_WSS_URL`` / ``BULLETIN_EDGE_VOICES_URL``."""
    env = os.environ if env is None else env
    return Endpoints(wss_url=env.get(EDGE_WSS_URL) or None, voices_url=env.get(EDGE_VOICES_URL) or None)


def broker(env: Mapping[str, str] | None = None) -> str | None:
    """The station group's broker URL (``BULLETIN_BROKER``), None when the machine works alone."""
    env = os.environ if env is None else env
    return env.get(BROKER, "").strip() or None


def engine_factory(env: Mapping[str, str] | None = None) -> str | None:
    """``BULLETIN_ENGINE_FACTORY`` (``module:callable``): tests hand workers their engine this way."""
    env = os.environ if env is None else env
    return env.get(ENGINE_FACTORY, "").strip() or None


def bypass_proxy_for(hosts: list[str]) -> None:
    """Add loopback ``hosts`` to ``NO_PROXY``/``no_proxy`` (the only write to the environment).

    aiohttp honours ``HTTPS_PROXY``; a test server or local gateway on 127.0.0.1 must not
    be sent through a corporate proxy.
    """
    for var in ("NO_PROXY", "no_proxy"):
        present = [p.strip() for p in os.environ.get(var, "").split(",") if p.strip()]
        missing = [h for h in hosts if h not in present]
        if missing:
            os.environ[var] = ",".join(present + missing)


def proxy_hosts(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The hosts of the proxies the environment names (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``ALL_PROXY``, any case): sources are fetched through them, wherever they are."""
    from urllib.parse import urlsplit

    env = os.environ if env is None else env
    hosts = set()
    for name, value in env.items():
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy") and value.strip():
            try:
                host = urlsplit(value if "://" in value else f"http://{value}").hostname
            except ValueError:
                continue
            if host:
                hosts.add(host)
    return frozenset(hosts)


def local_zone(env: Mapping[str, str] | None = None, localtime: Path = LOCALTIME) -> tzinfo:
    """The machine's time zone, with its rules (a programme's air time defaults to it).

    A named zone, not today's offset (``datetime.now().astimezone().tzinfo`` is a fixed
    +01:00 in a Paris winter), so that an air time on the far side of a clock change is
    still read right: the zone ``TZ`` names, else the one ``/etc/localtime`` links to or
    holds. Where neither says (Windows, or a POSIX rule such as ``TZ=CST-8``), the C
    library's offset now, which honours such a rule.
    """
    env = os.environ if env is None else env
    if TZ in env:
        name = env[TZ].lstrip(":") or "UTC"  # an empty TZ is UTC to the C library
        return _zone(name) or _offset_now()
    try:
        target = str(localtime.resolve(strict=True))
    except OSError:
        return _offset_now()
    return _zone(target) or _offset_now()


def _zone(name: str) -> tzinfo | None:
    """The zone ``name`` (a key, or a path into or outside the zone database), None if not one."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    key = name.rsplit("/zoneinfo/", 1)[-1]
    try:
        if not key.startswith("/"):
            return ZoneInfo(key)
        with open(key, "rb") as f:
            return ZoneInfo.from_file(f, key=Path(key).name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _offset_now() -> tzinfo:
    """Today's local offset from the C library (fixed: no rules for other days)."""
    return datetime.now().astimezone().tzinfo  # type: ignore[return-value]  # always set
