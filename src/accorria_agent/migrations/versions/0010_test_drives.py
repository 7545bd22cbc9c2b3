"""Test drives: availability per seller and bookings holding slots (no double booking by index)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_utc = accorria_agent.db.base.UTCDateTime
_booked = sa.text("status = 'booked'")


def upgrade() -> None:
    op.create_table(
        "test_drive_availability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("weekly_hours", _json, nullable=False),
        sa.Column("exceptions", _json, nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("place_area", sa.String(length=200), nullable=True),
        sa.Column("place_address", sa.String(length=300), nullable=True),
        sa.Column("calendar_secret_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_at", _utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_test_drive_availability_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_drive_availability")),
        sa.UniqueConstraint("seller_id", name=op.f("uq_test_drive_availability_seller_id")),
        sa.UniqueConstraint(
            "calendar_secret_hash", name=op.f("uq_test_drive_availability_calendar_secret_hash")
        ),
    )
    op.create_table(
        "test_drive_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", _utc(timezone=True), nullable=False),
        sa.Column("ends_at", _utc(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reminded_at", _utc(timezone=True), nullable=True),
        sa.Column("created_at", _utc(timezone=True), nullable=False),
        sa.Column("updated_at", _utc(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_test_drive_bookings_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_test_drive_bookings_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["messenger_conversations.id"],
            name=op.f("fk_test_drive_bookings_conversation_id_messenger_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_test_drive_bookings_listing_id_listings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_drive_bookings")),
    )
    op.create_index(
        "uq_test_drive_bookings_seller_slot",
        "test_drive_bookings",
        ["seller_id", "starts_at"],
        unique=True,
        postgresql_where=_booked,
        sqlite_where=_booked,
    )
    op.create_index(
        "uq_test_drive_bookings_conversation",
        "test_drive_bookings",
        ["conversation_id"],
        unique=True,
        postgresql_where=_booked,
        sqlite_where=_booked,
    )
    op.create_index("ix_test_drive_bookings_seller_starts", "test_drive_bookings", ["seller_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_test_drive_bookings_seller_starts", table_name="test_drive_bookings")
    op.drop_index("uq_test_drive_bookings_conversation", table_name="test_drive_bookings")
    op.drop_index("uq_test_drive_bookings_seller_slot", table_name="test_drive_bookings")
    op.drop_table("test_drive_bookings")
    op.drop_table("test_drive_availability")
