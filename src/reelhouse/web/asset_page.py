"""The asset page and its forms::

    GET  /assets/{asset_id}                               player, facts, renditions, playback
                                                          ids, signed URLs, static renditions,
                                                          tracks, input info, webhook deliveries
    POST /assets/{asset_id}/playback-ids                  form ``policy``: add a playback id
    POST /assets/{asset_id}/playback-ids/{playback_id}/delete   remove one
    POST /assets/{asset_id}/static-renditions             form ``resolution``: ask for a file
    POST /assets/{asset_id}/text-tracks/{track_id}/delete remove a text track
    GET  /assets/{asset_id}/delete                        the confirm step
    POST /assets/{asset_id}/delete                        form ``confirm=yes``: delete, then back
                                                          to the library with a notice

Reading needs ``video:read``; every form needs ``video:write`` and the session's CSRF token. A
form that worked redirects back to the page with ``?done=`` naming one of :data:`DONE` (a fixed
message); a refused one shows the page again (400) with the reason next to that form. The
scripts' JSON endpoints (signed URLs, caption files) are in ``signed_urls`` and
``caption_uploads``.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reelhouse.errors import InvalidParameters, NotFound
from reelhouse.logs import get_logger
from reelhouse.media import (
    assets,
    library,
    playback_ids,
    signing_keys,
    static_renditions,
    text_tracks,
)
from reelhouse.media.tokens import SYSTEM_READ, SYSTEM_WRITE, VIDEO_READ, VIDEO_WRITE
from reelhouse.pipeline import captions
from reelhouse.storage.errors import StorageError
from reelhouse.web import asset_views
from reelhouse.web.dashboard import Dashboard, asset_row, human_bytes
from reelhouse.web.forms import gate_form
from reelhouse.web.sessions import DashboardSession
from reelhouse.webhooks import endpoints

log = get_logger("reelhouse.dashboard.assets")

DONE: Final = {
    "playback-added": "Playback id added.",
    "playback-removed": "Playback id removed: players that use it no longer play.",
    "static-requested": "Static rendition requested: it is being made.",
    "caption-added": "Caption file received: the track is being prepared.",
    "track-removed": "Text track removed.",
}
SIGNING_KEYS_SHOWN: Final = 100
DELIVERIES_SHOWN: Final = 20


class AssetPage:
    """The endpoints behind :func:`asset_page_routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.deps = board.deps

    # --- the page -------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        session = await self.board.gate(request, VIDEO_READ)
        if not isinstance(session, DashboardSession):
            return session
        done = DONE.get(request.query_params.get("done", ""), "")
        return await self.render(request, session, notice=done)

    async def render(
        self,
        request: Request,
        session: DashboardSession,
        *,
        notice: str = "",
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        """The page of the path's asset (404 page when there is none in the environment)."""
        asset_id = request.path_params["asset_id"]
        try:
            context = await self._context(session, asset_id)
        except NotFound:
            return self.not_found(request, session, asset_id)
        context.update(notice=notice, errors=errors or {})
        return self.board.page(request, "asset.html", context, status_code)

    def not_found(self, request: Request, session: DashboardSession, asset_id: str) -> Response:
        context = {"csrf": session.csrf, "missing": asset_id, "nav": "library"}
        return self.board.page(request, "asset.html", context, 404)

    async def _context(self, session: DashboardSession, asset_id: str) -> dict[str, Any]:
        env = session.environment_id
        async with self.deps.sessions() as db:
            asset = await assets.get_asset(db, env, asset_id)
            [view] = await assets.asset_views(db, [asset])
            origin = (await library.origins(db, [asset]))[asset.id]
            renditions = await library.published_renditions(db, asset)
            published = await static_renditions.published_rungs(db, asset)
            info = await assets.input_info(db, env, asset_id)
            about = [asset.id, *([asset.upload_id] if asset.upload_id else [])]
            deliveries = await endpoints.deliveries_about(db, env, about, DELIVERIES_SHOWN)
            urls = {e.id: e.url for e in await endpoints.list_endpoints(db, env)}
            keys = None
            if session.may(SYSTEM_READ):
                keys = await signing_keys.list_signing_keys(db, env, SIGNING_KEYS_SHOWN, 1)
        title = library.title_of(asset, origin)
        shown = title or asset.id
        row = asset_row(view, title, origin.size)
        pids = asset_views.playback_rows(self.deps.base_url, view.get("playback_ids", []), shown)
        return {
            "csrf": session.csrf,
            "nav": "library",
            "asset": view,
            "row": row,
            "title": title,
            "filename": origin.filename,
            "pending": asset_views.is_pending(view),
            "renditions": asset_views.rendition_rows(renditions),
            "playback_ids": pids,
            "signed_ids": [p for p in pids if p["policy"] == "signed"],
            "keys": None if keys is None else [signing_keys.signing_key_view(k) for k in keys],
            "may_create_key": session.may(SYSTEM_WRITE),
            "static_files": asset_views.static_rows(view, row["playback_id"], shown),
            "static_choices": asset_views.static_choices(view, published),
            "inputs": asset_views.input_rows(info),
            "deliveries": asset_views.delivery_rows(deliveries, urls),
            "may_write": session.may(VIDEO_WRITE),
            "caption_limit": captions.MAX_BYTES,
            "caption_limit_text": human_bytes(captions.MAX_BYTES),
        }

    # --- forms ----------------------------------------------------------------------------

    def back(self, request: Request, done: str, anchor: str) -> Response:
        asset_id = request.path_params["asset_id"]
        return RedirectResponse(f"/assets/{asset_id}?done={done}#{anchor}", status_code=303)

    async def add_playback_id(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, VIDEO_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        asset_id = request.path_params["asset_id"]
        try:
            async with self.deps.sessions.begin() as db:
                await playback_ids.create_playback_id(
                    db,
                    session.environment_id,
                    asset_id,
                    form.get("policy", ""),
                    now=self.deps.clock(),
                )
        except NotFound:
            return self.not_found(request, session, asset_id)
        except InvalidParameters as exc:
            return await self.refused(
                request, session, "playback", asset_views.sentence(exc.message)
            )
        return self.back(request, "playback-added", "playback-ids")

    async def remove_playback_id(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, VIDEO_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, _ = gated
        env, asset_id = session.environment_id, request.path_params["asset_id"]
        async with self.deps.sessions.begin() as db:
            try:
                await assets.get_asset(db, env, asset_id)
            except NotFound:
                return self.not_found(request, session, asset_id)
            try:
                pid = request.path_params["playback_id"]
                await playback_ids.delete_playback_id(db, env, asset_id, pid)
                gone = False
            except NotFound:
                gone = True
        if gone:
            message = "That playback id is not on this video (already removed?)."
            return await self.refused(request, session, "playback", message)
        return self.back(request, "playback-removed", "playback-ids")

    async def request_static(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, VIDEO_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        asset_id = request.path_params["asset_id"]
        resolution = form.get("resolution", "")
        if resolution not in dict(asset_views.STATIC_CHOICES):
            message = "Choose one of the listed static renditions."
            return await self.refused(request, session, "static", message)
        try:
            async with self.deps.sessions.begin() as db:
                await static_renditions.add_static_rendition(
                    db, session.environment_id, asset_id, resolution, None, now=self.deps.clock()
                )
        except NotFound:
            return self.not_found(request, session, asset_id)
        except InvalidParameters as exc:
            return await self.refused(request, session, "static", asset_views.sentence(exc.message))
        return self.back(request, "static-requested", "static-renditions")

    async def remove_text_track(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, VIDEO_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, _ = gated
        asset_id, track_id = request.path_params["asset_id"], request.path_params["track_id"]
        try:
            async with self.deps.sessions.begin() as db:
                await text_tracks.delete_text_track(
                    db, session.environment_id, asset_id, track_id, now=self.deps.clock()
                )
        except InvalidParameters as exc:
            message = asset_views.sentence(exc.message)
            return await self.refused(request, session, "tracks", message)
        except NotFound:
            return self.not_found(request, session, asset_id)
        return self.back(request, "track-removed", "tracks")

    async def refused(
        self, request: Request, session: DashboardSession, where: str, message: str
    ) -> Response:
        return await self.render(request, session, errors={where: message}, status_code=400)

    # --- deleting -------------------------------------------------------------------------

    async def confirm_delete(self, request: Request) -> Response:
        session = await self.board.gate(request, VIDEO_WRITE)
        if not isinstance(session, DashboardSession):
            return session
        asset_id = request.path_params["asset_id"]
        try:
            async with self.deps.sessions() as db:
                asset = await assets.get_asset(db, session.environment_id, asset_id)
                origin = (await library.origins(db, [asset]))[asset.id]
        except NotFound:
            return self.not_found(request, session, asset_id)
        context = {
            "csrf": session.csrf,
            "nav": "library",
            "asset_id": asset.id,
            "title": library.title_of(asset, origin),
        }
        return self.board.page(request, "asset_delete.html", context)

    async def delete(self, request: Request) -> Response:
        gated = await gate_form(self.board, request, VIDEO_WRITE)
        if not isinstance(gated, tuple):
            return gated
        session, form = gated
        asset_id = request.path_params["asset_id"]
        if form.get("confirm") != "yes":
            return RedirectResponse(f"/assets/{asset_id}/delete", status_code=303)
        try:
            async with self.deps.sessions.begin() as db:
                prefix = await assets.delete_asset(
                    db, session.environment_id, asset_id, now=self.deps.clock()
                )
        except NotFound:
            return self.not_found(request, session, asset_id)
        await self._delete_objects(asset_id, prefix)
        return RedirectResponse(f"/?deleted={asset_id}", status_code=303)

    async def _delete_objects(self, asset_id: str, prefix: str) -> None:
        store = self.deps.store
        if store is None:
            log.warning("asset.objects_not_deleted", asset_id=asset_id, error="no_store")
            return
        try:
            await store.delete_prefix(prefix)
        except StorageError as exc:
            # The rows are gone either way; what is left is an orphaned prefix, not an error page.
            log.warning("asset.objects_not_deleted", asset_id=asset_id, error=exc.code)


def asset_page_routes(board: Dashboard) -> list[Route]:
    """The asset page's routes (the id shapes are checked by the use cases: 404 otherwise)."""
    page = AssetPage(board)
    base = "/assets/{asset_id}"
    return [
        Route(base, page.show, methods=["GET", "HEAD"]),
        Route(f"{base}/playback-ids", page.add_playback_id, methods=["POST"]),
        Route(
            f"{base}/playback-ids/{{playback_id}}/delete",
            page.remove_playback_id,
            methods=["POST"],
        ),
        Route(f"{base}/static-renditions", page.request_static, methods=["POST"]),
        Route(f"{base}/text-tracks/{{track_id}}/delete", page.remove_text_track, methods=["POST"]),
        Route(f"{base}/delete", page.confirm_delete, methods=["GET", "HEAD"]),
        Route(f"{base}/delete", page.delete, methods=["POST"]),
    ]
