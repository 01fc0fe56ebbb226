"""The exact engine (svdkit.exact): the notes' worked examples to the letter, exact identities,
agreement with the numeric engine on a table of small integer matrices, and the front door.

Exactness is checked with SymPy equality: a difference of two exact results must
*be* zero (expanded, then decided by its minimal polynomial when radicals remain),
never merely close to zero.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import svdkit
import svdkit.exact as ex
from svdkit.exact.format import LAMBDA, to_latex, to_mathml, to_text

_T = sp.Symbol("t")


# --------------------------------------------------------------------------------------
# exact equality, independent of svdkit.exact's own checks
# --------------------------------------------------------------------------------------


def is_zero(e) -> bool:
    """SymPy's exact decision: expand, rationalise denominators, and settle what radicals are
    left with the minimal polynomial (``t`` exactly for zero)."""
    e = sp.expand(sp.sympify(e))
    if e == 0:
        return True
    assert not e.has(sp.Float), f"an approximate number in an exact result: {e}"
    if abs(sp.N(e, 30)) > 1e-20:
        return False
    if sp.expand(sp.radsimp(e)) == 0:
        return True
    return sp.minimal_polynomial(e, _T) == _T


def assert_exact_equal(X, Y, what: str = "matrices") -> None:
    X, Y = sp.Matrix(X), sp.Matrix(Y)
    assert X.shape == Y.shape, f"{what}: shapes {X.shape} != {Y.shape}"
    for i, j in itertools.product(range(X.rows), range(X.cols)):
        assert is_zero(X[i, j] - Y[i, j]), f"{what}: entry ({i}, {j}): {X[i, j]} != {Y[i, j]}"


def as_float(M) -> np.ndarray:
    return np.array(sp.Matrix(M).evalf(30).tolist(), dtype=complex)


def negatives(M) -> int:
    """Negative (real) entries of an exact matrix (decided exactly; 50-digit Floats by value)."""
    out = 0
    for x in sp.Matrix(M):
        if x.has(sp.Float):
            out += bool(sp.N(x, 40) < -1e-40)
        elif not is_zero(x) and sp.N(x, 40) < 0:
            out += 1
    return out


def max_gap(X, Y) -> float:
    """The largest entrywise |X − Y|, evaluated to 50 digits (for 50-digit numeric results)."""
    X, Y = sp.Matrix(X), sp.Matrix(Y)
    return max(float(abs(sp.N(a - b, 50))) for a, b in zip(X, Y, strict=True))


def negatives_numeric(M: np.ndarray) -> int:
    return int(np.count_nonzero(np.real(M) < -1e-9))


# --------------------------------------------------------------------------------------
# the notes' worked examples
# --------------------------------------------------------------------------------------


def test_insa_example_1_to_the_letter():
    r = ex.svd([[3, 0], [0, -2]])
    assert r.U == sp.eye(2)
    assert r.Sigma == sp.diag(3, 2)
    assert r.Vh == sp.Matrix([[1, 0], [0, -1]])
    assert r.s == (3, 2) and r.exact and r.rank == 2
    assert_exact_equal(r.U * r.Sigma * r.Vh, [[3, 0], [0, -2]])


def test_insa_example_2_to_the_letter():
    r = ex.svd([[0, 3], [-2, 0], [0, 0]], full=True)
    assert r.U == sp.eye(3)
    assert r.Sigma == sp.Matrix([[3, 0], [0, 2], [0, 0]])
    assert r.Vh == sp.Matrix([[0, 1], [-1, 0]])
    U, s, Vh = r  # unpacks like svdkit.svd
    assert (U, s, Vh) == (r.U, r.s, r.Vh)


def test_insa_examples_thin():
    r = ex.svd([[0, 3], [-2, 0], [0, 0]])
    assert r.U == sp.Matrix([[1, 0], [0, 1], [0, 0]])
    assert r.Vh == sp.Matrix([[0, 1], [-1, 0]])


def test_notes_examples_of_the_other_notes():
    assert ex.trace([[4, 2], [3, 4]]).value == 8
    assert ex.det([[1, 2], [3, 4]]).value == -2
    assert ex.pinv([[2, 0], [0, 0]]).matrix == sp.Matrix([[sp.Rational(1, 2), 0], [0, 0]])
    assert ex.norm([[1, 0], [1, 1], [3, 2]]).value == 4  # Frobenius, note 003
    assert ex.norm([1, 2, 3]).value == sp.sqrt(14)  # ‖a‖ = 3.7416573867739413 (note 001)
    assert ex.norm([1, 2, 3], 1).value == 6
    assert ex.inv([[1, 1], [0, -1]]).matrix == sp.Matrix([[1, 1], [0, -1]])  # its own inverse
    with pytest.raises(svdkit.SingularMatrixError):
        ex.inv([[1, 0], [0, 0]])
    # note 001: eigh(AᵀA) for A = [[1, 2, 3], [4, 5, 6]] ≈ [0, 0.597327474, 90.4026725]
    r = ex.eigh([[17, 22, 27], [22, 29, 36], [27, 36, 45]])
    assert r.values[0] == 0
    assert [round(float(v), 7) for v in r.values[1:]] == [0.5973275, 90.4026725]
    assert r.values[2] == sp.Rational(91, 2) + sp.sqrt(8065) / 2
    s = ex.svd([[1, 2, 3], [4, 5, 6]]).s
    assert [float(x**2) for x in s] == pytest.approx([90.40267253, 0.59732747])
    # note 003: a left inverse of [[1, 3], [1, 2], [3, 1]]
    M = sp.Matrix([[1, 3], [1, 2], [3, 1]])
    assert ex.pinv(M).matrix * M == sp.eye(2)


# --------------------------------------------------------------------------------------
# the table: exact against numeric
# --------------------------------------------------------------------------------------

TABLE = {
    "square_3x3": [[2, -1, 0], [1, 3, 2], [0, 1, 4]],
    "tall_4x2": [[1, 2], [3, 4], [5, 6], [7, 8]],
    "wide_2x3": [[1, 2, 3], [4, 5, 6]],
    "rank1_3x3": [[1, 2, 3], [2, 4, 6], [-1, -2, -3]],
    "rank2_3x3": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "sym_pd": [[2, -1, 0], [-1, 2, -1], [0, -1, 2]],
    "sym_psd": [[1, 1, 0], [1, 1, 0], [0, 0, 0]],
    "sym_indef": [[1, 2], [2, 1]],
    "sym_nd": [[-3, 1], [1, -2]],
    "sym_cubic": [[1, 2, 0], [2, 3, 1], [0, 1, 5]],  # irreducible cubic: numeric roots
    "zero_2x3": [[0, 0, 0], [0, 0, 0]],
    "one_by_one": [[-3]],
    "insa_1": [[3, 0], [0, -2]],
    "insa_2": [[0, 3], [-2, 0], [0, 0]],
    "row_1x3": [[1, -2, 2]],
    "repeated_sigma": [[1, 0, 0], [0, -1, 0], [0, 0, 2]],
}
SYMMETRIC = [k for k, A in TABLE.items() if sp.Matrix(A).is_symmetric()]
NUMERIC_SVD = {"square_3x3", "sym_cubic"}  # AᵀA has an irreducible cubic factor


@pytest.fixture(params=list(TABLE), ids=list(TABLE))
def case(request):
    return request.param, TABLE[request.param]


def test_table_svd_matches_numeric(case):
    _, A = case
    for full in (False, True):
        r = ex.svd(A, full=full)
        num = svdkit.svd(A, full=full)
        np.testing.assert_allclose([float(x) for x in r.s], num.s, atol=1e-12)
        assert r.U.shape == num.U.shape and r.Vh.shape == num.Vh.shape
        np.testing.assert_allclose(as_float(r.U * r.Sigma * r.Vh), np.array(A, float), atol=1e-12)
        assert r.rank == np.linalg.matrix_rank(np.array(A, float))


def test_table_svd_exact_identities(case):
    name, A = case
    r = ex.svd(A, full=True)
    assert r.exact == (name not in NUMERIC_SVD), name
    if not r.exact:  # σ² roots of an irreducible cubic: 50-digit values, labelled
        assert all(isinstance(x, sp.Float) for x in r.s)
        assert "≈" in to_text(r.s[0])
        assert max_gap(r.reconstruct(), A) < 1e-40
        return
    assert_exact_equal(r.U * r.Sigma * r.Vh, A, "UΣVᴴ = A")
    assert_exact_equal(r.U.H * r.U, sp.eye(r.U.cols), "UᴴU = I")
    assert_exact_equal(r.Vh * r.Vh.H, sp.eye(r.Vh.rows), "VᴴV = I")
    assert list(r.s) == sorted(r.s, key=lambda x: -float(x))


def _vectors_unique_up_to_sign(A) -> bool:
    """Distinct non-zero σ and null spaces of dimension ≤ 1: U and V are unique up to signs."""
    s = np.linalg.svd(np.array(A, float), compute_uv=False)
    r = int(np.sum(s > 1e-9))
    m, n = np.shape(A)
    return len(set(np.round(s[:r], 9))) == r and m - r <= 1 and n - r <= 1


def test_the_sign_comparison_is_not_vacuous():
    assert sum(_vectors_unique_up_to_sign(A) for A in TABLE.values()) >= 10


def test_table_sign_choice_has_no_more_negatives_than_numeric(case):
    """Where both engines' vectors agree up to sign, the notes' rule (fewest negative entries)
    can only do as well as the numeric engine's rule, or better."""
    name, A = case
    if not _vectors_unique_up_to_sign(A):
        return
    r = ex.svd(A, full=True)
    num = svdkit.svd(A, full=True)
    ex_neg = negatives(r.U) + negatives(r.Vh)
    num_neg = negatives_numeric(num.U) + negatives_numeric(num.Vh)
    assert ex_neg <= num_neg, f"{name}: exact {ex_neg} negatives > numeric {num_neg}"


def test_table_det_rank_pinv(case):
    _, A = case
    a = np.array(A, float)
    assert ex.rank(A).value == np.linalg.matrix_rank(a)
    P = ex.pinv(A).matrix
    np.testing.assert_allclose(as_float(P).real, np.linalg.pinv(a), atol=1e-12)
    assert_penrose(A, P)
    if a.shape[0] == a.shape[1]:
        d = ex.det(A)
        assert float(d.value) == pytest.approx(np.linalg.det(a), abs=1e-9)
        assert ex.det(A, "bareiss").value == d.value == sp.Matrix(A).det()


def assert_penrose(A, P) -> None:
    A, P = sp.Matrix(A), sp.Matrix(P)
    assert A * P * A == A
    assert P * A * P == P
    assert (A * P).H == A * P
    assert (P * A).H == P * A


def test_table_symmetric_eigenvalues_and_definiteness(case):
    name, A = case
    if name not in SYMMETRIC:
        return
    r = ex.eigh(A)
    np.testing.assert_allclose(
        [float(v) for v in r.values], np.linalg.eigvalsh(np.array(A, float)), atol=1e-12
    )
    if r.exact:
        assert_exact_equal(r.vectors * r.Lambda * r.vectors.H, A, "QΛQᴴ = A")
        assert_exact_equal(r.vectors.H * r.vectors, sp.eye(len(A)), "QᴴQ = I")
    else:
        assert name in NUMERIC_SVD
        assert max_gap(r.reconstruct(), A) < 1e-40
    assert ex.definiteness(A).kind is svdkit.definiteness(A).kind


def test_table_norms(case):
    _, A = case
    a = np.array(A, float)
    for ord in (None, 2, "nuc", 1, "inf"):
        r = ex.norm(A, ord)
        assert float(r.value) == pytest.approx(
            svdkit.norm(a, ord if ord != "inf" else np.inf), abs=1e-12
        ), ord


# --------------------------------------------------------------------------------------
# det, rref, rank, inv
# --------------------------------------------------------------------------------------


def test_det_methods():
    A = [[2, -1, 3], [0, 4, 1], [5, 2, -2]]
    assert ex.det(A).method == "leibniz"
    assert ex.det(A, "bareiss").method == "bareiss"
    assert ex.det(A).value == ex.det(A, "bareiss").value == sp.Matrix(A).det() == -85
    B = sp.randMatrix(5, 5, -5, 5, seed=3)
    assert ex.det(B).method == "bareiss" and ex.det(B).backend == "python-flint"
    assert ex.det(B, steps=True).backend == "svdkit"
    assert ex.det(B).value == ex.det(B, steps=True).value == ex.det(B, "leibniz").value == B.det()
    with pytest.raises(svdkit.SvdkitError, match="allowed up to n = 6"):
        ex.det(sp.eye(7), "leibniz")
    with pytest.raises(svdkit.SvdkitError, match="unknown determinant method"):
        ex.det(A, "lu")
    with pytest.raises(svdkit.ShapeError):
        ex.det([[1, 2, 3]])


def test_det_radicals_and_complex():
    assert ex.det("[[√2, 1], [1, √2]]").value == 1
    assert ex.det("[[1, i], [i, 1]]", "bareiss").value == 2
    assert ex.det("[[π, 1], [1, π]]").value == sp.pi**2 - 1  # π is an indeterminate to Bareiss
    assert ex.det("[[π, 1], [1, π]]", "bareiss").value == sp.pi**2 - 1


def test_rref_and_rank_match_sympy():
    A = sp.Matrix([[0, 2, 4, 1], [1, 1, 1, 0], [2, 2, 2, 0], [1, 3, 5, 1]])
    R, piv = A.rref()
    for steps in (False, True):
        r = ex.rref(A, steps=steps)
        assert r.matrix == R and r.pivots == piv and r.rank == len(piv)
        assert ex.rank(A, steps=steps).value == A.rank() == int(ex.rank(A))
    assert ex.rref("[[1, √2], [√2, 2]]").matrix == sp.Matrix([[1, sp.sqrt(2)], [0, 0]])


def test_inv_exact_and_singular():
    A = sp.Matrix([[2, 1, 0], [1, 3, 1], [0, 1, 4]])
    for steps in (False, True):
        X = ex.inv(A, steps=steps).matrix
        assert A * X == sp.eye(3) and X * A == sp.eye(3)
    X = ex.inv("[[1, i], [0, √2]]").matrix
    assert_exact_equal(sp.Matrix([[1, sp.I], [0, sp.sqrt(2)]]) * X, sp.eye(2))
    with pytest.raises(svdkit.SingularMatrixError, match="column 3") as info:
        ex.inv([[1, 2, 3], [4, 5, 6], [7, 8, 9]], steps=True)
    assert [s.key for s in info.value.steps][-1] == "inv.singular"
    with pytest.raises(svdkit.SingularMatrixError, match="rank is 2 < 3"):
        ex.inv([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    with pytest.raises(svdkit.ShapeError):
        ex.inv([[1, 2]])


# --------------------------------------------------------------------------------------
# pinv, lstsq
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "A",
    [
        [[0, 0], [0, 0]],
        [[1, 2], [3, 4]],
        [[1, 3], [1, 2], [3, 1]],
        [[-2, 3, 0], [1, -1, 0]],
        [[1, 2], [2, 4]],
        "[[1, i], [0, 0], [2, 2i]]",
        "[[√2, 1], [2, √2]]",
    ],
)
def test_pinv_penrose_exact(A):
    for steps in (False, True):
        P = ex.pinv(A, steps=steps).matrix
        M = ex.as_exact(A)
        for X, Y in ((M * P * M, M), (P * M * P, P), ((M * P).H, M * P), ((P * M).H, P * M)):
            assert_exact_equal(X, Y, "Penrose")


def test_lstsq():
    r = ex.lstsq([[1, 0], [0, 1], [1, 1]], [1, 1, 0])
    assert r.x == sp.Matrix([sp.Rational(1, 3), sp.Rational(1, 3)])
    assert r.residuals == (2 * sp.sqrt(3) / 3,) and r.rank == 2
    # rank deficient: the minimum-norm solution, in R(Aᵀ)
    r = ex.lstsq([[1, 1], [1, 1]], [2, 0])
    assert r.x == sp.Matrix([sp.Rational(1, 2), sp.Rational(1, 2)]) and r.rank == 1
    A = sp.Matrix([[1, 2, 3], [2, 4, 6], [1, 0, 1]])
    b = sp.Matrix([1, 2, 4])
    x = ex.lstsq(A, b).x
    assert A.T * (A * x - b) == sp.zeros(3, 1)  # normal equations
    assert x == ex.pinv(A).matrix * b
    # several right-hand sides
    X = ex.lstsq(A, sp.Matrix([[1, 0], [2, 0], [4, 1]])).x
    assert X[:, 0] == x
    with pytest.raises(svdkit.ShapeError, match="b has 2 rows"):
        ex.lstsq(A, [1, 2])


# --------------------------------------------------------------------------------------
# eigh
# --------------------------------------------------------------------------------------


def test_eigh_exact_forms():
    r = ex.eigh([[2, 1], [1, 2]])
    assert r.values == (1, 3)
    assert r.vectors == sp.Matrix([[1, 1], [-1, 1]]) * sp.sqrt(2) / 2
    values, vectors = r
    assert values == r.values and vectors == r.vectors
    r = ex.eigh([[2, -1, 0], [-1, 2, -1], [0, -1, 2]])
    assert r.values == (2 - sp.sqrt(2), 2, 2 + sp.sqrt(2))
    assert r.exact
    assert r.char_poly == sp.expand((LAMBDA - 2) * (LAMBDA**2 - 4 * LAMBDA + 2))


def test_eigh_repeated_eigenvalue_gram_schmidt():
    A = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    r = ex.eigh(A, steps=True)
    assert r.values == (0, 0, 3)
    assert "eigh.gram_schmidt" in r.step_keys()
    assert r.vectors.H * r.vectors == sp.eye(3)
    assert r.vectors * r.Lambda * r.vectors.H == sp.Matrix(A)


def test_eigh_quartic_closed_form():
    A = [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]  # path graph: (±1 ± √5)/2
    r = ex.eigh(A)
    assert r.exact
    assert set(r.values) == {(s1 + s2 * sp.sqrt(5)) / 2 for s1 in (1, -1) for s2 in (1, -1)}
    assert_exact_equal(r.reconstruct(), A)


def test_eigh_numeric_fallback_is_labelled():
    r = ex.eigh([[1, 2, 0], [2, 3, 1], [0, 1, 5]], steps=True)
    assert not r.exact
    assert all(isinstance(v, sp.Float) for v in r.values)
    assert not any(v.has(sp.CRootOf) for v in r.values)
    assert to_text(r.values[0]).startswith("≈")
    assert "eigh.root_numeric" in r.step_keys() and "eigh.check_numeric" in r.step_keys()
    assert max_gap(r.vectors.H * r.vectors, sp.eye(3)) < 1e-40
    assert max_gap(r.reconstruct(), [[1, 2, 0], [2, 3, 1], [0, 1, 5]]) < 1e-40


def test_eigh_complex_hermitian():
    A = sp.Matrix([[2, sp.I], [-sp.I, 2]])
    r = ex.eigh(A)
    assert r.values == (1, 3)
    assert_exact_equal(r.vectors * r.Lambda * r.vectors.H, A)
    assert_exact_equal(r.vectors.H * r.vectors, sp.eye(2))
    # the sign rule for complex vectors: first largest entry real and positive
    for j in range(2):
        col = list(r.vectors[:, j])
        first = next(x for x in col if is_zero(sp.Abs(x) - max(sp.Abs(y) for y in col)))
        assert sp.im(first) == 0 and first > 0


def test_eigh_refuses():
    with pytest.raises(svdkit.StructureError, match=r"A\[0,1\] = 2 but A\[1,0\] = 3"):
        ex.eigh([[1, 2], [3, 4]])
    with pytest.raises(ex.NotAlgebraicError, match="transcendental"):
        ex.eigh("[[π, 1], [1, 0]]")
    with pytest.raises(svdkit.ShapeError):
        ex.eigh([[1, 2]])


# --------------------------------------------------------------------------------------
# svd, beyond the table
# --------------------------------------------------------------------------------------


def test_svd_complex_exact():
    A = sp.Matrix([[1, sp.I], [0, 1]])
    r = ex.svd(A)
    assert r.exact
    assert_exact_equal(r.U * r.Sigma * r.Vh, A)
    assert_exact_equal(r.U.H * r.U, sp.eye(2))
    assert [float(x) for x in r.s] == pytest.approx(list(np.linalg.svd(as_float(A))[1]))


def test_svd_radical_entries():
    A = "[[√2/2, −√2/2], [√2/2, √2/2]]"  # a rotation: σ = 1, 1
    r = ex.svd(A)
    assert r.s == (1, 1)
    assert_exact_equal(r.U * r.Sigma * r.Vh, ex.as_exact(A))


def test_svd_numeric_fallback():
    r = ex.svd([[1, 2, 0], [2, 3, 1], [0, 1, 5]], steps=True)
    assert not r.exact and "svd.check_numeric" in r.step_keys()
    assert max_gap(r.reconstruct(), [[1, 2, 0], [2, 3, 1], [0, 1, 5]]) < 1e-40
    assert max_gap(r.U.H * r.U, sp.eye(3)) < 1e-40


def test_svd_refuses_pi():
    with pytest.raises(ex.NotAlgebraicError):
        ex.svd("[[π, 1]]")


# --------------------------------------------------------------------------------------
# subspaces
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "A",
    [
        [[1, 2, 3], [4, 5, 6]],
        [[1, 2], [2, 4], [3, 6]],
        [[0, 0], [0, 0]],
        [[1, 0, 1], [0, 1, 1], [1, 1, 2]],
        "[[1, i], [i, -1]]",
    ],
)
def test_subspaces_exact(A):
    M = ex.as_exact(A)
    m, n = M.shape
    s = ex.subspaces(A)
    r = M.rank()
    assert s.rank == r and s.dimensions == {
        "column": r,
        "null": n - r,
        "row": r,
        "left_null": m - r,
    }
    for name in ("column", "null", "row", "left_null"):
        Q = getattr(s, name)
        if Q.cols:
            assert_exact_equal(Q.H * Q, sp.eye(Q.cols), f"{name} orthonormal")
    if s.null.cols:
        assert_exact_equal(M * s.null, sp.zeros(m, n - r), "A N = 0")
        assert_exact_equal(M * s.null_basis, sp.zeros(m, n - r))
    if s.left_null.cols:
        assert_exact_equal(M.H * s.left_null, sp.zeros(n, m - r), "Aᴴ N(Aᴴ) = 0")
    if r:
        # same spans: the orthonormal basis of R(A) spans the pivot columns
        P = s.column * s.column.H
        assert_exact_equal(P * s.column_basis, s.column_basis, "R(A)")
        assert_exact_equal(P * M, M, "R(A) holds the columns of A")
        Prow = s.row * s.row.H
        assert_exact_equal(Prow * M.H, M.H, "R(Aᴴ) holds the rows of A")


# --------------------------------------------------------------------------------------
# definiteness
# --------------------------------------------------------------------------------------

K = svdkit.Kind


@pytest.mark.parametrize(
    "A, kind",
    [
        ([[2, -1], [-1, 2]], K.POSITIVE_DEFINITE),
        ([[1, 1], [1, 1]], K.POSITIVE_SEMIDEFINITE),
        ([[-2, 1], [1, -2]], K.NEGATIVE_DEFINITE),
        ([[0, 0], [0, -1]], K.NEGATIVE_SEMIDEFINITE),
        ([[1, 2], [2, 1]], K.INDEFINITE),
        ([[5, 4], [4, 3]], K.INDEFINITE),
        ([[0, 1], [1, 0]], K.INDEFINITE),
        ([[0, 0], [0, 0]], K.POSITIVE_SEMIDEFINITE),
        ([[1, 2, 0], [2, 3, 1], [0, 1, 5]], K.INDEFINITE),
        ([[4, 2, 2], [2, 5, 3], [2, 3, 6]], K.POSITIVE_DEFINITE),
        ([[1, 0, 1], [0, 0, 0], [1, 0, 1]], K.POSITIVE_SEMIDEFINITE),
        ([[0, 1], [1, 1]], K.INDEFINITE),
        ("[[2, i], [-i, 2]]", K.POSITIVE_DEFINITE),
        ("[[0, i], [-i, 0]]", K.INDEFINITE),
        ("[[2, √2], [√2, 1]]", K.POSITIVE_SEMIDEFINITE),
    ],
)
def test_definiteness_criteria(A, kind):
    r = ex.definiteness(A)
    M = r.matrix
    n = M.rows
    assert r.kind is kind
    assert [c.kind for c in r.criteria] == [kind] * 4
    real = all(x.is_real for x in M)
    if real:
        assert svdkit.definiteness(np.array(M.evalf(), float)).kind is kind
    # criterion 1: the reduction is an identity in x, and the witnesses are exact
    qf = r.quadratic_form
    xs = sorted(qf.expression.free_symbols, key=str) if qf.expression.free_symbols else []
    x = sp.Matrix(xs) if len(xs) == n else None
    if x is not None:
        lhs = (x.H * M * x)[0] if not real else (x.T * M * x)[0]
        rhs = qf.expression.replace(  # |z|² = z·z̄, for complex x
            lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sp.Abs) and e.exp == 2,
            lambda e: e.base.args[0] * sp.conjugate(e.base.args[0]),
        )
        assert sp.expand(lhs - rhs) == 0
    for w, sign in ((qf.positive_witness, 1), (qf.negative_witness, -1), (qf.zero_witness, 0)):
        if w is None:
            continue
        value = sp.expand((w.x.H * M * w.x)[0])
        assert value == w.value and sp.sign(value) == sign == w.sign
    p, _, q = r.inertia
    assert (qf.positive_witness is not None) == (p > 0)
    assert (qf.negative_witness is not None) == (q > 0)
    # criterion 3: LLᴴ = ±A exactly
    if r.cholesky.factor is not None:
        L = r.cholesky.factor
        assert L.is_lower
        assert_exact_equal(L * L.H, -M if r.cholesky.negated else M, "LLᴴ")
        assert all(sp.N(L[i, i]) >= 0 for i in range(n))
    # criterion 4: the leading minors are the determinants of the leading blocks
    for k, d in enumerate(r.sylvester.leading_minors, 1):
        assert is_zero(d - M[:k, :k].det())


def test_definiteness_notes_claim_counterexample():
    r = ex.definiteness([[0, 0], [0, -1]], steps=True)
    assert r.sylvester.leading_minors == (0, 0)
    assert r.sylvester.notes_leading_minor_claim and r.sylvester.notes_claim_misleads
    assert r.kind is K.NEGATIVE_SEMIDEFINITE
    assert "definiteness.notes_claim" in r.step_keys()
    r = ex.definiteness([[1, 1], [1, 1]])
    assert r.sylvester.notes_leading_minor_claim and not r.sylvester.notes_claim_misleads


def test_definiteness_cholesky_failures():
    r = ex.definiteness([[1, 2], [2, 1]])  # pivot 2: 1 − 4 = −3 < 0
    a = r.cholesky.attempts[0]
    assert a.pivot == 2 and a.reason == "negative" and a.pivots == (1,)
    r = ex.definiteness([[0, 1], [1, 1]])  # zero pivot with a non-zero entry below
    assert r.cholesky.attempts[1].reason == "zero_column"
    r = ex.definiteness([[0, 0], [0, 2]])  # PSD: the semidefinite factorisation exists
    assert r.cholesky.attempts[0].reason == "zero" and r.cholesky.attempts[1].succeeded
    assert r.cholesky.factor == sp.Matrix([[0, 0], [0, sp.sqrt(2)]])


def test_definiteness_symmetrize_and_refusals():
    with pytest.raises(svdkit.StructureError, match="symmetrize=True"):
        ex.definiteness([[1, 2], [0, 1]])
    r = ex.definiteness([[1, 2], [0, 1]], symmetrize=True)
    assert r.symmetrized and r.matrix == sp.Matrix([[1, 1], [1, 1]])
    assert r.kind is K.POSITIVE_SEMIDEFINITE


def test_definiteness_descartes_counts_without_closed_forms():
    A = sp.Matrix([[1, 2, 0], [2, 3, 1], [0, 1, 5]])
    r = ex.definiteness(A)
    assert not r.eigenvalues.exact  # the eigenvalues are numeric, their signs are exact
    assert r.inertia == (2, 0, 1)
    assert r.eigenvalues.sign_changes == (2, 1)


# --------------------------------------------------------------------------------------
# the front door
# --------------------------------------------------------------------------------------


def test_as_exact_conversions():
    M = ex.as_exact("[[1/2, 0.1], [\\sqrt{2}/2, 1+2i]]")
    assert M == sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 10)], [sp.sqrt(2) / 2, 1 + 2 * sp.I]])
    assert ex.as_exact(
        r"\begin{bmatrix} \frac{1}{3} & -2 \\ 3π & 2^{10} \end{bmatrix}"
    ) == sp.Matrix([[sp.Rational(1, 3), -2], [3 * sp.pi, 1024]])
    assert ex.as_exact([[1, Fraction(2, 3)], [2.0, np.int64(4)]]) == sp.Matrix(
        [[1, sp.Rational(2, 3)], [2, 4]]
    )
    assert ex.as_exact(np.array([[1, 2], [3, 4]])) == sp.Matrix([[1, 2], [3, 4]])
    assert ex.as_exact(np.array([[1.0, 2.0]])) == sp.Matrix([[1, 2]])
    assert ex.as_exact([1, 2, 3]).shape == (3, 1)  # a vector is a column
    assert ex.as_exact(5) == sp.Matrix([[5]])
    assert ex.as_exact(sp.Matrix([[sp.sqrt(3)]])) == sp.Matrix([[sp.sqrt(3)]])
    assert ex.as_exact([[complex(1, 2)]]) == sp.Matrix([[1 + 2 * sp.I]])
    from decimal import Decimal

    assert ex.as_exact([[Decimal("0.25")]]) == sp.Matrix([[sp.Rational(1, 4)]])


@pytest.mark.parametrize(
    "obj, error, match",
    [
        ([[0.5, 1]], "InexactInputError", "row 1, column 1 is the float 0.5"),
        (np.array([[1.0, 0.1]]), "InexactInputError", "row 1, column 2"),
        ([[complex(0.5, 1)]], "InexactInputError", "float 0.5"),
        ([[sp.Float(0.25)]], "InexactInputError", "float"),
        ([[float("nan")]], "NonFiniteError", "non-finite"),
        ([[1, 2], [3]], "RaggedError", "row 2 has 1 entry but row 1 has 2 entries"),
        ([], "EmptyInputError", "empty"),
        ([[]], "EmptyInputError", "empty"),
        ([[[1]]], "ShapeError", "3-D"),
        (np.zeros((2, 2, 2), dtype=int), "ShapeError", "2-D"),
        ([["1", 2]], "ParseError", "pass the whole matrix as one string"),
        ([[sp.Symbol("x")]], "ParseError", "x"),
        ("[[1, 1/0]]", "ParseError", "division by zero"),
        ("[[1, 2], [3]]", "RaggedError", "row 2"),
        ("[[1, x]]", "ParseError", "unknown name 'x'"),
        ("[[2^100000000]]", "ParseError", "too large"),
    ],
)
def test_as_exact_errors(obj, error, match):
    cls = getattr(ex, error, None) or getattr(svdkit, error)
    with pytest.raises(cls, match=match):
        ex.as_exact(obj)
    assert issubclass(cls, svdkit.SvdkitError)


def test_as_exact_files(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("1/2 0.1\n√2 3\n")
    assert ex.as_exact(p) == sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 10)], [sp.sqrt(2), 3]])
    p = tmp_path / "a.json"
    p.write_text("[[1, 2], [3, 4]]")
    assert ex.det(p).value == -2
    p = tmp_path / "b.json"
    p.write_text("[[1.5, 2]]")
    with pytest.raises(ex.InexactInputError):
        ex.as_exact(p)
    p = tmp_path / "a.npy"
    np.save(p, np.array([[1, 2], [3, 4]]))
    assert ex.rank(p).value == 2


def test_as_exact_json_keeps_the_readers_number_rules(tmp_path):
    # the exact engine read .json with its own json.loads: a 4100-digit integer
    # was accepted and 1e-99999 became 0 where every other reader refuses them
    p = tmp_path / "long.json"
    p.write_text("[[" + "1" * 4100 + ", 2]]")
    with pytest.raises(svdkit.ParseError, match="4100 digits; at most 4000"):
        ex.as_exact(p)
    p = tmp_path / "tiny.json"
    p.write_text("[[1e-99999, 2]]")
    with pytest.raises(svdkit.ParseError, match="exponent out of range"):
        ex.as_exact(p)
    p = tmp_path / "broken.json"
    p.write_text("[[1, 2]")
    with pytest.raises(svdkit.SvdkitError, match="line 1, column 8"):
        ex.as_exact(p)


# --------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------


def test_to_text():
    assert to_text(sp.sqrt(2) / 2) == "√2/2"
    assert to_text(sp.Rational(3, 7)) == "3/7"
    assert to_text(sp.Integer(-1)) == "−1"
    assert to_text(2 + sp.I) == "2 + i"
    assert to_text(1 - 2 * sp.I) == "1 − 2i"
    assert to_text(2 * sp.sqrt(3)) == "2√3"
    assert to_text(1 + sp.sqrt(5)) == "1 + √5"
    assert to_text(sp.Matrix([[1, 0], [0, -1]])) == "[[1, 0], [0, −1]]"
    assert to_text(LAMBDA**3 - 91 * LAMBDA**2 + 54 * LAMBDA) == "λ³ − 91λ² + 54λ"
    assert to_text(sp.Float("0.5973274736", 30)).startswith("≈0.597327473")
    assert to_text((1, -2)) == "(1, −2)" and to_text(svdkit.Kind.INDEFINITE) == "indefinite"
    assert str(ex.det([[1, 2], [3, 4]])) == "−2"
    assert str(ex.eigh([[2, 1], [1, 2]])) == "(1, 3)"


def test_to_latex_and_mathml():
    assert to_latex(sp.sqrt(2) / 2) == r"\frac{\sqrt{2}}{2}"
    assert to_latex(sp.Float(0.5, 10)).startswith(r"\approx ")
    assert to_latex(1 + 2 * sp.I) == "1 + 2 i"
    assert to_mathml(sp.sqrt(2)) == "<msqrt><mn>2</mn></msqrt>"
    assert "<mtable>" in to_mathml(sp.Matrix([[1, 2]]))
    assert to_latex("text").startswith(r"\text{")


# --------------------------------------------------------------------------------------
# packaging and speed
# --------------------------------------------------------------------------------------


def test_import_svdkit_does_not_import_sympy():
    code = (
        "import sys, svdkit, svdkit.exact.steps; "
        "print('sympy' in sys.modules, 'svdkit.exact.elimination' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_function_with_steps_on_a_3x3_integer_matrix_is_fast():
    A = [[2, -1, 0], [1, 3, 2], [0, 1, 4]]
    S = [[2, -1, 1], [-1, 3, 2], [1, 2, 4]]

    def everything():
        for method in ("leibniz", "bareiss"):
            ex.det(A, method, steps=True)
        ex.trace(A, steps=True)
        ex.rank(A, steps=True)
        ex.rref(A, steps=True)
        ex.inv(A, steps=True)
        ex.pinv(A, steps=True)
        ex.lstsq(A, [1, 2, 3], steps=True)
        ex.eigh(S, steps=True)
        ex.svd(A, steps=True)
        ex.svd(A, full=True, steps=True)
        ex.subspaces(A, steps=True)
        ex.definiteness(S, steps=True)
        for ord in (None, 2, "nuc", 1, "inf"):
            ex.norm(A, ord, steps=True)

    everything()  # SymPy's caches
    start = time.perf_counter()
    everything()
    assert time.perf_counter() - start < 1.0
