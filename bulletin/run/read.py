"""The first step of every run: the sources read into articles, and the articles cleaned.

Build, dry run, preview and ``clean`` read the same way: every source in the order
given (feeds and pages fetched at once), failures reported per source, then the text
pipeline (repair, fold, dedupe). Which stories then air, in what order and how much of
each (``--max-stories`` among them) is the desk's: :mod:`bulletin.run.editorial`.
"""

from __future__ import annotations

from bulletin.run.context import Run
from bulletin.run.report import InputInfo, RunReport
from bulletin.sources.gather import Gathered, read_sources
from bulletin.text.pipeline import CleanText, NothingUsable, clean_articles


def gather(run: Run) -> Gathered:
    """Every source read into articles (feeds and pages fetched at once), in the order given."""
    sources = run.options.sources
    return read_sources(
        sources.articles,
        encoding=sources.encoding,
        since=sources.since_time(run.clock()),
        state=run.dirs.state,
        fetch=sources.fetch,
        warn=run.warn,
        zone=sources.zone(),
        zones=run.programme.zones() if run.programme else None,
        local_zone=run.local_zone,
        shared=run.records,  # a station group's store: what sites repeat is every worker's
    )


def clean_sources(run: Run, gathered: Gathered) -> CleanText | None:
    """The articles cleaned (``--keep-headlines``); None if there are none.

    Raises :class:`~bulletin.errors.SourcesFailed` (exit 75) when every source failed.
    """
    gathered.check()
    if not gathered.articles:
        return None
    sources = run.options.sources
    try:
        clean = clean_articles(
            gathered.articles, keep_headlines=sources.keep_headlines, same_story=sources.same_story
        )
    except NothingUsable as exc:  # only feed items or folder files with nothing to say
        _note_dropped(run, gathered, exc.dropped)
        return None
    _note_dropped(run, gathered, clean.dropped)
    return clean


def read(run: Run, report: RunReport) -> CleanText | None:
    """Read the sources, repair and deduplicate the articles; None when there is no new story.

    The report lists every source (failed ones too) and what was read and removed.
    """
    with report.stage("read"):
        gathered = gather(run)
        try:
            clean = clean_sources(run, gathered)
        finally:  # failed sources and skipped items are in the report whatever happens next
            report.sources = [s.to_dict() for s in gathered.sources]
        for s in gathered.sources:
            run.console.detail(f"source {s.source}: {s.kind}, {s.status}, {s.items} read, {s.skipped} older")
    if clean is None:
        report.no_new_stories = True
        since = f" since {run.options.sources.since}" if run.options.sources.since else ""
        run.console.info(f"no new stories{since}; nothing published (the last bulletin stays)")
        return None
    report.inputs = [InputInfo(a.source, a.encoding, a.sha256, a.size) for a in clean.articles]
    report.removed_duplicates = clean.removed.to_dict()
    report.folded = clean.folds()
    for line in clean.fold_lines():
        run.console.detail(line)
    r = clean.removed
    run.console.detail(
        f"read {len(clean.articles)} article(s): {clean.characters} characters kept; removed {r.sentences} "
        f"repeated sentences, {r.fragments} fragments, {r.stories} repeated stories"
    )
    return clean


def _note_dropped(run: Run, gathered: Gathered, dropped: tuple[tuple[str, str], ...]) -> None:
    """A warning, and a line in its source's report, for each item skipped as unspeakable."""
    by_origin = {s.source: s for s in gathered.sources}
    origins = {a.source: a.origin for a in gathered.articles}
    for source, why in dropped:
        line = f"{source}: {why}"
        run.warn(f"skipped {line}")
        report = by_origin.get(origins.get(source) or "")
        if report is not None:
            report.warnings.append(line)
            report.items = max(0, report.items - 1)
