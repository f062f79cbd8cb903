"""State machines: every status an object can hold and the moves allowed between them.

A status changes only through :func:`transition`, which checks the move against the explicit
table below. The values are Mux's wire enums: clients validate them on deserialization.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from reelhouse.errors import Conflict


class UploadStatus(StrEnum):
    """A direct upload's status (``Upload.status`` on the wire)."""

    WAITING = "waiting"
    ASSET_CREATED = "asset_created"
    ERRORED = "errored"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class AssetStatus(StrEnum):
    """An asset's status (``Asset.status`` on the wire)."""

    PREPARING = "preparing"
    READY = "ready"
    ERRORED = "errored"


class Kind(StrEnum):
    """The kinds of object that have a state machine."""

    UPLOAD = "upload"
    ASSET = "asset"


_UPLOAD_MOVES: Final[dict[str, frozenset[str]]] = {
    UploadStatus.WAITING: frozenset(
        {
            UploadStatus.ASSET_CREATED,
            UploadStatus.ERRORED,
            UploadStatus.CANCELLED,
            UploadStatus.TIMED_OUT,
        }
    ),
    UploadStatus.ASSET_CREATED: frozenset(),
    UploadStatus.ERRORED: frozenset(),
    UploadStatus.CANCELLED: frozenset(),
    UploadStatus.TIMED_OUT: frozenset(),
}

# A ready asset goes back to preparing only to be re-encoded (a new output version); errored
# is final: a new asset is made from the input instead.
_ASSET_MOVES: Final[dict[str, frozenset[str]]] = {
    AssetStatus.PREPARING: frozenset({AssetStatus.READY, AssetStatus.ERRORED}),
    AssetStatus.READY: frozenset({AssetStatus.PREPARING}),
    AssetStatus.ERRORED: frozenset(),
}

TRANSITIONS: Final[dict[Kind, dict[str, frozenset[str]]]] = {
    Kind.UPLOAD: _UPLOAD_MOVES,
    Kind.ASSET: _ASSET_MOVES,
}

TERMINAL_UPLOAD_STATUSES: Final[frozenset[str]] = frozenset(
    status for status, moves in _UPLOAD_MOVES.items() if not moves
)


class IllegalTransition(Conflict):
    """A status change the transition table does not allow."""

    code = "invalid_transition"

    def __init__(self, kind: str, current: str, new: str) -> None:
        super().__init__(f"a {kind} cannot move from {current!r} to {new!r}")
        self.kind = kind
        self.current = current
        self.new = new


def can_transition(kind: Kind, current: str, new: str) -> bool:
    """True when the table allows ``current -> new`` for ``kind``."""
    moves = TRANSITIONS[kind].get(current)
    return moves is not None and new in moves


def transition(kind: Kind, current: str, new: str) -> str:
    """``new`` when ``current -> new`` is legal for ``kind``; else raise IllegalTransition."""
    if not can_transition(kind, current, new):
        raise IllegalTransition(kind.value, current, new)
    return new
