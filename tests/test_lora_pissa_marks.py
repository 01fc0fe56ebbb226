"""PiSSA's marks: "capped" only where ``max_rank`` lowered the rank the rule asked for,
and a module kept whole for underflow reported as such (its bound missed, the remedy a
dtype wider than the one in use, counts in words)."""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import EmptyInputError
from svdkit.lora import Checkpoint, RankRule, pissa, save_safetensors
from svdkit.lora.pissa import pissa_notes
from tests.cli_support import error_line, run_svdkit


def _rows(tmp_path, tensors, rule, dtype=None, tag="a"):
    base = tmp_path / f"{tag}.safetensors"
    save_safetensors(base, tensors)
    rows = []
    ad, res = pissa(base, tmp_path / f"ad-{tag}", tmp_path / f"r-{tag}.safetensors", rule,
                    dtype=dtype, report=rows)
    return ad, res, rows


def _random(m, n, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((m, n)).astype(dtype)


def _rank4(m=64, n=48):
    rng = np.random.default_rng(0)
    return rng.standard_normal((m, 4)) @ rng.standard_normal((4, n))  # float64, exactly rank 4


@pytest.mark.parametrize("rule", [RankRule(error=0.0, max_rank=16),
                                  RankRule(energy=1.0, max_rank=16),
                                  RankRule(energy=1.0, max_rank=40)])
def test_max_rank_at_the_short_side_caps_nothing(tmp_path, rule):
    # 24×16: the rank cannot exceed 16, so a cap of 16 (or more) lowers nothing
    W = _random(24, 16)
    ad, _, rows = _rows(tmp_path, {"fc.weight": W}, rule)
    (row,) = rows
    assert (row.rank, row.capped) == (16, False)
    # the factors are the whole W to float32's rounding (nothing the cap left out)
    assert np.linalg.norm(W - ad.modules["fc"].delta()) <= 1e-5 * np.linalg.norm(W)
    assert not any("max_rank" in n for n in pissa_notes(rows, rule))


@pytest.mark.parametrize("rule", [RankRule(energy=1.0, max_rank=4),
                                  RankRule(error=0.0, max_rank=4),
                                  RankRule(energy=1.0, max_rank=8)])
def test_max_rank_past_a_rounding_level_tail_caps_nothing(tmp_path, rule):
    # an exactly rank-4 weight: the values past 4 are rounding, the rule's own rank is 4
    W = _rank4()
    s = np.linalg.svd(W, compute_uv=False)
    assert s[4] <= 64 * np.finfo(np.float64).eps * s[0]  # (the weight is rank 4)
    _, _, rows = _rows(tmp_path, {"fc.weight": W}, rule, dtype="float64")
    (row,) = rows
    assert row.rank >= 4 and not row.capped
    assert row.relative_error <= 1e-13
    for note in pissa_notes(rows, rule, "float64"):
        assert "max_rank" not in note


def test_a_float32_weight_whose_tail_is_its_own_rounding_is_capped(tmp_path):
    # float32 rounding of a rank-4 weight: the values past 4 are float32 rounding
    # (≤ p · eps32 · σ₁), but above float64's (p · eps64 · σ₁), the level at which the
    # rank rules take values for zeros: energy=1 keeps them, so max_rank=4 lowered the
    # rank the rule asked for, and is marked (as extract's note names the cap)
    W = _rank4().astype(np.float32)
    s = np.linalg.svd(W.astype(np.float64), compute_uv=False)
    assert 48 * np.finfo(np.float64).eps * s[0] < s[4] <= 48 * np.finfo(np.float32).eps * s[0]
    _, _, free = _rows(tmp_path, {"fc.weight": W}, RankRule(energy=1.0), tag="free")
    assert free[0].rank > 4 and not free[0].capped  # the rule's own rank
    rule = RankRule(energy=1.0, max_rank=4)
    _, _, rows = _rows(tmp_path, {"fc.weight": W}, rule)
    (row,) = rows
    assert (row.rank, row.capped) == (4, True)
    # the factors as stored in float32: W to float32's rounding, as at a higher rank
    assert row.relative_error <= 4 * np.finfo(np.float32).eps


@pytest.mark.parametrize("rule", [RankRule(energy=0.999, max_rank=4),
                                  RankRule(error=1e-3, max_rank=4)])
def test_a_cap_that_lowers_the_rank_is_marked(tmp_path, rule):
    W = _random(24, 16)
    s = np.linalg.svd(W.astype(np.float64), compute_uv=False)
    tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2))  # tail[k]: error at rank k
    assert tail[4] > rule.rank_tol  # the rule alone asks for more than 4
    _, _, rows = _rows(tmp_path, {"fc.weight": W}, rule)
    (row,) = rows
    assert (row.rank, row.capped) == (4, True)
    assert row.relative_error == pytest.approx(tail[4], rel=1e-5)
    if rule.error is not None:
        (note,) = pissa_notes(rows, rule)
        assert "max_rank=4 caps their rank: raise max_rank" in note


def test_a_cap_that_stops_the_room_for_bf16_rounding_is_marked(tmp_path):
    # the rule is met at rank 6 before rounding (0.0098 ≤ 0.01), not after BF16's: the
    # higher rank that would absorb the rounding is what max_rank=6 stops
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((64, 32)))
    V, _ = np.linalg.qr(rng.standard_normal((32, 32)))
    s = np.concatenate([np.ones(6), np.full(26, 1.0)])
    s[6:] *= 0.0098 * np.sqrt(6 / (1 - 0.0098**2)) / np.sqrt(26)
    W = ((U * s) @ V.T).astype(np.float32)
    rule = RankRule(error=0.01, max_rank=6)
    _, _, rows = _rows(tmp_path, {"fc.weight": W}, rule, dtype="BF16")
    (row,) = rows
    assert row.rank == 6 and row.relative_error > 0.01
    assert row.capped and not row.bound_met
    (note,) = pissa_notes(rows, rule, "BF16")
    assert "max_rank=6 caps their rank" in note


def _tiny_f64(seed=1, scale=1e-80):
    return np.random.default_rng(seed).standard_normal((32, 24)) * scale


@pytest.mark.parametrize(("dtype", "wider"), [(None, "(F64)"), ("BF16", "(F64)"),
                                              ("F16", "(F32 or F64)")])
def test_underflow_note_names_only_dtypes_wider_than_the_factors(tmp_path, dtype, wider):
    tensors = {"tiny.weight": _tiny_f64(), "ok.weight": _random(32, 24, 2, np.float64)}
    _, res, rows = _rows(tmp_path, tensors, RankRule(rank=4), dtype=dtype)
    by = {r.name: r for r in rows}
    assert (by["tiny"].rank, by["tiny"].underflow) == (0, True)
    np.testing.assert_array_equal(Checkpoint(res).read("tiny.weight"), tensors["tiny.weight"])
    (note,) = pissa_notes(rows, RankRule(rank=4), dtype)
    assert note.startswith("kept whole in the residual (rank 0): tiny;")
    assert note.endswith(f"store the factors in a wider dtype {wider} to factor them")


def test_f64_factors_of_an_f64_weight_do_not_underflow(tmp_path):
    tensors = {"tiny.weight": _tiny_f64()}
    ad, res, rows = _rows(tmp_path, tensors, RankRule(rank=4), dtype="float64")
    (row,) = rows
    assert (row.rank, row.underflow) == (4, False)
    W = tensors["tiny.weight"]
    back = Checkpoint(res).read("tiny.weight") + ad.modules["tiny"].delta(dtype=np.float64)
    assert np.linalg.norm(back - W) <= 1e-14 * np.linalg.norm(W)
    assert pissa_notes(rows, RankRule(rank=4), "float64") == []


def test_every_module_underflowing_is_said_so_in_words(tmp_path):
    save_safetensors(tmp_path / "b.safetensors", {"tiny.weight": _tiny_f64()})
    with pytest.raises(EmptyInputError) as exc:
        pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
              RankRule(rank=4))
    msg = str(exc.value)
    assert "rank 0 under the rule" not in msg  # the rule gave 4
    assert "1 modules" not in msg and "1 module" in msg
    assert "underflow float32" in msg and "wider dtype (F64)" in msg
    assert "F32" not in msg
    assert not (tmp_path / "ad").exists() and not (tmp_path / "r.safetensors").exists()


def test_zero_and_underflowing_modules_counted_apart(tmp_path):
    tensors = {"zero.weight": np.zeros((32, 24)), "a.weight": _tiny_f64(1),
               "b.weight": _tiny_f64(2)}
    save_safetensors(tmp_path / "b.safetensors", tensors)
    with pytest.raises(EmptyInputError) as exc:
        pissa(tmp_path / "b.safetensors", tmp_path / "ad", tmp_path / "r.safetensors",
              RankRule(rank=4), dtype="F16")
    msg = str(exc.value)
    assert "1 module has rank 0 under the rule" in msg
    assert "2 modules" in msg and "underflow float16" in msg and "(F32 or F64)" in msg


def test_an_underflowing_module_misses_an_error_bound(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"tiny.weight": (rng.standard_normal((64, 48)) * 1e-9).astype(np.float32),
               "ok.weight": rng.standard_normal((64, 48)).astype(np.float32)}
    rule = RankRule(error=0.01)
    _, _, rows = _rows(tmp_path, tensors, rule, dtype="F16")
    by = {r.name: r for r in rows}
    tiny = by["tiny"]
    assert (tiny.rank, tiny.underflow, tiny.relative_error) == (0, True, 1.0)
    assert not tiny.bound_met  # 1.0 > 0.01
    assert by["ok"].bound_met and by["ok"].relative_error <= 0.01
    notes = pissa_notes(rows, rule, "F16")
    # its own note, and no other cause (F16's rounding) is named for it
    assert len(notes) == 1 and notes[0].startswith("kept whole in the residual (rank 0): tiny")
    assert "(F32 or F64)" in notes[0]


def test_cli_marks_the_underflowing_row(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    save_safetensors(tmp_path / "b.safetensors", {
        "tiny.weight": (rng.standard_normal((64, 48)) * 1e-9).astype(np.float32),
        "ok.weight": rng.standard_normal((64, 48)).astype(np.float32)})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "pissa", str(tmp_path / "b.safetensors"), "--error", "0.01",
                         "--dtype", "F16", "-o", str(tmp_path / "ad"), "--residual",
                         str(tmp_path / "r.safetensors"))
    assert code == 0, error_line(code, err)
    text = out + err
    (tiny,) = [line for line in text.splitlines() if "tiny" in line and "64×48" in line]
    assert "1.0000 !" in tiny
    assert "wider --dtype (F32 or F64)" in " ".join(text.split())


def test_cli_max_rank_at_the_short_side_is_not_shown_capped(tmp_path, capsys, monkeypatch):
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": _random(48, 32)})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "pissa", str(tmp_path / "b.safetensors"), "--energy", "1.0",
                         "--max-rank", "32", "-o", str(tmp_path / "ad"), "--residual",
                         str(tmp_path / "r.safetensors"))
    assert code == 0, error_line(code, err)
    assert "max-rank" not in out + err
