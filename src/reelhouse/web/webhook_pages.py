"""The dashboard's webhook pages: endpoints, their delivery logs, secrets and replays.

::

    GET  /webhooks                          the endpoints and the add form (system:read)
    POST /webhooks                          ``url``: add one; the page shows its secret once
    GET  /webhooks/{endpoint_id}            the endpoint and its delivery log (``?page=``)
    POST /webhooks/{endpoint_id}            ``url``, ``enabled``: change it
    POST /webhooks/{endpoint_id}/rotate     a new signing secret, shown once
    POST /webhooks/{endpoint_id}/delete     ``confirm=yes``: remove it and its log
    POST /webhooks/{endpoint_id}/replay     ``event_id``: send that event again

Every POST needs system:write and the session's CSRF token, as the REST API's
``/system/v1/webhooks`` needs system:write; URLs pass the same outbound guard as there.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reelhouse import ids
from reelhouse.db.models import WebhookEndpoint
from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.media.tokens import SYSTEM_READ, SYSTEM_WRITE
from reelhouse.outbound import Policy, Resolver, system_resolver
from reelhouse.web.dashboard import Dashboard, positive_int
from reelhouse.web.forms import gate_form
from reelhouse.web.sessions import DashboardSession
from reelhouse.webhooks import endpoints
from reelhouse.webhooks.dispatch import replay_event

LOG_PAGE: Final = 25


def endpoint_row(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the pages show of one endpoint (never its secret). Pure."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "operator": endpoint.operator_trusted,
        "created": f"{endpoint.created_at:%Y-%m-%d %H:%M} UTC",
    }


def delivery_row(record: endpoints.DeliveryRecord) -> dict[str, Any]:
    """One line of the delivery log: the wire form plus what the table prints. Pure."""
    view = endpoints.delivery_view(record)
    return {
        **view,
        "created": f"{record.delivery.created_at:%Y-%m-%d %H:%M:%S} UTC",
        "asset_link": record.event.object_type == "asset",
        "attempt_rows": [
            {
                **attempt,
                "at": f"{source.created_at:%Y-%m-%d %H:%M:%S} UTC",
            }
            for attempt, source in zip(view["attempts"], record.attempts, strict=True)
        ],
    }


class WebhookPages:
    """The handlers behind :meth:`routes`; ``policy`` and ``resolver`` vet URLs as the API does."""

    def __init__(
        self, board: Dashboard, policy: Policy, resolver: Resolver = system_resolver
    ) -> None:
        self.board = board
        self.policy = policy
        self.resolver = resolver

    def routes(self) -> list[Route]:
        one = "/webhooks/{endpoint_id}"
        return [
            Route("/webhooks", self.index, methods=["GET", "HEAD"]),
            Route("/webhooks", self.create, methods=["POST"]),
            Route(one, self.detail, methods=["GET", "HEAD"]),
            Route(one, self.update, methods=["POST"]),
            Route(one + "/rotate", self.rotate, methods=["POST"]),
            Route(one + "/delete", self.delete, methods=["POST"]),
            Route(one + "/replay", self.replay, methods=["POST"]),
        ]

    # --- the list -------------------------------------------------------------------------

    async def _list(
        self, request: Request, session: DashboardSession, status_code: int = 200, **extra: Any
    ) -> Response:
        async with self.board.deps.sessions() as db:
            rows = await endpoints.list_endpoints(db, session.environment_id)
        context = {
            "csrf": session.csrf,
            "nav": "webhooks",
            "endpoints": [endpoint_row(e) for e in rows],
            "can_write": session.may(SYSTEM_WRITE),
            "deleted": request.query_params.get("deleted") == "1",
            "url": "",
            **extra,
        }
        return self.board.page(request, "webhooks.html", context, status_code)

    async def index(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_READ)
        if not isinstance(session, DashboardSession):
            return session
        return await self._list(request, session)

    async def create(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        url = form.get("url", "").strip()
        try:
            await endpoints.validate_url(url, self.policy, self.resolver)
        except InvalidParameters as exc:
            return await self._list(request, session, 400, error=refusal_text(exc), url=url)
        async with self.board.deps.sessions.begin() as db:
            endpoint = await endpoints.create_endpoint(
                db, session.environment_id, url, now=self.board.deps.clock()
            )
            secret = endpoint.secret
            endpoint_id = endpoint.id
        return await self._detail(request, session, endpoint_id, 201, secret=secret, added=True)

    # --- one endpoint ---------------------------------------------------------------------

    async def _detail(
        self,
        request: Request,
        session: DashboardSession,
        endpoint_id: str,
        status_code: int = 200,
        **extra: Any,
    ) -> Response:
        page = positive_int(request.query_params.get("page"), 1, 10_000)
        try:
            async with self.board.deps.sessions() as db:
                if not ids.is_well_formed(endpoint_id):
                    raise NotFound()
                endpoint = await endpoints.get_endpoint(db, session.environment_id, endpoint_id)
                records = await endpoints.list_deliveries(
                    db, session.environment_id, endpoint_id, LOG_PAGE, page
                )
                # The next page's first line, if any (pages are offset by their size).
                more = await endpoints.list_deliveries(
                    db, session.environment_id, endpoint_id, 1, page * LOG_PAGE + 1
                )
        except NotFound:
            missing = {"csrf": session.csrf, "nav": "webhooks", "missing": endpoint_id}
            return self.board.page(request, "webhooks_endpoint.html", missing, 404)
        replayed = request.query_params.get("replayed")
        context: dict[str, Any] = {
            "csrf": session.csrf,
            "nav": "webhooks",
            "endpoint": endpoint_row(endpoint),
            "deliveries": [delivery_row(r) for r in records],
            "page": page,
            "next_page": page + 1 if more else None,
            "can_write": session.may(SYSTEM_WRITE),
            "replayed": int(replayed) if replayed and replayed.isdigit() else None,
            "saved": request.query_params.get("saved") == "1",
            "url": endpoint.url,
            **extra,
        }
        return self.board.page(request, "webhooks_endpoint.html", context, status_code)

    async def detail(self, request: Request) -> Response:
        session = await self.board.gate(request, SYSTEM_READ)
        if not isinstance(session, DashboardSession):
            return session
        return await self._detail(request, session, request.path_params["endpoint_id"])

    async def update(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        endpoint_id = request.path_params["endpoint_id"]
        url: str | None = form.get("url", "").strip()
        try:
            async with self.board.deps.sessions() as db:
                current = await endpoints.get_endpoint(db, session.environment_id, endpoint_id)
            # An unchanged URL is not vetted again: the operator's endpoint may be private.
            if url == current.url or current.operator_trusted:
                url = None
            else:
                await endpoints.validate_url(url or "", self.policy, self.resolver)
            async with self.board.deps.sessions.begin() as db:
                await endpoints.update_endpoint(
                    db,
                    session.environment_id,
                    endpoint_id,
                    now=self.board.deps.clock(),
                    url=url,
                    enabled=form.get("enabled") == "on",
                )
        except NotFound:
            return await self._detail(request, session, endpoint_id)
        except InvalidParameters as exc:
            return await self._detail(
                request, session, endpoint_id, 400, error=refusal_text(exc), url=url
            )
        return RedirectResponse(f"/webhooks/{endpoint_id}?saved=1", status_code=303)

    async def rotate(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, _ = gated
        endpoint_id = request.path_params["endpoint_id"]
        try:
            async with self.board.deps.sessions.begin() as db:
                endpoint = await endpoints.rotate_secret(
                    db, session.environment_id, endpoint_id, now=self.board.deps.clock()
                )
                secret = endpoint.secret
        except NotFound:
            return await self._detail(request, session, endpoint_id)
        return await self._detail(request, session, endpoint_id, secret=secret, rotated=True)

    async def delete(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        endpoint_id = request.path_params["endpoint_id"]
        if form.get("confirm") != "yes":
            error = "Tick the box to confirm: the endpoint and its delivery log are deleted."
            return await self._detail(request, session, endpoint_id, 400, error=error)
        try:
            async with self.board.deps.sessions.begin() as db:
                await endpoints.delete_endpoint(db, session.environment_id, endpoint_id)
        except NotFound:
            return await self._detail(request, session, endpoint_id)
        return RedirectResponse("/webhooks?deleted=1", status_code=303)

    async def replay(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, SYSTEM_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        endpoint_id = request.path_params["endpoint_id"]
        try:
            async with self.board.deps.sessions.begin() as db:
                await endpoints.get_endpoint(db, session.environment_id, endpoint_id)
                created = await replay_event(
                    db,
                    session.environment_id,
                    endpoints.parse_event_id(form.get("event_id", "")),
                    now=self.board.deps.clock(),
                )
        except NotFound:
            error = "That event is not in this environment's log."
            return await self._detail(request, session, endpoint_id, 404, error=error)
        return RedirectResponse(f"/webhooks/{endpoint_id}?replayed={len(created)}", status_code=303)


def refusal_text(exc: InvalidParameters) -> str:
    """The guard's refusal as a sentence for the form. Pure."""
    message = exc.message or "that URL cannot receive webhooks"
    return message[0].upper() + message[1:]
