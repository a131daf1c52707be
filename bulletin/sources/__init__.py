"""Where articles come from: files, folders, feeds (RSS 2.0, Atom, JSON Feed) and web pages.

Between the run and the text layer: it fetches and parses, and hands
:class:`bulletin.text.read.Article` objects up to the run; it never imports the run,
audio, publish or engine layers. :func:`bulletin.sources.gather.read_sources` is the entry.
"""
