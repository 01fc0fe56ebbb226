"""The tolerance rule at the input's own precision: float32 data computed in float64.

svdkit computes in float64, but data stored in float32 carries float32's
rounding: the product of two float32 factors of rank 5 came out of rank 40
(NumPy's ``matrix_rank`` says 5), and a float32 QR factor was not orthonormal.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.linalg.cholesky import cholesky_attempt
from svdkit.linalg.tolerance import eps_of, rule_dtype


def _low_rank(m: int, n: int, r: int, dtype, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, r)).astype(dtype)
    Y = rng.standard_normal((r, n)).astype(dtype)
    return X @ Y  # rounded to dtype: rank r up to dtype's rounding


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(8, 40),
    n=st.integers(8, 40),
    r=st.integers(1, 6),
    dtype=st.sampled_from([np.float32, np.complex64, np.float16]),
    seed=st.integers(0, 10**6),
)
def test_rank_of_stored_low_rank_data_is_its_rank(m, n, r, dtype, seed):
    B = _low_rank(m, n, r, dtype, seed)
    if dtype is np.float16:
        B = B / np.float16(8)  # (products of Gaussians stay in float16's range)
    assert svdkit.rank(B) == r  # (NumPy's matrix_rank, in B's precision, says r too)
    dec = svdkit.svd(B)
    assert dec.rank() == svdkit.rank(B)
    sub = svdkit.subspaces(B)
    assert sub.dimensions["column"] == svdkit.rank(B)
    # the pseudo-inverse is of the rank-r part: A A⁺ A = A to the data's precision
    P = svdkit.pinv(B)
    Bd = B.astype(np.complex128 if np.iscomplexobj(B) else np.float64)
    eps = np.finfo(B.dtype).eps
    assert np.linalg.norm(Bd @ P @ Bd - Bd) <= 100 * eps * max(m, n) * np.linalg.norm(Bd)


def test_float64_data_keeps_the_float64_rule():
    """The same matrix in float64 has σ₆ ≈ 1e−6·σ₁: that is data, rank 40."""
    B = _low_rank(50, 40, 5, np.float32)
    assert svdkit.rank(B) == 5
    assert svdkit.rank(B.astype(np.float64)) == 40
    assert svdkit.rank(B.tolist()) == 40  # a list holds float64 numbers
    assert svdkit.rank(B, tol=0.0) == 40  # an explicit tol replaces the rule


def test_structure_predicates_of_float32_factors():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 4)).astype(np.float32))
    assert Q.dtype == np.float32
    assert svdkit.is_orthonormal(Q)
    assert not svdkit.is_orthonormal(Q.astype(np.float64))  # 1e−7 off I in float64 terms
    X = rng.standard_normal((5, 5)).astype(np.float32)
    N = X @ X.T  # symmetric up to float32 rounding of the products
    N = (N + N.T) / 2 + np.float32(1e-6) * np.triu(X, 1)  # a float32-size asymmetry
    assert svdkit.is_symmetric(N) == (np.linalg.norm(N - N.T) <= 10 * 1.2e-7 * np.linalg.norm(N))


def test_definiteness_of_a_float32_gram_matrix():
    """XXᵀ with X 6×3 in float32: rank 3, positive semidefinite (not indefinite on noise)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 3)).astype(np.float32)
    G = X @ X.T
    G = (G + G.T) / 2
    r = svdkit.definiteness(G)
    assert str(r.kind) == "positive semidefinite"
    assert r.inertia == (3, 3, 0)  # (positive, zero, negative)


def test_rule_dtype():
    assert rule_dtype(np.ones(2, np.float32)) == np.float32
    assert rule_dtype(np.ones(2, np.float16)) == np.float16
    assert rule_dtype(np.ones(2, np.complex64), np.complex128) == np.complex64
    assert rule_dtype(np.ones(2, np.longdouble)) == np.float64  # finer: the working one
    assert rule_dtype(np.ones(2, np.int64)) == np.float64
    assert rule_dtype([[1.0]]) == np.float64
    assert rule_dtype(np.dtype(np.float32)) == np.float32


def test_rule_dtype_of_a_torch_tensor():
    import torch
    assert rule_dtype(torch.ones(2, dtype=torch.float32)) == np.float32
    # bfloat16 (eps 2⁻⁷) has its own rule (ml_dtypes' dtype), no longer float64's
    import ml_dtypes
    bf16 = rule_dtype(torch.ones(2, dtype=torch.bfloat16))
    assert bf16 == np.dtype(ml_dtypes.bfloat16)
    assert eps_of(bf16) == 2.0**-7


def _gram(n: int, r: int, dtype, seed: int) -> np.ndarray:
    """``B Bᴴ`` of rank r, rounded to ``dtype`` (positive semidefinite up to that)."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, r))
    if np.dtype(dtype).kind == "c":
        B = B + 1j * rng.standard_normal((n, r))
    B = B.astype(dtype)
    return B @ B.conj().T


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(3, 24),
    r=st.integers(1, 3),
    dtype=st.sampled_from([np.float32, np.complex64]),
    seed=st.integers(0, 10**6),
)
def test_float32_gram_matrices_are_semidefinite_by_all_four_criteria(n, r, dtype, seed):
    """The Cholesky pivots and the symmetry check use float32's eps too: the
    criteria agreed on eigenvalues and minors but Cholesky met a pivot of
    −5e−6 < −2e−11 (float64's threshold) and called the matrix indefinite."""
    A = _gram(n, max(1, min(r, n - 1)), dtype, seed)
    d = svdkit.definiteness(A)
    assert d.kind is svdkit.linalg.Kind.POSITIVE_SEMIDEFINITE
    assert [str(c.kind) for c in d.criteria if c.kind is not None] == [str(d.kind)] * sum(
        c.kind is not None for c in d.criteria
    )
    L = svdkit.linalg.cholesky(A, semidefinite=True)
    A64 = A.astype(np.complex128 if np.iscomplexobj(A) else np.float64)
    eps32 = float(np.finfo(np.float32).eps)
    # exact but for the pivots dropped as zero, each below n·eps32·max aᵢᵢ·(1 + ‖wₖ‖)²
    assert np.linalg.norm(L @ L.conj().T - A64) <= 100 * n * eps32 * np.linalg.norm(A64)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 24), seed=st.integers(0, 10**6))
def test_float64_copy_of_the_same_data_keeps_the_float64_rule_consistently(n, seed):
    A = _gram(n, 2, np.float32, seed).astype(np.float64)
    d = svdkit.definiteness(A)
    decided = [c.kind for c in d.criteria if c.kind is not None]
    assert all(k is d.kind for k in decided)  # float64's rule, whatever it finds
    assert cholesky_attempt(A, semidefinite=True).succeeded == (
        d.is_positive_semidefinite
    )


def test_float32_symmetry_check_is_the_same_in_every_function():
    """``is_hermitian`` accepted a float32 matrix off by one rounding of float32, and
    ``eigh`` / ``cholesky`` / ``definiteness`` refused it with float64's rule."""
    rng = np.random.default_rng(0)
    B = rng.standard_normal((60, 40)).astype(np.float32)
    A = B.T @ B
    A[0, 1] = np.nextafter(np.nextafter(A[0, 1], np.inf), np.inf)
    assert A[0, 1] != A[1, 0]
    assert svdkit.is_hermitian(A)
    assert svdkit.definiteness(A).kind is svdkit.linalg.Kind.POSITIVE_DEFINITE
    L = svdkit.linalg.cholesky(A)
    assert np.linalg.norm(L @ L.T - A) <= 1e-5 * np.linalg.norm(A)
    e = svdkit.eigh(A)
    assert np.linalg.norm(e.vectors * e.values @ e.vectors.T - A) <= 1e-5 * np.linalg.norm(A)
    # the same asymmetry in float64 data is refused, as before
    A64 = A.astype(np.float64)
    A64[0, 1] += 1e-3 * abs(A64[0, 1])
    assert not svdkit.is_hermitian(A64)
    try:
        svdkit.eigh(A64)
    except svdkit.SvdkitError as err:
        assert "symmetric" in str(err)
    else:
        raise AssertionError("eigh accepted a matrix that is not symmetric")


@pytest.mark.parametrize(
    "n, r, seed", [(13, 1, 324538), (16, 3, 584895), (3, 1, 894016), (12, 2, 949646)]
)
def test_semidefinite_cholesky_of_rank_deficient_float32_grams_stays_close(n, r, seed):
    """Found by the random test above: an unpivoted factorisation dropped a small pivot
    whose column was not noise and missed A by up to 1e-2 of ‖A‖ (4000·n·eps32); the
    factor of A₊ from its eigendecomposition is kept where it is closer."""
    A = _gram(n, r, np.float32, seed)
    L = svdkit.linalg.cholesky(A, semidefinite=True)
    assert np.array_equal(L, np.tril(L))
    A64 = A.astype(np.float64)
    eps32 = float(np.finfo(np.float32).eps)
    assert np.linalg.norm(L @ L.T - A64) <= 100 * n * eps32 * np.linalg.norm(A64)
