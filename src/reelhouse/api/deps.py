"""What the REST API needs from its composition root."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.ids import RandomBytes


@dataclass(frozen=True)
class ApiDeps:
    """``sessions`` opens transactions; ``base_url`` prefixes every URL handed out; ``clock``
    is the time source; ``default_max_upload_bytes`` applies where an environment sets none;
    ``delete_asset_objects(environment_id, asset_id)`` removes every stored object of a deleted
    asset (called after the deletion commits; it raises ``StorageError`` on failure);
    ``webhook_allow_private`` lets webhook endpoints added through the API be on private and
    loopback networks (the operator's choice; off by default)."""

    sessions: async_sessionmaker[AsyncSession]
    base_url: str
    clock: Callable[[], datetime]
    default_max_upload_bytes: int
    delete_asset_objects: Callable[[str, str], Awaitable[None]]
    random_bytes: RandomBytes = field(default=secrets.token_bytes)
    webhook_allow_private: bool = False
