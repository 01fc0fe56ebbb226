"""Review of ``svdkit explain`` and its figures as a learner meets them (en and fr).

Each test pins a bug found by using the report on small matrices: a wrong or
self-contradicting statement, English left in a French report, a French figure
writing numbers the English way.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.render_json import to_dict


def _criteria(report) -> dict:
    return report.section("definiteness").fact("criteria")


def _notes(report) -> dict[str, str]:
    return {n.id: n.text for n in report.notes}


# ---------------------------------------------------------------- Sylvester's minors


def test_sylvester_minors_of_a_tiny_definite_matrix_are_not_printed_as_zero():
    """1e-20·I₃ is positive definite: its leading minors are 1e−20, 1e−40, 1e−60, not 0."""
    report = explain(1e-20 * np.eye(3), steps=False)
    sylvester = _criteria(report)["sylvester"]
    assert sylvester["kind"] == "positive definite"
    assert "(1e−20, 1e−40, 1e−60)" in sylvester["explanation"]


@pytest.mark.parametrize(
    ("scale", "minors"), [(1e200, "(1e+200, 1e+400)"), (1e-200, "(1e−200, 1e−400)")]
)
def test_sylvester_minors_beyond_float_range_match_the_determinant(scale, minors):
    """The report says det A = 1e+400 (or 1e−400); Sylvester's D₂ must not read ∞ (or 0)."""
    report = explain(scale * np.eye(2), steps=False)
    determinant = report.section("measures").fact("determinant")
    assert determinant == minors[1:-1].split(", ")[1]
    explanation = _criteria(report)["sylvester"]["explanation"]
    assert minors in explanation
    assert "∞" not in explanation


def test_sylvester_zero_minor_still_prints_as_zero():
    report = explain([[1, 1], [1, 1]], steps=False)
    assert _criteria(report)["sylvester"]["explanation"].startswith(
        "leading principal minors (1, 0)"
    )


# ---------------------------------------------------------------- notes on complex matrices


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_complex_symmetric_matrix_is_not_called_non_symmetric(lang):
    """[[1, i], [i, 2]] is symmetric (Aᵀ = A), not Hermitian: no note may call it non-symmetric,
    nor offer "a symmetric one" as the fix for it (it is symmetric and not normal)."""
    report = explain([[1, 1j], [1j, 2]], lang=lang, steps=False)
    assert report.section("structure").fact("symmetric")
    notes = _notes(report)
    assert "trace_eigenvalues" not in notes
    assert "orthogonal_eigenvectors" in notes and "pinv_order" in notes
    hermitian = {"en": "Hermitian", "fr": "hermitienne"}[lang]
    assert hermitian in notes["orthogonal_eigenvectors"]
    assert hermitian in notes["pinv_order"]
    assert "e.g. a symmetric one" not in notes["orthogonal_eigenvectors"]
    assert "e.g. for symmetric A" not in notes["pinv_order"]


@pytest.mark.parametrize(
    "A", [[[1, 1j], [-1j, 1]], [[1, 1j], [1j, 2]], [[1, 2], [3, 4]], [[1, 2], [2, 1]]]
)
def test_trace_note_only_for_matrices_that_are_not_symmetric(A):
    """The note says "this non-symmetric one": it must agree with the structure section.

    Nor for a Hermitian matrix, the complex analogue of the claim's "symmetric" (the
    report calls it "symmetric (Hermitian)" in its spectral theorem)."""
    report = explain(A, steps=False)
    structure = report.section("structure")
    symmetric = structure.fact("symmetric") or structure.fact("hermitian")
    assert ("trace_eigenvalues" in _notes(report)) == (not symmetric)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pinv_note_for_a_complex_non_square_matrix_uses_the_conjugate_transpose(lang):
    """A⁺ = V Σ⁺ Uᴴ: with Uᵀ the note's formula is wrong for complex A."""
    report = explain([[1, 1j, 0]], lang=lang, steps=False)
    text = _notes(report)["pinv_order"]
    assert "A⁺ = V Σ⁺ Uᴴ" in text
    assert "Uᵀ" not in text


# ---------------------------------------------------------------- French reports


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "latex", "html"])
def test_french_steps_name_the_eigenspace_basis_in_french(fmt):
    """The exact steps show each eigenspace's basis; in French it is "base", not "basis"."""
    report = explain([[3, 0], [0, -2]], lang="fr")
    text = render(report, fmt)
    assert "basis" not in text
    assert "base" in text
    english = render(explain([[3, 0], [0, -2]], lang="en"), fmt)
    assert "basis" in english


def test_html_writes_step_matrix_names_as_words():
    """MathML: "base" and "rref" are one upright word each, not a product b·a·s·e of variables."""
    french = render(explain([[3, 0], [0, -2]], lang="fr"), "html")
    assert "<mi>base</mi>" in french
    assert "<mi>b</mi><mi>a</mi>" not in french
    assert "<mi>rref</mi>" in french
    assert "<mi>basis</mi>" in render(explain([[3, 0], [0, -2]], lang="en"), "html")


def test_json_keeps_the_stable_matrix_names():
    """JSON step matrices keep their language-neutral keys."""
    data = to_dict(explain([[3, 0], [0, -2]], lang="fr"))
    names = {
        name
        for section in data["sections"]
        for step in section["steps"]
        for name in step["matrices"]
    }
    assert "basis" in names


# ---------------------------------------------------------------- figures


def test_french_quadratic_form_colorbar_writes_decimal_commas():
    from svdkit.plot import quadratic_form

    for lang, mark, other in (("fr", ",", "."), ("en", ".", ",")):
        fig = quadratic_form([[0, 0], [0, -1]], lang=lang)
        fig.canvas.draw()
        bar = next(ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None)
        labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
        assert labels
        assert any(mark in x for x in labels), (lang, labels)
        assert not any(other in x for x in labels), (lang, labels)
