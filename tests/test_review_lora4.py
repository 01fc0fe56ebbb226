"""Fourth LoRA review: outputs never replace what svdkit did not write, options are
checked before any work, and an adapter is not read as a model.

Each test fails on the code before the fix it names:

* an existing adapter or checkpoint directory was replaced whenever it held an
  ``adapter_config.json`` / a ``*.safetensors`` file — a PEFT-trained adapter, a
  training directory (``optimizer.pt``, ``checkpoint-500/``), the user's own model —
  and a ``.safetensors`` output replaced any file; svdkit now marks what it writes
  (``__metadata__["svdkit"]``) and replaces only that;
* ``merge -o merged.bin`` wrote a directory named ``merged.bin``;
* ``--alpha inf`` wrote factors of zeros and ``"lora_alpha": Infinity`` (not JSON);
* ``--rank r --max-rank k`` ignored ``--max-rank`` without a word;
* ``--tol 0`` was refused only after both checkpoints were compared;
* factors cast to float16 that overflow (a tiny ``alpha`` with ``--split B``) were
  written as ``inf``, with an excess of "0.00 %" in the report;
* an adapter directory given as ``BASE`` / ``TUNED`` was read as a model (``pissa``
  factored the adapter's ``lora_A``/``lora_B`` and wrote a "residual" of them);
* ``analyse BASE TUNED`` with a resized vocabulary stopped, pointing to an
  ``--on-mismatch`` option ``analyse`` does not have;
* ``pissa`` with the adapter inside the residual directory wrote the adapter, then
  refused the residual (or nested the residual in the adapter).
"""

from __future__ import annotations

import json

import cli_support
import numpy as np
import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lora import Adapter, Checkpoint, RankRule, extract, save_safetensors
from svdkit.lora.adapter import LoraModule
from svdkit.lora.analyse import analyse_pair
from svdkit.lora.merge import merge
from svdkit.lora.pissa import pissa
from svdkit.lora.resize import resize


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_support.run_svdkit(capsys, monkeypatch)


@pytest.fixture
def pair(tmp_path):
    """``(dir, base, tuned)``: a 64×48 matrix with a rank-3 change, and a norm."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((64, 48)).astype(np.float32)
    D = (0.1 * rng.standard_normal((64, 3)) @ rng.standard_normal((3, 48))).astype(np.float32)
    ln = np.ones(48, np.float32)
    base, tuned = tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"
    save_safetensors(base, {"fc.weight": W, "norm.weight": ln})
    save_safetensors(tuned, {"fc.weight": W + D, "norm.weight": 2 * ln})
    return tmp_path, base, tuned


def _peft_like_adapter(directory, extra=()):
    """An adapter as PEFT saves it (no svdkit mark), plus ``extra`` training files."""
    directory.mkdir()
    rng = np.random.default_rng(1)
    save_safetensors(directory / "adapter_model.safetensors", {
        "base_model.model.fc.lora_A.weight": rng.standard_normal((2, 48)).astype(np.float32),
        "base_model.model.fc.lora_B.weight": rng.standard_normal((64, 2)).astype(np.float32),
    }, {"format": "pt"})
    (directory / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["fc"]}))
    (directory / "README.md").write_text("my trained adapter")
    for name in extra:
        (directory / name).write_bytes(b"state")
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def _files(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def _late_error(code, err):
    """The ``error: …`` line of a command that failed once its progress bar had started."""
    assert code == 2 and "Traceback" not in err, err
    last = err.rstrip().rpartition("error: ")[2]  # (a bar only on a terminal)
    assert "error: " + last in err, err
    return " ".join(last.split())


# ------------------------------------------------------------------ outputs never lost


def test_an_adapter_svdkit_did_not_write_is_never_replaced(pair, run):
    d, base, tuned = pair
    trained = _peft_like_adapter(d / "trained", extra=("optimizer.pt", "trainer_state.json"))
    before = _files(d / "trained")
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "trained", "--rank", "2")
    msg = cli_support.error_line(code, err)  # refused before the checkpoints are read
    assert "trained" in msg and "optimizer.pt" in msg and "refusing to replace" in msg
    assert _files(d / "trained") == before == trained
    # PEFT's own files alone (no training state, no README) are the user's adapter too
    for name in ("optimizer.pt", "trainer_state.json", "README.md"):
        (d / "trained" / name).unlink()
    kept = _files(d / "trained")
    ex = extract(base, tuned, RankRule(rank=2))
    with pytest.raises(FileFormatError, match="svdkit mark"):
        ex.adapter.save(d / "trained")
    code, _, err = run("lora", "resize", d / "trained", "-o", d / "trained2", "--rank", "1")
    assert code == 0, err
    code, _, err = run("lora", "resize", d / "trained2", "-o", d / "trained", "--rank", "1")
    assert "svdkit mark" in cli_support.error_line(code, err)
    assert _files(d / "trained") == kept
    # svdkit's own adapter is replaced, run after run; one with a foreign file is not
    for rank in (2, 1):
        code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", rank)
        assert code == 0, err
    assert Adapter.load(d / "ad").modules["fc"].r == 1
    (d / "ad" / "notes.txt").write_text("keep me")
    with pytest.raises(FileFormatError, match=r"notes\.txt"):
        ex.adapter.save(d / "ad")
    assert (d / "ad" / "notes.txt").read_text() == "keep me"


def test_a_model_or_training_directory_is_never_replaced_by_merge(pair, run):
    d, base, tuned = pair
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "3")
    assert code == 0, err
    # the user's fine-tuned model directory, with its training state
    run_dir = d / "run"
    (run_dir / "checkpoint-500").mkdir(parents=True)
    (run_dir / "checkpoint-500" / "optimizer.pt").write_bytes(b"adam state")
    (run_dir / "model.safetensors").write_bytes(tuned.read_bytes())
    (run_dir / "config.json").write_text("{}")
    before = _files(run_dir)
    code, _, err = run("lora", "merge", base, d / "ad", "-o", run_dir)
    msg = cli_support.error_line(code, err)
    assert "checkpoint-500/" in msg and "refusing to replace" in msg
    (run_dir / "checkpoint-500" / "optimizer.pt").unlink()
    (run_dir / "checkpoint-500").rmdir()
    code, _, err = run("lora", "merge", base, d / "ad", "-o", run_dir)
    assert "no svdkit mark" in cli_support.error_line(code, err)
    assert _files(run_dir) == before
    # a single .safetensors file the user has is not overwritten either
    user_file = d / "mine.safetensors"
    user_file.write_bytes(tuned.read_bytes())
    code, _, err = run("lora", "merge", base, d / "ad", "-o", user_file)
    cli_support.error_line(code, err)
    assert user_file.read_bytes() == tuned.read_bytes()
    # svdkit's merged outputs are replaced on a second run, and carry the mark
    for _ in range(2):
        for out in (d / "merged", d / "merged.safetensors"):
            code, _, err = run("lora", "merge", base, d / "ad", "-o", out)
            assert code == 0, err
    sf = Checkpoint(d / "merged").files["model.safetensors"]
    assert sf.metadata == {"format": "pt", "svdkit": "lora merge",  # and what it wrote
                           "svdkit_files": json.dumps(["model.safetensors"])}
    merged = Checkpoint(d / "merged.safetensors").read("fc.weight")
    assert np.allclose(merged, Checkpoint(tuned).read("fc.weight"), atol=1e-5)


def test_merge_output_named_like_a_pickle_is_refused(pair, run):
    d, base, tuned = pair
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "3")
    assert code == 0, err
    code, _, err = run("lora", "merge", base, d / "ad", "-o", d / "merged.bin")
    assert "never pickle" in cli_support.error_line(code, err)
    assert not (d / "merged.bin").exists()


def test_pissa_refuses_outputs_inside_each_other_before_any_work(pair):
    d, base, _ = pair
    for adapter_dir, residual in ((d / "r" / "ad", d / "r"), (d / "a", d / "a" / "res")):
        with pytest.raises(FileFormatError, match="lies inside"):
            pissa(base, adapter_dir, residual, RankRule(rank=2))
        assert not adapter_dir.exists() and not residual.exists()
    # a foreign adapter directory is refused before the residual is written, not wiped
    trained = _peft_like_adapter(d / "trained")
    with pytest.raises(FileFormatError, match="refusing to replace"):
        pissa(base, d / "trained", d / "res", RankRule(rank=2))
    assert _files(d / "trained") == trained and not (d / "res").exists()


# ------------------------------------------------------------------ options checked first


def test_alpha_must_be_a_positive_finite_number(pair, run):
    d, base, tuned = pair
    with pytest.raises(SvdkitError, match="positive finite"):
        extract(base, tuned, RankRule(rank=2), alpha=float("inf"))
    ad = extract(base, tuned, RankRule(rank=3)).adapter
    with pytest.raises(SvdkitError, match="positive finite"):
        resize(ad, RankRule(rank=2), alpha=float("inf"))
    for cmd in (["extract", base, tuned], ["resize", d / "ad0"]):
        ad.save(d / "ad0")
        code, _, err = run("lora", *cmd, "-o", d / "out", "--rank", "2", "--alpha", "inf")
        assert "alpha" in cli_support.error_line(code, err)
        assert not (d / "out").exists()


def test_max_rank_with_a_fixed_rank_is_refused_not_ignored(pair, run):
    d, base, tuned = pair
    with pytest.raises(SvdkitError, match="max_rank"):
        RankRule(rank=8, max_rank=4)
    assert RankRule(energy=0.9, max_rank=4).max_rank == 4
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "3",
                       "--max-rank", "2")
    assert "--max-rank" in cli_support.error_line(code, err)
    assert not (d / "ad").exists()


def test_tol_is_checked_before_the_checkpoints_are_compared(pair):
    d, base, _ = pair
    # a tuned checkpoint that does not even pair with the base: tol is refused first
    odd = d / "odd.safetensors"
    save_safetensors(odd, {"other.weight": np.ones((4, 4), np.float32)})
    for tol in (0.0, 2.0, float("nan")):
        with pytest.raises(SvdkitError, match="tol"):
            extract(base, odd, RankRule(rank=2), tol=tol)
        with pytest.raises(SvdkitError, match="tol"):
            analyse_pair(base, odd, tol=tol)
        with pytest.raises(SvdkitError, match="tol"):
            pissa(base, d / "p", d / "pr", RankRule(rank=2), tol=tol)
    assert not (d / "p").exists() and not (d / "pr").exists()


def test_factors_that_overflow_float16_are_refused_not_written_as_inf(pair, run):
    import ml_dtypes

    d, base, tuned = pair
    with pytest.raises(SvdkitError, match="lora_B overflows F16"):
        extract(base, tuned, RankRule(rank=3), split="B", alpha=1e-7, dtype=np.float16)
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "3",
                       "--split", "B", "--alpha", "1e-7", "--dtype", "F16")
    msg = _late_error(code, err)
    assert "'fc'" in msg and "RuntimeWarning" not in err
    assert not (d / "ad").exists()
    # resize keeps an fp16 adapter's dtype: the same guard
    rng = np.random.default_rng(0)
    m = LoraModule("fc", "linear", A=rng.standard_normal((3, 48)).astype(np.float16),
                   B=rng.standard_normal((64, 3)).astype(np.float16), alpha=3.0)
    with pytest.raises(SvdkitError, match="overflows F16"):
        resize(Adapter({"fc": m}), RankRule(rank=2), split="A", alpha=1e-9)
    # and so does saving with a cast; bf16's range holds the same factors
    big = LoraModule("fc", "linear", A=m.A, B=m.B.astype(np.float32) * 1e5, alpha=3.0)
    with pytest.raises(SvdkitError, match="overflows F16"):
        Adapter({"fc": big}).save(d / "ad", dtype=np.float16)
    assert not (d / "ad").exists()
    ok = extract(base, tuned, RankRule(rank=3), split="B", alpha=1e-7, dtype=ml_dtypes.bfloat16)
    assert ok.report.modules[0].relative_error < 0.01


# ------------------------------------------------------------------ an adapter is not a model


def test_an_adapter_directory_is_not_read_as_a_model_checkpoint(pair, run):
    d, base, tuned = pair
    extract(base, tuned, RankRule(rank=3)).adapter.save(d / "ad")
    with pytest.raises(FileFormatError, match="is a LoRA adapter"):
        pissa(d / "ad", d / "p", d / "pr", RankRule(rank=1))
    assert not (d / "p").exists() and not (d / "pr").exists()
    with pytest.raises(FileFormatError, match=r"tuned checkpoint .* is a LoRA adapter"):
        extract(base, d / "ad", RankRule(rank=2))
    with pytest.raises(FileFormatError, match=r"base .* is a LoRA adapter"):
        merge(d / "ad" / "adapter_model.safetensors", d / "ad", d / "m")
    code, _, err = run("lora", "pissa", d / "ad", "-o", d / "p", "--residual", d / "pr",
                       "--rank", "1")
    assert "is a LoRA adapter" in cli_support.error_line(code, err)
    code, _, err = run("lora", "analyse", base, d / "ad")
    assert "is a LoRA adapter" in cli_support.error_line(code, err)
    # a model directory is still a model, whatever else it holds
    assert Checkpoint(d / "ad").is_adapter and not Checkpoint(base).is_adapter


# ------------------------------------------------------------------ analyse


def test_analyse_leaves_out_and_names_tensors_of_other_shapes(pair, run):
    d, base, tuned = pair
    ck = Checkpoint(tuned)
    tensors = {n: ck.read(n, None) for n in ck.names}
    tensors["norm.weight"] = np.ones(50, np.float32)  # another shape
    save_safetensors(d / "resized.safetensors", tensors)
    an = analyse_pair(base, d / "resized.safetensors")
    assert [m.name for m in an.modules] == ["fc"] and an.mismatched == ["norm.weight"]
    with pytest.raises(SvdkitError, match=r"norm\.weight"):
        analyse_pair(base, d / "resized.safetensors", on_mismatch="error")
    code, out, err = run("lora", "analyse", base, d / "resized.safetensors")
    assert code == 0, err
    assert "of different shapes left out: norm.weight" in " ".join(out.split())
    assert "--on-mismatch" not in err


def test_energy_curves_of_long_spectra_are_drawn_on_a_log_rank_axis():
    """On MiniLM the energy of every module is in its first 8 ranks of 384: on a linear
    axis the curves were one vertical line at the left edge."""
    import matplotlib.pyplot as plt

    from svdkit.lora.analyse import Analysis, ModuleSpectrum

    s = np.concatenate([0.7 ** np.arange(8), np.full(376, 1e-3)])
    long = Analysis([ModuleSpectrum("q", (384, 384), s, float(np.sum(s**2)), True)])
    short = Analysis([ModuleSpectrum("q", (8, 8), s[:8], float(np.sum(s[:8] ** 2)), True)])
    for analysis, scale in ((long, "log"), (short, "linear")):
        fig = analysis.draw()
        try:
            assert fig.axes[1].get_xscale() == scale
        finally:
            plt.close(fig)


# ------------------------------------------------------------------ the CLI's own checks


def test_cli_refuses_an_adapter_output_before_any_work(pair, run, monkeypatch):
    # the commands' early check looked for adapter_config.json only: a foreign adapter
    # directory was refused at the save, after every module had been factored, and
    # `-o adapter.safetensors` wrote a directory of that name
    import sys

    extract_module = sys.modules["svdkit.lora.extract"]  # (svdkit.lora.extract: the function)

    def no_work(*args, **kwargs):
        raise AssertionError("the checkpoints were read before the output was checked")

    monkeypatch.setattr(extract_module, "extract", no_work)
    d, base, tuned = pair
    _peft_like_adapter(d / "trained")
    (d / "trained" / "README.md").unlink()  # PEFT's own two files: refused for the mark
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "trained", "--rank", "2")
    assert "svdkit mark" in cli_support.error_line(code, err)
    for name in ("adapter.safetensors", "adapter.bin", "adapter_config.json"):
        code, _, err = run("lora", "extract", base, tuned, "-o", d / name, "--rank", "2")
        msg = cli_support.error_line(code, err)
        assert "a PEFT adapter is a directory" in msg and name in msg
        assert not (d / name).exists()
    from svdkit.lora.adapter import check_adapter_output

    with pytest.raises(FileFormatError, match="is a directory"):
        check_adapter_output(d / "x.safetensors")  # what Adapter.save checks first


def test_analyse_of_an_adapter_refuses_max_rank(pair, run):
    d, base, tuned = pair
    code, _, err = run("lora", "extract", base, tuned, "-o", d / "ad", "--rank", "3")
    assert code == 0, err
    code, _, err = run("lora", "analyse", d / "ad", "--max-rank", "2")
    assert "--max-rank" in cli_support.error_line(code, err)
    code, _, err = run("lora", "analyse", d / "ad")
    assert code == 0, err


def test_alpha_help_says_the_rslora_default(run):
    code, out, _ = run("lora", "extract", "--help")
    assert code == 0
    assert "√r with rsLoRA" in " ".join(out.replace("│", " ").split())
