"""extract's and analyse's notes, errors and cells tell what happened, and only that.

* the unmet note blames ``max_rank`` only for a module whose rank the cap lowered, and
  where raising it could meet the bound (not where BF16 rounding alone misses it);
* a factor that underflows its dtype names a smaller ``alpha`` (a scale below 1
  enlarges the factors), which works, and never "leave the module out" (resize cannot);
* extract's error when every module is left out counts the rank-0 and the left-out
  modules apart, and refers to no table;
* analyse's effective rank does not depend on the delta's magnitude, and ``--json`` is
  strict JSON;
* a marked cell never reads as the bound it misses;
* a non-finite difference names the dtype it overflowed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit.errors import EmptyInputError, NonFiniteError, SvdkitError
from svdkit.lora import RankRule, analyse_pair, extract, save_safetensors
from svdkit.lora._cells import energy_cell, error_cell
from svdkit.lora.adapter import Adapter, FactorUnderflowError, LoraModule, store_factors
from svdkit.lora.analyse import analyse_adapter


def _orthonormal(rng, m, n):
    q, _ = np.linalg.qr(rng.standard_normal((m, n)))
    return q


def _capped_pair(tmp_path):
    """``low``: a delta of exact rank 4 (its rule's rank is 4, whatever the cap);
    ``full``: σᵢ = 0.7^i, full rank (a cap of 4 lowers its rank)."""
    rng = np.random.default_rng(0)
    m, n = 24, 16
    base, tuned = {}, {}
    for name, s in (("low", np.array([4.0, 3.0, 2.0, 1.0])), ("full", 0.7 ** np.arange(n))):
        W = rng.standard_normal((m, n))
        D = (_orthonormal(rng, m, s.size) * s) @ _orthonormal(rng, n, s.size).T
        base[f"{name}.weight"] = W
        tuned[f"{name}.weight"] = W + D
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors"


@pytest.mark.parametrize("rule", [RankRule(error=1e-5, max_rank=4),
                                  RankRule(energy=1 - 1e-10, max_rank=4)])
def test_unmet_note_blames_the_cap_only_where_it_lowered_the_rank(tmp_path, rule):
    base, tuned = _capped_pair(tmp_path)
    ex = extract(base, tuned, rule, dtype="BF16", method="lapack")
    by = {m.name: m for m in ex.report.modules}
    # both miss the bound as stored in BF16, both sit at the cap
    assert by["low"].rank == by["full"].rank == 4
    assert set(ex.report.unmet()) == {"low", "full"}
    # "low" meets the rule at rank 4 before rounding: without the cap its rank is 4 too
    free = extract(base, tuned, RankRule(error=rule.error, energy=rule.energy),
                   dtype="BF16", method="lapack")
    assert {m.name: m.rank for m in free.report.modules}["low"] == 4
    # "full" misses it without the cap too: the BF16 rounding alone is above the bound
    # (review h5), so raising max_rank gives neither module anything
    assert "full" in set(free.report.unmet())
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "caps" not in note and "raise max_rank" not in note, note
    assert "rounding them to BF16 alone costs more than the bound" in note, note


def test_unmet_note_does_not_blame_a_cap_that_stopped_nothing(tmp_path):
    base, tuned = _capped_pair(tmp_path)
    ex = extract(base, tuned, RankRule(error=1e-5, max_rank=4), dtype="BF16",
                 targets=["low"], method="lapack")
    (m,) = ex.report.modules
    assert m.rank == 4 and m.relative_error > 1e-5
    (note,) = [n for n in ex.report.notes if "not met" in n]
    assert "caps" not in note and "raise max_rank" not in note, note
    assert "rounding them to BF16 alone costs more than the bound" in note


def _tiny_pair(tmp_path, with_zero: bool = False):
    """``fc``: a barely changed weight (four entries one ulp up, near 1e-5), whose F16
    factors underflow at scale 1; ``zero`` (with_zero): a delta of -0.0 against 0.0."""
    rng = np.random.default_rng(1)
    W = (rng.standard_normal((48, 32)) * 1e-5).astype(np.float32)
    T = W.copy()
    T[0, :4] = np.nextafter(W[0, :4], np.float32(np.inf))
    base, tuned = {"fc.weight": W}, {"fc.weight": T}
    if with_zero:
        base["zero.weight"] = np.zeros((8, 6), np.float32)
        tuned["zero.weight"] = np.full((8, 6), -0.0, np.float32)
    save_safetensors(tmp_path / "b.safetensors", base)
    save_safetensors(tmp_path / "t.safetensors", tuned)
    return tmp_path / "b.safetensors", tmp_path / "t.safetensors", T - W


def test_underflow_remedy_names_a_smaller_alpha_that_works(tmp_path):
    base, tuned, D = _tiny_pair(tmp_path)
    with pytest.raises(EmptyInputError) as err:
        extract(base, tuned, RankRule(energy=0.99), dtype="F16")
    msg = str(err.value)
    assert "smaller alpha" in msg, msg
    # the cure it names: a scale α/r below 1 enlarges the factors, and F16 holds them
    ex = extract(base, tuned, RankRule(energy=0.99), dtype="F16", alpha=1e-6)
    (m,) = ex.report.modules
    assert m.rank >= 1 and m.energy_kept >= 0.99
    lora = ex.adapter.modules["fc"]
    assert lora.A.dtype == np.float16
    got = lora.delta().astype(np.float64)
    rel = np.linalg.norm(got - D) / np.linalg.norm(D)
    assert rel == pytest.approx(m.relative_error, rel=1e-3, abs=1e-6)


def test_store_factors_underflow_message_at_scale_one():
    A, B = np.full((1, 3), 1e-6), np.full((4, 1), 1e-6)
    with pytest.raises(FactorUnderflowError) as err:
        store_factors("fc", A, B, np.float16, 1.0)
    msg = str(err.value)
    assert "smaller alpha" in msg and "leave the module out" not in msg, msg
    # and what it says holds: at a scale of 1e-4, the same factors (÷ √1e-4) are held
    s = math.sqrt(1e-4)
    A16, B16 = store_factors("fc", A / s, B / s, np.float16, 1e-4)
    assert np.all(A16 != 0) and np.all(B16 != 0)
    with pytest.raises(FactorUnderflowError) as err:
        store_factors("fc", A * 1e-34, B * 1e-34, np.float32, 1e30)
    msg = str(err.value)
    assert "smaller alpha" in msg and "leave the module out" not in msg, msg


def test_resize_underflow_error_names_alpha_not_leaving_out(tmp_path, capsys, monkeypatch):
    base, tuned, _ = _tiny_pair(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "extract", base, tuned, "--rank", "2", "-o", tmp_path / "ad")
    assert code == 0, err
    code, _, err = run("lora", "resize", tmp_path / "ad", "--rank", "1", "--dtype", "f16",
                       "-o", tmp_path / "ad2")
    line = error_line(code, err)
    assert "--alpha" in line and "leave the module out" not in line, line
    code, _, err = run("lora", "resize", tmp_path / "ad", "--rank", "1", "--dtype", "f16",
                       "--alpha", "1e-6", "-o", tmp_path / "ad3")
    assert code == 0, err


def test_extract_left_out_note_names_a_smaller_alpha(tmp_path, capsys, monkeypatch):
    base, tuned, _ = _tiny_pair(tmp_path)
    # a second, ordinary module keeps the adapter non-empty
    rng = np.random.default_rng(2)
    from svdkit.lora import Checkpoint

    b = {"fc.weight": Checkpoint(base).read("fc.weight"), "up.weight": rng.standard_normal(
        (12, 8)).astype(np.float32)}
    t = {"fc.weight": Checkpoint(tuned).read("fc.weight"),
         "up.weight": b["up.weight"] + rng.standard_normal((12, 8)).astype(np.float32)}
    save_safetensors(tmp_path / "b2.safetensors", b)
    save_safetensors(tmp_path / "t2.safetensors", t)
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "extract", tmp_path / "b2.safetensors",
                         tmp_path / "t2.safetensors", "--rank", "2", "--dtype", "fp16",
                         "-o", tmp_path / "ad")
    assert code == 0, err
    note = " ".join(out[out.index("left out of the adapter"):].split())
    assert "--dtype" in note and "smaller --alpha" in note, note


def test_every_module_left_out_error_counts_them_apart(tmp_path):
    base, tuned, _ = _tiny_pair(tmp_path)
    with pytest.raises(EmptyInputError) as err:
        extract(base, tuned, RankRule(energy=0.99), dtype="F16")
    msg = str(err.value)
    assert "1 module left out because its factors would underflow F16" in msg, msg
    assert "1 modules" not in msg and "marked '!'" not in msg, msg
    assert "a delta of zeros" not in msg and "rank 0 under the rule" not in msg, msg
    assert "(fc" in msg
    # one of each: a delta of zeros (-0.0 against 0.0) has rank 0, and is said to
    base, tuned, _ = _tiny_pair(tmp_path, with_zero=True)
    with pytest.raises(EmptyInputError) as err:
        extract(base, tuned, RankRule(energy=0.99), dtype="F16")
    msg = str(err.value)
    assert "1 module has rank 0 under the rule" in msg, msg
    assert "marked '!'" not in msg and "modules," not in msg, msg


def _effective_rank(s):
    s = s[s > 0]
    p = s / s.sum()
    return math.exp(-float(np.sum(p * np.log(p))))


@pytest.mark.parametrize("scale", [1.0, 1e306, 1e-318])
def test_analyse_effective_rank_does_not_depend_on_the_scale(tmp_path, scale):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((80, 72)) * scale
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.zeros((80, 72))})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": D})
    an = analyse_pair(tmp_path / "b.safetensors", tmp_path / "t.safetensors")
    # the truth: the stored delta (subnormal entries as they are) scaled by a power of two
    e = int(np.frexp(np.max(np.abs(D)))[1])
    truth = _effective_rank(np.linalg.svd(np.ldexp(D, -e), compute_uv=False))
    got = an.rows()[0]["effective_rank"]
    assert math.isfinite(got) and got == pytest.approx(truth, rel=1e-12)


@pytest.mark.parametrize("scale", [1e300, 1e-320])
def test_analyse_adapter_spectrum_does_not_depend_on_the_scale(scale):
    rng = np.random.default_rng(4)
    B, A = rng.standard_normal((40, 8)), rng.standard_normal((8, 30))

    def adapter(c: float) -> Adapter:
        f = math.sqrt(c)
        return Adapter({"fc": LoraModule("fc", "linear", A=A * f, B=B * f, alpha=8.0)})

    (r,), (g,) = analyse_adapter(adapter(1.0)).rows(), analyse_adapter(adapter(scale)).rows()
    truth = _effective_rank(np.linalg.svd(B @ A, compute_uv=False))
    assert r["effective_rank"] == pytest.approx(truth, rel=1e-12)
    for key in ("effective_rank", "stable_rank"):
        assert g[key] == pytest.approx(r[key], rel=1e-12)
    assert g["recommended_rank"] == r["recommended_rank"]


def test_analyse_adapter_refuses_a_product_beyond_float64():
    rng = np.random.default_rng(4)
    B, A = rng.standard_normal((40, 8)) * 1e200, rng.standard_normal((8, 30)) * 1e200
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=8.0)})
    with pytest.raises(SvdkitError, match=r"module 'fc'.*beyond float64's range"):
        analyse_adapter(ad)


def test_analyse_json_is_strict(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.zeros((40, 30))})
    save_safetensors(tmp_path / "t.safetensors",
                     {"fc.weight": rng.standard_normal((40, 30)) * 1e306})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "analyse", tmp_path / "b.safetensors",
                         tmp_path / "t.safetensors", "--json", "-")
    assert code == 0, err

    def refuse(c):
        raise AssertionError(f"not strict JSON: {c}")

    (row,) = json.loads(out, parse_constant=refuse)
    assert math.isfinite(row["effective_rank"]) and 1 < row["effective_rank"] <= 30


@pytest.mark.parametrize("bound, value", [
    (0.99, 1 - (math.sqrt(1 - 0.98996)) ** 2),
    (0.9, 0.89999),
    (0.9999999, 1 - 1.0004e-7),
    (0.99999, 1 - 1.000004e-5),
])
def test_marked_energy_cell_is_below_the_bound(bound, value):
    assert RankRule(energy=bound).missed(math.sqrt(1 - value))
    cell = energy_cell(value, missed=True)
    shown = 1 - float(cell[4:]) if cell.startswith("1 − ") else float(cell)
    assert shown < bound and shown <= value, cell
    assert energy_cell(value) == energy_cell(value, missed=False)


@pytest.mark.parametrize("bound, value", [
    (0.01, 0.010004), (1e-4, 1.0004e-4), (0.5, 0.50000001), (1e-3, 0.0010000001),
])
def test_marked_error_cell_is_above_the_bound(bound, value):
    assert RankRule(error=bound).missed(value)
    cell = error_cell(value, missed=True)
    assert float(cell) > bound and float(cell) >= value, cell


def test_marked_cells_in_the_extract_table(tmp_path):
    rng = np.random.default_rng(3)
    # σ = 4, 3, 2, 1 and a tail whose share of ‖ΔW‖_F is 0.24002: a rank-4 cap misses
    # error=0.24 by a hair, which a cell rounded to nearest printed as "0.2400 !"
    rest = 0.7 ** np.arange(12)
    head, tail = 30.0, 0.24002
    c = math.sqrt(tail**2 * head / (np.sum(rest**2) * (1 - tail**2)))
    s = np.concatenate([[4.0, 3.0, 2.0, 1.0], c * rest])
    D = (_orthonormal(rng, 24, 16) * s) @ _orthonormal(rng, 16, 16).T
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.zeros((24, 16))})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": D})
    ex = extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors",
                 RankRule(error=0.24, max_rank=4), method="lapack")
    (m,) = ex.report.modules
    assert m.relative_error == pytest.approx(tail, rel=1e-9)
    import io

    from rich.console import Console

    con = Console(width=200, record=True, file=io.StringIO())
    con.print(ex.report.table())
    text = con.export_text()
    assert "0.2401 !" in text and "0.2400" not in text, text


def test_non_finite_difference_names_its_dtype(tmp_path):
    big = np.finfo(np.float64).max
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.full((4, 3), -big)})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": np.full((4, 3), big)})
    with pytest.raises(NonFiniteError) as err:
        extract(tmp_path / "b.safetensors", tmp_path / "t.safetensors", RankRule(rank=1))
    msg = str(err.value)
    assert "overflows float64" in msg and "float32" not in msg, msg
