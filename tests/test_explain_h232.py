"""Defects of ``svdkit explain`` found by the hunt h232 (exact structure, notes, input)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from svdkit.errors import ParseError, SvdkitError
from svdkit.explain import explain, render
from svdkit.inputs import as_matrix
from svdkit.inputs.text import parse_matrix_text, text_to_array

JORDAN_2 = "[[1, 1e-10], [0, 1]]"
JORDAN_3 = "[[0, 1e-9, 0], [0, 0, 0], [0, 0, 1]]"


def _facts(report, section):
    return {f.key: f.value for f in report.section(section).facts}


def _step_keys(report, section):
    return [s.key for s in report.section(section).steps]


# --------------------------------------------------------------- #1 exact structure


@pytest.mark.parametrize("text", [JORDAN_2, JORDAN_3])
def test_jordan_block_with_tiny_coupling_is_neither_normal_nor_diagonalizable(text):
    r = explain(text)
    structure = _facts(r, "structure")
    assert structure["normal"] is False
    assert structure["diagonalizable"] is False
    assert r.section("eigen").fact("diagonalizable") is False
    assert "eigen.defective" in _step_keys(r, "eigen")
    # the floating-point tests pass: the report says that their "yes" is the tolerance's
    steps = [s for s in r.section("structure").steps if s.key == "structure.exact_decides"]
    assert len(steps) == 1
    assert steps[0].values["facts"] == "normal, diagonalizable"
    # no note treats the matrix as diagonalisable
    assert "orthogonal_eigenvectors" not in [n.id for n in r.notes]


def test_jordan_block_3x3_rank_note_and_table_agree():
    r = explain(JORDAN_3)
    assert "rank_eigenvalues" in [n.id for n in r.notes]
    assert r.section("structure").fact("diagonalizable") is False


def test_tolerance_only_yes_is_said_to_be_one_in_both_languages():
    # 1e-20 as typed: A is Hermitian, normal, diagonal to within rounding only
    for lang, word in (("en", "verdict of the tolerance"), ("fr", "verdict de la tolérance")):
        r = explain("[[1, 1e-20], [0, 1]]", lang=lang)
        structure = _facts(r, "structure")
        assert structure["hermitian"] is True and structure["diagonal"] is True
        steps = [s for s in r.section("structure").steps if s.key == "structure.tolerance_only"]
        assert len(steps) == 1
        facts = steps[0].values["facts"].split(", ")
        assert {"symmetric", "hermitian", "normal", "diagonal", "diagonalizable"} <= set(facts)
        assert word in render(r, "markdown")


def test_exactly_normal_and_float_input_keep_their_verdicts():
    r = explain("[[2, 1], [1, 2]]")
    assert _facts(r, "structure")["normal"] is True
    assert r.section("structure").steps == []
    # a float64 array is not "as typed": the numerical tests decide, as before
    r = explain(np.array([[1, 1e-10], [0, 1]]))
    assert r.section("structure").steps == []
    # a given tol decides at its resolution
    r = explain(JORDAN_2, tol=1e-8)
    assert r.section("structure").steps == []


# --------------------------------------------------------------- #2 complex symmetric


def _note(r, note_id):
    found = [n for n in r.notes if n.id == note_id]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("[[1, 1j], [1j, -1]]", "defective"),
        ("[[1, 1j], [1j, 2]]", "not_normal"),
        ("[[1, 1j], [1j, 1]]", "normal"),
    ],
)
def test_complex_symmetric_note(text, case):
    en, fr = explain(text), explain(text, lang="fr")
    note, note_fr = _note(en, "complex_symmetric"), _note(fr, "complex_symmetric")
    assert note is not None and note_fr is not None
    assert note.values["case"] == case == note_fr.values["case"]
    assert note.values == note_fr.values
    assert "AAᵀ = AᵀA" in note.text and "AAᵀ = AᵀA" in note_fr.text
    assert "Annexe C.5" in note.text and "annexe C.5" in note_fr.text
    if case == "normal":
        assert note.values["eigenvalues"] == "1 − i, 1 + i"


def test_complex_symmetric_note_absent_for_real_symmetric_and_hermitian():
    for text in ("[[2, 1], [1, 2]]", "[[1, 1j], [-1j, 1]]"):
        assert _note(explain(text), "complex_symmetric") is None


# --------------------------------------------------------------- #3 '%' after a number


@pytest.mark.parametrize(
    ("text", "offset", "char"),
    [
        ("1 2 50% 3\n4 5 6", 6, "%"),
        ("[[50%, 1],[1, 1]]", 4, "%"),
        ("1 2\n3 4%", 7, "%"),
        ("1 2#3\n4 5", 3, "#"),
    ],
)
def test_comment_glued_to_a_number_is_refused(text, offset, char):
    for read in (text_to_array, parse_matrix_text, as_matrix):
        with pytest.raises(ParseError) as err:
            read(text)
        assert err.value.offset == offset
        assert f"'{char}' right after an entry" in str(err.value)
        assert "unbalanced" not in str(err.value)


def test_comment_glued_to_a_number_in_a_txt_file(tmp_path):
    path = tmp_path / "pct.txt"
    path.write_text("1 2 50% 3\n4 5 6\n")
    with pytest.raises(ParseError, match="percentage"):
        as_matrix(path)


def test_comments_set_off_by_a_blank_still_work():
    assert text_to_array("1 2 % note 50%\n3 4").tolist() == [[1, 2], [3, 4]]
    assert text_to_array("1 2 3 # c\n4 5 6 #x").tolist() == [[1, 2, 3], [4, 5, 6]]
    assert text_to_array("[[1, 2],  # first\n [3, 4]]").tolist() == [[1, 2], [3, 4]]
    # LaTeX keeps its own comments
    assert text_to_array("\\begin{bmatrix}1 & 2\\\\ 3 & 4%\n\\end{bmatrix}").tolist() == [
        [1, 2], [3, 4]]


# --------------------------------------------------------------- #4 tall and wide


def test_tall_matrix_note_on_property_3_2():
    r = explain("[[1], [2], [2]]")
    note = _note(r, "zero_sigma_columns")
    assert note is not None
    assert note.values == {"case": "tall", "m": 3, "n": 1, "k": 1, "zero": 0, "dim": 2,
                           "extra": 2}
    note_fr = _note(explain("[[1], [2], [2]]", lang="fr"), "zero_sigma_columns")
    assert note_fr.values == note.values
    assert "N(Aᴴ)" in note.text and "N(Aᴴ)" in note_fr.text
    # the numeric N(Aᴴ) basis spans the span of U's last m − r columns
    U = r.section("svd").fact("U")
    left = r.section("subspaces").fact("left_null")
    assert np.allclose(U[:, 1:] @ U[:, 1:].T @ left, left)


def test_wide_matrix_note_on_property_3_2_and_none_for_square():
    note = _note(explain("[[1, 2, 3], [2, 4, 6]]"), "zero_sigma_columns")
    assert note.values["case"] == "wide" and note.values["dim"] == 2
    assert note.values["extra"] == 1 and note.values["zero"] == 1
    assert _note(explain("[[1, 2], [2, 4]]"), "zero_sigma_columns") is None


# --------------------------------------------------------------- #5 phases


def test_complex_diagonal_sigma_order_says_phases():
    en, fr = explain("[[1j, 0], [0, 2]]"), explain("[[1j, 0], [0, 2]]", lang="fr")
    note, note_fr = _note(en, "sigma_order"), _note(fr, "sigma_order")
    assert note.values["case"] == "phase" == note_fr.values["case"]
    assert "with signs" not in note.text and "phases" in note.text
    assert "au signe près" not in note_fr.text and "phases" in note_fr.text
    # a real one keeps its signs
    assert "case" not in _note(explain("[[1, 0], [0, -2]]"), "sigma_order").values


def test_complex_exact_labels_and_unit_factor():
    md = render(explain("[[1+1j, 2], [0, 1-1j]]"), "markdown")
    assert "fewest negative entries" not in md
    assert "U (exact; phases" in md and "Vᴴ (exact; phases" in md
    assert "√2(2 + 2i)/4" not in md and "√2(1 + i)/2" in md
    md_fr = render(explain("[[1+1j, 2], [0, 1-1j]]", lang="fr"), "markdown")
    assert "U (exacte ; phases" in md_fr
    # a real matrix keeps the sign labels
    assert "fewest negative entries" in render(explain("[[2, 1], [1, 3]]"), "markdown")


def test_unit_factor_value_is_unchanged():
    r = explain("[[1+1j, 2], [0, 1-1j]]")
    factors = [s.values["factor"] for s in r.section("svd").steps if s.key == "svd.sign_phase"]
    assert factors
    for f in factors:
        assert sp.simplify(sp.Abs(f) - 1) == 0


# --------------------------------------------------------------- #6 JSON tol


def test_rank_differs_tol_is_machine_readable():
    r = explain("[[1, 1], [1, 1.00000000000000001]]")
    d = json.loads(render(r, "json"))
    steps = [st for sec in d["sections"] for st in sec["steps"]
             if st["key"] == "exact.rank_differs"]
    assert len(steps) == 1
    tol = steps[0]["values"]["tol"]
    assert float(tol) == d["tolerance"]
    assert float(sp.sympify(tol)) == d["tolerance"]
    assert tol.isascii()
    # the text still shows it as the report's other numbers, never as 0
    assert "8.88e−16" in steps[0]["text"]


# --------------------------------------------------------------- #7 steps


@pytest.mark.parametrize("value", ["no", "false", "0", None, 0, 1])
def test_steps_must_be_a_bool(value):
    with pytest.raises(SvdkitError, match="steps"):
        explain("[[1, 2], [3, 4]]", steps=value)


def test_steps_bool_values_accepted():
    assert explain("[[1, 2], [3, 4]]", steps=np.bool_(False)).section("measures").steps == []
    assert explain("[[1, 2], [3, 4]]", steps=True).section("measures").steps
