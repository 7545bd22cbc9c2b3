"""Analytics (mode changes, indexes for the report) and seller notification delivery

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_ts = accorria_agent.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversation_mode_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("from_mode", sa.String(length=32), nullable=True),
        sa.Column("to_mode", sa.String(length=32), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("changed_at", _ts, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_conversation_mode_changes_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_conversation_mode_changes_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_mode_changes")),
    )
    op.create_index(
        "ix_conversation_mode_changes_conversation",
        "conversation_mode_changes",
        ["conversation_id", "id"],
        unique=False,
    )
    # The analytics report: a Page's conversations started in a date range, and per conversation its
    # first buyer message and first reply (index-only probes instead of scanning every message).
    op.create_index(
        "ix_messenger_conversations_tenant_created",
        "messenger_conversations",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_messenger_messages_conversation_direction_sent",
        "messenger_messages",
        ["conversation_id", "direction", "sent_at"],
        unique=False,
    )
    # policy_refusals: the few refused messages, without reading every outbound message of the cohort.
    op.create_index(
        "ix_messenger_messages_refused",
        "messenger_messages",
        ["conversation_id"],
        unique=False,
        postgresql_where=sa.text("status = 'refused'"),
        sqlite_where=sa.text("status = 'refused'"),
    )
    # messenger_active_conversations, counted at every /metrics scrape.
    op.create_index(
        "ix_messenger_conversations_last_buyer_message_at",
        "messenger_conversations",
        ["last_buyer_message_at"],
        unique=False,
    )
    op.create_index(
        "ix_deal_events_conversation_kind", "deal_events", ["conversation_id", "kind"], unique=False
    )
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("email_kinds", _json, nullable=False),
        sa.Column("email_mode", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_notification_preferences_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint(
            "seller_id", "member_id", name=op.f("uq_notification_preferences_seller_id_member_id")
        ),
    )
    op.create_table(
        "notification_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_notification_webhooks_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_webhooks")),
        sa.UniqueConstraint("seller_id", name=op.f("uq_notification_webhooks_seller_id")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=2000), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _ts, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("delivered_at", _ts, nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_notification_deliveries_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["seller_notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_seller_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notification_deliveries_idempotency_key")),
    )
    op.create_index(
        "ix_notification_deliveries_status_due",
        "notification_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    # Which seller_notifications rows the dispatcher has already turned into deliveries (a watermark).
    op.create_table(
        "notification_dispatch_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_notification_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_dispatch_state")),
    )


def downgrade() -> None:
    op.drop_table("notification_dispatch_state")
    op.drop_index("ix_notification_deliveries_status_due", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_table("notification_webhooks")
    op.drop_table("notification_preferences")
    op.drop_index("ix_deal_events_conversation_kind", table_name="deal_events")
    op.drop_index("ix_messenger_messages_refused", table_name="messenger_messages")
    op.drop_index("ix_messenger_messages_conversation_direction_sent", table_name="messenger_messages")
    op.drop_index("ix_messenger_conversations_last_buyer_message_at", table_name="messenger_conversations")
    op.drop_index("ix_messenger_conversations_tenant_created", table_name="messenger_conversations")
    op.drop_index("ix_conversation_mode_changes_conversation", table_name="conversation_mode_changes")
    op.drop_table("conversation_mode_changes")
