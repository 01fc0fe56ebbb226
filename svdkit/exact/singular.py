"""The singular value decomposition by the method of the course notes, exactly.

For an m×n matrix A (INSA note, §3, Theorems 3.2 and 3.3; notes 000, §2):

1. ``AᵀA`` (``AᴴA`` for complex A), its characteristic polynomial and its roots
   ``λ₁ ≥ λ₂ ≥ … ≥ 0`` (:mod:`svdkit.exact.spectral`);
2. ``σᵢ = √λᵢ``, descending; the rank r is the number of non-zero ``σᵢ``;
3. ``vᵢ``: orthonormal eigenvectors of ``AᵀA`` (Gram–Schmidt inside an
   eigenspace when ``λᵢ`` is repeated), ``uᵢ = Avᵢ/σᵢ`` for ``i ≤ r``;
4. the rest of V from an orthonormal basis of N(A), the rest of U from one of
   N(Aᵀ) (N(Aᴴ)): all of them for the full SVD, up to ``p = min(m, n)`` for the
   thin one;
5. the signs, as the notes choose them: each pair ``(uᵢ, vᵢ)`` may be
   multiplied by −1 (``σᵢuᵢvᵢᵀ`` does not change), and so may each completion
   vector on its own; the choice made is the one with the fewest negative
   entries in U and V, a tie going to the numeric engine's sign rule (the
   first largest-magnitude entry of ``uᵢ`` positive, ``docs/conventions.md``).
   For complex A the unit factor is the sign rule's (that entry made real and
   positive);
6. the check ``UΣVᵀ = A``, exact when every ``σᵢ`` is (a singular value whose
   square has no closed form is given to 50 digits, labelled ``≈``, and the
   check is then numeric: ``Avⱼ = σⱼuⱼ`` and ``Aᴴuᵢ = σᵢvᵢ``, each triplet
   relative to the size of its own terms, not to the largest entry of A).

This reproduces both worked examples of the INSA note to the letter:
``[[3, 0], [0, −2]] = I · diag(3, 2) · [[1, 0], [0, −1]]`` and
``[[0, 3], [−2, 0], [0, 0]] = I₃ · [[3, 0], [0, 2], [0, 0]] · [[0, 1], [−1, 0]]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import mpmath
import sympy as sp

from svdkit.errors import check_bool
from svdkit.exact._common import prepare
from svdkit.exact._field import (
    Field,
    conj_transpose,
    gram_schmidt,
    matmul,
    matvec,
    nullspace,
    primitive,
    rows_of,
    sqrt_expr,
    sqrt_rational_product,
    to_matrix,
)
from svdkit.exact._precision import working_precision
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.spectral import (
    DIGITS,
    Spectrum,
    Vector,
    _check_expr,
    apply_factor,
    check_pairs,
    eigenvectors,
    normaliser,
    phase_expr,
    precise,
    reconstruction_gap,
    spectrum,
    to_mp,
    unit_factor,
)

__all__ = ["SVD", "svd"]

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _label(name: str, i: int) -> str:
    return f"{name}{str(i).translate(_SUB)}"


@dataclass(frozen=True, eq=False)
class SVD(ExactResult):
    """``A = U Σ Vᴴ`` exactly; unpacks as ``U, s, Vh`` (as :func:`svdkit.svd`).

    Attributes
    ----------
    U : sympy.Matrix, shape (m, p) or (m, m)
        Left singular vectors (orthonormal columns).
    s : tuple of sympy.Expr
        The ``p = min(m, n)`` singular values, descending (exact, or ``Float``
        printed ``≈`` when ``exact`` is False).
    Vh : sympy.Matrix, shape (p, n) or (n, n)
        ``Vᴴ`` (``Vᵀ`` for real A): right singular vectors as rows.
    exact : bool
        Whether every singular value (hence U and V) is exact.
    rank : int
        The number of non-zero singular values (always exact).
    full : bool
        Whether U and V are square (the notes' ``A = UΣV*``).
    matrix : sympy.Matrix
        The decomposed matrix.
    """

    U: sp.Matrix
    s: tuple[sp.Expr, ...]
    Vh: sp.Matrix
    exact: bool
    rank: int
    full: bool
    matrix: sp.Matrix = field(repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("U", "s", "Vh")

    def __str__(self) -> str:
        from svdkit.exact.format import to_text

        return f"U = {to_text(self.U)}\nΣ = {to_text(self.Sigma)}\nVᴴ = {to_text(self.Vh)}"

    @property
    def V(self) -> sp.Matrix:
        """Right singular vectors as columns, ``Vh.H``."""
        return self.Vh.H

    @property
    def Sigma(self) -> sp.Matrix:
        """Σ of shape ``(U.cols, Vh.rows)`` (m×n for the full SVD)."""
        S = sp.zeros(self.U.cols, self.Vh.rows)
        for i, x in enumerate(self.s):
            S[i, i] = x
        return S

    def reconstruct(self) -> sp.Matrix:
        """``U Σ Vᴴ``."""
        return self.U * self.Sigma * self.Vh


def _mp_matvec(M: sp.Matrix, w: Vector) -> Vector:
    """``Mw`` at mpmath's precision, each component with its floor: the working precision
    relative to the terms ``|Mᵢⱼ||wⱼ|`` that made it, plus what w's own floors carry."""
    rows = [[to_mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]
    eps = mpmath.mpf(10) ** (-(mpmath.mp.dps - 5))
    coords, floor = [], []
    for r in rows:
        coords.append(mpmath.fsum(a * b for a, b in zip(r, w.coords, strict=True)))
        terms = mpmath.fsum(abs(a) * abs(b) for a, b in zip(r, w.coords, strict=True))
        carried = mpmath.fsum(abs(a) * f for a, f in zip(r, w.floor, strict=True))
        floor.append(eps * terms + carried)
    return Vector(None, coords, floor)


class _Builder:
    """Collects the columns of U and V with their derivation."""

    def __init__(self, M: sp.Matrix, F: Field, rec: Recorder) -> None:
        self.M, self.F, self.rec = M, F, rec
        self.rows = rows_of(F, M)
        self.complex = not F.real
        self.u_cols: list[list[sp.Expr]] = []
        self.parts: list = []  # (L, Aw, w, 1/‖w‖²): σuvᴴ = Aw wᴴ/‖w‖², exactly in L
        self.v_cols: list[list[sp.Expr]] = []
        self._in: dict[Any, list] = {}

    def _rows_in(self, L: Field) -> list:
        key = id(L.K)
        if key not in self._in:
            self._in[key] = [[L.from_field(self.F, a) for a in r] for r in self.rows]
        return self._in[key]

    def image(self, w: Vector) -> Vector:
        """``A w`` in the same field (or numerically)."""
        if w.exact:
            return Vector(w.L, matvec(w.L, self._rows_in(w.L), w.coords))
        return _mp_matvec(self.M, w)

    def sign_step(
        self,
        target: str,
        rule: str,
        c: Any,
        counts: tuple[int, int, int],
        w: Vector,
        own: bool = False,
    ) -> None:
        """Record the sign (or phase) chosen for a pair (uᵢ, vᵢ), or for a lone completion
        vector (``own``: a column of N(A) or N(Aᴴ) with no partner, signed on its own)."""
        if not self.rec.on:
            return
        if rule == "phase":
            if not isinstance(c, int):
                self.rec.add("svd.sign_phase", {"target": target, "factor": phase_expr(w, c)})
            return
        self.rec.add(
            f"svd.sign_{rule}{'_own' if own else ''}",
            {
                "target": target,
                "sign": c,
                "negatives": counts[0],
                "after": counts[1],
                "other": counts[2],
            },
        )

    def pair(self, i: int, lam: sp.Expr, sigma: sp.Expr, w: Vector) -> None:
        """The pair (uᵢ, vᵢ) from an eigenvector w of AᴴA with eigenvalue λ = σ²."""
        u = self.image(w)
        c, rule, counts = unit_factor([u, w], self.complex)
        w = apply_factor(w, c)
        u = self.image(w)
        self.sign_step(f"({_label('u', i)}, {_label('v', i)})", rule, c, counts, w)
        nrm, inv = normaliser(w)
        if w.exact:
            self.parts.append((w.L, u.coords, w.coords, w.L.one / w.norm2()))
            v = w.entries(inv)
            uu = u.entries(_inverse_scale(w, lam, inv, sigma))
            av = u.entries(inv) if self.rec.on else []
        else:
            with working_precision(max(DIGITS + 10, mpmath.mp.dps)):
                n_mp = mpmath.sqrt(w.norm2())
                s_mp = to_mp(sigma)
                v = w.scaled(1 / n_mp)
                uu = u.scaled(1 / (n_mp * s_mp))
                av = u.scaled(1 / n_mp)
        self.v_cols.append(v)
        self.u_cols.append(uu)
        if self.rec.on:
            self.rec.add(
                "svd.v",
                {"index": i, "value": lam, "norm": nrm},
                matrices={"w": sp.Matrix(w.entries()), _label("v", i): sp.Matrix(v)},
            )
            self.rec.add(
                "svd.u",
                {"index": i, "sigma": sigma},
                formula=sp.Eq(
                    sp.Symbol(_label("u", i)), sp.Symbol(f"A{_label('v', i)}/{_label('σ', i)}")
                ),
                matrices={
                    f"A{_label('v', i)}": sp.Matrix(av),
                    _label("u", i): sp.Matrix(uu),
                },
            )

    def completion(
        self, basis: list[list], name: str, first: int, key: str, extra: dict
    ) -> list[list]:
        """Orthonormal, signed columns from a basis of N(A) or N(Aᴴ)."""
        F = self.F
        cols = []
        for k, b in enumerate(gram_schmidt(F, [primitive(F, b) for b in basis])):
            idx = first + k
            w = Vector(F, b)
            c, rule, counts = unit_factor([w], self.complex)
            self.sign_step(_label(name, idx), rule, c, counts, w, own=True)
            w = apply_factor(w, c)
            nrm, inv = normaliser(w)
            col = w.entries(inv)
            cols.append(col)
            self.rec.add(
                key,
                {"index": idx, "norm": nrm, **extra},
                matrices={"w": sp.Matrix(w.entries()), _label(name, idx): sp.Matrix(col)},
            )
        return cols


@precise
def svd(A: Any, *, full: bool = False, steps: bool = False) -> SVD:
    """Singular value decomposition ``A = UΣVᴴ`` by the method of the notes, exactly.

    Parameters
    ----------
    A : matrix-like
        Any m×n matrix with algebraic entries (integers, fractions, ``i``,
        square roots).
    full : bool, default False
        Square U (m×m) and V (n×n), as in the notes' ``A = UΣV*``; otherwise the
        thin SVD (``p = min(m, n)`` columns), as :func:`svdkit.svd`.
    steps : bool
        Record ``AᵀA``, its characteristic polynomial and roots, each ``σᵢ``,
        ``vᵢ`` and ``uᵢ``, the completions from N(A) and N(Aᵀ), the sign
        choices (fewest negative entries) and the check ``UΣVᵀ = A``.

    Returns
    -------
    SVD

    Raises
    ------
    NotAlgebraicError
        Entries that are not algebraic numbers (π).

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> r = ex.svd([[0, 3], [-2, 0], [0, 0]], full=True)
    >>> print(r)
    U = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    Σ = [[3, 0], [0, 2], [0, 0]]
    Vᴴ = [[0, 1], [−1, 0]]
    >>> from svdkit.exact.format import to_text
    >>> print(to_text(ex.svd([[1, 1], [1, 1]]).s), to_text(ex.svd([[1, 2, 3], [4, 5, 6]]).s))
    (2, 0) (√(91/2 + √8065/2), √(91/2 − √8065/2))
    """
    full = check_bool(full, "full")
    steps = check_bool(steps, "steps")
    M, F = prepare(A, "svd")
    F.require_algebraic("svd")
    m, n = M.shape
    p = min(m, n)
    rec = Recorder(steps)
    b = _Builder(M, F, rec)
    AH = conj_transpose(F, b.rows, n)
    G = matmul(F, AH, b.rows, m, n)
    T = "ᵀ" if F.real else "ᴴ"
    ex = {"T": T}
    gram = f"A{T}A"
    Gm = to_matrix(F, G)
    rec.add("svd.gram", {"m": m, "n": n, **ex}, matrices={"A": M, gram: Gm})
    spec = spectrum(F, G, rec, "svd", ex)
    nonzero = [k for k, r in enumerate(spec.roots) if not r.is_zero][::-1]
    r = sum(spec.roots[k].multiplicity for k in nonzero)
    rec.add("svd.rank", {"rank": r, "p": p})
    sub = Spectrum(
        spec.char_poly,
        spec.coefficients,
        spec.factors,
        tuple(spec.roots[k] for k in nonzero),
        spec.field,
    )
    vecs = eigenvectors(F, Gm, G, sub, rec, "svd", ex, name=gram)
    sigmas: list[sp.Expr] = []
    i = 0
    # uᵢ = Avᵢ/σᵢ of a numeric vᵢ loses the digits of ‖A‖/σᵢ: computed with spec.dps digits
    with working_precision(DIGITS + 10 if spec.exact else spec.dps):
        for j, k in enumerate(nonzero):
            root = spec.roots[k]
            sigma = (
                sqrt_expr(root.value)
                if root.exact
                else sp.Float(mpmath.sqrt(root.approx), DIGITS)  # no cut-off: σ may be 1e-300
            )
            rec.add(
                "svd.sigma",
                {
                    "index": i + 1,
                    "value": root.value,
                    "sigma": sigma,
                    "multiplicity": root.multiplicity,
                },
            )
            for w in vecs[j]:
                i += 1
                sigmas.append(sigma)
                b.pair(i, root.value, sigma, w)
    kv = (n - r) if full else (p - r)
    ku = (m - r) if full else (p - r)
    if kv > 0:
        basis = nullspace(F, b.rows, n)
        rec.add(
            "svd.null_v", {"dimension": n - r, "used": kv}, matrices={"N(A)": _columns(F, basis, n)}
        )
        b.v_cols += b.completion(basis[:kv], "v", r + 1, "svd.v_null", {})
    if ku > 0:
        basis = nullspace(F, AH, m)
        rec.add(
            "svd.complete_u",
            {"dimension": m - r, "used": ku, **ex},
            matrices={f"N(A{T})": _columns(F, basis, m)},
        )
        b.u_cols += b.completion(basis[:ku], "u", r + 1, "svd.u_null", ex)
    s = tuple(sigmas) + (sp.Integer(0),) * (p - r)
    U = _matrix(b.u_cols, m)
    V = _matrix(b.v_cols, n)
    res = SVD(U, s, V.H, spec.exact, r, bool(full), M)
    if rec.on:
        rec.add("svd.result", {"rank": r, **ex}, matrices={"U": U, "Σ": res.Sigma, f"V{T}": res.Vh})
        if spec.exact:
            ok, gap = _check_expr(M, b.parts), sp.Integer(0)
        else:  # each triplet (σ, u, v) relative to itself, not to the largest entry of A
            ok, worst = _check_triplets(M, res)
            gap = reconstruction_gap(M, res.reconstruct())
        if not ok:  # pragma: no cover - a failure here is a bug
            raise ArithmeticError(
                "UΣVᴴ ≠ A in svdkit.exact.svd"
                + ("" if spec.exact else f" (a singular triplet has relative residual {worst})")
            )
        if spec.exact:
            rec.add(
                "svd.check",
                {"rank": r, **ex},
                formula=sp.Eq(sp.Symbol(f"UΣV{T}"), M, evaluate=False),
            )
        else:
            rec.add("svd.check_numeric", {"gap": gap, "residual": worst, **ex})
    return SVD(U, s, V.H, spec.exact, r, bool(full), M, steps=rec.steps())


def _check_triplets(M: sp.Matrix, res: SVD) -> tuple[bool, sp.Expr]:
    """:func:`~svdkit.exact.spectral.check_pairs` of ``Avⱼ = σⱼuⱼ`` for every column of V
    and ``Aᴴuᵢ = σᵢvᵢ`` for every column of U (σ = 0 past the p singular values)."""
    U, V = res.U, res.V
    items = []
    for j in range(V.cols):
        s = res.s[j] if j < len(res.s) and j < U.cols else sp.Integer(0)
        y = list(U[:, j]) if j < U.cols else [sp.Integer(0)] * U.rows
        items.append((list(V[:, j]), s, y))
    ok, worst = check_pairs(M, items)
    items = []
    for i in range(U.cols):
        s = res.s[i] if i < len(res.s) and i < V.cols else sp.Integer(0)
        y = list(V[:, i]) if i < V.cols else [sp.Integer(0)] * V.rows
        items.append((list(U[:, i]), s, y))
    ok_h, worst_h = check_pairs(M.H, items)
    return ok and ok_h, max(worst, worst_h)


def _inverse_scale(w: Vector, lam: sp.Expr, inv: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    """``1/(‖w‖·σ)``, the factor of ``uᵢ = Awᵢ/(‖wᵢ‖·σᵢ)``.

    When ``‖w‖²`` and ``λ = σ²`` are rationals it is ``√(1/(‖w‖²·λ))`` built at once by
    :func:`sqrt_rational_product`: SymPy's ``(1/‖w‖)·(1/σ)`` multiplies the two radicands
    first, ``2·(10⁶⁰⁰ + 1)²`` for ``[[1e300, 1], [1e300, 1]]``, and factors that product.
    """
    n2 = w.L.to_sympy(w.norm2())
    if n2.is_Rational and lam.is_Rational:
        return sqrt_rational_product([1 / n2, 1 / lam])
    return inv * sp.Pow(sigma, -1)


def _columns(F: Field, vectors: list[list], n: int) -> sp.Matrix:
    if not vectors:
        return sp.zeros(n, 0)
    return sp.Matrix([[F.to_sympy(v[i]) for v in vectors] for i in range(n)])


def _matrix(cols: list[list[sp.Expr]], n: int) -> sp.Matrix:
    if not cols:
        return sp.zeros(n, 0)
    return sp.Matrix(n, len(cols), lambda i, j: cols[j][i])
