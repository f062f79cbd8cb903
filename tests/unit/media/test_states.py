"""The upload state machine's transition table."""

from __future__ import annotations

import pytest

from reelhouse.errors import Conflict
from reelhouse.states import (
    TERMINAL_UPLOAD_STATUSES,
    IllegalTransition,
    Kind,
    UploadStatus,
    can_transition,
    transition,
)

LEGAL = [
    ("waiting", "asset_created"),
    ("waiting", "errored"),
    ("waiting", "cancelled"),
    ("waiting", "timed_out"),
]


@pytest.mark.parametrize(("current", "new"), LEGAL)
def test_legal_moves_return_the_new_status(current: str, new: str) -> None:
    assert transition(Kind.UPLOAD, current, new) == new


@pytest.mark.parametrize("current", sorted(TERMINAL_UPLOAD_STATUSES))
@pytest.mark.parametrize("new", [s.value for s in UploadStatus])
def test_terminal_statuses_never_move(current: str, new: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(Kind.UPLOAD, current, new)
    assert isinstance(info.value, Conflict)
    assert current in info.value.message and new in info.value.message


def test_waiting_to_waiting_is_not_a_move() -> None:
    assert not can_transition(Kind.UPLOAD, "waiting", "waiting")


def test_unknown_status_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        transition(Kind.UPLOAD, "preparing", "waiting")


def test_terminal_set() -> None:
    assert {"asset_created", "errored", "cancelled", "timed_out"} == TERMINAL_UPLOAD_STATUSES
