"""The exact engine on entries of very different magnitudes (1e300, 1e−300, 1e±20).

Such entries are rationals of ~1000 bits, and their eigenvalues span hundreds of orders of
magnitude: the numeric roots (irreducible cubics) must still converge and be right to their
50 digits (relative), SymPy's radicals must not try to factor the huge integers, and every
result must pass the engine's own check (``steps=True``) and agree with an independent
reference (mpmath at 800 digits).
"""

from __future__ import annotations

import warnings

import mpmath
import pytest
import sympy as sp

import svdkit
import svdkit.exact as ex
from svdkit.errors import SvdkitError
from svdkit.exact import spectral
from svdkit.exact._field import sqrt_expr
from tests.cli_support import run_svdkit

#: Digits of the reference (enough for entries from 1e−300 to 1e300 and their products).
REF_DPS = 800

SVD_CASES = [
    "[[1e20,1,0],[1,1e-20,1],[0,1,3]]",
    "[[1e300,2e300,0],[0,1e300,3],[1,0,1e300]]",
    "[[1e-300,1],[1,2]]",
    "[[1e300,2e300],[1,1e300]]",
    "[[1e-300,2e-300,0],[0,1e-300,3e-300],[1e-300,0,1e-300]]",
    "[[1e300,1,2],[1,1e-300,1],[2,1,1e20]]",
    "[[1e20,1e-20],[1e-20,1]]",
    "[[1e300, 1+2i],[1-2i, 1]]",
]

EIGH_CASES = [
    "[[1e20,1,0],[1,1e-20,1],[0,1,3]]",
    "[[1e-300,1],[1,2]]",
    "[[1e300,1,2],[1,1e-300,1],[2,1,1e20]]",
    "[[1e-300,2e-300,0],[2e-300,1e-300,3e-300],[0,3e-300,1e-300]]",
    "[[1e20,1e-20],[1e-20,1]]",
    "[[1e300, 1+2i],[1-2i, 1]]",
]


def _num(x: sp.Expr):
    """``x`` to REF_DPS digits (evalf with enough digits for the cancellations)."""
    z = sp.N(x, REF_DPS)
    re_, im_ = z.as_real_imag()
    re_, im_ = (mpmath.mpf(str(sp.Float(t, REF_DPS))) for t in (re_, im_))
    return mpmath.mpc(re_, im_)


def _mat(M: sp.Matrix) -> mpmath.matrix:
    return mpmath.matrix([[_num(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])


def _maxabs(X: mpmath.matrix) -> mpmath.mpf:
    return max(abs(X[i, j]) for i in range(X.rows) for j in range(X.cols))


def _assert_orthonormal(Q: sp.Matrix) -> None:
    q = _mat(Q)
    gap = _maxabs(q.H * q - mpmath.eye(q.cols))
    assert gap < mpmath.mpf(10) ** -40, gap


@pytest.mark.parametrize("text", SVD_CASES)
def test_svd_of_wide_magnitudes_is_right(text):
    r = ex.svd(text, steps=True)  # steps: the engine checks UΣVᴴ = A itself
    assert r.steps[-1].key in ("svd.check", "svd.check_numeric")
    with mpmath.workdps(REF_DPS):
        A = _mat(r.matrix)
        scale = _maxabs(A)
        gap = _maxabs(_mat(r.U) * _mat(r.Sigma) * _mat(r.Vh) - A)
        assert gap <= scale * mpmath.mpf(10) ** -40, (gap, scale)
        _assert_orthonormal(r.U)
        _assert_orthonormal(r.Vh.H)
        # every σ, the tiny ones too, to 40 significant digits of an 800-digit reference
        ref = sorted((abs(x) for x in mpmath.svd(A, compute_uv=False)), reverse=True)
        got = [_num(s).real for s in r.s]
        for s, t in zip(got, ref, strict=True):
            assert abs(s - t) <= t * mpmath.mpf(10) ** -40, (s, t)
    # and the numeric engine agrees (to its own, absolute, accuracy)
    num = svdkit.svd([[complex(_num(x)) for x in row] for row in r.matrix.tolist()]).s
    top = float(got[0])
    for s, t in zip(got, num, strict=True):
        assert abs(float(s) - t) <= 1e-12 * top + 1e-10 * t


@pytest.mark.parametrize("text", EIGH_CASES)
def test_eigh_of_wide_magnitudes_is_right(text):
    e = ex.eigh(text, steps=True)  # steps: the engine checks QΛQᴴ = A itself
    assert e.steps[-1].key in ("eigh.check", "eigh.check_numeric")
    with mpmath.workdps(REF_DPS):
        A = _mat(e.matrix)
        scale = _maxabs(A)
        Q = _mat(e.vectors)
        gap = _maxabs(Q * _mat(e.Lambda) * Q.H - A)
        assert gap <= scale * mpmath.mpf(10) ** -40, (gap, scale)
        _assert_orthonormal(e.vectors)
        ref = sorted(mpmath.eighe(A, eigvals_only=True), key=lambda x: mpmath.re(x))
        for v, t in zip((_num(x).real for x in e.values), ref, strict=True):
            t = mpmath.re(t)
            assert abs(v - t) <= abs(t) * mpmath.mpf(10) ** -40, (v, t)


def test_numeric_roots_span_hundreds_of_orders_of_magnitude():
    # roots near 1e−40, 1e40 and 1e600 (AᵀA of the mixed 3×3): none lost, none cleaned to 0
    lam = spectral.LAMBDA
    roots = [sp.Rational(3, 10**40), sp.Integer(7) * 10**40, sp.Integer(10) ** 600 + 1]
    poly = sp.Poly(sp.expand(sp.Mul(*(lam - x for x in roots)) - 1), lam)
    assert len(poly.factor_list()[1]) == 1  # irreducible: no closed form, the numeric path
    got = spectral._numeric_roots(poly)
    with mpmath.workdps(REF_DPS):
        for g, x in zip(got, roots, strict=True):
            assert abs(_num(g) - _num(x)) <= abs(_num(x)) * mpmath.mpf(10) ** -45


def test_numeric_roots_that_do_not_converge_are_a_clear_error(monkeypatch):
    def never(*args, **kwargs):
        raise mpmath.libmp.NoConvergence("no")

    monkeypatch.setattr(spectral.mpmath, "polyroots", never)
    monkeypatch.setattr(spectral, "MAX_EXTRA_BITS", 256)
    with pytest.raises(SvdkitError, match="did not converge"):
        ex.svd("[[1e20,1,0],[1,1e-20,1],[0,1,3]]")


def test_square_root_of_a_huge_rational_is_exact():
    q = sp.Rational(4 * 9 * (2**1200 + 1), 25 * 3**700)
    root = sqrt_expr(q)
    assert sp.expand(root**2) == q
    assert root.as_coeff_Mul()[0] == sp.Rational(6, 5 * 3**350)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("[[1e20,1,0],[1,1e-20,1],[0,1,3]]", "Λ (exact)"),
        ("[[1e300,2e300],[1,1e300]]", "σ (exact)"),
    ],
)
def test_explain_of_wide_magnitudes_keeps_the_exact_parts(capsys, monkeypatch, text, label):
    run = run_svdkit(capsys, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, out, err = run("explain", text)
    assert code == 0, err
    assert "please report" not in out + err
    assert label in out
    assert "σ (exact)" in out
