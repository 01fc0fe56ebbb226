"""Exact arithmetic underneath the exact engine: one field of numbers, rows of its elements.

Every computation of :mod:`svdkit.exact` runs in a *field* ``K`` that holds the
matrix's entries: the rationals ``QQ``, the Gaussian rationals ``QQ_I``, an
algebraic number field such as ``QQ<sqrt(2)>`` (SymPy's ``construct_domain``
with ``extension=True``), or the rational functions ``QQ(π)`` (exact, since π is
transcendental). In such a field ``a == 0`` is decided exactly, so every pivot,
rank and sign decision is exact. Only the final results are SymPy expressions.

Matrices are handled here as lists of rows of field elements: the sizes the
exact engine is for are small, and every step can then be recorded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.polys.constructor import construct_domain
from sympy.polys.domains import QQ

from svdkit.exact._convert import NotAlgebraicError

Rows = list[list[Any]]
Vec = list[Any]

_NUMERIC_DIGITS = 50


# --------------------------------------------------------------------------- the field


@dataclass(frozen=True, eq=False)
class Field:
    """An exact field ``K`` (a SymPy domain) and whether its elements are all real.

    Attributes
    ----------
    K : sympy.polys.domains.Domain
        The field; its elements are what :class:`Rows` hold.
    real : bool
        True when every element is real (``K`` contains no ``i``): then
        conjugation is the identity and elements have a sign.
    """

    K: Any
    real: bool
    #: Elements already known, by their SymPy expression. ``K.from_sympy`` finds an
    #: element of a number field by PSLQ at the field's degree (about a second per
    #: entry in ``QQ<√2 + √3 + √5 + √7>``: 6×6 det, rank and inv took 30–40 s); the
    #: entries and their radicals come exactly, and at once, from ``construct_domain``.
    _known: dict = field(default_factory=dict, repr=False, compare=False)

    # ----------------------------------------------------------------- construction

    @classmethod
    def of(cls, exprs: Sequence[sp.Expr]) -> Field:
        """The smallest convenient field holding ``exprs`` (and their conjugates)."""
        exprs = list(exprs) or [sp.Integer(0)]
        real = all(_is_real(e) for e in exprs)
        pool = exprs if real else exprs + [sp.conjugate(e) for e in exprs]
        K, _ = construct_domain(pool, extension=True, field=True)
        if K.is_ZZ:
            K = QQ
        F = cls(K, real)
        if K.is_AlgebraicField:
            F._learn(pool)
        return F

    def _learn(self, exprs: Sequence[sp.Expr]) -> None:
        """Remember ``exprs`` and their radicals as elements of ``K`` (one ``construct_domain``)."""
        exprs = [sp.sympify(e) for e in exprs]
        found = {p for e in exprs for p in e.atoms(sp.Pow) if not p.exp.is_Integer}
        if any(e.has(sp.I) for e in exprs):
            found.add(sp.I)
        atoms = sorted(found, key=sp.default_sort_key)
        pool = exprs + atoms
        try:
            K, elems = construct_domain(pool, extension=True, field=True)
        except (sp.polys.polyerrors.PolificationFailed, sp.polys.polyerrors.CoercionFailed):
            return
        if K != self.K:
            return
        for e, a in zip(pool, elems, strict=True):
            self._known.setdefault(e, a)

    @property
    def algebraic(self) -> bool:
        """Whether the elements are algebraic numbers (``QQ``, ``QQ_I`` or a number field)."""
        return bool(self.K.is_QQ or self.K.is_QQ_I or self.K.is_AlgebraicField)

    @property
    def rational(self) -> bool:
        return bool(self.K.is_QQ)

    def require_decidable(self, what: str) -> None:
        """Refuse the expression domain, where SymPy has no exact zero test."""
        if self.K.is_EX:
            raise NotAlgebraicError(
                f"{what}: the entries mix π (or another transcendental number) with radicals; "
                "the exact engine cannot decide exactly whether such numbers are zero. Use the "
                "numeric engine (svdkit) instead"
            )

    def require_algebraic(self, what: str) -> None:
        """Refuse entries that are not algebraic numbers (eigenvalues need them)."""
        if not self.algebraic:
            raise NotAlgebraicError(
                f"{what} needs algebraic entries (integers, fractions, i, square roots); "
                f"these entries live in {self.K}, and π is transcendental. Use the numeric "
                "engine (svdkit) instead"
            )

    def gens(self) -> tuple[sp.Expr, ...]:
        """Generators of ``K`` over ``QQ``, as SymPy numbers."""
        if self.K.is_QQ:
            return ()
        if self.K.is_QQ_I:
            return (sp.I,)
        if self.K.is_AlgebraicField:
            return tuple(self.K.orig_ext)
        raise NotAlgebraicError(f"{self.K} is not an algebraic number field")

    def extend(self, *numbers: sp.Expr) -> Field:
        """The field ``K(numbers)`` (algebraic numbers only); ``self`` when they lie in ``K``."""
        new = [x for x in numbers if not self.contains(x)]
        if not new:
            return self
        gens = self.gens() + tuple(new)
        return Field(QQ.algebraic_field(*gens), self.real and all(_is_real(x) for x in new))

    def contains(self, x: sp.Expr) -> bool:
        """Whether the number ``x`` lies in ``K`` (conversion succeeds)."""
        try:
            self.K.from_sympy(x)
        except (sp.polys.polyerrors.CoercionFailed, ValueError, TypeError):
            return False
        return True

    # ----------------------------------------------------------------- elements

    def convert(self, x: sp.Expr) -> Any:
        x = sp.sympify(x)
        if not self.K.is_AlgebraicField:
            return self.K.from_sympy(x)
        return self._convert_algebraic(x)

    def _convert_algebraic(self, x: sp.Expr) -> Any:
        """``x`` in the number field ``K``: sums, products and integer powers are
        computed in ``K`` from known elements; only new radicals go to ``from_sympy``."""
        hit = self._known.get(x)
        if hit is not None:
            return hit
        K = self.K
        if x.is_Rational:
            a = K.from_sympy(x)
        elif x.is_Add or x.is_Mul:
            parts = [self._convert_algebraic(t) for t in x.args]
            a = parts[0]
            for b in parts[1:]:
                a = a + b if x.is_Add else a * b
        elif x.is_Pow and x.exp.is_Integer:
            base = self._convert_algebraic(x.base)
            e = int(x.exp)
            a = base**e if e >= 0 else K.one / base ** (-e)
        else:
            a = K.from_sympy(x)
        self._known[x] = a
        return a

    def from_field(self, other: Field, a: Any) -> Any:
        """An element of another field (a subfield of this one) converted into this one."""
        if other.K == self.K:
            return a
        return self.convert(other.K.to_sympy(a))

    def to_sympy(self, a: Any) -> sp.Expr:
        return self.K.to_sympy(a)

    @property
    def zero(self) -> Any:
        return self.K.zero

    @property
    def one(self) -> Any:
        return self.K.one

    @functools.cached_property
    def _conj_gen(self) -> Any:
        """The conjugate of the primitive element, as an element (K is closed under it)."""
        return self.K.from_sympy(sp.conjugate(self.K.ext.as_expr()))

    @functools.cached_property
    def _gen_value(self) -> Any:
        """The primitive element to 60 digits (mpmath)."""
        import mpmath

        with mpmath.workdps(_NUMERIC_DIGITS + 10):
            z = sp.N(self.K.ext.as_expr(), _NUMERIC_DIGITS + 10)
            re_, im_ = (sp.Float(t, _NUMERIC_DIGITS + 10) for t in z.as_real_imag())
            return mpmath.mpc(re_._to_mpmath(mpmath.mp.prec), im_._to_mpmath(mpmath.mp.prec))

    def conj(self, a: Any) -> Any:
        if self.real:
            return a
        if self.K.is_QQ_I:
            return type(a)(a.x, -a.y)
        if self.K.is_AlgebraicField:
            # a = p(θ) with rational coefficients, so ā = p(θ̄): Horner at θ̄
            c = self._conj_gen
            out = self.K.zero
            for q in a.to_list():
                out = out * c + self.K.convert(q, self.K.dom)
            return out
        return self.K.from_sympy(sp.conjugate(self.K.to_sympy(a)))

    def is_zero(self, a: Any) -> bool:
        return a == self.K.zero

    def numeric(self, a: Any):
        """A 60-digit value (mpmath), exact up to rounding, for algebraic fields."""
        import mpmath

        K = self.K
        with mpmath.workdps(_NUMERIC_DIGITS + 10):
            if K.is_QQ:
                return mpmath.mpf(int(QQ.numer(a))) / int(QQ.denom(a))
            if K.is_QQ_I:
                return mpmath.mpc(
                    mpmath.mpf(int(QQ.numer(a.x))) / int(QQ.denom(a.x)),
                    mpmath.mpf(int(QQ.numer(a.y))) / int(QQ.denom(a.y)),
                )
            if K.is_AlgebraicField:
                g = self._gen_value
                out = mpmath.mpc(0)
                for q in a.to_list():
                    out = out * g + mpmath.mpf(int(QQ.numer(q))) / int(QQ.denom(q))
                return out
        raise TypeError(f"no numeric value for elements of {K}")

    def sign(self, a: Any) -> int:
        """The sign (−1, 0, +1) of a real element, decided exactly."""
        if a == self.K.zero:
            return 0
        if self.K.is_QQ:
            return 1 if a > 0 else -1
        if self.K.is_QQ_I:
            if a.y:
                raise ValueError("sign of a non-real number")
            return 1 if a.x > 0 else -1
        if self.K.is_AlgebraicField:
            import mpmath

            # a ≠ 0 exactly; Horner at 60 digits loses at most the digits of its largest term
            v = mpmath.re(self.numeric(a))
            scale = max((abs(q) for q in a.to_list()), default=1)
            big = float(scale) * float(max(1, abs(self._gen_value))) ** len(a.to_list())
            if abs(v) > big * 1e-45:
                return 1 if v > 0 else -1
        return numeric_sign(self.K.to_sympy(a))

    def abs2(self, a: Any) -> Any:
        """``|a|² = a·ā``, a real element."""
        return a * self.conj(a)

    def compare_abs(self, a: Any, b: Any) -> int:
        """The sign of ``|a| − |b|``, decided exactly."""
        return self.sign(self.abs2(a) - self.abs2(b))


def _is_real(e: sp.Expr) -> bool:
    r = e.is_real
    if r is not None:
        return bool(r)
    return is_zero_expr(sp.im(e))


def numeric_sign(e: sp.Expr) -> int:
    """The sign of a real number known to be non-zero, from an adaptive-precision evaluation."""
    for digits in (30, 100, 400):
        v = sp.re(sp.N(e, digits))
        if v != 0 and abs(v) > sp.Float(10) ** (-digits // 2):
            return 1 if v > 0 else -1
    if is_zero_expr(e):
        return 0
    raise ArithmeticError(f"cannot decide the sign of {e}")  # pragma: no cover


# --------------------------------------------------------------------------- zero tests


def is_zero_expr(e: sp.Expr) -> bool:
    """Whether a SymPy number is exactly zero (algebraic numbers decided rigorously).

    Expansion settles the usual cases; a number that is clearly non-zero at 30
    digits (SymPy's evaluation is adaptive: its digits are right) is non-zero;
    what remains is decided by its minimal polynomial, which is ``t`` exactly
    for zero.
    """
    e = sp.sympify(e)
    if e == 0:
        return True
    x = sp.expand(e)
    if x == 0:
        return True
    v = sp.N(x, 30)
    if v != 0 and abs(v) > sp.Float("1e-20"):
        return False
    if x.is_algebraic:
        t = sp.Dummy("t")
        return sp.minimal_polynomial(x, t) == t
    return bool(sp.simplify(x) == 0)


def matrices_equal(X: sp.MatrixBase, Y: sp.MatrixBase) -> bool:
    """Entrywise exact equality of two matrices of numbers (see :func:`is_zero_expr`)."""
    if X.shape != Y.shape:
        return False
    return all(is_zero_expr(a - b) for a, b in zip(X, Y, strict=True))


# --------------------------------------------------------------------------- rows


def rows_of(F: Field, M: sp.MatrixBase) -> Rows:
    """A SymPy matrix as rows of elements of ``F``."""
    return [[F.convert(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]


def to_matrix(F: Field, rows: Rows, ncols: int | None = None) -> sp.Matrix:
    if not rows:
        return sp.zeros(0, ncols or 0)
    return sp.Matrix([[F.to_sympy(a) for a in row] for row in rows])


def copy_rows(rows: Rows) -> Rows:
    return [list(r) for r in rows]


def conj_transpose(F: Field, rows: Rows, ncols: int) -> Rows:
    return [[F.conj(r[j]) for r in rows] for j in range(ncols)]


def matmul(F: Field, A: Rows, B: Rows, inner: int, ncols: int) -> Rows:
    zero = F.zero
    out = []
    for row in A:
        cur = []
        for j in range(ncols):
            s = zero
            for k in range(inner):
                if row[k] and B[k][j]:
                    s += row[k] * B[k][j]
            cur.append(s)
        out.append(cur)
    return out


def matvec(F: Field, A: Rows, v: Vec) -> Vec:
    zero = F.zero
    out = []
    for row in A:
        s = zero
        for a, x in zip(row, v, strict=True):
            if a and x:
                s += a * x
        out.append(s)
    return out


def dot(F: Field, u: Vec, v: Vec) -> Any:
    """``uᴴv``."""
    s = F.zero
    for a, b in zip(u, v, strict=True):
        if a and b:
            s += F.conj(a) * b
    return s


def identity(F: Field, n: int) -> Rows:
    return [[F.one if i == j else F.zero for j in range(n)] for i in range(n)]


# --------------------------------------------------------------------------- elimination

#: ``on_op(kind, info, rows)``: called after each row operation of :func:`rref_rows`.
OnOp = Callable[[str, dict, Rows], None]


def rref_rows(
    F: Field, rows: Rows, ncols: int, on_op: OnOp | None = None, stop_col: int | None = None
) -> tuple[Rows, list[int]]:
    """Gauss–Jordan elimination to the reduced row echelon form.

    The pivot of each column is its first non-zero entry at or below the current
    row (as by hand); the pivot row is scaled to make the pivot 1, then the
    column is cleared above and below. ``stop_col`` limits the pivot columns
    (for ``[A | I]``, only A's columns are pivots).

    Returns the reduced matrix and the 0-based pivot columns.
    """
    R = copy_rows(rows)
    m = len(R)
    pivots: list[int] = []
    r = 0
    last = ncols if stop_col is None else stop_col
    for c in range(last):
        if r >= m:
            break
        p = next((i for i in range(r, m) if not F.is_zero(R[i][c])), None)
        if p is None:
            continue
        if p != r:
            R[r], R[p] = R[p], R[r]
            if on_op:
                on_op("swap", {"row_a": r + 1, "row_b": p + 1, "column": c + 1}, R)
        piv = R[r][c]
        if piv != F.one:
            inv = F.one / piv
            R[r] = [x * inv if x else x for x in R[r]]
            if on_op:
                on_op("scale", {"row": r + 1, "factor": inv, "pivot": piv, "column": c + 1}, R)
        for i in range(m):
            if i != r and not F.is_zero(R[i][c]):
                f = R[i][c]
                R[i] = [a - f * b if b else a for a, b in zip(R[i], R[r], strict=True)]
                if on_op:
                    on_op(
                        "eliminate",
                        {"row": i + 1, "factor": f, "pivot_row": r + 1, "column": c + 1},
                        R,
                    )
        pivots.append(c)
        r += 1
    return R, pivots


def nullspace_from_rref(F: Field, R: Rows, pivots: list[int], ncols: int) -> list[Vec]:
    """A basis of the null space: one vector per free column, that variable set to 1."""
    basis = []
    free = [c for c in range(ncols) if c not in pivots]
    for f in free:
        v = [F.zero] * ncols
        v[f] = F.one
        for i, p in enumerate(pivots):
            v[p] = -R[i][f]
        basis.append(v)
    return basis


def nullspace(F: Field, rows: Rows, ncols: int) -> list[Vec]:
    R, piv = rref_rows(F, rows, ncols)
    return nullspace_from_rref(F, R, piv, ncols)


# --------------------------------------------------------------------------- vectors


def _rational_parts(F: Field, a: Any) -> list[sp.Rational]:
    """The rational coefficients of an element as it is written (``3/2 + √5/2`` → 3/2, 1/2)."""
    K = F.K
    if K.is_QQ:
        return [sp.Rational(int(QQ.numer(a)), int(QQ.denom(a)))]
    if K.is_QQ_I:
        return [sp.Rational(int(QQ.numer(q)), int(QQ.denom(q))) for q in (a.x, a.y)]
    if K.is_AlgebraicField:
        coeffs = sp.expand(K.to_sympy(a)).as_coefficients_dict().values()
        return [c for c in coeffs if c.is_Rational]
    return []


def primitive(F: Field, v: Vec) -> Vec:
    """``v`` times the positive rational that makes its written coefficients coprime integers.

    A positive factor changes neither the direction nor any sign, and makes
    hand-written vectors: ``(1/2, 1)`` becomes ``(1, 2)``, ``(1/2 + √5/2, 1)``
    becomes ``(1 + √5, 2)``.
    """
    parts = [q for a in v if a for q in _rational_parts(F, a) if q]
    if not parts:
        return v
    den = math.lcm(*(int(q.q) for q in parts))
    num = math.gcd(*(int(q.p) * (den // int(q.q)) for q in parts))
    if den == 1 and num == 1:
        return v
    scale = F.convert(sp.Rational(den, num))
    return [a * scale if a else a for a in v]


def gram_schmidt(F: Field, vectors: Sequence[Vec]) -> list[Vec]:
    """Orthogonalise (without normalising, so that everything stays in ``F``).

    ``wⱼ = bⱼ − Σ_{k<j} (wₖᴴbⱼ / wₖᴴwₖ) wₖ``; each ``wⱼ`` is then made
    :func:`primitive`. Linearly dependent input is an error of the caller.
    """
    out: list[Vec] = []
    for b in vectors:
        w = list(b)
        for q in out:
            c = dot(F, q, w) / dot(F, q, q)
            if c:
                w = [x - c * y for x, y in zip(w, q, strict=True)]
        out.append(primitive(F, w))
    return out


def sqrt_expr(e: sp.Expr) -> sp.Expr:
    """``√e`` for a non-negative number: square factors taken out, denested when shorter.

    ``√(20 + 4√5)`` is written ``2√(5 + √5)``, ``√(5 + 2√6)`` is ``√2 + √3``.
    """
    e = sp.sympify(e)
    if e.is_Rational:
        return sp.sqrt(e)
    content, rest = e.as_content_primitive()
    # take out square factors only: √(20 + 4√5) = 2√(5 + √5), but √(91/2 + √8065/2) stays
    a = sp.sqrt(sp.Integer(content.p)).as_coeff_Mul()[0]
    b = sp.sqrt(sp.Integer(content.q)).as_coeff_Mul()[0]
    inner = sp.expand(rest * content * b**2 / a**2)
    root = (a / b) * sp.sqrt(inner)
    if not root.has(sp.Pow):
        return root
    try:
        d = sp.sqrtdenest(root)
    except Exception:  # sqrtdenest gives up in several ways on hard cases
        return root
    return d if sp.count_ops(d) < sp.count_ops(root) else root


def norm_expr(F: Field, v: Vec) -> sp.Expr:
    """``‖v‖ = √(vᴴv)`` as a SymPy number."""
    return sqrt_expr(F.to_sympy(dot(F, v, v)))


def scaled(F: Field, v: Vec, factor: sp.Expr) -> list[sp.Expr]:
    """The entries of ``v`` as SymPy numbers, each times ``factor`` (e.g. ``1/‖v‖``)."""
    return [F.to_sympy(a) * factor for a in v]


def count_negative(F: Field, v: Vec) -> tuple[int, int]:
    """``(negatives, positives)`` among the entries of a real vector."""
    neg = pos = 0
    for a in v:
        s = F.sign(a)
        neg += s < 0
        pos += s > 0
    return neg, pos


def pivot_index(F: Field, v: Vec) -> int | None:
    """The sign rule's pivot: the first entry of largest magnitude (exact comparison)."""
    best = None
    for i, a in enumerate(v):
        if F.is_zero(a):
            continue
        if best is None or F.compare_abs(a, v[best]) > 0:
            best = i
    return best
