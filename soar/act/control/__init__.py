"""Raw control commands."""
