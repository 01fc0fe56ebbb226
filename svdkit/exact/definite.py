"""Definiteness of a symmetric (Hermitian) matrix, the four criteria decided exactly.

The kind comes from the signs of the eigenvalues, counted without computing a
single root: the characteristic polynomial of a symmetric matrix has only real
roots, and for such a polynomial Descartes' rule of signs is exact — the number
of positive roots *is* the number of sign changes of its coefficients, the
number of negative roots that of ``p(−λ)``, and the multiplicity of 0 is the
number of vanishing low-order coefficients. This works whether or not the
roots have closed forms.

Each of the notes' four criteria (§5) is then computed exactly, with its
evidence:

1. **quadratic form** — Lagrange's reduction (completing squares) writes
   ``xᴴAx = Σ dₖ |ℓₖᴴx|²`` with independent linear forms ``ℓₖ`` (the
   rank-one reductions ``S ← S − (Su)(Su)ᴴ/(uᴴSu)``); by Sylvester's law of
   inertia the signs of the ``dₖ`` are those of the eigenvalues. Witnesses
   ``x`` with exact ``xᴴAx`` > 0, < 0 or = 0 are the simplest found
   (``eᵢ``, then ``eᵢ ± eⱼ``, then from the reduction, then the null space);
2. **eigenvalues** — exact where they have closed forms (50 digits, ``≈``,
   where not), their signs from Descartes' rule;
3. **Cholesky** — ``A = LLᴴ`` exactly (``L = L̃ D^{1/2}`` with square roots of
   the pivots), the definite variant (positive pivots; it exists iff A is PD)
   and the semidefinite one (a zero pivot allowed when the rest of its column
   is zero; it exists iff A is PSD), with the failing pivot; the negative
   kinds by the same on ``−A``;
4. **Sylvester** — the leading principal minors decide the definite kinds
   (``Dₖ > 0``: PD; ``(−1)ᵏDₖ > 0``: ND); the semidefinite kinds need *all*
   ``2ⁿ − 1`` principal minors (PSD iff all ``≥ 0``).

.. warning::

   The notes (§5.2, criterion 4) claim that all *leading* minors ``≥ 0`` make
   A positive semidefinite. That is false: ``[[0, 0], [0, −1]]`` has leading
   minors ``0, 0`` and the eigenvalue ``−1``. The result records the notes'
   verdict (``notes_leading_minor_claim``) and whether it misleads.

The zero matrix is positive semidefinite (and negative semidefinite): its kind
is "positive semidefinite", as in :func:`svdkit.definiteness`.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from svdkit.errors import check_bool
from svdkit.exact._common import prepare, require_hermitian
from svdkit.exact._field import (
    Field,
    Rows,
    Vec,
    dot,
    matvec,
    nullspace,
    primitive,
    radical_degree,
    rows_of,
    rref_rows,
    sqrt_expr,
    to_matrix,
)
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.elimination import _bareiss
from svdkit.exact.format import LAMBDA, variables
from svdkit.exact.spectral import (
    _real_part,
    char_poly_coefficients,
    precise,
    require_factorable,
    spectrum,
)
from svdkit.linalg.definiteness import Kind, kind_from_counts

__all__ = [
    "ALL_MINORS_MAX_N",
    "CholeskyAttempt",
    "CholeskyCriterion",
    "Definiteness",
    "EigenvalueCriterion",
    "Kind",
    "QuadraticFormCriterion",
    "SylvesterCriterion",
    "Witness",
    "definiteness",
]

#: All ``2ⁿ − 1`` principal minors are computed up to this order.
ALL_MINORS_MAX_N = 10


def _kind_key(kind: Kind) -> str:
    return kind.name.lower()


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Witness:
    """A vector ``x`` and the exact value of ``xᴴAx``.

    Attributes
    ----------
    x : sympy.Matrix
        The vector (a column, integer entries when A is rational).
    value : sympy.Expr
        ``xᴴAx``, exactly.
    sign : int
        Its sign, +1, 0 or −1.
    source : str
        ``"basis"`` (``eᵢ``), ``"pair"`` (``eᵢ ± eⱼ``, ``eᵢ ± i·eⱼ``),
        ``"reduction"`` (Lagrange's reduction) or ``"null space"``.
    label : str
        ``"e₁ − e₂"`` for simple vectors, else empty.
    """

    x: sp.Matrix
    value: sp.Expr
    sign: int
    source: str
    label: str = ""


@dataclass(frozen=True, eq=False)
class QuadraticFormCriterion:
    """Criterion 1: ``xᴴAx = Σ dₖ |ℓₖᴴx|²`` (Lagrange's reduction) and witnesses.

    Attributes
    ----------
    kind : Kind
        From the signs of the ``dₖ`` (Sylvester's law of inertia).
    coefficients : tuple of sympy.Expr
        ``d₁, …, d_r`` (r = rank A).
    forms : sympy.Matrix
        The ``ℓₖ`` as rows (r×n).
    expression : sympy.Expr
        ``Σ dₖ (ℓₖ·x)²`` in the variables ``x₁, …, xₙ`` (``|ℓₖᴴx|²`` for complex A).
    positive_witness, negative_witness, zero_witness : Witness or None
        An ``x`` with ``xᴴAx`` > 0, < 0, or ``x ≠ 0`` with ``xᴴAx = 0``, when one exists.
    """

    name: str = field(default="quadratic form", init=False)
    kind: Kind = Kind.INDEFINITE
    coefficients: tuple[sp.Expr, ...] = ()
    forms: sp.Matrix | None = None
    expression: sp.Expr | None = None
    positive_witness: Witness | None = None
    negative_witness: Witness | None = None
    zero_witness: Witness | None = None


@dataclass(frozen=True, eq=False)
class EigenvalueCriterion:
    """Criterion 2: the signs of the eigenvalues.

    Attributes
    ----------
    kind : Kind
    values : tuple of sympy.Expr
        The eigenvalues, ascending (``Float``, printed ``≈``, for roots without
        a closed form).
    exact : bool
        Whether every value is exact (the signs always are).
    char_poly : sympy.Expr
        ``det(λI − A)``.
    sign_changes : tuple of int
        Sign changes of the coefficients of ``p(λ)`` and of ``p(−λ)``
        (Descartes: the numbers of positive and negative eigenvalues).
    n_positive, n_zero, n_negative : int
        The inertia.
    """

    name: str = field(default="eigenvalues", init=False)
    kind: Kind = Kind.INDEFINITE
    values: tuple[sp.Expr, ...] = ()
    exact: bool = True
    char_poly: sp.Expr | None = None
    sign_changes: tuple[int, int] = (0, 0)
    n_positive: int = 0
    n_zero: int = 0
    n_negative: int = 0

    @property
    def inertia(self) -> tuple[int, int, int]:
        return (self.n_positive, self.n_zero, self.n_negative)


@dataclass(frozen=True, eq=False)
class CholeskyAttempt:
    """One exact Cholesky factorisation, success or failure.

    Attributes
    ----------
    factor : sympy.Matrix or None
        ``L`` (lower triangular) with ``B = LLᴴ``, B being A or −A.
    pivots : tuple of sympy.Expr
        The pivots ``dₖ`` computed (``Lₖₖ = √dₖ``), up to the failing one.
    pivot : int or None
        The 1-based failing pivot.
    reason : str or None
        ``"negative"``, ``"zero"`` (definite variant) or ``"zero_column"``
        (semidefinite variant: a zero pivot with a non-zero entry below).
    semidefinite : bool
        Which variant.
    negated : bool
        Whether B = −A.
    """

    factor: sp.Matrix | None
    pivots: tuple[sp.Expr, ...]
    pivot: int | None
    reason: str | None
    semidefinite: bool
    negated: bool

    @property
    def succeeded(self) -> bool:
        return self.factor is not None


@dataclass(frozen=True, eq=False)
class CholeskyCriterion:
    """Criterion 3: which Cholesky factorisation exists, of A or of −A.

    Attempts, in order, stopping at the first success: definite of A (PD),
    semidefinite of A (PSD), definite of −A (ND), semidefinite of −A (NSD).

    Attributes
    ----------
    kind : Kind
    factor : sympy.Matrix or None
        L of the successful attempt.
    negated : bool
        Whether ``factor`` factors −A.
    pivot : int or None
        The failing pivot of the definite factorisation of A (None when A is PD).
    attempts : tuple of CholeskyAttempt
    """

    name: str = field(default="cholesky", init=False)
    kind: Kind = Kind.INDEFINITE
    factor: sp.Matrix | None = None
    negated: bool = False
    pivot: int | None = None
    attempts: tuple[CholeskyAttempt, ...] = ()


@dataclass(frozen=True, eq=False)
class SylvesterCriterion:
    """Criterion 4: principal minors.

    Attributes
    ----------
    kind : Kind or None
        None above :data:`ALL_MINORS_MAX_N` when the leading minors do not decide.
    leading_minors : tuple of sympy.Expr
        ``D₁, …, Dₙ``.
    principal_minors : dict or None
        ``{(i, j, …): det A[I, I]}`` (0-based index tuples) for all ``2ⁿ − 1``
        sets, when computed (the leading minors did not give a definite kind).
    refutes_psd, refutes_nsd : tuple of int or None
        An index set whose minor proves "not PSD" (< 0) / "not NSD".
    notes_leading_minor_claim : bool
        All leading minors ``≥ 0``, which the notes (§5.2) read as "PSD".
    notes_claim_misleads : bool
        True when that claim says PSD but A is not PSD.
    """

    name: str = field(default="sylvester", init=False)
    kind: Kind | None = None
    leading_minors: tuple[sp.Expr, ...] = ()
    principal_minors: dict[tuple[int, ...], sp.Expr] | None = None
    refutes_psd: tuple[int, ...] | None = None
    refutes_nsd: tuple[int, ...] | None = None
    notes_leading_minor_claim: bool = False
    notes_claim_misleads: bool = False


@dataclass(frozen=True, eq=False)
class Definiteness(ExactResult):
    """The kind of a symmetric (Hermitian) matrix and the four criteria, exactly.

    Attributes
    ----------
    kind : Kind
        From the eigenvalue signs (Descartes' rule).
    matrix : sympy.Matrix
        The analysed matrix ((A + Aᴴ)/2 when ``symmetrize=True``).
    symmetrized : bool
    quadratic_form, eigenvalues, cholesky, sylvester
        The four criteria.
    """

    kind: Kind
    matrix: sp.Matrix = field(repr=False)
    symmetrized: bool
    quadratic_form: QuadraticFormCriterion = field(repr=False)
    eigenvalues: EigenvalueCriterion = field(repr=False)
    cholesky: CholeskyCriterion = field(repr=False)
    sylvester: SylvesterCriterion = field(repr=False)

    def __str__(self) -> str:
        return str(self.kind)

    @property
    def criteria(self) -> tuple:
        """The four criteria, in the notes' order."""
        return (self.quadratic_form, self.eigenvalues, self.cholesky, self.sylvester)

    @property
    def inertia(self) -> tuple[int, int, int]:
        return self.eigenvalues.inertia

    @property
    def is_positive_definite(self) -> bool:
        return self.kind is Kind.POSITIVE_DEFINITE

    @property
    def is_positive_semidefinite(self) -> bool:
        return self.eigenvalues.n_negative == 0

    @property
    def is_zero_form(self) -> bool:
        """``xᴴAx = 0`` for every x: A is zero, both positive and negative semidefinite."""
        return self.eigenvalues.n_zero == self.matrix.rows

    @property
    def is_negative_definite(self) -> bool:
        return self.kind is Kind.NEGATIVE_DEFINITE

    @property
    def is_negative_semidefinite(self) -> bool:
        return self.eigenvalues.n_positive == 0


# ----------------------------------------------------------------------------- criterion 2


def _sign_changes(signs: list[int]) -> int:
    nz = [s for s in signs if s]
    return sum(1 for a, b in itertools.pairwise(nz) if a != b)


def _eigen_criterion(F: Field, rows: Rows, rec: Recorder) -> EigenvalueCriterion:
    n = len(rows)
    coeffs = [_real_part(c) for c in char_poly_coefficients(F, rows)]  # highest degree first
    require_factorable(n, radical_degree(coeffs), "definiteness")  # before R is built
    R = dataclasses.replace(Field.of(coeffs), real=True)  # keeps the elements it knows
    signs = [R.sign(R.convert(c)) for c in coeffs]
    low_first = signs[::-1]  # c₀, c₁, …, cₙ
    n_zero = next(k for k, s in enumerate(low_first) if s)  # cₙ = 1 ≠ 0
    pos = _sign_changes(signs)
    neg_signs = [s * (-1) ** (n - k) for k, s in enumerate(signs)]  # p(−λ), highest first
    neg = _sign_changes(neg_signs)
    if pos + neg + n_zero != n:  # pragma: no cover - a Hermitian matrix has real eigenvalues
        raise ArithmeticError("Descartes' counts do not add up: the roots are not all real")
    spec = spectrum(F, rows, rec, "definiteness")
    kind = kind_from_counts(pos, n_zero, neg)
    if rec.on:
        rec.add(
            "definiteness.descartes",
            {
                "signs": tuple("+" if s > 0 else "−" if s < 0 else "0" for s in signs),
                "positive": pos,
                "negative": neg,
                "zero": n_zero,
            },
            formula=sp.Eq(sp.Function("p")(LAMBDA), spec.char_poly),
        )
        rec.add(
            "definiteness.eigenvalues",
            {
                "values": spec.values(),
                "positive": pos,
                "zero": n_zero,
                "negative": neg,
                "kind": kind,
            },
        )
    return EigenvalueCriterion(
        kind, spec.values(), spec.exact, spec.char_poly, (pos, neg), pos, n_zero, neg
    )


# ----------------------------------------------------------------------------- criterion 1


def _qform(F: Field, rows: Rows, x: Vec) -> Any:
    return dot(F, x, matvec(F, rows, x))


def _lagrange(F: Field, rows: Rows) -> tuple[list[Any], list[Vec]]:
    """``xᴴAx = Σ dₖ |ℓₖᴴx|²``: repeated rank-one reduction ``S ← S − (Su)(Su)ᴴ/(uᴴSu)``.

    ``u`` is ``eᵢ`` for the first non-zero diagonal entry of S, else ``eᵢ + eⱼ``
    (or ``eᵢ + i·eⱼ``) for the first non-zero off-diagonal one. Returns the
    ``dₖ = uᴴSu`` and the ``ℓₖ = Su/dₖ`` (then ``xᴴSx = Σ dₖ |ℓₖᴴx|²``).
    """
    n = len(rows)
    S = [list(r) for r in rows]
    ds, ls = [], []
    while True:
        u = None
        for i in range(n):
            if not F.is_zero(S[i][i]):
                u = [F.one if k == i else F.zero for k in range(n)]
                break
        if u is None:
            for i, j in itertools.combinations(range(n), 2):
                if not F.is_zero(S[i][j]):
                    u = [F.zero] * n
                    u[i] = F.one
                    u[j] = F.one
                    if F.is_zero(_qform(F, S, u)):
                        u[j] = F.convert(sp.I)  # Re(S_ij) = 0: e_i + i e_j works
                    break
        if u is None:
            return ds, ls
        Su = matvec(F, S, u)
        d = dot(F, u, Su)
        ds.append(d)
        ls.append([x / d for x in Su])
        S = [[S[i][j] - Su[i] * F.conj(Su[j]) / d for j in range(n)] for i in range(n)]


def _simple_witnesses(F: Field, rows: Rows) -> list[tuple[Vec, str, str]]:
    n = len(rows)

    def e(i):
        return [F.one if k == i else F.zero for k in range(n)]

    out = [(e(i), "basis", f"e{_sub(i + 1)}") for i in range(n)]
    units = [(F.one, "+"), (-F.one, "−")]
    if not F.real:
        unit_i = F.convert(sp.I)
        units += [(unit_i, "+ i·"), (-unit_i, "− i·")]
    for i, j in itertools.combinations(range(n), 2):
        for c, s in units:
            v = e(i)
            v[j] = c
            out.append((v, "pair", f"e{_sub(i + 1)} {s}e{_sub(j + 1)}"))
    return out


def _sub(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _quadratic_criterion(
    F: Field, rows: Rows, n_pos: int, n_zero: int, n_neg: int, rec: Recorder
) -> QuadraticFormCriterion:
    n = len(rows)
    ds, ls = _lagrange(F, rows)
    dsign = [F.sign(d) for d in ds]
    kind = kind_from_counts(dsign.count(1), n - len(ds), dsign.count(-1))
    xs = variables(n, real=F.real)
    coeffs = tuple(F.to_sympy(d) for d in ds)
    terms = []
    for d, ell in zip(coeffs, ls, strict=True):
        form = sp.Add(*(sp.conjugate(F.to_sympy(c)) * x for c, x in zip(ell, xs, strict=True)))
        terms.append(d * (form**2 if F.real else sp.Abs(form) ** 2))
    expression = sp.Add(*terms) if terms else sp.Integer(0)
    forms = sp.Matrix([[F.to_sympy(c) for c in ell] for ell in ls]) if ls else sp.zeros(0, n)

    found: dict[int, Witness] = {}
    wanted = {1: n_pos > 0, -1: n_neg > 0, 0: n_zero > 0}
    for v, source, label in _simple_witnesses(F, rows):
        if all(found.get(s) or not w for s, w in wanted.items()):
            break
        q = _qform(F, rows, v)
        s = F.sign(q)
        if wanted[s] and s not in found:
            if s == 0 and any(not F.is_zero(y) for y in matvec(F, rows, v)):
                continue  # xᴴAx = 0 with Ax ≠ 0 (an indefinite A): not the null-space witness
            found[s] = Witness(_col(F, v), F.to_sympy(q), s, source, label)
    for s in (1, -1):
        if wanted[s] and s not in found:
            k = dsign.index(s)
            # x with ℓⱼᴴx = δⱼₖ: solve the system of the forms (consistent, they are independent)
            L = [[F.conj(c) for c in ell] for ell in ls]
            rhs = [F.one if j == k else F.zero for j in range(len(ls))]
            x = _solve(F, L, rhs, n)
            x = primitive(F, x)
            q = _qform(F, rows, x)
            found[s] = Witness(_col(F, x), F.to_sympy(q), F.sign(q), "reduction")
    if wanted[0] and 0 not in found:
        x = primitive(F, nullspace(F, rows, n)[0])
        found[0] = Witness(_col(F, x), sp.Integer(0), 0, "null space")
    if rec.on:
        T = "ᵀ" if F.real else "ᴴ"
        rec.add(
            "definiteness.quadratic_form_zero" if not ds else "definiteness.quadratic_form",
            {
                "expression": expression,
                "coefficients": coeffs,
                "rank": len(ds),
                "kind": kind,
                "T": T,
            },
            formula=sp.Eq(sp.Symbol(f"x{T}Ax"), expression),
        )
        for s, key in ((1, "positive"), (-1, "negative"), (0, "zero")):
            if s in found:
                w = found[s]
                rec.add(
                    f"definiteness.witness_{key}",
                    {"x": tuple(w.x), "value": w.value, "T": T},
                    matrices={"x": w.x},
                )
    return QuadraticFormCriterion(
        kind, coeffs, forms, expression, found.get(1), found.get(-1), found.get(0)
    )


def _solve(F: Field, L: Rows, rhs: Vec, n: int) -> Vec:
    aug = [[*row, b] for row, b in zip(L, rhs, strict=True)]
    R, piv = rref_rows(F, aug, n + 1, stop_col=n)
    x = [F.zero] * n
    for i, p in enumerate(piv):
        x[p] = R[i][n]
    return x


def _col(F: Field, v: Vec) -> sp.Matrix:
    return sp.Matrix([F.to_sympy(a) for a in v])


# ----------------------------------------------------------------------------- criterion 3


def _cholesky(
    F: Field, rows: Rows, semidefinite: bool, negated: bool, rec: Recorder
) -> CholeskyAttempt:
    n = len(rows)
    S = [[-a for a in r] for r in rows] if negated else [list(r) for r in rows]
    target = "−A" if negated else "A"
    variant = "semidefinite" if semidefinite else "definite"
    T = "ᵀ" if F.real else "ᴴ"
    rec.add(f"definiteness.cholesky_{variant}", {"target": target, "T": T})
    Lt = [[F.zero] * n for _ in range(n)]  # unit lower triangular L̃ (zero columns allowed)
    pivots: list[Any] = []
    for k in range(n):
        d = S[k][k]
        s = F.sign(d)
        if s > 0:
            pivots.append(d)
            Lt[k][k] = F.one
            for i in range(k + 1, n):
                Lt[i][k] = S[i][k] / d
            for i in range(k + 1, n):
                for j in range(k + 1, n):
                    S[i][j] = S[i][j] - S[i][k] * F.conj(S[j][k]) / d
            rec.add("definiteness.cholesky_pivot", {"k": k + 1, "pivot": F.to_sympy(d)})
            continue
        below = next((i for i in range(k + 1, n) if not F.is_zero(S[i][k])), None)
        if s == 0 and semidefinite and below is None:
            pivots.append(d)
            rec.add("definiteness.cholesky_zero_pivot", {"k": k + 1})
            continue
        reason = "negative" if s < 0 else ("zero_column" if semidefinite else "zero")
        values: dict[str, Any] = {"k": k + 1, "pivot": F.to_sympy(d)}
        if reason == "zero_column":
            values["row"] = below + 1
            values["entry"] = F.to_sympy(S[below][k])
        rec.add(f"definiteness.cholesky_fail_{reason}", values)
        return CholeskyAttempt(
            None, tuple(F.to_sympy(p) for p in pivots), k + 1, reason, semidefinite, negated
        )
    roots = [sqrt_expr(F.to_sympy(d)) for d in pivots]
    L = sp.Matrix(n, n, lambda i, j: F.to_sympy(Lt[i][j]) * roots[j] if i >= j else 0)
    if rec.on:
        B = -to_matrix(F, rows) if negated else to_matrix(F, rows)
        rec.add(
            "definiteness.cholesky_factor",
            {"target": target, "T": T},
            formula=sp.Eq(sp.Symbol(f"LL{T}"), B, evaluate=False),
            matrices={"L": L},
        )
    return CholeskyAttempt(
        L, tuple(F.to_sympy(p) for p in pivots), None, None, semidefinite, negated
    )


def _cholesky_criterion(F: Field, rows: Rows, rec: Recorder) -> CholeskyCriterion:
    plan = [
        (False, False, Kind.POSITIVE_DEFINITE),
        (True, False, Kind.POSITIVE_SEMIDEFINITE),
        (False, True, Kind.NEGATIVE_DEFINITE),
        (True, True, Kind.NEGATIVE_SEMIDEFINITE),
    ]
    attempts = []
    for semi, neg, kind in plan:
        a = _cholesky(F, rows, semi, neg, rec)
        attempts.append(a)
        if a.succeeded:
            rec.add("definiteness.cholesky_verdict", {"kind": kind})
            return CholeskyCriterion(kind, a.factor, neg, attempts[0].pivot, tuple(attempts))
    rec.add("definiteness.cholesky_verdict", {"kind": Kind.INDEFINITE})
    return CholeskyCriterion(Kind.INDEFINITE, None, False, attempts[0].pivot, tuple(attempts))


# ----------------------------------------------------------------------------- criterion 4


def _minor(F: Field, rows: Rows, idx: tuple[int, ...]) -> Any:
    sub = [[rows[i][j] for j in idx] for i in idx]
    return _bareiss(F, sub, Recorder(False))


def _sylvester(F: Field, rows: Rows, true_kind: Kind, rec: Recorder) -> SylvesterCriterion:
    n = len(rows)
    leading = [_minor(F, rows, tuple(range(k))) for k in range(1, n + 1)]
    lsign = [F.sign(d) for d in leading]
    lead_sym = tuple(F.to_sympy(d) for d in leading)
    for k, d in enumerate(lead_sym, 1):
        rec.add("definiteness.leading_minor", {"k": k, "value": d})
    claim = all(s >= 0 for s in lsign)
    psd = true_kind in (Kind.POSITIVE_DEFINITE, Kind.POSITIVE_SEMIDEFINITE)
    misleads = claim and not psd
    kind: Kind | None
    principal = None
    ref_psd = ref_nsd = None
    if all(s > 0 for s in lsign):
        kind = Kind.POSITIVE_DEFINITE
        rec.add("definiteness.sylvester_pd", {"n": n})
    elif all(s * (-1) ** k > 0 for k, s in enumerate(lsign, 1)):
        kind = Kind.NEGATIVE_DEFINITE
        rec.add("definiteness.sylvester_nd", {"n": n})
    elif n > ALL_MINORS_MAX_N:
        kind = None
        rec.add(
            "definiteness.sylvester_too_large",
            {"n": n, "limit": ALL_MINORS_MAX_N, "count": 2**n - 1},
        )
    else:
        principal = {}
        for k in range(1, n + 1):
            for idx in itertools.combinations(range(n), k):
                d = leading[k - 1] if idx == tuple(range(k)) else _minor(F, rows, idx)
                principal[idx] = F.to_sympy(d)
                s = F.sign(d)
                if s < 0 and ref_psd is None:
                    ref_psd = idx
                if s * (-1) ** k < 0 and ref_nsd is None:
                    ref_nsd = idx
                rec.add(
                    "definiteness.principal_minor",
                    {"indices": tuple(i + 1 for i in idx), "value": F.to_sympy(d)},
                )
        if ref_psd is None:
            kind = Kind.POSITIVE_SEMIDEFINITE
            rec.add("definiteness.sylvester_psd", {"count": 2**n - 1})
        elif ref_nsd is None:
            kind = Kind.NEGATIVE_SEMIDEFINITE
            rec.add("definiteness.sylvester_nsd", {"count": 2**n - 1})
        else:
            kind = Kind.INDEFINITE
            rec.add(
                "definiteness.sylvester_indefinite",
                {
                    "psd_indices": tuple(i + 1 for i in ref_psd),
                    "psd_value": principal[ref_psd],
                    "nsd_indices": tuple(i + 1 for i in ref_nsd),
                    "nsd_value": principal[ref_nsd],
                },
            )
    if misleads:
        rec.add("definiteness.notes_claim", {"minors": lead_sym, "kind": true_kind})
    return SylvesterCriterion(kind, lead_sym, principal, ref_psd, ref_nsd, claim, misleads)


# ----------------------------------------------------------------------------- main


@precise
def definiteness(A: Any, *, symmetrize: bool = False, steps: bool = False) -> Definiteness:
    """Definiteness of a symmetric (Hermitian) matrix, the four criteria decided exactly.

    Parameters
    ----------
    A : matrix-like
        A square matrix with algebraic entries, symmetric (Hermitian).
    symmetrize : bool
        Analyse the Hermitian part ``(A + Aᴴ)/2`` of a non-symmetric A (the
        quadratic form only sees that part) instead of refusing it.
    steps : bool
        Record each criterion's computation and why they agree.

    Returns
    -------
    Definiteness

    Raises
    ------
    StructureError
        A is not symmetric (Hermitian) and ``symmetrize`` is False.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> from svdkit.exact.format import to_text
    >>> r = ex.definiteness([[2, -1], [-1, 2]])
    >>> print(r.kind, to_text(r.quadratic_form.expression))
    positive definite 3x₂²/2 + 2(x₁ − x₂/2)²
    >>> print(to_text(r.cholesky.factor))
    [[√2, 0], [−√2/2, √6/2]]
    >>> r = ex.definiteness([[0, 0], [0, -1]])  # the notes' claim (§5.2) fails here
    >>> print(r.kind, to_text(r.sylvester.leading_minors), r.sylvester.notes_claim_misleads)
    negative semidefinite (0, 0) True
    """
    symmetrize = check_bool(symmetrize, "symmetrize")
    steps = check_bool(steps, "steps")
    M, F = prepare(A, "definiteness", square=True)
    F.require_algebraic("definiteness")
    symmetrized = False
    if symmetrize:
        H = (M + M.H) / 2
        symmetrized = H != M
        M = H.applyfunc(sp.expand)
        F = Field.of(list(M))
    else:
        require_hermitian(
            M,
            F,
            "definiteness",
            hint=(
                "pass symmetrize=True to analyse the symmetric part (A + Aᵀ)/2, "
                "the only part the quadratic form xᵀAx sees"
                if F.real else
                "pass symmetrize=True to analyse the Hermitian part (A + Aᴴ)/2, "
                "the only part the real part Re(xᴴAx) of the quadratic form sees"
            ),
        )
    rec = Recorder(steps)
    rows = rows_of(F, M)
    n = M.rows
    T = "ᵀ" if F.real else "ᴴ"
    rec.add(
        "definiteness.start_symmetrized" if symmetrized else "definiteness.start",
        {"n": n, "T": T},
        matrices={"A": M},
    )
    eig = _eigen_criterion(F, rows, rec)
    kind = eig.kind
    qf = _quadratic_criterion(F, rows, eig.n_positive, eig.n_zero, eig.n_negative, rec)
    chol = _cholesky_criterion(F, rows, rec)
    syl = _sylvester(F, rows, kind, rec)
    verdicts = [qf.kind, eig.kind, chol.kind] + ([syl.kind] if syl.kind is not None else [])
    if any(v is not kind for v in verdicts):  # pragma: no cover - they are theorems
        raise ArithmeticError(f"the criteria disagree: {verdicts}")
    zero_form = eig.n_zero == n
    rec.add(
        "definiteness.agree_zero" if zero_form else "definiteness.agree",
        {"kind": kind, "criteria": len(verdicts), "T": T},
    )
    return Definiteness(kind, M, symmetrized, qf, eig, chol, syl, steps=rec.steps())
