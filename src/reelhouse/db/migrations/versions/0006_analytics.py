"""Analytics: one row per view (from player beacons) and daily rollups per asset.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # asset_id and playback_id carry no foreign key: a view outlives the asset or playback id it
    # played, so history survives deletions. No IP address is stored, only viewer_hash (a salted
    # hash whose salt changes every day).
    op.create_table(
        "views",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("asset_id", sa.Text, nullable=False),
        sa.Column("playback_id", sa.Text, nullable=False),
        sa.Column("viewer_hash", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("last_beacon_at", TS, nullable=False),
        sa.Column("first_frame_ms", sa.Integer, nullable=True),
        sa.Column("watch_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("rebuffer_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rebuffer_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("rebuffering_since_ms", sa.BigInteger, nullable=True),
        sa.Column("errored", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error_code", sa.Text, nullable=True),
        sa.Column("exited_before_start", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("ended", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="-1"),
        sa.Column("player_name", sa.Text, nullable=True),
        sa.Column("ua_family", sa.Text, nullable=False, server_default="Other"),
    )
    op.create_index("ix_views_env_started", "views", ["environment_id", "started_at"])
    op.create_table(
        "daily_rollups",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        # '' is the environment's total over every asset (percentiles do not add up).
        sa.Column("asset_id", sa.Text, nullable=False),
        sa.Column("views", sa.Integer, nullable=False),
        sa.Column("unique_viewers", sa.Integer, nullable=False),
        sa.Column("watch_seconds", sa.Float, nullable=False),
        sa.Column("rebuffer_seconds", sa.Float, nullable=False),
        sa.Column("startup_p50_ms", sa.Float, nullable=True),
        sa.Column("startup_p95_ms", sa.Float, nullable=True),
        sa.Column("rebuffer_percentage", sa.Float, nullable=True),
        sa.Column("failure_percentage", sa.Float, nullable=True),
        sa.Column("exits_before_start", sa.Integer, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("environment_id", "day", "asset_id"),
    )


def downgrade() -> None:
    op.drop_table("daily_rollups")
    op.drop_table("views")
