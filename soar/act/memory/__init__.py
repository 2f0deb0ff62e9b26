"""Actions on an agent's memory stores."""
