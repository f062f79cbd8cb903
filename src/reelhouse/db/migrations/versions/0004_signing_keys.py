"""Signing keys for playback tokens, and playback restrictions (referrer / user agent rules).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Only the public half of a key is kept; a deleted key stays (deleted_at) so a token signed
    # with it is refused with a precise reason, and its id is never reused.
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
    )
    op.create_index(
        "ix_signing_keys_env_created", "signing_keys", ["environment_id", "created_at", "id"]
    )
    op.create_table(
        "playback_restrictions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("environment_id", sa.Text, sa.ForeignKey("environments.id"), nullable=False),
        sa.Column("referrer", JSONB, nullable=False),
        sa.Column("user_agent", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_playback_restrictions_env_created",
        "playback_restrictions",
        ["environment_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("playback_restrictions")
    op.drop_table("signing_keys")
