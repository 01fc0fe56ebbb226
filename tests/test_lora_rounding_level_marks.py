"""One rounding level for every "zero" of the LoRA stack: float64's ``min(m, n)·eps·σ₁``.

* pissa's "capped" mark (and its note's cause) uses the level the rank rules use: a
  float32 weight's tail, above float64 rounding, is what a ``max_rank`` cut leaves out;
* resize's ``error`` rule stops at the numerical rank, as extract's and ``energy=1`` do;
* a bound below float64 rounding is noted as the SVD's own rounding, never as a dtype's
  (whose wider-dtype advice cannot help);
* docs/lora.md names only options the CLI has.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from svdkit.lora import Adapter, LoraModule, RankRule, pissa, resize, save_safetensors
from svdkit.lora.pissa import pissa_notes
from svdkit.lora.rank import unmet_note
from tests.cli_support import error_line, run_svdkit

EPS64 = float(np.finfo(np.float64).eps)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "lora.md"


def _rank4(m=128, n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 4)) @ rng.standard_normal((4, n)) / 2.0  # exactly rank 4


def _numerical_rank(W):
    s = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    return int(np.count_nonzero(s > min(W.shape) * EPS64 * s[0])), s


def _pissa_rows(tmp_path, W, rule, dtype=None):
    base = tmp_path / "w.safetensors"
    save_safetensors(base, {"fc.weight": W})
    rows = []
    pissa(base, tmp_path / "ad", tmp_path / "r.safetensors", rule, dtype=dtype, report=rows)
    return rows


# ---- (1) pissa: a max_rank cut of a float32 weight's tail is marked ------------------


@pytest.mark.parametrize("rule", [RankRule(error=1e-9, max_rank=8),
                                  RankRule(energy=1.0, max_rank=8)])
def test_pissa_cap_below_a_float32_tail_is_marked(tmp_path, rule):
    W = _rank4().astype(np.float32)  # rank 4 plus float32 rounding: a full spectrum
    k, s = _numerical_rank(W)
    assert k > 8  # the rules' own rank, with float64's rounding level, is above the cap
    tail = np.sqrt(np.sum(s[8:] ** 2) / np.sum(s**2))
    assert tail > rule.rank_tol  # rank 8 misses the rule
    rows = _pissa_rows(tmp_path, W, rule, dtype="F64")
    (row,) = rows
    assert row.rank == 8 and row.capped
    # the factors of the top 8 triplets, stored in F64: the Eckart–Young error
    assert row.relative_error == pytest.approx(tail, rel=1e-3)
    if rule.error is not None:
        (note,) = pissa_notes(rows, rule, "F64")
        assert "max_rank=8 caps their rank: raise max_rank" in note
        assert "rounding" not in note


def test_pissa_uncapped_rank_of_the_float32_weight_is_above_the_cap(tmp_path):
    # the same weight without a cap: the rule keeps more than 8 (what the cap lowered)
    W = _rank4().astype(np.float32)
    (row,) = _pissa_rows(tmp_path, W, RankRule(error=1e-9), dtype="F64")
    assert row.rank > 8 and row.bound_met and not row.capped


def test_pissa_cli_names_the_cap(tmp_path, capsys, monkeypatch):
    save_safetensors(tmp_path / "w.safetensors", {"fc.weight": _rank4().astype(np.float32)})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "pissa", tmp_path / "w.safetensors", "-o", tmp_path / "ad",
                         "--residual", tmp_path / "r.safetensors", "--error", "1e-9",
                         "--max-rank", "8", "--dtype", "F64")
    assert code == 0, error_line(code, err)
    text = " ".join((out + err).split())
    assert "--max-rank 8 caps their rank: raise --max-rank" in text
    assert "rounding them to F64" not in text


# ---- (2) resize: an error bound stops at the numerical rank -------------------------


def _rank16_adapter_of_rank4():
    D = _rank4()
    U, s, Vh = np.linalg.svd(D, full_matrices=False)
    B, A = U[:, :16] * np.sqrt(s[:16]), np.sqrt(s[:16])[:, None] * Vh[:16]
    ad = Adapter({"fc": LoraModule("fc", "linear", A=A, B=B, alpha=16)})
    return ad, B @ A


@pytest.mark.parametrize("rule", [RankRule(error=0.0), RankRule(error=1e-16),
                                  RankRule(energy=1.0), RankRule(error=0.0, max_rank=12)])
def test_resize_bound_below_rounding_gives_the_numerical_rank(rule):
    ad, delta = _rank16_adapter_of_rank4()
    k, s = _numerical_rank(delta)
    assert k == 4 and s[15] > 0  # 12 directions of float64 rounding, not zeros
    small, (rep,) = resize(ad, rule)
    assert rep.rank == 4 and small.modules["fc"].r == 4
    # no worse than keeping all 16: both are float64 rounding of ΔW
    err = np.linalg.norm(delta - small.modules["fc"].delta()) / np.linalg.norm(delta)
    assert err <= 64 * EPS64 and rep.relative_error <= 64 * EPS64


def test_resize_cli_error_zero_and_energy_one_agree(tmp_path, capsys, monkeypatch):
    ad, _ = _rank16_adapter_of_rank4()
    ad.save(tmp_path / "ad")
    run = run_svdkit(capsys, monkeypatch)
    for i, opts in enumerate([("--error", "0"), ("--error", "1e-16"), ("--energy", "1")]):
        code, _, err = run("lora", "resize", tmp_path / "ad", "-o", tmp_path / f"o{i}", *opts)
        assert code == 0, error_line(code, err)
        assert Adapter.load(tmp_path / f"o{i}").modules["fc"].r == 4, opts


def test_resize_error_rule_still_raises_rank_for_bf16_rounding():
    # (the numerical rank caps the walk, not the rule: a BF16 store still takes more)
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((64, 16)))
    V, _ = np.linalg.qr(rng.standard_normal((48, 16)))
    s = 0.6 ** np.arange(16)
    ad = Adapter({"fc": LoraModule("fc", "linear", A=V.T.copy(), B=U * s, alpha=16)})
    _, (rep,) = resize(ad, RankRule(error=0.02), dtype="BF16")
    tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2))
    first = int(np.argmax(tail <= 0.02))  # the rank the values alone ask for
    assert rep.bound_met and rep.relative_error <= 0.02 and rep.rank >= first


# ---- (5) the note on a bound below float64 rounding ---------------------------------


@pytest.mark.parametrize("code", ["F32", "F64", "BF16"])
def test_note_below_float64_rounding_names_the_svd(code):
    note = unmet_note(1e-16, {"q": 6e-16}, 1, max_rank=None, capped=[], codes={"q": code})
    assert "no floating-point SVD meets it" in note
    assert "rounding them to" not in note and "dtype" not in note
    assert note.endswith("ask a looser error")


def test_note_for_f64_factors_never_blames_f64():
    # F64 factors are computed in float64: nothing is rounded to F64, no dtype is wider
    note = unmet_note(4e-16, {"q": 7e-16}, 1, max_rank=None, capped=[], codes={"q": "F64"})
    assert "rounding them to F64" not in note and "no floating-point SVD meets it" in note


def test_note_above_float64_rounding_still_advises_a_wider_dtype():
    note = unmet_note(1e-9, {"q": 3e-8}, 1, max_rank=None, capped=[], codes={"q": "F32"})
    assert "rounding them to F32 alone costs more than the bound" in note
    assert "(dtype='F64')" in note


@pytest.mark.parametrize("dtype", [None, "F64"])
def test_pissa_cli_error_below_rounding(tmp_path, capsys, monkeypatch, dtype):
    save_safetensors(tmp_path / "w.safetensors", {"fc.weight": _rank4()})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "pissa", tmp_path / "w.safetensors", "-o", tmp_path / "ad",
                         "--residual", tmp_path / "r.safetensors", "--error", "1e-16",
                         *(("--dtype", dtype) if dtype else ()))
    assert code == 0, error_line(code, err)
    text = " ".join((out + err).split())
    assert "no floating-point SVD meets it" in text and "ask a looser --error" in text
    assert "rounding them to" not in text and "--dtype F64" not in text


def test_note_echoes_negative_zero_as_zero():
    note = unmet_note(-0.0, {"q": 5e-15}, 1, max_rank=None, capped=[], codes={"q": "F64"})
    assert note.startswith("error=0 is not met") and "-0" not in note


# ---- (6) docs name only options the CLI has ----------------------------------------


def test_docs_name_no_method_cli_option(capsys, monkeypatch):
    text = DOCS.read_text(encoding="utf-8")
    run = run_svdkit(capsys, monkeypatch)
    for cmd in ("extract", "pissa", "resize"):
        code, out, _ = run("lora", cmd, "--help")
        assert code == 0 and "--method" not in out
    assert not re.search(r"`--method\b", text)
    assert 'method="auto"' in text and 'method="lapack"' in text


def test_rule_of_negative_zero_is_zero(tmp_path, capsys, monkeypatch):
    rule = RankRule(error=-0.0)
    assert rule.error == 0.0 and str(rule.error) == "0.0"
    save_safetensors(tmp_path / "b.safetensors", {"fc.weight": np.zeros((16, 12))})
    save_safetensors(tmp_path / "t.safetensors", {"fc.weight": _rank4(16, 12)})
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lora", "extract", tmp_path / "b.safetensors",
                         tmp_path / "t.safetensors", "-o", tmp_path / "ad", "--error", "-0")
    assert code == 0, error_line(code, err)
    report = (tmp_path / "ad" / "svdkit_report.json").read_text(encoding="utf-8")
    assert '"error": 0.0' in report and "-0" not in " ".join(out.split())
