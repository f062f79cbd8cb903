"""reelhouse.analytics."""
