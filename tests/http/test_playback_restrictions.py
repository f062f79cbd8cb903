"""/video/v1/playback-restrictions: create, get, list, PUT referrer / user_agent, delete."""

from __future__ import annotations

import httpx
import mux_python as mux
import pytest

from tests.http.conftest import JSON, Caller
from tests.http.test_mux_python import server_url  # noqa: F401  (fixture)

BASE = "/video/v1/playback-restrictions"
SITE = {"allowed_domains": ["*.Example.com", "example.com"], "allow_no_referrer": False}


async def create(client: httpx.AsyncClient, caller: Caller, body: object) -> dict[str, object]:
    response = await client.post(BASE, json=body, auth=caller.auth)
    assert response.status_code == 201, response.text
    restriction: dict[str, object] = response.json()["data"]
    return restriction


async def test_create_get_update_delete(client: httpx.AsyncClient, caller: Caller) -> None:
    made = await create(client, caller, {"referrer": SITE})
    assert set(made) == {"id", "created_at", "updated_at", "referrer", "user_agent"}
    assert made["referrer"] == {
        "allowed_domains": ["*.example.com", "example.com"],
        "allow_no_referrer": False,
    }
    assert made["user_agent"] == {"allow_no_user_agent": True, "allow_high_risk_user_agent": True}
    url = f"{BASE}/{made['id']}"
    got = await client.get(url, auth=caller.auth)
    assert got.status_code == 200 and got.json() == {"data": made}

    referrer = {"allowed_domains": ["*"], "allow_no_referrer": True}
    response = await client.put(f"{url}/referrer", json=referrer, auth=caller.auth)
    assert response.status_code == 200 and response.json()["data"]["referrer"] == referrer
    agent = {"allow_no_user_agent": False, "allow_high_risk_user_agent": False}
    response = await client.put(f"{url}/user_agent", json=agent, auth=caller.auth)
    assert response.status_code == 200
    assert response.json()["data"]["user_agent"] == agent
    assert response.json()["data"]["referrer"] == referrer

    deleted = await client.delete(url, auth=caller.auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(url, auth=caller.auth)).status_code == 404
    assert (await client.delete(url, auth=caller.auth)).status_code == 404


async def test_create_without_a_body_restricts_nothing(
    client: httpx.AsyncClient, caller: Caller
) -> None:
    response = await client.post(BASE, headers=JSON, auth=caller.auth)
    assert response.status_code == 201, response.text
    made = response.json()["data"]
    assert made["referrer"] == {"allowed_domains": ["*"], "allow_no_referrer": True}


async def test_list_pages_end_with_an_empty_page(client: httpx.AsyncClient, caller: Caller) -> None:
    ids = {str((await create(client, caller, {}))["id"]) for _ in range(3)}
    seen: list[str] = []
    for page in (1, 2):
        response = await client.get(BASE, params={"limit": 2, "page": page}, auth=caller.auth)
        assert response.status_code == 200
        seen += [r["id"] for r in response.json()["data"]]
    assert set(seen) == ids and len(seen) == 3
    last = await client.get(BASE, params={"limit": 2, "page": 3}, auth=caller.auth)
    assert last.json() == {"data": []}


@pytest.mark.parametrize(
    "body",
    [
        {"referrer": {"allowed_domains": [f"d{i}.example.com" for i in range(11)]}},
        {"referrer": {"allowed_domains": ["https://example.com/"]}},
        {"referrer": {"allowed_domains": ["ex*ample.com"]}},
        {"referrer": {"allowed_domains": "example.com"}},
        {"user_agent": {"allow_no_user_agent": "perhaps"}},
    ],
)
async def test_invalid_rules_are_400(
    client: httpx.AsyncClient, caller: Caller, body: object
) -> None:
    response = await client.post(BASE, json=body, auth=caller.auth)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_parameters"


async def test_another_environment_sees_404(
    client: httpx.AsyncClient, caller: Caller, other_caller: Caller
) -> None:
    made = await create(client, caller, {"referrer": SITE})
    url = f"{BASE}/{made['id']}"
    referrer = {"allowed_domains": ["*"], "allow_no_referrer": True}
    for response in (
        await client.get(url, auth=other_caller.auth),
        await client.put(f"{url}/referrer", json=referrer, auth=other_caller.auth),
        await client.put(f"{url}/user_agent", json={}, auth=other_caller.auth),
        await client.delete(url, auth=other_caller.auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
    assert (await client.get(BASE, auth=other_caller.auth)).json() == {"data": []}
    unchanged = await client.get(url, auth=caller.auth)
    assert unchanged.json()["data"] == made


def test_mux_python_round_trip(server_url: str, caller: Caller) -> None:  # noqa: F811
    config = mux.Configuration(host=server_url)
    config.username, config.password = caller.token_id, caller.secret
    api = mux.PlaybackRestrictionsApi(mux.ApiClient(config))
    request = mux.CreatePlaybackRestrictionRequest(
        referrer=mux.ReferrerDomainRestriction(
            allowed_domains=["*.example.com"], allow_no_referrer=False
        ),
        user_agent=mux.UserAgentRestrictionRequest(
            allow_no_user_agent=False, allow_high_risk_user_agent=False
        ),
    )
    made = api.create_playback_restriction(request).data
    assert made.referrer.allowed_domains == ["*.example.com"]
    assert made.user_agent.allow_high_risk_user_agent is False
    updated = api.update_referrer_domain_restriction(
        made.id, mux.UpdateReferrerDomainRestrictionRequest(allowed_domains=["*"])
    ).data
    assert updated.referrer.allowed_domains == ["*"]
    updated = api.update_user_agent_restriction(
        made.id, mux.UpdateUserAgentRestrictionRequest(allow_no_user_agent=True)
    ).data
    assert updated.user_agent.allow_no_user_agent is True
    assert api.get_playback_restriction(made.id).data.id == made.id
    assert [r.id for r in api.list_playback_restrictions(limit=10, page=1).data] == [made.id]
    assert api.delete_playback_restriction(made.id) is None
