"""Rank mode on a wide matrix of low numerical rank (a hunt of 2026-11-22).

A 300×320 float32 matrix of rank 4 with a tight energy rule: the Gram path's
Rayleigh–Ritz over *all* n = 320 eigenvectors of AᴴA (when the eigenvalues do not
resolve the threshold) had more vectors than A has rows, and raised a NumPy
broadcasting ValueError — from `svdkit.svd`, LoRA's `extract` and `pissa` alike.
With seed 0 (the next review) the search for missed copies of a repeated value
did the same: seeds 0–3 here, and many more in test_lowrank_wide_rank_seeds.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.lora import RankRule
from svdkit.lora.factor import factor_delta
from svdkit.lowrank import truncated_svd


def _wide_low_rank(dtype, m=300, n=320, r=4, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, r)) @ rng.standard_normal((r, n))).astype(dtype)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", [RankRule(error=1e-9), RankRule(error=1e-7),
                                  RankRule(energy=1 - 1e-14)],
                         ids=["error1e-9", "error1e-7", "energy1-1e-14"])
def test_tight_rules_on_a_wide_low_rank_matrix(dtype, rule, seed):
    d = _wide_low_rank(dtype, seed=seed)
    f = factor_delta(d, rule)
    d64 = d.astype(np.float64)
    err = np.linalg.norm(d64 - (f.U * f.s) @ f.Vh)
    assert f.quality.error == pytest.approx(err, rel=1e-6, abs=1e-12 * np.linalg.norm(d64))
    sigma = np.linalg.svd(d64, compute_uv=False)
    tails = np.sqrt(np.cumsum((sigma**2)[::-1])[::-1])  # tails[j]: error of rank j
    eps = rule.error if rule.error is not None else np.sqrt(1 - rule.energy)
    bound = eps * np.linalg.norm(d64)
    assert err <= bound * (1 + 1e-6) or f.rank == min(d.shape)  # met, or all of it
    if rule.error is not None:  # the smallest such rank: one fewer misses the bound
        assert tails[f.rank - 1] > bound * (1 - 1e-6), (f.rank, tails[f.rank - 1] / bound)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(300, 320), (320, 300), (40, 500)])
def test_energy_rank_mode_on_wide_and_tall_low_rank(shape, seed):
    d = _wide_low_rank(np.float32, *shape, seed=seed)
    r = truncated_svd(d, None, rank_tol=1e-7, rank_norm="energy")
    d64 = d.astype(np.float64)
    assert r.s.size >= 4
    resid = np.linalg.norm(d64 - (r.U * r.s) @ r.Vh) / np.linalg.norm(d64)
    assert resid <= 1e-7 * (1 + 1e-3) + 1e-6  # float32 matrix: its own rounding
    right = np.linalg.norm(d64 @ r.Vh.conj().T - r.U * r.s, axis=0)
    assert np.all(right <= 1e-6 * r.s[0] + 1e-12)


def test_runs_of_values_below_the_certificate_are_not_searched_for_copies():
    """A merged LoRA's float32 delta (rank 16 plus float32 rounding) asked at rank 64:
    48 rounding values, equal within their errors at tol = 1e-3, sent the search for
    missed copies round after round (2 s of a 1024×384 delta, 5 ms at rank 16)."""
    from types import SimpleNamespace

    from svdkit.lowrank.krylov import cluster_end

    s = np.concatenate([0.05 * 0.9 ** np.arange(16), np.full(40, 6e-8), np.full(8, 1e-8)])
    cert = SimpleNamespace(s=s, worst=np.full(64, 1e-10))
    assert cluster_end(cert, 64, 8, False) == 56  # without the resolution: a run
    assert cluster_end(cert, 64, 8, False, resolved=1e-3 * s[0]) is None
    # a real repeated value above the resolution is still looked into
    rep = np.concatenate([[1.0], 0.5 * np.ones(10), 0.1 * 0.9 ** np.arange(53)])
    cert = SimpleNamespace(s=rep, worst=np.full(64, 1e-6))
    assert cluster_end(cert, 64, 8, False, resolved=1e-3) == 11


def test_a_merged_lora_delta_at_a_rank_above_its_own():
    rng = np.random.default_rng(0)
    m, n = 1024, 384
    U, _ = np.linalg.qr(rng.standard_normal((m, 16)))
    V, _ = np.linalg.qr(rng.standard_normal((n, 16)))
    W = 0.02 * rng.standard_normal((m, n))
    d = (W + (U * (0.05 * 0.9 ** np.arange(16))) @ V.T).astype(np.float32) - W.astype(np.float32)
    r = truncated_svd(d, 64, tol=1e-3)
    d64 = d.astype(np.float64)
    sigma = np.linalg.svd(d64, compute_uv=False)
    assert r.s.size == 64
    right = np.linalg.norm(d64 @ r.Vh.T - r.U * r.s, axis=0)
    left = np.linalg.norm(d64.T @ r.U - r.Vh.T * r.s, axis=0)
    assert np.all(np.maximum(right, left) <= 1e-3 * sigma[0] * (1 + 1e-6))
    np.testing.assert_allclose(r.s[:16], sigma[:16], rtol=1e-6)
    assert np.all(np.abs(r.s - sigma[:64]) <= 1e-3 * sigma[0])
