"""Norms, exactly where exact makes sense.

========  ===============================  ====================================
``ord``   vector                           matrix
========  ===============================  ====================================
None      Euclidean ``√Σ|xᵢ|²``            Frobenius ``√Σ|aᵢⱼ|²``
2         Euclidean                        spectral ``σ₁ = √λ_max(AᴴA)``
1         ``Σ|xᵢ|``                        largest column sum of ``|aᵢⱼ|``
inf       ``max|xᵢ|``                      largest row sum of ``|aᵢⱼ|``
"fro"     —                                Frobenius
"nuc"     —                                nuclear ``Σσᵢ``
p ≥ 1     ``(Σ|xᵢ|ᵖ)^(1/p)``               —
========  ===============================  ====================================

The spectral and nuclear norms come from the eigenvalues of ``AᴴA``
(:mod:`svdkit.exact.spectral`); when one has no closed form, the value is a
50-digit number printed ``≈`` and ``exact`` is False. The nuclear norm of a
Hermitian matrix that is positive (negative) semidefinite is ``Tr A`` (``−Tr A``)
exactly, whatever its eigenvalues: the semidefiniteness is decided exactly from
the signs of the coefficients of ``det(λI − A)``.

``|x|`` of a complex entry is ``√(x·x̄)`` with ``x·x̄`` computed in the entries'
number field (``|√i| = 1``), and sums of magnitudes are expanded, with radicals
out of denominators, so that a norm equal to a number compares equal to it.

``ord`` may be a Python, NumPy or SymPy number (``np.int64(3)``,
``sympy.Rational(3, 2)``, ``Decimal(2)``, a complex number with no imaginary part, a
0-d array) or text in any case (``"Inf"``). NumPy's negative orders (−1, −2,
−inf), the vector "norm" 0 and vector orders ``0 < p < 1`` are not norms (no
triangle inequality) and are refused here with an
:class:`~svdkit.errors.SvdkitError`; :func:`svdkit.norm` gives them in floating
point, as ``numpy.linalg.norm`` defines them (σ_min for −2, the count of non-zero
entries for 0).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from svdkit.errors import SvdkitError, check_bool
from svdkit.exact._common import prepare
from svdkit.exact._convert import NotAlgebraicError
from svdkit.exact._field import (
    Field,
    conj_transpose,
    exact_sum,
    is_zero_expr,
    matmul,
    rows_of,
    sqrt_expr,
)
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.spectral import (
    _float,
    _real_part,
    char_poly_coefficients,
    precise,
    spectrum,
)

__all__ = ["Norm", "norm"]

_MATRIX_ORDS = {
    None: "fro",
    "fro": "fro",
    "frobenius": "fro",
    "f": "fro",
    2: "2",
    "2": "2",
    "spectral": "2",
    "nuc": "nuc",
    "nuclear": "nuc",
    1: "1",
    "1": "1",
    "inf": "inf",
    "∞": "inf",
}


@dataclass(frozen=True, eq=False)
class Norm(ExactResult):
    """A norm's exact value.

    Attributes
    ----------
    value : sympy.Expr
        The norm (a ``Float`` printed ``≈`` when ``exact`` is False).
    ord : str
        ``"fro"``, ``"2"``, ``"nuc"``, ``"1"``, ``"inf"`` or ``"p"`` (vectors).
    exact : bool
        Whether ``value`` is exact.
    """

    value: sp.Expr
    ord: str
    exact: bool = True


def _magnitudes(xs: list[sp.Expr]) -> list[sp.Expr]:
    """``|x|`` of each of ``xs``, simplified: ``|√i| = 1``, ``|√(1 + i)| = 2^(1/4)``.

    Real numbers take ``abs``. For complex algebraic numbers ``|x|² = x·x̄`` is computed
    in their number field (as the spectral norm's ``AᴴA`` is, :meth:`Field.abs2`):
    SymPy leaves ``√i·conj(√i)`` unsimplified, and a sum of such roots could not even be
    compared (its value carries a ``10⁻⁶⁵·i`` rounding residue).
    """
    out = [abs(x) if x.is_real else None for x in xs]
    # i, π and roots of positive rationals conjugate by themselves: x·x̄ expands exactly
    hard = [k for k, x in enumerate(xs) if out[k] is None and _complex_radical(x)]
    for k, x in enumerate(xs):
        if out[k] is None and k not in hard:
            out[k] = sqrt_expr(sp.expand(x * sp.conjugate(x)))
    squares = _field_abs2([xs[k] for k in hard]) if hard else []
    for k, s in zip(hard, squares, strict=True):
        out[k] = sqrt_expr(s) if s is not None else _abs_expr(xs[k])
    return out


def _complex_radical(x: sp.Expr) -> bool:
    """Whether ``x`` holds a root of a non-real number (``√i``), which SymPy won't conjugate."""
    return any(not p.exp.is_Integer and p.base.is_real is not True for p in x.atoms(sp.Pow))


def _field_abs2(xs: list[sp.Expr]) -> list[sp.Expr | None]:
    """``|x|²`` of each of ``xs`` computed in their field, or ``None`` where it cannot be."""
    try:
        F = Field.of(xs)
    except NotAlgebraicError:  # too many roots: SymPy's own simplification below
        return [None] * len(xs)
    if not F.algebraic:
        return [None] * len(xs)
    out: list[sp.Expr | None] = []
    for x in xs:
        s = sp.expand(F.to_sympy(F.abs2(F.convert(x))))
        out.append(s if s.is_real and not s.has(sp.conjugate) else None)
    return out


def _abs_expr(x: sp.Expr) -> sp.Expr:
    """``|x|`` by SymPy's rules (``|z^r| = |z|^r``), else ``√(x·x̄)`` simplified.

    ``x`` is first written ``a + bi`` (``√i = (1 + i)/√2``), so that ``x·x̄ = a² + b²``
    expands to a real expression (``|π + √i| = √(1 + √2π + π²)``); one that still holds
    ``i`` after that is refused rather than given as an "exact" complex-looking value.
    """
    a = sp.Abs(x)
    if not a.has(sp.Abs, sp.conjugate, sp.re, sp.im, sp.I):
        return a
    y = sp.expand_complex(x)
    s = sp.radsimp(sp.expand(sp.expand_complex(y * sp.conjugate(y))))
    if s.has(sp.I, sp.conjugate, sp.re, sp.im, sp.Abs):
        raise SvdkitError(
            f"cannot write |{x}| exactly as a real number; svdkit.norm gives this norm in "
            "floating point"
        )
    return sqrt_expr(s)


def _maximum(values: list[sp.Expr]) -> sp.Expr:
    """The largest of non-negative exact numbers (ties decided exactly)."""
    best = values[0]
    for v in values[1:]:
        d = v - best
        if d.is_Rational:
            if d > 0:
                best = v
            continue
        if is_zero_expr(d):
            continue
        # d ≠ 0 exactly and real (a difference of magnitudes): its sign is that of its real
        # part, whatever rounding residue the imaginary part of the approximation carries
        approx = sp.N(d, 50)
        if not approx.is_number or sp.re(approx) == 0 or abs(sp.im(approx)) > abs(sp.re(approx)):
            raise SvdkitError(
                f"cannot compare the magnitudes {v} and {best} exactly; svdkit.norm gives "
                "this norm in floating point"
            )
        if sp.re(approx) > 0:
            best = v
    return best


def _is_vector_input(x: Any) -> bool:
    if isinstance(x, str) or isinstance(x, sp.MatrixBase):
        return False
    try:
        return np.ndim(np.asarray(x, dtype=object)) == 1
    except ValueError:
        return False


#: The largest exact p of a vector p-norm (and of its denominator): |xᵢ|^p is written
#: out exactly, and (3, 4) at p = 10⁴ is already a 6000-digit sum.
MAX_EXACT_P = 100


_VECTOR_ORDS = "use 1, 2, inf or an exact p >= 1 (an integer or a fraction such as Fraction(3, 2))"
_MATRIX_ORD_NAMES = "use 'fro', 2, 'nuc', 1 or inf"


def _ord_value(ord: Any, kind: str) -> Any:
    """``ord`` as the plain Python value the tables use: NumPy scalars and 0-d arrays by
    their value, SymPy numbers and fractions as ``int``/``Fraction``, ``∞`` as ``"inf"``,
    text in lower case; anything else (a list, a bool) refused."""
    given = ord  # (messages name the ord as it was given)
    if (isinstance(ord, np.ndarray) and ord.ndim == 0) or isinstance(ord, np.generic):
        ord = ord.item()
    names = _VECTOR_ORDS if kind == "vector" else _MATRIX_ORD_NAMES
    if ord is None:
        return None
    if isinstance(ord, str):
        text = ord.strip().lower()
        return "inf" if text in ("inf", "∞", "+inf", "infinity") else text
    if isinstance(ord, sp.Basic) and ord.is_number and (ord.is_Rational or ord is sp.oo):
        ord = float("inf") if ord is sp.oo else Fraction(int(ord.p), int(ord.q))
    elif isinstance(ord, sp.Float):
        ord = float(ord)
    elif isinstance(ord, Decimal) and not ord.is_nan():  # as NumPy takes it: Decimal(2)
        ord = float(ord) if ord.is_infinite() else Fraction(ord)
    elif isinstance(ord, numbers.Complex) and not isinstance(ord, numbers.Real) and not ord.imag:
        ord = ord.real  # 2 + 0j, as NumPy takes it
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise SvdkitError(f"unknown {kind} norm {given!r}: {names}")
    if ord == float("inf"):
        return "inf"
    if isinstance(ord, float) and ord.is_integer():
        return int(ord)
    if isinstance(ord, numbers.Rational):
        f = Fraction(int(ord.numerator), int(ord.denominator))
        return f.numerator if f.denominator == 1 else f
    return ord


def _vector_norm(v: list[sp.Expr], given: Any, rec: Recorder) -> Norm:
    ord = _ord_value(given, "vector")
    mags = _magnitudes(v)
    if ord is None or ord == 2 or ord == "2":
        s = sp.expand(sum(m**2 for m in mags))
        value = sqrt_expr(s)
        rec.add("norm.vector_2", {"sum_squares": s, "value": value})
        return Norm(value, "2", steps=rec.steps())
    if ord == 1 or ord == "1":
        value = exact_sum(mags)
        rec.add("norm.vector_1", {"terms": tuple(mags), "value": value})
        return Norm(value, "1", steps=rec.steps())
    if ord == "inf":
        value = _maximum(mags)
        rec.add("norm.vector_inf", {"terms": tuple(mags), "value": value})
        return Norm(value, "inf", steps=rec.steps())
    if isinstance(ord, int | Fraction) and ord >= 1:
        p = sp.Rational(ord.numerator, ord.denominator)
        if p > MAX_EXACT_P or p.q > MAX_EXACT_P:  # |x|^p written out: 10**30 never ends
            raise SvdkitError(
                f"the exact {given!r}-norm is out of reach: an exact p-norm takes p <= "
                f"{MAX_EXACT_P} with a denominator <= {MAX_EXACT_P} (the terms |xᵢ|^p are "
                "written out); svdkit.norm gives it in floating point"
            )
        value = sp.Add(*(m**p for m in mags)) ** (1 / p)
        # p as it is (a Rational): the printers group it in the sentence (grouped_values)
        rec.add("norm.vector_p", {"p": p, "value": value})
        return Norm(value, "p", steps=rec.steps())
    raise SvdkitError(f"unknown vector norm {given!r}: {_VECTOR_ORDS}")


@precise
def norm(x: Any, ord: Any = None, *, steps: bool = False) -> Norm:
    """Vector or matrix norm, exactly (see the module's table).

    A 1-D list or array is a vector; anything else is a matrix.

    Parameters
    ----------
    x : vector or matrix-like
    ord : None, 1, 2, inf, "fro", "nuc", "spectral", "nuclear" or p >= 1 (vectors)
        A number may be a NumPy or SymPy scalar; an exact p is an integer or a
        fraction (``Fraction(3, 2)``, ``sympy.Rational(3, 2)``) up to
        :data:`MAX_EXACT_P`.
    steps : bool
        Record the sums, or ``AᴴA`` and its largest eigenvalue.

    Returns
    -------
    Norm

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> print(ex.norm([1, 2, 3]), ex.norm([1, 2, 3], 1))
    √14 6
    >>> print(ex.norm([[1, 0], [1, 1], [3, 2]]))
    4
    >>> print(ex.norm([[1, 2], [3, 4]], 2))
    √(15 + √221)
    """
    steps = check_bool(steps, "steps")
    rec = Recorder(steps)
    if _is_vector_input(x):
        M, _ = prepare(x, "norm", name="x", field=False)
        return _vector_norm(list(M), ord, rec)
    key = _ord_value(ord, "matrix")
    if key not in _MATRIX_ORDS:
        raise SvdkitError(f"unknown matrix norm {ord!r}: {_MATRIX_ORD_NAMES}")
    which = _MATRIX_ORDS[key]
    M, _ = prepare(x, "norm", field=False)
    m, n = M.shape
    if which == "fro":
        s = sp.expand(sum(a**2 for a in _magnitudes(list(M))))
        value = sqrt_expr(s)
        rec.add("norm.frobenius", {"sum_squares": s, "value": value})
        return Norm(value, "fro", steps=rec.steps())
    if which in ("1", "inf"):
        mags = _magnitudes(list(M))
        at = {(i, j): mags[i * n + j] for i in range(m) for j in range(n)}
        groups = (
            [[at[i, j] for i in range(m)] for j in range(n)]
            if which == "1"
            else [[at[i, j] for j in range(n)] for i in range(m)]
        )
        sums = [exact_sum(g) for g in groups]
        value = _maximum(sums)
        rec.add(f"norm.{'one' if which == '1' else 'inf'}", {"sums": tuple(sums), "value": value})
        return Norm(value, which, steps=rec.steps())
    F = Field.of(list(M))
    F.require_algebraic("the spectral and nuclear norms")
    rows = rows_of(F, M)
    G = matmul(F, conj_transpose(F, rows, n), rows, m, n)
    T = "ᵀ" if F.real else "ᴴ"
    rec.add(
        "norm.gram",
        {"T": T},
        matrices={f"A{T}A": sp.Matrix([[F.to_sympy(a) for a in r] for r in G])},
    )
    spec = spectrum(F, G, rec, "norm", {"T": T})
    roots = [r for r in spec.roots if not r.is_zero]

    def sigma(r):
        return sqrt_expr(r.value) if r.exact else _float(mpmath.sqrt(r.approx))

    if which == "2":
        if not roots:
            rec.add("norm.spectral", {"lambda_max": sp.Integer(0), "value": sp.Integer(0), "T": T})
            return Norm(sp.Integer(0), "2", steps=rec.steps())
        top = roots[-1]
        value = sigma(top)
        rec.add("norm.spectral", {"lambda_max": top.value, "value": value, "T": T})
        return Norm(value, "2", top.exact, steps=rec.steps())
    sigmas = [sigma(r) for r in roots for _ in range(r.multiplicity)]
    exact = all(r.exact for r in roots)
    if exact:
        value = shortest_sum(sigmas)
    elif (sign := _semidefinite_sign(F, rows)) is not None:
        # σᵢ = |λᵢ| and every λᵢ has one sign: ‖A‖_* = ±Σλᵢ = ±Tr A, exactly
        value = sign * exact_sum([sp.re(M[i, i]) for i in range(n)])
        exact = True
    else:
        value = sp.Add(*sigmas)
    rec.add("norm.nuclear", {"sigmas": tuple(sigmas), "value": value})
    return Norm(value, "nuc", exact, steps=rec.steps())


def _semidefinite_sign(F: Field, rows: list) -> int | None:
    """+1 for a Hermitian ``A ⪰ 0``, −1 for ``A ⪯ 0``, else None; decided exactly.

    The eigenvalues of a Hermitian matrix are real, so Descartes' rule on the
    coefficients of ``det(λI − A)`` counts them by sign exactly
    (:func:`svdkit.exact.definite.definiteness` does the same), roots or no roots.
    """
    n = len(rows)
    if any(len(r) != n for r in rows) or any(
        rows[i][j] != F.conj(rows[j][i]) for i in range(n) for j in range(i, n)
    ):
        return None
    coeffs = [_real_part(c) for c in char_poly_coefficients(F, rows)]  # highest degree first
    try:
        R = dataclasses.replace(Field.of(coeffs), real=True)
    except NotAlgebraicError:  # coefficients past the largest field: the sum of the σᵢ
        return None
    signs = [R.sign(R.convert(c)) for c in coeffs]
    # A ⪰ 0 ⇔ p(λ) = Σ cₖλⁿ⁻ᵏ has coefficients alternating in sign (zeros allowed at the end)
    if all(s * (-1) ** k >= 0 for k, s in enumerate(signs)):
        return 1
    if all(s >= 0 for s in signs):  # p(−λ) alternates: every λ ≤ 0
        return -1
    return None


#: Above this many singular values the nuclear norm is left as their plain sum: the
#: squared form below takes one product per pair.
_MAX_SIMPLIFIED_SUM = 6


def _only_square_roots(e: sp.Expr) -> bool:
    """Whether ``e`` is rational numbers under square roots only (no cube roots, no RootOf)."""
    return all(
        p.exp.is_Rational and p.exp.q == 2 if p.is_Pow and not p.exp.is_Integer else True
        for p in sp.preorder_traversal(e)
        if isinstance(p, sp.Expr)
    ) and not e.atoms(sp.RootOf, sp.Symbol, sp.Function)


def shortest_sum(sigmas: list[sp.Expr]) -> sp.Expr:
    """``Σσᵢ`` in the shortest of three exact forms.

    The plain sum; the sum of the denested roots (``√(15/2 − 5√5/2)`` is
    ``5/2 − √5/2``, so a positive definite matrix's nuclear norm becomes its trace);
    and ``√(Σσᵢ² + 2Σᵢ<ⱼ √(σᵢ²σⱼ²))``, where the products of conjugate roots are
    rational (for a 2×2 matrix ``‖A‖_*² = ‖A‖_F² + 2|det A|``: ``√34`` for
    ``[[1, 2], [3, 4]]``). Every form is an identity for non-negative ``σᵢ``.
    """
    plain = sp.Add(*sigmas)
    if len(sigmas) < 2 or len(sigmas) > _MAX_SIMPLIFIED_SUM:
        return plain
    if not all(_only_square_roots(s) for s in sigmas):
        return plain
    candidates = [plain]
    try:  # sqrtdenest gives up in several ways on hard cases
        candidates.append(sp.expand(sp.Add(*(sp.sqrtdenest(s) for s in sigmas))))
    except Exception:
        pass
    squares = [sp.expand(s**2) for s in sigmas]
    cross = sp.Add(
        *(
            sqrt_expr(sp.expand(squares[i] * squares[j]))
            for i in range(len(sigmas))
            for j in range(i + 1, len(sigmas))
        )
    )
    total = sp.radsimp(sp.expand(sp.Add(*squares) + 2 * cross))
    candidates.append(sqrt_expr(total))
    return min(candidates, key=sp.count_ops)
