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


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [("0 0 1; 0 0 1; -1 1 0", False),  # A³ = 0: one Jordan block of order 3
     ("2 1 0; 0 2 1; 0 0 2", False), ("1 1; 0 1", False),
     ("1 2 3; 4 5 6; 7 8 10", True), ("0 -1; 1 0", True), ("2 0 0; 0 2 0; 0 0 3", True),
     ("1 1 0; 0 1 0; 0 0 1+i", False)],
)
def test_diagonalizable_is_decided_exactly_for_rational_input(matrix, expected):
    report = explain(matrix, steps=False)
    M = ex.as_exact(matrix)
    assert M.is_diagonalizable() is expected
    for section in ("structure", "eigen"):
        assert report.section(section).fact("diagonalizable") is expected
    eigen_steps = [s.key for s in report.section("eigen").steps]
    assert ("eigen.defective" in eigen_steps) is (not expected)
    normal = M * M.H == M.H * M
    assert ("orthogonal_eigenvectors" in {n.id for n in report.notes}) is (
        expected and not normal)


def test_a_given_tolerance_keeps_the_numerical_answer():
    # with --tol the report decides at the user's resolution, in floating point
    report = explain("0 0 1; 0 0 1; -1 1 0", tol=1e-12, steps=False)
    assert isinstance(report.section("structure").fact("diagonalizable"), bool)


@pytest.mark.parametrize(
    "matrix",
    ["-3 -2 0; -5 -2 4; -1 -2 -4",  # det 0 (rank 2), computed −7e−15
     "937600758 133298611; 827334869 117622120"],  # det +1, computed −13.97
)
def test_reflection_note_needs_a_nonzero_determinant(matrix):
    report = explain(matrix, steps=False)
    assert "reflection" not in {n.id for n in report.notes}
    assert sp.Matrix(report.matrix.astype(np.int64).tolist()).det() >= 0


def test_reflection_note_still_meets_a_negative_determinant():
    notes = {n.id: n for n in explain("0 1; 1 0", steps=False).notes}
    assert "reflection" in notes  # det = −1: one of U, V must be a reflection


@pytest.mark.parametrize("matrix", ["2 0; 0 sqrt(2)^2", "sqrt(3) 0; 0 3/sqrt(3)"])
def test_sigma_order_note_ignores_rounding_of_equal_entries(matrix):
    report = explain(matrix, steps=False)
    assert "sigma_order" not in {n.id for n in report.notes}
    assert "sigma_order" in {n.id for n in explain("2 0; 0 3", steps=False).notes}


def test_identity_note_keeps_an_entry_the_rank_counts():
    report = explain("1 0; 0 1e-15", steps=False)
    assert report.section("measures").fact("rank") == 2
    assert "identity_definition" not in {n.id for n in report.notes}


def test_a_nested_root_is_denested_before_the_field_is_built():
    M = ex.as_exact("[[sqrt(3), sqrt(5 - 2*sqrt(6))], [sqrt(5 - 2*sqrt(6)), 1]]")
    r = ex.eigh(M)  # (30 s before; its exact result is checked to 40 digits)
    residual = (r.vectors * sp.diag(*r.values) * r.vectors.T - M).evalf(50)
    assert max(abs(x) for x in residual) < sp.Float("1e-40")
    from svdkit.exact._common import prepare

    denested, _ = prepare(M, "test")
    assert denested[0, 1] == sp.sqrt(3) - sp.sqrt(2)


def test_the_notes_compare_diagonal_entries_in_the_stored_precision():
    """float32 data: 1e−7 is below float32's rounding of 1 (the report's rank is 1), and
    2·(1 + 2⁻²²) is 2 (σ in order); the notes said otherwise with float64's eps."""
    a = np.diag([1.0, 1e-7]).astype(np.float32)
    report = explain(a, steps=False)
    assert report.section("measures").fact("rank") == 1
    assert "identity_definition" in {n.id for n in report.notes}
    assert "identity_definition" not in {n.id for n in explain(a.astype(np.float64),
                                                               steps=False).notes}
    b = np.diag([2.0, 2.0 * (1 + 2**-22)]).astype(np.float32)
    assert "sigma_order" not in {n.id for n in explain(b, steps=False).notes}
    assert "sigma_order" in {n.id for n in explain(b.astype(np.float64), steps=False).notes}
