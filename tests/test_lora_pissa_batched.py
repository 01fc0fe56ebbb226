"""PiSSA factors modules of one small shape together (svdkit.lora.batched), as extract does.

The batched path must give what the one-at-a-time path gives (that path is taken
here by making every batch a single module): the same ranks under every rule, the
same table rows and notes, factors whose residual certificate holds (recomputed
here from the stored factors), and a residual that adds back to ``W``.
"""

from __future__ import annotations

import importlib
import logging

import ml_dtypes
import numpy as np
import pytest

from svdkit.errors import NonFiniteError
from svdkit.lora import Checkpoint, RankRule, pissa, save_safetensors
from svdkit.lora.batched import factor_batch
from svdkit.lora.pissa import pissa_notes

TOL = 1e-3
# (svdkit.lora's `pissa` attribute is the function, which hides the module)
pissa_module = importlib.import_module("svdkit.lora.pissa")


def _weight(m: int, n: int, seed: int) -> np.ndarray:
    """``U diag(σ) Vᵀ`` with a decaying spectrum ``σᵢ = 0.8^i + 0.01`` (float64)."""
    rng = np.random.default_rng(seed)
    p = min(m, n)
    s = 0.8 ** np.arange(p) + 0.01
    U, _ = np.linalg.qr(rng.standard_normal((m, p)))
    V, _ = np.linalg.qr(rng.standard_normal((n, p)))
    return (U * s) @ V.T


def _model(tmp_path, extra=None):
    """Many same-shaped modules (F32 and BF16 of one shape, read as float32 together),
    a wide shape, Conv1D-stored weights ([in, out]), and an F64 module."""
    tensors = {}
    seed = 0
    for layer in range(5):
        for name, (m, n), dt in (
            ("q", (96, 80), np.float32),
            ("k", (96, 80), ml_dtypes.bfloat16),
            ("up", (64, 128), np.float32),
            ("c_attn", (80, 96), np.float32),  # Conv1D: factored as its transpose, 96×80
        ):
            seed += 1
            tensors[f"layers.{layer}.{name}.weight"] = _weight(m, n, seed).astype(dt)
        tensors[f"layers.{layer}.q.bias"] = np.zeros(96, np.float32)
    tensors["layers.0.f64.weight"] = _weight(96, 80, 99)
    tensors["layers.1.f64.weight"] = _weight(96, 80, 98)
    tensors.update(extra or {})
    save_safetensors(tmp_path / "b.safetensors", tensors)
    return tensors


def _run(tmp_path, tag, rule, *, batched, monkeypatch, dtype=np.float32):
    """pissa on the model, batched or one module at a time; (adapter, residual, rows)."""
    with monkeypatch.context() as mp:
        if not batched:
            mp.setattr(pissa_module, "plan_batches",
                       lambda items, rule: [[i] for i in range(len(items))])
        rows: list = []
        ad, res = pissa(tmp_path / "b.safetensors", tmp_path / f"ad{tag}",
                        tmp_path / f"r{tag}.safetensors", rule, dtype=dtype,
                        fan_in_fan_out=["c_attn"], tol=TOL, report=rows)
    return ad, Checkpoint(res), rows


RULES = [
    RankRule(rank=6),
    RankRule(error=0.2, max_rank=14),
    RankRule(energy=0.9, max_rank=14),
    RankRule(error=0.01, max_rank=10),  # the cap binds: every module misses the bound
    RankRule(energy=0.999, max_rank=8),  # capped
]


def test_pissa_factors_same_shaped_modules_in_batches(tmp_path, monkeypatch):
    _model(tmp_path)
    calls = []

    def counting(deltas, *args, **kwargs):
        calls.append([d.shape for d in deltas])
        return factor_batch(deltas, *args, **kwargs)

    monkeypatch.setattr(pissa_module, "factor_batch", counting)
    rows: list = []
    pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
          RankRule(rank=6), fan_in_fan_out=["c_attn"], report=rows)
    # one stack per (oriented shape, working dtype): q+k+c_attn (F32, BF16, Conv1D's
    # transpose) 96×80, up 64×128, the two F64 modules
    assert sorted(len(c) for c in calls) == [2, 5, 15]
    assert {s for c in calls for s in c} == {(96, 80), (64, 128)}
    assert [r.rank for r in rows] == [6] * len(rows) and len(rows) == 22


def test_pissa_method_other_than_auto_is_not_batched(tmp_path, monkeypatch):
    _model(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("factor_batch called")

    monkeypatch.setattr(pissa_module, "factor_batch", refuse)
    ad, _ = pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
                  RankRule(rank=6), fan_in_fan_out=["c_attn"], method="krylov")
    assert len(ad.modules) == 22


def _check_module(name, W, ad, residual, row, rule):
    """The stored factors: residual + B·A == W, both residuals of each triplet ≤ tol·σ₁,
    the row's error is ‖W − B·A‖_F / ‖W‖_F, and the rank rule."""
    W64 = np.asarray(W, np.float64)
    m = ad.modules[name]
    B, A = m.B.astype(np.float64), m.A.astype(np.float64)
    assert m.scale() == 1.0
    BA = B @ A
    if m.kind == "conv1d":
        BA = BA.T
    # residual + adapter reconstruct W: the residual is W − B·A rounded once to its dtype
    Wr = residual.read(f"{name}.weight", np.float64)
    exact = W64 - BA
    eps = float(np.finfo(np.float64 if W.dtype == np.float64 else np.float32).eps)
    if W.dtype == ml_dtypes.bfloat16:
        eps = 2.0**-7
    assert np.all(np.abs(Wr - exact) <= eps * np.abs(exact) + 1e-30)
    # the certificate: triplets recovered from the factors (B = U √σ, A = √σ Vᵀ)
    Wf = W64.T if m.kind == "conv1d" else W64
    nb, na = np.linalg.norm(B, axis=0), np.linalg.norm(A, axis=1)
    s, U, Vt = nb * na, B / nb, A / na[:, None]
    sv = np.linalg.svd(Wf, compute_uv=False)
    right = np.linalg.norm(Wf @ Vt.T - U * s, axis=0)
    left = np.linalg.norm(Wf.T @ U - Vt.T * s, axis=0)
    assert np.all(np.maximum(right, left) <= 1.01 * TOL * sv[0])
    err = np.linalg.norm(Wf - B @ A) / np.linalg.norm(Wf)
    assert row.relative_error == pytest.approx(err, rel=1e-6)
    optimum = np.sqrt(np.sum(sv[row.rank:] ** 2)) / np.linalg.norm(Wf)
    assert optimum <= err <= optimum * (1 + 1e-3)
    if rule.rank is not None:
        assert row.rank == rule.rank
    if rule.error is not None:
        assert row.bound_met == (err <= rule.error)


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_pissa_batched_same_ranks_rows_and_certificates(tmp_path, monkeypatch, rule):
    tensors = _model(tmp_path)
    ad1, _, one = _run(tmp_path, "1", rule, batched=False, monkeypatch=monkeypatch)
    ad2, res2, many = _run(tmp_path, "2", rule, batched=True, monkeypatch=monkeypatch)
    assert [r.name for r in many] == [r.name for r in one]
    assert list(ad2.modules) == list(ad1.modules)
    for a, b in zip(one, many, strict=True):
        assert (b.shape, b.rank, b.capped, b.bound_met, b.underflow) == (
            a.shape, a.rank, a.capped, a.bound_met, a.underflow), b.name
        assert b.relative_error == pytest.approx(a.relative_error, rel=1e-4)
    if rule.max_rank is not None and rule.rank_tol is not None and rule.rank_tol < 0.05:
        assert any(r.capped for r in many)  # the cases meant to reach the cap do
    for row in many:
        _check_module(row.name, tensors[f"{row.name}.weight"], ad2, res2, row, rule)
    # everything else is copied
    np.testing.assert_array_equal(res2.read("layers.0.q.bias"), tensors["layers.0.q.bias"])
    # the pissa mark names the weight whose norm changes most (the least relative error;
    # modules of one spectrum tie to the last digits, which the company in a stack moves)
    mark = ad2.pissa_mark
    least = min(r.relative_error for r in many if r.rank > 0)
    marked = next(r for r in many if f"{r.name}.weight" == mark["tensor"])
    assert marked.relative_error == least
    assert mark["norm_residual"] == pytest.approx(least * mark["norm_base"], rel=1e-12)
    assert mark["norm_base"] == pytest.approx(
        np.linalg.norm(np.asarray(tensors[mark["tensor"]], np.float64)), rel=1e-6)


def test_pissa_batched_bf16_factors_leave_room_as_one_at_a_time(tmp_path, monkeypatch):
    # factors stored in BF16: the error rule is met by a higher rank (RankRule.leaving_room)
    tensors = _model(tmp_path)
    rule = RankRule(error=0.1, max_rank=14)
    bf16 = ml_dtypes.bfloat16
    _, _, one = _run(tmp_path, "1", rule, batched=False, monkeypatch=monkeypatch, dtype=bf16)
    ad, res, many = _run(tmp_path, "2", rule, batched=True, monkeypatch=monkeypatch, dtype=bf16)
    assert [(r.rank, r.bound_met, r.capped) for r in many] == [
        (r.rank, r.bound_met, r.capped) for r in one]
    assert pissa_notes(many, rule, bf16) == [] == pissa_notes(one, rule, bf16)
    for row in many:
        W = np.asarray(tensors[f"{row.name}.weight"], np.float64)
        m = ad.modules[row.name]
        assert m.A.dtype == bf16
        BA = m.B.astype(np.float64) @ m.A.astype(np.float64)
        BA = BA.T if m.kind == "conv1d" else BA
        err = np.linalg.norm(W - BA) / np.linalg.norm(W)
        assert err <= rule.error and row.relative_error == pytest.approx(err, rel=1e-6)
        Wr = res.read(f"{row.name}.weight", np.float64)
        tiny = 2.0**-7 if tensors[f"{row.name}.weight"].dtype == bf16 else 2.0**-23
        assert np.all(np.abs(Wr + BA - W) <= tiny * np.abs(W - BA) + 1e-30)


def test_pissa_batched_zero_and_underflowing_modules_rows_and_notes(tmp_path, monkeypatch,
                                                                   caplog):
    # a zero module and one whose factors underflow F16, among modules of their shape
    tiny = (_weight(96, 80, 7) * 1e-30).astype(np.float32)
    extra = {"layers.9.zero.weight": np.zeros((96, 80), np.float32), "layers.9.tiny.weight": tiny}
    tensors = _model(tmp_path, extra)
    rule = RankRule(rank=6)
    _, _, one = _run(tmp_path, "1", rule, batched=False, monkeypatch=monkeypatch,
                     dtype=np.float16)
    ad, res, many = _run(tmp_path, "2", rule, batched=True, monkeypatch=monkeypatch,
                         dtype=np.float16)
    by_name = {r.name: r for r in many}
    assert (by_name["layers.9.zero"].rank, by_name["layers.9.zero"].underflow) == (0, False)
    assert (by_name["layers.9.tiny"].rank, by_name["layers.9.tiny"].underflow) == (0, True)
    assert [(r.name, r.rank, r.underflow) for r in many] == [
        (r.name, r.rank, r.underflow) for r in one]
    assert pissa_notes(many, rule, np.float16) == pissa_notes(one, rule, np.float16)
    assert "layers.9.tiny" in " ".join(pissa_notes(many, rule, np.float16))
    assert "layers.9.zero" not in ad.modules and "layers.9.tiny" not in ad.modules
    # kept whole: nothing of them lost
    np.testing.assert_array_equal(res.read("layers.9.tiny.weight"), tiny)
    np.testing.assert_array_equal(res.read("layers.9.zero.weight"), tensors["layers.9.zero.weight"])
    # without a report, the same notes are logged
    with caplog.at_level(logging.WARNING, logger="svdkit.lora.pissa"):
        pissa(tmp_path / "b.safetensors", tmp_path / "ad3", tmp_path / "r3.safetensors", rule,
              dtype=np.float16, fan_in_fan_out=["c_attn"])
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "kept whole in the residual (rank 0): layers.9.tiny" in logged


def test_pissa_batched_non_finite_weight_is_named(tmp_path):
    bad = _weight(96, 80, 5).astype(np.float32)
    bad[3, 4] = np.nan
    _model(tmp_path, {"layers.3.k.weight": bad})
    with pytest.raises(NonFiniteError) as exc:
        pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
              RankRule(rank=6), fan_in_fan_out=["c_attn"])
    assert "'layers.3.k'" in str(exc.value) and "[3, 4]" in str(exc.value)
    assert not (tmp_path / "ad").exists() and not (tmp_path / "r.safetensors").exists()


def test_pissa_torch_backend_keeps_one_module_at_a_time(tmp_path, monkeypatch):
    # a backend other than NumPy's (the torch one on a GPU) factors every module itself
    from svdkit.lora.factor import factor_delta

    _model(tmp_path)
    seen = []

    def backend(W, rule, **kwargs):
        seen.append(W.shape)
        return factor_delta(W, rule, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("factor_batch called")

    monkeypatch.setattr(pissa_module, "resolve_backend", lambda name: backend)
    monkeypatch.setattr(pissa_module, "factor_batch", refuse)
    ad, _ = pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
                  RankRule(rank=6), fan_in_fan_out=["c_attn"], backend="torch")
    assert len(seen) == len(ad.modules) == 22
