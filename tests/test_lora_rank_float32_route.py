"""Rank rules on float32 deltas: the smallest rank, and the error and energy of the factors.

Each result is checked against a float64 dense SVD of the delta itself: the rank is
the smallest that meets the rule (the optimum meets it there and misses it one rank
lower), the factors returned meet it, and the error and energy reported are those of
the factors returned, recomputed in float64.

* ``error=0``, ``energy=1`` and a full ``rank`` ask for the whole spectrum: a float32
  LAPACK SVD gave factors exact to 7e-7 only, where ``error=1e-8`` at the same rank
  gave 7e-15.
* A float32 delta whose rank reaches a floor (``σᵢ = 0.05 · 0.8^(i−1) + 5e-5``, merged
  in float32): ``error=0.01`` took 107–108 for 106 on float32 LAPACK values.
* The torch backend (its CPU device) at ``tol=1e-2``: ``energy=0.9`` took 100 for 97 on
  loose Ritz values, and reported the energy of those values.
"""

from __future__ import annotations

import functools
import math

import ml_dtypes
import numpy as np
import pytest

from svdkit.lora import RankRule
from svdkit.lora.factor import factor_delta


def _merged(m: int, n: int, s: np.ndarray, seed: int, dtype) -> np.ndarray:
    """``dtype(W + ΔW) − dtype(W)`` in float32, ``ΔW`` of singular values ``s``: what
    extraction forms from a merged fine-tune (its rounding is a tail)."""
    rng = np.random.default_rng(seed)
    W = 0.02 * rng.standard_normal((m, n))
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    D = (U * s) @ V.T
    tuned = (W + D).astype(dtype).astype(np.float32)
    return tuned - W.astype(dtype).astype(np.float32)


def _power(m: int, n: int, seed: int) -> np.ndarray:
    """A float32 delta with ``σᵢ = 0.05 / i`` (no merge)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    p = min(m, n)
    return ((U[:, :p] * (0.05 / np.arange(1, p + 1))) @ V[:, :p].T).astype(np.float32)


def _floor(p: int) -> np.ndarray:
    i = np.arange(1, p + 1, dtype=float)
    return 0.05 * 0.8 ** (i - 1) + 5e-5


def _check(d: np.ndarray, rule: RankRule, f) -> None:
    """The rank is the smallest meeting ``rule`` (float64 dense SVD of ``d``), the factors
    meet it, and the reported error and energy are those of the factors returned."""
    d64 = d.astype(np.float64)
    total = float(np.sum(d64 * d64))
    sigma = np.linalg.svd(d64, compute_uv=False)
    tails = np.concatenate([np.cumsum((sigma**2)[::-1])[::-1], [0.0]])  # tails[j]: rank j
    allowance = rule.tail * total
    smallest = int(np.flatnonzero(tails <= allowance)[0])
    assert smallest <= (rule.max_rank or smallest)  # (a rule its cap does not stop)
    assert f.rank == smallest, (f.rank, smallest)
    assert tails[smallest] <= allowance < tails[smallest - 1]
    U, s, Vh = (np.asarray(x, dtype=np.float64) for x in (f.U, f.s, f.Vh))
    error = float(np.linalg.norm(d64 - (U * s) @ Vh))
    assert error <= math.sqrt(allowance)  # the factors themselves meet the rule
    assert f.quality.error == pytest.approx(error, rel=1e-6)
    assert f.quality.energy_kept == pytest.approx(1.0 - error**2 / total, abs=1e-9)


@pytest.mark.parametrize(
    "rule", [RankRule(error=0.0), RankRule(energy=1.0), RankRule(rank=384)], ids=str
)
def test_whole_spectrum_rules_factor_in_float64(rule: RankRule) -> None:
    d = _power(384, 384, 0)
    exact = factor_delta(d, RankRule(error=1e-8))  # the rank-by-tolerance route, float64
    f = factor_delta(d, rule)
    d64 = d.astype(np.float64)
    error = float(np.linalg.norm(d64 - (f.U.astype(np.float64) * f.s) @ f.Vh))
    fro = float(np.linalg.norm(d64))
    assert f.rank == 384
    assert error / fro < 1e-13  # float32 LAPACK: 7.3e-7
    assert error / fro <= 10 * exact.quality.relative_error
    assert f.quality.error == pytest.approx(error, rel=1e-3)
    assert f.quality.energy_kept == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_error_rule_takes_the_smallest_rank_on_float32_lapack(seed: int) -> None:
    d = _merged(384, 384, _floor(384), seed, np.float32)
    rule = RankRule(error=0.01)
    f = factor_delta(d, rule)
    assert f.method == "lapack"
    _check(d, rule, f)


@pytest.mark.parametrize("seed", [0, 1])
def test_energy_rule_takes_the_smallest_rank_on_float32_lapack(seed: int) -> None:
    d = _merged(384, 384, _floor(384), seed, np.float32)
    rule = RankRule(energy=1.0 - 1e-4)
    _check(d, rule, factor_delta(d, rule))


def _torch_cpu():
    from svdkit.lora.torch_backend import factor_delta_torch

    return functools.partial(factor_delta_torch, device="cpu", min_size=0)


@pytest.mark.parametrize("tol", [1e-1, 1e-2])
def test_torch_loose_tol_takes_the_smallest_rank(tol: float) -> None:
    i = np.arange(1, 385, dtype=float)
    d = _merged(1024, 384, 0.05 / i, 0, ml_dtypes.bfloat16)
    rule = RankRule(energy=0.9)
    _check(d, rule, _torch_cpu()(d, rule, tol=tol))


def test_torch_error_rule_on_a_floor_takes_the_smallest_rank() -> None:
    d = _merged(384, 384, _floor(384), 0, np.float32)
    rule = RankRule(error=0.01)
    _check(d, rule, _torch_cpu()(d, rule))


def test_numpy_and_torch_paths_agree_at_a_loose_tol() -> None:
    i = np.arange(1, 385, dtype=float)
    d = _merged(1024, 384, 0.05 / i, 3, ml_dtypes.bfloat16)
    rule = RankRule(error=0.5, max_rank=64)
    cpu = factor_delta(d, rule, tol=1e-2)
    dev = _torch_cpu()(d, rule, tol=1e-2)
    _check(d, rule, cpu)
    _check(d, rule, dev)


@pytest.mark.parametrize(("dtype", "most"), [("F64", 1e-13), ("F32", 1e-7)])
def test_error_zero_on_a_float32_pair_cli(tmp_path, capsys, monkeypatch, dtype, most) -> None:
    # --error 0 --dtype F64 gave 6e-7 (a float32 SVD) and a note blaming the F64 rounding
    import json

    from svdkit.lora import save_safetensors
    from tests.cli_support import run_svdkit

    d = _power(384, 384, 0)
    rng = np.random.default_rng(5)
    W = (0.02 * rng.standard_normal((384, 384))).astype(np.float32)
    save_safetensors(tmp_path / "base.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "tuned.safetensors", {"fc.weight": W + d})
    delta = ((W + d) - W).astype(np.float64)  # what extract forms, in float32
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", tmp_path / "base.safetensors", tmp_path / "tuned.safetensors",
        "-o", tmp_path / "out", "--error", "0", "--dtype", dtype,
    )
    assert code == 0, err
    from svdkit.lora import Adapter

    ad = Adapter.load(tmp_path / "out")
    m = ad.modules["fc"]
    scale = m.alpha / m.r
    error = np.linalg.norm(delta - scale * (m.B.astype(np.float64) @ m.A.astype(np.float64)))
    rel = float(error / np.linalg.norm(delta))
    assert m.r == 384 and rel < most
    report = json.loads((tmp_path / "out" / "svdkit_report.json").read_text())
    assert report["modules"][0]["relative_error"] == pytest.approx(rel, rel=1e-3)
    note = " ".join((out + err).split())
    assert "--error 0 is not met" in note
    assert "no floating-point SVD is exact" in note and "rounding them to" not in note
