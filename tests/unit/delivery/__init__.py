"""Unit tests of reelhouse.delivery."""
