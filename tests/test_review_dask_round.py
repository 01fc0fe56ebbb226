"""Review round on the Dask paths: empty chunks, located non-finite entries,
SparseBlocksOperator's shape checks, build_index_dask's documents and input."""

from __future__ import annotations

import dask
import dask.array as da
import dask.bag as db
import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import NonFiniteError, ShapeError, SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.dask_sparse import SparseBlocksOperator
from svdkit.lsi import build_index, demo_data
from svdkit.lsi.dask_path import build_index_dask


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _check_svd(r, A, k):
    """σ against NumPy and the residuals ‖A v − σ u‖, ‖Aᵀ u − σ v‖ recomputed here."""
    s_ref = np.linalg.svd(A, compute_uv=False)[:k]
    assert np.allclose(r.s, s_ref, rtol=1e-8, atol=0)
    U, V = np.asarray(r.U), np.asarray(r.Vh).conj().T
    assert U.shape == (A.shape[0], k)
    scale = s_ref[0]  # (residuals of A / σ₁: no overflow at 1e300)
    B, s = A / scale, np.asarray(r.s) / scale
    assert np.linalg.norm(B @ V - U * s) <= 1e-8
    assert np.linalg.norm(B.T @ U - V * s) <= 1e-8
    assert np.allclose(U.T @ U, np.eye(k), atol=1e-10)


# 1. empty (zero-row) chunks, from a boolean-mask filter


@pytest.mark.parametrize("scale", [1.0, 1e300, 1e-300])
@pytest.mark.parametrize("method", ["krylov", "randomized", "dash", "gram", "lapack", "auto"])
def test_empty_chunks_from_a_mask(method, scale):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 8))
    keep = np.arange(60) >= 20  # the first chunk is filtered out entirely
    X = da.from_array(A, chunks=(20, 8))[da.from_array(keep, chunks=20)] * scale
    r = truncated_svd(X, 3, method=method, seed=1)
    _check_svd(r, A[keep] * scale, 3)
    # the same as the array without an empty chunk
    ref = truncated_svd(da.from_array(A[keep] * scale, chunks=(20, 8)), 3, method=method, seed=1)
    assert np.allclose(r.s, ref.s, rtol=1e-12)


@pytest.mark.parametrize("method", ["krylov", "randomized", "gram"])
def test_explicit_empty_chunks_rows_and_columns(method):
    A = np.random.default_rng(1).standard_normal((30, 10))
    X = da.from_array(A, chunks=((0, 12, 0, 18), (4, 0, 6)))
    _check_svd(truncated_svd(X, 4, method=method, seed=0), A, 4)


# 3. a non-finite entry in a dask array is located


@pytest.mark.parametrize("method", ["krylov", "randomized", "gram"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_dense_dask_nonfinite_is_located(method, bad):
    A = np.random.default_rng(2).standard_normal((50, 7))
    A[33, 5] = bad
    A[41, 2] = np.nan  # a later one: the first in row order is named
    X = da.from_array(A, chunks=(10, 3))
    with pytest.raises(NonFiniteError, match=(
        rf"dask array has a non-finite entry at row 34, column 6: {bad!r}; .*"
        r"remove or impute missing values"
    )):
        truncated_svd(X, 2, method=method)


def test_wide_dense_dask_nonfinite_is_located_in_the_users_orientation():
    A = np.random.default_rng(3).standard_normal((6, 40))
    A[4, 31] = np.inf
    with pytest.raises(NonFiniteError, match=r"at row 5, column 32: inf"):
        truncated_svd(da.from_array(A, chunks=(3, 9)), 2, method="krylov")


def test_sparse_dask_nonfinite_is_located():
    S = sp.random(60, 8, density=0.4, format="csr", random_state=4)
    S = S.tolil()
    S[47, 3] = np.nan
    X = da.from_array(S.tocsr(), chunks=(20, -1), asarray=False)
    with pytest.raises(NonFiniteError, match=r"sparse dask array has a non-finite entry at "
                                             r"row 48, column 4: nan"):
        truncated_svd(X, 2, method="krylov")


def test_wide_sparse_dask_nonfinite_is_located_in_the_users_orientation():
    S = sp.random(8, 60, density=0.4, format="csr", random_state=5).tolil()
    S[6, 45] = np.inf
    X = da.from_array(S.tocsr(), chunks=(4, 20), asarray=False)
    with pytest.raises(NonFiniteError, match=r"at row 7, column 46: inf"):
        truncated_svd(X, 2, method="krylov")


# 4. SparseBlocksOperator checks rows and n against its blocks


def _blocks():
    return [sp.random(40, 10, density=0.3, format="csr", random_state=i) for i in range(3)]


def test_sparse_blocks_wrong_row_count_is_refused():
    op = SparseBlocksOperator([dask.delayed(b) for b in _blocks()], [35, 40, 40], 10)
    with pytest.raises(ShapeError, match=r"block 0 has shape 40 × 10; rows\[0\] = 35, n = 10"):
        truncated_svd(op, 3, method="krylov")


def test_sparse_blocks_wrong_n_is_refused():
    op = SparseBlocksOperator([dask.delayed(b) for b in _blocks()], [40, 40, 40], 12)
    with pytest.raises(ShapeError, match=r"block 0 has shape 40 × 10; rows\[0\] = 40, n = 12"):
        truncated_svd(op, 3, method="krylov")


def test_sparse_blocks_right_shapes_work():
    blocks = _blocks()
    op = SparseBlocksOperator([dask.delayed(b) for b in blocks], [40, 40, 40], 10)
    _check_svd(truncated_svd(op, 3, method="krylov"), sp.vstack(blocks).toarray(), 3)


# 2. build_index_dask reads documents as build_index does


def _docs():
    return [(f"d{i}", t) for i, (_, t) in
            enumerate(demo_data.topic_corpus(n_docs=40, seed=4).documents)]


@pytest.mark.parametrize(("bad_id", "message"), [
    (None, r"document 30's id is None, a missing id"),
    (1.5, r"document 30's id is 1.5, a float that is not a whole number"),
    (True, r"document 30's id is True, a bool"),
])
def test_dask_refuses_the_ids_build_index_refuses(bad_id, message):
    docs = _docs()
    docs[30] = (bad_id, docs[30][1])
    with pytest.raises(SvdkitError, match=message):
        build_index(docs, k=3)
    with pytest.raises(SvdkitError, match=message):
        build_index_dask(db.from_sequence(docs, npartitions=4), k=3)


@pytest.mark.parametrize(("item", "message"), [
    (("x", None), r"document 30 \(id 'x'\): its text is None, a missing text"),
    (("x", b"bytes"), r"document 30 \(id 'x'\): its text is bytes"),
    (7, r"document 30 is a int; expected a string or an \(id, text\) pair"),
])
def test_dask_bad_documents_are_named(item, message):
    docs = _docs()
    docs[30] = item
    with pytest.raises(SvdkitError, match=message):
        build_index(docs, k=3)
    with pytest.raises(SvdkitError, match=message):
        build_index_dask(db.from_sequence(docs, npartitions=4), k=3)


def test_dask_ids_equal_build_index_ids():
    docs = [t for _, t in _docs()]
    mixed = [(2.0, docs[0]), (np.int64(5), docs[1]), *docs[2:]]  # "2", "5"; others numbered
    local = build_index(mixed, k=3)
    for parts in (1, 3, 7):
        index = build_index_dask(db.from_sequence(mixed, npartitions=parts), k=3)
        assert list(index.ids) == list(local.ids)
        assert list(index.ids)[:2] == ["2", "5"]
        assert np.allclose(index.s, local.s, rtol=1e-10)


# 5. build_index_dask's input check


def test_dask_refuses_a_delayed():
    docs = [t for _, t in _docs()]
    with pytest.raises(SvdkitError, match=r"takes a dask.bag of documents .*dask.bag.from_delayed"):
        build_index_dask(dask.delayed(docs), k=3)


def test_dask_refuses_a_2d_dask_array():
    with pytest.raises(SvdkitError, match=r"got a 2-D dask array of shape \(60, 3\)"):
        build_index_dask(da.ones((60, 3), chunks=20), k=3)


def test_dask_takes_a_1d_dask_array_of_texts():
    docs = [t for _, t in _docs()]
    index = build_index_dask(da.from_array(np.array(docs, dtype=object), chunks=15), k=3)
    assert np.allclose(index.s, build_index(docs, k=3).s, rtol=1e-10)
