"""Recording a sent reply (one statement on PostgreSQL): status, mid, last bot message, latency metric."""

from __future__ import annotations

from collections.abc import Callable

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
