"""The demo's seller can take test drives from the first start: weekdays 9–18, Saturday 10–16."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.demo import DEMO_MEETING_ADDRESS, seed_demo
from accorria_agent.scheduling import service
from accorria_agent.sellers.models import Seller
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec
from accorria_agent.settings import Settings


async def test_the_demo_seller_has_default_availability_with_its_place(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the demo runs on SQLite only")
    settings = make_settings(DATABASE_URL=database_url)
    spec = ListingSpec.model_validate(DEMO_LISTING)
    await seed_demo(settings, spec, "EAAdemo-token", replace_listing=False)
    await seed_demo(settings, spec, "EAAdemo-token", replace_listing=False)  # a restart changes nothing
    engine = create_engine(settings.effective_database_url)
    try:
        async with create_session_factory(engine)() as session:
            seller = (await session.execute(select(Seller))).scalar_one()
            out = await service.get_availability(session, seller.id)
    finally:
        await engine.dispose()
    assert out.is_default is False
    assert {day: [list(h) for h in hours] for day, hours in out.weekly_hours.items()} == {
        **{day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "sat": [["10:00", "16:00"]],
    }
    assert out.place_address == DEMO_MEETING_ADDRESS and out.place_area == "Detroit, MI"
