"""Playback token math: the JWT checks (including a forgery table) and the HMAC grants."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.tokens import (
    Claims,
    Grant,
    GrantSigner,
    key_id_of,
    split_grant,
    verify,
)
from reelhouse.media.signing_keys import sign_playback_token as sign

PID = "p" * 28
KID = "k" * 28
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def private() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(private: RSAPrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def public_pem(private: RSAPrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A token signed with HMAC-SHA256 under ``secret`` (or unsigned when None)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def good(pem: bytes, **overrides: Any) -> str:
    payload: dict[str, Any] = {"sub": PID, "aud": "v", "exp": NOW + 3600, "kid": KID}
    payload.update(overrides)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, pem, algorithm="RS256")


def check(token: str, private: RSAPrivateKey, audience: str = "v", now: float = NOW) -> Claims:
    kid = key_id_of(token)
    return verify(
        token, private.public_key(), key_id=kid, playback_id=PID, audience=audience, now=now
    )


def test_a_good_token_verifies_with_kid_in_the_payload(pem: bytes, private: RSAPrivateKey) -> None:
    token = sign(pem, key_id=KID, playback_id=PID, audience="v", expires_at=NOW + 60)
    assert jwt.get_unverified_header(token).get("kid") is None
    claims = check(token, private)
    assert (claims.playback_id, claims.audience, claims.key_id) == (PID, "v", KID)
    assert claims.expires_at == NOW + 60


def test_kid_in_the_header_works_too(pem: bytes, private: RSAPrivateKey) -> None:
    token = sign(
        pem, key_id=KID, playback_id=PID, audience="t", expires_at=NOW + 60, kid_in_header=True
    )
    assert jwt.get_unverified_header(token)["kid"] == KID
    assert check(token, private, audience="t").key_id == KID


def test_other_claims_become_string_modifiers(pem: bytes, private: RSAPrivateKey) -> None:
    token = good(pem, max_resolution="720p", time=5, flip_h=True, nested={"x": 1})
    claims = check(token, private)
    assert dict(claims.params) == {"max_resolution": "720p", "time": "5", "flip_h": "true"}


def test_an_audience_list_containing_the_audience_is_accepted(
    pem: bytes, private: RSAPrivateKey
) -> None:
    assert check(good(pem, aud=["t", "v"]), private).audience == "v"


def test_expiry_has_a_small_leeway(pem: bytes, private: RSAPrivateKey) -> None:
    token = good(pem, exp=NOW)
    check(token, private, now=NOW + 5)
    with pytest.raises(TokenRequired, match="expired"):
        check(token, private, now=NOW + 11)


def _hs256_with_public_key(pem: bytes, public_pem: bytes) -> str:
    # The classic key-confusion forgery: HMAC keyed with the server's public key.
    return forge(
        {"alg": "HS256", "typ": "JWT"},
        {"sub": PID, "aud": "v", "exp": NOW + 60, "kid": KID},
        public_pem,
    )


REFUSALS: list[tuple[str, Any, str]] = [
    (
        "alg none",
        lambda pem, pub: forge(
            {"alg": "none"}, {"sub": PID, "aud": "v", "exp": NOW + 60, "kid": KID}, None
        ),
        "alg must be RS256",
    ),
    (
        "alg None",
        lambda pem, pub: forge(
            {"alg": "None"}, {"sub": PID, "aud": "v", "exp": NOW + 60, "kid": KID}, None
        ),
        "alg must be RS256",
    ),
    ("HS256 keyed with the public key", _hs256_with_public_key, "alg must be RS256"),
    (
        "HS512",
        lambda pem, pub: forge({"alg": "HS512"}, {"sub": PID, "kid": KID}, b"x" * 32),
        "alg must be RS256",
    ),
    ("expired", lambda pem, pub: good(pem, exp=NOW - 100), "expired"),
    ("no exp", lambda pem, pub: good(pem, exp=None), "exp claim is required"),
    ("exp not a number", lambda pem, pub: good(pem, exp="tomorrow"), "exp must be a number"),
    ("no sub", lambda pem, pub: good(pem, sub=None), "sub claim is required"),
    ("no aud", lambda pem, pub: good(pem, aud=None), "aud claim is required"),
    ("wrong aud", lambda pem, pub: good(pem, aud="t"), "aud is 't', but this URL needs 'v'"),
    ("wrong sub", lambda pem, pub: good(pem, sub="q" * 28), "sub is not this playback ID"),
    ("not yet valid", lambda pem, pub: good(pem, nbf=NOW + 600), "not valid yet"),
    ("no kid", lambda pem, pub: good(pem, kid=None), "no kid"),
    ("kid not an id", lambda pem, pub: good(pem, kid="../../etc/passwd"), "kid is not"),
    ("garbage", lambda pem, pub: "not-a-jwt", "not a well-formed JWT"),
    ("three garbage parts", lambda pem, pub: "a.b.c", "not a well-formed JWT"),
    ("too long", lambda pem, pub: good(pem, pad="x" * 5000), "longer than"),
    (
        "crit header",
        lambda pem, pub: jwt.encode(
            {"sub": PID, "aud": "v", "exp": NOW + 60, "kid": KID},
            pem,
            algorithm="RS256",
            headers={"crit": ["exp"]},
        ),
        "crit|not a well-formed JWT",
    ),
    (
        "bad restriction id",
        lambda pem, pub: good(pem, playback_restriction_id="a/b"),
        "playback_restriction_id",
    ),
]


@pytest.mark.parametrize(
    ("make", "reason"), [(m, r) for _, m, r in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_refused_tokens_say_why(
    make: Any, reason: str, pem: bytes, public_pem: bytes, private: RSAPrivateKey
) -> None:
    with pytest.raises(TokenRequired, match=reason) as caught:
        check(make(pem, public_pem), private)
    assert caught.value.code == "forbidden"


def test_a_token_signed_by_another_key_does_not_verify(private: RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(TokenRequired, match="signature does not verify"):
        check(good(other_pem), private)


def test_verify_alone_refuses_hmac_even_if_called_without_key_id_of(
    pem: bytes, public_pem: bytes, private: RSAPrivateKey
) -> None:
    token = _hs256_with_public_key(pem, public_pem)
    with pytest.raises(TokenRequired):
        verify(token, private.public_key(), key_id=KID, playback_id=PID, audience="v", now=NOW)


def test_header_and_payload_kids_must_agree(pem: bytes) -> None:
    token = jwt.encode(
        {"sub": PID, "aud": "v", "exp": NOW + 60, "kid": KID},
        pem,
        algorithm="RS256",
        headers={"kid": "other"},
    )
    with pytest.raises(TokenRequired, match="differ"):
        key_id_of(token)


# Grants -----------------------------------------------------------------------------------

SECRET = b"s" * 32
RID = "r" * 28


def test_a_grant_opens_for_its_playback_id_until_it_expires() -> None:
    signer = GrantSigner(SECRET)
    value = signer.mint(Grant(PID, NOW + 60))
    assert signer.open(value, PID, now=NOW) == Grant(PID, NOW + 60)
    with pytest.raises(TokenRequired, match="expired"):
        signer.open(value, PID, now=NOW + 60)


def test_a_grant_carries_its_restriction() -> None:
    signer = GrantSigner(SECRET)
    value = signer.mint(Grant(PID, NOW + 60, RID))
    assert signer.open(value, PID, now=NOW).restriction_id == RID
    stripped = value.replace(f"{RID}.", "")
    with pytest.raises(TokenRequired, match="not valid"):
        signer.open(stripped, PID, now=NOW)


def _tamper_mac(value: str) -> str:
    head, _, mac = value.rpartition(".")
    return f"{head}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_tamper_mac, "not valid"),
        (lambda v: str(NOW + 999_999) + v[v.index(".") :], "not valid"),
        (lambda v: v + "x", "malformed"),
        (lambda v: "", "malformed"),
        (lambda v: "../" + v, "malformed"),
    ],
    ids=["mac", "later expiry", "extra char", "empty", "traversal"],
)
def test_tampered_grants_are_refused(change: Any, reason: str) -> None:
    signer = GrantSigner(SECRET)
    value = signer.mint(Grant(PID, NOW + 60))
    with pytest.raises(TokenRequired, match=reason):
        signer.open(change(value), PID, now=NOW)


def test_a_grant_is_bound_to_its_playback_id_and_secret() -> None:
    value = GrantSigner(SECRET).mint(Grant(PID, NOW + 60))
    with pytest.raises(TokenRequired, match="not valid"):
        GrantSigner(SECRET).open(value, "q" * 28, now=NOW)
    with pytest.raises(TokenRequired, match="not valid"):
        GrantSigner(b"o" * 32).open(value, PID, now=NOW)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        GrantSigner(b"short")


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("v1/720p/index.m3u8", (None, "v1/720p/index.m3u8")),
        ("t/123.abc/v1/720p/index.m3u8", ("123.abc", "v1/720p/index.m3u8")),
        ("t/123.abc", ("123.abc", "")),
        ("t", (None, "t")),
    ],
)
def test_split_grant(rest: str, expected: tuple[str | None, str]) -> None:
    assert split_grant(rest) == expected
