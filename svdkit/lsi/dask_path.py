"""Indexing on Dask: counts per partition, the SVD on the cluster.

:func:`build_index_dask` takes a ``dask.bag`` of documents (strings or ``(id,
text)`` pairs; e.g. ``dask.bag.read_text`` over many files) and

1. counts every partition's vocabulary on its worker (document frequency and
   total count per term), merges those small tables on the client and prunes
   them to a fixed, sorted vocabulary (:func:`svdkit.lsi.counting.select_terms`);
2. counts each partition against that vocabulary (scikit-learn's
   ``CountVectorizer``) into a CSR block that stays on its worker, with the
   per-term sums of the weighting (:class:`~svdkit.lsi.weighting.TermStats`) —
   added up on the client into the global weights;
3. weighs each block on its worker and runs the certified truncated SVD over the
   blocks (:class:`~svdkit.lowrank.dask_sparse.SparseBlocksOperator`, block
   Krylov of :func:`svdkit.lowrank.truncated_svd`): only ``n × b`` blocks (terms
   × block size) and small Gram matrices travel to the client.

The resulting index (``U``: documents × k, the counts) is then gathered on the
client, as the index is one directory. A corpus with fewer documents than
terms is small: its SVD runs on the client.

Examples
--------
>>> import dask.bag as db, numpy as np
>>> from svdkit.lsi import build_index, demo_data
>>> docs = demo_data.topic_corpus(n_docs=200, seed=2).documents
>>> index = build_index_dask(db.from_sequence(docs, npartitions=4), k=6, tol=1e-8)
>>> index.svd["distributed"], index.svd["converged"]
(True, True)
>>> bool(np.allclose(index.s, build_index(docs, k=6).s, rtol=1e-7))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from svdkit.errors import EmptyInputError, SvdkitError
from svdkit.lsi.corpus import read_iterable, settle_ids
from svdkit.lsi.counting import (
    CorpusCounts,
    TextOptions,
    _snippet,
    count_texts,
    no_terms_message,
    select_terms,
)
from svdkit.lsi.index import (
    DEFAULT_TOL,
    LsiIndex,
    check_build_arguments,
    check_unique_ids,
    index_from_counts,
)
from svdkit.lsi.weighting import TermStats, global_weights, weigh

__all__ = ["build_index_dask"]


def _pairs(partition: Any, offset: int) -> list[tuple[str, str]]:
    """``(id, text)`` of each document of a partition, read as :func:`svdkit.lsi.build_index`
    reads them (:func:`~svdkit.lsi.corpus.read_iterable`: the same ids, the same refusals);
    ``offset``: the number of the partition's first document in the bag."""
    out = []
    for j, item in enumerate(partition):
        number = offset + j
        try:
            ((doc_id, text),) = read_iterable([item], start=number)
        except SvdkitError as err:
            # (read one at a time, the document is "document 0": named by its number)
            message = str(err)
            if message.startswith("document 0"):
                message = f"document {number}{message[len('document 0'):]}"
            raise type(err)(message) from None
        out.append((doc_id, text))
    return out


def _vocabulary_stats(
    partition: Any, options: TextOptions, offset: int
) -> dict[str, tuple[int, int]]:
    """``term → (document frequency, total count)`` of one partition."""
    texts = [t for _, t in _pairs(partition, offset)]
    if not texts:
        return {}
    X, terms = count_texts(texts, options)
    df = np.bincount(X.indices, minlength=len(terms))
    gf = np.bincount(X.indices, weights=X.data, minlength=len(terms)).astype(np.int64)
    return {t: (int(a), int(b)) for t, a, b in zip(terms, df, gf, strict=True)}


def _count_partition(
    partition: Any, options: TextOptions, vocabulary: list[str], offset: int
) -> dict:
    pairs = _pairs(partition, offset)
    texts = [t for _, t in pairs]
    if texts:
        X = options.vectorizer(vocabulary).transform(texts).tocsr().astype(np.int32)
    else:
        X = sp.csr_matrix((0, len(vocabulary)), dtype=np.int32)
    return {
        "counts": X,
        "ids": [d for d, _ in pairs],
        "snippets": [_snippet(t) for t in texts],
        "stats": TermStats.of(X),
    }


def _check_bag(bag: Any) -> None:
    """Refuse anything but a ``dask.bag`` (or a 1-D dask array, a dask Series) of documents."""
    import dask.array as da
    import dask.bag as db
    from dask.delayed import Delayed

    if isinstance(bag, db.Bag):
        return
    if isinstance(bag, da.Array):
        if bag.ndim == 1:
            return
        raise SvdkitError(
            f"build_index_dask takes a dask.bag of documents; got a {bag.ndim}-D dask array "
            f"of shape {bag.shape} (a 1-D dask array of texts is read as the documents)"
        )
    if type(bag).__name__ == "Series" and type(bag).__module__.startswith("dask"):
        return
    hint = "index a list with build_index"
    if isinstance(bag, Delayed):
        hint = "make a bag of it with dask.bag.from_delayed"
    elif type(bag).__name__ == "DataFrame" and type(bag).__module__.startswith("dask"):
        hint = "pass its text column (a dask Series) or df[...].to_bag()"
    raise SvdkitError(
        f"build_index_dask takes a dask.bag of documents (dask.bag.from_sequence, "
        f"dask.bag.read_text); got {type(bag).__name__} — {hint}"
    )


def build_index_dask(
    bag: Any,
    k: int | None = None,
    *,
    weighting: str = "log_entropy",
    options: TextOptions | None = None,
    normalize: bool = True,
    scaling: float = 1.0,
    tol: float = DEFAULT_TOL,
    progress: bool = False,
) -> LsiIndex:
    """Index a ``dask.bag`` of documents with the counting and the SVD on the cluster.

    ``bag``: a ``dask.bag`` (or a 1-D dask array, a dask Series) of strings or ``(id,
    text)`` pairs, read as :func:`svdkit.lsi.build_index` reads a list (the same ids, the
    same refusals; a message names a document by its number in the bag). Anything else
    (a ``Delayed``, a 2-D dask array, a dask DataFrame) is refused.

    Documents without ids are numbered in bag order (a number that another document
    has as its id moves on to the next free one, as :func:`svdkit.lsi.build_index`). Arguments as
    :func:`svdkit.lsi.build_index`.
    """
    import dask

    from svdkit.lowrank.dask_sparse import SparseBlocksOperator

    # checked before the cluster counts anything
    check_build_arguments(k, weighting=weighting, scaling=scaling, tol=tol,
                          normalize=normalize, progress=progress)
    if options is not None and not isinstance(options, TextOptions):
        raise SvdkitError(f"options must be a TextOptions; got {type(options).__name__}")
    _check_bag(bag)
    options = options or TextOptions()
    parts = bag.to_delayed()
    # the documents' numbers: each partition's first one (ids, and the messages)
    n_docs_parts = dask.compute(*[dask.delayed(len)(p) for p in parts])
    offsets = np.concatenate(([0], np.cumsum(n_docs_parts, dtype=np.int64)))[:-1].tolist()
    # 1. vocabulary: per-partition tables, merged on the client
    tables = dask.compute(*[dask.delayed(_vocabulary_stats)(p, options, o)
                            for p, o in zip(parts, offsets, strict=True)])  # fmt: skip
    merged: dict[str, list[int]] = {}
    for table in tables:
        for term, (d, g) in table.items():
            entry = merged.setdefault(term, [0, 0])
            entry[0] += d
            entry[1] += g
    terms = sorted(merged)
    df = np.array([merged[t][0] for t in terms], dtype=np.int64)
    total = np.array([merged[t][1] for t in terms], dtype=np.int64)
    # 2. counts against the fixed vocabulary, kept on the workers
    n_docs = int(sum(n_docs_parts))
    if n_docs == 0:
        raise EmptyInputError("the corpus has no documents")
    if not terms:
        raise EmptyInputError(no_terms_message(n_docs, options))
    vocabulary = [terms[j] for j in select_terms(terms, df, total, n_docs, options)]
    counted = dask.persist(
        *[dask.delayed(_count_partition)(p, options, vocabulary, o)
          for p, o in zip(parts, offsets, strict=True)]
    )
    stats_parts = dask.compute(*[c["stats"] for c in counted])
    stats = stats_parts[0]
    for more in stats_parts[1:]:
        stats = stats + more
    g = global_weights(weighting, stats)
    # 3. weigh on the workers; certified SVD over the blocks
    rows = [int(r) for r in n_docs_parts]
    keep = [i for i, r in enumerate(rows) if r > 0]
    blocks = dask.persist(
        *[dask.delayed(weigh)(counted[i]["counts"], weighting, g, normalize) for i in keep]
    )
    distributed = n_docs >= len(vocabulary)
    svd_input = SparseBlocksOperator(list(blocks), [rows[i] for i in keep], len(vocabulary))
    # gather the index itself (documents × k and the counts) on the client
    gathered = dask.compute(*[{"c": c["counts"], "i": c["ids"], "s": c["snippets"]}
                              for c in counted])
    counts = sp.vstack([x["c"] for x in gathered], format="csr").astype(np.int32)
    ids_raw = [d for x in gathered for d in x["i"]]
    ids = settle_ids(ids_raw)
    check_unique_ids(ids)
    snippets = [s for x in gathered for s in x["s"]]
    corpus = CorpusCounts(counts, vocabulary, ids, snippets)
    index = index_from_counts(
        corpus, k, weighting=weighting, normalize=normalize, scaling=scaling, options=options,
        tol=tol, method="krylov" if distributed else "auto", progress=progress,
        svd_input=svd_input if distributed else None,
        check_terms=False,  # (its own options made the vocabulary)
    )  # fmt: skip
    index.svd["distributed"] = distributed
    return index
