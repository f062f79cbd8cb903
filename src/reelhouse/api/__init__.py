"""reelhouse.api."""
