"""Deals and their events (the record analytics reads)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("agreed_price", accorria_agent.db.base.Money(), nullable=True),
        sa.Column("asking_price", accorria_agent.db.base.Money(), nullable=True),
        sa.Column("agreed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_deals_seller_id_sellers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_deals_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_deals_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_deals_listing_id_listings"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_deals_conversation_id")),
    )
    op.create_index(op.f("ix_deals_seller_id"), "deals", ["seller_id"], unique=False)
    op.create_index(op.f("ix_deals_tenant_id"), "deals", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_deals_listing_id"), "deals", ["listing_id"], unique=False)
    op.create_table(
        "deal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("amount", accorria_agent.db.base.Money(), nullable=True),
        sa.Column("details", _json, nullable=False),
        sa.Column("occurred_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_deal_events_seller_id_sellers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_deal_events_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_events_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_deal_events_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_deal_events_listing_id_listings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_events")),
    )
    op.create_index("ix_deal_events_seller_occurred", "deal_events", ["seller_id", "occurred_at"])
    op.create_index("ix_deal_events_deal", "deal_events", ["deal_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_deal_events_deal", table_name="deal_events")
    op.drop_index("ix_deal_events_seller_occurred", table_name="deal_events")
    op.drop_table("deal_events")
    op.drop_index(op.f("ix_deals_listing_id"), table_name="deals")
    op.drop_index(op.f("ix_deals_tenant_id"), table_name="deals")
    op.drop_index(op.f("ix_deals_seller_id"), table_name="deals")
    op.drop_table("deals")
