"""svdkit.lora.batched: small modules of one shape factored in one stacked block Krylov.

Every result is checked from the entries (residuals recomputed in float64, the
error and the optimum from NumPy's full SVD), against the one-at-a-time
``factor_delta``, and on the fallbacks the batch must take.
"""

from __future__ import annotations

import importlib
import math

import lora_support
import numpy as np
import pytest
from conftest import assert_sign_rule
from hypothesis import given, settings
from hypothesis import strategies as st

from svdkit.errors import SvdkitError
from svdkit.lora import RankRule, extract
from svdkit.lora import batched as batched_mod
from svdkit.lora.batched import BATCH_BYTES, batchable, factor_batch, plan_batches
from svdkit.lora.factor import factor_delta
from svdkit.lowrank.krylov import default_max_basis

extract_mod = importlib.import_module("svdkit.lora.extract")
lora_pair = lora_support.lora_pair
finetuned_pair = lora_support.finetuned_pair


def _delta(m: int, n: int, s: np.ndarray, seed: int, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = s.size
    U, _ = np.linalg.qr(rng.standard_normal((m, p)))
    V, _ = np.linalg.qr(rng.standard_normal((n, p)))
    return ((U * s) @ V.T).astype(dtype)


def _power(m: int, n: int, seed: int, dtype=np.float32) -> np.ndarray:
    return _delta(m, n, 1.0 / np.arange(1, min(m, n) + 1), seed, dtype)


def _check_certified(delta: np.ndarray, f, k: int) -> None:
    """What a certified result promises, recomputed from the entries in float64."""
    d = np.asarray(delta, dtype=np.float64)
    U, s, Vh = f.U, f.s, f.Vh
    assert U.shape == (d.shape[0], f.rank) and Vh.shape == (f.rank, d.shape[1])
    assert f.rank == min(k, *d.shape)
    np.testing.assert_allclose(U.T @ U, np.eye(f.rank), atol=1e-10)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(f.rank), atol=1e-10)
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)
    true = np.linalg.svd(d, compute_uv=False)
    bound = f.tol * s[0] * (1 + 1e-9) + 1e-12 * true[0]
    right = np.linalg.norm(d @ Vh.T - U * s, axis=0)
    left = np.linalg.norm(d.T @ U - Vh.T * s, axis=0)
    assert right.max() <= bound, (right.max(), bound)
    assert left.max() <= bound, (left.max(), bound)
    # each σ̃ᵢ lies within its residual of a singular value (Weyl for the pair)
    rho = np.maximum(right, left)
    for si, ri in zip(s, rho, strict=True):
        assert np.min(np.abs(true - si)) <= ri * (1 + 1e-6) + 1e-12 * true[0]
    # the reported error is the error, and the optimum's lower bound is below the optimum
    err = float(np.linalg.norm(d - (U * s) @ Vh))
    q = f.quality
    # the error is a float64 difference of sums (as factor_delta's): resolved to about
    # √eps · ‖ΔW‖_F where it is not recomputed from the entries
    fro = float(np.linalg.norm(d))
    assert q.error == pytest.approx(err, rel=1e-6, abs=max(1e-9 * true[0], 3e-8 * fro))
    assert q.fro == pytest.approx(float(np.linalg.norm(d)), rel=1e-12)
    optimum = float(np.sqrt(np.sum(true[f.rank :] ** 2)))
    assert q.optimum_lower <= optimum * (1 + 1e-9) + 1e-12 * true[0]
    assert_sign_rule(U, "U")


@pytest.mark.parametrize(
    "m,n,k,dtype",
    [
        (200, 200, 8, np.float32),
        (400, 120, 8, np.float32),
        (120, 400, 12, np.float32),
        (300, 200, 32, np.float32),
        (160, 300, 16, np.float64),
    ],
)
def test_batch_is_certified_and_matches_one_at_a_time(m, n, k, dtype):
    deltas = [_power(m, n, seed, dtype) for seed in range(4)]
    found = factor_batch(deltas, k)
    assert [f.method for f in found] == ["krylov-batch"] * 4
    for d, f in zip(deltas, found, strict=True):
        _check_certified(d, f, k)
        one = factor_delta(d, k)
        assert one.rank == f.rank
        np.testing.assert_allclose(f.s, one.s, atol=2e-3 * one.s[0])
        # the same triplets (σᵢ = 1/i is well separated): same signs, close vectors
        assert np.all(np.sum(f.U * one.U, axis=0) > 0.99)
        assert np.all(np.sum(f.Vh * one.Vh, axis=1) > 0.99)
        assert f.quality.excess is not None and f.quality.excess < 0.005


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(64, 160),
    n=st.integers(64, 160),
    count=st.integers(2, 4),
    share=st.floats(0.02, 0.2),
    kind=st.sampled_from(["power", "decay", "low_rank", "flat_tail"]),
    double=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_every_module_is_certified(m, n, count, share, kind, double, seed):
    """Tall, wide and square stacks, float32 and float64, fast and slow spectra, exact
    low rank below k, a flat tail under ``tol · σ₁``: every module certified
    (in the batch or by the fallback), the same rank and σ as one at a time."""
    p = min(m, n)
    k = max(1, int(share * p))
    dtype = np.float64 if double else np.float32
    i = np.arange(1, p + 1, dtype=np.float64)
    spectrum = {
        "power": 1.0 / i,
        "decay": 0.8**i,
        "low_rank": np.where(i <= max(1, k // 2), 1.0 / i, 0.0),
        "flat_tail": np.where(i <= k // 2, 1.0 / i, 1e-4),
    }[kind]
    deltas = [_delta(m, n, spectrum, seed + j, dtype) for j in range(count)]
    assert batchable(deltas[0].shape, dtype, k)
    for d, f in zip(deltas, factor_batch(deltas, k), strict=True):
        _check_certified(d, f, k)
        one = factor_delta(d, k)
        np.testing.assert_allclose(f.s, one.s, atol=2.5 * max(f.tol, one.tol) * one.s[0])


def test_deterministic():
    deltas = [_power(256, 192, seed) for seed in range(3)]
    a = factor_batch(deltas, 16, seed=5)
    b = factor_batch(deltas, 16, seed=5)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.U, y.U) and np.array_equal(x.s, y.s)
        assert np.array_equal(x.Vh, y.Vh)


def test_zero_and_exact_low_rank_modules():
    """A delta of zeros has rank 0 (as one at a time); a delta of exact rank 3 asked
    at rank 8 is exact to rounding, its excess "—" (None)."""
    rng = np.random.default_rng(0)
    low = (rng.standard_normal((150, 3)) @ rng.standard_normal((3, 100))).astype(np.float32)
    deltas = [np.zeros((150, 100), np.float32), low, _power(150, 100, 1)]
    zero, exact, power = factor_batch(deltas, 8)
    ref = factor_delta(deltas[0], 8)
    assert zero.rank == ref.rank == 0 and zero.method == ref.method
    _check_certified(low, exact, 8)
    assert exact.quality.relative_error < 1e-6 and exact.quality.excess is None
    _check_certified(deltas[2], power, 8)


def test_not_converged_in_the_batch_falls_back():
    """A Gaussian delta (flat spectrum) needs more than the batch's basis: it is
    factored again alone, with restarts, and certified; its batch-mates are not."""
    rng = np.random.default_rng(3)
    flat = rng.standard_normal((300, 200)).astype(np.float32)
    deltas = [_power(300, 200, 0), flat, _power(300, 200, 1)]
    found = factor_batch(deltas, 8)
    assert found[0].method == found[2].method == "krylov-batch"
    assert found[1].method != "krylov-batch"
    for d, f in zip(deltas, found, strict=True):
        _check_certified(d, f, 8)


def test_repeated_value_beyond_the_block_falls_back():
    """σ = 1 repeated 12 times (more than a block of 8 can hold) then a drop: the
    batch may miss copies, so the module goes to factor_delta's missed-copies search."""
    s = np.concatenate([np.ones(12), 0.5 / np.arange(1, 189)])
    d = _delta(200, 200, s, 7, np.float64)
    found = factor_batch([d, _power(200, 200, 2, np.float64)], 16, tol=1e-6)
    assert found[0].method != "krylov-batch"
    np.testing.assert_allclose(found[0].s[:12], 1.0, atol=1e-6)
    _check_certified(d, found[0], 16)


def test_loose_excess_is_tightened_alone():
    """A rank reaching into a tail that tol = 1e-3 does not resolve: the batch's bound is
    loose, so the module is factored alone and tightened, as factor_delta does."""
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((256, 8)))
    V, _ = np.linalg.qr(rng.standard_normal((256, 8)))
    d = (U * 0.7 ** np.arange(8)) @ V.T
    tail = rng.standard_normal((256, 256))
    d += 1e-3 * np.linalg.norm(d) / np.linalg.norm(tail) * tail
    d = d.astype(np.float32)
    found = factor_batch([d, _power(256, 256, 4)], 12)
    one = factor_delta(d, 12)
    assert found[0].tol == one.tol < 1e-3
    assert found[0].quality.excess is not None and found[0].quality.excess < 1e-3


def test_energy_rule_with_a_cap():
    d = [_delta(300, 200, 0.5 ** np.arange(200), seed) for seed in range(3)]
    rule = RankRule(energy=0.99, max_rank=20)
    assert batchable(d[0].shape, d[0].dtype, rule)
    assert not batchable(d[0].shape, d[0].dtype, RankRule(energy=0.99))
    for x, f in zip(d, factor_batch(d, rule), strict=True):
        one = factor_delta(x, rule)
        assert f.rank == one.rank
        assert f.quality.energy_kept >= 0.99


def test_batchable_and_plan():
    f32, f64 = np.float32, np.float64
    assert batchable((384, 384), f32, 8) and batchable((192, 576), f64, 32)
    assert not batchable((384, 384), f32, 128)  # more than a fifth of the short side
    assert not batchable((32, 384), f32, 4)  # short side below MIN_SIDE
    assert not batchable((4096, 4096), f32, 8)  # large: amortises its own calls
    assert not batchable((384, 384), np.complex64, 8)
    assert not batchable((384, 384, 2), f32, 8)
    items = [((384, 384), f32), ((1536, 384), f32), ((384, 384), f64), ((384, 384), f32)]
    assert plan_batches(items, 8) == [[0, 3], [1], [2]]
    # the byte cap splits a long run of one shape, in order
    per = 1024 * 1024 * 4
    many = [((1024, 1024), f32)] * 9
    plan = plan_batches(many, 8)
    assert [i for b in plan for i in b] == list(range(9))
    assert all(len(b) * per <= BATCH_BYTES for b in plan) and len(plan) > 1


def test_bad_input():
    with pytest.raises(SvdkitError, match="2-D"):
        factor_batch([np.zeros((4, 4, 4))], 2)
    with pytest.raises(SvdkitError, match="tol"):
        factor_batch([np.zeros((100, 100))], 2, tol=2.0)
    with pytest.raises(SvdkitError, match="RankRule"):
        factor_batch([np.zeros((100, 100))], "8")


def test_basis_cap_matches_the_restart_point():
    """The batch grows its basis no further than the one-at-a-time method before its
    first restart: a module needing more goes to the method that restarts."""
    calls = []
    real = batched_mod._krylov

    def spy(deltas, wide, k, tol, seed):
        out = real(deltas, wide, k, tol, seed)
        calls.append(out.shape)
        return out

    batched_mod._krylov = spy
    try:
        factor_batch([_power(400, 300, s) for s in range(2)], 8)
    finally:
        batched_mod._krylov = real
    assert calls and calls[0][2] == 8
    assert default_max_basis(8, 8) <= 300 - 8


def _single_plan(items, rule):
    return [[i] for i in range(len(items))]


def test_extract_batches_small_modules_same_adapter(finetuned_pair, monkeypatch):
    """On the real fine-tune the attention and MLP matrices go through the batch;
    the adapter holds the same modules in the same order as one at a time, each
    at the rank asked, each reproducing its delta to the reported error."""
    base, tuned = finetuned_pair
    batched = extract(base, tuned, RankRule(rank=8))
    methods = [m.method for m in batched.report.modules]
    assert methods.count("krylov-batch") >= 24
    monkeypatch.setattr(extract_mod, "plan_batches", _single_plan)
    alone = extract(base, tuned, RankRule(rank=8))
    assert "krylov-batch" not in [m.method for m in alone.report.modules]
    assert [m.name for m in batched.report.modules] == [m.name for m in alone.report.modules]
    assert list(batched.adapter.modules) == list(alone.adapter.modules)
    from svdkit.lora.safetensors_io import Checkpoint

    b_ck, t_ck = Checkpoint(base), Checkpoint(tuned)
    for m, one in zip(batched.report.modules, alone.report.modules, strict=True):
        assert m.rank == one.rank and m.shape == one.shape and m.kind == one.kind
        if m.method != "krylov-batch":
            continue
        lm = batched.adapter.modules[m.name]
        key = f"{m.name}.weight"
        delta = t_ck.read(key, np.float64) - b_ck.read(key, np.float64)
        approx = lm.B.astype(np.float64) @ lm.A.astype(np.float64) * (lm.alpha / m.rank)
        rel = float(np.linalg.norm(delta - approx) / np.linalg.norm(delta))
        assert rel == pytest.approx(m.relative_error, rel=1e-3, abs=1e-6)
        assert m.excess is None or m.excess <= max(0.005, one.excess or 0.0) * 1.5 + 1e-3


def test_extract_keeps_the_torch_and_explicit_method_paths(lora_pair):
    """An explicit method is honoured module by module (no batch)."""
    base, tuned = lora_pair
    ex = extract(base, tuned, RankRule(rank=4), method="krylov")
    assert {m.method for m in ex.report.modules} == {"krylov"}
    auto = extract(base, tuned, RankRule(rank=4))
    assert "krylov-batch" in {m.method for m in auto.report.modules}
    assert math.isclose(
        sum(m.rank for m in ex.report.modules), sum(m.rank for m in auto.report.modules)
    )


def test_non_finite_module_gets_the_one_at_a_time_error():
    """A NaN in one module: that module gets factor_delta's error, as alone."""
    bad = _power(150, 100, 0)
    bad[3, 4] = np.nan
    with pytest.raises(SvdkitError) as batch_err:
        factor_batch([_power(150, 100, 1), bad], 8)
    with pytest.raises(SvdkitError) as alone_err:
        factor_delta(bad, 8)
    assert str(batch_err.value) == str(alone_err.value)


def test_extract_frees_each_batch_before_reading_the_next(lora_pair, monkeypatch):
    """Streaming: when a batch's first delta is read, no delta of an earlier batch is
    alive (the loop variables once kept the last one, +6.6 MiB on four 2048×2048
    modules)."""
    import gc
    import weakref

    base, tuned = lora_pair
    refs: list = []
    real_read = extract_mod.read_delta

    def reading(*args, **kwargs):
        gc.collect()
        assert all(r() is None for r in refs), "a delta of an earlier batch is still alive"
        delta = real_read(*args, **kwargs)
        refs.append(weakref.ref(delta))
        return delta

    monkeypatch.setattr(extract_mod, "read_delta", reading)
    monkeypatch.setattr(extract_mod, "plan_batches", _single_plan)
    ex = extract(base, tuned, RankRule(rank=4))
    assert len(refs) == len(ex.report.modules) > 2


def _count_calls(monkeypatch, name: str) -> list:
    """Record every call of ``batched.<name>`` (its result), the function unchanged."""
    real = getattr(batched_mod, name)
    seen: list = []

    def wrapper(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(batched_mod, name, wrapper)
    return seen


def test_a_zero_module_leaves_the_stack_at_the_first_step(monkeypatch):
    """A delta of zeros is taken out of the stack after the first product: the
    others' block QR stays CholeskyQR (a zero block sent all of it to Householder),
    the zero module has rank 0, the others are certified in the stack."""
    blocks = _count_calls(monkeypatch, "_block_qr")
    qr = _count_calls(monkeypatch, "_cholesky_qr")  # (also called by the certificate)
    deltas = [_power(150, 100, 0), np.zeros((150, 100), np.float32), _power(150, 100, 1)]
    found = factor_batch(deltas, 8)
    assert len(blocks) >= 2 and len(qr) >= len(blocks)
    assert all(out is not None for out in qr)
    assert found[1].rank == 0 and found[1].method == factor_delta(deltas[1], 8).method
    for j in (0, 2):
        assert found[j].method == "krylov-batch"
        _check_certified(deltas[j], found[j], 8)


def test_a_nan_module_raises_before_the_stack_runs(monkeypatch):
    """A NaN in one module: its error (factor_delta's, as alone) comes after one
    stacked product, before any other module is factored (the stack gave up on
    the NaN and factored every module alone, in order, until the bad one raised)."""
    products = _count_calls(monkeypatch, "_gram_products")
    alone = _count_calls(monkeypatch, "factor_delta")  # (only returns are recorded)
    bad = _power(150, 100, 2)
    bad[7, 1] = np.nan
    with pytest.raises(SvdkitError, match="non-finite entry at row 8, column 2"):
        factor_batch([_power(150, 100, 1), _power(150, 100, 3), bad], 8)
    assert len(products) == 1
    assert alone == []  # the good modules were not factored one at a time first


def test_an_overflowing_module_is_factored_alone():
    """Entries near float32's largest: the scaled stacked product may still overflow
    (the scale comes from sampled rows); that module is factored alone and certified,
    the others in the stack."""
    big = _power(150, 100, 4)
    big[75, 50] = 3e38  # one huge entry, outside the sampled rows
    deltas = [_power(150, 100, 5), big, _power(150, 100, 6)]
    found = factor_batch(deltas, 4)
    for j in (0, 2):
        assert found[j].method == "krylov-batch"
    for d, f in zip(deltas, found, strict=True):
        _check_certified(d, f, 4)
