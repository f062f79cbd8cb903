"""The dashboard: sign in with an access token, browse the library, watch an asset, upload.

Pages (server-rendered, one CSP, no inline script)::

    GET  /                       the library (web/library_page.py; signed out: redirect
                                 to /signin)
    GET  /signin, POST /signin   sign in; POST /signout (web/signin.py)
    GET  /assets/{asset_id}      the asset page and its forms (web/asset_page.py)
    GET  /upload                 drag-and-drop uploads with tus-js-client (web/upload_page.py)
    GET  /analytics...           player analytics (web/analytics_pages.py)

JSON for the pages' scripts (session cookie + ``X-CSRF-Token`` on POST)::

    GET  /dashboard/api/assets?ids=a,b   status and progress of those assets
    POST /dashboard/api/uploads          a direct upload for the upload page
    signed links and caption files       web/signed_urls.py, web/caption_uploads.py

This module holds what every page shares: :class:`DashboardDeps`, the session check and
permission gates of :class:`Dashboard`, the page renderer with its headers, and small body
readers.

Every POST carries the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``);
without it the answer is 403. Sessions last 8 hours (configurable) and end within 5 seconds of
the token being revoked, or at once when the admin password changes. Repeated sign-in failures
from one address are slowed down (web/throttle.py). See docs/dashboard.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from reelhouse import ids
from reelhouse.errors import NotFound
from reelhouse.media.assets import asset_views, get_asset
from reelhouse.media.tokens import (
    VIDEO_READ,
    list_tokens,
)
from reelhouse.outbound import Policy
from reelhouse.schemas.metrics import MetricsSource
from reelhouse.storage.protocols import ObjectStore
from reelhouse.web.analytics_pages import analytics_routes
from reelhouse.web.asset_views import is_pending
from reelhouse.web.passwords import AdminPassword
from reelhouse.web.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    DashboardSession,
    RevocationCheck,
    csrf_matches,
    read_session,
)
from reelhouse.web.static import STATIC_PREFIX, page_templates

MAX_FORM_BYTES = 8192
PAGE_SIZE = 25
MAX_IDS = 100
EXPIRED = "Your session has ended. Sign in again."
CSRF_REFUSED = "This form has expired or did not come from this dashboard. Reload the page."


@dataclass(frozen=True)
class DashboardDeps:
    """What the dashboard needs; built by the server's composition root."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    base_url: str
    session_secret: bytes
    default_max_upload_bytes: int
    # Where outputs live: deleting an asset deletes its objects, caption files wait there for
    # their job. The server always passes it; without one those two actions are refused.
    store: ObjectStore | None = None
    admin_password: AdminPassword | None = None
    session_lifetime: timedelta = SESSION_LIFETIME
    metrics: MetricsSource | None = None  # the analytics pages' numbers (none: no such pages)
    templates: Jinja2Templates = field(default_factory=page_templates)
    static_prefix: str = STATIC_PREFIX


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(base_url: str) -> str:
    """Our own origin only (plus the public URL's, where uploads go), no inline script."""
    connect = " ".join(dict.fromkeys(["'self'", origin_of(base_url)]))
    return (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        f"connect-src {connect}; frame-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'self'"
    )


def human_bytes(size: int) -> str:
    """``1.5 GiB``-style sizes, as the upload page's script writes them."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def asset_row(
    view: Mapping[str, Any], title: str | None = None, size: int | None = None
) -> dict[str, Any]:
    """What a library row or a progress poll shows of one REST Asset object (``title`` and
    input ``size`` from :mod:`reelhouse.media.library`). Pure."""
    progress = view.get("progress") or {}
    created = datetime.fromtimestamp(int(view["created_at"]), tz=UTC)
    public = [p["id"] for p in view.get("playback_ids", []) if p.get("policy") == "public"]
    ready = view["status"] == "ready"
    return {
        "id": view["id"],
        "title": title or view["id"],
        "titled": bool(title),
        "status": view["status"],
        "pending": is_pending(view),
        "size": human_bytes(size) if size is not None else "—",
        "thumbnail": f"/image/{public[0]}/thumbnail.webp?width=160" if public and ready else None,
        "progress": round(float(progress.get("progress", 0.0)), 1),
        "progress_state": progress.get("state", ""),
        "duration": format_duration(view.get("duration")),
        "resolution": view.get("max_stored_resolution") or "—",
        "created": created.strftime("%Y-%m-%d %H:%M UTC"),
        "playback_id": public[0] if public else None,
    }


def positive_int(value: str | None, default: int, top: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, 1), top)


class Dashboard:
    """The endpoints behind :func:`dashboard_routes`."""

    def __init__(self, deps: DashboardDeps) -> None:
        self.deps = deps
        self.csp = content_security_policy(deps.base_url)
        self.secure = deps.base_url.startswith("https://")
        admin = deps.admin_password
        self.admin_fingerprint = admin.fingerprint(deps.session_secret) if admin else None
        self.still_active = RevocationCheck(
            self._token_active, deps.clock, admin_fingerprint=self.admin_fingerprint
        )

    # --- sessions -------------------------------------------------------------------------

    async def _token_active(self, session: DashboardSession) -> bool:
        async with self.deps.sessions() as db:
            tokens = await list_tokens(db, session.environment_id)
        return any(t.id == session.token_id and t.revoked_at is None for t in tokens)

    async def signed_in(self, request: Request) -> DashboardSession | str:
        """The request's live session, else why not (the sign-in page's message, or '')."""
        session = read_session(request.cookies.get(SESSION_COOKIE), self.deps.session_secret)
        if session is None:
            return ""
        if session.expired(self.deps.clock()):
            return EXPIRED
        if not await self.still_active(session):
            return EXPIRED
        return session

    async def gate(self, request: Request, permission: str) -> DashboardSession | Response:
        """A page's gate: the live session when its token holds ``permission``; otherwise the
        answer to send instead (back to sign-in, or a 403 page naming the permission)."""
        session = await self.signed_in(request)
        if not isinstance(session, DashboardSession):
            return self.to_signin(session)
        if not session.may(permission):
            context = {"csrf": session.csrf, "permission": permission, "nav": ""}
            return self.page(request, "forbidden.html", context, 403)
        return session

    async def gate_json(
        self, request: Request, permission: str, *, write: bool = False
    ) -> DashboardSession | Response:
        """The same for the pages' scripts: JSON 401/403; ``write`` also checks the session's
        CSRF token in the ``X-CSRF-Token`` header."""
        session = await self.signed_in(request)
        if not isinstance(session, DashboardSession):
            return JSONResponse({"error": session or "sign in first"}, status_code=401)
        if write and not csrf_matches(session.csrf, request.headers.get("x-csrf-token")):
            return JSONResponse({"error": CSRF_REFUSED}, status_code=403)
        if not session.may(permission):
            message = f"the access token you signed in with lacks the {permission} permission"
            return JSONResponse({"error": message}, status_code=403)
        return session

    def to_signin(self, reason: str) -> Response:
        target = "/signin?expired=1" if reason else "/signin"
        response = RedirectResponse(target, status_code=303)
        if reason:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": self.csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "private, no-store",
        }

    def page(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        context = {"static": self.deps.static_prefix, **context}
        return self.deps.templates.TemplateResponse(
            request, name, context, status_code=status_code, headers=self.headers()
        )

    def refuse_csrf(self, request: Request) -> Response:
        context = {"csrf": "", "error": CSRF_REFUSED, "notice": "", "signed_out": True}
        return self.page(request, "signin.html", context, 403)

    # --- JSON for the pages' scripts ------------------------------------------------------

    async def api_assets(self, request: Request) -> Response:
        session = await self.gate_json(request, VIDEO_READ)
        if not isinstance(session, DashboardSession):
            return session
        wanted = [i for i in request.query_params.get("ids", "").split(",") if i][:MAX_IDS]
        found = []
        async with self.deps.sessions() as db:
            for asset_id in dict.fromkeys(wanted):
                if not ids.is_well_formed(asset_id):
                    continue
                try:
                    found.append(await get_asset(db, session.environment_id, asset_id))
                except NotFound:
                    continue
            views = await asset_views(db, found)
        return JSONResponse({"data": [asset_row(v) for v in views]}, headers=self.headers())


class BodyTooLarge(Exception):
    """A request body over the limit :func:`read_capped` was given."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, or :class:`BodyTooLarge` as soon as it is over ``limit`` bytes (a
    ``Content-Length`` over it is refused before a byte is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge()
    return bytes(body)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (small; anything else reads as empty)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=20)
    return {key: values[0] for key, values in parsed.items()}


def dashboard_routes(deps: DashboardDeps, *, webhook_policy: Policy | None = None) -> list[Route]:
    """The dashboard's routes; mount them ahead of anything else answering ``/``. With
    ``webhook_policy`` (the outbound policy the REST API vets webhook URLs with), also the
    operations, webhook and token pages."""
    # These modules import Dashboard, so they are imported once it exists.
    from reelhouse.web.asset_page import asset_page_routes
    from reelhouse.web.caption_uploads import caption_upload_routes
    from reelhouse.web.library_page import library_page_routes
    from reelhouse.web.operations import operations_routes
    from reelhouse.web.signed_urls import signed_url_routes
    from reelhouse.web.signin import signin_routes
    from reelhouse.web.upload_page import upload_page_routes

    board = Dashboard(deps)
    return [
        *library_page_routes(board),
        *signin_routes(board),
        *asset_page_routes(board),
        *upload_page_routes(board),
        Route("/dashboard/api/assets", board.api_assets, methods=["GET"]),
        *signed_url_routes(board),
        *caption_upload_routes(board),
        *analytics_routes(board),
        *(
            operations_routes(board, webhook_policy=webhook_policy)
            if webhook_policy is not None
            else []
        ),
    ]
