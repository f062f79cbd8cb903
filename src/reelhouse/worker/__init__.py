"""reelhouse.worker."""
