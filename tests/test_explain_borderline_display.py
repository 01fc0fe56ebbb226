"""`svdkit explain` on borderline matrices: the text agrees with the verdicts and thresholds.

Matrices whose eigenvalues lie within rounding of the zero threshold, where
:func:`svdkit.definiteness` moves the threshold (``tol_used``) so that as many
eigenvalues are non-zero as the rank; matrices of small or large scale, whose
numbers must not print as 0 by an absolute rule.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.formatting import NumberFormat

# λ = (−1, 2.1e−16, 6.517e−16): the rule's threshold 6.66e−16 moved to 6.517e−16
QFORM = np.array([[-0.43440464163420844, 0.05328188718437787, 0.49280654364459775],
                  [0.05328188718437787, -0.00653528813883878, -0.060445170575099634],
                  [0.49280654364459775, -0.060445170575099634, -0.559060070226952]])
# PSD by its eigenvalues at the moved threshold, whose Cholesky factor has a last pivot 2.6e−15
CHOLESKY = np.array([[0.2367866832236657, -0.12163249248283876, -0.3865062824859897],
                     [-0.12163249248283876, 0.7949805776931982, 0.11249369902075587],
                     [-0.3865062824859897, 0.11249369902075587, 0.6410010828144321]])
# normal, not Hermitian: i·H, H Hermitian of rank 2 with an eigenvalue near the threshold
H = np.array([
    [(-0.03353975452395428 + 0j), (-0.06069298489553201 + 0.05604630933220303j),
     (0.12337605727413234 - 0.10182514756496797j)],
    [(-0.06069298489553201 - 0.05604630933220303j), (-0.20348470947859257 + 0j),
     (0.39341328182376734 + 0.021905363872086414j)],
    [(0.12337605727413234 + 0.10182514756496797j), (0.39341328182376734 - 0.021905363872086414j),
     (-0.7629755359974519 + 0j)],
])


def _criteria(A, lang="en"):
    return explain(A, lang=lang, steps=False).section("definiteness").fact("criteria")


def _numbers(text: str) -> list[float]:
    """The numbers written in ``text`` (report minus signs)."""
    found = re.findall(r"[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?", text)
    return [float(x.replace("−", "-")) for x in found]


# ------------------------------------------------------------- 4. Annexe C.4 note


def test_rank_note_kept_for_exactly_defective_matrix_normal_at_the_tolerance():
    r = explain("[[0,1/1000000000,0],[0,0,0],[0,0,1]]")
    # normal to within the tolerance only: the entries as typed decide (no), and a step
    # says that svdkit.is_normal's "yes" is the tolerance's
    assert r.section("structure").fact("normal") is False
    assert "structure.exact_decides" in [s.key for s in r.section("structure").steps]
    notes = {n.id: n for n in r.notes}
    assert "rank_eigenvalues" in notes
    assert notes["rank_eigenvalues"].values["rank"] == 2
    assert notes["rank_eigenvalues"].values["nonzero"] == 1
    assert "case" not in notes["rank_eigenvalues"].values  # genuinely defective: old wording


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_rank_note_for_normal_non_hermitian_mismatch_says_rounding(lang):
    A = 1j * H
    r = explain(A, lang=lang, steps=False)
    assert r.section("structure").fact("normal") and not r.section("structure").fact("hermitian")
    rank = r.section("measures").fact("rank")
    ev = r.section("eigen").fact("eigenvalues")
    shown = sum(NumberFormat(zero=r.tolerance).number(v) != "0" for v in ev)
    assert shown != rank  # the table and the rank differ: a note must say why
    notes = {n.id: n for n in r.notes}
    assert "rank_eigenvalues" in notes
    assert notes["rank_eigenvalues"].values.get("case") == "normal"
    text = notes["rank_eigenvalues"].text
    assert ("rounding" if lang == "en" else "arrondi") in text
    assert ("is not defective (its" not in text) and ("n'est pas défective (sa" not in text)
    assert ("normal" if lang == "en" else "normale") in text


def test_rank_note_never_for_hermitian():
    for A in (H, CHOLESKY, QFORM):
        assert "rank_eigenvalues" not in [n.id for n in explain(A, steps=False).notes]


# ------------------------------------------------------------- 1. quadratic form


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_quadratic_form_sentence_agrees_with_indefinite_verdict(lang):
    q = _criteria(QFORM, lang)["quadratic_form"]
    assert q["kind"] == "indefinite"
    lo, hi = _numbers(q["explanation"].split(";")[0])[-2:]
    assert lo < 0 < hi  # an indefinite form takes both signs on the sphere
    values = [_numbers(part)[-1] for part in q["explanation"].split("; x = ")[1:]]
    assert len(values) == len(q["witnesses"]) == 2
    assert all(v != 0 for v in values)
    assert sorted(np.sign(values)) == [-1, 1]


# ------------------------------------------------------------- 3. moved threshold shown


@pytest.mark.parametrize("fmt", ["markdown", "terminal", "html", "latex"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_moved_eigen_threshold_is_shown(fmt, lang):
    r = explain(QFORM, lang=lang, steps=False)
    assert r.eigen_tolerance is not None and r.eigen_tolerance != r.tolerance
    page = render(r, fmt)
    assert r.tolerance > r.eigen_tolerance  # moved below an eigenvalue the rule counts as 0
    digits = repr(r.eigen_tolerance).split("e")[0]  # every digit (LaTeX writes ·10^{−16})
    assert digits in page
    lam = np.abs(r.section("eigen").fact("eigenvalues"))
    # the digits shown are the threshold's, which 3 (6.52e−16) cannot tell from an |λ| above
    assert float(digits + "e-16") == r.eigen_tolerance
    assert np.any((lam > r.eigen_tolerance) & (lam <= 6.52e-16))


def test_no_moved_threshold_line_when_not_moved():
    r = explain("[[2, 1], [1, 2]]", steps=False)  # (eigen_tolerance may differ by an ulp)
    page = render(r, "markdown")
    assert repr(r.eigen_tolerance).split("e")[0] not in page
    assert "moved by rounding" not in page


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_undecided_reason_threshold_tells_from_eigenvalue(lang):
    r = explain(QFORM, lang=lang, steps=False)
    s = r.section("definiteness").fact("criteria")["sylvester"]
    assert s["kind"] is None and s["minors_kind"] is not None
    assert s["reason"] in s["explanation"]
    values = _numbers(s["reason"])
    assert r.eigen_tolerance in values  # to the last digit
    lam = r.section("definiteness").fact("criteria")["eigenvalues"]["values"]
    assert all(v != r.eigen_tolerance for v in np.abs(lam))
    assert "6.52e−16" not in s["reason"]


# ------------------------------------------------------------- 5. Cholesky


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_cholesky_diagonal_consistent_with_semidefinite_verdict(lang):
    c = _criteria(CHOLESKY, lang)["cholesky"]
    assert c["kind"] == "positive semidefinite"
    diag = _numbers(c["explanation"].split("(")[-1])
    assert len(diag) == 3
    assert 0 in diag  # a semidefinite L has a zero on its diagonal
    L = np.asarray(c["factor"])
    assert np.linalg.norm(L @ L.T - CHOLESKY) <= 1e-14


# ------------------------------------------------------------- 2. notes at small scale


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_hermitian_positive_note_prints_its_negative_eigenvalue(lang):
    r = explain("[[1e-13,0],[0,-2e-13]]", lang=lang, steps=False)
    note = next(n for n in r.notes if n.id == "hermitian_positive")
    assert "−2e−13" in note.text


def test_reflection_note_prints_a_negative_determinant():
    r = explain("[[-2e-13,0],[0,1e-13]]", steps=False)
    note = next(n for n in r.notes if n.id == "reflection")
    assert "0 < 0" not in note.text
    assert "−2e−26" in note.text


def test_sigma_order_note_prints_the_diagonal():
    r = explain("[[1e-13,0],[0,3e-13]]", steps=False)
    note = next(n for n in r.notes if n.id == "sigma_order")
    assert "1e−13, 3e−13" in note.text
    assert "0, 0" not in note.text


# ------------------------------------------------------------- 6. witness at large scale


@pytest.mark.parametrize("A", ["[[1e20,0,1],[0,1,0],[1,0,1e-20]]", "[[1e20,1e20],[1e20,1e20]]"])
def test_quadratic_form_witness_is_not_printed_as_zero(A):
    q = _criteria(A)["quadratic_form"]
    assert q["witnesses"]
    text = q["explanation"].split("x = ")[1].split(" gives")[0]
    x = np.array(_numbers(text))
    w = np.asarray(q["witnesses"][0]["x"])
    assert np.linalg.norm(w) > 0.5
    assert np.allclose(x, np.real(w), atol=1e-5)  # the vector printed is the witness
    M = np.array(eval_free(A))
    assert abs(x @ M @ x - q["witnesses"][0]["value"]) <= 1e-12 * np.abs(M).max()


def eval_free(text: str) -> list[list[float]]:
    """A ``[[…], […]]`` matrix literal of plain numbers, read without eval."""
    return [[float(v) for v in row.split(",")] for row in text.strip("[]").split("],[")]


# ------------------------------------------------------------- 8. wording


@pytest.mark.parametrize(("lang", "word"), [("en", "undecided"), ("fr", "non décidé")])
def test_sylvester_undecided_word_once(lang, word):
    s = _criteria(QFORM, lang)["sylvester"]
    assert s["kind"] is None
    page = render(explain(QFORM, lang=lang, steps=False), "markdown")
    line = next(ln for ln in page.splitlines() if "Sylvester" in ln)
    assert line.lower().count(word) == 1, line
