"""Rank mode on a wide matrix of low numerical rank (a hunt of 2026-11-22).

A 300×320 float32 matrix of rank 4 with a tight energy rule: the Gram path's
Rayleigh–Ritz over *all* n = 320 eigenvectors of AᴴA (when the eigenvalues do not
resolve the threshold) had more vectors than A has rows, and raised a NumPy
broadcasting ValueError — from `svdkit.svd`, LoRA's `extract` and `pissa` alike.
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", [RankRule(error=1e-9), RankRule(error=1e-7),
                                  RankRule(energy=1 - 1e-14)],
                         ids=["error1e-9", "error1e-7", "energy1-1e-14"])
def test_tight_rules_on_a_wide_low_rank_matrix(dtype, rule):
    d = _wide_low_rank(dtype)
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


@pytest.mark.parametrize("shape", [(300, 320), (320, 300), (40, 500)])
def test_energy_rank_mode_on_wide_and_tall_low_rank(shape):
    d = _wide_low_rank(np.float32, *shape)
    r = truncated_svd(d, None, rank_tol=1e-7, rank_norm="energy")
    d64 = d.astype(np.float64)
    assert r.s.size >= 4
    resid = np.linalg.norm(d64 - (r.U * r.s) @ r.Vh) / np.linalg.norm(d64)
    assert resid <= 1e-7 * (1 + 1e-3) + 1e-6  # float32 matrix: its own rounding
    right = np.linalg.norm(d64 @ r.Vh.conj().T - r.U * r.s, axis=0)
    assert np.all(right <= 1e-6 * r.s[0] + 1e-12)
