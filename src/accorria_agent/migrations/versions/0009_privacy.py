"""Privacy: the events log knows its tenant, Pages know who connected them, privacy requests are recorded

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("messenger_events_log") as batch:
        batch.add_column(sa.Column("tenant_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_messenger_events_log_tenant_id"), ["tenant_id"], unique=False)
    # Rows stored before this revision learn their tenant from their Page.
    op.execute(
        "UPDATE messenger_events_log SET tenant_id = ("
        "SELECT t.id FROM messenger_tenants t WHERE t.page_id = messenger_events_log.page_id)"
    )
    with op.batch_alter_table("messenger_tenants") as batch:
        batch.add_column(sa.Column("facebook_user_id", sa.String(length=64), nullable=True))
        batch.create_index(
            batch.f("ix_messenger_tenants_facebook_user_id"), ["facebook_user_id"], unique=False
        )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirmation_code", sa.String(length=64), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("page_id", sa.String(length=64), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("counts", _json, nullable=False),
        sa.Column("requested_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        sa.UniqueConstraint("confirmation_code", name=op.f("uq_privacy_requests_confirmation_code")),
    )


def downgrade() -> None:
    op.drop_table("privacy_requests")
    with op.batch_alter_table("messenger_tenants") as batch:
        batch.drop_index(batch.f("ix_messenger_tenants_facebook_user_id"))
        batch.drop_column("facebook_user_id")
    with op.batch_alter_table("messenger_events_log") as batch:
        batch.drop_index(batch.f("ix_messenger_events_log_tenant_id"))
        batch.drop_column("tenant_id")
