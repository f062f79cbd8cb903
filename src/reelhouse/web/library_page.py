"""The library: ``GET /`` lists the environment's assets, newest first, a page at a time::

    ?q=       text found in titles, uploaded file names and passthrough values (any case), or
              an asset or playback id exactly
    ?status=  preparing, ready or errored (anything else: no filter)
    ?page=, ?limit=   from 1; 25 a page, at most 100
    ?deleted= the id of the video just deleted, to say so

Each row shows a thumbnail (a public playback id's, once ready), the title (see
:mod:`reelhouse.media.library`), status and progress, duration, resolution, input size and
creation time; ``static/dashboard.js`` keeps preparing rows up to date.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelhouse import ids
from reelhouse.media import library
from reelhouse.media.assets import asset_views
from reelhouse.media.tokens import VIDEO_READ, VIDEO_WRITE
from reelhouse.web.dashboard import PAGE_SIZE, Dashboard, asset_row, positive_int
from reelhouse.web.sessions import DashboardSession


def library_link(search: str, status: str | None, page: int, limit: int) -> str:
    """The library URL of ``page`` with the same search, status filter and page size."""
    wanted = {"q": search, "status": status or "", "page": str(page)}
    if limit != PAGE_SIZE:
        wanted["limit"] = str(limit)
    return "/?" + urlencode({k: v for k, v in wanted.items() if v})


class LibraryPage:
    """The endpoint behind :func:`library_page_routes`."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.deps = board.deps

    async def show(self, request: Request) -> Response:
        session = await self.board.gate(request, VIDEO_READ)
        if not isinstance(session, DashboardSession):
            return session
        query = request.query_params
        page = positive_int(query.get("page"), 1, 10_000)
        limit = positive_int(query.get("limit"), PAGE_SIZE, 100)
        search = query.get("q", "").strip()[: library.MAX_SEARCH]
        status = query.get("status") if query.get("status") in library.STATUSES else None
        async with self.deps.sessions() as db:
            found, more = await library.find_assets(
                db, session.environment_id, search=search, status=status, limit=limit, page=page
            )
            views = await asset_views(db, found)
            origins = await library.origins(db, found)
        rows = [
            asset_row(v, library.title_of(a, origins[a.id]), origins[a.id].size)
            for a, v in zip(found, views, strict=True)
        ]
        deleted = query.get("deleted", "")

        def link(to: int) -> str:
            return library_link(search, status, to, limit)

        context = {
            "csrf": session.csrf,
            "assets": rows,
            "page": page,
            "limit": limit,
            "q": search,
            "status": status or "",
            "statuses": library.STATUSES,
            "filtered": bool(search or status),
            "previous_url": link(page - 1) if page > 1 else None,
            "next_url": link(page + 1) if more else None,
            "first_url": link(1),
            "deleted": deleted if ids.is_well_formed(deleted) else "",
            "may_write": session.may(VIDEO_WRITE),
            "nav": "library",
        }
        return self.board.page(request, "library.html", context)


def library_page_routes(board: Dashboard) -> list[Route]:
    return [Route("/", LibraryPage(board).show, methods=["GET", "HEAD"])]
