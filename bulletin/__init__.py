"""bulletin: messy Chinese news text in, a broadcast-ready Mandarin MP3 bulletin out.

The pipeline, one module per stage: :mod:`~bulletin.reader` → :mod:`~bulletin.repair`
→ :mod:`~bulletin.dedupe` → :mod:`~bulletin.normalize` → :mod:`~bulletin.chunk` →
engines (:mod:`~bulletin.engines`) → :mod:`~bulletin.assemble` → :mod:`~bulletin.publish`.
"""

__version__ = "0.1.0"
