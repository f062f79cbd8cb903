"""CORS: browsers may preflight any upload request and read the headers resuming needs."""

from __future__ import annotations

import httpx
import pytest

from reelhouse.ingest.cors import cors_headers, origin_allowed

from .conftest import TUS, create, patch

ORIGIN = "https://app.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "upload-checksum, content-range",
}


def _tokens(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


@pytest.mark.parametrize("path", ["/files/", "/files/anything", "/upload/direct1"])
async def test_preflight_from_allowed_origin(client: httpx.AsyncClient, path: str) -> None:
    response = await client.options(path, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "origin" in _tokens(response.headers["vary"])
    assert {"post", "head", "patch", "put", "delete", "options"} <= _tokens(
        response.headers["access-control-allow-methods"]
    )
    assert {
        "upload-checksum",
        "content-range",
        "tus-resumable",
        "upload-offset",
        "upload-length",
        "upload-metadata",
        "upload-concat",
        "upload-defer-length",
        "x-http-method-override",
        "content-type",
    } <= _tokens(response.headers["access-control-allow-headers"])
    assert int(response.headers["access-control-max-age"]) > 0
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_responses_expose_resume_headers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/files/", headers={**TUS, "Upload-Length": "10", "Origin": ORIGIN}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = _tokens(response.headers["access-control-expose-headers"])
    assert {"location", "upload-offset", "range", "upload-expires", "upload-length"} <= exposed
    assert "retry-after" in exposed
    assert "access-control-allow-methods" not in response.headers
    url = response.headers["location"]
    response = await patch(client, url, 0, b"12345", Origin=ORIGIN)
    assert response.headers["access-control-allow-origin"] == ORIGIN
    # Errors carry CORS too, or the browser cannot read why it failed.
    response = await patch(client, url, 0, b"12345", Origin=ORIGIN)
    assert response.status_code == 409
    assert "upload-offset" in _tokens(response.headers["access-control-expose-headers"])


async def test_other_origin_gets_no_cors(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/files/", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers
    url = await create(client, 10)
    response = await client.head(url, headers={**TUS, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("allowed", "origin", "ok"),
    [
        ("*", "https://any.example", True),
        ("https://a.example", "https://a.example", True),
        ("https://a.example/", "https://a.example", True),
        ("https://a.example https://b.example", "https://b.example", True),
        ("https://a.example,https://b.example", "https://b.example", True),
        ("https://a.example", "https://a.example.evil", False),
        ("https://a.example", "http://a.example", False),
        ("", "https://a.example", False),
        (None, "https://a.example", False),
    ],
)
def test_origin_allowed(allowed: str | None, origin: str, ok: bool) -> None:
    assert origin_allowed(allowed, origin) is ok


def test_no_origin_no_headers() -> None:
    assert cors_headers("*", None, preflight=True) == {}
