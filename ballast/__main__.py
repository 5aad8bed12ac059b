"""``python -m ballast`` runs the CLI."""

from ballast.cli import main

main()
