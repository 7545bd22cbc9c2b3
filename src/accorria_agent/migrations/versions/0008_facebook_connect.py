"""Facebook Login: OAuth states, pending Page grants, Page connections (token health)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accorria_agent.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
_when = accorria_agent.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "facebook_oauth_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _when(timezone=True), nullable=False),
        sa.Column("expires_at", _when(timezone=True), nullable=False),
        sa.Column("consumed_at", _when(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_facebook_oauth_states_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facebook_oauth_states")),
        sa.UniqueConstraint("nonce", name=op.f("uq_facebook_oauth_states_nonce")),
    )
    op.create_index(
        op.f("ix_facebook_oauth_states_seller_id"), "facebook_oauth_states", ["seller_id"], unique=False
    )
    op.create_table(
        "facebook_pending_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("payload_encrypted", sa.Text(), nullable=False),
        sa.Column("granted_scopes", _json, nullable=False),
        sa.Column("form_token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_token_expires_at", _when(timezone=True), nullable=True),
        sa.Column("created_at", _when(timezone=True), nullable=False),
        sa.Column("expires_at", _when(timezone=True), nullable=False),
        sa.Column("consumed_at", _when(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_facebook_pending_grants_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facebook_pending_grants")),
    )
    op.create_index(
        op.f("ix_facebook_pending_grants_seller_id"), "facebook_pending_grants", ["seller_id"], unique=False
    )
    op.create_table(
        "page_connections",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("granted_scopes", _json, nullable=False),
        sa.Column("token_expires_at", _when(timezone=True), nullable=True),
        sa.Column("token_checked_at", _when(timezone=True), nullable=True),
        sa.Column("connected_by_member_id", sa.Integer(), nullable=True),
        sa.Column("connected_at", _when(timezone=True), nullable=False),
        sa.Column("disconnected_at", _when(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["messenger_tenants.id"],
            name=op.f("fk_page_connections_tenant_id_messenger_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_page_connections")),
    )


def downgrade() -> None:
    op.drop_table("page_connections")
    op.drop_index(op.f("ix_facebook_pending_grants_seller_id"), table_name="facebook_pending_grants")
    op.drop_table("facebook_pending_grants")
    op.drop_index(op.f("ix_facebook_oauth_states_seller_id"), table_name="facebook_oauth_states")
    op.drop_table("facebook_oauth_states")
