"""Signing and verifying ``mux-signature`` headers."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reelhouse.webhooks.signatures import SignatureError, parse, sign, verify

SECRET = "s3cr3t"
BODY = b'{"type":"video.asset.ready","id":"e1"}'
T = 1_700_000_000


def independent(secret: str, body: bytes, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_known_vector() -> None:
    # Computed once with hmac by hand; pins the exact bytes signed.
    assert sign("whsec_abc", b"{}", 1) == ("t=1,v1=" + independent("whsec_abc", b"{}", 1))
    assert (
        independent("whsec_abc", b"{}", 1)
        == hmac.new(b"whsec_abc", b"1.{}", hashlib.sha256).hexdigest()
    )


def test_sign_matches_independent_hmac() -> None:
    assert sign(SECRET, BODY, T) == f"t={T},v1={independent(SECRET, BODY, T)}"


GOOD = f"t={T},v1={independent(SECRET, BODY, T)}"


@pytest.mark.parametrize(
    ("header", "now"),
    [
        (GOOD, T),
        (GOOD, T + 300),  # exactly at the tolerance
        (GOOD, T - 3600),  # future timestamps pass, as in @mux/mux-node
        (f"t={T},v1=deadbeef,v1={independent(SECRET, BODY, T)}", T),  # rotation: any v1 matches
        (f"v1={independent(SECRET, BODY, T)}, t={T}", T),  # order and spaces do not matter
        (f"t={T},v0=zzz,v1={independent(SECRET, BODY, T)}", T),  # other schemes are ignored
    ],
)
def test_verify_accepts(header: str, now: int) -> None:
    verify(SECRET, BODY, header, now=now)


@pytest.mark.parametrize(
    ("secret", "body", "header", "now", "reason"),
    [
        (SECRET, BODY, GOOD, T + 301, "too_old"),
        ("other", BODY, GOOD, T, "mismatch"),
        (SECRET, BODY + b" ", GOOD, T, "mismatch"),  # re-serialised bodies fail
        (SECRET, BODY, f"t={T + 1},v1={independent(SECRET, BODY, T)}", T, "mismatch"),
        (SECRET, BODY, f"t={T}", T, "no_signature"),
        (SECRET, BODY, f"v1={independent(SECRET, BODY, T)}", T, "malformed"),
        (SECRET, BODY, "", T, "malformed"),
        (SECRET, BODY, "t=abc,v1=00", T, "malformed"),
        (SECRET, BODY, f"t={T},v1=é", T, "mismatch"),
    ],
)
def test_verify_rejects(secret: str, body: bytes, header: str, now: int, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(secret, body, header, now=now)
    assert caught.value.reason == reason


def test_too_old_is_checked_after_the_signature() -> None:
    # A forged header must not learn whether its timestamp would have been fresh enough.
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, BODY, f"t={T},v1=00", now=T + 10_000)
    assert caught.value.reason == "mismatch"


def test_parse_collects_every_v1() -> None:
    assert parse("t=5,v1=a,v1=b") == (5, ["a", "b"])


def test_round_trip_with_custom_tolerance() -> None:
    header = sign(SECRET, BODY, T)
    verify(SECRET, BODY, header, now=T + 50, tolerance=60)
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, header, now=T + 61, tolerance=60)
