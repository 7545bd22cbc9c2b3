"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 00:55:12.843916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import accorria_agent.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lock", sa.String(length=200), nullable=True),
        sa.Column("queueing_lock", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_queueing_lock", ["queueing_lock", "status"], unique=False)
        batch_op.create_index("ix_jobs_status_scheduled", ["status", "scheduled_at"], unique=False)

    op.create_table(
        "sellers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sellers")),
        sa.UniqueConstraint("email", name=op.f("uq_sellers_email")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("object", sa.String(length=32), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_table(
        "messenger_events_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_psid", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_messenger_events_log_delivery_id_webhook_deliveries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messenger_events_log")),
        sa.UniqueConstraint("page_id", "event_key", name=op.f("uq_messenger_events_log_page_id_event_key")),
    )
    with op.batch_alter_table("messenger_events_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messenger_events_log_pending", ["page_id", "buyer_psid", "processed_at"], unique=False
        )

    op.create_table(
        "messenger_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("page_name", sa.String(length=200), nullable=False),
        sa.Column("page_access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_messenger_tenants_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messenger_tenants")),
        sa.UniqueConstraint("page_id", name=op.f("uq_messenger_tenants_page_id")),
    )
    with op.batch_alter_table("messenger_tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messenger_tenants_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("make", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("trim", sa.String(length=64), nullable=True),
        sa.Column("mileage", sa.Integer(), nullable=True),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "photos",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asking_price", accorria_agent.db.base.Money(precision=12, scale=2), nullable=False),
        sa.Column("price_floor", accorria_agent.db.base.Money(precision=12, scale=2), nullable=False),
        sa.Column(
            "auto_accept_threshold", accorria_agent.db.base.Money(precision=12, scale=2), nullable=True
        ),
        sa.Column("max_concessions", sa.Integer(), nullable=False),
        sa.Column("response_tone", sa.String(length=32), nullable=False),
        sa.Column("escrow_enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_listings_seller_id_sellers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_listings_tenant_id_messenger_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listings_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "messenger_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("bot_enabled", sa.Boolean(), nullable=False),
        sa.Column("human_agent_tag_enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_resume_minutes", sa.Integer(), nullable=True),
        sa.Column("disclosure_text", sa.Text(), nullable=False),
        sa.Column("human_like_delays", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("rate_limit_per_hour", sa.Integer(), nullable=False),
        sa.Column("rate_limit_per_day", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_messenger_settings_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messenger_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_messenger_settings_tenant_id")),
    )
    op.create_table(
        "messenger_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("buyer_psid", sa.String(length=64), nullable=False),
        sa.Column("buyer_name", sa.String(length=200), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("paused_reason", sa.String(length=200), nullable=True),
        sa.Column("paused_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "negotiation_state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_buyer_message_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_bot_message_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disclosed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_messenger_conversations_listing_id_listings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_messenger_conversations_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messenger_conversations")),
        sa.UniqueConstraint(
            "tenant_id", "buyer_psid", name=op.f("uq_messenger_conversations_tenant_id_buyer_psid")
        ),
    )
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messenger_conversations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "messenger_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("mid", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sent_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("outbound_key", sa.String(length=64), nullable=True),
        sa.Column("messaging_type", sa.String(length=32), nullable=True),
        sa.Column("tag", sa.String(length=32), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_messenger_messages_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_messenger_messages_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messenger_messages")),
        sa.UniqueConstraint("outbound_key", name=op.f("uq_messenger_messages_outbound_key")),
        sa.UniqueConstraint("tenant_id", "mid", name=op.f("uq_messenger_messages_tenant_id_mid")),
    )
    with op.batch_alter_table("messenger_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messenger_messages_conversation_created", ["conversation_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messenger_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messenger_messages_conversation_created")

    op.drop_table("messenger_messages")
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messenger_conversations_tenant_id"))

    op.drop_table("messenger_conversations")
    op.drop_table("messenger_settings")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listings_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_listings_seller_id"))

    op.drop_table("listings")
    with op.batch_alter_table("messenger_tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messenger_tenants_seller_id"))

    op.drop_table("messenger_tenants")
    with op.batch_alter_table("messenger_events_log", schema=None) as batch_op:
        batch_op.drop_index("ix_messenger_events_log_pending")

    op.drop_table("messenger_events_log")
    op.drop_table("webhook_deliveries")
    op.drop_table("sellers")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_scheduled")
        batch_op.drop_index("ix_jobs_queueing_lock")

    op.drop_table("jobs")
