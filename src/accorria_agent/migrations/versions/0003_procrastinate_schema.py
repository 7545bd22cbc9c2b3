"""The PostgreSQL job queue's schema (procrastinate); nothing on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from accorria_agent.jobs.procrastinate_schema import apply_schema_to_connection

    apply_schema_to_connection(bind)


def downgrade() -> None:
    # procrastinate's tables hold only transient jobs; dropping them is left to the operator.
    pass
