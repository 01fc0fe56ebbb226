"""svdkit explain at float64's extremes: norms past the largest float and in the
subnormal range are written from a scaled form, and nothing warns."""

from __future__ import annotations

import json
import math
import sys
import warnings
from decimal import Decimal, localcontext

import mpmath
import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.formatting import Scientific, scaled_number
from svdkit.lowrank.operators import as_operator, scaled_fro_norm
from tests.cli_support import run_svdkit

FORMATS = ("terminal", "markdown", "json", "latex", "html")

BIG = "[[1e308, 1e308], [1e308, -1e308]]"
SUBNORMAL = "[[5e-324, 0], [0, 5e-324]]"
SUBNORMAL3 = "[[5e-324, 0, 0], [0, 5e-324, 0], [0, 0, 1e-323]]"
TINY = 2.0**-1074


def _quiet_explain(matrix, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = explain(matrix, **kw)
        pages = {fmt: render(report, fmt) for fmt in FORMATS}
    return report, pages


def _measures_json(page: str) -> dict:
    data = json.loads(page)
    return next(s for s in data["sections"] if s["id"] == "measures")["facts"]


def _close(text: str | float, exact: mpmath.mpf, rel: float = 5e-6) -> bool:
    """Whether the decimal text (ASCII or with U+2212), or the float, is within ``rel``
    of ``exact``."""
    if isinstance(text, str):
        value = mpmath.mpf(text.replace("−", "-"))
    else:
        value = mpmath.mpf(float(text))
    return abs(value - exact) <= rel * abs(exact)


def _mp(x: float) -> mpmath.mpf:
    return mpmath.mpf(x)  # exact: mpmath keeps every bit of a float


mpmath.mp.prec = 200


# -- (1) norms past the float maximum --------------------------------------------------


def test_norms_past_the_float_maximum_are_scaled_not_infinite():
    report, pages = _quiet_explain(BIG)
    m = report.section("measures")
    big = _mp(1e308)
    exact = {  # σ = √2·1e308 twice
        "norm_fro": 2 * big,
        "norm_nuc": 2 * mpmath.sqrt(2) * big,
        "norm_1": 2 * big,
        "norm_inf": 2 * big,
    }
    for key, value in exact.items():
        fact = m.fact(key)
        assert isinstance(fact, Scientific), (key, fact)
        assert _close(fact, value), (key, fact)
    assert m.fact("norm_fro") == "2e+308"
    assert m.fact("norm_nuc") == "2.82843e+308"
    assert m.fact("norm_2") == pytest.approx(math.sqrt(2) * 1e308, rel=1e-15)
    assert m.fact("cond") == pytest.approx(1.0)
    # JSON: the documented text form of a number beyond float64 (as det A's)
    facts = _measures_json(pages["json"])
    assert facts["norm_fro"] == "2e+308" and facts["norm_nuc"] == "2.82843e+308"
    with localcontext() as ctx:
        ctx.prec = 30
        assert Decimal(facts["norm_fro"]) == Decimal("2e308")
    assert facts["determinant"] == "-2e+616"
    for fmt in ("terminal", "markdown", "html"):
        assert "2.82843e+308" in pages[fmt], fmt
    assert r"2.82843 \cdot 10^{308}" in pages["latex"]
    # no infinite measure anywhere in the rank/norm table
    table = pages["markdown"].split("## Rank, norms")[1].split("\n## ")[0]
    assert " ∞ |" not in table and "| ∞ |" not in table


def test_sigma_past_the_float_maximum_and_trace():
    report, _ = _quiet_explain("[[1.7e308, 1.7e308], [1.7e308, 1.7e308]]", steps=False)
    m = report.section("measures")
    x = _mp(1.7e308)
    assert _close(m.fact("norm_2"), 2 * x) and _close(m.fact("norm_fro"), 2 * x)
    assert _close(m.fact("norm_nuc"), 2 * x) and _close(m.fact("trace"), 2 * x)
    assert m.fact("cond") == np.inf  # rank 1


def test_complex_trace_past_the_float_maximum():
    report, pages = _quiet_explain("[[1e308+1e308j, 0], [0, 1e308j]]", steps=False)
    trace = report.section("measures").fact("trace")
    assert isinstance(trace, Scientific)
    re, im = trace.ascii()
    assert _close(re, _mp(1e308)) and _close(im, 2 * _mp(1e308))
    assert _measures_json(pages["json"])["trace"] == {"real": "1e+308", "imag": "2e+308"}


# -- (2), (3) subnormal matrices ----------------------------------------------------------


def test_subnormal_matrix_no_nan_and_right_residuals():
    report, _ = _quiet_explain(SUBNORMAL)
    inv = report.section("inverse")
    assert inv.fact("invertible") is True
    assert inv.fact("inverse_residual") == 0.0
    assert inv.fact("penrose_residual") == 0.0
    assert "pinv_order" not in [note.id for note in report.notes]


@pytest.mark.parametrize(
    "matrix", ["[[5e-324, 1e-323], [1.5e-323, 2e-323]]", "[[1e-310, 2e-310], [3e-310, 4e-310]]"]
)
def test_subnormal_general_matrix_builds_quietly(matrix):
    report, _ = _quiet_explain(matrix, steps=False)
    inv = report.section("inverse")
    assert math.isfinite(inv.fact("penrose_residual"))


def _evidence(a: np.ndarray):
    from svdkit.explain.computed import Computed
    from svdkit.explain.notes import Evidence

    c = Computed(a, None)
    return Evidence(matrix=a, svd=c.svd, threshold=0.0, tol=None, computed=c)


def test_pinv_order_note_scaled():
    """The note's check compares U Σ⁺ Vᴴ with V Σ⁺ Uᴴ without forming 1/σ (inf)."""
    from svdkit.explain.notes import pinv_order

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # not symmetric: U Σ⁺ Vᴴ ≠ V Σ⁺ Uᴴ, which the check must still see
        assert pinv_order(_evidence(np.array([[0, 5e-324], [1e-323, 0]]))) == {
            "case": "values"
        }
        assert pinv_order(_evidence(np.array([[5e-324, 0], [0, 1e-323]]))) is None
        # σ₁ past the float maximum (the σ of A·2^−e)
        assert pinv_order(_evidence(np.array([[0, 1.7e308], [1.7e308, 1.7e308]]))) is None
        assert pinv_order(_evidence(np.array([[0, 1.7e308], [-1.7e308, 1e308]]))) == {
            "case": "values"
        }


def test_subnormal_norms_keep_their_digits():
    report, pages = _quiet_explain(SUBNORMAL3)
    m = report.section("measures")
    tiny = _mp(TINY)
    assert _close(m.fact("norm_fro"), mpmath.sqrt(6) * tiny)  # not 2·2^−1074 (9.88e−324)
    assert m.fact("norm_fro") == "1.21021e−323"
    assert _close(m.fact("norm_nuc"), 4 * tiny)
    facts = _measures_json(pages["json"])
    assert facts["norm_fro"] == "1.21021e-323"
    assert _close(facts["norm_fro"], mpmath.sqrt(6) * tiny)


def test_subnormal_row_sigma_keeps_its_digits():
    report, _ = _quiet_explain("[[5e-324, 5e-324, 1e-323]]")
    m = report.section("measures")
    exact = mpmath.sqrt(6) * _mp(TINY)  # σ₁ = ‖row‖ = √6·2^−1074
    for key in ("norm_2", "norm_fro", "norm_nuc"):
        assert _close(m.fact(key), exact), key


def test_scaled_fro_norm_subnormal():
    A = np.diag([5e-324, 5e-324, 1e-323])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, c = scaled_fro_norm(as_operator(A))
    assert value == pytest.approx(math.sqrt(6) * math.ldexp(c, -1074), rel=1e-15, abs=0)
    assert value >= sys.float_info.min  # c‖A‖_F is a normal float
    # above the subnormal range, unchanged: the one-pass norm scaled by c
    value, c = scaled_fro_norm(as_operator(np.full((2, 2), 1e-300)))
    assert value == pytest.approx(2e-300 * c, rel=1e-15, abs=0)
    # and a sparse matrix of subnormal entries
    import scipy.sparse

    value, c = scaled_fro_norm(as_operator(scipy.sparse.csr_matrix(A)))
    assert value == pytest.approx(math.sqrt(6) * math.ldexp(c, -1074), rel=1e-15, abs=0)


def test_scaled_number():
    assert scaled_number(1.5, 3) == 12.0
    assert scaled_number(TINY, 0) == TINY  # exact as it is
    assert scaled_number(3.0, -1075) == "7.41098e−324"  # 3·2^−1075 = 1.5·2^−1074
    assert _close(scaled_number(3.0, -1075), 3 * _mp(TINY) / 2)
    assert scaled_number(-1.0, 1024) == "−1.79769e+308"
    assert scaled_number(float("inf"), 5) == float("inf")
    assert scaled_number(complex(0.5, 0.25), 2) == complex(2.0, 1.0)


# -- the sweep: every format, both languages, figures, under -W error --------------------

SWEEP = [
    "[[1e308, 1e308], [1e308, -1e308]]",
    "[[1.7e308, 0], [0, 1.7e308]]",
    "[[1e300, 2e300], [3e300, 4e300]]",
    "[[1e308, 0], [0, 1e-308]]",
    "[[1e308, 1e-308], [1e-308, 1e308]]",
    "[[1e308]]",
    "[[5e-324]]",
    "[[1e308, 1e308, 1e308]]",
    "[[1e308], [1e308], [-1e308]]",
    "[[5e-324, 5e-324, 1e-323]]",
    "[[5e-324], [1e-323]]",
    "[[1e308, 1e308], [1e308, 1e308]]",
    "[[5e-324, 5e-324], [5e-324, 5e-324]]",
    "[[1e300, 2e300, 3e300], [2e300, 4e300, 6e300], [1, 1, 1]]",
    "[[1e308+1e308j, 0], [0, 1e308j]]",
    "[[1e308j, 1e-308], [1e-308, -1e308j]]",
    SUBNORMAL,
    SUBNORMAL3,
]


@pytest.mark.parametrize("matrix", SWEEP)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sweep_quiet(matrix, lang):
    # (the exact steps, the slow part, in English only: their numbers are the same)
    report, pages = _quiet_explain(matrix, lang=lang, steps=lang == "en")
    facts = _measures_json(pages["json"])
    for key in ("norm_fro", "norm_2", "norm_nuc", "norm_1", "norm_inf"):
        assert facts[key] not in ("inf", "nan"), (key, facts[key])
    # the Frobenius norm against mpmath on the matrix as float64 holds it
    a = report.matrix
    exact = mpmath.sqrt(sum(abs(mpmath.mpc(complex(v))) ** 2 for v in a.ravel()))
    shown = facts["norm_fro"]
    assert _close(shown, exact, rel=5e-6 if isinstance(shown, str) else 1e-12), shown


@pytest.mark.parametrize("matrix", [BIG, SUBNORMAL, "[[1e-300, 0], [0, 2e-300]]"])
def test_cli_figures_quiet(matrix, tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run("explain", matrix, "--figures", tmp_path / "figs")
    assert code == 0, err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    assert "Rank, norms" in out


def test_figure_lower_limit_documented():
    from pathlib import Path

    from svdkit.plot import _common
    from svdkit.plot.save import FigureSkippedWarning, save_figures

    assert _common.MIN_ENTRY == 1e-280
    assert "1e−280" in FigureSkippedWarning.__doc__ and "MIN_ENTRY" in FigureSkippedWarning.__doc__
    assert "1e−280" in save_figures.__doc__ and "MIN_ENTRY" in save_figures.__doc__
    doc = Path(__file__).parent.parent / "docs" / "explain-example.md"
    assert "below 1e−280" in doc.read_text(encoding="utf-8")
