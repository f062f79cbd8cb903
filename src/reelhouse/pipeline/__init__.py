"""Pure media library: probe, validate, plan, build FFmpeg argv, package HLS/DASH.

Nothing here imports the rest of reelhouse (an import-linter contract forbids it). Every
process is spawned by :mod:`reelhouse.pipeline.runner`; every other module is either pure
(planning, argv building, playlist rendering) or a thin I/O shell over those (probe, package).
"""
