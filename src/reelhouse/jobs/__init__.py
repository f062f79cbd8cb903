"""reelhouse.jobs."""
