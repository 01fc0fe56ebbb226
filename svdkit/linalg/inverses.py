"""Inverses and solves: ``inv``, ``pinv``, ``lstsq``, one-sided inverses.

Square systems use LU (LAPACK ``getrf``/``gecon``/``getri``); everything else
goes through the SVD of :mod:`svdkit.linalg.svd`, so that ranks and pseudo-inverses
follow the one tolerance rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.linalg import lapack

from svdkit.errors import RankError, ShapeError, SingularMatrixError, SvdkitError
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import (
    check_hermitian_flag,
    hermitian_flag,
    require_square,
    shape_text,
)
from svdkit.linalg._results import Unpackable
from svdkit.linalg.measures import (
    _LU_SAFE_EXPONENT,
    _exponent,
    entry_exponent,
    times_power_of_two,
)
from svdkit.linalg.residuals import column_norms
from svdkit.linalg.svd import SVD, svd
from svdkit.linalg.tolerance import (
    eps_of,
    rcond_alias,
    relative_cutoff,
    relative_threshold,
    rule_dtype,
    zero_threshold,
)

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["Lstsq", "inv", "left_inverse", "lstsq", "pinv", "right_inverse"]


def inv(A: MatrixLike) -> np.ndarray:
    """Inverse of a square matrix, refusing singular and numerically singular ones.

    A matrix counts as numerically singular when LAPACK's estimate of its
    reciprocal condition number (1-norm) is at most ``n · eps`` — the tolerance
    rule with scale 1, ``eps`` float64's or that of the precision A is stored in
    where coarser (float32 data: 1.2e-7). Use :func:`pinv` for those.

    A matrix whose largest entry lies beyond ``2^±900`` is inverted as
    ``A⁻¹ = 2^−e (A · 2^−e)⁻¹`` (:func:`_inv_scaling`; exact, and the condition
    number is unchanged); an entry of ``A⁻¹`` past the largest float is ``±inf``.

    Parameters
    ----------
    A : array_like, str or path
        A square matrix.

    Returns
    -------
    ndarray
        ``A⁻¹`` with ``A A⁻¹ = A⁻¹ A = I``.

    Raises
    ------
    SingularMatrixError
        Naming the zero pivot, or the reciprocal condition number.

    Examples
    --------
    >>> import svdkit
    >>> svdkit.inv([[1, 1], [0, -1]]).tolist()
    [[1.0, 1.0], [0.0, -1.0]]
    """
    a = as_matrix(A)
    return inverse_of(a, rule_dtype(A, a.dtype))


def inverse_of(a: np.ndarray, precision: np.dtype | type) -> np.ndarray:
    """:func:`inv` of a validated matrix, "numerically singular" decided with the ``eps``
    of ``precision`` (:func:`svdkit.linalg.tolerance.rule_dtype` of the caller's input:
    float32 data, inverted in float64, is refused at float32's ``n · eps``)."""
    n = require_square(a, "inv")
    eps = eps_of(precision)
    a, e = _inv_scaling(a)
    getrf, getri, gecon = lapack.get_lapack_funcs(("getrf", "getri", "gecon"), (a,))
    lu, piv, info = getrf(a)
    if info > 0:
        raise SingularMatrixError(
            f"A ({shape_text(a.shape)}) is singular: pivot {info} of its LU factorisation is "
            "zero, so A has no inverse (its pseudo-inverse is svdkit.pinv(A))"
        )
    anorm = np.linalg.norm(a, 1)
    rcond, _ = gecon(lu, anorm, norm="1")
    if rcond <= n * eps:
        raise SingularMatrixError(
            f"A ({shape_text(a.shape)}) is numerically singular: its reciprocal condition "
            f"number ≈ {rcond:.1e} is below n·eps = {n * eps:.1e}; use svdkit.pinv(A)"
        )
    lwork, _ = lapack.get_lapack_funcs(("getri_lwork",), (a,))[0](n)
    result, info = getri(lu, piv, lwork=int(np.real(lwork)))
    return _ldexp(result, -e) if e else result


def lu_inverse(a: np.ndarray) -> np.ndarray | None:
    """``A⁻¹`` of a square matrix by LU (``getrf``/``getri``, as NumPy's ``inv``), with no
    refusal of a numerically singular one; ``None`` where a pivot is exactly zero.

    For :func:`svdkit.cond` in norms other than 2 and −2, which decides singularity by
    the rank rule first (:func:`svdkit.inv` refuses by LAPACK's condition estimate).
    """
    n = a.shape[0]
    getrf, getri, getri_lwork = lapack.get_lapack_funcs(("getrf", "getri", "getri_lwork"), (a,))
    lu, piv, info = getrf(a)
    if info > 0:
        return None
    lwork, _ = getri_lwork(n)
    result, _ = getri(lu, piv, lwork=int(np.real(lwork)))
    return result


def _inv_scaling(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(a · 2^−e, e)``, ``2^e`` the power of two just above ``max |aᵢⱼ|``, where that
    lies beyond ``2^±900`` (as :func:`svdkit.linalg.measures._lu_scaling` decides);
    else ``(a, 0)``, so that ordinary matrices are inverted bit for bit as before.

    At ``1e308`` the 1-norm ``gecon`` needs overflows (``inf``, and ``gecon`` answers
    ``rcond = 0``); at ``1e-308`` it estimates ``rcond = 0`` for ``diag(1e-308, 1e-307)``.
    One factor for the whole matrix (not one per row) keeps ``cond₁`` and so the
    decision "numerically singular" exactly A's.
    """
    largest = float(np.abs(a).max()) if a.size else 0.0
    if not largest > 0:
        return a, 0
    e = entry_exponent(a)  # (finite where a complex |aᵢⱼ| overflows)
    if abs(e) <= _LU_SAFE_EXPONENT:
        return a, 0
    return times_power_of_two(a, -e), e


def _ldexp(x: np.ndarray, e) -> np.ndarray:
    """``x · 2^e`` entry by entry, ``±inf`` (never NaN) where that is past the largest float."""
    with np.errstate(over="ignore"):  # an entry past the largest float is ±inf, as it is
        return times_power_of_two(x, e)


def pinv(
    A: MatrixLike,
    *args: object,
    tol: float | None = None,
    rcond: float | None = None,
    rtol: float | None = None,
    hermitian: bool | None = False,
) -> np.ndarray:
    """Moore–Penrose pseudo-inverse ``A⁺ = V Σ⁺ Uᴴ``.

    ``Σ⁺`` holds ``1/σᵢ`` for the singular values above the tolerance rule's
    threshold and 0 for the others (the notes' "1/0 = 0" convention, made
    precise: 1/σ for tiny σ would amplify rounding noise).

    Parameters
    ----------
    A : array_like, str or path
        Any m×n matrix.
    tol : float, optional, keyword-only
        **Absolute** threshold: a singular value ``σᵢ <= tol`` counts as zero.
    rcond : float, optional, keyword-only
        **Relative** threshold, NumPy's: ``σᵢ <= rcond · σ₁`` counts as zero
        (``numpy.linalg.pinv(A, rcond)``).
    rtol : float, optional, keyword-only
        NumPy 2's name for ``rcond`` (``numpy.linalg.pinv(A, rtol=)``), the same cutoff.
        At most one of ``tol``, ``rcond`` and ``rtol``; none: the tolerance rule
        ``max(m, n)·eps·σ₁``. An infinite ``rcond`` / ``rtol`` gives a zero ``A⁺`` (rank
        0), as in NumPy 2.
    hermitian : bool, default False, keyword-only
        NumPy's flag, checked: ``True`` (or ``1``) refuses an A that is not Hermitian (by
        the tolerance rule); ``False``, ``0`` and ``None`` ask nothing; ``A⁺`` is the same
        either way. Keyword-only, unlike NumPy's third positional parameter, as no
        threshold is positional either.

    Raises
    ------
    SvdkitError
        A positional argument after A: NumPy reads ``pinv(A, 1e-6)`` as a relative
        ``rcond``, svdkit's ``tol`` is absolute, so neither is taken positionally
        (write ``tol=`` or ``rcond=``; ``hermitian=`` too); more than one threshold
        given; a ``tol`` not a finite number ``>= 0``, an ``rcond`` / ``rtol`` not a
        number ``>= 0`` (messages name the one given); ``hermitian`` not one of
        ``True``, ``False``, ``1``, ``0``, ``None``.
    StructureError
        ``hermitian=True`` for a matrix that is not Hermitian.

    Returns
    -------
    ndarray, shape (n, m)

    Examples
    --------
    >>> import svdkit
    >>> svdkit.pinv([[2, 0], [0, 0]]).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    >>> float(svdkit.pinv([[1e308, 1e308], [1e308, 1e308]])[0, 0])  # σ₁ = 2e308 overflows
    2.499999999999997e-309
    """
    no_positional_tol("pinv", args, more="hermitian")
    rcond, name = rcond_alias(rcond, rtol)
    rcond = relative_threshold(rcond, tol, name)  # (checked before the SVD)
    if hermitian_flag(hermitian):  # (what is no flag is refused by name)
        a = as_matrix(A)
        check_hermitian_flag(a, True, "pinv", rule_dtype(A, a.dtype))
    return svd(A).pinv(tol, rcond=rcond)


def no_positional_tol(call: str, args: tuple, more: str | None = None) -> None:
    """Refuse a threshold given by position (``args``, what follows ``call``'s own
    positional arguments): NumPy's is a relative ``rcond``, svdkit's ``tol`` absolute.
    ``more`` names NumPy's positional parameter after the threshold (``pinv``'s
    ``hermitian``), keyword-only in svdkit too: the message says so when it is given."""
    if not args:
        return
    tail = ""
    if more is not None and len(args) > 1:
        tail = f"; {more}= is keyword-only too ({call}(..., {more}={args[1]!r}))"
    if args[0] is None:  # (None is the default: only the position is wrong)
        raise SvdkitError(
            f"{call} takes no threshold by position (got None): tol= (absolute) and "
            "rcond= (relative to σ₁, NumPy's) are keyword-only; leave it out for the "
            f"default, the tolerance rule{tail}"
        )
    raise SvdkitError(
        f"{call} takes no threshold by position (got {args[0]!r}): svdkit's tol is an "
        f"absolute threshold and keyword-only ({call}(..., tol=...)), and NumPy's "
        f"positional rcond is relative to σ₁: write {call}(..., rcond={args[0]!r}) "
        f"for NumPy's meaning{tail}"
    )


def _pseudo_inverse(dec: SVD, tol: float | None, rcond: float | None = None) -> np.ndarray:
    """``A⁺`` from an SVD (the body of :meth:`svdkit.linalg.svd.SVD.pinv`)."""
    dec, r, e = _in_range(dec, tol, rcond)
    return _pinv_terms(dec.U[:, :r], dec.s[:r], dec.Vh[:r], -e)


def _in_range(dec: SVD, tol: float | None, rcond: float | None = None) -> tuple[SVD, int, int]:
    """``(dec, rank, 0)``; or, for an SVD computed on ``A · 2^−e`` (its
    :attr:`~svdkit.linalg.svd.SVD.exponent`), or where ``σ₁`` of a finite matrix
    overflowed, the SVD of ``A · 2^−e``, its rank and ``e`` (``A⁺ = 2^−e (A · 2^−e)⁺``,
    the scaling exact).

    ``1/σ₁`` is then ``0`` where ``1/(2e308) = 5e-309`` is a float, and a σ that
    underflowed in A's units (``0``) keeps its term; the rank is :meth:`SVD.rank`'s,
    an absolute ``tol`` meaning ``tol`` in A's units (``tol · 2^−e`` in the scaled ones),
    a relative ``rcond`` the threshold ``rcond · σ₁`` (scale-free).
    """
    a = dec.matrix
    if dec.exponent and dec.scaled_s is not None:
        e = dec.exponent
        matrix = times_power_of_two(a, -e) if isinstance(a, np.ndarray) else None
        scaled = SVD(dec.U, dec.scaled_s, dec.Vh, matrix, dec.driver, dec.precision)
        return scaled, dec.rank(tol, rcond=rcond), e
    if not (dec.s.size and np.isposinf(dec.s[0]) and a is not None and np.isfinite(a).all()):
        return dec, dec.rank(tol, rcond=rcond), 0
    e = entry_exponent(a)
    scaled = svd(times_power_of_two(a, -e))
    if dec.s.shape[0] < scaled.s.shape[0]:  # a truncated SVD: A⁺ of its k triplets
        scaled = scaled.truncate(dec.s.shape[0])
    dtype = rule_dtype(getattr(dec, "precision", None), dec.s.dtype)
    if rcond is not None:
        thr = relative_cutoff(relative_threshold(rcond, tol), float(scaled.s[0]))
    elif tol is None:
        thr = zero_threshold(dec.shape, scaled.s[0], dtype)
    else:
        thr = float(np.ldexp(zero_threshold(dec.shape, 0.0, dtype, tol), -e))
    return scaled, int(np.count_nonzero(scaled.s > thr)), e


def _tiny_split(s: np.ndarray, quotients: np.ndarray) -> tuple[np.ndarray, int]:
    """The rows whose ``quotients`` (a matrix, one row per ``sᵢ``) overflowed (``sᵢ``
    tiny), and the exponent ``E`` with ``2^(E−1) <= min sᵢ`` over them:
    ``x/s = 2^−E · x/(s · 2^−E)``, where ``s · 2^−E >= 1/2`` (an exact scaling)
    cannot overflow the quotient.
    """
    big = ~np.isfinite(quotients).all(axis=1)
    return big, (_exponent(float(s[big].min())) if big.any() else 0)


def _pinv_terms(U: np.ndarray, s: np.ndarray, Vh: np.ndarray, shift: int) -> np.ndarray:
    """``2^shift · V Σ⁻¹ Uᴴ`` for the kept triplets (``s > 0``), ``±inf`` past the
    largest float but never NaN (``inf · 0`` would be, where ``1/σ`` overflows).

    The terms whose ``1/σᵢ`` overflows are summed scaled (:func:`_tiny_split`) and
    multiplied back once; for any other matrix this is ``(V / s) @ Uᴴ`` as it was.
    """
    V, Uh = Vh.conj().T, U.conj().T
    with np.errstate(over="ignore", divide="ignore"):  # 1/σ past the largest float: split
        big, E = _tiny_split(s, (1.0 / s)[:, None])
    if not big.any():
        x = (V / s) @ Uh
        return _ldexp(x, shift) if shift else x
    keep = ~big
    x = _ldexp((V[:, keep] / s[keep]) @ Uh[keep], shift)
    tail = (V[:, big] / np.ldexp(s[big], -E)) @ Uh[big]
    return x + _ldexp(tail, shift - E)


@dataclass(frozen=True, eq=False)
class Lstsq(Unpackable):
    """Minimum-norm least-squares solution; unpacks as ``x, residuals, rank, s``.

    Attributes
    ----------
    x : ndarray
        The solution of minimal norm among the minimisers of ``‖Ax − b‖₂``.
    residuals : ndarray or float
        ``‖Ax − b‖₂`` (per column when ``b`` is a matrix): the norm, **not squared**,
        unlike ``numpy.linalg.lstsq``, whose ``residuals`` in the same place of the
        same unpacking are the squared norms ``‖Ax − b‖₂²``; square it for NumPy's value.
        svdkit gives it for every A, where NumPy gives an empty array unless A is tall
        and of full column rank (``m > n = rank``), and a float for a 1-D ``b``, where
        NumPy gives an array of one. For a matrix factored as
        ``A · 2^−e`` (:attr:`svdkit.linalg.svd.SVD.exponent`) it is computed there,
        with each column of ``b`` scaled by a power of two of its own: the residual of
        ``A⁺b``, even where an entry of ``x`` underflows in A's units (a huge A and a
        tiny b: ``x = 0`` as stored, the residual ``‖b − AA⁺b‖₂``, not ``‖b‖₂``).
    rank : int
        Numerical rank of ``A`` used.
    s : ndarray
        Singular values of ``A``.

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> A, b = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [1.0, 2.0, 4.0]
    >>> x, res, rank, s = svdkit.lstsq(A, b)
    >>> round(res, 12), round(res**2, 12)
    (0.57735026919, 0.333333333333)
    >>> bool(np.isclose(res**2, np.linalg.lstsq(A, b)[1][0], rtol=1e-14))  # NumPy's: squared
    True
    """

    x: np.ndarray
    residuals: np.ndarray | float
    rank: int
    s: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("x", "residuals", "rank", "s")


def lstsq(
    A: MatrixLike,
    b: MatrixLike,
    *args: object,
    tol: float | None = None,
    rcond: float | None = None,
) -> Lstsq:
    """Solve ``min ‖Ax − b‖₂`` with the minimum-norm solution ``x = A⁺ b``.

    Parameters
    ----------
    A : array_like, str or path
        m×n matrix, any rank.
    b : array_like
        Right-hand side, shape (m,) or (m, k).
    tol : float, optional, keyword-only
        **Absolute** threshold for the rank decision: ``σᵢ <= tol`` counts as zero.
    rcond : float, optional, keyword-only
        **Relative** threshold, NumPy's: ``σᵢ <= rcond · σ₁`` counts as zero
        (``numpy.linalg.lstsq(A, b, rcond)``). At most one of ``tol`` and ``rcond``;
        neither: the tolerance rule ``max(m, n)·eps·σ₁`` (NumPy's ``rcond=None``).

    Returns
    -------
    Lstsq
        ``x, residuals, rank, s``, as ``numpy.linalg.lstsq`` unpacks, but
        ``residuals`` is the norm ``‖Ax − b‖₂``, not its square (see :class:`Lstsq`).

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.lstsq([[1, 0], [0, 0]], [1, 0])
    >>> r.x.tolist(), r.rank
    ([1.0, 0.0], 1)

    Raises
    ------
    SvdkitError
        A third positional argument (NumPy's positional ``rcond`` is relative, svdkit's
        ``tol`` absolute: write ``tol=`` or ``rcond=``); ``tol`` and ``rcond`` both
        given; either not a finite number ``>= 0``.
    """
    no_positional_tol("lstsq", args)
    relative_threshold(rcond, tol)  # (checked before the SVD)
    dec = svd(A)
    a = dec.matrix
    rhs = as_matrix(b, name="b")
    # A 1-D b gives a 1-D x; so does text that parses to one column ("[1, 2]", "1; 2"),
    # but text with several columns is several right-hand sides, as an array would be.
    vector = np.ndim(b) == 1 or (isinstance(b, str) and rhs.shape[1] == 1)
    if rhs.shape[0] != a.shape[0]:
        raise ShapeError(
            f"lstsq: b has {rhs.shape[0]} rows but A ({shape_text(a.shape)}) has {a.shape[0]}"
        )
    used, r, e = _in_range(dec, tol, rcond)
    if e:  # A⁺b = 2^(g−e) (A·2^−e)⁺ (b·2^−g), g per column: b·2^−e may under/overflow
        g = _column_exponents(rhs)
        scaled, _ = _solve_terms(
            used.U[:, :r], used.s[:r], used.Vh[:r], times_power_of_two(rhs, -g[None, :]), 0
        )
        x = _ldexp(scaled, (g - e)[None, :])
        # Ax − b = 2^g ((A·2^−e) x' − b·2^−g), x' = 2^(e−g) x the scaled solution
        res = _extreme_residual(used, r, scaled, rhs, g)
    else:
        x, extreme = _solve_terms(used.U[:, :r], used.s[:r], used.Vh[:r], rhs, 0)
        if not extreme:
            with np.errstate(over="ignore", invalid="ignore"):
                res = column_norms(a @ x - rhs)  # no overflow for entries of size 1e200
        if extreme or not np.isfinite(res).all():  # a @ x may overflow, or x hold inf
            # (x near the largest float with a finite b: 2·9e307 in A·x overflowed)
            res = _extreme_residual(used, r, x, rhs, np.zeros(rhs.shape[1], dtype=int))
    if vector:
        return Lstsq(x[:, 0], float(res[0]), r, dec.s, a)
    return Lstsq(x, res, r, dec.s, a)


def _column_exponents(b: np.ndarray) -> np.ndarray:
    """Per column of ``b``, the ``g`` with ``2^(g−1) <= max |bᵢⱼ| < 2^g`` (0 for a zero column)."""
    return entry_exponent(b, axis=0)  # (finite where a complex |bᵢⱼ| overflows)


def _solve_terms(
    U: np.ndarray, s: np.ndarray, Vh: np.ndarray, rhs: np.ndarray, shift: int
) -> tuple[np.ndarray, bool]:
    """``(2^shift · V Σ⁻¹ Uᴴ b, extreme)``: ``±inf`` past the largest float, never NaN.

    ``extreme`` is whether anything was scaled. Columns of ``b`` whose ``Uᴴb``
    overflows are scaled first by the power of two just above their largest entry;
    the coefficients ``(Uᴴb)ᵢ/σᵢ`` that overflow (``σᵢ`` tiny) are summed scaled
    (:func:`_tiny_split`). For any other system this is ``V (Uᴴb / s)`` as it was.
    """
    V, Uh = Vh.conj().T, U.conj().T
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        coeffs = (Uh @ rhs) / s[:, None]
    if np.isfinite(coeffs).all():
        x = V @ coeffs
        return (_ldexp(x, shift), True) if shift else (x, False)
    f = np.zeros(rhs.shape[1], dtype=int)
    with np.errstate(over="ignore", invalid="ignore"):
        overflowed = ~np.isfinite(Uh @ rhs).all(axis=0)
    if overflowed.any():  # b near the largest float: ‖b‖ overflows, b · 2^−f cannot
        f[overflowed] = entry_exponent(rhs[:, overflowed], axis=0)
        rhs = times_power_of_two(rhs, -f[None, :])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        coeffs = (Uh @ rhs) / s[:, None]
        big, E = _tiny_split(s, coeffs)
    keep = ~big
    x = _ldexp(V[:, keep] @ coeffs[keep], shift + f[None, :])
    if big.any():
        tail = V[:, big] @ ((Uh[big] @ rhs) / np.ldexp(s[big], -E)[:, None])
        x = x + _ldexp(tail, shift + f[None, :] - E)
    return x, True


def _extreme_residual(
    used: SVD, r: int, x: np.ndarray, rhs: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """``‖Ax − b‖₂`` per column, for a solution from :func:`_solve_terms`'s scaled paths.

    ``used`` is the SVD of ``A · 2^−e`` (its ``matrix``), ``x`` the solution of
    ``(A · 2^−e) x = b · 2^−g`` (``g`` per column of ``b``; A's own solution is
    ``2^(g−e) x``), and the residual ``2^g ‖(A · 2^−e) x − b · 2^−g‖₂``: with ``b`` scaled
    by a power of two of its own column, not by A's (``b · 2^−e`` underflows to 0 for a
    huge A and a tiny b, and the residual with it). Where that is not finite (``x``
    holds ``±inf``, or ``b`` is near the largest float) it is the residual of ``A⁺b``
    itself, ``‖b − U Uᴴ b‖₂`` (U the ``r`` kept left singular vectors), each column of
    ``b`` scaled first by the power of two just above its largest entry.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scaled_b = times_power_of_two(rhs, -g[None, :])
        res = _ldexp(column_norms(used.matrix @ x - scaled_b), g)
    bad = ~np.isfinite(res)
    if bad.any():
        b = rhs[:, bad]
        h = entry_exponent(b, axis=0)  # b ≠ 0 there: A·x − 0 would be finite
        U = used.U[:, :r]
        scaled = times_power_of_two(b, -h[None, :])
        res[bad] = _ldexp(column_norms(scaled - U @ (U.conj().T @ scaled)), h)
    return res


def left_inverse(
    A: MatrixLike, *args: object, tol: float | None = None, rcond: float | None = None
) -> np.ndarray:
    """A left inverse ``L`` with ``L A = I``, for a matrix of full column rank.

    Left inverses of a tall matrix are not unique; this returns the
    Moore–Penrose one, ``(AᴴA)⁻¹Aᴴ = A⁺`` (computed from the SVD, never by
    forming AᴴA), the only one whose rows lie in the column space of A.

    ``tol`` (absolute) and ``rcond`` (relative to σ₁) are keyword-only, as for :func:`pinv`.

    Raises
    ------
    RankError
        When ``rank A < n`` (no left inverse exists).

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> M = [[1, 3], [1, 2], [3, 1]]
    >>> bool(np.allclose(svdkit.left_inverse(M) @ M, np.eye(2)))
    True
    """
    no_positional_tol("left_inverse", args)
    dec = svd(A)
    m, n = dec.shape
    r = dec.rank(tol, rcond=rcond)
    if r < n:
        raise RankError(
            f"A ({shape_text((m, n))}) has rank {r} < {n} columns: it has no left inverse"
            + (" (a wide matrix never has one)" if m < n else "")
        )
    return dec.pinv(tol, rcond=rcond)


def right_inverse(
    A: MatrixLike, *args: object, tol: float | None = None, rcond: float | None = None
) -> np.ndarray:
    """A right inverse ``R`` with ``A R = I``, for a matrix of full row rank.

    Returns the Moore–Penrose one, ``Aᴴ(AAᴴ)⁻¹ = A⁺``.

    ``tol`` (absolute) and ``rcond`` (relative to σ₁) are keyword-only, as for :func:`pinv`.

    Raises
    ------
    RankError
        When ``rank A < m`` (no right inverse exists).

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> P = [[-2, 3, 0], [1, -1, 0]]
    >>> bool(np.allclose(P @ svdkit.right_inverse(P), np.eye(2)))
    True
    """
    no_positional_tol("right_inverse", args)
    dec = svd(A)
    m, n = dec.shape
    r = dec.rank(tol, rcond=rcond)
    if r < m:
        raise RankError(
            f"A ({shape_text((m, n))}) has rank {r} < {m} rows: it has no right inverse"
            + (" (a tall matrix never has one)" if m > n else "")
        )
    return dec.pinv(tol, rcond=rcond)
