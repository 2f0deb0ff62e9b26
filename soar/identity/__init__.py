"""Identity: agent registry and keys, soar's token signing key, task-scoped credentials (the PDP)."""
