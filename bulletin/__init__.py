"""bulletin: messy Chinese news text in, a broadcast-ready Mandarin MP3 bulletin out.

The pipeline, one module per stage: :mod:`~bulletin.text.read` → :mod:`~bulletin.text.repair`
→ :mod:`~bulletin.text.dedupe` → :mod:`~bulletin.text.normalize` → :mod:`~bulletin.text.chunk` →
engines (:mod:`~bulletin.engines`) → :mod:`~bulletin.audio.assemble` → :mod:`~bulletin.publish`.
"""

__version__ = "0.1.0"
