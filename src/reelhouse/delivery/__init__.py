"""reelhouse.delivery."""
