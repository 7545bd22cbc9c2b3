"""Poison input: deliveries the database refused, and events whose handling was set aside

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("object", sa.String(length=32), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_refusals")),
    )
    op.create_table(
        "set_aside_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("buyer_psid", sa.String(length=64), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("set_aside_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retried_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["messenger_events_log.id"],
            name=op.f("fk_set_aside_events_event_id_messenger_events_log"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_set_aside_events_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_aside_events")),
    )
    op.create_index("ix_set_aside_events_open", "set_aside_events", ["retried_at", "id"])
    op.create_index(op.f("ix_set_aside_events_event_id"), "set_aside_events", ["event_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_set_aside_events_event_id"), table_name="set_aside_events")
    op.drop_index("ix_set_aside_events_open", table_name="set_aside_events")
    op.drop_table("set_aside_events")
    op.drop_table("webhook_refusals")
