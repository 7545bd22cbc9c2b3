"""Settings refuse unsafe production values; Page tokens are encrypted at rest and rotate."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from accorria_agent.crypto import TokenCipher, TokenCipherError
from accorria_agent.settings import Settings, normalise_database_url

GOOD = {
    "FACEBOOK_APP_ID": "123",
    "FACEBOOK_APP_SECRET": "9f3b1c7e2a4d8f60b5e1c3a7d9f2b4e6",
    "FACEBOOK_VERIFY_TOKEN": "vT-8qLx2Rm7ZpK4wN9sD",
    "JWT_SECRET": "Jq7vP2xR9mL4tZ8kW3nB6cF1hY5sD0gA-uE_oI",
    "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql://u@h/db",
}


def test_complete_settings_have_no_production_problems() -> None:
    assert Settings(_env_file=None, **GOOD).problems_for_production() == []


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_missing_secret_is_named(name: str) -> None:
    values = {**GOOD, name: ""}
    problems = Settings(_env_file=None, **values).problems_for_production()
    assert problems and problems[0].startswith(name)


def test_placeholders_are_refused() -> None:
    problems = Settings(
        _env_file=None, **{**GOOD, "FACEBOOK_APP_SECRET": "changeme"}
    ).problems_for_production()
    assert problems == ["FACEBOOK_APP_SECRET is a known placeholder; set it in the environment"]


def test_secrets_do_not_print() -> None:
    settings = Settings(_env_file=None, **GOOD)
    assert GOOD["FACEBOOK_APP_SECRET"] not in repr(settings)
    assert GOOD["ENCRYPTION_KEY"] not in str(settings.model_dump())


def test_database_urls_get_async_drivers() -> None:
    assert normalise_database_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"


def test_serve_refuses_to_start_without_secrets(tmp_path: os.PathLike[str]) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACEBOOK_", "JWT_", "ENCRYPTION_", "DATABASE_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: FACEBOOK_APP_ID is missing; set it in the environment"
    ]


def test_tokens_round_trip_and_rotate() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = TokenCipher(old).encrypt("EAAB-page-token")
    assert "EAAB" not in token
    both = TokenCipher(f"{new},{old}")
    assert both.decrypt(token) == "EAAB-page-token"
    rotated = both.rotate(token)
    assert TokenCipher(new).decrypt(rotated) == "EAAB-page-token"
    with pytest.raises(TokenCipherError):
        TokenCipher(old).decrypt(rotated)


def test_bad_keys_are_a_clear_error() -> None:
    with pytest.raises(TokenCipherError, match="Fernet"):
        TokenCipher("not-a-key")
    with pytest.raises(TokenCipherError, match="empty"):
        TokenCipher(" , ")
