"""The admin password setting: scrypt hashes and plain values, constant-time checks, the
fingerprint that ends admin sessions when the setting changes, and ``reelhouse admin-password``."""

from __future__ import annotations

import base64

import pytest
import typer
from typer.testing import CliRunner

from reelhouse.cli.admin_password import admin_password
from reelhouse.errors import ConfigError
from reelhouse.web.passwords import AdminPassword, hash_password

PASSWORD = "correct horse battery staple"
SALT = b"0123456789abcdef"


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password(PASSWORD)


def test_a_hash_names_its_costs_and_checks_the_password(hashed: str) -> None:
    scheme, log_n, r, p, salt, key = hashed.split(":")
    assert (scheme, log_n, r, p) == ("scrypt", "15", "8", "1")
    assert len(base64.urlsafe_b64decode(salt + "==")) == 16
    assert len(base64.urlsafe_b64decode(key + "=")) == 32
    admin = AdminPassword.from_setting(hashed)
    assert admin.matches(PASSWORD)
    assert not admin.matches(PASSWORD + " ")
    assert not admin.matches("")
    assert PASSWORD not in repr(admin)


def test_the_salt_makes_each_hash_different() -> None:
    assert hash_password(PASSWORD, SALT) == hash_password(PASSWORD, SALT)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


def test_a_plain_value_works_too() -> None:
    admin = AdminPassword.from_setting(PASSWORD)
    assert admin.matches(PASSWORD)
    assert not admin.matches(PASSWORD.upper())


async def test_check_runs_off_the_loop(hashed: str) -> None:
    admin = AdminPassword.from_setting(hashed)
    assert await admin.check(PASSWORD)
    assert not await admin.check("wrong password here")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("too short", "at least 12 characters"),
        ("scrypt:15:8:1:abc", "is not one"),
        ("scrypt:x:8:1:MDEyMzQ1Njc4OWFiY2RlZg:MDEyMzQ1Njc4OWFiY2RlZg", "malformed"),
        ("scrypt:15:8:1:MDEyMzQ1Njc4OWFiY2RlZg:***", "malformed"),
        ("scrypt:30:8:1:MDEyMzQ1Njc4OWFiY2RlZg:MDEyMzQ1Njc4OWFiY2RlZg", "out of range"),
        ("scrypt:20:32:1:MDEyMzQ1Njc4OWFiY2RlZg:MDEyMzQ1Njc4OWFiY2RlZg", "out of range"),
        ("scrypt:15:8:1:YQ:MDEyMzQ1Njc4OWFiY2RlZg", "too short"),
    ],
)
def test_bad_settings_fail_at_start(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AdminPassword.from_setting(value)


def test_the_fingerprint_follows_the_setting_and_the_secret(hashed: str) -> None:
    secret = b"k" * 32
    one = AdminPassword.from_setting(hashed).fingerprint(secret)
    assert one == AdminPassword.from_setting(hashed).fingerprint(secret)  # a restart keeps it
    assert one != AdminPassword.from_setting(hash_password(PASSWORD)).fingerprint(secret)
    assert one != AdminPassword.from_setting(hashed).fingerprint(b"o" * 32)
    assert PASSWORD not in one and hashed not in one


def run_cli(args: list[str], stdin: str) -> tuple[int, str]:
    app = typer.Typer()
    app.command("admin-password")(admin_password)
    app.command("unused")(lambda: None)  # a second command keeps this one a sub-command
    result = CliRunner().invoke(app, ["admin-password", *args], input=stdin)
    return result.exit_code, result.output


def test_cli_prints_a_hash_of_the_password() -> None:
    code, output = run_cli(["--stdin"], PASSWORD + "\n")
    assert code == 0, output
    setting = output.strip()
    assert setting.startswith("scrypt:15:8:1:")
    assert AdminPassword.from_setting(setting).matches(PASSWORD)


def test_cli_prompts_twice_and_refuses_short_passwords() -> None:
    code, output = run_cli([], f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, output
    assert AdminPassword.from_setting(output.strip().splitlines()[-1]).matches(PASSWORD)
    code, output = run_cli(["--stdin"], "short\n")
    assert code == 2
    assert "at least 12 characters" in output
