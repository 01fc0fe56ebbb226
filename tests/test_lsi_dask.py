"""svdkit.lsi.dask_path on a dask.distributed LocalCluster (one worker, one thread)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import ShapeError
from svdkit.lsi import build_index, demo_data


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           dashboard_address=None)  # fmt: skip
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_index_equals_the_local_index(client):
    import dask.bag as db

    from svdkit.lsi.dask_path import build_index_dask

    docs = demo_data.topic_corpus(n_docs=400, seed=31).documents
    bag = db.from_sequence(docs, npartitions=5)
    dist = build_index_dask(bag, k=8, weighting="tfidf", tol=1e-6)
    local = build_index(docs, k=8, weighting="tfidf", tol=1e-6)
    assert dist.svd["distributed"] and dist.svd["converged"] and dist.svd["method"] == "krylov"
    assert dist.vocabulary == local.vocabulary and dist.ids == local.ids
    assert (dist.counts != local.counts).nnz == 0
    np.testing.assert_allclose(dist.global_weights, local.global_weights, rtol=1e-12)
    np.testing.assert_allclose(dist.s, local.s, rtol=1e-6)
    # certified against the weighted matrix, computed here
    W = local.weigh(local.counts)
    right = np.linalg.norm(W @ dist.V - dist.U * dist.s, axis=0)
    left = np.linalg.norm(W.T @ dist.U - dist.V * dist.s, axis=0)
    assert max(right.max(), left.max()) <= 1e-6 * dist.s[0] * 1.01
    text = "automobile motor petrol"
    assert [h.id for h in dist.search(text, 10)] == [h.id for h in local.search(text, 10)]


def test_dask_pruning_and_unnamed_documents(client):
    import dask.bag as db

    from svdkit.lsi import TextOptions
    from svdkit.lsi.dask_path import build_index_dask

    texts = [t for _, t in demo_data.topic_corpus(n_docs=150, seed=32).documents]
    options = TextOptions(min_df=5, max_df=0.5, max_features=40)
    dist = build_index_dask(db.from_sequence(texts, npartitions=3), k=5, options=options,
                            tol=1e-6)  # fmt: skip
    local = build_index(texts, k=5, options=options, tol=1e-6)
    assert dist.vocabulary == local.vocabulary and len(dist.vocabulary) == 40
    assert dist.ids == [str(i) for i in range(150)]
    np.testing.assert_allclose(dist.s, local.s, rtol=1e-6)


def test_sparse_blocks_operator_products(client):
    import dask

    from svdkit.lowrank.dask_sparse import SparseBlocksOperator

    blocks = [sp.random(30 + i, 12, density=0.3, format="csr", random_state=i) for i in range(4)]
    op = SparseBlocksOperator([dask.delayed(b) for b in blocks], [b.shape[0] for b in blocks], 12)
    A = sp.vstack(blocks).toarray()
    X = np.random.default_rng(0).standard_normal((12, 3))
    Y = op.matmat(X)
    np.testing.assert_allclose(op.tall_to_numpy(Y), A @ X, atol=1e-12)
    np.testing.assert_allclose(op.rmatmat(Y), A.T @ (A @ X), atol=1e-12)
    np.testing.assert_allclose(op.gram(X), A.T @ A @ X, atol=1e-12)
    assert abs(op.fro_norm() - np.linalg.norm(A)) < 1e-12
    assert op.passes == 4
    with pytest.raises(ShapeError, match="at least as many rows as columns"):
        op.adjoint()
    # a block holding each entry twice (valid CSR, not canonical): ‖·‖_F of the sums
    twice = sp.csr_matrix(
        (np.repeat(blocks[0].data, 2), np.repeat(blocks[0].indices, 2), 2 * blocks[0].indptr),
        shape=blocks[0].shape,
    )
    assert not twice.has_canonical_format
    doubled = SparseBlocksOperator([dask.delayed(twice)], [twice.shape[0]], 12)
    assert doubled.fro_norm() == pytest.approx(2 * np.linalg.norm(blocks[0].toarray()), rel=1e-12)
    assert not twice.has_canonical_format  # the user's block is left as it was
