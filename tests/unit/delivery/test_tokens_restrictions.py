"""The playback-restriction rules a token can name: referrer wildcards and user agents."""

from __future__ import annotations

import pytest

from reelhouse.errors import InvalidParameters
from reelhouse.media.playback_restrictions import (
    Rules,
    checked_domains,
    domain_allowed,
    is_high_risk,
    refusal,
)


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("example.com", ["example.com"], True),
        ("EXAMPLE.com.", ["example.com"], True),
        ("www.example.com", ["example.com"], False),
        ("www.example.com", ["*.example.com"], True),
        ("a.b.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("evilexample.com", ["*.example.com"], False),
        ("example.com.evil.net", ["*.example.com", "example.com"], False),
        ("anything.net", ["*"], True),
        ("example.com", [], False),
    ],
)
def test_domain_matching(host: str, allowed: list[str], expected: bool) -> None:
    assert domain_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    "agent",
    [
        "curl/8.5.0",
        "Wget/1.21.4",
        "Lavf/60.16.100",
        "yt-dlp/2024.08.06",
        "python-requests/2.32.3",
        "Python-urllib/3.12",
        "Mozilla/5.0 (compatible) youtube-dl/2021",
    ],
)
def test_download_tools_are_high_risk(agent: str) -> None:
    assert is_high_risk(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
        "AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X)",
        "ExoPlayerLib/2.19.1",
        "Roku/DVP-12.5 (12.5.0.4174-46)",
        "curly-player/1.0",
    ],
)
def test_players_are_not_high_risk(agent: str) -> None:
    assert not is_high_risk(agent)


SITE = Rules(("*.example.com",), allow_no_referrer=False)
BROWSER = "Mozilla/5.0 Chrome/126.0"


@pytest.mark.parametrize(
    ("rules", "referer", "origin", "agent", "reason"),
    [
        (SITE, "https://app.example.com/lesson/1", None, BROWSER, None),
        (SITE, None, "https://app.example.com", BROWSER, None),
        (SITE, "https://evil.net/", None, BROWSER, "referrer evil.net is not allowed"),
        (SITE, None, None, BROWSER, "requires a Referer"),
        (SITE, None, "null", BROWSER, "requires a Referer"),
        (SITE, "not a url", None, BROWSER, "is not allowed"),
        (Rules(("*",), True), None, None, BROWSER, None),
        (Rules(allow_no_user_agent=False), None, None, None, "requires a User-Agent"),
        (Rules(allow_high_risk_user_agent=False), None, None, "curl/8.5", "user agent"),
        (Rules(allow_high_risk_user_agent=False), None, None, BROWSER, None),
        (Rules(), None, None, "curl/8.5", None),
    ],
)
def test_refusal(
    rules: Rules, referer: str | None, origin: str | None, agent: str | None, reason: str | None
) -> None:
    got = refusal(rules, referer=referer, origin=origin, user_agent=agent)
    if reason is None:
        assert got is None
    else:
        assert got is not None and reason in got


def test_domains_are_validated_and_normalised() -> None:
    assert checked_domains(["*", "Example.COM.", "*.example.com", "example.com"]) == [
        "*",
        "example.com",
        "*.example.com",
    ]
    for bad in (["http://example.com"], ["*example.com"], ["exa mple.com"], ["a.*.com"], [""]):
        with pytest.raises(InvalidParameters):
            checked_domains(bad)
    with pytest.raises(InvalidParameters, match="at most 10"):
        checked_domains([f"d{i}.com" for i in range(11)])
