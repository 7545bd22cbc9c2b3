"""Seller questions and listing facts; per-language disclosure texts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "listing_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_listing_facts_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_facts")),
        sa.UniqueConstraint("listing_id", "topic", name=op.f("uq_listing_facts_listing_id_topic")),
    )
    op.create_index(op.f("ix_listing_facts_listing_id"), "listing_facts", ["listing_id"], unique=False)
    op.create_table(
        "seller_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("buyer_text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_seller_questions_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_seller_questions_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_seller_questions_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_questions")),
    )
    op.create_index(
        op.f("ix_seller_questions_conversation_id"), "seller_questions", ["conversation_id"], unique=False
    )
    op.create_index(
        "ix_seller_questions_tenant_status", "seller_questions", ["tenant_id", "status"], unique=False
    )
    op.create_index(
        "ix_seller_questions_listing_topic", "seller_questions", ["listing_id", "topic"], unique=False
    )
    with op.batch_alter_table("messenger_settings") as batch:
        batch.add_column(sa.Column("disclosure_texts", _json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messenger_settings") as batch:
        batch.drop_column("disclosure_texts")
    op.drop_index("ix_seller_questions_listing_topic", table_name="seller_questions")
    op.drop_index("ix_seller_questions_tenant_status", table_name="seller_questions")
    op.drop_index(op.f("ix_seller_questions_conversation_id"), table_name="seller_questions")
    op.drop_table("seller_questions")
    op.drop_index(op.f("ix_listing_facts_listing_id"), table_name="listing_facts")
    op.drop_table("listing_facts")
