"""A station group (issue 20): programmes made by Celery workers over Redis, each edition
published exactly once and never late.

The layer above :mod:`bulletin.run`: it imports the run, the run never imports it, and
nothing here is imported unless a station command is used, so with ``BULLETIN_BROKER``
unset a single machine's commands and timings are unchanged and Celery is never loaded.
:func:`require` is the one check, before any import of the extra: a missing extra or an
unset broker is a one-line :class:`~bulletin.errors.ConfigError`.
"""

from __future__ import annotations

from importlib.util import find_spec

from bulletin import environment
from bulletin.errors import ConfigError

#: The packages of ``pip install 'bulletin[distributed]'``.
EXTRA = ("celery", "redis")


def require(broker: str | None = None) -> str:
    """The broker URL; ConfigError if the extra is not installed or no broker is set."""
    url = broker or environment.broker()
    if not url:
        raise ConfigError(f"no broker: set {environment.BROKER}=redis://host:6379/0 (or pass --broker)")
    missing = [name for name in EXTRA if find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not installed: pip install 'bulletin[distributed]' for a station group"
        )
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"broker {url!r} is not a Redis URL (redis://host:6379/0)")
    return url
