"""The global kill switch, and an index to find held replies on resume

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sending_controls",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("halted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("changed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_sending_controls")),
    )
    op.create_index(
        "ix_messenger_messages_held",
        "messenger_messages",
        ["tenant_id", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messenger_messages_held", table_name="messenger_messages")
    op.drop_table("sending_controls")
