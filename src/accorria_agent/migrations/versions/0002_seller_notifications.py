"""Seller notifications; when the seller last wrote to a buyer

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:05:34.520319
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seller_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_seller_notifications_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_seller_notifications_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_notifications")),
    )
    with op.batch_alter_table("seller_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_seller_notifications_tenant_created", ["tenant_id", "id"], unique=False)
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_seller_message_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.drop_column("last_seller_message_at")
    with op.batch_alter_table("seller_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_seller_notifications_tenant_created")

    op.drop_table("seller_notifications")
