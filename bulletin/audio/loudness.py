"""In-process EBU R128 / ITU-R BS.1770 loudness meter and a look-ahead peak limiter, in numpy.

Why not ffmpeg's ``ebur128``: every ffmpeg pass re-reads the whole bulletin and, with
``peak=true``, upsamples it to 192 kHz; on the 2-minute sample one pass costs 0.25-0.4 s,
about as much as encoding the MP3. Here the meter is fed the samples we already hold
(while the raw PCM is written, or while the encoded MP3 is decoded), so measuring costs
a few FFTs per second of audio and no extra pass over the file.

How:

* **K-weighting** (BS.1770's shelf + RLB high-pass, with libebur128's/ffmpeg's
  rate-independent coefficients) is applied as an FIR: the biquads' impulse response,
  truncated where its tail energy is under -100 dB, convolved block by block with FFT
  overlap-save.
* **Gating**: the squared K-weighted signal is summed per 100 ms; 400 ms blocks (75 %
  overlap) and 3 s short-term windows are sums of those, so nothing is recomputed. Absolute
  gate -70 LUFS, relative -10 LU (integrated) and -20 LU (loudness range, 10th to 95th
  percentile), as BS.1770-4 and EBU Tech 3342 specify.
* **True peak**: a 4x windowed-sinc interpolator, evaluated only around samples that could
  hold the peak. Each interpolated value is a weighted sum of nearby samples, so it can
  exceed the largest of them by at most the filter's L1 norm per phase
  (:data:`_TP_BOUND`); samples more than that below the running peak cannot matter, which
  leaves a few hundred per second of speech to interpolate instead of all of them.

Checked against ffmpeg's ``ebur128`` and pyloudnorm on offline-engine speech and on the
encoded bulletins (see ``bench/assemble_speed.py``): integrated loudness within 0.1 LU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np

from bulletin.audio.timeline import Loudness

_ABSOLUTE_GATE = -70.0  # LUFS
_RELATIVE_GATE = -10.0  # LU, integrated loudness
_LRA_GATE = -20.0  # LU, loudness range
_SEGMENT = 0.1  # s: gating blocks are 4 segments, short-term windows 30
_BLOCK = 4
_SHORT_TERM = 30
_FFT = 1 << 15  # overlap-save FFT size

# True-peak interpolator: 4x, 12 taps per phase (BS.1770-4 Annex 2 uses 48 taps in all).
_TP_FACTOR = 4
_TP_HALF = 6  # taps on each side of the interpolated point


@functools.lru_cache(maxsize=4)
def _k_fir(rate: int) -> np.ndarray:
    """The K-weighting filter as FIR taps for ``rate`` (the IIR run on an impulse, once per rate)."""
    # libebur128's coefficients (what ffmpeg's ebur128 uses), valid at any sample rate.
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    sb = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0)
    sa = (2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    hb = (1.0, -2.0, 1.0)
    ha = (2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)

    n = 1 << max(9, math.ceil(math.log2(rate * 0.05)))  # >= 50 ms: the tail is under -100 dB
    out = []
    x1 = x2 = y1 = y2 = z1 = z2 = 0.0
    for i in range(n):
        x0 = 1.0 if i == 0 else 0.0
        y0 = sb[0] * x0 + sb[1] * x1 + sb[2] * x2 - sa[0] * y1 - sa[1] * y2
        z0 = hb[0] * y0 + hb[1] * y1 + hb[2] * y2 - ha[0] * z1 - ha[1] * z2
        out.append(z0)
        x2, x1, y2, y1, z2, z1 = x1, x0, y1, y0, z1, z0
    return np.asarray(out)


@functools.lru_cache(maxsize=1)
def _tp_filter() -> tuple[np.ndarray, float]:
    """Phases 1..3 of a 4x Kaiser-windowed sinc interpolator and its worst-case gain."""
    taps = np.arange(-_TP_HALF + 1, _TP_HALF + 1)  # samples i-5 .. i+6 around point i + p/4
    phases = []
    for p in range(1, _TP_FACTOR):
        t = taps - p / _TP_FACTOR
        window = np.i0(6.0 * np.sqrt(1 - (t / _TP_HALF) ** 2)) / np.i0(6.0)  # Kaiser, beta 6
        h = np.sinc(t) * window
        phases.append(h / h.sum())
    bank = np.array(phases).T  # (12, 3)
    return bank, float(np.abs(bank).sum(axis=0).max())


class Meter:
    """Streaming loudness meter: :meth:`add` samples in order, then :meth:`result`.

    ``true_peak=False`` skips the peak search.
    """

    def __init__(self, rate: int, *, true_peak: bool = True) -> None:
        self.rate = rate
        self._fir = _k_fir(rate)
        self._fir_f = np.fft.rfft(self._fir, _FFT)
        self._hop = _FFT - self._fir.size + 1
        self._history = np.zeros(self._fir.size - 1)  # input samples before the pending ones
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._seg = max(1, round(rate * _SEGMENT))
        self._seg_energy: list[np.ndarray] = []
        self._partial = np.zeros(0)  # squared filtered samples not yet a whole segment
        self._true_peak = true_peak
        self._peak = 0.0  # linear, full scale 1.0
        self._tail = np.zeros(0)  # last samples, for the interpolator's context
        self.samples = 0

    # ---------------------------------------------------------------- feeding
    def add(self, samples: np.ndarray) -> None:
        """Feed the next samples: int16 (full scale 32768) or float (full scale 1.0)."""
        if samples.size == 0:
            return
        x = samples.astype(np.float64) / 32768.0 if samples.dtype.kind == "i" else samples.astype(np.float64)
        self.samples += x.size
        if self._true_peak:
            self._find_peak(x)
        self._pending.append(x)
        self._pending_n += x.size
        while self._pending_n >= self._hop:
            self._filter(self._take(self._hop))

    def _take(self, n: int) -> np.ndarray:
        joined = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending = [joined[n:]] if joined.size > n else []
        self._pending_n = joined.size - n
        return joined[:n]

    def _filter(self, x: np.ndarray) -> None:
        """K-weight ``x`` (overlap-save) and add its squares to the 100 ms segment sums."""
        buf = np.concatenate([self._history, x])
        y = np.fft.irfft(np.fft.rfft(buf, _FFT) * self._fir_f, _FFT)[self._history.size : buf.size]
        self._history = buf[-self._history.size :]
        sq = np.concatenate([self._partial, y * y])
        whole = sq.size // self._seg * self._seg
        if whole:
            self._seg_energy.append(sq[:whole].reshape(-1, self._seg).sum(axis=1))
        self._partial = sq[whole:]

    def _find_peak(self, x: np.ndarray) -> None:
        """Raise the running true peak with ``x``, interpolating only where it could matter."""
        bank, bound = _tp_filter()
        ctx = np.concatenate([self._tail, x])
        mags = np.abs(ctx)
        self._peak = max(self._peak, float(np.abs(x).max()))
        # interpolated points i + p/4 need samples i-5 .. i+6; the last 6 wait for more input
        lo, hi = _TP_HALF - 1, ctx.size - _TP_HALF
        # every point within the interpolator's reach of a sample that could make a new peak
        # (a running count over the window, O(n); a sine is nothing but such samples)
        count = np.concatenate([[0], np.cumsum(mags * bound > self._peak, dtype=np.int64)])
        at = np.arange(lo, max(lo, hi))
        near = at[count[np.minimum(at + _TP_HALF + 1, ctx.size)] > count[at - _TP_HALF + 1]]
        if near.size:
            windows = np.lib.stride_tricks.sliding_window_view(ctx, 2 * _TP_HALF)
            values = windows[near - lo] @ bank
            self._peak = max(self._peak, float(np.abs(values).max()))
        self._tail = ctx[-(2 * _TP_HALF) :]

    # ---------------------------------------------------------------- results
    def _segments(self) -> np.ndarray:
        """Segment energies, the pending input filtered (zero-padded to a whole segment)."""
        if self._pending_n:
            rest = self._take(self._pending_n)
            pad = (-rest.size) % self._seg
            self._filter(np.concatenate([rest, np.zeros(pad)]))
        return np.concatenate(self._seg_energy) if self._seg_energy else np.zeros(0)

    def segment_power(self) -> np.ndarray:
        """Mean square of the K-weighted signal in every 100 ms segment (what gating works on)."""
        self._seg_energy = [self._segments()]
        return self._seg_energy[0] / self._seg

    def result(self) -> Loudness:
        """Integrated loudness, true peak (dBTP; sample peak if ``true_peak=False``) and LRA."""
        seg = self.segment_power()
        integrated = _gated(_windows(seg, _BLOCK), _RELATIVE_GATE)
        short = _windows(seg, _SHORT_TERM)
        lra = 0.0
        if short.size:
            loud = -0.691 + 10 * np.log10(np.maximum(short, 1e-20))
            loud = loud[loud > _ABSOLUTE_GATE]
            if loud.size:
                rel = -0.691 + 10 * math.log10(float(np.mean(10 ** ((loud + 0.691) / 10)))) + _LRA_GATE
                loud = loud[loud > rel]
                if loud.size:
                    lo, hi = np.percentile(loud, [10, 95])
                    lra = float(hi - lo)
        peak = 20 * math.log10(self._peak) if self._peak > 0 else -math.inf
        return Loudness(integrated=integrated, true_peak=peak, lra=lra)


def _windows(seg: np.ndarray, n: int) -> np.ndarray:
    """Mean square of every run of ``n`` consecutive segments (one per segment step)."""
    if seg.size < n:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(seg)])
    return (c[n:] - c[:-n]) / n


def _gated(blocks: np.ndarray, relative: float) -> float:
    """BS.1770 gated loudness of 400 ms block mean squares; -inf when nothing passes."""
    if blocks.size == 0:
        return -math.inf
    keep = blocks[blocks > 10 ** ((_ABSOLUTE_GATE + 0.691) / 10)]
    if keep.size == 0:
        return -math.inf
    gate = float(np.mean(keep)) * 10 ** (relative / 10)
    keep = keep[keep > gate]
    return -0.691 + 10 * math.log10(float(np.mean(keep)))


def measure_samples(chunks: Iterator[np.ndarray] | list[np.ndarray], rate: int, **kw: object) -> Loudness:
    """Convenience: meter an iterable of sample blocks in one go."""
    meter = Meter(rate, **kw)  # type: ignore[arg-type]
    for block in chunks:
        meter.add(block)
    return meter.result()


# Limiter: gain curve slopes, linear in dB (exponential in amplitude, like an analog limiter).
_ATTACK_DB_PER_S = 1200.0  # 6 dB in 5 ms, reached *before* the peak (look-ahead)
_RELEASE_DB_PER_S = 75.0  # 6 dB in 80 ms
_LOOKAHEAD = 0.1  # s of input read past a block: the attack cone reaches 120 dB deep


def limited_blocks(
    raw: np.ndarray, rate: int, gain_db: float, ceiling_db: float | None, *, block: float = 10.0
) -> Iterator[np.ndarray]:
    """Yield ``raw`` (int16, e.g. a memmap) times ``gain_db``, sample peaks held under ``ceiling_db``.

    A look-ahead peak limiter done with whole-array operations: the gain (dB) needed at
    each sample is ``min(0, ceiling - level)``; the applied gain is the lowest of the
    "cones" around those needs (falling at the attack slope before a peak, recovering at
    the release slope after it), which two running minima compute exactly
    (``np.minimum.accumulate``). Every sample then satisfies ``|y| <= ceiling``, nothing is
    delayed (timeline exact), and only the few loudest syllables are touched. Why not
    ffmpeg's ``alimiter``: its effect on loudness is only known after encoding, which made
    peaky TTS (the offline voice) need a second encode every time. Blocks of ``block``
    seconds keep memory flat; the output is float32, full scale 1.0.
    """
    scale = 10 ** (gain_db / 20) / 32768.0
    step = max(1, int(block * rate))
    ahead = int(_LOOKAHEAD * rate)
    att = _ATTACK_DB_PER_S / rate
    rel = _RELEASE_DB_PER_S / rate
    carry = math.inf  # min over past samples k of need[k] - rel * k (global k)
    for start in range(0, raw.size, step):
        stop = min(raw.size, start + step)
        y = raw[start:stop].astype(np.float32) * np.float32(scale)
        if ceiling_db is None:
            yield y
            continue
        limit = 10 ** (ceiling_db / 20)
        more = raw[stop : stop + ahead].astype(np.float32) * np.float32(scale)
        both = np.abs(np.concatenate([y, more]))
        over = both > limit
        if not over.any() and carry + rel * start >= 0:  # nothing to limit, no release pending
            yield y
            continue
        need = np.zeros(both.size)
        need[over] = ceiling_db - 20 * np.log10(both[over])
        k = np.arange(start, start + both.size, dtype=np.float64)
        fwd = np.minimum.accumulate(np.minimum(need - rel * k, carry))
        back = np.minimum.accumulate((need + att * k)[::-1])[::-1]
        gain = np.minimum(np.minimum(fwd + rel * k, back - att * k), 0.0)[: y.size]
        carry = float(fwd[y.size - 1])
        cut = np.flatnonzero(gain < 0)  # the gain is 0 dB almost everywhere: convert only the rest
        y[cut] *= (10 ** (gain[cut] / 20)).astype(np.float32)
        yield y
