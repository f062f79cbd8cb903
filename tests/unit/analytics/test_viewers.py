"""The viewer hash: stable within a day, different across days and secrets, never the IP."""

from __future__ import annotations

from datetime import date

import pytest

from reelhouse.analytics.viewers import ua_family, viewer_hash

DAY = date(2026, 11, 25)


def test_the_hash_is_stable_within_a_day_and_changes_with_it() -> None:
    one = viewer_hash(b"s", DAY, "203.0.113.9", "UA")
    assert one == viewer_hash(b"s", DAY, "203.0.113.9", "UA")
    assert one != viewer_hash(b"s", date(2026, 11, 26), "203.0.113.9", "UA")
    assert one != viewer_hash(b"t", DAY, "203.0.113.9", "UA")
    assert one != viewer_hash(b"s", DAY, "203.0.113.9", "UA2")
    assert "203.0.113.9" not in one and len(one) == 64


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("Mozilla/5.0 (X11) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "Chrome"),
        ("Mozilla/5.0 Chrome/131.0 Safari/537.36 Edg/131.0", "Edge"),
        ("Mozilla/5.0 (X11; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox"),
        ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15", "Safari"),
        ("curl/8.5.0", "Other"),
        ("", "Other"),
    ],
)
def test_ua_family(agent: str, family: str) -> None:
    assert ua_family(agent) == family
