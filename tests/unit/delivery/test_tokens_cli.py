"""``reelhouse sign``: a token minted from a key file or the environment verifies."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
import typer
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from typer.testing import CliRunner

from reelhouse.cli.keys import parse_duration, sign
from reelhouse.media.signing_keys import generate_key_pair

PID = "p" * 28
KID = "k" * 28


@pytest.fixture(scope="module")
def pem() -> bytes:
    return generate_key_pair()[0]


def run(args: list[str], env: dict[str, str] | None = None) -> str:
    app = typer.Typer()
    app.command()(sign)
    app.command("unused")(lambda: None)  # a second command keeps `sign` a sub-command
    result = CliRunner().invoke(app, ["sign", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def claims(token: str, pem: bytes) -> dict[str, object]:
    public = load_pem_private_key(pem, password=None).public_key()
    decoded: dict[str, object] = jwt.decode(token, public, algorithms=["RS256"], audience="t")  # type: ignore[arg-type]
    return decoded


def test_sign_from_a_key_file(tmp_path: Path, pem: bytes) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    args = [PID, "--aud", "t", "--expires", "2h", "--key-id", KID, "--key-file", str(key_file)]
    token = run([*args, "--param", "time=5"])
    got = claims(token, pem)
    assert got["sub"] == PID and got["kid"] == KID and got["time"] == "5"


def test_sign_from_the_environment(pem: bytes) -> None:
    env = {
        "REELHOUSE_SIGNING_KEY_ID": KID,
        "REELHOUSE_SIGNING_PRIVATE_KEY": base64.b64encode(pem).decode(),
    }
    token = run([PID, "--aud", "t"], env)
    assert claims(token, pem)["kid"] == KID


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("45s", 45), ("30m", 1800), ("1h", 3600), ("7d", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "1y", "h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration(text)
