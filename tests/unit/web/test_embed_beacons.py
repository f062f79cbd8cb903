"""The embed page's analytics wiring: where the player sends view beacons (``data-beacon``,
same origin, allowed by the page's ``connect-src 'self'``), the beacon script loaded ahead of
the player, and ``?disable_tracking`` turning both off."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from reelhouse.web.embed import CONTENT_SECURITY_POLICY, EmbedDeps, embed_routes, player_source
from reelhouse.web.static import static_mount

PID = "pb0123456789abcdefXYZ"


@pytest.mark.parametrize(
    ("query", "beacon"),
    [
        ({}, "/beacon"),
        ({"token": "a.b.c"}, "/beacon"),
        ({"disable_tracking": "1"}, None),
        ({"disable_tracking": "true"}, None),
        ({"disable_tracking": ""}, None),
        ({"disable_tracking": "0"}, "/beacon"),
        ({"disable_tracking": "false"}, "/beacon"),
    ],
)
def test_beacon_url(query: dict[str, str], beacon: str | None) -> None:
    assert player_source(PID, query).beacon_url == beacon


def test_beacon_path_follows_the_mount() -> None:
    assert player_source(PID, {}, beacon_path="/v/beacon").beacon_url == "/v/beacon"


async def get(path: str, deps: EmbedDeps | None = None) -> httpx.Response:
    app = Starlette(routes=[*embed_routes(deps), static_mount()])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get(path)


async def test_page_sends_beacons_to_its_own_origin() -> None:
    response = await get(f"/embed/{PID}")
    assert 'data-beacon="/beacon"' in response.text
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY
    beacons = response.text.index('<script src="/static/beacons.js"></script>')
    assert beacons < response.text.index('<script src="/static/player.js"></script>')
    script = await get("/static/beacons.js")
    assert script.status_code == 200
    assert "ReelhouseBeacons" in script.text
    assert "sendBeacon" in script.text


async def test_disable_tracking_leaves_the_beacons_out() -> None:
    response = await get(f"/embed/{PID}?disable_tracking=1")
    assert response.status_code == 200
    assert "data-beacon" not in response.text
    assert "beacons.js" not in response.text
    assert "player.js" in response.text


async def test_another_beacon_path() -> None:
    response = await get(f"/embed/{PID}", EmbedDeps(beacon_path="/v/beacon"))
    assert 'data-beacon="/v/beacon"' in response.text
