"""Escrow on deals (transaction id unique, status, checkout URL, fee, attempts) and accepted webhooks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deals") as batch:
        batch.add_column(
            sa.Column("escrow_status", sa.String(length=16), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("escrow_transaction_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("escrow_checkout_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("escrow_fee", accorria_agent.db.base.Money(), nullable=True))
        batch.add_column(sa.Column("escrow_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escrow_error", sa.String(length=300), nullable=True))
    # An index, not a table constraint: SQLite cannot add constraints to an existing table.
    op.create_index("uq_deals_escrow_transaction_id", "deals", ["escrow_transaction_id"], unique=True)
    op.create_table(
        "escrow_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("received_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_escrow_webhook_events_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_escrow_webhook_events_event_id")),
    )
    op.create_index(
        op.f("ix_escrow_webhook_events_deal_id"), "escrow_webhook_events", ["deal_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_escrow_webhook_events_deal_id"), table_name="escrow_webhook_events")
    op.drop_table("escrow_webhook_events")
    op.drop_index("uq_deals_escrow_transaction_id", table_name="deals")
    with op.batch_alter_table("deals") as batch:
        for name in (
            "escrow_error",
            "escrow_attempts",
            "escrow_fee",
            "escrow_checkout_url",
            "escrow_transaction_id",
            "escrow_status",
        ):
            batch.drop_column(name)
