"""Ingest stage: raw bytes -> ``AgentEvent`` or a dead letter with its reason."""
