"""An oversized webhook body is answered 413 (declared or chunked), reading at most the limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, harness, text_event


async def test_an_oversized_body_is_answered_413_declared_or_chunked(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(DATABASE_URL=database_url, WEBHOOK_MAX_BODY_BYTES=2048)
    async with harness(settings, FakeGraph().transport) as h:
        raw = json.dumps(delivery(text_event("b1", "x" * 4000))).encode()
        headers = {"X-Hub-Signature-256": sign(raw, settings.facebook_app_secret.get_secret_value())}
        declared = await h.client.post("/webhook", content=raw, headers=headers)
        assert declared.status_code == 413
        assert "2048" in declared.text  # the limit is named (by the route or the body-limit middleware)
        read: list[int] = []

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(raw), 512):
                read.append(start)
                yield raw[start : start + 512]

        chunked = await h.client.post("/webhook", content=chunks(), headers=headers)
        assert chunked.status_code == 413
        assert len(read) <= 2048 // 512 + 1  # stopped at the limit, not at the end of the body
        small = await h.post_signed(delivery(text_event("b1", "hi")))
        assert small.status_code == 200
        bad_length = await h.client.post(
            "/webhook", content=b"{}", headers={**headers, "Content-Length": "x"}
        )
        assert bad_length.status_code == 400
