"""Failed sign-ins per client address: free at first, then a doubling wait, forgotten with time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reelhouse.web import throttle as throttle_module
from reelhouse.web.throttle import SigninThrottle

from .dashboard_app import Clock


def failing(throttle: SigninThrottle, client: str, times: int) -> None:
    for _ in range(times):
        throttle.failed(client)


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (13, 256), (14, 300), (20, 300)],
)
def test_the_wait_doubles_after_the_free_failures(failures: int, wait: int) -> None:
    throttle = SigninThrottle(Clock())
    failing(throttle, "198.51.100.7", failures)
    assert throttle.wait("198.51.100.7") == wait
    assert throttle.wait("198.51.100.8") == 0  # another address is not held up


def test_the_wait_counts_from_the_last_failure() -> None:
    clock = Clock()
    throttle = SigninThrottle(clock)
    failing(throttle, "a", 7)
    clock.advance(1.5)
    assert throttle.wait("a") == 3  # 4 s after the last failure, rounded up
    clock.advance(2.5)
    assert throttle.wait("a") == 0
    throttle.failed("a")  # the 8th: 8 s more
    assert throttle.wait("a") == 8


def test_failures_age_out_of_the_window() -> None:
    clock = Clock()
    throttle = SigninThrottle(clock, window=timedelta(minutes=15))
    failing(throttle, "a", 3)
    clock.advance(10 * 60)
    failing(throttle, "a", 2)
    assert throttle.wait("a") == 1
    clock.advance(5 * 60 + 1)  # the first three are older than 15 minutes now
    assert throttle.wait("a") == 0
    failing(throttle, "a", 2)
    assert throttle.wait("a") == 0
    clock.advance(15 * 60)
    assert throttle.wait("a") == 0
    assert throttle._failures == {}


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_module, "MAX_CLIENTS", 30)
    clock = Clock()
    throttle = SigninThrottle(clock)
    for n in range(30):
        throttle.failed(f"old-{n}")
        clock.advance(1)
    throttle.failed("new")
    assert len(throttle._failures) == 21  # the oldest third forgotten, the newcomer counted
    assert "old-0" not in throttle._failures and "old-29" in throttle._failures
    for n in range(9):
        throttle.failed(f"more-{n}")
    assert len(throttle._failures) == 30
    clock.advance(15 * 60)
    throttle.failed("later")  # at the cap again: expired entries go first
    assert set(throttle._failures) == {"later"}
