"""Review: a step's matrix is named truthfully, and step formulas print as the rest of the report.

Row operations give matrices row-equivalent to A (or to [A | I]), not equal to it: they
were all keyed ``"A"`` and drawn ``A = …`` (a 2×4 matrix called A in the inverse). They
are keyed ``"A ∼"`` / ``"[A | I] ∼"`` and drawn ``A ∼ …`` in every format. A one-line
step formula was drawn by SymPy's pretty printer (``Tr(A) = 2 + √ⅈ``, ``2⋅√ⅈ``).
"""

from __future__ import annotations

import json

import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.exact.steps import matrix_relation, row_equivalent
from tests.cli_support import run_svdkit

A = [[3, 0], [0, -2]]
SWAP = [[0, 2, 4], [1, 1, 1], [2, 2, 2]]  # a row swap, and rank 2


def _augmented(M: sp.Matrix) -> sp.Matrix:
    return M.row_join(sp.eye(M.rows))


@pytest.mark.parametrize("matrix", [A, SWAP])
def test_rank_steps_name_row_operations_row_equivalent(matrix):
    M = sp.Matrix(matrix)
    r = ex.rank(M, steps=True)
    ops = [s for s in r.steps if s.key in ("rref.swap", "rref.scale", "rref.eliminate")]
    assert ops
    for s in r.steps:
        if "A" in s.matrices:  # only ever A itself
            assert s.matrices["A"] == M, s.key
    for s in ops:
        assert list(s.matrices) == ["A ∼"], s.key
        R = s.matrices["A ∼"]
        assert R != M and R.shape == M.shape
        assert R.rref()[0] == M.rref()[0]  # row-equivalent: the same RREF


def test_inverse_steps_name_the_augmented_matrix():
    M = sp.Matrix(A)
    r = ex.inv(M, steps=True)
    ops = [s for s in r.steps if s.key.startswith("rref.")]
    assert len(ops) == 2
    for s in ops:
        assert list(s.matrices) == ["[A | I] ∼"]
        W = s.matrices["[A | I] ∼"]
        assert W.shape == (2, 4)
        assert W.rref()[0] == _augmented(M).rref()[0] == sp.Matrix.hstack(sp.eye(2), M.inv())
    assert all("A" not in s.matrices for s in r.steps)


def test_bareiss_swap_is_row_equivalent():
    M = sp.Matrix([[0, 1, 2, 3], [1, 0, 1, 1], [2, 1, 0, 1], [1, 1, 1, 0]])
    r = ex.det(M, method="bareiss", steps=True)
    (swap,) = [s for s in r.steps if s.key == "det.bareiss_swap"]
    assert list(swap.matrices) == ["A ∼"]
    assert swap.matrices["A ∼"] == sp.Matrix.vstack(M[1, :], M[0, :], M[2:, :])
    assert r.steps[0].matrices["A"] == M and r.value == M.det()


def test_relation_helpers():
    assert row_equivalent("A") == "A ∼"
    assert matrix_relation(row_equivalent("[A | I]")) == ("[A | I]", "∼")
    assert matrix_relation("A⁻¹") == ("A⁻¹", "=")


@pytest.mark.parametrize("matrix", ["[[3,0],[0,-2]]", "[[0,2,4],[1,1,1],[2,2,2]]"])
def test_json_key_a_is_always_the_input(matrix, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", matrix, "--format", "json")
    assert code == 0, err
    M = sp.Matrix(sp.sympify(json.loads(matrix)))
    seen = set()
    for sec in json.loads(out)["sections"]:
        for step in sec.get("steps", []):
            for name, rows in step["matrices"].items():
                W = sp.Matrix(sp.sympify(rows))
                if name == "A":
                    assert W == M, step["key"]
                elif name == "A ∼":
                    assert W.rref()[0] == M.rref()[0], step["key"]
                elif name == "[A | I] ∼":
                    assert W.rref()[0] == _augmented(M).rref()[0], step["key"]
                seen.add(name)
    assert "A ∼" in seen
    if M.det() != 0:
        assert "[A | I] ∼" in seen


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_format_draws_the_relation(lang, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    outs = {}
    for fmt in ("terminal", "latex", "markdown", "html"):
        code, out, err = run("explain", "[[3,0],[0,-2]]", "--format", fmt, "--lang", lang)
        assert code == 0, err
        outs[fmt] = out
    text = outs["terminal"]
    assert "[A | I] ∼ ⎡ 1   0  1/3  0 ⎤" in text
    assert "A ∼ ⎡ 1   0 ⎤" in text
    assert "A = ⎡ 1 " not in text  # no row-reduced matrix called A
    assert "A = ⎡ 3   0 ⎤" in text  # A itself still is
    for fmt in ("latex", "markdown"):
        assert r"[A | I] \sim \begin{bmatrix}1 & 0 & \frac{1}{3} & 0" in outs[fmt]
        assert r"A = \begin{bmatrix}1 & 0" not in outs[fmt]
    assert "<mo>∼</mo>" in outs["html"]
    word = "row-equivalent" if lang == "en" else "équivalente par lignes"
    assert all(word in out for out in outs.values())


def test_step_formulas_print_i_as_the_report(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", "[[sqrt(i),1],[1,2]]")
    assert code == 0, err
    assert "Tr(A) = 2 + √i" in out
    assert "det(A) = −1 + 2√i" in out
    assert "ⅈ" not in out
    code, out, err = run("explain", "[[1/2,2*i],[sqrt(3),2]]")
    assert code == 0, err
    assert "det(A) = 1 − 2i√3" in out and "ⅈ" not in out
    assert "2⋅i" in out  # the A A⁻¹ = I check is still drawn over several lines
