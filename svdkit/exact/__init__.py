"""The exact engine (being written): integers, fractions and radicals with SymPy."""
