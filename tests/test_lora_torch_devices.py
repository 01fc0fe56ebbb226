"""The torch backend of LoRA extraction on every device torch has here.

CPU always; CUDA too where torch sees a GPU (the tests run there on a lent GPU
machine; CI has none, and runs the CPU device). Each certificate is checked
independently, in float64 on the CPU: both residuals of every kept triplet,
the error reported, and the excess over the optimum (a dense SVD).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from svdkit.lora import RankRule

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _delta(m: int, n: int, s: np.ndarray, seed: int, tail: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    d = (U * s) @ V.T
    if tail:
        noise = rng.standard_normal((m, n))
        d += tail * np.linalg.norm(d) / np.linalg.norm(noise) * noise
    return d.astype(np.float32)


def _check(d: np.ndarray, f, tol: float) -> None:
    """Both residuals, the error and the optimum, recomputed in float64."""
    d64 = d.astype(np.float64)
    U, s, Vh = (np.asarray(x, dtype=np.float64) for x in (f.U, f.s, f.Vh))
    assert U.shape == (d.shape[0], f.rank) and Vh.shape == (f.rank, d.shape[1])
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)
    sigma = np.linalg.svd(d64, compute_uv=False)
    if f.rank:
        right = np.linalg.norm(d64 @ Vh.T - U * s, axis=0)
        left = np.linalg.norm(d64.T @ U - Vh.T * s, axis=0)
        # the certificate is taken in float32: allow its rounding on top of tol
        slack = 64 * np.finfo(np.float32).eps * sigma[0]
        assert np.max(np.maximum(right, left)) <= tol * s[0] + slack
    err = float(np.linalg.norm(d64 - (U * s) @ Vh))
    assert f.quality.error == pytest.approx(err, rel=1e-3, abs=1e-6 * sigma[0])
    optimum = float(np.sqrt(np.sum(sigma[f.rank:] ** 2)))
    assert f.quality.optimum_lower <= optimum * (1 + 1e-6) + 1e-9
    assert err <= 1.005 * optimum + 1e-6 * sigma[0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "rule", [RankRule(rank=16), RankRule(energy=0.9), RankRule(error=0.05)],
    ids=["rank16", "energy0.9", "error0.05"],
)
def test_certified_on_the_device(device, rule):
    s = np.concatenate([10 * 0.85 ** np.arange(40), 0.01 * np.ones(260)])
    d = _delta(900, 600, s, seed=1)
    from svdkit.lora.torch_backend import factor_delta_torch

    f = factor_delta_torch(d, rule, device=device, min_size=0)
    assert f.method.startswith(f"torch-{device}")
    _check(d, f, 1e-3)
    sigma = np.linalg.svd(d.astype(np.float64), compute_uv=False)
    fro2 = float(np.sum(sigma**2))
    if rule.rank is not None:
        assert f.rank == 16
    elif rule.energy is not None:
        kept = np.cumsum(sigma**2) / fro2
        assert f.rank == int(np.searchsorted(kept, 0.9) + 1)
    else:
        assert f.quality.error <= 0.05 * np.sqrt(fro2) * (1 + 1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_same_seed_same_factors_on_the_device(device):
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _delta(700, 500, 0.8 ** np.arange(60), seed=2, tail=0.01)
    one = factor_delta_torch(d, RankRule(rank=12), device=device, min_size=0, seed=7)
    two = factor_delta_torch(d, RankRule(rank=12), device=device, min_size=0, seed=7)
    for a, b in zip((one.U, one.s, one.Vh), (two.U, two.s, two.Vh), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["high", "medium"])
def test_the_certificate_holds_under_reduced_matmul_precision(device, precision):
    """A user's ``torch.set_float32_matmul_precision('high')`` (TF32 on a GPU, 10-bit
    mantissas) must not make a certificate false: svdkit's products are float32."""
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _delta(1024, 768, np.concatenate([0.9 ** np.arange(48), 1e-3 * np.ones(100)]), seed=3)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        f = factor_delta_torch(d, RankRule(rank=24), device=device, min_size=0, tol=1e-4)
    finally:
        torch.set_float32_matmul_precision(before)
    assert torch.get_float32_matmul_precision() == before
    assert f.method.startswith(f"torch-{device}-krylov"), f.method  # no detour to the CPU
    _check(d, f, 1e-4)


def _bf16_finetune(m: int, n: int, seed: int) -> np.ndarray:
    """A bf16 fine-tune's delta: a power-law update of 0.5 % of ‖W‖ under the rounding
    of both checkpoints to bfloat16, which adds a flat tail as large as the update."""
    import ml_dtypes

    rng = np.random.default_rng(seed)
    W = 0.02 * rng.standard_normal((m, n)).astype(np.float32)
    U, _ = np.linalg.qr(rng.standard_normal((m, 256)))
    V, _ = np.linalg.qr(rng.standard_normal((n, 256)))
    update = ((U * (0.05 / np.arange(1, 257))) @ V.T).astype(np.float32)
    base = W.astype(ml_dtypes.bfloat16).astype(np.float32)
    return (W + update).astype(ml_dtypes.bfloat16).astype(np.float32) - base


@pytest.mark.parametrize("device", DEVICES)
def test_a_flat_rounding_tail_is_certified_on_the_device(device, monkeypatch):
    """Rank 32 of a 4096² bf16 delta (σ₃₂ and σ₃₃ 0.1 % apart): subspace iteration did not
    certify it in 32 iterations and the module went to the CPU; block Krylov does."""
    from svdkit.lora import torch_backend as tb

    d = _bf16_finetune(4096, 4096, seed=5)

    def no_cpu(*args, **kwargs):
        raise AssertionError("fell back to the CPU path")

    monkeypatch.setattr(tb, "factor_delta", no_cpu)
    f = tb.factor_delta_torch(d, RankRule(rank=32), device=device)
    assert f.method.startswith(f"torch-{device}-krylov"), f.method
    d64 = d.astype(np.float64)
    U, s, Vh = (np.asarray(x, dtype=np.float64) for x in (f.U, f.s, f.Vh))
    right = np.linalg.norm(d64 @ Vh.T - U * s, axis=0)
    left = np.linalg.norm(d64.T @ U - Vh.T * s, axis=0)
    assert np.max(np.maximum(right, left)) <= f.tol * s[0] * (1 + 1e-3)
    err = float(np.linalg.norm(d64 - (U * s) @ Vh))
    assert f.quality.error == pytest.approx(err, rel=1e-4)
    # σᵢ ≤ σ̃ᵢ + ρᵢ for the leading i: the optimum is at least what that leaves
    assert f.quality.excess is not None and f.quality.excess < 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_a_loose_bound_is_tightened_in_float64_on_the_device(device, monkeypatch):
    """Rank 12 of a rank-8 delta with a 0.1 % tail (into the tail): at tol = 1e-3 nothing
    bounds the excess; the device factors again in float64 at 1e-6 (the CPU went there)."""
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((600, 8)))
    V, _ = np.linalg.qr(rng.standard_normal((500, 8)))
    d = (U * 0.7 ** np.arange(8)) @ V.T
    tail = rng.standard_normal((600, 500))
    d = (d + 1e-3 * np.linalg.norm(d) / np.linalg.norm(tail) * tail).astype(np.float32)
    loose = tb.factor_delta_torch(d, RankRule(rank=12), device=device, min_size=0,
                                  tighten=False)
    assert loose.quality.loose and loose.tol == 1e-3

    def no_cpu(*args, **kwargs):
        raise AssertionError("fell back to the CPU path")

    monkeypatch.setattr(tb, "factor_delta", no_cpu)
    f = tb.factor_delta_torch(d, RankRule(rank=12), device=device, min_size=0)
    assert f.tol == pytest.approx(1e-6) and "float64" in f.method, (f.tol, f.method)
    assert not f.quality.loose
    _check(d, f, 1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_the_device_gap_bound_is_the_cpu_one(device):
    from svdkit.lora.factor import gap_lower_bound
    from svdkit.lora.torch_backend import _gap_lower_bound

    d = _delta(300, 200, np.concatenate([[3.0, 2.0, 1.5], 1e-2 * np.ones(50)]), seed=6)
    d64 = d.astype(np.float64)
    fro2 = float(np.sum(d64**2))
    rng = np.random.default_rng(1)
    Vh = np.linalg.svd(d64)[2][:3] + 1e-4 * rng.standard_normal((3, 200))
    cpu = gap_lower_bound(d64, Vh, fro2)
    dev = _gap_lower_bound(torch.from_numpy(d64).to(device), torch.from_numpy(Vh).to(device),
                           fro2)
    assert cpu > 0 and dev == pytest.approx(cpu, rel=1e-9)
    optimum = float(np.sqrt(np.sum(np.linalg.svd(d64, compute_uv=False)[3:] ** 2)))
    assert dev <= optimum


@pytest.mark.parametrize("device", DEVICES)
def test_extract_with_the_torch_backend_matches_numpy(device, tmp_path, monkeypatch):
    """Whole extraction through ``backend='torch'`` on the device: the same ranks,
    σ and products as the NumPy path, to the certificate's tolerance."""
    from svdkit.lora import extract, save_safetensors
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(4)
    base, tuned = {}, {}
    for i, (m, n) in enumerate([(512, 384), (384, 384), (1536, 384)]):
        W = rng.standard_normal((m, n)).astype(np.float32)
        s = np.concatenate([0.5 * 0.7 ** np.arange(10), 1e-3 * np.ones(20)])
        name = f"layers.{i}.proj.weight"
        base[name] = W
        tuned[name] = W + _delta(m, n, s, seed=10 + i)
    save_safetensors(tmp_path / "base.safetensors", base)
    save_safetensors(tmp_path / "tuned.safetensors", tuned)
    if device == "cpu":  # the CUDA dispatch, pointed at torch's CPU device
        monkeypatch.setattr(tb, "cuda_available", lambda: True)
        monkeypatch.setattr(tb, "factor_delta_torch",
                            functools.partial(tb.factor_delta_torch, device="cpu"))
    monkeypatch.setattr(tb, "factor_delta_torch",
                        functools.partial(tb.factor_delta_torch, min_size=0))
    args = (tmp_path / "base.safetensors", tmp_path / "tuned.safetensors")
    for rule in (RankRule(rank=8), RankRule(energy=0.95)):
        gpu = extract(*args, rule, backend="torch")
        cpu = extract(*args, rule, backend="numpy")
        reports = {r.name: r for r in cpu.report.modules}
        for r in gpu.report.modules:
            c = reports[r.name]
            assert r.method.startswith(f"torch-{device}"), r.method
            assert r.rank == c.rank
            assert r.relative_error == pytest.approx(c.relative_error, rel=2e-3)
            dg = gpu.adapter.modules[r.name].delta()
            dc = cpu.adapter.modules[r.name].delta()
            assert np.linalg.norm(dg - dc) <= 2e-3 * np.linalg.norm(dc)
            d = tuned[f"{r.name}.weight"].astype(np.float64) - base[f"{r.name}.weight"]
            err = np.linalg.norm(d - dg) / np.linalg.norm(d)
            assert err == pytest.approx(r.relative_error, rel=1e-3)
            optimum = np.sqrt(np.sum(np.linalg.svd(d, compute_uv=False)[r.rank:] ** 2))
            assert err * np.linalg.norm(d) <= 1.005 * optimum
        assert len(gpu.report.modules) == 3


@pytest.mark.parametrize("device", DEVICES)
def test_a_module_too_large_for_the_device_goes_to_the_cpu(device, monkeypatch):
    from svdkit.lora import torch_backend as tb

    def full(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 4.00 GiB")

    monkeypatch.setattr(tb, "_factor_on", full)
    d = _delta(400, 300, 0.8 ** np.arange(40), seed=8)
    f = tb.factor_delta_torch(d, RankRule(rank=6), device=device, min_size=0)
    assert not f.method.startswith("torch"), f.method
    _check(d, f, 1e-3)


def test_stacks_of_small_modules_stay_on_the_host_with_the_torch_backend(tmp_path, monkeypatch):
    """Small modules of one shape are stacked on the host's cores (1–3 ms a module),
    a module alone of its shape goes to the device (a small one costs 5–20 ms on a GPU)."""
    from svdkit.lora import extract, save_safetensors
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(9)
    base, tuned = {}, {}
    shapes = {f"layers.{i}.q.weight": (384, 384) for i in range(3)}
    shapes["head.proj.weight"] = (700, 384)
    for i, (name, (m, n)) in enumerate(shapes.items()):
        W = rng.standard_normal((m, n)).astype(np.float32)
        base[name] = W
        tuned[name] = W + _delta(m, n, 0.6 ** np.arange(12), seed=20 + i)
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    monkeypatch.setattr(tb, "cuda_available", lambda: True)
    monkeypatch.setattr(tb, "factor_delta_torch",
                        functools.partial(tb.factor_delta_torch, device="cpu", min_size=0))
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=4),
                 backend="torch")
    methods = {r.name: r.method for r in ex.report.modules}
    assert methods["head.proj"].startswith("torch-cpu-krylov"), methods
    for i in range(3):
        assert not methods[f"layers.{i}.q"].startswith("torch"), methods
    for r in ex.report.modules:  # every module certified and near the optimum
        d = tuned[f"{r.name}.weight"].astype(np.float64) - base[f"{r.name}.weight"]
        optimum = np.sqrt(np.sum(np.linalg.svd(d, compute_uv=False)[4:] ** 2))
        err = np.linalg.norm(d - ex.adapter.modules[r.name].delta())
        assert err <= 1.005 * optimum
        assert err / np.linalg.norm(d) == pytest.approx(r.relative_error, rel=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_pissa_on_the_device(device, tmp_path, monkeypatch):
    """PiSSA with ``backend="torch"``: the adapter is the top-r of each weight (as the
    NumPy path's, to the certificate), and residual + adapter give the weights back."""
    from svdkit.lora import Checkpoint, pissa, save_safetensors
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(11)
    weights = {"layers.0.q.weight": rng.standard_normal((512, 384)).astype(np.float32),
               "layers.0.up.weight": _delta(1024, 384, 0.97 ** np.arange(384), seed=12)}
    save_safetensors(tmp_path / "base.safetensors", weights)
    if device == "cpu":  # the CUDA dispatch, pointed at torch's CPU device
        monkeypatch.setattr(tb, "cuda_available", lambda: True)
        monkeypatch.setattr(tb, "factor_delta_torch",
                            functools.partial(tb.factor_delta_torch, device="cpu"))
    ran = []
    real = tb.factor_delta_torch

    def spy(*args, **kwargs):
        ran.append(real(*args, **kwargs))
        return ran[-1]

    monkeypatch.setattr(tb, "factor_delta_torch", spy)
    got, res = pissa(tmp_path / "base.safetensors", tmp_path / "gpu", tmp_path / "r1.safetensors",
                     RankRule(rank=16), backend="torch")
    assert len(ran) == 2 and all(f.method.startswith(f"torch-{device}") for f in ran)
    ref, _ = pissa(tmp_path / "base.safetensors", tmp_path / "cpu", tmp_path / "r2.safetensors",
                   RankRule(rank=16), backend="numpy")
    R = Checkpoint(res)
    for name, W in weights.items():
        module = name.removesuffix(".weight")
        d = got.modules[module].delta()
        W64 = W.astype(np.float64)
        sigma = np.linalg.svd(W64, compute_uv=False)
        optimum = np.sqrt(np.sum(sigma[16:] ** 2))
        assert np.linalg.norm(W64 - d) <= 1.005 * optimum
        assert np.linalg.norm(d - ref.modules[module].delta()) <= 1e-2 * np.linalg.norm(d)
        np.testing.assert_allclose(R.read(name).astype(np.float64) + d, W64,
                                   atol=1e-5 * np.abs(W).max())


# ------------------------------------------------------------ the hunt of 2026-11-22


def _two_levels(m: int = 300, n: int = 200) -> np.ndarray:
    """30 singular values 10·0.8^i, then 50 of 1e-6: error bounds of 1e-7…1e-6 cut
    inside the flat cluster, where ‖ΔW‖_F² − Σσᵢ² is at the rounding of float64."""
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((m, 80)))
    V, _ = np.linalg.qr(rng.standard_normal((n, 80)))
    s = np.concatenate([10 * 0.8 ** np.arange(30), 1e-6 * np.ones(50)])
    return ((U * s) @ V.T).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("eps", [1e-6, 3e-7, 1e-7])
def test_tight_error_bounds_take_the_smallest_rank(device, eps):
    """The norm-then-square ‖ΔW‖_F² (1.5e-14 off) gave rank 200 for 78 at ε = 1e-7 and
    58 for 55 at 3e-7: the rank is the dense SVD's, and the bound holds."""
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _two_levels()
    d64 = d.astype(np.float64)
    sigma = np.linalg.svd(d64, compute_uv=False)
    fro = np.linalg.norm(d64)
    tails = np.sqrt(np.maximum(0.0, np.cumsum((sigma**2)[::-1])[::-1])) / fro  # error at r = i
    f = factor_delta_torch(d, RankRule(error=eps), device=device, min_size=0)
    err = np.linalg.norm(d64 - (f.U.astype(np.float64) * f.s) @ f.Vh) / fro
    assert err <= eps * (1 + 1e-6), (f.rank, err)
    dense = int(np.argmax(np.append(tails, 0.0)[1:] <= eps)) + 1  # smallest r with tail ≤ ε
    assert abs(f.rank - dense) <= 1, (f.rank, dense)
    assert tails[f.rank - 1] > eps * (1 - 1e-6)  # one fewer misses the bound


@pytest.mark.parametrize("device", DEVICES)
def test_an_error_of_a_thousandth_is_reported_as_measured(device):
    """Float32 sums and Σσᵢ² for ‖UΣVᵀ‖² put the report 7–14 % off at 1.2e-3."""
    from svdkit.lora.torch_backend import factor_delta_torch

    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((1024, 16)))
    V, _ = np.linalg.qr(rng.standard_normal((768, 16)))
    d = (U * 10 * 0.7 ** np.arange(16)) @ V.T
    z = rng.standard_normal((1024, 768))
    d += 1.2e-3 * np.linalg.norm(d) / np.linalg.norm(z) * z
    W = rng.standard_normal((1024, 768)).astype(np.float32)
    d = (W + d).astype(np.float32) - W  # as extract forms it
    f = factor_delta_torch(d, RankRule(rank=16), device=device, min_size=0)
    d64 = d.astype(np.float64)
    err = np.linalg.norm(d64 - (f.U.astype(np.float64) * f.s) @ f.Vh)
    assert f.quality.error == pytest.approx(err, rel=1e-6)
    optimum = np.sqrt(np.sum(np.linalg.svd(d64, compute_uv=False)[16:] ** 2))
    assert f.quality.optimum_lower <= optimum and err / optimum - 1 <= f.quality.excess + 1e-9


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("narrow", ["bfloat16", "float16"])
def test_narrow_deltas_get_float32_factors_their_certificate_holds_for(device, narrow):
    import ml_dtypes

    from svdkit.lora.torch_backend import factor_delta_torch

    dtype = ml_dtypes.bfloat16 if narrow == "bfloat16" else np.float16
    d = _delta(600, 400, 0.8 ** np.arange(60), seed=13, tail=0.01).astype(dtype)
    f = factor_delta_torch(d, RankRule(rank=12), device=device, min_size=0)
    assert f.U.dtype == np.float32 and f.s.dtype == np.float32 and f.Vh.dtype == np.float32
    _check(d.astype(np.float32), f, f.tol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("scale", "dtype"), [(1e-25, np.float32), (1e20, np.float32),
                                              (1e-39, np.float64), (1e39, np.float64)])
def test_deltas_far_from_one_are_factored_as_exactly(device, scale, dtype):
    """Unscaled float32 work underflowed (a 3 % residual passed tol = 1e-3, a bound above
    the optimum) or overflowed (a raw torch error); the delta is scaled by a power of 2."""
    from svdkit.lora.torch_backend import factor_delta_torch

    base = _delta(500, 300, 0.8 ** np.arange(40), seed=14, tail=1e-3).astype(np.float64)
    d = (base * scale).astype(dtype)
    f = factor_delta_torch(d, RankRule(rank=10), device=device, min_size=0)
    g = factor_delta_torch(base.astype(dtype if dtype == np.float64 else np.float32),
                           RankRule(rank=10), device=device, min_size=0)
    assert f.method == g.method and f.method.startswith(f"torch-{device}")
    np.testing.assert_allclose(f.s.astype(np.float64) / scale, g.s, rtol=1e-5)
    assert f.quality.relative_error == pytest.approx(g.quality.relative_error, rel=1e-5)
    d64 = base  # the check, unscaled: residuals relative to σ₁
    U, s, Vh = f.U.astype(np.float64), f.s.astype(np.float64) / scale, f.Vh.astype(np.float64)
    right = np.linalg.norm(d64 @ Vh.T - U * s, axis=0)
    assert np.max(right) <= f.tol * s[0] * (1 + 1e-3) + 64 * np.finfo(np.float32).eps * s[0]
    optimum = np.sqrt(np.sum(np.linalg.svd(d64, compute_uv=False)[10:] ** 2)) * scale
    assert f.quality.optimum_lower <= optimum * (1 + 1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_a_tolerance_float32_cannot_certify_runs_in_float64_on_the_device(device, monkeypatch):
    from svdkit.lora import torch_backend as tb

    def no_cpu(*args, **kwargs):
        raise AssertionError("fell back to the CPU path")

    monkeypatch.setattr(tb, "factor_delta", no_cpu)
    d = _delta(700, 500, 0.85 ** np.arange(60), seed=15)
    f = tb.factor_delta_torch(d, RankRule(rank=16), tol=1e-8, device=device, min_size=0)
    assert "float64" in f.method and f.tol == 1e-8
    _check(d, f, 1e-8)


@pytest.mark.parametrize("device", DEVICES)
def test_arguments_are_checked_as_the_cpu_path_does(device):
    from svdkit.errors import NonFiniteError, SvdkitError
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _delta(400, 300, 0.8 ** np.arange(30), seed=16)
    call = functools.partial(factor_delta_torch, d, RankRule(rank=4), device=device, min_size=0)
    for kwargs, says in [
        ({"seed": -1}, "seed must be a non-negative integer or None; got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer or None"),
        ({"method": "bogus"}, "method must be one of auto, krylov"),
        ({"tol": 1.0}, "tol must be in [1e-14, 1)"),
        ({"tol": float("nan")}, "tol must be"),
        ({"max_iter": 1}, "max_iter must be an integer ≥ 2; got 1"),
    ]:
        with pytest.raises(SvdkitError) as info:
            call(**kwargs)
        assert says in str(info.value), (kwargs, str(info.value))
    # seeds the CPU path takes: None (fresh entropy) and seeds beyond 2⁶³
    for seed in (None, 2**64 + 5):
        f = call(seed=seed)
        _check(d, f, 1e-3)
    bad = d.copy()
    bad[7, 3] = np.nan
    with pytest.raises(NonFiniteError):
        factor_delta_torch(bad, RankRule(rank=4), device=device, min_size=0)


def test_extract_takes_seed_none_with_the_torch_backend(tmp_path, monkeypatch):
    from svdkit.lora import extract, save_safetensors
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(17)
    W = rng.standard_normal((512, 384)).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"m.q.weight": W})
    save_safetensors(tmp_path / "t.safetensors",
                     {"m.q.weight": W + _delta(512, 384, 0.7 ** np.arange(20), seed=18)})
    monkeypatch.setattr(tb, "cuda_available", lambda: True)
    monkeypatch.setattr(tb, "factor_delta_torch",
                        functools.partial(tb.factor_delta_torch, device="cpu", min_size=0))
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=6),
                 backend="TORCH", seed=None)
    assert ex.report.modules[0].method.startswith("torch-cpu-krylov")


def test_out_of_memory_goes_to_the_cpu_on_torch_before_2_5(monkeypatch):
    """torch.OutOfMemoryError is torch 2.5's; torch.cuda.OutOfMemoryError before."""
    from svdkit.lora import torch_backend as tb

    monkeypatch.delattr(torch, "OutOfMemoryError")

    def full(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(tb, "_factor_on", full)
    d = _delta(400, 300, 0.8 ** np.arange(40), seed=19)
    f = tb.factor_delta_torch(d, RankRule(rank=6), device="cpu", min_size=0)
    assert not f.method.startswith("torch")
    _check(d, f, 1e-3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("eps", "rank"), [(1e-7, 57), (3e-8, 60)])
def test_error_bounds_with_a_cap_as_the_cpu_path(device, eps, rank):
    """σᵢ = 10·0.75ⁱ, --max-rank 60 (the stack's reported cases): 57 at ε = 1e-7, and the
    cap where 61 would be needed; the same ranks as factor_delta."""
    from svdkit.lora.factor import factor_delta
    from svdkit.lora.torch_backend import factor_delta_torch

    rng = np.random.default_rng(7)
    U, _ = np.linalg.qr(rng.standard_normal((400, 300)))
    V, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    d = (U * (10 * 0.75 ** np.arange(300))) @ V.T
    rule = RankRule(error=eps, max_rank=60)
    f = factor_delta_torch(d, rule, device=device, min_size=0)
    assert f.rank == rank == factor_delta(d, rule).rank, f.method
    err = np.linalg.norm(d - (f.U * f.s) @ f.Vh) / np.linalg.norm(d)
    assert (err <= eps * (1 + 1e-6)) == (rank < 60)
    assert f.quality.relative_error == pytest.approx(err, rel=1e-6)


def test_the_pissa_command_takes_the_torch_backend(tmp_path, capsys, monkeypatch):
    from cli_support import run_svdkit

    from svdkit.lora import Checkpoint, save_safetensors
    from svdkit.lora import torch_backend as tb

    rng = np.random.default_rng(21)
    W = rng.standard_normal((512, 384)).astype(np.float32)
    save_safetensors(tmp_path / "base.safetensors", {"layers.0.q.weight": W})
    ran = []
    real = functools.partial(tb.factor_delta_torch, device="cpu")

    def spy(*args, **kwargs):
        f = real(*args, **kwargs)
        ran.append(f.method)
        return f

    monkeypatch.setattr(tb, "cuda_available", lambda: True)
    monkeypatch.setattr(tb, "factor_delta_torch", spy)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "lora", "pissa", "base.safetensors", "-o", "ad", "--residual", "res.safetensors",
        "--rank", "8", "--backend", "torch")
    assert code == 0, err
    assert ran and ran[0].startswith("torch-cpu-krylov")
    R = Checkpoint(tmp_path / "res.safetensors").read("layers.0.q.weight")
    sigma = np.linalg.svd(W.astype(np.float64), compute_uv=False)
    assert np.linalg.norm(R) == pytest.approx(np.sqrt(np.sum(sigma[8:] ** 2)), rel=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_a_complex_delta_goes_to_the_cpu_path(device):
    """Its imaginary part was dropped on the device (factors 70 % off, reported 6e-7)."""
    from svdkit.lora.torch_backend import factor_delta_torch

    rng = np.random.default_rng(22)
    A = rng.standard_normal((300, 8)) + 1j * rng.standard_normal((300, 8))
    B = rng.standard_normal((8, 280)) + 1j * rng.standard_normal((8, 280))
    d = A @ B
    f = factor_delta_torch(d, RankRule(rank=8), device=device, min_size=0)
    assert not f.method.startswith("torch") and np.iscomplexobj(f.U)
    assert np.linalg.norm(d - (f.U * f.s) @ f.Vh) <= 1e-12 * np.linalg.norm(d)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rank", [250, 299])
def test_a_float64_delta_is_factored_to_float64_accuracy(device, rank):
    """A float32 pass's error (35× the optimum at rank 299) was below its own float32
    floor and reported as rounding; the delta's precision is the floor, and the pass
    that misses it is done again in float64."""
    from svdkit.lora.torch_backend import factor_delta_torch

    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((400, 300)))
    V, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    d = (U * 0.95 ** np.arange(300)) @ V.T
    optimum = np.sqrt(np.sum(np.linalg.svd(d, compute_uv=False)[rank:] ** 2))
    f = factor_delta_torch(d, RankRule(rank=rank), device=device, min_size=0)
    err = np.linalg.norm(d - (f.U * f.s) @ f.Vh)
    assert f.U.dtype == np.float64 and err <= 1.01 * optimum, (err / optimum, f.method)


@pytest.mark.parametrize("device", DEVICES)
def test_a_subnormal_float32_delta(device):
    """Entries below 2⁻¹²⁸: the scale 2¹²⁹ overflowed float32 (a raw torch error)."""
    from svdkit.lora.torch_backend import factor_delta_torch

    base = _delta(400, 300, 0.7 ** np.arange(20), seed=23).astype(np.float64)
    d = (base * (1e-39 / np.abs(base).max())).astype(np.float32)
    f = factor_delta_torch(d, RankRule(rank=4), device=device, min_size=0)
    assert f.method.startswith(f"torch-{device}")
    d64 = d.astype(np.float64)
    sigma = np.linalg.svd(d64, compute_uv=False)
    np.testing.assert_allclose(f.s.astype(np.float64), sigma[:4], rtol=1e-3)


def test_an_integer_rule_is_a_fixed_rank():
    from svdkit.lora.torch_backend import factor_delta_torch

    d = _delta(400, 300, 0.8 ** np.arange(30), seed=24)
    f = factor_delta_torch(d, 6, device="cpu", min_size=0)
    assert f.rank == 6 and f.method.startswith("torch-cpu")
