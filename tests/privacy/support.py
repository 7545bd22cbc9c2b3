"""Helpers for privacy tests: a seller's session header, a buyer who wrote, row counts, signed requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.signed_request import make_signed_request
from accorria_agent.sellers.models import MessengerTenant
from tests.helpers import Harness, delivery, text_event


async def seller_of(h: Harness, tenant_id: int) -> int:
    async with h.runtime.session_factory() as session:
        tenant = await session.get(MessengerTenant, tenant_id)
        assert tenant is not None
        return tenant.seller_id


async def headers_for(h: Harness, tenant_id: int) -> dict[str, str]:
    """The session header of the seller owning ``tenant_id``."""
    token = issue_seller_token(h.runtime.settings, await seller_of(h, tenant_id), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


async def buyer_writes(h: Harness, psid: str, text: str, page_id: str | None = None) -> None:
    """A buyer message through the signed webhook, processed (the bot answers)."""
    page = page_id or h.page_id
    response = await h.post_signed(delivery(text_event(psid, text, page_id=page), page_id=page))
    assert response.status_code == 200
    await h.idle()


async def count(h: Harness, model: Any, *where: Any) -> int:
    async with h.runtime.session_factory() as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def link_facebook_user(h: Harness, tenant_id: int, facebook_user_id: str) -> None:
    """What the Page connection records: the Facebook user who connected the Page."""
    async with transaction(h.runtime.session_factory) as session:
        tenant = await session.get(MessengerTenant, tenant_id)
        assert tenant is not None
        tenant.facebook_user_id = facebook_user_id


def signed_form(h: Harness, payload: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    app_secret = secret or h.runtime.settings.facebook_app_secret.get_secret_value()
    return {"signed_request": make_signed_request(payload, app_secret)}
