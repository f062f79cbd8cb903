"""Assets, their playback ids and their published renditions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("upload_id", sa.Text, sa.ForeignKey("direct_uploads.id"), nullable=True),
        sa.Column("ingest_type", sa.Text, nullable=False),
        sa.Column("inputs", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("settings", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("passthrough", sa.Text, nullable=True),
        sa.Column("test", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source_key", sa.Text, nullable=True),
        sa.Column("source_size", sa.BigInteger, nullable=True),
        sa.Column("source_sha256", sa.Text, nullable=True),
        sa.Column("duration", sa.Float, nullable=True),
        sa.Column("aspect_ratio", sa.Text, nullable=True),
        sa.Column("resolution_tier", sa.Text, nullable=True),
        sa.Column("max_stored_frame_rate", sa.Float, nullable=True),
        sa.Column("max_stored_resolution", sa.Text, nullable=True),
        sa.Column("tracks", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("input_info", JSONB, nullable=True),
        sa.Column("errors", JSONB, nullable=True),
        sa.Column("progress", sa.Float, nullable=False, server_default=sa.text("0")),
        sa.Column("progress_state", sa.Text, nullable=False, server_default="ingesting"),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ready_at", TS, nullable=True),
        sa.CheckConstraint("status IN ('preparing', 'ready', 'errored')", name="ck_assets_status"),
        sa.CheckConstraint(
            "ingest_type IN ('on_demand_url', 'on_demand_direct_upload', 'on_demand_clip')",
            name="ck_assets_ingest_type",
        ),
    )
    op.create_index(
        "ix_assets_environment_created", "assets", ["environment_id", "created_at", "id"]
    )
    op.create_index(
        "ix_assets_upload",
        "assets",
        ["upload_id"],
        unique=True,
        postgresql_where=sa.text("upload_id IS NOT NULL"),
    )
    op.create_table(
        "playback_ids",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column(
            "asset_id", sa.Text, sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("policy IN ('public', 'signed')", name="ck_playback_ids_policy"),
    )
    op.create_index("ix_playback_ids_asset", "playback_ids", ["asset_id"])
    op.create_table(
        "renditions",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column(
            "asset_id", sa.Text, sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("frame_rate", sa.Float, nullable=True),
        sa.Column("bandwidth", sa.Integer, nullable=False),
        sa.Column("average_bandwidth", sa.Integer, nullable=False),
        sa.Column("codecs", sa.Text, nullable=False),
        sa.Column("channels", sa.Integer, nullable=True),
        sa.Column("passthrough", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("playlist_key", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('video', 'audio')", name="ck_renditions_kind"),
        sa.UniqueConstraint("asset_id", "version", "name", name="uq_renditions_name"),
    )


def downgrade() -> None:
    op.drop_table("renditions")
    op.drop_table("playback_ids")
    op.drop_table("assets")
