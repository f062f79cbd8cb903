"""Text tracks in the served manifests: the HLS SUBTITLES group and the DASH text sets."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from reelhouse.delivery.errors import CorruptManifest
from reelhouse.delivery.playbacks import Playback, PublishedTextTrack
from reelhouse.delivery.playlists import (
    PlaylistOptions,
    options_from_query,
    render_master,
    with_base_url,
    with_text_tracks,
)
from reelhouse.pipeline import dash
from reelhouse.pipeline.playlists import MediaSegment
from tests.unit.delivery.test_playlists import AUDIO, LADDER, PID

EN = PublishedTextTrack("trkEn", "en", "English", False)
EN_CC = PublishedTextTrack("trkEnCc", "en-US", "English", True)
FR = PublishedTextTrack("trkFr", "fr", "Français", False)


def playback(*texts: PublishedTextTrack, audio_only: bool = False) -> Playback:
    renditions = (AUDIO,) if audio_only else LADDER
    return Playback(PID, "public", "e1", "a1", "ready", 2, renditions, texts)


def media_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]


def test_no_text_tracks_no_subtitles_group() -> None:
    text = render_master(playback())
    assert "SUBTITLES" not in text


def test_subtitles_group_and_every_variant_names_it() -> None:
    text = render_master(playback(EN, FR))
    assert media_lines(text) == [
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",'
        f'AUTOSELECT=YES,DEFAULT=NO,URI="{PID}/text/trkEn.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",'
        f'AUTOSELECT=YES,DEFAULT=NO,URI="{PID}/text/trkFr.m3u8"',
    ]
    infs = [line for line in text.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(infs) == 4
    assert all(line.endswith(',SUBTITLES="subs"') for line in infs)
    # the media lines come before the first variant
    assert text.index("TYPE=SUBTITLES") < text.index("#EXT-X-STREAM-INF")


def test_closed_captions_carry_sdh_characteristics_and_names_are_unique() -> None:
    lines = media_lines(render_master(playback(EN, EN_CC)))
    assert 'NAME="English"' in lines[0] and "CHARACTERISTICS" not in lines[0]
    assert 'NAME="English (2)"' in lines[1]
    assert (
        'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,'
        'public.accessibility.describes-music-and-sound"'
    ) in lines[1]


@pytest.mark.parametrize(
    ("lang", "default_id"),
    [("fr", "trkFr"), ("EN-us", "trkEnCc"), ("en-GB", "trkEn"), ("de", None), (None, None)],
)
def test_default_subtitles_lang(lang: str | None, default_id: str | None) -> None:
    query = {"default_subtitles_lang": lang} if lang else {}
    options = options_from_query(query)
    lines = media_lines(render_master(playback(EN, EN_CC, FR), options))
    defaults = [line for line in lines if "DEFAULT=YES" in line]
    if default_id is None:
        assert defaults == []
    else:
        assert len(defaults) == 1 and f"/text/{default_id}.m3u8" in defaults[0]


def test_signed_subtitles_uris_carry_the_grant() -> None:
    lines = media_lines(render_master(playback(EN), PlaylistOptions(), "123.abc"))
    assert f'URI="{PID}/t/123.abc/text/trkEn.m3u8"' in lines[0]


def test_audio_only_variant_names_the_group() -> None:
    text = render_master(playback(EN, audio_only=True))
    [inf] = [line for line in text.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert inf.endswith(',SUBTITLES="subs"')
    assert len(media_lines(text)) == 1


def test_quotes_and_controls_never_reach_the_playlist() -> None:
    odd = PublishedTextTrack("trkX", "en", 'Bad "name"\n#EXT-X-ENDLIST', False)
    [line] = media_lines(render_master(playback(odd)))
    assert 'NAME="Bad name#EXT-X-ENDLIST"' in line
    assert "\n" not in line


def _mpd() -> str:
    rep = dash.Representation(
        "v", "avc1.64001f", 1000, "v/init.mp4", (MediaSegment("v/s1.m4s", 2.0),), 640, 360
    )
    return dash.render_mpd([rep], None, 2.0)


def test_dash_text_adaptation_sets() -> None:
    mpd = with_base_url(with_text_tracks(_mpd(), (EN, EN_CC)), f"{PID}/v2/")
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    root = ET.fromstring(mpd)
    sets = root.findall("d:Period/d:AdaptationSet", ns)
    assert [s.get("contentType") for s in sets] == ["video", "text", "text"]
    text_set = sets[1]
    assert text_set.get("mimeType") == "text/vtt" and text_set.get("lang") == "en"
    assert text_set.findtext("d:Label", namespaces=ns) == "English"
    role = text_set.find("d:Role", ns)
    assert role is not None and role.get("value") == "subtitle"
    cc_role = sets[2].find("d:Role", ns)
    assert cc_role is not None and cc_role.get("value") == "caption"
    base = text_set.findtext("d:Representation/d:BaseURL", namespaces=ns)
    assert base == "../text/trkEn.vtt"
    assert [s.get("id") for s in sets] == ["0", "2", "3"]


def test_dash_without_text_tracks_is_unchanged() -> None:
    assert with_text_tracks(_mpd(), ()) == _mpd()


def test_dash_without_period_is_corrupt() -> None:
    with pytest.raises(CorruptManifest):
        with_text_tracks("<MPD></MPD>", (EN,))
