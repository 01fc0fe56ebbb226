"""One table of cases run through every function of the numeric engine.

Each test takes ``linalg_case`` (parametrised over the table in ``conftest.py``:
square, tall, wide, complex, rank-deficient, ill-conditioned, 1×1, 1×n, n×1,
identity, zero) and checks identities and residuals rather than hand-picked
numbers. Tolerances come from the ``num`` fixture: first-order backward-error
bounds ``SAFETY · max(m, n) · eps`` times the size of the compared quantity, times
the condition number exactly where the quantity is sensitive to it.
"""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

import svdkit
from svdkit import (
    EmptyInputError,
    NonFiniteError,
    RankError,
    ShapeError,
    SingularMatrixError,
    StructureError,
    SvdkitError,
)

# The module, not the function of the same name that svdkit.linalg re-exports.
svd_module = importlib.import_module("svdkit.linalg.svd")

EPS = float(np.finfo(np.float64).eps)
NORM_ORDS = [None, "fro", 2, "nuc", 1, np.inf, "inf"]
NUMPY_ORD = {None: "fro", "fro": "fro", 2: 2, "nuc": "nuc", 1: 1, np.inf: np.inf, "inf": np.inf}


def _rng(case, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([sum(map(ord, case.name)), salt])


def _like(case, shape, salt: int = 0) -> np.ndarray:
    """A random matrix of ``shape``, complex when the case is complex."""
    rng = _rng(case, salt)
    x = rng.standard_normal(shape)
    if case.complex:
        x = x + 1j * rng.standard_normal(shape)
    return x


def _sigma(case) -> np.ndarray:
    return np.linalg.svd(case.A, compute_uv=False)


def _ascending(values: np.ndarray) -> bool:
    """Lexicographic (real part, then imaginary part) non-decreasing order."""
    re, im = values.real, values.imag
    return all(
        re[i] < re[i + 1] or (re[i] == re[i + 1] and im[i] <= im[i + 1])
        for i in range(len(values) - 1)
    )


# --------------------------------------------------------------------------------------
# SVD
# --------------------------------------------------------------------------------------


def test_svd_thin(linalg_case, num):
    A, m, n, p = linalg_case.A, linalg_case.m, linalg_case.n, linalg_case.p
    r = svdkit.svd(A)
    U, s, Vh = r  # unpacks like NumPy's result
    assert (U.shape, s.shape, Vh.shape) == ((m, p), (p,), (p, n))
    assert r.shape == (m, n)
    assert r.driver == "gesdd"
    assert s.dtype == np.float64
    assert U.dtype == Vh.dtype == (np.complex128 if linalg_case.complex else np.float64)
    assert np.all(s >= 0) and np.all(np.diff(s) <= 0), f"s not descending ≥ 0: {s}"
    num.assert_close(s, _sigma(linalg_case), num.atol(A), "s vs numpy.linalg.svd")
    if linalg_case.sigma is not None:
        num.assert_close(s, linalg_case.sigma, num.atol(A), "s vs exact singular values")
    num.assert_orthonormal(U, "U")
    num.assert_orthonormal(r.V, "V")
    np.testing.assert_array_equal(r.V, Vh.conj().T)
    assert r.Sigma.shape == (p, p)
    num.assert_close(U @ r.Sigma @ Vh, A, num.atol(A), "U Σ Vᴴ")
    num.assert_close(r.reconstruct(), A, num.atol(A), "reconstruct()")
    num.assert_close(A @ r.V, U * s, num.atol(A), "A V = U Σ")
    num.assert_close(A.conj().T @ U, r.V * s, num.atol(A), "Aᴴ U = V Σ")
    num.assert_sign_rule(U, "U")
    assert r.rank() == linalg_case.rank


def test_svd_full(linalg_case, num):
    A, m, n, p = linalg_case.A, linalg_case.m, linalg_case.n, linalg_case.p
    r = svdkit.svd(A, full=True)
    assert (r.U.shape, r.s.shape, r.Vh.shape) == ((m, m), (p,), (n, n))
    assert r.Sigma.shape == (m, n)
    num.assert_close(r.U @ r.Sigma @ r.Vh, A, num.atol(A), "U Σ Vᴴ (full)")
    # Unitary on both sides: UᴴU = UUᴴ = I, VᴴV = VVᴴ = I.
    num.assert_orthonormal(r.U, "U")
    num.assert_orthonormal(r.U.conj().T, "Uᴴ")
    num.assert_orthonormal(r.V, "V")
    num.assert_orthonormal(r.Vh, "Vᴴ")
    num.assert_sign_rule(r.U, "U (full)")
    # Right singular vectors without a partner in U follow the rule on their own.
    num.assert_sign_rule(r.V[:, p:], "V completion")
    # The thin SVD is the leading part of the full one.
    thin = svdkit.svd(A)
    num.assert_close(r.s, thin.s, num.atol(A), "s full vs thin")
    assert r.rank() == linalg_case.rank


def test_svd_truncated_and_eckart_young(linalg_case, num):
    A, p = linalg_case.A, linalg_case.p
    thin = svdkit.svd(A)
    s = _sigma(linalg_case)
    tol = num.atol(A)
    fro_tol = tol * np.sqrt(p)
    for k in range(p + 1):
        t = svdkit.svd(A, k)
        assert (t.U.shape, t.s.shape, t.Vh.shape) == ((linalg_case.m, k), (k,), (k, linalg_case.n))
        num.assert_close(t.s, thin.s[:k], tol, f"svd(A, {k}).s")
        num.assert_close(t.U, thin.U[:, :k], num.unit(A) * linalg_case.p * 10, f"U_{k}")
        num.assert_orthonormal(t.U, f"U_{k}")
        num.assert_orthonormal(t.V, f"V_{k}")
        num.assert_sign_rule(t.U, f"U_{k}")
        tr = thin.truncate(k)
        np.testing.assert_array_equal(tr.s, thin.s[:k])
        Ak = thin.approx(k)
        num.assert_close(Ak, t.reconstruct(), tol, f"approx({k}) vs svd(A, {k})")
        num.assert_close(Ak, tr.reconstruct(), tol, f"approx({k}) vs truncate({k})")
        assert np.linalg.matrix_rank(Ak) <= k
        E = A - Ak
        tail = s[k:]
        # Eckart–Young: the error of the best rank-k approximation.
        spectral = tail[0] if tail.size else 0.0
        assert abs(np.linalg.norm(E, 2) - spectral) <= tol, (k, np.linalg.norm(E, 2), spectral)
        assert abs(np.linalg.norm(E) - np.sqrt(np.sum(tail**2))) <= fro_tol
        assert (
            abs(np.linalg.norm(E) ** 2 - np.sum(tail**2))
            <= 2 * fro_tol * np.linalg.norm(A) + fro_tol**2
        )
        # residuals() of a truncated SVD reports the approximation error.
        rel = np.sqrt(np.sum(tail**2)) / np.linalg.norm(A) if np.any(A) else 0.0
        assert abs(t.residuals().reconstruction - rel) <= num.unit(A) * max(1.0, rel)


def test_svd_rejects_bad_k(linalg_case):
    A, p = linalg_case.A, linalg_case.p
    for bad in (-1, p + 1, 1.5, True, "2"):
        with pytest.raises(ShapeError):
            svdkit.svd(A, bad)
    with pytest.raises(ShapeError):
        svdkit.svd(A, p, full=True)
    r = svdkit.svd(A)
    for bad in (-1, p + 1):
        with pytest.raises(ShapeError):
            r.approx(bad)
        with pytest.raises(ShapeError):
            r.truncate(bad)


def test_sparse_truncated_svd_agrees_with_the_dense_one(linalg_case, num):
    """A small SciPy sparse matrix: same σ, same vectors (one sign rule for all methods),
    every k up to min(m, n) (ARPACK, before, stopped at min(m, n) − 1)."""
    import scipy.sparse

    A, p = linalg_case.A, linalg_case.p
    dense = svdkit.svd(A)
    s = dense.s
    for k in range(0, p + 1):
        r = svdkit.svd(scipy.sparse.csr_array(A), k)
        assert r.driver in ("gesdd", "gesvd")
        assert (r.U.shape, r.s.shape, r.Vh.shape) == ((linalg_case.m, k), (k,), (k, linalg_case.n))
        num.assert_close(r.s, s[:k], num.atol(A), f"sparse σ, k={k}")
        num.assert_orthonormal(r.U, "sparse U")
        num.assert_orthonormal(r.V, "sparse V")
        num.assert_sign_rule(r.U, "sparse U")
        res = r.residuals()  # works on the sparse matrix it keeps
        assert res.max_triplet <= num.atol(A) * 10
        tail = np.sqrt(np.sum(s[k:] ** 2)) / np.linalg.norm(A) if np.any(A) else 0.0
        assert abs(res.reconstruction - tail) <= num.unit(A)
        for i in range(k):
            gap = min((abs(s[i] - s[j]) for j in range(p) if j != i), default=np.inf)
            if s[i] > 0 and gap > 1e-3 * s[0]:
                num.assert_close(r.U[:, i], dense.U[:, i], 10 * num.atol(A) / gap, f"u_{i}")
                num.assert_close(r.Vh[i], dense.Vh[i], 10 * num.atol(A) / gap, f"v_{i}")
    with pytest.raises(ShapeError):
        svdkit.svd(scipy.sparse.csr_array(A), p + 1)


@pytest.mark.parametrize("shape", [(40, 40), (60, 50), (50, 60), (100, 100), (101, 101)])
def test_sparse_svd_finds_every_copy_of_a_repeated_value(shape):
    """σ = 1 ten times, then a spread tail: ARPACK (small sparse matrices, before)
    returned seven copies and three tail values, each triplet with a residual of
    1e-15 — real triplets, not the leading ones. Every size gives all ten now."""
    import scipy.sparse

    m, n = shape
    rng = np.random.default_rng(0)
    p = min(m, n)
    s = np.r_[np.ones(10), np.linspace(0.5, 0.1, p - 10)]
    Q1, _ = np.linalg.qr(rng.standard_normal((m, p)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, p)))
    for A in (scipy.sparse.diags(s, shape=(m, n), format="csr"),
              scipy.sparse.csr_array((Q1 * s) @ Q2.T)):
        r = svdkit.svd(A, k=10)
        np.testing.assert_allclose(r.s, np.ones(10), atol=1e-9)
        res = r.residuals()
        assert max(res.right.max(), res.left.max()) <= 1e-9
        # the ten span the whole eigenspace of σ = 1: nothing of it is left out
        dense = A.toarray() if hasattr(A, "toarray") else A
        top = np.linalg.svd(dense)[0][:, :10]
        assert np.linalg.norm(top.T @ r.U, 2) == pytest.approx(1.0, abs=1e-9)
        assert np.linalg.svd(top.T @ r.U, compute_uv=False).min() == pytest.approx(1.0, abs=1e-9)


def test_svd_residuals(linalg_case, num):
    A = linalg_case.A
    for res in (svdkit.svd(A).residuals(), svdkit.svd(A, full=True).residuals()):
        assert res.reconstruction <= num.unit(A)
        assert res.orthogonality_u <= num.unit(A)
        assert res.orthogonality_v <= num.unit(A)
        assert res.right.shape == res.left.shape == (linalg_case.p,)
        assert res.max_triplet <= num.atol(A)
        assert res.max_triplet == max(res.right.max(), res.left.max())


def test_svd_residuals_detect_a_wrong_factorisation(linalg_case, num):
    """residuals() must see an error: perturb σ₁ by 1 % and watch it show."""
    A = linalg_case.A
    r = svdkit.svd(A)
    if r.s[0] == 0:
        return
    s = r.s.copy()
    s[0] *= 1.01
    bad = svdkit.SVD(r.U, s, r.Vh, r.matrix, r.driver).residuals()
    assert bad.reconstruction >= 0.005 * r.s[0] / np.linalg.norm(A)
    assert bad.max_triplet >= 0.005 * r.s[0]
    with pytest.raises(ShapeError):
        svdkit.SVD(r.U, r.s, r.Vh).residuals()  # no matrix: nothing to compare with


# --------------------------------------------------------------------------------------
# Sign rule, re-checked on every decomposition (independent re-derivation in conftest)
# --------------------------------------------------------------------------------------


def test_sign_rule_is_deterministic_under_unit_factors(linalg_case, num):
    """Two equally valid inputs to the rule (U c, Vh c̄) give the same result."""
    A = linalg_case.A
    U, s, Vh = np.linalg.svd(A)
    p = linalg_case.p
    rng = _rng(linalg_case, 7)
    c = np.exp(2j * np.pi * rng.random(p)) if linalg_case.complex else rng.choice([-1.0, 1.0], p)
    from svdkit.linalg.signs import apply_sign_rule

    U1, Vh1 = apply_sign_rule(U[:, :p].copy(), Vh[:p].copy())
    U2, Vh2 = apply_sign_rule(U[:, :p] * c, Vh[:p] * np.conj(c)[:, None])
    num.assert_close(U1, U2, num.unit(A), "U after the rule")
    num.assert_close(Vh1, Vh2, num.unit(A), "Vh after the rule")
    num.assert_sign_rule(U1)
    num.assert_close((U1 * s[:p]) @ Vh1, A, num.atol(A), "rule keeps U Σ Vᴴ")


# --------------------------------------------------------------------------------------
# Pseudo-inverse, least squares, inverses
# --------------------------------------------------------------------------------------


def test_pinv_moore_penrose(linalg_case, num):
    A = linalg_case.A
    X = svdkit.pinv(A)
    assert X.shape == (linalg_case.n, linalg_case.m)
    u, k = num.unit(A), num.cond(A)
    nA, nX = np.linalg.norm(A, 2), np.linalg.norm(X, 2)
    num.assert_close(A @ X @ A, A, u * k * nA, "A A⁺ A = A")
    num.assert_close(X @ A @ X, X, u * k * nX, "A⁺ A A⁺ = A⁺")
    AX, XA = A @ X, X @ A
    num.assert_close(AX.conj().T, AX, u * k, "(A A⁺)ᴴ = A A⁺")
    num.assert_close(XA.conj().T, XA, u * k, "(A⁺ A)ᴴ = A⁺ A")
    assert np.linalg.matrix_rank(X) == linalg_case.rank
    if linalg_case.rank:
        s = _sigma(linalg_case)
        assert abs(nX - 1 / s[linalg_case.rank - 1]) <= u * k * nX  # ‖A⁺‖₂ = 1/σ_r
    else:
        assert not np.any(X)
    num.assert_close(X, np.linalg.pinv(A), u * k * nX, "pinv vs numpy")
    num.assert_close(svdkit.svd(A).pinv(), X, u * nX, "SVD.pinv() vs pinv()")
    if linalg_case.square and linalg_case.full_rank:
        num.assert_close(X, svdkit.inv(A), u * k * nX, "pinv = inv when invertible")


def test_pinv_tol_drops_small_singular_values(linalg_case, num):
    A = linalg_case.A
    s = _sigma(linalg_case)
    if linalg_case.rank < 2:
        return
    cut = (s[0] + s[1]) / 2 if s[0] > s[1] else None
    if cut is None:
        return
    X = svdkit.pinv(A, tol=cut)  # keeps only σ₁
    assert np.linalg.matrix_rank(X) == 1
    assert abs(np.linalg.norm(X, 2) - 1 / s[0]) <= num.unit(A) / s[0]


def test_lstsq_normal_equations_and_minimum_norm(linalg_case, num):
    A, m, n = linalg_case.A, linalg_case.m, linalg_case.n
    nA = np.linalg.norm(A, 2)
    for b in (_like(linalg_case, m, 1), _like(linalg_case, (m, 2), 2)):
        r = svdkit.lstsq(A, b)
        x, res, rank, s = r  # unpacks like NumPy's result
        assert x.shape == ((n,) if b.ndim == 1 else (n, 2))
        assert rank == linalg_case.rank
        num.assert_close(s, _sigma(linalg_case), num.atol(A), "lstsq s")
        resid = A @ x - b
        expected_res = np.linalg.norm(resid, axis=0)
        assert np.allclose(
            res, expected_res, rtol=num.unit(A), atol=num.unit(A) * np.max(expected_res)
        )
        if b.ndim == 1:
            assert isinstance(res, float)
        else:
            assert res.shape == (2,)
        # Normal equations Aᴴ(Ax − b) = 0.
        tol = num.unit(A) * nA * (nA * np.linalg.norm(x) + np.linalg.norm(b))
        num.assert_close(A.conj().T @ resid, np.zeros_like(A.conj().T @ resid), tol, "Aᴴ r")
        # Minimum norm: x lies in the row space R(Aᴴ), i.e. x ⟂ N(A).
        P = num.projector(num.row_space_basis(A))
        tol = num.unit(A) * num.cond(A) * np.linalg.norm(x)
        num.assert_close(P @ x, x, tol, "x in R(Aᴴ)")
        # It is A⁺ b (the same SVD, multiplied in another order: ‖A⁺‖ = 1/σ_r).
        inv_sr = 1 / s[linalg_case.rank - 1] if linalg_case.rank else 0.0
        tol = num.unit(A) * (np.linalg.norm(x) + inv_sr * np.linalg.norm(b))
        num.assert_close(x, svdkit.pinv(A) @ b, tol, "x = A⁺ b")
    with pytest.raises(ShapeError):
        svdkit.lstsq(A, np.ones(m + 1))


def test_lstsq_right_hand_sides_given_as_text():
    """Text b with one column is a vector; with several columns, several right-hand sides."""
    A = "[[1, 0], [0, 2], [0, 0]]"
    r = svdkit.lstsq(A, "[1, 2, 3]")
    assert r.x.shape == (2,) and r.x.tolist() == [1.0, 1.0] and r.residuals == 3.0
    r = svdkit.lstsq(A, "[[1, 2], [4, 6], [0, 1]]")
    assert r.x.shape == (2, 2) and r.x.tolist() == [[1.0, 2.0], [2.0, 3.0]]
    assert r.residuals.tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(r.x, svdkit.lstsq(A, np.array([[1, 2], [4, 6], [0, 1]])).x)


def test_lstsq_consistent_system_has_zero_residual(linalg_case, num):
    A = linalg_case.A
    x_true = _like(linalg_case, linalg_case.n, 3)
    b = A @ x_true
    r = svdkit.lstsq(A, b)
    assert r.residuals <= num.atol(A) * np.linalg.norm(x_true) * num.cond(A)


def test_inv(linalg_case, num):
    A = linalg_case.A
    if not linalg_case.square:
        with pytest.raises(ShapeError):
            svdkit.inv(A)
        return
    if not linalg_case.full_rank:
        with pytest.raises(SingularMatrixError) as err:
            svdkit.inv(A)
        assert isinstance(err.value, np.linalg.LinAlgError)  # NumPy code still catches it
        return
    X = svdkit.inv(A)
    eye = np.eye(linalg_case.n)
    tol = num.unit(A) * num.cond(A)
    num.assert_close(A @ X, eye, tol, "A A⁻¹ = I")
    num.assert_close(X @ A, eye, tol, "A⁻¹ A = I")
    num.assert_close(svdkit.inv(X), A, tol * np.linalg.norm(A, 2), "(A⁻¹)⁻¹ = A")


def test_left_inverse(linalg_case, num):
    A, n = linalg_case.A, linalg_case.n
    if linalg_case.rank < n:
        with pytest.raises(RankError):
            svdkit.left_inverse(A)
        return
    L = svdkit.left_inverse(A)
    assert L.shape == (n, linalg_case.m)
    num.assert_close(L @ A, np.eye(n), num.unit(A) * num.cond(A), "L A = I")


def test_right_inverse(linalg_case, num):
    A, m = linalg_case.A, linalg_case.m
    if linalg_case.rank < m:
        with pytest.raises(RankError):
            svdkit.right_inverse(A)
        return
    R = svdkit.right_inverse(A)
    assert R.shape == (linalg_case.n, m)
    num.assert_close(A @ R, np.eye(m), num.unit(A) * num.cond(A), "A R = I")


# --------------------------------------------------------------------------------------
# Determinant, trace, rank
# --------------------------------------------------------------------------------------


def _leibniz(A: np.ndarray) -> tuple[complex, float]:
    """det by the Leibniz formula over S_n (the notes' definition), for small n.

    Returns the sum and the sum of the magnitudes of its terms (the permanent of
    |A|), which bounds its rounding error: Leibniz is not backward stable.
    """
    n = A.shape[0]
    total, size = 0, 0.0
    for perm in itertools.permutations(range(n)):
        inversions = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        term = np.prod([A[i, perm[i]] for i in range(n)])
        total += (-1) ** inversions * term
        size += abs(term)
    return total, size


def test_det(linalg_case, num):
    A, n = linalg_case.A, linalg_case.n
    if not linalg_case.square:
        with pytest.raises(ShapeError):
            svdkit.det(A)
        return
    d = svdkit.det(A)
    assert isinstance(d, complex if linalg_case.complex else float)
    t = num.det_tol(A)
    assert abs(abs(d) - np.prod(_sigma(linalg_case))) <= t  # |det A| = ∏σᵢ
    assert abs(svdkit.det(A.T) - d) <= 2 * t  # det Aᵀ = det A
    assert abs(svdkit.det(A.conj().T) - np.conj(d)) <= 2 * t  # det Aᴴ = conj(det A)
    assert abs(np.prod(svdkit.eig(A).values) - d) <= 2 * t  # det = ∏λᵢ
    if n <= 5:
        value, size = _leibniz(A)
        assert abs(value - d) <= t + num.unit(A) * size
    # Invertible ⇔ det ≠ 0 (within rounding).
    if linalg_case.full_rank:
        assert abs(d) > t
    else:
        assert abs(d) <= t
    # Triangular ⇒ product of the diagonal.
    for T in (np.triu(A), np.tril(A)):
        assert abs(svdkit.det(T) - np.prod(np.diag(T))) <= num.det_tol(T)
    # Multiplicativity with an invertible B.
    B = _like(linalg_case, (n, n), 4)
    dB = svdkit.det(B)
    AB = A @ B
    e_ab = num.unit(A) * np.linalg.norm(A, 2) * np.linalg.norm(B, 2)
    s_ab = np.linalg.svd(AB, compute_uv=False)
    t_ab = np.prod(s_ab + e_ab) - np.prod(s_ab)
    tB = num.det_tol(B)
    assert abs(svdkit.det(AB) - d * dB) <= t_ab + t * abs(dB) + tB * abs(d) + t * tB
    # Scaling a row by α scales det by α; det(αA) = αⁿ det A.
    assert abs(svdkit.det(2.0 * A) - 2.0**n * d) <= 2.0**n * 2 * t


def test_trace(linalg_case, num):
    A, m, n = linalg_case.A, linalg_case.m, linalg_case.n
    # Tr(AB) = Tr(BA) for any shape (A m×n, B n×m), and Tr is linear.
    B = _like(linalg_case, (n, m), 5)
    tol = num.unit(A) * np.linalg.norm(A) * np.linalg.norm(B)
    assert abs(svdkit.trace(A @ B) - svdkit.trace(B @ A)) <= tol
    if not linalg_case.square:
        with pytest.raises(ShapeError):
            svdkit.trace(A)
        return
    t = svdkit.trace(A)
    assert isinstance(t, complex if linalg_case.complex else float)
    assert t == np.trace(A)
    C = _like(linalg_case, (n, n), 6)
    alpha, beta = -1.5, 2.0 + (0.5j if linalg_case.complex else 0.0)
    lin = svdkit.trace(alpha * A + beta * C)
    assert abs(lin - (alpha * t + beta * svdkit.trace(C))) <= num.unit(A) * (
        abs(alpha) * np.abs(np.diag(A)).sum() + abs(beta) * np.abs(np.diag(C)).sum()
    )
    # Tr = Σλᵢ: the eigenvalues are exact for A + E with ‖E‖ ≤ atol(A).
    assert abs(np.sum(svdkit.eig(A).values) - t) <= n * num.atol(A)
    assert svdkit.trace(A.T) == t


def test_rank(linalg_case, num):
    A, m, n = linalg_case.A, linalg_case.m, linalg_case.n
    r = svdkit.rank(A)
    assert isinstance(r, int)
    assert r == linalg_case.rank
    assert r <= min(m, n)
    assert r == num.numpy_rank(A)
    s = _sigma(linalg_case)
    assert r == int(np.sum(s > max(m, n) * num.EPS * s[0]))  # number of nonzero σ
    assert svdkit.rank(A, tol=1e300) == 0
    assert svdkit.rank(A, tol=0.0) == int(np.sum(s > 0))
    # rank(AB) ≤ min(rank A, rank B), with B of rank ≤ 2 and with B = Aᴴ.
    B = _like(linalg_case, (n, 2), 8) @ _like(linalg_case, (2, 3), 9)
    assert svdkit.rank(A @ B) <= min(r, svdkit.rank(B))
    assert svdkit.rank(A @ A.conj().T) <= r
    assert svdkit.rank(A.conj().T) == r
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(SvdkitError):
            svdkit.rank(A, tol=bad)


@pytest.mark.parametrize("n", [2, 5, 8])
@pytest.mark.parametrize("complex_", [False, True])
def test_the_tolerance_rule_is_max_dim_eps_sigma1(n, complex_):
    """σ counts as zero iff σ ≤ max(m, n) · eps · σ₁, the same in every function.

    A = P diag(2, …, 2, small) Q on (n+1)×n, with permutations P, Q and unit phases
    (exact: σ are known to the last bit). The threshold is 2(n+1)·eps; ``small``
    sits at half of it, then at twice it; every rank decision must follow.
    """
    eps = np.finfo(float).eps
    rng = np.random.default_rng(n)
    thr = (n + 1) * eps * 2.0
    for small, expected in ((thr / 2, n - 1), (2 * thr, n)):
        D = np.zeros((n + 1, n), dtype=complex if complex_ else float)
        D[np.arange(n), np.arange(n)] = [*([2.0] * (n - 1)), small]
        if complex_:
            D = D * np.array([1, 1j, -1, -1j] * n)[:n]  # exact unit phases
        A = D[rng.permutation(n + 1)][:, rng.permutation(n)]
        s = np.linalg.svd(A, compute_uv=False)
        assert s[0] == 2.0 and s[-1] == small  # exact, so the test is about the rule
        assert svdkit.rank(A) == expected
        assert svdkit.svd(A).rank() == expected
        assert svdkit.subspaces(A).rank == expected
        assert svdkit.lstsq(A, np.ones(n + 1)).rank == expected
        assert np.linalg.matrix_rank(svdkit.pinv(A), tol=1e-3) == expected
        assert (svdkit.cond(A) == np.inf) == (expected < n)
        if expected < n:
            with pytest.raises(RankError):
                svdkit.left_inverse(A)
        else:
            assert svdkit.left_inverse(A).shape == (n, n + 1)
        # A caller's tol replaces the rule.
        assert svdkit.rank(A, tol=1.0) == n - 1
        assert svdkit.rank(A, tol=0.0) == n
        assert svdkit.svd(A).rank(tol=0.0) == n
    from svdkit.linalg.tolerance import zero_threshold

    assert zero_threshold((3, 7), 2.0) == 7 * eps * 2.0
    assert zero_threshold((3, 7), 2.0, tol=0.5) == 0.5
    assert zero_threshold((3, 7), 2.0, np.float32) == 7 * float(np.finfo(np.float32).eps) * 2.0


# --------------------------------------------------------------------------------------
# Norms, condition number
# --------------------------------------------------------------------------------------


def test_matrix_norms_against_numpy_and_identities(linalg_case, num):
    A = linalg_case.A
    s = _sigma(linalg_case)
    u = num.unit(A)
    for ord_ in NORM_ORDS:
        value = svdkit.norm(A, ord_)
        expected = np.linalg.norm(A, NUMPY_ORD[ord_])
        assert isinstance(value, float)
        assert abs(value - expected) <= u * expected, (ord_, value, expected)
        assert value >= 0
        assert (value == 0) == (not np.any(A))  # definiteness
    assert abs(svdkit.norm(A, 2) - s[0]) <= u * s[0]  # ‖A‖₂ = σ₁
    assert abs(svdkit.norm(A, "fro") ** 2 - np.sum(s**2)) <= u * np.sum(s**2)  # ‖A‖_F² = Σσ²
    assert abs(svdkit.norm(A, "nuc") - np.sum(s)) <= u * np.sum(s)  # ‖A‖_* = Σσ
    for alias, ord_ in (("frobenius", "fro"), ("spectral", 2), ("nuclear", "nuc"), ("∞", np.inf)):
        assert svdkit.norm(A, alias) == svdkit.norm(A, ord_)


@pytest.mark.parametrize("ord_", ["fro", 2, "nuc", 1, np.inf])
def test_matrix_norm_axioms(linalg_case, num, ord_):
    A, m, n = linalg_case.A, linalg_case.m, linalg_case.n
    u = num.unit(A) * 10
    nA = svdkit.norm(A, ord_)
    # Absolute homogeneity ‖αA‖ = |α| ‖A‖ (equality, not the notes' "≥").
    for alpha in (-2.5, 0.5, 0.0, 3 - 4j):
        assert abs(svdkit.norm(alpha * A, ord_) - abs(alpha) * nA) <= u * abs(alpha) * nA
    # Triangle inequality.
    B = _like(linalg_case, (m, n), 10)
    lhs = svdkit.norm(A + B, ord_)
    assert lhs <= (nA + svdkit.norm(B, ord_)) * (1 + u)
    assert svdkit.norm(A - A, ord_) == 0
    # Sub-multiplicativity ‖AB‖ ≤ ‖A‖ ‖B‖ (with B, and with Aᴴ).
    for C in (_like(linalg_case, (n, 3), 11), A.conj().T):
        assert svdkit.norm(A @ C, ord_) <= nA * svdkit.norm(C, ord_) * (1 + u)


def test_vector_norms(linalg_case, num):
    A = linalg_case.A
    for v in [*A.T, A.ravel()]:
        v = np.array(v)
        u = num.unit(v)
        n1, n2, ninf = (svdkit.norm(v, o) for o in (1, 2, np.inf))
        assert svdkit.norm(v) == n2
        assert svdkit.norm(v, "inf") == ninf
        for value, o in ((n1, 1), (n2, 2), (ninf, np.inf)):
            expected = np.linalg.norm(v, o)
            assert abs(value - expected) <= u * expected
        assert abs(n2**2 - np.vdot(v, v).real) <= u * n2**2  # ‖v‖² = vᴴv
        # ‖v‖∞ ≤ ‖v‖₂ ≤ ‖v‖₁ ≤ n ‖v‖∞
        assert ninf <= n2 * (1 + u) and n2 <= n1 * (1 + u) and n1 <= v.size * ninf * (1 + u)
        w = _like(linalg_case, v.shape, 12)
        for o in (1, 2, np.inf):
            assert svdkit.norm(v + w, o) <= (svdkit.norm(v, o) + svdkit.norm(w, o)) * (1 + u)
            assert abs(svdkit.norm(-3 * v, o) - 3 * svdkit.norm(v, o)) <= 3 * u * svdkit.norm(v, o)


@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_measures_are_scale_equivariant_without_under_or_overflow(linalg_case, num, c):
    """‖cA‖ = |c| ‖A‖, rank(cA) = rank A, cond(cA) = cond A, even for tiny or huge c.

    Summing squares naively sends ‖1e-200·A‖_F to 0 (and ‖1e200·A‖_F to inf): the
    entries are finite and non-zero, so the norm must be too.
    """
    A = linalg_case.A
    cA = c * A
    u = num.unit(A) * 10
    for ord_ in ("fro", 2, "nuc", 1, np.inf):
        expected = c * svdkit.norm(A, ord_)
        assert abs(svdkit.norm(cA, ord_) - expected) <= u * expected, ord_
    for v in _vectors(linalg_case):
        for ord_ in (1, 2, np.inf, 3):
            expected = c * svdkit.norm(v, ord_)
            assert abs(svdkit.norm(c * v, ord_) - expected) <= u * expected, ord_
        if np.any(v):
            w = np.arange(1.0, v.size + 1)
            assert abs(svdkit.cosine(c * v, w) - svdkit.cosine(v, w)) <= u
        for metric in ("euclidean", "manhattan", "chebyshev"):
            d = svdkit.distance(v, v[::-1], metric)
            assert abs(svdkit.distance(c * v, c * v[::-1], metric) - c * d) <= u * c * d
    assert svdkit.rank(cA) == linalg_case.rank
    k = svdkit.cond(A)
    assert svdkit.cond(cA) == k or abs(svdkit.cond(cA) - k) <= u * k * num.cond(A)
    num.assert_close(svdkit.svd(cA).s / c, svdkit.svd(A).s, num.atol(A), "σ(cA) = |c| σ(A)")


def test_norms_of_subnormal_matrices_are_finite_and_definite(linalg_case):
    """Entries near the underflow threshold (here ~1e-310, subnormal): ‖A‖ > 0 iff A ≠ 0.

    Scaling such entries by a reciprocal (1/2⁻¹⁰³²) overflows; svdkit must not.
    """
    A = linalg_case.A * 1e-310
    for ord_ in ("fro", 2, "nuc", 1, np.inf):
        value = svdkit.norm(A, ord_)
        assert np.isfinite(value) and (value > 0) == bool(np.any(A)), (ord_, value)
    for v in _vectors(linalg_case):
        v = v * 1e-310
        for ord_ in (1, 2, np.inf):
            value = svdkit.norm(v, ord_)
            assert np.isfinite(value) and (value > 0) == bool(np.any(v)), (ord_, value)
        if np.any(v):
            # Subnormals keep fewer digits: relative spacing 2⁻¹⁰⁷⁴ / min |vᵢ|.
            spacing = max(np.finfo(float).smallest_subnormal / np.abs(v[v != 0]).min(), EPS)
            assert abs(svdkit.cosine(v, v) - 1) <= 100 * v.size * spacing
            assert svdkit.distance(v, 2 * v) > 0


def test_cond(linalg_case, num):
    A = linalg_case.A
    s = _sigma(linalg_case)
    c = svdkit.cond(A)
    if not linalg_case.full_rank:
        assert c == np.inf
    else:
        expected = s[0] / s[-1]
        assert abs(c - expected) <= num.unit(A) * expected * num.cond(A)
        assert c >= 1 - num.unit(A)
    assert svdkit.cond(A, 2) == c
    for ord_ in ("fro", 1, np.inf):
        if not linalg_case.square:
            with pytest.raises(ShapeError):
                svdkit.cond(A, ord_)
            continue
        value = svdkit.cond(A, ord_)
        if not linalg_case.full_rank:
            assert value == np.inf
        else:
            expected = np.linalg.cond(A, ord_)
            assert abs(value - expected) <= num.unit(A) * num.cond(A) * expected


# --------------------------------------------------------------------------------------
# Cosine and distances, on the columns and rows of each case
# --------------------------------------------------------------------------------------


def _vectors(case) -> list[np.ndarray]:
    return [np.array(v) for v in (*case.A.T, *case.A)]


def test_cosine(linalg_case, num):
    vs = [v for v in _vectors(linalg_case) if np.any(v)]
    for v, w in itertools.combinations_with_replacement(vs, 2):
        if v.shape != w.shape:
            with pytest.raises(ShapeError):
                svdkit.cosine(v, w)
            continue
        c = svdkit.cosine(v, w)
        assert -1.0 <= c <= 1.0
        u = num.unit(v) * 10
        expected = np.real(np.vdot(v, w)) / (np.linalg.norm(v) * np.linalg.norm(w))
        assert abs(c - expected) <= u
        # Cauchy–Schwarz, with equality iff collinear (over the reals): w = λv, λ real.
        sv = np.linalg.svd(
            np.column_stack([v / svdkit.norm(v), w / svdkit.norm(w)]), compute_uv=False
        )
        collinear = sv.size < 2 or sv[1] <= u * sv[0]  # two numbers are always collinear
        lam = np.vdot(v, w) / np.vdot(v, v)
        real_collinear = bool(collinear and abs(lam.imag) <= u * abs(lam))
        assert abs(np.vdot(v, w)) <= svdkit.norm(v) * svdkit.norm(w) * (1 + u)
        # For unit vectors, σ₂² / σ₁² of [v w] is (1 − |cos|) / (1 + |cos|) ≤ 1 − |cos|.
        if not collinear:
            assert 1 - abs(c) >= (sv[1] / sv[0]) ** 2 - u
        assert (abs(c) >= 1 - u) == real_collinear, (v, w, c)
    for v in vs:
        assert abs(svdkit.cosine(v, v) - 1) <= num.unit(v)
        assert abs(svdkit.cosine(v, -2.5 * v) + 1) <= num.unit(v)
        with pytest.raises(SvdkitError):
            svdkit.cosine(v, np.zeros_like(v))


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev", "hamming"])
def test_distance_axioms(linalg_case, num, metric):
    vs = _vectors(linalg_case)
    by_len: dict[int, list[np.ndarray]] = {}
    for v in vs:
        by_len.setdefault(v.size, []).append(v)
    for group in by_len.values():
        group = [*group, group[0] * 2 + 1, -group[0]]
        for x, y in itertools.product(group, repeat=2):
            d = svdkit.distance(x, y, metric)
            assert d >= 0
            assert d == svdkit.distance(y, x, metric)  # symmetry, exact
            same = np.array_equal(x, y)
            assert (d == 0) == same  # identity of indiscernibles
            if metric == "hamming":
                assert d == int(np.sum(x != y))
            else:
                o = {"euclidean": 2, "manhattan": 1, "chebyshev": np.inf}[metric]
                expected = np.linalg.norm(x - y, o)
                assert abs(d - expected) <= num.unit(x) * expected
        for x, y, z in itertools.product(group, repeat=3):
            dxz = svdkit.distance(x, z, metric)
            bound = svdkit.distance(x, y, metric) + svdkit.distance(y, z, metric)
            assert dxz <= bound * (1 + num.unit(x))


# --------------------------------------------------------------------------------------
# The four fundamental subspaces
# --------------------------------------------------------------------------------------


def test_subspaces(linalg_case, num):
    A, m, n = linalg_case.A, linalg_case.m, linalg_case.n
    S = svdkit.subspaces(A)
    r = linalg_case.rank
    assert S.rank == r
    assert S.dimensions == {"column": r, "null": n - r, "row": r, "left_null": m - r}
    assert S.column.shape == (m, r) and S.left_null.shape == (m, m - r)
    assert S.row.shape == (n, r) and S.null.shape == (n, n - r)
    assert S.dimensions["row"] + S.dimensions["null"] == n  # rank–nullity
    assert S.dimensions["column"] + S.dimensions["left_null"] == m
    for name in ("column", "null", "row", "left_null"):
        num.assert_orthonormal(getattr(S, name), name)
    tol = num.atol(A)
    num.assert_close(A @ S.null, np.zeros((m, n - r)), tol, "A · N(A)")
    num.assert_close(A.conj().T @ S.left_null, np.zeros((n, m - r)), tol, "Aᴴ · N(Aᴴ)")
    u = num.unit(A)
    num.assert_close(S.column.conj().T @ S.left_null, np.zeros((r, m - r)), u, "R(A) ⟂ N(Aᴴ)")
    num.assert_close(S.row.conj().T @ S.null, np.zeros((r, n - r)), u, "R(Aᴴ) ⟂ N(A)")
    # Together they fill the space: [column | left_null] and [row | null] are unitary.
    num.assert_orthonormal(np.hstack([S.column, S.left_null]).conj().T, "[R(A) N(Aᴴ)]ᴴ")
    num.assert_orthonormal(np.hstack([S.row, S.null]).conj().T, "[R(Aᴴ) N(A)]ᴴ")
    # R(A) contains every column of A, R(Aᴴ) every row.
    num.assert_close(num.projector(S.column) @ A, A, tol, "P_R(A) A = A")
    num.assert_close(A @ num.projector(S.row), A, tol, "A P_R(Aᴴ) = A")
    # The same spaces as NumPy's (projectors agree).
    P_row = num.projector(num.row_space_basis(A))
    num.assert_close(num.projector(S.row), P_row, u * num.cond(A) * 10, "row space vs numpy")
    # The bases are the columns of U and V split by zero / non-zero σ (note 000, 3.2).
    dec = S.decomposition
    np.testing.assert_array_equal(S.column, dec.U[:, :r])
    np.testing.assert_array_equal(S.left_null, dec.U[:, r:])
    np.testing.assert_array_equal(S.row, dec.V[:, :r])
    np.testing.assert_array_equal(S.null, dec.V[:, r:])


# --------------------------------------------------------------------------------------
# Eigendecompositions
# --------------------------------------------------------------------------------------


def test_eig(linalg_case, num):
    A, n = linalg_case.A, linalg_case.n
    if not linalg_case.square:
        with pytest.raises(ShapeError):
            svdkit.eig(A)
        return
    r = svdkit.eig(A)
    values, V = r
    assert values.shape == (n,) and V.shape == (n, n)
    assert _ascending(values), values
    num.assert_close(np.linalg.norm(V, axis=0), np.ones(n), num.unit(A), "unit eigenvectors")
    # geev is backward stable for the *balanced* D⁻¹AD: the residual for A carries κ(D).
    kD = num.balancing_cond(A)
    num.assert_close(A @ V, V * values, num.atol(A) * np.sqrt(n) * kD, "A V = V Λ")
    assert r.residual() <= num.unit(A) * kD
    num.assert_sign_rule(V, "eigenvectors")
    # Same spectrum as NumPy's, within Bauer–Fike: |δλ| ≤ κ(V) ‖E‖.
    kappa = np.linalg.cond(V)
    ref = np.linalg.eigvals(A)
    ref = ref[np.lexsort((ref.imag, ref.real))]
    num.assert_close(values, ref, 2 * kappa * num.atol(A) * np.sqrt(n), "λ vs numpy")
    if np.isrealobj(A) and np.all(np.linalg.eigvals(A).imag == 0):
        assert values.dtype == np.float64
    num.assert_close(r.reconstruct(), A, kappa * num.atol(A) * n, "V Λ V⁻¹")


def test_eigh_of_gram_matrices(linalg_case, num):
    """Theorem 3.2 of the INSA note: σᵢ² are the non-zero eigenvalues of AᴴA and AAᴴ."""
    A = linalg_case.A
    s2 = _sigma(linalg_case) ** 2
    for G in (A.conj().T @ A, A @ A.conj().T):
        G = (G + G.conj().T) / 2  # exactly Hermitian
        k = G.shape[0]
        r = svdkit.eigh(G)
        values, Q = r
        assert values.dtype == np.float64
        assert np.all(np.diff(values) >= 0), values
        num.assert_orthonormal(Q, "Q")
        num.assert_close(r.reconstruct(), G, num.atol(G), "Q Λ Qᴴ")
        num.assert_close((Q * values) @ Q.conj().T, G, num.atol(G), "Q Λ Qᴴ by hand")
        num.assert_close(G @ Q, Q * values, num.atol(G) * np.sqrt(k), "G Q = Q Λ")
        assert r.residual() <= num.unit(G)
        assert r.orthogonality() <= num.unit(G)
        num.assert_sign_rule(Q, "Q")
        expected = np.sort(np.concatenate([s2, np.zeros(k - s2.size)]))
        num.assert_close(values, expected, num.atol(G) * np.sqrt(k), "λ(AᴴA) = σ²")


def test_eigh_hermitian_part_and_refusal(linalg_case, num):
    A = linalg_case.A
    if not linalg_case.square:
        with pytest.raises(ShapeError):
            svdkit.eigh(A)
        return
    H = (A + A.conj().T) / 2
    r = svdkit.eigh(H)
    assert np.all(np.diff(r.values) >= 0)
    num.assert_close(r.reconstruct(), H, num.atol(H), "Q Λ Qᴴ")
    num.assert_close(r.values, np.linalg.eigvalsh(H), num.atol(H), "λ vs numpy")
    # Spectral theorem: eig of a Hermitian matrix has real eigenvalues and agrees.
    num.assert_close(svdkit.eig(H).values.real, r.values, num.atol(H) * 2, "eig vs eigh")
    hermitian = np.array_equal(A, A.conj().T)
    if hermitian:
        num.assert_close(svdkit.eigh(A).values, r.values, num.atol(A), "eigh(A)")
    else:
        with pytest.raises(StructureError):
            svdkit.eigh(A)
        # check=False uses the lower triangle, as LAPACK does.
        low = np.tril(A) + np.tril(A, -1).conj().T
        low = low - 1j * np.diag(np.diag(low).imag) if np.iscomplexobj(low) else low
        num.assert_close(
            svdkit.eigh(A, check=False).values, np.linalg.eigvalsh(low), num.atol(A), "lower"
        )


def test_eigh_eigenvectors_are_orthonormal_for_close_eigenvalues(num):
    """Regression (found by hypothesis): MRRR (SciPy's default syevr) returned Q with
    ‖QᵀQ − I‖_F ≈ 800·eps for this 8×8 integer matrix (eigenvalues −12.107 and −12.055)."""
    A = np.array(
        [
            [-1, 0, 1, -1, 3, 2, 5, -1],
            [4, -4, -2, 3, -5, 5, 5, 3],
            [1, 3, -5, -4, 5, -4, 0, 1],
            [1, 1, -2, 0, 5, 3, 4, -3],
            [-3, 0, 2, 1, 3, 4, -4, 4],
            [0, 3, -3, -1, 0, -4, -4, 2],
            [-4, -4, 1, 1, 0, 0, -4, 3],
            [-3, 0, 5, -4, 2, 2, 5, -3],
        ],
        dtype=float,
    )
    for H in ((A + A.T) / 2, (A + 1j * A.T + (A + 1j * A.T).conj().T) / 2):
        r = svdkit.eigh(H)
        assert r.orthogonality() <= 8 * 8 * num.EPS  # n · eps per column, like syevd
        num.assert_close(r.reconstruct(), H, num.atol(H), "Q Λ Qᴴ")


def test_eigh_refuses_complex_symmetric_non_hermitian():
    A = np.array([[1.0, 1j], [1j, 1.0]])  # A = Aᵀ but A ≠ Aᴴ
    with pytest.raises(StructureError):
        svdkit.eigh(A)


# --------------------------------------------------------------------------------------
# The gesvd fallback, and the front door's refusals
# --------------------------------------------------------------------------------------


def test_svd_falls_back_to_gesvd_when_gesdd_fails(linalg_case, num, monkeypatch):
    A = linalg_case.A
    calls = []
    scipy_svd = svd_module.scipy.linalg.svd

    def gesdd_fails(*args, **kwargs):
        calls.append(args)
        raise np.linalg.LinAlgError("SVD did not converge")

    def scipy_gesdd_fails(*args, lapack_driver="gesdd", **kwargs):
        # (complex and single-precision inputs take SciPy's gesdd, not NumPy's)
        if lapack_driver == "gesdd":
            return gesdd_fails(*args)
        return scipy_svd(*args, lapack_driver=lapack_driver, **kwargs)

    monkeypatch.setattr(svd_module.np.linalg, "svd", gesdd_fails)
    monkeypatch.setattr(svd_module.scipy.linalg, "svd", scipy_gesdd_fails)
    thin = svdkit.svd(A)
    full = svdkit.svd(A, full=True)
    trunc = svdkit.svd(A, 1)
    X = svdkit.pinv(A)
    S = svdkit.subspaces(A)
    monkeypatch.undo()
    assert len(calls) == 5, "svdkit did not try gesdd first"
    for r in (thin, full, trunc, S.decomposition):
        assert r.driver == "gesvd"
        num.assert_orthonormal(r.U, "U (gesvd)")
        num.assert_orthonormal(r.V, "V (gesvd)")
        num.assert_sign_rule(r.U, "U (gesvd)")
    num.assert_close(thin.s, _sigma(linalg_case), num.atol(A), "s (gesvd)")
    num.assert_close(thin.reconstruct(), A, num.atol(A), "U Σ Vᴴ (gesvd)")
    num.assert_close(full.U @ full.Sigma @ full.Vh, A, num.atol(A), "full (gesvd)")
    # Same answer as the default driver, thanks to the sign rule (distinct σ only).
    ref = svdkit.svd(A)
    assert ref.driver == "gesdd"
    s = ref.s
    gaps = np.abs(np.diff(np.concatenate([[np.inf], s, [-np.inf]])))
    gap = np.minimum(gaps[:-1], gaps[1:])
    for i in range(linalg_case.p):
        if s[i] > 0 and gap[i] > 1e-3 * s[0]:
            num.assert_close(thin.U[:, i], ref.U[:, i], num.atol(A) / gap[i], f"u_{i}")
    num.assert_close(X, svdkit.pinv(A), num.unit(A) * num.cond(A) * np.linalg.norm(X, 2), "pinv")
    assert S.rank == linalg_case.rank


@pytest.mark.parametrize(
    "fn",
    [
        svdkit.svd,
        svdkit.eig,
        svdkit.eigh,
        svdkit.inv,
        svdkit.pinv,
        svdkit.det,
        svdkit.trace,
        svdkit.rank,
        svdkit.cond,
        svdkit.subspaces,
        svdkit.left_inverse,
        svdkit.right_inverse,
        lambda A: svdkit.norm(A, 2),
        lambda A: svdkit.lstsq(A, np.ones(len(A))),
    ],
)
def test_non_finite_and_empty_inputs_are_refused(fn):
    for bad in (np.nan, np.inf, -np.inf):
        A = np.eye(3)
        A[1, 2] = bad
        with pytest.raises(NonFiniteError):
            fn(A)
    with pytest.raises(EmptyInputError):
        fn(np.zeros((0, 3)))
