"""Stale-claim sweep: a partial index on the replies claimed for sending (status ``sending``)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("status = 'sending'")


def upgrade() -> None:
    # An index, not a table change: SQLite keeps the table (and its analytics triggers) as it is.
    op.create_index(
        "ix_messenger_messages_sending_claimed",
        "messenger_messages",
        ["claimed_at"],
        postgresql_where=_WHERE,
        sqlite_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_messenger_messages_sending_claimed", table_name="messenger_messages")
