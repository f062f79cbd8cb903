"""The rules every object key obeys, on every backend.

A key is a relative, ``/``-separated name such as ``env/e1/assets/a1/v1/master.m3u8``:

- 1 to 1024 bytes of UTF-8 (S3's limit; a store with a prefix counts the prefix too);
- no leading ``/``, no trailing ``/``, no empty segment (``a//b``);
- no ``.`` or ``..`` segment and no backslash, so it can never climb out of a directory;
- no control character (U+0000 to U+001F, U+007F);
- no segment starting with ``.~rh``: the local store's temporary files use that name.

A *prefix* (for :meth:`list` and :meth:`delete_prefix`) is matched as a plain string, like S3:
``a/b`` matches ``a/b/c`` and ``a/bc``, ``a/b/`` matches only the former. It obeys the same rules,
except that it may be empty and may end with ``/``.
"""

from __future__ import annotations

from reelhouse.storage.errors import InvalidKey

MAX_KEY_BYTES = 1024
RESERVED_SEGMENT_START = ".~rh"


def validate_key(key: str) -> str:
    """Return ``key`` unchanged, or raise :class:`InvalidKey` saying which rule it breaks."""
    if not key:
        raise InvalidKey(key, "a key may not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidKey(key, "a key must be valid UTF-8") from exc
    if size > MAX_KEY_BYTES:
        raise InvalidKey(key, f"a key may be at most {MAX_KEY_BYTES} bytes, this one is {size}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise InvalidKey(key, "a key may not contain control characters")
    if "\\" in key:
        raise InvalidKey(key, "a key may not contain a backslash")
    if key.startswith("/"):
        raise InvalidKey(key, "a key may not start with '/'")
    if key.endswith("/"):
        raise InvalidKey(key, "a key may not end with '/'")
    for segment in key.split("/"):
        if segment == "":
            raise InvalidKey(key, "a key may not contain an empty segment ('//')")
        if segment in (".", ".."):
            raise InvalidKey(key, f"a key may not contain a {segment!r} segment")
        if segment.startswith(RESERVED_SEGMENT_START):
            raise InvalidKey(key, f"segments starting with {RESERVED_SEGMENT_START!r} are reserved")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged, or raise :class:`InvalidKey`; ``""`` means every key."""
    if prefix == "":
        return prefix
    # A prefix is a key with its last segment possibly cut short or empty: check it as the
    # key it would be with one more character, so "a/" and "a/.." pass and "../" does not.
    try:
        validate_key(prefix + "x")
    except InvalidKey as exc:
        raise InvalidKey(prefix, exc.reason) from None
    return prefix


def is_valid_key(key: str) -> bool:
    """Whether ``key`` obeys the rules (for names found in a listing rather than given to us)."""
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True
