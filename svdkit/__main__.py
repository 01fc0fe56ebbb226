"""``python -m svdkit`` runs the command line."""

from svdkit.cli.main import main

main()
