"""reelhouse.server."""
