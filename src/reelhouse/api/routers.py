"""The one way a REST resource's router is made: its path prefix, its OpenAPI tag, and the Mux
error envelope documented for the statuses it can answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from reelhouse.schemas.envelopes import ErrorEnvelope

# Page/limit pagination as Mux's list endpoints take it (a page past the end is empty).
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


def resource_router(prefix: str, tag: str, *, errors: Iterable[int] = (401, 404)) -> APIRouter:
    responses: dict[int | str, dict[str, Any]] = {code: {"model": ErrorEnvelope} for code in errors}
    return APIRouter(prefix=prefix, tags=[tag], responses=responses)
