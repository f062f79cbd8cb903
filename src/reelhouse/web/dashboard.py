"""The dashboard: sign in with an access token, browse the library, watch an asset, upload.

Pages (server-rendered, one CSP, no inline script)::

    GET  /                       the library (web/library_page.py; signed out: redirect
                                 to /signin)
    GET  /signin, POST /signin   paste ``ID:SECRET`` (or the admin password, when one is
                                 configured); sets the signed session cookie
    POST /signout
    GET  /assets/{asset_id}      the asset page and its forms (web/asset_page.py)
    GET  /upload                 drag-and-drop uploads with tus-js-client

JSON for the pages' scripts (session cookie + ``X-CSRF-Token`` on POST)::

    GET  /dashboard/api/assets?ids=a,b   status and progress of those assets
    POST /dashboard/api/uploads          ``{"name", "size"}`` -> a direct upload's ``url``
    signed links and caption files       web/signed_urls.py, web/caption_uploads.py

Every POST carries the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``);
without it the answer is 403. Sessions last 8 hours (configurable) and end within 5 seconds of
the token being revoked, or at once when the admin password changes. Repeated sign-in failures
from one address are slowed down (web/throttle.py). See docs/dashboard.md.
"""

from __future__ import annotations

import json
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
from reelhouse.errors import NotFound, Unauthorized
from reelhouse.logs import get_logger
from reelhouse.media.assets import asset_views, get_asset
from reelhouse.media.environments import DEFAULT_ENVIRONMENT_ID
from reelhouse.media.tokens import (
    ALL_PERMISSIONS,
    VIDEO_READ,
    VIDEO_WRITE,
    authenticate,
    list_tokens,
)
from reelhouse.media.uploads import create_direct_upload, environment_upload_limit, upload_url
from reelhouse.schemas.metrics import MetricsSource
from reelhouse.schemas.uploads import AssetMeta, CreateUploadRequest, NewAssetSettings
from reelhouse.storage.protocols import ObjectStore
from reelhouse.web.analytics_pages import analytics_routes
from reelhouse.web.asset_views import is_pending
from reelhouse.web.passwords import AdminPassword
from reelhouse.web.sessions import (
    ADMIN_TOKEN_ID,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGNIN_CSRF_COOKIE,
    DashboardSession,
    RevocationCheck,
    cookie_max_age,
    csrf_matches,
    new_csrf,
    new_session,
    read_session,
    sign_session,
)
from reelhouse.web.static import STATIC_PREFIX, page_templates
from reelhouse.web.throttle import SigninThrottle

MAX_FORM_BYTES = 8192
PAGE_SIZE = 25
MAX_IDS = 100
BAD_TOKEN = "That access token was not accepted. Paste it as ID:SECRET."
BAD_PASSWORD = "That admin password was not accepted."
TOO_MANY = "Too many failed sign-ins from your address. Wait {seconds} s and try again."
EXPIRED = "Your session has ended. Sign in again."
CSRF_REFUSED = "This form has expired or did not come from this dashboard. Reload the page."

log = get_logger("reelhouse.dashboard")


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


def too_large(name: str, size: int, limit: int) -> str | None:
    """The refusal for a file over ``limit`` bytes, else None. Pure."""
    if size <= limit:
        return None
    return f"{name} is {human_bytes(size)}; the limit is {human_bytes(limit)} ({limit} bytes)."


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
        self.throttle = SigninThrottle(deps.clock)

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
        return self.page(request, "signin.html", _signin_context("", CSRF_REFUSED), 403)

    # --- sign in and out ------------------------------------------------------------------

    async def signin_form(self, request: Request) -> Response:
        session = await self.signed_in(request)
        if isinstance(session, DashboardSession):
            return RedirectResponse("/", status_code=303)
        notice = EXPIRED if request.query_params.get("expired") or session else ""
        csrf = new_csrf()
        response = self.signin_page(request, csrf, "", notice=notice)
        self._set_cookie(response, SIGNIN_CSRF_COOKIE, csrf, 3600)
        return response

    def signin_page(
        self, request: Request, csrf: str, error: str, status_code: int = 200, notice: str = ""
    ) -> Response:
        context = _signin_context(csrf, error, notice)
        context["admin"] = self.deps.admin_password is not None
        return self.page(request, "signin.html", context, status_code)

    async def signin(self, request: Request) -> Response:
        form = await read_form(request)
        csrf = form.get("csrf", "")
        if not csrf_matches(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf):
            return self.refuse_csrf(request)
        client = request.client.host if request.client else ""
        wait = self.throttle.wait(client)
        if wait:
            log.warning("dashboard.signin_throttled", client=client, wait_s=wait)
            response = self.signin_page(request, csrf, TOO_MANY.format(seconds=wait), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        with_password = form.get("with") == "password" or "password" in form
        if with_password:
            session = await self._password_session(form.get("password", ""))
        else:
            session = await self._token_session(form.get("token", ""))
        if session is None:
            self.throttle.failed(client)
            log.info("dashboard.signin_refused", client=client, password=with_password)
            error = BAD_PASSWORD if with_password else BAD_TOKEN
            return self.signin_page(request, csrf, error, 401)
        response = RedirectResponse("/", status_code=303)
        value = sign_session(session, self.deps.session_secret)
        max_age = cookie_max_age(self.deps.session_lifetime)
        self._set_cookie(response, SESSION_COOKIE, value, max_age)
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
        return response

    async def _token_session(self, pasted: str) -> DashboardSession | None:
        token_id, sep, secret = pasted.strip().partition(":")
        now = self.deps.clock()
        try:
            if not (sep and token_id and secret):
                raise Unauthorized()
            async with self.deps.sessions.begin() as db:
                principal = await authenticate(db, token_id, secret, now=now)
        except Unauthorized:
            return None
        return new_session(
            principal.token_id,
            principal.environment_id,
            now,
            principal.permissions,
            lifetime=self.deps.session_lifetime,
        )

    async def _password_session(self, guess: str) -> DashboardSession | None:
        """An admin session (every permission in the default environment) for the right
        password; None for a wrong one or when no admin password is configured."""
        admin, fingerprint = self.deps.admin_password, self.admin_fingerprint
        if admin is None or fingerprint is None or not guess or len(guess) > 1024:
            return None
        if not await admin.check(guess):
            return None
        return new_session(
            ADMIN_TOKEN_ID,
            DEFAULT_ENVIRONMENT_ID,
            self.deps.clock(),
            ALL_PERMISSIONS,
            lifetime=self.deps.session_lifetime,
            password_fingerprint=fingerprint,
        )

    async def signout(self, request: Request) -> Response:
        session = await self.signed_in(request)
        if not isinstance(session, DashboardSession):
            return self.to_signin(session)
        if not csrf_matches(session.csrf, (await read_form(request)).get("csrf")):
            return self.refuse_csrf(request)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    # --- pages ----------------------------------------------------------------------------

    async def upload_page(self, request: Request) -> Response:
        session = await self.gate(request, VIDEO_WRITE)
        if not isinstance(session, DashboardSession):
            return session
        limit = await self._limit(session.environment_id)
        context = {
            "csrf": session.csrf,
            "limit": limit,
            "limit_text": human_bytes(limit),
            "nav": "upload",
        }
        return self.page(request, "upload.html", context)

    async def _limit(self, environment_id: str) -> int:
        async with self.deps.sessions() as db:
            own = await environment_upload_limit(db, environment_id)
        return own if own is not None else self.deps.default_max_upload_bytes

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

    async def api_create_upload(self, request: Request) -> Response:
        session = await self.gate_json(request, VIDEO_WRITE, write=True)
        if not isinstance(session, DashboardSession):
            return session
        try:
            body = json.loads(await request.body())
            name, size = str(body["name"])[:255], int(body["size"])
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": "send {name, size}"}, status_code=400)
        limit = await self._limit(session.environment_id)
        refusal = too_large(name, size, limit)
        if refusal:
            return JSONResponse({"error": refusal, "limit": limit}, status_code=413)
        now = self.deps.clock()
        # Public playback, so the asset page can preview it in the embed player; the file's
        # name as the title (Mux's meta.title), whichever protocol then carries the bytes.
        settings = NewAssetSettings(
            playback_policy=["public"], meta=AssetMeta(title=name.strip() or None)
        )
        request_body = CreateUploadRequest(
            cors_origin=origin_of(self.deps.base_url), new_asset_settings=settings
        )
        async with self.deps.sessions.begin() as db:
            upload = await create_direct_upload(
                db, session.environment_id, request_body, now=now, base_url=self.deps.base_url
            )
        url = upload_url(self.deps.base_url, upload.id)
        return JSONResponse({"id": upload.id, "url": url}, status_code=201)


def _signin_context(csrf: str, error: str, notice: str = "") -> dict[str, Any]:
    return {"csrf": csrf, "error": error, "notice": notice, "signed_out": True}


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


def dashboard_routes(deps: DashboardDeps) -> list[Route]:
    """The dashboard's routes; mount them ahead of anything else answering ``/``."""
    # These modules import Dashboard, so they are imported once it exists.
    from reelhouse.web.asset_page import asset_page_routes
    from reelhouse.web.caption_uploads import caption_upload_routes
    from reelhouse.web.library_page import library_page_routes
    from reelhouse.web.signed_urls import signed_url_routes

    board = Dashboard(deps)
    return [
        *library_page_routes(board),
        Route("/signin", board.signin_form, methods=["GET", "HEAD"]),
        Route("/signin", board.signin, methods=["POST"]),
        Route("/signout", board.signout, methods=["POST"]),
        *asset_page_routes(board),
        Route("/upload", board.upload_page, methods=["GET", "HEAD"]),
        Route("/dashboard/api/assets", board.api_assets, methods=["GET"]),
        Route("/dashboard/api/uploads", board.api_create_upload, methods=["POST"]),
        *signed_url_routes(board),
        *caption_upload_routes(board),
        *analytics_routes(board),
    ]
