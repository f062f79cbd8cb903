"""The asset page in-process: what it shows (renditions with bitrates, playback ids with their
URLs and embed code, downloads, input info, webhook deliveries about the asset), its forms
(add and remove playback ids, ask for a static rendition, delete with a confirm step) and
their refusals (permission, CSRF, bad input, another environment's asset)."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from reelhouse.db.models import Asset, Environment, OutboxEvent, PlaybackId
from reelhouse.media import static_renditions
from reelhouse.web import asset_views
from reelhouse.webhooks import dispatch, endpoints

from .asset_board import (
    EVERYTHING,
    START,
    Board,
    Sessions,
    board_client,
    url_asset,
)


async def playback_rows(sessions: Sessions, asset_id: str) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(PlaybackId)
            .where(PlaybackId.asset_id == asset_id)
            .order_by(PlaybackId.created_at)
        )
        return [(r.id, r.policy) for r in rows]


async def test_page_shows_renditions_urls_inputs_and_downloads(
    board: Board, sessions: Sessions, ready: Asset
) -> None:
    page = await board.http.get(f"/assets/{ready.id}")
    assert page.status_code == 200
    html = page.text
    assert '<h1 class="rh-asset-heading">Launch Talk.mov</h1>' in html
    assert "<dd>Launch Talk.mov</dd>" in html  # the uploaded file
    # Renditions, highest first, then audio, with people's bitrates.
    names = re.findall(r'<td data-label="Name">(\w+)', html)
    assert names == ["v0", "v1", "a0"]
    assert "1280\u00d7720 25 fps" in html and "2.4 Mb/s" in html and "1.8 Mb/s" in html
    assert "128 kb/s" in html and "2 channels" in html
    [(pid, policy)] = await playback_rows(sessions, ready.id)
    assert policy == "public"
    assert f'value="http://test/stream/{pid}.m3u8"' in html
    found = re.search(rf'id="embed-{pid}" type="text" readonly value="([^"]+)"', html)
    assert found is not None
    snippet = html_lib.unescape(found.group(1))
    assert snippet.startswith(f'<iframe src="http://test/embed/{pid}" title="Launch Talk.mov"')
    assert f'<iframe src="/embed/{pid}"' in html  # the preview player
    # Input info and the static renditions one can still ask for.
    assert "Main input: mov,mp4,m4a,3gp,3g2,mj2" in html
    assert "video: h264, 1280\u00d7720 @ 25 fps" in html
    assert "audio: aac, 2 channels, 48000 Hz" in html
    offered = re.findall(r'<option value="([\w-]+)">[^<]*MP4|<option value="(audio-only)">', html)
    assert [a or b for a, b in offered] == ["highest", "audio-only", "720p", "360p"]
    assert 'data-pending="false"' in html
    assert f'href="/assets/{ready.id}/delete"' in html


async def test_page_lists_webhook_deliveries_about_the_asset(
    board: Board, sessions: Sessions, environment_id: str, ready: Asset
) -> None:
    other = await url_asset(sessions, environment_id, at=START)
    async with sessions.begin() as session:
        endpoint = await endpoints.create_endpoint(
            session, environment_id, "https://hooks.example/mux", now=START
        )
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.object_id.in_([ready.id, other.id]))
            )
        ).all()
        for event in events:
            await dispatch.create_deliveries(session, event, [endpoint.id], now=START)
    html = (await board.http.get(f"/assets/{ready.id}")).text
    table = html[html.index('id="deliveries"') :]
    assert table.count("video.asset.created") == 1  # this asset's, not the other's
    assert "https://hooks.example/mux" in table
    assert 'rh-delivery-status--pending">pending<' in table
    other_page = (await board.http.get(f"/assets/{other.id}")).text
    assert "video.asset.created" in other_page


async def test_add_and_remove_playback_ids(board: Board, sessions: Sessions, ready: Asset) -> None:
    added = await board.post_form(f"/assets/{ready.id}/playback-ids", policy="signed")
    assert added.status_code == 303
    assert added.headers["location"] == f"/assets/{ready.id}?done=playback-added#playback-ids"
    rows = await playback_rows(sessions, ready.id)
    assert [p for _, p in rows] == ["public", "signed"]
    page = (await board.http.get(added.headers["location"])).text
    assert "Playback id added." in page
    assert 'id="signed-url-form"' in page
    public_id = rows[0][0]
    removed = await board.post_form(f"/assets/{ready.id}/playback-ids/{public_id}/delete")
    assert removed.status_code == 303
    assert [p for _, p in await playback_rows(sessions, ready.id)] == ["signed"]
    again = await board.post_form(f"/assets/{ready.id}/playback-ids/{public_id}/delete")
    assert again.status_code == 400
    assert "not on this video" in again.text


async def test_bad_policy_is_refused_next_to_the_form(board: Board, ready: Asset) -> None:
    response = await board.post_form(f"/assets/{ready.id}/playback-ids", policy="secret")
    assert response.status_code == 400
    assert 'id="playback-error"' in response.text
    assert "Policy must be one of public, signed, not &#39;secret&#39;." in response.text


async def test_request_a_static_rendition(board: Board, sessions: Sessions, ready: Asset) -> None:
    response = await board.post_form(f"/assets/{ready.id}/static-renditions", resolution="highest")
    assert response.status_code == 303
    async with sessions() as session:
        asset = await session.get_one(Asset, ready.id)
        files = static_renditions.files_of(asset)
    assert [(f["name"], f["status"]) for f in files] == [("highest.mp4", "preparing")]
    page = (await board.http.get(f"/assets/{ready.id}")).text
    assert 'data-name="highest.mp4" data-status="preparing"' in page
    assert '<option value="highest">' not in page
    assert 'data-pending="true"' in page
    twice = await board.post_form(f"/assets/{ready.id}/static-renditions", resolution="highest")
    assert twice.status_code == 400
    assert "The asset already has a static rendition highest.mp4." in twice.text
    bogus = await board.post_form(f"/assets/{ready.id}/static-renditions", resolution="8k")
    assert bogus.status_code == 400
    assert "Choose one of the listed static renditions." in bogus.text


async def test_ready_static_renditions_have_download_links(
    board: Board, sessions: Sessions, ready: Asset
) -> None:
    async with sessions.begin() as session:
        asset = await session.get_one(Asset, ready.id)
        state = {"status": "ready", "files": [{"name": "720p.mp4", "status": "ready"}]}
        asset.settings = {**asset.settings, static_renditions.STATE_KEY: state}
    [(pid, _)] = await playback_rows(sessions, ready.id)
    html = (await board.http.get(f"/assets/{ready.id}")).text
    assert f'href="/stream/{pid}/720p.mp4?download=Launch%20Talk-720p.mp4"' in html


async def test_delete_needs_the_confirm_step(
    board: Board, sessions: Sessions, ready: Asset, environment_id: str
) -> None:
    prefix = f"env/{environment_id}/assets/{ready.id}/"
    await board.store.put_bytes(prefix + "v1/v0/index.m3u8", b"#EXTM3U\n")
    confirm = await board.http.get(f"/assets/{ready.id}/delete")
    assert confirm.status_code == 200
    assert "Delete “Launch Talk.mov”?" in confirm.text
    assert 'name="confirm" value="yes"' in confirm.text
    skipped = await board.post_form(f"/assets/{ready.id}/delete")
    assert skipped.status_code == 303
    assert skipped.headers["location"] == f"/assets/{ready.id}/delete"
    assert await board.store.exists(prefix + "v1/v0/index.m3u8")
    deleted = await board.post_form(f"/assets/{ready.id}/delete", confirm="yes")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/?deleted={ready.id}"
    async with sessions() as session:
        assert await session.get(Asset, ready.id) is None
    assert not await board.store.exists(prefix + "v1/v0/index.m3u8")
    library = (await board.http.get(deleted.headers["location"])).text
    assert f"Deleted video <code>{ready.id}</code>." in library
    assert (await board.http.get(f"/assets/{ready.id}")).status_code == 404
    # A forged notice is not shown.
    assert "Deleted video" not in (await board.http.get("/?deleted=<b>x</b>")).text


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/playback-ids", {"policy": "public"}),
        ("/static-renditions", {"resolution": "highest"}),
        ("/delete", {"confirm": "yes"}),
    ],
)
async def test_forms_refuse_without_csrf_or_video_write(
    sessions: Sessions,
    environment_id: str,
    tmp_path: Path,
    ready: Asset,
    path: str,
    fields: dict[str, str],
) -> None:
    async with board_client(sessions, environment_id, tmp_path) as board:
        await board.sign_in()
        forged = await board.http.post(f"/assets/{ready.id}{path}", data={"csrf": "x", **fields})
        assert forged.status_code == 403
        assert "did not come from this dashboard" in forged.text
    async with board_client(sessions, environment_id, tmp_path) as viewer:
        await viewer.sign_in(["video:read"])
        refused = await viewer.post_form(f"/assets/{ready.id}{path}", **fields)
        assert refused.status_code == 403
        assert "lacks the <code>video:write</code> permission" in refused.text
        page = (await viewer.http.get(f"/assets/{ready.id}")).text
        assert 'id="add-playback-id"' not in page and 'id="caption-form"' not in page
    async with sessions() as session:
        asset = await session.get_one(Asset, ready.id)
    assert static_renditions.files_of(asset) == []
    assert [p for _, p in await playback_rows(sessions, ready.id)] == ["public"]


async def test_another_environments_asset_is_not_found(
    sessions: Sessions, environment_id: str, tmp_path: Path, ready: Asset
) -> None:
    elsewhere = "env_elsewhere_" + ready.id[:8]
    async with sessions.begin() as session:
        session.add(Environment(id=elsewhere, name=elsewhere, created_at=START))
    async with board_client(sessions, elsewhere, tmp_path) as other:
        await other.sign_in(EVERYTHING)
        assert (await other.http.get(f"/assets/{ready.id}")).status_code == 404
        posted = await other.post_form(f"/assets/{ready.id}/playback-ids", policy="public")
        assert posted.status_code == 404
        gone = await other.post_form(f"/assets/{ready.id}/delete", confirm="yes")
        assert gone.status_code == 404
    async with sessions() as session:
        assert await session.get(Asset, ready.id) is not None


def test_embed_snippet_escapes_the_title() -> None:
    snippet = asset_views.embed_snippet("https://x/embed/p?a=1&b=2", 'My "best" <talk>')
    assert 'src="https://x/embed/p?a=1&amp;b=2"' in snippet
    assert 'title="My &quot;best&quot; &lt;talk&gt;"' in snippet


@pytest.mark.parametrize(
    ("bits", "text"), [(None, "—"), (0, "—"), (96_000, "96 kb/s"), (2_450_000, "2.5 Mb/s")]
)
def test_human_bitrate(bits: int | None, text: str) -> None:
    assert asset_views.human_bitrate(bits) == text


def test_download_name_and_sentence() -> None:
    assert asset_views.download_name("My talk.mov", "720p.mp4") == "My talk-720p.mp4"
    assert asset_views.download_name("  ", "audio.m4a") == "video-audio.m4a"
    assert asset_views.sentence("the asset errored: x") == "The asset errored: x."
    assert asset_views.sentence("Done!") == "Done!"


def test_static_choices_before_publishing_offer_everything() -> None:
    wanted = {"static_renditions": {"files": [{"name": "highest.mp4", "resolution": "highest"}]}}
    values = [v for v, _ in asset_views.static_choices(wanted)]
    assert values[:2] == ["audio-only", "2160p"] and "highest" not in values
    assert len(values) == len(asset_views.STATIC_CHOICES) - 1
