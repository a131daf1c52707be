"""bulletin: messy Chinese news text in, a broadcast-ready Mandarin MP3 bulletin out.

The public API is what ``__all__`` names; everything else may change. A whole run is one
call::

    from bulletin import BuildOptions, OutputOptions, SourceOptions, run_build

    report = run_build(
        BuildOptions(
            sources=SourceOptions(articles=("examples/six-party-talks.txt",)),
            output=OutputOptions(path="news.mp3"),
        )
    )

The layers (text → engines → audio → publish, with the run on top) are in ARCHITECTURE.md;
each is usable on its own (docs/library.md). Names are loaded on first use, so
``import bulletin`` costs nothing (the CLI starts fast, and a cached run stays light), and
this module imports none of the layers (they import it, for ``environment``): a static
import here would make every layer import every other in the eyes of the layer contract.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: Public name → the module that defines it.
_PUBLIC = {
    # the run
    "run_build": "bulletin.run.build",
    "dry_run_plan": "bulletin.run.dry_run",
    "run_preview": "bulletin.run.preview",
    "RunReport": "bulletin.run.report",
    # the options, in their groups
    "BuildOptions": "bulletin.run.options",
    "SourceOptions": "bulletin.run.options",
    "VoiceOptions": "bulletin.run.options",
    "OutputOptions": "bulletin.run.options",
    "ProgrammeOptions": "bulletin.run.options",
    "PublishOptions": "bulletin.run.options",
    "Pauses": "bulletin.audio.settings",
    "EncodeOptions": "bulletin.audio.settings",
    # the engine interface
    "Engine": "bulletin.engines.base",
    "VoiceSettings": "bulletin.engines.base",
    "Clip": "bulletin.engines.base",
    "Boundary": "bulletin.engines.base",
    # the errors
    "BulletinError": "bulletin.errors",
    "InputError": "bulletin.errors",
    "ConfigError": "bulletin.errors",
    "SynthesisError": "bulletin.errors",
    "TransientError": "bulletin.errors",
    "EngineUnavailable": "bulletin.errors",
    "ModelError": "bulletin.errors",
    "AudioError": "bulletin.errors",
    "PublishError": "bulletin.errors",
    "BusyError": "bulletin.errors",
    "SourceError": "bulletin.errors",
    "SourcesFailed": "bulletin.errors",
    "SlotOverrun": "bulletin.errors",
}

__all__ = [
    "AudioError",
    "Boundary",
    "BuildOptions",
    "BulletinError",
    "BusyError",
    "Clip",
    "ConfigError",
    "EncodeOptions",
    "Engine",
    "EngineUnavailable",
    "InputError",
    "ModelError",
    "OutputOptions",
    "Pauses",
    "ProgrammeOptions",
    "PublishError",
    "PublishOptions",
    "RunReport",
    "SlotOverrun",
    "SourceError",
    "SourceOptions",
    "SourcesFailed",
    "SynthesisError",
    "TransientError",
    "VoiceOptions",
    "VoiceSettings",
    "__version__",
    "dry_run_plan",
    "run_build",
    "run_preview",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'bulletin' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
