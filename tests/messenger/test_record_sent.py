"""Recording a sent reply (one statement on PostgreSQL): status, mid, last bot message, latency metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy.exc

from accorria_agent.conversations.models import SENDING, SENDING_CLAIM_TIMEOUT_SECONDS
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


def _restart_error(
    message: str,
    kind: type[BaseException],
    wrapper: type[sqlalchemy.exc.DBAPIError] = sqlalchemy.exc.DBAPIError,
) -> Exception:
    """What SQLAlchemy raises while PostgreSQL restarts: a DBAPIError (or ``wrapper``) wrapping asyncpg's."""
    adapted = Exception(message)
    adapted.__cause__ = kind(message)
    return wrapper("UPDATE messenger_messages …", {}, adapted)


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
        # What a connection the server closed mid-statement raises next (SQLAlchemy's InternalError).
        _restart_error(
            "cannot switch to state 12; another operation (2) is in progress",
            asyncpg.exceptions.InternalClientError,
            wrapper=sqlalchemy.exc.InternalError,
        ),
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


def _lose_answers(
    h: Any,
    monkeypatch: pytest.MonkeyPatch,
    error: type[httpx.TransportError],
    times: int,
    *,
    reaches_meta: bool,
) -> None:
    """The Graph client's next ``times`` text sends fail with ``error``, after Meta carried the request out
    (``reaches_meta``: its answer is what got lost) or before anything reached Meta."""
    http = h.runtime.graph._http
    real = http.request
    left = {"n": times}

    async def request(method: str, url: str, **kwargs: Any) -> Any:
        is_text = method == "POST" and b'"text"' in (kwargs.get("content") or b"")
        if is_text and left["n"]:
            left["n"] -= 1
            if reaches_meta:
                await real(method, url, **kwargs)  # Meta got it and sent it to the buyer
            raise error("the answer never came")
        return await real(method, url, **kwargs)

    monkeypatch.setattr(http, "request", request)


async def test_a_send_whose_answer_was_lost_is_not_repeated_and_its_echo_settles_it(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read timeout after the request went out: Meta may have delivered it, so it is not sent again at
    once (that is how a buyer gets the same message twice). The reply stays claimed with the reason, and
    Meta's echo, which carries our key, marks it sent; the stale-claim re-check then sends nothing."""
    async with sim_harness(make_settings, database_url) as h:
        _lose_answers(h, monkeypatch, httpx.ReadTimeout, times=1, reaches_meta=True)
        await h.say("1510", "hi, is it available?")
        assert len(h.sent_texts("1510")) == 1  # once, not once per retry
        (bot,) = [m for m in await h.messages("1510") if m.author == "bot"]
        # The simulator echoes every accepted message, like Meta: the echo reconciled it.
        assert bot.status in ("sent", "delivered", "read") and bot.status_reason == "reconciled from echo"
        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        await h.runtime.delivery.deliver(h.tenant_id, [bot.id])  # the deferred re-check
        assert len(h.sent_texts("1510")) == 1


async def test_a_send_whose_answer_was_lost_and_no_echo_came_is_sent_once_when_its_claim_is_stale(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        # The connection closed before an answer: nobody can know whether Meta got it (here it did not).
        _lose_answers(h, monkeypatch, httpx.RemoteProtocolError, times=1, reaches_meta=False)
        await h.say("1511", "hi, is it available?")
        assert h.sent_texts("1511") == []  # it never reached Meta, but nobody can know that
        (bot,) = [m for m in await h.messages("1511") if m.author == "bot"]
        assert bot.status == SENDING and (bot.status_reason or "").startswith("unconfirmed: ")
        await h.runtime.delivery.deliver(h.tenant_id, [bot.id])  # the claim is fresh: left alone
        assert h.sent_texts("1511") == []
        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        await h.runtime.delivery.deliver(h.tenant_id, [bot.id])  # what the deferred re-check does
        assert len(h.sent_texts("1511")) == 1


async def test_a_send_that_could_not_connect_is_retried_at_once(
    database_url: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing reached Meta: retried inline, the buyer answered in the same turn, once."""
    async with sim_harness(make_settings, database_url) as h:
        _lose_answers(h, monkeypatch, httpx.ConnectError, times=1, reaches_meta=False)
        await h.say("1512", "hi, is it available?")
        assert len(h.sent_texts("1512")) == 1
        (bot,) = [m for m in await h.messages("1512") if m.author == "bot"]
        assert bot.status in ("sent", "delivered", "read")
