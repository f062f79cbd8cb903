"""Environments, access tokens, direct uploads and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("max_upload_bytes", sa.BigInteger, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("permissions", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.CheckConstraint(
            "permissions <@ ARRAY['video:read','video:write','system:read','system:write',"
            "'data:read']::text[]",
            name="ck_access_tokens_permissions",
        ),
    )
    op.create_index("ix_access_tokens_environment_id", "access_tokens", ["environment_id"])
    op.create_table(
        "direct_uploads",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("cors_origin", sa.Text, nullable=True),
        sa.Column("new_asset_settings", postgresql.JSONB, nullable=False),
        sa.Column("asset_id", sa.Text, nullable=True),
        sa.Column("error", postgresql.JSONB, nullable=True),
        sa.Column("test", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("purged_at", TS, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.Text, nullable=True),
        sa.Column("filename", sa.Text, nullable=True),
        sa.Column("via", sa.Text, nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting','asset_created','errored','cancelled','timed_out')",
            name="ck_direct_uploads_status",
        ),
        sa.CheckConstraint("via IN ('api','files')", name="ck_direct_uploads_via"),
    )
    op.create_index(
        "ix_direct_uploads_env_created", "direct_uploads", ["environment_id", "created_at"]
    )
    op.create_index(
        "ix_direct_uploads_waiting_expiry",
        "direct_uploads",
        ["expires_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("object_type", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text, nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
    )
    op.create_index(
        "ix_outbox_events_undelivered",
        "outbox_events",
        ["seq"],
        postgresql_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox_events")
    op.drop_table("direct_uploads")
    op.drop_table("access_tokens")
    op.drop_table("environments")
