"""What the REST API needs from its composition root."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.ids import RandomBytes


@dataclass(frozen=True)
class ApiDeps:
    """``sessions`` opens transactions; ``base_url`` prefixes every URL handed out; ``clock``
    is the time source; ``default_max_upload_bytes`` applies where an environment sets none."""

    sessions: async_sessionmaker[AsyncSession]
    base_url: str
    clock: Callable[[], datetime]
    default_max_upload_bytes: int
    random_bytes: RandomBytes = field(default=secrets.token_bytes)
