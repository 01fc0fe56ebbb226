"""Cells of the tables of ``svdkit lora`` (extract, resize, pissa): numbers as text.

A cell marked ``!`` (a missed bound) is rounded away from the bound it misses, never to
nearest: ``missed=True`` floors an energy kept and ceils a relative error, so that a miss
just past ``--energy 0.99`` reads ``0.9899 !``, not ``0.9900 !``.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

__all__ = ["energy_cell", "error_cell"]

#: Below this a relative error is shown in scientific notation: ``.4f`` would print
#: every error under 5e-5 as ``0.0000``, an error above a bound of 1e-5 included.
_FIXED_FROM = 1e-3

#: Above this an energy kept is shown as ``1 − x``: ``.4f`` printed every energy above
#: 0.99995 as ``1.0000``, a missed ``--energy 0.9999999`` included.
_NEAR_ONE = 0.9999

#: Enough digits for any float64 quantized to 4 decimals (1.8e308 has 309).
_WIDE = Context(prec=400)


def _fixed(value: float, up: bool | None) -> str:
    """``value`` with 4 decimals: to nearest (``up`` None), up or down (of its shortest
    decimal, ``repr``'s: ``0.0123`` stays ``0.0123``, which its binary expansion,
    0.01230000000000000017…, would round up to ``0.0124``)."""
    if up is None:
        return f"{value:.4f}"
    q = Decimal(repr(value)).quantize(Decimal("0.0001"), ROUND_CEILING if up else ROUND_FLOOR,
                                       _WIDE)
    return f"{q:.4f}"


def _scientific(value: float, up: bool) -> str:
    """Positive finite ``value`` as ``f"{value:.2e}"`` does, rounded up or down (of its
    shortest decimal, as :func:`_fixed`)."""
    d = Decimal(repr(value))
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    q = d.quantize(Decimal(1).scaleb(d.adjusted() - 2), rounding)
    # (9.996e-6 rounded up is 1.00e-5: three digits again, now exact)
    q = q.quantize(Decimal(1).scaleb(q.adjusted() - 2), ROUND_HALF_EVEN)
    return f"{q.scaleb(-q.adjusted()):.2f}e{q.adjusted():+03d}"  # (Python's 1.00e-05)


def error_cell(value: float, missed: bool = False) -> str:
    """A relative error for a table: ``0.0123`` from 1e-3 up, ``4.56e-06`` below it,
    ``0`` for exactly zero (and ``inf`` or ``nan`` as they are). ``missed``: the cell is
    marked (above a bound), its value rounded up, so that it never reads as the bound.

    Examples
    --------
    >>> error_cell(0.01234), error_cell(4.56e-6), error_cell(0.0), error_cell(1.0)
    ('0.0123', '4.56e-06', '0', '1.0000')
    >>> error_cell(0.010004), error_cell(0.010004, missed=True)
    ('0.0100', '0.0101')
    >>> error_cell(1.0004e-4, missed=True)
    '1.01e-04'
    """
    if value == 0:
        return "0"
    if not math.isfinite(value) or abs(value) >= _FIXED_FROM:
        return _fixed(value, True if missed and math.isfinite(value) else None)
    return _scientific(value, up=True) if missed and value > 0 else f"{value:.2e}"


def energy_cell(value: float, missed: bool = False) -> str:
    """An energy kept for a table: ``0.9876`` up to 0.9999, ``1 − 5.28e-06`` above it
    (what is left out, in scientific notation: ``.4f`` would print it as ``1.0000``),
    ``1.0000`` for exactly one (and ``nan`` as it is). ``missed``: the cell is marked
    (below a bound), its value rounded down (what is left out, up), so that it never
    reads as the bound.

    Examples
    --------
    >>> energy_cell(0.98765), energy_cell(1 - 5.28e-6), energy_cell(1.0), energy_cell(0.0)
    ('0.9877', '1 − 5.28e-06', '1.0000', '0.0000')
    >>> energy_cell(0.98996), energy_cell(0.98996, missed=True)
    ('0.9900', '0.9899')
    >>> energy_cell(1 - 1.0004e-7, missed=True)
    '1 − 1.01e-07'
    """
    if not math.isfinite(value) or value <= _NEAR_ONE or value >= 1:
        return _fixed(value, False if missed and math.isfinite(value) else None)
    left = 1.0 - value  # (exact: value lies in [0.5, 1])
    return f"1 − {_scientific(left, up=True) if missed else f'{left:.2e}'}"
