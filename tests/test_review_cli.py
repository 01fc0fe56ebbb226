"""The ``svdkit`` command as a user meets it: clear errors for typical mistakes, never a
traceback; outputs that never replace an input; machine-readable lines never wrapped.

Every test runs the real entry point (:func:`svdkit.cli.main.main`, which turns an
``SvdkitError`` into ``error: …`` on standard error and exit code 2) in process.
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import scipy.sparse as sp
from cli_support import error_line as _error
from cli_support import run_svdkit

from svdkit.lora import Checkpoint, save_safetensors


@pytest.fixture
def svdkit(capsys, monkeypatch):
    """``svdkit(*args) -> (exit code, stdout, stderr)`` (:func:`cli_support.run_svdkit`)."""
    return run_svdkit(capsys, monkeypatch)


# ------------------------------------------------------------------ explain


def test_explain_missing_file_is_named_not_parsed(svdkit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    msg = _error(*svdkit("explain", "missing.npy")[::2])
    assert "no such file: 'missing.npy'" in msg and "unknown name" not in msg
    msg = _error(*svdkit("explain", "data.xyz")[::2])
    assert "'data.xyz' is neither an existing file nor a matrix" in msg
    # text that merely looks like a file name is still text
    code, out, err = svdkit("explain", "2.e5", "--no-steps", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["facts"]["matrix"] == [[200000.0]]


def test_explain_output_in_missing_folder_or_on_a_folder(svdkit, tmp_path):
    msg = _error(*svdkit("explain", "1 2; 3 4", "--no-steps", "-o", tmp_path / "no" / "r.md")
                 [::2])  # fmt: skip
    assert "does not exist" in msg
    (tmp_path / "adir").mkdir()
    msg = _error(*svdkit("explain", "1 2; 3 4", "--no-steps", "-o", tmp_path / "adir")[::2])
    assert "is a directory" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]  # no temporary file left


def test_explain_output_is_never_the_input(svdkit, tmp_path):
    (tmp_path / "a.json").write_text("[[1, 2], [3, 4]]")
    msg = _error(*svdkit("explain", tmp_path / "a.json", "--no-steps", "-f", "json",
                         "-o", tmp_path / "a.json")[::2])  # fmt: skip
    assert "is the input file" in msg
    assert (tmp_path / "a.json").read_text() == "[[1, 2], [3, 4]]"


def test_explain_figures_on_a_file(svdkit, tmp_path):
    (tmp_path / "f").write_text("keep")
    msg = _error(*svdkit("explain", "1 2; 3 4", "--no-steps", "--figures", tmp_path / "f")[::2])
    assert "--figures folder" in msg
    assert (tmp_path / "f").read_text() == "keep"


# ---------------------------------------------------------------------- svd


@pytest.fixture
def matrix(tmp_path):
    A = np.random.default_rng(0).standard_normal((60, 40))
    np.save(tmp_path / "A.npy", A)
    return tmp_path / "A.npy", A


def test_svd_bad_k_and_missing_input(svdkit, matrix, tmp_path):
    path, _ = matrix
    msg = _error(*svdkit("svd", path, "-k", "0", "-o", tmp_path / "o.npz")[::2])
    assert "-k must be at least 1" in msg
    assert not (tmp_path / "o.npz").exists()
    msg = _error(*svdkit("svd", tmp_path / "missing.npy", "-k", "3", "-o", tmp_path / "o.npz")
                 [::2])  # fmt: skip
    assert "no such file: " in msg


def test_svd_output_checked_before_the_work(svdkit, matrix, tmp_path):
    path, _ = matrix
    msg = _error(*svdkit("svd", path, "-k", "3", "-o", tmp_path / "no" / "o.npz")[::2])
    assert "does not exist" in msg
    (tmp_path / "d.npz").mkdir()
    msg = _error(*svdkit("svd", path, "-k", "3", "-o", tmp_path / "d.npz")[::2])
    assert "is a directory" in msg
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_svd_never_overwrites_the_input_or_a_foreign_npz(svdkit, tmp_path):
    S = sp.random(50, 40, density=0.1, random_state=0, format="csr")
    sp.save_npz(tmp_path / "S.npz", S)
    before = (tmp_path / "S.npz").read_bytes()
    msg = _error(*svdkit("svd", tmp_path / "S.npz", "-k", "3", "-o", tmp_path / "S.npz")[::2])
    assert "is the input file" in msg
    sp.save_npz(tmp_path / "T.npz", S)
    msg = _error(*svdkit("svd", tmp_path / "S.npz", "-k", "3", "-o", tmp_path / "T.npz")[::2])
    assert "is not an svdkit svd result" in msg
    assert (tmp_path / "S.npz").read_bytes() == before
    assert sp.load_npz(tmp_path / "T.npz").shape == (50, 40)
    # an earlier result is replaced
    for k in (2, 4):
        code, _, err = svdkit("svd", tmp_path / "S.npz", "-k", k, "-o", tmp_path / "r.npz")
        assert code == 0, err
        with np.load(tmp_path / "r.npz") as z:
            assert z["s"].shape == (k,)


def test_svd_round_trip_one_unwrapped_line_and_umask_permissions(svdkit, matrix, tmp_path):
    path, A = matrix
    deep = tmp_path / "a_rather_long_folder_name_for_the_results" / "and_one_more_level"
    deep.mkdir(parents=True)
    out = deep / "the_factors_of_the_matrix.npz"
    old = os.umask(0o022)
    try:
        code, stdout, err = svdkit("svd", path, "-k", "10", "-o", out)
    finally:
        os.umask(old)
    assert code == 0, err
    lines = stdout.splitlines()
    assert len(lines) == 1 and lines[0].endswith(str(out)), stdout  # progress: stderr only
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # not the temporary file's 0o600
    with np.load(out, allow_pickle=False) as z:
        U, s, Vh = z["U"], z["s"], z["Vh"]
    np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False)[:10], rtol=1e-10)
    assert np.linalg.norm(A @ Vh.T - U * s, axis=0).max() <= 1e-6 * s[0]
    assert np.linalg.norm(A.T @ U - Vh.T * s, axis=0).max() <= 1e-6 * s[0]


# ---------------------------------------------------------------------- lsi


@pytest.fixture
def corpus(tmp_path):
    from svdkit.lsi.demo_data import deerwester_titles

    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc_id, text in deerwester_titles():
        (folder / f"{doc_id}.txt").write_text(text)
    return folder


def test_lsi_bad_stop_words_is_an_error(svdkit, corpus, tmp_path):
    msg = _error(*svdkit("lsi", "index", corpus, "-o", tmp_path / "idx", "--stop-words",
                         "french")[::2])  # fmt: skip
    assert "--stop-words must be 'english' or 'none'" in msg
    msg = _error(*svdkit("lsi", "index", corpus, "-o", tmp_path / "idx", "-k", "0")[::2])
    assert "-k must be at least 1" in msg
    assert not (tmp_path / "idx").exists()


def test_lsi_index_summary_is_one_line(svdkit, corpus, tmp_path):
    out = tmp_path / "a_rather_long_folder_name_for_the_index_of_the_titles"
    code, stdout, err = svdkit("lsi", "index", corpus, "-o", out, "-k", "2")
    assert code == 0, err
    assert len(stdout.splitlines()) == 1 and stdout.rstrip().endswith(str(out)), stdout


# --------------------------------------------------------------------- lora


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((32, 24)).astype(np.float32)
    D = (rng.standard_normal((32, 2)) @ rng.standard_normal((2, 24))).astype(np.float32)
    ln = np.ones(24, np.float32)
    (tmp_path / "base").mkdir()
    (tmp_path / "tuned").mkdir()
    save_safetensors(tmp_path / "base" / "model.safetensors", {"fc.weight": W, "norm.weight": ln})
    save_safetensors(tmp_path / "tuned" / "model.safetensors",
                     {"fc.weight": W + D, "norm.weight": 2 * ln})  # fmt: skip
    return tmp_path, W


def test_lora_outputs_never_replace_an_input(svdkit, pair):
    d, W = pair
    base, tuned, ad = d / "base", d / "tuned", d / "ad"
    code, stdout, err = svdkit("lora", "extract", base, tuned, "-o", ad, "--rank", "2")
    assert code == 0, err
    assert "1 tensor changed" in stdout and "1 tensors" not in stdout
    before = (base / "model.safetensors").read_bytes()
    for out in (base, base / "model.safetensors", d):
        msg = _error(*svdkit("lora", "merge", base, ad, "-o", out)[::2])
        assert "the base" in msg
    assert (base / "model.safetensors").read_bytes() == before
    assert np.array_equal(Checkpoint(base).read("fc.weight"), W)
    msg = _error(*svdkit("lora", "resize", ad, "-o", ad, "--rank", "1")[::2])
    assert "would replace the adapter" in msg
    msg = _error(*svdkit("lora", "pissa", base, "-o", d / "p", "--residual", base,
                         "--rank", "1")[::2])  # fmt: skip
    assert "--residual" in msg and "the base" in msg
    msg = _error(*svdkit("lora", "pissa", base, "-o", d / "p", "--residual", d / "p",
                         "--rank", "1")[::2])  # fmt: skip
    assert "same path" in msg
    assert (base / "model.safetensors").read_bytes() == before


def test_lora_option_errors_before_any_work(svdkit, pair):
    d, _ = pair
    msg = _error(*svdkit("lora", "extract", d / "base", d / "tuned", "-o", d / "x", "--rank", "2",
                         "--split", "both")[::2])  # fmt: skip
    assert "--split must be one of sqrt, B, A" in msg
    msg = _error(*svdkit("lora", "extract", d / "base", d / "tuned", "-o", d / "x", "--rank", "2",
                         "--alpha", "-1")[::2])  # fmt: skip
    assert "--alpha must be a positive finite number" in msg
    msg = _error(*svdkit("lora", "analyse", d / "base")[::2])
    assert "BASE TUNED" in msg
    assert not (d / "x").exists()


# ------------------------------------------------------------ text is text, not Rich markup


def test_error_message_keeps_bracketed_input(svdkit):
    # Rich read "[nan,1]" as a style tag and dropped it: the caret pointed at "[]"
    code, _out, err = svdkit("explain", "[[nan,1]]")
    assert code == 2 and "Traceback" not in err
    assert "[[nan,1]]" in err, err
    line = next(x for x in err.splitlines() if x.strip() == "[[nan,1]]")
    caret = err.splitlines()[err.splitlines().index(line) + 1]
    assert caret.index("^") == line.index("nan"), err


def test_lsi_tables_show_brackets_in_documents_and_queries(svdkit, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    texts = {
        "a[1]": "graph theory of trees [b] and [bold]minors[/] in graphs",
        "b": "trees and graphs and paths",
        "c": "cooking pasta with tomato sauce",
    }
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text)
    idx = tmp_path / "idx"
    code, _out, err = svdkit("lsi", "index", folder, "-o", idx, "-k", "2")
    assert code == 0, err
    code, out, err = svdkit("lsi", "query", idx, "graph [b] trees", "-n", "3")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "graph [b] trees" in flat  # the title quotes the query
    assert "a[1]" in flat  # the id
    assert "[bold]minors[/]" in flat  # the snippet


def test_lora_extract_report_measures_the_factors_as_stored(svdkit, pair):
    # --dtype BF16: the report gave the float32 SVD's error (1e-7 on an exact rank-2
    # delta) while the stored bf16 factors were ~1e-3 off
    from svdkit.lora import Adapter

    d, W = pair
    out = d / "ad16"
    code, _out, err = svdkit("lora", "extract", d / "base", d / "tuned", "-o", out,
                             "--rank", "2", "--dtype", "BF16")  # fmt: skip
    assert code == 0, err
    report = json.loads((out / "svdkit_report.json").read_text())
    (module,) = report["modules"]
    ad = Adapter.load(out)
    (lm,) = ad.modules.values()
    delta = Checkpoint(d / "tuned").read("fc.weight").astype(np.float64) - W
    assert lm.A.dtype.name == "bfloat16"
    stored = lm.delta(ad.use_rslora)
    actual = np.linalg.norm(delta - stored) / np.linalg.norm(delta)
    assert actual > 1e-5  # bf16 rounding, far above the SVD's own error
    assert module["relative_error"] == pytest.approx(actual, rel=1e-3)


def test_explain_takes_a_matrix_that_starts_with_a_minus_sign():
    # `svdkit explain "-1 2; 3 4"` was "No such option: -1" (only `--` before it worked)
    import json as json_
    import subprocess
    import sys

    for args in (["-1 2; 3 4"], ["-f", "json", "-1 2; 3 4"], ["--tol", "1e-3", "-.5 1; 1 2"]):
        done = subprocess.run(
            [sys.executable, "-m", "svdkit", "explain", "--format", "json", *args[-1:]]
            if args[0] != "-f" else [sys.executable, "-m", "svdkit", "explain", *args],
            capture_output=True, text=True, check=False,
        )
        assert done.returncode == 0, done.stderr
        report = json_.loads(done.stdout)
        assert report["schema"] == "svdkit.explain" and report["sections"]
        assert "−1" in done.stdout or "-1" in done.stdout or "−0.5" in done.stdout
    from svdkit.cli.main import guard_negative_matrix

    # an option's own value is left alone, and so is a matrix after `--`
    assert guard_negative_matrix(["explain", "--tol", "-1"]) == ["explain", "--tol", "-1"]
    assert guard_negative_matrix(["explain", "--", "-1"]) == ["explain", "--", "-1"]
    assert guard_negative_matrix(["svd", "-1"]) == ["svd", "-1"]


@pytest.mark.parametrize(
    ("tol", "matrix", "rank", "invertible"),
    [("0.5", "[[1, 0], [0, 0.1]]", "1", "no"), ("1e-20", "[[1, 0], [0, 3e-16]]", "2", "yes")],
)
def test_explain_invertible_follows_the_rank_at_its_tol(
    capsys, monkeypatch, tol, matrix, rank, invertible
):
    # --tol decided the rank but not A⁻¹: "rank 1 … invertible yes, A⁻¹ = diag(1, 10)"
    # at --tol 0.5, and "rank 2 … invertible no" at 1e-20, in one report
    from tests.cli_support import run_svdkit

    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", "--no-steps", "--tol", tol, "--", matrix)
    assert code == 0, err
    lines = {ln.strip("│ ").split()[0]: ln.strip("│ ").split()[-1]
             for ln in out.splitlines() if ln.strip("│ ").split()[:1] in (["rank"],
                                                                      ["invertible"])}
    assert lines == {"rank": rank, "invertible": invertible}
