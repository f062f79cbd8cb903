"""The signed-playback gate over stand-in key and restriction sources (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reelhouse.delivery.access import PUBLIC, PublicOnly, Viewer
from reelhouse.delivery.errors import TokenRequired
from reelhouse.delivery.playbacks import Playback
from reelhouse.delivery.signed import Expiring, SignedPlayback, VerificationKey
from reelhouse.delivery.tokens import GrantSigner
from reelhouse.media.playback_restrictions import Rules
from reelhouse.media.signing_keys import sign_playback_token as sign

PID = "p" * 28
KID = "k" * 28
RID = "r" * 28
ENV = "env_a"
START = datetime(2027, 1, 1, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.now = START
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        self.keys = {KID: VerificationKey(ENV, private.public_key(), False)}
        self.rules = {(ENV, RID): Rules(("*.example.com",), allow_no_referrer=False)}
        self.key_loads = 0
        self.gate = SignedPlayback(
            self.load_key, self.load_rules, GrantSigner(b"s" * 32), self.clock, grant_ttl=600
        )

    def clock(self) -> datetime:
        return self.now

    async def load_key(self, kid: str) -> VerificationKey | None:
        self.key_loads += 1
        return self.keys.get(kid)

    async def load_rules(self, env: str, rid: str) -> Rules | None:
        return self.rules.get((env, rid))

    def token(self, aud: str = "v", ttl: int = 3600, **params: object) -> str:
        exp = int(self.now.timestamp()) + ttl
        return sign(
            self.pem, key_id=KID, playback_id=PID, audience=aud, expires_at=exp, params=params
        )


SIGNED = Playback(PID, "signed", ENV, "asset", "ready", 1, ())


@pytest.fixture
def world() -> World:
    return World()


async def test_a_signed_id_needs_a_token(world: World) -> None:
    with pytest.raises(TokenRequired, match=r"\?token="):
        await world.gate.check(SIGNED, Viewer(), "v")


async def test_public_ids_pass_without_a_token(world: World) -> None:
    assert await world.gate.check(replace(SIGNED, policy="public"), Viewer(), "v") is PUBLIC
    assert await world.gate.check_file(replace(SIGNED, policy="public"), None, Viewer()) is PUBLIC


async def test_a_video_token_yields_a_grant_for_the_files(world: World) -> None:
    access = await world.gate.check(SIGNED, Viewer(world.token(max_resolution="720p")), "v")
    assert access.signed and access.grant
    assert access.modifiers({"max_resolution": "1080p"}) == {"max_resolution": "720p"}
    assert access.cache_control("public, max-age=10") == "private, max-age=10"
    files = await world.gate.check_file(SIGNED, access.grant, Viewer())
    assert files.signed and files.grant == access.grant
    with pytest.raises(TokenRequired, match="needs the grant"):
        await world.gate.check_file(SIGNED, None, Viewer())


async def test_a_grant_never_outlives_its_token(world: World) -> None:
    access = await world.gate.check(SIGNED, Viewer(world.token(ttl=60)), "v")
    assert access.grant is not None
    world.now += timedelta(seconds=75)  # past exp and its 10 s leeway
    with pytest.raises(TokenRequired, match="expired"):
        await world.gate.check_file(SIGNED, access.grant, Viewer())


async def test_image_audiences_get_no_grant(world: World) -> None:
    access = await world.gate.check(SIGNED, Viewer(world.token(aud="t", time="5")), "t")
    assert access.grant is None and access.modifiers({}) == {"time": "5"}


async def test_key_problems(world: World) -> None:
    token = world.token()
    world.keys[KID] = replace(world.keys[KID], environment_id="env_b")
    with pytest.raises(TokenRequired, match="another environment"):
        await world.gate.check(SIGNED, Viewer(token), "v")
    world.now += timedelta(seconds=6)
    world.keys[KID] = replace(world.keys[KID], environment_id=ENV, deleted=True)
    with pytest.raises(TokenRequired, match="deleted"):
        await world.gate.check(SIGNED, Viewer(token), "v")
    world.now += timedelta(seconds=6)
    del world.keys[KID]
    with pytest.raises(TokenRequired, match="unknown signing key"):
        await world.gate.check(SIGNED, Viewer(token), "v")


async def test_keys_are_cached_for_five_seconds(world: World) -> None:
    token = world.token()
    await world.gate.check(SIGNED, Viewer(token), "v")
    world.keys[KID] = replace(world.keys[KID], deleted=True)
    world.now += timedelta(seconds=4)
    await world.gate.check(SIGNED, Viewer(token), "v")  # still cached
    assert world.key_loads == 1
    world.now += timedelta(seconds=2)
    with pytest.raises(TokenRequired, match="deleted"):
        await world.gate.check(SIGNED, Viewer(token), "v")


async def test_restrictions_apply_to_the_manifest_and_the_files(world: World) -> None:
    token = world.token(playback_restriction_id=RID)
    ok = Viewer(token, referer="https://app.example.com/x")
    access = await world.gate.check(SIGNED, ok, "v")
    assert access.grant is not None
    with pytest.raises(TokenRequired, match=r"evil\.net"):
        await world.gate.check(SIGNED, replace(ok, referer="https://evil.net/"), "v")
    with pytest.raises(TokenRequired, match="Referer"):
        await world.gate.check(SIGNED, replace(ok, referer=None), "v")
    await world.gate.check_file(SIGNED, access.grant, Viewer(referer="https://a.example.com"))
    with pytest.raises(TokenRequired, match=r"evil\.net"):
        await world.gate.check_file(SIGNED, access.grant, Viewer(referer="https://evil.net/"))


async def test_an_unknown_restriction_is_refused(world: World) -> None:
    token = world.token(playback_restriction_id="x" * 28)
    with pytest.raises(TokenRequired, match="does not exist"):
        await world.gate.check(SIGNED, Viewer(token), "v")


async def test_expiring_caches_misses_and_evicts_the_oldest() -> None:
    now = START
    loads: list[str] = []

    async def load(key: str) -> int | None:
        loads.append(key)
        return None if key == "miss" else len(key)

    cache: Expiring[str, int] = Expiring(load, lambda: now, ttl=5, max_entries=2)
    assert await cache.get("miss") is None
    assert await cache.get("miss") is None
    await cache.get("ab")
    await cache.get("abc")  # evicts "miss"
    await cache.get("miss")
    assert loads == ["miss", "ab", "abc", "miss"]


async def test_public_only_refuses_signed_ids() -> None:
    with pytest.raises(TokenRequired):
        await PublicOnly().check(SIGNED, Viewer("a.b.c"), "v")
    assert await PublicOnly().check(replace(SIGNED, policy="public"), Viewer(), "v") is PUBLIC


async def test_a_token_is_verified_once_until_it_expires(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelhouse.delivery.signed as signed

    calls: list[str] = []
    real = signed.verify

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("verify")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(signed, "verify", counting)
    token = world.token(ttl=60)
    for _ in range(5):
        await world.gate.check(SIGNED, Viewer(token), "v")
    assert calls == ["verify"]
    world.now += timedelta(seconds=75)  # past exp and its 10 s leeway
    with pytest.raises(TokenRequired, match="expired"):
        await world.gate.check(SIGNED, Viewer(token), "v")


async def test_a_remembered_token_stops_when_its_key_is_deleted(world: World) -> None:
    token = world.token()
    await world.gate.check(SIGNED, Viewer(token), "v")
    world.keys[KID] = replace(world.keys[KID], deleted=True)
    world.now += timedelta(seconds=6)  # past the key cache's 5 s
    with pytest.raises(TokenRequired, match="deleted"):
        await world.gate.check(SIGNED, Viewer(token), "v")
