"""The dashboard's access-token pages: list, create (the secret is shown once), revoke.

::

    GET  /tokens                     every token of the environment (system:read)
    POST /tokens                     ``name`` and ``permission-<name>`` checkboxes (system:write)
    POST /tokens/{token_id}/revoke   revoke; the session's own token only with ``confirm=yes``

A session grants only permissions its own token holds, so a token cannot mint a stronger one.
Revoking the token the session signed in with ends the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reelhouse.db.models import AccessToken
from reelhouse.errors import NotFound
from reelhouse.media.tokens import (
    ALL_PERMISSIONS,
    SYSTEM_READ,
    SYSTEM_WRITE,
    create_token,
    list_tokens,
    revoke_token,
)
from reelhouse.web.dashboard import Dashboard
from reelhouse.web.forms import gate_form
from reelhouse.web.sessions import SESSION_COOKIE, DashboardSession

MAX_NAME: Final = 100
PERMISSION_FIELD: Final = "permission-"
DESCRIPTIONS: Final = {
    "video:read": "read assets, uploads and playback ids",
    "video:write": "upload, change and delete videos",
    "system:read": "see webhook endpoints, signing keys, tokens and operations",
    "system:write": "change webhook endpoints and signing keys, create and revoke tokens",
    "data:read": "read viewer analytics",
}


def token_row(token: AccessToken, own_id: str) -> dict[str, Any]:
    """What the token table shows of one token. Pure."""
    return {
        "id": token.id,
        "name": token.name,
        "permissions": list(token.permissions),
        "created": f"{token.created_at:%Y-%m-%d %H:%M} UTC",
        "last_used": f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never",
        "revoked": f"{token.revoked_at:%Y-%m-%d %H:%M} UTC" if token.revoked_at else None,
        "own": token.id == own_id,
    }


def chosen_permissions(form: dict[str, str]) -> list[str]:
    """The permissions ticked in the create form, in :data:`ALL_PERMISSIONS` order. Pure."""
    return [p for p in ALL_PERMISSIONS if form.get(PERMISSION_FIELD + p)]


def creation_refusal(name: str, chosen: Sequence[str], held: frozenset[str]) -> str | None:
    """Why a token named ``name`` with ``chosen`` may not be created by a session holding
    ``held``, or None. Pure."""
    if not name:
        return "Give the token a name, so you can tell it apart later."
    if len(name) > MAX_NAME:
        return f"A token name is at most {MAX_NAME} characters."
    if not chosen:
        return "Choose at least one permission."
    missing = [p for p in chosen if p not in held]
    if missing:
        return (
            f"The token you signed in with lacks {', '.join(missing)}, "
            "so it cannot grant it. Sign in with a token that has it."
        )
    return None


class TokenPages:
    """The handlers behind :meth:`routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[Route]:
        return [
            Route("/tokens", self.index, methods=["GET", "HEAD"]),
            Route("/tokens", self.create, methods=["POST"]),
            Route("/tokens/{token_id}/revoke", self.revoke, methods=["POST"]),
        ]

    async def _render(
        self,
        request: Request,
        session: DashboardSession,
        status_code: int = 200,
        **extra: Any,
    ) -> Response:
        async with self.board.deps.sessions() as db:
            tokens = await list_tokens(db, session.environment_id)
        rows = [token_row(t, session.token_id) for t in reversed(tokens)]
        asked = request.query_params.get("revoked", "")
        context = {
            "csrf": session.csrf,
            "nav": "tokens",
            "tokens": rows,
            "permissions": [
                {"name": p, "about": DESCRIPTIONS[p], "held": session.may(p)}
                for p in ALL_PERMISSIONS
            ],
            "can_write": session.may(SYSTEM_WRITE),
            # Only a token that really is revoked earns the notice.
            "revoked": next((r for r in rows if r["id"] == asked and r["revoked"]), None),
            "form": {"name": "", "chosen": []},
            **extra,
        }
        return self.board.page(request, "tokens.html", context, status_code)

    async def index(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_READ)
        if not isinstance(session, DashboardSession):
            return session
        return await self._render(request, session)

    async def create(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        name = form.get("name", "").strip()
        chosen = chosen_permissions(form)
        refusal = creation_refusal(name, chosen, session.permissions)
        if refusal:
            typed = {"name": name[:MAX_NAME], "chosen": chosen}
            return await self._render(request, session, 400, error=refusal, form=typed)
        async with self.board.deps.sessions.begin() as db:
            token, secret = await create_token(
                db, session.environment_id, name, chosen, now=self.board.deps.clock()
            )
            created = {"id": token.id, "name": token.name, "credential": f"{token.id}:{secret}"}
        return await self._render(request, session, 201, created=created)

    async def revoke(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        token_id = request.path_params["token_id"]
        own = token_id == session.token_id
        if own and form.get("confirm") != "yes":
            context = {"csrf": session.csrf, "nav": "tokens", "token_id": token_id}
            return self.board.page(request, "tokens_confirm.html", context, 409)
        try:
            async with self.board.deps.sessions.begin() as db:
                await revoke_token(
                    db, session.environment_id, token_id, now=self.board.deps.clock()
                )
        except NotFound:
            message = f"There is no token {token_id} in this environment."
            return await self._render(request, session, 404, error=message)
        if own:
            response = RedirectResponse("/signin?expired=1", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return RedirectResponse(f"/tokens?revoked={token_id}", status_code=303)
