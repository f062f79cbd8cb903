"""reelhouse: a self-hosted video platform that speaks the core of the Mux Video API."""

__version__ = "0.1.0"
