"""Text tracks (subtitles and closed captions) added to an asset from a caption file URL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A row per text track; the converted WebVTT lives under the asset's prefix (object_key),
    # outside any output version, so a re-encode keeps it and deleting the asset removes it.
    op.create_table(
        "text_tracks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column(
            "asset_id", sa.Text, sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("language_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("closed_captions", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("text_type", sa.Text, nullable=False, server_default="subtitles"),
        sa.Column("text_source", sa.Text, nullable=False, server_default="uploaded"),
        sa.Column("passthrough", sa.Text, nullable=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("error", JSONB, nullable=True),
        sa.Column("object_key", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('preparing', 'ready', 'errored')", name="ck_text_tracks_status"
        ),
    )
    # The playback loader reads an asset's ready tracks in creation order.
    op.create_index("ix_text_tracks_asset", "text_tracks", ["asset_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("text_tracks")
