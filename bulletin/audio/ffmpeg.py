"""Low-level audio helpers: find ffmpeg, decode clips to PCM, measure loudness, read durations.

Why we call ffmpeg ourselves instead of going through pydub's ``AudioSegment.from_file``:
pydub finds its converter through module globals (``AudioSegment.converter``) and, unless
told the format, shells out to ``ffprobe``/``mediainfo``, which the bundled ffmpeg from
``imageio-ffmpeg`` does not ship. So we never touch pydub's globals: we run ffmpeg (a
system one on ``PATH`` if present, else the bundled one) to decode to raw signed 16-bit
PCM and, where a pydub object is wanted, build the :class:`~pydub.AudioSegment` from that
raw data, which needs no converter at all.

WAV clips that are already 16-bit PCM (the offline engine's) are read with the ``wave``
module, with no process at all; everything else goes through ffmpeg, several clips per
process (see :func:`decode_many`), because starting ffmpeg costs ~20 ms per call and a long
bulletin has a thousand clips.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
import wave
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bulletin.audio.timeline import Loudness
from bulletin.engines.base import Clip
from bulletin.errors import AudioError
from bulletin.files import temp_dir

if TYPE_CHECKING:
    from pydub import AudioSegment

#: Sample rate every clip is decoded to (Edge's and the offline model's native rate).
DEFAULT_RATE = 24000
#: Clips per ffmpeg process when decoding in bulk: amortizes the process start-up
#: (~20 ms) while keeping each batch's PCM small (32 x 4 s x 48 kB/s = ~6 MB).
BATCH_SIZE = 32


def ffmpeg_exe() -> str:
    """Path of the ffmpeg to use: a system one on ``PATH`` first, else imageio-ffmpeg's bundled one.

    A system ffmpeg is preferred because distributions patch and update it; the bundled
    binary is the fallback that makes a system package unnecessary. Looked up per call
    (cheap) rather than cached, so there is no module state to go stale.
    """
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise AudioError("ffmpeg not found: install imageio-ffmpeg or put ffmpeg on PATH") from exc
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise AudioError(f"ffmpeg not found: {exc}") from exc


def run_ffmpeg(args: Sequence[str], *, input: bytes | None = None, what: str = "ffmpeg") -> bytes:
    """Run ffmpeg with ``args`` (after the executable) and return its stdout.

    stderr is captured so that a failure can be reported in one line (its last line is
    usually the reason). ``-nostdin`` is added so ffmpeg never eats the terminal's input.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(f"{what}: cannot run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        raise AudioError(f"{what} failed: {_last_line(proc.stderr)}")
    return proc.stdout


def run_ffmpeg_stderr(args: Sequence[str], *, what: str) -> str:
    """Run ffmpeg for a filter that reports on stderr (ebur128) and return stderr as text."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    try:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
    except OSError as exc:
        raise AudioError(f"{what}: cannot run ffmpeg: {exc}") from exc
    text = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise AudioError(f"{what} failed: {_last_line(proc.stderr)}")
    return text


#: The demuxers a jingle, bed or sting may be read with: audio files, never a playlist,
#: a concat list (``ffconcat`` naming a FIFO would block the run), an image sequence or a
#: device. ffmpeg names a demuxer by any of its aliases (``mov`` covers ``mp4`` and ``m4a``).
AUDIO_FORMATS = "wav,w64,mp3,flac,ogg,mov,aac,matroska,aiff,caf,wv,ape,au,amr,asf,tta"


def plain_file_input(path: Path) -> list[str]:
    """ffmpeg input options reading ``path`` as a plain audio file, and nothing else.

    Only a regular file (a FIFO would block ffmpeg, and the run, forever), through the
    ``file`` protocol only (a name such as ``pipe:0`` or ``http://…`` is a file name
    here), and only with an audio demuxer (:data:`AUDIO_FORMATS`: no concat lists or
    playlists, which would make ffmpeg open other files or protocols). :class:`AudioError`
    if it is not a regular file.
    """
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        raise AudioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not regular:
        raise AudioError(f"{path}: not a regular file (a device, pipe or socket)")
    return [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        AUDIO_FORMATS,
        "-i",
        "file:" + os.path.abspath(path),
    ]


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no error message"


# ----------------------------------------------------------------------------- decoding


def _pcm_args(sample_rate: int) -> list[str]:
    return ["-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(sample_rate)]


def _read_wav_fast(data: bytes, sample_rate: int) -> np.ndarray | None:
    """Read a WAV that is already mono/stereo 16-bit PCM at ``sample_rate`` without ffmpeg.

    Returns None when the WAV needs resampling or is not plain PCM, so the caller falls
    back to ffmpeg (which handles every variant).
    """
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2 or w.getframerate() != sample_rate or w.getnchannels() > 2:
                return None
            channels = w.getnchannels()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        return None
    pcm = np.frombuffer(frames, dtype="<i2")
    if channels == 2:
        pcm = ((pcm[0::2].astype(np.int32) + pcm[1::2]) // 2).astype(np.int16)
    return pcm.astype(np.int16, copy=False)


def decode_pcm(clip: Clip, sample_rate: int = DEFAULT_RATE) -> np.ndarray:
    """Decode one clip to mono signed 16-bit samples at ``sample_rate``."""
    if clip.format == "wav":
        fast = _read_wav_fast(clip.data, sample_rate)
        if fast is not None:
            return fast
    if not clip.data:
        raise AudioError(f"cannot decode an empty {clip.format} clip")
    out = run_ffmpeg(
        ["-v", "error", "-f", clip.format, "-i", "pipe:0", *_pcm_args(sample_rate), "pipe:1"],
        input=clip.data,
        what=f"decoding a {clip.format} clip",
    )
    return np.frombuffer(out, dtype="<i2")


def decode_clip(clip: Clip, sample_rate: int = DEFAULT_RATE) -> AudioSegment:
    """Decode one clip to a mono 16-bit :class:`pydub.AudioSegment` (no pydub converter involved)."""
    import warnings

    # pydub looks for ffmpeg on PATH at import time and warns when there is none; we never
    # use its converter (the data below is raw PCM), so that warning would only mislead.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
        from pydub import AudioSegment

    pcm = decode_pcm(clip, sample_rate)
    return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=sample_rate, channels=1)


def _decode_batch(clips: Sequence[Clip], first: int, sample_rate: int) -> list[np.ndarray]:
    """Decode several clips with one ffmpeg process (N inputs, N raw outputs in a temp dir).

    If the batch fails, each clip is decoded alone so the error names the bad clip.
    """
    with temp_dir("dec") as tmp:
        root = Path(tmp)
        args: list[str] = ["-v", "error", "-y"]
        for i, clip in enumerate(clips):
            src = root / f"{i}.{clip.format}"
            src.write_bytes(clip.data)
            args += ["-f", clip.format, "-i", str(src)]
        for i in range(len(clips)):
            args += ["-map", f"{i}:a:0", *_pcm_args(sample_rate), str(root / f"{i}.raw")]
        try:
            run_ffmpeg(args, what="decoding clips")
        except AudioError:
            out = []
            for i, clip in enumerate(clips):
                try:
                    out.append(decode_pcm(clip, sample_rate))
                except AudioError as exc:
                    raise AudioError(f"clip {first + i}: {exc}") from exc
            return out
        return [np.fromfile(root / f"{i}.raw", dtype="<i2") for i in range(len(clips))]


def decode_many(
    clips: Iterable[Clip], sample_rate: int = DEFAULT_RATE, *, workers: int = 2, batch: int = BATCH_SIZE
) -> Iterator[tuple[Clip, np.ndarray]]:
    """Yield each clip with its mono 16-bit samples, in order, decoding ahead in a small thread pool.

    ``clips`` may be any iterable, e.g. a generator fed by the engine as it synthesizes: it
    is consumed lazily, ``batch`` clips at a time, with at most ``workers + 1`` batches in
    flight, so memory stays bounded however long the bulletin is (the consumer writes each
    clip out before asking for the next). Plain 16-bit WAV clips are read in-process; the
    others are decoded ``batch`` at a time per ffmpeg process.
    """

    def groups() -> Iterator[tuple[int, list[Clip]]]:
        # A WAV clip closes its group at once: it needs no ffmpeg process to amortize, and
        # with a streaming source the next clip may be seconds away (still being synthesized).
        pending: list[Clip] = []
        start = 0
        for i, clip in enumerate(clips):
            if not pending:
                start = i
            pending.append(clip)
            if len(pending) >= batch or clip.format == "wav":
                yield start, pending
                pending = []
        if pending:
            yield start, pending

    def work(first: int, group: list[Clip]) -> list[tuple[Clip, np.ndarray]]:
        out: list[np.ndarray | None] = []
        slow: list[tuple[int, Clip]] = []
        for i, clip in enumerate(group):
            fast = _read_wav_fast(clip.data, sample_rate) if clip.format == "wav" else None
            out.append(fast)
            if fast is None:
                if not clip.data:
                    raise AudioError(f"clip {first + i}: empty {clip.format} audio")
                slow.append((i, clip))
        if slow:
            decoded = _decode_batch([c for _, c in slow], first, sample_rate)
            for (i, _), pcm in zip(slow, decoded, strict=True):
                out[i] = pcm
        return [(clip, pcm) for clip, pcm in zip(group, out, strict=True) if pcm is not None]

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="bulletin-dec") as pool:
        in_flight: deque[Future[list[tuple[Clip, np.ndarray]]]] = deque()
        it = groups()
        for first, group in it:
            in_flight.append(pool.submit(work, first, group))
            if len(in_flight) > workers:
                break
        while in_flight:
            done = in_flight.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                in_flight.append(pool.submit(work, *nxt))
            yield from done


# ----------------------------------------------------------------------------- measuring

_SUMMARY_I = re.compile(r"^\s*I:\s*(-?[\d.]+|-?inf)\s*LUFS", re.MULTILINE)
_SUMMARY_LRA = re.compile(r"^\s*LRA:\s*(-?[\d.]+)\s*LU\b", re.MULTILINE)
_SUMMARY_PEAK = re.compile(r"^\s*Peak:\s*(-?[\d.]+|-?inf)\s*dBFS", re.MULTILINE)


def parse_ebur128_summary(stderr: str) -> Loudness:
    """Read integrated loudness, LRA and true peak from ffmpeg ebur128's final summary."""
    at = stderr.rfind("Summary:")
    if at < 0:
        raise AudioError("loudness measurement gave no summary")
    summary = stderr[at:]
    i, lra, peak = (_SUMMARY_I.search(summary), _SUMMARY_LRA.search(summary), _SUMMARY_PEAK.search(summary))
    if not (i and lra and peak):
        raise AudioError("could not read the loudness measurement")
    return Loudness(integrated=float(i.group(1)), true_peak=float(peak.group(1)), lra=float(lra.group(1)))


def measure_input(input_args: Sequence[str], *, what: str = "measuring loudness") -> Loudness:
    """Measure loudness of whatever ``input_args`` (ffmpeg input options + ``-i``) describe.

    Uses ffmpeg's ``ebur128`` filter with true-peak mode (the same BS.1770 meter loudnorm
    uses, but 6x faster than a loudnorm first pass because it does not run loudnorm's
    192 kHz dynamic processing). ``framelog=verbose`` keeps the per-frame lines below the
    ``info`` log level so only the summary is printed.
    """
    text = run_ffmpeg_stderr(
        [
            "-v",
            "info",
            *input_args,
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        what=what,
    )
    return parse_ebur128_summary(text)


def measure_loudness(path: str | Path) -> Loudness:
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU) of an audio file."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"cannot measure {p}: no such file")
    return measure_input(plain_file_input(p), what=f"measuring loudness of {p.name}")


def encode_and_decode(
    input_args: Sequence[str],
    output_args: Sequence[str],
    dest: Path,
    *,
    feed: Iterable[np.ndarray] | None,
    sample_rate: int,
    on_decoded: Callable[[np.ndarray], None],
    what: str = "encoding the MP3",
) -> None:
    """Encode to ``dest`` and, in the same pass, decode what was encoded for ``on_decoded``.

    One ffmpeg encodes, writing ``dest`` (seekable, so its Xing/LAME header with the
    gapless numbers is filled in at the end) and, through the ``tee`` muxer, the same MP3
    frames to its stdout, which is piped straight into a second ffmpeg that decodes them
    to s16le for us. So the encoded file is measured while it is being encoded, on the
    other core, instead of being read back and decoded afterwards (that cost about a
    third of an encode). ``feed``, when given, is float32 PCM written to the encoder's
    stdin (``input_args`` must then read ``pipe:0``). stderr goes to temp files so no pipe
    can fill up and stall either process.
    """
    exe = ffmpeg_exe()
    mux = "[f=mp3:id3v2_version=0:write_id3v1=0]"
    target = str(dest).replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace(":", "\\:")
    enc_cmd = [exe, "-hide_banner", *([] if feed is not None else ["-nostdin"]), "-v", "error", "-y"]
    enc_cmd += [*input_args, "-map", "0:a", "-map_metadata", "-1", *output_args]
    enc_cmd += ["-f", "tee", f"{mux}{target}|{mux}pipe\\:1"]
    dec_cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-f", "mp3", "-i", "pipe:0"]
    dec_cmd += ["-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    with tempfile.TemporaryFile() as enc_err, tempfile.TemporaryFile() as dec_err:
        try:
            enc = subprocess.Popen(
                enc_cmd,
                stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=enc_err,
            )
        except OSError as exc:
            raise AudioError(f"{what}: cannot run ffmpeg: {exc}") from exc
        assert enc.stdout is not None
        try:
            dec = subprocess.Popen(dec_cmd, stdin=enc.stdout, stdout=subprocess.PIPE, stderr=dec_err)
        except OSError as exc:
            enc.kill()
            enc.wait()
            raise AudioError(f"{what}: cannot run ffmpeg: {exc}") from exc
        enc.stdout.close()  # the decoder holds it now; EOF reaches it when the encoder ends
        assert dec.stdout is not None
        failure: list[BaseException] = []

        def pump() -> None:
            assert enc.stdin is not None
            try:
                for block in feed or ():
                    enc.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
            except BrokenPipeError:
                pass  # the encoder failed: its stderr says why
            except BaseException as exc:
                failure.append(exc)
            finally:
                with contextlib.suppress(BrokenPipeError):
                    enc.stdin.close()

        writer = threading.Thread(target=pump, name="bulletin-enc") if feed is not None else None
        if writer is not None:
            writer.start()
        try:
            leftover = b""
            while True:
                data = dec.stdout.read(1 << 18)
                if not data:
                    break
                data = leftover + data
                cut = len(data) // 2 * 2
                leftover = data[cut:]
                on_decoded(np.frombuffer(data[:cut], dtype="<i2"))
        finally:
            if writer is not None:
                writer.join()
            enc_rc, dec_rc = enc.wait(), dec.wait()
        if failure:
            raise failure[0]
        for rc, err in ((enc_rc, enc_err), (dec_rc, dec_err)):
            if rc != 0:
                err.seek(0)
                raise AudioError(f"{what} failed: {_last_line(err.read())}")
