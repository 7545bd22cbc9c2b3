"""Storage of the Page-connection flow: OAuth states, Page grants held between two steps, token health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow


class OAuthState(Base):
    """One Login-dialog round trip: the nonce of a signed ``state``, consumed exactly once.

    The state itself is a signed, expiring JWT carrying this nonce; the row binds it to the member and
    their session and makes it single-use (``consumed_at`` is set by one conditional UPDATE).
    """

    __tablename__ = "facebook_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the session credential that started the flow (never the credential itself).
    session_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PendingPageGrant(Base):
    """The Pages a person granted, held encrypted until they choose which ones to connect.

    ``payload_encrypted`` is a Fernet token of JSON (Page ids, names, tasks and Page tokens): the tokens
    never reach the browser. A grant expires after minutes and is consumed by the choice.
    """

    __tablename__ = "facebook_pending_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(Integer)
    payload_encrypted: Mapped[str] = mapped_column(Text)
    granted_scopes: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    # SHA-256 of the one-time token the server-rendered choice form carries (its CSRF token).
    form_token_hash: Mapped[str] = mapped_column(String(64))
    user_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PageConnection(Base):
    """How a connected Page was granted and how healthy its token is (one row per tenant)."""

    __tablename__ = "page_connections"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("messenger_tenants.id", ondelete="CASCADE"), primary_key=True
    )
    granted_scopes: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    # None: the token does not expire (a Page token obtained from a long-lived user token).
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connected_by_member_id: Mapped[int | None] = mapped_column(Integer)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
