"""Shared set-up of the test-drive tests: a pinned simulator clock and a signed-in seller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.mail.interface import InMemoryMailer
from accorria_agent.sellers.models import MessengerTenant
from tests.sim_harness import SimHarness

#: Monday 2026-12-07, 10:00 in Detroit: every relative time in these tests is read from here.
PINNED_NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
ADDRESS = "4410 Woodward Ave, Detroit, MI"
AVAILABILITY: dict[str, Any] = {
    "weekly_hours": {
        "mon": [["09:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "18:00"]],
        "sat": [["10:00", "16:00"]],
    },
    "slot_minutes": 45,
    "buffer_minutes": 15,
    "min_notice_minutes": 60,
    "place_area": "Midtown Detroit",
    "place_address": ADDRESS,
}


def pin_clock(h: SimHarness, when: datetime = PINNED_NOW) -> None:
    """Set the simulator's (and so the agent's) clock to ``when``."""
    h.sim.state.clock_offset = when - datetime.now(UTC)


async def seller_id(h: SimHarness) -> int:
    async with h.runtime.session_factory() as session:
        tenant = (await session.execute(select(MessengerTenant))).scalars().first()
        assert tenant is not None
        return tenant.seller_id


async def auth(h: SimHarness, seller: int | None = None) -> dict[str, str]:
    sid = seller if seller is not None else await seller_id(h)
    token = issue_seller_token(h.runtime.settings, sid, timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


async def ready(h: SimHarness) -> tuple[dict[str, str], InMemoryMailer]:
    """Pinned clock, the seller's availability with an address, and a recording mailer."""
    pin_clock(h)
    mailer = InMemoryMailer()
    h.runtime.mailer = mailer  # type: ignore[attr-defined]
    headers = await auth(h)
    response = await h.client.put("/api/availability", json=AVAILABILITY, headers=headers)
    assert response.status_code == 200, response.text
    return headers, mailer
