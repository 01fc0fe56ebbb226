"""Review h5 of the LoRA tools: an adapter whose ‖ΔW‖_F is beyond float64's range, and the
"raise max_rank" advice where the rounding to BF16 alone misses the bound.

1. ``resize`` of an adapter whose delta has four singular values of 1e308 (each held,
   ‖ΔW‖_F = 2e308 not) read relative error 0 and energy kept 1 for a rank-2 cut (truth
   √½ and ½), and ``error=0.1`` was "met": it divided by an infinite norm.
2. ``analyse`` of that adapter failed with a raw ``OverflowError`` (its ‖ΔW‖_F).
3. ``extract`` and ``pissa`` named ``max_rank`` the cause ("raise max_rank") where the
   rounding of BF16 factors alone misses the bound at every rank.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit.errors import SvdkitError
from svdkit.lora import RankRule, extract, pissa, resize, save_safetensors
from svdkit.lora.adapter import Adapter, LoraModule
from svdkit.lora.analyse import analyse_adapter
from svdkit.lora.pissa import pissa_notes

NAME = "model.layers.0.self_attn.q_proj"


def _huge_adapter(sigma=(1.0, 1.0, 1.0, 1.0)) -> Adapter:
    """σᵢ = 1e308 · sigma (each held); ‖ΔW‖_F beyond float64's range. Rotated factors,
    so that the resize has real arithmetic to do."""
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((16, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((12, 4)))
    root = np.sqrt(np.asarray(sigma)) * 1e154
    B, A = U * root, (V * root).T  # scale α/r = 1: ΔW = B A
    return Adapter({NAME: LoraModule(NAME, "linear", A=A, B=B, alpha=4.0)})


def _exact_error(old: LoraModule, new: LoraModule) -> float:
    """‖ΔW_old − ΔW_new‖_F / ‖ΔW_old‖_F of the stored factors, in exact rationals."""

    def product(m: LoraModule):
        B, A = (np.asarray(x, dtype=np.float64) for x in m.matrices())
        s = Fraction(m.scale(False))
        Bf = [[Fraction(float(x)) for x in row] for row in B]
        Af = [[Fraction(float(x)) for x in row] for row in A]
        return [[s * sum(Bf[i][k] * Af[k][j] for k in range(len(Af)))
                 for j in range(len(Af[0]))] for i in range(len(Bf))]

    P0, P1 = product(old), product(new)
    num = sum((a - b) ** 2 for r0, r1 in zip(P0, P1, strict=True)
              for a, b in zip(r0, r1, strict=True))
    den = sum(a * a for r0 in P0 for a in r0)
    return math.sqrt(num / den)


def test_resize_error_of_a_delta_whose_norm_overflows_is_right():
    ad = _huge_adapter()
    with np.errstate(over="ignore"):
        assert not math.isfinite(float(np.linalg.norm(ad.modules[NAME].delta())))
    new, (r,) = resize(ad, RankRule(rank=2), dtype="F64")
    exact = _exact_error(ad.modules[NAME], new.modules[NAME])
    assert exact == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert r.rank == 2
    assert r.relative_error == pytest.approx(exact, rel=1e-12)
    assert r.energy_kept == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("bound, rank", [(0.1, 4), (0.6, 3), (0.75, 2)])
def test_resize_error_rule_on_a_delta_whose_norm_overflows(bound, rank):
    # four equal values: rank k leaves an error √((4 − k)/4): 0.707, 0.5, 0 at k = 2, 3, 4
    ad = _huge_adapter()
    new, (r,) = resize(ad, RankRule(error=bound), dtype="F64")
    exact = _exact_error(ad.modules[NAME], new.modules[NAME])
    assert r.rank == rank and r.bound_met
    assert exact <= bound
    assert r.relative_error == pytest.approx(exact, rel=1e-9, abs=1e-14)


def test_resize_of_unequal_values_whose_norm_overflows():
    ad = _huge_adapter((1.5, 1.0, 0.5, 0.25))
    new, (r,) = resize(ad, RankRule(rank=1), dtype="F64")
    want = math.sqrt((1.0 + 0.25 + 0.0625) / (2.25 + 1.0 + 0.25 + 0.0625))
    assert r.relative_error == pytest.approx(want, rel=1e-12)
    assert _exact_error(ad.modules[NAME], new.modules[NAME]) == pytest.approx(want, rel=1e-12)


def test_resize_and_analyse_refuse_values_beyond_float64_by_name():
    B, A = np.eye(8, 2) * 1e200, np.eye(2, 6) * 1e200  # σ = 1e400: no float64 holds it
    ad = Adapter({NAME: LoraModule(NAME, "linear", A=A, B=B, alpha=2.0)})
    for call in (lambda: resize(ad, RankRule(rank=1)), lambda: analyse_adapter(ad)):
        with pytest.raises(SvdkitError, match=rf"module '{NAME}'.*beyond float64's range"):
            call()


def test_analyse_refuses_a_norm_beyond_float64_by_name():
    with pytest.raises(SvdkitError, match=rf"module '{NAME}'.*‖ΔW‖_F = .*beyond float64"):
        analyse_adapter(_huge_adapter())


def test_analyse_just_below_the_overflow_is_held():
    # σ = 0.4·1e308 ×4: ‖ΔW‖_F = 0.8e308, held; rows are strict JSON
    ad = _huge_adapter((0.4, 0.4, 0.4, 0.4))
    (row,) = analyse_adapter(ad).rows()
    assert row["fro"] == pytest.approx(0.8e308, rel=1e-12)
    assert row["stable_rank"] == pytest.approx(4.0, rel=1e-12)
    json.dumps(row, allow_nan=False)


def test_cli_analyse_and_resize_of_a_norm_beyond_float64(tmp_path, capsys, monkeypatch):
    _huge_adapter().save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "analyse", tmp_path / "ad", "--json", "-")
    line = error_line(code, err)
    assert NAME in line and "beyond float64's range" in line
    code, out, err = run("lora", "resize", tmp_path / "ad", "-o", tmp_path / "rs", "--rank",
                         "2", "--dtype", "F64")
    assert code == 0, err
    assert "0.7071" in out and "0.5000" in out
    new = Adapter.load(tmp_path / "rs")
    exact = _exact_error(_huge_adapter().modules[NAME], new.modules[NAME])
    assert exact == pytest.approx(math.sqrt(0.5), rel=1e-12)


# --- 3. the cap is not blamed where BF16 rounding alone misses the bound ------------


def _weight(tmp_path):
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((64, 48)))
    V, _ = np.linalg.qr(rng.standard_normal((48, 48)))
    W = ((U * 0.8 ** np.arange(48)) @ V.T).astype(np.float32)
    save_safetensors(tmp_path / "b.safetensors", {"model.layers.0.mlp.up_proj.weight": W}, {})
    return tmp_path / "b.safetensors", W


def _rounding_share(W: np.ndarray, rank: int, stored: float) -> float:
    """``stored² − exact²``: the share of the stored error that is rounding."""
    s = np.linalg.svd(W.astype(np.float64), compute_uv=False)
    exact2 = float(np.sum(s[rank:] ** 2) / np.sum(s**2))
    return stored**2 - exact2


@pytest.mark.parametrize("rule", [RankRule(energy=0.999999, max_rank=10),
                                  RankRule(error=1e-3, max_rank=10)])
def test_pissa_bf16_rounding_is_named_not_the_cap(tmp_path, rule):
    path, W = _weight(tmp_path)
    rows = []
    pissa(path, tmp_path / "a", tmp_path / "r.safetensors", rule, dtype="bf16", report=rows)
    (row,) = rows
    assert row.rank == 10 and not row.bound_met
    # the rounding alone costs more than the whole bound: no rank can meet it
    assert _rounding_share(W, 10, row.relative_error) > rule.tail
    assert not row.capped
    (note,) = pissa_notes(rows, rule, "bf16")
    assert "raise max_rank" not in note and "caps" not in note
    assert "rounding them to BF16 alone costs more than the bound" in note
    # and a wider dtype, the remedy named, does reach it once the cap is raised
    rows = []
    pissa(path, tmp_path / "a2", tmp_path / "r2.safetensors",
          RankRule(energy=rule.energy, error=rule.error), dtype="F32", report=rows)
    assert rows[0].bound_met


def test_pissa_cap_is_still_blamed_where_the_rounding_leaves_room(tmp_path):
    path, _ = _weight(tmp_path)
    rule = RankRule(error=0.05, max_rank=6)  # BF16 rounding ~2.5e-3, far below 0.05
    rows = []
    pissa(path, tmp_path / "a", tmp_path / "r.safetensors", rule, dtype="bf16", report=rows)
    (row,) = rows
    assert row.rank == 6 and not row.bound_met and row.capped
    (note,) = pissa_notes(rows, rule, "bf16")
    assert "max_rank=6 caps their rank: raise max_rank" in note


def _pair(tmp_path):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((64, 48)).astype(np.float32)
    U, _ = np.linalg.qr(rng.standard_normal((64, 48)))
    V, _ = np.linalg.qr(rng.standard_normal((48, 48)))
    D = (U * 0.8 ** np.arange(48)) @ V.T
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": W})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": (W + D).astype(np.float32)})
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors"


@pytest.mark.parametrize("rule", [RankRule(energy=0.999999, max_rank=10),
                                  RankRule(error=1e-3, max_rank=10),
                                  RankRule(energy=1.0, max_rank=10)])
def test_extract_bf16_rounding_is_named_not_the_cap(tmp_path, rule):
    ex = extract(*_pair(tmp_path), rule, dtype="bf16")
    (m,) = ex.report.modules
    assert m.rank == 10 and m.relative_error > rule.rank_tol
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "raise max_rank" not in note and "caps" not in note
    if rule.tail > 0:
        assert "BF16" in note and "dtype='F32'" in note
    else:  # energy=1: no floating-point factors are exact, in any dtype
        assert "no floating-point SVD is exact" in note


def test_extract_error_zero_with_a_cap_does_not_blame_the_cap(tmp_path):
    # a bound of 0: no rank meets it, in any dtype
    ex = extract(*_pair(tmp_path), RankRule(error=0.0, max_rank=10))
    (m,) = ex.report.modules
    assert m.rank == 10 and m.relative_error > 0
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "raise max_rank" not in note and "caps" not in note


def test_extract_cap_is_still_blamed_where_the_rounding_leaves_room(tmp_path):
    ex = extract(*_pair(tmp_path), RankRule(error=0.05, max_rank=6), dtype="bf16")
    (m,) = ex.report.modules
    assert m.rank == 6 and m.relative_error > 0.05
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "max_rank=6 caps their rank: raise max_rank" in note


def _rank_24_adapter() -> Adapter:
    rng = np.random.default_rng(2)
    U, _ = np.linalg.qr(rng.standard_normal((64, 24)))
    V, _ = np.linalg.qr(rng.standard_normal((48, 24)))
    B, A = U * 0.8 ** np.arange(24), V.T
    return Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=24.0)})


@pytest.mark.parametrize("rule, dtype, capped", [
    (RankRule(energy=0.999999, max_rank=10), "BF16", False),  # rounding alone misses it
    (RankRule(error=1e-3, max_rank=10), "BF16", False),
    (RankRule(error=0.05, max_rank=6), "BF16", True),  # the rounding leaves room
    (RankRule(error=1e-3, max_rank=6), "F32", True),
    (RankRule(error=1e-3, max_rank=30), "BF16", False),  # the cap stopped nothing
])
def test_resize_report_marks_a_cap_only_where_raising_it_helps(rule, dtype, capped):
    ad = _rank_24_adapter()
    _, (r,) = resize(ad, rule, dtype=dtype)
    assert not r.bound_met
    assert r.capped is capped
    if capped:  # without the cap the bound is reached in the same dtype
        looser = RankRule(error=rule.error, energy=rule.energy)
        assert resize(ad, looser, dtype=dtype)[1][0].bound_met


def test_unmet_note_never_blames_the_cap_for_a_bound_of_zero():
    from svdkit.lora.rank import unmet_note

    note = unmet_note(0.0, {"q": 0.3}, 1, max_rank=2, capped=["q"], codes={"q": "F32"})
    assert "caps" not in note and "raise max_rank" not in note
    assert "no floating-point SVD is exact" in note
    note = unmet_note(1e-3, {"q": 0.3}, 1, max_rank=2, capped=["q"], codes={"q": "F32"})
    assert "max_rank=2 caps their rank: raise max_rank" in note


@pytest.mark.parametrize("args, blames_cap", [
    (["--error", "1e-3", "--max-rank", "10", "--dtype", "BF16"], False),  # rounding alone
    (["--error", "0.05", "--max-rank", "6", "--dtype", "BF16"], True),  # room left: the cap
])
def test_cli_resize_note_blames_the_cap_as_the_report_does(
    tmp_path, capsys, monkeypatch, args, blames_cap
):
    _rank_24_adapter().save(tmp_path / "ad")
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "resize", tmp_path / "ad", "-o", tmp_path / "rs", *args
    )
    assert code == 0, err
    note = " ".join(out[out.index("note:"):].split())
    assert ("raise --max-rank" in note) is blames_cap, note
    assert ("BF16 alone costs more than the bound" in note) is not blames_cap, note
