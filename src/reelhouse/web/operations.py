"""The dashboard's operations pages, and the routes of every system page.

::

    GET /operations    uploads and processing per UTC day over the last 7 days (``?days=``
                       up to 90): success rate against the 95 % target, processing minutes per
                       hour of video; the latest failures (videos, uploads, text tracks)
                       with their messages (system:read)

The webhook pages live in :mod:`reelhouse.web.webhook_pages`, the token pages in
:mod:`reelhouse.web.token_pages`, the signing-key pages in
:mod:`reelhouse.web.signing_key_pages`; :func:`operations_routes` mounts them all.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.media.operations_stats import (
    DEFAULT_DAYS,
    SUCCESS_TARGET,
    Failure,
    Figures,
    processing_overview,
    recent_failures,
)
from reelhouse.media.tokens import SYSTEM_READ
from reelhouse.outbound import Policy, Resolver, system_resolver
from reelhouse.web.dashboard import Dashboard, positive_int
from reelhouse.web.sessions import DashboardSession
from reelhouse.web.signing_key_pages import SigningKeyPages
from reelhouse.web.token_pages import TokenPages
from reelhouse.web.webhook_pages import WebhookPages

MAX_DAYS: Final = 90


def percent(rate: float | None) -> str:
    """``96.5 %``, or a dash without a rate. Pure."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


def figures_row(label: str, figures: Figures) -> dict[str, Any]:
    """What one line of the operations table shows. Pure."""
    rate = figures.success_rate
    minutes = figures.processing_minutes_per_video_hour
    return {
        "label": label,
        "uploads_created": figures.uploads_created,
        "uploads_completed": figures.uploads_completed,
        "uploads_failed": figures.uploads_failed,
        "assets_ready": figures.assets_ready,
        "assets_errored": figures.assets_errored,
        "assets_preparing": figures.assets_preparing,
        "success": percent(rate),
        "success_value": None if rate is None else round(rate * 100, 1),
        "meets_target": figures.meets_target,
        "processing": "—" if minutes is None else f"{minutes:.1f}",
    }


def failure_row(failure: Failure) -> dict[str, Any]:
    return {
        "kind": failure.kind,
        "id": failure.id,
        "asset_id": failure.asset_id,
        "type": failure.error_type,
        "messages": list(failure.messages),
        "at": f"{failure.at:%Y-%m-%d %H:%M} UTC",
        "label": failure.label,
    }


class OperationsPage:
    """The handler of ``GET /operations``."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    async def overview(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_READ)
        if not isinstance(session, DashboardSession):
            return session
        days = positive_int(request.query_params.get("days"), DEFAULT_DAYS, MAX_DAYS)
        async with self.board.deps.sessions() as db:
            overview = await processing_overview(
                db, session.environment_id, now=self.board.deps.clock(), days=days
            )
            failures = await recent_failures(db, session.environment_id)
        context = {
            "csrf": session.csrf,
            "nav": "operations",
            "days": days,
            "target": percent(SUCCESS_TARGET),
            "target_value": round(SUCCESS_TARGET * 100),
            "rows": [figures_row(f"{d.day:%Y-%m-%d}", d.figures) for d in reversed(overview.days)],
            "total": figures_row(f"Last {days} days", overview.total),
            "quiet": overview.total.empty,
            "failures": [failure_row(f) for f in failures],
        }
        return self.board.page(request, "operations.html", context)


def operations_routes(
    board: Dashboard, *, webhook_policy: Policy, resolver: Resolver = system_resolver
) -> list[Route]:
    """The operations, webhook, token and signing-key pages of ``board``; ``webhook_policy``
    vets endpoint URLs as the REST API's does (the composition root builds both from the same
    settings)."""
    operations = OperationsPage(board)
    return [
        Route("/operations", operations.overview, methods=["GET", "HEAD"]),
        *WebhookPages(board, webhook_policy, resolver).routes(),
        *TokenPages(board).routes(),
        *SigningKeyPages(board).routes(),
    ]
