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

One decision
------------
The pivot rule and the eigenvalue rule of :func:`svdkit.definiteness`
(``λ`` is zero when ``|λ| <= n · eps · max |λᵢ|``, or ``tol``, with the
threshold moved by rounding where that makes the count of non-zero ``λ`` the
numerical rank of :func:`svdkit.rank`: :func:`eigenvalue_rule`) use different
scales, and near their thresholds they can disagree. The eigenvalue rule is the reference; both
factorisations follow it, so ``cholesky(A)`` succeeds exactly when
``definiteness(A)`` says positive definite, ``cholesky(A,
semidefinite=True)`` exactly when it says positive (semi)definite, and the
Cholesky criterion of :func:`svdkit.definiteness` agrees with the other three:

* **definite**: ``potrf`` succeeds and ``λ_min`` is proved above
  ``limit`` = 16 times ``n · eps · ‖A‖_F`` (a bound on the eigenvalue
  threshold; 16 times ``tol`` when given): positive definite, no eigenvalues
  needed, the common case. The proof is ``1/‖L⁻¹‖_F² > limit`` (a lower bound
  on ``λ_min``, as ``A⁻¹ = L⁻ᴴL⁻¹``; without ``tol``, ``L⁻¹`` is formed for
  the growth factors anyway), or else, and always with ``tol`` (no ``L⁻¹`` is
  formed then), a shifted Cholesky factorisation: ``potrf(A − s·I)``
  succeeding, with ``s`` = ``limit`` plus a bound on the rounding of ``potrf``
  (``γₙ₊₁ · tr(A)``, Demmel's bound as Rump uses it), proves
  ``λ_min > limit`` for one more ``potrf`` (``n³/3``), where ``1/‖L⁻¹‖_F²``
  can be ``n`` times below ``λ_min``. It is not tried where the smallest pivot
  or a Rayleigh quotient of three inverse-iteration steps (``O(n²)`` each)
  already shows ``λ_min <= s``. Or ``potrf`` fails at pivot ``k`` and its
  direction ``x = (−A₁₁⁻¹a, 1)`` has
  ``xᴴAx/‖x‖² < −16 · n · eps · ‖A‖_F`` (recomputed from A, with its rounding
  bound): neither definite nor semidefinite. Otherwise the eigenvalues
  (one ``eigvalsh``, O(n³), computed once) decide. A positive definite A whose
  pivots ``potrf`` or the pivot rule refused gets ``potrf``'s factor, or one
  from the eigendecomposition (``A = BᴴB``, ``B = Λ^½Qᴴ``, ``L = Rᴴ`` from the
  QR factorisation of ``B``); for an A that is not, the failing pivot ``k`` is
  the first leading block with an eigenvalue ``<= thr`` (the zero leading
  minor of Sylvester's criterion), found by bisection.
* **semidefinite**: always decided by the eigenvalues (already computed by
  then, unless the definite step proved ``xᴴAx < 0``). Dropping a column
  under a zero pivot, as the 2 × 2 test below allows, can hide an indefinite
  direction of size ``√thr`` when the rest is singular
  (``[[0, e, e], [e, 1, −1], [e, −1, 1]]``, ``e = 2.5e-8``, has
  ``λ_min = −3.5e-8``): such a matrix is refused. A positive semidefinite
  ``[[δ, √δ], [√δ, 1]]`` (``δ = 1e-17``) is still factorised with its first
  column dropped, at a cost of ``√δ`` (at most about ``√thr``) in ``A − LLᴴ``;
  and one the core refused at a pivot just below ``−thr`` is factorised
  with that column dropped. Where a dropped pivot costs more than
  ``n · thr`` in ``‖A − LLᴴ‖_F`` (a negative pivot after a small positive
  one, accepted by the growth factor), the factorisation is redone on A with
  its eigenvalues clipped at 0, and the closer factor kept.

Every decision is made on A scaled by a power of two, where nothing under- or
overflows: the pivots on ``A · 4^−k`` against the pivot threshold of that matrix,
the eigenvalues on ``A · 2^−e`` against theirs (``max |aᵢⱼ|`` near 1 in both).
The rules are scale-free and the scaling exact, so ``A`` and ``A · 2^k`` get the
same decisions, for matrices of entries near ``1e-316`` as for entries near 1;
only the numbers reported are scaled back (factors, values; in messages, digits
worked out in decimal where they lie beyond the float range, never ``-0 < -0``).

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

import decimal
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.linalg
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import get_lapack_funcs

from svdkit.errors import NotPositiveDefiniteError, check_bool
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import require_square
from svdkit.linalg.measures import entry_exponent, rank_of, times_power_of_two
from svdkit.linalg.structure import hermitian_part, require_hermitian
from svdkit.linalg.tolerance import rule_dtype, zero_threshold

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = [
    "CholeskyAttempt",
    "cholesky",
    "cholesky_attempt",
    "eigenvalue_rule",
    "pivot_threshold",
]


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


def _hermitian_input(A, what: str, name: str, tol: float | None) -> tuple[np.ndarray, np.dtype]:
    """Front door, square and Hermitian checks; the Hermitian part and the rule's
    precision (float32 for float32 data)."""
    a = as_matrix(A, name=name)
    precision = rule_dtype(A, a.dtype)
    require_square(a, what, name)
    require_hermitian(a, what, name, tol, precision=precision)
    return hermitian_part(a), precision


def _quarter_exponent(h: np.ndarray) -> int:
    """The ``k`` with ``max |aᵢⱼ| · 4^−k`` in ``[1/2, 2)`` (0 for the zero matrix).

    Both factorisations run on ``A · 4^−k`` and scale ``L`` back by ``2^k``:
    scaling by a power of two is exact, and it keeps the squares and products
    of pivots and entries (the 2 × 2 minors, the thresholds) in range for
    entries of size ``1e200`` or ``1e-200``.
    """
    return entry_exponent(h) // 2  # (finite where a complex |aᵢⱼ| overflows)


#: A cheap bound settles a decision without the eigenvalues only when it clears the
#: eigenvalue rule's threshold by this factor (module docstring, "One decision").
_MARGIN = 16.0


def eigenvalue_rule(
    h: np.ndarray, tol: float | None = None, precision: np.dtype | None = None
) -> tuple[np.ndarray, float]:
    """The eigenvalues of a Hermitian ``h`` (ascending) and their zero threshold.

    This is the rule :func:`svdkit.definiteness` decides by, and the one the
    Cholesky factorisations defer to near their thresholds: ``λ`` counts as
    zero when ``|λ| <= n · eps · max |λᵢ|`` (or ``tol``), ``eps`` that of
    ``precision`` (``h.dtype`` by default). The values come from
    ``scipy.linalg.eigvalsh`` of ``h · 2^−e`` (``max |aᵢⱼ| · 2^−e`` in ``[1/2, 1)``),
    where the rule is decided: it is scale-free, and ``A`` and ``A · 2^k`` (exact) get
    the same decision, down among the subnormals and up to the largest float
    (:func:`_scaled_rule`). The values and the threshold are ``2^e`` times those
    (``±inf`` past the range); where that leaves the float range at the bottom (a
    nearly singular A of entries near ``1e-316`` has ``λ_min`` near ``4e-325``), a
    value is the float nearest it on its side of the threshold, so that comparing
    the values returned with the threshold returned counts what the rule decided.

    The count of non-zero eigenvalues is the numerical rank
    (:func:`svdkit.rank` of ``h``, same ``tol``): ``σᵢ = |λᵢ|``, but ``eigvalsh``
    and ``svdvals`` round differently, and an eigenvalue within rounding of the
    threshold could land on the other side of it than its singular value. Where
    that happens the threshold returned is moved, by that rounding, to the edge
    of the interval that separates the ``n − rank`` smallest ``|λᵢ|`` from the
    rest (:func:`_rank_consistent_threshold`).

    Examples
    --------
    >>> import numpy as np
    >>> values, thr = eigenvalue_rule(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> values.tolist(), thr == 2 * float(np.finfo(float).eps) * 3
    ([1.0, 3.0], True)
    """
    values, thr, _ = _eigenvalue_rule(h, tol, precision)
    return values, thr


class _ScaledRule(NamedTuple):
    """The eigenvalue rule decided on ``h · 2^−e`` (``max |aᵢⱼ|`` scaled into ``[1/2, 1)``):
    the values ascending, the threshold (moved, :func:`_rank_consistent_threshold`) and
    the rule's own threshold before the move, all three in the units of ``h · 2^−e``."""

    values: np.ndarray
    thr: float
    own: float
    e: int


def _scaled_tol(tol: float | None, shape: tuple[int, ...], dtype, e: int) -> float | None:
    """``tol · 2^−e``, validated, at most the largest float (a threshold past every
    entry of the scaled matrix decides as infinity would)."""
    if tol is None:
        return None
    value = zero_threshold(shape, 0.0, dtype, tol)  # validates tol
    with np.errstate(over="ignore", under="ignore"):
        return min(float(np.ldexp(value, -e)), float(np.finfo(np.float64).max))


def _scaled_rule(h: np.ndarray, tol: float | None, dtype) -> _ScaledRule:
    """The eigenvalue rule of ``h``, decided on ``h · 2^−e`` with ``max |aᵢⱼ| · 2^−e`` in
    ``[1/2, 1)``.

    The rule is scale-free, and scaling by a power of two is exact, so ``A`` and
    ``A · 2^k`` give the same scaled matrix and the same decision, bit for bit, for
    every ``k`` that keeps ``A · 2^k`` exact: down among the subnormals (where
    ``eigvalsh`` gave 0 for both eigenvalues of ``diag(5e-324, 5e-324)``, of rank 2,
    and the threshold ``n · eps · max |λᵢ|`` itself underflows to 0), near the largest
    float (where an eigenvalue can lie beyond it), and in between, where LAPACK's own
    scaling of tiny or huge matrices (by factors that are not powers of two) would
    round differently at different ``k``.
    """
    e = entry_exponent(h)  # (finite where a complex |aᵢⱼ| overflows)
    hs = times_power_of_two(h, -e) if e else h
    values = scipy.linalg.eigvalsh(hs, check_finite=False)
    rule = zero_threshold(h.shape, float(np.max(np.abs(values))) if values.size else 0.0, dtype)
    tol_s = _scaled_tol(tol, h.shape, dtype, e)
    own = rule if tol_s is None else tol_s
    thr = _rank_consistent_threshold(hs, values, own, rule, tol_s, dtype)
    return _ScaledRule(values, thr, own, e)


def _in_units_of_a(rule: _ScaledRule, tol: float | None) -> tuple[np.ndarray, float, float]:
    """``(values, thr, own)`` of a scaled rule in the units of A, each value on the same
    side of the threshold as in the scaled decision.

    Scaling back is exact except where a number leaves the float range: a value past
    the largest float is ``±inf``, and a value or threshold below the least subnormal
    rounds (λ_min of a nearly singular matrix with entries near ``1e-316`` can be
    ``4e-325``, its threshold ``1e-339``: both round to 0). A value the scaled rule
    calls non-zero is then taken as the float nearest it beyond the threshold, and one
    it calls zero as one within it, so that ``values > thr``, ``|values| <= thr`` and
    ``values < −thr`` count what the rule decided (a move of at most one subnormal
    step, ``2^−1074``).
    """
    values_s, thr_s, own_s, e = rule
    with np.errstate(over="ignore", under="ignore"):  # ±inf past the range; see above
        values = np.ldexp(values_s, e)
        # tol, as the caller gave it (validated), where the scaled one stands for it
        own = float(np.ldexp(own_s, e)) if tol is None else zero_threshold((1,), 0.0, tol=tol)
        thr = own if thr_s == own_s else float(np.ldexp(thr_s, e))
        up, down = float(np.nextafter(thr, np.inf)), float(np.nextafter(-thr, -np.inf))
    positive, negative = values_s > thr_s, values_s < -thr_s
    values = np.where(positive, np.maximum(values, up), values)
    values = np.where(negative, np.minimum(values, down), values)
    values = np.where(positive | negative, values, np.clip(values, -thr, thr))
    return values, thr, own


def _eigenvalue_rule(
    h: np.ndarray, tol: float | None = None, precision: np.dtype | None = None
) -> tuple[np.ndarray, float, float]:
    """:func:`eigenvalue_rule`, with the rule's own threshold (before any move) third."""
    dtype = h.dtype if precision is None else precision
    return _in_units_of_a(_scaled_rule(h, tol, dtype), tol)


def _rank_consistent_threshold(
    h: np.ndarray, values: np.ndarray, thr: float, rule: float, tol: float | None, dtype
) -> float:
    """``thr``, or the nearest threshold that counts ``rank(h, tol)`` eigenvalues non-zero.

    With ``r`` the numerical rank from the singular values (:func:`svdkit.rank`'s
    rule, same ``tol``, same ``eps``) and ``a`` the ``|λᵢ|`` ascending, a threshold
    ``t`` counts ``r`` of them non-zero exactly when ``a[n−r−1] <= t < a[n−r]``;
    ``thr`` is clipped into that interval (moved by the rounding that separates
    ``|λᵢ|`` from ``σᵢ``, a few ``eps · ‖A‖``). Should two equal ``|λᵢ|`` straddle
    the cut (no threshold separates them), ``thr`` stays as it is.

    The singular values (one ``svdvals``) are computed only where some ``|λᵢ|`` is
    within the margin ``_MARGIN`` of the threshold, ``|λᵢ| <= 16 · max(thr, rule)``
    (``rule = n · eps · max |λᵢ|``, the rounding scale, where ``tol`` is smaller):
    beyond it ``σᵢ`` and ``|λᵢ|``, both backward stable, are on the same side, the
    margin the cheap Cholesky bounds rely on too (module docstring, "One decision").
    """
    n = values.size
    mags = np.sort(np.abs(values))
    if n == 0 or not np.any(mags <= _MARGIN * max(thr, rule)):
        return thr
    z = n - rank_of(h, tol, dtype)
    lo = float(mags[z - 1]) if z else 0.0
    hi = float(mags[z]) if z < n else np.inf
    if lo <= thr < hi:
        return thr
    if thr < lo:
        return lo
    below = float(np.nextafter(hi, 0.0))
    return below if below >= lo else thr


class _Spectrum:
    """The eigenvalue rule for one Hermitian matrix, evaluated at most once, when needed.

    :func:`svdkit.definiteness` passes the eigenvalues it has already computed;
    :meth:`negated` is the rule for ``−A``, sharing them. ``refuted_psd``
    records that the definite factorisation found a direction with
    ``xᴴAx < 0`` well beyond the threshold (then A is not PSD without asking).
    """

    def __init__(
        self,
        h: np.ndarray | None,
        tol: float | None,
        precision: np.dtype | None,
        known: tuple[np.ndarray, float] | None = None,
        parent: _Spectrum | None = None,
    ) -> None:
        self._h, self._tol, self._precision = h, tol, precision
        self._known, self._parent = known, parent
        self._scaled: _ScaledRule | None = None
        self.refuted_psd = False

    def get(self) -> tuple[np.ndarray, float]:
        """``(values ascending, threshold)`` (:func:`eigenvalue_rule`)."""
        if self._known is None:
            if self._parent is not None:
                values, thr = self._parent.get()
                self._known = (-values[::-1], thr)
            else:
                self._scaled = self._rule()
                self._known = _in_units_of_a(self._scaled, self._tol)[:2]
        return self._known

    def _rule(self) -> _ScaledRule:
        dtype = self._h.dtype if self._precision is None else self._precision
        return _scaled_rule(self._h, self._tol, dtype)

    def scaled(self) -> _ScaledRule:
        """The rule as decided, on ``A · 2^−e`` (:func:`_scaled_rule`): the numbers of
        messages and the scale-free comparisons (the bisection for a failing pivot, the
        residual check of a semidefinite factor) come from it. The values in A's units
        are its, scaled back, except where they left the float range; there, for values
        passed in by :func:`svdkit.definiteness`, the rule is evaluated again."""
        if self._parent is not None:
            values, thr, own, e = self._parent.scaled()
            return _ScaledRule(-values[::-1], thr, own, e)
        if self._scaled is None:
            values, thr = self.get()
            exact = thr >= _SMALLEST_NORMAL or (thr == 0 and self._tol is not None)
            exact = exact and bool(np.all((values == 0) | (np.abs(values) >= _SMALLEST_NORMAL)))
            if self._h is None or (exact and np.isfinite(values).all()):
                return _ScaledRule(values, thr, thr, 0)
            self._scaled = self._rule()
        return self._scaled

    def negated(self) -> _Spectrum:
        """The rule for ``−A``: the same threshold, the values negated."""
        return _Spectrum(None, self._tol, self._precision, parent=self)

    def positive_definite(self) -> bool:
        """All ``λᵢ > thr``."""
        values, thr = self.get()
        return bool(values.size == 0 or values[0] > thr)

    def positive_semidefinite(self) -> bool:
        """All ``λᵢ >= −thr``."""
        values, thr = self.get()
        return bool(values.size == 0 or values[0] >= -thr)


class _Verdict(NamedTuple):
    """What a definite core's cheap bounds settle: ``sure`` (no eigenvalues needed), and
    whether it found ``xᴴAx < 0`` beyond the margin (``refutes_psd``)."""

    sure: bool
    refutes_psd: bool = False


def _scaled_call(
    core: Callable[[np.ndarray, float | None, int, np.dtype | None], tuple],
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype | None,
) -> tuple:
    """``core`` (the definite or semidefinite factorisation) on ``A · 4^−k``, with
    its factor, threshold and message numbers given back in the units of A, and
    the core's second result as it is."""
    base = pivot_threshold(h, tol, precision)  # validates tol, in A's units
    k = _quarter_exponent(h)
    if k == 0:
        return core(h, tol, 0, precision)
    big = float(np.finfo(np.float64).max)
    with np.errstate(over="ignore", under="ignore"):
        scaled_tol = None if tol is None else min(float(np.ldexp(base, -2 * k)), big)
    attempt, extra = core(times_power_of_two(h, -2 * k), scaled_tol, 2 * k, precision)
    factor = None if attempt.factor is None else times_power_of_two(attempt.factor, k)
    return (
        CholeskyAttempt(factor, attempt.pivot, attempt.reason, attempt.semidefinite, base),
        extra,
    )


def _shown(x: float, unit: int) -> str:
    """A number of the scaled matrix in the units of A (``x · 2^unit``), as text (3
    significant digits), for messages.

    Where ``x · 2^unit`` leaves the float range (a pivot of a matrix with entries near
    ``1e-316`` can be ``−2.6e-325``, its threshold ``1e-339``; both round to ``−0``)
    the digits are worked out in decimal, so that a message never compares two
    numbers that both read 0 (or inf).
    """
    if x == 0 or not math.isfinite(x):
        return format(abs(x) if x == 0 else x, ".3g")
    with np.errstate(over="ignore", under="ignore"):
        value = float(np.ldexp(x, unit))
    if math.isfinite(value) and abs(value) >= _SMALLEST_NORMAL:
        return format(value, ".3g")
    context = decimal.Context(prec=20)
    return format(context.multiply(decimal.Decimal(x), context.power(2, unit)), ".3g")


#: Below this, a float loses digits (subnormal), and :func:`_shown` works in decimal.
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def _definite(
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype | None = None,
    spectrum: _Spectrum | None = None,
) -> CholeskyAttempt:
    """The definite factorisation, decided as the eigenvalue rule decides (scale-safe).

    LAPACK ``potrf`` and the pivot rule give the factor; where their cheap bounds
    do not settle "positive definite" by the margin ``_MARGIN``, the eigenvalues
    (``spectrum``, computed here when not given) decide.
    """
    spectrum = _Spectrum(h, tol, precision) if spectrum is None else spectrum
    attempt, verdict = _scaled_call(_definite_core, h, tol, precision)
    if verdict.refutes_psd:
        spectrum.refuted_psd = True
    if verdict.sure:
        return attempt
    if spectrum.positive_definite():
        factor = attempt.factor if attempt.factor is not None else _factor_from_eigh(h)
        return CholeskyAttempt(factor, None, None, False, attempt.threshold)
    if attempt.factor is None:
        return attempt  # the same verdict, with potrf's (or the pivot rule's) pivot
    rule = spectrum.scaled()
    k, mu = _first_zero_leading_minor(h, rule)
    return CholeskyAttempt(
        None,
        k,
        f"the leading minor of order {k} is zero to within the tolerance (the smallest "
        f"eigenvalue of its block is {mu}, |λ| <= {_shown(rule.thr, rule.e)}: the eigenvalue "
        "rule decides a pivot this close to its threshold)",
        False,
        attempt.threshold,
    )


def _factor_from_eigh(h: np.ndarray) -> np.ndarray:
    """``L`` with a positive diagonal and ``A = L Lᴴ``, for an A the eigenvalue rule calls
    positive definite but on which ``potrf`` failed (rounding, at the threshold).

    ``A = BᴴB`` with ``B = Λ^½ Qᴴ`` (``A = QΛQᴴ``); the QR factorisation
    ``B = Q₂R`` gives ``A = RᴴR``, and ``L = Rᴴ`` with the diagonal's phases
    removed. Both steps are backward stable, so ``‖A − LLᴴ‖ = O(eps · ‖A‖)``.
    """
    k = _quarter_exponent(h)
    s = times_power_of_two(h, -2 * k) if k else h
    lam, Q = scipy.linalg.eigh(s, check_finite=False, driver="evd")
    B = np.sqrt(np.maximum(lam, 0.0))[:, None] * Q.conj().T
    (R,) = scipy.linalg.qr(B, mode="r", check_finite=False)
    d = np.diagonal(R)
    phase = np.where(d == 0, 1.0, d / np.where(d == 0, 1.0, np.abs(d)))
    L = (R * phase.conj()[:, None]).conj().T
    return times_power_of_two(L, k) if k else L


def _first_zero_leading_minor(h: np.ndarray, rule: _ScaledRule) -> tuple[int, str]:
    """The least ``k`` whose leading block ``A[:k, :k]`` has an eigenvalue ``<= thr``
    (its minor is not positive by the rule of Sylvester's criterion in
    :mod:`svdkit.linalg.definiteness`), and that eigenvalue, as text in A's units.

    By Cauchy's interlacing theorem ``λ_min(A[:k, :k])`` does not increase with
    ``k``, so ``k`` is found by bisection (``log₂ n`` eigenvalue problems). Only
    called when A itself is not positive definite by that rule. The blocks are those
    of ``A·2^−e`` and are compared with the threshold of the rule in the same units
    (``rule``, :meth:`_Spectrum.scaled`), which may lie below the float range in A's.
    """
    n = h.shape[0]
    e = entry_exponent(h)  # (finite where a complex |aᵢⱼ| overflows)
    s = times_power_of_two(h, -e) if e else h
    with np.errstate(over="ignore", under="ignore"):
        t = float(np.ldexp(rule.thr, rule.e - e))
    lo, hi = 0, n  # λ_min of block lo is > thr (none for lo = 0); of block n, <= thr
    mu = float(np.linalg.eigvalsh(s)[0]) if n else 0.0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        m = float(np.linalg.eigvalsh(s[:mid, :mid])[0])
        if m <= t:
            hi, mu = mid, m
        else:
            lo = mid
    return hi, _shown(mu, e)


def _semidefinite(
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype | None = None,
    spectrum: _Spectrum | None = None,
) -> CholeskyAttempt:
    """The semidefinite factorisation of :func:`_semidefinite_core`, decided as the
    eigenvalue rule decides (scale-safe).

    The core proposes; the eigenvalues (``spectrum``, computed here when not
    given) decide, unless the definite factorisation already found
    ``xᴴAx < 0`` beyond the margin. A core that refuses a matrix the rule calls
    positive semidefinite (a pivot just below ``−thr``) is run again, dropping
    every column whose pivot is not above its threshold.
    """
    spectrum = _Spectrum(h, tol, precision) if spectrum is None else spectrum
    attempt, drop = _scaled_call(_semidefinite_core, h, tol, precision)
    if attempt.factor is None and spectrum.refuted_psd:
        return attempt
    psd = spectrum.positive_semidefinite()
    if psd:
        if attempt.factor is None:
            attempt = _scaled_call(partial(_semidefinite_core, lenient=True), h, tol, precision)[0]
        return _closest_psd_factor(h, tol, precision, attempt, spectrum.scaled())
    if attempt.factor is None:
        return attempt
    rule = spectrum.scaled()  # (its numbers: A's may lie below the float range)
    verdict = (
        f"A is not positive semidefinite by its smallest eigenvalue, "
        f"{_shown(rule.values[0], rule.e)} < {_shown(-rule.thr, rule.e)} (the eigenvalue "
        "rule of svdkit.definiteness)"
    )
    if drop is None:
        reason = f"every pivot of the semidefinite Cholesky factorisation is >= −thr, but {verdict}"
        return CholeskyAttempt(None, None, reason, True, attempt.threshold)
    k, row, entry = drop
    reason = (
        f"pivot {k} of the semidefinite Cholesky factorisation is zero to within the "
        f"tolerance, and the entry below it in row {row} ({entry}) is small next to the "
        f"pivots that follow, but dropping it would hide a negative direction: {verdict}"
    )
    return CholeskyAttempt(None, k, reason, True, attempt.threshold)


def _residual(h: np.ndarray, L: np.ndarray) -> tuple[float, int]:
    """``‖A − LLᴴ‖_F`` as ``(r, unit)``, ``r · 2^unit``: computed on ``A · 4^−k``, where it
    neither overflows nor underflows (``unit = 2k`` depends on A alone)."""
    k = _quarter_exponent(h)
    hs, Ls = (times_power_of_two(h, -2 * k), times_power_of_two(L, -k)) if k else (h, L)
    return float(np.linalg.norm(hs - Ls @ Ls.conj().T)), 2 * k


def _closest_psd_factor(
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype | None,
    attempt: CholeskyAttempt,
    rule: _ScaledRule,
) -> CholeskyAttempt:
    """The semidefinite factor of an A the eigenvalue rule calls PSD, checked.

    A dropped pivot costs ``|dₖ|``, which after a small positive pivot can be
    far above ``thr`` (the growth factor ``(1 + ‖wₖ‖)²``). When
    ``‖A − LLᴴ‖_F > n · thr``, the factorisation is run again on
    ``A₊ = Q max(Λ, 0) Qᴴ`` (A with its eigenvalues ``>= −thr`` clipped at 0,
    ``‖A − A₊‖₂ <= thr``), whose Schur complements carry no negative part, and
    the factor closer to A is kept; if it is still off by more than ``n · thr``,
    the factor of ``A₊`` from its eigendecomposition (:func:`_factor_from_eigh`,
    backward stable) is kept where it is closer. O(n³), only on this path.

    ``rule``: the eigenvalue rule on ``A·2^−e`` (:meth:`_Spectrum.scaled`); the
    residuals are compared with ``n · thr`` in the units of the scaled matrix, where
    neither underflows.
    """
    n = h.shape[0]
    err, unit = _residual(h, attempt.factor)
    with np.errstate(over="ignore", under="ignore"):
        limit = n * float(np.ldexp(rule.thr, rule.e - unit))
    if err <= limit:
        return attempt
    k = _quarter_exponent(h)
    s = times_power_of_two(h, -2 * k) if k else h
    lam, Q = scipy.linalg.eigh(s, check_finite=False, driver="evd")
    plus = (Q * np.maximum(lam, 0.0)) @ Q.conj().T
    plus = plus / 2 + plus.conj().T / 2
    plus = times_power_of_two(plus, 2 * k) if k else plus
    other = _scaled_call(partial(_semidefinite_core, lenient=True), plus, tol, precision)[0]
    if other.factor is not None and (other_err := _residual(h, other.factor)[0]) < err:
        attempt, err = CholeskyAttempt(other.factor, None, None, True, attempt.threshold), other_err
    if err <= limit:
        return attempt
    # still far off: an unpivoted factorisation of a rank-deficient A can lose up to
    # √thr at a dropped pivot (float32 Gram matrices: 1e-3 of ‖A‖). The factor of A₊
    # from its eigendecomposition (QR of Λ₊^½ Qᴴ) is backward stable: O(eps·‖A‖) + thr.
    L = _factor_from_eigh(h)
    if _residual(h, L)[0] < err:
        return CholeskyAttempt(L, None, None, True, attempt.threshold)
    return attempt


def _rayleigh_refutes_psd(h: np.ndarray, c: np.ndarray, k: int, limit: float) -> bool:
    """Whether the direction of ``potrf``'s failing pivot ``k`` proves ``λ_min < −limit``.

    With ``L₁₁`` the factor of the leading ``k − 1`` block (from ``potrf``'s
    partial result ``c``) and ``a`` the rest of column ``k``, the vector
    ``x = (−A₁₁⁻¹a, 1)`` has ``xᴴAx`` = pivot ``k``. The quotient ``xᴴAx/‖x‖²`` is
    recomputed from A itself, and its rounding bound added, so the answer is
    right whatever the partial factor holds.
    """
    a = h[: k - 1, k - 1]
    with np.errstate(all="ignore"):
        if k > 1:
            L11 = np.tril(c[: k - 1, : k - 1])
            y = solve_triangular(L11, a, lower=True, check_finite=False)
            y = solve_triangular(L11, y, lower=True, trans="C", check_finite=False)
        else:
            y = np.zeros(0, dtype=h.dtype)
        x = np.concatenate([-y, np.ones(1, dtype=h.dtype)])
        hk = h[:k, :k]
        value = float(np.real(np.vdot(x, hk @ x)))
        size = float(np.abs(x) @ np.abs(hk) @ np.abs(x))
        bound = (k + 2) * float(np.finfo(np.float64).eps) * size
        quotient = (value + bound) / float(np.real(np.vdot(x, x)))
    return bool(np.isfinite(quotient) and quotient < -limit)


def _triangular_inverse(L: np.ndarray) -> np.ndarray:
    """``L⁻¹`` of a lower triangular ``L`` with a non-zero diagonal: LAPACK ``trtri``
    (2.4× faster than solving ``L X = I``: 0.035 against 0.083 s at n = 1500)."""
    (trtri,) = get_lapack_funcs(("trtri",), (L,))
    inverse, info = trtri(L, lower=1)
    if info != 0:  # pragma: no cover - potrf's L has a positive diagonal
        return solve_triangular(L, np.eye(L.shape[0], dtype=L.dtype), lower=True)
    return np.tril(inverse)


def _definite_core(
    h: np.ndarray, tol: float | None, unit: int, precision: np.dtype | None
) -> tuple[CholeskyAttempt, _Verdict]:
    """LAPACK ``potrf`` on a Hermitian matrix, plus the zero-pivot rule and cheap bounds.

    ``unit``: ``h`` is A scaled by ``2^−unit``; numbers in messages are scaled back.
    ``precision``: whose ``eps`` the zero-pivot rule uses (:func:`pivot_threshold`).

    The verdict is ``sure`` when a bound clears the eigenvalue rule's threshold
    (at most ``t = n · eps · ‖A‖_F``, or ``tol``) by ``_MARGIN``: on success,
    ``λ_min >= 1/‖L⁻¹‖_F²`` (as ``A⁻¹ = L⁻ᴴL⁻¹``; ``L⁻¹`` is formed only without
    ``tol``, for the growth factors) above ``_MARGIN · t``, or else ``λ_min`` above it
    by a shifted factorisation (:func:`_shifted_cholesky_certifies`); on failure,
    ``xᴴAx/‖x‖² < −_MARGIN · t`` for the failing pivot's direction.
    """
    base = pivot_threshold(h, tol, precision)
    dtype = h.dtype if precision is None else precision
    # the eigenvalue rule's threshold is at most n·eps·‖A‖_F (λ_max <= ‖A‖_F), or tol
    limit = _MARGIN * zero_threshold(h.shape, float(np.linalg.norm(h)), dtype, tol)
    (potrf,) = get_lapack_funcs(("potrf",), (h,))
    c, info = potrf(h, lower=True, clean=True, overwrite_a=False)
    if info < 0:  # pragma: no cover - an argument error is a bug here, not bad input
        raise RuntimeError(f"LAPACK potrf: illegal value in argument {-info}")
    if info > 0:
        refutes = _rayleigh_refutes_psd(h, c, int(info), limit)
        failure = CholeskyAttempt(
            None,
            int(info),
            f"the leading minor of order {info} is not positive "
            f"(pivot {info} of the Cholesky factorisation)",
            False,
            base,
        )
        return failure, _Verdict(refutes, refutes)
    L = np.tril(c)
    diag = np.abs(np.diagonal(L))
    pivots = diag**2
    lam_low = 0.0
    if tol is None:
        # L⁻¹ for the growth factors: ‖wₖ‖ = |lₖₖ| · ‖(L⁻¹)[k, :k]‖, since
        # (L − diag L) L⁻¹ = I − diag(L) L⁻¹ (with tol, no growth factors and no L⁻¹)
        with np.errstate(over="ignore", invalid="ignore"):
            Linv = _triangular_inverse(L)
            # λ_min(A) = 1/‖L⁻¹‖₂² >= 1/‖L⁻¹‖_F²
            lam_low = 1.0 / float(np.sum(np.abs(Linv) ** 2)) if L.size else np.inf
            w = diag * np.linalg.norm(np.tril(Linv, -1), axis=1)
            thresholds = base * _growth(np.nan_to_num(w, nan=np.inf), tol)
    else:
        thresholds = np.full(pivots.shape, base)
    small = np.flatnonzero(pivots <= thresholds)
    if small.size:
        k = int(small[0]) + 1
        failure = CholeskyAttempt(
            None,
            k,
            f"the leading minor of order {k} is zero to within the tolerance (pivot {k} "
            f"of the Cholesky factorisation is {_shown(pivots[k - 1], unit)} <= "
            f"{_shown(thresholds[k - 1], unit)})",
            False,
            base,
        )
        return failure, _Verdict(False)
    sure = (
        not L.size
        or bool(np.isfinite(lam_low) and lam_low > limit)
        or _shifted_cholesky_certifies(h, c, pivots, limit)
    )
    return CholeskyAttempt(L, None, None, False, base), _Verdict(sure)


#: Inverse-iteration steps of the λ_min estimate that spares a shifted ``potrf`` bound to fail.
_ESTIMATE_STEPS = 3


def _shift_for(h: np.ndarray, limit: float) -> float:
    """The shift ``s`` of :func:`_shifted_cholesky_certifies`: ``potrf(A − s·I)`` succeeding
    proves ``λ_min(A) > limit``.

    Let ``B = fl(A − s·I) = A − s·I + D``, ``|dᵢᵢ| <= u (|aᵢᵢ| + s)`` (``u`` the unit
    roundoff). If ``potrf`` runs to completion on ``B``, its factor ``R`` (``B ≈ RᴴR``)
    satisfies ``RᴴR = B + E`` with ``|E| <= γ |Rᴴ||R|``, ``γ = γₙ₊₁ = (n+1)u/(1 − (n+1)u)``
    (Demmel; N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
    Thm. 10.3; any order of the inner products, blocked ``potrf`` included; ``u`` taken
    4 times larger for complex arithmetic). ``RᴴR`` is positive definite, so
    ``λ_min(B) >= −‖E‖₂ >= −γ ‖R‖_F²``, and ``‖R‖_F² = tr(B + E) <= tr(B)/(1 − γ)
    <= tr(A)/(1 − γ)`` (``|eᵢᵢ| <= γ ‖R[:, i]‖²``). Hence (S. M. Rump, *Verification of
    positive definiteness*, BIT 46, 2006, with a term for underflow ``η``)

        λ_min(A) >= s − u (max aᵢᵢ + s) − γ/(1 − γ) · tr(A) − 4n(2n + 4 + max aᵢᵢ) η,

    and ``s`` is chosen so that the right-hand side exceeds ``limit`` (the sums rounded
    up). ``h`` is scaled (entries below 2 in modulus) and has a positive diagonal.
    """
    n = h.shape[0]
    u = float(np.finfo(h.dtype).eps) / 2 * (4.0 if np.iscomplexobj(h) else 1.0)
    d = np.abs(np.real(np.diagonal(h)))
    dmax = float(d.max())
    trace = float(d.sum()) * (1 + 2 * n * u)  # rounded up: n − 1 additions
    gamma = (n + 1) * u / (1 - (n + 1) * u)
    eta = float(np.finfo(np.float64).smallest_subnormal)
    rounding = gamma / (1 - gamma) * trace + u * dmax + 4 * n * (2 * n + 4 + dmax) * eta
    # s − u·s − rounding > limit, with the few operations here rounded up by 16u
    return (limit + rounding) / (1 - u) * (1 + 16 * u)


def _shifted_cholesky_certifies(
    h: np.ndarray, c: np.ndarray, pivots: np.ndarray, limit: float
) -> bool:
    """Whether ``λ_min(A) > limit``, proved by a Cholesky factorisation of ``A − s·I``.

    ``c`` holds ``potrf``'s factor of ``h`` (lower), ``pivots`` its squared diagonal.
    One ``potrf`` (``n³/3``) in place of the eigenvalues (``eigvalsh``) where the cheap
    bound ``1/‖L⁻¹‖_F²`` misses (it can be ``n`` times below ``λ_min``) or where L⁻¹ was
    not formed (``tol`` given). The shift ``s`` (:func:`_shift_for`) is ``limit`` plus a
    bound on the rounding of ``A − s·I`` and of ``potrf``; success proves the claim.

    A bound that cannot succeed is not tried: ``λ_min <= min pivot``, and
    ``λ_min <=`` the Rayleigh quotient of a few inverse-iteration steps with ``L``
    (``O(n²)`` each); where either is at most ``s``, ``potrf(A − s·I)`` would fail, and
    the answer is False (the eigenvalues decide) without it. Those estimates only
    choose whether to try; the proof is the factorisation.
    """
    n = h.shape[0]
    s = _shift_for(h, limit)
    if not np.isfinite(s) or float(pivots.min()) <= s:
        return False
    (potrf, potrs) = get_lapack_funcs(("potrf", "potrs"), (h,))
    with np.errstate(all="ignore"):
        x = np.ones(n, dtype=h.dtype)
        x[1::2] = -1.0  # a fixed start, not orthogonal to the smooth or the oscillating end
        for _ in range(_ESTIMATE_STEPS):
            x, info = potrs(c, x, lower=True)
            norm = float(np.linalg.norm(x))
            if info != 0 or not np.isfinite(norm) or norm == 0:
                break
            x = x / norm
        else:
            estimate = float(np.real(np.vdot(x, h @ x)))  # >= λ_min, up to rounding
            if estimate <= s:
                return False
    shifted = h.copy()
    shifted.flat[:: n + 1] -= s
    _, info = potrf(shifted, lower=True, clean=False, overwrite_a=True)
    return info == 0


def _semidefinite_core(
    h: np.ndarray,
    tol: float | None,
    unit: int,
    precision: np.dtype | None,
    lenient: bool = False,
) -> tuple[CholeskyAttempt, tuple[int, int, float] | None]:
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

    ``lenient``: no refusal, a pivot at most ``thr`` (negative too) gives a zero
    column, whatever lies below it; used only for a matrix the eigenvalue rule
    has already called positive semidefinite (:func:`_semidefinite`).

    The second result is the first *non-trivial* drop, ``(k, row, entry)``
    (1-based, ``entry`` as text, in A's units): a zero pivot whose column had an entry
    above ``thr`` (None when there was none). That is where the 2 × 2 test can
    be fooled (an entry up to ``√thr`` couples the pivot to a singular rest),
    so :func:`_semidefinite` confirms the result by the eigenvalue rule.
    """
    n = h.shape[0]
    drop: tuple[int, int, str] | None = None
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
        if d < -thr and not lenient:
            return CholeskyAttempt(
                None,
                k + 1,
                f"pivot {k + 1} of the semidefinite Cholesky factorisation is negative "
                f"({_shown(d, unit)} < {_shown(-thr, unit)})",
                True,
                base,
            ), drop
        # |c|² > (|d| + thr)(|s| + thr), compared as square roots: the product overflows
        # for a threshold beyond √(float max) ≈ 1e154 (an explicit huge tol)
        bound = np.sqrt(abs(d) + thr) * np.sqrt(np.abs(diag_s[k + 1 :]) + thr)
        bad = np.flatnonzero(np.abs(col) > bound)
        if bad.size and not lenient:
            i = int(bad[np.argmax(np.abs(col[bad]))])
            return CholeskyAttempt(
                None,
                k + 1,
                f"pivot {k + 1} of the semidefinite Cholesky factorisation is zero "
                f"(|{_shown(d, unit)}| <= {_shown(thr, unit)}) but the entry below it "
                f"in row {i + k + 2} is not ({_shown(abs(col[i]), unit)}); a positive "
                "semidefinite matrix with a zero pivot has "
                "a zero column below it",
                True,
                base,
            ), drop
        if drop is None and col.size and float(np.max(np.abs(col))) > thr:
            i = int(np.argmax(np.abs(col)))
            drop = (k + 1, i + k + 2, _shown(float(np.abs(col[i])), unit))
        # L[:, k] stays zero
    return CholeskyAttempt(L, None, None, True, base), drop


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
    semidefinite = check_bool(semidefinite, "semidefinite")
    h, precision = _hermitian_input(A, "cholesky", name, tol)
    spectrum = _Spectrum(h, tol, precision)  # the eigenvalue rule, computed once if needed
    definite = _definite(h, tol, precision, spectrum)
    if not semidefinite:
        return definite
    if definite.factor is not None:  # positive definite: the same factor, from LAPACK
        return CholeskyAttempt(definite.factor, None, None, True, definite.threshold)
    return _semidefinite(h, tol, precision, spectrum)


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
        The factorisation does not exist: A is not positive definite
        (semidefinite) by the eigenvalue rule of :func:`svdkit.definiteness`,
        which decides near the pivot thresholds (module docstring, "One
        decision"). The message names the pivot, and the exception's ``pivot``
        attribute is its 1-based order ``k`` (None when a semidefinite refusal
        comes from the eigenvalues alone).

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
