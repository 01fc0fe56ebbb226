"""Review of svdkit.lora.batched: edge cases checked from the entries (float64 SVD)."""

from __future__ import annotations

import numpy as np
from test_lora_batched import _delta

from svdkit.lora.batched import factor_batch
from svdkit.lora.factor import factor_delta


def _power(m: int, n: int, seed: int, dtype=np.float32, scale: float = 1.0) -> np.ndarray:
    return _delta(m, n, scale / np.arange(1, min(m, n) + 1), seed, dtype)


def test_overflowing_float32_module_does_not_warn_from_threads():
    deltas = [_power(150, 100, 0, scale=1e20), _power(150, 100, 1), _power(150, 100, 2)]
    found = factor_batch(deltas, 8)
    for d, f in zip(deltas, found, strict=True):
        assert f.rank == 8
        true = np.linalg.svd(d.astype(np.float64), compute_uv=False)
        np.testing.assert_allclose(f.s, true[:8], rtol=1e-3)


def _check(delta: np.ndarray, f, k: int) -> None:
    """The certificate and Quality recomputed from the entries (float64 full SVD)."""
    d = np.asarray(delta, dtype=np.float64)
    U, s, Vh = f.U, f.s, f.Vh
    assert f.rank == k and U.shape == (d.shape[0], k) and Vh.shape == (k, d.shape[1])
    assert U.dtype == Vh.dtype == s.dtype == np.float64
    assert U.flags.c_contiguous and Vh.flags.c_contiguous
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(k), atol=1e-10)
    true = np.linalg.svd(d, compute_uv=False)
    bound = f.tol * s[0] * (1 + 1e-9) + 1e-12 * true[0]
    assert np.linalg.norm(d @ Vh.T - U * s, axis=0).max() <= bound
    assert np.linalg.norm(d.T @ U - Vh.T * s, axis=0).max() <= bound
    err = float(np.linalg.norm(d - (U * s) @ Vh))
    assert f.quality.error == np.float64(err) or abs(f.quality.error - err) <= 1e-6 * err + (
        1e-9 * true[0]
    )
    optimum = float(np.sqrt(np.sum(true[k:] ** 2)))
    assert f.quality.optimum_lower <= optimum * (1 + 1e-9) + 1e-12 * true[0]
    # the sign rule (svdkit.linalg.signs): each column's pivot is positive
    for col in U.T:
        mags = np.abs(col)
        pivot = col[np.argmax(mags >= mags.max() * (1 - 1e-10))]
        assert pivot > 0


def test_tiny_float32_modules_stay_in_the_stack():
    """Entries ~1e-10 (σ₁ ~1e-10): the squared norms of AᴴA X underflowed float32 and
    the stack lost its Krylov space, so every module was refactored alone. The steps
    are scale-free now (a power of two per module): certified in the stack, the same
    singular values up to the scale."""
    for wide in (False, True):
        shape = (100, 150) if wide else (150, 100)
        deltas = [_power(*shape, seed, scale=1e-10) for seed in range(3)]
        found = factor_batch(deltas, 8)
        assert [f.method for f in found] == ["krylov-batch"] * 3
        for d, f in zip(deltas, found, strict=True):
            _check(d, f, 8)


def test_mixed_magnitudes_in_one_batch():
    """1e-10, 1 and 1e17 in one float32 batch: each certified from its own entries."""
    deltas = [_power(120, 90, j, scale=c) for j, c in enumerate((1e-10, 1.0, 1e17))]
    for d, f in zip(deltas, factor_batch(deltas, 8), strict=True):
        _check(d, f, 8)


def test_views_readonly_tight_tol_and_rules_match_factor_delta():
    """Transposed (non-contiguous) read-only views as extract passes them, float64 at
    tol 1e-8, energy / error rules with a cap: certified, same rank as one at a time,
    deterministic for a seed."""
    from svdkit.lora import RankRule

    base = [_power(110, 140, seed, np.float64) for seed in range(3)]
    views = [b.T for b in base]  # (140, 110), F-ordered
    for v in views:
        v.flags.writeable = False
    found = factor_batch(views, 8, tol=1e-8, seed=3)
    again = factor_batch(views, 8, tol=1e-8, seed=3)
    for v, f, g in zip(views, found, again, strict=True):
        assert f.method == "krylov-batch" and f.tol == 1e-8
        _check(v, f, 8)
        assert np.array_equal(f.U, g.U) and np.array_equal(f.Vh, g.Vh)
    for rule in (RankRule(energy=0.9, max_rank=20), RankRule(error=0.3, max_rank=20)):
        for v, f in zip(views, factor_batch(views, rule), strict=True):
            one = factor_delta(v, rule)
            assert f.rank == one.rank
            _check(v, f, f.rank)
