"""Adding documents to an index: fold-in, SVD update (Zha–Simon), drift, rebuild.

* **Fold-in** (Deerwester et al. 1990; Berry, Dumais & O'Brien 1995): a new
  document ``w`` (weighted with the index's fixed global weights) gets the row
  ``u = Σ⁻¹ Vᵀ w``; ``U``, ``Σ``, ``V`` are otherwise unchanged. Instant, but the
  part of ``w`` outside the span of ``V`` is ignored and the columns of ``U``
  stop being orthonormal.
* **SVD update** (Zha & Simon, "On updating problems in latent semantic
  indexing", SIAM J. Sci. Comput. 21(2), 1999, §2): the folded documents ``D``
  (p rows) are merged into the factorisation exactly. With
  ``(I − V Vᵀ) Dᵀ = Q R`` (QR),

  ``[V Σ Uᵀ, Dᵀ] = [V Q] · [[Σ, Vᵀ Dᵀ], [0, R]] · blockdiag(U, I)ᵀ``,

  so the SVD ``F Θ Gᵀ`` of the small ``(k+r) × (k+p)`` middle matrix (``r = min(n, p)``)
  gives the
  best rank-``k`` approximation of ``[U Σ Vᵀ; D]``: ``V ← [V Q] F_k``,
  ``Σ ← Θ_k``, ``U ← blockdiag(U, I) G_k``. One such step for at most
  :data:`UPDATE_BLOCK` documents (fewer for a large vocabulary: the step is dense
  in the terms). More documents: the certified truncated SVD
  (:func:`svdkit.lowrank.truncated_svd`, the index's ``tol``) of the same matrix
  ``[U Σ Vᵀ; D]``, never formed — its products are ``U (Σ (Vᵀ X))`` and sparse
  products with ``D`` — so the result is again its best rank-``k``
  approximation, where Zha–Simon steps in blocks would truncate to rank ``k``
  after each block.
* **Drift** (:class:`Drift`): loss of orthogonality ``‖UᵀU − I‖₂``, relative
  reconstruction error ``‖W − UΣVᵀ‖_F / ‖W‖_F`` now and right after the last
  SVD, the share of folded-in documents — and advice.
* **Rebuild**: recompute the global weights and the SVD from the stored counts
  (the vocabulary stays; index the source again for new terms).

Threads: the changes (:func:`fold_in`, :func:`svd_update`, :func:`add_documents`)
hold the index's update lock from start to end — two of them never interleave —
and put their result in place at once, under its state lock, which searches take
only to read the arrays they need (:class:`~svdkit.lsi.index.LsiIndex`, "Notes"):
a search that runs meanwhile answers from the index before the change or after it.
:func:`drift` and :func:`rebuild` read one consistent state the same way.

Thresholds (the advice of :func:`drift`): an SVD update is advised when the
folded documents are more than :data:`FOLDED_SHARE_LIMIT` of the index, or the
orthogonality loss exceeds :data:`ORTHOGONALITY_LIMIT`, or the reconstruction
error grew by more than :data:`ERROR_GROWTH_LIMIT` (relative) since the last
SVD; a rebuild when the documents added since the build exceed
:data:`REBUILD_SHARE_LIMIT` of those it was built on (global weights and
vocabulary are then stale). Indexing the source again (``"reindex"``, the only
cure: the counts of words outside the vocabulary are never stored, so no rebuild
recovers them) when more than :data:`UNKNOWN_TOKEN_LIMIT` of the tokens of the
documents added since the build that its pruning would have kept are outside the
vocabulary (judged once they hold :data:`UNKNOWN_TOKEN_SAMPLE` tokens: a few new
words in one short document are no drift), or more than :data:`UNKNOWN_ONLY_LIMIT`
of those documents have words but none the vocabulary knows (they can never be
found), beyond the share of documents the build's pruning left without a term —
judged once :data:`UNKNOWN_ONLY_SAMPLE` documents were added, or sooner when those
documents are more than :data:`UNKNOWN_ONLY_LIMIT` of the whole index. The build's
own shares (``svd["pruned"]``: its tokens outside the vocabulary, pruned by
``min_df``, ``max_df`` or ``max_features``, and its documents left without a term)
are the baseline: words pruned are not new words, and a new index prunes them again.
An index without them (saved by an older svdkit, or made by
:func:`~svdkit.lsi.index_from_counts` from counts made elsewhere) has the baseline 0.

Examples
--------
>>> from svdkit.lsi import build_index, demo_data
>>> index = build_index(demo_data.deerwester_titles(), k=2, weighting="count",
...                     options=demo_data.DEERWESTER_OPTIONS)
>>> report = index.add([("c6", "user interface of a computer system")], method="fold_in")
>>> report.folded, report.advice
(1, 'update')
>>> index.add([], method="update").orthogonality_loss < 1e-12
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from svdkit.errors import ShapeError, SvdkitError, check_bool
from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.orth import cholesky_qr2

if TYPE_CHECKING:
    from svdkit.lsi.index import LsiIndex

__all__ = [
    "ERROR_GROWTH_LIMIT",
    "FOLDED_SHARE_LIMIT",
    "ORTHOGONALITY_LIMIT",
    "REBUILD_SHARE_LIMIT",
    "UNKNOWN_ONLY_LIMIT",
    "UNKNOWN_ONLY_SAMPLE",
    "UNKNOWN_TOKEN_LIMIT",
    "UNKNOWN_TOKEN_SAMPLE",
    "UPDATE_BLOCK",
    "Drift",
    "add_documents",
    "drift",
    "fold_in",
    "rebuild",
    "svd_update",
]

FOLDED_SHARE_LIMIT = 0.10
ORTHOGONALITY_LIMIT = 0.05
ERROR_GROWTH_LIMIT = 0.05
REBUILD_SHARE_LIMIT = 0.50
UNKNOWN_TOKEN_LIMIT = 0.30
UNKNOWN_TOKEN_SAMPLE = 1000
UNKNOWN_ONLY_LIMIT = 0.05
UNKNOWN_ONLY_SAMPLE = 20
UPDATE_BLOCK = 256

METHODS = ("auto", "fold_in", "update")


@dataclass(frozen=True)
class Drift:
    """How far the index is from an SVD of its documents, and what to do about it.

    ``advice`` is ``"ok"``, ``"update"`` (run an SVD update: ``add_documents(index,
    [], method="update")``), ``"rebuild"`` (:func:`rebuild`) or ``"reindex"`` (index
    the source again: the added documents' words are outside the vocabulary); see the
    module documentation for the thresholds.

    Of the documents added since the build (recorded in the index's history):
    ``unknown_only`` have words, but none in the vocabulary (a zero vector: never
    found), and ``unknown_token_share`` of their tokens (after stop words) are outside
    the vocabulary. ``added_now``: the documents added by the
    :func:`add_documents` call that returned the report (0 from :func:`drift`).

    Examples
    --------
    >>> from svdkit.lsi import build_index, demo_data
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> report = index.add([("shop", "a shop selling cat food and dog toys")],
    ...                    method="fold_in")
    >>> report.n_docs, report.folded, report.added_since_build
    (7, 1, 1)
    >>> report.orthogonality_loss > 0, report.advice  # 1 of 7 folded in: over 10 %
    (True, 'update')
    >>> report.to_json()["folded"], report.summary().startswith("7 documents (1 folded in")
    (1, True)
    """

    n_docs: int
    folded: int
    added_since_build: int
    orthogonality_loss: float
    reconstruction_error: float
    error_at_last_svd: float
    advice: str
    unknown_only: int = 0
    unknown_token_share: float = 0.0
    added_now: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        vocabulary = ""
        if self.unknown_only or self.unknown_token_share:
            vocabulary = (
                f"; of the documents added, {self.unknown_only} have no word of the vocabulary "
                f"(never found) and {self.unknown_token_share:.1%} of their words are outside it"
            )
        return (
            f"{self.n_docs} documents ({self.folded} folded in, {self.added_since_build} added "
            f"since the build); ‖UᵀU − I‖₂ = {self.orthogonality_loss:.2e}; reconstruction "
            f"error {self.reconstruction_error:.4f} (after the last SVD: "
            f"{self.error_at_last_svd:.4f}){vocabulary}; advice: {self.advice}"
        )


def _weighted_all(index: LsiIndex) -> sp.csr_matrix:
    return index.weigh(index.counts)


def drift(index: LsiIndex) -> Drift:
    """The drift report of ``index`` (see the module documentation for the thresholds).

    Examples
    --------
    >>> from svdkit.lsi import build_index, demo_data, drift
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs[:4], k=3)
    >>> fresh = drift(index)
    >>> fresh.folded, fresh.orthogonality_loss < 1e-12, fresh.advice
    (0, True, 'ok')
    >>> _ = index.add([docs[5], ("fall", "stock prices fell")], method="fold_in")
    >>> d = drift(index)
    >>> d.folded, d.advice  # 2 folded in: over 10 % of the documents
    (2, 'update')
    >>> d.error_at_last_svd == fresh.reconstruction_error < d.reconstruction_error
    True
    >>> _ = index.add([("shop", "a shop selling cat food and dog toys")], method="update")
    >>> d = drift(index)
    >>> d.folded, d.added_since_build, d.advice  # 3 added to 4: over half, rebuild
    (0, 3, 'rebuild')
    >>> docs[4]  # no word of it is in the vocabulary: it can never be found
    ('bank', 'the bank raised interest rates')
    >>> d = index.add([docs[4]], method="update")
    >>> d.unknown_only, d.advice  # a rebuild keeps the vocabulary: index the source again
    (1, 'reindex')
    """
    from svdkit.lsi.index import check_index, reconstruction_error

    check_index(index)
    with index._state_lock:  # one state (a change may be put in place meanwhile)
        U, s, V, counts = index.U, index.s, index.V, index.counts
        svd, n_svd_docs, history = index.svd, index.n_svd_docs, list(index.history)
    U = np.asarray(U)
    n_docs = U.shape[0]
    gram = U.T @ U
    ortho = float(np.linalg.norm(gram - np.eye(gram.shape[0]), 2)) if gram.size else 0.0
    err = reconstruction_error(index.weigh(counts), U, np.asarray(s), np.asarray(V))
    base = float(svd.get("reconstruction_error", err))
    folded = n_docs - n_svd_docs
    built_on = int(svd.get("built_on", n_svd_docs))
    added = n_docs - built_on
    unknown_only, share, tokens, measured = _vocabulary_drift(history)
    if _reindex_due(svd.get("pruned"), unknown_only, share, tokens, measured, n_docs):
        advice = "reindex"
    elif built_on and added > REBUILD_SHARE_LIMIT * built_on:
        advice = "rebuild"
    elif _update_due(folded, n_docs, ortho, err, base):
        advice = "update"
    else:
        advice = "ok"
    return Drift(n_docs, folded, added, ortho, err, base, advice, unknown_only, share)


def _baseline(pruned: object) -> tuple[float, float]:
    """The build's own shares of pruned tokens and of documents left without a term
    (``svd["pruned"]``; 0 and 0 for an index that did not measure them: an older one,
    or one of :func:`~svdkit.lsi.index_from_counts` on counts made elsewhere)."""
    if not isinstance(pruned, dict):
        return 0.0, 0.0
    out = []
    for key in ("token_share", "only_share"):
        value = pruned.get(key, 0.0)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        out.append(min(max(float(value), 0.0), 1.0) if ok and np.isfinite(value) else 0.0)
    return out[0], out[1]


def _reindex_due(
    pruned: object, unknown_only: int, share: float, tokens: int, measured: int, n_docs: int
) -> bool:
    """Whether the words of the added documents call for indexing the source again: the
    thresholds of the module documentation, each over what the build's own pruning
    left out (words pruned are not new words: a new index prunes them again)."""
    token_base, only_base = _baseline(pruned)
    if tokens >= UNKNOWN_TOKEN_SAMPLE and share - token_base > UNKNOWN_TOKEN_LIMIT * (
        1.0 - token_base
    ):
        return True
    excess = unknown_only - only_base * measured  # documents beyond those pruning empties
    return excess > UNKNOWN_ONLY_LIMIT * measured and (
        measured >= UNKNOWN_ONLY_SAMPLE or excess > UNKNOWN_ONLY_LIMIT * n_docs
    )


def _vocabulary_drift(history: list[dict[str, Any]]) -> tuple[int, float, int, int]:
    """From the additions recorded in ``history`` (``fold_in`` entries that counted
    their tokens): the documents with words but none of the vocabulary, the share of
    tokens outside it, the tokens, and how many documents were measured so."""
    unknown_only = tokens = unknown = measured = 0
    for h in history:
        if h.get("kind") != "fold_in" or not isinstance(h.get("tokens"), int):
            continue
        measured += int(h.get("documents", 0))
        unknown_only += int(h.get("unknown_only", 0))
        tokens += h["tokens"]
        unknown += int(h.get("unknown_tokens", 0))
    return unknown_only, (unknown / tokens if tokens else 0.0), tokens, measured


def _update_due(folded: int, n_docs: int, ortho: float, err: float, base: float) -> bool:
    """Whether the folded-in documents call for an SVD update (the thresholds above)."""
    return bool(folded) and (
        folded > FOLDED_SHARE_LIMIT * n_docs
        or ortho > ORTHOGONALITY_LIMIT
        or err > base * (1 + ERROR_GROWTH_LIMIT)
    )


def _count_new(index: LsiIndex, docs: Iterable[Any], chunk_size: int) -> tuple:
    from svdkit.lsi.corpus import chunked, open_corpus, settle_ids
    from svdkit.lsi.counting import _snippet

    blocks, ids, snippets, sizes = [], [], [], []
    # the tokens, known or not: words for a word analyzer (a bigram outside the vocabulary
    # is no sign of drift: most are pruned), the n-grams of a character analyzer
    options, words = index.options, None
    if options.analyzer == "word" and tuple(options.ngram_range) != (1, 1):
        options = replace(options, ngram_range=(1, 1))
        words = np.array([" " not in t for t in index.vocabulary], dtype=bool)
        analyze = options.vectorizer().build_analyzer()
    else:  # the tokens counted are the tokens measured: each document tokenised once
        analyze = None
        columns = {t: j for j, t in enumerate(index.vocabulary)}
        tokens_of = options.vectorizer().build_analyzer()
    # a path is a corpus (as for build_index); a str is never iterated letter by letter
    # (documents without ids are numbered on from the index's last, as build_index
    # numbered its own: "0", "1", … again would clash with them; a number that is an
    # id of the index or of the batch moves on to the next free one)
    start = index.n_docs
    for chunk in chunked(open_corpus(docs, start=start), chunk_size):
        if analyze is None:
            block, block_sizes = _count_tokens([tokens_of(t) for _, t in chunk], columns)
            blocks.append(block)
            sizes.extend(block_sizes)
        else:
            blocks.append(index.count([t for _, t in chunk]))
            sizes.extend(len(analyze(t)) for _, t in chunk)
        ids.extend(d for d, _ in chunk)
        snippets.extend(_snippet(t) for _, t in chunk)
    if not blocks:
        return sp.csr_matrix((0, index.n_terms), dtype=np.int32), [], [], {}
    ids = settle_ids(ids, taken=index.ids, start=start)
    C = sp.vstack(blocks, format="csr").astype(np.int32)
    return C, ids, snippets, _unknown_words(C, np.asarray(sizes, dtype=np.int64), words)


def _count_tokens(
    tokens: list[list[str]], columns: dict[str, int]
) -> tuple[sp.csr_matrix, list[int]]:
    """The counts (documents × terms, CSR, int32) of documents already tokenised, over
    the vocabulary ``columns`` (term → column; other tokens are not counted), and each
    document's number of tokens: what ``index.count`` and the analyzer give, from one
    tokenising."""
    get = columns.get
    indices: list[int] = []
    indptr = [0]
    sizes = []
    for doc in tokens:
        sizes.append(len(doc))
        indices.extend(j for j in map(get, doc) if j is not None)
        indptr.append(len(indices))
    C = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.int32), np.asarray(indices, dtype=np.int32),
         np.asarray(indptr, dtype=np.int64)),
        shape=(len(tokens), len(columns)),
    )
    C.sum_duplicates()  # (sorted indices, one entry per term: as CountVectorizer gives)
    return C, sizes


def _unknown_words(C: sp.csr_matrix, sizes: np.ndarray, words: np.ndarray | None) -> dict[str, int]:
    """What the history records of new documents' words outside the vocabulary: their
    tokens (``sizes``, per document, after stop words), those the counts ``C`` (of the
    vocabulary's terms; ``words``: the columns of single words, when it has n-grams)
    leave out, and the documents with tokens but no known one."""
    known = np.asarray((C if words is None else C[:, words]).sum(axis=1)).ravel().astype(np.int64)
    return {
        "tokens": int(sizes.sum()),
        "unknown_tokens": int((sizes - known).clip(min=0).sum()),
        "unknown_only": int(np.count_nonzero((sizes > 0) & (known == 0))),
    }


def _materialise(index: LsiIndex) -> None:
    """Read memory-mapped arrays into memory before they are replaced.

    The caller holds ``index._update_lock``; the copies (same values) are put in place
    together, under the state lock.
    """
    U, V, s = np.array(index.U), np.array(index.V), np.array(index.s)
    with index._state_lock:
        index.U, index.V, index.s = U, V, s


def fold_in(index: LsiIndex, docs: Iterable[Any], chunk_size: int = 2000) -> int:
    """Append documents by folding in (``u = Σ⁻¹ Vᵀ w``); returns how many.

    A document with no weighted term (empty, stop words only, unknown terms) gets
    ``u = 0`` exactly, and so a zero document vector (cosine 0 with every query).
    Safe to call while other threads search (see the module documentation).
    """
    from svdkit.lsi.corpus import check_chunk_size, check_documents
    from svdkit.lsi.index import check_index

    # checked before any document is read (the chunk size, also a too large one, which
    # itertools.islice would refuse with a raw ValueError)
    check_index(index)
    chunk_size = check_chunk_size(chunk_size)
    if not isinstance(docs, str | os.PathLike):
        check_documents(docs, "docs")
    with index._update_lock:  # one change at a time: no other may replace the state
        return _fold_in(index, docs, chunk_size)


def _fold_in(index: LsiIndex, docs: Iterable[Any], chunk_size: int) -> int:
    """:func:`fold_in`, its arguments checked, under ``index._update_lock``."""
    from svdkit.lsi.index import check_unique_ids, document_vectors

    C, ids, snippets, unknown = _count_new(index, docs, chunk_size)
    if not ids:
        return 0
    known = set(index.ids)
    clash = [d for d in ids if d in known]
    if clash:
        raise SvdkitError(f"document id {clash[0]!r} is already in the index; ids must be unique")
    check_unique_ids(ids)
    _materialise(index)
    # the update lock is held: U, s, V, counts, ids, snippets cannot change meanwhile
    U, s = index.U, index.s
    U_new = np.asarray(index.weigh(C) @ index.V) / s
    new_vectors = document_vectors(U_new, s, index.scaling)
    U_all = np.vstack([U, U_new])
    counts = sp.vstack([index.counts, C], format="csr").astype(np.int32)
    all_ids = [*index.ids, *ids]
    all_snippets = [*index.snippets, *snippets]
    with index._state_lock:  # the new state, at once: a search sees all of it or none
        # the document vectors may have been computed (from this U) by a search since
        cache = index.doc_vectors_cache
        if cache is not None:
            cache = np.vstack([cache, new_vectors])
        index.U, index.counts, index.ids, index.snippets = U_all, counts, all_ids, all_snippets
        index.doc_vectors_cache = cache
        index._id_rows = None
        index.history.append({"kind": "fold_in", "documents": len(ids), **unknown})
    return len(ids)


def _distinct_rows(D: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each group of identical non-empty rows of ``D``, and each row's
    group (``-1`` for an empty row): ``D[first[g]] == D[i]`` where ``group[i] = g``."""
    if not D.has_canonical_format:
        D = D.copy()
        D.sum_duplicates()
    seen: dict[tuple[bytes, bytes], int] = {}
    first: list[int] = []
    group = np.full(D.shape[0], -1, dtype=np.intp)
    for i in range(D.shape[0]):
        lo, hi = D.indptr[i], D.indptr[i + 1]
        if lo == hi:
            continue
        key = (D.indices[lo:hi].tobytes(), D.data[lo:hi].tobytes())
        g = seen.setdefault(key, len(first))
        if g == len(first):
            first.append(i)
        group[i] = g
    return np.asarray(first, dtype=np.intp), group


def _residual_qr(R_in: np.ndarray, D: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``R_in = Q R`` with orthonormal ``Q``, for ``R_in`` the part of the new documents
    ``D`` (its rows) outside the SVD's term space: CholeskyQR2 of its distinct non-zero
    columns, Householder where they are too ill-conditioned for it. ``R`` is not
    triangular where ``D`` repeats a row (Zha–Simon does not need it to be).

    A block of real documents is often exactly rank-deficient — the same text twice
    (the docstrings corpus of ``bench/lowrank.py``: 21 of 35 blocks of 88 documents,
    5 once the repeats are set aside), or a document with no indexed term — where
    CholeskyQR2 fails. Identical rows of ``D`` give identical columns of ``R_in``,
    factored once; an empty row a zero column. (47503 terms × 88 documents, two
    cores: CholeskyQR2 50–55 ms, SciPy's Householder 170–250 ms.)
    """
    n, p = R_in.shape
    first, group = _distinct_rows(D)
    if first.size == 0:
        return np.zeros((n, 0)), np.zeros((0, p))
    whole = first.size == p
    W = R_in if whole else np.ascontiguousarray(R_in[:, first])
    out = cholesky_qr2(W) if n >= W.shape[1] else None
    Q, R = out if out is not None else scipy.linalg.qr(W, mode="economic")
    if whole:
        return Q, R
    R_all = np.zeros((R.shape[0], p))
    filled = group >= 0
    R_all[:, filled] = R[:, group[filled]]
    return Q, R_all


def _zha_simon_block(
    U: np.ndarray, s: np.ndarray, V: np.ndarray, D: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Zha–Simon step: the rank-k SVD of ``[U Σ Vᵀ; D]`` (D: p new rows)."""
    k, p = s.shape[0], D.shape[0]
    Dt = np.asarray(D.T.toarray())  # n × p
    P = V.T @ Dt
    R_in = Dt - V @ P
    # a second Gram–Schmidt pass for the columns the first one cancelled to less than
    # half their norm ("twice is enough", Giraud et al. 2005); the others are already
    # orthogonal to V to working precision (a document of the docstrings corpus keeps
    # 60–99 % of its norm outside a 150-dimensional term space: two of the four
    # n × k × p products saved)
    redo = np.flatnonzero(np.linalg.norm(R_in, axis=0) < 0.5 * np.linalg.norm(Dt, axis=0))
    if redo.size:
        P2 = V.T @ R_in[:, redo]
        R_in[:, redo] -= V @ P2
        P[:, redo] += P2
    Q, R = _residual_qr(R_in, D)
    r = Q.shape[1]
    M = np.zeros((k + r, k + p))
    M[:k, :k] = np.diag(s)
    M[:k, k:] = P
    M[k:, k:] = R
    # (small: one thread; SciPy's two-thread OpenBLAS pool, left spinning, had slowed
    # the NumPy products right after it — V_new 157 → 117 ms a block of 88 documents)
    with single_blas_thread():
        F, theta, Gt = scipy.linalg.svd(M, full_matrices=False, lapack_driver="gesdd")
    V_new = V @ F[:k, :k] + Q @ F[k:, :k]  # ([V Q] F without the n × (k + r) copy)
    G = Gt[:k].T
    U_new = np.vstack([U @ G[:k], G[k:]])
    return U_new, theta[:k], V_new


class _Stacked(LinearOperator):
    """``[U Σ Vᵀ; D]`` (``D`` sparse, the new documents), never formed."""

    def __init__(self, U: np.ndarray, s: np.ndarray, V: np.ndarray, D: sp.csr_matrix) -> None:
        super().__init__(np.dtype(np.float64), (U.shape[0] + D.shape[0], V.shape[0]))
        self.U, self.s, self.V, self.D = U, s, V, D.tocsr()
        self.Dt = self.D.T.tocsr()

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return np.vstack([self.U @ (self.s[:, None] * (self.V.T @ X)), self.D @ X])

    def _rmatmat(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=np.float64)
        n0 = self.U.shape[0]
        return self.V @ (self.s[:, None] * (self.U.T @ Y[:n0])) + self.Dt @ Y[n0:]

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self._matmat(np.reshape(x, (-1, 1)))[:, 0]

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        return self._rmatmat(np.reshape(y, (-1, 1)))[:, 0]


def _stacked_svd(
    U: np.ndarray,
    s: np.ndarray,
    V: np.ndarray,
    D: sp.csr_matrix,
    tol: float,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rank-``k`` SVD of ``[U Σ Vᵀ; D]`` (``k = len(s)``), certified to ``tol``, by
    :func:`svdkit.lowrank.truncated_svd` on the matrix as an operator.

    Measured (two cores; 20 Newsgroups, tf-idf; 80 % indexed, the rest added): 6000
    documents at k = 100, 1200 added: 0.78 s against 1.87 s for Zha–Simon steps of
    198 documents, whose σ were up to 9.8e-3·σ₁ off; all 18 821 at k = 200, 3745
    added: 3.8 s against 14.7 s (1.4e-3·σ₁ off).
    """
    from svdkit.lowrank import truncated_svd

    r = truncated_svd(_Stacked(U, s, V, D), s.size, tol=tol, seed=0, progress=progress)
    return np.asarray(r.U), np.asarray(r.s, dtype=np.float64), np.asarray(r.Vh).T


def svd_update(index: LsiIndex, block: int = UPDATE_BLOCK, progress: bool = False) -> int:
    """Merge the folded-in documents into the SVD; returns how many.

    At most ``block`` documents (fewer for a large vocabulary, see the module doc):
    one Zha–Simon step, exact. More: the certified truncated SVD of ``[U Σ Vᵀ; D]``
    at the index's ``tol`` (with a progress bar on stderr when ``progress``). Either
    way the best rank-``k`` approximation of the indexed matrix with the new
    documents' rows appended. Safe to call while other threads search (see the module
    documentation): they use the old factorisation until the new one is in place.
    """
    from svdkit.lowrank._common import check_positive_int
    from svdkit.lsi.index import check_index

    check_index(index)
    block = check_positive_int(block, "block")
    progress = check_bool(progress, "progress")
    with index._update_lock:  # one change at a time: no other may replace the state
        return _svd_update(index, block, progress)


def _svd_update(index: LsiIndex, block: int, progress: bool) -> int:
    """:func:`svd_update`, its arguments checked, under ``index._update_lock``."""
    from svdkit.linalg.signs import apply_sign_rule
    from svdkit.lsi.index import DEFAULT_TOL, empty_rows, reconstruction_error

    n0 = index.n_svd_docs
    p = index.n_docs - n0
    if p == 0:
        return 0
    _materialise(index)
    W_new = index.weigh(index.counts[n0:])
    U, s, V = index.U[:n0], index.s, index.V
    # a Zha–Simon step holds a few dense terms × documents arrays: at most about 32 MiB
    block = max(1, min(block, (32 * 2**20) // (8 * max(1, index.n_terms))))
    if p <= block:
        U, s, V = _zha_simon_block(U, s, V, W_new)
        method = "zha_simon"
    else:
        tol = float(index.svd.get("tol") or DEFAULT_TOL)
        U, s, V = _stacked_svd(U, s, V, W_new, tol, progress)
        method = "krylov"
    U, Vh = apply_sign_rule(U, V.T)
    U = np.array(U, order="C")
    V = np.ascontiguousarray(Vh.T)
    W_all = _weighted_all(index)
    U[empty_rows(W_all)] = 0.0  # as at build time: an empty document has u = 0
    svd = {**index.svd, "reconstruction_error": reconstruction_error(W_all, U, s, V)}
    with index._state_lock:  # the new state, at once: a search sees all of it or none
        index.U, index.s, index.V = U, s, V
        index.n_svd_docs = U.shape[0]
        index.doc_vectors_cache = None  # (computed again, from the new U and s, when read)
        index.svd = svd
        index.history.append({"kind": "update", "documents": p, "method": method})
    return p


def add_documents(
    index: LsiIndex,
    docs: Iterable[Any],
    method: str = "auto",
    chunk_size: int = 2000,
    progress: bool = False,
) -> Drift:
    """Add documents: ``fold_in``, ``update`` (fold in, then :func:`svd_update`), or ``auto``.

    ``docs``: an iterable of strings or ``(id, text)`` pairs, or a path (a folder of
    ``.txt`` files, a ``.jsonl`` or ``.csv`` file, read by
    :func:`svdkit.lsi.corpus.open_corpus`).

    ``auto`` folds in, then runs the SVD update when the drift report advises it —
    or advises a rebuild while the folded documents would call for an update (the
    update cannot refresh the global weights, but it still restores an SVD).
    ``progress``: a progress bar on stderr for a long SVD update (see :func:`svd_update`).
    Returns the drift report after the addition.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lsi import add_documents, build_index, demo_data
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> report = add_documents(index, [("shop", "a shop selling cat food and dog toys")],
    ...                        method="fold_in")
    >>> report.folded, index.search("cat dog", n=1)[0].id  # the new document is found
    (1, 'shop')

    Documents without ids are numbered after the index's last row (a number already
    an id of the index, or of another document added, moves on to the next free
    one); ``update`` merges
    every folded document into the SVD, which is then exact again:

    >>> report = add_documents(index, ["stock prices and interest rates rose"],
    ...                        method="update")
    >>> index.ids[-2:], report.folded, report.advice
    (['shop', '7'], 0, 'ok')
    >>> bool(np.allclose(index.U.T @ index.U, np.eye(index.k)))
    True
    """
    from svdkit.lsi.index import check_index

    check_index(index)
    if method not in METHODS:
        raise SvdkitError(f"method must be one of {METHODS}; got {method!r}")
    progress = check_bool(progress, "progress")
    # the whole addition is one change: no other runs between the fold-in and the update
    # (searches meanwhile see the index before, after the fold-in, or after the update)
    with index._update_lock:
        added = fold_in(index, docs, chunk_size)
        report = drift(index)
        due = report.advice == "update" or (report.advice in ("rebuild", "reindex") and _update_due(
            report.folded, report.n_docs, report.orthogonality_loss,
            report.reconstruction_error, report.error_at_last_svd))
        if method == "update" or (method == "auto" and due):
            svd_update(index, progress=progress)
            report = drift(index)
    return replace(report, added_now=added)


def rebuild(index: LsiIndex, k: int | None = None, **kwargs: Any) -> LsiIndex:
    """A new index from the stored counts: global weights and SVD recomputed.

    ``k`` (default: the index's) and the keyword arguments of
    :func:`~svdkit.lsi.index_from_counts` (default: the index's settings). The
    vocabulary stays (index the source again for new terms); ``index`` is unchanged.
    The new index is saved back over the one ``index`` was loaded from (or last saved
    as) only if no one else has saved that one since, as ``index`` itself would be
    (:func:`~svdkit.lsi.save_index`): another writer's addition is never dropped.

    Examples
    --------
    >>> from svdkit.lsi import build_index, demo_data, rebuild
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs[:4], k=3)
    >>> _ = index.add([docs[5], ("fall", "stock prices fell"), ("shop", "cat food and dog toys")],
    ...               method="fold_in")
    >>> index.drift().advice  # 3 documents added to 4
    'rebuild'
    >>> fresh = rebuild(index)
    >>> fresh, fresh.drift().advice, fresh.ids == index.ids
    (LsiIndex(7 documents, 14 terms, k=3, log_entropy), 'ok', True)
    >>> index.drift().folded, fresh.drift().folded
    (3, 0)
    >>> "interest" in fresh.vocabulary  # the build's vocabulary stays: "rates" was folded in
    False
    >>> [hit.id for hit in fresh.search("sick dog", n=2)], rebuild(index, k=4).k
    (['vet', 'shop'], 4)
    """
    from svdkit.lsi.counting import CorpusCounts
    from svdkit.lsi.index import DEFAULT_TOL, check_index, index_from_counts

    check_index(index)
    with index._state_lock:  # one state (a change may be put in place meanwhile)
        corpus = CorpusCounts(index.counts, index.vocabulary, index.ids, index.snippets)
        k_now = index.k
        persisted = getattr(index, "_persisted", None)
    kwargs.setdefault("weighting", index.weighting)
    kwargs.setdefault("normalize", index.normalize)
    kwargs.setdefault("scaling", index.scaling)
    kwargs.setdefault("options", index.options)
    # the vocabulary's terms were checked against these options when it was made (1 s
    # per 100k terms): again only for other options
    kwargs.setdefault("check_terms", kwargs["options"] is not index.options)
    kwargs.setdefault("tol", float(index.svd.get("tol", DEFAULT_TOL)))
    if k is None:  # the index's own k, within what the counts allow
        k = min(k_now, min(corpus.counts.shape))
    elif isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ShapeError(f"k must be a positive integer; got {k!r}")
    # an explicit k above the limit is an error naming it, as in build_index
    fresh = index_from_counts(corpus, k, **kwargs)
    if "pruned" in index.svd and kwargs["options"] == index.options:  # the same vocabulary
        fresh.svd["pruned"] = index.svd["pruned"]
    if persisted is not None:  # saved back where the source came from: still checked
        fresh._persisted = persisted
    return fresh
