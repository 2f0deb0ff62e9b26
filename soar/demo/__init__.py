"""The demo (``make demo``): services, a webhook receiver, a simulated fleet under attack, the result table."""
