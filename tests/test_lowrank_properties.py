"""Property-based checks of the large-scale engine over shapes and spectra.

Hypothesis draws square, tall and wide shapes, real and complex entries,
rank-deficient and ill-conditioned spectra, dense and sparse storage, and every
iterative method; each result is checked against NumPy on the dense matrix
(:func:`tests.test_lowrank.assert_certified`: recomputed residuals, σ against
LAPACK, orthonormality, the sign rule) and against Eckart–Young.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lowrank import EPS, assert_certified, independent_residuals, matrix

from svdkit.errors import ConvergenceError
from svdkit.lowrank import truncated_svd

METHODS = ("krylov", "gram", "randomized", "dash")


@st.composite
def problems(draw):
    m = draw(st.integers(40, 140))
    n = draw(st.sampled_from([m, draw(st.integers(40, 140))]))
    p = min(m, n)
    rank = draw(st.sampled_from([p, draw(st.integers(1, p))]))
    profile = draw(st.sampled_from(["decay", "ill-conditioned", "flat", "clustered"]))
    j = np.arange(rank, dtype=float)
    sigma = {
        "decay": 0.8**j,
        "ill-conditioned": np.logspace(0, -14, rank),
        "flat": 1.0 - 0.2 * j / max(rank, 1),
        "clustered": np.repeat([1.0, 0.5, 0.1], -(-rank // 3))[:rank],
    }[profile]
    complex_ = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    A = matrix(m, n, sigma, seed=seed, complex_=complex_)
    if draw(st.booleans()) and not complex_:
        A = sp.csr_matrix(A)
    k = draw(st.integers(1, max(1, p // 3)))
    method = draw(st.sampled_from(METHODS))
    return A, k, method, np.concatenate([sigma, np.zeros(p - rank)])


# derandomize: CI runs the same 60 examples every time (random draws, 3200 of them,
# were run by hand when the engine changed; they found block Krylov missing copies
# of a singular value repeated more than its block, and a basis that lost
# orthogonality once the Krylov space became invariant — both fixed, both now in
# tests/test_lowrank.py).
@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(problems())
def test_certified_leading_triplets(problem):
    A, k, method, sigma = problem
    tol = 1e-8
    try:
        r = truncated_svd(A, k, tol=tol, method=method, seed=3)
    except ConvergenceError as err:
        # Subspace iteration converges like (σ_{l+1}/σ_k)^{2q}: on flat spectra its
        # 100 iterations may not reach 1e-8. It must then say so honestly (the
        # residuals it names really miss tol); block Krylov and the Gram path
        # (polished two-sided below its rounding floor) must always certify.
        assert method not in ("krylov", "gram"), str(err)
        dense = A.toarray() if sp.issparse(A) else A
        right, left = independent_residuals(dense, err.result)
        missed = np.maximum(right, left)[err.unconverged]
        assert np.all(missed > 0.5 * tol * sigma[0]), (missed, str(err))
        return
    assert_certified(A, r, tol, k)
    np.testing.assert_allclose(r.s, sigma[:k], atol=2 * tol * sigma[0] + 1e3 * EPS * sigma[0])
    # Eckart–Young: the rank-k approximation's error is σ_{k+1} (spectral) and
    # sqrt(Σ_{i>k} σᵢ²) (Frobenius), up to the certified tolerance
    dense = A.toarray() if sp.issparse(A) else A
    E = dense - (r.U * r.s) @ r.Vh
    best_fro = float(np.sqrt(np.sum(sigma[k:] ** 2)))
    slack = 10 * tol * sigma[0] * np.sqrt(k) + 1e3 * EPS * sigma[0]
    assert abs(np.linalg.norm(E) - best_fro) <= slack
    best_2 = sigma[k] if k < sigma.size else 0.0
    assert abs(np.linalg.norm(E, 2) - best_2) <= slack
