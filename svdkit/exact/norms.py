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
50-digit number printed ``≈`` and ``exact`` is False.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from svdkit.errors import SvdkitError, check_bool
from svdkit.exact._common import prepare
from svdkit.exact._field import Field, conj_transpose, is_zero_expr, matmul, rows_of, sqrt_expr
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.spectral import _float, precise, spectrum

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


def _abs(x: sp.Expr) -> sp.Expr:
    if x.is_real:
        return abs(x)
    return sqrt_expr(sp.expand(x * sp.conjugate(x)))


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
        if sp.N(d, 50) > 0:
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


def _vector_norm(v: list[sp.Expr], ord: Any, rec: Recorder) -> Norm:
    mags = [_abs(x) for x in v]
    if ord is None or ord == 2 or ord == "2":
        s = sp.expand(sum(m**2 for m in mags))
        value = sqrt_expr(s)
        rec.add("norm.vector_2", {"sum_squares": s, "value": value})
        return Norm(value, "2", steps=rec.steps())
    if ord == 1 or ord == "1":
        value = sp.Add(*mags)
        rec.add("norm.vector_1", {"terms": tuple(mags), "value": value})
        return Norm(value, "1", steps=rec.steps())
    if ord in ("inf", "∞") or ord == float("inf"):
        value = _maximum(mags)
        rec.add("norm.vector_inf", {"terms": tuple(mags), "value": value})
        return Norm(value, "inf", steps=rec.steps())
    exact_p = isinstance(ord, int | Fraction) or (isinstance(ord, float) and ord.is_integer())
    if exact_p and not isinstance(ord, bool) and ord >= 1:
        p = sp.Rational(Fraction(ord).numerator, Fraction(ord).denominator)
        if p > MAX_EXACT_P or p.q > MAX_EXACT_P:  # |x|^p written out: 10**30 never ends
            raise SvdkitError(
                f"the exact {ord!r}-norm is out of reach: an exact p-norm takes p <= "
                f"{MAX_EXACT_P} with a denominator <= {MAX_EXACT_P} (the terms |xᵢ|^p are "
                "written out); svdkit.norm gives it in floating point"
            )
        value = sp.Add(*(m**p for m in mags)) ** (1 / p)
        rec.add("norm.vector_p", {"p": p, "value": value})
        return Norm(value, "p", steps=rec.steps())
    raise SvdkitError(
        f"unknown vector norm {ord!r}: use 1, 2, inf or an exact p >= 1 (an int or a Fraction)"
    )


@precise
def norm(x: Any, ord: Any = None, *, steps: bool = False) -> Norm:
    """Vector or matrix norm, exactly (see the module's table).

    A 1-D list or array is a vector; anything else is a matrix.

    Parameters
    ----------
    x : vector or matrix-like
    ord : None, 1, 2, inf, "fro", "nuc", "spectral", "nuclear" or p >= 1 (vectors)
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
    key = ord.lower() if isinstance(ord, str) else ord
    if key == float("inf"):
        key = "inf"
    if key not in _MATRIX_ORDS:
        raise SvdkitError(f"unknown matrix norm {ord!r}: use 'fro', 2, 'nuc', 1 or inf")
    which = _MATRIX_ORDS[key]
    M, _ = prepare(x, "norm", field=False)
    m, n = M.shape
    if which == "fro":
        s = sp.expand(sum(_abs(a) ** 2 for a in M))
        value = sqrt_expr(s)
        rec.add("norm.frobenius", {"sum_squares": s, "value": value})
        return Norm(value, "fro", steps=rec.steps())
    if which in ("1", "inf"):
        groups = [M[:, j] for j in range(n)] if which == "1" else [M[i, :] for i in range(m)]
        sums = [sp.Add(*(_abs(a) for a in g)) for g in groups]
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
    value = shortest_sum(sigmas) if all(r.exact for r in roots) else sp.Add(*sigmas)
    rec.add("norm.nuclear", {"sigmas": tuple(sigmas), "value": value})
    return Norm(value, "nuc", all(r.exact for r in roots), steps=rec.steps())


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
