"""``svdkit explain --tol`` carried through: the heading says where the threshold comes
from, and the figures decide with it (they said rank 2 beside a report of rank 1)."""

from __future__ import annotations

import numpy as np
import pytest
from cli_support import run_svdkit

from svdkit.explain import explain, render
from svdkit.plot import quadratic_form, save_figures, spectrum, svd_geometry

A = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]  # σ ≈ 16.8, 1.07, 1e−16


def _info(fig) -> str:
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    texts = [t.get_text() for t in fig.findobj(Text)]
    texts += [t.get_text() for lg in fig.findobj(Legend) for t in lg.get_texts()]
    return "\n".join(texts)


@pytest.mark.parametrize(("lang", "given", "rule"), [
    ("en", "Zero threshold (tol, given): 2", "tolerance rule"),
    ("fr", "Seuil de nullité (tol, donné) : 2", "règle de tolérance"),
])
def test_the_heading_says_the_threshold_was_given(lang, given, rule):
    out = render(explain(A, tol=2, lang=lang, steps=False), "markdown")
    assert given in out and rule not in out.split("##")[0]
    plain = render(explain(A, lang=lang, steps=False), "markdown")
    assert rule in plain and "given" not in plain and "donné" not in plain


def test_the_figures_decide_with_tol():
    assert "rank 1" in _info(spectrum(A, tol=2))
    assert "rank 2" in _info(spectrum(A))
    legend = _info(spectrum(np.diag([1.0, 1e-3, 1e-5]), tol=1e-4))
    assert "zero threshold tol = 0.0001" in legend
    assert "rank 1" in _info(svd_geometry(A, tol=2))
    assert "rank 2" in _info(svd_geometry(A))
    # diag(1, 0.01) is positive definite, and semidefinite at tol 0.1
    assert "positive definite" in _info(quadratic_form([[1, 0], [0, 0.01]]))
    assert "positive semidefinite" in _info(quadratic_form([[1, 0], [0, 0.01]], tol=0.1))


def test_cli_figures_follow_tol(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "[[1,2,3],[4,5,6],[7,8,9]]", "--tol", "2", "--no-steps",
                         "--figures", tmp_path / "figs")
    assert code == 0, err
    assert "rank 1" in (tmp_path / "figs" / "spectrum.svg").read_text(encoding="utf-8")
    assert "rank 2" not in (tmp_path / "figs" / "svd_geometry.svg").read_text(encoding="utf-8")
    paths = save_figures(A, tmp_path / "py", formats="svg", tol=2)
    assert all("rank 2" not in p.read_text(encoding="utf-8") for p in paths)
