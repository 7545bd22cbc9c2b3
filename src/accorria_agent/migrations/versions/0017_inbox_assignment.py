"""Inbox: a conversation's assignee, and the indexes its keyset pages and unread counts read

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_member_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_messenger_conversations_assigned_member_id_members"),
            "members",
            ["assigned_member_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_messenger_conversations_tenant_updated", ["tenant_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_messenger_conversations_tenant_assigned",
            ["tenant_id", "assigned_member_id", "updated_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("seller_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_seller_notifications_conversation", ["conversation_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("seller_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_seller_notifications_conversation")
    with op.batch_alter_table("messenger_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_messenger_conversations_tenant_assigned")
        batch_op.drop_index("ix_messenger_conversations_tenant_updated")
        batch_op.drop_constraint(
            batch_op.f("fk_messenger_conversations_assigned_member_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("assigned_member_id")
