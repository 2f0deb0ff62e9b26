"""The memory ledger: every ``memory_write`` as a version with provenance, and rollback to the last good state."""
