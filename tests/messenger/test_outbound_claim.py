"""The outbound claim: only the sender that moved a reply to ``sending`` calls the Send API for it.

Two senders racing for one reply send it once; a reply claimed by a sender that may still be alive is left
to it, and sent again only once the claim is stale (unless Meta's echo reconciled it first). Each test runs
on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from accorria_agent.conversations import repository as conversations_repo
from accorria_agent.conversations.models import SENDING, SENDING_CLAIM_TIMEOUT_SECONDS, Message
from accorria_agent.conversations.pipeline import process_conversation
from accorria_agent.db.engine import transaction
from accorria_agent.db.errors import is_transient
from accorria_agent.jobs.interface import JobRequest
from accorria_agent.messenger.models import EventLog
from accorria_agent.sending import repository as sending_repo
from accorria_agent.sending.delivery import RECORD_SENT_DEADLINE_SECONDS, RECORD_SENT_PATIENCE_SECONDS
from accorria_agent.settings import Settings
from tests.conftest import APP_ID
from tests.helpers import PAGE_ID
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _reply(h: SimHarness, psid: str, text: str, *, status: str) -> tuple[int, str]:
    """A bot reply stored in ``psid``'s conversation with ``status`` (``sending``: claimed just now)."""
    async with transaction(h.runtime.session_factory) as session:
        conversation = await conversations_repo.conversation_for(session, h.tenant_id, psid)
        assert conversation is not None
        claimed = status == SENDING
        message = conversations_repo.new_outbound(
            conversation, author="bot", text=text, payload={}, now=h.runtime.clock(), claimed=claimed
        )
        if status != SENDING:
            message.status = status
        session.add(message)
        await session.flush()
        assert message.outbound_key is not None
        return message.id, message.outbound_key


async def _stored(h: SimHarness, message_id: int) -> Message:
    async with h.runtime.session_factory() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    return message


class _RecordingQueue:
    """The job queue as the conversation job sees it, keeping what is deferred instead of running it."""

    def __init__(self) -> None:
        self.requests: list[JobRequest] = []

    async def defer_many(self, _session: Any, requests: list[JobRequest]) -> int:
        self.requests.extend(requests)
        return len(requests)

    def notify(self) -> None:
        """Nothing to wake."""

    async def start(self) -> None:
        """Nothing runs."""

    async def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop."""


async def test_two_senders_racing_for_one_reply_send_it_once(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1701", "hi")
        message_id, _key = await _reply(h, "1701", "Anything else?", status="queued")
        delivery = h.runtime.delivery
        await asyncio.gather(*(delivery.deliver(h.tenant_id, [message_id]) for _ in range(2)))
        assert h.sent_texts("1701").count("Anything else?") == 1
        assert (await _stored(h, message_id)).status in ("sent", "delivered")


async def test_only_one_claim_of_a_reply_wins_while_the_first_is_uncommitted(
    database_url: str, make_settings: Make
) -> None:
    """The second claimer waits for the first one's commit (PostgreSQL's row lock, SQLite's one writer) and
    then finds the reply claimed."""
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1702", "hi")
        message_id, _key = await _reply(h, "1702", "Anything else?", status="queued")
        factory, now = h.runtime.session_factory, h.runtime.clock()
        won: dict[str, object] = {}
        first_claimed = asyncio.Event()

        async def first() -> None:
            async with transaction(factory) as session:
                won["first"] = await sending_repo.claim(session, h.tenant_id, message_id, now)
                first_claimed.set()
                await asyncio.sleep(0.3)  # the second claimer tries meanwhile

        async def second() -> None:
            await first_claimed.wait()
            async with transaction(factory) as session:
                won["second"] = await sending_repo.claim(session, h.tenant_id, message_id, now)

        await asyncio.gather(first(), second())
        assert won == {"first": now, "second": None}
        stored = await _stored(h, message_id)
        assert stored.status == SENDING and stored.claimed_at == now
        # A claimed reply is no one else's to send: a delivery run now sends nothing.
        await h.runtime.delivery.deliver(h.tenant_id, [message_id])
        assert "Anything else?" not in h.sent_texts("1702")


async def test_a_fresh_claim_is_left_to_its_sender_and_a_stale_one_is_sent_once(
    database_url: str, make_settings: Make
) -> None:
    """Claimed, then the sender died before Meta got it (no echo): the conversation's next job leaves the
    claim alone but schedules a delivery for when it goes stale, and that delivery sends it once."""
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1703", "hi")
        message_id, _key = await _reply(h, "1703", "Still there?", status=SENDING)
        queue = _RecordingQueue()
        deps = dataclasses.replace(h.runtime.conversation_deps, queue=queue)
        # The re-run of the dead sender's job (stalled-job recovery): no new event, one claimed reply.
        await process_conversation(deps, {"page_id": PAGE_ID, "buyer_psid": "1703"})
        assert (await _stored(h, message_id)).status == SENDING  # not re-queued: its sender may be alive
        (job,) = queue.requests
        assert job.task == "deliver_outbound" and job.args["message_ids"] == [message_id]
        assert job.delay_seconds >= SENDING_CLAIM_TIMEOUT_SECONDS - 5
        await h.runtime.delivery.deliver(h.tenant_id, [message_id])  # too early: the claim is fresh
        assert "Still there?" not in h.sent_texts("1703")

        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        await h.runtime.delivery.deliver(h.tenant_id, [message_id])  # what the delayed job does
        assert h.sent_texts("1703").count("Still there?") == 1
        await h.runtime.delivery.deliver(h.tenant_id, [message_id])  # a second run sends nothing
        assert h.sent_texts("1703").count("Still there?") == 1
        assert (await _stored(h, message_id)).status in ("sent", "delivered")


async def test_an_echo_reconciles_a_claimed_reply_which_is_then_never_sent_again(
    database_url: str, make_settings: Make
) -> None:
    """Meta accepted the send, the worker died before recording it: the echo carrying our key marks the
    claimed reply sent, and the delivery scheduled for its stale claim sends nothing."""
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1704", "hi")
        message_id, key = await _reply(h, "1704", "Still there?", status=SENDING)
        thread = h.sim.state.thread("1704")
        assert thread is not None
        # What the simulator's Send API does when it accepts a message: store it and echo it (signed).
        h.sim.record_page_message(
            thread, {"text": "Still there?", "metadata": key}, source="bot", app_id=int(APP_ID)
        )
        await h.settle()
        stored = await _stored(h, message_id)
        assert stored.status in ("sent", "delivered") and stored.status_reason == "reconciled from echo"
        assert stored.mid is not None

        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        await h.runtime.delivery.deliver(h.tenant_id, [message_id])
        assert "Still there?" not in h.sent_texts("1704")  # Meta has it from the dead sender: not again


async def test_the_turns_first_reply_is_inserted_claimed_and_the_gate_sends_only_claimed_replies(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1705", "hi, is it available?")
        (bot,) = [m for m in await h.messages("1705") if m.author == "bot"]
        assert bot.status in ("sent", "delivered") and bot.claimed_at is not None
        message_id, _key = await _reply(h, "1705", "Unclaimed", status="pending")
        async with transaction(h.runtime.session_factory) as session:
            loaded = await sending_repo.outbound_with_context(session, h.tenant_id, message_id)
            assert loaded is not None
            assert await h.runtime.delivery.gate(session, *loaded) is None
        assert (await _stored(h, message_id)).status == "pending"


def test_a_live_sender_is_done_with_its_claim_before_it_can_go_stale() -> None:
    # The record's patience and deadline, plus the Send API's inline budget (4 × 10 s, ~5 s of backoff),
    # must end before another sender may take the claim over.
    assert RECORD_SENT_PATIENCE_SECONDS < RECORD_SENT_DEADLINE_SECONDS < SENDING_CLAIM_TIMEOUT_SECONDS - 20


async def test_the_periodic_sweep_sends_a_stale_claim_nothing_else_looks_at_once(
    database_url: str, make_settings: Make
) -> None:
    """A worker claimed a reply and died with the database down too: no delivery was scheduled and the buyer
    does not write again. The periodic sweep hands the stale claim to a delivery (a fresh claim stays with
    its sender); the reply goes out once, and a second sweep finds nothing."""
    from accorria_agent.sending.tasks import sweep_stale_claims

    async with sim_harness(make_settings, database_url) as h:
        await h.say("1706", "hi")
        await h.settle()
        message_id, _key = await _reply(h, "1706", "Are you still interested?", status=SENDING)
        factory, clock = h.runtime.session_factory, h.runtime.clock
        queue = _RecordingQueue()
        assert await sweep_stale_claims(factory, queue, clock) == 0  # fresh: its sender may be alive
        assert queue.requests == []

        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        assert await sweep_stale_claims(factory, queue, clock) == 1
        (job,) = queue.requests
        assert job.task == "deliver_outbound" and job.args == {
            "tenant_id": h.tenant_id,
            "message_ids": [message_id],
        }
        assert job.lock is not None and job.lock.endswith(":1706")  # the conversation's outbound lock
        await h.runtime.delivery.deliver(h.tenant_id, job.args["message_ids"])  # what the job does
        await h.runtime.delivery.deliver(h.tenant_id, job.args["message_ids"])  # a second sweep's job
        assert h.sent_texts("1706").count("Are you still interested?") == 1
        assert (await _stored(h, message_id)).status in ("sent", "delivered")
        assert await sweep_stale_claims(factory, queue, clock) == 0


async def test_two_overlapping_runs_of_a_conversation_job_answer_the_buyer_once(
    database_url: str, make_settings: Make
) -> None:
    """The stalled-job recovery can re-queue the job of a worker that is alive (after a database outage
    every heartbeat looks stale): both runs read the same unprocessed event. Only one may answer it; the
    other rolls back, its reply included. A postback without a ``mid`` (a button press): nothing unique in
    the stored rows would stop the second answer, only the conditional marking of the event."""
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1710", "hi")
        factory = h.runtime.session_factory
        async with transaction(factory) as session:
            first = (
                await session.execute(
                    select(EventLog).where(EventLog.buyer_psid == "1710", EventLog.kind == "message")
                )
            ).scalar_one()
            at = first.timestamp_ms + 5_000
            payload = {k: v for k, v in first.payload.items() if k != "message"}
            payload["timestamp"] = at
            payload["postback"] = {"title": "Is it still available?", "payload": "ASK_AVAILABLE"}
            session.add(
                EventLog(
                    page_id=first.page_id,
                    buyer_psid="1710",
                    event_key="overlap-1",
                    kind="postback",
                    timestamp_ms=at,
                    payload=payload,
                )
            )
        replies_before = len(h.sent_texts("1710"))
        args = {"page_id": PAGE_ID, "buyer_psid": "1710"}
        deps = h.runtime.conversation_deps
        outcomes = await asyncio.gather(
            process_conversation(deps, args), process_conversation(deps, args), return_exceptions=True
        )
        await h.settle()
        # One run answered; the other found the event taken (PostgreSQL) or could not write beside the
        # first (SQLite's one writer: a transient error, which the queue retries, and the retry finds
        # nothing new). Neither failed otherwise.
        answered = [o for o in outcomes if not isinstance(o, BaseException) and o.outbound_ids]
        assert len(answered) == 1, outcomes
        for other in outcomes:
            if isinstance(other, BaseException):
                assert is_transient(other), other
        assert len(h.sent_texts("1710")) == replies_before + 1
        async with factory() as session:
            event = (
                await session.execute(select(EventLog).where(EventLog.event_key == "overlap-1"))
            ).scalar_one()
            pressed = (
                await session.execute(select(Message).where(Message.text == "Is it still available?"))
            ).scalars().all()
        assert event.processed_at is not None and event.outcome == "stored: postback"
        assert len(pressed) == 1
