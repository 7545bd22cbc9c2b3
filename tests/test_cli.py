"""The ``accorria-agent`` command as users and external checks call it (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accorria_agent import __version__


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env} if env else None,
    )


def test_version_and_help() -> None:
    assert run("version").stdout.strip() == __version__
    for command in ("serve", "demo", "migrate", "parse", "version", "bench", "sending"):
        result = run(command, "--help")
        assert result.returncode == 0, command
        assert "Usage" in result.stdout


def test_wrong_arguments_get_one_line_and_exit_2() -> None:
    for args in (("parse", "--bogus"), ("demo", "--port", "abc"), ("no-such-command",)):
        result = run(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("error: ")


def test_parse_one_text_prints_one_json_object() -> None:
    result = run("parse", "would you take 9k?", "--asking-price", "12500")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["intent"] == "offer"
    assert data["offer"] == 9000
    for key in ("intent", "intents", "offer", "scam", "scam_reasons", "proposed_time"):
        assert key in data


def test_parse_stdin_answers_every_line_in_order_and_survives_bad_lines() -> None:
    lines = [
        json.dumps({"text": "would you take 9k?", "asking_price": 12500}),
        "this is not json",
        json.dumps({"text": 42}),
        json.dumps(
            {
                "text": "can you do tomorrow at 5?",
                "asking_price": 12500,
                "sent_at": "2026-11-26T10:00:00-05:00",
                "timezone": "America/Detroit",
            }
        ),
        json.dumps(["a", "list"]),
        json.dumps({"text": "send me the 6 digit code google sent you", "asking_price": 9000}),
        json.dumps({"text": "hi", "asking_price": "abc"}),
    ]
    result = run("parse", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["offer"] == 9000
    assert "error" in out[1] and "error" in out[2] and "error" in out[4] and "error" in out[6]
    assert out[3]["proposed_time"].startswith("2026-11-27T17:00")
    assert out[5]["scam"] is True and out[5]["scam_reasons"]


def test_demo_refuses_a_bad_listing_file_naming_the_field(tmp_path: Path) -> None:
    listing = tmp_path / "car.yaml"
    listing.write_text("year: 2015\nmake: Ford\nmodel: F-150\nasking_price: lots\nprice_floor: 9000\n")
    result = run("demo", "--listing", str(listing), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "asking_price" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    result = run("migrate", "--database-url", f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    import sqlite3

    tables = {
        row[0] for row in sqlite3.connect(db).execute("select name from sqlite_master where type='table'")
    }
    assert {
        "sellers",
        "listings",
        "messenger_tenants",
        "messenger_conversations",
        "messenger_messages",
        "messenger_settings",
        "messenger_events_log",
        "webhook_deliveries",
        "jobs",
    } <= tables


def test_sending_halt_status_resume_through_the_shared_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "REDIS_URL": ""}
    unmigrated = run("sending", "status", env=env)
    assert unmigrated.returncode == 2 and unmigrated.stderr.startswith("error: database not reachable")
    assert run("migrate", env=env).returncode == 0
    assert "sending: on" in run("sending", "status", env=env).stdout
    halted = run("sending", "halt", "--reason", "LLM said odd things", env=env)
    assert halted.returncode == 0, halted.stderr
    status = run("sending", "status", env=env).stdout
    assert "HALTED" in status and "LLM said odd things" in status and "held replies: 0" in status
    unknown = run("sending", "halt", "--page", "999", env=env)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "error: no connected Page has id '999'"
    resumed = run("sending", "resume", env=env)
    assert resumed.returncode == 0 and "0 held replies released" in resumed.stdout
    assert "sending: on" in run("sending", "status", env=env).stdout


def test_worker_refuses_unsafe_settings_like_serve(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FACEBOOK_", "ACCORRIA_ENV", "JWT_", "ENCRYPTION"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", "worker", "--until-idle"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")


def test_jobs_commands_are_listed() -> None:
    result = run("jobs", "--help")
    assert result.returncode == 0 and "failed" in result.stdout and "retry" in result.stdout


def test_a_database_that_does_not_answer_is_one_line_not_a_traceback() -> None:
    result = run(
        "bench", "workers", "--messages", "100",
        "--database-url", "postgresql+asyncpg://postgres@127.0.0.1:9/nothing_here",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot use the database: ConnectionRefusedError")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_a_database_that_does_not_exist_is_named_in_one_line(postgres_database: str) -> None:
    missing = postgres_database.rsplit("/", 1)[0] + "/accorria_no_such_db"
    result = run("bench", "workers", "--messages", "100", "--database-url", missing)
    assert result.returncode == 1
    expected = 'error: cannot use the database: database "accorria_no_such_db" does not exist'
    assert result.stderr.strip() == expected
