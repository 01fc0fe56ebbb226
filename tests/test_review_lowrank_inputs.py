"""Review of svdkit.lowrank's inputs: every kind the docs promise, checked independently.

σ against LAPACK on the densified matrix, both residuals recomputed here, the
reported residuals equal to them, orthonormal U and V, the sign rule, the dtype of
the result; then the bugs found: a .npy result that kept its file open and its row
buffers (the whole matrix, up to memory_limit), dask arrays of unknown chunk sizes
and method='lapack' on sparse dask arrays (raw tracebacks), memory_limit and
threads not checked (a raw ValueError; threads=10**9 built 10⁹ lanes a product).
"""

from __future__ import annotations

import functools
import gc
import os
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from svdkit.errors import SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.operators import as_operator

TOL = 1e-6


def _spectrum_matrix(m: int, n: int, seed: int = 0, cplx: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    if cplx:
        A = A + 1j * rng.standard_normal((m, n))
    return A * 0.9 ** np.arange(n)


def _verify(D: np.ndarray, r, tol: float = TOL) -> None:
    """The result against the dense matrix ``D``, everything recomputed here."""
    D = np.asarray(D)
    work = np.complex128 if D.dtype.kind == "c" else np.float64
    D = D.astype(work)
    k = r.k
    s = np.linalg.svd(D, compute_uv=False)
    s1 = s[0]
    assert r.U.shape == (D.shape[0], k) and r.Vh.shape == (k, D.shape[1])
    assert r.U.dtype == work and r.Vh.dtype == work and r.s.dtype == np.float64
    V = r.Vh.conj().T
    right = np.linalg.norm(D @ V - r.U * r.s, axis=0)
    left = np.linalg.norm(D.conj().T @ r.U - V * r.s, axis=0)
    assert right.max() <= tol * s1 * 1.01 and left.max() <= tol * s1 * 1.01
    assert np.abs(r.s - s[:k]).max() <= 2 * tol * s1
    assert np.allclose(r.residuals_right, right, rtol=0, atol=1e-12 * s1 + 1e-3 * tol * s1)
    assert np.allclose(r.residuals_left, left, rtol=0, atol=1e-12 * s1 + 1e-3 * tol * s1)
    assert np.abs(r.U.conj().T @ r.U - np.eye(k)).max() <= 1e-10
    assert np.abs(r.Vh @ V - np.eye(k)).max() <= 1e-10
    # sign rule: each uᵢ's first entry of largest magnitude (within 1e-10) is real positive
    for i in range(k):
        u = r.U[:, i]
        mags = np.abs(u)
        pivot = u[np.flatnonzero(mags >= mags.max() * (1 - 1e-10))[0]]
        assert abs(pivot.imag) <= 1e-12 and pivot.real > 0


# ------------------------------------------------------------------------------ kinds


@functools.cache
def _kinds() -> dict[str, tuple[object, np.ndarray, float]]:
    A = _spectrum_matrix(300, 120, seed=1)
    C = _spectrum_matrix(120, 300, seed=2, cplx=True)
    S = sp.random(300, 120, density=0.1, format="csr", random_state=3)
    N = S.tocoo()
    # duplicates, an explicit zero, unsorted: summed as SciPy's own products do
    rows, cols = np.r_[N.row, N.row[:30], 7], np.r_[N.col, N.col[:30], 5]
    dup = sp.coo_matrix((np.r_[N.data, N.data[:30], 0.0], (rows, cols)), shape=S.shape)
    S64 = S.copy()
    S64.indices, S64.indptr = S64.indices.astype(np.int64), S64.indptr.astype(np.int64)
    f32 = A.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        M = np.matrix(A)
    return {
        "C float64": (A, A, TOL),
        "F float64": (np.asfortranarray(A), A, TOL),
        "float32": (f32, f32, 1e-4),
        "complex64 F": (np.asfortranarray(C.astype(np.complex64)), C.astype(np.complex64), 1e-4),
        "complex128 wide": (C, C, TOL),
        "int": ((A * 10).astype(np.int32), (A * 10).astype(np.int32), TOL),
        "bool": (A > 0.3, A > 0.3, TOL),
        "strided view": (A[::2, 1::2], A[::2, 1::2], TOL),
        "negative strides": (A[::-1, ::-1], A[::-1, ::-1], TOL),
        "np.matrix": (M, A, TOL),
        "csr": (S, S.toarray(), TOL),
        "csc complex": ((S + 1j * S).tocsc(), (S + 1j * S).toarray(), TOL),
        "coo duplicates": (dup, dup.toarray(), TOL),
        "csr_array int64 indices": (sp.csr_array(S64), S.toarray(), TOL),
        "LinearOperator matvec only": (
            LinearOperator(A.shape, matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=float),
            A,
            TOL,
        ),
        "aslinearoperator complex": (aslinearoperator(C), C, TOL),
        "aslinearoperator sparse": (aslinearoperator(S), S.toarray(), TOL),
        "1×n": (A[:1], A[:1], TOL),
        "n×1": (A[:, :1], A[:, :1], TOL),
    }


@pytest.mark.parametrize("name", list(_kinds()))
@pytest.mark.parametrize("method", ["auto", "krylov"])
def test_every_input_kind_is_certified(name, method):
    A, D, tol = _kinds()[name]
    k = 1 if 1 in np.shape(D) else 5
    r = truncated_svd(A, k, tol=tol, method=method)
    _verify(D, r, tol)
    again = truncated_svd(A, k, tol=tol, method=method)
    assert np.array_equal(r.U, again.U) and np.array_equal(r.s, again.s)


@pytest.mark.parametrize("shape", [(40, 30), (30, 40)])
def test_k_equal_to_the_short_side(shape):
    A = _spectrum_matrix(*shape, seed=4)
    for given in (A, sp.csr_matrix(A), aslinearoperator(A)):
        _verify(A, truncated_svd(given, min(shape)))


# ------------------------------------------------------------------------------ files


def _open_handles(path: str) -> int:
    """File descriptors of this process open on ``path`` (0 where /proc is missing)."""
    if not os.path.isdir("/proc/self/fd"):
        return 0
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.path.realpath(os.readlink(f"/proc/self/fd/{fd}")) == os.path.realpath(path):
                count += 1
        except OSError:
            pass
    return count


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_npy_result_holds_no_file_and_no_row_buffers(tmp_path, order, dtype):
    """A result of a .npy path kept the file open and its row buffers (up to
    memory_limit bytes of A, 256 MiB by default) for as long as it lived."""
    A = np.asarray(_spectrum_matrix(3000, 200, seed=5), dtype=dtype, order=order)
    path = str(tmp_path / "A.npy")
    np.save(path, A)
    limit = 2**20  # below the matrix (4.6 / 2.3 MiB): read in row blocks
    gc.collect()
    tracemalloc.start()
    try:
        r = truncated_svd(path, 6, tol=1e-4 if dtype == np.float32 else TOL, memory_limit=limit)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # out of core: memory_limit plus the vectors, never the matrix
    vectors = (3000 + 200) * 64 * 8
    assert peak <= limit + 4 * vectors
    # what the result keeps: U, Vh and small arrays, not the row buffers (limit bytes)
    assert held <= 3000 * 6 * 8 * 4 + 2**18
    assert _open_handles(path) == 0
    _verify(A, r, 1e-4 if dtype == np.float32 else TOL)
    before = r.residuals().reconstruction  # reopens the file, and closes it again
    assert _open_handles(path) == 0
    D = A.astype(float)
    want = np.linalg.norm(D - (r.U * r.s) @ r.Vh) / np.linalg.norm(D)
    assert before == pytest.approx(want, rel=1e-10)


def test_memmap_and_sparse_files(tmp_path):
    import scipy.io

    A = _spectrum_matrix(400, 150, seed=6)
    np.save(tmp_path / "A.npy", np.asfortranarray(A.astype(np.float32)))
    mm = np.load(tmp_path / "A.npy", mmap_mode="r")
    _verify(mm, truncated_svd(mm, 4, tol=1e-4, memory_limit=50_000), 1e-4)
    _verify(mm[::2, 1:], truncated_svd(mm[::2, 1:], 4, tol=1e-4, memory_limit=50_000), 1e-4)
    del mm
    S = sp.random(400, 150, density=0.05, format="csr", random_state=7)
    sp.save_npz(tmp_path / "S.npz", S)
    scipy.io.mmwrite(tmp_path / "S.mtx", S)
    for name in ("S.npz", "S.mtx"):
        _verify(S.toarray(), truncated_svd(tmp_path / name, 4))


# ------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"memory_limit": "256M"}, "memory_limit"),
        ({"memory_limit": 0}, "memory_limit"),
        ({"memory_limit": 1.5e6}, "memory_limit"),
        ({"threads": "2"}, "threads"),
        ({"threads": 0}, "threads"),
    ],
)
def test_memory_limit_and_threads_are_checked(tmp_path, kw, word):
    """memory_limit='256M' (the CLI's spelling) was a raw ValueError from int()."""
    np.save(tmp_path / "A.npy", np.eye(20))
    with pytest.raises(SvdkitError, match=word):
        truncated_svd(tmp_path / "A.npy", 2, **kw)


def test_more_threads_than_rows_of_a_sparse_matrix():
    """threads=10**9 built 10⁹ (empty) lanes on every product: it never finished."""
    S = sp.random(300, 120, density=0.1, format="csr", random_state=8)
    op = as_operator(S, threads=10**9)
    assert op.threads <= len(op.chunks)
    _verify(S.toarray(), truncated_svd(S, 4, threads=10**9))


# ------------------------------------------------------------------------------ dask


def test_dask_dense_chunked_both_ways(dask_client):
    import dask.array as da

    A = _spectrum_matrix(500, 120, seed=9)
    C = _spectrum_matrix(120, 500, seed=10, cplx=True).astype(np.complex64)
    for given, D, tol in (
        (da.from_array(A, chunks=(100, 40)), A, TOL),
        (da.from_array(C, chunks=(40, 100)), C, 1e-4),
        (da.from_array(A.astype(np.float32), chunks=(50, -1)), A.astype(np.float32), 1e-4),
    ):
        r = truncated_svd(given, 5, tol=tol, method="krylov")
        _verify(D, r, tol)
        again = truncated_svd(given, 5, tol=tol, method="krylov")
        assert np.array_equal(r.s, again.s) and np.array_equal(r.U, again.U)


def test_dask_float32_runs_without_scheduler_warnings(dask_client, caplog):
    """A float32 dask array was cast by a separate astype layer that every step
    submitted again, fused one way or another: the scheduler logged "Detected
    different `run_spec`" for its keys (dask/dask#9888). The products widen each
    block themselves now; the energy norm is summed in float64 all the same."""
    import logging

    import dask.array as da

    A = _spectrum_matrix(600, 150, seed=21).astype(np.float32)
    given = da.from_array(A, chunks=(100, -1))
    with caplog.at_level(logging.WARNING, logger="distributed"):
        for _ in range(4):
            r = truncated_svd(given, 5, tol=1e-4, method="krylov")
    assert not [rec for rec in caplog.records if "run_spec" in rec.getMessage()]
    _verify(A, r, 1e-4)
    e = truncated_svd(given, None, rank_tol=0.5, rank_norm="energy", tol=1e-4)
    s = np.linalg.svd(A.astype(np.float64), compute_uv=False)
    tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2))
    assert e.k == int(np.argmax(np.append(tail[1:], 0.0) <= 0.5)) + 1


@pytest.mark.parametrize("method", ["auto", "krylov", "lapack"])
def test_dask_array_of_unknown_chunk_sizes(dask_client, method):
    """A filtered dask array (chunks (nan, …)) was a raw 'cannot convert float NaN to
    integer' ValueError."""
    import dask.array as da

    A = _spectrum_matrix(600, 100, seed=11)
    X = da.from_array(A, chunks=(100, 50))
    rows = X[X[:, 0] > 0.2]
    assert np.isnan(rows.shape[0])
    _verify(A[A[:, 0] > 0.2], truncated_svd(rows, 4, method=method))
    assert np.isnan(rows.shape[0])  # the caller's array is left as it was
    W = da.from_array(A.T.copy(), chunks=(50, 100))
    cols = W[:, W[0] > 0.2]
    _verify(A.T[:, A[:, 0] > 0.2], truncated_svd(cols, 4, method=method))
    S = sp.random(600, 100, density=0.1, format="csr", random_state=12)
    Xs = da.from_array(S, chunks=(100, -1), asarray=False)
    keep = np.asarray(S.sum(axis=1)).ravel() > 0
    _verify(S.toarray()[keep], truncated_svd(Xs[da.from_array(keep, chunks=100)], 4, method=method))


@pytest.mark.parametrize("method", ["auto", "lapack"])
@pytest.mark.parametrize("wide", [False, True])
def test_lapack_on_a_sparse_dask_array(dask_client, method, wide):
    """method='lapack' (and 'auto' on a small one) read the missing attribute .a of
    the sparse blocks operator: AttributeError."""
    import dask.array as da

    S = sp.random(40, 30, density=0.3, format="csr", random_state=13)
    S = S.T.tocsr() if wide else S
    X = da.from_array(S, chunks=(10, -1), asarray=False)
    r = truncated_svd(X, 5, method=method)
    assert r.method == "lapack"
    _verify(S.toarray(), r)


def test_sparse_chunks_share_the_matrix_arrays():
    """The row chunks of a CSR matrix were built by SciPy's constructor, which copies
    a slice of less than half its base: the whole matrix copied once more (115 MiB
    for 10⁷ entries), against the documented 'views, no copy'."""
    rng = np.random.default_rng(14)
    m, n, nnz = 4000, 3000, 400_000
    S = sp.csr_matrix(
        (
            rng.standard_normal(nnz),
            rng.integers(0, n, nnz).astype(np.int32),
            np.linspace(0, nnz, m + 1).astype(np.int32),
        ),
        shape=(m, n),
    )
    gc.collect()
    tracemalloc.start()
    try:
        op = as_operator(S, threads=4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(op.chunks) >= 4
    assert all(np.shares_memory(c.data, S.data) for _, _, c, _ in op.chunks)
    assert all(np.shares_memory(ct.data, S.data) for _, _, _, ct in op.chunks)
    assert peak <= S.data.nbytes / 4  # (a finiteness mask: nnz bytes)
    X = rng.standard_normal((n, 3))
    assert np.allclose(op.matmat(X), S @ X, rtol=0, atol=1e-12)
    # Rᴴ products use the transposes made once (SciPy's chunk.T copied the chunk)
    Y = rng.standard_normal((m, 3))
    tracemalloc.start()
    try:
        AhY = op.rmatmat(Y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.allclose(AhY, S.T @ Y, rtol=0, atol=1e-12)
    # outputs and the lanes' partial sums (n × b each, one more being added), no chunk
    # copy: the bound was nnz bytes, which four lanes' sums alive at once passed by
    # 2 % (409 192 bytes) when the threads overlapped so
    one_chunk = min(c.data.nbytes + c.indices.nbytes for _, _, c, _ in op.chunks)
    legit = 2 * (op.threads + 1) * AhY.nbytes + Y.nbytes
    assert peak <= min(one_chunk, legit), (peak, one_chunk, legit)
    _verify(S.toarray(), truncated_svd(S, 3, threads=4, tol=1e-5), 1e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_indices_out_of_range_are_refused(fmt):
    """Column indices beyond the shape reached SciPy's kernels: a segmentation fault."""
    rng = np.random.default_rng(15)
    arrays = (rng.standard_normal(3000), rng.integers(0, 10**6, 3000), np.arange(0, 3001, 10))
    M = (
        sp.csr_matrix(arrays, shape=(300, 200))
        if fmt == "csr"
        else sp.csc_matrix(arrays, shape=(200, 300))
    )
    with pytest.raises(SvdkitError, match="not a valid"):
        truncated_svd(M, 3, method="krylov")


def test_one_dimensional_npy_file_and_memmap_are_columns(tmp_path):
    # a 1-D .npy path or memmap was "a matrix is 2-D" while svdkit.load and a 1-D
    # array read the same vector as a column
    import svdkit

    v = np.arange(1.0, 8.0)
    path = tmp_path / "v.npy"
    np.save(path, v)
    assert svdkit.load(path).shape == (7, 1)
    for given in (str(path), np.load(path, mmap_mode="r"), v):
        r = truncated_svd(given, 1)
        assert r.U.shape == (7, 1) and r.Vh.shape == (1, 1)
        assert r.s[0] == pytest.approx(np.linalg.norm(v), rel=1e-12)
        assert np.allclose(np.abs(r.U[:, 0]) * r.s[0], v, rtol=0, atol=1e-12)
