"""Tokens never in logs: a whole conversation at DEBUG, every log line captured, no secret in it."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.logging_setup import configure_logging, redact, register_secrets, settings_secrets
from accorria_agent.settings import Settings
from tests.helpers import PAGE_TOKEN
from tests.pages.helpers import LOGIN_URL, LOT_A, add_lots, connect, new_seller
from tests.sim_harness import sim_harness

BUYER_TEXT = "Hello there, is the silver Honda Civic still available for a test drive on Saturday?"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG — standard logging (httpx, httpcore, sqlalchemy …) and structlog."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # An in-process uvicorn started by an earlier test leaves its loggers not propagating (its default
    # log config); this capture must see them like any other logger, and leave them as it found them.
    saved = []
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.disabled, logger.level))
        logger.propagate, logger.disabled = True, False
        logger.setLevel(logging.NOTSET)
    yield buffer
    for logger, propagate, disabled, level in saved:
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(level)
    root.removeHandler(handler)
    root.setLevel(previous_level)
    structlog.reset_defaults()


async def test_full_conversation_at_debug_logs_no_token_secret_or_buyer_text(
    make_settings: Callable[..., Settings], database_url: str, captured: io.StringIO
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL, LOG_LEVEL="DEBUG") as h:
        settings = h.runtime.settings
        configure_logging("DEBUG", secrets=settings_secrets(settings))
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(captured), cache_logger_on_first_use=False
        )
        for name in ("httpx", "httpcore", "uvicorn", "uvicorn.access", "accorria_agent"):
            logging.getLogger(name).setLevel(logging.DEBUG)

        # Connect a Page through Facebook Login (code, user tokens, Page tokens all travel) …
        add_lots(h)
        _, headers = await new_seller(h, "Log Reader")
        await connect(h, headers, [LOT_A])
        # … then a buyer writes to the seeded Page and to the new one, and the bot answers both.
        assert await h.say("8001", BUYER_TEXT) == 200
        await h.sim.send_buyer_message("8002", BUYER_TEXT, page_id=LOT_A)
        await h.settle()
        assert h.sent_texts("8001"), "the bot replied"

        output = captured.getvalue()
        assert "HTTP Request:" in output, "httpx's request log was captured"
        assert "me/messages" in output
        minted = [t for t in h.sim.state.tokens if t.startswith("EAA")]
        assert minted, "Facebook Login minted user and Page tokens"
        secrets = [
            PAGE_TOKEN,
            *minted,
            settings.facebook_app_secret.get_secret_value(),
            settings.jwt_secret.get_secret_value(),
            settings.encryption_key.get_secret_value(),
            headers["Authorization"].split()[1],
        ]
        for secret in secrets:
            assert secret not in output
        assert BUYER_TEXT not in output
        assert "access_token=" not in output.replace("access_token=***", "")


def test_redact_known_shapes() -> None:
    register_secrets(["super-secret-app-value"])
    line = (
        "GET https://graph.facebook.com/v23.0/debug_token?input_token=EAAB1234567890abc&access_token=1|x "
        "Authorization: Bearer abc.def-ghi client_secret=super-secret-app-value "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl /cb?code=AQDxyz&state=eyJ0"
    )
    out = redact(line)
    for leaked in ("EAAB1234567890abc", "1|x", "abc.def-ghi", "super-secret-app-value", "AQDxyz", "eyJhbGci"):
        assert leaked not in out
    assert "debug_token" in out and "graph.facebook.com" in out


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_registered_secret_never_survives_redaction(prefix: str, suffix: str) -> None:
    secret = "Zq9-registered-secret-Xw3"
    register_secrets([secret])
    assert secret not in redact(prefix + secret + suffix)


@given(st.from_regex(r"EAA[A-Za-z0-9_\-]{8,60}", fullmatch=True), st.sampled_from(["", " ", "=", "/", '"']))
def test_any_facebook_token_shape_is_redacted(token: str, around: str) -> None:
    assert token not in redact(f"x{around}{token}{around}y")


def test_uvicorn_access_line_with_callback_code_is_redacted(captured: io.StringIO) -> None:
    configure_logging("DEBUG", secrets=["app-secret-for-uvicorn-test"])
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/1.1" %d',
        "127.0.0.1:5000",
        "GET",
        "/connect/facebook/callback?code=AQDsecretcode123&state=eyJhbGciOiJIUzI1NiJ9.eyJuIjoiMSJ9.sig_x",
        200,
    )
    logging.getLogger("httpx").info("HTTP Request: GET https://g/debug_token?input_token=EAAxyz12345678 200")
    logging.getLogger("anything").warning("oops app-secret-for-uvicorn-test")
    output = captured.getvalue()
    assert "/connect/facebook/callback?code=***&state=***" in output
    for leaked in ("AQDsecretcode123", "eyJhbGci", "EAAxyz12345678", "app-secret-for-uvicorn-test"):
        assert leaked not in output
