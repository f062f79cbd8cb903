"""The beacon wire format: what a player POSTs to ``/beacon``, validated and nothing more.

A request is one batch of at most :data:`MAX_EVENTS` events of one view::

    {"view_id": "<uuid the player made>", "playback_id": "...", "player": "mux-player",
     "events": [{"type": "viewstart", "seq": 0, "elapsed_ms": 0}, ...]}

``seq`` numbers a view's events from 0 upwards, in the order the player sends them; an event
whose ``seq`` was already applied is a replay and is skipped. ``elapsed_ms`` is the player's
clock: milliseconds since the view started (``viewstart`` is 0), so startup time and rebuffer
durations need no trust in the viewer's wall clock.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelhouse.schemas.validation import messages

MAX_EVENTS = 20
MAX_ELAPSED_MS = 24 * 3600 * 1000
EVENT_TYPES = (
    "viewstart",
    "firstframe",
    "heartbeat",
    "rebufferstart",
    "rebufferend",
    "seek",
    "qualitychange",
    "error",
    "ended",
)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: Annotated[int, Field(ge=0, le=1_000_000)]
    elapsed_ms: Annotated[int, Field(ge=0, le=MAX_ELAPSED_MS)]


class ViewStart(_Event):
    type: Literal["viewstart"]


class FirstFrame(_Event):
    type: Literal["firstframe"]


class Heartbeat(_Event):
    """``watched_seconds``: watch time (playing or trying to: rebuffering counts) since the
    previous heartbeat; ``playhead``: position in the video, seconds."""

    type: Literal["heartbeat"]
    watched_seconds: Annotated[float, Field(ge=0, le=3600)]
    playhead: Annotated[float | None, Field(ge=0)] = None


class RebufferStart(_Event):
    type: Literal["rebufferstart"]


class RebufferEnd(_Event):
    type: Literal["rebufferend"]


class Seek(_Event):
    type: Literal["seek"]
    playhead: Annotated[float | None, Field(ge=0)] = None


class QualityChange(_Event):
    type: Literal["qualitychange"]
    rendition: Annotated[str | None, Field(max_length=64)] = None


class Error(_Event):
    """A fatal playback error: the view counts as a playback failure."""

    type: Literal["error"]
    code: Annotated[str | None, Field(max_length=64)] = None
    message: Annotated[str | None, Field(max_length=500)] = None


class Ended(_Event):
    """The view is over: the video ended or the viewer left."""

    type: Literal["ended"]


Event = Annotated[
    ViewStart
    | FirstFrame
    | Heartbeat
    | RebufferStart
    | RebufferEnd
    | Seek
    | QualityChange
    | Error
    | Ended,
    Field(discriminator="type"),
]


class Batch(BaseModel):
    """One beacon request. Unknown top-level keys are ignored (newer players may send more)."""

    model_config = ConfigDict(frozen=True)

    view_id: uuid.UUID
    playback_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    player: Annotated[str | None, Field(max_length=64)] = None
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class InvalidBeacon(ValueError):
    """A beacon that is not valid; ``messages`` say why, one per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.messages = problems


def parse_batch(document: Any) -> Batch:
    """The :class:`Batch` in a decoded JSON document, else :class:`InvalidBeacon`."""
    if not isinstance(document, dict):
        raise InvalidBeacon(["request body must be a JSON object"])
    try:
        return Batch.model_validate(document)
    except ValidationError as exc:
        raise InvalidBeacon(messages(_explained(exc))) from exc


def _explained(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, with an unknown event type said plainly."""
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        item = dict(err)
        if err.get("type") == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag")
            item["msg"] = f"unknown event type {tag!r}; expected one of {', '.join(EVENT_TYPES)}"
        out.append(item)
    return out
