"""Decide stage: match findings to playbooks and run them durably."""
