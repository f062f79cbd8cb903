"""The one table from domain errors to HTTP responses."""

from __future__ import annotations

import json

import pytest

from reelhouse import errors
from reelhouse.server.errors import error_response
from reelhouse.states import IllegalTransition


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (errors.InvalidParameters("bad"), 400, "invalid_parameters"),
        (errors.Unauthorized(), 401, "unauthorized"),
        (errors.Forbidden("no"), 403, "forbidden"),
        (errors.NotFound(), 404, "not_found"),
        (errors.Conflict("c"), 409, "conflict"),
        (IllegalTransition("upload", "cancelled", "waiting"), 409, "invalid_transition"),
        (errors.Gone("g"), 410, "gone"),
        (errors.TooLarge("t"), 413, "too_large"),
        (errors.RateLimited("r"), 429, "too_many_requests"),
        (errors.Unavailable("u"), 503, "service_unavailable"),
    ],
)
def test_domain_errors(exc: errors.ReelhouseError, status: int, kind: str) -> None:
    response = error_response(exc)
    assert response.status_code == status
    assert json.loads(response.body) == {"error": {"type": kind, "messages": [exc.message]}}


def test_unauthorized_asks_for_basic_auth() -> None:
    response = error_response(errors.Unauthorized())
    assert response.headers["www-authenticate"] == 'Basic realm="reelhouse"'


def test_unexpected_errors_reveal_nothing() -> None:
    response = error_response(RuntimeError("secret detail"))
    assert response.status_code == 500
    body = json.loads(response.body)
    assert body["error"]["type"] == "internal_error"
    assert "secret detail" not in response.body.decode()
