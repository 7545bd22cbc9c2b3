"""Imports every model so that ``metadata`` is complete (for Alembic and for test schemas)."""

from accorria_agent.conversations.mode_changes import ConversationModeChange
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.base import Base
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.jobs.models import Job
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.notifications.models import (
    NotificationDelivery,
    NotificationDispatchState,
    NotificationPreference,
    NotificationWebhook,
)
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification

metadata = Base.metadata

__all__ = [
    "Conversation",
    "ConversationModeChange",
    "Deal",
    "DealEvent",
    "EventLog",
    "Job",
    "Listing",
    "Message",
    "MessengerSettings",
    "MessengerTenant",
    "NotificationDelivery",
    "NotificationDispatchState",
    "NotificationPreference",
    "NotificationWebhook",
    "Seller",
    "SellerNotification",
    "WebhookDelivery",
    "metadata",
]
