"""Cells of the tables of ``svdkit lora`` (extract, resize, pissa): numbers as text."""

from __future__ import annotations

import math

__all__ = ["error_cell"]

#: Below this a relative error is shown in scientific notation: ``.4f`` would print
#: every error under 5e-5 as ``0.0000``, an error above a bound of 1e-5 included.
_FIXED_FROM = 1e-3


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
