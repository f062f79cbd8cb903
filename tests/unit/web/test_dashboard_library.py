"""The library page in-process: titles (meta title, passthrough, uploaded file name, id),
thumbnails and sizes, search, the status filter, pagination that keeps both, the empty and
no-match states, and the title the dashboard's own uploads get."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reelhouse.db.models import Asset
from reelhouse.media import library
from reelhouse.web.library_page import library_link

from .asset_board import (
    START,
    Board,
    Sessions,
    publish,
    uploaded_asset,
    url_asset,
)


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr class="rh-asset" data-asset-id="([^"]+)"', html)


async def four_assets(sessions: Sessions, env: str) -> dict[str, Asset]:
    """Oldest first: a titled URL asset, one with passthrough, an upload, one with nothing."""
    made = {
        "titled": await url_asset(sessions, env, at=START, meta={"title": "Quarterly Review 100%"}),
        "passthrough": await url_asset(
            sessions, env, at=START + timedelta(minutes=1), passthrough="lesson_42"
        ),
        "uploaded": await uploaded_asset(
            sessions, env, "Holiday Clip.MOV", at=START + timedelta(minutes=2), size=3 * 1024**2
        ),
        "bare": await url_asset(sessions, env, at=START + timedelta(minutes=3)),
    }
    await publish(sessions, made["uploaded"].id)
    await publish(sessions, made["passthrough"].id, status="errored")
    return made


async def test_rows_show_title_thumbnail_size_and_status(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    made = await four_assets(sessions, environment_id)
    page = await board.http.get("/")
    assert page.status_code == 200
    html = page.text
    assert row_ids(html) == [made[k].id for k in ("bare", "uploaded", "passthrough", "titled")]
    assert ">Quarterly Review 100%</a>" in html
    assert ">lesson_42</a>" in html
    assert ">Holiday Clip.MOV</a>" in html
    bare = made["bare"].id
    assert f'<a class="rh-asset-title" href="/assets/{bare}">{bare}</a>' in html
    # Only the ready asset with a public playback id has a thumbnail; the others a placeholder.
    thumbs = re.findall(r'src="/image/([^/]+)/thumbnail.webp\?width=160"', html)
    assert len(thumbs) == 1
    assert html.count("rh-thumb--none") == 3
    assert ">3.0 MiB</td>" in html
    assert 'rh-status--errored">errored<' in html
    assert 'id="empty-library"' not in html


@pytest.mark.parametrize(
    ("search", "wanted"),
    [
        ("quarterly", ["titled"]),
        ("REVIEW 100%", ["titled"]),
        ("holiday clip", ["uploaded"]),
        ("LESSON_", ["passthrough"]),
        ("%", ["titled"]),  # taken literally, not as a wildcard
        ("_4", ["passthrough"]),
        ("nothing like this", []),
    ],
)
async def test_search_by_title_file_name_and_passthrough(
    board: Board, sessions: Sessions, environment_id: str, search: str, wanted: list[str]
) -> None:
    made = await four_assets(sessions, environment_id)
    html = (await board.http.get("/", params={"q": search})).text
    assert row_ids(html) == [made[k].id for k in wanted]
    assert f'value="{search}"' in html.replace("&#37;", "%")
    if not wanted:
        assert 'id="no-matches"' in html
        assert 'id="empty-library"' not in html


async def test_search_finds_an_asset_or_playback_id_exactly(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    made = await four_assets(sessions, environment_id)
    uploaded = made["uploaded"]
    html = (await board.http.get("/", params={"q": uploaded.id})).text
    assert row_ids(html) == [uploaded.id]
    thumb = re.search(r'src="/image/([^/]+)/thumbnail', html)
    assert thumb is not None
    by_playback = (await board.http.get("/", params={"q": thumb.group(1)})).text
    assert row_ids(by_playback) == [uploaded.id]
    assert row_ids((await board.http.get("/", params={"q": uploaded.id[:-1]})).text) == []


async def test_status_filter_and_search_together(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    made = await four_assets(sessions, environment_id)
    ready = (await board.http.get("/", params={"status": "ready"})).text
    assert row_ids(ready) == [made["uploaded"].id]
    assert '<option value="ready" selected>' in ready
    preparing = (await board.http.get("/", params={"status": "preparing"})).text
    assert row_ids(preparing) == [made["bare"].id, made["titled"].id]
    both = (await board.http.get("/", params={"status": "preparing", "q": "review"})).text
    assert row_ids(both) == [made["titled"].id]
    none = (await board.http.get("/", params={"status": "errored", "q": "review"})).text
    assert row_ids(none) == []
    assert "is errored" in none
    # An unknown status is no filter at all.
    assert len(row_ids((await board.http.get("/", params={"status": "bogus"})).text)) == 4


async def test_pagination_keeps_search_and_filter(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    ids = [
        (
            await url_asset(
                sessions, environment_id, at=START + timedelta(minutes=i), passthrough=f"part {i}"
            )
        ).id
        for i in range(5)
    ]
    await url_asset(sessions, environment_id, at=START + timedelta(hours=1), passthrough="other")
    first = (await board.http.get("/", params={"q": "part", "limit": "2"})).text
    assert row_ids(first) == [ids[4], ids[3]]
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found is not None
    next_url = found.group(1).replace("&amp;", "&")
    assert next_url == "/?q=part&page=2&limit=2"
    assert 'rel="prev"' not in first
    second = (await board.http.get(next_url)).text
    assert row_ids(second) == [ids[2], ids[1]]
    assert '<a href="/?q=part&amp;page=1&amp;limit=2" rel="prev">' in second
    third = (await board.http.get("/?q=part&page=3&limit=2")).text
    assert row_ids(third) == [ids[0]]
    assert 'rel="next"' not in third
    past = (await board.http.get("/?q=part&page=9&limit=2")).text
    assert row_ids(past) == []
    assert 'id="no-more"' in past
    assert 'href="/?q=part&amp;page=1&amp;limit=2"' in past


async def test_empty_library_and_no_matches_are_different(board: Board) -> None:
    empty = (await board.http.get("/")).text
    assert 'id="empty-library"' in empty
    assert "Upload your first video" in empty
    assert 'id="no-matches"' not in empty
    searched = (await board.http.get("/", params={"q": "anything"})).text
    assert 'id="no-matches"' in searched
    assert "matches “anything”" in searched
    assert 'id="empty-library"' not in searched


async def test_a_dashboard_upload_is_titled_with_its_file_name(
    board: Board, sessions: Sessions
) -> None:
    created = await board.post_json("/dashboard/api/uploads", {"name": "My Talk.mp4", "size": 10})
    assert created.status_code == 201, created.text
    async with sessions() as session:
        from reelhouse.db.models import DirectUpload

        upload = await session.get(DirectUpload, created.json()["id"])
    assert upload is not None
    assert upload.new_asset_settings["meta"] == {"title": "My Talk.mp4"}


async def test_the_poll_reports_thumbnail_and_pending(
    board: Board, sessions: Sessions, environment_id: str
) -> None:
    made = await four_assets(sessions, environment_id)
    ids = f"{made['uploaded'].id},{made['bare'].id}"
    rows = {
        r["id"]: r
        for r in (await board.http.get(f"/dashboard/api/assets?ids={ids}")).json()["data"]
    }
    ready, preparing = rows[made["uploaded"].id], rows[made["bare"].id]
    assert ready["pending"] is False and ready["thumbnail"].endswith("/thumbnail.webp?width=160")
    assert preparing["pending"] is True and preparing["thumbnail"] is None


def test_library_links_drop_what_is_not_set() -> None:
    assert library_link("", None, 1, 25) == "/?page=1"
    assert library_link("a b&c", "ready", 2, 10) == "/?q=a+b%26c&status=ready&page=2&limit=10"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("abc", "%abc%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c:\\x", "%c:\\\\x%")],
)
def test_contains_pattern_takes_wildcards_literally(text: str, pattern: str) -> None:
    assert library.contains_pattern(text) == pattern


def test_title_prefers_meta_then_passthrough_then_file_name() -> None:
    asset = Asset(settings={"meta": {"title": "T"}}, passthrough="p")
    assert library.title_of(asset, library.Origin("f.mp4")) == "T"
    asset = Asset(settings={"meta": {"title": "  "}}, passthrough="p")
    assert library.title_of(asset, library.Origin("f.mp4")) == "p"
    asset = Asset(settings={}, passthrough=None)
    assert library.title_of(asset, library.Origin("f.mp4")) == "f.mp4"
    assert library.title_of(asset, library.Origin()) is None


async def test_find_assets_refuses_what_it_cannot_answer(
    sessions: Sessions, environment_id: str
) -> None:
    from reelhouse.errors import InvalidParameters

    async with sessions() as session:
        with pytest.raises(InvalidParameters):
            await library.find_assets(session, environment_id, status="done", limit=5)
        with pytest.raises(InvalidParameters):
            await library.find_assets(session, environment_id, search="x" * 201, limit=5)
