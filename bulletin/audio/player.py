"""Find a command-line audio player for previews, and play a file with it.

Tried in order: ffplay and mpv (play MP3 directly, no window), afplay (macOS, plays
MP3), then paplay (PulseAudio/PipeWire) and aplay (ALSA), which only play WAV: for
those, :func:`play` first converts the MP3 to a temporary WAV with ffmpeg. The bundled
imageio-ffmpeg has no ffplay, so on a bare Linux box paplay/aplay are the usual finds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bulletin.audio.ffmpeg import run_ffmpeg
from bulletin.errors import AudioError
from bulletin.files import temp_dir

#: (executable, arguments before the file, plays MP3 itself?)
_PLAYERS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("ffplay", ("-nodisp", "-autoexit", "-loglevel", "error"), True),
    ("mpv", ("--no-video", "--really-quiet"), True),
    ("afplay", (), True),
    ("paplay", (), False),
    ("aplay", ("-q",), False),
)
#: Players that can only play WAV (the MP3 is converted for them).
WAV_ONLY = frozenset(name for name, _, mp3 in _PLAYERS if not mp3)


def find_player() -> list[str] | None:
    """The command (executable path and options, without the file) of the first player found, or None."""
    for name, args, _ in _PLAYERS:
        exe = shutil.which(name)
        if exe:
            return [exe, *args]
    return None


def play(path: str | Path, player: list[str] | None = None) -> None:
    """Play ``path`` and wait until it finishes (Ctrl-C stops it and propagates).

    ``player`` defaults to :func:`find_player`. Raises :class:`AudioError` when there is
    no player or it fails.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"cannot play {p}: no such file")
    cmd = player or find_player()
    if not cmd:
        raise AudioError("no audio player found: install ffmpeg (ffplay), mpv or pulseaudio-utils")
    with temp_dir("play") as tmp:
        target = p
        if Path(cmd[0]).name in WAV_ONLY and p.suffix.lower() != ".wav":
            target = Path(tmp) / "preview.wav"
            run_ffmpeg(
                ["-v", "error", "-y", "-i", str(p), "-c:a", "pcm_s16le", "-f", "wav", str(target)],
                what="preparing the preview",
            )
        try:
            proc = subprocess.run([*cmd, str(target)], stdin=subprocess.DEVNULL, check=False)
        except OSError as exc:
            raise AudioError(f"cannot run {cmd[0]}: {exc}") from exc
        if proc.returncode != 0:
            raise AudioError(f"{Path(cmd[0]).name} exited with status {proc.returncode}")
