"""Matrices of subnormal entries: definiteness, cholesky, eigh and rank agree.

The Hermitian part was formed as ``a/2 + aᴴ/2`` even for a Hermitian ``a``: halving
``5e-324`` gives 0, so ``definiteness(diag(5e-324, 5e-324))`` called a rank-2 matrix
positive semidefinite with eigenvalues (0, 0), and ``cholesky`` refused it, while
``sqrt(5e-324)`` is a perfectly good pivot.
"""

from __future__ import annotations

import numpy as np
import pytest

import svdkit

TINY = 5e-324  # the least subnormal

CASES = [
    np.diag([TINY, TINY]),
    np.diag([3 * TINY, TINY, 7 * TINY]),
    np.diag([TINY, -TINY]),
    np.diag([TINY, 0.0]),
    np.diag([1e-310, 2e-310]),
    np.array([[4.0, 2.0], [2.0, 3.0]]) * 2.0**-1070,
    np.array([[4.0, 2j], [-2j, 3.0]]) * 2.0**-1070,
]


@pytest.mark.parametrize("A", CASES, ids=range(len(CASES)))
def test_one_decision_on_subnormal_matrices(A):
    d = svdkit.definiteness(A)
    r = svdkit.rank(A)
    n_pos, n_zero, n_neg = d.inertia
    assert n_pos + n_zero + n_neg == A.shape[0]
    assert n_pos + n_neg == r
    # the eigenvalues are those of the matrix as stored: their signs are the diagonal's
    # for a diagonal A, and both are positive for the 2×2 blocks (det > 0, trace > 0)
    if np.count_nonzero(A - np.diag(np.diagonal(A))) == 0:
        diag = np.real(np.diagonal(A))
        assert (n_pos, n_neg) == (int(np.sum(diag > 0)), int(np.sum(diag < 0)))
    else:
        assert d.is_positive_definite
    if d.is_positive_definite:
        L = svdkit.cholesky(A)
        # L Lᴴ = A, scaled up exactly to compare (the products underflow otherwise)
        s = 2.0**1000
        Ls = L * s
        assert np.allclose(Ls @ Ls.conj().T, A * s * s, rtol=1e-12, atol=0)
    else:
        with pytest.raises(svdkit.errors.NotPositiveDefiniteError):
            svdkit.cholesky(A)
    values = svdkit.eigh(A).values
    assert np.array_equal(np.sort(values), np.sort(d.eigenvalues.values))


def test_hermitian_part_keeps_subnormals():
    from svdkit.linalg.structure import hermitian_part

    A = np.diag([TINY, TINY])
    assert hermitian_part(A)[0, 0] == TINY
    B = np.array([[1.0, 3.0], [1.0, 1.0]])
    assert np.array_equal(hermitian_part(B), (B + B.T) / 2)
