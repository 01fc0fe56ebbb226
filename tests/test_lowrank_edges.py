"""Edges of rank mode and of ``svdkit.svd``'s front door, checked independently.

Rank by tolerance at its limits (a cap equal to the rank, a cap of 0, energies
below ``sqrt(eps)``, dashSVD past its first guess), randomized subspace iteration
without oversampling, and ``svdkit.svd`` on an empty request for a sparse matrix
and on file names given as strings. Every rank found is checked against the
singular values NumPy computes for the dense matrix, and every error against
the returned factors, never against the engine's own numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import svdkit
from svdkit.errors import ConvergenceError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank._common import Target

METHODS = ("krylov", "gram", "randomized", "dash", "lapack")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small products: one BLAS thread is faster on a shared two-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _spectrum_matrix(m: int, n: int, s: np.ndarray, seed: int = 0) -> np.ndarray:
    """``Q1 diag(s) Q2ᵀ`` with Haar-random orthonormal ``Q1`` (m×n), ``Q2`` (n×n)."""
    rng = np.random.default_rng(seed)
    q1, _ = np.linalg.qr(rng.standard_normal((m, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q1 * s) @ q2.T


def _rank_error(A: np.ndarray, r, norm: str) -> float:
    """``‖A − U Σ Vᴴ‖ / ‖A‖`` in the rank norm, from the returned factors."""
    E = A - (r.U * r.s) @ r.Vh
    if norm == "spectral":
        return float(np.linalg.norm(E, 2) / np.linalg.norm(A, 2))
    return float(np.linalg.norm(E) / np.linalg.norm(A))


def _best_error(s: np.ndarray, k: int, norm: str) -> float:
    """The best rank-``k`` error (Eckart–Young) from the exact singular values ``s``."""
    if k >= s.size:
        return 0.0
    if norm == "spectral":
        return float(s[k] / s[0])
    return float(np.sqrt(np.sum(s[k:] ** 2) / np.sum(s**2)))


def _smallest_rank(s: np.ndarray, eps: float, norm: str) -> int:
    return next(k for k in range(s.size + 1) if _best_error(s, k, norm) <= eps)


# ----------------------------------------------------------------------------- dashSVD


@pytest.mark.parametrize("norm", ["spectral", "energy"])
def test_dash_rank_mode_widens_past_its_first_guess(norm):
    """The rank (26) is past dashSVD's first guess of 16: it widens like the other
    methods, and the error it reports as met is met."""
    A = _spectrum_matrix(300, 200, 0.7 ** np.arange(200))
    s = np.linalg.svd(A, compute_uv=False)
    eps = 1e-4
    r = truncated_svd(A, rank_tol=eps, rank_norm=norm, method="dash", tol=1e-8)
    assert r.converged and r.method == "dash"
    assert r.k == _smallest_rank(s, eps, norm) == 26
    assert _rank_error(A, r, norm) <= eps * (1 + 1e-6)
    assert np.allclose(r.s, s[: r.k], rtol=0, atol=1e-7 * s[0])


@pytest.mark.parametrize("oversample", [0, 1])
def test_dash_rank_mode_without_oversampling_sees_the_next_value(oversample):
    """With no extra columns dashSVD still looks one value past its guess: a cap equal
    to the rank is accepted, a smaller one refused."""
    D = np.diag([1.0, 0.5, 1e-3, 1e-4] + [0.0] * 196)
    r = truncated_svd(D, 2, rank_tol=1e-2, method="dash", oversample=oversample)
    assert r.k == 2 and r.converged
    with pytest.raises(ConvergenceError, match="k=1 triplets allowed"):
        truncated_svd(D, 1, rank_tol=1e-2, method="dash", oversample=oversample)


# ----------------------------------------------------------------------------- energy


@pytest.mark.parametrize("method", METHODS)
def test_energy_rank_below_sqrt_eps_is_not_lost_to_cancellation(method):
    """‖A‖_F² − σ₁² rounds 1e-18 away; the energy left out is summed from the small
    values instead: rank 2 (error 0), not 1 (error 1e-9 > 1e-10)."""
    E = np.diag([1.0, 1e-9, 0.0])
    r = truncated_svd(E, rank_tol=1e-10, rank_norm="energy", method=method)
    assert r.k == 2
    assert _rank_error(E, r, "energy") <= 1e-10


@pytest.mark.parametrize("method", ["krylov", "randomized", "dash", "lapack"])
def test_energy_rank_at_tight_tolerance_is_smallest_and_met(method):
    """ε = 1e-10: far below what ‖A‖_F² − Σ σᵢ² resolves. The two-sided methods find
    the smallest rank; Krylov's values from AᴴA resolve σ only down to about
    sqrt(eps) σ₁, so its rank may be larger, never with an error above ε."""
    A = _spectrum_matrix(80, 60, 0.5 ** np.arange(60), seed=3)
    s = np.linalg.svd(A, compute_uv=False)
    eps = 1e-10
    r = truncated_svd(A, rank_tol=eps, rank_norm="energy", method=method, tol=1e-12)
    smallest = _smallest_rank(s, eps, "energy")
    assert r.k == smallest if method != "krylov" else r.k >= smallest
    assert _rank_error(A, r, "energy") <= eps * (1 + 1e-4)


def test_target_energy_left_out_summed_from_the_small_values():
    """The decision itself: every value computed, the remainder at rounding is zero;
    with values missing, a remainder at rounding leaves ε = 1e-10 undecided."""
    s = np.array([1.0, 1e-9, 0.0])
    t = Target(1, 3, rank_tol=1e-10, rank_norm="energy", fro=float(np.linalg.norm(s)), full=3)
    assert t.decide(s, 3) == (True, 2)
    t = Target(1, 3, rank_tol=1e-10, rank_norm="energy", fro=1.0, full=3)
    assert t.decide(np.array([1.0]), 1) == (False, 2)  # σ₂ may hold up to eps·‖A‖_F²


# ----------------------------------------------------------------------------- cap = rank


@pytest.mark.parametrize("norm", ["spectral", "energy"])
@pytest.mark.parametrize("method", METHODS)
def test_rank_cap_equal_to_the_rank_is_accepted(method, norm):
    """k = 2 with σ₃ = 1e-3 ≤ 1e-2 σ₁: rank 2 is within the cap of 2 for every method;
    a cap of 1 is refused, naming the cap."""
    D = np.diag([1.0, 0.5, 1e-3, 1e-4] + [0.0] * 196)
    s = np.diag(D)
    r = truncated_svd(D, 2, rank_tol=1e-2, rank_norm=norm, method=method)
    assert r.k == 2 == _smallest_rank(s, 1e-2, norm) and r.converged
    assert _rank_error(D, r, norm) <= 1e-2
    with pytest.raises(ConvergenceError, match="k=1 triplets allowed"):
        truncated_svd(D, 1, rank_tol=1e-2, rank_norm=norm, method=method)


def test_target_spectral_cap_looks_one_value_further():
    """The spectral rule at k = cap needs σ_{cap+1}: the method is asked to look that
    far, and cap is refused only once σ_{cap+1} is certified above ε σ₁."""
    t = Target(2, 2, rank_tol=1e-2, full=200)
    assert t.cap == 2 and t.limit == 3
    assert t.decide(np.array([1.0, 0.5]), 2) == (False, 2)  # σ₃ not seen yet
    assert t.decide(np.array([1.0, 0.5, 1e-3]), 3) == (True, 2)
    t = Target(1, 1, rank_tol=1e-2, full=200)
    assert t.decide(np.array([1.0, 0.5]), 2) == (True, 1) and t.limited
    assert t.limit == 1  # nothing past the cap is wanted once it is known too small


# ----------------------------------------------------------------------------- k = 0


@pytest.mark.parametrize("norm", ["spectral", "energy"])
@pytest.mark.parametrize("method", METHODS)
def test_rank_cap_of_zero_behaves_alike_for_every_method(method, norm):
    """k = 0 with rank_tol is a cap of 0: refused for a nonzero matrix (a
    ConvergenceError naming it, not an IndexError), met by the zero matrix."""
    B = np.random.default_rng(0).standard_normal((300, 200))
    with pytest.raises(ConvergenceError, match="k=0 triplets allowed"):
        truncated_svd(B, 0, rank_tol=1e-3, rank_norm=norm, method=method)
    r = truncated_svd(np.zeros((300, 200)), 0, rank_tol=1e-3, rank_norm=norm, method=method)
    assert r.k == 0 and r.converged and r.U.shape == (300, 0) and r.Vh.shape == (0, 200)


# ----------------------------------------------------------------------------- randomized


@pytest.mark.parametrize("oversample", [0, 1])
def test_randomized_without_oversampling_iterates_to_tol(oversample):
    """A fixed k with no (or one) extra column iterates until certified instead of
    stopping after the first iteration."""
    rng = np.random.default_rng(0)
    C = rng.standard_normal((300, 200)) * 0.5 ** np.arange(200)
    r = truncated_svd(C, 5, method="randomized", oversample=oversample, max_iter=50)
    assert r.converged and r.iterations > 1
    s = np.linalg.svd(C, compute_uv=False)
    right = np.linalg.norm(C @ r.Vh.conj().T - r.U * r.s, axis=0)
    left = np.linalg.norm(C.conj().T @ r.U - r.Vh.conj().T * r.s, axis=0)
    assert max(right.max(), left.max()) <= 1e-6 * s[0] * (1 + 1e-6)
    assert np.allclose(r.s, s[:5], rtol=0, atol=1e-6 * s[0])


def test_randomized_rank_mode_without_oversampling_is_right():
    """Rank mode with oversample=0 still looks past its guess and widens."""
    A = _spectrum_matrix(300, 200, 0.7 ** np.arange(200), seed=1)
    s = np.linalg.svd(A, compute_uv=False)
    r = truncated_svd(A, rank_tol=1e-4, method="randomized", oversample=0, tol=1e-8)
    assert r.k == _smallest_rank(s, 1e-4, "spectral")
    assert _rank_error(A, r, "spectral") <= 1e-4 * (1 + 1e-6)


# ----------------------------------------------------------------------------- svdkit.svd


def test_svd_of_a_small_sparse_matrix_with_k_zero_is_empty():
    S = sp.random(60, 50, density=0.1, format="csr", random_state=0)
    r = svdkit.svd(S, 0)
    dense = svdkit.svd(S.toarray(), 0)
    assert r.U.shape == dense.U.shape == (60, 0)
    assert r.s.shape == dense.s.shape == (0,)
    assert r.Vh.shape == dense.Vh.shape == (0, 50)
    assert r.U.dtype == dense.U.dtype == np.float64


@pytest.mark.parametrize("ext", ["npy", "npz", "mtx"])
def test_svd_reads_a_file_named_by_a_string_with_or_without_k(tmp_path, ext):
    A = np.arange(12.0).reshape(4, 3) + np.eye(4, 3)
    path = tmp_path / f"A.{ext}"
    if ext == "npy":
        np.save(path, A)
    elif ext == "npz":
        np.savez(path, A)
    else:
        scipy.io.mmwrite(path, sp.csr_matrix(A))
    s = np.linalg.svd(A, compute_uv=False)
    full = svdkit.svd(str(path))
    assert np.allclose(full.s, s, rtol=1e-12, atol=0)
    assert np.allclose((full.U * full.s) @ full.Vh, A, atol=1e-12 * s[0])
    two = svdkit.svd(str(path), 2)
    assert np.allclose(two.s, s[:2], rtol=1e-9, atol=0)


def test_svd_still_reads_matrix_text():
    assert np.allclose(svdkit.svd("1 2; 3 4").s, np.linalg.svd([[1, 2], [3, 4]])[1])
    assert np.allclose(svdkit.svd("[[3, 0], [0, 2]]", 1).s, [3.0])
