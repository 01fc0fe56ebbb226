"""The exact engine on *rank-deficient* matrices with entries of very different magnitudes.

A rank-deficient A has rational eigenvalues of AᴴA (``2·10⁶⁰⁰ + 2`` for
``[[1e300, 1], [1e300, 1]]``), so σ is the square root of a ~2000-bit rational, and
``1/σ``, ``1/‖w‖`` and their products must be built without SymPy multiplying the
radicands and factoring the result (it crashed with an ``OverflowError``). Every result
must pass the engine's own exact check (``steps=True``), satisfy its identities at 800
digits and agree with mpmath's SVD at 800 digits.
"""

from __future__ import annotations

import warnings

import mpmath
import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.exact._common import prepare
from svdkit.exact._field import inv_sqrt_expr, sqrt_rational_product
from tests.cli_support import run_svdkit
from tests.test_exact_wide_magnitudes import (
    REF_DPS,
    _assert_orthonormal,
    _mat,
    _maxabs,
    _num,
)

SVD_CASES = [
    # the defect's inputs
    ("[[1e300,1],[1e300,1]]", 1),
    ("[[1e300,2],[3e300,6]]", 1),
    ("[[1e200,1],[1e200,1]]", 1),
    ("[[1e300,1,0],[1e300,1,0],[0,0,1]]", 2),
    # 1e155 … 1e300 and 1e−155 … 1e−300, 2×2 and 3×3
    ("[[1e155,1],[1e155,1]]", 1),
    ("[[1e250,3],[2e250,6]]", 1),
    ("[[1e-155,1],[1e-155,1]]", 1),
    ("[[1e-300,1],[2e-300,2]]", 1),
    ("[[1e-300,1e300],[2e-300,2e300]]", 1),
    ("[[1e-300,1,0],[1e-300,1,0],[0,0,1e300]]", 2),
    ("[[1e155,1,2],[2e155,2,4],[0,1,1e-155]]", 2),
    ("[[1e300,1e-300,1],[2e300,2e-300,2],[3e300,3e-300,3]]", 1),
    # complex
    ("[[1e300, 1+2i],[2e300, 2+4i]]", 1),
    ("[[1e-300i, 1],[2e-300i, 2]]", 1),
    ("[[1e300,1i,0],[2e300,2i,0],[0,0,1e-300]]", 2),
    ("[[1e200i,1,0],[1e200i,1,0],[0,1,1+1e-200i]]", 2),
]

EIGH_CASES = [
    ("[[1e300,1],[1,1e-300]]", 1),
    ("[[1e155,1e155],[1e155,1e155]]", 1),
    ("[[1e-300,1e-300],[1e-300,1e-300]]", 1),
    ("[[1e300, 1e150i],[-1e150i, 1]]", 1),
    ("[[1e300,1,0],[1,1e-300,0],[0,0,1]]", 2),
    ("[[1e200,1e200,0],[1e200,1e200,0],[0,0,1e-200]]", 2),
]


def _frobenius2(M: sp.Matrix) -> sp.Expr:
    return sp.expand(sum(x * sp.conjugate(x) for x in M))


@pytest.mark.parametrize(("text", "rank"), SVD_CASES)
@pytest.mark.parametrize("full", [False, True])
def test_svd_of_rank_deficient_wide_magnitudes_is_right(text, rank, full):
    _check_svd(text, rank, full)


def test_svd_whose_signs_need_numbers_of_more_than_4300_digits():
    # deciding a sign here evaluates numbers with integers of more than 4300 digits: SymPy's
    # PrecisionExhausted then failed to write its message (Python's limit on str(int))
    text = (
        "[[42i,75e-300,32e150],[79e300,12e300,32],"
        "[4*42i+7*79e300,4*75e-300+7*12e300,4*32e150+7*32]]"
    )
    _check_svd(text, 2, True)


def _check_svd(text: str, rank: int, full: bool) -> None:
    r = ex.svd(text, full=full, steps=True)  # steps: the engine checks UΣVᴴ = A exactly
    assert r.steps[-1].key == "svd.check"
    assert r.exact
    assert r.rank == rank
    # Σσᵢ² = ‖A‖²_F, exactly
    assert sp.expand(sum(s**2 for s in r.s)) == _frobenius2(r.matrix)
    with mpmath.workdps(REF_DPS):
        A = _mat(r.matrix)
        scale = _maxabs(A)
        gap = _maxabs(_mat(r.U) * _mat(r.Sigma) * _mat(r.Vh) - A)
        assert gap <= scale * mpmath.mpf(10) ** -40, (gap, scale)
        _assert_orthonormal(r.U)
        _assert_orthonormal(r.Vh.H)
        ref = sorted((abs(x) for x in mpmath.svd(A, compute_uv=False)), reverse=True)
        got = [_num(s).real for s in r.s]
        for k, (s, t) in enumerate(zip(got, ref, strict=True)):
            if k < rank:
                assert abs(s - t) <= t * mpmath.mpf(10) ** -40, (s, t)
            else:  # exactly zero, and the reference's is rounding noise
                assert s == 0 and t <= scale * mpmath.mpf(10) ** -700, (s, t)


@pytest.mark.parametrize(("text", "rank"), EIGH_CASES)
def test_eigh_of_rank_deficient_wide_magnitudes_is_right(text, rank):
    e = ex.eigh(text, steps=True)  # steps: the engine checks QΛQᴴ = A itself
    assert e.steps[-1].key == "eigh.check"
    assert sum(1 for x in e.values if x != 0) == rank
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
            assert abs(v - t) <= max(abs(t) * mpmath.mpf(10) ** -40, scale * mpmath.mpf(10) ** -700)


@pytest.mark.parametrize(("text", "rank"), SVD_CASES[:8] + SVD_CASES[12:])
def test_pinv_and_subspaces_of_rank_deficient_wide_magnitudes(text, rank):
    P = ex.pinv(text)
    S = ex.subspaces(text)
    assert P.rank == S.rank == rank
    with mpmath.workdps(REF_DPS):
        A = _mat(prepare(text, "pinv")[0])
        X = _mat(P.matrix)
        tol = mpmath.mpf(10) ** -40
        # the four Moore–Penrose conditions, relative to the sizes involved
        for got, want in ((A * X * A, A), (X * A * X, X)):
            assert _maxabs(got - want) <= _maxabs(want) * tol
        for H in (A * X, X * A):
            assert _maxabs(H - H.H) <= tol
        for Q in (S.column, S.null, S.row, S.left_null):
            if Q.cols:
                _assert_orthonormal(Q)
        # N(A) ⟂ R(Aᴴ) and A·N(A) = 0
        assert S.null.cols + S.row.cols == A.cols
        if S.null.cols:
            assert _maxabs(A * _mat(S.null)) <= _maxabs(A) * tol


def test_square_roots_of_products_of_huge_rationals_take_out_common_factors():
    k = 10**600 + 1
    # 1/(‖w‖·σ) with ‖w‖² = k, σ² = 2k: SymPy's product factors 2k² (and overflowed)
    got = sqrt_rational_product([sp.Rational(1, k), sp.Rational(1, 2 * k)])
    assert got == sp.sqrt(2) / (2 * k)
    assert sqrt_rational_product([sp.Rational(1, 2), 8]) == 2
    assert sqrt_rational_product([sp.Rational(3, 7)]) == sp.sqrt(sp.Rational(3, 7))
    q = sp.Rational(2 * k, 9)
    root = inv_sqrt_expr(q)
    assert sp.expand(root**2 * q) == 1
    assert root.as_coeff_Mul()[0] == sp.Rational(3, 2 * k)


@pytest.mark.parametrize("text", ["[[1e300,1],[1e300,1]]", "[[1e-300,1e300],[2e-300,2e300]]"])
def test_explain_of_rank_deficient_wide_magnitudes_keeps_the_exact_svd(capsys, monkeypatch, text):
    run = run_svdkit(capsys, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, out, err = run("explain", text)
    assert code == 0, err
    assert "please report" not in out + err
    assert "σ (exact)" in out
    exact_row = next(line for line in out.splitlines() if "σ (exact)" in line)
    assert "√" in exact_row
