"""Cholesky factorisation ``A = L Lᴴ``: the definite one (LAPACK) and the semidefinite one.

Two factorisations, both of a real symmetric or complex Hermitian ``A`` with
``L`` lower triangular:

* **definite** (the default): LAPACK ``potrf``. It exists, with a positive
  diagonal, exactly when A is positive definite (course notes §5.1,
  criterion 3). When it does not, the failing pivot ``k`` says that the
  leading principal minor of order ``k`` is not positive.
* **semidefinite** (``semidefinite=True``): an unpivoted Cholesky that lets a
  pivot be zero, provided the rest of its column is zero too. It exists, with
  a non-negative (possibly zero) diagonal, exactly when A is positive
  semidefinite (notes §5.2, criterion 3, which is correct).

Zero decisions follow the tolerance rule of :mod:`svdkit.linalg.tolerance`.
The pivot ``dₖ`` of step ``k`` is the ``(k, k)`` entry of a Schur complement,
``aₖₖ − a₁ₖᴴ A₁₁⁻¹ a₁ₖ`` (``A₁₁`` the leading block of the positive pivots so
far, ``a₁ₖ`` its part of column ``k``); it counts as zero when

    |dₖ| <= n · eps · max |aᵢᵢ| · (1 + ‖wₖ‖₂)²,    wₖ = A₁₁⁻¹ a₁ₖ = L₁₁⁻ᴴ lₖᴴ

(or ``|dₖ| <= tol``). The scale ``max |aᵢᵢ|`` is the natural size of a positive
semidefinite matrix (``|aᵢⱼ|² <= aᵢᵢ aⱼⱼ``, and ``‖A‖₂ <= n max aᵢᵢ``); the
factor ``(1 + ‖wₖ‖)²`` is Higham's bound for the rounding error of a computed
Schur complement (N. J. Higham, *Analysis of the Cholesky decomposition of a
semi-definite matrix*, 1990; *Accuracy and Stability of Numerical Algorithms*,
2nd ed., Thm. 10.14): a zero pivot computed after an ill-conditioned leading
block carries a larger error, and without the factor a singular PSD matrix
such as ``BᵀB`` with ``B = [[0, 0, 0], [3, 1, 2], [2, 1, 0]]`` would be
refused for a pivot of ``−9.8e-15``. The definite factorisation also refuses
a pivot that LAPACK accepted but that is zero by this rule (A is then
numerically singular). Pass ``tol=0`` to accept every positive pivot.

The symmetry check uses the identity rule of :mod:`svdkit.linalg.structure`:
``‖A − Aᴴ‖_F <= n · eps · 2‖A‖_F`` (or ``tol``); the factorisation then uses the
Hermitian part ``(A + Aᴴ)/2``.

Examples
--------
>>> from svdkit.linalg.cholesky import cholesky
>>> cholesky([[4, 2], [2, 5]])
array([[2., 0.],
       [1., 2.]])
>>> cholesky([[1, 1], [1, 1]], semidefinite=True)
array([[1., 0.],
       [1., 0.]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import get_lapack_funcs

from svdkit.errors import NotPositiveDefiniteError
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import require_square
from svdkit.linalg.measures import _exponent, _times_power_of_two
from svdkit.linalg.structure import require_hermitian
from svdkit.linalg.tolerance import rule_dtype, zero_threshold

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["CholeskyAttempt", "cholesky", "cholesky_attempt", "pivot_threshold"]


@dataclass(frozen=True, eq=False)
class CholeskyAttempt:
    """The outcome of one Cholesky factorisation, success or failure, without raising.

    Attributes
    ----------
    factor : ndarray or None
        ``L``, lower triangular with ``A = L Lᴴ`` (real non-negative diagonal),
        or None when the factorisation does not exist.
    pivot : int or None
        On failure, the 1-based order ``k`` of the failing pivot: for the
        definite factorisation, the leading principal minor of order ``k`` is
        not positive.
    reason : str or None
        On failure, why, in words (without the matrix's name).
    semidefinite : bool
        Which factorisation was attempted.
    threshold : float
        The base zero threshold of the pivots, ``n · eps · max |aᵢᵢ|`` (or
        ``tol``); pivot ``k`` is compared with it times ``(1 + ‖wₖ‖)²``.
    """

    factor: np.ndarray | None
    pivot: int | None
    reason: str | None
    semidefinite: bool = False
    threshold: float = 0.0

    @property
    def succeeded(self) -> bool:
        """Whether the factorisation exists."""
        return self.factor is not None

    def __bool__(self) -> bool:
        return self.succeeded


def pivot_threshold(
    h: np.ndarray, tol: float | None = None, precision: np.dtype | None = None
) -> float:
    """The base zero threshold for Cholesky pivots: ``n · eps · max |aᵢᵢ|``, or ``tol``.

    Pivot ``k`` is compared with this times ``(1 + ‖wₖ‖)²`` (see the module
    docstring); with ``tol`` it is compared with ``tol`` alone. ``eps`` is that of
    ``precision`` (``h.dtype`` by default): float32 data is factorised in float64
    but carries float32's rounding (:func:`svdkit.linalg.tolerance.rule_dtype`).

    Examples
    --------
    >>> import numpy as np
    >>> pivot_threshold(np.diag([1.0, 4.0])) == 2 * float(np.finfo(float).eps) * 4
    True
    """
    scale = float(np.max(np.abs(np.diagonal(h)))) if h.size else 0.0
    return zero_threshold(h.shape, scale, h.dtype if precision is None else precision, tol)


def _growth(w_norm: float | np.ndarray, tol: float | None):
    """``(1 + ‖wₖ‖)²``, Higham's growth factor, or 1 when the caller gave ``tol``."""
    return 1.0 if tol is not None else (1.0 + w_norm) ** 2


def _hermitian_input(
    A, what: str, name: str, tol: float | None
) -> tuple[np.ndarray, np.dtype]:
    """Front door, square and Hermitian checks; the Hermitian part and the rule's
    precision (float32 for float32 data)."""
    a = as_matrix(A, name=name)
    precision = rule_dtype(A, a.dtype)
    require_square(a, what, name)
    require_hermitian(a, what, name, tol, precision=precision)
    # (a + aᴴ could overflow for entries near 1e308)
    return a / 2 + a.conj().T / 2, precision


def _quarter_exponent(h: np.ndarray) -> int:
    """The ``k`` with ``max |aᵢⱼ| · 4^−k`` in ``[1/2, 2)`` (0 for the zero matrix).

    Both factorisations run on ``A · 4^−k`` and scale ``L`` back by ``2^k``:
    scaling by a power of two is exact, and it keeps the squares and products
    of pivots and entries (the 2 × 2 minors, the thresholds) in range for
    entries of size ``1e200`` or ``1e-200``.
    """
    largest = float(np.abs(h).max()) if h.size else 0.0
    return _exponent(largest) // 2 if largest > 0 else 0


def _scaled_call(
    core: Callable[[np.ndarray, float | None, int, np.dtype | None], CholeskyAttempt],
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype | None,
) -> CholeskyAttempt:
    """``core`` (the definite or semidefinite factorisation) on ``A · 4^−k``, with
    its factor, threshold and message numbers given back in the units of A."""
    base = pivot_threshold(h, tol, precision)  # validates tol, in A's units
    k = _quarter_exponent(h)
    if k == 0:
        return core(h, tol, 0, precision)
    big = float(np.finfo(np.float64).max)
    with np.errstate(over="ignore", under="ignore"):
        scaled_tol = None if tol is None else min(float(np.ldexp(base, -2 * k)), big)
    attempt = core(_times_power_of_two(h, -2 * k), scaled_tol, 2 * k, precision)
    factor = None if attempt.factor is None else _times_power_of_two(attempt.factor, k)
    return CholeskyAttempt(factor, attempt.pivot, attempt.reason, attempt.semidefinite, base)


def _shown(x: float, unit: int) -> float:
    """A number of the scaled matrix in the units of A (``x · 2^unit``), for messages."""
    with np.errstate(over="ignore"):  # (beyond the largest float: shown as inf)
        return float(np.ldexp(x, unit))


def _definite(
    h: np.ndarray, tol: float | None, precision: np.dtype | None = None
) -> CholeskyAttempt:
    """LAPACK ``potrf`` on a Hermitian matrix, plus the zero-pivot rule (scale-safe)."""
    return _scaled_call(_definite_core, h, tol, precision)


def _semidefinite(
    h: np.ndarray, tol: float | None, precision: np.dtype | None = None
) -> CholeskyAttempt:
    """The semidefinite factorisation of :func:`_semidefinite_core` (scale-safe)."""
    return _scaled_call(_semidefinite_core, h, tol, precision)


def _definite_core(
    h: np.ndarray, tol: float | None, unit: int, precision: np.dtype | None
) -> CholeskyAttempt:
    """LAPACK ``potrf`` on a Hermitian matrix, plus the zero-pivot rule.

    ``unit``: ``h`` is A scaled by ``2^−unit``; numbers in messages are scaled back.
    ``precision``: whose ``eps`` the zero-pivot rule uses (:func:`pivot_threshold`).
    """
    base = pivot_threshold(h, tol, precision)
    (potrf,) = get_lapack_funcs(("potrf",), (h,))
    c, info = potrf(h, lower=True, clean=True, overwrite_a=False)
    if info < 0:  # pragma: no cover - an argument error is a bug here, not bad input
        raise RuntimeError(f"LAPACK potrf: illegal value in argument {-info}")
    if info > 0:
        return CholeskyAttempt(
            None,
            int(info),
            f"the leading minor of order {info} is not positive "
            f"(pivot {info} of the Cholesky factorisation)",
            False,
            base,
        )
    L = np.tril(c)
    diag = np.abs(np.diagonal(L))
    pivots = diag**2
    if tol is None:
        # ‖wₖ‖ = |lₖₖ| · ‖(L⁻¹)[k, :k]‖, since (L − diag L) L⁻¹ = I − diag(L) L⁻¹
        with np.errstate(over="ignore", invalid="ignore"):
            Linv = solve_triangular(L, np.eye(L.shape[0], dtype=L.dtype), lower=True)
            w = diag * np.linalg.norm(np.tril(Linv, -1), axis=1)
            thresholds = base * _growth(np.nan_to_num(w, nan=np.inf), tol)
    else:
        thresholds = np.full(pivots.shape, base)
    small = np.flatnonzero(pivots <= thresholds)
    if small.size:
        k = int(small[0]) + 1
        return CholeskyAttempt(
            None,
            k,
            f"the leading minor of order {k} is zero to within the tolerance (pivot {k} "
            f"of the Cholesky factorisation is {_shown(pivots[k - 1], unit):.3g} <= "
            f"{_shown(thresholds[k - 1], unit):.3g})",
            False,
            base,
        )
    return CholeskyAttempt(L, None, None, False, base)


def _semidefinite_core(
    h: np.ndarray, tol: float | None, unit: int, precision: np.dtype | None
) -> CholeskyAttempt:
    """Unpivoted Cholesky on the Schur complements, allowing zero pivots.

    Step ``k`` looks at the pivot ``d = S[k, k]`` of the current Schur
    complement ``S = A − L[:, :k] L[:, :k]ᴴ``, the column ``c = S[k+1:, k]``
    below it, and the zero threshold ``thr`` of pivot ``k`` (module docstring):

    * ``d > thr``: an ordinary step, ``L[k, k] = √d``, ``L[k+1:, k] = c/√d``;
    * ``|d| <= thr`` and ``c ≈ 0``: ``L[:, k] = 0``;
    * ``|d| <= thr`` and ``c`` not ≈ 0: not PSD (a PSD matrix with a zero
      diagonal entry has a zero row and column there);
    * ``d < −thr``: not PSD.

    ``c ≈ 0`` means that every 2 × 2 principal minor ``d·sᵢᵢ − |sᵢₖ|²`` through
    the pivot is non-negative to within the tolerance:
    ``|sᵢₖ|² <= (|d| + thr)(|sᵢᵢ| + thr)``. That is the PSD condition on the
    Schur complement, relaxed as far as a pivot of size ``thr`` allows, so that
    rounding in a singular PSD matrix does not refuse it.

    The columns of ``S`` are formed when they are needed (left-looking, one
    matrix-vector product per step), so the work is ``n³/6`` multiply-adds
    with no ``n × n`` temporaries. The growth factor ``(1 + ‖wₖ‖)²`` is
    evaluated only for pivots below ``1e8`` times the base threshold (it
    matters only for ``‖wₖ‖`` up to ``10⁴``).

    ``unit``: ``h`` is A scaled by ``2^−unit``; numbers in messages are scaled back.
    """
    n = h.shape[0]
    base = pivot_threshold(h, tol, precision)
    L = np.zeros_like(h)
    diag_s = np.real(np.diagonal(h)).copy()  # the diagonal of the current Schur complement
    positive: list[int] = []  # the steps with a positive pivot: L[P, P] is invertible
    for k in range(n):
        d = float(diag_s[k])
        lk = L[k, :k].conj()
        col = h[k + 1 :, k] - L[k + 1 :, :k] @ lk if k else h[k + 1 :, k].copy()
        thr = base
        if tol is None and positive and d <= base * 1e8:
            L11 = L[np.ix_(positive, positive)]
            w = solve_triangular(L11, L[k, positive].conj(), lower=True, trans="C")
            thr = base * _growth(float(np.linalg.norm(w)), tol)
        if d > thr:
            root = np.sqrt(d)
            L[k, k] = root
            L[k + 1 :, k] = col / root
            diag_s[k + 1 :] -= np.abs(L[k + 1 :, k]) ** 2
            positive.append(k)
            continue
        if d < -thr:
            return CholeskyAttempt(
                None,
                k + 1,
                f"pivot {k + 1} of the semidefinite Cholesky factorisation is negative "
                f"({_shown(d, unit):.3g} < {_shown(-thr, unit):.3g})",
                True,
                base,
            )
        bound = (abs(d) + thr) * (np.abs(diag_s[k + 1 :]) + thr)
        bad = np.flatnonzero(np.abs(col) ** 2 > bound)
        if bad.size:
            i = int(bad[np.argmax(np.abs(col[bad]))])
            return CholeskyAttempt(
                None,
                k + 1,
                f"pivot {k + 1} of the semidefinite Cholesky factorisation is zero "
                f"(|{_shown(d, unit):.3g}| <= {_shown(thr, unit):.3g}) but the entry below it "
                f"in row {i + k + 2} is not ({_shown(abs(col[i]), unit):.3g}); a positive "
                "semidefinite matrix with a zero pivot has "
                "a zero column below it",
                True,
                base,
            )
        # L[:, k] stays zero
    return CholeskyAttempt(L, None, None, True, base)


def cholesky_attempt(
    A, semidefinite: bool = False, tol: float | None = None, *, name: str = "A"
) -> CholeskyAttempt:
    """Attempt a Cholesky factorisation; report failure instead of raising.

    Bad input (not square, not Hermitian, not a matrix) still raises; only
    "not positive (semi)definite" is reported in the result.

    Parameters
    ----------
    A : array_like, str or path
        A real symmetric or complex Hermitian matrix.
    semidefinite : bool, default False
        Attempt the semidefinite factorisation (zero pivots allowed).
    tol : float, optional
        Absolute threshold replacing ``n · eps · max |aᵢᵢ|`` for the pivots
        (and ``n · eps · 2‖A‖_F`` for the symmetry check).
    name : str
        The argument's name, for messages.

    Returns
    -------
    CholeskyAttempt

    Examples
    --------
    >>> r = cholesky_attempt([[1, 2], [2, 1]])
    >>> r.succeeded, r.pivot
    (False, 2)
    >>> cholesky_attempt([[0, 0], [0, -1]], semidefinite=True).reason[:43]
    'pivot 2 of the semidefinite Cholesky factor'
    """
    h, precision = _hermitian_input(A, "cholesky", name, tol)
    definite = _definite(h, tol, precision)
    if not semidefinite:
        return definite
    if definite.factor is not None:  # positive definite: the same factor, from LAPACK
        return CholeskyAttempt(definite.factor, None, None, True, definite.threshold)
    return _semidefinite(h, tol, precision)


def cholesky(A: MatrixLike, *, semidefinite: bool = False, tol: float | None = None) -> np.ndarray:
    """Cholesky factor ``L`` (lower triangular) with ``A = L Lᴴ``.

    Parameters
    ----------
    A : array_like, str or path
        A real symmetric or complex Hermitian matrix (anything
        :func:`svdkit.as_matrix` accepts).
    semidefinite : bool, default False
        False: the ordinary factorisation (LAPACK ``potrf``), which exists iff A
        is positive definite; ``L`` has a positive diagonal.
        True: the unpivoted semidefinite factorisation, which exists iff A is
        positive semidefinite; ``L`` has a non-negative diagonal, with a zero
        column wherever a pivot is zero.
    tol : float, optional
        Absolute threshold replacing ``n · eps · max |aᵢᵢ|`` for "this pivot is
        zero" (and ``n · eps · 2‖A‖_F`` for the symmetry check).

    Returns
    -------
    ndarray, shape (n, n)
        ``L``, float64 or complex128.

    Raises
    ------
    ShapeError
        A is not square.
    StructureError
        A is not symmetric (Hermitian); the message names the largest
        asymmetric pair.
    NotPositiveDefiniteError
        The factorisation does not exist. The message names the pivot, and the
        exception's ``pivot`` attribute is its 1-based order ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> L = cholesky([[2, 1j], [-1j, 2]])
    >>> bool(np.allclose(L @ L.conj().T, [[2, 1j], [-1j, 2]]))
    True
    >>> try:
    ...     cholesky([[1, 2], [2, 1]])
    ... except NotPositiveDefiniteError as err:
    ...     print(err.pivot)
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    2
    A is not positive definite: the leading minor of order 2 is not positive
    (pivot 2 of the Cholesky factorisation)
    >>> cholesky([[0, 0], [0, 2]], semidefinite=True)
    array([[0.        , 0.        ],
           [0.        , 1.41421356]])
    """
    attempt = cholesky_attempt(A, semidefinite, tol)
    if attempt.factor is None:
        what = "positive semidefinite" if semidefinite else "positive definite"
        raise NotPositiveDefiniteError(f"A is not {what}: {attempt.reason}", attempt.pivot)
    return attempt.factor
