"""Issue 18: what a programme airs: stories, and seconds per story (not a test; no assertion).

Builds two programmes with the in-memory engine of the tests (``tests/memory_engine.py``:
real audio, a tone 0.2 s a character, about a newsreader's pace) and prints, per aired
story, its chapter's length in the MP3 (a story's chapter holds the sting before it):

- the example programme (``examples/programme/hourly.toml``, its six stories);
- the rundown set (``tests/data/rundown/wires.toml``: 19 wire articles about 10 events,
  three agencies' feeds) in a two-minute hourly programme (opener and stories only), with
  the feeds named in one order and then in the reverse order.

Run it from the repository root; ``PYTHONPATH=/path/to/other/checkout`` measures another
version of bulletin with the same engine (that is how the "before" figures were made).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from memory_engine import MemoryEngine  # noqa: E402
from mutagen.id3 import ID3  # noqa: E402
from wires import write_feeds  # noqa: E402

from bulletin.audio.settings import EncodeOptions  # noqa: E402
from bulletin.environment import Dirs  # noqa: E402
from bulletin.run.build import run_build  # noqa: E402
from bulletin.run.options import BuildOptions, OutputOptions, ProgrammeOptions, SourceOptions  # noqa: E402

HOURLY = 'name = "整點新聞"\nslot = "2:00"\nvoice = "tw-news"\n[opener]\ntext = "{name}，現在是{time}。"\n'
AIR = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)


def chapters(mp3: Path) -> list[tuple[str, float]]:
    tags = ID3(mp3)
    found = sorted((f for k, f in tags.items() if k.startswith("CHAP")), key=lambda f: f.start_time)
    return [(c.sub_frames["TIT2"].text[0], (c.end_time - c.start_time) / 1000) for c in found]


def measure(name: str, programme: Path, articles: tuple[str, ...], folder: Path) -> None:
    out = folder / f"{name}.mp3"
    options = BuildOptions(
        sources=SourceOptions(articles=articles),
        output=OutputOptions(path=str(out), encode=EncodeOptions(normalize=False)),
        programme=ProgrammeOptions(file=str(programme), air_time="10:00", timezone="Asia/Taipei"),
    )
    engine = MemoryEngine(seconds_per_char=0.2)
    report = run_build(options, engine=engine, dirs=Dirs.under(folder / name), clock=lambda: AIR)
    aired = report.programme["aired"] if report.programme else []
    parts = chapters(out)
    stories = [(t, s) for t, s in parts if t not in ("整點新聞", "焦點新聞", "頭條新聞", "結語")]
    seconds = ", ".join(f"{s:.1f}" for _t, s in stories)
    print(f"{name}: {len(aired)} stories aired, {report.output.duration_seconds:.1f} s; per story: {seconds}")
    for title, s in stories:
        print(f"    {s:5.1f} s  {title}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("example", ROOT / "examples" / "programme" / "hourly.toml", (), folder)
        feeds = tuple(map(str, write_feeds(folder / "feeds")))
        (folder / "hourly.toml").write_text(HOURLY, encoding="utf-8")
        measure("wires", folder / "hourly.toml", feeds, folder)
        measure("wires-reversed", folder / "hourly.toml", feeds[::-1], folder)


if __name__ == "__main__":
    main()
