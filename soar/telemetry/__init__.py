"""The contract with agents: telemetry events, findings, control commands, signing."""
