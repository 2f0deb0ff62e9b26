"""Measured detection quality: ``soar eval`` (metrics over labelled JSONL) and ``soar detectors train``."""
