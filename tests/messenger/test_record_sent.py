"""Recording a sent reply (one statement on PostgreSQL): status, mid, last bot message, latency metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accorria_agent.sending import delivery as delivery_module
from accorria_agent.settings import Settings
from tests.sim_harness import sim_harness


async def test_a_sent_reply_is_recorded_with_its_mid_time_and_latency(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        registry = h.runtime.metrics.registry
        before = registry.get_sample_value("accorria_reply_latency_seconds_count") or 0.0
        await h.say("1501", "hi, is it available?")
        (bot,) = [m for m in await h.messages("1501") if m.author == "bot"]
        assert bot.status in ("sent", "delivered") and bot.mid and bot.status_reason is None
        conversation = await h.conversation("1501")
        assert conversation.last_bot_message_at is not None
        assert conversation.last_bot_message_at >= conversation.last_buyer_message_at
        assert registry.get_sample_value("accorria_reply_latency_seconds_count") == before + 1


async def test_a_sent_reply_waits_for_an_unreachable_database_instead_of_being_sent_twice(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meta accepted the send, then the database is down for a moment: the record waits and succeeds;
    the job does not fail (a failed job would send the reply again)."""
    async with sim_harness(make_settings, database_url) as h:
        delivery = h.runtime.delivery
        real = delivery._record_sent_once
        failures = {"left": 3}

        async def flaky(*args: Any, **kwargs: Any) -> Any:
            if failures["left"]:
                failures["left"] -= 1
                raise ConnectionRefusedError(111, "Connection refused")
            return await real(*args, **kwargs)

        monkeypatch.setattr(delivery, "_record_sent_once", flaky)
        await h.say("1502", "hi, is it available?")
        assert failures["left"] == 0
        (bot,) = [m for m in await h.messages("1502") if m.author == "bot"]
        assert bot.status in ("sent", "delivered") and bot.mid
        assert len(h.sent_texts("1502")) == 1  # the buyer got it once


async def test_a_send_is_not_recorded_forever_when_the_database_stays_away(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        delivery = h.runtime.delivery
        monkeypatch.setattr(delivery_module, "RECORD_SENT_PATIENCE_SECONDS", 0.3)

        async def down(*_args: Any, **_kwargs: Any) -> Any:
            raise ConnectionRefusedError(111, "Connection refused")

        async def not_data(*_args: Any, **_kwargs: Any) -> Any:
            raise ValueError("a bug, not the database")

        monkeypatch.setattr(delivery, "_record_sent_once", down)
        with pytest.raises(ConnectionRefusedError):
            await delivery._record_sent(h.tenant_id, 1, "m_1", h.runtime.clock())
        monkeypatch.setattr(delivery, "_record_sent_once", not_data)
        with pytest.raises(ValueError):  # not transient: no waiting at all
            await delivery._record_sent(h.tenant_id, 1, "m_1", h.runtime.clock())


def _restart_error(message: str, kind: type[BaseException]) -> Exception:
    """What SQLAlchemy raises while PostgreSQL restarts: a plain DBAPIError wrapping asyncpg's error."""
    import sqlalchemy.exc

    adapted = Exception(message)
    adapted.__cause__ = kind(message)
    return sqlalchemy.exc.DBAPIError("UPDATE messenger_messages …", {}, adapted)


async def test_a_sent_reply_waits_through_a_postgresql_restart_instead_of_being_sent_twice(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's "the database system is shutting down" and "… is starting up" are a restart, not bad
    data: the record waits (found by the PostgreSQL-restart fault test, where it gave up at once and the
    orphan scan sent the reply again)."""
    import asyncpg.exceptions

    from accorria_agent.db.errors import is_transient

    errors = [
        _restart_error("the database system is shutting down", asyncpg.exceptions.AdminShutdownError),
        _restart_error("the database system is starting up", asyncpg.exceptions.CannotConnectNowError),
    ]
    assert all(is_transient(error) for error in errors)
    async with sim_harness(make_settings, database_url) as h:
        delivery = h.runtime.delivery
        real = delivery._record_sent_once

        async def restarting(*args: Any, **kwargs: Any) -> Any:
            if errors:
                raise errors.pop(0)
            return await real(*args, **kwargs)

        monkeypatch.setattr(delivery, "_record_sent_once", restarting)
        await h.say("1503", "hi, is it available?")
        assert not errors
        (bot,) = [m for m in await h.messages("1503") if m.author == "bot"]
        assert bot.status in ("sent", "delivered") and bot.mid
        assert len(h.sent_texts("1503")) == 1
