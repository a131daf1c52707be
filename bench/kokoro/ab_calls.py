"""Today's Kokoro calls against the new ones, in one process, chunk by chunk (issue 22).

    python bench/kokoro/ab_calls.py [CHUNKS]

Each chunk of the sample goes first through the engine as it was (100-token pieces, the
whole rewritten model ``mmi-v1``, which must still be in the model folder) and then
through the engine as it is (``MAX_PIECE_TOKENS`` pieces, predictor, speech window,
decoder), on one thread, and ``time.process_time`` is read around each: on a loaded
machine both halves of a row see the same load, so the ratio holds where absolute CPU
figures do not. Prints the running totals: CPU s, frames made, seconds kept after trim.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bulletin.engines.offline.kokoro import speaker as K  # noqa: E402
from bulletin.engines.offline.kokoro import store as kokoro_store  # noqa: E402


def main(count: int) -> None:
    command = [sys.executable, "-m", "bulletin", "build", str(ROOT / "examples" / "six-party-talks.txt")]
    command += ["--engine", "offline", "--dry-run", "--json"]
    plan = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    chunks = [c["spoken"] for c in plan["chunks"]][:count]
    old = K.KokoroSpeaker(kokoro_store.model_dir() / "kokoro-v1.0.int8.mmi-v1.onnx", 1)
    new = K.KokoroSpeaker(kokoro_store.model_files(), 1)
    style = K.Style(K.voice_vectors("zm_yunxi"))
    cpu_old = cpu_new = 0.0
    kept_old = kept_new = frames_old = frames_new = 0
    for text in chunks:
        start = time.process_time()
        for piece in old.frontend.pieces(text, 100):
            audio = old.run(piece, style)
            kept_old += K.trim(audio).size
            frames_old += audio.size // K.FRAME_SAMPLES
        cpu_old += time.process_time() - start
        start = time.process_time()
        for piece in new.frontend.pieces(text, K.MAX_PIECE_TOKENS):
            call = new.prepare(piece, style)
            kept_new += K.trim(new.decode(call)).size
            frames_new += call.frames
        cpu_new += time.process_time() - start
        print(
            f"before: {cpu_old:.1f} CPU s, {frames_old} frames, {kept_old / 24000:.1f} s kept | "
            f"now: {cpu_new:.1f} CPU s, {frames_new} frames, {kept_new / 24000:.1f} s kept | "
            f"CPU ratio {cpu_new / cpu_old:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
