"""The ``svdkit`` command."""
