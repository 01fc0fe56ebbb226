"""Memory of two float64 passes, review fixes (traced by ``tracemalloc``, which NumPy
reports its allocations to):

* ``TruncatedSVD.fit`` on float32 sparse data measures its certificate and variances
  in float64 from blocks widened one at a time, never a float64 copy of the whole
  matrix (``X.astype(np.float64)`` copied the data and the index arrays, 1.5× the
  float32 input);
* the LoRA stack's certificate gives a rank-deficient delta (a triplet below
  ``1e-2 · σ₁``) its direct product ``Aᴴ uᵢ`` from blocks widened into one reused
  buffer, never a float64 copy of the delta (two of them were alive at a time).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

import svdkit.lowrank.estimator as estimator
from svdkit.lora import batched
from svdkit.lowrank import TruncatedSVD


def _sparse32(fmt: str, m: int, n: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, m, nnz), rng.integers(0, n, nnz)
    vals = (rng.standard_normal(nnz) + 0.5).astype(np.float32)
    X = sp.coo_matrix((vals, (rows, cols)), shape=(m, n)).asformat(fmt)
    X.sum_duplicates()
    return X


def _stored(X: sp.csr_matrix) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_float32_sparse_fit_statistics_never_widen_the_whole_matrix(fmt, monkeypatch):
    # 11 MiB stored: a float64 copy of it is 17 MiB; the m × k arrays are 0.8 MiB each
    X = _sparse32(fmt, 20000, 2000, 1_500_000)
    stored = _stored(X)
    peaks = []
    inner = estimator._fitted_statistics

    def traced(*args, **kwargs):
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        out = inner(*args, **kwargs)
        peaks.append(tracemalloc.get_traced_memory()[1] - start)
        return out

    monkeypatch.setattr(estimator, "_fitted_statistics", traced)
    tracemalloc.start()
    try:
        est = TruncatedSVD(5, random_state=0).fit(X)
    finally:
        tracemalloc.stop()
    assert len(peaks) == 1
    # blocks of 2¹⁷ entries and a few m × k / n × k arrays: well under half of X
    budget = 0.6 * stored
    assert peaks[0] <= budget, f"{peaks[0] / 2**20:.1f} MiB > {budget / 2**20:.1f} MiB"
    assert est.components_.dtype == np.float32
    # the same total variance as the float64 statistics of the whole matrix
    _, var = mean_variance_axis(X.astype(np.float64), axis=0)
    P = np.asarray(X.astype(np.float64) @ est.components_.T.astype(np.float64))
    np.testing.assert_allclose(
        est.explained_variance_ratio_, np.var(P, axis=0) / var.sum(), rtol=1e-5
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_statistics_by_blocks_match_the_whole_matrix(fmt, dtype, monkeypatch):
    # tiny blocks: many of them, rows (columns) split at every boundary
    monkeypatch.setattr(estimator, "_SPARSE_BLOCK_ENTRIES", 64)
    rng = np.random.default_rng(3)
    X = _sparse32(fmt, 700, 90, 4000, seed=3).astype(dtype)
    m, n = X.shape
    k = 4
    components = np.linalg.qr(rng.standard_normal((n, k)))[0].T.astype(dtype)
    U = rng.standard_normal((m, k))
    s = np.array([3.0, 2.0, 1.0, 0.0])
    Z = (U * s).astype(dtype)
    got = estimator._fitted_statistics(X, components, (Z, U, s))
    X64 = X.astype(np.float64)
    V = components.T.astype(np.float64)
    _, var = mean_variance_axis(X64, axis=0)
    P = np.asarray(X64 @ V)
    left = estimator._left_vectors(Z, s, U)
    np.testing.assert_allclose(got.full_var, var.sum(), rtol=1e-13)
    np.testing.assert_allclose(got.exp_var, np.var(P, axis=0), rtol=1e-12)
    np.testing.assert_allclose(got.right, np.linalg.norm(P - Z, axis=0), rtol=1e-12)
    ref_left = np.linalg.norm(np.asarray(X64.T @ left) - V * s, axis=0)
    np.testing.assert_allclose(got.left, ref_left, rtol=1e-12)
    assert got.full_var > 0 and 0 <= got.ratio.sum() <= 1 + 1e-12


@pytest.mark.parametrize("shape", [(512, 512), (256, 1024), (1024, 256)])
def test_lora_certify_of_rank_deficient_deltas_makes_no_float64_copy(shape):
    # two float32 deltas of rank 8 (1 MiB each), 12 directions asked: the triplets
    # beyond the rank (σ ≈ 0) take the direct product Aᴴ uᵢ
    count, k = 2, 12
    m, n = shape
    wide = m < n
    rng = np.random.default_rng(5)
    deltas = [
        rng.standard_normal((m, 8), dtype=np.float32)
        @ rng.standard_normal((8, n), dtype=np.float32)
        for _ in range(count)
    ]
    V0 = rng.standard_normal((count, min(m, n), k))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fro2, U, s, V, _, left, _ = batched._certify(deltas, V0, wide)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.all(s[:, -1] < batched._GROUPED_MIN * s[:, 0])  # the direct products ran
    one64 = 8 * m * n  # one float64 delta: 2 MiB (the old code held two at a time: 4.7 MiB)
    stack = 8 * count * max(m, n) * k  # a stacked (count, long side, k) array: ≤ 0.19 MiB
    # the block buffer (0.5 MiB) and the stacked arrays: 1.35–1.5 MiB measured
    budget = one64 // 2 + 12 * stack
    assert peak <= budget, f"{peak / 2**20:.2f} MiB > {budget / 2**20:.2f} MiB"
    # the left residuals are those of the direct products in float64
    for j in range(count):
        A = deltas[j].astype(np.float64)
        A = A.T if wide else A
        ref = np.linalg.norm(A.T @ U[j] - V[j] * s[j], axis=0)
        np.testing.assert_allclose(left[j], ref, rtol=1e-9, atol=1e-12 * s[j, 0])
        np.testing.assert_allclose(fro2[j], np.vdot(A, A), rtol=1e-12)
