"""Edge cases of ``svdkit explain``: tiny and huge entries, irrational exact entries.

* entries far below 1 (``1e-15``, ``1e-200``) print as themselves, not as 0, so the
  report agrees with its own rank;
* entries far above 1 (``1e200``) give finite norms, a determinant beyond float64
  written as ``1e+400``, finite energy fractions, and never hand NaN to the printer;
* the exact engine handles characteristic polynomials with irrational
  coefficients (``sqrt(2)`` entries), and an unexpected failure of the exact part
  is reported in its section instead of aborting the report.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import sympy as sp
from typer.testing import CliRunner

import svdkit.exact as ex
from svdkit.cli.main import app
from svdkit.explain import explain, formatting, render
from svdkit.explain.formatting import NumberFormat

FORMATS = ("terminal", "markdown", "latex", "html", "json")
runner = CliRunner()


def _markdown_row(text: str, label: str) -> str:
    """The value cell of the Markdown table row whose label starts with ``label``."""
    for line in text.splitlines():
        if line.startswith(f"| {label}"):
            return line.split("|")[2].strip()
    raise AssertionError(f"no row {label!r}")


def _no_svdkit_runtime_warning(record) -> None:
    ours = [w for w in record if issubclass(w.category, RuntimeWarning) and "svdkit" in w.filename]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]


# ---------------------------------------------------------------- the number format


def test_number_format_prints_tiny_values_relative_to_their_size():
    f = NumberFormat()
    assert f.real(1e-15) == "1e−15"
    assert f.real(2e-15) == "2e−15"
    assert f.real(1e-200) == "1e−200"
    assert f.real(-3e-300) == "−3e−300"
    assert f.real(0.0) == "0"
    assert f.real(-2.0000000000000004) == "−2"
    assert f.real(1 - 1e-16) == "1"


def test_number_format_zero_threshold_still_applies():
    f = NumberFormat(zero=1e-15)
    assert f.real(3e-17) == "0"
    assert f.real(2e-15) == "2e−15"


def test_number_format_huge_and_nan_values_do_not_crash():
    f = NumberFormat()
    assert f.real(1e200) == "1e+200"
    assert f.real(-1e200) == "−1e+200"
    assert f.real(float("inf")) == "∞"
    assert f.real(float("nan")) == "NaN"
    assert f.number(complex(1, float("nan"))).endswith("NaNi")


def test_number_format_counts_print_exactly_whatever_the_threshold():
    assert NumberFormat(zero=1e184).number(2) == "2"
    assert NumberFormat(zero=1e184).number(np.int64(3)) == "3"


def test_scientific_text_beyond_float64():
    assert formatting.scientific(1, 400 * math.log(10)) == "1e+400"
    assert formatting.scientific(-1, -400 * math.log(10)) == "−1e−400"
    assert formatting.scientific(1, math.log(9.9999999) + 10 * math.log(10)) == "1e+11"


# ---------------------------------------------------------------- tiny entries


@pytest.mark.parametrize("fmt", FORMATS)
def test_tiny_entries_render_in_every_format(fmt):
    text = render(explain("[[1e-15, 0], [0, 2e-15]]"), fmt)
    assert text


def test_tiny_entries_are_not_shown_as_zero():
    report = explain("[[1e-15, 0], [0, 2e-15]]")
    md = render(report, "markdown")
    assert _markdown_row(md, "rank") == "2"
    assert _markdown_row(md, "spectral norm") == "2e−15"
    assert _markdown_row(md, "Frobenius norm") == "2.23607e−15"
    assert _markdown_row(md, "trace") == "3e−15"
    assert _markdown_row(md, "determinant det A") == "2e−30"
    assert r"1 \cdot 10^{-15}" in md  # A itself
    terminal = render(report, "terminal")
    assert "2e−15" in terminal and "2e−30" in terminal
    assert "determinant det A</th><td>2e−30</td>" in render(report, "html")
    assert r"determinant $\det  A$ & $2 \cdot 10^{-30}$" in render(report, "latex")
    data = json.loads(render(report, "json"))
    measures = next(s for s in data["sections"] if s["id"] == "measures")["facts"]
    assert measures["determinant"] == pytest.approx(2e-30)


def test_entries_of_1e_minus_200_keep_a_non_zero_determinant():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        report = explain("[[1e-200, 0], [0, 1e-200]]")
        md = render(report, "markdown")
    _no_svdkit_runtime_warning(record)
    assert _markdown_row(md, "rank") == "2"
    assert _markdown_row(md, "spectral norm") == "1e−200"
    assert _markdown_row(md, "Frobenius norm") == "1.41421e−200"
    assert _markdown_row(md, "determinant det A") == "1e−400"
    for fmt in FORMATS:
        assert render(report, fmt)


# ---------------------------------------------------------------- huge entries


@pytest.mark.parametrize("fmt", FORMATS)
def test_huge_entries_render_in_every_format(fmt):
    result = runner.invoke(app, ["explain", "[[1e200, 0], [0, 1e200]]", "-f", fmt])
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output and "\"nan\"" not in result.output


def test_huge_entries_have_finite_norms_and_energy():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        report = explain("[[1e200, 0], [0, 1e200]]")
    _no_svdkit_runtime_warning(record)
    measures = report.section("measures")
    assert measures.fact("norm_fro") == pytest.approx(math.sqrt(2) * 1e200)
    assert measures.fact("determinant") == "1e+400"
    assert np.allclose(report.section("svd").fact("energy"), [0.5, 1.0])
    data = json.loads(render(report, "json"))
    facts = next(s for s in data["sections"] if s["id"] == "measures")["facts"]
    assert facts["norm_fro"] == pytest.approx(1.414213562373095e200)
    assert facts["determinant"] == "1e+400"


def test_huge_entries_keep_rank_and_dimensionless_facts_visible():
    md = render(explain("[[-1e200, 0], [0, 1e200]]"), "markdown")
    assert _markdown_row(md, "rank") == "2"
    assert _markdown_row(md, "condition number") == "1"
    assert _markdown_row(md, "determinant det A") == "−1e+400"


# ---------------------------------------------------------------- irrational exact entries


def test_exact_eigh_of_sqrt2():
    r = ex.eigh("[[sqrt(2)]]")
    assert list(r.values) == [sp.sqrt(2)]


def test_exact_spectral_results_with_sqrt_entries():
    M = ex.as_exact("[[sqrt(2), 1], [1, sqrt(3)]]")
    e = ex.eigh(M)
    for j, lam in enumerate(e.values):
        v = e.vectors[:, j]
        assert sp.simplify(M * v - lam * v).is_zero_matrix
    s = ex.svd(M, full=True)
    assert sp.simplify(s.U * sp.diag(*s.s) * s.Vh - M).is_zero_matrix
    assert str(ex.definiteness(M).kind) == "positive definite"
    largest = max(np.linalg.svd(np.array([[2**0.5, 1], [1, 3**0.5]]), compute_uv=False))
    assert float(sp.N(s.s[0])) == pytest.approx(largest)
    norm = ex.norm(M, 2)
    assert float(sp.N(getattr(norm, "value", norm))) == pytest.approx(largest)


def test_cli_explains_a_matrix_with_sqrt_entries():
    result = runner.invoke(app, ["explain", "[[sqrt(2), 1], [1, sqrt(3)]]", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    svd = next(s for s in data["sections"] if s["id"] == "svd")["facts"]
    assert "singular_values_exact" in svd


def test_unexpected_exact_failure_is_reported_not_raised(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ex, "det", broken)
    with pytest.warns(RuntimeWarning, match="svdkit.exact.det: RuntimeError: boom"):
        report = explain("[[1, 2], [3, 4]]")
    measures = report.section("measures")
    assert "RuntimeError: boom" in measures.fact("exact_error")
    assert measures.fact("rank_exact") == "2"  # the other exact results are still there
    assert "inverse_exact" in [f.key for f in report.section("inverse").facts]
    for fmt in FORMATS:
        assert "boom" in render(report, fmt)
