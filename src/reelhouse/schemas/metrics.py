"""What view analytics the pages and the Data API read: the measures of a set of views and
the source that computes them. ``analytics.queries.ViewMetrics`` is reelhouse's source; the
composition root hands it to the api and web layers, which sit beside analytics and do not
import it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol


class Measures(Protocol):
    """What is known of a set of views (percentages as fractions; None: nothing to measure)."""

    @property
    def views(self) -> int: ...
    @property
    def unique_viewers(self) -> int: ...
    @property
    def watch_seconds(self) -> float: ...
    @property
    def rebuffer_seconds(self) -> float: ...
    @property
    def startup_p50_ms(self) -> float | None: ...
    @property
    def startup_p95_ms(self) -> float | None: ...
    @property
    def rebuffer_percentage(self) -> float | None: ...
    @property
    def failure_percentage(self) -> float | None: ...
    @property
    def exits_before_start(self) -> int: ...


class Breakdown(Protocol):
    """A page of per-asset measures: ``rows`` of ``(asset_id, measures)`` in the order asked
    for, and ``total_row_count``, how many assets there are over every page."""

    @property
    def rows(self) -> Sequence[tuple[str, Measures]]: ...
    @property
    def total_row_count(self) -> int: ...


class MetricsSource(Protocol):
    """Measures of one environment's views started in ``[start, end)``, all assets or one
    (``asset_id``). ``overall`` is one set; ``daily`` is one per UTC day with views, oldest
    first; ``breakdown`` is one per asset with views, by views (most first unless
    ``descending`` is false, ties by asset id), ``limit`` of them (1 to 100) after ``offset``,
    computed in one query whatever the page. Another environment's views are never counted."""

    async def overall(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> Measures: ...

    async def daily(
        self, environment_id: str, start: datetime, end: datetime, asset_id: str | None
    ) -> Sequence[tuple[date, Measures]]: ...

    async def breakdown(
        self,
        environment_id: str,
        start: datetime,
        end: datetime,
        *,
        limit: int,
        offset: int = 0,
        descending: bool = True,
        asset_id: str | None = None,
    ) -> Breakdown: ...
