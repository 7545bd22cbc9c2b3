"""Co-pilot mode: a reply mode per Page and per listing, and the drafts waiting for the seller

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import accorria_agent.db.base

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messenger_settings") as batch:
        batch.add_column(sa.Column("reply_mode", sa.String(length=16), server_default="bot", nullable=False))
    # Pages whose bot was switched off are "off" in the new vocabulary.
    op.execute("UPDATE messenger_settings SET reply_mode = 'off' WHERE NOT bot_enabled")
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("reply_mode", sa.String(length=16), nullable=True))
    op.create_table(
        "conversation_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("quick_replies", JSON_TYPE, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("decision", JSON_TYPE, nullable=False),
        sa.Column("decided_price", accorria_agent.db.base.Money(), nullable=True),
        sa.Column("state_after", JSON_TYPE, nullable=False),
        sa.Column("inputs", JSON_TYPE, nullable=False),
        sa.Column("handoff_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_conversation_drafts_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_conversation_drafts_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_drafts")),
    )
    op.create_index(
        "ix_conversation_drafts_tenant_conversation",
        "conversation_drafts",
        ["tenant_id", "conversation_id"],
    )
    op.create_index(
        "ux_conversation_drafts_pending",
        "conversation_drafts",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ux_conversation_drafts_pending", table_name="conversation_drafts")
    op.drop_index("ix_conversation_drafts_tenant_conversation", table_name="conversation_drafts")
    op.drop_table("conversation_drafts")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("reply_mode")
    with op.batch_alter_table("messenger_settings") as batch:
        batch.drop_column("reply_mode")
