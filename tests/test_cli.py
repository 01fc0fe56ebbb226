"""The command line: default run, formats, files, standard input, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from svdkit.cli.main import app

runner = CliRunner()
SVDKIT = Path(sys.executable).parent / "svdkit"


def test_default_matrix_is_the_notes_example():
    result = runner.invoke(app, ["explain"])
    assert result.exit_code == 0, result.output
    assert "2×3" in result.output
    assert "Singular value decomposition" in result.output
    assert "9.50803" in result.output  # σ₁ = √90.40267253


def test_json_format_has_the_notes_singular_values():
    result = runner.invoke(app, ["explain", "1 2 3; 4 5 6", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    svd = next(s for s in data["sections"] if s["id"] == "svd")["facts"]
    np.testing.assert_allclose(np.square(svd["singular_values"]), [90.40267253, 0.59732747])


def test_markdown_format_and_output_file(tmp_path):
    out = tmp_path / "report.md"
    result = runner.invoke(app, ["explain", "[[2, 0], [0, 3]]", "-f", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# svdkit explain")
    assert r"\begin{bmatrix}" in text
    assert not list(tmp_path.glob(".*.tmp"))


def test_file_and_stdin_inputs(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.array([[1.0, 2.0], [3.0, 4.0]]))
    result = runner.invoke(app, ["explain", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sections"][0]["facts"]["shape"] == [2, 2]
    result = runner.invoke(app, ["explain", "-", "-f", "json"], input="1 0\n0 1\n")
    assert result.exit_code == 0, result.output
    rank = next(s for s in json.loads(result.output)["sections"] if s["id"] == "measures")
    assert rank["facts"]["rank"] == 2


def test_bad_input_is_one_clear_line_and_exit_code_2():
    proc = subprocess.run(
        [str(SVDKIT), "explain", "1 2; 3"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "error" in proc.stderr and "row 2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_console_script_runs_the_default_report():
    proc = subprocess.run([str(SVDKIT), "explain"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Singular value decomposition" in proc.stdout


def test_python_dash_m_and_version():
    proc = subprocess.run(
        [sys.executable, "-m", "svdkit", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.startswith("svdkit ")


def test_figures_lang_and_new_formats(tmp_path):
    figs = tmp_path / "figs"
    result = runner.invoke(
        app, ["explain", "[[2, 1], [1, 3]]", "--lang", "fr", "--figures", str(figs)]
    )
    assert result.exit_code == 0, result.output
    assert "Décomposition en valeurs singulières" in result.output
    names = sorted(p.name for p in figs.iterdir())
    assert "svd_geometry.png" in names and "quadratic_form.svg" in names
    for fmt, marker in (("latex", r"\documentclass"), ("html", "<math")):
        result = runner.invoke(app, ["explain", "[[1, 2], [3, 4]]", "-f", fmt])
        assert result.exit_code == 0, result.output
        assert marker in result.output
