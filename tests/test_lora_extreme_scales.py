"""LoRA factoring and reports of deltas whose squares leave float64's (or float32's) range.

A float64 delta of entries ~1e-300 had ``‖ΔW‖_F² = 0`` (rank 0, "rel. error 0": the
change dropped), one of ~1e200 an infinite one (NaN in the report and the JSON, and
``--error 0.5`` refused as "got nan"). The delta scaled by ``2^k`` must give the same
ranks and relative errors, and values scaled by ``2^k``.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from svdkit.lora import RankRule, extract, save_safetensors
from svdkit.lora.batched import factor_batch
from svdkit.lora.factor import factor_delta, residual_norm
from svdkit.lora.pissa import pissa
from tests.cli_support import error_line, run_svdkit

EXPONENTS = (-600, -540, 0, 540, 600)
RULES = [
    RankRule(error=0.5),
    RankRule(energy=0.99),
    RankRule(rank=4),
    RankRule(error=1e-9),
    RankRule(error=0.0),
    RankRule(energy=1.0, max_rank=10),
]


def _delta(m: int, n: int, dtype=np.float64, seed: int = 3, noise: float = 1e-4) -> np.ndarray:
    """A power-law spectrum with a small tail, largest entry in [0.5, 1)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, 12)))
    V, _ = np.linalg.qr(rng.standard_normal((n, 12)))
    d = (U * 0.6 ** np.arange(12)) @ V.T + noise * rng.standard_normal((m, n))
    d = d / np.max(np.abs(d)) * 0.9
    return d.astype(dtype)


def _finite_quality(f) -> None:
    q = f.quality
    for v in (q.fro, q.error, q.optimum_lower, q.floor, q.energy_kept, q.relative_error):
        assert math.isfinite(v), q
    assert q.excess is None or not math.isnan(q.excess)


@pytest.mark.parametrize("shape", [(64, 48), (300, 400)])
@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_factor_delta_is_scale_invariant_over_float64_range(shape, rule):
    d = _delta(*shape)
    ref = factor_delta(d, rule)
    assert ref.rank > 0
    for k in EXPONENTS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f = factor_delta(np.ldexp(d, k), rule)
        assert f.rank == ref.rank, k
        _finite_quality(f)
        q, q0 = f.quality, ref.quality
        assert q.relative_error == pytest.approx(q0.relative_error, rel=1e-12, abs=1e-300)
        assert q.energy_kept == pytest.approx(q0.energy_kept, rel=1e-12)
        assert q.fro == pytest.approx(math.ldexp(q0.fro, k), rel=1e-12)
        np.testing.assert_allclose(f.s, np.ldexp(ref.s, k), rtol=1e-12)
        # the factors are a truncated SVD of the scaled delta: residual identity
        err = residual_norm(np.ldexp(d, k), f.U, f.s, f.Vh)
        assert err == pytest.approx(q.error, rel=1e-6, abs=math.ldexp(1e-13, k) * q0.fro)
        assert err / q.fro == pytest.approx(q0.relative_error, rel=1e-6, abs=1e-13)


def test_a_tiny_float64_delta_is_not_a_zero_one():
    d = np.ldexp(_delta(64, 48), -1000)  # entries ~1e-301: squares underflow to 0
    assert float(np.sum(d * d)) == 0.0
    f = factor_delta(d, RankRule(error=0.5))
    assert f.rank == factor_delta(_delta(64, 48), RankRule(error=0.5)).rank > 0
    assert 0 < f.quality.relative_error <= 0.5
    s = np.linalg.svd(d, compute_uv=False)
    np.testing.assert_allclose(f.s, s[: f.rank], rtol=1e-9)


def test_factor_batch_takes_extreme_modules_alone_and_right():
    d = _delta(64, 48)
    arrays = [d, np.ldexp(d, -600), np.ldexp(d, 600), 0.5 * d, np.ldexp(d, -1000)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = factor_batch(arrays, RankRule(error=0.01))
    ranks = {f.rank for f in found}
    assert len(ranks) == 1 and ranks.pop() > 0
    for a, f in zip(arrays, found, strict=True):
        _finite_quality(f)
        assert f.quality.relative_error == pytest.approx(found[0].quality.relative_error,
                                                         rel=1e-6)
        assert residual_norm(a, f.U, f.s, f.Vh) <= 0.01 * f.quality.fro


@pytest.mark.parametrize("k", [-100, 100])  # float32 entries ~1e-30 and ~1e30
@pytest.mark.parametrize("rule", [RankRule(error=0.05), RankRule(rank=5), RankRule(error=0.0)],
                         ids=repr)
def test_float32_deltas_near_the_ends_of_float32s_range(k, rule):
    d = _delta(200, 160, np.float32)
    ref = factor_delta(d, rule)
    scaled = np.ldexp(d, k)
    assert scaled.dtype == np.float32 and np.all(np.ldexp(scaled, -k) == d)  # exact
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = factor_delta(scaled, rule)
        fb = factor_batch([scaled, scaled], rule)
    for g in (f, *fb):
        assert g.rank == ref.rank
        _finite_quality(g)
        assert g.quality.relative_error == pytest.approx(ref.quality.relative_error,
                                                         rel=1e-4, abs=1e-7)
        assert np.all(np.isfinite(g.s))
        np.testing.assert_allclose(np.ldexp(g.s.astype(np.float64), -k), ref.s, rtol=1e-5)


def test_residual_norm_is_scale_safe():
    d = _delta(40, 30)
    U, s, Vh = np.linalg.svd(d, full_matrices=False)
    ref = residual_norm(d, U[:, :3], s[:3], Vh[:3])
    assert ref == pytest.approx(float(np.sqrt(np.sum(s[3:] ** 2))), rel=1e-10)
    for k in (-1000, 900):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = residual_norm(np.ldexp(d, k), U[:, :3], np.ldexp(s[:3], k), Vh[:3])
        assert got == pytest.approx(math.ldexp(ref, k), rel=1e-10)


def _pair(tmp_path, weight: np.ndarray, name: str = "a"):
    base, tuned = tmp_path / f"{name}_base.safetensors", tmp_path / f"{name}_tuned.safetensors"
    save_safetensors(base, {"m.up_proj.weight": np.zeros_like(weight)})
    save_safetensors(tuned, {"m.up_proj.weight": weight})
    return base, tuned


def _no_constant(text: str):
    raise AssertionError(f"{text} in a JSON report")


@pytest.mark.parametrize("k", [-1000, -600, 600, 660])
def test_extract_cli_of_extreme_deltas(tmp_path, capsys, monkeypatch, k):
    d = _delta(64, 48)
    run = run_svdkit(capsys, monkeypatch)
    results = {}
    for kk in (0, k):
        base, tuned = _pair(tmp_path, np.ldexp(d, kk), f"s{kk}")
        out = tmp_path / f"out{kk}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            code, stdout, err = run("lora", "extract", base, tuned, "-o", out,
                                    "--error", "0.5", "--dtype", "F64")
        assert code == 0, err
        assert "nan" not in stdout.lower() and "Warning" not in err
        report = json.loads((out / "svdkit_report.json").read_text(),
                            parse_constant=_no_constant)
        results[kk] = report["modules"][0]
    assert results[k]["rank"] == results[0]["rank"] > 0
    assert results[k]["relative_error"] == pytest.approx(results[0]["relative_error"], rel=1e-9)
    assert 0 < results[k]["relative_error"] <= 0.5


def test_extract_of_a_tiny_float64_delta_alone_is_kept(tmp_path):
    d = np.ldexp(_delta(64, 48), -1000)
    base, tuned = _pair(tmp_path, d)
    ex = extract(base, tuned, RankRule(error=0.5), dtype="F64")
    m = ex.adapter.modules["m.up_proj"]
    rep = ex.report.modules[0]
    assert rep.rank == m.r > 0 and 0 < rep.relative_error <= 0.5
    prod = (m.B.astype(np.float64) * (m.alpha / m.r)) @ m.A.astype(np.float64)
    assert np.linalg.norm(np.ldexp(d - prod, 1000)) <= 0.5 * np.linalg.norm(np.ldexp(d, 1000))


def test_pissa_of_a_tiny_float64_weight_is_kept(tmp_path):
    W = np.ldexp(_delta(64, 48), -1000)
    path = tmp_path / "w.safetensors"
    save_safetensors(path, {"m.up_proj.weight": W, "n.up_proj.weight": _delta(64, 48, seed=4)})
    rows = []
    pissa(path, tmp_path / "a", tmp_path / "r", RankRule(error=0.5), dtype="F64", report=rows)
    row = next(r for r in rows if r.name == "m.up_proj")
    assert row.rank > 0 and 0 < row.relative_error <= 0.5 and row.bound_met


@pytest.mark.parametrize("dtype", ["BF16", "F16", "F32"])
def test_energy_kept_is_of_the_stored_factors(tmp_path, dtype):
    d = _delta(96, 80)
    base, tuned = _pair(tmp_path, d)
    ex = extract(base, tuned, RankRule(error=1e-3), dtype=dtype)
    rep = ex.report.modules[0]
    m = ex.adapter.modules["m.up_proj"]
    prod = (m.B.astype(np.float64) * (m.alpha / m.r)) @ m.A.astype(np.float64)
    rel = np.linalg.norm(d - prod) / np.linalg.norm(d)
    assert rep.relative_error == pytest.approx(rel, rel=1e-6)
    assert rep.energy_kept == pytest.approx(1.0 - rep.relative_error**2, rel=0, abs=1e-15)
    assert rep.energy_kept < 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_backend_of_extreme_deltas(dtype):
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _delta(600, 500, dtype, noise=1e-6)
    rule = RankRule(error=0.01)
    ref = factor_delta_torch(d, rule, device="cpu", min_size=64)
    assert ref.method.startswith("torch")  # on the device path, not the CPU fallback
    # float64: up to ‖ΔW‖_F near float64's largest; float32: entries ~1e±30
    exponents = (-1000, -600, 600, 1016) if dtype == np.float64 else (-100, 100)
    for k in exponents:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f = factor_delta_torch(np.ldexp(d, k), rule, device="cpu", min_size=64)
        assert f.rank == ref.rank and f.method == ref.method
        _finite_quality(f)
        assert f.quality.relative_error == pytest.approx(ref.quality.relative_error, rel=1e-9)
        np.testing.assert_allclose(np.ldexp(f.s.astype(np.float64), -k), ref.s, rtol=1e-9)


def test_a_delta_beyond_float64s_norm_is_refused_by_name():
    from svdkit.errors import SvdkitError

    d = np.ldexp(_delta(30, 20), 1024)  # entries up to 0.9 · 2^1024: ‖ΔW‖_F overflows
    assert np.all(np.isfinite(d))
    with pytest.raises(SvdkitError, match="beyond float64's range"):
        factor_delta(d, RankRule(error=0.3))


def test_torch_backend_of_entries_beyond_2_to_the_1023():
    from svdkit.lora.torch_backend import factor_delta_torch

    rng = np.random.default_rng(0)
    d = np.zeros((600, 500))
    d[:3, :3] = np.diag([1e308, 5e307, 2e307])  # 2^e = 2^1024 itself overflows
    d += 1e290 * rng.standard_normal((600, 500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = factor_delta_torch(d, RankRule(rank=3), device="cpu", min_size=64)
    assert f.method.startswith("torch") and f.rank == 3
    _finite_quality(f)
    np.testing.assert_allclose(f.s, [1e308, 5e307, 2e307], rtol=1e-6)  # float32 steps
    fro = math.ldexp(float(np.linalg.norm(np.ldexp(d, -1024))), 1024)
    assert f.quality.fro == pytest.approx(fro, rel=1e-12)
    err = residual_norm(d, f.U, f.s, f.Vh)
    assert f.quality.relative_error == pytest.approx(err / fro, rel=1e-6)
    assert f.quality.relative_error < 1e-6  # float32 factors: at their rounding


def test_extract_cli_names_a_module_whose_norm_overflows(tmp_path, capsys, monkeypatch):
    base, tuned = _pair(tmp_path, np.full((64, 48), 1e307))
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", base, tuned, "-o", tmp_path / "out", "--error", "0.5"
    )
    line = error_line(code, err)
    assert "'m.up_proj'" in line and "beyond float64's range" in line
    assert not (tmp_path / "out").exists()
