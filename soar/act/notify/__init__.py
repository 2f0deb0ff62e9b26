"""Actions that page people through the notifier registry (``soar.notify``)."""
