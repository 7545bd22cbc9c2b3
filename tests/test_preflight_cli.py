"""``serve`` and ``worker`` refuse weak secrets, a malformed key and an unmigrated or unreachable database in
one line with exit code 2; ``privacy delete-buyer`` and ``privacy purge`` work from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from accorria_agent.preflight import startup_problem
from accorria_agent.settings import Settings, estimated_entropy_bits

STRONG = {
    "FACEBOOK_APP_ID": "1234567890",
    "FACEBOOK_APP_SECRET": "9f3b1c7e2a4d8f60b5e1c3a7d9f2b4e6",
    "FACEBOOK_VERIFY_TOKEN": "vT-8qLx2Rm7ZpK4wN9sD",
    "JWT_SECRET": "Jq7vP2xR9mL4tZ8kW3nB6cF1hY5sD0gA-uE_oI",
    "ENCRYPTION_KEY": Fernet.generate_key().decode(),
}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACEBOOK_", "JWT_", "ENCRYPTION_", "DATABASE_", "ACCORRIA_ENV", "METRICS_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FACEBOOK_APP_SECRET", "a", "FACEBOOK_APP_SECRET is too short"),
        ("FACEBOOK_APP_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "FACEBOOK_APP_SECRET is too weak"),
        ("JWT_SECRET", "ab" * 20, "JWT_SECRET is too weak"),
        ("FACEBOOK_VERIFY_TOKEN", "tok9", "FACEBOOK_VERIFY_TOKEN is too short"),
        ("METRICS_TOKEN", "x" * 30, "METRICS_TOKEN is too weak"),
        ("ENCRYPTION_KEY", "not-a-fernet-key", "ENCRYPTION_KEY is malformed"),
    ],
)
def test_weak_or_malformed_secrets_are_refused_in_one_line(
    name: str, value: str, expected: str, sqlite_template: Path, tmp_path: Path
) -> None:
    env = {**STRONG, "DATABASE_URL": f"sqlite:///{sqlite_template}", name: value}
    # The worker runs the same check; once is enough to prove it (each run is a process start).
    commands = (["serve"], ["worker"]) if value == "a" else (["serve"],)
    for command in commands:
        extra = {"ACCORRIA_ENV": "production"} if command == ["worker"] else {}
        result = _run(command, {**env, **extra}, tmp_path)
        assert result.returncode == 2, (command, result.stderr[-500:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), (command, lines)
        assert value not in result.stderr or len(value) < 3  # the secret itself is never printed


def test_an_unmigrated_or_unreachable_database_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    result = _run(["serve"], {**STRONG, "DATABASE_URL": f"sqlite:///{empty}"}, tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip()]
        and "the database is not migrated" in result.stderr
        and "accorria-agent migrate" in result.stderr
    )
    unreachable = _run(
        ["serve"], {**STRONG, "DATABASE_URL": "postgresql://nobody:pw-secret@127.0.0.1:1/none"}, tmp_path
    )
    assert unreachable.returncode == 2 and len(unreachable.stderr.strip().splitlines()) == 1
    assert "unreachable" in unreachable.stderr and "pw-secret" not in unreachable.stderr


def test_a_strong_configuration_passes_the_preflight(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        DATABASE_URL=database_url,
        ACCORRIA_ENV="production",
        **{k: v for k, v in STRONG.items() if k != "ENCRYPTION_KEY"},
    )
    assert startup_problem(settings) is None


def test_the_entropy_estimate_orders_secrets_sensibly() -> None:
    assert estimated_entropy_bits("") == 0 and estimated_entropy_bits("a" * 64) == 0
    assert estimated_entropy_bits(STRONG["FACEBOOK_APP_SECRET"]) > 100
    assert estimated_entropy_bits("abababababababab") < estimated_entropy_bits("a8Kq2Lm9Zx4Rt7Wv")


def test_privacy_commands_from_the_command_line(sqlite_template: Path, tmp_path: Path) -> None:
    import shutil

    database = tmp_path / "cli.db"
    shutil.copy(sqlite_template, database)
    env = {**STRONG, "DATABASE_URL": f"sqlite:///{database}", "ACCORRIA_ENV": "development"}
    purge = _run(["privacy", "purge", "--days", "30"], env, tmp_path)
    assert purge.returncode == 0, purge.stderr
    assert json.loads(purge.stdout) == {
        "counts": {"deliveries": 0, "events": 0, "messages": 0},
        "kind": "retention_purge",
        "page_id": None,
    }
    unknown = _run(["privacy", "delete-buyer", "--page", "404", "--psid", "1"], env, tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "error: no connected Page has id 404"
    missing = _run(["privacy", "delete-buyer", "--page", "404"], env, tmp_path)
    assert missing.returncode == 2 and "--psid" in missing.stderr
