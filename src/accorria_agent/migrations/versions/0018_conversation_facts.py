"""Analytics facts per conversation (kept by triggers, backfilled); test-drive hours per Page or listing

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base
from accorria_agent.analytics import facts_sql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = accorria_agent.db.base.UTCDateTime(timezone=True)
_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
# The funnel steps and the takeover causes, one boolean column each.
_FLAGS = (
    *facts_sql.FUNNEL_KINDS,
    "taken_over",
    *(f"takeover_{cause}" for cause in facts_sql.CAUSES),
)


_COUNTS = ("policy_refusals", "agreed_deals", "agreed_to_asking_sum")


def upgrade() -> None:
    op.create_table(
        "conversation_facts",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("started_at", _ts, nullable=False),
        sa.Column("first_buyer_message_at", _ts, nullable=True),
        sa.Column("first_reply_at", _ts, nullable=True),
        sa.Column("response_seconds", sa.Float(), nullable=True),
        *(sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False) for flag in _FLAGS),
        sa.Column("policy_refusals", sa.Integer(), server_default="0", nullable=False),
        sa.Column("agreed_deals", sa.Integer(), server_default="0", nullable=False),
        sa.Column("agreed_to_asking_sum", sa.Float(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_conversation_facts_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_conversation_facts_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_facts")),
    )
    # Covering on PostgreSQL: the report is an index-only scan of the cohort (ignored on SQLite).
    op.create_index(
        "ix_conversation_facts_tenant_started",
        "conversation_facts",
        ["tenant_id", "started_at"],
        postgresql_include=["listing_id", "response_seconds", *_FLAGS, *_COUNTS],
    )
    dialect = op.get_bind().dialect.name
    for statement in facts_sql.install_statements(dialect):
        op.execute(statement)
    # Existing conversations are counted from their rows (the triggers only see what comes next).
    for statement in facts_sql.recount_statements(dialect):
        op.execute(statement)

    _create_overrides()


def _create_overrides() -> None:
    op.create_table(
        "test_drive_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("weekly_hours", _json, nullable=False),
        sa.Column("exceptions", _json, nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("place_area", sa.String(length=200), nullable=True),
        sa.Column("place_address", sa.String(length=300), nullable=True),
        sa.Column("updated_at", _ts, nullable=False),
        sa.CheckConstraint(
            "(tenant_id IS NULL) <> (listing_id IS NULL)", name=op.f("ck_test_drive_overrides_one_scope")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_test_drive_overrides_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_test_drive_overrides_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_test_drive_overrides_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_drive_overrides")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_test_drive_overrides_tenant_id")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_test_drive_overrides_listing_id")),
    )
    op.create_index("ix_test_drive_overrides_seller", "test_drive_overrides", ["seller_id"])


def downgrade() -> None:
    op.drop_index("ix_test_drive_overrides_seller", table_name="test_drive_overrides")
    op.drop_table("test_drive_overrides")
    for statement in facts_sql.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_conversation_facts_tenant_started", table_name="conversation_facts")
    op.drop_table("conversation_facts")
