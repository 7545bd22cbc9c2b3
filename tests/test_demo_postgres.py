"""``accorria-agent demo --database-url URL``: the demo, simulator included, on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrated_postgres_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
def test_the_demo_runs_on_postgresql_and_answers_a_buyer(tmp_path: Path) -> None:
    with migrated_postgres_database("accorria_demo_test") as url:
        port = _free_port()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("FACEBOOK_", "DATABASE_URL", "OPENAI_"))
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "accorria_agent.cli", "demo", "--port", str(port), "--fast"]
            + ["--data-dir", str(tmp_path / "data"), "--database-url", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert process.poll() is None, (process.stdout.read() if process.stdout else "")[-2000:]
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                pytest.fail("demo did not become healthy within 60 s")
            sent = httpx.post(
                f"{base}/simulator/api/buyers/4242424242/messages", json={"text": "Is it still available?"}
            )
            assert sent.status_code == 200, sent.text
            replies: list[object] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not replies:
                replies = httpx.get(f"{base}/simulator/api/sent", params={"recipient": "4242424242"}).json()
                time.sleep(0.3)
            assert replies, "the buyer got no reply"
        finally:
            process.terminate()
            try:
                output, _ = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
        assert "data in PostgreSQL" in output
