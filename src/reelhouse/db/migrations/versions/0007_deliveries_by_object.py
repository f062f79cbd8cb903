"""Indexes for reading the webhook deliveries about one object (an asset's page).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events about an object, then their deliveries: without these both are sequential scans
    # of tables that grow with every event sent.
    op.create_index("ix_outbox_events_object", "outbox_events", ["environment_id", "object_id"])
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_index("ix_outbox_events_object", table_name="outbox_events")
