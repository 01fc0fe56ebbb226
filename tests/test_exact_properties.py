"""Properties of svdkit.exact on random small integer matrices (hypothesis).

Random integer matrices up to 4×4 with entries −5..5: every identity that the
exact engine promises holds *exactly* (SymPy equality), and its answers agree
with SymPy's own and with the numeric engine's.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import svdkit
import svdkit.exact as ex

_T = sp.Symbol("t")

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def int_matrices(draw, square: bool = False, symmetric: bool = False):
    m = draw(st.integers(1, 4))
    n = m if square or symmetric else draw(st.integers(1, 4))
    entries = draw(st.lists(st.integers(-5, 5), min_size=m * n, max_size=m * n))
    A = sp.Matrix(m, n, entries)
    if symmetric:
        A = A + A.T
    return A


def is_zero(e) -> bool:
    """Exact: expand, rationalise denominators, then the minimal polynomial (``t`` for zero)."""
    e = sp.expand(e)
    if e == 0:
        return True
    if abs(sp.N(e, 30)) > 1e-20:
        return False
    return sp.expand(sp.radsimp(e)) == 0 or sp.minimal_polynomial(e, _T) == _T


def exact_equal(X, Y) -> bool:
    return X.shape == Y.shape and all(is_zero(a - b) for a, b in zip(X, Y, strict=True))


def assert_four_subspaces(M, S, equal=exact_equal) -> None:
    """The four subspaces ``S`` of ``M``: dimensions from the rank, orthonormal bases
    (ᴴ: complex entries too), ``M N = 0``, ``Mᴴ L = 0``, column ⟂ left null, row ⟂ null."""
    m, n = M.shape
    r = M.rank()
    assert S.dimensions == {"column": r, "null": n - r, "row": r, "left_null": m - r}
    for Q in (S.column, S.null, S.row, S.left_null):
        if Q.cols:
            assert equal(Q.H * Q, sp.eye(Q.cols))
    if S.null.cols:
        assert equal(M * S.null, sp.zeros(m, S.null.cols))
    if S.left_null.cols:
        assert equal(M.H * S.left_null, sp.zeros(n, S.left_null.cols))
    if S.column.cols and S.left_null.cols:
        assert equal(S.column.H * S.left_null, sp.zeros(r, m - r))
    if S.row.cols and S.null.cols:
        assert equal(S.row.H * S.null, sp.zeros(r, n - r))


def gap(X, Y) -> float:
    return max(float(abs(sp.N(a - b, 50))) for a, b in zip(X, Y, strict=True))


@SETTINGS
@given(int_matrices(square=True))
def test_det_leibniz_bareiss_flint_sympy_agree(A):
    d = A.det()
    assert ex.det(A).value == d
    assert ex.det(A, "bareiss").value == d
    assert ex.det(A, "bareiss", steps=True).value == d
    assert ex.det(A, "leibniz").value == d


@SETTINGS
@given(int_matrices())
def test_rank_rref_match_sympy(A):
    R, piv = A.rref()
    for steps in (False, True):
        r = ex.rref(A, steps=steps)
        assert r.matrix == R and r.pivots == piv
        assert ex.rank(A, steps=steps).value == len(piv)


@SETTINGS
@given(int_matrices(square=True))
def test_inverse_is_exact(A):
    if A.det() == 0:
        with pytest.raises(svdkit.SingularMatrixError):
            ex.inv(A)
        return
    for steps in (False, True):
        X = ex.inv(A, steps=steps).matrix
        assert A * X == sp.eye(A.rows) == X * A


@SETTINGS
@given(int_matrices())
def test_pinv_penrose_and_lstsq(A):
    for steps in (False, True):
        P = ex.pinv(A, steps=steps).matrix
        assert A * P * A == A and P * A * P == P
        assert (A * P).T == A * P and (P * A).T == P * A
    b = sp.Matrix([(-1) ** i * (i + 1) for i in range(A.rows)])
    r = ex.lstsq(A, b)
    assert r.x == P * b
    assert A.T * (A * r.x - b) == sp.zeros(A.cols, 1)  # the normal equations
    assert is_zero(r.residuals[0] ** 2 - ((A * r.x - b).T * (A * r.x - b))[0])
    np.testing.assert_allclose(np.array(P, float), np.linalg.pinv(np.array(A, float)), atol=1e-9)


@SETTINGS
@given(int_matrices())
def test_subspaces_are_orthonormal_and_orthogonal(A):
    assert_four_subspaces(A, ex.subspaces(A))


@SETTINGS
@given(int_matrices(), st.booleans())
def test_svd_identities(A, full):
    r = ex.svd(A, full=full)
    num = svdkit.svd(np.array(A, float), full=full)
    np.testing.assert_allclose([float(x) for x in r.s], num.s, atol=1e-9)
    assert r.rank == A.rank()
    if r.exact:
        assert exact_equal(r.U * r.Sigma * r.Vh, A)
        assert exact_equal(r.U.T * r.U, sp.eye(r.U.cols))
        assert exact_equal(r.Vh * r.Vh.T, sp.eye(r.Vh.rows))
    else:  # some σ² has no closed form: 50-digit values, labelled approximate
        assert any(isinstance(x, sp.Float) for x in r.s)
        assert gap(r.U * r.Sigma * r.Vh, A) < 1e-40
        assert gap(r.U.T * r.U, sp.eye(r.U.cols)) < 1e-40


@SETTINGS
@given(int_matrices(symmetric=True))
# an eigenvalue −√14·√(8 + √3)/2 − 7/2 − √3/2 generates its own field, which holds
# neither √14 nor √3: converting it term by term raised SymPy's CoercionFailed
@example(sp.Matrix([[-4, -2, 3, -4], [-2, -6, -1, 3], [3, -1, 0, 3], [-4, 3, 3, -4]]))
def test_eigh_and_definiteness(A):
    r = ex.eigh(A)
    np.testing.assert_allclose(
        [float(v) for v in r.values], np.linalg.eigvalsh(np.array(A, float)), atol=1e-9
    )
    if r.exact:
        for k, value in enumerate(r.values):  # A qₖ = λₖ qₖ, one eigenvalue's field at a time
            q = r.vectors[:, k]
            assert exact_equal(A * q, value * q)
        assert exact_equal(r.vectors.T * r.vectors, sp.eye(A.rows))
        assert exact_equal(r.vectors * r.Lambda * r.vectors.T, A)
    else:
        assert gap(r.reconstruct(), A) < 1e-40
    d = ex.definiteness(A)
    assert d.kind is svdkit.definiteness(np.array(A, float)).kind
    assert [c.kind for c in d.criteria if c.kind is not None] == [d.kind] * 4
    L = d.cholesky.factor
    if L is not None:
        assert exact_equal(L * L.T, -A if d.cholesky.negated else A)
    for w in (
        d.quadratic_form.positive_witness,
        d.quadratic_form.negative_witness,
        d.quadratic_form.zero_witness,
    ):
        if w is not None:
            assert (w.x.T * A * w.x)[0] == w.value and sp.sign(w.value) == w.sign


@SETTINGS
@given(int_matrices())
def test_norms_match_numeric(A):
    a = np.array(A, float)
    for ord, np_ord in ((None, "fro"), (2, 2), ("nuc", "nuc"), (1, 1), ("inf", np.inf)):
        assert float(ex.norm(A, ord).value) == pytest.approx(np.linalg.norm(a, np_ord), abs=1e-9)
