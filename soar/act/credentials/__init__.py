"""Actions on the credentials soar issued."""
