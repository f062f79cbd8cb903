"""Slowing down repeated sign-in failures from one client address.

The first :attr:`SigninThrottle.free` failures within :attr:`SigninThrottle.window` cost
nothing; after that each further attempt must wait ``2 ** (failures - free)`` seconds after the
last failure, up to :attr:`SigninThrottle.longest`. Failures age out of the window; a successful
sign-in does not clear them (otherwise one valid token would buy unlimited password guesses).
State is in process memory: each web node counts on its own, and a restart forgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_CLIENTS = 10_000


@dataclass
class SigninThrottle:
    """Failed sign-ins per client address, and how long that client must wait now."""

    clock: Callable[[], datetime]
    free: int = 5
    window: timedelta = timedelta(minutes=15)
    longest: timedelta = timedelta(minutes=5)
    _failures: dict[str, list[datetime]] = field(default_factory=dict)

    def _recent(self, client: str, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(client, []) if now - t < self.window]
        if kept:
            self._failures[client] = kept
        else:
            self._failures.pop(client, None)
        return kept

    def wait(self, client: str) -> int:
        """Whole seconds ``client`` must wait before its next attempt; 0 to go ahead."""
        now = self.clock()
        recent = self._recent(client, now)
        if len(recent) < self.free:
            return 0
        delay = min(timedelta(seconds=2 ** (len(recent) - self.free)), self.longest)
        left = recent[-1] + delay - now
        return max(0, math.ceil(left.total_seconds()))

    def failed(self, client: str) -> None:
        """Count a failed attempt from ``client``."""
        now = self.clock()
        if client not in self._failures and len(self._failures) >= MAX_CLIENTS:
            for other in list(self._failures):
                self._recent(other, now)
            if len(self._failures) >= MAX_CLIENTS:
                # Under a flood from this many addresses, forget the oldest third.
                oldest = sorted(self._failures, key=lambda c: self._failures[c][-1])
                for other in oldest[: MAX_CLIENTS // 3]:
                    del self._failures[other]
        self._failures.setdefault(client, []).append(now)
