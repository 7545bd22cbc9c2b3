"""Imports every model so that ``metadata`` is complete (for Alembic and for test schemas)."""

from accorria_agent.accounts.models import (
    AuthSession,
    MailOutbox,
    Member,
    Membership,
    OneTimeToken,
    SignInAttempt,
)
from accorria_agent.analytics.models import ConversationFacts
from accorria_agent.audit.models import AuditEvent
from accorria_agent.conversations.mode_changes import ConversationModeChange
from accorria_agent.conversations.models import (
    Conversation,
    ConversationDraft,
    Message,
    SetAsideEvent,
)
from accorria_agent.db.base import Base
from accorria_agent.deals.models import Deal, DealEvent, EscrowWebhookEvent
from accorria_agent.jobs.models import Job
from accorria_agent.listings.models import ListingPhoto
from accorria_agent.messenger.models import EventLog, WebhookDelivery, WebhookRefusal
from accorria_agent.notifications.models import (
    NotificationDelivery,
    NotificationDispatchState,
    NotificationPreference,
    NotificationWebhook,
)
from accorria_agent.pages.models import OAuthState, PageConnection, PendingPageGrant
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.questions.models import ListingFact, SellerQuestion
from accorria_agent.scheduling.models import Availability, AvailabilityOverride, Booking
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification

metadata = Base.metadata

__all__ = [
    "AuditEvent",
    "AuthSession",
    "MailOutbox",
    "Member",
    "Membership",
    "OneTimeToken",
    "SignInAttempt",
    "Availability",
    "AvailabilityOverride",
    "Booking",
    "Conversation",
    "ConversationDraft",
    "ConversationFacts",
    "ConversationModeChange",
    "Deal",
    "DealEvent",
    "EscrowWebhookEvent",
    "EventLog",
    "Job",
    "Listing",
    "ListingPhoto",
    "ListingFact",
    "Message",
    "MessengerSettings",
    "MessengerTenant",
    "OAuthState",
    "PageConnection",
    "PendingPageGrant",
    "PrivacyRequest",
    "NotificationDelivery",
    "NotificationDispatchState",
    "NotificationPreference",
    "NotificationWebhook",
    "Seller",
    "SellerQuestion",
    "SellerNotification",
    "WebhookDelivery",
    "WebhookRefusal",
    "SetAsideEvent",
    "metadata",
]
