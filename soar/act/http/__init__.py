"""Calls to the user's own systems."""
