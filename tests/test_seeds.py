"""Every worked example of the four course notes (``/work/shared/seeds``).

Each test compares svdkit with the number the note prints *and* checks an
identity, so that a wrong printed number cannot be copied into the test. Where
a note is wrong, the test asserts the truth and shows the counterexample:

* 000 §5.2: "all leading principal minors ≥ 0 ⇔ PSD" is false ([[0, 0], [0, −1]]);
  §2.2: "rotation, stretch, rotation" fails when det A < 0 (a reflection is needed);
* 001 §C.4: "rank of a square matrix = number of non-zero eigenvalues" is false
  ([[0, 1], [0, 0]]);
* 003: ‖aV‖ ≥ |a| ‖V‖ is written where equality holds (and the three listed axioms
  allow a seminorm); "a diagonalisable matrix has n orthogonal eigenvectors" is
  false ([[1, 1], [0, 2]]); "Mᵗ is the right inverse of an orthonormal M" holds
  only for square M; the SVD of diag(2, 3) is not I·diag(2, 3)·I (σ must be
  descending); the pseudo-inverse is V S⁺ Uᵗ, not U S⁺ Vᵗ.

Matrices are passed as the notes write them (LaTeX, nested lists, fractions)
wherever that is natural, so that the front door is exercised too.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import svdkit
from svdkit import NotPositiveDefiniteError, RankError, ShapeError, SingularMatrixError
from svdkit.linalg.cholesky import cholesky
from svdkit.linalg.definiteness import definiteness
from svdkit.linalg.structure import (
    is_diagonal,
    is_diagonalizable,
    is_hermitian,
    is_normal,
    is_orthonormal,
    is_symmetric,
)

EPS = float(np.finfo(float).eps)


def _tol(A, factor: float = 100.0) -> float:
    """``factor · max(m, n) · eps · ‖A‖₂``: rounding-level agreement for A's numbers."""
    a = svdkit.as_matrix(A)
    return factor * max(a.shape) * EPS * max(float(np.linalg.norm(a, 2)), 1.0)


def _printed(x: float) -> float:
    """Half a unit in the last digit of NumPy's ``%.8e`` printout of ``x`` (e.g. 5.97327474e-01)."""
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - 8)


#: Half a unit in the last digit of NumPy's fixed 8-decimal printout (e.g. 0.40824829).
PRINTED_8_DECIMALS = 0.5e-8


def _same_up_to_column_signs(X, Y, tol: float) -> bool:
    X, Y = np.asarray(X), np.asarray(Y)
    return X.shape == Y.shape and all(
        min(np.abs(X[:, j] - Y[:, j]).max(), np.abs(X[:, j] + Y[:, j]).max()) <= tol
        for j in range(X.shape[1])
    )


def _leading_minors(A) -> list[float]:
    a = svdkit.as_matrix(A)
    return [svdkit.det(a[:k, :k]) for k in range(1, a.shape[0] + 1)]


def _principal_minors(A) -> list[float]:
    a = svdkit.as_matrix(A)
    n = a.shape[0]
    return [
        svdkit.det(a[np.ix_(idx, idx)])
        for k in range(1, n + 1)
        for idx in itertools.combinations(range(n), k)
    ]


# ======================================================================================
# 000 — Mathématiques pour l'IA
# ======================================================================================


def test_000_lora_update_is_low_rank():
    """ΔW = A B with A ∈ R^{d×r}, B ∈ R^{r×d}: rank ΔW ≤ r, recovered exactly by the rank-r SVD."""
    rng = np.random.default_rng(0)
    d, r = 12, 2
    W = rng.standard_normal((d, d))
    A, B = rng.standard_normal((d, r)), rng.standard_normal((r, d))
    delta = A @ B
    W_prime = W + delta
    assert svdkit.rank(delta) == r
    assert svdkit.rank(W_prime - W) == r
    approx = svdkit.svd(delta, r).reconstruct()
    assert np.linalg.norm(approx - delta, 2) <= _tol(delta)
    # Parameters learned: 2·d·r instead of d².
    assert A.size + B.size == 2 * d * r < d * d


def test_000_svd_definition_and_geometry():
    M = "[[1, 2, 3], [4, 5, 6]]"
    a = svdkit.as_matrix(M)
    r = svdkit.svd(M, full=True)
    assert r.U.shape == (2, 2) and r.Vh.shape == (3, 3) and r.Sigma.shape == (2, 3)
    assert np.linalg.norm(r.U @ r.Sigma @ r.Vh - a) <= _tol(a)
    assert np.linalg.norm(r.U.T @ r.U - np.eye(2)) <= _tol(a)
    assert np.linalg.norm(r.Vh @ r.Vh.T - np.eye(3)) <= _tol(a)
    assert r.s[0] >= r.s[1] >= 0
    # σ₁ is the largest stretch: ‖Mx‖ ≤ σ₁ ‖x‖, with equality at v₁.
    x = np.random.default_rng(1).standard_normal((3, 500))
    stretch = np.linalg.norm(a @ x, axis=0) / np.linalg.norm(x, axis=0)
    assert stretch.max() <= r.s[0] + _tol(a)
    assert abs(np.linalg.norm(a @ r.V[:, 0]) - r.s[0]) <= _tol(a)


def test_000_rotation_stretch_rotation_needs_a_reflection_when_det_is_negative():
    """The note's "rotation, dilatation, rotation": U and V are orthogonal, not always rotations.

    det A = det U · ∏σᵢ · det V with ∏σᵢ > 0, so det A < 0 forces one reflection.
    """
    A = r"\begin{bmatrix} 3 & 0 \\ 0 & -2 \end{bmatrix}"
    r = svdkit.svd(A)
    assert svdkit.det(A) == -6.0
    dU, dV = np.linalg.det(r.U), np.linalg.det(r.Vh)
    assert abs(abs(dU) - 1) <= _tol(A) and abs(abs(dV) - 1) <= _tol(A)
    assert round(dU * dV) == -1  # one of them is a reflection, whatever the signs chosen


def test_000_four_fundamental_subspaces():
    A = "[[1, 2, 3], [4, 5, 6], [7, 8, 9]]"
    a = svdkit.as_matrix(A)
    S = svdkit.subspaces(A)
    assert S.rank == 2
    assert S.dimensions == {"column": 2, "null": 1, "row": 2, "left_null": 1}
    tol = _tol(a)
    # R(A) ⊥ N(Aᵀ) and R(Aᵀ) ⊥ N(A).
    assert np.abs(S.column.T @ S.left_null).max() <= tol
    assert np.abs(S.row.T @ S.null).max() <= tol
    # N(A) and N(Aᵀ) are both spanned by (1, −2, 1)/√6 here.
    w = np.array([1.0, -2.0, 1.0]) / np.sqrt(6)
    assert _same_up_to_column_signs(S.null, w[:, None], tol)
    assert _same_up_to_column_signs(S.left_null, w[:, None], tol)
    assert np.abs(a @ S.null).max() <= tol and np.abs(a.T @ S.left_null).max() <= tol
    # Property 3.2: the columns of U and V split by zero / non-zero σ.
    full = svdkit.svd(A, full=True)
    assert full.s[1] > tol >= full.s[2]
    np.testing.assert_array_equal(S.column, full.U[:, :2])
    np.testing.assert_array_equal(S.left_null, full.U[:, 2:])
    np.testing.assert_array_equal(S.row, full.V[:, :2])
    np.testing.assert_array_equal(S.null, full.V[:, 2:])


def test_000_spectral_theorem():
    A = "[[2, -1, 0], [-1, 2, -1], [0, -1, 2]]"
    a = svdkit.as_matrix(A)
    values, Q = svdkit.eigh(A)
    exact = np.array([2 - np.sqrt(2), 2.0, 2 + np.sqrt(2)])
    assert np.abs(values - exact).max() <= _tol(a)
    assert np.linalg.norm(Q.T @ Q - np.eye(3)) <= _tol(a)
    assert np.linalg.norm(Q @ np.diag(values) @ Q.T - a) <= _tol(a)
    assert values.dtype == np.float64


def test_000_positive_definite_four_equivalent_criteria():
    A = "[[2, -1, 0], [-1, 2, -1], [0, -1, 2]]"
    a = svdkit.as_matrix(A)
    # 1. xᵀAx > 0 for x ≠ 0 (its minimum on the unit sphere is λ_min = 2 − √2).
    x = np.random.default_rng(2).standard_normal((3, 1000))
    q = np.einsum("ij,ik,kj->j", x, a, x) / np.einsum("ij,ij->j", x, x)
    assert q.min() >= 2 - np.sqrt(2) - _tol(a)
    # 2. λᵢ > 0.
    assert svdkit.eigh(A).values.min() > 0
    # 3. A = L Lᵀ, L lower triangular with a positive diagonal.
    L = cholesky(A)
    assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L) > 0)
    assert np.linalg.norm(L @ L.T - a) <= _tol(a)
    # 4. Sylvester: leading principal minors 2, 3, 4 > 0.
    assert np.allclose(_leading_minors(A), [2.0, 3.0, 4.0], rtol=0, atol=_tol(a))
    r = definiteness(A)
    assert r.kind == "positive definite"
    assert [str(c.kind) for c in r.criteria] == ["positive definite"] * 4


def test_000_positive_semidefinite_true_criteria():
    A = "[[1, 1], [1, 1]]"
    a = svdkit.as_matrix(A)
    x = np.random.default_rng(3).standard_normal((2, 1000))
    assert np.einsum("ij,ik,kj->j", x, a, x).min() >= -_tol(a)  # xᵀAx ≥ 0
    values = svdkit.eigh(A).values
    assert abs(values[0]) <= _tol(a) and abs(values[1] - 2) <= _tol(a)  # λ = 0, 2
    L = cholesky(A, semidefinite=True)  # generalised A = L Lᵀ, diagonal ≥ 0
    assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L) >= 0)
    assert np.linalg.norm(L @ L.T - a) <= _tol(a)
    with pytest.raises(NotPositiveDefiniteError):
        cholesky(A)  # not definite
    assert min(_principal_minors(A)) >= -_tol(a)  # every principal minor ≥ 0
    assert definiteness(A).kind == "positive semidefinite"


def test_000_leading_minors_nonnegative_do_not_imply_psd():
    """The note's "generalised Sylvester criterion" is false."""
    A = "[[0, 0], [0, -1]]"
    a = svdkit.as_matrix(A)
    assert _leading_minors(A) == [0.0, 0.0]  # all ≥ 0: the note would say PSD …
    e2 = np.array([0.0, 1.0])
    assert e2 @ a @ e2 == -1.0  # … but xᵀAx < 0 for x = e₂,
    assert svdkit.eigh(A).values.tolist() == [-1.0, 0.0]  # λ = −1 < 0,
    assert min(_principal_minors(A)) == -1.0  # the principal minor a₂₂ < 0 tells,
    with pytest.raises(NotPositiveDefiniteError):
        cholesky(A, semidefinite=True)  # and no L Lᵀ exists.
    r = definiteness(A)
    assert r.kind == "negative semidefinite"
    assert r.kind != "positive semidefinite" and not r.is_positive_semidefinite
    assert r.sylvester.notes_leading_minor_claim is True
    assert r.sylvester.notes_claim_misleads is True


def _leibniz(a: np.ndarray) -> float:
    n = a.shape[0]
    total = 0.0
    for perm in itertools.permutations(range(n)):
        sign = (-1) ** sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        total += sign * np.prod([a[i, perm[i]] for i in range(n)])
    return total


@pytest.mark.parametrize(
    "abcd", [(1, 2, 3, 4), (3, 0, 0, -2), (2, 1, 1, 2), (0, 1, 1, 0), (5, 7, 2, 3)]
)
def test_000_det_2x2_is_ad_minus_bc(abcd):
    a, b, c, d = abcd
    value = svdkit.det(f"[[{a}, {b}], [{c}, {d}]]")
    # Example 6.1: the two permutations of S₂, id (+ad) and (12) (−bc).
    assert _leibniz(np.array([[a, b], [c, d]], dtype=float)) == a * d - b * c
    assert abs(value - (a * d - b * c)) <= 100 * EPS * (abs(a * d) + abs(b * c))


def test_000_det_leibniz_formula():
    rng = np.random.default_rng(4)
    for n in (3, 4):
        a = rng.integers(-5, 6, size=(n, n)).astype(float)
        exact = _leibniz(a)  # integer arithmetic in floats: exact for these sizes
        assert exact == round(exact)
        assert round(svdkit.det(a)) == exact
        # First-order error of a backward-stable det: cofactors ≤ Hadamard's ∏‖rowᵢ‖.
        hadamard = np.prod(np.linalg.norm(a, axis=1))
        assert abs(svdkit.det(a) - exact) <= 100 * n * n * EPS * hadamard


def test_000_det_properties():
    A = svdkit.as_matrix("[[1, 2, 0], [3, 1, -1], [2, 0, 4]]")
    B = svdkit.as_matrix("[[2, 0, 1], [1, 1, 0], [0, 3, 1]]")
    dA, dB = svdkit.det(A), svdkit.det(B)
    hadamard = np.prod(np.linalg.norm(A, axis=1)) * np.prod(np.linalg.norm(B, axis=1))
    assert abs(svdkit.det(A @ B) - dA * dB) <= 100 * EPS * hadamard
    assert abs(svdkit.det(A.T) - dA) <= 100 * EPS * hadamard
    assert svdkit.det(np.eye(5)) == 1.0
    # Invertible ⇔ det ≠ 0.
    assert svdkit.det("[[1, 2], [2, 4]]") == 0.0
    with pytest.raises(SingularMatrixError):
        svdkit.inv("[[1, 2], [2, 4]]")
    assert svdkit.det("[[1, 2], [3, 4]]") != 0
    assert np.allclose(svdkit.inv("[[1, 2], [3, 4]]") @ [[1, 2], [3, 4]], np.eye(2))
    # Triangular ⇒ product of the diagonal.
    U = svdkit.as_matrix("[[2, 5, -1], [0, 3, 7], [0, 0, -4]]")
    for T in (U, U.T):
        assert abs(svdkit.det(T) - 2 * 3 * -4) <= 100 * EPS * 24


def test_000_trace_example_and_properties():
    assert svdkit.trace(r"\begin{pmatrix} 4 & 2 \\ 3 & 4 \end{pmatrix}") == 8.0
    A = svdkit.as_matrix("[[4, 2], [3, 4]]")
    B = svdkit.as_matrix("[[1, -1], [0, 5]]")
    assert svdkit.trace(A + B) == svdkit.trace(A) + svdkit.trace(B)
    assert svdkit.trace(-2.5 * A) == -2.5 * svdkit.trace(A)
    # Tr(AB) = Tr(BA) for compatible non-square sizes too.
    C, D = svdkit.as_matrix("[[1, 2, 3], [4, 5, 6]]"), svdkit.as_matrix("[[1, 0], [2, -1], [0, 3]]")
    assert svdkit.trace(C @ D) == svdkit.trace(D @ C) == 18.0  # CD = [[5, 7], [14, 13]]
    # Tr = Σλ — for any square matrix, not only the symmetric ones of the note:
    # [[4, 2], [3, 4]] is not symmetric and its eigenvalues are 4 ± √6.
    values = svdkit.eig(A).values
    assert np.allclose(values, [4 - np.sqrt(6), 4 + np.sqrt(6)], rtol=0, atol=_tol(A))
    assert abs(values.sum() - 8.0) <= _tol(A)


# ======================================================================================
# 001 — Annexe C, algèbre linéaire (NumPy)
# ======================================================================================

A001 = "[[1, 2, 3], [4, 5, 6]]"


def test_001_vectors_matrices_transpose_sum_products():
    a = svdkit.as_vector("[1, 2, 3]")
    A = svdkit.as_matrix(A001)
    B = svdkit.as_matrix("[[1, -2, -3], [4, 5, 6]]")
    assert len(a) == 3 and A.shape == (2, 3)
    assert a[0] == 1 and A[1, 2] == 6  # a_1 = 1, A_23 = 6
    np.testing.assert_array_equal(A.T, [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(A + B, [[2, 0, 0], [8, 10, 12]])
    assert a @ a == 14 == svdkit.norm(a) ** 2  # aᵀa = ‖a‖²
    M = A.T @ A
    np.testing.assert_array_equal(M, [[17, 22, 27], [22, 29, 36], [27, 36, 45]])
    assert is_symmetric(M)
    assert svdkit.trace(M) == 91.0 == svdkit.norm(A, "fro") ** 2  # Tr AᵀA = ‖A‖_F²
    # (AB)ᵀ = BᵀAᵀ and AB ≠ BA in general.
    C = svdkit.as_matrix("[[1, 0], [2, 1], [0, -1]]")
    np.testing.assert_array_equal((A @ C).T, C.T @ A.T)
    assert (A @ C).shape != (C @ A).shape


def test_001_norms_printed():
    a = "[1, 2, 3]"
    assert svdkit.norm(a) == 3.7416573867739413  # the number NumPy prints in the note
    assert svdkit.norm(a) == np.sqrt(14.0)
    assert svdkit.norm(a, 1) == 6.0


def test_001_special_matrices():
    n = 3
    A = svdkit.as_matrix("[[1, 2, 0], [0, 1, 5], [3, 0, 1]]")
    a = svdkit.as_vector("[1, -1, 2]")
    eye = np.eye(n)
    np.testing.assert_array_equal(A @ eye, A)
    np.testing.assert_array_equal(eye @ A, A)
    np.testing.assert_array_equal(eye @ a, a)
    assert svdkit.norm(np.zeros(n)) == 0.0 and svdkit.norm(np.ones(n)) == np.sqrt(3)
    assert svdkit.rank(np.zeros((n, 2 * n))) == 0 and svdkit.rank(eye) == n
    assert svdkit.det(eye) == 1.0 and svdkit.trace(eye) == 3.0


def test_001_cauchy_schwarz():
    u, v = svdkit.as_vector("[1, 2, 3]"), svdkit.as_vector("[4, -5, 6]")
    assert abs(u @ v) <= svdkit.norm(u) * svdkit.norm(v)
    assert abs(u @ v) < svdkit.norm(u) * svdkit.norm(v)  # strict: not collinear
    assert abs(svdkit.cosine(u, v)) < 1
    w = -2.5 * u  # collinear: equality
    assert abs(abs(u @ w) - svdkit.norm(u) * svdkit.norm(w)) <= 10 * EPS * abs(u @ w)
    assert svdkit.cosine(u, w) == -1.0


def test_001_inverse_definition():
    A = "[[2, 1], [7, 4]]"
    X = svdkit.inv(A)
    np.testing.assert_allclose(X, [[4, -1], [-7, 2]], rtol=0, atol=_tol(A) * 10)
    a = svdkit.as_matrix(A)
    assert np.linalg.norm(a @ X - np.eye(2)) <= _tol(A) * 10
    assert np.linalg.norm(X @ a - np.eye(2)) <= _tol(A) * 10


def test_001_rank_statements():
    A = svdkit.as_matrix(A001)
    assert svdkit.rank(A) == 2 <= min(A.shape)
    B = svdkit.as_matrix("[[1, 0], [0, 0], [1, 0]]")  # rank 1
    assert svdkit.rank(A @ B) <= min(svdkit.rank(A), svdkit.rank(B)) == 1
    # Rank = number of non-zero singular values, for every matrix.
    s = svdkit.svd(A).s
    assert svdkit.rank(A) == int(np.sum(s > 3 * EPS * s[0]))


def test_001_rank_is_not_the_number_of_nonzero_eigenvalues():
    """The note: "rank of a square matrix = number of non-zero eigenvalues". False."""
    N = "[[0, 1], [0, 0]]"  # nilpotent
    assert svdkit.eig(N).values.tolist() == [0.0, 0.0]  # no non-zero eigenvalue …
    assert svdkit.rank(N) == 1  # … yet rank 1,
    assert svdkit.svd(N).s.tolist() == [1.0, 0.0]  # the count of non-zero σ.
    assert not is_diagonalizable(N)  # (it holds for diagonalisable matrices)


def test_001_eigh_of_AtA_matches_the_printout():
    A = svdkit.as_matrix(A001)
    M = A.T @ A
    values, U = svdkit.eigh(M)
    # Printed: [2.91325866e-15 5.97327474e-01 9.04026725e+01]. The first is rounding
    # noise of NumPy's run: the truth is 0 (AᵀA is 3×3 of rank 2).
    assert abs(values[0]) <= _tol(M)
    assert abs(values[1] - 0.597327474) <= _printed(0.597327474)
    assert abs(values[2] - 90.4026725) <= _printed(90.4026725)
    # Exactly: the non-zero eigenvalues of AᵀA are those of AAᵀ = [[14, 32], [32, 77]],
    # (91 ± √8065) / 2.
    assert abs(values[1] - (91 - np.sqrt(8065)) / 2) <= _tol(M)
    assert abs(values[2] - (91 + np.sqrt(8065)) / 2) <= _tol(M)
    printed_U = [
        [0.40824829, -0.80596391, -0.42866713],
        [-0.81649658, -0.11238241, -0.56630692],
        [0.40824829, 0.58119908, -0.7039467],
    ]
    # Eigenvectors only up to sign (the note says so): compare column by column.
    assert _same_up_to_column_signs(U, printed_U, PRINTED_8_DECIMALS + _tol(M))
    np.testing.assert_allclose(U @ np.diag(values) @ U.T, M, rtol=0, atol=_tol(M))
    # M u₃ = λ₃ u₃; the note prints [-38.7526545 -51.19565893 -63.63866337] for its sign.
    u3 = U[:, 2]
    printed = np.array([-38.7526545, -51.19565893, -63.63866337])
    assert _same_up_to_column_signs(
        (M @ u3)[:, None], printed[:, None], PRINTED_8_DECIMALS + _tol(M)
    )
    np.testing.assert_allclose(M @ u3, values[2] * u3, rtol=0, atol=_tol(M))


def test_001_svd_and_its_link_with_eig():
    A = svdkit.as_matrix(A001)
    _, s, Vt = svdkit.svd(A001, full=True)
    printed_s2 = [90.40267253, 0.59732747]
    assert np.all(np.abs(s**2 - printed_s2) <= PRINTED_8_DECIMALS + _tol(A))
    assert np.all(np.abs(s**2 - [(91 + np.sqrt(8065)) / 2, (91 - np.sqrt(8065)) / 2]) <= _tol(A))
    printed_V = [
        [-0.42866713, 0.80596391, 0.40824829],
        [-0.56630692, 0.11238241, -0.81649658],
        [-0.7039467, -0.58119908, 0.40824829],
    ]
    assert _same_up_to_column_signs(Vt.T, printed_V, PRINTED_8_DECIMALS + _tol(A))
    # Xᵀ X vₖ = σₖ² vₖ (and the third vector is in the null space).
    M = A.T @ A
    lam = np.concatenate([s**2, [0.0]])
    np.testing.assert_allclose(M @ Vt.T, Vt.T * lam, rtol=0, atol=_tol(M))
    eig_desc = svdkit.eigh(M).values[::-1]
    np.testing.assert_allclose(eig_desc, lam, rtol=0, atol=_tol(M))


def test_001_thin_and_truncated_svd():
    X = svdkit.as_matrix(A001)  # n = 2 < d = 3
    full = svdkit.svd(X, full=True)
    thin = svdkit.svd(X)
    assert full.Sigma.shape == (2, 3) and thin.Sigma.shape == (2, 2)
    assert thin.Vh.shape == (2, 3)
    # Thin: X = U S_n V_nᵀ, nothing lost.
    np.testing.assert_allclose(thin.U @ thin.Sigma @ thin.Vh, X, rtol=0, atol=_tol(X))
    np.testing.assert_allclose(full.U @ full.Sigma[:, :2] @ full.Vh[:2], X, rtol=0, atol=_tol(X))
    # Truncated with p = 1 < rank X = 2: X̂ ≠ X, and X̂ is the best rank-1 approximation.
    Xh = svdkit.svd(X, 1).reconstruct()
    err = np.linalg.norm(X - Xh, 2)
    assert abs(err - thin.s[1]) <= _tol(X) and err > 0.7  # σ₂ = √0.597… ≈ 0.773
    rng = np.random.default_rng(5)
    for _ in range(500):
        Y = np.outer(rng.standard_normal(2), rng.standard_normal(3)) * rng.exponential(5)
        assert np.linalg.norm(X - Y, 2) >= err - _tol(X)
        assert np.linalg.norm(X - Y) >= np.linalg.norm(X - Xh) - _tol(X)


# ======================================================================================
# 002 — INSA Lyon, SVD (complex case, U Σ V*)
# ======================================================================================


def test_002_example_1_exactly_as_worked_by_hand():
    A = r"\begin{bmatrix} 3 & 0 \\ 0 & -2 \end{bmatrix}"
    for r in (svdkit.svd(A), svdkit.svd(A, full=True)):
        np.testing.assert_array_equal(r.U, [[1, 0], [0, 1]])
        np.testing.assert_array_equal(r.s, [3, 2])
        np.testing.assert_array_equal(r.Sigma, [[3, 0], [0, 2]])
        np.testing.assert_array_equal(r.Vh, [[1, 0], [0, -1]])
        np.testing.assert_array_equal(r.U @ r.Sigma @ r.Vh, [[3, 0], [0, -2]])
    a = svdkit.as_matrix(A)
    # (7): A*A = diag(9, 4), eigenvalues 9 and 4, σ = 3, 2.
    np.testing.assert_array_equal(a.conj().T @ a, [[9, 0], [0, 4]])
    assert np.sqrt(svdkit.eigh(a.conj().T @ a).values[::-1]).tolist() == [3.0, 2.0]


def test_002_example_2_exactly_as_worked_by_hand():
    A = r"\begin{bmatrix} 0 & 3 \\ -2 & 0 \\ 0 & 0 \end{bmatrix}"
    r = svdkit.svd(A, full=True)
    np.testing.assert_array_equal(r.U, np.eye(3))
    np.testing.assert_array_equal(r.Sigma, [[3, 0], [0, 2], [0, 0]])
    np.testing.assert_array_equal(r.Vh, [[0, 1], [-1, 0]])
    a = svdkit.as_matrix(A)
    np.testing.assert_array_equal(r.U @ r.Sigma @ r.Vh, a)
    # (12): A*A = diag(4, 9); its eigenvalues 9, 4 give σ₁ = 3, σ₂ = 2; rank 2.
    np.testing.assert_array_equal(a.conj().T @ a, [[4, 0], [0, 9]])
    assert svdkit.rank(A) == 2
    # AA* is 3×3 with eigenvalues 0, 4, 9 and eigenvectors e₁, e₂, e₃.
    values, X = svdkit.eigh(a @ a.conj().T)
    assert values.tolist() == [0.0, 4.0, 9.0]
    assert _same_up_to_column_signs(X, np.eye(3)[:, [2, 1, 0]], 0.0)
    # A vᵢ = σᵢ uᵢ.
    for i in range(2):
        np.testing.assert_array_equal(a @ r.V[:, i], r.s[i] * r.U[:, i])


def test_002_singular_values_are_roots_of_eigenvalues_of_AhA_and_AAh():
    """Theorems 3.2 and 3.3, on complex matrices of both orientations."""
    A = svdkit.as_matrix("[[1+2i, 3, 0], [0, 1-1i, 2i]]")
    for a in (A, A.conj().T):
        r = svdkit.svd(a)
        tol = _tol(a @ a.conj().T)
        for G, k in ((a.conj().T @ a, a.shape[1]), (a @ a.conj().T, a.shape[0])):
            assert is_hermitian(G)
            lam = svdkit.eigh(G).values
            assert lam.min() >= -tol  # Hermitian *and* positive semidefinite
            nonzero = np.sort(lam[lam > tol])[::-1]
            np.testing.assert_allclose(np.sqrt(nonzero), r.s, rtol=0, atol=tol)
            assert lam.size - nonzero.size == k - 2
        # Columns of U (V) are eigenvectors of AA* (A*A).
        np.testing.assert_allclose(a @ a.conj().T @ r.U, r.U * r.s**2, rtol=0, atol=tol)
        np.testing.assert_allclose(a.conj().T @ a @ r.V, r.V * r.s**2, rtol=0, atol=tol)
    # A Hermitian matrix in general has real eigenvalues, not positive ones.
    assert svdkit.eigh("[[0, 1i], [-1i, 0]]").values.tolist() == [-1.0, 1.0]


def test_002_geometry_hyperellipse_and_reduced_svd():
    a = svdkit.as_matrix("[[1, 2], [0, 1], [2i, 1]]")  # m ≥ n, rank n
    r = svdkit.svd(a)  # reduced: Û m×n, Σ̂ n×n, V n×n
    assert r.U.shape == (3, 2) and r.Sigma.shape == (2, 2) and r.Vh.shape == (2, 2)
    np.testing.assert_allclose(a @ r.V, r.U @ r.Sigma, rtol=0, atol=_tol(a))  # AV = ÛΣ̂
    assert r.s[1] > 0
    # The image of the unit sphere: ‖Ax‖ ∈ [σ_n, σ₁] for ‖x‖ = 1, the bounds reached at vᵢ.
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2000)) + 1j * rng.standard_normal((2, 2000))
    x /= np.linalg.norm(x, axis=0)
    lengths = np.linalg.norm(a @ x, axis=0)
    assert lengths.max() <= r.s[0] + _tol(a) and lengths.min() >= r.s[1] - _tol(a)
    for i in range(2):  # semi-axes σᵢ uᵢ = A vᵢ
        np.testing.assert_allclose(a @ r.V[:, i], r.s[i] * r.U[:, i], rtol=0, atol=_tol(a))
    # Full SVD of a rank-deficient matrix: r < n non-zero σ, U and V still unitary.
    b = svdkit.as_matrix("[[1, 2, 3], [2, 4, 6], [1i, 2i, 3i]]")
    f = svdkit.svd(b, full=True)
    assert svdkit.rank(b) == 1 and f.s[1] <= _tol(b)
    np.testing.assert_allclose(f.U.conj().T @ f.U, np.eye(3), rtol=0, atol=_tol(b))
    np.testing.assert_allclose(f.Vh @ f.Vh.conj().T, np.eye(3), rtol=0, atol=_tol(b))


def test_002_uniqueness_up_to_a_complex_unit():
    """Distinct σ: uᵢ and vᵢ are unique up to one complex unit factor (Theorem 3.1)."""
    a = svdkit.as_matrix("[[2, 1i], [1-1i, 3]]")
    r = svdkit.svd(a)
    U2, s2, Vh2 = np.linalg.svd(a)
    np.testing.assert_allclose(r.s, s2, rtol=0, atol=_tol(a))
    for i in range(2):
        c = np.vdot(U2[:, i], r.U[:, i])  # the unit factor between the two answers
        assert abs(abs(c) - 1) <= _tol(a)
        np.testing.assert_allclose(r.U[:, i], c * U2[:, i], rtol=0, atol=_tol(a))
        np.testing.assert_allclose(r.Vh[i], np.conj(c) * Vh2[i], rtol=0, atol=_tol(a))


# ======================================================================================
# 003 — Vecteurs et matrices (information retrieval course)
# ======================================================================================

V003 = r"\left [ \begin{array}{c}1 \\ 2 \\ 1\end{array} \right ]"
M003 = r"""\left [ \begin{array}{cc}
1 & 3\\
1 & 2 \\
3 & 1
\end{array}\right ]"""
P003 = r"""\left [  \begin{array}{ccc}
-2 & 3 & 0\\
1 & -1 & 0 \\
\end{array}\right]"""


def test_003_scalar_plus_vector_and_scalar_times_vector():
    V = svdkit.as_vector(V003)
    np.testing.assert_array_equal(V - 1, [0, 1, 0])
    np.testing.assert_array_equal(V + (-1), V - 1)
    np.testing.assert_array_equal(2 * V, [2, 4, 2])
    assert svdkit.norm(2 * V) == 2 * svdkit.norm(V)


def test_003_matrix_entries_and_products():
    example = svdkit.as_matrix(
        r"\left [ \begin{array}{cc}1 & 3 \\ 2 & 5 \\ 1 & 5\end{array} \right ]"
    )
    assert example[1, 0] == 2 and example[0, 1] == 3  # M_{2,1} = 2, M_{1,2} = 3
    M = svdkit.as_matrix(M003)
    one = svdkit.as_vector(r"\left [  \begin{array}{c} 1 \\ 1 \end{array}\right]")
    np.testing.assert_array_equal(M @ one, [4, 3, 4])
    np.testing.assert_array_equal(M @ one, M[:, 0] + M[:, 1])  # R_i = Σ_k M_ik V_k
    P = svdkit.as_matrix(r"\left [  \begin{array}{cc} 1 & 1 \\ 1 & 0 \end{array}\right]")
    np.testing.assert_array_equal(M @ P, [[4, 1], [3, 1], [4, 3]])
    # A vector is a one-column matrix: the matrix–vector product is a column of MP.
    np.testing.assert_array_equal((M @ P)[:, 1], M @ P[:, 1])
    # m × n multiplications for a matrix–vector product.
    count = sum(1 for i in range(M.shape[0]) for k in range(M.shape[1]))
    assert count == M.size == 6


def test_003_transpose_symmetric_normal_diagonal_identity():
    M = svdkit.as_matrix(M003)
    np.testing.assert_array_equal(M.T, [[1, 1, 3], [3, 2, 1]])
    np.testing.assert_array_equal(M.T.T, M)
    P = svdkit.as_matrix("[[1, 1], [1, 0]]")
    np.testing.assert_array_equal((M @ P).T, P.T @ M.T)
    assert is_symmetric(M @ M.T) and not is_symmetric(M)
    N = svdkit.as_matrix(r"\left [ \begin{array}{cc} 1 &  1 \\ 0 & 2 \\ \end{array}\right ]")
    np.testing.assert_array_equal(N @ N.T, [[2, 2], [2, 4]])
    np.testing.assert_array_equal(N.T @ N, [[1, 1], [1, 5]])
    assert not is_normal(N)
    assert is_normal(r"\left [ \begin{array}{cc} 1 &  2\\ 2 & 3 \\ \end{array}\right ]")
    D = "[[1, 0, 0], [0, 2, 0], [0, 0, 3]]"
    assert is_diagonal(D) and is_symmetric(D) and is_normal(D)
    assert is_diagonal(np.eye(3)) and not is_diagonal(N)
    np.testing.assert_array_equal(N @ np.eye(2), np.eye(2) @ N)
    # "diagonal with every non-zero value equal to 1 ⇒ identity": not so, diag(1, 0, 1)
    # is diagonal, its non-zero values are 1, and it is singular.
    E = "[[1, 0, 0], [0, 0, 0], [0, 0, 1]]"
    assert is_diagonal(E) and svdkit.rank(E) == 2
    with pytest.raises(SingularMatrixError):
        svdkit.inv(E)


def test_003_inverses():
    A = r"\left [ \begin{array}{cc} 1 &  1 \\ 0 & -1 \\ \end{array}\right ]"
    a = svdkit.as_matrix(A)
    np.testing.assert_array_equal(svdkit.inv(A), a)  # its own inverse
    np.testing.assert_array_equal(a @ a, np.eye(2))
    with pytest.raises(SingularMatrixError):
        svdkit.inv(r"\left [ \begin{array}{cc} 1 &  0 \\ 0 & 0 \\ \end{array}\right ]")
    assert svdkit.det("[[1, 0], [0, 0]]") == 0.0
    # (AB)⁻¹ = B⁻¹A⁻¹, and MP = I ⇒ PM = I for square matrices.
    B = svdkit.as_matrix("[[2, 1], [1, 1]]")
    np.testing.assert_allclose(
        svdkit.inv(a @ B), svdkit.inv(B) @ svdkit.inv(a), rtol=0, atol=_tol(B) * 10
    )
    Bi = svdkit.inv(B)
    np.testing.assert_allclose(B @ Bi, np.eye(2), rtol=0, atol=_tol(B) * 10)
    np.testing.assert_allclose(Bi @ B, np.eye(2), rtol=0, atol=_tol(B) * 10)


def test_003_left_and_right_inverses_of_non_square_matrices():
    M, P = svdkit.as_matrix(M003), svdkit.as_matrix(P003)
    np.testing.assert_array_equal(P @ M, np.eye(2))  # the note's left inverse of M
    L = svdkit.left_inverse(M003)  # svdkit returns another one: the Moore–Penrose one
    np.testing.assert_allclose(L @ M, np.eye(2), rtol=0, atol=_tol(M))
    assert np.abs(L - P).max() > 0.1  # a different left inverse
    np.testing.assert_allclose(L, svdkit.pinv(M003), rtol=0, atol=_tol(M))
    np.testing.assert_allclose(L, np.linalg.solve(M.T @ M, M.T), rtol=0, atol=_tol(M) * 10)
    # Left inverses differ by rows in N(Mᵀ): (P − L) M = 0; L's rows lie in R(M).
    np.testing.assert_allclose((P - L) @ M, 0, atol=_tol(M))
    assert np.linalg.matrix_rank(np.vstack([M.T, L])) == 2
    # "… mais pas les deux": a tall M has no right inverse, P (wide) no left inverse.
    with pytest.raises(RankError):
        svdkit.right_inverse(M003)
    with pytest.raises(RankError):
        svdkit.left_inverse(P003)
    R = svdkit.right_inverse(P003)
    np.testing.assert_allclose(P @ R, np.eye(2), rtol=0, atol=_tol(P) * 10)


def test_003_solvable_without_an_inverse():
    A = r"\left [ \begin{array}{cc} 1 &  0 \\ 0 & 0 \\ \end{array}\right ]"
    b = r"\left [ \begin{array}{c} 1  \\ 0  \\ \end{array}\right ]"
    with pytest.raises(SingularMatrixError):
        svdkit.inv(A)
    r = svdkit.lstsq(A, svdkit.as_vector(b))
    assert r.x.tolist() == [1.0, 0.0] and r.residuals == 0.0 and r.rank == 1
    a = svdkit.as_matrix(A)
    # Every x = (1, t) solves it; lstsq returns the one of minimal norm.
    for t in (-2.0, 0.5, 3.0):
        x = np.array([1.0, t])
        np.testing.assert_array_equal(a @ x, [1, 0])
        assert svdkit.norm(x) >= svdkit.norm(r.x)


def test_003_pseudo_inverse():
    A = r"\left [ \begin{array}{cc} 2 &  0 \\ 0 & 0 \\ \end{array}\right ]"
    X = svdkit.pinv(A)
    np.testing.assert_array_equal(X, svdkit.as_matrix("[[1/2, 0], [0, 0]]"))
    np.testing.assert_array_equal(X @ [1, 0], [0.5, 0])  # the note's least-squares solution
    a = svdkit.as_matrix(A)
    for lhs, rhs in ((a @ X @ a, a), (X @ a @ X, X), ((a @ X).T, a @ X), ((X @ a).T, X @ a)):
        np.testing.assert_array_equal(lhs, rhs)  # Moore–Penrose, exactly here
    # The 1/0 = 0 convention: σ = (2, 0) gives Σ⁺ = diag(1/2, 0).
    r = svdkit.svd(A)
    assert r.s.tolist() == [2.0, 0.0] and r.rank() == 1


def test_003_norm_axioms():
    V = svdkit.as_vector("[3, 4]")
    assert svdkit.norm(V) == 5.0  # √(a² + b²)
    W = svdkit.as_vector("[-1, 2]")
    assert svdkit.norm(V) >= 0
    assert svdkit.norm(V + W) <= svdkit.norm(V) + svdkit.norm(W)
    # The note writes ‖aV‖ ≥ |a| ‖V‖; for a norm it is an equality.
    for alpha in (-2.0, 0.5, 0.0, 3.0):
        assert svdkit.norm(alpha * V) == abs(alpha) * svdkit.norm(V)

    # The three properties as listed (≥ 0, "≥"-homogeneity, triangle) also hold for
    # the seminorm f(V) = |V₁|, which vanishes on V = (0, 1) ≠ 0: a norm also needs
    # ‖V‖ = 0 ⇒ V = 0. svdkit's norm has it.
    def f(x):
        return abs(x[0])

    e2 = np.array([0.0, 1.0])
    assert f(e2) == 0 and np.any(e2)
    for x, y, a in ((V, W, -2.0), (e2, V, 0.5)):
        assert f(a * x) >= abs(a) * f(x) and f(x + y) <= f(x) + f(y)
    assert svdkit.norm(e2) == 1.0


def test_003_frobenius_norm_and_sub_multiplicativity():
    text = r"""\left \Vert \begin{array}{cc}
1 & 0\\
1 & 1 \\
3  & 2
\end{array}\right \Vert"""
    M = svdkit.as_matrix(text)
    assert svdkit.norm(text) == 4.0 == np.sqrt(1 + 1 + 1 + 3**2 + 2**2)
    assert svdkit.norm(M, "frobenius") == 4.0
    P = svdkit.as_matrix("[[1, -1], [2, 0.5]]")
    v = svdkit.as_vector("[2, -3]")
    assert svdkit.norm(M @ P) <= svdkit.norm(M) * svdkit.norm(P)
    assert svdkit.norm(M @ v) <= svdkit.norm(M) * svdkit.norm(v)


def test_003_dot_product_and_cosine():
    V, W = svdkit.as_vector("[1, 1, 3]"), svdkit.as_vector("[1, 1, 1]")
    assert V @ W == 5.0
    assert svdkit.norm(V) ** 2 == pytest.approx(V @ V, rel=4 * EPS) and V @ V == 11
    assert abs(svdkit.norm(V / svdkit.norm(V)) - 1) <= 2 * EPS
    assert abs(svdkit.cosine(V, W) - 5 / np.sqrt(33)) <= 4 * EPS


def test_003_orthogonal_and_orthonormal_vectors_and_matrices():
    a, b, c = np.array([1.0, 0, 0]), np.array([0.0, 1, 1]), np.array([0.0, -1, 1])
    assert a @ b == a @ c == b @ c == 0  # orthogonal …
    assert not is_orthonormal(np.column_stack([a, b, c]))  # … not orthonormal (‖b‖ = √2)
    Q = svdkit.as_matrix(
        r"""\left [ \begin{array}{ccc}
1 & 0 & 0\\
0 & 1/\sqrt{2} & -1/\sqrt{2} \\
0 & 1/\sqrt{2} & 1/\sqrt{2}
\end{array}\right ]"""
    )
    assert is_orthonormal(Q)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), rtol=0, atol=4 * EPS)
    assert is_normal(Q)  # a square orthonormal matrix is normal
    # The note's orthonormal vectors a, b/‖b‖, c/‖c‖ are the columns of Q.
    for j, w in enumerate((a, b, c)):
        np.testing.assert_allclose(Q[:, j], w / svdkit.norm(w), rtol=0, atol=EPS)
    # Non-square orthonormal: MᵗM = I makes Mᵗ a *left* inverse, not a right one.
    T = Q[:, :2]
    assert is_orthonormal(T) and not is_normal(T)
    np.testing.assert_allclose(T.T @ T, np.eye(2), rtol=0, atol=4 * EPS)
    assert svdkit.rank(T @ T.T) == 2  # T Tᵗ is a rank-2 projector, not I₃
    assert np.abs(T @ T.T - np.eye(3)).max() >= 0.5
    # [[1, 1], [1, 1]] is normal but not orthonormal.
    assert is_normal("[[1, 1], [1, 1]]") and not is_orthonormal("[[1, 1], [1, 1]]")


def test_003_diagonalisable_does_not_mean_orthogonal_eigenvectors():
    A = "[[1, 1], [0, 2]]"
    assert is_diagonalizable(A) and not is_normal(A)
    r = svdkit.eig(A)
    assert r.values.tolist() == [1.0, 2.0]
    # Eigenspaces are lines, so every choice of eigenvectors is at 45°: never orthogonal.
    assert abs(abs(svdkit.cosine(r.vectors[:, 0], r.vectors[:, 1])) - 1 / np.sqrt(2)) <= 4 * EPS
    # P⁻¹ M P is diagonal with P = the eigenvectors.
    D = svdkit.inv(r.vectors) @ svdkit.as_matrix(A) @ r.vectors
    np.testing.assert_allclose(D, np.diag(r.values), rtol=0, atol=_tol(A))
    # Normal ⇒ diagonalisable with orthonormal eigenvectors.
    S = svdkit.eig("[[1, 2], [2, 3]]")
    assert abs(svdkit.cosine(S.vectors[:, 0], S.vectors[:, 1])) <= 4 * EPS
    # Not every matrix is diagonalisable: a Jordan block.
    J = "[[1, 1], [0, 1]]"
    assert not is_diagonalizable(J)
    with pytest.raises(SingularMatrixError):
        svdkit.eig(J).reconstruct()


def test_003_metrics():
    assert svdkit.distance("123cb", "133cc", "hamming") == 2
    words = ["123cb", "133cc", "12345", "abcde", "123cb"]
    for x, y, z in itertools.product(words, repeat=3):
        d = svdkit.distance
        assert d(x, y, "hamming") >= 0
        assert (d(x, y, "hamming") == 0) == (x == y)
        assert d(x, y, "hamming") == d(y, x, "hamming")
        assert d(x, z, "hamming") <= d(x, y, "hamming") + d(y, z, "hamming")
    x, y = svdkit.as_vector("[1, 2, 3]"), svdkit.as_vector("[4, 6, 3]")
    assert svdkit.distance(x, y) == np.sqrt((x - y) @ (x - y)) == 5.0
    with pytest.raises(ShapeError):
        svdkit.distance("abc", "abcd", "hamming")


def test_003_the_angle_is_not_a_metric():
    """d(x, y) = angle(x, y) = 0 for x = (1, 0) and y = (2, 0), yet x ≠ y."""
    x, y = svdkit.as_vector("[1, 0]"), svdkit.as_vector("[2, 0]")
    angle = float(np.arccos(svdkit.cosine(x, y)))
    assert angle == 0.0 and not np.array_equal(x, y)
    assert svdkit.distance(x, y) == 1.0  # a true metric separates them


def test_003_svd_of_diag_2_3_is_ordered():
    A = r"\left [ \begin{array}{cc} 2 &  0 \\ 0 & 3 \\ \end{array}\right ]"
    a = svdkit.as_matrix(A)
    r = svdkit.svd(A)
    # σ in descending order: s = (3, 2), so U and V are permutation matrices.
    np.testing.assert_array_equal(r.s, [3, 2])
    np.testing.assert_array_equal(r.U, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(r.Vh, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(r.U @ r.Sigma @ r.Vh, a)
    # The note's I · diag(2, 3) · I is a valid factorisation with orthonormal factors …
    eye = np.eye(2)
    np.testing.assert_array_equal(eye @ np.diag([2.0, 3.0]) @ eye, a)
    assert is_orthonormal(eye)
    # … but not an SVD in the notes' own sense (σ₁ ≥ σ₂): 2 < 3.
    assert not np.all(np.diff([2.0, 3.0]) <= 0)
    # Both agree up to the permutation swapping the two axes.
    perm = r.U
    np.testing.assert_array_equal(perm @ np.diag([2.0, 3.0]) @ perm.T, np.diag(r.s))


def test_003_pseudo_inverse_of_diag_2_3():
    A = r"\left [ \begin{array}{cc} 2 &  0 \\ 0 & 3 \\ \end{array}\right ]"
    X = svdkit.pinv(A)
    np.testing.assert_allclose(X, svdkit.as_matrix("[[1/2, 0], [0, 1/3]]"), rtol=0, atol=EPS)
    np.testing.assert_allclose(X, svdkit.inv(A), rtol=0, atol=EPS)


@pytest.mark.parametrize("A", ["[[1, 2], [3, 4]]", M003])
def test_003_pseudo_inverse_is_V_Splus_Ut_not_U_Splus_Vt(A):
    """The note writes M⁺ = U S* Vᵗ; it is V S⁺ Uᵗ (the two agree only for symmetric M)."""
    a = svdkit.as_matrix(A)
    U, s, Vh = svdkit.svd(A)
    S_plus = np.diag(1 / s)
    right = Vh.T @ S_plus @ U.T
    np.testing.assert_allclose(right, svdkit.pinv(A), rtol=0, atol=_tol(a) * np.max(1 / s))
    np.testing.assert_allclose(a @ right @ a, a, rtol=0, atol=_tol(a) * 10)
    wrong = U @ S_plus @ Vh
    if a.shape[0] != a.shape[1]:
        assert wrong.shape != right.shape  # m×n instead of n×m
    else:
        assert np.abs(wrong - right).max() > 0.1
        assert np.abs(a @ wrong @ a - a).max() > 0.1  # fails A A⁺ A = A
        np.testing.assert_allclose(wrong, right.T, rtol=0, atol=_tol(a) * np.max(1 / s))
    # For the symmetric diag(2, 3) of the note both formulas give the same matrix.
    U, s, Vh = svdkit.svd("[[2, 0], [0, 3]]")
    np.testing.assert_array_equal(U @ np.diag(1 / s) @ Vh, Vh.T @ np.diag(1 / s) @ U.T)
