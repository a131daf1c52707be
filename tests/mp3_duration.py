"""MP3 durations as decoders play them, read from the file's headers (for tests: no ffprobe here).

mutagen reads the frame count from the Xing/Info header but only subtracts the encoder
delay and padding when the tag says "LAME"; ffmpeg's libmp3lame writes the same
LAME-format tag under an "Lavc" name, so those two numbers are read here.
"""

from __future__ import annotations

import wave
from pathlib import Path

from bulletin.errors import AudioError


def probe_duration(path: str | Path) -> float:
    """Duration in seconds of an MP3 or WAV file, read from its headers (no ffprobe needed).

    MP3 goes through mutagen (frame count from the Xing/Info header). mutagen only
    subtracts the encoder delay and padding when the tag says "LAME"; ffmpeg's libmp3lame
    writes the same LAME-format tag under an "Lavc" name, so we read those two numbers
    ourselves (:func:`_lavc_gapless`) and the duration matches what decoders play.
    WAV goes through ``wave``.
    """
    p = Path(path)
    try:
        if p.suffix.lower() == ".wav":
            with wave.open(str(p)) as w:
                return w.getnframes() / float(w.getframerate())
        from mutagen.mp3 import MP3, HeaderNotFoundError

        try:
            info = MP3(str(p)).info
        except HeaderNotFoundError as exc:
            raise AudioError(f"{p.name} is not an MP3 file") from exc
        length = float(info.length)
        if not (info.encoder_info or "").startswith("LAME"):
            length -= _lavc_gapless(p) / float(info.sample_rate)
        return max(0.0, length)
    except (OSError, wave.Error, EOFError) as exc:
        raise AudioError(f"cannot read the duration of {p}: {exc}") from exc


def _lavc_gapless(path: Path) -> int:
    """Encoder delay + padding (samples) from an ffmpeg-written Info/Xing tag, else 0.

    Layout (LAME's VbrTag.c): "Xing"/"Info", 4-byte flags, optional frames (4), bytes (4),
    TOC (100), quality (4); then a 9-byte encoder string and, 21 bytes after its start,
    12 bits of delay and 12 bits of padding.
    """
    with path.open("rb") as f:
        head = f.read(10)
        skip = 0
        if head[:3] == b"ID3" and len(head) == 10:
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            skip = size + 10
        f.seek(skip)
        frame = f.read(512)
    at = max(frame.find(b"Xing"), frame.find(b"Info"))
    if at < 0 or at + 8 > len(frame):
        return 0
    flags = int.from_bytes(frame[at + 4 : at + 8], "big")
    pos = at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
    if frame[pos : pos + 4] not in (b"Lavc", b"Lavf") or pos + 24 > len(frame):
        return 0
    b0, b1, b2 = frame[pos + 21 : pos + 24]
    return ((b0 << 4) | (b1 >> 4)) + (((b1 & 0x0F) << 8) | b2)


# ----------------------------------------------------------------------------- encoding
