"""The kept audio of every Kokoro call, as main makes it and as the speech window makes it (issue 22).

    python bench/kokoro/kept_audio.py [--voices zm_yunxi ...] [--chunks N] [--keep DIR]

For each piece of the sample (the dry run's chunks, cut as the engine cuts them) the
whole rewritten model (``mmi-v1``: every frame, main's samples) and the two halves with
the speech window (the engine as it is) each make the call's audio, trimmed as the
engine trims it. Printed per voice: the kept seconds of each, their difference per call
(worst and median), the loudness difference over the kept audio, and what whisper-base
hears in each call with its word timings (run in the recognizer's own venv, see
``../shared/tools/asr-setup``): the recognized text of both against the piece's text,
the calls whose last recognized character differs between the two, and how far the last
word's end lies before the clip's end (a cut syllable ends at the clip's end).
Not a test: nothing is asserted. Waveforms are not compared: the fused float ops of
the rewrite move the harmonics' phase (bench/README.md, issue 22).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bulletin.engines.base import wav_bytes  # noqa: E402
from bulletin.engines.offline.kokoro import speaker as K  # noqa: E402
from bulletin.engines.offline.kokoro import store as kokoro_store  # noqa: E402

ASR_PYTHON = Path("/root/.cache/bulletin-asr/venv/bin/python")
_SHARED = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
ASR_TOOL = next((p for p in _SHARED if (p / "tools").is_dir()), _SHARED[0]) / "tools" / "asr_cer.py"

HEAR = r"""
import json, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import jiwer
from asr_cer import norm, WhisperModel
home = os.environ.get("ASR_HOME", os.path.expanduser("~/.cache/bulletin-asr"))
model = WhisperModel(os.path.join(home, "model"), device="cpu", compute_type="int8")
out = []
for item in json.load(open(sys.argv[2])):
    row = {}
    for side in ("before", "now"):
        segs, info = model.transcribe(item[side], language="zh", beam_size=5, vad_filter=False,
                                      condition_on_previous_text=False, word_timestamps=True)
        words = [w for s in segs for w in (s.words or [])]
        text = "".join(w.word for w in words)
        heard = norm(text)
        row[side] = {"text": heard, "cer": jiwer.cer(norm(item["ref"]), heard) if heard else 1.0,
                     "last_end": words[-1].end if words else 0.0, "duration": info.duration}
    out.append(row)
print(json.dumps(out, ensure_ascii=False))
"""


def chunks() -> list[str]:
    command = [sys.executable, "-m", "bulletin", "build", str(ROOT / "examples" / "six-party-talks.txt")]
    command += ["--engine", "offline", "--dry-run", "--json"]
    plan = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    return [c["spoken"] for c in plan["chunks"]]


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="+", default=["zm_yunxi"])
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--chunks", type=int, help="only the first N chunks (a quick look)")
    args = parser.parse_args()
    old = K.KokoroSpeaker(kokoro_store.model_dir() / "kokoro-v1.0.int8.mmi-v1.onnx", 1)
    new = K.KokoroSpeaker(kokoro_store.model_files(), 1)
    texts = chunks()[: args.chunks]
    with tempfile.TemporaryDirectory(prefix="kept-audio-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for voice in args.voices:
            style = K.Style(K.voice_vectors(voice))
            items, rows = [], []
            for c, text in enumerate(texts):
                for p, piece in enumerate(new.frontend.pieces(text, K.MAX_PIECE_TOKENS)):
                    before = K.trim(old.run(piece, style))
                    call = new.prepare(piece, style)
                    now = K.trim(new.decode(call))
                    pair = {"ref": text[piece.span[0] : piece.span[1]]}
                    for side, audio in (("before", before), ("now", now)):
                        path = folder / f"{voice}-{c:02d}-{p}-{side}.wav"
                        path.write_bytes(wav_bytes(audio, K.SAMPLE_RATE))
                        pair[side] = str(path)
                    items.append(pair)
                    rows.append((before.size / K.SAMPLE_RATE, now.size / K.SAMPLE_RATE, db(now) - db(before)))
            (folder / "items.json").write_text(json.dumps(items, ensure_ascii=False))
            heard = json.loads(
                subprocess.run(
                    [str(ASR_PYTHON), "-c", HEAR, str(ASR_TOOL), str(folder / "items.json")],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            diffs = np.array([n - b for b, n, _ in rows])
            loud = np.array([d for _, _, d in rows])
            last_differs = [
                (i, h["before"]["text"][-1:], h["now"]["text"][-1:])
                for i, h in enumerate(heard)
                if h["before"]["text"][-1:] != h["now"]["text"][-1:]
            ]
            margin = [h["now"]["duration"] - h["now"]["last_end"] for h in heard]
            margin_before = [h["before"]["duration"] - h["before"]["last_end"] for h in heard]
            print(f"## {voice}: {len(rows)} calls")
            print(f"kept s: before {sum(b for b, _, _ in rows):.2f}, now {sum(n for _, n, _ in rows):.2f}")
            print(
                f"kept difference per call, ms: median {np.median(diffs) * 1000:+.0f}, "
                f"min {diffs.min() * 1000:+.0f}, max {diffs.max() * 1000:+.0f}"
            )
            print(
                f"loudness difference per call, dB: median {np.median(loud):+.2f}, {loud.min():+.2f} to {loud.max():+.2f}"
            )
            print(
                f"whisper per call, mean CER: before {np.mean([h['before']['cer'] for h in heard]):.3f}, "
                f"now {np.mean([h['now']['cer'] for h in heard]):.3f}"
            )
            print(f"calls whose last heard character differs: {len(last_differs)} {last_differs}")
            print(
                f"last word's end before the clip's end, s: "
                f"now min {min(margin):.2f} median {np.median(margin):.2f}; "
                f"before min {min(margin_before):.2f} median {np.median(margin_before):.2f}"
            )
            for i, h in enumerate(heard):
                if h["before"]["text"] != h["now"]["text"]:
                    print(f"  call {i}: before {h['before']['text']}\n          now    {h['now']['text']}")


if __name__ == "__main__":
    main()
