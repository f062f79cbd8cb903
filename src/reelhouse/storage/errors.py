"""Errors of the object stores.

Each backend translates its own failures here, in one place: its "no such object" becomes
:class:`ObjectNotFound`, and every other foreign exception (``OSError``, botocore's
``ClientError``, ...) becomes :class:`StorageError` with the original chained as ``__cause__``.
Callers above the storage layer never catch a backend's exception types.
"""

from __future__ import annotations

from reelhouse.errors import ConfigError, ReelhouseError


class StorageError(ReelhouseError):
    """The store failed (disk full, bucket unreachable, access denied); the cause is chained."""

    code = "storage_error"


class ObjectNotFound(StorageError):
    """No object exists at ``key`` (a key relative to the store, never a backend path)."""

    code = "not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at {key!r}")
        self.key = key


class InvalidKey(StorageError):
    """A key or prefix breaks the key rules (see :mod:`reelhouse.storage.keys`)."""

    code = "invalid_key"

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid object key {key!r}: {reason}")
        self.key = key
        self.reason = reason


class InvalidRange(StorageError):
    """A byte range that starts at or after the end of the object."""

    code = "invalid_range"


class MultipartNotFound(StorageError):
    """No multipart upload with this id is in progress (completed, aborted, or never started)."""

    code = "not_found"


class InvalidStorageURL(StorageError, ConfigError):
    """``REELHOUSE_STORAGE_URL`` (or the URL given to the factory) is not one we understand."""

    code = "configuration_error"
