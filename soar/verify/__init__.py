"""Verify stage: identity checks on every event; failures become identity findings."""
