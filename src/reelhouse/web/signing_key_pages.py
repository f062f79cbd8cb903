"""The dashboard's signing-key pages: list, create (the private key is shown once), delete.

::

    GET  /signing-keys                    the environment's live keys, newest first, 25 a page
                                          (``?page=``) (system:read)
    POST /signing-keys                    a new key; the answer shows its private half once
                                          (system:write)
    GET  /signing-keys/{key_id}/delete    the confirm step (system:write)
    POST /signing-keys/{key_id}/delete    form ``confirm=yes``: delete, then back to the list

As ``/system/v1/signing-keys``: reelhouse keeps only the public half of a key, and tokens
signed with a deleted key are refused from then on (within the verifiers' key cache, a few
seconds).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reelhouse import ids
from reelhouse.db.models import SigningKey
from reelhouse.errors import NotFound
from reelhouse.media import signing_keys
from reelhouse.media.tokens import SYSTEM_READ, SYSTEM_WRITE
from reelhouse.web.dashboard import PAGE_SIZE, Dashboard, positive_int
from reelhouse.web.forms import gate_form
from reelhouse.web.sessions import DashboardSession

# Far enough for any environment: a page past the end only says there is nothing more.
MAX_PAGE = 10_000


def key_row(row: SigningKey) -> dict[str, Any]:
    """What the key table shows of one key. Pure."""
    return {"id": row.id, "created": f"{row.created_at:%Y-%m-%d %H:%M} UTC"}


class SigningKeyPages:
    """The handlers behind :meth:`routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.deps = board.deps

    def routes(self) -> list[Route]:
        return [
            Route("/signing-keys", self.index, methods=["GET", "HEAD"]),
            Route("/signing-keys", self.create, methods=["POST"]),
            Route("/signing-keys/{key_id}/delete", self.confirm_delete, methods=["GET", "HEAD"]),
            Route("/signing-keys/{key_id}/delete", self.delete, methods=["POST"]),
        ]

    async def _render(
        self,
        request: Request,
        session: DashboardSession,
        status_code: int = 200,
        *,
        page: int = 1,
        **extra: Any,
    ) -> Response:
        env = session.environment_id
        async with self.deps.sessions() as db:
            rows = await signing_keys.list_signing_keys(db, env, PAGE_SIZE, page)
            # Page ``n`` of one key is the n-th key: the first of the next page, if any.
            older = len(rows) == PAGE_SIZE and bool(
                await signing_keys.list_signing_keys(db, env, 1, page * PAGE_SIZE + 1)
            )
            deleted = await self._deleted(db, env, request.query_params.get("deleted", ""))
        context = {
            "csrf": session.csrf,
            "nav": "signing-keys",
            "keys": [key_row(row) for row in rows],
            "page": page,
            "next_page": page + 1 if older else None,
            "can_write": session.may(SYSTEM_WRITE),
            "deleted": deleted,
            **extra,
        }
        return self.board.page(request, "signing_keys.html", context, status_code)

    @staticmethod
    async def _deleted(db: AsyncSession, environment_id: str, key_id: str) -> str | None:
        """``key_id`` when it names a deleted key of the environment: only a key that really
        is deleted earns the notice."""
        if not ids.is_well_formed(key_id):
            return None
        row = await signing_keys.find_key(db, key_id)
        if row is None or row.environment_id != environment_id or row.deleted_at is None:
            return None
        return row.id

    async def index(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_READ)
        if not isinstance(session, DashboardSession):
            return session
        page = positive_int(request.query_params.get("page"), 1, MAX_PAGE)
        return await self._render(request, session, page=page)

    async def create(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, _ = gated
        private_pem, public_pem = await asyncio.to_thread(signing_keys.generate_key_pair)
        async with self.deps.sessions.begin() as db:
            row = await signing_keys.create_signing_key(
                db, session.environment_id, public_pem, now=self.deps.clock()
            )
            view = signing_keys.signing_key_view(row, private_pem)
        created = {"id": view["id"], "private_key": view["private_key"]}
        return await self._render(request, session, 201, created=created)

    async def _not_found(self, request: Request, session: DashboardSession) -> Response:
        key_id = request.path_params["key_id"]
        message = f"There is no signing key {key_id} in this environment (deleted already?)."
        return await self._render(request, session, 404, error=message)

    async def confirm_delete(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_WRITE)
        if not isinstance(session, DashboardSession):
            return session
        key_id = request.path_params["key_id"]
        try:
            async with self.deps.sessions() as db:
                row = await signing_keys.get_signing_key(db, session.environment_id, key_id)
        except NotFound:
            return await self._not_found(request, session)
        context = {"csrf": session.csrf, "nav": "signing-keys", "key": key_row(row)}
        return self.board.page(request, "signing_keys_confirm.html", context)

    async def delete(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        key_id = request.path_params["key_id"]
        if not ids.is_well_formed(key_id):
            return await self._not_found(request, session)
        if form.get("confirm") != "yes":
            return RedirectResponse(f"/signing-keys/{key_id}/delete", status_code=303)
        try:
            async with self.deps.sessions.begin() as db:
                await signing_keys.delete_signing_key(
                    db, session.environment_id, key_id, now=self.deps.clock()
                )
        except NotFound:
            return await self._not_found(request, session)
        return RedirectResponse(f"/signing-keys?deleted={key_id}", status_code=303)
