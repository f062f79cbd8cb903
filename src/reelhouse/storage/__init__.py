"""reelhouse.storage."""
