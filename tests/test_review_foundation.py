"""Review of the foundation API (linalg, exact, inputs): regressions for the bugs found.

* ``eig`` of a matrix with entries beyond about ``1e±138`` returned the eigenvalues
  of LAPACK's internally scaled matrix (``eig(1e200·A)`` gave ``6.9e137``), and
  ``is_diagonalizable`` decided on those (and on a radius that overflowed);
* ``Eig.residual``, the SVD triplet residuals and the ``lstsq`` residuals summed
  squares of ``1e200``-sized numbers (inf, with overflow warnings);
* the semidefinite Cholesky factorisation (and so ``definiteness``) overflowed in
  its 2 × 2 principal-minor test for entries of size ``1e200``;
* a ``tol`` or a matrix ``ord`` that is not a number gave a raw ``TypeError``;
* a masked array was read with the values hidden under its mask.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

import svdkit
import svdkit.exact as ex
from svdkit.linalg.cholesky import cholesky_attempt

SCALES = [1e200, 1e-200, 1e150, 2.0**-600]

# a symmetric positive definite and a singular positive semidefinite 4 × 4 matrix
_B = np.array([[2.0, -1, 0, 1], [1, 3, 1, 0], [0, 1, 2, -1], [1, 0, -1, 4]])
PD = _B @ _B.T + np.eye(4)
PSD = _B[:, :2] @ _B[:, :2].T  # rank 2


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ----------------------------------------------------------------------------- eig


@pytest.mark.parametrize("c", SCALES)
def test_eig_values_scale_with_the_matrix(c):
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    expected = np.sort(np.linalg.eigvalsh(A))
    r = svdkit.eig(A * c)
    np.testing.assert_allclose(r.values / c, expected, rtol=1e-13)
    assert r.residual() < 1e-14


@pytest.mark.parametrize("c", SCALES)
def test_eig_complex_and_nonsymmetric_at_extreme_scales(c):
    A = np.array([[3.0, 1.0], [-1.0, 1j]])
    r = svdkit.eig(A * c)
    np.testing.assert_allclose(r.values / c, svdkit.eig(A).values, rtol=1e-13)
    assert 0 <= r.residual() < 1e-14


@pytest.mark.parametrize("c", SCALES)
def test_is_diagonalizable_does_not_depend_on_the_scale(c):
    assert svdkit.is_diagonalizable(np.array([[3.0, 1.0], [-1.0, 1.0]]) * c) is False
    assert svdkit.is_diagonalizable(np.array([[1.0, 1.0], [0.0, 1.0]]) * c) is False
    assert svdkit.is_diagonalizable(np.array([[1.0, 2.0], [3.0, 4.0]]) * c) is True


@settings(max_examples=40, deadline=None)
@given(k=st.integers(-400, 400), seed=st.integers(0, 2**16))
@example(k=400, seed=0)
def test_eig_is_exactly_homogeneous_under_powers_of_two(k, seed):
    A = np.random.default_rng(seed).standard_normal((3, 3))
    r, s = svdkit.eig(A), svdkit.eig(np.ldexp(A, k))
    if np.iscomplexobj(r.values):
        expected = np.ldexp(r.values.real, k) + 1j * np.ldexp(r.values.imag, k)
    else:
        expected = np.ldexp(r.values, k)
    np.testing.assert_array_equal(s.values, expected)
    np.testing.assert_array_equal(s.vectors, r.vectors)


# ----------------------------------------------------------------------------- residuals


@pytest.mark.parametrize("c", [1e200, 1e300])
def test_svd_triplet_residuals_stay_finite(c):
    A = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, -1.0]])
    res = svdkit.svd(A * c).residuals()
    assert np.all(np.isfinite(res.right)) and np.all(np.isfinite(res.left))
    assert res.max_triplet / c < 1e-14
    assert res.reconstruction < 1e-14


def test_lstsq_residual_stays_finite():
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([1.0, 1.0, 0.0])
    small = svdkit.lstsq(A, b)
    big = svdkit.lstsq(A * 1e200, b * 1e200)
    assert np.isfinite(big.residuals)
    assert big.residuals / 1e200 == pytest.approx(small.residuals, rel=1e-13)
    np.testing.assert_allclose(big.x, small.x, rtol=1e-13)


# ----------------------------------------------------------------------------- cholesky


@pytest.mark.parametrize("c", [1e200, 1e300, 1e-200, 1e-300])
def test_semidefinite_cholesky_is_scale_safe(c):
    L = svdkit.cholesky(PSD * c, semidefinite=True)
    L1 = svdkit.cholesky(PSD, semidefinite=True)
    np.testing.assert_allclose(L / np.sqrt(c), L1, rtol=1e-12, atol=1e-12)
    r = svdkit.definiteness(PSD * c)
    assert r.kind == svdkit.Kind.POSITIVE_SEMIDEFINITE
    assert [str(x.kind) for x in r.criteria] == ["positive semidefinite"] * 4


@pytest.mark.parametrize("c", [1e200, 1e-200])
def test_cholesky_messages_are_in_the_units_of_the_matrix(c):
    with pytest.raises(svdkit.NotPositiveDefiniteError) as info:
        svdkit.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]) * c, semidefinite=True)
    assert info.value.pivot == 2
    assert f"(-3e{np.log10(c):+04.0f} <" in str(info.value)
    attempt = cholesky_attempt(np.array([[0.0, 1.0], [1.0, 1.0]]) * c, semidefinite=True)
    assert f"not ({c:.3g})" in attempt.reason


@settings(max_examples=40, deadline=None)
@given(k=st.integers(-450, 450), psd=st.booleans())
@example(k=450, psd=True)
def test_cholesky_is_exactly_homogeneous_under_powers_of_four(k, psd):
    A = PSD if psd else PD
    L = svdkit.cholesky(A, semidefinite=psd)
    np.testing.assert_array_equal(
        svdkit.cholesky(np.ldexp(A, 2 * k), semidefinite=psd), np.ldexp(L, k)
    )


def test_cholesky_tol_far_from_the_scale_of_the_matrix():
    A = np.eye(2) * 1e-300
    with pytest.raises(svdkit.NotPositiveDefiniteError):
        svdkit.cholesky(A, tol=1e300)  # every pivot is below tol
    np.testing.assert_array_equal(svdkit.cholesky(A, tol=1e-320), np.eye(2) * 1e-150)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("tol", ["1e-3", [1e-3], 1j, None.__class__])
def test_a_tol_that_is_not_a_number_is_a_clear_error(tol):
    for f in (svdkit.rank, svdkit.pinv, svdkit.subspaces):
        with pytest.raises(svdkit.SvdkitError, match="tol must be a finite number"):
            f([[1.0, 2.0], [3.0, 4.0]], tol=tol)


def test_an_unhashable_norm_order_is_a_clear_error():
    with pytest.raises(svdkit.SvdkitError, match="unknown matrix norm"):
        svdkit.norm([[1.0, 2.0]], [1])


# ----------------------------------------------------------------------------- inputs


def test_masked_entries_are_refused_not_read():
    m = np.ma.array([[1.0, 99.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]])
    with pytest.raises(svdkit.NonFiniteError, match="row 1, column 2"):
        svdkit.as_matrix(m)
    with pytest.raises(svdkit.NonFiniteError, match="row 1, column 2"):
        svdkit.svd(m)
    with pytest.raises(svdkit.NonFiniteError, match="position 2"):
        svdkit.as_vector(np.ma.array([1.0, 2.0], mask=[0, 1]))
    with pytest.raises(svdkit.NonFiniteError, match="row 1, column 2"):
        ex.as_exact(np.ma.array([[1, 2], [3, 4]], mask=[[0, 1], [0, 0]]))


def test_masked_array_without_masked_entries_is_its_data():
    m = np.ma.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(svdkit.as_matrix(m), m.data)
    assert ex.as_exact(np.ma.array([[1, 2], [3, 4]])) == sp.Matrix([[1, 2], [3, 4]])
