"""The tolerance rule at the input's own precision: float32 data computed in float64.

svdkit computes in float64, but data stored in float32 carries float32's
rounding: the product of two float32 factors of rank 5 came out of rank 40
(NumPy's ``matrix_rank`` says 5), and a float32 QR factor was not orthonormal.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.linalg.tolerance import rule_dtype


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
    assert rule_dtype(torch.ones(2, dtype=torch.bfloat16)) == np.float64  # (no NumPy dtype)
