"""Term weighting on the sparse counts: tf-idf, log-entropy, or raw counts.

A weight is ``local(tfᵢⱼ) · gⱼ`` for document ``i`` and term ``j``, then (by default)
each document scaled to unit length. Only the stored entries are touched: the
term-document matrix is never densified.

=================  ===========================  ================================================
scheme             local                        global ``gⱼ``
=================  ===========================  ================================================
``tfidf``          ``tf``                       ``ln((1 + N) / (1 + dfⱼ)) + 1`` (scikit-learn's
                                                smooth idf, so the result equals
                                                ``TfidfTransformer``'s)
``log_entropy``    ``ln(1 + tf)``               ``1 + Σᵢ pᵢⱼ ln pᵢⱼ / ln N`` with
                                                ``pᵢⱼ = tfᵢⱼ / gfⱼ`` (Dumais 1991; gensim's
                                                ``LogEntropyModel`` divides by ``ln(N + 1)``
                                                instead, so its weights differ)
``count``          ``tf``                       ``1`` (Deerwester et al. 1990's example)
=================  ===========================  ================================================

The global weights come from :class:`TermStats`, sums over documents that add up
across chunks or dask partitions.

Examples
--------
>>> import scipy.sparse as sp
>>> X = sp.csr_matrix([[2, 0, 1], [0, 1, 1]])
>>> g = global_weights("tfidf", TermStats.of(X))
>>> W = weigh(X, "tfidf", g)
>>> [round(float(v), 4) for v in W.toarray()[0]]
[0.9422, 0.0, 0.3352]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from svdkit.errors import SvdkitError

__all__ = ["SCHEMES", "TermStats", "global_weights", "weigh"]

SCHEMES = ("tfidf", "log_entropy", "count")


@dataclass
class TermStats:
    """Per-term sums over documents: enough for every scheme's global weight.

    ``n_docs``; ``df`` (documents containing the term); ``gf`` (total count);
    ``tf_log_tf`` (``Σᵢ tfᵢⱼ ln tfᵢⱼ``). Two stats add with ``+``.
    """

    n_docs: int
    df: np.ndarray
    gf: np.ndarray
    tf_log_tf: np.ndarray

    @classmethod
    def of(cls, counts: sp.csr_matrix) -> TermStats:
        """The stats of a documents × terms count matrix."""
        counts = _canonical(counts)
        n = counts.shape[1]
        tf = counts.data.astype(np.float64)
        return cls(
            n_docs=counts.shape[0],
            df=np.bincount(counts.indices, weights=(tf > 0), minlength=n).astype(np.int64),
            gf=np.bincount(counts.indices, weights=tf, minlength=n),
            tf_log_tf=np.bincount(
                counts.indices, weights=tf * np.log(np.maximum(tf, 1.0)), minlength=n
            ),
        )

    def __add__(self, other: TermStats) -> TermStats:
        return TermStats(
            self.n_docs + other.n_docs,
            self.df + other.df,
            self.gf + other.gf,
            self.tf_log_tf + other.tf_log_tf,
        )


def _canonical(counts: sp.spmatrix) -> sp.csr_matrix:
    """``counts`` as CSR with each entry stored once (duplicates summed on a copy: a
    legal CSR may hold one entry twice, which would count its document twice in ``df``)."""
    counts = sp.csr_matrix(counts)
    if not counts.has_canonical_format:
        counts = counts.copy()
        counts.sum_duplicates()
    return counts


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise SvdkitError(f"weighting must be one of {SCHEMES}; got {scheme!r}")


def global_weights(scheme: str, stats: TermStats) -> np.ndarray:
    """The global weight ``gⱼ`` of every term."""
    _check_scheme(scheme)
    if scheme == "count":
        return np.ones(stats.df.shape[0])
    if scheme == "tfidf":
        return np.log((1.0 + stats.n_docs) / (1.0 + stats.df)) + 1.0
    # log-entropy: Σ p ln p = (Σ tf ln tf) / gf − ln gf
    gf = np.maximum(stats.gf, 1.0)
    plogp = stats.tf_log_tf / gf - np.log(gf)
    if stats.n_docs <= 1:
        return np.ones_like(gf)
    g = 1.0 + plogp / np.log(stats.n_docs)
    # a term spread evenly over every document has g = 0 exactly; rounding leaves ~1e-16,
    # which row normalisation would blow up to a full weight
    g[np.abs(g) < 1e-12] = 0.0
    return g


def weigh(
    counts: sp.csr_matrix, scheme: str, g: np.ndarray, normalize: bool = True
) -> sp.csr_matrix:
    """Weighted documents × terms matrix (float64 CSR), rows of unit length if ``normalize``."""
    _check_scheme(scheme)
    counts = _canonical(counts)
    if counts.shape[1] != g.shape[0]:
        raise SvdkitError(
            f"{counts.shape[1]} terms in the counts but {g.shape[0]} global weights"
        )
    tf = counts.data.astype(np.float64)
    local = np.log1p(tf) if scheme == "log_entropy" else tf
    data = local * g[counts.indices]
    if normalize and counts.nnz:
        lengths = np.diff(counts.indptr)
        rows = np.repeat(np.arange(counts.shape[0]), lengths)
        row_norm = np.sqrt(np.bincount(rows, weights=data**2, minlength=counts.shape[0]))
        scale = np.divide(1.0, row_norm, out=np.zeros_like(row_norm), where=row_norm > 0)
        data = data * np.repeat(scale, lengths)
    return sp.csr_matrix((data, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)
