"""The torch backend's Krylov basis at each check: kept where orthonormal, one CholeskyQR
step where nearly so, a QR where a block reached the end of the Krylov space
(``svdkit.lora.torch_backend._orthonormalised``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import svdkit.lora.torch_backend as tb
from svdkit.lora import RankRule
from svdkit.lora.torch_backend import factor_delta_torch


def _integer_delta(rank: int, dtype: torch.dtype) -> torch.Tensor:
    """300×280 of exact rank ``rank``: small integers, so that its products are exact
    and a block at the end of the Krylov space is left exactly zero."""
    rng = np.random.default_rng(rank)
    left = rng.integers(-3, 4, (300, rank))
    right = rng.integers(-3, 4, (rank, 280))
    return torch.from_numpy((left @ right).astype(np.float64)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rank", [3, 20])
def test_every_checked_basis_is_orthonormal_past_the_end_of_the_krylov_space(rank, dtype):
    D = _integer_delta(rank, dtype)
    eps = torch.finfo(dtype).eps
    checks = 0
    for _, U, s, Vh in tb._krylov(D, 18, 0, 4):
        checks += 1
        k = U.shape[1]
        assert float(torch.linalg.norm(U.T @ U - torch.eye(k, dtype=dtype))) < 1e3 * eps * k
        # the leading min(rank, 18) Ritz triplets are the delta's own
        r = min(rank, 18)
        residual = torch.linalg.norm(D @ Vh[:r].T - U[:, :r] * s[:r])
        assert float(residual) < 1e3 * eps * float(torch.linalg.norm(D))
        exact = torch.linalg.svdvals(D.double())[:r]
        assert torch.allclose(s[:r].double(), exact, rtol=1e3 * eps)
    assert checks == 3  # blocks 2, 3 and 4


def _off(Q: torch.Tensor) -> float:
    gram = Q.T @ Q
    gram.diagonal().sub_(1.0)
    return float(torch.max(torch.abs(gram)))


def _same_span(P: torch.Tensor, Q: torch.Tensor) -> float:
    """‖(I − QQᵀ) P‖ for orthonormal Q."""
    return float(torch.linalg.norm(P - Q @ (Q.T @ P)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_orthonormalised_keeps_mends_or_refactors(dtype):
    torch.manual_seed(0)
    eps = torch.finfo(dtype).eps
    Q, _ = torch.linalg.qr(torch.randn(500, 40, dtype=dtype))
    kept, how = tb._orthonormalised(Q)
    assert how == "kept" and kept is Q
    # a column 1000 rounding units off its place, one 1000 units too long: one
    # CholeskyQR step, orthonormal to rounding again, the same span
    bent = Q.clone()
    bent[:, 7] += 1e3 * eps * Q[:, 2]
    bent[:, 3] *= 1 + 1e3 * eps
    mended, how = tb._orthonormalised(bent)
    assert how == "cholesky"
    assert _off(mended) <= 84 * eps
    assert _same_span(bent, mended) <= 1e2 * eps * float(torch.linalg.norm(bent))
    # a block of normalised noise that is not orthogonal to the basis before it: a QR
    noise, _ = torch.linalg.qr(torch.randn(500, 10, dtype=dtype) + 5 * Q[:, :10])
    both = torch.cat([Q, noise], dim=1)
    redone, how = tb._orthonormalised(both)
    assert how == "qr"
    assert _off(redone) <= 84 * eps
    assert _same_span(both, redone) <= 1e2 * eps * float(torch.linalg.norm(both))


def test_a_full_rank_delta_keeps_its_basis_without_the_qr(monkeypatch):
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((400, 300)))
    V, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    d = ((U / np.arange(1, 301)) @ V.T).astype(np.float32)
    marks: list[str] = []
    orthonormalised = tb._orthonormalised

    def recorded(Q):
        Q, how = orthonormalised(Q)
        marks.append(how)
        return Q, how

    monkeypatch.setattr(tb, "_orthonormalised", recorded)
    f = factor_delta_torch(d, RankRule(rank=16), device="cpu", min_size=0)
    assert marks and "qr" not in marks
    Uf, s, Vh = (x.astype(np.float64) for x in (f.U, f.s, f.Vh))
    assert np.linalg.norm(Uf.T @ Uf - np.eye(16)) < 1e-5
    exact = np.linalg.svd(d.astype(np.float64), compute_uv=False)
    best = np.sqrt(np.sum(exact[16:] ** 2))
    assert np.linalg.norm(d - (Uf * s) @ Vh) <= best * (1 + 1e-3)


@pytest.mark.parametrize("rank", [3, 20])
def test_an_exact_low_rank_delta_is_certified_and_reproduced(rank):
    d = _integer_delta(rank, torch.float32).numpy()
    f = factor_delta_torch(d, RankRule(rank=32), device="cpu", min_size=0)
    approx = (f.U.astype(np.float64) * f.s) @ f.Vh.astype(np.float64)
    assert np.linalg.norm(d - approx) <= 1e-5 * np.linalg.norm(d)
    assert f.method.startswith("torch-cpu")
