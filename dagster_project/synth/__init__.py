"""Deterministic synthetic landing zones (``pfpw generate``)."""
