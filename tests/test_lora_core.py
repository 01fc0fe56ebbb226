"""svdkit.lora without PEFT: rank rules, factoring, resize, merge, PiSSA, analyse, files, errors."""

from __future__ import annotations

import json
import math

import lora_support
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svdkit.errors import (
    EmptyInputError,
    FileFormatError,
    MissingFileError,
    MissingTensorError,
    ShapeError,
    SvdkitError,
)
from svdkit.lora import Adapter, Checkpoint, LoraModule, RankRule, extract, save_safetensors
from svdkit.lora.analyse import ModuleSpectrum, analyse_adapter, analyse_pair
from svdkit.lora.factor import factor_delta, split_factors
from svdkit.lora.merge import merge
from svdkit.lora.pissa import pissa
from svdkit.lora.rank import energy_rank
from svdkit.lora.resize import factor_spectrum, resize

lora_pair = lora_support.lora_pair


def _dense_optimum(d: np.ndarray, k: int) -> float:
    s = np.linalg.svd(np.asarray(d, np.float64), compute_uv=False)
    return float(np.sqrt(np.sum(s[k:] ** 2)))


def _spectral(m: int, n: int, s: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return (U * s) @ V.T


# ----------------------------------------------------------------------------- rank rules


@pytest.mark.parametrize(
    ("s", "rule", "k"),
    [
        ([1, 1, 1, 1], RankRule(energy=0.5), 2),  # exactly half: met at k = 2, not 3
        ([1, 1, 1, 1], RankRule(energy=0.75), 3),
        ([1, 1, 1, 1], RankRule(energy=1.0), 4),
        ([3, 2, 1], RankRule(energy=13 / 14), 2),  # 9 + 4 = 13 of 14, exactly
        ([3, 2, 1], RankRule(energy=0.93), 3),
        ([3, 2, 1], RankRule(error=math.sqrt(1 / 14)), 2),  # tail 1 of 14, exactly
        ([3, 2, 1], RankRule(error=0.2), 3),
        ([3, 2, 1], RankRule(error=0.0), 3),
        ([3, 2, 1], RankRule(rank=5), 3),
        ([3, 2, 1], RankRule(energy=0.99, max_rank=2), 2),
        ([5, 0, 0], RankRule(energy=0.999), 1),
    ],
)
def test_rank_rule_on_hand_computed_spectra(s, rule, k):
    s = np.asarray(s, float)
    assert rule.select(s, float(np.sum(s**2))) == k


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30),
    st.floats(0.01, 1.0),
)
def test_energy_rank_is_the_smallest_that_meets_the_energy(values, fraction):
    s = np.sort(np.asarray(values))[::-1]
    total = float(np.sum(s**2))
    k = energy_rank(s, total, fraction)
    assert k is not None
    if total > 0:
        slack = 1e-12 * total
        assert np.sum(s[:k] ** 2) >= fraction * total - slack
        if k > 0:
            assert np.sum(s[: k - 1] ** 2) < fraction * total + slack


@pytest.mark.parametrize("bad", [{}, {"rank": 0}, {"energy": 1.5}, {"error": 1.0},
                                 {"rank": 2, "energy": 0.5}])
def test_rank_rule_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        RankRule(**bad)


# ----------------------------------------------------------------------------- factoring


@pytest.mark.parametrize("shape", [(384, 384), (1536, 384), (300, 700)])
def test_factor_delta_is_near_optimal_and_its_report_is_true(shape):
    m, n = shape
    s = np.concatenate([10 * 0.8 ** np.arange(20), 0.05 * np.ones(min(m, n) - 20)])
    d = _spectral(m, n, s, seed=1).astype(np.float32)
    for rule, k_expected in ((RankRule(rank=12), 12), (RankRule(energy=0.95), None)):
        f = factor_delta(d, rule)
        k = f.rank
        if k_expected is not None:
            assert k == k_expected
        else:  # the smallest k with 95 % of the whole energy
            assert k == energy_rank(s, float(np.sum(s**2)), 0.95)
        err = float(np.linalg.norm(d.astype(np.float64) - (f.U * f.s) @ f.Vh))
        opt = _dense_optimum(d, k)
        assert f.quality.error == pytest.approx(err, rel=1e-4)
        assert f.quality.optimum_lower <= opt * (1 + 1e-6)
        assert err <= opt * 1.005  # ≤ 0.5 % over the optimum
        assert f.quality.excess is not None and f.quality.excess <= 0.005


def test_factor_delta_takes_an_integer_rank_and_refuses_other_rules():
    d = _spectral(200, 120, 0.7 ** np.arange(120), seed=3)
    by_int, by_rule = factor_delta(d, 5), factor_delta(d, RankRule(rank=5))
    assert by_int.rank == 5
    assert np.array_equal(by_int.s, by_rule.s) and np.array_equal(by_int.U, by_rule.U)
    for bad in ("5", 5.0, True, None):
        with pytest.raises(SvdkitError, match="RankRule or an integer rank"):
            factor_delta(d, bad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, ml_dtypes.bfloat16])
def test_frobenius2_is_summed_in_double(dtype):
    """``‖ΔW‖_F²`` of any precision is the float64 sum of the exact squares (row
    blocks through one buffer)."""
    from svdkit.lora.factor import frobenius2

    rng = np.random.default_rng(2)
    d = (rng.standard_normal((3000, 700)) * np.linspace(1e-3, 10, 700)).astype(dtype)
    exact = float(np.sum(d.astype(np.float64) ** 2))
    assert frobenius2(d) == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("split", ["sqrt", "B", "A"])
@pytest.mark.parametrize("scale", [1.0, 0.25, 2.0])
def test_split_factors_reproduce_the_product(split, scale):
    rng = np.random.default_rng(0)
    d = rng.standard_normal((20, 3)) @ rng.standard_normal((3, 15))
    U, s, Vh = np.linalg.svd(d, full_matrices=False)
    B, A = split_factors(U[:, :3], s[:3], Vh[:3], split, scale)
    assert B.shape == (20, 3) and A.shape == (3, 15)
    np.testing.assert_allclose(scale * B @ A, d, atol=1e-10)
    if split == "sqrt":
        np.testing.assert_allclose(np.linalg.norm(B, axis=0), np.linalg.norm(A, axis=1))


# ----------------------------------------------------------------------------- resize


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 40), st.integers(2, 40), st.integers(1, 10), st.integers(1, 12),
    st.booleans(), st.integers(0, 10_000),
)
def test_resize_equals_dense_truncation(m, n, r, new, rslora, seed):
    rng = np.random.default_rng(seed)
    B, A = rng.standard_normal((m, r)), rng.standard_normal((r, n))
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=3.0)}, use_rslora=rslora)
    dense = ad.modules["fc"].delta(rslora)
    small, report = resize(ad, RankRule(rank=new))
    k = min(new, r, m, n)
    U, s, Vh = np.linalg.svd(dense, full_matrices=False)
    best = (U[:, :k] * s[:k]) @ Vh[:k]
    got = small.modules["fc"]
    assert got.r == k == report[0].rank
    tol = 1e-9 * max(1.0, s[0]) * max(1.0, s[0] / max(s[k - 1] - (s[k] if k < s.size else 0), 1e-3))
    np.testing.assert_allclose(got.delta(small.use_rslora), best, atol=tol)
    assert small.use_rslora == rslora
    assert report[0].energy_kept == pytest.approx(np.sum(s[:k] ** 2) / np.sum(s**2))


def test_resize_by_energy_and_alpha_carry_over():
    d = _spectral(64, 48, np.array([8.0, 4.0, 2.0, 1.0, 0.5, 0.25]), seed=3)
    U, s, Vh = np.linalg.svd(d, full_matrices=False)
    B, A = split_factors(U[:, :6], s[:6], Vh[:6], "B", scale=16 / 6)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=16)})
    np.testing.assert_allclose(ad.modules["fc"].delta(), d, atol=1e-10)
    small, report = resize(ad, RankRule(energy=0.95), alpha=8)
    m = small.modules["fc"]
    # energies 64, 16, 4, 1, … of 85.3125: 80 < 95 % ≤ 84, so rank 3
    assert m.r == 3 and m.alpha == 8 and report[0].rank_before == 6
    np.testing.assert_allclose(m.delta(), (U[:, :3] * s[:3]) @ Vh[:3], atol=1e-10)
    assert m.scale() == pytest.approx(8 / 3)


def test_factor_spectrum_is_the_svd_of_the_product():
    rng = np.random.default_rng(4)
    B, A = rng.standard_normal((30, 5)), rng.standard_normal((5, 25))
    U, s, Vh = factor_spectrum(B, A, 0.5)
    np.testing.assert_allclose((U * s) @ Vh, 0.5 * B @ A, atol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(0.5 * B @ A, compute_uv=False)[:5])
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-12)


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16, np.float64])
def test_safetensors_round_trip_with_the_reference_reader(tmp_path, dtype):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((7, 5)).astype(dtype),
               "b.bias": rng.standard_normal(3).astype(dtype),
               "ids": np.arange(4, dtype=np.int64)}
    save_safetensors(tmp_path / "ours.safetensors", tensors)
    with safe_open(str(tmp_path / "ours.safetensors"), framework="np") as f:
        for k, v in tensors.items():
            assert np.array_equal(f.get_tensor(k), v) and f.get_tensor(k).dtype == v.dtype
    save_file(tensors, str(tmp_path / "ref.safetensors"))
    ck = Checkpoint(tmp_path / "ref.safetensors")
    for k, v in tensors.items():
        got = ck.tensor(k)
        assert isinstance(got, np.memmap) and got.dtype == v.dtype
        assert np.array_equal(np.asarray(got), v)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_extract_and_merge_in_half_precision(tmp_path, dtype):
    rng = np.random.default_rng(5)
    W = rng.standard_normal((96, 64)).astype(np.float32)
    D = _spectral(96, 64, np.array([2.0, 1.0, 0.5]), seed=6)
    base = {"fc.weight": W.astype(dtype)}
    tuned = {"fc.weight": (W + D).astype(dtype)}
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=3))
    true = tuned["fc.weight"].astype(np.float64) - base["fc.weight"].astype(np.float64)
    rep = ex.report.modules[0]
    assert rep.relative_error == pytest.approx(
        _dense_optimum(true, 3) / np.linalg.norm(true), rel=1e-3
    )
    out = ex.adapter.save(tmp_path / "ad", dtype=dtype)
    assert Checkpoint(out / "adapter_model.safetensors").dtype(
        "base_model.model.fc.lora_A.weight") == ("F16" if dtype == np.float16 else "BF16")
    merged = Checkpoint(merge(tmp_path / "b.safetensors", out, tmp_path / "m.safetensors"))
    assert merged.tensor("fc.weight").dtype == np.dtype(dtype)
    got = merged.read("fc.weight", np.float64)
    # within the half-precision rounding of W + ΔW plus the truncation error
    eps = float(ml_dtypes.finfo(dtype).eps)
    want = tuned["fc.weight"].astype(np.float64)
    bound = 4 * eps * np.abs(want).max() + rep.relative_error * np.linalg.norm(true)
    assert np.abs(got - want).max() <= bound


@pytest.mark.parametrize(
    ("stored", "factors"),
    [(np.float32, "F32"), (np.float16, "F32"), (ml_dtypes.bfloat16, "F32"), (np.float64, "F64")],
)
def test_factors_are_stored_in_the_deltas_precision_by_default(tmp_path, stored, factors):
    # docs/lora.md: "factors in float32 or --dtype …" (float64 for float64 checkpoints);
    # the SVD's float64 factors were written as they were, twice the adapter's size
    rng = np.random.default_rng(8)
    W = rng.standard_normal((80, 48))
    E = rng.standard_normal((120, 16))
    base = {"layer.fc.weight": W.astype(stored), "model.embed_tokens.weight": E.astype(stored)}
    tuned = {
        "layer.fc.weight": (W + _spectral(80, 48, np.array([3.0, 1.0, 0.2]), 1)).astype(stored),
        "model.embed_tokens.weight": (E + _spectral(120, 16, np.array([2.0, 0.5]), 2)).astype(
            stored
        ),
    }
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=2))
    out = ex.adapter.save(tmp_path / "ad")
    ck = Checkpoint(out / "adapter_model.safetensors")
    names = [n for n in ck.names if ".lora_" in n]
    assert len(names) == 4 and {ck.dtype(n) for n in names} == {factors}
    for rep in ex.report.modules:
        m = ex.adapter.modules[rep.name]
        true = tuned[rep.name + ".weight"].astype(np.float64) - base[rep.name + ".weight"]
        prod = m.delta()  # scale · B A in float64 (transposed for the embedding)
        # the stored factors are as good as the report says, to their own rounding
        err = np.linalg.norm(true - prod) / np.linalg.norm(true)
        eps = 1e-6 if factors == "F32" else 1e-12
        assert err == pytest.approx(_dense_optimum(true, 2) / np.linalg.norm(true), abs=eps)
        # the report's error comes from ‖ΔW‖_F² − Σ σᵢ²: with sgesdd's float32 σ taken as
        # the Rayleigh quotients it was 0.4 % off at fp16 (0.005762 for 0.005738)
        assert err == pytest.approx(rep.relative_error, abs=eps)


def _shard(src: Checkpoint, out, shards: int = 3):
    names = src.names
    out.mkdir(parents=True)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        save_safetensors(out / fname, {n: src.read(n, None) for n in part})
        weight_map.update(dict.fromkeys(part, fname))
    (out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {},
                                                                  "weight_map": weight_map}))
    return out


def test_sharded_checkpoints_extract_and_merge_like_single_files(lora_pair, tmp_path):
    base_dir, tuned_dir = lora_pair
    sb = _shard(Checkpoint(base_dir), tmp_path / "base_sharded")
    st_ = _shard(Checkpoint(tuned_dir), tmp_path / "tuned_sharded")
    assert len(Checkpoint(sb).files) == 3
    targets = ["encoder.layer.0.attention.self.query", "encoder.layer.5.output.dense"]
    a = extract(base_dir, tuned_dir, RankRule(rank=8), targets=targets, extras="list")
    b = extract(sb, st_, RankRule(rank=8), targets=targets, extras="list")
    assert sorted(a.adapter.modules) == sorted(b.adapter.modules) == sorted(targets)
    for name in targets:
        np.testing.assert_array_equal(a.adapter.modules[name].A, b.adapter.modules[name].A)
    out = merge(sb, b.adapter, tmp_path / "merged")
    assert (out / "model.safetensors.index.json").is_file()
    merged = Checkpoint(out)
    assert len(merged.files) == 3
    key = "encoder.layer.5.output.dense.weight"
    want = Checkpoint(base_dir).read(key) + b.adapter.modules[targets[1]].delta(dtype=np.float32)
    np.testing.assert_allclose(merged.read(key), want, rtol=1e-6, atol=1e-6)
    untouched = "encoder.layer.3.attention.self.key.weight"
    assert np.array_equal(merged.read(untouched), Checkpoint(base_dir).read(untouched))
    # changed tensors not in the adapter are listed, never dropped silently
    assert "encoder.layer.0.output.LayerNorm.weight" in b.report.extras_listed


def test_pissa_residual_plus_adapter_is_the_base(lora_pair, tmp_path):
    base_dir, _ = lora_pair
    targets = ["encoder.layer.0.attention.self.value", "encoder.layer.2.intermediate.dense"]
    ad, res = pissa(base_dir, tmp_path / "pissa", tmp_path / "residual", RankRule(rank=16),
                    targets=targets)
    assert sorted(ad.modules) == sorted(targets)
    base, residual = Checkpoint(base_dir), Checkpoint(res)
    for name in targets:
        W = base.read(f"{name}.weight", np.float64)
        Wr = residual.read(f"{name}.weight", np.float64)
        m = Adapter.load(tmp_path / "pissa").modules[name]
        assert m.r == 16
        atol = 4 * np.finfo(np.float32).eps * np.abs(W).max()
        np.testing.assert_allclose(Wr + m.delta(), W, atol=atol)
        # the adapter holds the top-16 triplets: the residual is W's optimal rank-16 error
        assert np.linalg.norm(Wr) == pytest.approx(_dense_optimum(W, 16), rel=1e-3)
    other = "encoder.layer.4.attention.self.query.weight"
    assert np.array_equal(residual.read(other), base.read(other))


# ----------------------------------------------------------------------------- analyse


def test_module_spectrum_measures_on_a_hand_spectrum():
    sp = ModuleSpectrum("m", (3, 3), np.array([2.0, 1.0, 1.0]), 6.0, complete=True)
    np.testing.assert_allclose(sp.energy_curve(), [4 / 6, 5 / 6, 1.0])
    assert sp.stable_rank == pytest.approx(1.5)
    p = np.array([0.5, 0.25, 0.25])
    assert sp.effective_rank == pytest.approx(math.exp(-np.sum(p * np.log(p))))
    assert sp.recommended_rank(0.8) == 2 and sp.recommended_rank(0.5) == 1
    partial = ModuleSpectrum("m", (3, 3), np.array([2.0]), 6.0, complete=False)
    assert partial.recommended_rank(0.8) is None and partial.effective_rank is None


def test_analyse_pair_and_adapter_agree_and_draw(tmp_path):
    rng = np.random.default_rng(7)
    W = rng.standard_normal((80, 60)).astype(np.float32)
    s = np.array([5.0, 3.0, 1.0, 0.5])
    D = _spectral(80, 60, s, seed=8).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": W + D})
    an = analyse_pair(tmp_path / "b.safetensors", tmp_path / "t.safetensors", energy=0.9)
    true = np.linalg.svd((W + D).astype(np.float64) - W, compute_uv=False)
    np.testing.assert_allclose(an.modules[0].s[:4], true[:4], rtol=1e-4)
    assert an.rows()[0]["recommended_rank"] == energy_rank(true, float(np.sum(true**2)), 0.9)
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=4))
    aa = analyse_adapter(ex.adapter)
    np.testing.assert_allclose(aa.modules[0].s, an.modules[0].s[:4], rtol=1e-4)
    fig = an.figure(tmp_path / "spectra.png")
    assert fig.stat().st_size > 1000


# ----------------------------------------------------------------------------- bad input


def test_pickle_files_are_refused(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(FileFormatError, match="pickle"):
        Checkpoint(tmp_path / "pytorch_model.bin")
    with pytest.raises(FileFormatError, match="pickle"):
        Checkpoint(tmp_path)  # a directory with only a pickle checkpoint
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(FileFormatError, match="pickle"):
        Checkpoint(disguised)


def test_corrupt_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(MissingFileError):
        Checkpoint(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((20).to_bytes(8, "little") + b"{not json}          ")
    with pytest.raises(FileFormatError, match="not JSON"):
        Checkpoint(bad)
    save_safetensors(tmp_path / "ok.safetensors", {"w": np.ones((4, 4), np.float32)})
    raw = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[:-8])
    with pytest.raises(FileFormatError, match="offsets"):
        Checkpoint(tmp_path / "cut.safetensors")
    with pytest.raises(MissingFileError, match=r"adapter_config\.json"):
        Adapter.load(tmp_path)


def test_missing_tensor_and_shape_mismatch(tmp_path):
    w = np.ones((6, 4), np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": w, "emb.weight": w})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": w + 1})
    with pytest.raises(MissingTensorError, match=r"emb\.weight"):
        extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=1))
    save_safetensors(tmp_path / "t2.safetensors",
                     {"fc.weight": w + 1, "emb.weight": np.ones((7, 4), np.float32)})
    with pytest.raises(ShapeError, match=r"emb.weight.*\[6, 4\].*\[7, 4\]"):
        extract(tmp_path / "b.safetensors", tmp_path / "t2.safetensors", RankRule(rank=1))
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t2.safetensors", RankRule(rank=1),
                 on_mismatch="skip")
    assert ex.report.mismatched == ["emb.weight"] and list(ex.adapter.modules) == ["fc"]
    # an adapter for another model: shapes checked before anything is written
    other = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((1, 5)), B=np.ones((6, 1)),
                                      alpha=1)})
    with pytest.raises(ShapeError, match="fc"):
        merge(tmp_path / "b.safetensors", other, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    ghost = Adapter({"gone": LoraModule("gone", "linear", A=np.ones((1, 4)), B=np.ones((6, 1)),
                                        alpha=1)})
    with pytest.raises(MissingTensorError, match="gone"):
        merge(tmp_path / "b.safetensors", ghost, tmp_path / "m.safetensors")


def test_adapter_config_rank_must_match_tensors(tmp_path):
    ad = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((2, 4)), B=np.ones((3, 2)),
                                   alpha=2)})
    out = ad.save(tmp_path / "ad")
    cfg = json.loads((out / "adapter_config.json").read_text())
    cfg["r"] = 5
    (out / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileFormatError, match="rank 2"):
        Adapter.load(out)


# ----------------------------------------------------------------------------- torch backend


@pytest.mark.parametrize("rule", [RankRule(rank=12), RankRule(energy=0.9)])
def test_torch_backend_algorithm_is_certified_and_near_optimal(rule):
    # the CUDA backend's algorithm, run on torch's CPU device (no GPU needed)
    from svdkit.lora.torch_backend import factor_delta_torch

    s = np.concatenate([10 * 0.8 ** np.arange(30), 0.02 * np.ones(270)])
    d = _spectral(700, 300, s, seed=9).astype(np.float32)
    f = factor_delta_torch(d, rule, device="cpu", min_size=0)
    assert f.method.startswith("torch-cpu")
    k = f.rank
    if rule.rank is None:
        assert k == energy_rank(s, float(np.sum(s**2)), 0.9)
    else:
        assert k == 12
    err = float(np.linalg.norm(d.astype(np.float64) - (f.U * f.s) @ f.Vh))
    assert f.quality.error == pytest.approx(err, rel=1e-3)
    assert err <= 1.005 * _dense_optimum(d, k)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 24), st.integers(1, 24),
    st.sampled_from(["F32", "F16", "BF16", "F64"]), st.integers(0, 10_000),
)
def test_full_rank_extraction_and_merge_reproduce_the_tuned_weights(m, n, code, seed):
    import tempfile
    from pathlib import Path

    from safetensors import safe_open

    from svdkit.lora.safetensors_io import numpy_dtype

    dt = numpy_dtype(code)
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n)).astype(dt)
    T = (W.astype(np.float64) + rng.standard_normal((m, n))).astype(dt)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        save_safetensors(d / "b.safetensors", {"x.weight": W})
        save_safetensors(d / "t.safetensors", {"x.weight": T})
        with safe_open(str(d / "t.safetensors"), framework="np") as f:  # the reference reader
            assert np.array_equal(f.get_tensor("x.weight").astype(np.float64),
                                  T.astype(np.float64))
        ex = extract(d / "b.safetensors", d / "t.safetensors", RankRule(error=0.0))
        assert ex.report.modules[0].rank == min(m, n)
        merged = Checkpoint(merge(d / "b.safetensors", ex.adapter, d / "m.safetensors"))
        got = merged.read("x.weight", np.float64)
    want = T.astype(np.float64)
    # float32 arithmetic, then one rounding to the stored dtype
    eps = float(ml_dtypes.finfo(dt).eps) if code == "BF16" else float(np.finfo(dt).eps)
    tol = 2 * eps * np.abs(want).max() + 1e-4 * np.abs(want).max()
    assert np.abs(got - want).max() <= tol


# ----------------------------------------------------------------------------- options


def _small_model(tmp_path):
    rng = np.random.default_rng(11)
    base = {
        "model.embed_tokens.weight": rng.standard_normal((50, 16)).astype(np.float32),
        "model.layers.0.q_proj.weight": rng.standard_normal((16, 16)).astype(np.float32),
        "model.layers.0.q_proj.bias": np.zeros(16, np.float32),
    }
    tuned = dict(base)
    rows = np.zeros((50, 1))
    rows[[3, 7, 9]] = 1.0
    tuned["model.embed_tokens.weight"] = base["model.embed_tokens.weight"] + (
        rows @ rng.standard_normal((1, 16))
    ).astype(np.float32)
    tuned["model.layers.0.q_proj.weight"] = base["model.layers.0.q_proj.weight"] + _spectral(
        16, 16, np.array([1.0, 0.5]), seed=12
    ).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors", base, tuned


def test_embeddings_as_lora_in_peft_orientation_or_kept_whole(tmp_path):
    b, t, base, tuned = _small_model(tmp_path)
    ex = extract(b, t, RankRule(energy=0.999))
    emb = ex.adapter.modules["model.embed_tokens"]
    assert emb.kind == "embedding" and emb.r == 1
    assert emb.A.shape == (1, 50) and emb.B.shape == (16, 1)  # PEFT: A [r, V], B [d, r]
    want = tuned["model.embed_tokens.weight"] - base["model.embed_tokens.weight"]
    np.testing.assert_allclose(emb.delta(), want, atol=1e-5)
    keys = [k for k, _ in ex.adapter.tensor_items()]
    assert "base_model.model.model.embed_tokens.lora_embedding_A" in keys
    whole = extract(b, t, RankRule(energy=0.999), embeddings="save")
    assert "model.embed_tokens" not in whole.adapter.modules
    assert np.array_equal(whole.adapter.saved["model.embed_tokens.weight"],
                          tuned["model.embed_tokens.weight"])
    cfg = whole.adapter.peft_config()
    assert cfg["modules_to_save"] == ["model.embed_tokens"]


@pytest.mark.parametrize("alpha", [None, 4.0])
def test_rslora_and_alpha_keep_scale_times_product_equal_to_the_truncation(tmp_path, alpha):
    b, t, base, tuned = _small_model(tmp_path)
    ex = extract(b, t, RankRule(rank=2), rslora=True, alpha=alpha,
                 targets=["q_proj"], extras="list")
    m = ex.adapter.modules["model.layers.0.q_proj"]
    assert m.alpha == pytest.approx(math.sqrt(2) if alpha is None else 4.0)
    assert m.scale(True) == pytest.approx(m.alpha / math.sqrt(2))
    want = tuned["model.layers.0.q_proj.weight"] - base["model.layers.0.q_proj.weight"]
    np.testing.assert_allclose(m.delta(rslora=True), want, atol=1e-5)
    cfg = ex.adapter.peft_config()
    assert cfg["use_rslora"] is True and cfg["target_modules"] == ["model.layers.0.q_proj"]
    # the changed embedding is outside the targets: listed, not dropped
    assert ex.report.extras_listed == ["model.embed_tokens.weight"]
    back = Adapter.load(ex.adapter.save(tmp_path / "ad"))
    np.testing.assert_allclose(back.modules["model.layers.0.q_proj"].delta(rslora=True), want,
                               atol=1e-5)


@pytest.mark.parametrize("case", ["random", "zero_B", "repeated_columns", "ill_conditioned"])
def test_factor_spectrum_of_large_factors(case):
    """Factors past the Householder size go through CholeskyQR2, with its fall-back:
    a zero ``B`` (PEFT's initialisation), repeated columns, condition 1e12."""
    rng = np.random.default_rng(6)
    B, A = rng.standard_normal((2000, 64)), rng.standard_normal((64, 1500))
    if case == "zero_B":
        B[:] = 0.0
    elif case == "repeated_columns":
        B[:, 32:] = B[:, :32]
    elif case == "ill_conditioned":
        B *= np.logspace(0, -12, 64)
    U, s, Vh = factor_spectrum(B, A, 0.5)
    exact = 0.5 * B @ A
    np.testing.assert_allclose((U * s) @ Vh, exact, atol=1e-11 * max(1.0, np.abs(exact).max()))
    np.testing.assert_allclose(U.T @ U, np.eye(64), atol=1e-10)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(64), atol=1e-10)
    s_true = np.linalg.svd(exact, compute_uv=False)[:64]
    np.testing.assert_allclose(s, s_true, atol=1e-10 * max(1.0, s_true[0]))


# ----------------------------------------------------------------------------- PEFT's config rules


def _suffix_clash_adapter() -> Adapter:
    """``fc`` is a suffix of ``encoder.fc``; ``layer.1.fc`` is a regex matching ``layerx1xfc``."""
    rng = np.random.default_rng(11)

    def mod(name: str, r: int, alpha: float) -> LoraModule:
        return LoraModule(name, "linear", A=rng.standard_normal((r, 6)),
                          B=rng.standard_normal((5, r)), alpha=alpha)

    spec = {"fc": (2, 3.0), "encoder.fc": (4, 4.0), "encoder.fc2": (4, 4.0),
            "layer.1.fc": (3, 4.0), "layerx1xfc": (4, 7.0), "head.fc": (4, 3.0)}
    return Adapter({n: mod(n, r, a) for n, (r, a) in spec.items()})


def test_rank_and_alpha_patterns_match_only_their_modules_under_peft_rule(tmp_path):
    import peft.utils.other as other
    ad = _suffix_clash_adapter()
    out = ad.save(tmp_path / "ad")
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and cfg["lora_alpha"] == 4
    for name, m in ad.modules.items():
        # exactly PeftModel's lookup (peft.tuners.lora.model._create_and_replace)
        rp, ap = cfg["rank_pattern"], cfg["alpha_pattern"]
        assert rp.get(other.get_pattern_key(rp.keys(), name), cfg["r"]) == m.r, name
        assert ap.get(other.get_pattern_key(ap.keys(), name), cfg["lora_alpha"]) == m.alpha, name
    back = Adapter.load(out)
    for name, m in ad.modules.items():
        assert (back.modules[name].r, back.modules[name].alpha) == (m.r, m.alpha)
        np.testing.assert_allclose(back.modules[name].delta(), m.delta())


def test_pattern_lookup_is_peft_get_pattern_key():
    import peft.utils.other as other

    from svdkit.lora.adapter import _pattern_value

    patterns = {"fc": 2, r"^encoder\.fc": 3, "enc.*2": 5, "q(proj)": 6, "a.b": 7}
    names = ["fc", "encoder.fc", "x.encoder.fc", "encoder.fc2", "q(proj)", "qproj", "x.q",
             "a.b", "axb", "x.a.b", "unrelated"]
    for name in names:
        want = patterns.get(other.get_pattern_key(patterns.keys(), name))
        assert _pattern_value(patterns, name) == want, name


def test_peft_loads_suffix_clash_adapter_and_merges_like_svdkit(tmp_path):
    import peft
    import torch
    ad = _suffix_clash_adapter()
    out = ad.save(tmp_path / "ad")
    torch.manual_seed(0)
    model = torch.nn.Module()
    for name in ad.modules:
        parent = model
        *path, last = name.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, torch.nn.Module())
            parent = getattr(parent, part)
        parent.add_module(last, torch.nn.Linear(6, 5, bias=False))
    base = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    merged = peft.PeftModel.from_pretrained(model, str(out)).merge_and_unload().state_dict()
    for name, m in ad.modules.items():
        key = f"{name}.weight"
        np.testing.assert_allclose(merged[key].numpy(), base[key] + m.delta(), atol=1e-4)


def _save_config(out, **changes):
    path = out / "adapter_config.json"
    cfg = json.loads(path.read_text())
    for key, value in changes.items():
        if value is ...:
            del cfg[key]
        else:
            cfg[key] = value
    path.write_text(json.dumps(cfg))


def test_missing_r_and_lora_alpha_take_peft_defaults(tmp_path):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((2, 5)), rng.standard_normal((4, 2))
    out = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=2)}).save(tmp_path / "ad")
    _save_config(out, lora_alpha=...)
    back = Adapter.load(out)
    assert back.modules["fc"].alpha == 8  # LoraConfig.lora_alpha = 8: scale 8 / 2
    np.testing.assert_allclose(back.modules["fc"].delta(), 4.0 * B @ A)
    _save_config(out, r=...)
    with pytest.raises(FileFormatError, match=r"rank 2 .* but 8 .*default"):
        Adapter.load(out)  # LoraConfig.r = 8 does not fit rank-2 tensors
    out8 = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((8, 5)), B=np.ones((4, 8)),
                                     alpha=3)}).save(tmp_path / "ad8")
    _save_config(out8, r=..., lora_alpha=...)
    assert Adapter.load(out8).modules["fc"].scale() == 1.0


def test_missing_lora_alpha_merges_like_peft(tmp_path):
    import peft
    import torch
    rng = np.random.default_rng(4)
    out = Adapter({"fc": LoraModule("fc", "linear", A=rng.standard_normal((2, 5)),
                                    B=rng.standard_normal((4, 2)), alpha=2)}).save(tmp_path / "ad")
    _save_config(out, lora_alpha=...)
    model = torch.nn.Module()
    model.add_module("fc", torch.nn.Linear(5, 4, bias=False))
    w = model.fc.weight.detach().numpy().copy()
    merged = peft.PeftModel.from_pretrained(model, str(out)).merge_and_unload()
    np.testing.assert_allclose(merged.fc.weight.detach().numpy(),
                               w + Adapter.load(out).modules["fc"].delta(), atol=1e-5)


@pytest.mark.parametrize(
    ("whole", "changes", "match"),
    [
        ([], {}, "JSON object.*an array"),
        ("x", {}, "JSON object.*string"),
        (None, {}, "JSON object.*null"),
        (None, {"r": "abc"}, "'r' must be a positive integer"),
        (None, {"r": 0}, "'r' must be a positive integer"),
        (None, {"r": 2.0}, "'r' must be a positive integer"),
        (None, {"r": None}, "'r' must be a positive integer.*null"),
        (None, {"lora_alpha": "abc"}, "'lora_alpha' must be a finite number"),
        (None, {"lora_alpha": None}, "'lora_alpha' must be a finite number.*null"),
        (None, {"lora_alpha": True}, "'lora_alpha' must be a finite number"),
        (None, {"rank_pattern": ["fc"]}, "'rank_pattern' must be an object.*an array"),
        (None, {"alpha_pattern": "fc"}, "'alpha_pattern' must be an object.*string"),
        (None, {"rank_pattern": {"fc": "2"}}, r"rank_pattern\['fc'\].*positive integers"),
        (None, {"alpha_pattern": {"fc": None}}, r"alpha_pattern\['fc'\].*numbers.*null"),
        (None, {"rank_pattern": {"fc(": 2}}, r"rank_pattern key 'fc\(' is not a regular"),
        (None, {"use_rslora": "yes"}, "'use_rslora' must be true or false"),
    ],
)
def test_malformed_adapter_config_is_a_file_format_error(tmp_path, whole, changes, match):
    out = Adapter({"fc": LoraModule("fc", "linear", A=np.ones((2, 4)), B=np.ones((3, 2)),
                                    alpha=2)}).save(tmp_path / "ad")
    if whole is not None or not changes:
        (out / "adapter_config.json").write_text(json.dumps(whole))
    else:
        _save_config(out, **changes)
    with pytest.raises(FileFormatError, match=match) as err:
        Adapter.load(out)
    assert "adapter_config.json" in str(err.value)


def test_extract_without_a_lora_module_is_an_error_and_writes_nothing(tmp_path):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    norm = np.ones(4, np.float32)
    b, t = tmp_path / "b.safetensors", tmp_path / "t.safetensors"
    save_safetensors(b, {"fc.weight": w, "norm.weight": norm})
    save_safetensors(t, {"fc.weight": w, "norm.weight": norm})
    with pytest.raises(EmptyInputError, match="no tensor differs"):
        extract(b, t, RankRule(rank=2))
    save_safetensors(t, {"fc.weight": w + 1, "norm.weight": norm + 1})
    with pytest.raises(EmptyInputError, match=r"no changed module matches the targets \['q'\]"):
        extract(b, t, RankRule(rank=2), targets=["q"])
    save_safetensors(t, {"fc.weight": w, "norm.weight": norm + 1})  # only a norm changed
    with pytest.raises(EmptyInputError, match=r"no changed 2-D weight.*norm\.weight"):
        extract(b, t, RankRule(rank=2))
    save_safetensors(b, {"fc.weight": np.zeros((6, 4), np.float32), "norm.weight": norm})
    save_safetensors(t, {"fc.weight": np.full((6, 4), -0.0, np.float32), "norm.weight": norm})
    with pytest.raises(EmptyInputError, match="rank 0"):
        extract(b, t, RankRule(rank=2))  # changed bytes, a zero delta
    # an adapter of tensors kept whole only: PEFT cannot load it (NoMatchingPeftModuleError)
    with pytest.raises(EmptyInputError, match="no LoRA module"):
        Adapter(saved={"norm.weight": norm}).save(tmp_path / "ad")
    assert not (tmp_path / "ad").exists()


def test_pissa_without_a_target_module_is_an_error_and_writes_nothing(tmp_path):
    w = np.random.default_rng(6).standard_normal((6, 4)).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": w})
    with pytest.raises(EmptyInputError, match=r"matches the targets \['q'\]"):
        pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "res", RankRule(rank=2),
              targets=["q"])
    assert not (tmp_path / "ad").exists() and not (tmp_path / "res").exists()
