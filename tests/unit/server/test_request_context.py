"""RequestContext: every answer carries a request id, unique per request, and is counted."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from reelhouse.metrics import Metrics
from reelhouse.server.middleware import RequestContext


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hi")


async def test_each_response_gets_its_own_request_id() -> None:
    metrics = Metrics(CollectorRegistry())
    app = RequestContext(Starlette(routes=[Route("/stream/x.m3u8", hello)]), metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = [await client.get("/stream/x.m3u8") for _ in range(50)]
        other = RequestContext(Starlette(routes=[Route("/stream/x.m3u8", hello)]), metrics)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url="http://t"
        ) as second:
            from_another_process = (await second.get("/stream/x.m3u8")).headers["x-request-id"]
    seen = [a.headers["x-request-id"] for a in answers]
    assert len(set(seen)) == 50
    assert all(len(i) >= 24 and i.isalnum() for i in seen)
    assert from_another_process not in seen
    assert seen[0][:16] == seen[1][:16] != from_another_process[:16]
