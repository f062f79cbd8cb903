"""The dashboard's analytics pages (permission ``data:read``)::

    GET /analytics                     the environment's views over the last 7 or 30 UTC days,
                                       and its videos by views (``?page=``: 20 a page)
    GET /analytics/assets/{asset_id}   the same for one video

Both render every number server-side (summary tiles and a table per day, readable without
JavaScript) and carry the chart data as JSON in ``data-series``, which ``static/analytics.js``
draws with uPlot. ``?days=30`` picks the period (7 by default).

The numbers come from the :class:`MetricsSource` the composition root hands the dashboard
(reelhouse's is ``analytics.queries.ViewMetrics``; web and analytics are sibling layers). The
period's totals and the videos table are live; the days are the daily rollups, except
yesterday and today, which the rollup task still rewrites every few minutes and are therefore
read live, so a view shows up here as soon as its player has sent its beacons. See
docs/dashboard.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse import ids
from reelhouse.db.models import Asset
from reelhouse.errors import NotFound
from reelhouse.media import library
from reelhouse.media.assets import get_asset
from reelhouse.media.tokens import DATA_READ
from reelhouse.schemas.metrics import Measures, MetricsSource
from reelhouse.web.sessions import DashboardSession

if TYPE_CHECKING:
    from reelhouse.web.dashboard import Dashboard

PERIODS: Final = (7, 30)
LIVE_DAYS: Final = 2  # yesterday and today: the days the rollup task still recomputes
VIDEOS_PER_PAGE: Final = 20
MAX_VIDEOS_PAGE: Final = 10_000


@dataclass(frozen=True)
class Period:
    """The last ``days`` UTC days, today included: ``[start, end)``."""

    days: int
    start: datetime
    end: datetime

    @property
    def dates(self) -> list[date]:
        return [self.start.date() + timedelta(days=n) for n in range(self.days)]


def period_of(days: int, now: datetime) -> Period:
    """The period of ``days`` UTC days ending with ``now``'s day. Pure."""
    today = now.astimezone(UTC).date()
    first = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=UTC)
    return Period(days, first, first + timedelta(days=days))


def chosen_days(value: str | None) -> int:
    """The ``?days=`` of a page, one of :data:`PERIODS` (anything else: the first)."""
    return int(value) if value in {str(p) for p in PERIODS} else PERIODS[0]


def chosen_page(value: str | None) -> int:
    """The ``?page=`` of the videos table, 1 to :data:`MAX_VIDEOS_PAGE` (anything else: 1)."""
    if value is None or not re.fullmatch(r"[0-9]{1,5}", value):
        return 1
    return min(max(int(value), 1), MAX_VIDEOS_PAGE)


# --- formatting (pure) ------------------------------------------------------------------------


def format_watch(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{round(ms)} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def format_percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f} %"


def exit_fraction(measures: Measures) -> float | None:
    return measures.exits_before_start / measures.views if measures.views else None


def tiles(total: Measures) -> list[dict[str, str]]:
    """The summary of a period: one ``{id, label, value, detail}`` per metric. Pure."""
    return [
        {"id": "views", "label": "Views", "value": str(total.views), "detail": ""},
        {
            "id": "unique_viewers",
            "label": "Unique viewers",
            "value": str(total.unique_viewers),
            "detail": "per UTC day, added up",
        },
        {
            "id": "watch_time",
            "label": "Watch time",
            "value": format_watch(total.watch_seconds),
            "detail": f"{format_watch(total.rebuffer_seconds)} of it rebuffering",
        },
        {
            "id": "startup_p50",
            "label": "Video startup time, median",
            "value": format_ms(total.startup_p50_ms),
            "detail": "from play request to first frame",
        },
        {
            "id": "startup_p95",
            "label": "Video startup time, 95th percentile",
            "value": format_ms(total.startup_p95_ms),
            "detail": "",
        },
        {
            "id": "rebuffer",
            "label": "Rebuffer percentage",
            "value": format_percent(total.rebuffer_percentage),
            "detail": "of watch time",
        },
        {
            "id": "failures",
            "label": "Playback failures",
            "value": format_percent(total.failure_percentage),
            "detail": "of views",
        },
        {
            "id": "exits",
            "label": "Exits before video start",
            "value": str(total.exits_before_start),
            "detail": f"{format_percent(exit_fraction(total))} of views",
        },
    ]


def day_rows(days: Sequence[tuple[date, Measures | None]]) -> list[dict[str, str]]:
    """The per-day table, newest first (a day without views shows zeros and dashes). Pure."""
    rows = []
    for day, m in reversed(days):
        rows.append(
            {
                "day": day.isoformat(),
                "views": str(m.views if m else 0),
                "unique_viewers": str(m.unique_viewers if m else 0),
                "watch_time": format_watch(m.watch_seconds if m else 0.0),
                "startup_p50": format_ms(m.startup_p50_ms if m else None),
                "startup_p95": format_ms(m.startup_p95_ms if m else None),
                "rebuffer": format_percent(m.rebuffer_percentage if m else None),
                "failures": format_percent(m.failure_percentage if m else None),
                "exits": str(m.exits_before_start if m else 0),
            }
        )
    return rows


def video_rows(
    rows: Sequence[tuple[str, Measures]], titles: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """The videos table, in the order given. ``titles`` has each existing video's title (None:
    untitled, shown by its id); a video missing from it has been deleted. Pure."""
    shown = []
    for asset_id, m in rows:
        title = titles.get(asset_id)
        shown.append(
            {
                "id": asset_id,
                "title": title or asset_id,
                "titled": bool(title),
                "deleted": asset_id not in titles,
                "views": str(m.views),
                "watch_time": format_watch(m.watch_seconds),
                "startup_p50": format_ms(m.startup_p50_ms),
                "rebuffer": format_percent(m.rebuffer_percentage),
                "failures": format_percent(m.failure_percentage),
            }
        )
    return shown


def videos_link(days: int, page: int) -> str:
    """The overview URL of page ``page`` of the videos table, keeping the period. Pure."""
    wanted = {"days": str(days)} if days != PERIODS[0] else {}
    if page > 1:
        wanted["page"] = str(page)
    return "/analytics" + (f"?{urlencode(wanted)}" if wanted else "")


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def chart_series(days: Sequence[tuple[date, Measures | None]]) -> dict[str, Any]:
    """What ``analytics.js`` draws: the days (epoch seconds, UTC midnight) and one chart per
    metric, each with its series of values (0 for counts on days without views, None for
    measures that have nothing to measure). Pure."""

    def values(pick: Any, empty: Any = None) -> list[Any]:
        return [pick(m) if m is not None else empty for _, m in days]

    def percent(value: float | None) -> float | None:
        return _rounded(None if value is None else value * 100)

    def chart(key: str, label: str, unit: str, *series: tuple[str, list[Any]]) -> dict[str, Any]:
        return {
            "id": key,
            "label": label,
            "unit": unit,
            "series": [{"label": name, "values": vals} for name, vals in series],
        }

    return {
        "days": [int(datetime.combine(day, time(0), tzinfo=UTC).timestamp()) for day, _ in days],
        "charts": [
            chart("views", "Views", "views", ("Views", values(lambda m: m.views, 0))),
            chart(
                "unique_viewers",
                "Unique viewers",
                "viewers",
                ("Unique viewers", values(lambda m: m.unique_viewers, 0)),
            ),
            chart(
                "watch_time",
                "Watch time",
                "min",
                ("Watch time", values(lambda m: _rounded(m.watch_seconds / 60), 0)),
            ),
            chart(
                "startup",
                "Video startup time",
                "ms",
                ("Median", values(lambda m: _rounded(m.startup_p50_ms, 1))),
                ("95th percentile", values(lambda m: _rounded(m.startup_p95_ms, 1))),
            ),
            chart(
                "rebuffer",
                "Rebuffer percentage",
                "%",
                ("Rebuffering", values(lambda m: percent(m.rebuffer_percentage))),
            ),
            chart(
                "failures",
                "Playback failures",
                "%",
                ("Failures", values(lambda m: percent(m.failure_percentage))),
            ),
            chart(
                "exits",
                "Exits before video start",
                "views",
                ("Exits", values(lambda m: m.exits_before_start, 0)),
            ),
        ],
    }


# --- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A period's numbers: the totals and each day's (None: no views that day)."""

    period: Period
    total: Measures
    days: list[tuple[date, Measures | None]]


class AnalyticsPages:
    """The endpoints behind :func:`analytics_routes`."""

    def __init__(self, board: Dashboard, metrics: MetricsSource) -> None:
        self.board = board
        self.metrics = metrics

    async def report(self, environment_id: str, period: Period, asset_id: str | None) -> Report:
        """The period's totals (live) and days (rollups, the last :data:`LIVE_DAYS` live)."""
        total = await self.metrics.overall(environment_id, period.start, period.end, asset_id)
        by_day: dict[date, Measures | None] = dict.fromkeys(period.dates)
        if total.views:
            rolled = await self.metrics.daily(environment_id, period.start, period.end, asset_id)
            by_day.update((day, m) for day, m in rolled if day in by_day)
            for day in period.dates[-LIVE_DAYS:]:
                start = datetime.combine(day, time(0), tzinfo=UTC)
                live = await self.metrics.overall(
                    environment_id, start, start + timedelta(days=1), asset_id
                )
                by_day[day] = live if live.views else None
        return Report(period, total, sorted(by_day.items()))

    async def videos(self, environment_id: str, period: Period, page: int) -> dict[str, Any]:
        """Page ``page`` of the period's videos by views (one query for the numbers, one for
        the titles, one for the uploads the titles may need), as template context."""
        offset = (page - 1) * VIDEOS_PER_PAGE
        found = await self.metrics.breakdown(
            environment_id, period.start, period.end, limit=VIDEOS_PER_PAGE, offset=offset
        )
        wanted = [asset_id for asset_id, _ in found.rows]
        async with self.board.deps.sessions() as db:
            assets = list(
                await db.scalars(
                    select(Asset).where(
                        Asset.environment_id == environment_id, Asset.id.in_(wanted)
                    )
                )
            )
            origins = await library.origins(db, assets)
        titles = {a.id: library.title_of(a, origins[a.id]) for a in assets}
        shown = len(found.rows)
        more = offset + shown < found.total_row_count
        return {
            "videos": video_rows(found.rows, titles),
            "videos_page": page,
            "videos_first": offset + 1,
            "videos_last": offset + shown,
            "videos_total": found.total_row_count,
            "videos_previous": videos_link(period.days, page - 1) if page > 1 else None,
            "videos_next": videos_link(period.days, page + 1) if more else None,
            "videos_start": videos_link(period.days, 1),
        }

    def context(self, session: DashboardSession, report: Report) -> dict[str, Any]:
        return {
            "csrf": session.csrf,
            "nav": "analytics",
            "days": report.period.days,
            "periods": PERIODS,
            "first_day": report.period.start.date().isoformat(),
            "last_day": report.period.dates[-1].isoformat(),
            "empty": report.total.views == 0,
            "tiles": tiles(report.total),
            "rows": day_rows(report.days),
            "series": json.dumps(chart_series(report.days), separators=(",", ":")),
            "embed_example": f"{self.board.deps.base_url.rstrip('/')}/embed/PLAYBACK_ID",
        }

    async def overview(self, request: Request) -> Response:
        session = await self.board.gate(request, DATA_READ)
        if not isinstance(session, DashboardSession):
            return session
        period = period_of(chosen_days(request.query_params.get("days")), self.board.deps.clock())
        report = await self.report(session.environment_id, period, None)
        context = self.context(session, report)
        if report.total.views:
            page = chosen_page(request.query_params.get("page"))
            context |= await self.videos(session.environment_id, period, page)
        return self.board.page(request, "analytics.html", context)

    async def asset(self, request: Request) -> Response:
        session = await self.board.gate(request, DATA_READ)
        if not isinstance(session, DashboardSession):
            return session
        asset_id = request.path_params["asset_id"]
        period = period_of(chosen_days(request.query_params.get("days")), self.board.deps.clock())
        if ids.is_well_formed(asset_id):
            exists = await self._exists(session, asset_id)
            report = await self.report(session.environment_id, period, asset_id)
            # A deleted video's views outlive it: its history stays readable.
            if exists or report.total.views:
                context = {
                    **self.context(session, report),
                    "asset_id": asset_id,
                    "deleted": not exists,
                }
                return self.board.page(request, "analytics_asset.html", context)
        context = {
            "csrf": session.csrf,
            "nav": "analytics",
            "missing": asset_id,
            "days": period.days,
        }
        return self.board.page(request, "analytics_asset.html", context, 404)

    async def _exists(self, session: DashboardSession, asset_id: str) -> bool:
        try:
            async with self.board.deps.sessions() as db:
                await get_asset(db, session.environment_id, asset_id)
        except NotFound:
            return False
        return True


def analytics_routes(board: Dashboard) -> list[Route]:
    """The analytics pages, on the dashboard ``board`` (none when it was given no metrics)."""
    metrics: MetricsSource | None = board.deps.metrics
    if metrics is None:
        return []
    pages = AnalyticsPages(board, metrics)
    return [
        Route("/analytics", pages.overview, methods=["GET", "HEAD"]),
        Route("/analytics/assets/{asset_id}", pages.asset, methods=["GET", "HEAD"]),
    ]
