"""Listing photos and the VIN

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("vin", sa.String(length=17), nullable=True))
    op.create_table(
        "listing_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", accorria_agent.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_listing_photos_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_listing_photos_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_photos")),
        sa.UniqueConstraint("key", name=op.f("uq_listing_photos_key")),
    )
    op.create_index(op.f("ix_listing_photos_seller_id"), "listing_photos", ["seller_id"])
    op.create_index("ix_listing_photos_listing_position", "listing_photos", ["listing_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_listing_photos_listing_position", table_name="listing_photos")
    op.drop_index(op.f("ix_listing_photos_seller_id"), table_name="listing_photos")
    op.drop_table("listing_photos")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("vin")
