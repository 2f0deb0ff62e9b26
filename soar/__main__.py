"""``python -m soar`` runs the CLI."""

from soar.cli import main

main()
