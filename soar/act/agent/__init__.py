"""Actions on an agent's containment state."""
