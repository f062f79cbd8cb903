"""reelhouse.webhooks."""
