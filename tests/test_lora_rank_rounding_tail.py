"""Rank rules at the rounding level: a cap never raises the rank, and error bounds below
the rounding of a float64 SVD are monotone (they stop at the numerical rank).

An exactly low-rank delta (integer factors: exact in float32 and float64) has singular
values past its rank at the rounding level only. ``energy=1`` / ``error=0`` (and tight
bounds) give that rank; a ``max_rank`` above it once gave the cap, the spectrum computed
up to the cap being taken for a leading part with real energy past it.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.lora import RankRule
from svdkit.lora.batched import batchable, factor_batch
from svdkit.lora.factor import factor_delta

RULES = (
    {"energy": 1.0},
    {"error": 0.0},
    {"error": 1e-12},
    {"energy": 1.0 - 1e-12},
    {"energy": 1.0 - 1e-14},  # ε = 1e-7: below what float32 factors meet
)


def exact_low_rank(shape: tuple[int, int], rank: int, dtype: type, seed: int) -> np.ndarray:
    """A delta of exact rank ``rank`` in ``dtype`` (small integer factors)."""
    rng = np.random.default_rng(seed)
    m, n = shape
    d = rng.integers(-3, 4, (m, rank)) @ rng.integers(-3, 4, (rank, n))
    assert np.linalg.matrix_rank(d) == rank
    return d.astype(dtype)


def rel_error(delta: np.ndarray, f) -> float:
    """``‖ΔW − U Σ Vᴴ‖_F / ‖ΔW‖_F`` in float64, from the entries."""
    d = delta.astype(np.float64)
    approx = (f.U.astype(np.float64) * f.s.astype(np.float64)) @ f.Vh.astype(np.float64)
    return float(np.linalg.norm(d - approx) / np.linalg.norm(d))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,rank", [((64, 48), 4), ((48, 96), 3), ((160, 120), 5)])
@pytest.mark.parametrize("kw", RULES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_cap_never_raises_rank_factor_delta(dtype, shape, rank, kw):
    d = exact_low_rank(shape, rank, dtype, seed=sum(shape))
    free = factor_delta(d, RankRule(**kw))
    assert free.rank == rank
    for cap in (rank + 1, 2 * rank, min(shape) - 1):
        f = factor_delta(d, RankRule(**kw, max_rank=cap))
        assert f.rank == free.rank, (cap, f.rank, f.s[-1])
        # the factors meet the rule (exact to rounding where it leaves nothing out)
        bound = max(RankRule(**kw).rank_tol, 1e-12)
        assert rel_error(d, f) <= bound
        assert f.quality.relative_error <= bound


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,rank", [((200, 160), 6), ((128, 300), 5)])
@pytest.mark.parametrize("kw", RULES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_cap_never_raises_rank_stacked(dtype, shape, rank, kw):
    deltas = [exact_low_rank(shape, rank, dtype, seed=s) for s in range(3)]
    uncapped = [factor_delta(d, RankRule(**kw)).rank for d in deltas]
    assert uncapped == [rank] * 3
    for cap in (rank + 1, 2 * rank, 20):
        rule = RankRule(**kw, max_rank=cap)
        assert batchable(shape, dtype, rule)  # the stacked path is the one tested
        found = factor_batch(deltas, rule)
        assert [f.rank for f in found] == uncapped, (cap, [f.method for f in found])
        for d, f in zip(deltas, found, strict=True):
            assert rel_error(d, f) <= max(rule.rank_tol, 1e-12)


def test_cap_at_the_numerical_rank_of_a_real_tail():
    # values above the rounding level are real: the cap still caps them
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((64, 12)))
    V, _ = np.linalg.qr(rng.standard_normal((48, 12)))
    s = 10.0 ** -np.arange(12.0)  # down to 1e-11: above 48 eps
    d = (U * s) @ V.T
    assert factor_delta(d, RankRule(energy=1.0)).rank == 12
    assert factor_delta(d, RankRule(energy=1.0, max_rank=8)).rank == 8
    assert factor_delta(d, RankRule(error=0.0, max_rank=12)).rank == 12


def numerical_rank(d: np.ndarray) -> int:
    s = np.linalg.svd(d.astype(np.float64), compute_uv=False)
    return int(np.count_nonzero(s > s.size * np.finfo(np.float64).eps * s[0]))


BOUNDS = (1e-8, 1e-10, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 0.0)


@pytest.mark.parametrize("max_rank", [None, 20])
@pytest.mark.parametrize("case", ["exact4", "graded"])
def test_error_bounds_below_rounding_are_monotone(case, max_rank):
    rng = np.random.default_rng(7)
    if case == "exact4":
        d = exact_low_rank((64, 48), 4, np.float64, seed=0)
    else:  # values 1 … 1e-13, then exact zeros: ranks that grow with the bound
        U, _ = np.linalg.qr(rng.standard_normal((64, 14)))
        V, _ = np.linalg.qr(rng.standard_normal((48, 14)))
        d = (U * 10.0 ** -np.arange(14.0)) @ V.T
    top = numerical_rank(d)
    sigma = np.linalg.svd(d, compute_uv=False)
    fro = float(np.linalg.norm(d))
    ranks, errors = [], []
    for eps in BOUNDS:
        f = factor_delta(d, RankRule(error=eps, max_rank=max_rank))
        err = rel_error(d, f)
        assert f.quality.relative_error == pytest.approx(err, rel=0.5, abs=1e-15)
        ranks.append(f.rank)
        errors.append(err)
        # never past the numerical rank: more values of rounding lower nothing
        assert f.rank <= top, (eps, f.rank, top)
        # the smallest rank whose optimum meets the bound (float64 SVD), where one does
        optimum = np.sqrt(np.cumsum(sigma[::-1] ** 2)[::-1]) / fro  # optimum[j]: rank j
        meets = [j for j in range(top + 1) if optimum[j] <= 0.5 * eps] if eps else []
        if meets:
            assert f.rank <= meets[0] + 1 and err <= eps, (eps, f.rank, err)
    assert ranks == sorted(ranks), ranks  # a tighter bound never takes less rank
    assert ranks[-1] == top  # error=0: the numerical rank
    # past the rank error=0 gives, no bound takes more rank for an error no better
    floor = errors[-1]
    for eps, k, err in zip(BOUNDS, ranks, errors, strict=True):
        if k == top:
            assert err <= max(4 * floor, 1e-14), (eps, err, floor)


def test_exact_rank_4_at_1e16_is_rank_4():
    d = exact_low_rank((64, 48), 4, np.float64, seed=0)
    for eps in (1e-15, 1e-16, 1e-17, 0.0):
        f = factor_delta(d, RankRule(error=eps))
        assert f.rank == 4, (eps, f.rank)
        assert rel_error(d, f) <= 1e-14


def test_settle_stops_at_numerical_rank():
    s = np.array([1.0, 0.5, 1e-17, 1e-17])
    errors = [1.1, 0.5, 3e-16, 2.9e-16, 2.9e-16]
    measured = []

    def measure(j):
        measured.append(j)
        return errors[j]

    assert RankRule(error=1e-17).settle(s, 1.25, 2, measure) == (2, 3e-16)
    assert max(measured) == 2
    # values above the rounding level are still walked
    s = np.array([1.0, 0.5, 1e-10, 1e-17])
    assert RankRule(error=1e-17).settle(s, 1.25, 2, errors.__getitem__) == (3, 2.9e-16)
    # and the rounding level is that of min(m, n) values where given
    s = np.array([1.0, 0.5, 1e-15])  # above 3 eps, below 48 eps
    assert RankRule(error=1e-17).settle(s, 1.25, 2, errors.__getitem__) == (3, 2.9e-16)
    assert RankRule(error=1e-17).settle(s, 1.25, 2, errors.__getitem__, size=48) == (2, 3e-16)


def test_select_takes_a_part_ending_at_rounding_for_complete():
    s = np.array([2.0, 1.0, 1e-16])
    total = 5.0
    assert RankRule(energy=1.0).select(s, total, complete=False) == 2
    assert RankRule(error=0.0).select(s, total, complete=False, size=48) == 2
    # a last value above the rounding level: the energy past it may be real
    s = np.array([2.0, 1.0, 1e-12])
    assert RankRule(energy=1.0).select(s, total, complete=False) == 3
    # the level scales with size: 5e-15 is rounding for 48 values, not for 3
    s = np.array([2.0, 1.0, 5e-15])
    assert RankRule(energy=1.0).select(s, total, complete=False) == 3
    assert RankRule(energy=1.0).select(s, total, complete=False, size=48) == 2
