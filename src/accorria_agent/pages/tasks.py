"""Token health: check every Page token with ``debug_token`` and put unhealthy Pages in ``needs_reauth``.

A token that Meta reports invalid, that expires within ``TOKEN_EXPIRY_WARNING_DAYS``, or that lacks one of
the permissions the agent needs makes its Page ``needs_reauth``: the send gate then holds that Page's
replies (as it does after a code-190 send failure) and the seller is told on the dashboard and, when a
mailer is given, by email. Reconnecting the Page (the Facebook Login flow) refreshes the token and
releases what was held. Each Page is checked in its own transaction; Graph being down skips a Page, it
never marks it unhealthy. Runs periodically (see :mod:`accorria_agent.jobs.periodic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.crypto import TokenCipher, TokenCipherError
from accorria_agent.db.engine import transaction
from accorria_agent.mail.interface import Mailer, OutgoingMail
from accorria_agent.messenger.errors import GraphApiError
from accorria_agent.messenger.graph_client import GraphClient, TokenInfo
from accorria_agent.pages import repository
from accorria_agent.pages.service import REQUIRED_SCOPES
from accorria_agent.sellers.models import MessengerTenant, Seller
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

TOKEN_HEALTH_TASK = "pages.check_token_health"


@dataclass
class HealthReport:
    """What one run saw: Pages checked, Pages newly put in needs_reauth, Pages Graph did not answer for."""

    checked: int = 0
    needs_reauth: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def token_problem(info: TokenInfo, now: datetime, warning_days: int) -> str | None:
    """Why this token needs the seller to reconnect, or ``None`` when it is healthy (pure)."""
    if not info.is_valid:
        return "Facebook no longer accepts this Page's access token"
    missing = [scope for scope in REQUIRED_SCOPES if scope not in info.scopes]
    if missing:
        return "the Page's access token lacks " + ", ".join(missing)
    if info.expires_at is not None:
        expires = datetime.fromtimestamp(info.expires_at, tz=UTC)
        if expires - now <= timedelta(days=warning_days):
            return f"the Page's access token expires on {expires:%Y-%m-%d}"
    return None


async def check_token_health(
    factory: async_sessionmaker[AsyncSession],
    graph: GraphClient,
    cipher: TokenCipher,
    settings: Settings,
    clock: Callable[[], datetime],
    mailer: Mailer | None = None,
) -> HealthReport:
    """Check every connected Page's token once; returns what happened."""
    report = HealthReport()
    async with factory() as session:
        work = [
            (t.id, t.page_id, t.page_access_token_encrypted)
            for t in await repository.tenants_to_check(session)
        ]
    app_id, app_secret = settings.facebook_app_id, settings.facebook_app_secret.get_secret_value()
    for tenant_id, page_id, encrypted in work:
        now = clock()
        info: TokenInfo | None
        try:
            info = await graph.debug_token(cipher.decrypt(encrypted), app_id, app_secret)
            problem = token_problem(info, now, settings.token_expiry_warning_days)
        except TokenCipherError:
            info, problem = None, "the stored token cannot be decrypted with the configured keys"
        except GraphApiError as error:
            log.warning("token_health_unreachable", page_id=page_id, error=error.summary())
            report.unreachable.append(page_id)
            continue
        report.checked += 1
        async with transaction(factory) as session:
            tenant = await session.get(MessengerTenant, tenant_id, with_for_update=True)
            if tenant is None or tenant.page_access_token_encrypted != encrypted:
                continue  # reconnected or disconnected meanwhile: this verdict is about an old token
            record = await repository.connection(session, tenant_id)
            record.token_checked_at = now
            if info is not None and info.is_valid:
                record.token_expires_at = (
                    datetime.fromtimestamp(info.expires_at, tz=UTC) if info.expires_at else None
                )
                record.granted_scopes = sorted(info.scopes)
            if problem is None or tenant.status == "needs_reauth":
                continue
            was_active = tenant.status == "active"
            tenant.status = "needs_reauth"
            tenant.status_reason = f"{problem}; reconnect the Page"[:500]
            text = f"Reconnect your Facebook Page {tenant.page_name or page_id}: {problem}. "
            text += "Replies to buyers are held until you do." if was_active else ""
            await notify_seller(session, tenant_id, None, "needs_reauth", text)
            seller = await session.get(Seller, tenant.seller_id)
            email = seller.email if seller else None
            report.needs_reauth.append(page_id)
            log.warning("page_needs_reauth", tenant_id=tenant_id, reason=problem)
        if mailer is not None and email:
            await mailer.send(
                OutgoingMail(
                    to=email,
                    subject="Reconnect your Facebook Page",
                    text=text + "\n\nOpen your Accorria dashboard and choose Connect with Facebook.",
                    idempotency_key=f"token-health:{tenant_id}:{now:%Y-%m-%d}",
                )
            )
    return report
