"""reelhouse.cli."""
