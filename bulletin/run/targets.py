"""The checks that need the file system, made once when a run starts: can every output be written?

:meth:`bulletin.run.options.BuildOptions.check` refuses bad values without touching a
file; what is refused here depends on the machine (a folder where a file is named, an
unwritable folder, an output over an article, a name too long for the file system), and
so is checked by the run, before any work, after the programme file has been read.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bulletin.errors import ConfigError, InputError
from bulletin.files import longest_name
from bulletin.publish.names import render_output_path, widest_output_path
from bulletin.run.options import BuildOptions, is_url


def check_targets(options: BuildOptions) -> None:
    """Refuse outputs that cannot be written, before any work (see the module docstring)."""
    out = options.output
    if out.to_stdout and sys.stdout is None:  # started with stdout closed (``>&-``)
        raise ConfigError("-o -: stdout is closed; redirect it to a file or name the MP3 file")
    if out.to_stdout and sys.stdout.isatty():
        raise ConfigError("-o - would write MP3 to a terminal; redirect stdout or name a file")
    named: list[tuple[str, str | None]] = []
    if out.path and not out.to_stdout:
        probe = render_output_path(
            out.path, when=datetime.now().astimezone(), title="probe", voice="voice", engine="edge"
        )
        if probe.is_dir() or out.path.endswith(("/", "\\")):
            raise InputError(f"-o {out.path}: is a folder; name the MP3 file to write")
        named.append(("-o", str(probe)))
        _check_name_length("-o", widest_output_path(out.path), out.path)
    named += [("--subtitles", out.subtitles), ("--feed", options.publish.feed)]
    named += [("--report", options.publish.report)]
    seen: dict[str, str] = {
        os.path.realpath(a): f"article {a}" for a in options.sources.articles if a != "-" and not is_url(a)
    }
    # a folder is read whole, every run: an output in it would overwrite an article, or
    # be read back as one next time (the feed's old items as new stories)
    folders = {real: label for real, label in seen.items() if os.path.isdir(real)}
    for label, value in named:
        if not value:
            continue
        folder = os.path.realpath(os.path.dirname(os.path.abspath(value)))
        if folder in folders:
            raise InputError(
                f"{label} {value}: is in the {folders[folder]}, which is read as articles; "
                "write outputs to another folder"
            )
        if Path(value).is_dir():
            raise InputError(f"{label} {value}: is a folder, not a file")
        if _special(Path(value)):
            raise InputError(
                f"{label} {value}: is not a regular file (a device, pipe or socket); name a file"
            )
        _check_name_length(label, Path(value))
        if not _writable_folder(Path(value)):
            raise InputError(f"{label} {value}: cannot write in {Path(value).absolute().parent}")
        real = os.path.realpath(value)
        if real in seen:  # an output over an input, or two outputs in one file
            raise InputError(f"{label} {value}: is the same file as {seen[real]}; name another file")
        seen[real] = f"{label} {value}"


def _check_name_length(label: str, path: Path, template: str | None = None) -> None:
    """Refuse a name too long to publish (its temp file's name would be over the limit).

    A template is checked as its widest rendering (a full-length Chinese ``{slug}``).
    """
    size, room = len(os.fsencode(path.name)), longest_name(path)
    if size > room:
        shown = (
            f"{template}: rendered, the file name can be" if template else f"{path.name}: the file name is"
        )
        raise InputError(f"{label} {shown} too long ({size} bytes; at most {room} here)")


def _special(path: Path) -> bool:
    """Is ``path`` (or what a link there points at) something other than a regular file?

    Publishing renames a new file over the target, which would replace a device node or a
    pipe with a regular file: such targets are refused (``-o -`` is how to write a stream).
    """
    hop = path.absolute()
    for _ in range(40):  # a link through /dev or /proc (such as /proc/self/fd/1) is a stream
        if not hop.is_symlink():
            break
        hop = hop.parent / os.readlink(hop)
        if str(hop).startswith(("/dev/", "/proc/")):
            return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False  # not there yet (or a dangling link): a regular file will be made
    return not stat.S_ISREG(mode)


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


def report_may_be_written(path: str | None, others: Sequence[str | None]) -> bool:
    """May the report at ``path`` be written for a run refused before it started (bad option,
    output or folder)? ``others``: the articles and outputs named.

    Never over an article or another output, nor into a folder read as articles (that may
    be why the run was refused).
    """
    if not path:
        return False
    real, kept = os.path.realpath(path), {os.path.realpath(o) for o in others if o and o != "-"}
    return real not in kept and os.path.dirname(real) not in {k for k in kept if os.path.isdir(k)}
