"""Review leftovers (4): figure notes in the report's language, PostScript figures without
matplotlib's transparency warning, LoRA help at 80 columns, Sylvester's criterion at every
scale."""

from __future__ import annotations

import itertools
import logging
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import svdkit
from svdkit.plot import FigureRangeError, FigureSkippedWarning, save_figures, svd_geometry
from tests.cli_support import run_svdkit

# ----------------------------------------------------------------------------- A. notes


@pytest.mark.parametrize(
    ("matrix", "english", "french"),
    [
        ("[[1e301, 1], [1, 2]]", "entries are at most 1e300", "au plus 1e300"),
        ("[[1e-290, 0], [0, 2e-290]]", "at least 1e−280", "au moins 1e−280"),
    ],
)
def test_figure_range_notes_are_in_the_report_language_without_a_prefix(
    capsys, monkeypatch, tmp_path, matrix, english, french
):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", matrix, "--no-steps", "--lang", "fr", "--figures",
                       tmp_path / "fr", "-o", tmp_path / "r.md")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "save_figures" not in flat
    assert "note: svd_geometry omise : svd_geometry dessine" in flat
    assert "note: quadratic_form omise : quadratic_form dessine" in flat
    assert french in flat and english not in flat and "skipped" not in flat
    code, _, err = run("explain", matrix, "--no-steps", "--figures", tmp_path / "en",
                       "-o", tmp_path / "r.md")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "save_figures" not in flat
    assert "note: svd_geometry skipped: svd_geometry draws" in flat and english in flat


def test_figure_range_error_carries_a_key_rendered_in_each_language():
    with pytest.raises(FigureRangeError) as info:
        svd_geometry([[1e301, 1], [1, 2]])
    err = info.value
    assert str(err) == err.text("en") and "1e+301" in str(err)
    assert "1e+301" in err.text("fr") and "dessine" in err.text("fr")
    assert err.key.startswith("plot.range.") and err.values["what"] == "svd_geometry"


def test_save_figures_warns_in_its_language(tmp_path):
    with pytest.warns(FigureSkippedWarning) as record:
        save_figures([[1e305, 0], [0, 1]], tmp_path, lang="fr", formats="svg")
    texts = [str(w.message) for w in record]
    assert texts and all("omise" in x and "save_figures" not in x for x in texts)


def test_the_spectrum_overflow_note_is_translated(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "1e308 1e308; 1e308 1e308", "--no-steps", "--lang", "fr",
                       "--figures", tmp_path / "f", "-o", tmp_path / "r.md")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "note: spectrum omise : spectrum dessine" in flat and "largest float" not in flat


# ----------------------------------------------------------------------------- B. PostScript


@pytest.mark.parametrize("fmt", ["eps", "ps"])
def test_lora_figure_in_postscript_draws_no_transparency(tmp_path, fmt, caplog):
    from svdkit.lora import analyse_adapter
    from svdkit.lora.adapter import Adapter, LoraModule

    rng = np.random.default_rng(0)
    modules = {}
    for name in ("q", "v"):
        A = rng.standard_normal((4, 8))
        B = rng.standard_normal((6, 4))
        modules[name] = LoraModule(name, "linear", A=A, B=B, alpha=4.0)
    analysis = analyse_adapter(Adapter(modules))
    fig = analysis.draw()
    assert any(getattr(a, "get_alpha", lambda: None)() not in (None, 1)
               for ax in fig.axes for a in ax.get_lines()), "the screen figure keeps alpha"
    with caplog.at_level(logging.WARNING):
        path = analysis.figure(tmp_path / f"x.{fmt}")
    assert path.stat().st_size > 0
    assert not [r for r in caplog.records if "transparency" in r.getMessage()]


# ----------------------------------------------------------------------------- C. help


@pytest.mark.parametrize("command", ["merge", "pissa", "resize", "extract"])
def test_lora_help_wraps_cleanly_at_80_columns(capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    run = run_svdkit(capsys, monkeypatch)
    code, out, _ = run("lora", command, "--help")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    # the description: a line of one word followed by more of its paragraph is a sentence
    # broken by hand in the source and wrapped again by rich ("is" / "refused," / "naming")
    prose = [line.strip() for line in out.splitlines() if not re.match(r"\s*[│╭╰]", line)]
    for line, after in itertools.pairwise(prose):
        assert not (line and " " not in line and after), (line, after)
    if command in ("merge", "pissa", "extract"):
        assert "--fan-in-fan-out" in out and "--no-fan-in-fan-out" in out
    assert not re.search(r"…\s*│", out)  # no cell cut short


# ----------------------------------------------------------------------------- D. Sylvester


def _sylvester(A: np.ndarray):
    s = svdkit.definiteness(A).sylvester
    signs = None if s.principal_minors is None else [m.sign for m in s.principal_minors]
    return s.kind, signs


def test_sylvester_decides_the_subnormal_matrix_of_the_cholesky_review():
    K = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 2]], dtype=float)
    base = _sylvester(K)
    assert base[0] == "indefinite"
    for k in (-1074, -1073, -1060, -1040, -1022, -1000, -500, 500, 1000, 1020):
        assert _sylvester(np.ldexp(K, k)) == base, k


@st.composite
def _symmetric(draw):
    n = draw(st.integers(1, 4))
    zeros = draw(st.integers(0, n - 1))  # zero rows and columns: semidefinite, singular
    entries = draw(st.lists(st.integers(-3, 3), min_size=n * n, max_size=n * n))
    K = np.array(entries, dtype=float).reshape(n, n)
    K[:zeros, :] = 0
    K[:, :zeros] = 0
    return np.triu(K) + np.triu(K, 1).T


#: deep among the subnormals (where the minors and the threshold underflow), and anywhere
_SCALES = st.one_of(st.sampled_from([-1074, -1073, -1072]), st.integers(-1074, 1020))


@settings(max_examples=200, deadline=None)
@given(_symmetric(), _SCALES)
@example(np.array([[0.0, 0, 0], [0, 1, 2], [0, 2, 3]]), -1074)
@example(np.array([[0.0, 0, 0], [0, 0, -1], [0, -1, 3]]), -1074)
def test_sylvester_verdict_is_the_same_at_every_scale(K, k):
    A = np.ldexp(K, k)
    assert np.array_equal(np.ldexp(A, -k), K)  # exact (|entries| <= 3 fit 2 bits)
    kind, signs = _sylvester(A)
    assert (kind, signs) == _sylvester(K)
    d = svdkit.definiteness(A)
    assert kind in (d.kind, None)
