"""Connecting Pages to an account: the Login dialog, the callback, the choice, listing and disconnecting.

Meta's manual Login flow (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow):
dialog → ``code`` → user token → long-lived user token (``fb_exchange_token``) → ``me/permissions``
(every permission we asked for granted?) → ``me/accounts`` (the Pages, each with a Page token that does
not expire when obtained from a long-lived user token). The Page tokens are held encrypted server-side
(:class:`PendingPageGrant`) until the owner chooses; each chosen Page is subscribed to our webhooks
(``POST {page-id}/subscribed_apps``) and set up (Get Started, menu, greeting) before it is stored.

Graph calls happen outside database transactions (the caller commits each step), so a slow Graph never
holds a row lock. Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.context import MemberContext
from accorria_agent.crypto import TokenCipher
from accorria_agent.errors import BadRequest, NotFound, Unavailable
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.messenger.errors import GraphApiError
from accorria_agent.messenger.graph_client import GraphClient, PageGrant
from accorria_agent.messenger.page_setup import configure_page
from accorria_agent.pages import repository
from accorria_agent.pages.models import PendingPageGrant
from accorria_agent.pages.schemas import (
    AvailablePage,
    AvailablePages,
    ConnectedPage,
    ConnectOutcome,
)
from accorria_agent.sellers.models import MessengerTenant, Seller
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

#: The permissions the agent needs, exactly as the Login dialog asks for them.
REQUIRED_SCOPES: tuple[str, ...] = ("pages_messaging", "pages_manage_metadata", "pages_read_engagement")
#: The webhook fields the agent handles (messenger/events.py parses each of these).
SUBSCRIBED_FIELDS: tuple[str, ...] = (
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "messaging_referrals",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "message_reactions",
    "message_edits",
    "messaging_handovers",
    "standby",
)
GRANT_TTL = timedelta(minutes=15)


class PermissionsDeclined(BadRequest):
    """The person declined permissions the agent needs; ``missing`` lists them."""

    code = "permissions_declined"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "Facebook did not grant " + ", ".join(missing) + ". The assistant needs every permission "
            "it asks for to answer buyers on your Page. Connect again and allow them."
        )
        self.missing = missing


class DialogCancelled(BadRequest):
    """The person cancelled the Login dialog."""

    code = "access_denied"


@dataclass(frozen=True)
class PagesDeps:
    """What the use cases need from the process: settings, Graph, the token cipher, the job queue."""

    settings: Settings
    graph: GraphClient
    cipher: TokenCipher
    queue: JobQueue


@dataclass(frozen=True)
class PendingChoice:
    """The callback's outcome: a grant to choose from, and the one-time token of the choice form."""

    grant_id: int
    form_token: str
    available: AvailablePages


def login_dialog_url(settings: Settings, redirect_uri: str, state: str, *, rerequest: bool = False) -> str:
    """The Login dialog URL with our app, callback, state and the three permissions."""
    base = settings.facebook_login_url.replace("{version}", settings.facebook_graph_version)
    params = {
        "client_id": settings.facebook_app_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": ",".join(REQUIRED_SCOPES),
        "response_type": "code",
    }
    if rerequest:
        # Meta shows declined permissions again only when asked to (auth_type=rerequest).
        params["auth_type"] = "rerequest"
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(params)}"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


async def fetch_grant(
    deps: PagesDeps, code: str, redirect_uri: str, now: datetime
) -> tuple[list[str], list[PageGrant], datetime | None]:
    """Code → long-lived user token → granted scopes and Pages (raises :class:`PermissionsDeclined`)."""
    settings = deps.settings
    app_id, app_secret = settings.facebook_app_id, settings.facebook_app_secret.get_secret_value()
    if not code or len(code) > 4096:
        raise BadRequest("Facebook sent no authorization code. Start connecting again.", code="no_code")
    try:
        short = await deps.graph.exchange_code(app_id, app_secret, redirect_uri, code)
        long_lived = await deps.graph.exchange_long_lived(app_id, app_secret, short.access_token)
        granted = await deps.graph.permissions(long_lived.access_token)
    except GraphApiError as error:
        log.warning("facebook_login_failed", error=error.summary())
        if error.code in (100, 190, 1, 101):
            raise BadRequest(
                "Facebook refused this sign-in (the link may have been used already). "
                "Start connecting again.",
                code="code_refused",
            ) from None
        raise Unavailable("Facebook is not answering right now. Try again in a minute.") from None
    missing = [scope for scope in REQUIRED_SCOPES if granted.get(scope) != "granted"]
    if missing:
        raise PermissionsDeclined(missing)
    try:
        pages = await deps.graph.pages(long_lived.access_token)
    except GraphApiError as error:
        log.warning("facebook_pages_failed", error=error.summary())
        raise Unavailable("Facebook did not list your Pages. Try again in a minute.") from None
    expires = now + timedelta(seconds=long_lived.expires_in) if long_lived.expires_in else None
    scopes = sorted(scope for scope, status in granted.items() if status == "granted")
    return scopes, pages, expires


async def hold_grant(
    session: AsyncSession,
    deps: PagesDeps,
    member: MemberContext,
    scopes: list[str],
    pages: list[PageGrant],
    user_token_expires_at: datetime | None,
    now: datetime,
) -> PendingChoice:
    """Keep the granted Pages (tokens encrypted) until the owner chooses; return what to show."""
    payload = json.dumps(
        [{"id": p.page_id, "name": p.name, "token": p.access_token, "tasks": list(p.tasks)} for p in pages]
    )
    form_token = secrets.token_urlsafe(32)
    grant = PendingPageGrant(
        seller_id=member.seller_id,
        member_id=member.member_id,
        payload_encrypted=deps.cipher.encrypt(payload),
        granted_scopes=scopes,
        form_token_hash=_hash(form_token),
        user_token_expires_at=user_token_expires_at,
        created_at=now,
        expires_at=now + GRANT_TTL,
    )
    session.add(grant)
    await session.flush()
    available = await _available(session, deps.cipher, member, grant)
    log.info("facebook_pages_granted", seller_id=member.seller_id, pages=len(pages), scopes=len(scopes))
    return PendingChoice(grant_id=grant.id, form_token=form_token, available=available)


async def available_pages(
    session: AsyncSession, cipher: TokenCipher, member: MemberContext, now: datetime
) -> AvailablePages:
    """The Pages of the member's latest grant (never their tokens); 404 when there is none."""
    grant = await repository.latest_grant(session, member.seller_id, member.member_id, now)
    if grant is None:
        raise NotFound("No Facebook grant is waiting; connect with Facebook first.", code="no_grant")
    return await _available(session, cipher, member, grant)


async def _available(
    session: AsyncSession, cipher: TokenCipher, member: MemberContext, grant: PendingPageGrant
) -> AvailablePages:
    pages = _decode_grant(cipher, grant)
    owners = await repository.owners_of(session, [str(p["id"]) for p in pages])
    return AvailablePages(
        grant_id=grant.id,
        expires_at=grant.expires_at,
        granted_scopes=list(grant.granted_scopes),
        pages=[
            AvailablePage(
                page_id=str(p["id"]),
                name=str(p["name"]),
                tasks=[str(t) for t in p.get("tasks", [])],
                connected=None
                if str(p["id"]) not in owners
                else "this_account"
                if owners[str(p["id"])] == member.seller_id
                else "another_account",
            )
            for p in pages
        ],
    )


def _decode_grant(cipher: TokenCipher, grant: PendingPageGrant) -> list[dict[str, Any]]:
    data = json.loads(cipher.decrypt(grant.payload_encrypted)) if grant.payload_encrypted else []
    return [item for item in data if isinstance(item, dict)]


async def chosen_pages(
    session: AsyncSession,
    cipher: TokenCipher,
    member: MemberContext,
    page_ids: list[str],
    now: datetime,
    *,
    grant_id: int | None = None,
    form_token: str | None = None,
) -> tuple[PendingPageGrant, list[dict[str, Any]]]:
    """The grant and the chosen Pages from it (tokens included, server-side only)."""
    grant = await repository.latest_grant(session, member.seller_id, member.member_id, now, grant_id)
    if grant is None:
        raise NotFound(
            "This choice has expired or was already made; connect with Facebook again.", code="no_grant"
        )
    if form_token is not None and not secrets.compare_digest(_hash(form_token), grant.form_token_hash):
        raise BadRequest("This form is not valid any more; connect with Facebook again.", code="csrf")
    by_id = {str(p["id"]): p for p in _decode_grant(cipher, grant)}
    unknown = [pid for pid in page_ids if pid not in by_id]
    if unknown:
        raise BadRequest(
            f"Page {unknown[0][:64]} was not granted in this Facebook sign-in.", code="not_granted"
        )
    return grant, [by_id[pid] for pid in dict.fromkeys(page_ids)]


async def set_up_pages(
    deps: PagesDeps, session: AsyncSession, member: MemberContext, pages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[ConnectOutcome]]:
    """Refuse Pages of other accounts, then subscribe and set up the rest (Graph; no rows change here).

    Returns the Pages ready to store and the refusals/failures.
    """
    owners = await repository.owners_of(session, [str(p["id"]) for p in pages])
    ready: list[dict[str, Any]] = []
    outcomes: list[ConnectOutcome] = []
    for page in pages:
        page_id, name = str(page["id"]), str(page["name"])
        owner = owners.get(page_id)
        if owner is not None and owner != member.seller_id:
            outcomes.append(
                ConnectOutcome(
                    page_id=page_id,
                    name=name,
                    result="refused",
                    detail="This Page is connected to another Accorria account; it cannot be taken over. "
                    "Its owner there must disconnect it and delete it from their account first.",
                )
            )
            continue
        try:
            await deps.graph.subscribe_app(page_id, str(page["token"]), list(SUBSCRIBED_FIELDS))
            greeting = f"Hi {{{{user_first_name}}}}! Ask us about our cars — {name}'s assistant replies 24/7."
            await configure_page(deps.graph, str(page["token"]), greeting[:160])
        except GraphApiError as error:
            log.warning("page_subscribe_failed", page_id=page_id, error=error.summary())
            outcomes.append(
                ConnectOutcome(
                    page_id=page_id,
                    name=name,
                    result="failed",
                    detail="Facebook refused to subscribe this Page to the assistant; try again later.",
                )
            )
            continue
        ready.append(page)
    return ready, outcomes


async def store_pages(
    session: AsyncSession,
    deps: PagesDeps,
    member: MemberContext,
    grant: PendingPageGrant,
    pages: list[dict[str, Any]],
    now: datetime,
) -> list[ConnectOutcome]:
    """Create or refresh a tenant per Page (token encrypted), release held replies of reconnected ones."""
    from accorria_agent.sellers.service import connect_page
    from accorria_agent.sending.controls import reconnect_page

    if not await repository.consume_grant(session, grant.id, now):
        raise NotFound("This choice was already made; connect with Facebook again.", code="no_grant")
    seller = await session.get(Seller, member.seller_id)
    if seller is None:
        raise NotFound("This account no longer exists.")
    outcomes: list[ConnectOutcome] = []
    for page in pages:
        page_id, name, token = str(page["id"]), str(page["name"]), str(page["token"])
        existing = await repository.tenant_by_page(session, page_id, lock=True)
        if existing is not None and existing.seller_id != member.seller_id:
            # Connected by another account between the check and now.
            outcomes.append(
                ConnectOutcome(
                    page_id=page_id, name=name, result="refused", detail="connected to another account"
                )
            )
            continue
        if existing is None:
            tenant = await connect_page(
                session, deps.cipher, seller, page_id=page_id, page_name=name, page_access_token=token
            )
            result = "connected"
        else:
            tenant = existing
            tenant.page_name = name or tenant.page_name
            released = await reconnect_page(session, deps.queue, deps.cipher, page_id, token)
            log.info("page_reconnected", tenant_id=tenant.id, released=released)
            result = "reconnected"
        record = await repository.connection(session, tenant.id)
        record.granted_scopes = list(grant.granted_scopes)
        record.token_expires_at = None  # a Page token from a long-lived user token does not expire
        record.token_checked_at = now
        record.connected_by_member_id = member.member_id
        record.connected_at = now
        record.disconnected_at = None
        outcomes.append(ConnectOutcome(page_id=page_id, name=name, result=result))
    await session.flush()
    return outcomes


async def list_pages(session: AsyncSession, seller_id: int) -> list[ConnectedPage]:
    """The account's Pages with status, expiry and scopes (never a token)."""
    return [
        ConnectedPage(
            page_id=tenant.page_id,
            name=tenant.page_name,
            status=tenant.status,
            status_reason=tenant.status_reason,
            token_expires_at=connection.token_expires_at if connection else None,
            token_checked_at=connection.token_checked_at if connection else None,
            granted_scopes=list(connection.granted_scopes) if connection else [],
            connected_at=connection.connected_at if connection else tenant.created_at,
        )
        for tenant, connection in await repository.seller_pages(session, seller_id)
    ]


async def page_token_for_disconnect(
    session: AsyncSession, cipher: TokenCipher, seller_id: int, page_id: str
) -> str | None:
    """The Page's token (to unsubscribe with) if it is this account's; 404 otherwise."""
    tenant = await repository.seller_tenant(session, seller_id, page_id)
    if tenant is None:
        raise NotFound("No such Page in this account.")
    if not tenant.page_access_token_encrypted:
        return None
    return cipher.decrypt(tenant.page_access_token_encrypted)


async def unsubscribe(deps: PagesDeps, page_id: str, token: str | None) -> bool:
    """``DELETE {page-id}/subscribed_apps``; a token Meta no longer accepts counts as unsubscribed."""
    if token is None:
        return False
    try:
        await deps.graph.unsubscribe_app(page_id, token)
    except GraphApiError as error:
        if error.code == 190:
            return False
        log.warning("page_unsubscribe_failed", page_id=page_id, error=error.summary())
        raise Unavailable("Facebook did not confirm the disconnection; try again in a minute.") from None
    return True


async def mark_disconnected(
    session: AsyncSession, queue: JobQueue, seller_id: int, page_id: str, now: datetime
) -> MessengerTenant:
    """Delete the Page's token and mark it ``disconnected``; replies it held are dropped.

    The tenant row stays (not deleted) so the seller keeps their conversations, deals and analytics of
    that Page; deleting the account (privacy) removes it all. The Page cannot be taken over meanwhile.
    """
    from accorria_agent.sending.controls import release_held

    tenant = await repository.seller_tenant(session, seller_id, page_id)
    if tenant is None:
        raise NotFound("No such Page in this account.")
    tenant.page_access_token_encrypted = ""
    tenant.status = "disconnected"
    tenant.status_reason = "disconnected by the seller"
    record = await repository.connection(session, tenant.id)
    record.disconnected_at = now
    dropped = await release_held(session, queue, tenant.id, discard=True)
    log.info("page_disconnected", tenant_id=tenant.id, dropped=dropped)
    await session.flush()
    return tenant
