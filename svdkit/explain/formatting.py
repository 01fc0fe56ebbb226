"""How numbers and matrices print: short, and zero only when the tolerance rule says so."""

from __future__ import annotations

import decimal
import math
import sys

import numpy as np

__all__ = ["NumberFormat", "Scientific", "Shown", "scaled_number", "scientific", "threshold_text"]


class NumberFormat:
    """Formats reals and complexes with ``digits`` significant digits.

    A value prints as ``0`` only when it is exactly zero or its magnitude is at
    most ``zero`` (the report's zero threshold, the one that decides the rank),
    and as an integer only when it lies within a few units of rounding of that
    integer *relative to its own size*: ``det [[1, 2], [3, 4]]`` reads ``-2`` and
    not ``-2.0000000000000004``, but ``1e-15`` stays ``1e-15``. Integers of 15
    digits or more print in scientific notation; ``nan`` prints as ``NaN``.

    Examples
    --------
    >>> f = NumberFormat(zero=1e-15)
    >>> f.number(-2.0000000000000004), f.number(3e-17), f.number(1 / 3), f.number(2 - 1j)
    ('−2', '0', '0.333333', '2 − i')
    >>> g = NumberFormat()
    >>> g.number(1e-15), g.number(1e-200), g.number(1e200), g.number(float("nan"))
    ('1e−15', '1e−200', '1e+200', 'NaN')
    """

    INTEGER_RTOL = 64 * float(np.finfo(float).eps)
    """Relative distance to an integer below which a value prints as that integer."""

    LARGEST_INTEGER = 1e15
    """Integers at least this large print in scientific notation."""

    def __init__(self, zero: float = 0.0, digits: int = 6) -> None:
        self.zero = zero
        self.digits = digits

    def real(self, x: float) -> str:
        """One real number as text (``−`` for minus)."""
        x = float(x)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x == 0 or abs(x) <= self.zero:
            return "0"
        nearest = round(x)
        if (
            nearest != 0
            and abs(nearest) < self.LARGEST_INTEGER
            and abs(x - nearest) <= self.INTEGER_RTOL * abs(x)
        ):
            text = str(int(nearest))
        else:
            text = f"{x:.{self.digits}g}"
        return text.replace("-", "−")

    def number(self, x: complex | float | int | bool) -> str:
        if isinstance(x, bool | np.bool_):
            return "yes" if x else "no"
        if isinstance(x, int | np.integer):  # counts (rank, nullity) are exact
            return str(int(x)).replace("-", "−")
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


class Scientific(str):
    """A number beyond float64's range, as the report prints it: ``"1e+400"``, ``"−2.5e−400"``.

    The text is what the pages for people show; the sign and ``log|x|`` stay with
    it, so that JSON can write it in ASCII (:meth:`ascii`) and LaTeX as
    ``2.5 \\cdot 10^{-400}``, as their other numbers.

    Examples
    --------
    >>> import math
    >>> x = Scientific(-1, -400 * math.log(10) + math.log(2.5))
    >>> x, x.ascii()
    ('−2.5e−400', '-2.5e-400')
    >>> Scientific(1j, 400 * math.log(10)).ascii()
    ('0', '1e+400')
    """

    sign: complex
    log_abs: float
    digits: int

    def __new__(
        cls, sign: complex, log_abs: float, digits: int = 6, text: str | None = None
    ) -> Scientific:
        if text is None:
            text = _scientific_text(complex(sign), float(log_abs), digits)
        value = super().__new__(cls, text)
        value.sign, value.log_abs, value.digits = complex(sign), float(log_abs), digits
        return value

    def __getnewargs__(self) -> tuple[complex, float, int, str]:
        return self.sign, self.log_abs, self.digits, str(self)

    def ascii(self) -> str | tuple[str, str]:
        """The value as ASCII decimal text (``"-2.5e-400"``), which :class:`decimal.Decimal`
        reads exactly (``float`` gives 0 or ±inf); a complex value as its real and
        imaginary parts."""
        if _is_real(self.sign):
            return str(self).replace("−", "-")
        return tuple(
            _ascii_part(part, self.log_abs, self.digits)
            for part in (self.sign.real, self.sign.imag)
        )


class Shown(str):
    """A float as the report's text prints it (``"8.88e−16"``), its value kept with it.

    A step's placeholder that must never print as 0 (the zero threshold itself, which
    the report's number format would zero) is given as this text; JSON writes the
    value (:attr:`value`) as Python's ``repr`` (ASCII, ``"8.881784197001252e-16"``),
    which ``float`` and ``sympy.sympify`` read back exactly.

    Examples
    --------
    >>> x = Shown(8.881784197001252e-16, digits=3)
    >>> x, repr(x.value)
    ('8.88e−16', '8.881784197001252e-16')
    """

    value: float

    def __new__(cls, value: float, digits: int = 6, text: str | None = None) -> Shown:
        if text is None:
            text = NumberFormat(digits=digits).number(float(value))
        shown = super().__new__(cls, text)
        shown.value = float(value)
        return shown

    def __getnewargs__(self) -> tuple[float, int, str]:
        return self.value, 6, str(self)


def _is_real(sign: complex) -> bool:
    return abs(sign.imag) <= 1e-15 * abs(sign)


def _ascii_part(part: float, log_abs: float, digits: int) -> str:
    """``part · e^log_abs`` (a part of a modulus-1 sign) as ASCII decimal text."""
    if abs(part) <= 1e-15:
        return "0"
    text = _scientific_text(
        complex(math.copysign(1.0, part)), log_abs + math.log(abs(part)), digits
    )
    return text.replace("−", "-")


def scientific(sign: complex, log_abs: float, digits: int = 6) -> Scientific:
    """``sign · e^log_abs`` as ``mantissa e±exponent`` text, for values beyond float64.

    Parameters
    ----------
    sign : complex
        A number of modulus 1 (``±1`` for a real value), as from :func:`numpy.linalg.slogdet`.
    log_abs : float
        The natural logarithm of the modulus.
    digits : int
        Significant digits of the mantissa.

    Returns
    -------
    Scientific
        The text, which keeps ``sign`` and ``log_abs`` for the formats that write it otherwise.

    Examples
    --------
    >>> import math
    >>> scientific(1, 400 * math.log(10)), scientific(-1, -400 * math.log(10) + math.log(2.5))
    ('1e+400', '−2.5e−400')
    """
    return Scientific(sign, log_abs, digits)


def scaled_number(x: complex, e: int = 0, digits: int = 6) -> float | complex | Scientific:
    """``x · 2^e`` as a float (complex) where one holds it, else as :class:`Scientific`.

    A quantity computed in scaled form (``‖A‖_F = 2^e · ‖2^−e A‖_F``, ``e`` chosen so
    that nothing over- or underflows) can lie beyond float64's range (``2e+308``), or in
    its subnormal range, where a float keeps only a few of its digits
    (``√6 · 2^−1074 = 1.21e−323`` rounds to ``9.88e−324``). It is then written from the
    exact value ``x · 2^e`` (:class:`decimal.Decimal`), with ``digits`` significant
    digits. A float that holds ``x · 2^e`` exactly, zero, ∞ and NaN are returned as floats.

    Examples
    --------
    >>> scaled_number(1.5, 3), scaled_number(2.0 ** -1074 * 2 ** 60, -60)
    (12.0, 5e-324)
    >>> scaled_number(1.4142135623730951 * 2.0 ** -1000 * 1.4142135623730951e308, 1000)
    '2e+308'
    >>> scaled_number(6 ** 0.5, -1074), scaled_number(-1.0, 1100)
    ('1.21021e−323', '−1.3583e+331')
    """
    z = complex(x)
    if z.imag != 0:
        parts = [_scaled_float(part, e) for part in (z.real, z.imag)]
        if all(p is not None for p in parts):
            return complex(parts[0], parts[1])
        modulus = math.hypot(z.real, z.imag)
        return Scientific(z / modulus, math.log(modulus) + e * math.log(2.0), digits)
    is_complex = isinstance(x, complex | np.complexfloating)
    x = z.real
    value = _scaled_float(x, e)
    if value is not None:
        return complex(value) if is_complex else value
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        ctx.Emax, ctx.Emin = decimal.MAX_EMAX, decimal.MIN_EMIN
        exact = decimal.Decimal(x) * decimal.Decimal(2) ** e
        mantissa, exponent = f"{abs(exact):.{max(digits, 1) - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    text = f"{'−' if x < 0 else ''}{mantissa}e{'+' if power >= 0 else '−'}{abs(power)}"
    return Scientific(math.copysign(1.0, x), math.log(abs(x)) + e * math.log(2.0), digits, text)


def _scaled_float(x: float, e: int) -> float | None:
    """``x · 2^e`` where a float holds it exactly or as a normal number, else ``None``."""
    x = float(x)
    if x == 0 or not math.isfinite(x) or (e == 0 and abs(x) >= sys.float_info.min):
        return x
    try:
        y = math.ldexp(x, e)
    except OverflowError:
        return None
    if abs(y) >= sys.float_info.min or (y != 0 and math.ldexp(y, -e) == x):
        return y
    return None


def _scientific_text(sign: complex, log_abs: float, digits: int) -> str:
    from svdkit.linalg.measures import decimal_parts

    mantissa, exponent = decimal_parts(log_abs, digits)
    fmt = NumberFormat(digits=digits)
    if _is_real(sign):
        text = fmt.real(sign.real * mantissa)
    else:
        text = f"({fmt.number(sign * mantissa)})"
    return f"{text}e{'+' if exponent >= 0 else '−'}{abs(exponent)}"


def threshold_text(threshold: float, values: np.ndarray) -> str:
    """A zero threshold as text, with the digits that tell it from the values beside it.

    Three digits where they do; else every digit of ``repr`` (a threshold moved by
    rounding lies one ulp below an eigenvalue: 6.51718417059791e−16 beside
    λ = 6.517184170597911e−16, where 3 digits print both as 6.52e−16).
    """
    short = NumberFormat(digits=3).number(threshold)
    shown = float(short.replace("−", "-"))
    mags = np.abs(np.asarray(values, dtype=complex))
    if np.any((mags > threshold) != (mags > shown)):
        return repr(float(threshold)).replace("-", "−")
    return short
