"""Outbound claim: when a sender claimed a reply (status ``sending``) before calling the Send API

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base
from accorria_agent.analytics import facts_sql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: SQLite's own ALTER TABLE adds it without recreating the table (whose analytics
    # triggers a recreation would drop).
    op.add_column(
        "messenger_messages",
        sa.Column("claimed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("messenger_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    if dialect == "sqlite":
        # SQLite recreated the table to drop the column, and a recreated table has lost its triggers.
        for statement in facts_sql.drop_statements(dialect):
            op.execute(statement)
        for statement in facts_sql.install_statements(dialect):
            op.execute(statement)
