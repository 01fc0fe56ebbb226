"""The large-scale engine: certificates checked independently, every input kind, every method.

Every test recomputes what it checks with NumPy on the dense matrix (residuals,
singular values, the best rank-k error) instead of trusting the engine's own
numbers. Sizes are small (the whole file runs in well under a minute on two
shared cores) but above the threshold where ``method="auto"`` would hand the
matrix to LAPACK, so the iterative methods really run.
"""

from __future__ import annotations

import io
import os
import tracemalloc
from contextlib import redirect_stderr

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import svdkit
from svdkit.errors import ConvergenceError, ShapeError, SvdkitError
from svdkit.lowrank import (
    LowRankSVD,
    as_operator,
    choose_method,
    rank_by_tolerance,
    truncated_svd,
)

EPS = np.finfo(float).eps
ITERATIVE = ("krylov", "randomized", "dash")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """The reference SVDs of these tests are small: on a shared machine, two BLAS
    threads waiting on each other cost more than they bring."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


# ----------------------------------------------------------------------------- helpers


def _haar(rng: np.random.Generator, m: int, k: int, complex_: bool = False) -> np.ndarray:
    z = rng.standard_normal((m, k))
    if complex_:
        z = z + 1j * rng.standard_normal((m, k))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def matrix(m: int, n: int, sigma: np.ndarray, seed: int = 0, complex_: bool = False):
    """``U diag(sigma) Vᴴ`` with Haar ``U``, ``V``: singular values known exactly."""
    rng = np.random.default_rng(seed)
    p = sigma.size
    return (_haar(rng, m, p, complex_) * sigma) @ _haar(rng, n, p, complex_).conj().T


def dense_of(A) -> np.ndarray:
    if sp.issparse(A):
        return A.toarray()
    return np.asarray(A)


def independent_residuals(A: np.ndarray, r) -> tuple[np.ndarray, np.ndarray]:
    """``‖A vᵢ − σᵢ uᵢ‖`` and ``‖Aᴴ uᵢ − σᵢ vᵢ‖`` recomputed with NumPy in float64."""
    A = np.asarray(A, dtype=np.result_type(A.dtype, np.float64))
    V = r.Vh.conj().T
    right = np.linalg.norm(A @ V - r.U * r.s, axis=0)
    left = np.linalg.norm(A.conj().T @ r.U - V * r.s, axis=0)
    return right, left


def assert_certified(A, r, tol: float, k: int | None = None) -> None:
    """The result's claims hold when recomputed: residuals, orthonormality, σ, sign rule."""
    A = dense_of(A)
    k = r.s.size if k is None else k
    assert r.U.shape == (A.shape[0], k) and r.s.shape == (k,) and r.Vh.shape == (k, A.shape[1])
    assert r.converged
    s_true = np.linalg.svd(A.astype(np.result_type(A.dtype, np.float64)), compute_uv=False)
    scale = s_true[0]
    right, left = independent_residuals(A, r)
    slack = 100 * max(A.shape) * EPS * scale  # rounding of the two computations
    assert np.all(right <= tol * scale + slack), f"right residuals {right.max() / scale:.2e}·σ₁"
    assert np.all(left <= tol * scale + slack), f"left residuals {left.max() / scale:.2e}·σ₁"
    np.testing.assert_allclose(r.residuals_right, right, rtol=1e-6, atol=slack)
    np.testing.assert_allclose(r.residuals_left, left, rtol=1e-6, atol=slack)
    # each σ is within ‖residual‖ of the exact one (Weyl, for a certified set)
    assert np.all(np.abs(r.s - s_true[:k]) <= 2 * tol * scale + slack)
    assert np.all(np.diff(r.s) <= 0)
    for Q in (r.U, r.Vh.conj().T):
        assert np.linalg.norm(Q.conj().T @ Q - np.eye(k)) <= 1e-12 * max(1, k)
    for j in range(k):  # the sign rule: first entry of maximal magnitude is positive
        col = r.U[:, j]
        mags = np.abs(col)
        pivot = col[np.flatnonzero(mags >= mags.max() * (1 - 1e-10))[0]]
        assert pivot.real > 0 and abs(pivot.imag) <= 1e-12


SIGMA = 1.0 / np.arange(1, 301) ** 1.5  # decaying spectrum
A0 = matrix(600, 300, SIGMA, seed=1)


# ----------------------------------------------------------------------------- certificates


@pytest.mark.parametrize("method", [*ITERATIVE, "lapack", "auto"])
def test_certificate_recomputed_independently(method):
    r = truncated_svd(A0, 10, method=method)
    assert isinstance(r, LowRankSVD) and isinstance(r, svdkit.SVD)
    assert (
        r.method
        == r.driver
        == (method if method != "auto" else choose_method(as_operator(A0), 10, 1e-6))
    )
    assert_certified(A0, r, 1e-6)
    assert r.tol == 1e-6 and r.iterations >= 1
    U, s, Vh = r  # unpacks like svdkit.SVD
    assert U is r.U and s is r.s and Vh is r.Vh


@pytest.mark.parametrize("tol", [1e-3, 1e-9])
def test_tolerance_is_met_and_honest(tol):
    r = truncated_svd(A0, 8, tol=tol, method="krylov")
    assert_certified(A0, r, tol)
    assert r.relative_residuals.max() <= tol


@pytest.mark.parametrize("kind", ["dense", "sparse", "complex"])
def test_fused_certificate_agrees_with_direct_products(kind):
    """With a fused ``gram``, ``Aᴴ U`` comes from ``Aᴴ A V`` for the large σ and
    from a direct product for the small ones: both residuals as measured directly."""
    from svdkit.lowrank.certify import rayleigh_ritz

    rng = np.random.default_rng(7)
    sigma = np.logspace(0, -4, 40)  # σᵢ/σ₁ below and above the 10⁻² switch
    A = matrix(120, 60, sigma, seed=3, complex_=kind == "complex")
    if kind == "sparse":  # random sparse rows, graded columns: σ spread over decades
        R = sp.random(120, 60, density=0.3, random_state=3, format="csr")
        A = sp.csr_matrix(R @ sp.diags(np.logspace(0, -5, 60)))
    op = as_operator(A)
    assert op.fused == "gram"
    Ad = dense_of(A)
    V = np.linalg.svd(Ad)[2].conj().T[:, :30]
    V = np.linalg.qr(V + 1e-6 * rng.standard_normal(V.shape))[0]  # near, not exact
    widths: list[int] = []
    rmatmat = op.rmatmat
    op.rmatmat = lambda Y: widths.append(Y.shape[1]) or rmatmat(Y)  # type: ignore[method-assign]
    fused = rayleigh_ritz(op, V, rng, 1e-6)
    small = fused.s < 1e-2 * fused.s[0]
    # A V with Aᴴ A V in one read; a direct Aᴴ uᵢ for the small σᵢ only
    assert widths == [int(small.sum())] and 0 < small.sum() < 30
    direct = rayleigh_ritz(op, V, rng, None)
    assert widths[1:] == [30]  # without tol: Aᴴ U for all
    for cert in (fused, direct):
        left = np.linalg.norm(Ad.conj().T @ cert.U - cert.V * cert.s, axis=0)
        right = np.linalg.norm(Ad @ cert.V - cert.U * cert.s, axis=0)
        slack = 100 * max(Ad.shape) * EPS * cert.s[0]
        np.testing.assert_allclose(cert.left, left, rtol=1e-6, atol=slack)
        np.testing.assert_allclose(cert.right, right, rtol=1e-6, atol=slack)
    np.testing.assert_allclose(fused.s, direct.s, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("threads", [1, 3])
def test_dense_products_in_both_layouts(dtype, threads):
    """Dense products: in-cache blocks on one lane, the transposed layout on several
    (ragged last blocks included) — every product equals NumPy's."""
    from svdkit.lowrank.operators import DenseOperator

    rng = np.random.default_rng(4)
    A = rng.standard_normal((2003, 1600)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal(A.shape)
    op = DenseOperator(A, threads=threads)
    assert op.streamed == (threads > 1) and len(op.lanes) == threads
    assert all((b - a) % op.rows for a, b in op.lanes)  # every lane ends on a partial block
    Ad = A.astype(np.result_type(dtype, np.float64))
    X = rng.standard_normal((1600, 5)) + (
        1j * rng.standard_normal((1600, 5)) if A.dtype.kind == "c" else 0
    )
    Y = rng.standard_normal((2003, 5))
    scale = np.linalg.norm(Ad) ** 2 * 1e-13
    np.testing.assert_allclose(op.matmat(X), Ad @ X, atol=scale)
    np.testing.assert_allclose(op.rmatmat(Y), Ad.conj().T @ Y, atol=scale)
    G = Ad.conj().T @ (Ad @ X)
    np.testing.assert_allclose(op.gram(X), G, atol=scale)
    W, G2 = op.gram_pair(X)
    np.testing.assert_allclose(W, Ad @ X, atol=scale)
    np.testing.assert_allclose(G2, G, atol=scale)
    assert op.passes == 4
    assert op.a.dtype == A.dtype  # a large float32 matrix is never copied whole


def test_small_float32_is_widened_once():
    """A small float32 matrix is widened to float64 once, not on every product;
    the operator still reports its storage precision."""
    from svdkit.lowrank.operators import DenseOperator

    A = np.random.default_rng(1).standard_normal((300, 200)).astype(np.float32)
    op = DenseOperator(A)
    assert op.native and op.a.dtype == np.float64 and op.describe().endswith("float32")
    X = np.ones((200, 3))
    np.testing.assert_allclose(op.gram(X), A.T.astype(float) @ (A.astype(float) @ X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("shape", [(300, 200), (2003, 1600)], ids=["widened-once", "streamed"])
def test_products_in_the_storage_precision(dtype, shape):
    """``stored_precision(True)`` multiplies a single-precision matrix as stored
    (float32 accuracy, float64 results); off again, products are float64-exact.
    Float64 matrices have no such mode."""
    from svdkit.lowrank.operators import DenseOperator

    rng = np.random.default_rng(6)
    A = rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal(shape).astype(np.float32)
    Ad = A.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    op = DenseOperator(A, threads=2)
    X = rng.standard_normal((shape[1], 5))
    Y = rng.standard_normal((shape[0], 5))
    exact = (Ad @ X, Ad.conj().T @ Y, Ad.conj().T @ (Ad @ X))
    assert op.stored_precision(True)
    got = (op.matmat(X), op.rmatmat(Y), op.gram_pair(X))
    single = [got[0], got[1], got[2][0], got[2][1]]
    wanted = [exact[0], exact[1], exact[0], exact[2]]
    for value, want in zip(single, wanted, strict=True):
        assert value.dtype == op.dtype  # float64 / complex128 arrays all the same
        err = np.linalg.norm(value - want) / np.linalg.norm(want)
        assert 1e-12 < err < 1e-5  # single-precision arithmetic: not exact, close
    # the norm is summed in float64 whatever the products' mode
    assert op.fro_norm() == pytest.approx(np.linalg.norm(Ad), rel=1e-12)
    assert not op.stored_precision(False)
    np.testing.assert_allclose(op.gram(X), exact[2], rtol=1e-11, atol=1e-9)
    assert not DenseOperator(Ad).stored_precision(True)


@pytest.mark.parametrize("transposed", [False, True], ids=["C", "F"])
def test_single_precision_steps_certified_in_double(transposed):
    """At a loose tolerance the Krylov steps on a float32 matrix multiply in float32;
    the certificate is measured with float64 products (recomputed here), and the
    operator is back in float64 afterwards. A tight tolerance never leaves float64."""
    from svdkit.lowrank._common import Target
    from svdkit.lowrank.krylov import STORED_PRECISION_TOL, block_lanczos

    A = matrix(700, 500, 1.0 / np.arange(1, 501), seed=8).astype(np.float32)
    if transposed:
        A = np.asfortranarray(A)

    def spied(A):
        op = as_operator(A)
        dense = getattr(op, "inner", op)
        modes: list[np.dtype] = []

        def spy(f):
            return lambda *a, **kw: modes.append(dense.compute_dtype) or f(*a, **kw)

        for name in ("matmat", "rmatmat", "_gram"):
            setattr(dense, name, spy(getattr(dense, name)))
        return op, dense, modes

    op, dense, modes = spied(A)
    tol = max(1e-3, STORED_PRECISION_TOL)
    cert, k, run = block_lanczos(
        op, Target(k=12, limit=500), tol=tol, rng=np.random.default_rng(0), block=4
    )
    assert run.extra["converged"] and k == 12
    assert np.float32 in modes and np.float64 in modes  # steps single, certificate double
    assert dense.compute_dtype == np.float64  # off again
    Ad = A.astype(np.float64)
    right = np.linalg.norm(Ad @ cert.V - cert.U * cert.s, axis=0)
    left = np.linalg.norm(Ad.T @ cert.U - cert.V * cert.s, axis=0)
    slack = 100 * max(A.shape) * EPS * cert.s[0]
    np.testing.assert_allclose(cert.right, right, rtol=1e-6, atol=slack)
    np.testing.assert_allclose(cert.left, left, rtol=1e-6, atol=slack)
    assert np.maximum(right, left).max() <= tol * cert.s[0]
    s = np.linalg.svd(Ad, compute_uv=False)[:12]
    assert np.abs(cert.s - s).max() <= tol * s[0]
    op, dense, modes = spied(A)
    block_lanczos(op, Target(k=12, limit=500), tol=1e-8, rng=np.random.default_rng(0), block=4)
    assert modes and all(d == np.float64 for d in modes)


@pytest.mark.parametrize(
    ("shape", "k", "expected"),
    [
        ((120, 120), 8, "lapack"),  # ≤ 2¹⁴ entries
        ((200, 200), 8, "gram"),  # short side ≤ 256: the Gram matrix, whatever the spectrum
        ((192, 576), 8, "gram"),
        ((576, 192), 32, "gram"),
        ((256, 4000), 8, "gram"),
        ((257, 4000), 8, "krylov"),
        ((300, 300), 8, "krylov"),
        ((300, 300), 151, "lapack"),  # 2k > p
        ((1536, 384), 193, "lapack"),
        ((1536, 384), 128, "krylov"),  # the Gram matrix: 384×384
        ((384, 384), 96, "krylov"),
        ((1536, 384), 32, "krylov"),
    ],
)
def test_auto_chooses_lapack_only_where_it_is_cheaper(shape, k, expected):
    assert choose_method(as_operator(np.ones(shape)), k, 1e-6) == expected


def test_auto_leaves_the_gram_matrix_below_its_precision():
    """Below tol 1e-8 the eigenvectors of AᴴA would need polishing: LAPACK is exact."""
    assert choose_method(as_operator(np.ones((200, 200))), 8, 1e-9) == "lapack"
    assert choose_method(as_operator(np.ones((200, 200))), 8, 1e-8) == "gram"


@pytest.mark.parametrize(
    "case",
    [
        "tall",
        "wide",
        "fortran",
        "float32",
        "complex",
        "sparse",
        "linear-operator",
        "file",
        "rank",
        "rank-deficient",
        "polish",
    ],
)
def test_gram_method_certifies(case, tmp_path):
    """method="gram": the short side's Gram matrix, Rayleigh–Ritz, both residuals
    measured — on either orientation, float32 (single-precision Gram matrix), complex,
    sparse, in rank mode, on a rank-deficient matrix, and below its rounding floor."""
    sigma = 1.0 / np.arange(1, 151) ** 0.8
    A = matrix(400, 150, sigma, seed=21, complex_=case == "complex")
    tol, k, kw = 1e-8, 12, {}
    if case == "wide":
        A = A.T.copy()
    elif case == "float32":
        A, tol = A.astype(np.float32), 1e-4
    elif case == "sparse":
        A = sp.random(600, 150, density=0.05, random_state=4, format="csr")
    elif case == "rank":
        k, kw = None, {"rank_tol": 0.05}
    elif case == "rank-deficient":
        A = matrix(400, 150, np.concatenate([sigma[:20], np.zeros(130)]), seed=22)
        k = 30  # 10 of them zero
    elif case == "polish":
        A = matrix(400, 150, np.logspace(0, -14, 150), seed=23)
        tol, k = 1e-10, 90  # σ₉₀ ≈ 1e-8.4: its Gram eigenvector is off by ~eps·σ₁²/σ
    given = A
    if case == "fortran":
        given = np.asfortranarray(A)
    elif case == "linear-operator":
        given = spla.aslinearoperator(A)  # the Gram matrix from products with blocks of I
    elif case == "file":
        np.save(tmp_path / "a.npy", A)
        given, kw = tmp_path / "a.npy", {"memory_limit": 64 * 2**10}  # read in row blocks
    r = truncated_svd(given, k, tol=tol, method="gram", seed=0, **kw)
    assert r.method == "gram" and any("Gram matrix" in n for n in r.notes)
    if case == "rank":
        dense = np.asarray(A)
        s = np.linalg.svd(dense, compute_uv=False)
        err = s[r.s.size] if r.s.size < s.size else 0.0
        assert err <= 0.05 * s[0] < s[r.s.size - 1]  # the smallest rank meeting it
    if case == "polish":
        assert any("two-sided" in n for n in r.notes)
    assert_certified(A, r, tol)


def test_gram_method_refuses_a_huge_short_side():
    A = sp.random(9000, 9000, density=1e-4, random_state=0, format="csr")
    with pytest.raises(ShapeError, match=r"gram method.*8192"):
        truncated_svd(A, 3, method="gram")


@pytest.mark.parametrize(
    "kind", ["C", "F", "adjoint", "float32", "float32-blocks", "complex", "sparse"]
)
def test_gram_matrix_of_every_layout(kind):
    rng = np.random.default_rng(5)
    shape = (4200, 520) if kind == "float32-blocks" else (300, 70)  # > 2²¹ entries: not widened
    A = rng.standard_normal(shape)
    if kind == "complex":
        A = A + 1j * rng.standard_normal(shape)
    if kind.startswith("float32"):
        A = A.astype(np.float32)
    op = {
        "F": lambda: as_operator(np.asfortranarray(A)),
        "adjoint": lambda: as_operator(np.ascontiguousarray(A.conj().T)).adjoint(),
        "sparse": lambda: as_operator(sp.csr_matrix(A)),
    }.get(kind, lambda: as_operator(A))()
    exact = A.astype(np.result_type(A.dtype, np.float64))
    G = op.gram_matrix()
    np.testing.assert_allclose(G, exact.conj().T @ exact, rtol=0, atol=1e-10 * np.abs(exact).sum())
    np.testing.assert_allclose(
        op.cogram_matrix()[:50, :50], (exact @ exact.conj().T)[:50, :50], atol=1e-9 * shape[1]
    )
    if kind == "float32":  # in the storage precision when asked
        assert op.stored_precision(True)
        G32 = op.gram_matrix()
        op.stored_precision(False)
        assert G32.dtype == np.float32
        np.testing.assert_allclose(G32, exact.T @ exact, rtol=1e-4, atol=1e-3)


def test_gram_eigen_single_precision_falls_back_to_double():
    """float32's Gram matrix rounds at about 6e-8·σ₁²: enough for σ ≥ 0.05 at tol 1e-4,
    not where σ² is 1e-6 and its gaps 1e-7 (then formed again in float64)."""
    for low, k, again in ((-4.5, 90, False), (-6.0, 150, True)):
        A = matrix(900, 300, np.logspace(0, low, 300), seed=6).astype(np.float32)
        r = truncated_svd(A, k, tol=1e-4, method="krylov", max_basis=300)
        assert any("Gram matrix" in n for n in r.notes)
        assert any("formed again in float64" in n for n in r.notes) == again
        assert_certified(A, r, 1e-4, k)


def test_gram_eigen_below_its_rounding_floor_is_polished():
    sigma = np.logspace(0, -14, 250)  # σ₁₂₀ ≈ 1e-7: its Gram eigenvector is off by ~eps/σ
    A = matrix(600, 250, sigma, seed=7)
    r = truncated_svd(A, 120, tol=1e-10, method="krylov")  # the Gram path: k ≥ 0.22 n
    assert r.method == "krylov"
    assert any("Gram" in n for n in r.notes) and any("two-sided" in n for n in r.notes)
    assert_certified(A, r, 1e-10, 120)


@pytest.mark.parametrize(
    "case",
    [
        "krylov",
        "krylov-float32",
        "wide",
        "complex",
        "sparse",
        "lapack",
        "gram",
        "randomized",
        "dash",
    ],
)
def test_rayleigh_quotients_give_the_approximation_error(case):
    """``rayleigh`` = Re uᵢᴴ A vᵢ, measured by every method and orientation, so that
    ‖A‖_F² − 2 Σ σᵢ rayleighᵢ + Σ σᵢ² is the error ‖A − U Σ Vᴴ‖_F² (recomputed here)."""
    from svdkit.lora.factor import approximation_error

    sigma = 1.0 / np.arange(1, 201) ** 0.7
    A = matrix(300, 200, sigma, seed=11, complex_=case == "complex")
    kw: dict = {"tol": 1e-8, "method": "krylov"}
    if case == "krylov-float32":
        A, kw["tol"] = A.astype(np.float32), 1e-3
    elif case == "wide":
        A = A.T.copy()
    elif case == "sparse":
        A = sp.random(400, 250, density=0.05, random_state=3, format="csr")
    elif case in ("lapack", "gram", "randomized", "dash"):
        kw["method"] = case
    r = truncated_svd(A, 15, seed=0, **kw)
    dense = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=np.result_type(A.dtype, float))
    direct = np.linalg.norm(dense - (r.U * r.s) @ r.Vh)
    assert r.rayleigh.shape == (15,)
    assert np.abs(r.rayleigh - r.s).max() <= r.residuals_left.max() + 1e-12 * r.s[0]
    fro2 = float(np.linalg.norm(dense) ** 2)
    assert approximation_error(r.s, r.rayleigh, fro2) == pytest.approx(direct, rel=1e-8)
    assert r.truncate(4).rayleigh.shape == (4,)


@pytest.mark.parametrize("max_basis", [None, 40], ids=["no-restart", "restarts"])
@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_certificate_from_kept_basis_products(max_basis, complex_):
    """On a dense matrix the Krylov basis keeps ``A V`` and ``Aᴴ A V`` as the steps
    compute them (rotated at a thick restart): the certificate then costs no pass
    over ``A``, and its residuals are still what a direct product measures."""
    from svdkit.lowrank._common import Target
    from svdkit.lowrank.certify import rayleigh_ritz
    from svdkit.lowrank.krylov import _BasisProducts, block_lanczos

    A = matrix(300, 200, 1.0 / np.arange(1, 201), seed=5, complex_=complex_)
    op = as_operator(A)
    assert _BasisProducts.worth(op, 60)
    calls: list[str] = []
    for name in ("matmat", "rmatmat", "gram"):
        f = getattr(op, name)
        setattr(op, name, lambda X, f=f, name=name: calls.append(name) or f(X))
    cert, k, run = block_lanczos(
        op,
        Target(k=10, limit=200),
        tol=1e-8,
        rng=np.random.default_rng(0),
        block=4,
        max_basis=max_basis,
    )
    assert run.extra["converged"] and k == 10
    # every read of A was a step's gram_pair: none for the certificate (σ₁₀ ≥ 10⁻² σ₁)
    assert calls == [] and op.passes == run.iterations
    if max_basis is not None:
        assert run.iterations * 4 > 40  # the basis did restart
    right = np.linalg.norm(A @ cert.V - cert.U * cert.s, axis=0)
    left = np.linalg.norm(A.conj().T @ cert.U - cert.V * cert.s, axis=0)
    slack = 100 * max(A.shape) * EPS * cert.s[0]
    np.testing.assert_allclose(cert.right, right, rtol=1e-6, atol=slack)
    np.testing.assert_allclose(cert.left, left, rtol=1e-6, atol=slack)
    assert cert.met(1e-8, 10).all()
    # and the same as a certificate that multiplies again
    again = rayleigh_ritz(as_operator(A), cert.V, np.random.default_rng(0), 1e-8)
    np.testing.assert_allclose(again.s, cert.s, rtol=0, atol=1e-13)


def test_kept_products_only_where_cheaper():
    """Sparse matrices with few entries per row, operators without a fused ``gram``
    and files certify with a pass over ``A`` instead of combining kept products."""
    from svdkit.lowrank.krylov import _BasisProducts

    dense = as_operator(np.ones((300, 200)))
    assert _BasisProducts.worth(dense, 100) and not _BasisProducts.worth(dense.adjoint(), 100)
    thin = as_operator(sp.random(3000, 2000, density=0.001, random_state=0, format="csr"))
    thick = as_operator(sp.random(300, 200, density=0.5, random_state=0, format="csr"))
    assert not _BasisProducts.worth(thin, 100) and _BasisProducts.worth(thick, 100)
    lin = as_operator(spla.aslinearoperator(np.ones((300, 200))))
    assert not _BasisProducts.worth(lin, 100)


def test_agrees_with_lapack_vectors():
    r = truncated_svd(A0, 6, tol=1e-10, method="krylov")
    U, s, Vh = np.linalg.svd(A0, full_matrices=False)
    for i in range(6):
        gap = min(abs(s[i] - s[j]) for j in range(len(s)) if j != i)
        bound = 10 * max(r.residuals_right[i], r.residuals_left[i]) / gap + 1e-12
        # same sign rule: the vectors agree, not just up to sign
        sign = np.sign(U[np.argmax(np.abs(U[:, i])), i])
        assert np.linalg.norm(r.U[:, i] - sign * U[:, i]) <= bound
        assert np.linalg.norm(r.Vh[i] - sign * Vh[i]) <= bound


def test_eckart_young_optimality_of_approx():
    k = 7
    r = truncated_svd(A0, k, tol=1e-8)
    s = np.linalg.svd(A0, compute_uv=False)
    E = A0 - r.approx(k)
    assert abs(np.linalg.norm(E, 2) - s[k]) <= 1e-7 * s[0]
    assert abs(np.linalg.norm(E) - np.sqrt(np.sum(s[k:] ** 2))) <= 1e-7 * s[0]
    # no other rank-k matrix from the same triplets does better: dropping the
    # certified triplet i and keeping σ_{k+1}'s place costs exactly σᵢ² − σ_{k+1}²
    res = r.residuals()
    assert abs(res.reconstruction - np.linalg.norm(E) / np.linalg.norm(A0)) <= 1e-12
    assert res.orthogonality_u <= 1e-12 and res.orthogonality_v <= 1e-12
    t = r.truncate(3)
    assert isinstance(t, LowRankSVD) and t.residuals_right.shape == (3,)


# ----------------------------------------------------------------------------- input kinds


def _wide_sparse(seed=0):
    return sp.random(400, 900, density=0.02, random_state=seed, format="csr")


def _kind(name: str, tmp_path):
    """``(input, dense reference or None)`` for one input kind, built on demand."""
    S = sp.random(900, 500, density=0.02, random_state=3, format="csr")
    if name.startswith("npy") or name.startswith("memmap"):
        fortran = "fortran" in name
        path = tmp_path / ("f.npy" if fortran else "c.npy")
        np.save(path, np.asfortranarray(A0) if fortran else A0)
        if name.startswith("memmap"):
            return np.load(path, mmap_mode="r"), A0
        return (str(path) if fortran else path), A0
    table = {
        "dense C": lambda: (A0, A0),
        "dense F": lambda: (np.asfortranarray(A0), A0),
        "dense wide": lambda: (A0.T.copy(), A0.T),
        "float32": lambda: (A0.astype(np.float32), A0.astype(np.float32)),
        "float32 F": lambda: (np.asfortranarray(A0.astype(np.float32)), A0.astype(np.float32)),
        "complex": lambda: (matrix(500, 300, SIGMA, 2, True), None),
        "sparse csr": lambda: (S, S),
        "sparse float32": lambda: (S.astype(np.float32), S.astype(np.float32)),
        "sparse csc": lambda: (S.tocsc(), S),
        "sparse coo": lambda: (S.tocoo(), S),
        "sparse wide": lambda: (_wide_sparse(), _wide_sparse()),
        "sparse complex": lambda: (
            (S + 1j * sp.random(900, 500, density=0.01, random_state=4)).tocsr(),
            None,
        ),
        "LinearOperator": lambda: (spla.aslinearoperator(S), S),
    }
    return table[name]()


KIND_NAMES = [
    "dense C", "dense F", "dense wide", "float32", "float32 F", "complex",
    "sparse csr", "sparse csc", "sparse coo", "sparse wide", "sparse float32", "sparse complex",
    "LinearOperator", "npy path", "npy fortran path", "memmap", "memmap fortran",
]  # fmt: skip


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_input_kind(kind, tmp_path):
    X, ref = _kind(kind, tmp_path)
    if ref is None:
        ref = X.toarray() if sp.issparse(X) else X
    r = truncated_svd(X, 6, method="krylov", memory_limit=256 * 2**10)
    assert_certified(dense_of(ref), r, 1e-6)
    assert r.passes >= 2


@pytest.mark.parametrize("method", ["randomized", "dash"])
@pytest.mark.parametrize("kind", ["sparse wide", "LinearOperator", "npy fortran path", "complex"])
def test_other_methods_on_other_kinds(kind, method, tmp_path):
    X, ref = _kind(kind, tmp_path)
    if ref is None:
        ref = X
    # flat sparse spectra need many power iterations: a looser tol keeps this quick
    tol = 1e-6 if kind in ("npy fortran path", "complex") else 1e-3
    r = truncated_svd(X, 4, method=method, tol=tol, max_iter=400)
    assert_certified(dense_of(ref), r, tol)


def test_out_of_core_file_larger_than_the_memory_cap(tmp_path):
    """A 16 MB file under a 1 MB cap: the process never holds the matrix."""
    m, n, k = 20000, 100, 5
    rng = np.random.default_rng(7)
    A = (rng.standard_normal((m, 8)) * [50, 40, 30, 20, 10, 5, 4, 3]) @ rng.standard_normal((8, n))
    A += 0.01 * rng.standard_normal((m, n))
    path = tmp_path / "big.npy"
    np.save(path, A)
    cap = 2**20
    assert os.path.getsize(path) > 15 * cap
    op = as_operator(path, memory_limit=cap)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        r = truncated_svd(op, k, method="krylov")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert op.peak_block_bytes <= cap
    budget = cap + 8 * (m + n) * (k + 16) * 8  # the cap plus O((m + n)(k + p)) vectors
    assert peak <= budget, f"peak {peak / 2**20:.1f} MiB > {budget / 2**20:.1f} MiB"
    assert peak < os.path.getsize(path) / 2
    assert_certified(A, r, 1e-6)
    assert r.passes <= 2 * r.iterations + 4  # one pass per block Lanczos step
    with pytest.raises(ShapeError, match="memory_limit"):
        as_operator(path, memory_limit=100)


def test_out_of_core_rejects_nan(tmp_path):
    A = np.ones((300, 40))
    A[123, 7] = np.nan
    np.save(tmp_path / "nan.npy", A)
    with pytest.raises(svdkit.NonFiniteError, match="row 124, column 8"):
        truncated_svd(tmp_path / "nan.npy", 2, memory_limit=10_000)


def test_dask_on_a_local_cluster():
    import dask.array as da
    import dask.distributed as distributed

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        X = da.from_array(A0, chunks=(150, 300))
        with distributed.get_task_stream(client) as stream:
            r = truncated_svd(X, 6, method="krylov")
        assert len(stream.data) > 0, "nothing ran on the cluster"
        assert_certified(A0, r, 1e-6)
        Xw = da.from_array(A0.T.copy(), chunks=(300, 150))  # wide: works on Aᴴ
        assert_certified(A0.T, truncated_svd(Xw, 6, method="krylov"), 1e-6)
        r2 = truncated_svd(X, 6, method="randomized")
        assert_certified(A0, r2, 1e-6)
        assert r.residuals().reconstruction == pytest.approx(
            np.linalg.norm(A0 - r.approx(6)) / np.linalg.norm(A0), rel=1e-9
        )
        # a dask array of SciPy sparse chunks stays sparse: CSR row blocks on the
        # cluster (tall, and wide through its transpose; chunks across columns joined)
        S = sp.random(900, 300, density=0.02, format="csr", random_state=4)
        for M in (S, S.T.tocsr()):
            Xs = da.from_array(M, chunks=(200, 120), asarray=False)
            assert type(as_operator(Xs)).__name__ == "SparseBlocksOperator"
            with distributed.get_task_stream(client) as stream:
                rs = truncated_svd(Xs, 5)
            assert len(stream.data) > 0, "nothing ran on the cluster"
            assert_certified(M.toarray(), rs, 1e-6)


def test_dask_on_worker_processes_is_deterministic():
    """The same seed gives the same bits on a cluster of two worker processes: every
    iterative method on dense chunks, and the wide (adjoint) and sparse-chunk operators;
    the products are dask graphs whose sums run in a fixed order, whichever worker holds
    which chunk. (dashSVD differed by ~8e-16 between runs in an earlier session; not
    reproduced since, and guarded here.)"""
    import dask.array as da
    import dask.distributed as distributed

    # (column scales that decay, so that every method converges in a few steps)
    S = (
        sp.random(900, 300, density=0.03, random_state=7) @ sp.diags(0.9 ** np.arange(300))
    ).tocsr()
    inputs = {
        "dense tall": (A0, lambda: da.from_array(A0, chunks=(150, 100)), ITERATIVE),
        "dense wide": (A0.T, lambda: da.from_array(A0.T.copy(), chunks=(100, 150)), ("krylov",)),
        "sparse": (
            S.toarray(),
            lambda: da.from_array(S, chunks=(200, -1), asarray=False),
            ("krylov", "dash"),
        ),
    }
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        for name, (dense, make, methods) in inputs.items():
            for method in methods:
                first = truncated_svd(make(), 6, method=method, seed=3)
                assert_certified(dense, first, 1e-6)
                again = truncated_svd(make(), 6, method=method, seed=3)
                for part in ("s", "U", "Vh", "residuals_right", "residuals_left"):
                    assert np.array_equal(getattr(first, part), getattr(again, part)), (
                        name, method, part,
                    )  # fmt: skip


def test_dask_rejects_nan():
    import dask.array as da

    A = A0.copy()
    A[5, 7] = np.inf
    with pytest.raises(svdkit.NonFiniteError, match="dask array"):
        truncated_svd(da.from_array(A, chunks=(150, 300)), 3, method="krylov")
    S = sp.random(400, 100, density=0.05, format="csr", random_state=1)
    S.data[3] = np.nan
    with pytest.raises(svdkit.NonFiniteError, match="sparse dask array"):
        truncated_svd(da.from_array(S, chunks=(100, -1), asarray=False), 3)
    with pytest.raises(ShapeError, match="complex sparse dask"):
        truncated_svd(da.from_array(S.astype(complex), chunks=(100, -1), asarray=False), 3)
    # COO / DIA / BSR chunks cannot be sliced: a raw TypeError out of dask.compute before
    for fmt in ("coo", "bsr"):
        bad = da.from_array(S.asformat(fmt), chunks=(100, -1), asarray=False)
        with pytest.raises(ShapeError, match=r"chunks could not be computed.*\.tocsr\(\)"):
            truncated_svd(bad, 3)


def test_high_accuracy_past_the_gram_floor():
    """σₖ/σ₁ = 1e-6: Lanczos on AᴴA alone stalls near eps·σ₁²/σₖ ≈ 2e-10·σ₁; the
    two-sided polish still certifies 1e-12."""
    sigma = 10.0 ** (-np.arange(300) / 5)
    A = matrix(500, 300, sigma, seed=10)
    r = truncated_svd(A, 31, tol=1e-12, method="krylov")
    assert_certified(A, r, 1e-12)
    assert any("two-sided" in note for note in r.notes)


# ----------------------------------------------------------------------------- failure, rank


def test_convergence_failure_says_which_and_how_far():
    S = sp.random(1500, 800, density=0.01, random_state=5, format="csr")  # flat spectrum
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(S, 10, method="randomized", max_iter=2)
    err = info.value
    msg = str(err)
    assert "did not certify" in msg and "tol=1e-06" in msg and "#10" in msg
    partial = err.result
    assert isinstance(partial, LowRankSVD) and not partial.converged
    right, left = independent_residuals(S.toarray(), partial)
    np.testing.assert_allclose(partial.residuals_right, right, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(partial.residuals_left, left, rtol=1e-6, atol=1e-12)
    bad = np.maximum(right, left) > 1e-6 * partial.s[0]
    assert np.array_equal(np.flatnonzero(bad), err.unconverged)
    with pytest.raises(ConvergenceError, match="krylov computed only 8 of the 10"):
        truncated_svd(S, 10, method="krylov", max_iter=1)
    with pytest.raises(ConvergenceError):
        truncated_svd(S, 10, method="dash", max_iter=2)


def test_same_seed_same_result_other_seed_same_triplets():
    S = sp.random(1200, 700, density=0.02, random_state=6, format="csr")
    a = truncated_svd(S, 8, seed=11)
    b = truncated_svd(S, 8, seed=11)
    for x, y in ((a.U, b.U), (a.s, b.s), (a.Vh, b.Vh)):
        assert np.array_equal(x, y)
    c = truncated_svd(S, 8, seed=12)
    assert np.all(np.abs(a.s - c.s) <= 2e-6 * a.s[0])
    assert a.seed == 11 and c.seed == 12


@pytest.mark.parametrize("method", ["krylov", "randomized", "dash", "lapack"])
def test_rank_by_tolerance(method):
    sigma = np.array([10.0, 5, 2, 1, 0.5, 0.05, 0.004, 0.003, 0.002, 0.001] + [1e-6] * 190)
    A = matrix(500, 200, sigma, seed=8)
    r = truncated_svd(A, rank_tol=1e-2, method=method)  # spectral: σ_{k+1} ≤ 0.1
    assert r.k == 5 and r.rank_tol == 1e-2 and r.rank_norm == "spectral"
    assert_certified(A, r, 1e-6)
    e = truncated_svd(A, rank_tol=0.05, rank_norm="energy", method=method)
    fro = np.linalg.norm(sigma)
    tails = [np.sqrt(np.sum(sigma[j:] ** 2)) / fro for j in range(12)]
    assert e.k == next(j for j, t in enumerate(tails) if t <= 0.05)
    assert np.linalg.norm(A - e.approx(e.k)) <= 0.05 * np.linalg.norm(A)
    with pytest.raises(ConvergenceError, match="needs more than the k=3"):
        truncated_svd(A, 3, rank_tol=1e-2, method=method)


def test_rank_by_tolerance_grows_past_the_first_guess():
    sigma = 0.9 ** np.arange(300)
    A = matrix(700, 300, sigma, seed=9)
    r = rank_by_tolerance(A, 1e-3)  # 0.9^66 ≈ 9.6e-4: k = 66, beyond the first guess of 16
    assert r.k == int(np.sum(sigma > 1e-3)) == 66
    assert_certified(A, r, 1e-6)
    L = spla.aslinearoperator(A)
    e = rank_by_tolerance(L, 0.1, norm="energy", method="krylov")  # ‖A‖_F by probing
    tail = np.sqrt(np.cumsum(sigma[::-1] ** 2)[::-1]) / np.linalg.norm(sigma)
    assert e.k == int(np.argmax(tail <= 0.1))


@pytest.mark.parametrize(
    "shape, k, mult, block",
    [
        ((300, 200), 12, 20, 4),  # Krylov on the deflated operator
        ((140, 140), 30, 35, None),  # default block (8), found 24 of 35 before
        ((120, 100), 12, 30, 4),  # the complement of the found vectors is small: all of it
    ],
)
def test_singular_values_repeated_more_than_the_block(shape, k, mult, block):
    """A block of b holds at most b directions of a singular subspace: the rest are
    looked for off the triplets found (σ = 1 ×mult, then 0.5, 0.1)."""
    m, n = shape
    sigma = np.repeat([1.0, 0.5, 0.1], mult)[: min(m, n)]
    for complex_ in (False, True):
        A = matrix(m, n, sigma, seed=4, complex_=complex_)
        r = truncated_svd(A, k, tol=1e-8, method="krylov", block=block, seed=1)
        assert_certified(A, r, 1e-8, k)
        np.testing.assert_allclose(r.s, sigma[:k], atol=1e-8)
        best = np.sqrt(np.sum(sigma[k:] ** 2))
        assert abs(np.linalg.norm(A - r.approx(k)) - best) <= 1e-7


@pytest.mark.parametrize("norm", ["spectral", "energy"])
def test_rank_of_a_repeated_singular_value(norm):
    sigma = np.concatenate([np.ones(20), np.full(180, 1e-6)])
    A = matrix(300, 200, sigma, seed=2)
    r = truncated_svd(A, rank_tol=1e-3, rank_norm=norm, method="krylov", block=4, tol=1e-8)
    assert r.k == 20
    assert_certified(A, r, 1e-8)


def test_nearly_invariant_krylov_space_stays_orthogonal():
    """Three distinct singular values: the Krylov space is invariant after three steps,
    and the next block is all rounding in some columns (a 120×121 matrix, k = 4)."""
    sigma = np.repeat([1.0, 0.5, 0.1], 40)
    for seed in range(6):
        A = matrix(120, 121, sigma, seed=seed, complex_=bool(seed % 2))
        r = truncated_svd(A, 4, tol=1e-8, method="krylov", seed=3)
        assert_certified(A, r, 1e-8, 4)
        np.testing.assert_allclose(r.s, 1.0, atol=1e-8)


def test_rank_deficient_and_zero_matrices():
    C = np.random.default_rng(3).standard_normal((400, 3))
    A = C @ np.random.default_rng(4).standard_normal((3, 250))  # rank 3, asked for 6
    r = truncated_svd(A, 6, method="krylov")
    assert_certified(A, r, 1e-6)
    assert np.all(r.s[3:] <= 1e-10 * r.s[0])
    Z = sp.csr_matrix((500, 300))
    z = truncated_svd(Z, 4)
    assert np.all(z.s == 0) and z.converged
    assert np.allclose(z.U.T @ z.U, np.eye(4)) and np.allclose(z.Vh @ z.Vh.T, np.eye(4))


def test_rank_mode_handing_over_to_the_gram_matrix_keeps_counting_steps():
    """Rank mode that grows the basis to nearly all of n finishes on the Gram matrix:
    the progress reports go on from the steps already taken, and the rank is right."""
    from svdkit.lowrank._common import Target
    from svdkit.lowrank.krylov import block_lanczos

    rng = np.random.default_rng(0)
    m, n = 600, 150
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 0.95 ** np.arange(n)
    A = (U * s) @ V.T
    steps = []
    cert, k, run = block_lanczos(
        as_operator(A),
        Target(k=8, limit=n, rank_tol=1e-3),
        tol=1e-6,
        rng=np.random.default_rng(1),
        progress=lambda step, passes, met, want, ratio: steps.append(step),
    )
    assert any("Gram matrix instead" in note for note in run.notes)
    assert steps == sorted(steps) and steps[-1] == run.iterations
    assert k == int(np.count_nonzero(s > 1e-3 * s[0]))  # σ_{k+1} ≤ 1e-3 σ₁ first
    assert np.allclose(cert.s[:k], s[:k], atol=1e-6)


def test_progress_bar_on_request(monkeypatch):
    import rich.console

    buf = io.StringIO()
    with redirect_stderr(buf):
        truncated_svd(A0, 4, method="krylov")
    assert buf.getvalue() == ""  # off by default

    class Captured(rich.console.Console):
        def __init__(self, *args, **kwargs):
            kwargs.pop("stderr", None)
            # (a terminal: the bar is drawn only there)
            super().__init__(*args, file=buf, width=120, force_terminal=True, **kwargs)

    monkeypatch.setattr(rich.console, "Console", Captured)
    truncated_svd(A0, 4, method="krylov", progress=True)
    out = buf.getvalue()
    assert "krylov dense 600×300 float64" in out and "4/4 certified" in out
    buf.truncate(0)
    buf.seek(0)
    truncated_svd(A0, 4, method="gram", progress=True)  # one step, reported when certified
    out = buf.getvalue()
    assert "gram dense 600×300 float64" in out and "4/4 certified" in out


# ----------------------------------------------------------------------------- svdkit.svd


def test_svd_delegates_large_and_matrix_free_inputs(tmp_path):
    S = sp.random(900, 500, density=0.02, random_state=3, format="csr")
    r = svdkit.svd(S, 5)
    assert isinstance(r, LowRankSVD) and r.tol == 1e-10 and r.driver == "krylov"
    assert_certified(S, r, 1e-10)
    L = spla.aslinearoperator(S)
    assert np.allclose(svdkit.svd(L, 5).s, r.s, rtol=0, atol=1e-9 * r.s[0])
    with pytest.raises(ShapeError, match="pass k"):
        svdkit.svd(L)
    np.save(tmp_path / "a.npy", A0)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    for X in (mm, tmp_path / "a.npy"):
        assert_certified(A0, svdkit.svd(X, 5), 1e-10)
    big = matrix(1200, 900, 1.0 / np.arange(1, 901), seed=5)
    d = svdkit.svd(big, 5)
    assert d.driver == "krylov"
    assert_certified(big, d, 1e-10)
    small = svdkit.svd(A0[:50, :40], 5)  # small dense: LAPACK as before
    assert small.driver == "gesdd" and not isinstance(small, LowRankSVD)


# ----------------------------------------------------------------------------- arguments


def test_arguments_are_checked():
    with pytest.raises(ShapeError, match="give k"):
        truncated_svd(A0)
    with pytest.raises(ShapeError, match="between 0 and min"):
        truncated_svd(A0, 301)
    with pytest.raises(ShapeError, match="integer"):
        truncated_svd(A0, 2.5)
    for bad in (0, -1e-3, 1.0, float("nan"), 1e-20, "1e-6"):
        with pytest.raises(SvdkitError, match="tol"):
            truncated_svd(A0, 3, tol=bad)
    with pytest.raises(SvdkitError, match="method"):
        truncated_svd(A0, 3, method="arpack")
    with pytest.raises(SvdkitError, match="rank_norm"):
        truncated_svd(A0, rank_tol=0.1, rank_norm="nuclear")
    with pytest.raises(ShapeError, match="max_iter"):
        truncated_svd(A0, 3, max_iter=0)
    with pytest.raises(ShapeError, match="lapack method needs"):
        truncated_svd(sp.csr_matrix((200_000, 5_000)), 2, method="lapack")
    e = truncated_svd(A0, 0)
    assert e.U.shape == (600, 0) and e.s.shape == (0,) and e.Vh.shape == (0, 300)
    with pytest.raises(svdkit.NonFiniteError):
        truncated_svd(np.array([[1.0, np.nan], [0, 1]]), 1)


# --------------------------------------------------------------- memory of the certificate


@pytest.mark.parametrize(
    ("m", "dtype", "order"),
    [
        (5000, np.float64, "C"),
        (5000, np.float32, "F"),
        (3000, np.complex128, "C"),
        (100, np.float64, "C"),
    ],
)
def test_matmul_in_place_equals_the_product(m, dtype, order):
    from svdkit.lowrank.orth import matmul_in_place

    rng = np.random.default_rng(3)
    X = np.asarray(rng.standard_normal((m, 7)), dtype=dtype, order=order)
    C = np.asarray(rng.standard_normal((7, 7)), dtype=dtype)
    if np.dtype(dtype).kind == "c":
        X = X + 1j * rng.standard_normal(X.shape)
        C = C + 1j * rng.standard_normal(C.shape)
    expected = X @ C
    out = matmul_in_place(X, C)
    assert out.dtype == X.dtype
    assert (out is X) == (m > 2048)  # large blocks are overwritten, small ones multiplied
    rtol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    assert np.allclose(out, expected, rtol=rtol, atol=rtol)
    with pytest.raises(ValueError, match="square"):
        matmul_in_place(X, C[:, :3])


def test_certificate_holds_two_long_blocks_at_most():
    """Rayleigh–Ritz on a tall matrix: beyond its results (U, and the short
    side's V, Aᴴ U), the long side needs A V and one more m×k block, not four."""
    from svdkit.lowrank.certify import rayleigh_ritz

    m, n, k = 40_000, 80, 30
    A = np.random.default_rng(4).standard_normal((m, n))
    op = as_operator(A)
    V, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((n, k)))
    block = m * k * 8
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        cert = rayleigh_ritz(op, V, np.random.default_rng(6), 1e-6)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * block  # A V, and Q turned into U (was four blocks: 4.1)
    U, s, Vr = cert.U, cert.s, cert.V
    assert np.allclose(U.T @ U, np.eye(k), atol=1e-12)
    assert np.allclose(np.linalg.norm(A @ Vr - U * s, axis=0), cert.right, atol=1e-12)
    assert np.allclose(np.linalg.norm(A.T @ U - Vr * s, axis=0), cert.left, atol=1e-12)


def test_certificate_leaves_a_linear_operators_own_buffer_alone():
    """A LinearOperator may hand back an array it keeps: the certificate never
    writes over it."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((5000, 60))
    held = {}

    def matmat(X):
        held["X"], held["out"] = X.copy(), A @ X
        return held["out"]

    L = spla.LinearOperator(A.shape, matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y,
                            matmat=matmat, rmatmat=lambda Y: A.T @ Y, dtype=A.dtype)  # fmt: skip
    r = truncated_svd(L, 5, method="krylov")
    assert np.allclose(held["out"], A @ held["X"], rtol=1e-14, atol=1e-14)
    assert_certified(A, r, 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_orthonormalize_subtracts_only_the_basis_vectors_above_rounding(dtype):
    """A block that leans on two basis vectors of 120 (and on the rest by rounding
    only) has those two subtracted, is orthogonal to the whole basis afterwards,
    and the coefficients returned are the ones subtracted: ``W = V coef + Q R``."""
    from svdkit.lowrank.orth import NEGLIGIBLE, orthonormalize

    rng = np.random.default_rng(11)
    n, p, b = 30_000, 120, 8
    V = rng.standard_normal((n, p)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        V = V + 1j * rng.standard_normal((n, p))
    V, _ = np.linalg.qr(V)
    V = np.asfortranarray(V)
    fresh = rng.standard_normal((n, b)).astype(dtype)
    fresh -= V @ (V.conj().T @ fresh)
    fresh -= V @ (V.conj().T @ fresh)
    lean = np.zeros((p, b), dtype=dtype)
    lean[[3, 97]] = 1e-6 * rng.standard_normal((2, b))
    W = fresh + V @ lean
    W0 = W.copy()
    Q, R, coef, _ = orthonormalize(W, V, rng=np.random.default_rng(0), drop=0.0)
    assert coef is not None
    significant = np.flatnonzero(np.abs(coef).max(axis=1) > 0)
    assert significant.tolist() == [3, 97]
    assert np.allclose(coef[[3, 97]], lean[[3, 97]], rtol=1e-6, atol=1e-15)
    assert np.abs(V.conj().T @ Q).max() < 1e3 * NEGLIGIBLE
    assert np.allclose(Q.conj().T @ Q, np.eye(b), atol=1e-13)
    assert np.allclose(V @ coef + Q @ R, W0, atol=1e-12)


def test_orthonormalize_subtracts_the_whole_basis_when_much_of_it_is_leant_on():
    """Above a quarter of the basis the full pass is taken: every coefficient comes
    back, and the block ends up orthogonal to the basis."""
    from svdkit.lowrank.orth import orthonormalize

    rng = np.random.default_rng(12)
    n, p, b = 20_000, 40, 8
    V, _ = np.linalg.qr(rng.standard_normal((n, p)))
    W = rng.standard_normal((n, b))
    W0 = W.copy()
    Q, R, coef, _ = orthonormalize(W, V, rng=np.random.default_rng(0), drop=0.0)
    assert coef is not None and np.count_nonzero(np.abs(coef).max(axis=1)) == p
    assert np.abs(V.T @ Q).max() < 1e-12
    assert np.allclose(V @ coef + Q @ R, W0, atol=1e-12)


@pytest.mark.parametrize("eps", [1e-5, 1e-6])
def test_rank_mode_on_float32_finds_the_rank_of_a_small_energy_tolerance(eps):
    """Single-precision steps cannot resolve an energy left out below ~1e-9 of the
    total: the rank found must still be the smallest that meets ε, on the float32
    matrix itself."""
    rng = np.random.default_rng(8)
    s = 0.9 ** np.arange(400)
    U, _ = np.linalg.qr(rng.standard_normal((600, 400)))
    V, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    A = ((U * s) @ V.T).astype(np.float32)
    r = truncated_svd(A, None, tol=1e-3, rank_tol=eps, rank_norm="energy")
    sd = np.linalg.svd(A.astype(np.float64), compute_uv=False)
    left = np.sqrt(np.cumsum((sd**2)[::-1])[::-1] / np.sum(sd**2))  # left[j]: error at rank j
    k = r.s.size
    # the smallest rank, or one more where the two errors differ by less than a
    # certificate at tol 1e-3 resolves (1e-6 here: 1.01e-6 at 131, 9.1e-7 at 132)
    assert k < 400 and left[k] <= eps < left[k - 2]


# ----------------------------------------------------------------------------- extreme scales

_GAUSS = np.random.default_rng(0).standard_normal((300, 200))
_SPARSE_GAUSS = sp.random(300, 200, density=0.2, format="csr", random_state=2)


def _scaled_input(kind: str, scale: float):
    if kind == "dense":
        return _GAUSS * scale, _GAUSS
    if kind == "sparse":
        return _SPARSE_GAUSS * scale, _SPARSE_GAUSS.toarray()
    return spla.aslinearoperator(_GAUSS * scale), _GAUSS


@pytest.mark.parametrize("scale", [1e-200, 1e160], ids=["tiny", "huge"])
@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("dense", "auto"),
        ("dense", "krylov"),
        ("dense", "dash"),
        ("dense", "randomized"),
        ("dense", "lapack"),
        ("sparse", "auto"),
        ("sparse", "lapack"),
        ("LinearOperator", "auto"),
    ],
)
def test_extreme_scales_are_certified_as_at_scale_one(kind, method, scale):
    """``AᴴA`` of a matrix scaled by 1e±200 over- or underflows float64: the result
    must still be the matrix's, with residuals measured (not zeros it could not
    measure), matching NumPy's SVD and the residuals recomputed on the unscaled
    matrix."""
    A, base = _scaled_input(kind, scale)
    r = truncated_svd(A, 5, method=method)
    assert r.converged and r.k == 5
    s_true = np.linalg.svd(base, compute_uv=False)[:5]
    np.testing.assert_allclose(r.s / scale, s_true, rtol=1e-9)
    if kind == "dense":  # NumPy's LAPACK on the scaled matrix agrees
        np.testing.assert_allclose(r.s, np.linalg.svd(A, compute_uv=False)[:5], rtol=1e-9)
    # residuals recomputed on the unscaled matrix, the factors unchanged
    unscaled = r.truncate(5)
    right = np.linalg.norm(base @ unscaled.Vh.T - unscaled.U * (r.s / scale), axis=0)
    left = np.linalg.norm(base.T @ unscaled.U - unscaled.Vh.T * (r.s / scale), axis=0)
    slack = 100 * 300 * EPS * s_true[0]
    assert np.all(np.maximum(right, left) <= 1e-6 * s_true[0] + slack)
    for reported, recomputed in ((r.residuals_right, right), (r.residuals_left, left)):
        assert np.all(np.isfinite(reported)) and reported.max() > 0  # measured, not lost
        np.testing.assert_allclose(reported / scale, recomputed, rtol=0, atol=slack)
    ray = np.einsum("ij,ij->j", r.U, base @ r.Vh.T)
    np.testing.assert_allclose(r.rayleigh / scale, ray, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-200, 1e160], ids=["tiny", "huge"])
def test_extreme_scales_in_energy_rank_mode_and_residuals(scale):
    """The energy rank mode and ``residuals()`` at extreme scales: ‖A‖_F and the
    approximation error computed without over- or underflow, the same rank as at
    scale one."""
    rank = truncated_svd(_GAUSS, rank_tol=0.5, rank_norm="energy")
    for A in (_GAUSS * scale, sp.csr_matrix(_GAUSS * scale)):
        assert as_operator(A).fro_norm() == pytest.approx(np.linalg.norm(_GAUSS) * scale)
        r = truncated_svd(A, rank_tol=0.5, rank_norm="energy")
        assert r.k == rank.k
        sd = np.linalg.svd(_GAUSS, compute_uv=False)
        err = np.sqrt(np.sum(sd[r.k :] ** 2) / np.sum(sd**2))
        assert r.residuals().reconstruction == pytest.approx(err, rel=1e-6)


@pytest.mark.parametrize("scale", [1e25, 1e37])
def test_extreme_scales_of_a_float32_matrix_in_single_precision_steps(scale):
    """float32 products (tol ≥ 1e-4) overflow from σ₁ ≈ 1e19, and near float32's
    largest number even the scaled products would: certified all the same."""
    A = (matrix(600, 300, SIGMA, seed=3) * scale).astype(np.float32)
    Ad = A.astype(np.float64) / scale
    s_true = np.linalg.svd(Ad, compute_uv=False)[:5]
    for method in ("krylov", "gram"):
        r = truncated_svd(A, 5, tol=1e-3, method=method)
        assert r.converged
        assert np.all(np.abs(r.s / scale - s_true) <= 2e-3 * s_true[0])
        right = np.linalg.norm(Ad @ r.Vh.T - r.U * (r.s / scale), axis=0)
        left = np.linalg.norm(Ad.T @ r.U - r.Vh.T * (r.s / scale), axis=0)
        assert np.maximum(right, left).max() <= 1.01e-3 * s_true[0]
        np.testing.assert_allclose(r.residuals_right / scale, right, rtol=1e-3, atol=1e-9)
        np.testing.assert_allclose(r.residuals_left / scale, left, rtol=1e-3, atol=1e-9)


def test_scaling_by_a_power_of_two_changes_nothing():
    """Outside the safe range the methods run on 2^e·A: exact, the same numbers."""
    for method in ("krylov", "randomized"):
        r0 = truncated_svd(A0, 5, method=method)
        r1 = truncated_svd(A0 * 2.0**60, 5, method=method)
        assert np.array_equal(r1.s / 2.0**60, r0.s) and np.array_equal(r1.U, r0.U)
        assert np.array_equal(r1.residuals_left / 2.0**60, r0.residuals_left)
        assert any("2^-" in note for note in r1.notes)


# ------------------------------------------------------------------------ duplicate sparse entries


def _with_duplicates(M: np.ndarray) -> sp.csr_matrix:
    """``M`` as a valid non-canonical CSR matrix: every entry stored twice (a quarter
    and three quarters of it), the second copies in reverse column order."""
    C = sp.csr_matrix(M)
    data, idx, ptr = [], [], [0]
    for i in range(M.shape[0]):
        d, j = C.data[C.indptr[i] : C.indptr[i + 1]], C.indices[C.indptr[i] : C.indptr[i + 1]]
        data += [*(0.25 * d), *(0.75 * d)[::-1]]
        idx += [*j, *j[::-1]]
        ptr.append(len(data))
    return sp.csr_matrix((np.array(data), np.array(idx), np.array(ptr)), shape=M.shape)


def test_sparse_with_duplicate_entries():
    """Duplicate entries of a CSR/CSC matrix add up: ‖A‖_F, every product, and so the
    energy rank, are those of the summed matrix; the caller's matrix is left as it is."""
    S = sp.csr_matrix((np.array([1.0, 1.0]), np.array([0, 0]), np.array([0, 2, 2])), shape=(2, 2))
    assert as_operator(S).fro_norm() == pytest.approx(2.0)
    assert S.nnz == 2 and not S.has_canonical_format  # untouched
    M = matrix(120, 80, 0.8 ** np.arange(80), seed=5)
    D = _with_duplicates(M)
    assert not D.has_canonical_format and np.allclose(D.toarray(), M)
    X = np.random.default_rng(1).standard_normal((80, 3))
    Y = np.random.default_rng(2).standard_normal((120, 3))
    for A, dense in ((D, M), (sp.csc_matrix((D.data, D.indices, D.indptr), shape=(80, 120)), M.T)):
        op = as_operator(A)
        x, y = (X, Y) if dense.shape[1] == 80 else (Y, X)
        assert op.fro_norm() == pytest.approx(np.linalg.norm(M))
        np.testing.assert_allclose(op.matmat(x), dense @ x, atol=1e-12)
        np.testing.assert_allclose(op.rmatmat(y), dense.T @ y, atol=1e-12)
        np.testing.assert_allclose(op.gram(x), dense.T @ (dense @ x), atol=1e-12)
        np.testing.assert_allclose(op.cogram(y), dense @ (dense.T @ y), atol=1e-12)
    data_before = D.data.copy()
    r = truncated_svd(D, rank_tol=0.1, rank_norm="energy", method="krylov")
    sd = np.linalg.svd(M, compute_uv=False)
    tail = np.sqrt(np.cumsum((sd**2)[::-1])[::-1] / np.sum(sd**2))  # tail[j]: error at rank j
    assert tail[r.k] <= 0.1 < tail[r.k - 1]
    assert_certified(M, r, 1e-6)
    assert np.array_equal(D.data, data_before) and not D.has_canonical_format
    assert r.residuals().reconstruction == pytest.approx(tail[r.k], rel=1e-6)


# ------------------------------------------------------------------- LinearOperator without adjoint


def test_linear_operator_without_rmatvec_is_refused_before_any_product():
    calls = []

    def matvec(x):
        calls.append(1)
        return _GAUSS @ x

    L = spla.LinearOperator(_GAUSS.shape, matvec=matvec, dtype=float)
    for method in ("auto", "krylov", "gram", "randomized", "dash"):
        with pytest.raises(SvdkitError, match="rmatvec") as err:
            truncated_svd(L, 5, method=method)
        assert "lapack" in str(err.value)
    with pytest.raises(SvdkitError, match="rmatvec"):  # before ‖A‖_F by probing, too
        truncated_svd(L, rank_tol=0.5, rank_norm="energy", method="krylov")
    assert calls == []
    # adjoints, transposes and sums of it lack what it lacks (A x for the adjoint)
    for bad in (L.H, L.T, 2.0 * L, L + spla.aslinearoperator(_GAUSS)):
        with pytest.raises(SvdkitError, match=r"matvec|rmatvec"):
            truncated_svd(bad, 3, method="krylov")

    class MatvecOnly(spla.LinearOperator):
        def __init__(self):
            super().__init__(float, _GAUSS.shape)

        def _matvec(self, x):
            return _GAUSS @ x

    with pytest.raises(SvdkitError, match="rmatvec"):
        truncated_svd(MatvecOnly(), 5, method="krylov")
    # LAPACK needs only A x: the operator densified by its products, when asked for (auto
    # takes it only at the sizes it takes LAPACK for an array: tests/test_lowrank_review_h244)
    r = truncated_svd(L, 5, method="lapack")
    assert_certified(_GAUSS, r, 1e-6)
    with pytest.raises(SvdkitError, match="rmatvec"):
        truncated_svd(MatvecOnly(), 5)
    with_rmatvec = spla.LinearOperator(
        _GAUSS.shape, matvec=lambda x: _GAUSS @ x, rmatvec=lambda y: _GAUSS.T @ y, dtype=float
    )
    assert_certified(_GAUSS, truncated_svd(with_rmatvec, 5), 1e-6)
    assert_certified(_GAUSS.T, truncated_svd(with_rmatvec.H, 5), 1e-6)


# ----------------------------------------------------------------------------- seed


def test_negative_seed_is_a_clear_error(tmp_path):
    for bad in (-1, np.int64(-5)):
        with pytest.raises(SvdkitError, match="seed must be a non-negative integer"):
            truncated_svd(A0, 3, seed=bad)
    with pytest.raises(SvdkitError, match="seed"):
        truncated_svd(A0, 3, seed=1.5)
    assert truncated_svd(A0, 3, seed=2**70).converged
    import typer
    from typer.testing import CliRunner

    from svdkit.cli.svd_command import register

    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    register(app)
    np.save(tmp_path / "a.npy", A0)
    out = tmp_path / "o.npz"
    res = CliRunner().invoke(
        app, ["svd", str(tmp_path / "a.npy"), "-k", "2", "-o", str(out), "--seed", "-1"]
    )
    assert isinstance(res.exception, SvdkitError) and "non-negative" in str(res.exception)
    assert not out.exists()


# ----------------------------------------------------------------------------- dask densified


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_densified_dask_array_with_non_finite_entry(bad):
    """A small dask array goes to LAPACK densely: NaN or infinity is named as for NumPy."""
    import dask.array as da

    A = np.ones((100, 50))
    A[5, 7] = bad
    with pytest.raises(svdkit.NonFiniteError) as expected:
        truncated_svd(A, 5)
    for method in ("auto", "lapack"):
        with pytest.raises(svdkit.NonFiniteError) as err:
            truncated_svd(da.from_array(A, chunks=50), 5, method=method)
        assert str(err.value) == str(expected.value)
        assert "row 6, column 8" in str(err.value)


# --------------------------------------------------------------------------- Fortran-ordered files


def test_fortran_ordered_files_are_reported_as_the_caller_sees_them(tmp_path):
    A = np.zeros((50, 40))
    A[10, 2] = np.nan
    path = tmp_path / "nanF.npy"
    np.save(path, np.asfortranarray(A))
    for source in (path, np.load(path, mmap_mode="r")):
        with pytest.raises(svdkit.NonFiniteError, match="row 11, column 3"):
            truncated_svd(source, 2, method="krylov")
    big = tmp_path / "F.npy"
    np.save(big, np.asfortranarray(_GAUSS))
    for source in (big, np.load(big, mmap_mode="r")):
        with pytest.raises(ShapeError, match="one column of the 300×200 matrix"):
            truncated_svd(source, 2, memory_limit=100)
    np.save(tmp_path / "C.npy", _GAUSS)
    with pytest.raises(ShapeError, match="one row of the 300×200 matrix"):
        truncated_svd(tmp_path / "C.npy", 2, memory_limit=100)
