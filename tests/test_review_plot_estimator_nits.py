"""Review round: TruncatedSVD warnings through joblib, the threshold line off the axis,
the PDF's producer, ticklabel_format on French figures, log-axis bar tops."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from svdkit.lowrank import TruncatedSVD
from svdkit.plot import save_figures, spectrum
from svdkit.plot.save import FIGURE_MARK, _marked


def _float32_data():
    return np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32)


def _float32_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    found = [w for w in caught if "float32" in str(w.message)]
    assert found, "no float32 tol warning"
    return {w.filename for w in found}


@pytest.mark.parametrize("after", [StandardScaler, Normalizer])
def test_warning_of_an_intermediate_pipeline_step_names_the_callers_file(after):
    X = _float32_data()
    pipe = make_pipeline(TruncatedSVD(2, tol=1e-10, random_state=0), after())
    assert _float32_warnings(lambda: pipe.fit_transform(X)) == {__file__}
    pipe = make_pipeline(TruncatedSVD(2, tol=1e-10, random_state=0), after())
    assert _float32_warnings(lambda: pipe.fit(X)) == {__file__}


def test_warning_under_cross_validate_names_the_callers_file():
    from sklearn.linear_model import LinearRegression

    X = _float32_data()
    y = X[:, 0].astype(float)
    pipe = make_pipeline(TruncatedSVD(2, tol=1e-10, random_state=0), LinearRegression())
    assert _float32_warnings(lambda: cross_validate(pipe, X, y, cv=2)) == {__file__}


def _threshold(fig):
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "svdkit:threshold"]
    assert len(lines) == 1
    return ax, float(lines[0].get_ydata()[0])


@pytest.mark.parametrize(
    "values, tol",
    [
        ([[0.5, 0], [0, 0.25]], 2.0),
        ([0.5, 0.25, 0.125], 2.0),
        ([0.5, 0.25, 0.125], 1e300),
        ([1.0, 1e-3, 1e-6], 1e-9),
        ([1.0, 1e-3, 1e-6], 100.0),
        ([1.0, 1e-3, 1e-6], 1e-320),
        ([1.0, 1e-3, 1e-6], 1e308),
    ],
)
def test_a_given_tol_is_drawn_inside_the_axis(values, tol):
    fig = spectrum(values, tol=tol)
    ax, thr = _threshold(fig)
    assert thr == tol
    lo, hi = ax.get_ylim()
    assert lo <= thr <= hi
    if ax.get_yscale() == "log":  # not on the frame itself: a visible line
        assert lo < thr < hi
    else:
        assert thr < hi
    # every bar still ends at its σ and stays inside the axis
    s = np.sort(np.linalg.svd(np.asarray(values, float), compute_uv=False)
                if np.ndim(values) == 2 else np.asarray(values, float))[::-1]
    tops = [p.get_y() + p.get_height() for p in ax.containers[0].patches]
    assert tops == pytest.approx(s, rel=1e-12)
    assert max(tops) <= hi and (ax.get_yscale() == "linear" or min(tops) > lo)
    fig.canvas.draw()  # (finite ticks everywhere)


def test_rank_zero_by_tol_shows_the_line_above_the_bars():
    fig = spectrum([[0.5, 0], [0, 0.25]], tol=2.0)
    ax, thr = _threshold(fig)
    assert max(p.get_y() + p.get_height() for p in ax.containers[0].patches) < thr


def test_pdf_holds_no_matplotlib_version_and_keeps_the_mark(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = save_figures([[2.0, 0.0], [0.0, 1.0]], tmp_path, formats=("pdf",))
    assert paths
    first = [path.read_bytes() for path in paths]
    for path in paths:
        data = path.read_bytes()
        assert b"/Producer" not in data
        assert not re.search(rb"[Mm]atplotlib", data)
        assert f"/Creator ({FIGURE_MARK})".encode() in data
        assert _marked(path)
    # replaced on a second run (the mark is still recognised), with the same bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = save_figures([[2.0, 0.0], [0.0, 1.0]], tmp_path, formats=("pdf",))
    assert again == paths and [p.read_bytes() for p in again] == first


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_ticklabel_format_works_on_french_figures(lang):
    fig = spectrum([1e6 + 3, 1e6 + 2, 1e6 + 1], lang)
    ax = fig.axes[0]
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d+", lab) for lab in labels)
    assert ax.yaxis.get_major_formatter().get_offset() == ""
    # the setters reach the formatter that writes the labels
    formatter = ax.yaxis.get_major_formatter()
    formatter.set_useOffset(True)
    assert formatter.get_useOffset() is True


def test_french_offset_after_ticklabel_format_is_localised():
    fig = spectrum([1e6 + 0.3, 1e6 + 0.2, 1e6 + 0.1], "fr")
    ax = fig.axes[0]
    ax.ticklabel_format(axis="y", useOffset=True, style="sci", scilimits=(0, 0))
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("," in lab for lab in labels) and not any("." in lab for lab in labels)


def test_bars_down_to_the_smallest_subnormal():
    # the axis cannot go below 5e-324 (the smallest positive float): a σ there lies on the
    # axis bottom (height 0, as documented); every larger σ gets a bar ending at it
    s = [1e-300, 1e-320, 5e-324]
    ax = spectrum(s).axes[0]
    lo, _ = ax.get_ylim()
    assert lo == 5e-324
    patches = ax.containers[0].patches
    assert [p.get_y() for p in patches] == [lo] * 3
    assert [p.get_height() > 0 for p in patches] == [True, True, False]
    assert [p.get_y() + p.get_height() for p in patches] == pytest.approx(s, rel=1e-12)


def test_log_bar_tops_are_sigma_to_rounding():
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = np.sort(10 ** rng.uniform(-8, 3, 20))[::-1]
        patches = spectrum(s).axes[0].containers[0].patches
        tops = np.array([p.get_y() + p.get_height() for p in patches])
        assert np.all(np.abs(tops - s) <= 2 * np.spacing(s))
