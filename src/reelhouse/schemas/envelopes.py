"""Mux's JSON envelopes: ``{"data": ...}`` for answers, ``{"error": {...}}`` for failures."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class DataEnvelope(BaseModel, Generic[T]):
    """Every successful JSON response: ``{"data": <object|array>}``."""

    data: T


class ErrorBody(BaseModel):
    type: str
    messages: list[str]


class ErrorEnvelope(BaseModel):
    """Every error response: ``{"error": {"type": "...", "messages": ["..."]}}``."""

    error: ErrorBody


def data(value: Any) -> dict[str, Any]:
    """Wrap a JSON-ready value in the data envelope."""
    return {"data": value}


def error(type_: str, *messages: str) -> dict[str, Any]:
    """A Mux error body."""
    return {"error": {"type": type_, "messages": list(messages)}}
