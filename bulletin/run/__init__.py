"""The run: options, voice presets, engine choice, cache reuse, the build sequence, preview, report.

The only layer that sees all the others; the CLI is a thin shell over it.
"""
