"""``svdkit lora`` errors name the options as typed (``--max-rank``, ``--on-mismatch
skip``), one wording for each fault whichever subcommand; the Python API keeps
Python's names (:mod:`svdkit._naming`). The table is the hunters' map of the lora
messages that leaked Python names (``max_rank must be …``, ``backend='torch'``).

Also: ``analyse --json /dev/stdout`` is ``--json -`` (the JSON alone on standard
output), ``write_like`` replaces its own output, and ``merged_tensor``'s overflow
check (a merged F16 weight beyond 65504 refused) without a float64 copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import assert_names_the_option, case_ids, last_error_line, run_svdkit

from svdkit.errors import SvdkitError

EXTRACT = ["lora", "extract", "base.safetensors", "tuned.safetensors", "-o", "out"]
RESIZE = ["lora", "resize", "ad", "-o", "out"]
PISSA = ["lora", "pissa", "base.safetensors", "-o", "out", "--residual", "res"]
PAIR = ["lora", "analyse", "base.safetensors", "tuned.safetensors"]
ADAPTER = ["lora", "analyse", "ad"]

#: (argv, the option the error must name): every lora case of the map.
CASES = [
    *[([*cmd, "--rank", bad], "--rank") for cmd in (EXTRACT, RESIZE, PISSA) for bad in ("0", "-1")],
    *[([*cmd, "--energy", bad], "--energy") for cmd in (EXTRACT, RESIZE, PISSA)
      for bad in ("0", "nan", "1.5", "inf")],
    *[([*cmd, "--error", bad], "--error") for cmd in (EXTRACT, RESIZE, PISSA)
      for bad in ("-1", "nan", "2")],
    *[([*cmd, "--energy", "0.9", "--max-rank", bad], "--max-rank")
      for cmd in (EXTRACT, RESIZE, PISSA) for bad in ("0", "-2")],
    *[([*cmd, "--rank", "2", "--max-rank", "1"], "--max-rank") for cmd in (EXTRACT, RESIZE, PISSA)],
    *[([*cmd, "--rank", "2", "--energy", "0.9"], "--energy") for cmd in (EXTRACT, RESIZE, PISSA)],
    *[([*cmd, "--rank", "2", "--alpha", bad], "--alpha") for cmd in (EXTRACT, RESIZE)
      for bad in ("inf", "nan", "-1", "0")],
    *[([*cmd, "--rank", "2", "--split", "C"], "--split") for cmd in (EXTRACT, RESIZE)],
    ([*EXTRACT, "--rank", "2", "--embeddings", "bogus"], "--embeddings"),
    ([*EXTRACT, "--rank", "2", "--extras", "bogus"], "--extras"),
    ([*EXTRACT, "--rank", "2", "--on-mismatch", "bogus"], "--on-mismatch"),
    ([*EXTRACT, "--rank", "2", "--backend", "bogus"], "--backend"),
    ([*EXTRACT, "--rank", "2", "--tol", "0"], "--tol"),
    ([*EXTRACT, "--rank", "2", "--tol", "nan"], "--tol"),
    ([*PISSA, "--rank", "2", "--tol", "5"], "--tol"),
    (["lora", "extract", "base.safetensors", "other.safetensors", "-o", "out", "--rank", "2"],
     "--on-mismatch skip"),
    ([*PAIR, "--energy", "0"], "--energy"),
    ([*PAIR, "--energy", "nan"], "--energy"),
    ([*ADAPTER, "--energy", "1.5"], "--energy"),
    ([*PAIR, "--max-rank", "0"], "--max-rank"),
    ([*PAIR, "--tol", "nan"], "--tol"),
    ([*PAIR, "--on-mismatch", "bogus"], "--on-mismatch"),
    (["lora", "analyse", "base.safetensors", "other.safetensors", "--on-mismatch", "error"],
     "--on-mismatch skip"),
]



def _checkpoints(where: Path) -> None:
    """base / tuned (a rank-2 change of two weights) / other (one more tensor) and a
    rank-4 adapter of base → tuned."""
    from safetensors.numpy import save_file

    from svdkit.lora import RankRule, extract

    rng = np.random.default_rng(0)
    base = {f"l{i}.weight": rng.standard_normal((12, 10)).astype(np.float32) for i in range(2)}
    tuned = {k: v + rng.standard_normal((12, 2)) @ rng.standard_normal((2, 10)) * 0.1
             for k, v in base.items()}
    save_file(base, str(where / "base.safetensors"))
    save_file({k: v.astype(np.float32) for k, v in tuned.items()},
              str(where / "tuned.safetensors"))
    other = {**tuned, "head.weight": np.ones((3, 10), np.float32)}
    save_file({k: v.astype(np.float32) for k, v in other.items()},
              str(where / "other.safetensors"))
    extract(where / "base.safetensors", where / "tuned.safetensors",
            RankRule(rank=4)).adapter.save(where / "ad")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("loraflags")
    _checkpoints(where)
    return where


@pytest.mark.parametrize(("argv", "option"), CASES, ids=case_ids(CASES))
def test_lora_errors_name_the_options_as_typed(argv, option, workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*argv)
    assert_names_the_option(last_error_line(code, err), option)
    assert not (workdir / "out").exists() and not (workdir / "res").exists()


WORDING = [
    # one wording for each fault, whichever subcommand (analyse said "--energy must be
    # in (0, 1] (a fraction of ‖ΔW‖_F²), got 1.5", extract "energy must be a number …")
    ([*EXTRACT, "--energy", "1.5"], "--energy must be a number in (0, 1]; got 1.5"),
    ([*PAIR, "--energy", "1.5"], "--energy must be a number in (0, 1]; got 1.5"),
    ([*ADAPTER, "--energy", "1.5"], "--energy must be a number in (0, 1]; got 1.5"),
    ([*PISSA, "--energy", "1.5"], "--energy must be a number in (0, 1]; got 1.5"),
    ([*EXTRACT, "--energy", "0.9", "--max-rank", "0"], "--max-rank must be an integer ≥ 1; got 0"),
    ([*PAIR, "--max-rank", "0"], "--max-rank must be an integer ≥ 1; got 0"),
    ([*RESIZE, "--rank", "0"], "--rank must be an integer ≥ 1; got 0"),
    ([*RESIZE, "--error", "1"], "--error must be a number in [0, 1); got 1"),
    # --alpha: one check (the CLI's let inf through, the library's said "alpha (lora_alpha)")
    ([*EXTRACT, "--rank", "2", "--alpha", "inf"], "--alpha must be a positive finite number; "
     "got inf"),
    ([*RESIZE, "--rank", "2", "--alpha", "-1"], "--alpha must be a positive finite number; "
     "got -1"),
    ([*EXTRACT, "--rank", "2", "--max-rank", "1"],
     "--max-rank caps the rank that --energy or --error finds; with a fixed rank give --rank "
     "alone (got --rank 2, --max-rank 1)"),
    ([*PISSA], "give exactly one of --rank, --energy, --error"),
    ([*EXTRACT, "--rank", "2", "--on-mismatch", "x"], "--on-mismatch must be 'error' or 'skip'; "
     "got x"),
    ([*EXTRACT, "--rank", "2", "--backend", "bogus"],
     "--backend must be 'numpy', 'torch' or 'auto'; got bogus"),
    ([*EXTRACT, "--rank", "2", "--tol", "0"], "--tol must be in [1e-14, 1); got 0"),
    ([*PAIR, "--tol", "nan"], "--tol must be a finite number; got nan"),
    ([*RESIZE, "--rank", "2", "--split", "C"], "--split must be one of sqrt, B, A; got C"),
    (["lora", "extract", "base.safetensors", "other.safetensors", "-o", "out", "--rank", "2"],
     "pass --on-mismatch skip to leave them out"),
]


@pytest.mark.parametrize(("argv", "says"), WORDING, ids=case_ids(WORDING))
def test_lora_cli_wording(argv, says, workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*argv)
    assert says in last_error_line(code, err)


@pytest.mark.parametrize("command", [EXTRACT, PISSA], ids=["extract", "pissa"])
def test_backend_torch_without_cuda_names_the_option(command, workdir, capsys, monkeypatch):
    import svdkit.lora.torch_backend as tb

    monkeypatch.setattr(tb, "cuda_available", lambda: False)
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*command, "--rank", "2", "--backend", "torch")
    line = last_error_line(code, err)
    assert "--backend torch needs torch" in line and "=" not in line, line
    assert not (workdir / "out").exists() and not (workdir / "res").exists()


def test_pissa_backend_is_checked_before_any_work(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, _, err = run_svdkit(capsys, monkeypatch)(*PISSA, "--rank", "2", "--backend", "gpu")
    line = last_error_line(code, err)
    assert line.endswith("--backend must be 'numpy', 'torch' or 'auto'; got gpu"), line
    assert not (workdir / "out").exists() and not (workdir / "res").exists()


# ------------------------------------------------------------------ the Python API


def test_python_api_keeps_python_names(workdir):
    from svdkit.lora import RankRule, extract, resize
    from svdkit.lora.adapter import Adapter, check_alpha
    from svdkit.lora.analyse import analyse_pair
    from svdkit.lora.factor import check_tol

    with pytest.raises(SvdkitError, match=r"^max_rank caps the rank that energy or error finds; "
                       r"with a fixed rank give rank alone \(got rank=2, max_rank=1\)$"):
        RankRule(rank=2, max_rank=1)
    with pytest.raises(SvdkitError, match=r"^give exactly one of rank, energy, error$"):
        RankRule()
    with pytest.raises(SvdkitError, match=r"^energy must be a number in \(0, 1\]; got 1\.5$"):
        RankRule(energy=1.5)
    with pytest.raises(SvdkitError, match=r"^alpha \(lora_alpha\) must be a positive finite "
                       r"number; got inf$") as info:
        check_alpha(float("inf"))
    assert info.value.param == "alpha"
    with pytest.raises(SvdkitError, match=r"^alpha \(lora_alpha\) must be a positive finite "
                       r"number; got 'x'$"):
        check_alpha("x")
    with pytest.raises(SvdkitError, match=r"^tol must be in \[1e-14, 1\); got 0$"):
        check_tol(0)
    with pytest.raises(SvdkitError, match=r"^split must be one of sqrt, B, A; got 'b'$"):
        resize(Adapter.load(workdir / "ad"), RankRule(rank=2), split="b")
    pair = (workdir / "base.safetensors", workdir / "tuned.safetensors")
    with pytest.raises(SvdkitError, match=r"^backend must be 'numpy', 'torch' or 'auto'; "
                       r"got 'bogus'$"):
        extract(*pair, RankRule(rank=2), backend="bogus")
    with pytest.raises(SvdkitError, match=r"^on_mismatch must be 'error' or 'skip'; got 'x'$"):
        analyse_pair(*pair, on_mismatch="x")
    with pytest.raises(SvdkitError, match="pass on_mismatch='skip' to leave them out"):
        extract(workdir / "base.safetensors", workdir / "other.safetensors", RankRule(rank=2))


# ------------------------------------------------------------------ analyse --json /dev/stdout


@pytest.mark.parametrize("where", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_analyse_json_to_standard_output_is_alone_there(where, workdir):
    """Any path that is the process's standard output: the JSON alone on it (``json.load``
    reads it), the table on standard error."""
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "svdkit", *PAIR, "--json", where],
        cwd=workdir, capture_output=True, text=True, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["module"] for r in rows} == {"l0", "l1"}
    assert "LoRA spectra" in done.stderr


def test_analyse_json_to_a_duplicate_of_standard_output(workdir):
    """``--json /dev/fd/3`` where 3 is a duplicate of 1: the same file as standard output."""
    code = (
        "import os, sys; os.dup2(1, 3); sys.argv = ['svdkit', *sys.argv[1:]]; "
        "from svdkit.cli.main import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *PAIR, "--json", "/dev/fd/3"],
        cwd=workdir, capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2


# ------------------------------------------------------------------ write_like replaces its own


@pytest.mark.parametrize("label", ["write", "merge", "my step"])
def test_write_like_replaces_its_own_output(label, tmp_path):
    """The public ``write_like`` (default label ``"write"``, marked ``"lora write"``)
    replaced its own output no more: the ownership check knew only merge/residual."""
    from safetensors.numpy import load_file, save_file

    from svdkit.lora.merge import write_like
    from svdkit.lora.safetensors_io import as_checkpoint

    save_file({"w.weight": np.ones((2, 2), np.float32)}, str(tmp_path / "base.safetensors"))
    ck = as_checkpoint(tmp_path / "base.safetensors", "base")
    for factor in (2.0, 3.0):
        for out in (tmp_path / "out.safetensors", tmp_path / "outdir"):
            kwargs = {} if label == "write" else {"label": label}
            write_like(ck, out, lambda n, f=factor: ck.read(n, np.float32) * f, **kwargs)
            got = load_file(str(out if out.suffix else out / "model.safetensors"))
            np.testing.assert_array_equal(got["w.weight"], np.full((2, 2), factor, np.float32))


def test_write_like_never_replaces_an_adapter(tmp_path, workdir):
    from safetensors.numpy import save_file

    from svdkit.errors import FileFormatError
    from svdkit.lora.merge import write_like
    from svdkit.lora.safetensors_io import as_checkpoint

    save_file({"w.weight": np.ones((2, 2), np.float32)}, str(tmp_path / "base.safetensors"))
    ck = as_checkpoint(tmp_path / "base.safetensors", "base")
    weights = workdir / "ad" / "adapter_model.safetensors"
    before = weights.read_bytes()
    with pytest.raises(FileFormatError, match="weights file of an svdkit LoRA adapter"):
        write_like(ck, weights, lambda n: ck.read(n, np.float32))
    # a label marking the output as an adapter's weights is refused
    with pytest.raises(SvdkitError, match="label must be a non-empty string other than"):
        write_like(ck, tmp_path / "x.safetensors", lambda n: ck.read(n, np.float32),
                   label="adapter")
    assert weights.read_bytes() == before and not (tmp_path / "x.safetensors").exists()


# ------------------------------------------------------------------ merged_tensor's overflow check


def _one_module(tmp_path: Path, W: np.ndarray, code_dtype, B: np.ndarray, A: np.ndarray):
    from safetensors.numpy import save_file

    from svdkit.lora.adapter import Adapter, LoraModule
    from svdkit.lora.safetensors_io import as_checkpoint

    save_file({"l.weight": W.astype(code_dtype)}, str(tmp_path / "b.safetensors"))
    ad = Adapter(base_model_name_or_path="x")
    ad.modules["l"] = LoraModule("l", "linear", A=A.astype(np.float32), B=B.astype(np.float32),
                                 alpha=A.shape[0])
    return as_checkpoint(tmp_path / "b.safetensors", "base"), ad


def test_merged_tensor_checks_overflow_without_a_float64_copy(tmp_path):
    """The check made a float64 copy of every merged weight (4096² F16: 192 → 304 MiB
    peak); now its peak is the float32 sum, the delta and the stored array."""
    import tracemalloc

    from svdkit.lora.merge import merged_tensor

    rng = np.random.default_rng(0)
    n, r = 1024, 8
    ck, ad = _one_module(tmp_path, rng.standard_normal((n, n)), np.float16,
                         rng.standard_normal((n, r)) * 0.01, rng.standard_normal((r, n)) * 0.01)
    expected = (ck.read("l.weight", np.float32) + ad.modules["l"].delta(dtype=np.float32))
    merged_tensor(ck, ad, "l.weight")  # (imports, caches)
    tracemalloc.start()
    try:
        out = merged_tensor(ck, ad, "l.weight")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, expected.astype(np.float16))
    assert peak < 3.5 * n * n * 4, peak / (n * n * 4)  # was 4.75 float32 copies


@pytest.mark.parametrize("code", ["F16", "BF16"])
def test_merged_tensor_overflow_is_refused_and_the_bound_is_exact(code, tmp_path):
    from svdkit.lora.merge import merged_tensor
    from svdkit.lora.safetensors_io import numpy_dtype

    dt = numpy_dtype(code)
    top = 65504.0 if code == "F16" else 3.3895313892515355e38
    W = np.zeros((2, 3))
    W[0, 0] = top
    # rank 1: delta = e₀ e₀ᵀ · d, a sum of exactly W[0, 0] + d in float32
    for d, refused in ((0.0, False), (-top, False), (top, True)):
        B = np.zeros((2, 1))
        B[0, 0] = d
        A = np.zeros((1, 3))
        A[0, 0] = 1.0
        ck, ad = _one_module(tmp_path, W, dt, B, A)
        if refused:
            with pytest.raises(SvdkitError, match=f"overflows {code}"):
                merged_tensor(ck, ad, "l.weight")
        else:
            out = merged_tensor(ck, ad, "l.weight")
            assert float(out[0, 0]) == top + d and np.all(np.isfinite(out.astype(np.float32)))


def test_merged_tensor_keeps_a_non_finite_base_entry_but_refuses_an_overflow(tmp_path):
    """A NaN the base holds is no overflow (merged as it is); an overflow elsewhere in the
    same weight is still refused (the check was skipped for the whole weight)."""
    from svdkit.lora.merge import merged_tensor

    W = np.ones((2, 2))
    W[1, 1] = np.nan
    B = np.array([[0.5], [0.0]])
    A = np.array([[1.0, 0.0]])
    ck, ad = _one_module(tmp_path, W, np.float16, B, A)
    out = merged_tensor(ck, ad, "l.weight").astype(np.float32)
    assert out[0, 0] == 1.5 and np.isnan(out[1, 1]) and out[0, 1] == 1.0
    ck, ad = _one_module(tmp_path, W, np.float16, B * 1e6, A)
    with pytest.raises(SvdkitError, match="overflows F16"):
        merged_tensor(ck, ad, "l.weight")


def test_extract_note_names_the_option_as_typed(tmp_path, capsys, monkeypatch):
    """The note on a table guessed by its name says ``--not-embedding NAME`` on the
    command line (``linear_modules=['NAME']`` in Python)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    W = rng.standard_normal((40, 8)).astype(np.float32)
    save_file({"tok_emb.weight": W}, str(tmp_path / "base.safetensors"))
    dW = np.outer(rng.standard_normal(40), rng.standard_normal(8)).astype(np.float32)
    save_file({"tok_emb.weight": W + 0.1 * dW}, str(tmp_path / "tuned.safetensors"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lora", "extract", "base.safetensors", "tuned.safetensors", "-o", "ad", "--rank", "1")
    assert code == 0, err
    note = " ".join(out.split())
    assert "say so with --not-embedding NAME, or PEFT" in note and "linear_modules" not in note
