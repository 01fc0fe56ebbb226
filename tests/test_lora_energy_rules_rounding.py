"""An ``energy`` rule absorbs the rounding of BF16 factors as its ``error`` twin does
(extract, pissa, resize); resize's energy kept and ``bound_met`` are of the stored
factors; pissa refuses a weight whose norm is beyond float64 by name; pissa's table has
an "energy kept" cell under ``--energy``.

Every rank and error is checked against the stored factors themselves: the relative
error recomputed from ``ΔW`` (or ``W``) and ``scale · B A`` in float64, and the energy
kept as ``1 − error²``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from svdkit.errors import SvdkitError
from svdkit.lora import Adapter, Checkpoint, RankRule, extract, pissa, resize, save_safetensors
from svdkit.lora.adapter import LoraModule
from svdkit.lora.pissa import pissa_notes
from svdkit.lowrank.rank import ENERGY_SLACK
from tests.cli_support import error_line, run_svdkit

NAMES = [f"model.layers.{i}.self_attn.q_proj" for i in range(2)]


def _pair(tmp_path):
    """Base and tuned checkpoints whose deltas (48×32) are rank 4 plus a 1e-2 noise floor:
    ``energy=0.99999`` needs a rank whose BF16 rounding the bound has room for."""
    rng = np.random.default_rng(0)
    base, tuned, deltas = {}, {}, {}
    for name in NAMES:
        W = rng.standard_normal((48, 32)).astype(np.float32)
        D = 0.01 * (rng.standard_normal((48, 4)) @ rng.standard_normal((4, 32))
                    + 1e-2 * rng.standard_normal((48, 32)))
        T = (W.astype(np.float64) + D).astype(np.float32)
        base[f"{name}.weight"], tuned[f"{name}.weight"] = W, T
        deltas[name] = T.astype(np.float64) - W.astype(np.float64)
    (tmp_path / "base").mkdir()
    (tmp_path / "tuned").mkdir()
    save_safetensors(tmp_path / "base" / "model.safetensors", base, {"format": "pt"})
    save_safetensors(tmp_path / "tuned" / "model.safetensors", tuned, {"format": "pt"})
    return tmp_path / "base", tmp_path / "tuned", deltas


def _rel(target: np.ndarray, module: LoraModule) -> float:
    """``‖target − scale·B A‖_F / ‖target‖_F`` of the stored factors, in float64."""
    return float(np.linalg.norm(target - module.delta()) / np.linalg.norm(target))


def _kept(err: float) -> float:
    return min(1.0, max(0.0, 1.0 - err * err))


# ---- RankRule.leaving_room ------------------------------------------------------------------

def test_leaving_room_energy_is_its_error_twin():
    eps = 0.01
    twin = RankRule(error=eps, max_rank=40).leaving_room(0.012, 0.009)
    tight = RankRule(energy=1 - eps * eps, max_rank=40).leaving_room(0.012, 0.009)
    assert tight is not None and twin is not None
    assert tight.error == pytest.approx(twin.error, rel=1e-9)
    assert tight.error == pytest.approx(0.97 * math.sqrt(eps**2 - (0.012**2 - 0.009**2)))
    assert tight.max_rank == 40
    # met (within the rule's slack), or no room left: nothing to tighten
    assert RankRule(energy=1 - eps * eps).leaving_room(0.0099, 0.008) is None
    assert RankRule(energy=1 - eps * eps).leaving_room(0.0125, 0.0075) is None
    assert RankRule(rank=4).leaving_room(0.5, 0.1) is None


# ---- extract --------------------------------------------------------------------------------

def test_extract_energy_absorbs_bf16_rounding_like_error(tmp_path):
    base, tuned, deltas = _pair(tmp_path)
    energy = 0.99999
    by_energy = extract(base, tuned, RankRule(energy=energy), dtype="bf16")
    by_error = extract(base, tuned, RankRule(error=math.sqrt(1 - energy)), dtype="bf16")
    assert not by_energy.report.notes, by_energy.report.notes
    for name in NAMES:
        m = next(r for r in by_energy.report.modules if r.name == name)
        err = _rel(deltas[name], by_energy.adapter.modules[name])
        # the report is of the stored factors, and they keep the energy asked
        assert m.relative_error == pytest.approx(err, rel=1e-4, abs=1e-7)
        assert m.energy_kept == pytest.approx(_kept(err), abs=1e-9)
        assert 1 - err * err >= energy - ENERGY_SLACK - 1e-9
        assert by_energy.adapter.modules[name].A.dtype.name == "bfloat16"
        # the same rank as the error bound it is the twin of
        twin = next(r for r in by_error.report.modules if r.name == name)
        assert m.rank == twin.rank


# ---- pissa ----------------------------------------------------------------------------------

def _weight(tmp_path):
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((96, 80)))
    V, _ = np.linalg.qr(rng.standard_normal((80, 80)))
    W = ((U * 0.9 ** np.arange(80)) @ V.T).astype(np.float32)
    path = tmp_path / "b.safetensors"
    save_safetensors(path, {"model.layers.0.mlp.up_proj.weight": W}, {})
    return path, W.astype(np.float64)


@pytest.mark.parametrize("eps", [5e-3, 3e-3])
def test_pissa_energy_absorbs_bf16_rounding_like_error(tmp_path, eps):
    path, W = _weight(tmp_path)
    ranks = []
    for i, rule in enumerate((RankRule(energy=1 - eps * eps), RankRule(error=eps))):
        rows: list = []
        ad, res = pissa(path, tmp_path / f"a{i}", tmp_path / f"r{i}.safetensors", rule,
                        dtype="bf16", report=rows)
        (row,) = rows
        m = ad.modules["model.layers.0.mlp.up_proj"]
        err = _rel(W, m)
        assert row.relative_error == pytest.approx(err, rel=1e-6)
        assert row.bound_met and not rule.missed(err)
        assert err <= eps * (1 + 1e-9)
        assert pissa_notes(rows, rule, "bf16") == []
        # the residual and the stored factors give W back (one rounding of W_res)
        R = Checkpoint(res).read("model.layers.0.mlp.up_proj.weight").astype(np.float64)
        assert np.linalg.norm(R + m.delta() - W) <= 1e-6 * np.linalg.norm(W)
        ranks.append(row.rank)
    assert ranks[0] == ranks[1]


# ---- resize ---------------------------------------------------------------------------------

def _adapter(rank: int = 16) -> tuple[Adapter, np.ndarray]:
    """A float32 adapter of rank ``rank`` (48×32) with a graded spectrum, and its delta."""
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((48, rank)))
    V, _ = np.linalg.qr(rng.standard_normal((32, rank)))
    s = 0.6 ** np.arange(rank)
    B, A = (U * s).astype(np.float32), V.T.astype(np.float32)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=float(rank))})
    return ad, ad.modules["fc"].delta()


def test_resize_energy_absorbs_bf16_rounding_like_error():
    ad, D = _adapter()
    eps = 0.0061  # rank 10 of the values meets it (6.04e-3): its BF16 factors do not
    energy = 1 - eps**2
    s = np.linalg.svd(D, compute_uv=False)
    exact = int(np.argmax(np.cumsum(s**2) >= energy * np.sum(s**2))) + 1  # of the values
    assert exact == 10
    new, (r,) = resize(ad, RankRule(energy=energy), dtype="bf16")
    _, (t,) = resize(ad, RankRule(error=eps), dtype="bf16")
    err = _rel(D, new.modules["fc"])
    assert r.relative_error == pytest.approx(err, rel=1e-6)
    assert not RankRule(energy=energy).missed(err) and r.bound_met
    assert r.energy_kept == pytest.approx(_kept(err), abs=1e-12)
    assert r.rank > exact  # raised past the rank of the values to absorb the rounding
    assert (r.rank, r.relative_error) == (t.rank, t.relative_error)


def test_resize_energy_kept_and_bound_met_are_of_stored_factors():
    ad, D = _adapter(4)
    rule = RankRule(energy=0.9999999)  # BF16's rounding alone is about 2e-3: no rank meets it
    new, (r,) = resize(ad, rule, dtype="bf16")
    err = _rel(D, new.modules["fc"])
    assert r.relative_error == pytest.approx(err, rel=1e-6)
    assert r.energy_kept == pytest.approx(1 - err * err, abs=1e-12)
    assert r.energy_kept < 0.9999999
    assert r.bound_met is False and rule.missed(r.relative_error)
    # no bound: still the stored factors' energy (not the values' 1 − 1e-15)
    new, (r,) = resize(ad, RankRule(rank=2), dtype="float16")
    err = _rel(D, new.modules["fc"])
    assert r.energy_kept == pytest.approx(1 - err * err, abs=1e-12)
    assert r.bound_met


def test_resize_cli_marks_energy_cell_and_notes_no_false_cause(tmp_path, capsys, monkeypatch):
    ad, _ = _adapter(16)
    ad.save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run("lora", "resize", tmp_path / "ad", "-o", tmp_path / "rs",
                         "--energy", "0.9999999", "--dtype", "bf16")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "│ fc" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[3].startswith("1 − ") and cells[3].endswith(" !"), cells
    assert not cells[4].endswith("!"), cells  # the mark is on the rule's own cell
    note = " ".join(out[out.index("note:"):].split())
    assert "least kept " + cells[3][:-2].strip() in note
    # a lower target a higher rank meets: no miss, no note
    code, out, err = run("lora", "resize", tmp_path / "ad", "-o", tmp_path / "rs2",
                         "--energy", str(1 - 0.0061**2), "--dtype", "bf16")
    assert code == 0, err
    assert "note:" not in out and "!" not in out


# ---- pissa: weights beyond float64's range; the table's energy cell --------------------------

def test_pissa_refuses_unbounded_weight_by_name(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "base.safetensors"
    save_safetensors(path, {
        "model.layers.0.mlp.up_proj.weight": rng.standard_normal((48, 32)),
        "model.layers.1.mlp.up_proj.weight": rng.standard_normal((48, 32)) * 1e307,
    }, {})
    with pytest.raises(SvdkitError) as info:
        pissa(path, tmp_path / "ad", tmp_path / "res.safetensors", RankRule(rank=2))
    msg = str(info.value)
    assert "'model.layers.1.mlp.up_proj'" in msg and "layers.0" not in msg
    assert "‖W‖_F" in msg and "ΔW" not in msg and "delta" not in msg
    assert not (tmp_path / "ad").exists() and not (tmp_path / "res.safetensors").exists()


def _energy_fixture(tmp_path):
    rng = np.random.default_rng(0)
    t = {f"model.layers.{i}.mlp.up_proj.weight": (rng.standard_normal((96, 80)) * sc)
         .astype(np.float32) for i, sc in enumerate([1, 1e-9, 1])}
    path = tmp_path / "b.safetensors"
    save_safetensors(path, t, {})
    return path, {k.removesuffix(".weight"): v.astype(np.float64) for k, v in t.items()}


def test_pissa_table_has_energy_cell_under_energy(tmp_path, capsys, monkeypatch):
    path, weights = _energy_fixture(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")  # the table as a table, not in blocks
    code, out, err = run("lora", "pissa", path, "-o", tmp_path / "ad", "--residual",
                         tmp_path / "r.safetensors", "--energy", "0.5", "--max-rank", "16",
                         "--dtype", "fp16")
    assert code == 0, err
    header = next(line for line in out.splitlines() if "rel. error" in line)
    assert "energy kept" in header
    ad = Adapter.load(tmp_path / "ad")
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0].startswith("model.layers."):
            rows[cells[0]] = cells
    assert len(rows) == 3
    for name, W in weights.items():
        cells = rows[name]
        energy_cell, error_cell = cells[4], cells[5]
        assert not error_cell.endswith("!")  # the mark goes on the energy cell
        if name in ad.modules:
            err = _rel(W, ad.modules[name])
            missed = RankRule(energy=0.5).missed(err)
            shown, kept = float(energy_cell.rstrip(" !")), 1 - err * err
            if missed:  # a marked cell is rounded down, away from the bound
                assert kept - 1.01e-4 < shown <= kept
            else:
                assert shown == pytest.approx(kept, abs=6e-5)
        else:  # kept whole for underflow: error 1, nothing kept
            missed = True
            assert energy_cell.rstrip(" !") == "0.0000"
        assert energy_cell.endswith(" !") == missed, (name, cells)
    notes = " ".join(out[out.index("note:"):].split())
    assert "the bound is missed" in notes and "error bound" not in notes


def test_pissa_table_has_no_energy_cell_under_error_or_rank(tmp_path, capsys, monkeypatch):
    path, _ = _energy_fixture(tmp_path)
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "pissa", path, "-o", tmp_path / "ad", "--residual",
                         tmp_path / "r.safetensors", "--error", "0.5", "--max-rank", "16")
    assert code == 0, err
    assert "energy kept" not in out and "rel. error" in out


def test_pissa_energy_kept_of_a_row():
    from svdkit.lora.pissa import PissaModule

    assert PissaModule("m", (4, 4), 1, False, 0.1).energy_kept == pytest.approx(0.99)
    assert PissaModule("m", (4, 4), 0, False, 1.0, False, True).energy_kept == 0.0


def test_pissa_help_lists_dtype_aliases(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run("lora", "pissa", "--help")
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    assert "bfloat16" in text and "fp16" in text and "half" in text


def test_pissa_unbounded_check_error_wording_for_module_name(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    path = tmp_path / "base.safetensors"
    save_safetensors(path, {"model.layers.1.mlp.up_proj.weight":
                            rng.standard_normal((48, 32)) * 1e307}, {})
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lora", "pissa", path, "-o", tmp_path / "ad", "--residual",
                       tmp_path / "r.safetensors", "--rank", "2")
    line = error_line(code, err)
    assert "module 'model.layers.1.mlp.up_proj'" in line and "ΔW" not in line
