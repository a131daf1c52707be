"""The exception hierarchy of bulletin.

Library code raises these; only the CLI turns them into messages and exit codes,
so that the library stays usable on its own (and testable without ``sys.exit``).
Every message is meant to be shown to the user as one line.
"""

from __future__ import annotations

#: Exit codes, documented in the README and ``bulletin build --help``.
EXIT_OK = 0
EXIT_SYNTHESIS = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75  # sysexits.h EX_TEMPFAIL: try again later (cron-friendly)


class BulletinError(Exception):
    """Base class: something the user should read, as one line, then exit."""

    exit_code: int = EXIT_SYNTHESIS


class InputError(BulletinError):
    """Bad input or usage: unreadable, undecodable, empty or speechless text, bad options."""

    exit_code = EXIT_USAGE


class ConfigError(InputError):
    """A bad option value or voice preset (caught before any request is made)."""


class SynthesisError(BulletinError):
    """Speech synthesis failed for good (after retries); no bulletin is written."""

    exit_code = EXIT_SYNTHESIS

    def __init__(self, message: str, *, chunk: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.chunk = chunk
        self.attempts = attempts  # requests made for the failing chunk (for the run report)


class TransientError(SynthesisError):
    """A failure worth retrying: dropped connection, no audio, truncated audio, 5xx, timeout."""


class EngineUnavailable(BulletinError):
    """The requested engine cannot be reached or loaded right now (try again later)."""

    exit_code = EXIT_TEMPFAIL


class BrokerUnavailable(BulletinError):
    """The station group's Redis (``BULLETIN_BROKER``) does not answer (try again later)."""

    exit_code = EXIT_TEMPFAIL


class ModelError(BulletinError):
    """The offline voice model is missing, could not be installed, or failed to load."""

    exit_code = EXIT_SYNTHESIS


class AudioError(BulletinError):
    """Decoding, assembling, measuring or encoding audio failed (ffmpeg and friends)."""

    exit_code = EXIT_SYNTHESIS


class SlotOverrun(InputError):
    """A programme that cannot fit its slot with even one story (exit 2: the programme needs changing)."""


class BusyError(BulletinError):
    """Another run holds the lock on this output."""

    exit_code = EXIT_TEMPFAIL


class PublishError(BulletinError):
    """Writing the output, the feed or the report failed; what was there before is kept."""

    exit_code = EXIT_SYNTHESIS


class SourceError(BulletinError):
    """One source (a feed, a page, a file in a folder) could not be read: reported, not fatal.

    The run warns, lists it in the report and the dry run, and makes the bulletin from the
    other sources; only when every source fails does the run end (:class:`SourcesFailed`).
    """

    exit_code = EXIT_TEMPFAIL


class SourcesFailed(BulletinError):
    """Every source failed (network down, every feed broken): nothing published, try again later."""

    exit_code = EXIT_TEMPFAIL
