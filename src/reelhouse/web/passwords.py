"""The dashboard's admin password: how ``REELHOUSE_ADMIN_PASSWORD`` is written and checked.

The setting holds the password itself or, better, an scrypt hash made by
``reelhouse admin-password``: ``scrypt:<log2 N>:<r>:<p>:<salt>:<key>`` with salt and key in
unpadded base64url (no ``$``, so shells and compose files leave it alone). Either way a guess is
compared in constant time. A session signed in with the password carries a fingerprint of the
setting (an HMAC under the session secret, which reveals nothing about the password), so changing
or removing the setting ends every admin session.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

from reelhouse.errors import ConfigError

MIN_LENGTH: Final = 12
SCHEME: Final = "scrypt"
LOG_N: Final = 15  # N = 32768, r = 8: 32 MiB and some tens of milliseconds per check
BLOCK_SIZE: Final = 8
PARALLELISM: Final = 1
KEY_BYTES: Final = 32
# Bounds on what a configured hash may ask for, so a typo cannot make each check take minutes
# or gigabytes.
_LOG_N_RANGE: Final = range(10, 21)
_R_RANGE: Final = range(1, 33)
_P_RANGE: Final = range(1, 9)
MAX_MEMORY: Final = 256 << 20
# Hashes checked at once; the rest wait, so a burst of sign-ins cannot exhaust memory.
CONCURRENT_CHECKS: Final = 2


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int, size: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=size,
        maxmem=129 * r * n + 128 * r * p + (1 << 20),
    )


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The setting value for ``password``: ``scrypt:15:8:1:<salt>:<key>``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = _scrypt(password, salt, LOG_N, BLOCK_SIZE, PARALLELISM, KEY_BYTES)
    return f"{SCHEME}:{LOG_N}:{BLOCK_SIZE}:{PARALLELISM}:{_b64(salt)}:{_b64(key)}"


@dataclass(frozen=True)
class _Scrypt:
    log_n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def matches(self, guess: str) -> bool:
        derived = _scrypt(guess, self.salt, self.log_n, self.r, self.p, len(self.key))
        return hmac.compare_digest(derived, self.key)


def _parse_hash(value: str) -> _Scrypt:
    parts = value.split(":")
    if len(parts) != 6:
        raise ConfigError("REELHOUSE_ADMIN_PASSWORD looks like an scrypt hash but is not one")
    try:
        log_n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error) as exc:
        raise ConfigError("REELHOUSE_ADMIN_PASSWORD has a malformed scrypt hash") from exc
    in_range = log_n in _LOG_N_RANGE and r in _R_RANGE and p in _P_RANGE
    if not in_range or 128 * r * (1 << log_n) > MAX_MEMORY:
        raise ConfigError("REELHOUSE_ADMIN_PASSWORD asks for scrypt costs out of range")
    if len(salt) < 8 or len(key) < 16:
        raise ConfigError("REELHOUSE_ADMIN_PASSWORD has too short a salt or key")
    return _Scrypt(log_n, r, p, salt, key)


@dataclass
class AdminPassword:
    """The configured admin password, plain or hashed (see the module docstring)."""

    setting: str = field(repr=False)
    _hashed: _Scrypt | None = field(default=None, repr=False)
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_CHECKS))

    @classmethod
    def from_setting(cls, value: str) -> AdminPassword:
        """Parse the setting; ``ConfigError`` for a malformed hash or a short plain password."""
        if value.startswith(SCHEME + ":"):
            return cls(value, _parse_hash(value))
        if len(value) < MIN_LENGTH:
            raise ConfigError(
                f"REELHOUSE_ADMIN_PASSWORD must be at least {MIN_LENGTH} characters "
                "(or a hash from `reelhouse admin-password`)"
            )
        return cls(value)

    def matches(self, guess: str) -> bool:
        """Whether ``guess`` is the password, in time that does not depend on where it differs."""
        if self._hashed is not None:
            return self._hashed.matches(guess)
        want = hashlib.sha256(self.setting.encode()).digest()
        return hmac.compare_digest(hashlib.sha256(guess.encode()).digest(), want)

    async def check(self, guess: str) -> bool:
        """:meth:`matches` off the event loop, at most :data:`CONCURRENT_CHECKS` at once."""
        async with self._slots:
            return await asyncio.to_thread(self.matches, guess)

    def fingerprint(self, secret: bytes) -> str:
        """A stable tag of this setting under ``secret``: equal across restarts and web nodes
        sharing the secret, different once the setting changes."""
        mac = hmac.new(secret, b"admin-password\x00" + self.setting.encode(), hashlib.sha256)
        return mac.hexdigest()[:32]
