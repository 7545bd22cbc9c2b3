"""Listings carry the revision of the seller's stated facts: a turn reads the facts only when they change

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: SQLite keeps the table (and its triggers) as it is.
    op.add_column("listings", sa.Column("facts_revision", sa.Integer(), nullable=False, server_default="0"))
    # A listing that has facts already must not read as "none ever stated".
    op.execute(
        "UPDATE listings SET facts_revision = 1 WHERE id IN (SELECT DISTINCT listing_id FROM listing_facts)"
    )


def downgrade() -> None:
    # Not batch mode: recreating the table would drop what hangs on it; SQLite ≥ 3.35 drops a column.
    op.execute("ALTER TABLE listings DROP COLUMN facts_revision")
