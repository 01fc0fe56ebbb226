"""The zero form is both positive and negative semidefinite, and every output says so.

``definiteness`` keeps ``kind == "positive semidefinite"`` for it (a stable
value), with ``is_zero_form`` true; the report adds ``also_kind``, the exact
steps end with ``definiteness.agree_zero`` and the figure's title names both.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from latex_support import compile_latex

import svdkit.exact as ex
from svdkit.explain import explain, render
from svdkit.linalg.definiteness import Kind, definiteness
from svdkit.plot import quadratic_form, quadratic_form_gallery


@pytest.mark.parametrize("n", [1, 2, 4])
def test_numerical_zero_form_is_both_semidefinite(n):
    d = definiteness(np.zeros((n, n)))
    assert d.is_zero_form
    assert d.is_positive_semidefinite and d.is_negative_semidefinite
    assert d.kind is Kind.POSITIVE_SEMIDEFINITE


@pytest.mark.parametrize(
    "a", [[[1, 0], [0, 0]], [[0, 0], [0, -1]], [[0, 1], [1, 0]], [[1e-300, 0], [0, 0]]]
)
def test_a_nonzero_form_is_not_the_zero_form(a):
    d = definiteness(a)
    assert not d.is_zero_form
    assert d.is_positive_semidefinite + d.is_negative_semidefinite <= 1


def test_zero_form_within_the_given_threshold():
    tiny = [[1e-12, 0], [0, -1e-12]]
    assert not definiteness(tiny).is_zero_form
    assert definiteness(tiny, tol=1e-9).is_zero_form


def test_exact_zero_form_steps_say_both():
    r = ex.definiteness([[0, 0], [0, 0]], steps=True)
    keys = [s.key for s in r.steps]
    assert r.is_zero_form
    assert keys[-1] == "definiteness.agree_zero"
    assert "definiteness.quadratic_form_zero" in keys
    assert "definiteness.quadratic_form" not in keys
    r = ex.definiteness([[0, 0], [0, 1]], steps=True)
    keys = [s.key for s in r.steps]
    assert not r.is_zero_form
    assert keys[-1] == "definiteness.agree" and "definiteness.quadratic_form" in keys


@pytest.mark.parametrize(("lang", "nsd"), [("en", "negative semidefinite"),
                                           ("fr", "semi-définie négative")])
def test_report_says_negative_semidefinite_too(lang, nsd):
    report = explain("0 0; 0 0", lang=lang)
    sec = report.section("definiteness")
    assert sec.fact("kind") == "positive semidefinite"
    assert sec.fact("also_kind") == "negative semidefinite"
    text = render(report, "terminal")
    box = text[text.index("Definiteness" if lang == "en" else "Signe : définie"):]
    assert nsd in box
    # the last step (the criteria agree) names the second kind as well
    assert nsd in " ".join(box.split())
    assert "()" not in box  # no empty list of coefficients for a form with no squares


def test_report_of_a_semidefinite_nonzero_matrix_has_no_also_kind():
    sec = explain("1 0; 0 0").section("definiteness")
    assert [f.key for f in sec.facts] == ["kind", "criteria"]


def test_json_and_markdown_carry_the_second_kind():
    report = explain("0 0 0; 0 0 0; 0 0 0")
    data = json.loads(render(report, "json"))
    sec = next(s for s in data["sections"] if s["id"] == "definiteness")
    assert sec["facts"]["also_kind"] == "negative semidefinite"
    assert "negative semidefinite" in render(report, "markdown")


def test_latex_of_the_zero_form_compiles(tmp_path):
    tex = render(explain("0 0; 0 0", lang="fr"), "latex")
    assert "semi-définie négative" in tex
    compile_latex(tex, tmp_path, "zero")


@pytest.mark.parametrize(("lang", "title"), [("en", "positive and negative semidefinite"),
                                             ("fr", "semi-définie positive et négative")])
def test_figure_of_the_zero_form_names_both(lang, title):
    fig = quadratic_form([[0, 0], [0, 0]], lang=lang)
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    assert title in verdict.replace("\xa0", " ")
    fig = quadratic_form([[1, 0], [0, 0]], lang=lang)
    verdict = next(x for x in fig.texts if x.get_gid() == "svdkit:verdict").get_text()
    assert title not in verdict.replace("\xa0", " ")


def test_gallery_titles_are_unchanged():
    fig = quadratic_form_gallery()
    assert [ax.get_title() for ax in fig.axes if ax.name == "3d"] == [
        "positive definite", "positive semidefinite", "indefinite", "negative definite"]
