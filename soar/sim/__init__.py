"""The simulated agent fleet: benign traffic and three attacks, through the real SDK."""
