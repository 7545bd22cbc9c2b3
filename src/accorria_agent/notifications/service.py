"""Notification use cases: turn SellerNotification rows into deliveries, send them once, daily digests.

Flow: :func:`dispatch` reads the notifications written since its watermark (any domain writes them with
``notify_seller``, in its own transaction) and records one delivery per channel and recipient, each with
a unique idempotency key; :func:`send_due` sends the pending ones (email through a ``Mailer``, the
account's signed webhook through httpx) and retries failures with exponential backoff;
the digest step (``tasks.send_digests``) sends each member one mail with what waited for the digest. A
delivery is marked sent in the transaction that sent it, and its key goes to the mailer. A digest is
claimed (its row committed as ``sending``) before its mail goes, so a failed transaction or a second
worker never mails it again; see :func:`claim_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts import repository as accounts_repo
from accorria_agent.accounts.context import MemberContext
from accorria_agent.crypto import TokenCipher
from accorria_agent.mail.interface import Mailer, OutgoingMail
from accorria_agent.notifications import repository as repo
from accorria_agent.notifications.models import (
    DEFAULT_EMAIL_KINDS,
    NotificationDelivery,
    NotificationPreference,
    NotificationWebhook,
)
from accorria_agent.notifications.schemas import PreferencesIn, PreferencesOut, WebhookIn, WebhookOut
from accorria_agent.sellers.models import Seller
from accorria_agent.sellers.notifications import SellerNotification

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Accorria-Signature"
TIMESTAMP_HEADER = "X-Accorria-Timestamp"
MAX_ATTEMPTS = 8
WEBHOOK_TIMEOUT_SECONDS = 10.0


def backoff(attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` (1-based): 30 s doubling, at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``: what a receiver recomputes to trust a POST."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


async def preferences(session: AsyncSession, member: MemberContext) -> PreferencesOut:
    """The member's preferences, or the defaults when they never chose."""
    row = await repo.preference(session, member.seller_id, member.member_id)
    if row is None:
        return PreferencesOut(
            member_id=member.member_id, email_kinds=list(DEFAULT_EMAIL_KINDS), email_mode="immediate"
        )
    return PreferencesOut(
        member_id=member.member_id, email_kinds=list(row.email_kinds), email_mode=row.email_mode
    )


async def set_preferences(
    session: AsyncSession, member: MemberContext, wanted: PreferencesIn
) -> PreferencesOut:
    """Replace the member's preferences (flushes)."""
    row = await repo.preference(session, member.seller_id, member.member_id)
    if row is None:
        row = NotificationPreference(seller_id=member.seller_id, member_id=member.member_id)
        session.add(row)
    row.email_kinds = list(wanted.email_kinds)
    row.email_mode = wanted.email_mode
    await session.flush()
    return await preferences(session, member)


async def webhook_settings(session: AsyncSession, seller_id: int) -> WebhookOut:
    row = await repo.webhook(session, seller_id)
    return WebhookOut(url=row.url if row else None, enabled=bool(row and row.enabled))


async def set_webhook(
    session: AsyncSession, cipher: TokenCipher, seller_id: int, wanted: WebhookIn
) -> WebhookOut:
    """Set the account's webhook URL and secret (the secret is stored encrypted)."""
    row = await repo.webhook(session, seller_id)
    if row is None:
        row = NotificationWebhook(seller_id=seller_id)
        session.add(row)
    row.url = str(wanted.url)
    row.secret_encrypted = cipher.encrypt(wanted.secret)
    row.enabled = wanted.enabled
    await session.flush()
    return await webhook_settings(session, seller_id)


async def dispatch(session: AsyncSession, now: datetime) -> int:
    """Record the deliveries of every notification since the watermark; returns how many were recorded."""
    state = await repo.locked_dispatch_state(session)
    recorded = 0
    # An account's recipients, preferences and webhook are read once per batch, not once per notification.
    channels: dict[int, _Channels] = {}
    for notification, seller in await repo.notifications_after(session, state.last_notification_id):
        if seller.id not in channels:
            channels[seller.id] = await _channels(session, seller)
        recorded += await _record_deliveries(session, notification, channels[seller.id], now)
        state.last_notification_id = notification.id
    await session.flush()
    return recorded


@dataclass(frozen=True)
class _Recipient:
    member_id: int
    address: str
    kinds: frozenset[str]
    mode: str


@dataclass(frozen=True)
class _Channels:
    """Where an account's notifications go: each member's mail by their preferences, and its webhook."""

    seller_id: int
    recipients: tuple[_Recipient, ...]
    webhook_url: str | None


async def _channels(session: AsyncSession, seller: Seller) -> _Channels:
    recipients = []
    for member_id, address in await _recipients(session, seller):
        preference = await repo.preference(session, seller.id, member_id)
        kinds = frozenset(preference.email_kinds if preference else DEFAULT_EMAIL_KINDS)
        mode = preference.email_mode if preference else "immediate"
        recipients.append(_Recipient(member_id, address, kinds, mode))
    hook = await repo.webhook(session, seller.id)
    url = hook.url if hook is not None and hook.enabled else None
    return _Channels(seller.id, tuple(recipients), url)


async def _record_deliveries(
    session: AsyncSession, notification: SellerNotification, channels: _Channels, now: datetime
) -> int:
    wanted: list[NotificationDelivery] = [
        NotificationDelivery(
            seller_id=channels.seller_id,
            notification_id=notification.id,
            channel="email",
            recipient=recipient.address,
            idempotency_key=_email_key(notification.id, recipient.member_id),
            status="digest" if recipient.mode == "digest" else "pending",
            created_at=now,
        )
        for recipient in channels.recipients
        if recipient.mode != "off" and notification.kind in recipient.kinds
    ]
    if channels.webhook_url is not None:
        wanted.append(
            NotificationDelivery(
                seller_id=channels.seller_id,
                notification_id=notification.id,
                channel="webhook",
                recipient=channels.webhook_url,
                idempotency_key=f"webhook:{notification.id}",
                created_at=now,
            )
        )
    count = 0
    for delivery in wanted:
        if not await repo.delivery_exists(session, delivery.idempotency_key):
            session.add(delivery)
            count += 1
    return count


def _email_key(notification_id: int, member_id: int) -> str:
    return f"email:{notification_id}:{member_id}"


def _member_of(delivery: NotificationDelivery) -> int:
    """The member an email delivery is for: the last field of its key (see :func:`_email_key`)."""
    return int(delivery.idempotency_key.rsplit(":", 1)[1])


def _digest_key(seller_id: int, member_id: int, day: date) -> str:
    return f"digest:{seller_id}:{member_id}:{day.isoformat()}"


async def _recipients(session: AsyncSession, seller: Seller) -> list[tuple[int, str]]:
    """Who receives the account's mail: each member at their own address, by their own preferences.

    An account without members (one made by ``demo``/``seed`` before sign-up existed) has one recipient,
    the seller's address, as member 0: the id :mod:`accorria_agent.accounts.context` gives its owner.
    """
    members = await accounts_repo.account_members(session, seller.id)
    if members:
        return [(member.id, member.email) for _, member in members if member.email]
    return [(0, seller.email)] if seller.email else []


def _mail_for(notification: SellerNotification, to: str, key: str) -> OutgoingMail:
    subject = f"Accorria: {notification.kind.replace('_', ' ')}"
    text = f"{notification.text}\n\nOpen your dashboard to see the conversation.\n"
    return OutgoingMail(to=to, subject=subject, text=text, idempotency_key=key)


def _payload(notification: SellerNotification) -> bytes:
    return json.dumps(
        {
            "id": notification.id,
            "kind": notification.kind,
            "text": notification.text,
            "conversation_id": notification.conversation_id,
            "created_at": notification.created_at.isoformat() if notification.created_at else None,
        },
        separators=(",", ":"),
    ).encode()


async def send_due(
    session: AsyncSession,
    *,
    mailer: Mailer,
    http: httpx.AsyncClient,
    cipher: TokenCipher,
    now: datetime,
    limit: int = 100,
) -> int:
    """Send the pending deliveries that are due (locked, so two workers never take the same one)."""
    sent = 0
    for delivery in await repo.due_deliveries(session, now, limit):
        notification = (
            await repo.notification(session, delivery.notification_id) if delivery.notification_id else None
        )
        if notification is None:
            delivery.status = "failed"
            delivery.last_error = "notification deleted"
            continue
        try:
            if delivery.channel == "email":
                await mailer.send(_mail_for(notification, delivery.recipient, delivery.idempotency_key))
            else:
                await _post_webhook(session, http, cipher, delivery, notification, now)
        except Exception as error:  # any failure of the far side: retried later, never lost
            delivery.attempts += 1
            delivery.last_error = f"{type(error).__name__}: {error}"[:500]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
            log.warning("notification_delivery_failed", channel=delivery.channel, attempts=delivery.attempts)
            continue
        delivery.attempts += 1
        delivery.status = "sent"
        delivery.delivered_at = now
        sent += 1
    await session.flush()
    return sent


async def _post_webhook(
    session: AsyncSession,
    http: httpx.AsyncClient,
    cipher: TokenCipher,
    delivery: NotificationDelivery,
    notification: SellerNotification,
    now: datetime,
) -> None:
    hook = await repo.webhook(session, delivery.seller_id)
    if hook is None or not hook.enabled:
        raise RuntimeError("webhook removed or disabled")
    body = _payload(notification)
    timestamp = str(int(now.timestamp()))
    response = await http.post(
        hook.url,
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(cipher.decrypt(hook.secret_encrypted), timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            "Idempotency-Key": delivery.idempotency_key,
        },
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )
    if response.status_code >= 300:
        raise RuntimeError(f"webhook answered {response.status_code}")


# How long a digest's claim keeps other workers off it. A send takes seconds (the SMTP mailer's timeout is
# 10 s per step); a claim this old means its worker died (or could not record the send) and it is retried.
DIGEST_CLAIM_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class DigestDraft:
    """One member's digest as read from what waits: its key, its mail and the deliveries it carries."""

    seller_id: int
    member_id: int
    key: str
    mail: OutgoingMail
    item_ids: tuple[int, ...]


@dataclass(frozen=True)
class DigestClaim:
    """A digest this worker claimed (row ``digest_id``, status ``sending``): only it mails ``draft``."""

    digest_id: int
    attempts: int
    draft: DigestDraft


async def digest_drafts(session: AsyncSession, now: datetime) -> list[DigestDraft]:
    """One draft per member with deliveries waiting for the digest of ``now``'s day.

    At most one digest per member and day (key ``digest:<seller>:<member>:<date>``, enforced by
    :func:`claim_digest`). Keys written before the member was in them were
    ``digest:<seller>:<seller>:<date>``: such a row of today counts as sent to its recipient (an address
    is one member's), so nobody gets a second digest on the day of the change. The member whose id is the
    seller's has the old key as theirs: if it went to another member that day, their digest waits for the
    next.
    """
    groups: dict[tuple[int, int], list[tuple[NotificationDelivery, SellerNotification]]] = {}
    for delivery, notification in await repo.digest_waiting(session):
        groups.setdefault((delivery.seller_id, _member_of(delivery)), []).append((delivery, notification))
    drafts = []
    for (seller_id, member_id), items in groups.items():
        # The address the member had when their latest notification was dispatched.
        recipient = max(items, key=lambda item: item[0].id)[0].recipient
        key = _digest_key(seller_id, member_id, now.date())
        legacy_key = _digest_key(seller_id, seller_id, now.date())
        if legacy_key != key and await repo.legacy_digest_sent(session, legacy_key, recipient=recipient):
            continue  # today's digest went already; these wait for tomorrow's
        lines = [f"- {n.kind.replace('_', ' ')}: {n.text}" for _, n in items]
        text = f"Your day on Accorria ({len(items)} notifications):\n\n" + "\n".join(lines) + "\n"
        mail = OutgoingMail(
            to=recipient, subject="Accorria: your daily digest", text=text, idempotency_key=key
        )
        drafts.append(DigestDraft(seller_id, member_id, key, mail, tuple(d.id for d, _ in items)))
    return drafts


async def claim_digest(session: AsyncSession, draft: DigestDraft, now: datetime) -> DigestClaim | None:
    """Claim ``draft``'s digest row (``sending``) before its mail goes; None when it is not ours to send.

    The claim must be committed before the send: then a second worker (or the next pass, after this one's
    transaction failed) finds the key taken and mails nothing. A claim is taken over only once it is due
    (:data:`DIGEST_CLAIM_TIMEOUT` after a claim, or the backoff after a refused send).
    """
    claimed = await repo.claim_digest(
        session,
        seller_id=draft.seller_id,
        recipient=draft.mail.to,
        key=draft.key,
        now=now,
        until=now + DIGEST_CLAIM_TIMEOUT,
    )
    if claimed is None:
        return None
    await repo.abandon_earlier_digest_claims(
        session, seller_id=draft.seller_id, member_id=draft.member_id, key=draft.key, now=now
    )
    return DigestClaim(claimed[0], claimed[1], draft)


async def digest_held(session: AsyncSession, draft: DigestDraft) -> bool:
    """Whether ``draft``'s digest is claimed and unfinished (another worker's, or one waiting for a retry)."""
    return await repo.delivery_status(session, draft.key) == "sending"


async def record_digest_sent(session: AsyncSession, claim: DigestClaim, now: datetime) -> None:
    """The claimed digest went: mark it sent and what it carried digested."""
    await repo.mark_digest_sent(session, claim.digest_id, list(claim.draft.item_ids), now)


async def record_digest_refused(session: AsyncSession, claim: DigestClaim, error: str, now: datetime) -> None:
    """The mailer refused the claimed digest: retried after its backoff, given up after MAX_ATTEMPTS."""
    retry_at = None if claim.attempts >= MAX_ATTEMPTS else now + backoff(claim.attempts)
    await repo.digest_send_failed(session, claim.digest_id, error=error, retry_at=retry_at)
