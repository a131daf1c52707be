"""Stage 4b, publish: what leaves the run as files (lock, names, run state, feed, tags, subtitles).

Atomic replacement of files lives one level down, in :mod:`bulletin.files`, because the
cache and the model store need it too.
"""
