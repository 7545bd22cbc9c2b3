"""Send-time policy and Graph error classes (pure), plus the webhook's answer when storage is down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.messenger.errors import ErrorClass, classify
from accorria_agent.messenger.policy import RETIRED_TAGS, send_permission, window_expires_in
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import Harness, delivery, text_event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@given(
    st.floats(min_value=0, max_value=30 * 24 * 3600),
    st.sampled_from(["bot", "seller"]),
    st.booleans(),
)
def test_the_bot_never_tags_and_nobody_uses_retired_tags(elapsed: float, author: str, enabled: bool) -> None:
    permission = send_permission(
        now=NOW,
        last_buyer_message_at=NOW - timedelta(seconds=elapsed),
        author=author,
        human_agent_tag_enabled=enabled,
    )
    assert permission.tag not in RETIRED_TAGS
    if author == "bot":
        assert permission.tag is None
        assert permission.allowed == (elapsed <= 24 * 3600)
    if permission.tag == "HUMAN_AGENT":
        assert author == "seller" and enabled and 24 * 3600 < elapsed <= 7 * 24 * 3600
        assert permission.messaging_type == "MESSAGE_TAG"
    if not permission.allowed:
        assert permission.reason


def test_no_window_without_a_buyer_message() -> None:
    permission = send_permission(
        now=NOW, last_buyer_message_at=None, author="seller", human_agent_tag_enabled=True
    )
    assert not permission.allowed
    assert window_expires_in(NOW, None) == 0
    assert window_expires_in(NOW, NOW - timedelta(hours=23)) == 3600


def test_graph_errors_are_classified_by_code_and_subcode() -> None:
    assert classify(10, 2018278, 400) is ErrorClass.OUTSIDE_WINDOW
    assert classify(10, 1893063, 400) is ErrorClass.PAGE_RESTRICTED
    assert classify(190, None, 400) is ErrorClass.TOKEN_INVALID
    for code in (1, 2, 4, 17, 32, 613, 80001, 80014):
        assert classify(code, None, 400) is ErrorClass.TRANSIENT
    assert classify(None, None, 503) is ErrorClass.TRANSIENT  # no body, server error
    assert classify(None, None, None) is ErrorClass.TRANSIENT  # timeout / transport
    for code, subcode in ((551, None), (100, 2018001), (100, None), (200, 2018028), (10, None)):
        assert classify(code, subcode, 400) is ErrorClass.PERMANENT


async def test_the_webhook_answers_503_when_the_database_is_down(
    make_settings: Callable[..., Settings],
) -> None:
    import httpx

    from accorria_agent.app import create_app
    from accorria_agent.runtime import build_runtime

    settings = make_settings(
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/unreachable", JOB_QUEUE="embedded"
    )
    runtime = build_runtime(settings, graph_transport=FakeGraph().transport, run_jobs=False)
    app = create_app(runtime, manage_runtime=False)
    await runtime.intake.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://agent.test"
        ) as client:
            h = Harness(runtime, client, "100200300", 0, 0)
            response = await h.post_signed(delivery(text_event("4001", "hi")))
            assert response.status_code == 503  # Meta will redeliver
            health = await client.get("/healthz")
            assert health.status_code == 503
    finally:
        await runtime.intake.stop()
        await runtime.http.aclose()
        await runtime.engine.dispose()
