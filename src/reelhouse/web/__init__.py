"""reelhouse.web."""
