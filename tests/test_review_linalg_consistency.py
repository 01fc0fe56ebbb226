"""One decision for "positive (semi)definite" and "diagonalisable" across functions.

Truth comes from mpmath (50 digits) or exact rationals (``fractions.Fraction`` of
the stored floats).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

import svdkit
from svdkit.errors import NotPositiveDefiniteError, SingularMatrixError
from svdkit.linalg.cholesky import _factor_from_eigh, cholesky_attempt, eigenvalue_rule

EPS = float(np.finfo(float).eps)


def mp_eigenvalues(A: np.ndarray) -> list[mpmath.mpf]:
    """The eigenvalues of the stored (symmetric) float matrix, to 50 digits, ascending."""
    with mpmath.workdps(50):
        values = mpmath.eigsy(mpmath.matrix(A.tolist()))[0]
        return sorted(values[i] for i in range(A.shape[0]))


def exact_det(A: np.ndarray) -> Fraction:
    """The determinant of the stored float matrix, in exact rationals (Gaussian elimination)."""
    M = [[Fraction(float(x)) for x in row] for row in A]
    n, det = len(M), Fraction(1)
    for k in range(n):
        p = next((i for i in range(k, n) if M[i][k] != 0), None)
        if p is None:
            return Fraction(0)
        if p != k:
            M[k], M[p], det = M[p], M[k], -det
        det *= M[k][k]
        for i in range(k + 1, n):
            f = M[i][k] / M[k][k]
            M[i] = [a - f * b for a, b in zip(M[i], M[k], strict=True)]
    return det


# ----------------------------------------------------------------------------- item 1


def test_semidefinite_cholesky_refuses_an_indefinite_coupling_through_a_zero_pivot():
    e = 2.5e-8
    A = np.array([[0, e, e], [e, 1, -1], [e, -1, 1]])
    lam = mp_eigenvalues(A)
    _, thr = eigenvalue_rule(A)
    assert lam[0] < -1e7 * thr  # truth: far beyond the threshold
    x = [Fraction(-1), Fraction(1), Fraction(1)]
    form = sum(Fraction(float(A[i, j])) * x[i] * x[j] for i in range(3) for j in range(3))
    assert form < 0  # an exact witness
    with pytest.raises(NotPositiveDefiniteError, match="smallest eigenvalue") as err:
        svdkit.cholesky(A, semidefinite=True)
    assert err.value.pivot == 1
    d = svdkit.definiteness(A)
    assert [str(c.kind) for c in d.criteria] == ["indefinite"] * 4
    assert not cholesky_attempt(A, semidefinite=True).succeeded


def test_semidefinite_cholesky_still_accepts_a_tiny_pivot_with_a_sqrt_sized_column():
    delta = 1e-17
    A = np.array([[delta, np.sqrt(delta)], [np.sqrt(delta), 1.0]])
    lam = mp_eigenvalues(A)
    _, thr = eigenvalue_rule(A)
    assert lam[0] >= -thr  # truth: PSD to within the rule (rank 1 up to rounding)
    L = svdkit.cholesky(A, semidefinite=True)
    assert np.allclose(L, np.tril(L)) and np.all(np.diagonal(L) >= 0)
    assert np.abs(L @ L.T - A).max() <= 2 * np.sqrt(thr)  # the documented √thr cost
    d = svdkit.definiteness(A)
    assert [str(c.kind) for c in d.criteria] == ["positive semidefinite"] * 4


# ----------------------------------------------------------------------------- item 3

H = np.array(
    [
        [0.9697846434918805, 0.03400971727958723, -0.13325438576266918],
        [0.03400971727958723, 0.4542895542795644, 0.36552465642202425],
        [-0.13325438576266918, 0.36552465642202425, 0.32077601441937004],
    ]
)


def test_borderline_positive_definite_matrix_has_one_verdict():
    assert exact_det(H) > 0  # with D1, D2 > 0 below: exactly positive definite
    assert exact_det(H[:2, :2]) > 0 and H[0, 0] > 0
    lam = mp_eigenvalues(H)
    d = svdkit.definiteness(H)
    assert lam[0] > d.tol_used  # truth: positive definite by the eigenvalue rule too
    assert d.is_positive_definite
    assert [str(c.kind) for c in d.criteria] == ["positive definite"] * 4
    L = svdkit.cholesky(H)  # raised NotPositiveDefiniteError before
    assert np.all(np.diagonal(L) > 0)
    assert np.abs(L @ L.T - H).max() <= 4 * EPS


@pytest.mark.parametrize("seed", [1, 7])
def test_random_borderline_matrices_agree_everywhere(seed):
    rng = np.random.default_rng(seed)
    for _ in range(120):
        n = int(rng.integers(3, 8))
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = np.sort(rng.uniform(0.5, 1, n))[::-1]
        lam[0] = 1.0
        lam[-1] = n * EPS * rng.uniform(-3, 3)  # λ_min within a few thresholds of 0
        A = (Q * lam) @ Q.T
        A = (A + A.T) / 2
        d = svdkit.definiteness(A)
        assert len({c.kind for c in d.criteria}) == 1, [str(c.kind) for c in d.criteria]
        for semidefinite, expected in (
            (False, d.is_positive_definite),
            (True, d.is_positive_semidefinite),
        ):
            r = cholesky_attempt(A, semidefinite=semidefinite)
            assert r.succeeded == expected
            if r.succeeded:  # a factorisation, to rounding (√thr at a dropped column)
                assert np.abs(r.factor @ r.factor.T - A).max() <= 1e-7


def test_factor_from_the_eigendecomposition_is_a_cholesky_factor():
    # the fallback for a positive definite A (by the eigenvalue rule) that potrf refuses
    A = np.array([[4.0, 2.0, 1j], [2.0, 5.0, 0.0], [-1j, 0.0, 3.0]])
    L = _factor_from_eigh(A)
    assert np.allclose(L, np.tril(L))
    assert np.all(np.diagonal(L).real > 0) and np.all(np.diagonal(L).imag == 0)
    assert np.abs(L @ L.conj().T - A).max() <= 20 * EPS * 5
    np.testing.assert_allclose(L, np.linalg.cholesky(A), atol=1e-14)
    big = _factor_from_eigh(A.real[:2, :2] * 1e200)  # scale-safe
    np.testing.assert_allclose(big, np.linalg.cholesky(A.real[:2, :2]) * 1e100, rtol=1e-14)


def test_the_not_definite_verdict_names_the_first_zero_leading_minor():
    # rank 2 Gram matrix whose computed pivots are all positive: the rule decides
    B = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    A = B.T @ B
    assert exact_det(A) == 0  # truth: singular
    with pytest.raises(NotPositiveDefiniteError) as err:
        svdkit.cholesky(A)
    assert err.value.pivot == 3  # D1, D2 > 0 exactly (full-rank leading blocks)
    assert svdkit.definiteness(A).sylvester.leading_signs.tolist() == [1, 1, 0]


# ----------------------------------------------------------------------------- item 2


@pytest.mark.parametrize(
    "A",
    [
        [[1.0, 1e-7], [0.0, 1.0]],  # an exact Jordan block
        [[1.0, 1.0], [0.0, 1.0 + 1e-10]],  # within the resolution r of one
    ],
)
def test_reconstruct_refuses_what_is_diagonalizable_refuses(A):
    A = np.array(A)
    # truth: A − λI (λ = A[0, 0]) has rank 1, so that eigenvalue's eigenspace is a line
    assert exact_det(A - A[0, 0] * np.eye(2)) == 0 and A[0, 1] != 0
    assert svdkit.is_diagonalizable(A) is False
    with pytest.raises(SingularMatrixError, match="not diagonalisable"):
        svdkit.eig(A).reconstruct()


def test_reconstruct_of_diagonalizable_matrices_still_works():
    for A in ([[2.0, 1.0], [0.0, 3.0]], [[1.0, 1.0], [0.0, 1.0 + 1e-6]], [[0.0, -1.0], [1.0, 0.0]]):
        A = np.array(A)
        assert svdkit.is_diagonalizable(A)
        R = svdkit.eig(A).reconstruct()
        assert np.abs(R - A).max() <= 1e-9  # κ(V)·eps, κ(V) <= 1e6 here


def test_semidefinite_factor_of_a_float32_gram_matrix_stays_close():
    # rank 3 up to float32 rounding: pivot 3 is small (3e-4) and pivot 4 computes to
    # about −1.5e-3, dropped under the growth factor; L Lᵀ missed A by 1.5e-3
    rng = np.random.default_rng(1657)
    B = rng.standard_normal((4, 3)).astype(np.float32)
    A = B @ B.T
    A64 = A.astype(np.float64)
    lam = mp_eigenvalues(A64)
    L = svdkit.cholesky(A, semidefinite=True)
    assert np.allclose(L, np.tril(L)) and np.all(np.diagonal(L) >= 0)
    # truth: no PSD matrix is closer to A than |λ_min| (λ_min < 0 here)
    assert lam[0] < 0
    assert np.linalg.norm(L @ L.T - A64) <= 4 * float(abs(lam[0])) + 1e-12
