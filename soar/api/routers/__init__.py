"""One router per resource; ``soar.api.app`` includes them all."""
