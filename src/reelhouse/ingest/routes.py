"""Mounting the front-ends: Starlette routes for a tus collection and for direct-upload URLs.

``/files/`` is a tus collection; ``/upload/{target}`` is one direct upload's URL and speaks tus
(POST creates the upload bound to it, HEAD/PATCH/DELETE act on it), chunked PUT, and the
resumable-upload draft when enabled; ``/upload/{target}/{upload_id}`` holds its partial uploads.
Each response gets the CORS headers the hooks allow for that URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse.ingest.chunked import ChunkedPutFrontend
from reelhouse.ingest.responses import ErrorResponse, with_cors
from reelhouse.ingest.tus import TusFrontend
from reelhouse.ingest.uploads import Uploads

ALL_METHODS = ["OPTIONS", "HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"]
Endpoint = Callable[[Request], Awaitable[Response]]
DraftHandler = Callable[[Request, str | None, str | None], Awaitable[Response]]


def is_draft_request(request: Request) -> bool:
    headers = request.headers
    return "tus-resumable" not in headers and (
        "upload-draft-interop-version" in headers
        or "upload-complete" in headers
        or "upload-incomplete" in headers
    )


class UploadRoutes:
    """Builds the routes for one mount; ``draft`` serves the resumable-upload draft if given."""

    def __init__(
        self,
        uploads: Uploads,
        tus: TusFrontend,
        *,
        chunked: ChunkedPutFrontend | None = None,
        draft: DraftHandler | None = None,
    ) -> None:
        self.uploads = uploads
        self.tus = tus
        self.chunked = chunked
        self.draft = draft

    async def _respond(
        self, request: Request, target: str | None, upload_id: str | None
    ) -> Response:
        if request.method == "PUT" and self.chunked is not None and target and upload_id == target:
            response = await self.chunked.handle(request, target)
        elif self.draft is not None and is_draft_request(request):
            response = await self.draft(request, target, upload_id)
        else:
            response = await self.tus.handle(request, target, upload_id)
        if isinstance(response, ErrorResponse):
            await self.uploads.hooks.on_rejected(request, target, response.error)
        allowed = await self.uploads.hooks.cors_origin(request, target)
        return with_cors(response, request, allowed)

    def collection(self, path: str) -> list[Route]:
        """A tus collection at ``path`` (``/files/``) and its uploads at ``path{upload_id}``."""

        async def create(request: Request) -> Response:
            return await self._respond(request, None, None)

        async def member(request: Request) -> Response:
            return await self._respond(request, None, request.path_params["upload_id"])

        return [
            Route(path, create, methods=ALL_METHODS),
            Route(path + "{upload_id}", member, methods=ALL_METHODS),
        ]

    def direct(self, path: str) -> list[Route]:
        """Direct-upload URLs: ``path`` must contain ``{target}``."""

        async def main(request: Request) -> Response:
            target = request.path_params["target"]
            creating = request.method == "POST" and not _overridden(request)
            if creating or request.method == "OPTIONS":
                return await self._respond(request, target, None)
            return await self._respond(request, target, target)

        async def part(request: Request) -> Response:
            params = request.path_params
            return await self._respond(request, params["target"], params["upload_id"])

        return [
            Route(path, main, methods=ALL_METHODS),
            Route(path + "/{upload_id}", part, methods=ALL_METHODS),
        ]


def _overridden(request: Request) -> bool:
    return bool(request.headers.get("x-http-method-override"))
