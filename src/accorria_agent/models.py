"""Imports every model so that ``metadata`` is complete (for Alembic and for test schemas)."""

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.base import Base
from accorria_agent.deals.models import Deal, DealEvent, EscrowWebhookEvent
from accorria_agent.jobs.models import Job
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification

metadata = Base.metadata

__all__ = [
    "Conversation",
    "Deal",
    "DealEvent",
    "EscrowWebhookEvent",
    "EventLog",
    "Job",
    "Listing",
    "Message",
    "MessengerSettings",
    "MessengerTenant",
    "Seller",
    "SellerNotification",
    "WebhookDelivery",
    "metadata",
]
