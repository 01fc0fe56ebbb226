"""Scalars that measure a matrix or vectors: det, trace, rank, norms, cond, cosine, distances."""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.sparse.linalg import norm as sparse_norm

from svdkit.errors import ShapeError, SvdkitError
from svdkit.inputs import as_matrix, as_vector
from svdkit.linalg._checks import canonical, check_hermitian_flag, require_square
from svdkit.linalg._results import Unpackable
from svdkit.linalg.tolerance import (
    eps_of,
    rcond_alias,
    relative_cutoff,
    relative_threshold,
    rule_dtype,
    zero_threshold,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from svdkit.inputs import MatrixLike

__all__ = ["SlogDet", "cond", "cosine", "det", "distance", "norm", "rank", "slogdet", "trace"]

_MATRIX_ORDS = {
    None: "fro",
    "fro": "fro",
    "frobenius": "fro",
    "f": "fro",
    2: 2,
    "spectral": 2,
    "nuc": "nuc",
    "nuclear": "nuc",
    1: 1,
    np.inf: np.inf,
    -1: -1,
    -2: -2,
    -np.inf: -np.inf,
}

#: The names of ``±inf`` an ``ord`` may be given by (any case, surrounding blanks
#: stripped), as :mod:`svdkit.exact.norms` reads them.
_INF_NAMES = {
    "inf": np.inf,
    "+inf": np.inf,
    "infinity": np.inf,
    "+infinity": np.inf,
    "∞": np.inf,
    "+∞": np.inf,
    "-inf": -np.inf,
    "-infinity": -np.inf,
    "-∞": -np.inf,
}

_MATRIX_HELP = "use 'fro', 'nuc', 1, 2, inf, -1, -2 or -inf"
_VECTOR_HELP = "use a number p (1, 2, inf, -inf, 0, 0.5…)"


def _ord_key(ord: object) -> object:
    """``ord`` in the one form the tables use: ``None``; a name in lower case
    (``"fro"``); or a number: an ``int`` where it is integral (``2.0``, ``np.int64(2)``,
    ``"2"``), ``±np.inf`` for every name of infinity (``"Inf"``, ``"+inf"``, ``"∞"``) and
    for an int past the largest float, a ``float`` otherwise. Raises ``TypeError`` for
    what is no ord at all (a bool, a list, NaN, a complex number)."""
    if isinstance(ord, np.ndarray) and ord.ndim == 0:
        ord = ord.item()
    elif isinstance(ord, np.generic):
        ord = ord.item()
    if ord is None:
        return None
    if isinstance(ord, str):
        text = ord.strip().lower()
        if text in _INF_NAMES:
            return _INF_NAMES[text]
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?", text):
            return _ord_key(float(text))
        return text
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(ord)
    try:
        value = float(ord)
    except OverflowError:  # an int past the largest float (10**400): the ∞-norm's limit
        return np.inf if ord > 0 else -np.inf
    if math.isnan(value):
        raise TypeError(ord)
    if math.isinf(value):
        return value
    # (an int only where exact: 1e308 as an int would make NumPy's powers objects)
    return int(value) if value.is_integer() and abs(value) <= 2.0**53 else value


def _matrix_ord(ord: object) -> int | float | str:
    """``ord`` as :data:`_MATRIX_ORDS` names it (``"fro"``, ``"nuc"``, ``±1``, ``±2``,
    ``±inf``); anything else refused with the list of those :func:`norm` takes."""
    try:
        key = _ord_key(ord)
        known = key in _MATRIX_ORDS
    except TypeError:  # a bool, a list, NaN…
        known = False
    if not known:
        raise SvdkitError(f"unknown matrix norm {ord!r}: {_MATRIX_HELP}")
    return _MATRIX_ORDS[key]


def det(A: MatrixLike) -> float | complex:
    """Determinant by LU factorisation (``det(A) = ±∏ uᵢᵢ``).

    As NumPy's ``det``, the value is a float64 (complex128): beyond its range it
    is ``±inf`` (or ``0``) although A is finite and non-singular. :func:`slogdet`
    gives the sign and ``log|det A|``, which never overflow.

    Examples
    --------
    >>> import svdkit
    >>> round(svdkit.det([[1, 2], [3, 4]]), 12)  # ad − bc = 4 − 6 (LU rounds the last digit)
    -2.0
    >>> svdkit.det([[1e200, 0], [0, -1e200]])  # −1e400: the sign survives, not the size
    -inf
    """
    a = as_matrix(A)
    require_square(a, "det")
    # LAPACK's getrf, the LU slogdet takes: det is 0 exactly when slogdet's sign is
    # (scipy.linalg.det's own LU pivots the transpose and left rounding, -4.4e-15,
    # on [[-5, -3], [-10, -6]] where slogdet found the zero pivot)
    scaled, e = _lu_scaling(a)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        value = times_power_of_two(np.linalg.det(scaled), e)
    if not np.iscomplexobj(value) and np.isinf(value):
        # beyond float64, found exactly (2^e scaled in by ldexp): exp(logabsdet) would
        # round 1024·ln 2 down and give the largest float instead of inf
        return float(value)
    if not np.isfinite(value):  # a complex one: ±inf parts without NaN, from slogdet
        return slogdet(a).value
    return complex(value) if np.iscomplexobj(value) else float(value)


def decimal_parts(log_abs: float, digits: int = 6) -> tuple[float, int]:
    """``e^log_abs`` as ``(mantissa, exponent)``, ``1 <= mantissa < 10`` at ``digits``
    significant digits (a mantissa that would print as 10 carries): a modulus beyond
    float64's range, written in decimal.

    Examples
    --------
    >>> decimal_parts(400 * math.log(10))[1]
    400
    >>> m, e = decimal_parts(math.log(9.9999999), 6)  # prints as 10.0000: carried
    >>> f"{m:.6g}e{e}"
    '1e1'
    """
    log10 = log_abs / math.log(10.0)
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    if round(mantissa, digits - 1) >= 10.0:  # 9.9999996 prints as 10: carry
        mantissa, exponent = mantissa / 10.0, exponent + 1
    return mantissa, exponent


@dataclass(frozen=True, eq=False)
class SlogDet(Unpackable):
    """A determinant as a sign and a logarithm; unpacks as ``sign, logabsdet`` (NumPy's order).

    ``det A = sign · exp(logabsdet)``, with ``logabsdet`` a float64 whatever the
    size of ``det A``: ``1e400`` is ``(1.0, 921.03…)``, not ``inf``.

    Attributes
    ----------
    sign : float or complex
        ``+1``, ``−1`` or ``0`` for a real matrix; a complex number of modulus 1
        (or ``0``) for a complex one.
    logabsdet : float
        ``log|det A|`` (natural logarithm); ``-inf`` when ``det A = 0``.
    """

    sign: float | complex
    logabsdet: float

    _unpack: ClassVar[tuple[str, ...]] = ("sign", "logabsdet")

    @property
    def value(self) -> float | complex:
        """``sign · exp(logabsdet)``, as :func:`det` gives it (``±inf`` or 0 beyond float64)."""
        if self.sign == 0:
            return self.sign
        with np.errstate(over="ignore", under="ignore"):
            magnitude = float(np.exp(self.logabsdet))
        if isinstance(self.sign, complex):  # 1j · inf would be nan + inf·j
            re, im = self.sign.real, self.sign.imag
            return complex(re * magnitude if re else 0.0, im * magnitude if im else 0.0)
        return self.sign * magnitude

    @property
    def log10abs(self) -> float:
        """``log₁₀|det A|`` (``-inf`` when ``det A = 0``)."""
        return self.logabsdet / math.log(10.0)

    def text(self, digits: int = 6) -> str:
        """The determinant in scientific notation, beyond float64's range too.

        Parameters
        ----------
        digits : int, default 6
            Significant digits of the mantissa, 1 to 17.

        Returns
        -------
        str
            ``"0"`` for a zero determinant; a complex sign is written in front.

        Examples
        --------
        >>> SlogDet(-1.0, 921.0340371976183).text(), SlogDet(1.0, 0.0).text(3)
        ('-1e+400', '1e+00')
        >>> SlogDet(1j, -2 * 921.0340371976183).text()
        '(0+1j)×1e-800'
        """
        if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
            raise SvdkitError(f"digits must be an integer from 1 to 17, got {digits!r}")
        if not 1 <= digits <= 17:  # float64 holds 17 significant digits at most
            raise SvdkitError(f"digits must be an integer from 1 to 17, got {digits}")
        if self.sign == 0:
            return "0"
        mantissa, exponent = decimal_parts(self.logabsdet, digits)
        body = f"{mantissa:.{digits}g}e{exponent:+03d}"
        sign = self.sign
        if isinstance(sign, complex) and sign.imag != 0:
            return f"({sign.real:.{digits}g}{sign.imag:+.{digits}g}j)×{body}"
        return ("-" if float(np.real(sign)) < 0 else "") + body

    def __str__(self) -> str:
        """:meth:`text` with 6 digits: ``-1e+400`` (where :func:`det` gives ``-inf``)."""
        return self.text()


def slogdet(A: MatrixLike) -> SlogDet:
    """Sign and natural logarithm of ``|det A|``, by LU factorisation (as NumPy's ``slogdet``).

    ``log|det A| = Σ log|uᵢᵢ|`` is summed from the pivots of ``A = P L U``: it
    neither overflows nor underflows where :func:`det` gives ``±inf`` or ``0``
    (``det(1e200 · I₃) = 1e600``).

    Parameters
    ----------
    A : array_like, str or path
        A square matrix (anything :func:`svdkit.as_matrix` accepts).

    Returns
    -------
    SlogDet
        ``sign`` and ``logabsdet``; ``.value`` is the determinant as :func:`det`
        gives it, ``str()`` prints it in scientific notation at any size.

    Raises
    ------
    ShapeError
        A is not square.

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.slogdet([[1e200, 0], [0, -1e200]])
    >>> r.sign, round(r.logabsdet, 6), svdkit.det([[1e200, 0], [0, -1e200]])
    (-1.0, 921.034037, -inf)
    >>> print(r)
    -1e+400
    >>> sign, logabsdet = svdkit.slogdet([[1, 2], [3, 4]])  # unpacks like NumPy's result
    >>> sign, round(logabsdet, 12)
    (-1.0, 0.69314718056)
    >>> svdkit.slogdet([[1, 2], [2, 4]])  # singular
    SlogDet(sign=0.0, logabsdet=-inf)
    """
    a = as_matrix(A)
    require_square(a, "slogdet")
    scaled, e = _lu_scaling(a)
    with np.errstate(divide="ignore"):
        sign, logabs = np.linalg.slogdet(scaled)
    if e and sign != 0:
        logabs = logabs + e * math.log(2.0)
    sign = complex(sign) if np.iscomplexobj(sign) else float(sign)
    return SlogDet(sign, float(logabs))


#: Rows whose largest entry lies beyond 2^±900 are scaled before LU (:func:`_lu_scaling`).
_LU_SAFE_EXPONENT = 900


def _lu_scaling(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(D a, e)``, ``D = diag(2^−eᵢ)`` bringing each row's largest entry into
    [1/2, 1), ``e = Σ eᵢ``, where some row is extreme; else ``(a, 0)``.

    ``getrf`` multiplies by the reciprocal of a pivot: past 2^1022 that reciprocal is
    subnormal and loses digits (``det([[1e308, 1e308], [1e308, 1e308]])`` came out
    2e600, not 0), and near the bottom of the range the Schur complements go
    subnormal. ``det(a) = 2^e · det(D a)``, the scaling exact; by rows, so that
    ``diag(1e308, 1e-308)`` keeps its small entry.
    """
    if not a.size:
        return a, 0
    if not np.isfinite(a).all():
        return a, 0
    exponents = entry_exponent(a, axis=1)  # (a complex |aᵢⱼ| past the largest float too)
    if np.abs(exponents).max() <= _LU_SAFE_EXPONENT:
        return a, 0
    scaled = times_power_of_two(a, -exponents[:, None])
    return scaled, int(exponents.sum())


def trace(A: MatrixLike) -> float | complex:
    """Sum of the diagonal entries, ``Tr A = Σ aᵢᵢ`` (sparse input stays sparse).

    Examples
    --------
    >>> import svdkit
    >>> svdkit.trace([[4, 2], [3, 4]])
    8.0
    """
    a = canonical(as_matrix(A, sparse=True))
    require_square(a, "trace")
    with np.errstate(over="ignore"):  # a sum past the largest float is ±inf, as it is
        value = a.diagonal().sum()
    return complex(value) if np.iscomplexobj(value) else float(value)


def rank(
    A: MatrixLike,
    tol: float | None = None,
    hermitian: bool | None = False,
    *,
    rcond: float | None = None,
    rtol: float | None = None,
) -> int:
    """Numerical rank: singular values above ``max(m, n) · eps · σ₁`` (or ``tol``).

    ``eps`` is float64's, or that of the precision ``A`` is stored in where coarser
    (float32: 1.2e-7, as NumPy's ``matrix_rank`` on a float32 array).

    Parameters
    ----------
    A : array_like, str or path
        Any m×n matrix.
    tol : float, optional
        **Absolute** threshold: ``σᵢ <= tol`` counts as zero (``numpy.linalg.matrix_rank(A,
        tol)``'s meaning).
    hermitian : bool, default False
        NumPy's flag, in NumPy's place (``matrix_rank(A, tol, hermitian)``), checked:
        ``True`` (or ``1``) refuses an A that is not Hermitian (the rank is the same either
        way); ``False``, ``0`` and ``None`` ask nothing.
    rcond, rtol : float, optional, keyword-only
        **Relative** threshold: ``σᵢ <= rcond · σ₁`` counts as zero; ``rtol`` is NumPy 2's
        name for it (``matrix_rank(A, rtol=)``); ``inf`` gives rank 0, as in NumPy 2. At most
        one of ``tol``, ``rcond``, ``rtol``; none: the tolerance rule.

    Raises
    ------
    SvdkitError
        More than one threshold given; a ``tol`` that is not a finite number ``>= 0``, an
        ``rcond`` / ``rtol`` that is not a number ``>= 0`` (messages name the one given);
        ``hermitian`` not one of ``True``, ``False``, ``1``, ``0``, ``None``.
    StructureError
        ``hermitian=True`` for a matrix that is not Hermitian.

    Examples
    --------
    >>> import svdkit
    >>> svdkit.rank([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    2
    >>> svdkit.rank([[1, 0], [0, 1e-8]], rtol=1e-6)
    1
    """
    rcond, name = rcond_alias(rcond, rtol)
    rcond = relative_threshold(rcond, tol, name)  # (checked before the SVD)
    a = _dense_matrix(A, "rank(A)", "smallest")
    dtype = rule_dtype(A, a.dtype)
    check_hermitian_flag(a, hermitian, "rank", dtype)
    return rank_of(a, tol, dtype, rcond=rcond)


def rank_of(
    a: np.ndarray, tol: float | None, dtype: np.dtype, *, rcond: float | None = None
) -> int:
    """:func:`rank` of a validated matrix, the rule's ``eps`` that of ``dtype``
    (decided by :func:`decided_singular_values`)."""
    s, _, thr = decided_singular_values(a, tol, dtype, rcond=rcond)
    return int(np.count_nonzero(s > thr))


def decided_singular_values(
    a: np.ndarray, tol: float | None, dtype: np.dtype, *, rcond: float | None = None
) -> tuple[np.ndarray, int, float]:
    """``(s, e, thr)``: the σ of a validated matrix as ``2^−e·σ`` and the rank threshold
    (the rule's ``eps`` that of ``dtype``, or ``tol``, or ``rcond · σ₁``) in the same
    units: the one rule :func:`rank` and :func:`cond` count ``σᵢ > thr`` by.

    The σ LAPACK computes without vectors (``svdvals``, 2–3 times faster) and with
    them (:func:`svdkit.svd`) differ by some ulps of ``σ₁``. Where a σ lies within
    :func:`_tie_window` of the threshold (a ``tol`` read off ``svd(A).s``), the
    σ returned are those :func:`svdkit.svd` computes, so that ``rank(A, tol)``,
    ``cond(A, tol=tol)``, ``svd(A).rank(tol)`` and ``subspaces(A, tol).rank`` agree.
    Elsewhere they are ``svdvals``'.
    """
    s, e = scaled_singular_values(a)
    if s.size == 0:
        return s, e, 0.0
    thr = _rank_threshold(a.shape, s[0], e, tol, dtype, rcond)
    # |σ without vectors − σ with them|: some ulps of σ₁ (both backward stable)
    margin = _tie_window(a.shape) * float(np.finfo(s.dtype).eps) * float(s[0])
    if np.any(np.abs(s - thr) <= margin):
        from svdkit.linalg.svd import _scaled_lapack_svd  # (svd imports this module)

        _, s, _, _, e, scaled_s = _scaled_lapack_svd(a, False)
        if scaled_s is not None:
            s = scaled_s
        thr = _rank_threshold(a.shape, s[0], e, tol, dtype, rcond)
    return s, e, thr


#: The least window, in ulps of σ₁, in which σ near the rank threshold are counted on
#: :func:`svdkit.svd`'s σ (:func:`_tie_window`).
_TIE_ULPS = 64


def _tie_window(shape: tuple[int, int]) -> float:
    """The half-width, in ulps of ``σ₁`` (``eps · σ₁``), of the window around the rank
    threshold in which :func:`decided_singular_values` counts on :func:`svdkit.svd`'s σ:
    ``max(64, max(m, n) / 8)``.

    The differences measured between LAPACK's σ with and without vectors (OpenBLAS, one
    thread, random matrices) grow with the size: at most 10 ulps of σ₁ at 200×200, 15
    at 1000×1000, 28–38 at 1500×1500, 21–35 at 2000×2000 (float64 and float32) and 26
    for a complex64 1200×1200. ``max(m, n) / 8`` ulps is 187 at 1500 and 250 at 2000, a
    factor of 5 or more to spare, and keeps growing with the size. The window stays
    narrow next to the default threshold ``max(m, n) · eps · σ₁`` (an eighth of it from
    512 up): the rounding-noise σ of a large rank-deficient matrix (a few ``eps · σ₁``)
    lie far outside it, so that :func:`rank` of such a matrix keeps to ``svdvals``.
    """
    return max(float(_TIE_ULPS), max(shape) / 8.0)


def _rank_threshold(
    shape: tuple[int, int],
    s1: float,
    e: int,
    tol: float | None,
    dtype: np.dtype,
    rcond: float | None = None,
) -> float:
    """The rank threshold in the units of ``2^−e·σ`` (the rule is scale-free: σ₁ of a
    finite matrix may overflow, ``2^−e·σ₁`` cannot); ``rcond · σ₁`` for a relative
    ``rcond`` (``inf``, rank 0, where that is past the largest float)."""
    if rcond is not None:
        return relative_cutoff(rcond, s1)
    if tol is None:
        return zero_threshold(shape, s1, dtype)
    # (a tol past every 2^−e·σ: inf, rank 0; one below the smallest float: 0, as it is)
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(zero_threshold(shape, 0.0, dtype, tol), -e))


#: Matrices whose largest entry lies outside [2^−SAFE, 2^SAFE] are factored scaled
#: (:func:`svd_scaling`): :func:`scaled_singular_values` and :func:`svdkit.svd`.
SAFE_EXPONENT = 400


def svd_scaling(a: np.ndarray) -> int:
    """``e`` with ``2^(e−1) <= max |aᵢⱼ| < 2^e`` where ``max |aᵢⱼ|`` lies outside
    ``[2^−400, 2^400]``, else 0: the SVD is then computed on ``a · 2^−e``.

    Beyond those bounds LAPACK scales by factors that are not powers of two, its σ
    of a tiny matrix underflow and σ₁ of a huge one overflows; the rank rule,
    decided on ``2^−e·σ``, is then scale-free. One condition for
    :func:`scaled_singular_values` (:func:`svdkit.rank`, :func:`svdkit.cond`) and
    :func:`svdkit.svd` (``SVD.rank``, ``pinv``, ``explain``), so that they agree.

    Examples
    --------
    >>> svd_scaling(np.array([[1e-300, 0.0]])), svd_scaling(np.array([[3.0, 1e100]]))
    (-996, 0)
    """
    largest = float(np.abs(a).max()) if a.size else 0.0
    if math.isfinite(largest) and (
        0.0 < largest < 2.0**-SAFE_EXPONENT or largest > 2.0**SAFE_EXPONENT
    ):
        return _exponent(largest)
    if math.isinf(largest) and np.isfinite(a).all():  # a complex |aᵢⱼ| past the largest float
        return entry_exponent(a)
    return 0


def scaled_singular_values(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(2^−e · σ, e)``: the singular values of ``a · 2^−e``, finite for a finite ``a``.

    ``e = 0`` (LAPACK's values as they are) unless ``max |aᵢⱼ|`` lies outside
    ``[2^−400, 2^400]`` or ``σ₁`` of a finite matrix overflows (``[[1e308, 1e308],
    [1e308, 1e308]]`` has ``σ₁ = 2e308``); then ``2^e`` is the power of two just
    above ``max |aᵢⱼ|``. Scaling by a power of two is exact, so ``σᵢ = 2^e · sᵢ``
    wherever that is a float, and the rank rule decided on ``2^−e · σ`` is scale-free:
    ``A`` and ``A · 2^k`` get the same rank (beyond those bounds LAPACK scales by
    factors that are not powers of two, and a nearly singular ``A`` of entries near
    ``1e-316`` has a ``σ`` below the least subnormal).
    """
    e = svd_scaling(a)
    if e:  # beyond LAPACK's own scaling bounds (2^±459 for gesdd): see above
        return scipy.linalg.svdvals(times_power_of_two(a, -e), check_finite=False), e
    s = scipy.linalg.svdvals(a, check_finite=False)
    if not (s.size and np.isposinf(s[0]) and np.isfinite(a).all()):
        return s, 0  # (the common case, unscaled: the values are LAPACK's as they are)
    e = entry_exponent(a)
    return scipy.linalg.svdvals(times_power_of_two(a, -e), check_finite=False), e


def _exponent(largest: float) -> int:
    """The ``e`` with ``2^(e−1) <= largest < 2^e``."""
    return int(np.frexp(largest)[1])


def entry_exponent(a, axis: int | None = None):
    """The ``e`` with ``2^(e−1) <= max |aᵢⱼ| < 2^e`` (0 where every entry is 0), for a
    finite ``a``, so that ``a · 2^−e`` has entries below 1 in modulus; with ``axis``, one
    ``e`` per slice (an int array: per row for ``axis=1``, per column for ``axis=0``).

    Where the modulus of a complex entry overflows (``|1.5e308 + 1.5e308j| = inf``,
    both parts finite) ``e`` comes from the larger part, plus 1
    (``|z| <= √2 · max(|Re z|, |Im z|)``): still ``max |aᵢⱼ| < 2^e``, and ``a · 2^−e``
    finite. Every scaling by "the power of two just above the largest entry" in
    :mod:`svdkit.linalg` takes its exponent from here (``frexp(inf)`` is 0: a bare
    ``frexp(abs(a).max())`` would scale nothing). A SciPy sparse matrix: its stored
    entries.

    Examples
    --------
    >>> entry_exponent(np.array([[3.0, -1.0]])), entry_exponent(np.array([1.5e308 + 1.5e308j]))
    (2, 1025)
    >>> entry_exponent(np.array([[1.5e308 + 1.5e308j, 1.0], [0.0, 0.0]]), axis=1)
    array([1025,    0])
    """
    if scipy.sparse.issparse(a):
        a = a.tocsr().data
    a = np.asarray(a)
    largest = np.abs(a).max(axis=axis, initial=0.0)
    e = np.frexp(largest)[1]
    over = np.isinf(largest)
    if over.any():
        part = np.maximum(
            np.abs(np.real(a)).max(axis=axis, initial=0.0),
            np.abs(np.imag(a)).max(axis=axis, initial=0.0),
        )
        e = np.where(over, np.frexp(part)[1] + 1, e)
    return int(e) if axis is None else np.asarray(e, dtype=int)


def times_power_of_two(x: np.ndarray, e) -> np.ndarray:
    """``x · 2^e``, exactly (``ldexp``; a complex ``x / 2^−e`` would overflow for tiny
    scales); ``e`` may broadcast against ``x``. A complex result is built part by part:
    ``re + 1j·im`` would turn a part that overflows into NaN (``1j·inf = nan + inf·j``).
    """
    if not np.iscomplexobj(x):
        return np.ldexp(x, e)
    out = np.empty(np.broadcast_shapes(np.shape(x), np.shape(e)), dtype=np.result_type(x))
    out.real = np.ldexp(np.real(x), e)
    out.imag = np.ldexp(np.imag(x), e)
    return out


def scaled_norm(x, ord=None) -> float:
    """``2^e · ‖x · 2^−e‖``, ``2^e`` the power of two just above ``max |xᵢ|``
    (``m · ‖x / m‖_p``, ``m = max |xᵢ|``, for a vector p-norm other than 1 and 2).

    ``numpy.linalg.norm`` sums squares, so ``‖[1e-200, 1e-200]‖₂`` would come out 0
    and ``‖[1e200, 1e200]‖₂`` inf; scaling first keeps every finite input finite
    and every non-zero input non-zero (as LAPACK's ``nrm2`` does). Scaling by a
    power of two is exact, so where NumPy does not under/overflow the result is
    bit for bit NumPy's.
    """
    if scipy.sparse.issparse(x):
        if not x.count_nonzero():
            return 0.0
        e = entry_exponent(x)
        y = x.tocsr(copy=True)
        y.data = times_power_of_two(y.data, -e)
        return float(np.ldexp(sparse_norm(y, ord), e))
    if not np.any(x):
        return 0.0
    if isinstance(ord, numbers.Real) and ord not in (1, 2):
        # a p-norm: the entries over 2^e lie below 1 and |xᵢ/2^e|^p underflows to 0 for
        # p ≳ 1075 (‖[1.0]‖₂₀₀₀ came out 0); over max |xᵢ| the largest term is exactly
        # 1 and the sum lies in [1, n]
        largest = float(np.abs(x).max())
        if math.isinf(largest):  # a complex |xᵢ| past the largest float: 4 · ‖x / 4‖
            with np.errstate(over="ignore"):  # (the norm is then inf, as it is)
                return float(4.0 * scaled_norm(times_power_of_two(x, -2), ord))
        return float(largest * np.linalg.norm(x / largest, ord))
    e = entry_exponent(x)
    with np.errstate(over="ignore"):  # a norm past the largest float is inf, as it is
        return float(np.ldexp(np.linalg.norm(times_power_of_two(x, -e), ord), e))


def _npy_ndim(path: str | os.PathLike) -> int | None:
    """The number of dimensions in a ``.npy`` file's header (the array is not loaded);
    ``None`` where the file cannot be read so (:func:`svdkit.load` then says why)."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape = fmt.read_array_header_1_0(f)[0]
            else:
                shape = fmt.read_array_header_2_0(f)[0]
    except (OSError, ValueError, TypeError, EOFError):
        return None
    return len(shape)


def _is_vector_input(x: object) -> bool:
    """Whether :func:`norm` takes ``x`` as a vector: a 1-D array or list, a 1-D SciPy
    sparse array, or a ``.npy`` file whose header holds a 1-D array (a path, or a
    ``str`` naming it). Text is what :func:`svdkit.as_matrix` reads it as, a matrix
    (``"[3, 4, 12]"`` a 3×1 column, MATLAB's ``"[3 4 12]"`` and ``"3 4 12"`` 1×3
    rows), as :func:`svdkit.exact.norm` reads it; so are other files."""
    if scipy.sparse.issparse(x):
        return x.ndim == 1
    if isinstance(x, str):
        from svdkit.inputs.files import matrix_file_name

        name = matrix_file_name(x)
        return name is not None and _is_1d_npy(name)
    if isinstance(x, os.PathLike):
        try:
            name = os.fsdecode(x)
        except (TypeError, ValueError):  # (as_matrix names what is wrong with it)
            return False
        return _is_1d_npy(name)
    return np.ndim(x) == 1


def _sparse_vector_entries(x) -> np.ndarray:
    """The entries of a 1-D SciPy sparse array that decide every vector norm, never
    densified: its stored values (duplicates summed, on a copy), and one ``0`` where
    some entry is not stored.

    One zero stands for all the implicit ones, whatever the order: it adds nothing to
    the sums of ``p > 0``, makes ``min |xᵢ|`` and the results of ``p < 0`` zero, and is
    not counted by ``ord=0``. A vector longer than ``svdkit.inputs.DENSIFY_LIMIT`` (a
    hashed feature vector, a row of a large tf-idf matrix) has a norm too.
    """
    # validated as a matrix that stays sparse (an n×1 column: numeric, finite, not
    # empty), in float64 / complex128, duplicates summed on a copy (canonical)
    column = canonical(as_matrix(x, sparse=True, name="x"))
    data = np.asarray(column.data)
    if column.nnz < column.shape[0]:
        data = np.append(data, data.dtype.type(0))
    return data


def _is_1d_npy(name: str) -> bool:
    """Whether the file ``name`` is a ``.npy`` file whose header holds a 1-D array."""
    return name.lower().endswith(".npy") and _npy_ndim(name) == 1


#: What :func:`_dense_matrix` says works instead, by the function refused.
_SPARSE_HINTS = {
    "norm": "its leading singular values come from svdkit.svd(A, k) "
    "(svdkit.lowrank.truncated_svd), which keeps it sparse: ‖A‖₂ = svdkit.svd(A, 1).s[0]",
    "smallest": "svdkit.svd(A, k) (svdkit.lowrank.truncated_svd) keeps it sparse but gives "
    "the leading singular values only; {what} needs the smallest, which it does not give "
    "for a large sparse matrix",
}


def _dense_matrix(x: object, call: str, hint: str = "norm") -> np.ndarray:
    """``as_matrix(x)``, refusing a SciPy sparse matrix too large to densify with a
    message naming what does work on it (``call`` names the function; ``hint`` is
    ``"norm"`` where σ₁ answers, ``"smallest"`` where σ_min is needed: rank, cond)."""
    from svdkit import inputs

    if scipy.sparse.issparse(x) and x.ndim == 2:
        m, n = x.shape
        if m * n > inputs.DENSIFY_LIMIT:
            raise ShapeError(
                f"{call} of a {m}×{n} sparse matrix needs it dense ({m * n:,} entries > "
                f"svdkit.inputs.DENSIFY_LIMIT = {inputs.DENSIFY_LIMIT:,}); "
                + _SPARSE_HINTS[hint].format(what=call.partition("(")[0])
            )
    return as_matrix(x)


def _vector_norm(v: np.ndarray, key: object, ord: object) -> float:
    """:func:`norm` of a vector, ``key`` the normalised ``ord`` (:func:`_ord_key`)."""
    if key is None or key == 2:
        return scaled_norm(v)
    if key == np.inf:
        return float(np.abs(v).max())
    if key == -np.inf:
        return float(np.abs(v).min())
    if key == 0:  # NumPy's "0-norm": the count of non-zero entries (not a norm)
        return float(np.count_nonzero(v))
    if isinstance(key, str):
        raise SvdkitError(f"unknown vector norm {ord!r}: {_VECTOR_HELP}")
    if key >= 1:
        return scaled_norm(v, key)
    return _power_sum_norm(v, float(key))


def _power_sum_norm(v: np.ndarray, p: float) -> float:
    """``(Σ |vᵢ|ᵖ)^(1/p)`` for ``p < 1`` (``p ≠ 0``), as NumPy defines it (not a norm),
    computed over a power of ``m`` so that no term under/overflows: ``m = max |vᵢ|`` for
    ``0 < p < 1`` (terms ``<= 1``), ``m = min |vᵢ|`` for ``p < 0`` (terms ``<= 1`` too;
    a zero entry makes the result 0, NumPy's ``0⁻¹ = inf`` summed and inverted)."""
    mags = np.abs(v)
    if not np.isfinite(mags).all():  # a complex |vᵢ| past the largest float: 4 · ‖v / 4‖
        with np.errstate(over="ignore"):
            return float(4.0 * _power_sum_norm(times_power_of_two(v, -2), p))
    if p < 0:
        m = float(mags.min())
        if m == 0.0:
            return 0.0
    else:
        m = float(mags.max())
        if m == 0.0:
            return 0.0
    total = float(np.sum((mags / m) ** p))  # in [1, n]
    try:  # (a Python float's ** raises OverflowError: total^(1/p) past the largest float)
        value = m * total ** (1.0 / p)
    except OverflowError:
        value = math.inf
    if math.isfinite(value) and value > 0.0:
        return float(value)
    # m · total^(1/p) past the range in its middle factor only (a small p: 100^(1e5)), or
    # underflowed: in logarithms, inf (or 0) only where the value itself is past the range
    try:
        return math.exp(math.log(m) + math.log(total) / p)
    except OverflowError:
        return float("inf")


def norm(x: MatrixLike, ord: int | float | str | None = None) -> float:
    """Vector or matrix norm, every ``ord`` ``numpy.linalg.norm`` takes.

    A 1-D input is a vector: a 1-D array or list, a 1-D SciPy sparse array, or a
    ``.npy`` file holding a 1-D array (its path); anything else is a matrix. Text is the
    matrix :func:`svdkit.as_matrix` reads (``"3 4 12"`` and MATLAB's ``"[3 4 12]"`` are
    1×3 rows, ``"[3, 4, 12]"`` a 3×1 column), as :func:`svdkit.exact.norm` reads it.

    ============  =============================  ==================================
    ``ord``       vector                          matrix
    ============  =============================  ==================================
    None          2 (Euclidean)                   Frobenius
    1             Σ |xᵢ|                          max column sum of ``|aᵢⱼ|``
    2             Euclidean                       spectral (σ₁)
    inf           max |xᵢ|                        max row sum of ``|aᵢⱼ|``
    -1            (Σ |xᵢ|⁻¹)⁻¹                   min column sum of ``|aᵢⱼ|``
    -2            (Σ |xᵢ|⁻²)^(−1/2)               smallest singular value σ_min
    -inf          min |xᵢ|                        min row sum of ``|aᵢⱼ|``
    0             number of non-zero xᵢ           —
    "fro"         —                               Frobenius
    "nuc"         —                               nuclear (Σ σᵢ)
    other p       (Σ |xᵢ|ᵖ)^(1/p)                 —
    ============  =============================  ==================================

    The negative orders, ``0`` and ``p < 1`` are not norms (no triangle inequality);
    they are NumPy's definitions, given for the same calls. ``inf`` may be written
    ``"inf"``, ``"Inf"``, ``"+inf"``, ``"infinity"`` or ``"∞"`` (any case, ``-`` for
    ``-inf``), a number as text (``"2"``, ``"-1"``); names ``"frobenius"``,
    ``"spectral"``, ``"nuclear"`` are accepted too. A 1-D SciPy sparse array is never
    densified (every vector order needs only its stored entries), whatever its length.
    SciPy sparse matrices are not densified for 1, inf, -1, -inf and Frobenius; 2, -2
    and ``"nuc"`` need the matrix dense (refused past ``svdkit.inputs.DENSIFY_LIMIT``
    entries, naming ``svdkit.svd(A, 1)``, which gives ``σ₁`` of a large sparse matrix).
    Every value is computed over a power of two (or ``|xᵢ|``), so that a norm within
    float64's range is finite and non-zero whatever the size of the entries.

    Raises
    ------
    SvdkitError
        An ``ord`` NumPy does not take either (a matrix ``3``, a vector ``"fro"``, a bool).

    Examples
    --------
    >>> import svdkit
    >>> svdkit.norm([1, 2, 3]), svdkit.norm([1, 2, 3], 1), svdkit.norm([3, 0, 4], 0)
    (3.7416573867739413, 6.0, 2.0)
    >>> svdkit.norm([[1, 0], [1, 1], [3, 2]]), svdkit.norm([[1, 0], [1, 1], [3, 2]], -1)
    (4.0, 3.0)
    """
    if isinstance(ord, bool | np.bool_):  # True == 1, but no norm is called True
        raise SvdkitError(f"unknown norm {ord!r}: use 1, 2, inf, 'fro', 'nuc' or a number p")
    if _is_vector_input(x):
        try:
            key = _ord_key(ord)
        except TypeError:  # a list, NaN, a complex number: no ord
            raise SvdkitError(f"unknown vector norm {ord!r}: {_VECTOR_HELP}") from None
        v = _sparse_vector_entries(x) if scipy.sparse.issparse(x) else as_vector(x)
        return _vector_norm(v, key, ord)
    try:
        which = _matrix_ord(ord)
    except SvdkitError as err:
        if not isinstance(ord, str):
            hint = _matrix_input_hint(x)
            if hint:
                raise err.with_message(f"{err} ({hint})") from None
        raise
    if which in (2, -2, "nuc"):
        a = _dense_matrix(x, f"norm(A, {ord!r})", "smallest" if which == -2 else "norm")
    else:
        # (canonical: SciPy's abs, max and norm sum the duplicates of the matrix in place)
        a = canonical(as_matrix(x, sparse=True))
    if which == "fro":
        return scaled_norm(a, "fro")
    if which == -2:
        s, e = scaled_singular_values(a)
        with np.errstate(under="ignore"):  # σ_min below the smallest float: 0, as it is
            return float(np.ldexp(s[-1], e))
    with np.errstate(over="ignore", invalid="ignore"):  # past the largest float: inf
        if scipy.sparse.issparse(a):
            return float(sparse_norm(a, which))
        value = float(np.linalg.norm(a, which))
    if math.isfinite(value) or which not in (2, "nuc"):
        return value
    # σ₁ of a finite A past the largest float (NumPy gave NaN for a complex entry whose
    # modulus overflows): from 2^−e·σ, inf where the norm itself overflows
    s, e = scaled_singular_values(a)
    with np.errstate(over="ignore"):
        return float(np.ldexp(s[0] if which == 2 else s.sum(), e))


def _matrix_input_hint(x: object) -> str:
    """Why :func:`norm` took ``x`` for a matrix, where a user may have meant a vector:
    text (read as :func:`svdkit.as_matrix` reads it) or a file holding a k-D array;
    ``""`` for anything else."""
    from svdkit.inputs.files import matrix_file_name

    if isinstance(x, str) and matrix_file_name(x) is None:
        return (
            "this text is a matrix, as svdkit.as_matrix reads it: for a vector's norm "
            "pass a 1-D list or array, or a .npy file of one"
        )
    if isinstance(x, str | os.PathLike):
        name = x if isinstance(x, str) else os.fsdecode(x)
        ndim = _npy_ndim(name) if name.lower().endswith(".npy") else None
        held = f"a {ndim}-D array" if ndim is not None else "a matrix"
        return f"the file holds {held}: a vector's norm needs a 1-D array (a .npy file of one)"
    return ""


def _cond_ord(ord) -> int | float | str:
    """``ord`` as :func:`cond` uses it: ``2`` (any name of the 2-norm), ``-2``, ``-1``,
    ``-inf``, or another matrix norm :func:`norm` knows; others are refused."""
    if ord is None:
        return 2
    if not isinstance(ord, bool | np.bool_):  # (True == 1, but no norm is True)
        try:
            return _matrix_ord(ord)
        except SvdkitError:
            pass
    raise SvdkitError(
        f"unknown matrix norm {ord!r} for cond: use 2, 'fro', 'nuc', 1, inf, -1, -2 or -inf"
    )


def cond(A: MatrixLike, ord: int | float | str | None = None, tol: float | None = None) -> float:
    """Condition number ``‖A‖ ‖A⁺‖``; 2-norm by default (``σ₁ / σ_min``).

    For the 2-norm any shape is allowed (``σ₁/σₚ``, p = min(m, n)); other norms
    need a square matrix. A singular matrix has condition number ``inf``; so has
    a numerically singular one, whose ``σₚ`` is below the tolerance rule's
    threshold ``max(m, n) · eps · σ₁`` (the matrices whose :func:`rank` is below
    ``p``), or below ``tol`` when given (an absolute threshold, as :func:`rank`'s).
    For every ``ord``, ``cond(A, ord, tol=t)`` is ``inf`` exactly when
    ``rank(A, tol=t) < p``: one decision, the same for every norm. (:func:`svdkit.inv`
    decides otherwise, by LAPACK's estimate of the 1-norm condition number, which may
    exceed the 2-norm's by a factor n: it refuses some matrices whose ``cond`` is
    finite, ``≈ 1/(n · eps)``.)

    As ``numpy.linalg.cond``, ``ord`` may also be ``-2`` (``σₚ / σ₁``, any shape; ``0``
    where the 2-norm's is ``inf``), ``-1`` or ``-inf`` (``‖A‖ ‖A⁻¹‖`` with the least
    column or row sum of absolute values in place of the norm). For ``ord`` other than
    2 and −2, ``A⁻¹`` is computed by LU (as NumPy does) on ``A · 2^−e`` (exact; the
    condition number does not depend on the scale), so that neither ``‖A‖`` nor
    ``‖A⁻¹‖`` overflows for a matrix of huge or tiny entries; a value past the largest
    float is ``inf``. Where that inverse shows A of full rank by the rule beyond doubt
    (:func:`_clearly_of_full_rank`) no singular values are computed: NumPy's cost.

    Examples
    --------
    >>> import svdkit
    >>> svdkit.cond([[1, 0], [0, 1e-3]])
    1000.0
    >>> svdkit.cond([[1, 0], [0, 0]])
    inf
    >>> svdkit.cond([[1, 2, 3], [4, 5, 6], [7, 8, 9]])  # σ₃ ≈ 1e-16: rank 2
    inf
    >>> svdkit.cond([[1, 0], [0, 1e-3]], -2)
    0.001
    """
    which = _cond_ord(ord)
    a = _dense_matrix(A, "cond(A)", "smallest")
    dtype = rule_dtype(A, a.dtype)
    original, inverse = a, None
    if which not in (2, -2):
        require_square(a, "cond with a norm other than 2 and -2")
        from svdkit.linalg.inverses import lu_inverse

        # ‖A‖ ‖A⁻¹‖ is scale-free: on A·2^−e (exact), so that neither ‖A‖ (1e308 entries)
        # nor ‖A⁻¹‖ (1e-310 entries) overflows for a matrix of full rank by the rule
        a = times_power_of_two(a, -entry_exponent(a))
        inverse = lu_inverse(a) if a.size else None
        if tol is None and inverse is not None and _clearly_of_full_rank(a, inverse, dtype):
            with np.errstate(over="ignore"):
                return norm(a, which) * norm(inverse, which)
    # σ₁/σₚ is scale-free (σ₁ may overflow): on 2^−e·σ, decided as rank decides (on A
    # itself: a tol is in A's units)
    s, _, thr = decided_singular_values(original, tol, dtype)
    if s[-1] <= thr:
        return 0.0 if which == -2 else float("inf")
    if which in (2, -2):
        return float(s[0] / s[-1]) if which == 2 else float(s[-1] / s[0])
    if inverse is None or not np.isfinite(inverse).all():
        # an exact zero pivot of a matrix of full rank at a tiny tol, or A⁻¹ past the
        # largest float (σ_min ≪ eps·σ₁ at tol=t): V Σ⁻¹ Uᴴ, the inverse at that rank
        from svdkit.linalg.svd import svd

        with np.errstate(over="ignore", invalid="ignore"):
            inverse = svd(a).pinv(tol=0.0)
        if not np.isfinite(inverse).all():
            return float("inf")  # ‖A⁻¹‖ itself is past the largest float
    with np.errstate(over="ignore"):
        return norm(a, which) * norm(inverse, which)


#: How far (a factor) ``σ_min`` must be seen to clear the rank rule's threshold for
#: :func:`cond` to skip the singular values (:func:`_clearly_of_full_rank`).
_FULL_RANK_MARGIN = 128.0


def _clearly_of_full_rank(a: np.ndarray, inverse: np.ndarray, dtype: np.dtype) -> bool:
    """Whether the square ``a`` (its LU ``inverse`` given) is of full rank by the rule,
    ``σ_min > n · eps · σ₁``, beyond doubt, so that :func:`cond` need not compute σ.

    ``σ_min = 1/‖A⁻¹‖₂ >= 1/(√n ‖A⁻¹‖₁)`` and ``σ₁ <= √n ‖A‖₁``: where
    ``n² · eps · ‖A‖₁ ‖A⁻¹‖₁ · 128 < 1``, ``σ_min`` exceeds the threshold 128 times.
    That margin covers the error of the computed ``A⁻¹`` (relative ``≈ n·eps·κ₁``, below
    ``1/(128 n)`` there) and the ulps of ``σ₁`` by which LAPACK's σ differ (at most
    :func:`_tie_window`'s ``max(64, n/8)``), so the answer is the one the singular values
    would give. In the doubtful band (and for a ``tol``) :func:`cond` decides on σ.
    """
    n = a.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        product = float(np.abs(a).sum(axis=0).max()) * float(np.abs(inverse).sum(axis=0).max())
        bound = product * float(n) * float(n) * eps_of(dtype) * _FULL_RANK_MARGIN
    return math.isfinite(bound) and bound < 1.0


def cosine(u: ArrayLike, v: ArrayLike) -> float:
    """Cosine of the angle between two vectors, ``u·v / (‖u‖ ‖v‖)``.

    For complex vectors the result is ``Re(uᴴv) / (‖u‖ ‖v‖)``, the cosine of the
    angle between them seen as real vectors of twice the length. The value is
    clipped to [-1, 1] (Cauchy–Schwarz).

    Raises
    ------
    ShapeError
        Vectors of different lengths.
    SvdkitError
        A zero vector (the angle is undefined).

    Examples
    --------
    >>> import svdkit
    >>> round(svdkit.cosine([1, 1, 3], [1, 1, 1]), 12)
    0.870388279778
    """
    a, b = as_vector(u, name="u"), as_vector(v, name="v")
    if a.shape != b.shape:
        raise ShapeError(f"cosine needs vectors of equal length; u has {a.size}, v has {b.size}")
    for name, w in (("u", a), ("v", b)):
        if not np.any(w):
            raise SvdkitError(f"cosine is undefined: {name} is the zero vector")
    # The cosine does not change when u and v are scaled: scale them (exactly, by
    # powers of two) to max |·| < 1 first, so that tiny or huge entries neither
    # underflow nor overflow.
    a = times_power_of_two(a, -entry_exponent(a))
    b = times_power_of_two(b, -entry_exponent(b))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(np.clip(np.real(np.vdot(a, b)) / (na * nb), -1.0, 1.0))


_METRICS = ("euclidean", "manhattan", "chebyshev", "hamming")


def distance(x: ArrayLike, y: ArrayLike, metric: str = "euclidean") -> float | int:
    """Distance between two vectors (or, for Hamming, two equal-length sequences).

    Parameters
    ----------
    x, y : array_like or str or sequence
        Numeric vectors for ``"euclidean"`` (‖x − y‖₂), ``"manhattan"`` (‖x − y‖₁)
        and ``"chebyshev"`` (‖x − y‖∞). For ``"hamming"``, two strings or
        sequences of the same length; the result is the *count* of positions
        that differ (SciPy's ``hamming`` returns the fraction instead).
    metric : str
        One of ``"euclidean"``, ``"manhattan"``, ``"chebyshev"``, ``"hamming"``.

    Examples
    --------
    >>> import svdkit
    >>> svdkit.distance("123cb", "133cc", "hamming")
    2
    >>> svdkit.distance([0, 0], [3, 4])
    5.0
    """
    if not isinstance(metric, str):
        raise SvdkitError(
            f"metric must be a name, one of {', '.join(_METRICS)}; got {metric!r}"
        )
    metric = metric.lower()
    if metric == "hamming":
        return _hamming(x, y)
    if metric not in _METRICS:
        raise SvdkitError(f"unknown metric {metric!r}: use one of {', '.join(_METRICS)}")
    a, b = as_vector(x, name="x"), as_vector(y, name="y")
    if a.shape != b.shape:
        raise ShapeError(
            f"{metric} distance needs vectors of equal length; x has {a.size}, y has {b.size}"
        )
    p = {"euclidean": 2, "manhattan": 1, "chebyshev": np.inf}[metric]
    with np.errstate(over="ignore", invalid="ignore"):  # (overflow: scaled below)
        diff = a - b
    if np.isfinite(diff).all():
        return scaled_norm(diff, p)
    # an xᵢ − yᵢ past the largest float: on x·2^−e − y·2^−e (2^e above every entry), the
    # distance 2^e times that, inf only where the distance itself is past the largest float
    e = max(entry_exponent(a), entry_exponent(b)) + 1
    scaled = times_power_of_two(a, -e) - times_power_of_two(b, -e)
    with np.errstate(over="ignore"):
        return float(np.ldexp(scaled_norm(scaled, p), e))


def _hamming(x, y) -> int:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        xs, ys = np.asarray(x).ravel().tolist(), np.asarray(y).ravel().tolist()
    elif isinstance(x, str | Sequence) and isinstance(y, str | Sequence):
        xs, ys = x, y
    else:
        raise SvdkitError("Hamming distance needs two strings or sequences")
    if len(xs) != len(ys):
        raise ShapeError(
            f"Hamming distance needs sequences of equal length; got {len(xs)} and {len(ys)}"
        )
    return sum(a != b for a, b in zip(xs, ys, strict=True))
