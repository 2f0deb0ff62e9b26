"""HTTP API: the PDP endpoints for agents and enforcement points, and operator views over the store."""
