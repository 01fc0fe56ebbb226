"""Follow-ups of a review: figures at the float extremes, ``explain -o`` ownership,
LSI stop words named as such, TextOptions' analyzer checks spelled as typed."""

from __future__ import annotations

import io
import json
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit.plot import (
    FigureSkippedWarning,
    quadratic_form,
    save_figures,
    spectrum,
    svd_geometry,
)
from svdkit.plot._common import FigureRangeError, fmt_num, fmt_product

HUGE = [[1e308, 1e308], [1e308, -1e308]]  # σ₁ = σ₂ = √2·1e308, ‖A‖_F = 2e308 (overflows)


def _info(fig) -> str:
    return next(t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "svdkit:info")


def _energy(fig) -> np.ndarray:
    line = next(ln for ln in fig.axes[1].get_lines() if ln.get_gid() == "svdkit:energy")
    return np.asarray(line.get_ydata(), dtype=float)


def _draw_all(fig) -> None:
    for fmt in ("png", "svg", "pdf"):
        fig.savefig(io.BytesIO(), format=fmt)


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace("−", "-").replace(",", "."))


# 1. the spectrum of a matrix whose ‖A‖_F passes the largest float


@pytest.mark.parametrize(("lang", "shown"), [("en", "2.000e+308"), ("fr", "2,000e+308")])
def test_spectrum_writes_an_overflowing_frobenius_norm(lang, shown):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = spectrum(HUGE, lang)
        _draw_all(fig)
    assert f"= {shown}" in _info(fig)
    assert _energy(fig).tolist() == pytest.approx([0.5, 1.0], rel=1e-12)
    low, high = fig.axes[0].get_ylim()
    assert low == 0 and 1.4142135623730951e308 < high < np.inf


def test_spectrum_of_values_whose_energy_overflows():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = spectrum([1.5e308, 1.5e308])
        _draw_all(fig)
    # ‖A‖_F = 1.5e308·√2 = 2.1213…e308
    assert "= 2.121e+308" in _info(fig)


@pytest.mark.parametrize("value", [1.7e308, float(np.finfo(float).max)])
def test_spectrum_up_to_the_largest_float(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = spectrum([value])
        _draw_all(fig)
    assert fig.axes[0].get_ylim()[1] <= np.finfo(float).max


def test_truncated_spectrum_share_of_an_overflowing_norm():
    from svdkit.lowrank import truncated_svd

    A = np.array([[1e308, 1e308], [1e308, -1e308], [1e308, 0.0]])  # ‖A‖_F = √5·1e308
    r = truncated_svd(A, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = spectrum(r)
        _draw_all(fig)
    text = _info(fig)
    assert "= 2.236e+308" in text and "60%" in text
    assert _energy(fig)[0] == pytest.approx(0.6, rel=1e-12)  # σ₁² / ‖A‖_F² = 3/5


@pytest.mark.parametrize(
    "A", [[[1e-308, 1e-308], [1e-308, -1e-308]], [[5e-324, 0.0], [0.0, 1e-323]]]
)
def test_spectrum_of_a_tiny_matrix_is_drawn_on_a_log_axis(A):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = spectrum(A)
        _draw_all(fig)
    ax = fig.axes[0]
    s = np.linalg.svd(np.asarray(A), compute_uv=False)
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and low <= s.min() and s.max() < high  # bars in view
    fro = _decimal(_info(fig).split("= ")[1].split("\n")[0])
    exact = Decimal(float(np.sqrt(np.sum((np.asarray(A) / s.max()) ** 2)))) * Decimal(s.max())
    assert abs(fro - exact) <= Decimal("1e-3") * exact


@pytest.mark.parametrize("draw", [svd_geometry, quadratic_form])
def test_a_too_tiny_matrix_is_a_range_error_for_the_pictures(draw):
    with pytest.raises(FigureRangeError, match="at least 1e−280"):
        draw([[5e-324, 0.0], [0.0, 1e-323]])


@pytest.mark.parametrize(
    "A",
    [
        HUGE,
        [[1.7e308, 0.0], [0.0, 1e-308]],
        [[1e-308, 1e-308], [1e-308, -1e-308]],
        [[5e-324, 0.0], [0.0, 1e-323]],
        [[1e-308, 2e-308, 3e-308], [4e-308, 5e-308, 6e-308]],
        [[1e-300, 2e-300], [3e-300, 4e-300]],
    ],
)
def test_save_figures_at_the_float_extremes(tmp_path, A):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = save_figures(A, tmp_path / "f", formats=("png", "svg"))
    assert all(issubclass(w.category, FigureSkippedWarning) for w in caught), [
        str(w.message) for w in caught
    ]
    assert "spectrum.png" in [p.name for p in names]


def test_cli_explain_figures_of_an_overflowing_norm(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "[[1e308, 1e308],[1e308, -1e308]]", "--figures", tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "spectrum.png").stat().st_size > 0
    assert "svd_geometry" in err and not (tmp_path / "svd_geometry.png").exists()


def test_fmt_product_is_the_exact_product_rounded():
    rng = np.random.default_rng(5)
    for _ in range(200):
        a = float(np.ldexp(rng.uniform(-2, 2), int(rng.integers(500, 1023))))
        b = float(np.ldexp(rng.uniform(0.5, 2), int(rng.integers(-1070, 1023))))
        text = fmt_product(a, b, digits=6)
        exact = Fraction(a) * Fraction(b)
        with localcontext() as ctx:
            ctx.prec = 60
            got = _decimal(text)
            ref = Decimal(exact.numerator) / Decimal(exact.denominator)
            assert abs(got - ref) <= Decimal("5e-6") * abs(ref), (a, b, text)
    assert fmt_product(2.0**-1074, 0.5) == "2.47e−324"  # below the smallest subnormal
    assert fmt_product(3.0, 0.5) == fmt_num(1.5) == "1.50"
    assert fmt_product(-1e308, 10.0, "fr", zeros=False) == "−1e+309"


def test_fmt_num_writes_infinities():
    assert (fmt_num(float("inf")), fmt_num(-np.inf, "fr")) == ("∞", "−∞")


# 2. explain -o replaces only an earlier report of explain


@pytest.mark.parametrize("name", ["notes.md", "notes.txt", "page.html", "doc.tex", "x.json"])
def test_explain_output_keeps_a_file_that_mentions_the_command(
    tmp_path, capsys, monkeypatch, name
):
    run = run_svdkit(capsys, monkeypatch)
    notes = tmp_path / name
    mine = (
        "# svdkit explain\n\nRun `svdkit explain A.npy` to see the rank.\n"
        '{"schema": "svdkit.explain"}\n<!DOCTYPE html>\n\\documentclass{article}\n'
    )
    notes.write_text(mine)
    code, _, err = run("explain", "[[1,2],[3,4]]", "-o", notes)
    assert "not a report svdkit explain wrote" in error_line(code, err)
    assert notes.read_text() == mine


def test_explain_output_keeps_svdkit_docs(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    run = run_svdkit(capsys, monkeypatch)
    doc = Path(__file__).parents[1] / "docs" / "explain-example.md"
    copy = tmp_path / "explain-example.md"
    copy.write_bytes(doc.read_bytes())
    code, _, err = run("explain", "[[1,2],[3,4]]", "-o", copy)
    assert "not a report" in error_line(code, err)
    assert copy.read_bytes() == doc.read_bytes()


@pytest.mark.parametrize("suffix", [".md", ".tex", ".html", ".txt", ".json"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_explain_output_replaces_its_own_report(tmp_path, capsys, monkeypatch, suffix, lang):
    run = run_svdkit(capsys, monkeypatch)
    out = tmp_path / f"report{suffix}"
    code, _, err = run("explain", "[[1,2],[3,4]]", "--lang", lang, "-o", out)
    assert code == 0, err
    first = out.read_text()
    code, _, err = run("explain", "[[5,6],[7,9]]", "-o", out)
    assert code == 0, err
    assert out.read_text() != first and "9" in out.read_text()


def test_report_marks_are_where_the_check_looks():
    from svdkit.explain import explain, render, render_html, render_latex, render_markdown

    report = explain([[1, 2], [3, 4]], steps=False)
    for fmt, module in (
        ("markdown", render_markdown),
        ("latex", render_latex),
        ("html", render_html),
    ):
        assert render(report, fmt).splitlines()[1] == module.REPORT_MARK
    assert render(report, "markdown").startswith("# svdkit explain\n")
    assert render(report, "html").startswith("<!DOCTYPE html>\n")
    assert render(report, "latex").startswith("\\documentclass")
    assert json.loads(render(report, "json"))["schema"] == "svdkit.explain"


# 3. LSI: a stop word is named as one; analyzer checks speak flags


def _index(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, text in enumerate(
        ["the cat sat on the mat", "the dog ate the bone", "a cat and a dog"]
    ):
        (corpus / f"{i}.txt").write_text(text)
    code, _, err = run("lsi", "index", corpus, "-o", tmp_path / "ix", "-k", "1")
    assert code == 0, err
    return run, tmp_path / "ix"


def test_lsi_similar_names_a_stop_word(tmp_path, capsys, monkeypatch):
    run, ix = _index(tmp_path, capsys, monkeypatch)
    for term in ("the", "The"):
        code, _, err = run("lsi", "similar", ix, "--term", term)
        line = error_line(code, err)
        assert "'the' is a stop word" in line and "holds no token" not in line
    code, _, err = run("lsi", "similar", ix, "--term", "x")  # too short for a token
    assert "holds no token" in error_line(code, err)


def test_term_of_a_stop_word_in_python():
    from svdkit.errors import SvdkitError
    from svdkit.lsi import build_index

    ix = build_index(["the cat sat", "the dog ran", "a cat ran"], k=1)
    with pytest.raises(SvdkitError, match="'the' is a stop word"):
        ix.term_of("the")
    assert ix.term_of("Cat") == "cat"


def test_cli_analyzer_checks_name_the_options(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("some words here")
    code, _, err = run(
        "lsi", "index", corpus, "-o", tmp_path / "ix", "-k", "1",
        "--analyzer", "char_wb", "--token-pattern", r"\w+",
    )
    line = error_line(code, err)
    assert "--token-pattern applies to the word analyzer only" in line
    assert "--analyzer char_wb" in line and "analyzer=" not in line
    code, _, err = run(
        "lsi", "index", corpus, "-o", tmp_path / "ix", "-k", "1", "--token-pattern", r"(\w)(\w)"
    )
    line = error_line(code, err)
    assert line.startswith(r"error: --token-pattern '(\w)(\w)' has 2 capturing groups")


def test_python_analyzer_checks_keep_python_names():
    from svdkit.errors import SvdkitError
    from svdkit.lsi import TextOptions

    with pytest.raises(SvdkitError, match=r"^token_pattern applies .*analyzer='char_wb'") as e:
        TextOptions(analyzer="char_wb", token_pattern=r"\w+")
    assert e.value.param == "token_pattern"
    with pytest.raises(SvdkitError, match=r"^analyzer must be .*; got 'x'") as e:
        TextOptions(analyzer="x")
    assert e.value.param == "analyzer"
    with pytest.raises(SvdkitError, match=r"^stop_words apply .*analyzer='char'"):
        TextOptions(analyzer="char", stop_words=("le",))
