"""The exact engine's numeric branch keeps the small components of its vectors.

Eigen- and singular vectors of matrices with entries of very different magnitudes have
components far below 1e−45 that still matter (``Aq = λq`` needs them), the numeric roots
are right to their 50 digits even when clustered, and the engine's own check (``steps=True``)
is made per eigenpair / singular triplet, relative to that pair, so that a wrong small
eigenpair is caught. Every result is substituted back at high precision (mpmath).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import svdkit.exact as ex
from svdkit.exact import spectral

#: Digits of the substitution (entries from 1e−300 to 1e300 and their products).
REF_DPS = 1400
#: A pair (λ, q) is right when ‖Aq − λq‖ ≤ TOL·(|λ|‖q‖ + ‖|A||q|‖): 50-digit components
#: leave at most ~1e−50 of the terms' own size.
TOL = mpmath.mpf(10) ** -45

REVIEW_EIGH = [
    "[[1e50,1,1],[1,1e-50,1],[1,1,1]]",
    "[[1e300,2,0],[2,1,1],[0,1,1e-300]]",
    "[[1, 1e-20, 0],[1e-20, 1, 1e-20],[0, 1e-20, 1+1e-30]]",
]


def _mp(M: sp.Matrix) -> mpmath.matrix:
    return mpmath.matrix([[_num(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])


def _num(e: sp.Expr):
    re_, im_ = sp.N(e, REF_DPS).as_real_imag()
    re_ = mpmath.mpf(sp.Float(re_, REF_DPS)._to_mpmath(mpmath.mp.prec))
    im_ = mpmath.mpf(sp.Float(im_, REF_DPS)._to_mpmath(mpmath.mp.prec))
    return re_ if im_ == 0 else mpmath.mpc(re_, im_)


def _relative_residual(A: mpmath.matrix, x: list, s, y: list):
    """``‖Ax − sy‖ / (|s|‖y‖ + ‖|A||x|‖)``, at REF_DPS digits."""
    n = len(x)
    r = [mpmath.fsum(A[i, j] * x[j] for j in range(n)) - s * y[i] for i in range(A.rows)]
    terms = [mpmath.fsum(abs(A[i, j]) * abs(x[j]) for j in range(n)) for i in range(A.rows)]
    num = mpmath.sqrt(mpmath.fsum(abs(t) ** 2 for t in r))
    den = abs(s) * mpmath.sqrt(mpmath.fsum(abs(t) ** 2 for t in y))
    den += mpmath.sqrt(mpmath.fsum(t**2 for t in terms))
    return num / den if den else num


def _eigh_residuals(text: str, r) -> list:
    with mpmath.workdps(REF_DPS):
        A = _mp(ex.as_exact(text))
        out = []
        for k, lam in enumerate(r.values):
            q = [_num(x) for x in r.vectors[:, k]]
            out.append(_relative_residual(A, q, _num(lam), q))
        return out


def _reference_eigenvalues(text: str) -> list:
    with mpmath.workdps(REF_DPS):
        A = _mp(ex.as_exact(text))
        real = all(mpmath.im(A[i, j]) == 0 for i in range(A.rows) for j in range(A.cols))
        if real:
            A = mpmath.matrix([[mpmath.re(A[i, j]) for j in range(A.cols)] for i in range(A.rows)])
        E = mpmath.eigsy(A, eigvals_only=True) if real else mpmath.eighe(A, eigvals_only=True)
        return sorted(mpmath.re(E[i]) for i in range(A.rows))


def _check_eigh(text: str) -> None:
    r = ex.eigh(text, steps=True)  # the engine's own check passes
    for k, res in enumerate(_eigh_residuals(text, r)):
        assert res <= TOL, (text, k, mpmath.nstr(res, 5))
    with mpmath.workdps(REF_DPS):
        ref = _reference_eigenvalues(text)
        noise = mpmath.mpf(10) ** -(REF_DPS - 200) * max(abs(x) for x in ref)  # of λ = 0
        for lam, true in zip(r.values, ref, strict=True):
            err = abs(_num(lam) - true)
            assert err <= mpmath.mpf(10) ** -48 * abs(true) + noise, (text, mpmath.nstr(err, 5))


def _check_svd(text: str) -> None:
    r = ex.svd(text, steps=True)
    with mpmath.workdps(REF_DPS):
        A = _mp(ex.as_exact(text))
        AH = A.H
        V = r.V
        for i, s in enumerate(r.s):
            if s == 0:
                continue
            u = [_num(x) for x in r.U[:, i]]
            v = [_num(x) for x in V[:, i]]
            sig = _num(s)
            for res in (_relative_residual(A, v, sig, u), _relative_residual(AH, u, sig, v)):
                assert res <= TOL, (text, i, mpmath.nstr(res, 5))


@pytest.mark.parametrize("text", REVIEW_EIGH)
def test_review_matrices_eigenpairs_hold_pair_by_pair(text):
    _check_eigh(text)


def test_tiny_components_are_kept_to_their_digits():
    text = "[[1e50,1,1],[1,1e-50,1],[1,1,1]]"
    r = ex.eigh(text)
    assert not r.exact
    q = r.vectors[:, 0]  # λ ≈ −0.618: q ≈ (3.249e−51, −0.8507, 0.5257) up to sign
    with mpmath.workdps(REF_DPS):
        A = _mp(ex.as_exact(text))
        E, Q = mpmath.eigsy(
            mpmath.matrix([[mpmath.re(A[i, j]) for j in range(3)] for i in range(3)])
        )
        i = min(range(3), key=lambda i: E[i])
        true = [Q[j, i] for j in range(3)]
        sign = 1 if true[1] * _num(q[1]) > 0 else -1
        for j in range(3):
            got = _num(q[j])
            assert abs(got - sign * true[j]) <= mpmath.mpf(10) ** -48 * abs(true[j])


def test_reconstruction_keeps_the_entry_of_size_two():
    text = "[[1e300,2,0],[2,1,1],[0,1,1e-300]]"
    r = ex.eigh(text)
    X = r.reconstruct()
    with mpmath.workdps(REF_DPS):
        assert abs(_num(X[1, 0]) - 2) <= mpmath.mpf(10) ** -45
        assert abs(_num(X[1, 1]) - 1) <= mpmath.mpf(10) ** -45
        # the eigenvector of λ ≈ 1e300 has q[1] ≈ 2e−300, not 0
        top = [_num(x) for x in r.vectors[:, 2]]
        assert abs(abs(top[1]) - mpmath.mpf(2) * mpmath.mpf(10) ** -300) <= mpmath.mpf(10) ** -345
    steps = ex.eigh(text, steps=True).steps
    assert steps[-1].key == "eigh.check_numeric"


@pytest.mark.parametrize(
    "text",
    [
        "[[1e300,2,0],[2,1,1],[0,1,1e-300]]",
        "[[1e50,1,1],[1,1e-50,1],[1,1,1]]",
        "[[1e20,1,0],[1,1e-20,1],[0,1,3]]",
    ],
)
def test_svd_triplets_hold_one_by_one(text):
    _check_svd(text)


def test_the_check_rejects_a_wrong_small_eigenpair():
    # the Q that the 1e−45 cut-off gave: its first two columns lost their 3e−51 entries
    M = ex.as_exact("[[1e50,1,1],[1,1e-50,1],[1,1,1]]")
    good = ex.eigh(M)
    Q = good.vectors.copy()
    Q[0, 0] = 0
    Q[0, 1] = 0
    ok, _ = spectral.check_eigenpairs(M, good.values, Q)
    assert not ok
    ok, _ = spectral.check_eigenpairs(M, good.values, good.vectors)
    assert ok


def test_clustered_roots_have_their_fifty_digits():
    # roots 1 − 1.4e−20, 1, 1 + 1.4e−20: a cluster, where Durand–Kerner loses ~20 digits
    _check_eigh("[[1, 1e-20, 0],[1e-20, 1, 1e-20],[0, 1e-20, 1+1e-30]]")
    x = sp.Symbol("x")
    poly = sp.Poly(
        sp.expand((x - 1) ** 3 - sp.Rational(1, 10**40) * (x - 1) - sp.Rational(1, 10**70)), x
    )
    roots = spectral._numeric_roots(poly)
    with mpmath.workdps(400):
        c = [mpmath.mpf(int(a.p)) / int(a.q) for a in poly.all_coeffs()]
        for r in roots:
            # a sign change of p within 1e−50·|r| of r: a root is there
            lo = mpmath.mpf(sp.Float(r, 60)._to_mpmath(mpmath.mp.prec)) * (
                1 - mpmath.mpf(10) ** -50
            )
            hi = mpmath.mpf(sp.Float(r, 60)._to_mpmath(mpmath.mp.prec)) * (
                1 + mpmath.mpf(10) ** -50
            )
            assert mpmath.polyval(c, lo) * mpmath.polyval(c, hi) <= 0, r


_MANTISSA = st.integers(-9, 9)
_EXPONENT = st.integers(-60, 60)


@st.composite
def _wide_symmetric(draw) -> str:
    n = 3
    cells = {}
    for i in range(n):
        for j in range(i, n):
            m = draw(_MANTISSA)
            cells[i, j] = cells[j, i] = f"{m}e{draw(_EXPONENT)}" if m else "0"
    return (
        "[" + ",".join("[" + ",".join(cells[i, j] for j in range(n)) + "]" for i in range(n)) + "]"
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_wide_symmetric())
@example("[[1e50,1,1],[1,1e-50,1],[1,1,1]]")
@example("[[3e40,1,-2],[1,5e-40,7],[-2,7,1]]")
def test_wide_magnitude_eigenpairs_hold_pair_by_pair(text):
    _check_eigh(text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_wide_symmetric())
@example("[[1e50,1,1],[1,1e-50,1],[1,1,1]]")
def test_wide_magnitude_svd_triplets_hold_one_by_one(text):
    _check_svd(text)
