"""Pydantic validation errors as Mux ``invalid_parameters`` messages a person can act on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_SOURCE_PREFIXES = frozenset({"body", "query", "path", "header"})


def _dotted(loc: Sequence[str | int]) -> str:
    parts = list(loc)
    if parts and parts[0] in _SOURCE_PREFIXES:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "request body"


def messages(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """One message per pydantic error, each naming the parameter (``new_asset_settings.foo``)."""
    out: list[str] = []
    for err in errors:
        where = _dotted(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            out.append(f"{where} is not a recognised parameter")
        elif kind == "missing" and where == "request body":
            out.append("request body is required")
        elif kind == "json_invalid":
            out.append("request body is not valid JSON")
        else:
            out.append(f"{where}: {err.get('msg', 'is invalid')}")
    return out
