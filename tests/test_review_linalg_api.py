"""Review of the small dense API as a NumPy user meets it (the tol of every decision,
the same matrix for sibling functions, one rule for ord names, clear input errors)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import svdkit
from svdkit.errors import NonFiniteError, ShapeError, SvdkitError


@pytest.mark.parametrize(
    ("matrix", "tol"), [([[1, 0], [1, 1]], 2.0), ([[1, 2], [2.001, 3]], 0.01)]
)
def test_eigh_past_its_check_decomposes_the_hermitian_part(matrix, tol):
    """eigh(tol=…) took the lower triangle; definiteness and cholesky take (A + Aᴴ)/2."""
    a = np.array(matrix, dtype=float)
    h = (a + a.T) / 2
    r = svdkit.eigh(a, tol=tol)
    np.testing.assert_allclose(r.values, np.linalg.eigvalsh(h), rtol=1e-14)
    np.testing.assert_allclose(r.values, svdkit.definiteness(a, tol=tol).eigenvalues.values)
    np.testing.assert_array_equal(r.matrix, h)
    assert r.residual() < 1e-14  # measured against what was decomposed
    # check=False keeps LAPACK's contract: the lower triangle is A
    low = np.tril(a) + np.tril(a, -1).T
    np.testing.assert_allclose(svdkit.eigh(a, check=False).values, np.linalg.eigvalsh(low))


def test_eigh_of_a_hermitian_matrix_is_unchanged():
    a = np.array([[2.0, 1 - 1j], [1 + 1j, 3.0]])
    r = svdkit.eigh(a)
    assert r.matrix is a or np.array_equal(r.matrix, a)
    np.testing.assert_allclose(r.values, np.linalg.eigvalsh(a))


@pytest.mark.parametrize("ord", [None, 2, 1, np.inf, "fro"])
def test_cond_takes_tol_as_rank_does(ord):
    a = np.diag([1.0, 1e-3])
    assert svdkit.cond(a, ord, tol=1e-2) == np.inf  # σ₂ = 1e−3 ≤ tol: singular at that tol
    assert svdkit.rank(a, tol=1e-2) == 1
    finite = svdkit.cond(a, ord, tol=1e-4)
    assert finite == svdkit.cond(a, ord)
    assert finite == pytest.approx(np.linalg.cond(a, ord), rel=1e-12)
    with pytest.raises(SvdkitError, match="tol"):
        svdkit.cond(a, ord, tol=-1.0)


def test_vector_and_matrix_norms_read_ord_names_alike():
    assert svdkit.norm([3, 4], "1") == svdkit.norm([3, 4], 1) == 7.0
    assert svdkit.norm([[3, 4]], "1") == svdkit.norm([[3, 4]], 1) == 4.0
    for x in ([3, 4], [[1, 2], [3, 4]]):
        with pytest.raises(SvdkitError, match="unknown norm True"):
            svdkit.norm(x, True)


def test_is_diagonalizable_checks_the_given_eig_even_for_a_normal_matrix():
    with pytest.raises(ShapeError, match="2 eigenvalues"):
        svdkit.is_diagonalizable(np.eye(2), eig=([1], [[1]]))
    assert svdkit.is_diagonalizable(np.eye(2), eig=([1, 1], np.eye(2)))


@pytest.mark.parametrize("big", [Decimal("1e400"), np.longdouble("1e400")])
def test_a_finite_entry_too_large_for_a_float_is_said_so(big):
    """Decimal('1e400') was reported as the non-finite entry 'inf'."""
    with pytest.raises(NonFiniteError, match=r"too large for a float|overflows float64"):
        svdkit.as_matrix([[big, 1]])
    with pytest.raises(NonFiniteError, match="non-finite entry"):
        svdkit.as_matrix([[Decimal("Infinity"), 1]])
    assert svdkit.as_matrix([[Decimal("2.5"), 1]]).tolist() == [[2.5, 1.0]]


@pytest.mark.parametrize("ord", [1, np.inf, "fro", "nuc", 2])
def test_cond_is_scale_free_at_the_top_of_the_range(ord):
    """‖A‖₁ of 1e308·B overflows, B = [[1, 1], [1, −1]]; its condition number is B's."""
    base = np.array([[1.0, 1.0], [1.0, -1.0]])
    assert svdkit.cond(1e308 * base, ord) == pytest.approx(np.linalg.cond(base, ord), rel=1e-14)
    assert svdkit.cond(1e308 * np.ones((2, 2)), ord) == np.inf  # singular at any scale
