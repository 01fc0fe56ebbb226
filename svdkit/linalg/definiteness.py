"""Definiteness of a symmetric (Hermitian) matrix, by the four criteria of the course notes.

The notes (§5) characterise a positive definite (PD) and a positive
semidefinite (PSD) matrix in four equivalent ways. :func:`definiteness`
decides the kind from the eigenvalues and reports every criterion with its
own evidence, so that a learner can see them agree:

1. **quadratic form**: ``xᴴAx > 0`` for every ``x ≠ 0`` (PD), ``>= 0`` (PSD);
   evidence: the minimiser and maximiser over the unit sphere and simple
   witness vectors (``eᵢ``, ``eᵢ ± eⱼ``) of the telling sign;
2. **eigenvalues**: all ``λᵢ > 0`` (PD), ``>= 0`` (PSD); the counts of
   positive, zero and negative eigenvalues are the inertia;
3. **Cholesky**: ``A = L Lᴴ`` with ``L`` lower triangular, positive diagonal
   (PD), non-negative diagonal (PSD: the semidefinite factorisation of
   :mod:`svdkit.linalg.cholesky`); negative kinds by the same on ``−A``;
4. **Sylvester**: all *leading* principal minors ``Dₖ > 0`` (PD), and
   ``(−1)ᵏ Dₖ > 0`` (ND). For the semidefinite kinds the leading minors are
   *not* enough: A is PSD iff *every* principal minor (all ``2ⁿ − 1`` of them)
   is ``>= 0``, and NSD iff every principal minor of order ``k`` is zero or has
   the sign ``(−1)ᵏ``.

.. warning::

   The notes state a "generalised Sylvester criterion", *all leading principal
   minors ≥ 0 ⇔ PSD*. It is false: ``[[0, 0], [0, -1]]`` has the leading
   minors ``0, 0`` and the eigenvalue ``−1``. svdkit uses all principal
   minors, and records the notes' claim (``notes_leading_minor_claim``) with a
   flag (``notes_claim_misleads``) and an explanation when it misleads.

Zero decisions follow :mod:`svdkit.linalg.tolerance`:

=======================================  =====================================
decision                                 threshold (``tol`` replaces it)
=======================================  =====================================
eigenvalue ``λ`` of A is zero            ``thr = n · eps · max |λᵢ|``
quadratic form ``xᴴAx`` is zero          ``thr · ‖x‖²``
Cholesky pivot ``dₖ`` is zero            ``n · eps · max |aᵢᵢ| · (1 + ‖wₖ‖)²``
                                         (:mod:`svdkit.linalg.cholesky`)
minor ``det A[I, I]`` is zero            an eigenvalue ``μ`` of ``A[I, I]``
                                         has ``|μ| <= thr``
A is symmetric (Hermitian)               ``‖A − Aᴴ‖_F <= n · eps · 2‖A‖_F``
=======================================  =====================================

A minor is the product of the eigenvalues of its (Hermitian) submatrix, so
the rule for minors is the rule for A's eigenvalues, applied to the
submatrix with A's threshold; by Cauchy's interlacing theorem this keeps the
Sylvester criterion consistent with the eigenvalues (a PD A has every
``μ >= λ_min(A) > thr``). The computed ``μ`` are clipped into their interlacing
intervals ``[λᵢ, λᵢ₊ₙ₋ₖ]`` (a move of rounding size), so that rounding cannot
break that: the minor on all rows is decided by A's own eigenvalues. A scale
such as Hadamard's bound ``∏ ‖rowᵢ‖`` is not used: it overestimates the
rounding error of a determinant by orders of magnitude: for the positive
definite ``A = I + 110 uuᵀ``, ``u = (0, 0, 1, 4, 5, 9, 9)`` (eigenvalues 1
and 22441), it would call ``det A = 22441`` zero, since ``7 · eps · ∏ ‖rowᵢ‖ ≈ 24110``.

The eigenvalue rule is the reference of the other criteria too: the quadratic
form's minimum and maximum on the unit sphere are ``λ_min`` and ``λ_max`` (its
witnesses are recomputed from A, as evidence, and clipped into
``[λ_min ‖x‖², λ_max ‖x‖²]``, a move of rounding size, so that no witness shows a
value the form cannot take), and the Cholesky factorisations
follow the eigenvalue rule wherever their pivot rule lands near its threshold
(:mod:`svdkit.linalg.cholesky`, "One decision"), reusing the eigenvalues
computed here. So the criteria agree, and :func:`svdkit.cholesky` agrees
with them: ``cholesky(A)`` succeeds exactly when A is positive definite here,
``cholesky(A, semidefinite=True)`` exactly when it is positive semidefinite.

The eigenvalues counted non-zero are as many as the numerical rank,
:func:`svdkit.rank` of A with the same ``tol``: ``σᵢ = |λᵢ|``, but
``eigvalsh`` and ``svdvals`` round differently, and an eigenvalue within
rounding of the threshold can land on the other side of it than its singular
value. There the threshold is moved, by that rounding, so that the zero
eigenvalues are the ``n − rank`` smallest in ``|λ|``; ``tol_used`` is the
threshold applied, and the eigenvalue criterion's explanation says when it
was moved (:func:`svdkit.linalg.cholesky.eigenvalue_rule`).

One case is left where the minors cannot follow: an indefinite A whose
negative (or positive) eigenvalues beyond the threshold show in no minor
beyond it, each such minor having another eigenvalue within the threshold
(``λ = (−1, 2.5e-16, 7e-16)`` with ``thr = 6.7e-16``: every minor that could
show ``7e-16`` is zero by the rule). The Sylvester criterion then does not
decide (``kind`` None), and its ``reason`` gives what the minors say and why.
Where no minor refutes either semidefinite kind, both fit, and it takes the
eigenvalues' one. Where every principal minor is ``>= 0`` at the tolerance and A is
not PSD only by such an eigenvalue, the notes' leading-minor claim is not flagged
(``notes_claim_misleads`` False): the correct criterion is fooled there as well.

The zero matrix is both PSD and NSD; its kind is "positive semidefinite" and
both ``is_positive_semidefinite`` and ``is_negative_semidefinite`` are true.

Examples
--------
>>> from svdkit.linalg.definiteness import definiteness
>>> r = definiteness([[2, -1], [-1, 2]])
>>> print(r.kind)
positive definite
>>> [str(c.kind) for c in r.criteria]
['positive definite', 'positive definite', 'positive definite', 'positive definite']
>>> r = definiteness([[0, 0], [0, -1]])  # the notes' claim fails here
>>> print(r.kind, r.sylvester.notes_leading_minor_claim, r.sylvester.notes_claim_misleads)
negative semidefinite True True
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from svdkit.errors import check_bool
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import require_square
from svdkit.linalg.cholesky import (
    CholeskyAttempt,
    _definite,
    _in_units_of_a,
    _scaled_rule,
    _ScaledRule,
    _semidefinite,
    _Spectrum,
)
from svdkit.linalg.measures import SlogDet, entry_exponent, times_power_of_two
from svdkit.linalg.signs import with_sign_rule
from svdkit.linalg.structure import _fmt, hermitian_part, require_hermitian
from svdkit.linalg.tolerance import rule_dtype

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = [
    "ALL_MINORS_MAX_N",
    "LEADING_MINORS_MAX_N",
    "CholeskyCriterion",
    "Definiteness",
    "EigenvalueCriterion",
    "Kind",
    "PrincipalMinor",
    "QuadraticFormCriterion",
    "SylvesterCriterion",
    "Witness",
    "definiteness",
    "kind_from_counts",
]

#: All ``2ⁿ − 1`` principal minors are computed only up to this order.
ALL_MINORS_MAX_N = 12
#: The ``n`` leading principal minors are computed only up to this order.
LEADING_MINORS_MAX_N = 200
#: Simple witnesses ``eᵢ ± eⱼ`` are searched only up to this order (O(n²) of them).
PAIR_SEARCH_MAX_N = 500


class Kind(enum.StrEnum):
    """The five kinds of a Hermitian matrix (a ``str``: ``Kind.INDEFINITE == "indefinite"``)."""

    POSITIVE_DEFINITE = "positive definite"
    POSITIVE_SEMIDEFINITE = "positive semidefinite"
    NEGATIVE_DEFINITE = "negative definite"
    NEGATIVE_SEMIDEFINITE = "negative semidefinite"
    INDEFINITE = "indefinite"


def kind_from_counts(n_pos: int, n_zero: int, n_neg: int) -> Kind:
    """Kind from the inertia (the zero matrix counts as positive semidefinite)."""
    if n_neg == 0 and n_zero == 0:
        return Kind.POSITIVE_DEFINITE
    if n_pos == 0 and n_zero == 0:
        return Kind.NEGATIVE_DEFINITE
    if n_neg == 0:
        return Kind.POSITIVE_SEMIDEFINITE
    if n_pos == 0:
        return Kind.NEGATIVE_SEMIDEFINITE
    return Kind.INDEFINITE


def _vec(x: np.ndarray) -> str:
    """``[1, -1]`` for short vectors, ``[…] (n entries)`` beyond 8."""
    if x.size > 8:
        return f"a vector of {x.size} entries"
    return "[" + ", ".join(_fmt(v, 4) for v in x) + "]"


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Witness:
    """A vector ``x`` and the value of the quadratic form there.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The vector (integer entries for ``eᵢ``, ``eᵢ ± eⱼ``, ``eᵢ ± i·eⱼ``; unit
        norm for an eigenvector).
    value : float
        ``Re(xᴴAx)`` recomputed from A (for Hermitian A it is real).
    sign : int
        +1, 0 or −1: the sign of ``value`` with the zero threshold
        ``thr · ‖x‖²``.
    label : str
        How ``x`` was found, e.g. ``"e1 - e2"`` (1-based) or ``"eigenvector of
        λ = -1"``.
    """

    x: np.ndarray
    value: float
    sign: int
    label: str


@dataclass(frozen=True, eq=False)
class QuadraticFormCriterion:
    """Criterion 1: the sign of ``xᴴAx`` over all ``x ≠ 0``.

    Attributes
    ----------
    name : str
        ``"quadratic form"``.
    kind : Kind or None
        Its verdict, from the recomputed minimum and maximum over the unit sphere.
    explanation : str
        Why, in words.
    minimizer, maximizer : Witness
        Unit vectors minimising / maximising ``xᴴAx`` (eigenvectors of the
        smallest / largest eigenvalue); their values are the minimum and maximum.
    positive_witness, negative_witness : Witness or None
        The simplest ``x`` with ``xᴴAx > 0`` (``< 0``), when one exists:
        ``eᵢ`` first, then ``eᵢ ± eⱼ`` (and ``eᵢ ± i·eⱼ`` for complex A), then an
        eigenvector.
    zero_witness : Witness or None
        For a semidefinite A that is not definite, the simplest ``x ≠ 0`` with
        ``xᴴAx = 0`` (then ``Ax = 0``).
    threshold : float
        The zero threshold for ``xᴴAx`` per unit ``‖x‖²``.
    """

    name: str = field(default="quadratic form", init=False)
    kind: Kind | None
    explanation: str
    minimizer: Witness
    maximizer: Witness
    positive_witness: Witness | None
    negative_witness: Witness | None
    zero_witness: Witness | None
    threshold: float


@dataclass(frozen=True, eq=False)
class EigenvalueCriterion:
    """Criterion 2: the signs of the eigenvalues (the inertia).

    Attributes
    ----------
    name : str
        ``"eigenvalues"``.
    kind : Kind
        Its verdict (the one :func:`definiteness` adopts).
    explanation : str
        Why, in words.
    values : ndarray
        All eigenvalues, real, ascending (``scipy.linalg.eigvalsh``).
    threshold : float
        ``|λ| <= threshold`` counts as zero.
    n_positive, n_zero, n_negative : int
        The inertia.
    """

    name: str = field(default="eigenvalues", init=False)
    kind: Kind | None
    explanation: str
    values: np.ndarray
    threshold: float
    n_positive: int
    n_zero: int
    n_negative: int

    @property
    def inertia(self) -> tuple[int, int, int]:
        """``(n_positive, n_zero, n_negative)``."""
        return (self.n_positive, self.n_zero, self.n_negative)


@dataclass(frozen=True, eq=False)
class CholeskyCriterion:
    """Criterion 3: which Cholesky factorisation exists, of A or of −A.

    Attempts, in this order, stopping at the first success: the definite
    factorisation of A (PD), the semidefinite one of A (PSD), the definite one
    of −A (ND), the semidefinite one of −A (NSD); none: indefinite.

    Attributes
    ----------
    name : str
        ``"cholesky"``.
    kind : Kind or None
        Its verdict.
    explanation : str
        Why, in words.
    factor : ndarray or None
        ``L`` of the successful attempt: ``A = L Lᴴ``, or ``−A = L Lᴴ`` when
        ``negated``.
    negated : bool
        Whether ``factor`` factors ``−A``.
    pivot : int or None
        The 1-based failing pivot of the definite factorisation of A (its
        leading minor of that order is not positive); None when A is PD.
    pd_attempt, psd_attempt, nd_attempt, nsd_attempt : CholeskyAttempt or None
        Every attempt made (None: not needed).
    """

    name: str = field(default="cholesky", init=False)
    kind: Kind | None
    explanation: str
    factor: np.ndarray | None
    negated: bool
    pivot: int | None
    pd_attempt: CholeskyAttempt
    psd_attempt: CholeskyAttempt | None = None
    nd_attempt: CholeskyAttempt | None = None
    nsd_attempt: CholeskyAttempt | None = None


@dataclass(frozen=True, eq=False)
class PrincipalMinor:
    """``det A[I, I]`` for an index set ``I``.

    Attributes
    ----------
    indices : tuple of int
        0-based rows (= columns) kept, ascending.
    value : float
        The determinant (real for Hermitian A), a float64: ``±inf`` or ``0`` when
        it lies beyond float64's range (``1e200 · I₂`` has the minor ``1e400``);
        ``sign`` and ``log_abs`` hold it at every size.
    threshold : float
        The size of a zero minor, for display: ``thr`` times the product of the
        other ``|μ|`` (module docstring); ``inf`` or ``0`` beyond float64's range
        too. The decision itself is taken on the eigenvalues ``μ``.
    sign : int
        +1, 0 or −1, by the zero rule (from the eigenvalues of ``A[I, I]``,
        without forming the product): the sign Sylvester's criterion uses.
    log_abs : float
        ``log|det A[I, I]|`` (natural logarithm), the sum of the ``log|μ|``:
        finite wherever the minor is non-zero, ``-inf`` where an ``μ`` is exactly
        0. With ``sign`` it gives the minor at any size (:attr:`slogdet`).
    """

    indices: tuple[int, ...]
    value: float
    threshold: float
    sign: int
    log_abs: float

    @property
    def order(self) -> int:
        """``k = len(indices)``."""
        return len(self.indices)

    @property
    def slogdet(self) -> SlogDet:
        """``(sign, log_abs)`` as :func:`svdkit.slogdet` gives a determinant (sign 0: zero)."""
        return SlogDet(float(self.sign), self.log_abs if self.sign else -np.inf)

    @property
    def label(self) -> str:
        """``"rows/columns {1, 3}"`` (1-based, as the notes write them)."""
        return "rows/columns {" + ", ".join(str(i + 1) for i in self.indices) + "}"


@dataclass(frozen=True, eq=False)
class SylvesterCriterion:
    """Criterion 4: signs of principal minors (leading ones for definiteness).

    Attributes
    ----------
    name : str
        ``"sylvester"``.
    kind : Kind or None
        Its verdict; None when it cannot decide (``reason`` says why).
    explanation : str
        Why, in words.
    leading_minors : ndarray or None
        ``D₁, …, Dₙ`` (None above ``LEADING_MINORS_MAX_N``), float64: ``±inf``
        or ``0`` beyond its range (see ``leading_log_abs``).
    leading_signs : ndarray or None
        Their signs (+1, 0, −1) by the zero rule, computed from eigenvalues
        without forming the products: right at every scale.
    leading_thresholds : ndarray or None
        Their zero thresholds (for display).
    principal_minors : tuple of PrincipalMinor or None
        All ``2ⁿ − 1`` principal minors, by order then index (None above
        ``ALL_MINORS_MAX_N``).
    refutes_psd : PrincipalMinor or None
        A principal minor ``< 0`` (proves "not PSD"), the first found.
    refutes_nsd : PrincipalMinor or None
        A principal minor of order ``k`` with sign ``−(−1)ᵏ`` (proves "not NSD").
    notes_leading_minor_claim : bool or None
        The verdict of the notes' (false) generalised criterion: all leading
        minors ``>= 0``, which the notes read as "PSD".
    notes_claim_misleads : bool
        True when that claim says PSD, A is not PSD, and the principal minors show
        it: some principal minor is ``< 0`` at the tolerance (``refutes_psd``), or not
        all of them are computed (``n > ALL_MINORS_MAX_N``). False where every
        principal minor is ``>= 0`` at the tolerance (A is not PSD only by an
        eigenvalue within rounding of the threshold, and the criterion is undecided).
    note : str or None
        The explanation of the counterexample when the claim misleads.
    reason : str or None
        Why ``kind`` is None.
    leading_log_abs : ndarray or None
        ``log|Dₖ|`` (natural logarithm): with ``leading_signs``, the leading
        minors at any size, ``Dₖ = signₖ · exp(log|Dₖ|)`` where ``signₖ ≠ 0``.
    """

    name: str = field(default="sylvester", init=False)
    kind: Kind | None
    explanation: str
    leading_minors: np.ndarray | None
    leading_signs: np.ndarray | None
    leading_thresholds: np.ndarray | None
    principal_minors: tuple[PrincipalMinor, ...] | None
    refutes_psd: PrincipalMinor | None
    refutes_nsd: PrincipalMinor | None
    notes_leading_minor_claim: bool | None
    notes_claim_misleads: bool
    note: str | None
    reason: str | None = None
    leading_log_abs: np.ndarray | None = None


Criterion = QuadraticFormCriterion | EigenvalueCriterion | CholeskyCriterion | SylvesterCriterion


@dataclass(frozen=True, eq=False)
class Definiteness:
    """The definiteness of a Hermitian matrix and the evidence of the four criteria.

    Attributes
    ----------
    kind : Kind
        Decided from the eigenvalues.
    matrix : ndarray
        The analysed (Hermitian) matrix: ``(A + Aᴴ)/2``.
    tol_used : float
        The zero threshold applied to the eigenvalues: ``n · eps · max |λᵢ|`` (or
        ``tol``), moved by rounding where that makes the number of non-zero
        eigenvalues the numerical rank (:func:`svdkit.rank`; module docstring).
    symmetrized : bool
        Whether ``symmetrize=True`` replaced a non-symmetric A by its Hermitian
        part.
    quadratic_form, eigenvalues, cholesky, sylvester
        The four criteria (see :attr:`criteria`).
    """

    kind: Kind
    matrix: np.ndarray = field(repr=False)
    tol_used: float
    symmetrized: bool
    quadratic_form: QuadraticFormCriterion = field(repr=False)
    eigenvalues: EigenvalueCriterion = field(repr=False)
    cholesky: CholeskyCriterion = field(repr=False)
    sylvester: SylvesterCriterion = field(repr=False)

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """The four criteria, in the notes' order."""
        return (self.quadratic_form, self.eigenvalues, self.cholesky, self.sylvester)

    @property
    def inertia(self) -> tuple[int, int, int]:
        """``(n_positive, n_zero, n_negative)`` eigenvalues."""
        return self.eigenvalues.inertia

    @property
    def is_positive_definite(self) -> bool:
        """All eigenvalues > 0."""
        return self.eigenvalues.n_negative == 0 and self.eigenvalues.n_zero == 0

    @property
    def is_positive_semidefinite(self) -> bool:
        """All eigenvalues >= 0 (true for PD and for the zero matrix)."""
        return self.eigenvalues.n_negative == 0

    @property
    def is_zero_form(self) -> bool:
        """``xᴴAx = 0`` for every x (every eigenvalue is zero within ``tol_used``): A is
        both positive and negative semidefinite, and :attr:`kind` says the first."""
        n_pos, _, n_neg = self.inertia
        return n_pos == 0 and n_neg == 0

    @property
    def is_negative_definite(self) -> bool:
        """All eigenvalues < 0."""
        return self.eigenvalues.n_positive == 0 and self.eigenvalues.n_zero == 0

    @property
    def is_negative_semidefinite(self) -> bool:
        """All eigenvalues <= 0 (true for ND and for the zero matrix)."""
        return self.eigenvalues.n_positive == 0

    @property
    def is_indefinite(self) -> bool:
        """Eigenvalues of both signs."""
        return self.eigenvalues.n_positive > 0 and self.eigenvalues.n_negative > 0

    @property
    def note(self) -> str | None:
        """The warning about the notes' leading-minor claim, when it misleads here."""
        return self.sylvester.note


# ----------------------------------------------------------------------------- criterion 1


def _q(h: np.ndarray, x: np.ndarray) -> float:
    """``Re(xᴴ A x)``, computed from A.

    Where a partial sum overflows (entries near 1e308) the form is taken as ``2^e``
    times that of ``A·2^−e``: an overflow gives ±inf or NaN, never a finite wrong
    value, so a finite result stands as it is.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(np.real(np.vdot(x, h @ x)))
        if math.isfinite(value):
            return value
        e = entry_exponent(h)  # (finite where a complex |aᵢⱼ| overflows)
        scaled = float(np.real(np.vdot(x, times_power_of_two(h, -e) @ x)))
        return float(np.ldexp(scaled, e))  # ±inf only where the form itself overflows


def _witness(
    h: np.ndarray,
    x: np.ndarray,
    label: str,
    thr: float,
    bounds: tuple[float, float] | None = None,
) -> Witness:
    """``xᴴAx`` with its sign by the zero rule. ``bounds``: ``(λ_min, λ_max)``; the
    value is clipped into ``[λ_min ‖x‖², λ_max ‖x‖²]``, where the form's values lie
    (Rayleigh): a recomputed value outside by rounding (−6.93e−16 for the eigenvector
    of λ_min = −6.84e−16) would show a "minimum" below the least eigenvalue. For an x
    of norm 1 to rounding the interval includes ``[λ_min, λ_max]`` itself (the computed
    ``‖x‖² = 1 − eps`` would take the eigenvector of ``λ_max`` below ``λ_max``, and
    below a threshold moved just under it)."""
    value = _q(h, x)
    norm2 = float(np.vdot(x, x).real)
    if bounds is not None and all(map(math.isfinite, bounds)):
        with np.errstate(over="ignore", under="ignore"):
            lo, hi = bounds[0] * norm2, bounds[1] * norm2
        if math.isfinite(lo) and math.isfinite(hi):
            if abs(norm2 - 1.0) <= 64 * float(np.finfo(x.dtype).eps):
                lo, hi = min(lo, bounds[0]), max(hi, bounds[1])
            value = min(max(value, lo), hi)
    limit = thr * norm2
    sign = 0 if abs(value) <= limit else (1 if value > 0 else -1)
    return Witness(x, value, sign, label)


def _simple_witness(
    h: np.ndarray, thr: float, want: int, bounds: tuple[float, float] | None = None
) -> Witness | None:
    """The simplest ``eᵢ``, ``eᵢ ± eⱼ`` (``eᵢ ± i·eⱼ``) with ``sign(xᴴAx) = want``.

    Among the ``eᵢ`` and then among the pairs, the most telling one is chosen:
    the largest ``|xᴴAx| / ‖x‖²`` for ``want = ±1``, the smallest for ``want = 0``
    (ties: the first in index order). Returns None when there is none.
    """
    n = h.shape[0]
    # the candidates' forms (sums of entries) on A·2^−e where entries are near 1e308,
    # against thr·2^−e: the same choice, without overflow (each one chosen is then
    # measured on A itself, by _witness)
    largest = float(np.max(np.abs(h))) if h.size else 0.0
    e = entry_exponent(h) if largest > 2.0**_MINOR_SAFE_EXPONENT else 0  # (largest: inf too)
    hs = times_power_of_two(h, -e) if e else h
    thr_s = float(np.ldexp(thr, -e))
    d = np.real(np.diagonal(hs))

    def pick(values: np.ndarray, norm2: float) -> int | None:
        scaled = values / norm2
        if want == 0:
            ok = np.abs(scaled) <= thr_s
            score = -np.abs(scaled)
        else:
            ok = want * scaled > thr_s
            score = want * scaled
        if not ok.any():
            return None
        score = np.where(ok, score, -np.inf)
        return int(np.argmax(score))

    i = pick(d, 1.0)
    if i is not None:
        x = np.zeros(n, dtype=h.dtype)
        x[i] = 1
        w = _witness(h, x, f"e{i + 1}", thr, bounds)
        if w.sign == want:
            return w
    if n < 2 or n > PAIR_SEARCH_MAX_N:
        return None
    iu, ju = np.triu_indices(n, 1)
    base = d[iu] + d[ju]
    re = np.real(hs[iu, ju])
    im = np.imag(hs[iu, ju])
    candidates = [(base + 2 * re, 1.0, "+ "), (base - 2 * re, -1.0, "- ")]
    if np.iscomplexobj(h):
        # x = eᵢ + c·eⱼ with c = ±i: xᴴAx = aᵢᵢ + aⱼⱼ + 2 Re(c·aᵢⱼ) = aᵢᵢ + aⱼⱼ ∓ 2 Im aᵢⱼ
        candidates += [(base - 2 * im, 1j, "+ i·"), (base + 2 * im, -1j, "- i·")]
    stacked = np.stack([c[0] for c in candidates])
    flat = pick(stacked.ravel(), 2.0)
    if flat is None:
        return None
    which, p = divmod(flat, iu.size)
    _, coef, sym = candidates[which]
    x = np.zeros(n, dtype=h.dtype)
    x[iu[p]] = 1
    x[ju[p]] = coef
    w = _witness(h, x, f"e{iu[p] + 1} {sym}e{ju[p] + 1}", thr, bounds)
    return w if w.sign == want else None


def _eigen_witness(h, values, vectors, index: int, thr: float, role: str = "") -> Witness:
    x = vectors[:, index]
    x = with_sign_rule(x[:, None])[:, 0]
    label = f"eigenvector of λ = {_fmt(values[index])}"
    bounds = (float(values[0]), float(values[-1]))
    return _witness(h, x, f"{role} ({label})" if role else label, thr, bounds)


def _quadratic_form(h, values, vectors, thr, kind: Kind) -> QuadraticFormCriterion:
    T = "ᴴ" if np.iscomplexobj(h) else "ᵀ"
    q = f"x{T}Ax"
    lo = _eigen_witness(h, values, vectors, 0, thr, "minimiser on the unit sphere")
    hi = _eigen_witness(h, values, vectors, -1, thr, "maximiser on the unit sphere")

    def find(want: int) -> Witness | None:
        w = _simple_witness(h, thr, want, (float(values[0]), float(values[-1])))
        if w is not None:
            return w
        if want == 1:
            index = values.size - 1
        elif want == -1:
            index = 0
        else:
            index = int(np.argmin(np.abs(values)))
        w = _eigen_witness(h, values, vectors, index, thr)
        return w if w.sign == want else None

    pos = find(1) if values[-1] > thr else None
    neg = find(-1) if values[0] < -thr else None
    semidefinite = kind in (Kind.POSITIVE_SEMIDEFINITE, Kind.NEGATIVE_SEMIDEFINITE)
    zero = find(0) if semidefinite else None

    def show(w: Witness) -> str:
        if w.label.startswith("e") and not w.label.startswith("eigen"):
            return f"x = {w.label} gives {q} = {_fmt(w.value)}"
        return f"x = {_vec(w.x)} ({w.label}) gives {q} = {_fmt(w.value)}"

    # the minimum and maximum of the form on the unit sphere are λ_min and λ_max: the
    # verdict is the eigenvalues' (one decision; the witnesses' recomputed values differ
    # from them by rounding, which near the threshold could tip the other way)
    vmin, vmax = float(values[0]), float(values[-1])
    if vmin > thr:
        verdict = Kind.POSITIVE_DEFINITE
        text = (
            f"{q} > 0 for every x ≠ 0: its minimum on the unit sphere is {_fmt(vmin)} > 0, "
            f"at x = {_vec(lo.x)} (an eigenvector of the smallest eigenvalue)"
        )
    elif vmax < -thr:
        verdict = Kind.NEGATIVE_DEFINITE
        text = (
            f"{q} < 0 for every x ≠ 0: its maximum on the unit sphere is {_fmt(vmax)} < 0, "
            f"at x = {_vec(hi.x)} (an eigenvector of the largest eigenvalue)"
        )
    elif vmin >= -thr and vmax <= thr:
        verdict = Kind.POSITIVE_SEMIDEFINITE
        text = (
            f"{q} = 0 for every x (to within {thr:.3g}): the form is zero, so A is both "
            "positive and negative semidefinite"
        )
    elif vmin >= -thr:
        verdict = Kind.POSITIVE_SEMIDEFINITE
        text = f"{q} >= 0 for every x (its minimum on the unit sphere is 0 to within {thr:.3g})"
        if zero is not None:
            text += f", and {show(zero)} with x ≠ 0, so A is not definite"
    elif vmax <= thr:
        verdict = Kind.NEGATIVE_SEMIDEFINITE
        text = f"{q} <= 0 for every x (its maximum on the unit sphere is 0 to within {thr:.3g})"
        if zero is not None:
            text += f", and {show(zero)} with x ≠ 0, so A is not definite"
    else:
        verdict = Kind.INDEFINITE
        p = pos if pos is not None else hi
        m = neg if neg is not None else lo
        text = f"the form takes both signs: {show(p)} > 0 and {show(m)} < 0"
    return QuadraticFormCriterion(verdict, text, lo, hi, pos, neg, zero, thr)


# ----------------------------------------------------------------------------- criterion 2


def _eigenvalue_criterion(
    values: np.ndarray, thr: float, rule: float | None = None
) -> EigenvalueCriterion:
    """Criterion 2. ``rule``: the threshold before the move that makes the count of
    non-zero eigenvalues the numerical rank (None or ``thr``: not moved)."""
    n_pos = int(np.count_nonzero(values > thr))
    n_neg = int(np.count_nonzero(values < -thr))
    n_zero = values.size - n_pos - n_neg
    kind = kind_from_counts(n_pos, n_zero, n_neg)
    shown = _vec(values) if values.size <= 8 else f"{values.size} eigenvalues"
    moved = rule is not None and rule != thr
    at = repr(float(thr)) if moved else format(thr, ".3g")
    text = (
        f"eigenvalues {shown}: {n_pos} positive, {n_zero} zero (|λ| <= {at}), "
        f"{n_neg} negative, so A is {kind}"
    )
    if moved:
        # the threshold moves to (just below) an |λ|: shown with the digits that tell them
        # apart, where 3 would print |λ| = 1.488e-15 "<= 1.49e-15" and count it positive
        mags = np.abs(values)
        near = float(mags[np.argmin(np.abs(mags - thr))]) if values.size else thr
        side = "just below" if near > thr else "onto"
        text += (
            f" (the threshold {rule:.3g} is moved {side} |λ| = {near!r}, to {thr!r}, by "
            f"rounding, so that the non-zero eigenvalues are as many as the numerical rank "
            f"from the singular values, {n_pos + n_neg}: the eigenvalues and the singular "
            "values |λ| differ in the last digits)"
        )
    return EigenvalueCriterion(kind, text, values, thr, n_pos, n_zero, n_neg)


# ----------------------------------------------------------------------------- criterion 3


def _cholesky_criterion(
    h: np.ndarray,
    tol: float | None,
    precision: np.dtype,
    spectrum: tuple[np.ndarray, float] | None = None,
) -> CholeskyCriterion:
    """Criterion 3. ``spectrum``: A's eigenvalues and threshold, already computed: near a
    threshold the factorisations defer to them (:mod:`svdkit.linalg.cholesky`), so this
    criterion agrees with criterion 2."""
    T = "ᴴ" if np.iscomplexobj(h) else "ᵀ"
    rule = _Spectrum(h, tol, precision, spectrum)
    pd = _definite(h, tol, precision, rule)
    if pd.factor is not None:
        text = (
            f"A = L L{T} with L lower triangular and a positive diagonal "
            f"(smallest L[k,k] = {_fmt(np.min(np.diagonal(pd.factor).real))})"
        )
        return CholeskyCriterion(Kind.POSITIVE_DEFINITE, text, pd.factor, False, None, pd)
    psd = _semidefinite(h, tol, precision, rule)
    if psd.factor is not None:
        zero_cols = np.flatnonzero(np.diagonal(psd.factor).real == 0) + 1
        text = (
            f"the Cholesky factorisation of A fails: {pd.reason}; the semidefinite one "
            f"exists: A = L L{T} with L lower triangular and diagonal >= 0, zero in column"
            f"{'s' if zero_cols.size > 1 else ''} {', '.join(map(str, zero_cols))}"
        )
        return CholeskyCriterion(
            Kind.POSITIVE_SEMIDEFINITE, text, psd.factor, False, pd.pivot, pd, psd
        )
    minus = rule.negated()
    nd = _definite(-h, tol, precision, minus)
    if nd.factor is not None:
        text = (
            f"A has no Cholesky factorisation: {pd.reason}; −A = L L{T} with L lower "
            "triangular and a positive diagonal"
        )
        return CholeskyCriterion(
            Kind.NEGATIVE_DEFINITE, text, nd.factor, True, pd.pivot, pd, psd, nd
        )
    nsd = _semidefinite(-h, tol, precision, minus)
    if nsd.factor is not None:
        text = (
            f"A has no semidefinite Cholesky factorisation: {psd.reason}; −A has one, "
            f"−A = L L{T} with L lower triangular and diagonal >= 0, but not a definite one: "
            f"{nd.reason}"
        )
        return CholeskyCriterion(
            Kind.NEGATIVE_SEMIDEFINITE, text, nsd.factor, True, pd.pivot, pd, psd, nd, nsd
        )
    text = (
        f"neither A nor −A has a semidefinite Cholesky factorisation: for A, {psd.reason}; "
        f"for −A, {nsd.reason}"
    )
    return CholeskyCriterion(Kind.INDEFINITE, text, None, False, pd.pivot, pd, psd, nd, nsd)


# ----------------------------------------------------------------------------- criterion 4


#: The witnesses' forms of matrices with entries past 2^1000 are computed on A·2^−e
#: (:func:`_simple_witness`).
_MINOR_SAFE_EXPONENT = 1000


def _minors(
    h: np.ndarray, index_sets: np.ndarray, thr: float, rule: _ScaledRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Values, zero thresholds, signs and ``log|det|`` of ``det A[I, I]`` for a batch of sets.

    ``det A[I, I]`` is the product of the eigenvalues ``μ`` of the Hermitian
    submatrix ``A[I, I]``. The minor is zero when one of them is zero by the
    rule used for A's own eigenvalues (``|μ| <= thr``); otherwise its sign is
    ``(−1)^(number of negative μ)``. Its threshold, reported for display, is
    ``thr`` times the product of the other ``|μ|`` (the first-order size of a
    determinant with one eigenvalue at ``thr``). Products are formed in the log
    domain, so neither overflows.

    ``thr`` is A's threshold (for the thresholds shown), ``rule`` A's eigenvalue rule
    as decided on ``A · 2^−e`` (``max |aᵢⱼ| · 2^−e`` in ``[1/2, 1)``,
    :func:`svdkit.linalg.cholesky._scaled_rule`): the ``μ`` are those of
    ``A[I, I] · 2^−e`` (exact scaling), compared with the scaled threshold, so that A
    and ``A · 2^k`` get the same signs at every scale: near the largest float (where
    ``2^e μ`` can overflow) and among the subnormals (where the ``μ`` of ``A[I, I]``
    and the threshold itself underflow to 0).

    Cauchy's interlacing theorem puts the ``i``-th ``μ`` of a ``k × k`` principal
    submatrix in ``[λᵢ, λᵢ₊ₙ₋ₖ]``; the computed ``μ`` are clipped into that interval (a
    move of rounding size), so that the minors are decided consistently with A's
    eigenvalues (module docstring): the minor on all rows is decided by A's own
    eigenvalues, and a submatrix of a positive (semi)definite A has no eigenvalue below
    ``λ_min`` by rounding.
    """
    lam, thr_s, _, e = rule
    sub = h[index_sets[:, :, None], index_sets[:, None, :]]
    mu = np.linalg.eigvalsh(times_power_of_two(sub, -e) if e else sub)  # (N, k), ascending
    if lam.size:
        n, k = lam.size, index_sets.shape[1]
        mu = np.clip(mu, lam[:k], lam[n - k :])
    absmu = np.abs(mu)
    zero = (absmu <= thr_s).any(axis=1)
    negatives = np.count_nonzero(mu < 0, axis=1)
    raw_sign = np.where((absmu == 0).any(axis=1), 0, np.where(negatives % 2 == 0, 1, -1))
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logs = np.log(absmu) + e * math.log(2.0)
        logabs = logs.sum(axis=1)
        rest = logabs - logs.min(axis=1)  # the k − 1 largest
        rest = np.where(np.isfinite(rest), rest, np.sort(logs, axis=1)[:, 1:].sum(axis=1))
        values = raw_sign * np.exp(logabs)
        if thr > 0 or thr_s == 0:
            thresholds = thr * np.exp(rest)
        else:  # (A's threshold underflowed: the scaled one, scaled back in the log domain)
            thresholds = np.exp(math.log(thr_s) + e * math.log(2.0) + rest)
    signs = np.where(zero, 0, raw_sign).astype(int)
    return values, thresholds, signs, logabs


def _alternating(k: int) -> int:
    """The sign ``(−1)ᵏ``."""
    return 1 if k % 2 == 0 else -1


def _sylvester(
    h: np.ndarray, thr: float, truth: Kind, values: np.ndarray, rule: _ScaledRule
) -> SylvesterCriterion:
    """Criterion 4 from the leading and (for n <= 12) all principal minors.

    ``truth`` is the kind decided from the eigenvalues, used only to tell
    whether the notes' leading-minor claim misleads here. ``thr`` and ``values`` are
    the rule in A's units (for the text), ``rule`` the same rule decided on A·2^−e,
    which decides the signs of the minors (:func:`_minors`).
    """
    n = h.shape[0]
    principal: tuple[PrincipalMinor, ...] | None = None
    if n <= ALL_MINORS_MAX_N:
        found: list[PrincipalMinor] = []
        for k in range(1, n + 1):
            sets = np.array(list(itertools.combinations(range(n), k)), dtype=int)
            vals, thrs, sgns, logs = _minors(h, sets, thr, rule)
            found += [
                PrincipalMinor(tuple(int(i) for i in s), float(v), float(t), int(g), float(lg))
                for s, v, t, g, lg in zip(sets, vals, thrs, sgns, logs, strict=True)
            ]
        principal = tuple(found)
    leading = leading_thr = leading_sgn = leading_log = None
    lead: list[PrincipalMinor] = []
    if n <= LEADING_MINORS_MAX_N:
        if principal is not None:
            lead = [m for m in principal if m.indices == tuple(range(m.order))]
        else:
            for k in range(1, n + 1):
                v, t, g, lg = _minors(h, np.arange(k)[None, :], thr, rule)
                lead.append(
                    PrincipalMinor(
                        tuple(range(k)), float(v[0]), float(t[0]), int(g[0]), float(lg[0])
                    )
                )
        leading = np.array([m.value for m in lead])
        leading_log = np.array([m.log_abs for m in lead])
        leading_thr = np.array([m.threshold for m in lead])
        leading_sgn = np.array([m.sign for m in lead], dtype=int)

    shown_lead = lead if leading is not None else None
    # the minors available to refute PSD / NSD: all of them, or the leading ones and the diagonal
    if principal is not None:
        pool: list[PrincipalMinor] = list(principal)
    else:
        # decided on A·2^−e against the scaled threshold, as the minors of _minors are
        lam, thr_s, _, e = rule
        diag = np.real(np.diagonal(h))
        diag_s = np.ldexp(diag, -e) if e else diag
        if lam.size:
            # aᵢᵢ lies in [λ_min, λ_max] (interlacing): decided consistently with them
            diag_s = np.clip(diag_s, lam[0], lam[-1])
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            log_diag = np.log(np.abs(diag_s)) + e * math.log(2.0)
            diag = np.ldexp(diag_s, e) if e else diag_s  # (clipped: back in A's units)
        pool = [
            PrincipalMinor(
                (i,),
                float(diag[i]),
                thr,
                0 if abs(diag_s[i]) <= thr_s else int(np.sign(diag_s[i])),
                float(log_diag[i]),
            )
            for i in range(n)
        ] + lead
    refutes_psd = next((m for m in pool if m.sign < 0), None)
    refutes_nsd = next((m for m in pool if m.sign == -_alternating(m.order)), None)

    kind: Kind | None
    reason = None
    if leading_sgn is not None and np.all(leading_sgn == 1):
        kind = Kind.POSITIVE_DEFINITE
        text = f"every leading principal minor is positive ({_minor_list(shown_lead)})"
    elif leading_sgn is not None and all(
        s == _alternating(k) for k, s in enumerate(leading_sgn, start=1)
    ):
        kind = Kind.NEGATIVE_DEFINITE
        text = (
            "the leading principal minors alternate in sign, (−1)ᵏ Dₖ > 0 "
            f"({_minor_list(shown_lead)})"
        )
    elif principal is not None:
        # no minor refutes either kind (every minor of odd order is 0): both fit the
        # minors, and the criterion takes the one the eigenvalues take
        both = refutes_psd is None and refutes_nsd is None
        if both and truth == Kind.NEGATIVE_SEMIDEFINITE:
            kind = Kind.NEGATIVE_SEMIDEFINITE
            text = (
                f"not definite (leading minors {_minor_list(shown_lead)}), and no principal "
                f"minor refutes either semidefinite kind (all {len(principal)} checked: every "
                "one of odd order is 0 to within the tolerance, none of even order is < 0), so "
                "A is positive and negative semidefinite by the minors; negative semidefinite "
                "by its eigenvalues"
            )
        elif refutes_psd is None:
            kind = Kind.POSITIVE_SEMIDEFINITE
            text = (
                f"not definite (the leading minors {_minor_list(shown_lead)} are not all "
                f"positive nor alternating), and all {len(principal)} principal minors are "
                ">= 0"
            )
        elif refutes_nsd is None:
            kind = Kind.NEGATIVE_SEMIDEFINITE
            text = (
                f"not definite (leading minors {_minor_list(shown_lead)}), and every principal "
                f"minor of order k is 0 or has the sign (−1)ᵏ (all {len(principal)} checked); "
                f"the minor on {refutes_psd.label} is {_minor_text(refutes_psd)} < 0, so A is "
                "not positive semidefinite"
            )
        else:
            kind = Kind.INDEFINITE
            text = (
                f"the principal minor on {refutes_psd.label} is {_minor_text(refutes_psd)} < 0 "
                f"(not positive semidefinite) and the one on {refutes_nsd.label} is "
                f"{_minor_text(refutes_nsd)}, of sign −(−1)^{refutes_nsd.order} (not negative "
                "semidefinite)"
            )
    elif refutes_psd is not None and refutes_nsd is not None:
        kind = Kind.INDEFINITE
        text = (
            f"the principal minor on {refutes_psd.label} is {_minor_text(refutes_psd)} < 0 and "
            f"the one on {refutes_nsd.label} is {_minor_text(refutes_nsd)}, of sign "
            f"−(−1)^{refutes_nsd.order}"
        )
    else:
        kind = None
        if leading is None:
            reason = (
                f"n = {n} > {LEADING_MINORS_MAX_N}: the leading principal minors are not computed"
            )
        else:
            count = f"{2**n - 1:,}" if n <= 40 else f"{2.0**n:.3g}"
            reason = (
                f"A is not definite (leading minors not all positive nor alternating), and "
                f"deciding semidefiniteness needs all 2^{n} − 1 = {count} principal minors; "
                f"they are computed only for n <= {ALL_MINORS_MAX_N}"
            )
        text = f"undecided: {reason}"
    if kind is not None and kind != truth:
        # within rounding of the threshold: A's eigenvalues (the one decision) show a sign
        # that no minor shows, each minor being a product of eigenvalues of a submatrix,
        # zero by the rule where one of them is (module docstring)
        shown = (
            _vec(values)
            if values.size <= 8
            else f"smallest {_fmt(values[0])}, largest {_fmt(values[-1])}"
        )
        reason = (
            f"the principal minors say {kind} ({text}), but A is {truth} by its eigenvalues "
            f"({shown}, zero when |λ| <= {thr:.3g}): the minors that would show the "
            "difference are zero to within the tolerance, so at this tolerance the "
            "criterion does not decide"
        )
        kind, text = None, f"undecided: {reason}"

    claim = None if leading_sgn is None else bool(np.all(leading_sgn >= 0))
    is_psd = truth in (Kind.POSITIVE_DEFINITE, Kind.POSITIVE_SEMIDEFINITE)
    # the claim misleads where the correct criterion (every principal minor) refutes
    # PSD and the leading minors alone do not: where all the minors are computed and
    # none is < 0 at the tolerance (A not PSD only by an eigenvalue within rounding of
    # the threshold), the full criterion is fooled as well, and saying "check every
    # principal minor" would contradict the undecided criterion
    misleads = bool(claim) and not is_psd and (principal is None or refutes_psd is not None)
    note = None
    if misleads:
        why = f"A has the eigenvalue {_fmt(values[0])} < 0"
        if refutes_psd is not None:
            why = (
                f"the principal minor on {refutes_psd.label} is {_minor_text(refutes_psd)} < 0, "
                f"and {why}"
            )
        note = (
            "The course notes (§5.2, criterion 4) claim that A is positive semidefinite when "
            "all its LEADING principal minors are >= 0. That is false, and this matrix is a "
            f"counterexample: its leading minors {_minor_list(shown_lead)} are all >= 0, yet A is "
            f"not positive semidefinite: {why}. The correct criterion asks for ALL principal "
            "minors (every det A[I, I], 2ⁿ − 1 of them) to be >= 0."
        )
    return SylvesterCriterion(
        kind,
        text,
        leading,
        leading_sgn,
        leading_thr,
        principal,
        refutes_psd,
        refutes_nsd,
        claim,
        misleads,
        note,
        reason,
        leading_log,
    )


def _minor_text(m: PrincipalMinor, digits: int = 6) -> str:
    """A minor as text; beyond float64's range from its sign and log (``1e+400``, not ``inf``).

    A minor zero by the rule (``sign`` 0) is written 0, as the criterion reads it: its
    computed value (``-3.677e-16``) beside "all principal minors are >= 0" would
    contradict the text (the value itself is in ``leading_minors``)."""
    if m.sign == 0:
        return "0"
    if m.value != 0 and np.isfinite(m.value):
        return _fmt(m.value, digits)
    return SlogDet(float(m.sign), m.log_abs).text(digits)


def _minor_list(leading: list[PrincipalMinor] | None) -> str:
    if leading is None:
        return "not computed"
    shown = [f"D{k} = {_minor_text(m, 4)}" for k, m in enumerate(leading[:6], start=1)]
    if len(leading) > 6:
        shown.append("…")
    return ", ".join(shown)


# ----------------------------------------------------------------------------- entry point


def definiteness(
    A: MatrixLike, *, tol: float | None = None, symmetrize: bool = False
) -> Definiteness:
    """Definiteness of a symmetric (Hermitian) matrix, with the notes' four criteria.

    Parameters
    ----------
    A : array_like, str or path
        A real symmetric or complex Hermitian matrix (anything
        :func:`svdkit.as_matrix` accepts).
    tol : float, optional
        An absolute threshold that replaces every zero rule of this module
        (eigenvalues, quadratic form per ``‖x‖²``, Cholesky pivots, minors, the
        symmetry check); see the module docstring for the default rules.
    symmetrize : bool, default False
        Analyse the Hermitian part ``(A + Aᴴ)/2`` of a non-symmetric A. For real
        A it has the same quadratic form (``xᵀAx = xᵀ((A + Aᵀ)/2)x``); for
        complex A it gives ``Re(xᴴAx)``.

    Returns
    -------
    Definiteness
        ``kind`` (from the eigenvalues), the ``is_*`` properties and the four
        criteria with their evidence.

    Raises
    ------
    ShapeError
        A is not square.
    StructureError
        A is not symmetric (Hermitian) and ``symmetrize`` is False.

    Examples
    --------
    >>> r = definiteness([[1, 2], [2, 1]])
    >>> print(r.kind)
    indefinite
    >>> w = r.quadratic_form.negative_witness
    >>> w.label, w.x.tolist(), w.value
    ('e1 - e2', [1.0, -1.0], -2.0)
    >>> r.cholesky.pivot
    2
    >>> r = definiteness([[0, 0], [0, 0]])  # both PSD and NSD
    >>> print(r.kind, r.is_positive_semidefinite, r.is_negative_semidefinite)
    positive semidefinite True True
    >>> definiteness([[1, 2], [0, 1]], symmetrize=True).matrix.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    symmetrize = check_bool(symmetrize, "symmetrize")
    a = as_matrix(A, name="A")
    require_square(a, "definiteness")
    complex_ = np.iscomplexobj(a)
    if not symmetrize:
        part = (
            "(A + Aᴴ)/2, which gives Re(xᴴAx)"
            if complex_
            else ("(A + Aᵀ)/2, which has the same quadratic form xᵀAx")
        )
        require_hermitian(
            a,
            "definiteness",
            tol=tol,
            precision=rule_dtype(A, a.dtype),
            hint=(
                "Definiteness is defined for symmetric (Hermitian) matrices; pass "
                f"symmetrize=True to analyse the symmetric part {part}"
            ),
        )
    h = hermitian_part(a)
    # eigvalsh for the values; "evd" (divide and conquer) for the vectors: on singular
    # integer matrices both keep zero eigenvalues within the tolerance rule, where the
    # default MRRR driver with vectors (evr) can exceed it.
    dtype = rule_dtype(A, h.dtype)  # float32 data: float32's eps
    # the rule svdkit.cholesky defers to near its thresholds, its count of non-zero
    # eigenvalues svdkit.rank's: one decision for all three
    # (decided on h·2^−e, which the Sylvester criterion's minors use too)
    scaled = _scaled_rule(h, tol, dtype)
    values, thr, rule = _in_units_of_a(scaled, tol)
    vectors = scipy.linalg.eigh(h, check_finite=False, driver="evd")[1]
    eig = _eigenvalue_criterion(values, thr, rule)
    kind = eig.kind
    return Definiteness(
        kind=kind,
        matrix=h,
        tol_used=thr,
        symmetrized=bool(symmetrize),
        quadratic_form=_quadratic_form(h, values, vectors, thr, kind),
        eigenvalues=eig,
        cholesky=_cholesky_criterion(h, tol, dtype, (values, thr)),
        sylvester=_sylvester(h, thr, kind, values, scaled),
    )
