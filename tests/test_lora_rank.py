"""Rank selection at the edges of float64: tiny error bounds, full energy, exact ranks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svdkit.lora.factor import factor_delta
from svdkit.lora.rank import RankRule, energy_rank


def _delta(s: np.ndarray, m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return (U * s) @ V.T


@pytest.mark.parametrize("eps", [1e-9, 1e-12, 3e-8])
def test_a_tiny_error_bound_on_a_float64_delta_is_met_at_the_smallest_rank(eps):
    s = 0.5 ** np.arange(80)
    d = _delta(s, 160, 120, seed=1)
    f = factor_delta(d, RankRule(error=eps))
    k = f.rank
    err = np.linalg.norm(d - (f.U * f.s) @ f.Vh) / np.linalg.norm(d)
    assert err <= eps * (1 + 1e-6)
    tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2))  # tail[j]: error at rank j
    assert tail[k - 1] > eps  # one fewer would not do
    assert f.quality.error <= eps * np.linalg.norm(d) * (1 + 1e-6)


def test_full_energy_of_an_exactly_low_rank_float64_delta_is_its_rank():
    d = _delta(np.array([5.0, 3.0, 2.0, 1.0, 0.5]), 90, 70, seed=2)
    assert factor_delta(d, RankRule(energy=1.0)).rank == 5
    assert factor_delta(d, RankRule(error=0.0)).rank == 5


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=40),
    st.floats(1e-12, 0.99),
    st.floats(0.0, 1.0),
)
def test_energy_rank_is_the_smallest_rank_leaving_out_at_most_the_allowance(values, tail, rest):
    """Against a direct count in exact rationals of the float64 squares. The values'
    own tail is summed exactly enough; the remainder ``total − Σ sᵢ²`` past them is
    known to a few rounding errors of ``total`` (and one at the rounding level of
    ``64 eps · total`` counts as none), which is the resolution asserted."""
    from fractions import Fraction

    s = np.sort(np.asarray(values))[::-1]
    sq = [Fraction(float(x)) ** 2 for x in s]
    total = float(sum(sq) * (1 + Fraction(rest)))  # part of the energy past the values
    k = energy_rank(s, total, 1.0 - tail, tail=tail)
    allowed = Fraction(tail) * Fraction(total)
    resolution = Fraction(70 + s.size) * Fraction(float(np.finfo(float).eps)) * Fraction(total)
    left = [Fraction(total) - sum(sq[:j]) for j in range(s.size + 1)]
    if k is None:
        assert all(left[j] > allowed - resolution for j in range(1, s.size + 1))
    else:
        assert 1 <= k <= s.size
        assert left[k] <= allowed * (1 + Fraction(1, 10**12)) + resolution
        assert all(left[j] > allowed - resolution for j in range(1, k))


@pytest.mark.parametrize("eps", [1e-4, 1e-6])
def test_the_torch_backend_meets_tight_error_bounds(eps):
    """Its float32 arithmetic cannot tell energies apart below ~1e-7 of the total:
    tight rules go to the float64 path, and are met there at the smallest rank."""
    from svdkit.lora.torch_backend import factor_delta_torch

    s = 0.9 ** np.arange(400)
    d = _delta(s, 600, 400, seed=4).astype(np.float32)
    f = factor_delta_torch(d, RankRule(error=eps), device="cpu", min_size=0)
    d64 = d.astype(np.float64)
    err = np.linalg.norm(d64 - (f.U.astype(np.float64) * f.s) @ f.Vh) / np.linalg.norm(d64)
    assert err <= eps * (1 + 1e-3)
    sd = np.linalg.svd(d64, compute_uv=False)
    tail = np.sqrt(np.cumsum((sd**2)[::-1])[::-1] / np.sum(sd**2))
    assert tail[f.rank - 1] > eps  # one fewer would not do


def test_the_torch_backend_reports_a_small_error_truly():
    """Rank 5 plus a tail of 1e-5: the error reported is the measured one."""
    from svdkit.lora.torch_backend import factor_delta_torch

    s = np.concatenate([[5.0, 4.0, 3.0, 2.0, 1.0], 1e-5 * np.ones(295)])
    d = _delta(s, 500, 300, seed=5).astype(np.float32)
    f = factor_delta_torch(d, RankRule(rank=5), device="cpu", min_size=0)
    assert f.method.startswith("torch-cpu")
    d64 = d.astype(np.float64)
    err = np.linalg.norm(d64 - (f.U.astype(np.float64) * f.s) @ f.Vh)
    assert f.quality.error == pytest.approx(err, rel=1e-3)
