"""Defects of ``svdkit explain`` found by the review of 48b9d11 (h246)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from svdkit.errors import ParseError, RaggedError
from svdkit.explain import explain, render
from svdkit.explain.messages import t
from svdkit.inputs import as_matrix
from svdkit.inputs.text import parse_matrix_text, text_to_array

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _facts(report, section):
    return {f.key: f.value for f in report.section(section).facts}


def _steps(report, section):
    return {s.key: s for s in report.section(section).steps}


# ------------------------------------------- #1 orthonormal to within rounding is normal

ORTHONORMAL_BY_TOLERANCE = ["0 1; -1 1e-17", "0.6 -0.8; 0.8 0.60000000000000001"]


@pytest.mark.parametrize("text", ORTHONORMAL_BY_TOLERANCE)
def test_square_orthonormal_by_tolerance_is_normal_by_tolerance(text):
    r = explain(text)
    s = _facts(r, "structure")
    assert s["square"] and s["orthonormal"]
    assert s["normal"] is True  # a unitary matrix is normal: never "orthonormal, not normal"
    steps = _steps(r, "structure")
    assert "structure.exact_decides" not in steps
    facts = steps["structure.tolerance_only"].values["facts"].split(", ")
    assert "orthonormal" in facts and "normal" in facts  # both the tolerance's "yes"
    assert "orthogonal_eigenvectors" not in [n.id for n in r.notes]


def test_exactly_orthonormal_has_no_tolerance_step():
    r = explain("0.6 -0.8; 0.8 0.6")
    assert _facts(r, "structure")["normal"] is True
    assert r.section("structure").steps == []


def test_docs_say_orthonormal_passes_like_hermitian():
    text = " ".join((DOCS / "explain-json.md").read_text(encoding="utf-8").split())
    assert "unless A passes as Hermitian, or is square and passes as orthonormal" in text


# ------------------------------------- #2 complex symmetric, defective whatever the tol


@pytest.mark.parametrize("tol", [None, 1e-12, 1e-6])
def test_nilpotent_complex_symmetric_is_defective_with_any_tol(tol):
    r = explain("1 1j; 1j -1", tol=tol)
    notes = {n.id: n for n in r.notes}
    assert notes["complex_symmetric"].values["case"] == "defective"
    assert "it is diagonalisable" not in notes["complex_symmetric"].text.replace(
        "every normal matrix is diagonalisable", "")
    # the notes do not contradict each other: no "diagonalisable but not normal"
    assert "orthogonal_eigenvectors" not in notes


def test_complex_symmetric_exact_diagonalisable_keeps_not_normal():
    for tol in (None, 1e-12):
        r = explain("1 1j; 1j 2", tol=tol)
        case = {n.id: n.values for n in r.notes}["complex_symmetric"]["case"]
        assert case == "not_normal"


def test_complex_symmetric_numerical_verdict_claims_no_diagonalisability():
    # floats: no exact entries, so the floating-point "yes" is not asserted
    for lang in ("en", "fr"):
        r = explain(np.array([[1, 1j], [1j, 2.5]]), lang=lang)
        note = {n.id: n for n in r.notes}["complex_symmetric"]
        assert note.values["case"] == "not_normal_numeric"
        assert note.text == t("note.complex_symmetric.not_normal_numeric", lang)
    assert "): it is diagonalisable" not in t("note.complex_symmetric.not_normal_numeric", "en")
    assert "whether or not it is diagonalisable" in t("note.complex_symmetric.not_normal_numeric",
                                                      "en")
    assert "elle est diagonalisable" not in t("note.complex_symmetric.not_normal_numeric", "fr")


# ------------------------------------------------- #3 phases only for non-real entries


@pytest.mark.parametrize("a", ["1+0j 2; 3 4", np.array([[1, 2], [3, 4]], dtype=complex)])
def test_complex_dtype_with_real_values_says_signs(a):
    for lang in ("en", "fr"):
        md = render(explain(a, lang=lang), "markdown")
        assert t("fact.U_exact", lang) in md
        assert t("fact.U_exact.complex", lang) not in md
        assert t("fact.Vh_exact.complex", lang) not in md


def test_non_real_entries_still_say_phases():
    md = render(explain("1j 2; 3 4"), "markdown")
    assert t("fact.U_exact.complex", "en") in md


# ------------------------------------------------------------ #4 glued comments


@pytest.mark.parametrize(
    ("text", "offset", "char"),
    [
        ("sqrt(2)#c", 7, "#"),
        ("pi% c", 2, "%"),
        ("1i 2#", 4, "#"),
        ("1/2#c", 3, "#"),
        ("1 2 3#", 5, "#"),
        ("2. 1#c\n3 4", 4, "#"),
        ("[[1, 2],\n [3, 4%]]", 15, "%"),
        ("1 2 3\n4 5%6", 9, "%"),
    ],
)
def test_comment_glued_to_any_entry_is_refused(text, offset, char):
    for read in (text_to_array, parse_matrix_text, as_matrix):
        with pytest.raises(ParseError) as err:
            read(text)
        assert err.value.offset == offset
        assert f"'{char}' right after an entry" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 % c\n3 4", [[1, 2], [3, 4]]),
        ("% c\n1 2", [[1, 2]]),
        ("  # c\n1 2\n3 4", [[1, 2], [3, 4]]),
        ("[[1, 2], [3, 4]]# c", [[1, 2], [3, 4]]),
        ("[1 2; 3 4]% c", [[1, 2], [3, 4]]),
        ("1 2; 3 4;% c", [[1, 2], [3, 4]]),
        ("np.array([[1, 2], [3, 4]])# c", [[1, 2], [3, 4]]),
        ("sqrt(4) 2 # c", [[2, 2]]),
        ("\\begin{bmatrix}1 & 2 % c\n\\\\ 3 & 4\\end{bmatrix}", [[1, 2], [3, 4]]),
        ("\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}% c", [[1, 2], [3, 4]]),
    ],
)
def test_comments_not_glued_to_an_entry_still_work(text, expected):
    np.testing.assert_array_equal(text_to_array(text), expected)


@pytest.mark.parametrize("text", ["{{1, 2}, {3, 4}} (* 50% *)", "{{1,2},{3,4}} (* c2# *)"])
def test_mathematica_comment_blames_the_braces(text):
    # svdkit reads no Mathematica: the braces are the fault, not the '%' of its comment
    for read in (text_to_array, parse_matrix_text):
        with pytest.raises(ParseError) as err:
            read(text)
        assert "right after an entry" not in str(err.value)
        assert "'{'" in str(err.value)
        assert err.value.offset < text.index("(*")


def test_ragged_rows_elsewhere_still_reported():
    with pytest.raises(RaggedError):
        text_to_array("1 2 3 % c\n4 5")


def test_inputs_doc_lists_the_glued_entries():
    text = (DOCS / "inputs.md").read_text(encoding="utf-8")
    for example in ("`sqrt(2)#`", "`pi%`", "`1/2#`", "(* … *)"):
        assert example in text


# ------------------------------------------------------ #5 --no-steps keeps three steps


def test_no_steps_keeps_only_the_documented_caveats():
    text = " ".join((DOCS / "explain-json.md").read_text(encoding="utf-8").split())
    documented = set(re.findall(r"Three steps remain.*?\(the `eigenvectors`", text)[0]
                     .split("`")[1::2])
    kept = set()
    for a in ("1 1e-10; 0 1", "1 1e-20; 0 1", "0 1; -1 1e-17", "3 9; -1 -3", "[[2, 1], [0, 2]]"):
        r = explain(a, steps=False)
        kept |= {s.key for sec in r.sections for s in sec.steps}
    assert kept == {"structure.exact_decides", "structure.tolerance_only", "eigen.defective"}
    assert kept <= documented
    assert "no steps and none of these" not in text
