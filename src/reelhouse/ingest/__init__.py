"""reelhouse.ingest."""
