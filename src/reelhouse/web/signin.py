"""Signing in to the dashboard and out of it::

    GET  /signin, POST /signin   paste ``ID:SECRET`` (or the admin password, when one is
                                 configured); sets the signed session cookie
    POST /signout

The sign-in form's CSRF token lives in a short-lived cookie of its own (there is no session
yet); sign-out checks the session's. Failed sign-ins are counted per client address and slowed
down (web/throttle.py). Sessions carry the token's permissions, or every permission in the
default environment for the admin password. See docs/dashboard.md.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reelhouse.errors import Unauthorized
from reelhouse.logs import get_logger
from reelhouse.media.environments import DEFAULT_ENVIRONMENT_ID
from reelhouse.media.tokens import ALL_PERMISSIONS, authenticate
from reelhouse.web.dashboard import EXPIRED, Dashboard, read_form
from reelhouse.web.sessions import (
    ADMIN_TOKEN_ID,
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    DashboardSession,
    cookie_max_age,
    csrf_matches,
    new_csrf,
    new_session,
    sign_session,
)
from reelhouse.web.throttle import SigninThrottle

BAD_TOKEN = "That access token was not accepted. Paste it as ID:SECRET."
BAD_PASSWORD = "That admin password was not accepted."
TOO_MANY = "Too many failed sign-ins from your address. Wait {seconds} s and try again."

log = get_logger("reelhouse.dashboard")


class SignIn:
    """The sign-in and sign-out endpoints of one :class:`Dashboard`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.throttle = SigninThrottle(board.deps.clock)

    async def signin_form(self, request: Request) -> Response:
        session = await self.board.signed_in(request)
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
        context["admin"] = self.board.deps.admin_password is not None
        return self.board.page(request, "signin.html", context, status_code)

    async def signin(self, request: Request) -> Response:
        form = await read_form(request)
        csrf = form.get("csrf", "")
        if not csrf_matches(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf):
            return self.board.refuse_csrf(request)
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
        value = sign_session(session, self.board.deps.session_secret)
        max_age = cookie_max_age(self.board.deps.session_lifetime)
        self._set_cookie(response, SESSION_COOKIE, value, max_age)
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
        return response

    async def _token_session(self, pasted: str) -> DashboardSession | None:
        token_id, sep, secret = pasted.strip().partition(":")
        now = self.board.deps.clock()
        try:
            if not (sep and token_id and secret):
                raise Unauthorized()
            async with self.board.deps.sessions.begin() as db:
                principal = await authenticate(db, token_id, secret, now=now)
        except Unauthorized:
            return None
        return new_session(
            principal.token_id,
            principal.environment_id,
            now,
            principal.permissions,
            lifetime=self.board.deps.session_lifetime,
        )

    async def _password_session(self, guess: str) -> DashboardSession | None:
        """An admin session (every permission in the default environment) for the right
        password; None for a wrong one or when no admin password is configured."""
        admin, fingerprint = self.board.deps.admin_password, self.board.admin_fingerprint
        if admin is None or fingerprint is None or not guess or len(guess) > 1024:
            return None
        if not await admin.check(guess):
            return None
        return new_session(
            ADMIN_TOKEN_ID,
            DEFAULT_ENVIRONMENT_ID,
            self.board.deps.clock(),
            ALL_PERMISSIONS,
            lifetime=self.board.deps.session_lifetime,
            password_fingerprint=fingerprint,
        )

    async def signout(self, request: Request) -> Response:
        session = await self.board.signed_in(request)
        if not isinstance(session, DashboardSession):
            return self.board.to_signin(session)
        if not csrf_matches(session.csrf, (await read_form(request)).get("csrf")):
            return self.board.refuse_csrf(request)
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
            secure=self.board.secure,
        )


def _signin_context(csrf: str, error: str, notice: str = "") -> dict[str, Any]:
    return {"csrf": csrf, "error": error, "notice": notice, "signed_out": True}


def signin_routes(board: Dashboard) -> list[Route]:
    signin = SignIn(board)
    return [
        Route("/signin", signin.signin_form, methods=["GET", "HEAD"]),
        Route("/signin", signin.signin, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
    ]
