"""``python -m svdkit`` runs the command line."""

from svdkit.cli.main import main

if __name__ == "__main__":
    main()
