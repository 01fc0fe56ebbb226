"""Edges of the certified truncated SVD: dashSVD on steep spectra, rank_by_tolerance's
argument names, the LinearOperator front door (adjoint dot test, sparse products, no
adjoint under method="auto"), rank_norm="energy" without rank_tol, memory_limit's row
size, torch sparse tensors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import LinearOperator

from svdkit.errors import ConvergenceError, ShapeError, SvdkitError
from svdkit.lowrank import as_operator, rank_by_tolerance, truncated_svd
from svdkit.lowrank._common import Run
from svdkit.lowrank.api import LowRankSVD, _convergence_error


def _geometric(m: int, n: int, s: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return (Q1 * s) @ Q2.T


def _check_triplets(A: np.ndarray, r: LowRankSVD, tol: float) -> None:
    """Both residuals recomputed here, and σ against LAPACK."""
    V = r.Vh.conj().T
    right = np.linalg.norm(A @ V - r.U * r.s, axis=0)
    left = np.linalg.norm(A.conj().T @ r.U - V * r.s, axis=0)
    assert np.all(np.maximum(right, left) <= tol * r.s[0])
    exact = np.linalg.svd(A, compute_uv=False)[: r.k]
    assert np.max(np.abs(r.s - exact)) <= tol * exact[0]


# ------------------------------------------------------------------------------ D1


@pytest.mark.parametrize("k", [40, 50])
def test_dash_certifies_a_steep_geometric_spectrum(k):
    # σᵢ = 10^(−0.1 i): σ₄₀ / σ₁ ≈ 1.3e-4, below where eigSVD's √eig(WᴴW) resolves
    # the order of the directions; it stalled at 3e-6·σ₁ for any max_iter (both k;
    # k = 30 and 60 happened to certify before. Rank mode, which already certified
    # the whole subspace, is not a case of this change)
    s = 10.0 ** -np.arange(0, 10, 0.1)
    A = _geometric(600, 400, s, 11)
    r = truncated_svd(A, k, method="dash")
    assert r.converged and r.method == "dash"
    assert r.iterations < 50
    _check_triplets(A, r, 1e-6)


# ------------------------------------------------------------------------------ D2


def test_rank_by_tolerance_refuses_rank_tol_and_rank_norm_kwargs():
    A = np.random.default_rng(0).standard_normal((60, 40))
    with pytest.raises(SvdkitError, match=r"rank_norm='energy' too: give norm only"):
        rank_by_tolerance(A, 0.05, rank_norm="energy")
    with pytest.raises(SvdkitError, match=r"rank_tol=0.1 too: give eps only"):
        rank_by_tolerance(A, 0.05, rank_tol=0.1)


def test_rank_by_tolerance_names_its_own_arguments():
    A = np.random.default_rng(0).standard_normal((60, 40))
    with pytest.raises(SvdkitError, match=r"^norm must be 'spectral' or 'energy'; got 'Energy'"):
        rank_by_tolerance(A, 0.05, "Energy")
    with pytest.raises(SvdkitError, match=r"^eps must be a finite number"):
        rank_by_tolerance(A, "0.05")
    with pytest.raises(ConvergenceError) as info:
        rank_by_tolerance(A, 0.05, k=3)
    msg = str(info.value)
    assert msg.endswith("raise k or loosen eps")
    assert msg.startswith("eps=0.05 (spectral) needs more than") and "rank_tol" not in msg
    assert info.value.result.k == 3  # the work is kept


# ------------------------------------------------------------------------------ D3


def _wrong_adjoints(A: np.ndarray) -> dict[str, LinearOperator]:
    return {
        "permuted": LinearOperator(
            A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.conj().T @ v[::-1], dtype=A.dtype
        ),
        "scaled": LinearOperator(
            A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: 2 * (A.conj().T @ v), dtype=A.dtype
        ),
    }


@pytest.mark.parametrize("name", ["permuted", "scaled"])
@pytest.mark.parametrize("method", ["krylov", "randomized", "dash", "gram"])
def test_wrong_adjoint_is_named(name, method):
    A = np.random.default_rng(18).standard_normal((300, 200)) / np.arange(1, 201)
    L = _wrong_adjoints(A)[name]
    with pytest.raises(SvdkitError, match=r"rmatvec .*is not the adjoint of its matvec"):
        truncated_svd(L, 3, method=method)


def test_transpose_without_conjugate_is_named_for_complex():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((120, 80)) + 1j * rng.standard_normal((120, 80))
    L = LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.T @ v, dtype=A.dtype)
    with pytest.raises(SvdkitError, match="conjugate transpose"):
        truncated_svd(L, 3, method="krylov")
    # wide: the engine works on Aᴴ, whose matmat is the rmatvec: caught all the same
    W = A.T.copy()
    L = LinearOperator(W.shape, matvec=lambda v: W @ v, rmatvec=lambda v: W.T @ v, dtype=W.dtype)
    with pytest.raises(SvdkitError, match="is not the adjoint"):
        truncated_svd(L, 3, method="krylov")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_honest_adjoints_pass_the_dot_test(dtype):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((400, 300)) / np.arange(1, 301)
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal((400, 300)) / np.arange(1, 301)
    A = A.astype(dtype)
    L = LinearOperator(
        A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.conj().T @ v, dtype=A.dtype
    )
    tol = 1e-3 if np.dtype(dtype).itemsize <= 8 else 1e-6
    r = truncated_svd(L, 5, tol=tol, method="krylov")
    assert r.converged
    _check_triplets(A.astype(np.complex128 if A.dtype.kind == "c" else np.float64), r, tol)
    # a float64 operator computing in float32 inside (declared float64): honest too
    A32 = A.astype(np.float32) if A.dtype.kind == "f" else A.astype(np.complex64)
    wide = np.float64 if A.dtype.kind == "f" else np.complex128
    L64 = LinearOperator(
        A.shape,
        matvec=lambda v: (A32 @ v.astype(A32.dtype)).astype(wide),
        rmatvec=lambda v: (A32.conj().T @ v.astype(A32.dtype)).astype(wide),
        dtype=wide,
    )
    assert truncated_svd(L64, 3, tol=1e-3).converged


def test_dot_test_runs_once_and_keeps_the_result_seeded():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((200, 150))
    L = LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.T @ v, dtype=float)
    op = as_operator(L)
    op.check_adjoint()
    assert op.passes == 2 and op.adjoint_checked
    r1 = truncated_svd(op, 4, method="krylov")  # checked before: not again
    r2 = truncated_svd(L, 4, method="krylov")  # checked in the run, on its own seed
    assert r2.passes == r1.passes + 2
    assert np.array_equal(r1.s, r2.s) and np.array_equal(r1.U, r2.U)
    _check_triplets(A, r2, 1e-6)


def test_convergence_error_with_zero_sigma_shows_absolute_residuals():
    m, n, k = 30, 20, 3
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((m, k)))[0]
    Vh = np.linalg.qr(np.random.default_rng(1).standard_normal((n, k)))[0].T
    result = LowRankSVD(
        U, np.zeros(k), Vh, np.zeros((m, n)), "krylov",
        residuals_right=np.zeros(k), residuals_left=np.array([0.0, 0.0, 1.0]),
        rayleigh=np.zeros(k), method="krylov", converged=False,
    )  # fmt: skip
    met = np.array([True, True, False])
    err = _convergence_error(result, met, Run("krylov"), None)
    assert "#3: 1.0e+00 (σ₁ = 0)" in str(err)
    assert "0.0e+00·σ₁" not in str(err)


# ------------------------------------------------------------------------------ D5


def test_rank_norm_energy_without_rank_tol_is_refused():
    A = np.random.default_rng(0).standard_normal((60, 40))
    with pytest.raises(SvdkitError, match="rank_norm='energy' needs rank_tol"):
        truncated_svd(A, 5, rank_norm="energy")
    # "spectral", the documented default, is taken without rank_tol (a wrapper passing
    # its own default on); with rank_tol, or without either, as before
    assert truncated_svd(A, 5, rank_norm="spectral").rank_norm is None
    assert truncated_svd(A, 5).rank_norm is None
    r = truncated_svd(A, rank_tol=0.5, rank_norm="energy")
    assert r.rank_norm == "energy"
    assert truncated_svd(A, rank_tol=0.5).rank_norm == "spectral"


# ------------------------------------------------------------------------------ D6


def test_memory_limit_counts_a_float64_row_once(tmp_path):
    A = np.random.default_rng(0).standard_normal((600, 300))
    path = tmp_path / "a.npy"
    np.save(path, A)
    with pytest.raises(ShapeError, match=r"one row of the 600×300 matrix \(2400 bytes\)"):
        as_operator(path, memory_limit=1000)
    r = truncated_svd(path, 3, memory_limit=3000, method="krylov")  # one row: 2400 bytes
    _check_triplets(A, r, 1e-6)
    op = as_operator(path, memory_limit=3000)
    assert op.block_rows == 1
    list(op.blocks())
    assert op.peak_block_bytes == 2400
    op.close()


def test_memory_limit_counts_the_widened_copy_of_float32_rows(tmp_path):
    A = np.random.default_rng(0).standard_normal((100, 50)).astype(np.float32)
    path = tmp_path / "a32.npy"
    np.save(path, A)
    with pytest.raises(ShapeError, match=r"200 bytes as stored, 600 with its float64 copy"):
        as_operator(path, memory_limit=500)
    op = as_operator(path, memory_limit=600)
    assert op.block_rows == 1
    X = np.random.default_rng(1).standard_normal((50, 2))
    assert np.allclose(op.matmat(X), A.astype(np.float64) @ X, rtol=0, atol=1e-12)
    op.close()


def test_big_endian_file_read_in_blocks(tmp_path):
    A = np.random.default_rng(2).standard_normal((50, 20)).astype(">f8")
    path = tmp_path / "be.npy"
    np.save(path, A)
    op = as_operator(path, memory_limit=8 * 20 * 2 * 7)  # staged: 7 rows a block
    assert op.block_rows == 7
    X = np.random.default_rng(1).standard_normal((20, 3))
    assert np.allclose(op.matmat(X), A.astype(np.float64) @ X, rtol=0, atol=1e-12)
    op.close()


# ------------------------------------------------------------------------------ D7


def test_auto_picks_lapack_for_a_small_operator_without_adjoint():
    # (where a dense array of that size takes LAPACK: at most 2¹⁴ entries; larger,
    # tests/test_lowrank_review_h244.py)
    A = np.random.default_rng(0).standard_normal((120, 100))
    L = LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=float)
    r = truncated_svd(L, 3)
    assert r.method == "lapack"
    assert "method auto → lapack" in r.notes
    _check_triplets(A, r, 1e-10)
    with pytest.raises(SvdkitError, match="no adjoint product"):
        truncated_svd(L, 3, method="krylov")


# ------------------------------------------------------------------------------ D8


def test_sparse_matmat_result_is_taken_as_its_array():
    A = np.random.default_rng(0).standard_normal((300, 200))
    L = LinearOperator(
        A.shape,
        matvec=lambda v: A @ v,
        rmatvec=lambda v: A.T @ v,
        matmat=lambda X: sp.csr_matrix(A @ X),
        dtype=float,
    )
    r = truncated_svd(L, 3, method="krylov")
    _check_triplets(A, r, 1e-6)


def test_object_product_is_named_by_its_type():
    A = np.random.default_rng(0).standard_normal((30, 20))
    L = LinearOperator(
        A.shape,
        matvec=lambda v: A @ v,
        rmatvec=lambda v: A.T @ v,
        matmat=lambda X: {"x": 1},
        dtype=float,
    )
    with pytest.raises(ShapeError, match=r"matmat returned a dict, not an array of numbers"):
        truncated_svd(L, 3, method="krylov")


# ------------------------------------------------------------------------------ D9


def _sparse_matrix() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((300, 200)) * (np.random.default_rng(1).random((300, 200)) < 0.05)


@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_torch_sparse_tensors_are_kept_sparse(layout):
    A = _sparse_matrix()
    dense = torch.from_numpy(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (torch: CSR support is "beta")
        T = {"coo": dense.to_sparse, "csr": dense.to_sparse_csr, "csc": dense.to_sparse_csc}[
            layout
        ]()
    op = as_operator(T)
    assert op.kind == "sparse"
    r = truncated_svd(T, 5, method="krylov")
    _check_triplets(A, r, 1e-6)


def test_torch_sparse_coo_duplicates_are_summed():
    i = torch.tensor([[0, 0, 1], [1, 1, 0]])
    v = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64)
    T = torch.sparse_coo_tensor(i, v, (2, 3), check_invariants=True)
    op = as_operator(T)
    X = np.eye(3)
    assert np.array_equal(op.matmat(X), np.array([[0.0, 3.0, 0.0], [5.0, 0.0, 0.0]]))


def test_torch_sparse_hybrid_is_refused():
    i = torch.tensor([[0, 1], [1, 0]])
    v = torch.ones((2, 4), dtype=torch.float64)
    T = torch.sparse_coo_tensor(i, v, (2, 2, 4), check_invariants=True)
    with pytest.raises(ShapeError, match="sparse torch tensor of shape"):
        as_operator(T)
