"""Stage 1–2, text: read → repair → dedupe → normalize → chunk. Pure functions of their input.

Nothing here knows about engines, audio or files being written; :mod:`bulletin.text.pipeline`
strings the stages together (``prepare`` and ``plan``).
"""
