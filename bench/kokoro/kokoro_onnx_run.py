"""kokoro-onnx 0.6.1 on the phonemes bulletin's frontend made: the comparison runner of issue 22.

Run by ``bench/offline_voices.py --kokoro-onnx PYTHON`` with the Python of a separate venv
that has ``kokoro-onnx==0.6.1`` (it is not a bulletin dependency)::

    python3 -m venv /tmp/konnx && /tmp/konnx/bin/pip install kokoro-onnx==0.6.1
    /tmp/konnx/bin/python bench/kokoro/kokoro_onnx_run.py MODEL VOICE.bin PHONEMES.json OUT.wav

``PHONEMES.json`` is a list of ``{"phonemes": ..., "ids": [...]}``, one per chunk of the
sample (bulletin's frontend, whole chunks: kokoro-onnx splits at 510 itself). Each chunk
is one ``Kokoro.create(phonemes, is_phonemes=True)`` on the same model file and voice
vector, with kokoro-onnx's own session (onnxruntime defaults), trimming and pauses; the
token ids it makes are checked against bulletin's. Prints one JSON line: the chunks'
audio seconds and the wall time of the synthesis (the parent measures CPU and peak RSS).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
from kokoro_onnx import Kokoro


def main(model: str, voice_bin: str, phonemes_json: str, out_wav: str) -> None:
    vectors = np.fromfile(voice_bin, dtype="<f4").reshape(510, 1, 256)
    with tempfile.TemporaryDirectory() as tmp:
        voices = Path(tmp) / "voices.npz"
        np.savez(voices, voice=vectors)
        kokoro = Kokoro(model, str(voices))
        chunks = json.loads(Path(phonemes_json).read_text(encoding="utf-8"))
        for chunk in chunks:  # the same token ids as bulletin's, or the comparison is void
            ids = kokoro.tokenizer.tokenize(chunk["phonemes"])
            if list(ids) != list(chunk["ids"]):
                raise SystemExit("kokoro-onnx tokenizes these phonemes differently from bulletin")
        start = time.perf_counter()
        parts = [kokoro.create(chunk["phonemes"], voice="voice", is_phonemes=True)[0] for chunk in chunks]
        wall = time.perf_counter() - start
    audio = np.concatenate(parts)
    with wave.open(out_wav, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24_000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    print(json.dumps({"audio": audio.size / 24_000, "synthesis_wall": wall, "chunks": len(chunks)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
