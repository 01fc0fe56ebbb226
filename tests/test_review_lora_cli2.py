"""Review of the ``svdkit lora`` command line (second round).

* ``merge`` (and PiSSA's residual) refuses a merged weight that overflows the base's
  dtype, naming the module and the dtype, instead of writing ``inf``;
* ``--error ε`` is met by the factors as written (rounded to BF16/F16), and the
  tables of ``extract`` and ``resize`` measure the factors written;
* a non-finite entry in a checkpoint is named: module, tensor, which checkpoint;
* tables keep module names readable and numbers whole at any width;
* ``analyse BASE TUNED`` with nothing changed is an error, as in ``extract``;
* option gaps: ``pissa --dtype/--tol`` and its rank table, ``resize --dtype``,
  ``analyse --target/--tol/--on-mismatch``, ``--split`` in any case, ``--json`` into a
  new folder;
* a tensor only in the tuned model (a new head) is skipped with ``--on-mismatch skip``;
* the ``analyse --figure`` labels its modules;
* a missing adapter directory is "no such adapter directory";
* an empty path argument is an error naming the argument.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cli_support
import numpy as np
import pytest

from svdkit.lora import Adapter, Checkpoint, save_safetensors
from svdkit.lora._cells import energy_cell, error_cell
from svdkit.lora.adapter import LoraModule

Q = "model.layers.0.self_attn.q_proj"
V = "model.layers.0.self_attn.v_proj"
UP = "model.layers.0.mlp.up_proj"
EMB = "model.embed_tokens"


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_support.run_svdkit(capsys, monkeypatch)


def _bf16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def _weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        f"{EMB}.weight": rng.standard_normal((96, 48)),
        f"{Q}.weight": rng.standard_normal((48, 48)),
        f"{V}.weight": rng.standard_normal((48, 48)),
        f"{UP}.weight": rng.standard_normal((80, 48)),
        "model.norm.weight": np.ones(48),
    }


def make_pair(tmp: Path, dtype=np.float32, seed: int = 0, rank: int = 6) -> tuple[Path, Path]:
    """A base and a tuned checkpoint: ΔW of rank ``rank`` plus a little noise."""
    rng = np.random.default_rng(seed)
    base = _weights(rng)
    tuned = {}
    for name, w in base.items():
        if w.ndim == 2:
            m, n = w.shape
            lowrank = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n)) / 10
            tuned[name] = w + lowrank + 1e-3 * rng.standard_normal((m, n))
        else:
            tuned[name] = w
    paths = []
    for which, tensors in (("base", base), ("tuned", tuned)):
        d = tmp / which
        d.mkdir(parents=True, exist_ok=True)
        save_safetensors(d / "model.safetensors", {k: v.astype(dtype) for k, v in tensors.items()})
        paths.append(d)
    return paths[0], paths[1]


def error_of(code: int, err: str) -> str:
    """The ``error: …`` line after any progress bar on standard error."""
    assert "error: " in err, err
    return cli_support.error_line(code, err[err.index("error: "):])


def _delta_of(adapter_dir: Path) -> dict[str, np.ndarray]:
    ad = Adapter.load(adapter_dir)
    return {n: m.delta(ad.use_rslora, dtype=np.float64) for n, m in ad.modules.items()}


# ---------------------------------------------------------------- 1. merge overflow


def test_merge_overflowing_fp16_is_refused_naming_module_and_dtype(tmp_path, run):
    base, _ = make_pair(tmp_path / "p", dtype=np.float16)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 48)).astype(np.float32)
    B = (1e4 * rng.standard_normal((48, 4))).astype(np.float32)
    Adapter({Q: LoraModule(Q, "linear", A=A, B=B, alpha=4.0)}).save(tmp_path / "big")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning escapes
        code, _out, err = run("lora", "merge", base, tmp_path / "big", "-o", tmp_path / "m")
    msg = error_of(code, err)
    assert Q in msg and "F16" in msg and "overflows" in msg
    assert not (tmp_path / "m").exists()
    # the same adapter into a float32 base is fine, and exact
    base32, _ = make_pair(tmp_path / "p32", dtype=np.float32)
    code, _out, err = run("lora", "merge", base32, tmp_path / "big", "-o", tmp_path / "m32")
    assert code == 0, err
    W = Checkpoint(base32).read(f"{Q}.weight", np.float64)
    merged = Checkpoint(tmp_path / "m32").read(f"{Q}.weight", np.float64)
    want = W + B.astype(np.float64) @ A.astype(np.float64)  # alpha 4 / r 4: scale 1
    assert np.abs(merged - want).max() <= 1e-6 * np.abs(want).max()


def test_writer_refuses_an_overflowing_cast(tmp_path):
    from svdkit.errors import SvdkitError
    from svdkit.lora.safetensors_io import SafetensorsWriter

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SvdkitError, match=r"'w' overflows BF16|'w' overflows F16"):
            with SafetensorsWriter(tmp_path / "x.safetensors", {"w": ("F16", (2,))}) as w:
                w.write("w", np.array([1.0, 1e6], np.float32))
    assert not (tmp_path / "x.safetensors").exists()


# ------------------------------------------------- 2. --error met by the stored factors


def _true_error(base: Path, tuned: Path, adapter_dir: Path) -> dict[str, float]:
    b, t = Checkpoint(base), Checkpoint(tuned)
    out = {}
    ad = Adapter.load(adapter_dir)
    for name, m in ad.modules.items():
        D = t.read(f"{name}.weight", np.float64) - b.read(f"{name}.weight", np.float64)
        BA = m.delta(ad.use_rslora, dtype=np.float64)
        if m.kind == "embedding":
            BA = BA if BA.shape == D.shape else BA.T
        out[name] = float(np.linalg.norm(D - BA) / np.linalg.norm(D))
    return out


def test_extract_error_bound_met_by_f16_factors_as_written(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p", rank=30)
    code, _out, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a",
                         "--error", "0.001", "--dtype", "f16")
    assert code == 0, err
    true = _true_error(base, tuned, tmp_path / "a")
    assert max(true.values()) <= 0.001  # the bound holds for what is on disk
    report = json.loads((tmp_path / "a" / "svdkit_report.json").read_text())
    for m in report["modules"]:  # and the report gives those numbers
        assert m["relative_error"] == pytest.approx(true[m["name"]], rel=1e-3)
    assert report["notes"] == []


def test_extract_error_bound_below_bf16_floor_is_said(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p", rank=30)
    code, out, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a",
                         "--error", "0.0005", "--dtype", "BF16")
    assert code == 0, err
    true = _true_error(base, tuned, tmp_path / "a")
    assert max(true.values()) > 0.0005  # BF16's rounding floor
    report = json.loads((tmp_path / "a" / "svdkit_report.json").read_text())
    assert any("not met" in n and "BF16" in n for n in report["notes"])
    flat = " ".join(out.split())
    assert "note: --error 0.0005" in flat and "BF16" in flat
    assert " !" in out  # the table marks the modules


def test_resize_reports_the_error_of_the_written_factors(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p", rank=30)
    code, _, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a30", "--rank", "30",
                       "--dtype", "BF16")
    assert code == 0, err
    code, out, err = run("lora", "resize", tmp_path / "a30", "-o", tmp_path / "r",
                         "--error", "0.004")
    assert code == 0, err
    old, new = _delta_of(tmp_path / "a30"), _delta_of(tmp_path / "r")
    true = {n: float(np.linalg.norm(old[n] - new[n]) / np.linalg.norm(old[n])) for n in old}
    assert max(true.values()) <= 0.004  # met by the bf16 factors written
    from svdkit.lora.rank import RankRule
    from svdkit.lora.resize import resize

    _, report = resize(Adapter.load(tmp_path / "a30"), RankRule(error=0.004))
    for m in report:
        assert m.relative_error == pytest.approx(true[m.name], rel=1e-6, abs=1e-9)
        assert m.bound_met
    # below the rounding floor: said, and marked
    code, out, err = run("lora", "resize", tmp_path / "a30", "-o", tmp_path / "r2",
                         "--error", "0.0005")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "not met" in flat and "BF16" in flat and " !" in out


def test_resize_dtype_option(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p")
    run("lora", "extract", base, tuned, "-o", tmp_path / "a", "--rank", "6")
    code, _out, err = run("lora", "resize", tmp_path / "a", "-o", tmp_path / "r", "--rank", "4",
                         "--dtype", "bf16", "--split", "b")
    assert code == 0, err
    ad = Adapter.load(tmp_path / "r")
    assert {m.A.dtype.name for m in ad.modules.values()} == {"bfloat16"}
    assert all(m.r == 4 for m in ad.modules.values())


# ------------------------------------------------------------- 3. non-finite input


def test_non_finite_entry_is_named_with_its_checkpoint(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p", dtype=np.float16)
    ck = Checkpoint(tuned)
    tensors = {n: np.array(ck.tensor(n)) for n in ck.names}
    tensors[f"{V}.weight"][3, 5] = np.inf
    bad = tmp_path / "bad"
    bad.mkdir()
    save_safetensors(bad / "model.safetensors", tensors)
    for args in (("extract", base, bad, "-o", tmp_path / "x", "--rank", "2"),
                 ("analyse", base, bad)):
        code, _out, err = run("lora", *args)
        msg = error_of(code, err)
        assert V in msg and "[3, 5]" in msg and "tuned checkpoint" in msg and "inf" in msg
        assert "A has a non-finite" not in msg
        bar = err[: err.index("error: ")]
        assert "stopped" in bar or not bar.strip()  # the bar names no other module
    code, _out, err = run("lora", "pissa", bad, "-o", tmp_path / "pa", "--residual",
                         tmp_path / "pr", "--rank", "2")
    msg = error_of(code, err)
    assert V in msg and "[3, 5]" in msg and "base checkpoint" in msg


# ----------------------------------------------------------------- 4. narrow tables


def _long_pair(tmp: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    names = [f"model.language_model.decoder.transformer_blocks.{i}.attention_layer."
             f"multi_head_self_attention.{p}_proj" for i in range(2) for p in "qv"]
    base = {f"{n}.weight": rng.standard_normal((32, 32)).astype(np.float32) for n in names}
    tuned = {k: (v + 0.1 * rng.standard_normal((32, 3)) @ rng.standard_normal((3, 32))
                 ).astype(np.float32) for k, v in base.items()}
    for d, t in (("base", base), ("tuned", tuned)):
        (tmp / d).mkdir(parents=True)
        save_safetensors(tmp / d / "model.safetensors", t)
    return tmp / "base", tmp / "tuned"


def _run_at(capsys, monkeypatch, columns: str):
    """``run`` at ``columns`` wide (cli_support's fixes 80)."""
    import sys

    from svdkit.cli.main import main

    def go(*args):
        monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setattr(sys, "argv", ["svdkit", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


def _whole_numbers(out: str, values: list[str]) -> None:
    for v in values:
        assert v in out, (v, out)


@pytest.mark.parametrize("columns", ["30", "40", "80", "120"])
def test_tables_keep_names_readable_and_numbers_whole(tmp_path, capsys, monkeypatch, columns):
    base, tuned = _long_pair(tmp_path)
    go = _run_at(capsys, monkeypatch, columns)
    out_dir = tmp_path / "a"
    code, out, err = go("lora", "extract", base, tuned, "-o", out_dir, "--rank", "3")
    assert code == 0, err
    report = json.loads((out_dir / "svdkit_report.json").read_text())
    lines = out.split("report with")[0].splitlines()  # (the paths after it are not wrapped)
    assert all(len(line) <= int(columns) for line in lines)
    names = _first_column(lines)
    for m in report["modules"]:
        # the name is all there, read across folded lines (never cut, never "…")
        assert m["name"] in names
        # and its numbers are whole
        _whole_numbers(out, [error_cell(m["relative_error"]), energy_cell(m["energy_kept"])])
    assert "…" not in "".join(lines)
    # never sliced into 7-character pieces: a name takes at most ⌈len / 20⌉ lines
    pieces = [ln for ln in lines if "model." in ln or "attention" in ln]
    longest = max(len(m["name"]) for m in report["modules"])
    assert len(pieces) <= len(report["modules"]) * -(-longest // 20), pieces
    code, out, err = go("lora", "analyse", out_dir)
    assert code == 0, err
    names = _first_column(out.splitlines())
    for m in report["modules"]:
        assert m["name"] in names


def _first_column(lines: list[str]) -> str:
    """The module column's text, folded lines joined (a table's first cells, or the
    name lines of blocks)."""
    return "".join(
        ln.split("│")[1].strip() if "│" in ln else ("" if ln.startswith("  ") else ln.strip())
        for ln in lines
    )


# ------------------------------------------------------------ 5. analyse: nothing changed


def test_analyse_same_checkpoint_twice_is_an_error(tmp_path, run):
    base, _ = make_pair(tmp_path / "p")
    code, _out, err = run("lora", "analyse", base, base, "--json", tmp_path / "j.json",
                         "--figure", tmp_path / "f.png")
    msg = error_of(code, err)
    assert "no tensor differs between the base and the tuned checkpoint" in msg
    assert not (tmp_path / "j.json").exists() and not (tmp_path / "f.png").exists()


def test_analyse_names_changed_tensors_it_leaves_out(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p")
    ck = Checkpoint(tuned)
    tensors = {n: np.array(ck.tensor(n)) for n in ck.names}
    tensors["model.norm.weight"] = tensors["model.norm.weight"] * 2
    save_safetensors(tuned / "model.safetensors", tensors)
    code, out, err = run("lora", "analyse", base, tuned)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "1 tensor changed but not analysed" in flat and "model.norm.weight" in flat


# ------------------------------------------------------------------- 7. option gaps


def test_pissa_dtype_tol_and_rank_table(tmp_path, run):
    base, _ = make_pair(tmp_path / "p")
    code, out, err = run("lora", "pissa", base, "-o", tmp_path / "pa", "--residual",
                         tmp_path / "pr", "--energy", "0.5", "--max-rank", "3",
                         "--dtype", "bf16", "--tol", "1e-4")
    assert code == 0, err
    ad = Adapter.load(tmp_path / "pa")
    assert {m.A.dtype.name for m in ad.modules.values()} == {"bfloat16"}
    assert "PiSSA" in out and "max-rank" in out
    for name, m in ad.modules.items():
        assert m.r <= 3
        assert name.rpartition(".")[2] in out
    # the residual plus the adapter give W back (to bf16's rounding of the factors)
    W = Checkpoint(base).read(f"{Q}.weight", np.float64)
    R = Checkpoint(tmp_path / "pr").read(f"{Q}.weight", np.float64)
    assert np.linalg.norm(R + ad.modules[Q].delta(dtype=np.float64) - W) <= (
        1e-2 * np.linalg.norm(W))


def test_analyse_target_tol_on_mismatch(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p")
    code, out, err = run("lora", "analyse", base, tuned, "--target", "q_proj", "--tol", "1e-6",
                         "--json", tmp_path / "new" / "deeper" / "rows.json")
    assert code == 0, err
    rows = json.loads((tmp_path / "new" / "deeper" / "rows.json").read_text())
    assert [r["module"] for r in rows] == [Q]
    # σ₁ agrees with LAPACK on the delta
    D = Checkpoint(tuned).read(f"{Q}.weight", np.float64) - Checkpoint(base).read(
        f"{Q}.weight", np.float64)
    assert rows[0]["sigma_1"] == pytest.approx(np.linalg.norm(D, 2), rel=1e-5)
    # a tensor only in the tuned model: skipped (listed) by default, refused with 'error'
    ck = Checkpoint(tuned)
    tensors = {n: np.array(ck.tensor(n)) for n in ck.names}
    tensors["score.weight"] = np.ones((2, 48), np.float32)
    cls = tmp_path / "cls"
    cls.mkdir()
    save_safetensors(cls / "model.safetensors", tensors)
    code, out, err = run("lora", "analyse", base, cls, "--target", "q_proj")
    assert code == 0, err
    assert "1 tensor only in the tuned model left out: score.weight" in " ".join(out.split())
    code, out, err = run("lora", "analyse", base, cls, "--on-mismatch", "error")
    msg = error_of(code, err)
    assert "1 tensor of the tuned model not in the base: 'score.weight'" in msg
    # an adapter has no pair to restrict: said
    run("lora", "extract", base, tuned, "-o", tmp_path / "a", "--rank", "2")
    code, out, err = run("lora", "analyse", tmp_path / "a", "--target", "q_proj")
    assert "--target applies to a (BASE, TUNED) pair" in error_of(code, err)


def test_split_any_case(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p")
    for given, side in (("b", "B"), ("SQRT", "sqrt"), ("a", "A")):
        out_dir = tmp_path / f"a_{side}"
        code, _out, err = run("lora", "extract", base, tuned, "-o", out_dir, "--rank", "2",
                             "--split", given)
        assert code == 0, err
        m = Adapter.load(out_dir).modules[Q]
        B, A = m.matrices()
        gram = A.astype(np.float64) @ A.astype(np.float64).T
        if side == "B":  # A has orthonormal rows: Σ is all in B
            assert np.allclose(gram, np.eye(2), atol=1e-5)
        elif side == "A":
            assert np.allclose(B.astype(np.float64).T @ B.astype(np.float64), np.eye(2),
                               atol=1e-5)
    code, _out, err = run("lora", "extract", base, tuned, "-o", tmp_path / "z", "--rank", "2",
                         "--split", "c")
    assert "--split must be one of sqrt, B, A" in error_of(code, err)


# ------------------------------------------------------ 8. a tensor only in the tuned model


def test_new_head_skipped_with_on_mismatch_skip(tmp_path, run):
    base, tuned = make_pair(tmp_path / "p")
    ck = Checkpoint(tuned)
    tensors = {n: np.array(ck.tensor(n)) for n in ck.names}
    tensors["score.weight"] = np.ones((2, 48), np.float32)
    save_safetensors(tuned / "model.safetensors", tensors)
    code, out, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a", "--rank", "6")
    msg = error_of(code, err)
    assert "1 tensor of the tuned model not in the base: 'score.weight'" in msg
    assert "--on-mismatch skip" in msg and "1 tensors" not in msg
    code, out, err = run("lora", "extract", base, tuned, "-o", tmp_path / "a", "--rank", "6",
                         "--on-mismatch", "skip")
    assert code == 0, err
    assert "1 tensor only in the tuned model, left out" in " ".join(out.split())
    report = json.loads((tmp_path / "a" / "svdkit_report.json").read_text())
    assert report["only_tuned"] == ["score.weight"]
    ad = Adapter.load(tmp_path / "a")
    assert "score.weight" not in ad.saved and len(ad.modules) == 4
    true = _true_error(base, tuned, tmp_path / "a")
    assert max(true.values()) < 0.01  # rank 6 of a rank-6 delta plus noise


# ------------------------------------------------------------------ 10. figure labels


@pytest.mark.parametrize("count", [4, 12, 60])
def test_figure_tells_modules_apart(count):
    from svdkit.lora.analyse import Analysis, ModuleSpectrum

    rng = np.random.default_rng(0)
    mods = []
    for i in range(count):
        s = np.sort(rng.random(8))[::-1] + 0.1
        kind = ("q_proj", "v_proj", "up_proj")[i % 3]
        mods.append(ModuleSpectrum(f"model.layers.{i}.{kind}", (8, 8), s,
                                   float(np.sum(s**2)), True))
    fig = Analysis(mods).draw()
    try:
        ax1 = fig.axes[0]
        styles = {(ln.get_color(), ln.get_linestyle()) for ln in ax1.get_lines()}
        labels = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
        if count <= 40:
            assert len(styles) == count  # each module its own colour and line style
            assert sorted(labels) == sorted(m.name for m in mods)
        else:  # grouped by type, one style each, the slowest module named
            assert len(styles) == 3
            assert sorted(labels) == ["q_proj (20 modules)", "up_proj (20 modules)",
                                      "v_proj (20 modules)"]
            assert any(t.get_text().startswith("model.layers.") for t in fig.axes[1].texts)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


# --------------------------------------------------------- 11. a missing adapter directory


def test_missing_adapter_directory(tmp_path, run):
    base, _ = make_pair(tmp_path / "p")
    for args in (("resize", tmp_path / "nope", "-o", tmp_path / "o", "--rank", "2"),
                 ("merge", base, tmp_path / "nope", "-o", tmp_path / "o"),
                 ("analyse", tmp_path / "nope")):
        msg = error_of(*run("lora", *args)[::2])
        assert "no such adapter directory" in msg and "nope" in msg


# --------------------------------------------------------------- empty path arguments


@pytest.mark.parametrize(
    "args, name",
    [
        (("extract", "", "T", "-o", "O", "--rank", "1"), "BASE"),
        (("extract", "B", "", "-o", "O", "--rank", "1"), "TUNED"),
        (("extract", "B", "T", "-o", "", "--rank", "1"), "--output"),
        (("resize", "", "-o", "O", "--rank", "1"), "ADAPTER"),
        (("resize", "A", "-o", "", "--rank", "1"), "--output"),
        (("merge", "", "A", "-o", "O"), "BASE"),
        (("merge", "B", "", "-o", "O"), "ADAPTER"),
        (("merge", "B", "A", "-o", ""), "--output"),
        (("pissa", "", "-o", "O", "--residual", "R", "--rank", "1"), "BASE"),
        (("pissa", "B", "-o", "", "--residual", "R", "--rank", "1"), "--output"),
        (("pissa", "B", "-o", "O", "--residual", "", "--rank", "1"), "--residual"),
        (("analyse", ""), "FIRST"),
        (("analyse", "B", ""), "TUNED"),
        (("analyse", "A", "--json", ""), "--json"),
        (("analyse", "A", "--figure", ""), "--figure"),
    ],
)
def test_empty_path_is_an_error_naming_it(tmp_path, run, monkeypatch, args, name):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("lora", *args)
    assert code == 2, (out, err)
    flat = " ".join(err.split())
    assert "empty path" in flat and f"'{name.lower()}'" in flat.lower(), flat
