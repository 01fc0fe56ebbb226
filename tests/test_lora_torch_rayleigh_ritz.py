"""The torch backend's Rayleigh–Ritz step (``_rayleigh_ritz``): a float64 Gram matrix
for float32 deltas, the SVD of the projection where the Gram matrix cannot resolve the
values kept. Run on torch's CPU device (the same code runs on CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from svdkit.lora import RankRule
from svdkit.lora import torch_backend as tb


def _delta(m: int, n: int, s: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return ((U * s) @ V.T).astype(np.float32)


def _basis(D: torch.Tensor, cols: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    omega = torch.randn(D.shape[1], cols, generator=g, dtype=D.dtype)
    Q, _ = torch.linalg.qr(D @ (D.T @ (D @ omega)))
    return Q


def _spy(monkeypatch, name: str) -> list:
    """Record the calls of ``torch.linalg.<name>``, which still runs."""
    calls = []
    real = getattr(torch.linalg, name)
    monkeypatch.setattr(torch.linalg, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.mark.parametrize("shape", [(300, 200), (200, 300)])
def test_the_gram_triplets_are_the_projections_svd(shape, monkeypatch):
    """float32 delta: the triplets come from the float64 Gram matrix (no SVD), are
    those of ``Qᵀ D`` (float64 SVD) to float32 accuracy, orthonormal, and
    ``Qᵀ D ≈ Z diag(s) Vh`` on the kept part."""
    m, n = shape
    D = torch.from_numpy(_delta(m, n, 0.9 ** np.arange(min(m, n)), seed=1))
    Q = _basis(D, 60, seed=2)
    k = 20
    svd, eigh = _spy(monkeypatch, "svd"), _spy(monkeypatch, "eigh")
    U, s, Vh = tb._rayleigh_ritz(D, Q, k)
    assert not svd and len(eigh) == 1
    assert U.dtype == s.dtype == Vh.dtype == torch.float32
    assert U.shape == (m, k) and s.shape == (k,) and Vh.shape == (k, n)
    B = (Q.T @ D).double().numpy()
    want = np.linalg.svd(B, compute_uv=False)[:k]
    assert np.allclose(s.double().numpy(), want, rtol=1e-5, atol=1e-6 * want[0])
    assert np.all(np.diff(s.numpy()) <= 0)
    eye = np.eye(k)
    assert np.abs(U.double().numpy().T @ U.double().numpy() - eye).max() < 1e-5
    assert np.abs(Vh.double().numpy() @ Vh.double().numpy().T - eye).max() < 1e-4
    # Uᵀ D vᵢ = σᵢ eᵢ (Ritz values are the Rayleigh quotients)
    R = U.double().numpy().T @ D.double().numpy() @ Vh.double().numpy().T
    assert np.abs(R - np.diag(want)).max() < 1e-5 * want[0]


def test_values_below_the_gram_resolution_take_the_svd(monkeypatch):
    """A delta of exact rank 3 asked for 8 triplets: the five beyond it are rounding,
    which the Gram matrix would divide by (right vectors of any length); the SVD of
    the projection keeps them orthonormal."""
    D = torch.from_numpy(_delta(120, 90, np.array([1.0, 0.5, 0.25]), seed=3))
    Q = _basis(D, 30, seed=4)
    svd = _spy(monkeypatch, "svd")
    _U, s, Vh = tb._rayleigh_ritz(D, Q, 8)
    assert len(svd) == 1
    V = Vh.double().numpy()
    assert np.abs(V @ V.T - np.eye(8)).max() < 1e-5
    assert np.allclose(s[:3].numpy(), [1.0, 0.5, 0.25], rtol=1e-5)
    assert float(s[3]) < 1e-5


def test_a_float64_delta_takes_the_svd_of_the_projection(monkeypatch):
    D = torch.from_numpy(_delta(100, 80, 0.8 ** np.arange(80), seed=5).astype(np.float64))
    Q = _basis(D, 24, seed=6)
    calls = _spy(monkeypatch, "svd")
    U, s, _Vh = tb._rayleigh_ritz(D, Q, 10)
    assert calls and U.dtype == torch.float64
    want = np.linalg.svd(Q.T.numpy() @ D.numpy(), compute_uv=False)[:10]
    assert np.allclose(s.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("rank", [2, 8])
def test_an_exactly_low_rank_delta_is_certified_on_the_device(rank):
    """Rank 8 of a delta of exact rank 3 (and rank 2 of it): certified on the device,
    the product within the certificate of the delta's own truncation."""
    d = _delta(400, 300, np.array([3.0, 2.0, 1.0]), seed=7)
    f = tb.factor_delta_torch(d, RankRule(rank=rank), device="cpu", min_size=0)
    assert f.method.startswith("torch-cpu-krylov"), f.method
    kept = min(rank, 3)
    best = np.sqrt(np.sum(np.array([3.0, 2.0, 1.0])[kept:] ** 2))
    err = np.linalg.norm(d - (f.U * f.s) @ f.Vh)
    assert err <= best + 1e-5 * np.linalg.norm(d)
    assert np.allclose(f.s[:kept], [3.0, 2.0, 1.0][:kept], rtol=1e-5)


def test_a_bf16_like_flat_tail_is_certified_in_fewer_blocks_than_the_svd_route(monkeypatch):
    """The float64 Gram matrix resolves the Ritz pairs of a flat tail better than a
    float32 SVD of the projection: never more blocks, the same certified triplets."""
    rng = np.random.default_rng(8)
    m, n = 600, 500
    d = _delta(m, n, 0.05 / np.arange(1, 101), seed=9)
    d += (0.3 * np.linalg.norm(d) / np.sqrt(m * n) * rng.standard_normal((m, n))).astype(
        np.float32)
    svd_calls = _spy(monkeypatch, "svd")
    gram = tb.factor_delta_torch(d, RankRule(rank=32), device="cpu", min_size=0)
    assert not svd_calls  # every check's Ritz pairs from the Gram matrix

    def svd_route(D, Q, k):
        Ub, s, Vh = torch.linalg.svd(Q.T @ D, full_matrices=False)
        return Q @ Ub[:, :k], s[:k], Vh[:k]

    monkeypatch.setattr(tb, "_rayleigh_ritz", svd_route)
    svd = tb.factor_delta_torch(d, RankRule(rank=32), device="cpu", min_size=0)
    blocks = [int(f.method.split("(")[1].split()[0]) for f in (gram, svd)]
    assert gram.method.startswith("torch-cpu-krylov") and blocks[0] <= blocks[1]
    assert np.allclose(gram.s, svd.s, rtol=2e-3)
    opt = np.linalg.svd(d.astype(np.float64), compute_uv=False)
    best = np.sqrt(np.sum(opt[32:] ** 2))
    err = np.linalg.norm(d.astype(np.float64) - (gram.U * gram.s) @ gram.Vh)
    assert err <= 1.005 * best
