"""Cells of the tables of ``svdkit lora`` (extract, resize, pissa): numbers as text."""

from __future__ import annotations

import math

__all__ = ["energy_cell", "error_cell"]

#: Below this a relative error is shown in scientific notation: ``.4f`` would print
#: every error under 5e-5 as ``0.0000``, an error above a bound of 1e-5 included.
_FIXED_FROM = 1e-3

#: Above this an energy kept is shown as ``1 − x``: ``.4f`` printed every energy above
#: 0.99995 as ``1.0000``, a missed ``--energy 0.9999999`` included.
_NEAR_ONE = 0.9999


def error_cell(value: float) -> str:
    """A relative error for a table: ``0.0123`` from 1e-3 up, ``4.56e-06`` below it,
    ``0`` for exactly zero (and ``inf`` or ``nan`` as they are).

    Examples
    --------
    >>> error_cell(0.01234), error_cell(4.56e-6), error_cell(0.0), error_cell(1.0)
    ('0.0123', '4.56e-06', '0', '1.0000')
    """
    if value == 0:
        return "0"
    if not math.isfinite(value) or abs(value) >= _FIXED_FROM:
        return f"{value:.4f}"
    return f"{value:.2e}"


def energy_cell(value: float) -> str:
    """An energy kept for a table: ``0.9876`` up to 0.9999, ``1 − 5.28e-06`` above it
    (what is left out, in scientific notation: ``.4f`` would print it as ``1.0000``),
    ``1.0000`` for exactly one (and ``nan`` as it is).

    Examples
    --------
    >>> energy_cell(0.98765), energy_cell(1 - 5.28e-6), energy_cell(1.0), energy_cell(0.0)
    ('0.9877', '1 − 5.28e-06', '1.0000', '0.0000')
    """
    if not math.isfinite(value) or value <= _NEAR_ONE or value >= 1:
        return f"{value:.4f}"
    return f"1 − {1.0 - value:.2e}"
