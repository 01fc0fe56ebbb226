"""The Gram matrix of the short side, ``AAᴴ``, of wide operators (review of 2c7eceb): one
pass for a float32 dense array with float64 products and for a wide ``.npy`` file or
memmap (strips of columns, or pairs of row blocks when a strip would be too thin),
within ``memory_limit``; ``c² AAᴴ`` for a scaled operator; the memory note only where
Krylov steps run; a ``MemoryError`` anywhere in ``truncated_svd`` an error with advice
that fits the method."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from svdkit.errors import NonFiniteError, SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.operators import ScaledOperator, as_operator

MIB = 1 << 20


def _matrix(m: int, n: int, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """``m × n`` with singular values ``1/(i+1)``."""
    rng = np.random.default_rng(seed)
    p = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, p)))
    V, _ = np.linalg.qr(rng.standard_normal((n, p)))
    A = (U * (1.0 / np.arange(1, p + 1))) @ V.T
    if np.dtype(dtype).kind == "c":
        A = A + 1j * ((U * (0.5 / np.arange(1, p + 1))) @ np.roll(V, 1, axis=1).T)
    return A.astype(dtype)


def _cogram_gap(G: np.ndarray, A: np.ndarray) -> float:
    """``‖G − AAᴴ‖_F / ‖A‖_F²`` with ``AAᴴ`` in float64 / complex128."""
    W = A.astype(np.complex128 if A.dtype.kind == "c" else np.float64)
    return float(np.linalg.norm(G - W @ W.conj().T) / np.linalg.norm(W) ** 2)


def _check(A: np.ndarray, r, k: int, tol: float) -> None:
    W = A.astype(np.complex128 if A.dtype.kind == "c" else np.float64)
    s_ref = np.linalg.svd(W, compute_uv=False)[:k]
    np.testing.assert_allclose(r.s, s_ref, rtol=0, atol=10 * tol * s_ref[0])
    U, s, Vh = np.asarray(r.U), np.asarray(r.s), np.asarray(r.Vh)
    assert np.linalg.norm(W @ Vh.conj().T - U * s, axis=0).max() <= 10 * tol * s[0]
    assert np.linalg.norm(W.conj().T @ U - Vh.conj().T * s, axis=0).max() <= 10 * tol * s[0]
    np.testing.assert_allclose(U.conj().T @ U, np.eye(k), atol=1e-10)


def _save(tmp_path, A: np.ndarray, order: str = "C") -> str:
    path = tmp_path / f"a_{order}_{A.dtype}.npy"
    np.save(path, np.asarray(A, order=order))
    return str(path)


# ------------------------------------------------- 1. float32 wide dense array


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_dense_float32_cogram_matrix_is_one_pass(dtype):
    # 1100×2000 entries > 2²¹: kept float32, widened strip by strip for float64 products
    A = _matrix(1100, 2000, seed=1, dtype=dtype)
    op = as_operator(A)
    assert op.a.dtype == dtype  # (not widened once)
    G = op.cogram_matrix()
    assert op.passes == 1  # (2·⌈1100/64⌉ = 36 from products on the identity)
    assert G.dtype == (np.complex128 if A.dtype.kind == "c" else np.float64)
    assert _cogram_gap(G, A) <= 1e-14
    np.testing.assert_allclose(G, G.conj().T, rtol=0, atol=1e-15 * np.abs(G).max())


def test_dense_float32_wide_gram_method_at_tight_tol():
    # the reviewer's case, smaller: 63 passes before, the Gram matrix one of them now
    rng = np.random.default_rng(0)
    m, n = 1100, 2000
    A = ((rng.standard_normal((m, 40)) / np.arange(1, 41) ** 2) @ rng.standard_normal((40, n))
         + 1e-4 * rng.standard_normal((m, n))).astype(np.float32)  # fmt: skip
    r = truncated_svd(A, 10, tol=1e-6, method="gram")
    assert r.converged
    assert r.passes <= 4, r.passes
    _check(A, r, 10, 1e-6)


def test_dense_gram_matrices_count_their_pass():
    A = _matrix(30, 50, seed=2)
    for M, G in ((A, "cogram_matrix"), (A.T.copy(), "gram_matrix")):
        op = as_operator(M)
        out = getattr(op, G)()
        assert op.passes == 1
        assert _cogram_gap(out, A) <= 1e-14


# ------------------------------------------------- 2. wide .npy files and memmaps


@pytest.mark.parametrize("source", ["file", "memmap"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, ">f8"])
def test_wide_file_cogram_matrix_one_read_within_memory_limit(tmp_path, source, dtype):
    A = _matrix(60, 40000, seed=3, dtype=np.dtype(dtype).newbyteorder("="))
    path = _save(tmp_path, A.astype(dtype))
    src = np.load(path, mmap_mode="r") if source == "memmap" else path
    limit = 2 * MIB  # the matrix is 18 to 37 MiB: strips of about 2000 to 4000 columns
    op = as_operator(src, memory_limit=limit)
    assert op.kind == "row_blocks"
    tracemalloc.start()
    try:
        G = op.cogram_matrix()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert op.passes == 1  # (2·⌈60/64⌉ = 2 before, each holding n×60: the whole matrix)
    assert _cogram_gap(G, A) <= 1e-14
    assert op.peak_block_bytes <= limit
    assert peak <= limit + 4 * G.nbytes + MIB // 4, f"{peak / MIB:.1f} MiB traced"


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_wide_file_cogram_from_row_block_pairs_when_strips_are_thin(tmp_path, dtype):
    # 400×600 at 16 KiB: a strip holds 2 to 5 columns, 120 or more rank-5 updates of
    # the 400×400 sum; pairs of row blocks (one row each) cost less, within the limit.
    # complex128: two rows do not fit, so strips all the same (2 columns)
    A = _matrix(400, 600, seed=4, dtype=dtype)
    path = _save(tmp_path, A)
    limit = 16 * 2**10
    op = as_operator(path, memory_limit=limit)
    G = op.cogram_matrix()
    assert _cogram_gap(G, A) <= 1e-14
    np.testing.assert_allclose(G, G.conj().T, rtol=0, atol=1e-15 * np.abs(G).max())
    assert op.peak_block_bytes <= limit
    if dtype == np.complex128:
        assert op.passes == 1
    else:
        assert op.passes == 400  # (one partial read per row block held)


def test_cogram_matrix_then_products_reuse_nothing_stale(tmp_path):
    A = _matrix(50, 3000, seed=5)
    op = as_operator(_save(tmp_path, A), memory_limit=MIB // 2)
    X = np.random.default_rng(0).standard_normal((3000, 3))
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=1e-12, atol=1e-14)
    G = op.cogram_matrix()
    assert _cogram_gap(G, A) <= 1e-14
    np.testing.assert_allclose(op.matmat(X), A @ X, rtol=1e-12, atol=1e-14)
    assert op.peak_block_bytes <= MIB // 2


@pytest.mark.parametrize("limit", [MIB, 40 * 2**10])
def test_nonfinite_entry_named_on_the_cogram_route(tmp_path, limit):
    A = _matrix(80, 3000, seed=6)
    A[57, 2345] = np.nan
    op = as_operator(_save(tmp_path, A), memory_limit=limit)
    with pytest.raises(NonFiniteError, match="row 58, column 2346"):
        op.cogram_matrix()


def test_tall_fortran_file_gram_matrix_through_the_strips(tmp_path):
    # a tall F-ordered file is the wide C-ordered file of Aᵀ: AᴴA is its AAᴴ
    A = _matrix(30000, 40, seed=7)
    path = _save(tmp_path, A, "F")
    op = as_operator(path, memory_limit=MIB)
    G = op.gram_matrix()
    assert op.passes == 1
    W = A.T @ A
    assert np.linalg.norm(G - W) <= 1e-14 * np.linalg.norm(A) ** 2
    A[12345, 17] = np.inf
    np.save(path, np.asfortranarray(A))
    with pytest.raises(NonFiniteError, match="row 12346, column 18"):
        as_operator(path, memory_limit=MIB).gram_matrix()


@pytest.mark.parametrize("method", ["gram", "krylov"])
def test_wide_file_svd_reads_few_times(tmp_path, method):
    # 300×3000 with k = 20 (gram) and k = 100 (krylov hands over to the Gram matrix):
    # 2·⌈300/64⌉ = 10 reads for AAᴴ alone before
    A = _matrix(300, 3000, seed=8)
    path = _save(tmp_path, A)
    k = 20 if method == "gram" else 100
    r = truncated_svd(path, k, method=method, tol=1e-8)
    assert r.passes <= 5, r.passes
    _check(A, r, k, 1e-8)


def test_wide_file_svd_stays_near_memory_limit(tmp_path):
    # 40×120000 (36.6 MiB) at 4 MiB: the run held two copies of the matrix (n × 40
    # products on the identity); now the matrix's share is the limit
    A = _matrix(40, 120000, seed=9)
    path = _save(tmp_path, A)
    tracemalloc.start()
    try:
        r = truncated_svd(path, 5, memory_limit=4 * MIB, tol=1e-8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _check(A, r, 5, 1e-8)
    # the results and work of the long side, O(n·k), blocks of 120000×6 floats: less
    # than one copy of the matrix (twice the matrix before)
    assert peak < A.nbytes, f"{peak / MIB:.1f} MiB traced against a 36.6 MiB matrix"


def test_scaled_operator_cogram_is_c_squared_times_the_inner_one(tmp_path):
    # ‖A‖_F ≈ 1e20: c = 2^-67, (cA)(cA)ᴴ from the file's one-read AAᴴ, not 2 reads per
    # 512 identity columns
    A = _matrix(40, 5000, seed=10) * 1e20
    op = as_operator(_save(tmp_path, A), memory_limit=MIB)
    scaled = ScaledOperator(op, size=float(np.linalg.norm(A)))
    c = scaled.scale
    assert c != 1.0
    G = scaled.cogram_matrix()
    assert op.passes == 1
    assert _cogram_gap(G, c * A) <= 1e-14
    r = truncated_svd(_save(tmp_path, A), 5, method="gram", tol=1e-10)
    _check(A, r, 5, 1e-10)


def test_scaled_operator_far_scale_still_from_products(tmp_path):
    # ‖A‖ ≈ 1e200: AAᴴ itself would overflow, so the identity products stay
    A = _matrix(20, 300, seed=11) * 1e200
    op = as_operator(A)
    scaled = ScaledOperator(op, scale=2.0**-665)
    G = scaled.cogram_matrix()
    assert np.isfinite(G).all()
    assert _cogram_gap(G, scaled.scale * A) <= 1e-14


# ------------------------------------------------- 4. the memory note


def test_no_krylov_basis_note_where_the_gram_matrix_is_formed(tmp_path):
    # 100×20000, k = 10: a basis of 96 columns (blocks of 8) is within 8 of 100, so
    # block_lanczos forms AAᴴ; the note "Krylov basis on the short side …; two reads
    # of the file a step" described steps that never ran
    A = _matrix(100, 20000, seed=12)
    r = truncated_svd(_save(tmp_path, A), 10, method="krylov", memory_limit=MIB, tol=1e-8)
    _check(A, r, 10, 1e-8)
    assert any("= 100 is small" in note for note in r.notes), r.notes
    assert not any(note.startswith("Krylov basis on the short side") for note in r.notes)


def test_krylov_basis_note_kept_where_steps_run(tmp_path):
    A = np.random.default_rng(13).standard_normal((200, 20000))
    r = truncated_svd(_save(tmp_path, A), 10, method="krylov", memory_limit=MIB, tol=1e-6)
    assert any(note.startswith("Krylov basis on the short side (200)") for note in r.notes)
    assert r.iterations > 1


# ------------------------------------------------- 5. MemoryError


def _no_memory(*args, **kwargs):
    raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (100000, 100000)")


def test_memory_error_while_reading_the_input(monkeypatch):
    import svdkit.lowrank.api as api

    monkeypatch.setattr(api, "as_operator", _no_memory)
    with pytest.raises(SvdkitError, match=r"not enough memory to read the matrix: Unable") as e:
        truncated_svd(np.eye(3), 1)
    assert isinstance(e.value.__cause__, MemoryError)
    assert "memory_limit" in str(e.value)


def test_memory_error_advice_for_lapack(monkeypatch):
    import svdkit.lowrank.api as api

    monkeypatch.setattr(api, "_densify", _no_memory)
    with pytest.raises(SvdkitError, match="not enough memory for the truncated SVD") as e:
        truncated_svd(np.eye(30), 3, method="lapack")
    message = str(e.value)
    assert "method='krylov'" in message
    assert "fewer triplets" not in message and "max_basis" not in message


def test_memory_error_advice_in_rank_mode_and_in_memory(monkeypatch):
    import svdkit.lowrank.krylov as krylov

    monkeypatch.setattr(krylov, "gram_eigen", _no_memory)
    with pytest.raises(SvdkitError) as e:
        truncated_svd(_matrix(40, 60), None, rank_tol=1e-3, method="gram")
    message = str(e.value)
    assert "rank_tol" in message and "(k)" not in message
    assert "memory_limit" not in message  # (an array in memory: no row blocks)
    with pytest.raises(SvdkitError) as e:
        truncated_svd(_matrix(40, 60), 3, method="gram")
    assert "fewer triplets (k)" in str(e.value)
