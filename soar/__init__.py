"""soar: an Agentic SOAR that verifies, detects and contains autonomous AI agents."""

__version__ = "0.1.0"
