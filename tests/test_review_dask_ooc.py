"""svdkit.lowrank on dask arrays and out-of-core inputs (a review of those paths).

* A dask array of SciPy sparse chunks summed plain squares for ``‖A‖_F`` and the
  reconstruction error: ``0`` at entries of ``1e-200`` (the energy rule then took
  ``k = 0``), ``inf`` at ``1e160``; now scaled sums of squares, as everywhere else.
* Text, dates and records in an ``np.memmap`` or a dask array were parsed or cast
  (``np.copyto(casting="unsafe")``, ``compute()`` then ``asarray(dtype=float)``), or
  ended in a raw ``TypeError``; now refused, naming the dtype, as NumPy arrays are.
* ``gram_matrix`` on a ``.npy`` file, memmap or dask array applied ``gram`` to 64
  columns of the identity at a time: ``⌈n/64⌉`` reads of ``A``; now one.
* ``method="randomized"`` on a dask array with a NaN ended in SciPy's ``ValueError``
  from the Cholesky factor of its first block: the first product ``A X`` checks
  the entries now.
* The sparse-chunk reconstruction error was ``‖B‖² − 2 tr(…) + ‖UΣ‖²``, clamped
  at 0: it cancelled (0 where the truth was 1.9e-10); now from ``B − UΣVᵀ``.
* COO chunks gave the advice to convert them for some methods only, a raw
  ``TypeError`` for the others.
* A 1-D dask array was refused; it is a column, as a 1-D array, ``.npy`` or memmap.
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import svdkit
from svdkit.lowrank import dask_sparse, truncated_svd
from svdkit.lowrank.dask_sparse import SparseBlocksOperator
from svdkit.lowrank.operators import DaskOperator, RowBlockOperator, as_operator


def _sparse(m: int = 600, n: int = 60, density: float = 0.1, seed: int = 3) -> sp.csr_matrix:
    return sp.random(m, n, density=density, format="csr", random_state=seed)


def _sparse_dask(S: sp.spmatrix, rows: int = 150) -> object:
    return da.from_array(S, chunks=(rows, -1), asarray=False)


def _relative_error(A: np.ndarray, r: object) -> float:
    return float(np.linalg.norm(A - (r.U * r.s) @ r.Vh) / np.linalg.norm(A))


# ------------------------------------------------------------------ 1. extreme scale


@pytest.mark.parametrize("scale", [1e-200, 1e160])
def test_sparse_dask_fro_norm_at_extreme_scale(scale):
    S = _sparse() * scale
    op = as_operator(_sparse_dask(S))
    assert isinstance(op, SparseBlocksOperator)
    fro = op.fro_norm()
    truth = float(np.linalg.norm(S.data / scale)) * scale  # (no square at that scale)
    assert math.isfinite(fro) and fro > 0
    assert fro == pytest.approx(truth, rel=1e-13, abs=0)
    assert op.passes == 1


@pytest.mark.parametrize("scale", [1e-200, 1e160])
def test_sparse_dask_energy_rank_at_extreme_scale_matches_scale_one(scale):
    S = _sparse()
    base = truncated_svd(S, None, rank_tol=0.3, rank_norm="energy")
    assert 0 < base.k < 60
    with np.errstate(over="ignore", under="ignore"):
        r = truncated_svd(_sparse_dask(S * scale), None, rank_tol=0.3, rank_norm="energy")
    assert r.k == base.k
    np.testing.assert_allclose(r.s / scale, base.s, rtol=1e-10)
    # the rank's rule, checked on the singular values themselves: what is left out
    # holds at most ε² of the energy, one triplet fewer would leave more
    s = np.linalg.svd(S.toarray(), compute_uv=False)
    tail = np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2)
    assert tail[r.k] <= 0.3**2 < tail[r.k - 1]


@pytest.mark.parametrize("scale", [1e-200, 1e160])
def test_sparse_dask_reconstruction_error_at_extreme_scale(scale):
    S = _sparse()
    r = truncated_svd(S, 5)
    U, s, Vh = r.U, r.s * scale, r.Vh
    op = as_operator(_sparse_dask(S * scale))
    err = op.reconstruction_error(U, s, Vh)
    truth = float(np.linalg.norm(S.toarray() - (U * r.s) @ Vh)) * scale
    assert err == pytest.approx(truth, rel=1e-12, abs=0)


# ------------------------------------------------------------------ 2. dtypes


def _non_numeric() -> list[tuple[str, np.ndarray]]:
    A = np.random.default_rng(0).standard_normal((40, 30))
    records = np.zeros((40, 30), dtype=[("x", "f8"), ("y", "f8")])
    records["x"] = A
    return [
        ("<U", A.astype("U12")),
        ("datetime64[s]", (A * 1e3).astype("int64").astype("datetime64[s]")),
        ("[('x', '<f8'), ('y', '<f8')]", records),
    ]


@pytest.mark.parametrize("method", ["auto", "krylov", "randomized"])
def test_non_numeric_dask_arrays_are_refused(method):
    for name, D in _non_numeric():
        with pytest.raises(svdkit.ParseError, match=r"has dtype .*which is not numeric") as err:
            truncated_svd(da.from_array(D, chunks=(10, 10)), 3, method=method)
        assert name in str(err.value)


@pytest.mark.parametrize("method", ["auto", "krylov"])
def test_non_numeric_memmaps_are_refused(tmp_path, method):
    for i, (name, D) in enumerate(_non_numeric()):
        path = tmp_path / f"d{i}.npy"
        np.save(path, D)
        with pytest.raises(svdkit.ParseError, match=r"has dtype .*which is not numeric") as err:
            truncated_svd(np.load(path, mmap_mode="r"), 3, method=method)
        assert name in str(err.value)


def test_numeric_memmap_and_dask_dtypes_still_work(tmp_path):
    A = np.random.default_rng(1).integers(-5, 6, (60, 20)).astype(np.int16)
    path = tmp_path / "i.npy"
    np.save(path, A)
    s = np.linalg.svd(A.astype(float), compute_uv=False)[:3]
    for given in (np.load(path, mmap_mode="r"), da.from_array(A, chunks=(15, 10))):
        r = truncated_svd(given, 3, method="krylov")
        np.testing.assert_allclose(r.s, s, rtol=1e-9)


# ------------------------------------------------------------------ 3. one pass for AᴴA


def test_row_block_gram_matrix_reads_the_file_once(tmp_path):
    rng = np.random.default_rng(2)
    m, n = 700, 200
    A = rng.standard_normal((m, n))
    path = tmp_path / "A.npy"
    np.save(path, A)
    for given in (str(path), np.load(path, mmap_mode="r")):
        op = as_operator(given, memory_limit=16 * n * 50)  # blocks of 50 rows
        assert isinstance(op, RowBlockOperator) and op.block_rows < m
        G = op.gram_matrix()
        assert op.passes == 1  # was ⌈200/64⌉ = 4
        np.testing.assert_allclose(G, A.T @ A, rtol=0, atol=1e-12 * np.abs(A.T @ A).max())


def test_row_block_complex_and_fortran_gram_matrix(tmp_path):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 70)) + 1j * rng.standard_normal((300, 70))
    np.save(tmp_path / "c.npy", A)
    np.save(tmp_path / "f.npy", np.asfortranarray(A))
    op = as_operator(str(tmp_path / "c.npy"), memory_limit=32 * 70 * 40)
    G = op.gram_matrix()
    assert op.passes == 1
    ref = A.conj().T @ A
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # a Fortran-ordered file stores Aᵀ by rows: its one-pass Gram side is A Aᴴ
    op = as_operator(str(tmp_path / "f.npy"), memory_limit=32 * 300 * 20).adjoint()
    G = op.gram_matrix()  # (Aᴴ)ᴴ Aᴴ
    assert op.passes == 1
    ref = A @ A.conj().T
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_dask_gram_matrix_is_one_pass():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((900, 150)).astype(np.float32)
    X = da.from_array(A, chunks=(200, 60))
    op = as_operator(X)
    assert isinstance(op, DaskOperator)
    G = op.gram_matrix()
    assert op.passes == 1  # was ⌈150/64⌉ = 3
    A64 = A.astype(np.float64)
    ref = A64.T @ A64
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # the adjoint (A = Sᴴ, a wide matrix's Gram side): S Sᴴ
    adj = op.adjoint()
    adj.passes = 0
    H = adj.gram_matrix()
    assert adj.passes == 1
    ref = A64 @ A64.T
    np.testing.assert_allclose(H, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_dask_complex_adjoint_gram_matrix():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((80, 200)) + 1j * rng.standard_normal((80, 200))
    op = as_operator(da.from_array(A, chunks=(30, 70))).adjoint()  # Aᴴ, 200×80
    G = op.gram_matrix()  # (Aᴴ)ᴴ Aᴴ = A Aᴴ
    ref = A @ A.conj().T
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    assert op.passes == 1


def test_sparse_dask_gram_matrix_is_one_pass():
    S = _sparse(n=130)
    op = as_operator(_sparse_dask(S))
    G = op.gram_matrix()
    assert op.passes == 1
    ref = (S.T @ S).toarray()
    np.testing.assert_allclose(G, ref, rtol=0, atol=1e-13 * np.abs(ref).max())


def test_gram_method_passes_on_dask_and_files(tmp_path):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((1200, 200)) * 0.97 ** np.arange(200)
    path = tmp_path / "A.npy"
    np.save(path, A)
    s = np.linalg.svd(A, compute_uv=False)[:5]
    for given in (da.from_array(A, chunks=(300, -1)), str(path)):
        r = truncated_svd(given, 5, method="gram")
        assert r.passes <= 3  # the Gram matrix, then Rayleigh–Ritz (was 4 + those)
        np.testing.assert_allclose(r.s, s, rtol=1e-10)
        assert _relative_error(A, r) == pytest.approx(r.residuals().reconstruction, rel=1e-8)


# ------------------------------------------------------------------ 4. NaN, randomized


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_randomized_on_dask_with_non_finite_entries(bad):
    A = np.random.default_rng(0).standard_normal((400, 60))
    A[123, 17] = bad
    S = sp.random(400, 60, density=0.1, format="csr", random_state=0)
    S.data[7] = bad
    for X in (da.from_array(A, chunks=(100, 25)), _sparse_dask(S, rows=100)):
        for method in ("randomized", "dash"):
            with pytest.raises(svdkit.NonFiniteError,
                               match=r"has a non-finite entry at row \d+, column \d+"):
                truncated_svd(X, 5, method=method)


def test_dask_matmat_checks_the_entries_once():
    A = np.random.default_rng(0).standard_normal((200, 30))
    op = as_operator(da.from_array(A, chunks=(50, -1)))
    X = np.ones((30, 2))
    np.testing.assert_allclose(op.tall_to_numpy(op.matmat(X)), A @ X, rtol=1e-13)
    assert op.validated
    A[3, 4] = np.nan
    op = as_operator(da.from_array(A, chunks=(50, -1)))
    with pytest.raises(svdkit.NonFiniteError):
        op.matmat(X)


# ------------------------------------------------------------------ 5. reconstruction


def test_sparse_dask_reconstruction_error_is_not_cancelled():
    rng = np.random.default_rng(0)
    m, n = 900, 120
    D = np.zeros((m, n))
    for i in range(3):
        D[i * 300 : i * 300 + 60, i * 30 : i * 30 + 15] = np.outer(
            rng.random(60) + 1, rng.random(15) + 1
        ) * (3 - i)
    S = sp.csr_matrix(D)
    S.data += 1e-9 * rng.standard_normal(S.nnz)
    D = S.toarray()
    r = truncated_svd(_sparse_dask(S, rows=200), 3, method="krylov")
    true = _relative_error(D, r)
    assert 1e-12 < true < 1e-8
    assert r.residuals().reconstruction == pytest.approx(true, rel=1e-3)
    csr = truncated_svd(S, 3, method="krylov").residuals().reconstruction
    assert r.residuals().reconstruction == pytest.approx(csr, rel=1e-3)


def test_sparse_dask_reconstruction_error_with_duplicates_and_many_rows(monkeypatch):
    # duplicate entries (valid CSR) add up; a block densified 7 rows at a time
    monkeypatch.setattr(dask_sparse, "_BLOCK_BYTES", 8 * 40 * 7)
    S = _sparse(m=500, n=40)
    dup = sp.csr_matrix((np.r_[S.data, [1.5]], np.r_[S.indices, [3]],
                         np.r_[S.indptr[:2], S.indptr[2:] + 1]), shape=S.shape)  # fmt: skip
    r = truncated_svd(dup, 4)
    op = as_operator(_sparse_dask(dup, rows=250))
    truth = float(np.linalg.norm(dup.toarray() - (r.U * r.s) @ r.Vh))
    assert op.reconstruction_error(r.U, r.s, r.Vh) == pytest.approx(truth, rel=1e-12)


# ------------------------------------------------------------------ 6. COO chunks


@pytest.mark.parametrize(
    "kw",
    [
        {"method": "krylov"},
        {"method": "randomized"},
        {"method": "lapack"},
        {"method": "dash"},
        {"method": "auto"},
        {"rank_tol": 0.5, "rank_norm": "energy"},
    ],
)
def test_coo_chunks_give_the_advice_whatever_the_method(kw):
    C = sp.random(600, 80, density=0.05, format="coo", random_state=1)
    X = da.from_array(C, chunks=(150, -1), asarray=False)
    with pytest.raises(svdkit.ShapeError, match=r"\.tocsr\(\)"):
        truncated_svd(X, None if "rank_tol" in kw else 5, **kw)


# ------------------------------------------------------------------ 7. 1-D dask


def test_one_dimensional_dask_array_is_a_column():
    v = np.arange(1.0, 8.0)
    for X in (da.from_array(v, chunks=3), da.from_array(v, chunks=3)[da.from_array(v > 0)]):
        r = truncated_svd(X, 1)
        assert r.U.shape == (7, 1) and r.Vh.shape == (1, 1)
        assert r.s[0] == pytest.approx(np.linalg.norm(v), rel=1e-12)
        assert np.allclose(np.abs(r.U[:, 0]) * r.s[0], v, rtol=0, atol=1e-12)
    with pytest.raises(svdkit.ShapeError, match="2-D"):
        truncated_svd(da.zeros((2, 3, 4), chunks=2), 1)


def test_dense_dask_norm_past_the_float_range_warns_nothing():
    """‖A‖_F of a dask array whose squares overflow: rescaled, and no RuntimeWarning from
    dask's worker threads (the suite turns svdkit's RuntimeWarnings into errors)."""
    import warnings

    import dask.array as da

    from svdkit.lowrank.operators import as_operator

    A = np.random.default_rng(0).standard_normal((400, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm = as_operator(da.from_array(A * 1e160, chunks=(100, -1))).fro_norm()
    assert norm / 1e160 == pytest.approx(np.linalg.norm(A), rel=1e-12)
