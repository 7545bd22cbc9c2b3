"""``/api/notification-preferences`` (each member's own) and ``/api/notification-webhook`` (owners)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from accorria_agent.accounts.context import Member, Owner
from accorria_agent.db.engine import transaction
from accorria_agent.notifications import service
from accorria_agent.notifications.schemas import PreferencesIn, PreferencesOut, WebhookIn, WebhookOut

router = APIRouter(prefix="/api", tags=["notifications"])


@router.get("/notification-preferences", response_model=PreferencesOut)
async def get_preferences(request: Request, member: Member) -> PreferencesOut:
    """The signed-in member's notification preferences (defaults until they choose)."""
    async with transaction(request.app.state.runtime.session_factory) as session:
        return await service.preferences(session, member)


@router.put("/notification-preferences", response_model=PreferencesOut)
async def put_preferences(request: Request, member: Member, body: PreferencesIn) -> PreferencesOut:
    """Replace the signed-in member's preferences."""
    async with transaction(request.app.state.runtime.session_factory) as session:
        return await service.set_preferences(session, member, body)


@router.get("/notification-webhook", response_model=WebhookOut)
async def get_webhook(request: Request, owner: Owner) -> WebhookOut:
    """The account's outgoing webhook (its secret is never returned)."""
    async with transaction(request.app.state.runtime.session_factory) as session:
        return await service.webhook_settings(session, owner.seller_id)


@router.put("/notification-webhook", response_model=WebhookOut)
async def put_webhook(request: Request, owner: Owner, body: WebhookIn) -> WebhookOut:
    """Set the account's webhook URL and signing secret."""
    runtime = request.app.state.runtime
    async with transaction(runtime.session_factory) as session:
        return await service.set_webhook(session, runtime.cipher, owner.seller_id, body)
