"""Incident bookkeeping actions."""
