"""reelhouse.db."""
