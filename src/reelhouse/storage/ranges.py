"""Byte ranges as :meth:`ObjectStore.open_range` takes them: ``start`` to ``end`` inclusive."""

from __future__ import annotations


def check_range(start: int, end: int | None) -> None:
    """Raise ``ValueError`` unless ``0 <= start`` and ``start <= end`` (when given)."""
    if start < 0:
        raise ValueError(f"range start {start} is negative")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}")
