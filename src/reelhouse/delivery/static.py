"""Static renditions over HTTP: ``GET|HEAD|OPTIONS /stream/{playback_id}/{name}``.

``name`` is one of Mux's file names (``capped-1080p.mp4``, ``highest.mp4``, ``audio.m4a``,
``low.mp4`` ... ``1080p.mp4``). The playback id passes the :class:`PlaybackGate` for audience
``v`` (a signed one needs ``?token=``); then the file answers:

- 412 while the asset is being prepared (whatever the name) or errored, and while the file
  is being made (mux-player's "not ready");
- 404 when the ready asset has no such file, or it was skipped or errored;
- the stored object otherwise, with ``Range``, ``HEAD`` and ``ETag`` (see :mod:`.files`).

``?download=NAME`` adds ``Content-Disposition: attachment`` with that file name, sanitised.

These routes take one path segment after the playback id; mount them *before*
:func:`~reelhouse.delivery.routes.stream_routes`, whose ``{playback_id}/{rest:path}`` would
otherwise catch them.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.db.models import Asset, PlaybackId
from reelhouse.delivery.access import VIDEO, Access, Viewer
from reelhouse.delivery.errors import AssetNotReady, PlaybackNotFound
from reelhouse.delivery.paths import check_playback_id
from reelhouse.delivery.playbacks import Playback, require_playable
from reelhouse.delivery.responses import answer
from reelhouse.delivery.routes import METHODS, DeliveryDeps
from reelhouse.media.static_renditions import STATE_KEY
from reelhouse.pipeline.mp4 import STATIC_NAMES
from reelhouse.storage.layout import static_rendition_key

CACHE = "public, max-age=300"  # a name can be remade (a new version): ETags revalidate it
MAX_FILENAME = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


def static_routes(deps: DeliveryDeps, prefix: str = "/stream") -> list[Route]:
    """The static-file route under ``prefix`` (mount it before the stream routes)."""
    handler = StaticFiles(deps)
    return [Route(f"{prefix}/{{playback_id}}/{{name}}", handler.serve, methods=METHODS)]


def download_filename(wanted: str) -> str:
    """A file name safe in a ``Content-Disposition`` header: printable ASCII letters, digits
    and ``._ ()+-`` (accents folded, the rest replaced by ``_``), no leading dot or space,
    at most :data:`MAX_FILENAME` characters; ``download`` when nothing is left."""
    folded = unicodedata.normalize("NFKD", wanted).encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("_", folded).strip(" ._")
    return name[:MAX_FILENAME].rstrip(" ") or "download"


def content_disposition(wanted: str) -> str:
    """``attachment`` with the sanitised name, plus RFC 6266 ``filename*`` when the wanted
    name was not plain ASCII (control characters, quotes and slashes never survive)."""
    safe = download_filename(wanted)
    header = f'attachment; filename="{safe}"'
    printable = "".join(c for c in wanted if c.isprintable() and c not in '"\\/')[:MAX_FILENAME]
    if printable and printable != safe and not printable.isascii():
        header += f"; filename*=UTF-8''{quote(printable, safe='')}"
    return header


@dataclass(frozen=True)
class _Target:
    playback: Playback
    settings: dict[str, Any]


class StaticFiles:
    """The endpoint behind :func:`static_routes`."""

    def __init__(self, deps: DeliveryDeps) -> None:
        self.deps = deps
        self.objects = deps.object_server()

    async def serve(self, request: Request) -> Response:
        return await answer(request, self._serve)

    async def _serve(self, request: Request) -> Response:
        playback_id = check_playback_id(request.path_params["playback_id"])
        name = request.path_params["name"]
        if name not in STATIC_NAMES:
            raise PlaybackNotFound()
        target = await self._load(playback_id)
        if target is None:
            raise PlaybackNotFound()
        access = await self._check(target.playback, request)
        require_playable(target.playback)
        state = target.settings.get(STATE_KEY)
        files = state.get("files", []) if isinstance(state, dict) else []
        entry = next((f for f in files if f.get("name") == name), None)
        if entry is None or entry.get("status") in ("skipped", "errored"):
            raise PlaybackNotFound()
        if entry.get("status") != "ready":
            raise AssetNotReady("This static rendition is still being prepared")
        key = static_rendition_key(
            target.playback.environment_id,
            target.playback.asset_id,
            int(entry.get("version") or target.playback.version),
            name,
        )
        response = await self.objects.serve(request, key, cache_control=access.cache_control(CACHE))
        download = request.query_params.get("download")
        if download is not None and response.status_code in (200, 206):
            response.headers["Content-Disposition"] = content_disposition(download or name)
        return response

    async def _check(self, playback: Playback, request: Request) -> Access:
        # The gate may be synchronous or asynchronous (signed playback makes it async).
        outcome: Any = self.deps.gate.check(playback, Viewer.of(request), VIDEO)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome if isinstance(outcome, Access) else Access()

    async def _load(self, playback_id: str) -> _Target | None:
        query = (
            select(
                PlaybackId.policy,
                Asset.environment_id,
                Asset.id,
                Asset.status,
                Asset.version,
                Asset.settings,
            )
            .select_from(PlaybackId)
            .join(
                Asset,
                and_(
                    Asset.id == PlaybackId.asset_id,
                    Asset.environment_id == PlaybackId.environment_id,
                ),
            )
            .where(PlaybackId.id == playback_id)
        )
        async with self.deps.sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        policy, environment_id, asset_id, status, version, settings = row
        playback = Playback(playback_id, policy, environment_id, asset_id, status, version, ())
        return _Target(playback, dict(settings or {}))
