"""What explain says about the notes, checked against the matrix as typed.

The rank–eigenvalue note counted the ±2e−8 that LAPACK makes of a defective
eigenvalue 0 as two non-zero eigenvalues; the identity note took ``--tol`` for
"equal to 1"; a matrix typed with a leading minus sign could not be followed by
options; the pivot-column basis showed columns divided by their gcd; and the
quadratic-form figure numbered the eigenvectors against the report.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from cli_support import run_svdkit

import svdkit.exact as ex
from svdkit.explain import explain
from svdkit.explain.exact_steps import exact_zero_eigenvalues
from svdkit.plot import quadratic_form

NILPOTENT = ["3 9; -1 -3", "6 4; -9 -6", "1 1 1; 1 1 1; -2 -2 -2", "0 1; 0 0",
             "0 1 0 0; 0 0 1 0; 0 0 0 1; 0 0 0 0"]


@pytest.mark.parametrize("matrix", NILPOTENT)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_nilpotent_matrices_have_no_nonzero_eigenvalue(matrix, lang):
    report = explain(matrix, lang=lang, steps=False)
    M = sp.Matrix(report.matrix.astype(int).tolist())
    assert M.charpoly().all_coeffs()[1:] == [0] * M.rows  # λⁿ: every eigenvalue is 0
    note = {n.id: n for n in report.notes}["rank_eigenvalues"]
    assert note.values == {"rank": M.rank(), "nonzero": 0}
    assert ", but it has 0 " in note.text or ", mais elle a 0 " in note.text


@pytest.mark.parametrize("matrix", ["1 1; 0 1", "2 0; 0 3", "1 2; 2 4", "0 0; 0 0"])
def test_matrices_the_claim_holds_for_get_no_note(matrix):
    assert "rank_eigenvalues" not in {n.id for n in explain(matrix, steps=False).notes}


def test_exact_zero_multiplicity_against_sympy():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(1, 6))
        r = int(rng.integers(0, n + 1))
        A = rng.integers(-3, 4, (n, r)) @ rng.integers(-3, 4, (r, n))
        M = sp.Matrix(A.tolist())
        coeffs = M.charpoly().all_coeffs()
        zeros = len(coeffs) - 1 - max(i for i, c in enumerate(coeffs) if c != 0)
        assert exact_zero_eigenvalues(A.tolist(), A.shape) == (M.rank(), zeros)
    assert exact_zero_eigenvalues("sqrt(2) 1; 1 1", (2, 2)) is None  # radicals: not here
    assert exact_zero_eigenvalues("1 2 3; 4 5 6", (2, 3)) is None


@pytest.mark.parametrize(("matrix", "lang"), [("1 0; 0 0.1", "en"), ("0.7 0; 0 0.1", "fr")])
def test_identity_note_needs_entries_equal_to_0_and_1(matrix, lang):
    notes = {n.id for n in explain(matrix, tol=0.5, lang=lang, steps=False).notes}
    assert "identity_definition" not in notes


def test_identity_note_still_meets_a_true_counterexample():
    for tol in (None, 0.5):
        notes = {n.id: n for n in explain("1 0 0; 0 0 0; 0 0 1", tol=tol, steps=False).notes}
        assert "Ae₂ = 0" in notes["identity_definition"].text


@pytest.fixture
def cli(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


def test_a_matrix_with_a_leading_minus_can_be_followed_by_options(cli):
    code, out, err = cli("explain", "-2 3 0; 1 -1 0", "--lang", "fr", "--no-steps")
    assert code == 0, err
    assert "Matrice A (2×3, réelle)" in out
    code, out, err = cli("explain", "-1 2; 3 4", "-f", "json", "--no-steps")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["facts"]["matrix"] == [[-1.0, 2.0], [3.0, 4.0]]
    code, out, err = cli("explain", "-f", "json", "--no-steps", "-1 2; 3 4")  # as before
    assert code == 0, err


@pytest.mark.parametrize("A", [[[1, 2], [3, 4]], [[3, 0], [0, -2]], [[2, 4, 6], [1, 3, 5]],
                               [[sp.Rational(1, 2), 1], [1, 2]]])
def test_the_column_basis_is_the_pivot_columns_of_A(A):
    r = ex.subspaces(A, steps=True)
    M = sp.Matrix(A)
    _, pivots = M.rref()
    assert r.column_basis == M.extract(list(range(M.rows)), list(pivots))
    shown = next(s for s in r.steps if s.key == "subspaces.column").matrices["R(A)"]
    assert shown == r.column_basis


def test_quadratic_figure_numbers_eigenvectors_as_the_report():
    A = [[3, 0], [0, -2]]
    report = explain("3 0; 0 -2", steps=False)
    values = report.section("eigen").fact("eigenvalues")
    assert list(values) == [-2, 3]  # ascending
    fig = quadratic_form(A)
    contours = next(ax for ax in fig.axes if ax.get_label() == "svdkit:quadratic:contours")
    for i, lam in enumerate(values, start=1):
        line = next(ln for ln in contours.get_lines() if ln.get_gid() == f"svdkit:eigen-{i}")
        d = np.asarray(line.get_xydata())[-1]
        assert np.allclose(np.asarray(A) @ d, lam * d)
    labels = [t.get_text() for t in contours.texts]
    assert any("q1 (λ1 = −2)" in x.replace("₁", "1") for x in labels), labels
