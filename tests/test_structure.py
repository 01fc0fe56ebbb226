"""Structure predicates: the notes' examples, both answers of each, tolerance, sparse input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from svdkit.errors import NonFiniteError, ShapeError, StructureError
from svdkit.linalg.structure import (
    hermitian_defect,
    is_diagonal,
    is_diagonalizable,
    is_hermitian,
    is_normal,
    is_orthonormal,
    is_symmetric,
    require_hermitian,
)

EPS = float(np.finfo(float).eps)
R = 1 / np.sqrt(2)
ROTATION_3 = np.array([[R, -R, 0.0], [R, R, 0.0], [0.0, 0.0, 1.0]])
PREDICATES = [is_symmetric, is_hermitian, is_normal, is_orthonormal, is_diagonal, is_diagonalizable]


# ----------------------------------------------------------------------------- the notes' examples


def test_notes_examples():
    assert is_normal([[1, 1], [0, 2]]) is False
    assert is_normal([[1, 2], [2, 3]]) is True
    assert is_normal([[1, 1], [1, 1]]) is True
    assert is_orthonormal([[1, 1], [1, 1]]) is False
    assert is_orthonormal(ROTATION_3) is True
    assert is_diagonal(np.diag([1, 2, 3])) is True
    Q, _ = np.linalg.qr(np.arange(1.0, 13.0).reshape(4, 3) + np.eye(4, 3))
    assert Q.shape == (4, 3)
    assert is_orthonormal(Q) is True
    assert is_orthonormal(Q.T) is False


@pytest.mark.parametrize("predicate", PREDICATES)
def test_returns_plain_bool(predicate):
    assert type(predicate(np.eye(2))) is bool
    assert type(predicate([[1, 2], [3, 4]])) is bool


# ----------------------------------------------------------------------------- each predicate


def test_is_symmetric():
    assert is_symmetric([[1, 2], [2, 3]])
    assert not is_symmetric([[1, 2], [3, 4]])
    assert not is_symmetric(np.ones((2, 3)))  # non-square
    assert is_symmetric([[5]])
    assert is_symmetric([[1, 1j], [1j, 2]])  # complex symmetric: Aᵀ, no conjugation
    assert not is_symmetric([[1, 1j], [-1j, 2]])


def test_is_hermitian():
    assert is_hermitian([[2, 1j], [-1j, 2]])
    assert not is_hermitian([[2, 1j], [1j, 2]])
    assert not is_hermitian([[1 + 1j, 0], [0, 1]])  # diagonal must be real
    assert is_hermitian([[1, 2], [2, 3]])  # real: the same as symmetric
    assert not is_hermitian([[1, 2], [3, 4]])
    assert not is_hermitian(np.ones((3, 2)))


def test_is_normal():
    assert is_normal([[0, -1], [1, 0]])  # rotation
    assert is_normal([[2, 1j], [-1j, 2]])  # Hermitian
    assert is_normal([[1j, 0], [0, 2]])
    assert not is_normal([[1, 1], [0, 1]])
    assert not is_normal(np.ones((2, 3)))


def test_is_orthonormal():
    assert is_orthonormal(np.eye(3))
    assert is_orthonormal(np.eye(4, 2))  # tall
    assert not is_orthonormal(np.eye(2, 4))  # wide: more columns than dimensions
    assert is_orthonormal(np.array([[1, 1j], [1j, 1]]) * R)  # unitary
    assert not is_orthonormal(np.array([[1, 1j], [1j, 1]]))  # orthogonal columns, norm √2
    assert not is_orthonormal([[1, 0], [1, 1]])


def test_is_diagonal():
    assert is_diagonal(np.zeros((2, 2)))
    assert is_diagonal([[3, 0, 0], [0, 2, 0]])  # an m×n Σ
    assert is_diagonal([[3, 0], [0, 2], [0, 0]])
    assert not is_diagonal([[3, 0, 1], [0, 2, 0]])
    assert not is_diagonal([[1, 0], [1e-3, 1]])
    assert is_diagonal([[1 + 2j, 0], [0, 1j]])


def test_is_diagonalizable():
    assert is_diagonalizable([[1, 1], [0, 1]]) is False  # Jordan block
    assert is_diagonalizable([[1, 1], [0, 2]]) is True
    assert is_diagonalizable([[0, -1], [1, 0]]) is True  # over ℂ
    assert is_diagonalizable(np.zeros((3, 3))) is True
    assert is_diagonalizable([[0, 1], [0, 0]]) is False  # nilpotent
    # a repeated eigenvalue with a full eigenspace, not normal
    A = [[1, 0, 1], [0, 1, 0], [0, 0, 2]]
    assert not is_normal(A)
    assert is_diagonalizable(A) is True
    assert is_diagonalizable([[2, 1, 0], [0, 2, 1], [0, 0, 2]]) is False  # 3×3 block
    assert is_diagonalizable([[2, 1, 0], [0, 2, 0], [0, 0, 5]]) is False
    # the 2×2 block hidden by a similarity: rounding splits the eigenvalue 2 into 2 ± 2e-8
    assert is_diagonalizable([[3, 1], [-1, 1]]) is False
    assert is_diagonalizable(np.ones((2, 3))) is False


# ----------------------------------------------------------------------------- tolerance


def test_default_rule_absorbs_rounding():
    S = np.array([[1.0, 2.0], [2.0, 3.0]])
    S[0, 1] += 2 * EPS  # far below 2·eps·2‖S‖_F ≈ 3.7e-15
    assert is_symmetric(S) and is_hermitian(S)
    D = np.diag([1.0, 2.0])
    D[0, 1] = 1e-16
    assert is_diagonal(D)
    Q = ROTATION_3.copy()
    Q[2, 2] += EPS
    assert is_orthonormal(Q)


def test_tolerance_override():
    A = [[1.0, 2.0], [2.0 + 1e-9, 3.0]]
    assert not is_symmetric(A) and is_symmetric(A, tol=1e-6)
    assert not is_hermitian(A) and is_hermitian(A, tol=1e-6)
    assert is_symmetric([[1, 2], [2, 3]], tol=0.0)
    B = [[1.0, 1e-3], [0.0, 1.0]]
    assert not is_diagonal(B) and is_diagonal(B, tol=1e-2)
    assert not is_normal(B) and is_normal(B, tol=1e-2)
    Q = ROTATION_3 * (1 + 1e-6)
    assert not is_orthonormal(Q) and is_orthonormal(Q, tol=1e-4)
    J = [[1.0, 1e-6], [0.0, 1.0]]
    assert not is_diagonalizable(J) and is_diagonalizable(J, tol=1e-3)
    with pytest.raises(ValueError, match="tol"):
        is_symmetric(A, tol=-1.0)


def test_require_hermitian_messages():
    with pytest.raises(StructureError, match=r"A\[0,1\] = 2 but A\[1,0\] = 3"):
        require_hermitian(np.array([[1.0, 2.0], [3.0, 4.0]]), "f")
    with pytest.raises(StructureError, match=r"Hermitian.*whose conjugate is"):
        require_hermitian(np.array([[1, 1j], [1j, 1]]), "f")
    with pytest.raises(StructureError, match=r"diagonal entry A\[1,1\] = 1\+1j is not real"):
        require_hermitian(np.array([[1, 0], [0, 1 + 1j]]), "f")
    # entries equal to 6 digits are printed with 17
    with pytest.raises(StructureError, match=r"1\.0000000001"):
        require_hermitian(np.array([[1.0, 1.0], [1.0000000001, 1.0]]), "f")
    require_hermitian(np.array([[2, 1j], [-1j, 2]]), "f")  # no error
    defect, thr, worst = hermitian_defect(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert defect == pytest.approx(np.sqrt(2)) and worst == (0, 1)
    assert thr == pytest.approx(2 * EPS * 2 * np.sqrt(30))


# ----------------------------------------------------------------------------- sparse input


def test_sparse_input():
    S = sp.csr_array(np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]))
    assert is_symmetric(S) and is_hermitian(S) and not is_diagonal(S)
    N = sp.csr_array(np.array([[2.0, 1.0], [0.0, 2.0]]))
    assert not is_symmetric(N) and not is_hermitian(N)
    H = sp.csc_array(np.array([[2, 1j], [-1j, 2]]))
    assert is_hermitian(H) and not is_symmetric(H)
    assert is_diagonal(sp.coo_array(np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]])))
    assert is_diagonal(sp.csr_matrix(np.diag([1.0, 2.0])))  # the legacy matrix class too
    assert not is_symmetric(sp.csr_array(np.ones((2, 3))))
    assert is_symmetric(sp.csr_array(np.array([[1.0, 2.0], [2.0 + 1e-9, 1.0]])), tol=1e-6)


def test_sparse_input_is_not_densified():
    n = 10**6  # dense: 8 TB
    D = sp.diags_array([np.arange(1.0, n + 1)], offsets=[0], format="csr")
    assert is_diagonal(D) and is_symmetric(D) and is_hermitian(D)
    T = sp.diags_array([np.ones(n - 1), np.ones(n - 1)], offsets=[1, -1], format="csr")
    assert is_symmetric(T) and not is_diagonal(T)
    U = sp.diags_array([np.ones(n - 1)], offsets=[1], shape=(n, n), format="csr")
    assert not is_symmetric(U)


def test_sparse_input_is_validated():
    bad = sp.csr_array(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(NonFiniteError):
        is_symmetric(bad)
    with pytest.raises(ShapeError):
        is_diagonal(np.ones((2, 2, 2)))


# ----------------------------------------------------------------------------- hypothesis

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
floats = st.floats(-100, 100, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def square(draw, complex_=None):
    n = draw(st.integers(1, 7))
    complex_ = draw(st.booleans()) if complex_ is None else complex_
    M = draw(hnp.arrays(np.float64, (n, n), elements=floats))
    if complex_:
        M = M + 1j * draw(hnp.arrays(np.float64, (n, n), elements=floats))
    return M


@SETTINGS
@given(square())
def test_symmetric_part_is_symmetric(M):
    assert is_symmetric((M + M.T) / 2)
    assert is_hermitian((M + M.conj().T) / 2)
    assert is_normal((M + M.conj().T) / 2)
    K = (M - M.conj().T) / 2  # skew-Hermitian: normal too
    assert is_normal(K)
    if np.max(np.abs(M - M.T)) > 1e-6 * max(1.0, np.max(np.abs(M))):
        assert not is_symmetric(M)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 8), st.booleans(), st.integers(0, 2**32 - 1))
def test_qr_factor_is_orthonormal(m, n, complex_, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((max(m, n), n))
    if complex_:
        M = M + 1j * rng.standard_normal(M.shape)
    Q, _ = np.linalg.qr(M)
    assert is_orthonormal(Q)
    if Q.shape[0] > Q.shape[1]:
        assert not is_orthonormal(Q.T)
    assert not is_orthonormal(2 * Q)


@st.composite
def unimodular(draw, n):
    """``P = L U`` with integer unit-triangular factors: ``det P = 1``, ``P⁻¹`` integer."""
    entries = st.integers(-2, 2).map(float)
    L = np.tril(draw(hnp.arrays(np.float64, (n, n), elements=entries)), -1) + np.eye(n)
    U = np.triu(draw(hnp.arrays(np.float64, (n, n), elements=entries)), 1) + np.eye(n)
    P = L @ U
    return P, np.round(np.linalg.inv(P))


@SETTINGS
@given(st.data())
def test_distinct_eigenvalues_are_diagonalizable(data):
    n = data.draw(st.integers(1, 5))
    P, Pinv = data.draw(unimodular(n))
    assert np.array_equal(P @ Pinv, np.eye(n))
    d = data.draw(st.lists(st.integers(-10, 10), min_size=n, max_size=n, unique=True))
    A = P @ np.diag(np.array(d, dtype=float)) @ Pinv  # exact: integer arithmetic
    assert is_diagonalizable(A)


@SETTINGS
@given(st.data())
def test_jordan_blocks_are_not_diagonalizable(data):
    n = data.draw(st.integers(2, 6))
    lam = data.draw(st.integers(-5, 5))
    size = data.draw(st.integers(2, n))
    J = np.diag(data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))).astype(float)
    J[:size, :size] = lam * np.eye(size) + np.diag(np.ones(size - 1), 1)
    perm = data.draw(st.permutations(range(n)))
    scale = 2.0 ** np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)))
    # an exact similarity: permute, and scale by powers of two
    A = (J * scale[:, None] / scale[None, :])[np.ix_(perm, perm)]
    assert not is_diagonalizable(A)
    assert not is_normal(A)


@SETTINGS
@given(st.data())
def test_hidden_double_jordan_block_is_not_diagonalizable(data):
    n = data.draw(st.integers(2, 5))
    P, Pinv = data.draw(unimodular(n))
    d = data.draw(st.lists(st.integers(-10, 10), min_size=n, max_size=n, unique=True))
    J = np.diag(np.array(d, dtype=float))
    J[1, 1] = J[0, 0]
    J[0, 1] = 1.0
    A = P @ J @ Pinv  # exact integers: a defective double eigenvalue
    assert not is_diagonalizable(A)
