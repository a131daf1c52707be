"""Which reading a polyphonic character has in context (重慶 chóng, 銀行 háng, 了 le/liǎo).

pypinyin alone reads the marked character of the CPP benchmark right 87 % of the time:
its phrase dictionary knows words, but a character outside a known word gets its most
common reading. g2pM (Park & Lee, Interspeech 2020; Apache-2.0) is a one-layer BiLSTM
trained on CPP's training split that looks at the whole sentence: 97.4 % on CPP dev. Its
weights and its dictionary ship inside its wheel (1.7 MB, numpy arrays in pickles), so
this module loads them from the installed ``g2pM`` package and runs the network itself
in numpy, float32, both directions and up to 64 texts in one step, every polyphone of a
text from one pass (g2pM's own code runs float64, one sentence at a time, and picks from
all 876 readings, even ones the character cannot have; here only the character's own
readings compete; same answers).

The two are combined by a measured rule (``bench/g2p_cpp.py``, figures in bench/README.md):
the network decides, except where pypinyin's phrase dictionary puts the character inside
a word of two or more characters with another reading and the network is not sure
(probability below :data:`TRUST`), or the character is one of :data:`LEXICAL`, whose
readings are bound to words. On CPP dev: 97.4 % → 97.7 % (Simplified), 97.7 % on the
same sentences in Traditional; 98 % was the target and is not reached (bench/README.md
says what was tried).

Traditional text is converted to Simplified for the lookup only (OpenCC's ``t2s``
tables, pure Python), one character for one, and the readings are mapped back by
position; a conversion that changes the length falls back to character by character.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from bulletin.errors import ModelError

#: Below this network probability a phrase-dictionary word with another reading wins.
TRUST = 0.999
#: Characters whose dictionary word always wins over the network: their other readings are
#: bound to words (了解 liǎo, 为了 wèi, 次长 zhǎng, 目的 dì, 首都 dū) and the network, trained
#: on CPP where those words are rare, reads them le, wéi, cháng with near certainty. On CPP
#: dev the two never disagree on them inside a dictionary word, so the rule costs nothing
#: there (bench/g2p_cpp.py). Not 行: pypinyin cuts 进行会谈 as 进 + 行会 (guild, háng).
LEXICAL = frozenset("了为為长長的都发髮")
_HIDDEN = 32
#: Characters (longest text x texts) one network batch holds at most: about 50 MB of activations.
STEP_BUDGET = 32_768


def _load(folder: Path, name: str) -> object:
    # The pickles are g2pM's own, from its installed wheel (checked by pip like any package file).
    with (folder / name).open("rb") as f:
        return pickle.load(f)


class PolyphoneModel:
    """g2pM's network and dictionary, run in numpy; immutable after construction, thread-safe."""

    def __init__(self) -> None:
        try:
            import g2pM
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelError("the g2pM package is missing (pip install g2pM)") from exc
        folder = Path(g2pM.__file__).parent
        try:
            cedict: dict[str, list[str]] = _load(folder, "digest_cedict.pkl")  # type: ignore[assignment]
            self._char_ids: dict[str, int] = _load(folder, "char2idx.pkl")  # type: ignore[assignment]
            class_ids: dict[str, int] = _load(folder, "class2idx.pkl")  # type: ignore[assignment]
            state: dict[str, np.ndarray] = _load(folder, "np_ckpt.pkl")  # type: ignore[assignment]
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise ModelError(f"cannot load g2pM's polyphone model: {exc}") from exc
        names = {i: _pinyin(p) for p, i in class_ids.items()}
        #: character → (class ids, readings) for characters with more than one reading
        self.candidates: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {
            ch: (np.array([class_ids[p] for p in ps]), tuple(names[class_ids[p]] for p in ps))
            for ch, ps in cedict.items()
            if len(ps) > 1 and all(p in class_ids for p in ps)
        }
        f32 = lambda name: np.asarray(state[name], dtype=np.float32)  # noqa: E731
        self._embedding = f32("embedding.weight")
        # Forward and backward cells side by side: one matmul per step for both directions.
        self._w_in = np.concatenate([f32("lstm.weight_ih_l0").T, f32("lstm.weight_ih_l0_reverse").T], axis=1)
        self._b = np.concatenate(
            [
                f32("lstm.bias_ih_l0") + f32("lstm.bias_hh_l0"),
                f32("lstm.bias_ih_l0_reverse") + f32("lstm.bias_hh_l0_reverse"),
            ]
        )
        self._w_fw = f32("lstm.weight_hh_l0").T
        self._w_bw = f32("lstm.weight_hh_l0_reverse").T
        self._fc0 = (f32("logit_layer.0.weight").T, f32("logit_layer.0.bias"))
        self._fc1 = (f32("logit_layer.2.weight").T, f32("logit_layer.2.bias"))
        self._unk = self._char_ids["<UNK>"]
        self._bos, self._eos = self._char_ids["시"], self._char_ids["끝"]  # g2pM's own markers

    def predict(self, simplified: str, positions: Sequence[int]) -> list[tuple[str, float]]:
        """The most likely reading (and its probability) of each polyphone at ``positions``.

        ``simplified`` is the whole sentence or chunk in Simplified characters; every
        position must hold a character in :attr:`candidates`.
        """
        return self.predict_many([(simplified, positions)])[0]

    def predict_many(
        self, items: Sequence[tuple[str, Sequence[int]]], batch: int = 64
    ) -> list[list[tuple[str, float]]]:
        """:meth:`predict` for several texts: up to ``batch`` of them share each network step.

        A batch also holds at most :data:`STEP_BUDGET` characters, counted as its longest
        text times its size (the padded activations are about 1.5 kB a character): long
        texts go a few at a time, so memory stays bounded whatever the texts' lengths.
        """
        results: list[list[tuple[str, float]]] = [[] for _ in items]
        todo = [i for i, (_, positions) in enumerate(items) if positions]
        todo.sort(key=lambda i: len(items[i][0]))  # similar lengths together: little padding
        group: list[int] = []
        for i in [*todo, None]:
            if group and (
                i is None or len(group) >= batch or (len(group) + 1) * (len(items[i][0]) + 2) > STEP_BUDGET
            ):
                states = self._states([items[g][0] for g in group], [items[g][1] for g in group])
                for g, rows in zip(group, states, strict=True):
                    results[g] = self._decide(items[g][0], items[g][1], rows)
                group = []
            if i is not None:
                group.append(i)
        return results

    def _states(self, texts: list[str], positions: list[Sequence[int]]) -> list[np.ndarray]:
        """The BiLSTM's output at the given positions of each text, run as one padded batch."""
        seqs = [[self._bos, *(self._char_ids.get(ch, self._unk) for ch in t), self._eos] for t in texts]
        lengths = [len(q) for q in seqs]
        steps, count = max(lengths), len(seqs)
        ids = np.zeros((count, steps), np.int64)
        rev = np.zeros((count, steps), np.int64)
        for n, q in enumerate(seqs):
            ids[n, : len(q)] = q
            rev[n, : len(q)] = q[::-1]  # each text reversed on its own, padding after it
        pre_fw = self._embedding[ids] @ self._w_in[:, :128] + self._b[:128]  # [B, T, 128]
        pre_bw = self._embedding[rev] @ self._w_in[:, 128:] + self._b[128:]
        pre = np.stack([pre_fw, pre_bw], axis=1)  # [B, 2, T, 128]
        recurrent = np.stack([self._w_fw, self._w_bw])  # [2, 32, 128]
        h = np.zeros((count, 2, 1, _HIDDEN), np.float32)
        c = np.zeros((count, 2, _HIDDEN), np.float32)
        hidden = np.empty((steps, count, 2, _HIDDEN), np.float32)
        for t in range(steps):
            z = pre[:, :, t] + (h @ recurrent)[:, :, 0]  # [B, 2, 128]
            gates = 1.0 / (1.0 + np.exp(-z))
            c = gates[..., _HIDDEN : 2 * _HIDDEN] * c + gates[..., :_HIDDEN] * np.tanh(
                z[..., 2 * _HIDDEN : 3 * _HIDDEN]
            )
            out = gates[..., 3 * _HIDDEN :] * np.tanh(c)
            hidden[t] = out
            h = out[:, :, None, :]
        result = []
        for n, wanted in enumerate(positions):
            rows = [p + 1 for p in wanted]  # +1: the start marker
            back = [lengths[n] - 1 - r for r in rows]  # where the reversed pass saw that character
            result.append(np.concatenate([hidden[rows, n, 0], hidden[back, n, 1]], axis=1))
        return result

    def _decide(
        self, simplified: str, positions: Sequence[int], states: np.ndarray
    ) -> list[tuple[str, float]]:
        logits = np.maximum(states @ self._fc0[0] + self._fc0[1], 0.0) @ self._fc1[0] + self._fc1[1]
        result = []
        for row, p in zip(logits, positions, strict=True):
            ids_, readings = self.candidates[simplified[p]]
            scores = row[ids_]
            probs = np.exp(scores - scores.max())
            probs /= probs.sum()
            best = int(probs.argmax())
            result.append((readings[best], float(probs[best])))
        return result


def _pinyin(reading: str) -> str:
    """g2pM writes ü as ``u:``; the rest of bulletin (and pypinyin's TONE3) as ``v``."""
    return reading.replace("u:", "v")


@cache
def polyphone_model() -> PolyphoneModel:
    """The one model of the process (about 2 MB, loaded on first use)."""
    return PolyphoneModel()
