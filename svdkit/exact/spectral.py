"""The spectral theorem, exactly: ``A = QΛQᴴ`` for a real symmetric (complex Hermitian) A.

The method is the one done by hand (notes §4):

1. the characteristic polynomial ``p(λ) = det(λI − A)``, exactly;
2. its factorisation into irreducible factors over the field of its
   coefficients (``λ³ − 91λ² + 54λ = λ(λ² − 91λ + 54)``);
3. the roots of each factor: in closed form for degree 1 and 2 (and for higher
   degrees when SymPy finds real radicals, e.g. ``λ⁴ − 10λ² + 1``). The three
   real roots of an irreducible cubic have no expression in real radicals
   (*casus irreducibilis*); such roots — and any root without a real radical
   form — are given as 50-digit numbers, labelled approximate (``≈``), never as
   an unreadable ``CRootOf``;
4. for each exact eigenvalue λ, the eigenspace ``N(A − λI)`` exactly, over the
   field ``K(λ)`` (e.g. ``QQ<√8065>``), one basis vector per free variable;
   Gram–Schmidt inside the eigenspace when λ is repeated; each vector is
   normalised, ``q = w/‖w‖``;
5. signs: each eigenvector is multiplied by ±1 to have the fewest negative
   entries, ties broken by the numeric engine's sign rule (its first
   largest-magnitude entry positive); for complex A the unit factor is the
   sign rule's (the pivot real and positive);
6. the check ``QΛQᴴ = A``: exact when every eigenvalue is; otherwise every pair
   ``(λ, q)`` is checked on its own, ``‖Aq − λq‖`` relative to the size of its terms
   (:func:`check_pairs`), and the steps print the largest entrywise gap of ``QΛQᴴ``.

The same machinery serves :func:`svdkit.exact.svd` (on ``AᴴA``),
:func:`svdkit.exact.definiteness` and :func:`svdkit.exact.norm`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import mpmath
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from svdkit.errors import ConvergenceError, check_bool
from svdkit.exact._common import prepare, require_hermitian
from svdkit.exact._convert import NotAlgebraicError
from svdkit.exact._field import (
    Field,
    Rows,
    Vec,
    count_negative,
    gram_schmidt,
    inv_sqrt_expr,
    matrices_equal,
    nullspace,
    pivot_index,
    primitive,
    radical_degree,
    rational_bits,
    rows_of,
    sqrt_expr,
    to_matrix,
)
from svdkit.exact._precision import working_precision
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.format import LAMBDA

__all__ = ["Eigh", "Root", "Spectrum", "eigh", "require_factorable"]

#: Digits of the numeric values of roots without a closed form.
DIGITS = 50
#: Closed forms of roots of factors of degree ≥ 3 are kept only up to this many operations.
MAX_ROOT_OPS = 60
#: The largest ``n·[R : QQ]`` for which the characteristic polynomial (degree ``n``) is factored
#: over the field ``R`` of its coefficients: SymPy factors over ``R`` through a polynomial of
#: that degree over ``QQ`` (its norm). On two cores, for ``A + Aᵀ``, ``A`` 3×3 with six square
#: roots (``3·64``), the factorisation alone took minutes, and 17 s for a 2×2 matrix with six
#: roots (``2·32``); the exact SVD of that ``A`` (``3·16``) takes seconds.
MAX_FACTOR_DEGREE = 48
#: Closed forms of roots of factors of degree ≥ 4 are sought only while every rational in the
#: coefficients has at most this many bits: SymPy's radicals factor their radicands (seconds
#: an integer of ~1000 bits, as entries like 1e300 or 1e-300 give), and such a closed form would
#: be unreadable anyway. The roots are then given to 50 digits, as those of irreducible cubics.
MAX_ROOT_BITS = 256
#: The most extra bits of working precision :func:`_numeric_roots` tries before it gives up.
MAX_EXTRA_BITS = 1 << 16


_F = TypeVar("_F", bound=Callable[..., Any])


def precise(fn: _F) -> _F:
    """Run ``fn`` with mpmath at 60 digits (numeric fallbacks round to the working precision).

    The whole call holds the exact engine's lock (:mod:`svdkit.exact._precision`): mpmath's
    precision is process-wide, and SymPy's ``nroots`` and ``evalf`` inside ``fn`` save and
    restore it too, so calls from several threads run one at a time.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with working_precision(DIGITS + 10):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- roots


@dataclass(frozen=True, eq=False)
class Root:
    """One distinct eigenvalue.

    Attributes
    ----------
    value : sympy.Expr
        The exact closed form, or a 50-digit ``Float`` when ``exact`` is False.
    exact : bool
        Whether ``value`` is exact.
    multiplicity : int
        Its multiplicity as a root of the characteristic polynomial (= the
        dimension of its eigenspace, A being Hermitian).
    factor : sympy.Expr
        The irreducible factor of the characteristic polynomial it is a root of.
    approx : mpmath.mpf
        A 50-digit value (for ordering).
    """

    value: sp.Expr
    exact: bool
    multiplicity: int
    factor: sp.Expr
    approx: Any = field(repr=False)

    @property
    def is_zero(self) -> bool:
        return self.exact and self.value == 0


@dataclass(frozen=True, eq=False)
class Spectrum:
    """The characteristic polynomial of a Hermitian matrix and its roots (ascending)."""

    char_poly: sp.Expr
    coefficients: tuple[sp.Expr, ...]  # p(λ) = Σ cₖ λᵏ, highest degree first
    factors: tuple[tuple[sp.Expr, int], ...]
    roots: tuple[Root, ...]
    field: Field  # the field of the coefficients (real)

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.roots)

    @property
    def dps(self) -> int:
        """Decimal digits for the numeric eigenvectors of the numeric roots.

        An eigenvector's error is about ``ε·max|λ|/gap`` (and ``uᵢ = Avᵢ/σᵢ`` divides by
        ``σᵢ``): :data:`DIGITS` + 10 digits, plus those of the ratio of the largest root to
        the smallest non-zero root or gap between roots (e.g. 40 more for entries 1e20 and 1).
        """
        vals = [abs(r.approx) for r in self.roots]
        top = max(vals, default=mpmath.mpf(0))
        small = [v for v in vals if v]
        small += [abs(a - b) for i, a in enumerate(vals) for b in vals[i + 1 :] if a != b]
        extra = 0
        if top and small:
            extra = max(0, int(mpmath.ceil(mpmath.log10(top / min(small)))))
        return DIGITS + 10 + extra

    def values(self) -> tuple[sp.Expr, ...]:
        """Every eigenvalue, repeated by multiplicity, ascending."""
        return tuple(r.value for r in self.roots for _ in range(r.multiplicity))


def char_poly_coefficients(F: Field, rows: Rows) -> list[sp.Expr]:
    """Coefficients of ``det(λI − A)``, highest degree first, as SymPy numbers."""
    n = len(rows)
    dm = DomainMatrix([list(r) for r in rows], (n, n), F.K)
    return [F.to_sympy(c) for c in dm.charpoly()]


def _real_part(e: sp.Expr) -> sp.Expr:
    """The coefficients of a Hermitian matrix's char. poly are real; drop a zero ``0·i``."""
    if e.is_real:
        return e
    return sp.expand(sp.re(sp.expand(e)))


def _quadratic_roots(c: list[sp.Expr]) -> list[sp.Expr]:
    a, b, k = c
    disc = sp.expand(b * b - 4 * a * k)
    root = sqrt_expr(disc)
    return [sp.expand((-b - root) / (2 * a)), sp.expand((-b + root) / (2 * a))]


def _closed_roots(poly: sp.Poly) -> list[sp.Expr] | None:
    """Real closed forms of the roots of an irreducible factor, or None.

    An irreducible cubic with three real roots (a Hermitian matrix's) has none in real
    radicals (*casus irreducibilis*), and a factor with huge rationals
    (:data:`MAX_ROOT_BITS`) is not tried.
    """
    d = poly.degree()
    c = list(poly.all_coeffs())  # already SymPy expressions, whatever the domain
    if d == 1:
        return [sp.expand(-c[1] / c[0])]
    if d == 2:
        return _quadratic_roots(c)
    if d == 3 or max(rational_bits(sp.sympify(x)) for x in c) > MAX_ROOT_BITS:
        return None
    try:
        found = sp.roots(poly.as_expr(), LAMBDA, cubics=True, quartics=True)
    except Exception:  # SymPy's roots fails in several ways on hard polynomials
        return None
    if sum(found.values()) != d:
        return None
    out = []
    for r in found:
        if r.has(sp.I) or r.has(sp.CRootOf) or not r.is_real:
            return None
        try:
            r2 = sp.sqrtdenest(r)
        except Exception:
            r2 = r
        r = r2 if sp.count_ops(r2) <= sp.count_ops(r) else r
        if sp.count_ops(r) > MAX_ROOT_OPS:
            return None
        out.append(r)
    return out


def _numeric_roots(poly: sp.Poly) -> list[sp.Float]:
    """The real roots of an irreducible factor (simple, all real), each to :data:`DIGITS`
    significant digits, ascending.

    The roots of a matrix with entries 1e300 and 1 (or 1e20 and 1e−20) span hundreds of
    orders of magnitude: the factor is first scaled exactly, ``λ = 2ˢμ``, so that the
    product of its roots' magnitudes is about 1, and the roots are found (Durand–Kerner,
    mpmath's ``polyroots``) with as many extra bits as the coefficients' magnitudes span
    (which bounds the roots'): ``polyroots`` stops at an absolute correction below its
    working precision, so the smallest root needs that many more digits to be right to
    :data:`DIGITS` (and not cleaned up to 0).

    The roots are then verified: each is polished by Newton's method on the exact factor
    at twice the extra precision, and kept when the polish moved no root by more than
    ``10^−(DIGITS + 3)`` of itself; otherwise the extra precision is doubled and the roots
    found again. A cluster of k roots at relative spacing δ loses about
    ``(k − 1)·|log₁₀ δ|`` digits (roots ``1 ± 1.4e−20``: 40 right digits of 50 at the
    first precision), which this finds and makes up for.

    Raises
    ------
    ConvergenceError
        No agreement with :data:`MAX_EXTRA_BITS` extra bits (not seen on Hermitian input).
    """
    d = poly.degree()
    with working_precision(DIGITS + 10):
        coeffs = [_mp_real(c) for c in poly.all_coeffs()]
        # |product of the roots| = |c_d / c_0|: its d-th root sets the scale 2^s
        lead, last = abs(coeffs[0]), abs(coeffs[-1])
        s = int(mpmath.floor(mpmath.log(last / lead, 2) / d)) if last else 0
        mags = [abs(c) * mpmath.ldexp(1, -s * k) for k, c in enumerate(coeffs)]
        nonzero = [m for m in mags if m]
        # the coefficients' span bounds that of the roots' magnitudes (in bits)
        span = int(mpmath.ceil(mpmath.log(max(nonzero) / min(nonzero), 2)))
    # polyroots stops at an absolute correction below 10^-dps: the smallest root needs
    # DIGITS more digits than the span, the largest as many more in its arithmetic
    extra = span + 64
    while True:
        roots = _roots_with(poly, s, extra)
        if roots is not None:
            polished = _polish(poly, s, roots, 2 * extra)
            distinct = all(a < b for a, b in itertools.pairwise(polished))
            if distinct and _agree(roots, polished):
                return [sp.Float(r, DIGITS) for r in polished]
        if extra >= MAX_EXTRA_BITS:
            raise ConvergenceError(
                f"the roots of the factor {poly.as_expr()} did not converge with "
                f"{extra} extra bits of precision; use the numeric engine (svdkit)"
            )
        extra *= 2


def _dps_for(extra: int) -> int:
    return DIGITS + 10 + int(extra * 0.30103)


def _roots_with(poly: sp.Poly, s: int, extra: int) -> list | None:
    """The real roots of ``poly`` (scaled by ``2ˢ``) with ``extra`` bits, ascending; None
    when ``polyroots`` does not converge."""
    with working_precision(_dps_for(extra)):
        coeffs = [_mp_real(c) for c in poly.all_coeffs()]
        scaled = [c * mpmath.ldexp(1, -s * k) for k, c in enumerate(coeffs)]
        try:
            vals = mpmath.polyroots(
                scaled, maxsteps=100 + extra // 2, cleanup=False, extraprec=extra
            )
        except mpmath.libmp.NoConvergence:
            return None
        return sorted(mpmath.ldexp(mpmath.re(v), s) for v in vals)


def _polish(poly: sp.Poly, s: int, roots: list, extra: int) -> list:
    """``roots`` after Newton's method on the exact ``poly`` (scaled by ``2ˢ``) at the
    precision of ``extra`` bits: a few steps each, until the step is below that precision."""
    dps = _dps_for(extra)
    with working_precision(dps):
        coeffs = [_mp_real(c) for c in poly.all_coeffs()]
        scaled = [c * mpmath.ldexp(1, -s * k) for k, c in enumerate(coeffs)]
        eps = mpmath.mpf(10) ** (-(dps - 5))
        out = []
        for r in roots:
            mu = mpmath.ldexp(mpmath.mpf(r), -s)
            for _ in range(12):
                val, der = mpmath.polyval(scaled, mu, derivative=True)
                if not der:
                    break
                step = val / der
                mu -= step
                if abs(step) <= eps * abs(mu):
                    break
            out.append(mpmath.ldexp(mu, s))
        return out


def _agree(a: list, b: list) -> bool:
    """Whether two lists of roots agree to :data:`DIGITS` + 3 significant digits, each."""
    with working_precision(DIGITS + 10):
        tol = mpmath.mpf(10) ** (-(DIGITS + 3))
        return all(abs(x - y) <= tol * abs(y) for x, y in zip(a, b, strict=True))


def _mp_real(e: sp.Expr):
    """A real SymPy number at mpmath's working precision (significant digits)."""
    e = sp.sympify(e)
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    return mpmath.mpf(sp.re(sp.N(e, mpmath.mp.dps))._to_mpmath(mpmath.mp.prec))


def _approx(e: sp.Expr):
    with working_precision(DIGITS + 10):
        return mpmath.mpf(sp.re(sp.N(e, DIGITS + 10))._to_mpmath(mpmath.mp.prec))


def spectrum(
    F: Field, rows: Rows, rec: Recorder, prefix: str, extra: dict | None = None
) -> Spectrum:
    """Characteristic polynomial, its factors and its roots, with steps under ``prefix``.

    ``extra`` values (e.g. ``{"T": "ᵀ"}``) are added to every step.
    """
    ex = dict(extra or {})
    coeffs = [_real_part(c) for c in char_poly_coefficients(F, rows)]
    n = len(rows)
    require_factorable(n, radical_degree(coeffs), prefix)  # a bound, before R is built
    R = Field.of(coeffs)
    if R.algebraic:
        require_factorable(n, R.degree, prefix)
    R = dataclasses.replace(R, real=True)  # keeps the elements R already knows
    poly = sp.Poly([R.convert(c) for c in coeffs], LAMBDA, domain=R.K)
    expr = poly.as_expr()
    if rec.on:
        rec.add(
            f"{prefix}.char_poly",
            {"poly": expr, "n": n, **ex},
            formula=sp.Eq(sp.Function("p")(LAMBDA), expr),
        )
    _, facs = poly.factor_list()
    factors = []
    roots: list[Root] = []
    for f, e in facs:
        f = f.monic()
        fx = f.as_expr()
        factors.append((fx, e))
        closed = _closed_roots(f)
        if closed is not None:
            for r in closed:
                roots.append(Root(r, True, e, fx, _approx(r)))
        else:
            for r in _numeric_roots(f):
                roots.append(Root(r, False, e, fx, _approx(r)))
    roots.sort(key=lambda r: r.approx)
    if rec.on:
        product = sp.Mul(
            *(sp.Pow(f, e, evaluate=False) if e > 1 else f for f, e in factors), evaluate=False
        )
        rec.add(
            f"{prefix}.factor",
            {"poly": expr, "factored": product, "count": len(factors), **ex},
            formula=sp.Eq(expr, product, evaluate=False),
        )
        for r in roots:
            if r.exact:
                rec.add(
                    f"{prefix}.root",
                    {"value": r.value, "multiplicity": r.multiplicity, "factor": r.factor, **ex},
                )
            else:
                rec.add(
                    f"{prefix}.root_numeric",
                    {
                        "value": r.value,
                        "multiplicity": r.multiplicity,
                        "factor": r.factor,
                        "degree": sp.degree(r.factor, LAMBDA),
                        **ex,
                    },
                )
    return Spectrum(expr, tuple(coeffs), tuple(factors), tuple(roots), R)


def require_factorable(n: int, degree: int, what: str) -> None:
    """Refuse a characteristic polynomial of degree ``n`` over a field of degree ``degree``
    when ``n·degree`` exceeds :data:`MAX_FACTOR_DEGREE`."""
    if n * degree > MAX_FACTOR_DEGREE:
        raise NotAlgebraicError(
            f"{what}: the characteristic polynomial has degree {n} and coefficients in a number "
            f"field of degree {degree} (at least) over the rationals; factoring it there takes "
            f"minutes, and the exact engine stops at degree × field degree = "
            f"{MAX_FACTOR_DEGREE}. Use the numeric engine (svdkit) for these entries"
        )


# --------------------------------------------------------------------------- vectors


class Vector:
    """A vector known exactly over a field, or numerically (mpmath).

    A numeric vector carries, per component, the ``floor`` below which that component is
    not known (the working precision relative to the terms it was computed from): such
    a component is shown as 0, every other one with :data:`DIGITS` significant digits,
    however small (an eigenvector of ``[[1e50, 1, 1], [1, 1e−50, 1], [1, 1, 1]]`` has a
    component ``3.2e−51`` that ``Aq = λq`` needs).
    """

    __slots__ = ("L", "coords", "floor")

    def __init__(self, L: Field | None, coords: list, floor: list | None = None) -> None:
        self.L = L
        self.coords = coords
        self.floor = floor if floor is not None or L is not None else _floor_of(coords)

    @property
    def exact(self) -> bool:
        return self.L is not None

    def times(self, c: Any) -> Vector:
        floor = None if self.floor is None else [f * abs(c) for f in self.floor]
        return Vector(self.L, [x * c if x else x for x in self.coords], floor)

    def signs(self) -> tuple[int, int]:
        """(negatives, positives) among the entries (real vectors)."""
        if self.L is not None:
            return count_negative(self.L, self.coords)
        pairs = list(zip(self.coords, self.floor, strict=True))
        neg = sum(1 for x, f in pairs if mpmath.re(x) < -f)
        pos = sum(1 for x, f in pairs if mpmath.re(x) > f)
        return neg, pos

    def pivot(self) -> int | None:
        """The first entry of largest magnitude."""
        if self.L is not None:
            return pivot_index(self.L, self.coords)
        mags = [abs(x) for x in self.coords]
        top = max(mags)
        if top == 0:
            return None
        return next(i for i, v in enumerate(mags) if v >= top * (1 - mpmath.mpf(10) ** -30))

    def norm2(self) -> Any:
        if self.L is not None:
            L = self.L
            s = L.zero
            for x in self.coords:
                if x:
                    s += L.abs2(x)
            return s
        return mpmath.fsum(abs(x) ** 2 for x in self.coords)

    def entries(self, factor: sp.Expr | None = None) -> list[sp.Expr]:
        """SymPy entries, each times ``factor`` (exact vectors) — numeric ones as Floats."""
        if self.L is not None:
            f = sp.Integer(1) if factor is None else factor
            return [self.L.to_sympy(x) * f for x in self.coords]
        return [_float(x, f) for x, f in zip(self.coords, self.floor, strict=True)]

    def scaled(self, c: Any) -> list[sp.Expr]:
        """SymPy entries of the numeric vector ``c·v`` (``c`` a positive mpmath number)."""
        return [_float(x * c, f * c) for x, f in zip(self.coords, self.floor, strict=True)]


def _floor_of(xs: list) -> list:
    """The floor of a vector computed by orthogonal transformations at mpmath's precision:
    ``10^−(dps − 5)`` times its largest component, for every component."""
    top = max((abs(x) for x in xs), default=mpmath.mpf(0))
    return [top * mpmath.mpf(10) ** (-(mpmath.mp.dps - 5))] * len(xs)


def _float(x: Any, floor: Any = 0) -> sp.Expr:
    """``x`` (mpmath) as a SymPy Float of :data:`DIGITS` significant digits.

    A real or imaginary part of magnitude at most ``floor`` (below the working precision
    of the computation that gave ``x``) is 0; nothing else is dropped, however small.
    """
    x = mpmath.mpmathify(x)
    if isinstance(x, mpmath.mpc):
        re_, im_ = x.real, x.imag
        out = sp.Float(re_, DIGITS) if abs(re_) > floor else sp.Integer(0)
        if abs(im_) > floor:
            out = out + sp.I * sp.Float(im_, DIGITS)
        return out
    return sp.Float(x, DIGITS) if abs(x) > floor else sp.Integer(0)


def unit_factor(vectors: list[Vector], complex_: bool) -> tuple[Any, str, tuple[int, int, int]]:
    """The ±1 (or unit phase) that the sign rule of the notes puts on vectors that flip together.

    Real: the sign with the fewest negative entries in all of ``vectors``;
    a tie goes to the numeric engine's rule (the first largest-magnitude entry
    of ``vectors[0]`` positive). Complex: that rule alone, the pivot made real
    and positive (the factor returned is ``conj(pivot)``, to be normalised).

    Returns ``(factor, rule, (negatives before, negatives after, negatives with
    the other sign))`` with rule ``"fewest"``, ``"tie"`` or ``"phase"``.
    """
    lead = vectors[0]
    if complex_:
        p = lead.pivot()
        if p is None:
            return 1, "phase", (0, 0, 0)
        piv = lead.coords[p]
        if lead.L is not None:
            c = lead.L.conj(piv)
        else:
            c = mpmath.conj(piv) / abs(piv)
        return c, "phase", (0, 0, 0)
    neg = pos = 0
    for v in vectors:
        a, b = v.signs()
        neg += a
        pos += b
    if pos != neg:
        return (-1 if pos < neg else 1), "fewest", (neg, min(neg, pos), max(neg, pos))
    p = lead.pivot()
    if p is None:
        return 1, "tie", (neg, neg, neg)
    if lead.L is not None:
        s = lead.L.sign(lead.coords[p])
    else:
        s = 1 if mpmath.re(lead.coords[p]) > 0 else -1
    return s, "tie", (neg, neg, neg)


def apply_factor(v: Vector, c: Any) -> Vector:
    if c == 1:
        return v
    if v.L is not None:
        c = c if not isinstance(c, int) else v.L.convert(sp.Integer(c))
        out = v.times(c)
        return Vector(v.L, primitive(v.L, out.coords))
    return v.times(c)


def phase_expr(v: Vector, c: Any) -> sp.Expr:
    """The unit factor ``c/|c|`` that the complex sign rule applies, as a SymPy number.

    A Gaussian rational ``c`` is first scaled to coprime integer parts (a positive factor:
    the same ``c/|c|``): ``2 + 2i`` gives ``√2(1 + i)/2``, not ``√2(2 + 2i)/4``.
    """
    if v.L is not None:
        z = v.L.to_sympy(c)
        re_, im_ = sp.re(z), sp.im(z)
        if re_.is_Rational and im_.is_Rational and (re_ or im_):
            den = sp.ilcm(re_.q, im_.q)
            a, b = int(re_ * den), int(im_ * den)
            g = sp.igcd(a, b)
            a, b = a // g, b // g
            return (sp.Integer(a) + sp.Integer(b) * sp.I) * inv_sqrt_expr(sp.Integer(a * a + b * b))
        return z * inv_sqrt_expr(v.L.to_sympy(v.L.abs2(c)))
    return _float(c / abs(c))


def normaliser(v: Vector) -> tuple[sp.Expr, sp.Expr]:
    """``(‖v‖, 1/‖v‖)`` as SymPy numbers (Floats for numeric vectors)."""
    if v.L is not None:
        n2 = v.L.to_sympy(v.norm2())
        return sqrt_expr(n2), inv_sqrt_expr(n2)
    nrm = mpmath.sqrt(v.norm2())
    return _float(nrm), _float(1 / nrm)


def to_mp(e: sp.Expr):
    """``e`` in mpmath, to DIGITS + 10 digits or mpmath's working precision if higher."""
    dps = max(DIGITS + 10, mpmath.mp.dps)
    with working_precision(dps):
        z = sp.N(e, dps)
        re_, im_ = z.as_real_imag()
        re_ = mpmath.mpf(sp.Float(re_, dps)._to_mpmath(mpmath.mp.prec))
        im_ = mpmath.mpf(sp.Float(im_, dps)._to_mpmath(mpmath.mp.prec))
    return re_ if im_ == 0 else mpmath.mpc(re_, im_)


def numeric_eigen(M: sp.Matrix, real: bool, dps: int = DIGITS + 10):
    """All eigenpairs ``(λ, Vector)`` of a Hermitian matrix (mpmath, ``dps`` digits), ascending.

    Each vector carries its floor at ``dps`` digits (:class:`Vector`).
    """
    with working_precision(dps):
        A = mpmath.matrix([[to_mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])
        E, Q = mpmath.eigsy(A) if real else mpmath.eighe(A)
        pairs = sorted(
            ((E[k], [Q[i, k] for i in range(M.rows)]) for k in range(M.rows)),
            key=lambda t: mpmath.re(t[0]),
        )
        # each vector with its floor at this precision (Vector computes it now)
        return [(lam, Vector(None, q)) for lam, q in pairs]


def eigenvectors(
    F: Field,
    M: sp.Matrix,
    rows: Rows,
    spec: Spectrum,
    rec: Recorder,
    prefix: str,
    extra: dict | None = None,
    name: str = "A",
) -> dict[int, list[Vector]]:
    """Orthogonal eigenvectors (unnormalised) of every root, by its index in ``spec.roots``.

    ``name`` is the matrix's name in the recorded steps (``"AᵀA"`` for the SVD).
    """
    ex = dict(extra or {})
    out: dict[int, list[Vector]] = {}
    numeric = None
    taken: set[int] = set()
    n = len(rows)
    for k, root in enumerate(spec.roots):
        if root.exact:
            L = F.extend(root.value)  # F itself when the root lies in it
            lam = L.convert(root.value)
            shifted = [
                [L.from_field(F, a) - (lam if i == j else L.zero) for j, a in enumerate(row)]
                for i, row in enumerate(rows)
            ]
            basis = [primitive(L, b) for b in nullspace(L, shifted, n)]
            if len(basis) != root.multiplicity:  # pragma: no cover - A is Hermitian
                raise ArithmeticError("eigenspace dimension differs from the multiplicity")
            if rec.on:
                rec.add(
                    f"{prefix}.eigenspace",
                    {"value": root.value, "dimension": len(basis), **ex},
                    matrices={f"{name} − λI": to_matrix(L, shifted), "basis": _cols(L, basis, n)},
                )
            if len(basis) > 1:
                basis = gram_schmidt(L, basis)
                if rec.on:
                    rec.add(
                        f"{prefix}.gram_schmidt",
                        {"value": root.value, "dimension": len(basis), **ex},
                        matrices={"basis": _cols(L, basis, n)},
                    )
            out[k] = [Vector(L, b) for b in basis]
        else:
            if numeric is None:
                numeric = numeric_eigen(M, F.real, spec.dps)
            cand = sorted(
                (i for i in range(len(numeric)) if i not in taken),
                key=lambda i: abs(numeric[i][0] - root.approx),
            )[: root.multiplicity]
            taken.update(cand)
            out[k] = [numeric[i][1] for i in sorted(cand)]
            rec.add(
                f"{prefix}.eigenspace_numeric",
                {"value": root.value, "dimension": root.multiplicity, **ex},
            )
    return out


def _cols(L: Field, vectors: list[Vec], n: int) -> sp.Matrix:
    return sp.Matrix([[L.to_sympy(v[i]) for v in vectors] for i in range(n)])


# --------------------------------------------------------------------------- eigh


@dataclass(frozen=True, eq=False)
class Eigh(ExactResult):
    """Spectral decomposition ``A = QΛQᴴ``; unpacks as ``values, vectors``.

    Attributes
    ----------
    values : tuple of sympy.Expr
        The eigenvalues, ascending, repeated by multiplicity: exact closed forms,
        or 50-digit ``Float``s (printed ``≈``) for roots without one.
    vectors : sympy.Matrix
        ``Q``: orthonormal eigenvectors as columns.
    exact : bool
        Whether every eigenvalue (hence Q) is exact.
    char_poly : sympy.Expr
        ``det(λI − A)`` in the symbol ``λ`` (:data:`svdkit.exact.format.LAMBDA`).
    matrix : sympy.Matrix
        The decomposed matrix.
    """

    values: tuple[sp.Expr, ...]
    vectors: sp.Matrix
    exact: bool
    char_poly: sp.Expr
    matrix: sp.Matrix = field(repr=False)

    _main: ClassVar[str] = "values"
    _unpack: ClassVar[tuple[str, ...]] = ("values", "vectors")

    @property
    def Lambda(self) -> sp.Matrix:
        """``Λ = diag(values)``."""
        return sp.diag(*self.values)

    def reconstruct(self) -> sp.Matrix:
        """``QΛQᴴ``."""
        return self.vectors * self.Lambda * self.vectors.H


def outer_sum(shape: tuple[int, int], parts: list[tuple[Field, list, list, Any]]) -> sp.Matrix:
    """``Σ c·abᴴ`` over ``parts = [(L, a, b, c), …]``, each term computed in its own field.

    Each term is exact in its field (no radical left in a denominator); the
    terms of different fields are then added as SymPy numbers, where the
    conjugate radicals cancel by expansion.
    """
    total = sp.zeros(*shape)
    for L, a, b, c in parts:
        for i in range(shape[0]):
            if not a[i]:
                continue
            ca = c * a[i]
            for j in range(shape[1]):
                if b[j]:
                    total[i, j] += L.to_sympy(ca * L.conj(b[j]))
    return total.applyfunc(sp.expand)


def _check_expr(M: sp.Matrix, parts: list) -> bool:
    """Exact equality of ``M`` and the product recomputed term by term in the fields of the
    eigenvalues (:func:`outer_sum`): ``σᵢ·(1/σᵢ) = 1`` and ``(1/‖w‖)² = 1/‖w‖²`` are the
    only identities this leaves to SymPy."""
    return matrices_equal(outer_sum(M.shape, parts), M)


#: A numeric pair passes :func:`check_pairs` when its relative residual is at most this.
CHECK_TOL_DIGITS = DIGITS - 10


def _mp_rows(M: sp.Matrix) -> list[list]:
    return [[to_mp(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]


def pair_residual(rows: list[list], x: list, s: Any, y: list) -> Any:
    """``‖Ax − sy‖ / (|s|·‖y‖ + ‖|A|·|x|‖)`` for mpmath ``rows`` of A and vectors x, y.

    The denominator is the size of the terms that make ``Ax`` and ``sy``: the pair's own
    scale, not the largest entry of A. Components of :data:`DIGITS` significant digits
    leave a residual of about ``10^−DIGITS`` of it; a component lost (a small entry of x
    set to 0 where a large entry of A multiplies it) leaves one of order 1.
    """
    res = [
        mpmath.fsum(a * b for a, b in zip(r, x, strict=True)) - s * c
        for r, c in zip(rows, y, strict=True)
    ]
    terms = [mpmath.fsum(abs(a) * abs(b) for a, b in zip(r, x, strict=True)) for r in rows]
    num = mpmath.sqrt(mpmath.fsum(abs(t) ** 2 for t in res))
    den = abs(s) * mpmath.sqrt(mpmath.fsum(abs(t) ** 2 for t in y))
    den += mpmath.sqrt(mpmath.fsum(t * t for t in terms))
    return num / den if den else num


def check_pairs(
    M: sp.Matrix, items: list[tuple[list[sp.Expr], sp.Expr, list[sp.Expr]]]
) -> tuple[bool, sp.Expr]:
    """Check ``M x = s y`` for every ``(x, s, y)`` of ``items``, each relative to itself.

    Returns ``(ok, worst)``: ``ok`` when every :func:`pair_residual` is at most
    ``10^−CHECK_TOL_DIGITS``, ``worst`` the largest one (a 5-digit Float).
    """
    with working_precision(max(DIGITS + 10, mpmath.mp.dps)):
        rows = _mp_rows(M)
        worst = mpmath.mpf(0)
        for x, s, y in items:
            r = pair_residual(rows, [to_mp(a) for a in x], to_mp(s), [to_mp(b) for b in y])
            worst = max(worst, r)
        ok = bool(worst <= mpmath.mpf(10) ** (-CHECK_TOL_DIGITS))
    return ok, sp.Float(worst, 5)


def check_eigenpairs(M: sp.Matrix, values: Any, Q: sp.Matrix) -> tuple[bool, sp.Expr]:
    """:func:`check_pairs` of ``A qₖ = λₖ qₖ`` for every column ``qₖ`` of ``Q``."""
    items = []
    for k, lam in enumerate(values):
        q = list(Q[:, k])
        items.append((q, lam, q))
    return check_pairs(M, items)


def reconstruction_gap(M: sp.Matrix, X: sp.Matrix) -> sp.Expr:
    """The largest entrywise gap ``|Xᵢⱼ − Mᵢⱼ|`` (a 5-digit Float), as the steps print it."""
    with working_precision(max(DIGITS + 10, mpmath.mp.dps)):
        gap = max(
            (abs(to_mp(a) - to_mp(b)) for a, b in zip(X, M, strict=True)), default=mpmath.mpf(0)
        )
    return sp.Float(gap, 5)


@precise
def eigh(A: Any, *, steps: bool = False) -> Eigh:
    """Spectral decomposition ``A = QΛQᴴ`` of a real symmetric (complex Hermitian) matrix.

    Parameters
    ----------
    A : matrix-like
        A symmetric (Hermitian) matrix with algebraic entries.
    steps : bool
        Record the characteristic polynomial, its factors and roots, each
        eigenspace, Gram–Schmidt, normalisation, signs and the check QΛQᴴ = A.

    Returns
    -------
    Eigh

    Raises
    ------
    ShapeError, StructureError
        A is not square, or not symmetric (Hermitian).
    NotAlgebraicError
        Entries that are not algebraic numbers (π).

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> from svdkit.exact.format import to_text
    >>> r = ex.eigh([[2, 1], [1, 2]])
    >>> print(r, to_text(r.vectors))
    (1, 3) [[√2/2, √2/2], [−√2/2, √2/2]]
    >>> print(ex.eigh([[17, 22, 27], [22, 29, 36], [27, 36, 45]]))
    (0, 91/2 − √8065/2, 91/2 + √8065/2)
    """
    steps = check_bool(steps, "steps")
    M, F = prepare(A, "eigh", square=True)
    F.require_algebraic("eigh")
    require_hermitian(M, F, "eigh")
    rec = Recorder(steps)
    rows = rows_of(F, M)
    n = M.rows
    T = "ᵀ" if F.real else "ᴴ"
    rec.add("eigh.start", {"n": n, "T": T}, matrices={"A": M})
    spec = spectrum(F, rows, rec, "eigh")
    vecs = eigenvectors(F, M, rows, spec, rec, "eigh")
    columns: list[list[sp.Expr]] = []
    values: list[sp.Expr] = []
    parts: list = []
    index = 0
    for k, root in enumerate(spec.roots):
        for v in vecs[k]:
            index += 1
            c, rule, (before, after, other) = unit_factor([v], not F.real)
            if rec.on:
                if rule != "phase":
                    rec.add(
                        f"eigh.sign_{rule}",
                        {
                            "index": index,
                            "sign": c,
                            "negatives": before,
                            "after": after,
                            "other": other,
                        },
                    )
                elif not isinstance(c, int):
                    rec.add("eigh.sign_phase", {"index": index, "factor": phase_expr(v, c)})
            v = apply_factor(v, c)
            nrm, inv = normaliser(v)
            col = v.entries(inv) if v.exact else _unit(v)
            if rec.on:
                rec.add(
                    "eigh.normalise",
                    {"index": index, "value": root.value, "norm": nrm},
                    matrices={
                        "w": sp.Matrix(v.entries()) if v.exact else sp.Matrix(col),
                        "q": sp.Matrix(col),
                    },
                )
            columns.append(col)
            values.append(root.value)
            if v.exact:
                lam = v.L.convert(root.value)
                parts.append((v.L, v.coords, v.coords, lam / v.norm2()))
    Q = sp.Matrix(n, n, lambda i, j: columns[j][i])
    res = Eigh(tuple(values), Q, spec.exact, spec.char_poly, M)
    if rec.on:
        rec.add("eigh.result", {"n": n, "T": T}, matrices={"Q": Q, "Λ": res.Lambda})
        if spec.exact:
            ok, gap = _check_expr(M, parts), sp.Integer(0)
        else:  # each pair (λ, q) relative to itself, not to the largest entry of A
            ok, worst = check_eigenpairs(M, values, Q)
            gap = reconstruction_gap(M, res.reconstruct())
        if not ok:  # pragma: no cover - a failure here is a bug
            raise ArithmeticError(
                "QΛQᴴ ≠ A in svdkit.exact.eigh"
                + ("" if spec.exact else f" (an eigenpair has relative residual {worst})")
            )
        if spec.exact:
            # (the formula's transpose as the sentence's: ᵀ for a real matrix)
            check = sp.Eq(sp.Symbol(f"QΛQ{T}"), M, evaluate=False)
            rec.add("eigh.check", {"n": n, "T": T}, formula=check)
        else:
            rec.add("eigh.check_numeric", {"gap": gap, "residual": worst, "T": T})
    return Eigh(res.values, Q, spec.exact, spec.char_poly, M, steps=rec.steps())


def _unit(v: Vector) -> list[sp.Expr]:
    with working_precision(max(DIGITS + 10, mpmath.mp.dps)):
        return v.scaled(1 / mpmath.sqrt(v.norm2()))
