"""How numbers and matrices print: short, and zero when the tolerance rule says so."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NumberFormat"]


class NumberFormat:
    """Formats reals and complexes with ``digits`` significant digits.

    Values whose magnitude is at most ``zero`` (the report's zero threshold) print
    as ``0``, and values within rounding of an integer print as that integer, so
    that ``det [[1, 2], [3, 4]]`` reads ``-2`` and not ``-2.0000000000000004``.

    Examples
    --------
    >>> f = NumberFormat(zero=1e-15)
    >>> f.number(-2.0000000000000004), f.number(3e-17), f.number(1 / 3), f.number(2 - 1j)
    ('−2', '0', '0.333333', '2 − i')
    """

    def __init__(self, zero: float = 0.0, digits: int = 6) -> None:
        self.zero = zero
        self.digits = digits

    def real(self, x: float) -> str:
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if abs(x) <= self.zero:
            return "0"
        nearest = round(x)
        if abs(x - nearest) <= 64 * np.finfo(float).eps * max(1.0, abs(x)):
            text = str(int(nearest))
        else:
            text = f"{x:.{self.digits}g}"
        return text.replace("-", "−")

    def number(self, x: complex | float | int | bool) -> str:
        if isinstance(x, bool | np.bool_):
            return "yes" if x else "no"
        z = complex(x)
        re, im = z.real, z.imag
        if abs(im) <= self.zero:
            return self.real(re)
        imag = self.real(abs(im))
        imag = "" if imag == "1" else imag
        if abs(re) <= self.zero:
            return ("−" if im < 0 else "") + imag + "i"
        return f"{self.real(re)} {'−' if im < 0 else '+'} {imag}i"

    def grid(self, a: np.ndarray) -> list[list[str]]:
        """Entries of a vector (as one column) or matrix as strings."""
        a = np.atleast_1d(a)
        if a.ndim == 1:
            a = a[:, None]
        return [[self.number(v) for v in row] for row in a]
