"""Property-based tests: the identities of the table, on hypothesis-generated matrices.

Matrices come from the ``mats`` fixture (``conftest.py``): shapes up to 8×8
(1×1, 1×n and n×1 included), real and complex, integer-valued and float,
rank-deficient by construction (``C @ D`` with a small inner dimension and integer
factors, so the rank is known exactly) and ill-conditioned by construction
(``U diag(logspace(0, −e)) Vᴴ``, singular values known exactly). Tolerances come
from the ``num`` fixture, the same first-order model as the table.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import svdkit
from svdkit import RankError, ShapeError, SingularMatrixError, SvdkitError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _sigma(A):
    return np.linalg.svd(A, compute_uv=False)


def _draw_vector(data, mats, n, complex_=None):
    complex_ = data.draw(st.booleans()) if complex_ is None else complex_
    return data.draw(mats.dense((n,), mats.floats, complex_))


# --------------------------------------------------------------------------------------
# SVD
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_svd_identities(data, mats, num):
    A = data.draw(mats.any(), label="A")
    m, n = A.shape
    p = min(m, n)
    tol = num.atol(A)
    r = svdkit.svd(A)
    U, s, Vh = r
    assert (U.shape, s.shape, Vh.shape) == ((m, p), (p,), (p, n))
    assert np.all(s >= 0) and np.all(np.diff(s) <= 0)
    num.assert_close(s, _sigma(A), tol, "s vs numpy")
    num.assert_orthonormal(U, "U")
    num.assert_orthonormal(r.V, "V")
    num.assert_close((U * s) @ Vh, A, tol, "U Σ Vᴴ")
    num.assert_sign_rule(U, "U")
    full = svdkit.svd(A, full=True)
    num.assert_close(full.U @ full.Sigma @ full.Vh, A, tol, "full U Σ Vᴴ")
    num.assert_orthonormal(full.U.conj().T, "Uᴴ (full)")
    num.assert_orthonormal(full.Vh, "Vᴴ (full)")
    num.assert_sign_rule(full.U, "U (full)")
    num.assert_sign_rule(full.V[:, p:], "V completion")
    res = r.residuals()
    assert res.reconstruction <= num.unit(A)
    assert max(res.orthogonality_u, res.orthogonality_v) <= num.unit(A)
    assert res.max_triplet <= tol
    # Eckart–Young for one k.
    k = data.draw(st.integers(0, p), label="k")
    t = svdkit.svd(A, k)
    E = A - t.reconstruct()
    sv = _sigma(A)
    assert abs(np.linalg.norm(E, 2) - (sv[k] if k < p else 0.0)) <= tol
    assert abs(np.linalg.norm(E) - np.sqrt(np.sum(sv[k:] ** 2))) <= tol * np.sqrt(p)
    num.assert_close(t.reconstruct(), r.approx(k), tol, "svd(A, k) vs approx(k)")


@SETTINGS
@given(data=st.data())
def test_svd_of_ill_conditioned_matrices_by_construction(data, mats, num):
    A, sigma = data.draw(mats.ill_conditioned(), label="A, sigma")
    r = svdkit.svd(A)
    num.assert_close(r.s, sigma, num.atol(A), "s vs the constructed σ")
    p = sigma.size
    assert r.rank() == p == svdkit.rank(A)  # σ_min ≥ 1e-12 ≫ 8·eps
    c = svdkit.cond(A)
    assert abs(c - sigma[0] / sigma[-1]) <= num.unit(A) * (sigma[0] / sigma[-1]) ** 2
    num.assert_close(r.reconstruct(), A, num.atol(A), "U Σ Vᴴ")


@SETTINGS
@given(data=st.data())
def test_rank_deficient_matrices_by_construction(data, mats, num):
    B, k, exact = data.draw(mats.rank_deficient(), label="B, k, exact")
    m, n = B.shape
    r = svdkit.rank(B)
    assert r <= k < min(m, n)
    if exact:
        assert r == k
        assert svdkit.svd(B).rank() == k
    assert svdkit.cond(B) == np.inf  # rank < min(m, n)
    S = svdkit.subspaces(B)
    assert S.dimensions == {
        "column": S.rank,
        "null": n - S.rank,
        "row": S.rank,
        "left_null": m - S.rank,
    }
    num.assert_close(B @ S.null, np.zeros((m, n - S.rank)), num.atol(B), "B · N(B)")
    num.assert_close(B.conj().T @ S.left_null, np.zeros((n, m - S.rank)), num.atol(B), "Bᴴ · N(Bᴴ)")
    with pytest.raises(RankError):
        svdkit.left_inverse(B)
    with pytest.raises(RankError):
        svdkit.right_inverse(B)
    if m == n:
        with pytest.raises(SingularMatrixError):
            svdkit.inv(B)
        assert abs(svdkit.det(B)) <= num.det_tol(B)


# --------------------------------------------------------------------------------------
# Pseudo-inverse, least squares, inverses
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_pinv_moore_penrose(data, mats, num):
    A = data.draw(mats.any(), label="A")
    X = svdkit.pinv(A)
    u, k = num.unit(A), num.cond(A)
    assert X.shape == A.shape[::-1]
    num.assert_close(A @ X @ A, A, u * k * np.linalg.norm(A, 2), "A A⁺ A = A")
    num.assert_close(X @ A @ X, X, u * k * np.linalg.norm(X, 2), "A⁺ A A⁺ = A⁺")
    num.assert_close((A @ X).conj().T, A @ X, u * k, "(A A⁺)ᴴ = A A⁺")
    num.assert_close((X @ A).conj().T, X @ A, u * k, "(A⁺ A)ᴴ = A⁺ A")


@SETTINGS
@given(data=st.data())
def test_lstsq_normal_equations_and_minimum_norm(data, mats, num):
    A = data.draw(mats.any(), label="A")
    b = _draw_vector(data, mats, A.shape[0])
    r = svdkit.lstsq(A, b)
    x = r.x
    nA = np.linalg.norm(A, 2)
    resid = A @ x - b
    assert abs(r.residuals - np.linalg.norm(resid)) <= num.unit(A) * max(1.0, np.linalg.norm(b))
    tol = num.unit(A) * nA * (nA * np.linalg.norm(x) + np.linalg.norm(b))
    assert np.linalg.norm(A.conj().T @ resid) <= tol  # Aᴴ(Ax − b) = 0
    P = num.projector(num.row_space_basis(A))
    num.assert_close(P @ x, x, num.unit(A) * num.cond(A) * np.linalg.norm(x), "x ⟂ N(A)")
    # No solution of smaller residual: compare with a perturbation along a random direction.
    d = _draw_vector(data, mats, A.shape[1], complex_=np.iscomplexobj(A) or np.iscomplexobj(b))
    assume(np.any(d))
    y = x + d / np.linalg.norm(d)
    # ‖Ay − b‖² = ‖r‖² + ‖A(y − x)‖² + 2 Re⟨y − x, Aᴴr⟩ ≥ ‖r‖² − 2‖Aᴴr‖ (‖y − x‖ = 1).
    rounding = num.unit(A) * (nA * (np.linalg.norm(x) + 1) + np.linalg.norm(b))
    floor = np.sqrt(max(np.linalg.norm(resid) ** 2 - 2 * tol, 0.0))
    assert np.linalg.norm(A @ y - b) >= floor - 2 * rounding


@SETTINGS
@given(data=st.data())
def test_inverses(data, mats, num):
    A = data.draw(mats.any(), label="A")
    m, n = A.shape
    r = svdkit.rank(A)
    k = num.cond(A)
    if m == n:
        if r == n:
            assume(k < 1e12)  # far from inv's numerical-singularity refusal (rcond ≤ n·eps)
            X = svdkit.inv(A)
            num.assert_close(A @ X, np.eye(n), num.unit(A) * k, "A A⁻¹ = I")
            num.assert_close(X @ A, np.eye(n), num.unit(A) * k, "A⁻¹ A = I")
        else:
            with pytest.raises(SingularMatrixError):
                svdkit.inv(A)
    else:
        with pytest.raises(ShapeError):
            svdkit.inv(A)
    if r == n:
        L = svdkit.left_inverse(A)
        num.assert_close(L @ A, np.eye(n), num.unit(A) * k, "L A = I")
    else:
        with pytest.raises(RankError):
            svdkit.left_inverse(A)
    if r == m:
        R = svdkit.right_inverse(A)
        num.assert_close(A @ R, np.eye(m), num.unit(A) * k, "A R = I")
    else:
        with pytest.raises(RankError):
            svdkit.right_inverse(A)


# --------------------------------------------------------------------------------------
# Determinant, trace, rank
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_det_identities(data, mats, num):
    n = data.draw(st.integers(1, 6), label="n")
    complex_ = data.draw(st.booleans(), label="complex")
    A = data.draw(mats.general(shape=(n, n), complex_=complex_), label="A")
    B = data.draw(mats.general(shape=(n, n), complex_=complex_), label="B")
    dA, dB = svdkit.det(A), svdkit.det(B)
    tA, tB = num.det_tol(A), num.det_tol(B)
    assert abs(abs(dA) - np.prod(_sigma(A))) <= tA  # |det A| = ∏σ
    assert abs(svdkit.det(A.T) - dA) <= 2 * tA
    assert abs(np.prod(svdkit.eig(A).values) - dA) <= 2 * tA
    e = num.unit(A) * np.linalg.norm(A, 2) * np.linalg.norm(B, 2)
    s = _sigma(A @ B)
    t_ab = np.prod(s + e) - np.prod(s)
    assert abs(svdkit.det(A @ B) - dA * dB) <= t_ab + tA * abs(dB) + tB * abs(dA) + tA * tB
    T = np.triu(A)
    assert abs(svdkit.det(T) - np.prod(np.diag(T))) <= num.det_tol(T)
    assert svdkit.det(np.eye(n)) == 1.0


@SETTINGS
@given(data=st.data())
def test_trace_identities(data, mats, num):
    A = data.draw(mats.general(), label="A")
    m, n = A.shape
    B = data.draw(mats.general(shape=(n, m)), label="B")
    tol = num.unit(A) * np.linalg.norm(A) * np.linalg.norm(B)
    assert abs(svdkit.trace(A @ B) - svdkit.trace(B @ A)) <= tol  # Tr(AB) = Tr(BA)
    if m != n:
        with pytest.raises(ShapeError):
            svdkit.trace(A)
        return
    t = svdkit.trace(A)
    assert t == np.trace(A)
    assert abs(np.sum(svdkit.eig(A).values) - t) <= n * num.atol(A)  # Tr = Σλ
    C = data.draw(mats.general(shape=(n, n)), label="C")
    alpha = data.draw(st.floats(-10, 10), label="alpha")
    lin = svdkit.trace(A + alpha * C)
    scale = np.abs(np.diag(A)).sum() + abs(alpha) * np.abs(np.diag(C)).sum()
    assert abs(lin - (t + alpha * svdkit.trace(C))) <= num.unit(A) * scale


@SETTINGS
@given(data=st.data())
def test_rank_bounds(data, mats, num):
    # Integer-valued factors: the products are exact, so rank(AB) is the rank of AB itself.
    A = data.draw(mats.general(integer=True), label="A")
    m, n = A.shape
    q = data.draw(st.integers(1, 8), label="q")
    B = data.draw(mats.general(shape=(n, q), integer=True), label="B")
    rA, rB, rAB = svdkit.rank(A), svdkit.rank(B), svdkit.rank(A @ B)
    assert rA <= min(m, n)
    assert rAB <= min(rA, rB)
    assert rA == num.numpy_rank(A)
    s = _sigma(A)
    assert rA == int(np.sum(s > max(m, n) * num.EPS * s[0]))
    assert svdkit.rank(A.T) == rA
    assert svdkit.svd(A).rank() == rA


# --------------------------------------------------------------------------------------
# Norms, condition number
# --------------------------------------------------------------------------------------

_ORDS = ["fro", 2, "nuc", 1, np.inf]


@SETTINGS
@given(data=st.data())
def test_matrix_norms(data, mats, num):
    A = data.draw(mats.any(), label="A")
    m, n = A.shape
    u = num.unit(A) * 10
    s = _sigma(A)
    for o in _ORDS:
        v = svdkit.norm(A, o)
        assert abs(v - np.linalg.norm(A, o)) <= u * v
    assert abs(svdkit.norm(A, 2) - s[0]) <= u * s[0]
    assert abs(svdkit.norm(A) ** 2 - np.sum(s**2)) <= u * np.sum(s**2)
    assert abs(svdkit.norm(A, "nuc") - np.sum(s)) <= u * np.sum(s)
    B = data.draw(mats.general(shape=(m, n)), label="B")
    C = data.draw(mats.general(shape=(n, data.draw(st.integers(1, 8)))), label="C")
    alpha = data.draw(st.complex_numbers(max_magnitude=1e3, allow_nan=False), label="alpha")
    for o in _ORDS:
        nA = svdkit.norm(A, o)
        assert svdkit.norm(A + B, o) <= (nA + svdkit.norm(B, o)) * (1 + u)
        assert svdkit.norm(A @ C, o) <= nA * svdkit.norm(C, o) * (1 + u)
        assert abs(svdkit.norm(alpha * A, o) - abs(alpha) * nA) <= u * abs(alpha) * nA


@SETTINGS
@given(data=st.data())
def test_vector_norms(data, mats, num):
    n = data.draw(st.integers(1, 8))
    v, w = _draw_vector(data, mats, n), _draw_vector(data, mats, n)
    u = num.unit(v) * 10
    for o in (1, 2, np.inf):
        nv = svdkit.norm(v, o)
        assert abs(nv - np.linalg.norm(v, o)) <= u * nv
        assert svdkit.norm(v + w, o) <= (nv + svdkit.norm(w, o)) * (1 + u)
        assert abs(svdkit.norm(-2 * v, o) - 2 * nv) <= u * nv
        assert (nv == 0) == (not np.any(v))


@SETTINGS
@given(data=st.data())
def test_cond(data, mats, num):
    A = data.draw(mats.any(), label="A")
    s = _sigma(A)
    c = svdkit.cond(A)
    if svdkit.rank(A) < min(A.shape):
        assert c == np.inf
    else:
        assert abs(c - s[0] / s[-1]) <= num.unit(A) * (s[0] / s[-1]) ** 2
        assert c >= 1 - num.unit(A)


# --------------------------------------------------------------------------------------
# Cosine, distances
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_cosine_and_cauchy_schwarz(data, mats, num):
    n = data.draw(st.integers(1, 8))
    complex_ = data.draw(st.booleans())
    u, v = _draw_vector(data, mats, n, complex_), _draw_vector(data, mats, n, complex_)
    assume(np.any(u) and np.any(v))
    c = svdkit.cosine(u, v)
    eps = num.unit(u) * 10
    assert -1.0 <= c <= 1.0
    assert abs(np.vdot(u, v)) <= svdkit.norm(u) * svdkit.norm(v) * (1 + eps)
    lam = data.draw(st.floats(-1e3, 1e3).filter(lambda x: abs(x) > 1e-3))
    assert abs(svdkit.cosine(u, lam * u) - np.sign(lam)) <= eps  # equality when collinear
    # … and only then: for unit vectors σ₂²/σ₁² of [u v] is (1 − |cos|)/(1 + |cos|),
    # so 1 − |cos| ≥ (σ₂/σ₁)², which is > 0 unless they are collinear.
    s = _sigma(np.column_stack([u / svdkit.norm(u), v / svdkit.norm(v)]))
    if n >= 2:
        assert 1 - abs(c) >= (s[1] / s[0]) ** 2 - eps
        cs = abs(np.vdot(u, v)) / (svdkit.norm(u) * svdkit.norm(v))  # the complex |cos|
        assert 1 - cs >= (s[1] / s[0]) ** 2 - eps


@SETTINGS
@given(data=st.data(), metric=st.sampled_from(["euclidean", "manhattan", "chebyshev"]))
def test_distance_axioms(data, mats, num, metric):
    n = data.draw(st.integers(1, 8))
    complex_ = data.draw(st.booleans())
    x, y, z = (_draw_vector(data, mats, n, complex_) for _ in range(3))
    d = svdkit.distance
    assert d(x, y, metric) >= 0
    assert d(x, x, metric) == 0
    assert (d(x, y, metric) == 0) == np.array_equal(x, y)
    assert d(x, y, metric) == d(y, x, metric)
    scale = max(np.abs(x).max(), np.abs(y).max(), np.abs(z).max())
    assert d(x, z, metric) <= d(x, y, metric) + d(y, z, metric) + num.unit(x) * n * scale


@SETTINGS
@given(data=st.data())
def test_hamming_axioms(data):
    n = data.draw(st.integers(0, 12))
    alphabet = st.sampled_from("abc123")
    x, y, z = (data.draw(st.text(alphabet, min_size=n, max_size=n)) for _ in range(3))
    d = svdkit.distance
    assert d(x, y, "hamming") == sum(a != b for a, b in zip(x, y, strict=True))
    assert d(x, y, "hamming") >= 0
    assert (d(x, y, "hamming") == 0) == (x == y)
    assert d(x, y, "hamming") == d(y, x, "hamming")
    assert d(x, z, "hamming") <= d(x, y, "hamming") + d(y, z, "hamming")
    with pytest.raises(SvdkitError):
        d(x + "a", y, "hamming")


# --------------------------------------------------------------------------------------
# Subspaces, eigendecompositions
# --------------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_subspaces(data, mats, num):
    A = data.draw(mats.any(), label="A")
    m, n = A.shape
    S = svdkit.subspaces(A)
    r = S.rank
    assert r == svdkit.svd(A).rank()
    assert S.dimensions == {"column": r, "null": n - r, "row": r, "left_null": m - r}
    for name in ("column", "null", "row", "left_null"):
        num.assert_orthonormal(getattr(S, name), name)
    tol, u = num.atol(A), num.unit(A)
    num.assert_close(A @ S.null, np.zeros((m, n - r)), tol, "A N(A)")
    num.assert_close(A.conj().T @ S.left_null, np.zeros((n, m - r)), tol, "Aᴴ N(Aᴴ)")
    num.assert_close(S.column.conj().T @ S.left_null, np.zeros((r, m - r)), u, "R(A) ⟂ N(Aᴴ)")
    num.assert_close(S.row.conj().T @ S.null, np.zeros((r, n - r)), u, "R(Aᴴ) ⟂ N(A)")
    num.assert_close(num.projector(S.column) @ A, A, tol, "columns of A in R(A)")
    num.assert_close(A @ num.projector(S.row), A, tol, "rows of A in R(Aᴴ)")


@SETTINGS
@given(data=st.data())
def test_eig_and_eigh(data, mats, num):
    n = data.draw(st.integers(1, 8), label="n")
    A = data.draw(mats.general(shape=(n, n)), label="A")
    r = svdkit.eig(A)
    vals = r.values
    assert all(
        vals[i].real < vals[i + 1].real
        or (vals[i].real == vals[i + 1].real and vals[i].imag <= vals[i + 1].imag)
        for i in range(n - 1)
    )
    # geev is backward stable for the *balanced* D⁻¹AD: the residual for A carries κ(D).
    tol = num.atol(A) * np.sqrt(n) * num.balancing_cond(A)
    num.assert_close(A @ r.vectors, r.vectors * vals, tol, "A V = V Λ")
    num.assert_sign_rule(r.vectors, "eigenvectors")
    for H in ((A + A.conj().T) / 2, A.conj().T @ A):
        H = (H + H.conj().T) / 2
        h = svdkit.eigh(H)
        assert h.values.dtype == np.float64 and np.all(np.diff(h.values) >= 0)
        num.assert_orthonormal(h.vectors, "Q")
        num.assert_close(h.reconstruct(), H, num.atol(H), "Q Λ Qᴴ")
        num.assert_sign_rule(h.vectors, "Q")
    s2 = _sigma(A) ** 2
    num.assert_close(svdkit.eigh(H).values, np.sort(s2), num.atol(H) * np.sqrt(n), "λ(AᴴA) = σ²")
    if not np.array_equal(A, A.conj().T):
        defect = np.linalg.norm(A - A.conj().T)
        if defect > 1e3 * num.unit(A) * np.linalg.norm(A):
            with pytest.raises(svdkit.StructureError):
                svdkit.eigh(A)
