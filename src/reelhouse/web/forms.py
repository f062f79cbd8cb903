"""The write gate of the dashboard's forms: a live session whose token holds the permission,
and the session's CSRF token in the posted form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from reelhouse.web.dashboard import Dashboard, read_form
from reelhouse.web.sessions import DashboardSession, csrf_matches


async def gate_form(
    board: Dashboard, request: Request, permission: str
) -> tuple[DashboardSession, dict[str, str]] | Response:
    """The session and the posted form when both pass; otherwise the answer to send instead
    (sign-in redirect, 403 page naming the permission, or 403 for a missing CSRF token)."""
    session = await board.gate(request, permission)
    if not isinstance(session, DashboardSession):
        return session
    form = await read_form(request)
    if not csrf_matches(session.csrf, form.get("csrf")):
        return board.refuse_csrf(request)
    return session, form
