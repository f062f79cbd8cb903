"""Pydantic models of the Mux wire format (and nothing else: no SQL, no HTTP)."""
