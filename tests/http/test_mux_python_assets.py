"""The real mux-python AssetsApi and PlaybackIDApi against a real uvicorn server."""

from __future__ import annotations

import mux_python as mux
import pytest

from tests.http.conftest import Caller
from tests.http.test_mux_python import server_url  # noqa: F401  (the fixture)

URL = "https://media.example/in.mp4"


def _client(base: str, caller: Caller) -> mux.ApiClient:
    config = mux.Configuration(host=base)
    config.username, config.password = caller.token_id, caller.secret
    return mux.ApiClient(config)


def test_asset_lifecycle(server_url: str, caller: Caller) -> None:  # noqa: F811
    client = _client(server_url, caller)
    assets, lookups = mux.AssetsApi(client), mux.PlaybackIDApi(client)
    request = mux.CreateAssetRequest(
        input=[mux.InputSettings(url=URL)],
        playback_policy=[mux.PlaybackPolicy.PUBLIC],
        passthrough="first",
        video_quality="plus",
    )
    created = assets.create_asset(request)
    assert created is not None, "a create must answer 201 or mux-python returns None"
    asset = created.data
    assert asset.status == "preparing" and asset.ingest_type == "on_demand_url"
    assert asset.created_at.isdigit() and asset.passthrough == "first"
    assert asset.progress.state == "ingesting"
    assert [p.policy for p in asset.playback_ids] == ["public"]

    got = assets.get_asset(asset.id).data
    assert got.id == asset.id and got.max_resolution_tier == "1080p"

    others = [assets.create_asset(mux.CreateAssetRequest(input=URL)).data.id for _ in range(2)]
    made = {asset.id, *others}
    page_one = assets.list_assets(limit=2, page=1)
    page_two = assets.list_assets(limit=2, page=2)
    assert len(page_one.data) == 2 and page_one.next_cursor
    assert {a.id for a in page_one.data + page_two.data} == made
    assert page_two.next_cursor is None
    assert assets.list_assets(limit=2, page=3).data == []

    seen: list[str] = []
    cursor = None
    while True:
        listed = (
            assets.list_assets(limit=2, cursor=cursor) if cursor else assets.list_assets(limit=2)
        )
        seen.extend(a.id for a in listed.data)
        cursor = listed.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(made)

    updated = assets.update_asset(asset.id, mux.UpdateAssetRequest(passthrough="second")).data
    assert updated.passthrough == "second"

    pid_request = mux.CreatePlaybackIDRequest(policy=mux.PlaybackPolicy.SIGNED)
    pid = assets.create_asset_playback_id(asset.id, pid_request).data
    assert pid.policy == "signed"
    assert assets.get_asset_playback_id(asset.id, pid.id).data.id == pid.id
    owner = lookups.get_asset_or_livestream_id(pid.id).data
    assert owner.object.type == "asset" and owner.object.id == asset.id
    assert assets.delete_asset_playback_id(asset.id, pid.id) is None
    with pytest.raises(mux.rest.NotFoundException):
        assets.get_asset_playback_id(asset.id, pid.id)

    assert assets.get_asset_input_info(asset.id).data == []

    assert assets.delete_asset(asset.id) is None
    with pytest.raises(mux.rest.NotFoundException):
        assets.get_asset(asset.id)


def test_a_bad_input_url_is_a_400(server_url: str, caller: Caller) -> None:  # noqa: F811
    assets = mux.AssetsApi(_client(server_url, caller))
    with pytest.raises(mux.rest.ApiException) as raised:
        assets.create_asset(mux.CreateAssetRequest(input="ftp://media.example/a.mp4"))
    assert raised.value.status == 400
    assert "input url must be an http or https URL" in raised.value.body
