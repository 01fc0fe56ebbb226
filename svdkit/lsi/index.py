"""The LSI index: a truncated SVD of the weighted documents × terms matrix.

With ``W`` the weighted matrix (one row per document, :mod:`svdkit.lsi.weighting`),
the index holds the certified truncated SVD ``W ≈ U Σ Vᵀ``
(:func:`svdkit.lowrank.truncated_svd`): ``U`` (documents × k), ``σ`` (k),
``V`` (terms × k), plus the counts, the vocabulary and the global weights, so
that new text is weighted exactly as the corpus was.

Convention (see ``docs/lsi.md``): a weighted term vector ``w`` maps to the
``k``-dimensional vector ``Σ^(p−1) Vᵀ w``. For a document of the index,
``Vᵀ w = Σ u`` (it is an exact singular-triplet identity, ``W V = U Σ``), so
the document's vector is its row of ``U Σ^p``: queries, documents folded in
and documents of the SVD all go through the same map and are compared by
cosine. ``p = 1`` (the default) is the projection onto the latent term space,
Deerwester et al.'s comparison of ``Σ``-scaled vectors; ``p = 0`` compares the
classic fold-in ``q̂ = Σ⁻¹ Vᵀ q`` with the rows of ``U``.

Examples
--------
>>> from svdkit.lsi import build_index, demo_data
>>> index = build_index(demo_data.deerwester_titles(), k=2, weighting="count",
...                     normalize=False, options=demo_data.DEERWESTER_OPTIONS)
>>> index.s.round(2).tolist()
[3.34, 2.54]
>>> [hit.id for hit in index.search("human computer interaction", n=5)]
['c3', 'c1', 'c4', 'c2', 'c5']
"""

from __future__ import annotations

import math
import numbers
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from svdkit._naming import arg, check_real, got
from svdkit.errors import (
    ConvergenceError,
    EmptyInputError,
    ShapeError,
    SvdkitError,
    check_bool,
    require_instance,
)
from svdkit.lsi.counting import CorpusCounts, TextOptions, check_on_chunk, count_corpus
from svdkit.lsi.weighting import SCHEMES, TermStats, global_weights, weigh

__all__ = [
    "DEFAULT_K", "DEFAULT_TOL", "ZERO_VECTOR_FLOOR", "Hit", "LsiIndex", "build_index",
    "index_from_counts",
]

#: Rank used when neither ``k`` nor ``rank_tol`` is given (clipped to the matrix).
DEFAULT_K = 200

#: Certification tolerance of the SVD (relative to σ₁). Retrieval needs far less than
#: the engine's 1e-6: on 20 Newsgroups (k = 200) MAP, nDCG@10 and P@10 were the same to
#: four digits at 1e-3 and 1e-6, and indexing took 16.6 s instead of 27.4 s.
DEFAULT_TOL = 1e-3

#: Singular values below this fraction of σ₁ are dropped (their vectors are noise).
RELATIVE_FLOOR = 1e-10

#: A latent vector (row of ``U Σ^p``, ``Σ^(p−1) Vᵀ w`` or ``V Σ``) shorter than this
#: fraction of the largest scale ``maxᵢ σᵢ^p`` is rounding noise — an empty document, or
#: one whose terms all have weight 0 — and is set to zero (cosine 0 with everything)
#: instead of being scaled up to a unit vector pointing anywhere.
ZERO_VECTOR_FLOOR = 1e-10


class _State(NamedTuple):
    """One consistent state of an index, taken under its lock (references, no copies)."""

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray
    doc_vectors: np.ndarray
    ids: list[str]
    snippets: list[str]
    id_rows: dict[str, int] | None


class Hit(NamedTuple):
    """One search result: rank (1-based), document id, cosine, row, snippet.

    Examples
    --------
    >>> from svdkit.lsi import build_index
    >>> docs = [("pets", "the cat chased the dog around the garden"),
    ...         ("vet", "the vet treated the sick dog"),
    ...         ("market", "stock prices fell as investors sold shares")]
    >>> index = build_index(docs, k=3)
    >>> hit = index.search("sick dog", n=1)[0]
    >>> hit.rank, hit.id
    (1, 'vet')
    >>> index.ids[hit.row] == hit.id, hit.snippet == dict(docs)["vet"]
    (True, True)
    >>> rank, doc_id, score, row, snippet = hit  # a named tuple
    >>> 0 < score <= 1.0 + 1e-6
    True
    """

    rank: int
    id: str
    score: float
    row: int
    snippet: str


@dataclass(eq=False)
class LsiIndex:
    """A Latent Semantic Index (see the module documentation for the convention).

    Attributes
    ----------
    U, s, V : ndarray
        ``W ≈ U diag(s) Vᵀ``: documents × k, k, terms × k. Rows of ``U`` beyond
        ``n_svd_docs`` were folded in (``u = Σ⁻¹ Vᵀ w``).
    counts : scipy.sparse.csr_matrix
        Documents × terms counts (int32).
    vocabulary : list of str
        The terms, in column order (sorted).
    ids, snippets : list of str
        Document ids and the first characters of each document.
    global_weights : ndarray
        ``gⱼ`` of the weighting scheme, fixed at build time.
    weighting : str
        ``"tfidf"``, ``"log_entropy"`` or ``"count"``.
    normalize : bool
        Weighted documents scaled to unit length before the SVD.
    scaling : float
        ``p`` of the convention: documents are rows of ``U Σ^p``.
    options : TextOptions
        Tokenisation and pruning (queries are tokenised the same way).
    svd : dict
        How the SVD was computed: method, tol, converged, worst residual, seconds,
        relative reconstruction error ``‖W − UΣVᵀ‖_F / ‖W‖_F``; ``rank_tol`` and
        ``rank_tol_met`` (``False`` where ``k`` capped the rank ``rank_tol`` asked
        for, with a ``note`` saying so; absent in indexes saved before: met).
    history : list of dict
        Updates since the index was built (fold-ins, SVD updates).

    Notes
    -----
    Threads: searches (:meth:`search`, :meth:`search_batch`, :meth:`scores`,
    :meth:`similar_documents`, :meth:`similar_terms`, …) may run at the same time as
    each other and as :meth:`add` (:func:`~svdkit.lsi.update.fold_in`,
    :func:`~svdkit.lsi.update.svd_update`), :func:`~svdkit.lsi.update.rebuild`,
    :func:`~svdkit.lsi.update.drift` and :meth:`save`. Each sees one consistent state
    of the index, the one before a change or the one after it, never a mix: it takes
    references to the arrays it needs (``U``, ``s``, ``V``, the document vectors, the
    ids) under the index's lock, and computes outside it. Changes are serialised (one
    at a time), and each replaces the state under the lock, at once. Setting the
    attributes by hand is not covered. The locks are not part of the index: not
    compared, shown or saved; a copy gets its own.

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lsi import build_index, demo_data
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> index
    LsiIndex(6 documents, 19 terms, k=4, log_entropy)
    >>> index.U.shape, index.s.shape, index.V.shape
    ((6, 4), (4,), (19, 4))
    >>> bool(np.allclose(index.U.T @ index.U, np.eye(index.k)))  # orthonormal columns
    True
    >>> [hit.id for hit in index.search("cat", n=2)]
    ['cats', 'pets']
    >>> index.similar_documents("market", n=1)[0].id
    'rates'
    """

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray
    counts: sp.csr_matrix
    vocabulary: list[str]
    ids: list[str]
    snippets: list[str]
    global_weights: np.ndarray
    weighting: str = "log_entropy"
    normalize: bool = True
    scaling: float = 1.0
    options: TextOptions = field(default_factory=TextOptions)
    n_svd_docs: int = 0
    svd: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    doc_vectors_cache: np.ndarray | None = field(default=None, repr=False)
    _vectorizer: Any = field(default=None, repr=False)
    _term_rows: dict[str, int] | None = field(default=None, repr=False)
    _id_rows: dict[str, int] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ threads
    # Two locks, attributes rather than dataclass fields (so outside eq, repr, asdict,
    # dataclasses.replace): ``_update_lock`` is held for the whole of a change (fold-in,
    # SVD update): changes are serialised. ``_state_lock`` is held only to replace the
    # state (U, s, V, counts, ids, snippets, doc_vectors_cache, _id_rows, …) and to
    # take a snapshot of it: a search never waits for a long SVD update, only for the
    # moment its result is put in place.
    def __post_init__(self) -> None:
        self.normalize = check_bool(self.normalize, "normalize")
        self._init_locks()

    def _init_locks(self) -> None:
        self._update_lock = threading.RLock()
        self._state_lock = threading.RLock()

    def __getstate__(self) -> dict[str, Any]:
        # copy.copy, copy.deepcopy and pickle: the locks are not copied (a lock cannot
        # be pickled, and a copy is another index); the copy gets fresh ones
        with self._state_lock:
            state = dict(self.__dict__)
        state.pop("_update_lock", None)
        state.pop("_state_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_locks()

    def _snapshot(self, id_rows: bool = False) -> _State:
        """The arrays a query needs, all of one state (the document vectors filled in).

        References only, taken under ``_state_lock``; the document vectors, when not
        yet computed, are computed and cached under it (once), and so is the map from
        ids to rows when ``id_rows``.
        """
        with self._state_lock:
            if self.doc_vectors_cache is None:
                self.doc_vectors_cache = document_vectors(self.U, self.s, self.scaling)
            rows = None
            if id_rows:
                if self._id_rows is None:
                    self._id_rows = {d: i for i, d in enumerate(self.ids)}
                rows = self._id_rows
            return _State(self.U, self.s, self.V, self.doc_vectors_cache, self.ids,
                          self.snippets, rows)

    # ------------------------------------------------------------------ sizes
    @property
    def k(self) -> int:
        """Dimension of the latent space."""
        return int(self.s.shape[0])

    @property
    def n_docs(self) -> int:
        return int(self.U.shape[0])

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    def __repr__(self) -> str:
        return (
            f"LsiIndex({self.n_docs} documents, {self.n_terms} terms, k={self.k}, "
            f"{self.weighting})"
        )

    # ------------------------------------------------------------------ vectors
    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts (documents × terms) weighted as the corpus was."""
        return weigh(counts, self.weighting, self.global_weights, self.normalize)

    def count(self, texts: list[str]) -> sp.csr_matrix:
        """Counts of ``texts`` over the index's vocabulary (unknown terms are ignored)."""
        if self._vectorizer is None:
            self._vectorizer = self.options.vectorizer(self.vocabulary)
        return self._vectorizer.transform(texts).tocsr()

    def project(self, weighted: sp.csr_matrix) -> np.ndarray:
        """``Σ^(p−1) Vᵀ w`` for each row ``w`` (not normalised).

        ``weighted`` has one column per term of the index (:meth:`weigh` of
        :meth:`count`); another number of columns is a :class:`~svdkit.ShapeError`.
        """
        with self._state_lock:
            V, s = self.V, self.s
        return self._project(weighted, V, s)

    def _project(
        self, weighted: sp.csr_matrix, V: np.ndarray, s: np.ndarray, scaled: bool = True
    ) -> np.ndarray:
        """``Σ^(p−1) Vᵀ w`` (``Vᵀ w`` unless ``scaled``)."""
        shape = weighted.shape if hasattr(weighted, "shape") else np.shape(weighted)
        if not shape or shape[-1] != V.shape[0]:
            got = f"{shape[-1]} columns" if shape else "a scalar"
            raise ShapeError(
                f"the weighted rows to project have {got} but the index has {V.shape[0]} "
                "terms: one column per term of its vocabulary (index.weigh(index.count(texts)))"
            )
        Z = np.asarray(weighted @ V)
        if scaled and self.scaling != 1.0:
            Z = Z * s ** (self.scaling - 1.0)
        return Z

    def query_vectors(self, texts: str | list[str]) -> np.ndarray:
        """Unit-length latent vectors of query texts (a zero row: no known, weighted term)."""
        with self._state_lock:
            V, s = self.V, self.s
        return self._query_vectors(texts, V, s)

    def _query_vectors(self, texts: Any, V: np.ndarray, s: np.ndarray) -> np.ndarray:
        """:meth:`query_vectors` with the given ``V`` and ``s`` (one state's)."""
        texts = _query_list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise SvdkitError(
                    f"a query is a text (str); query {i} is {type(text).__name__}: {text!r:.60}"
                )
        Y = self._project(self.weigh(self.count(texts)), V, s, scaled=False)
        return _latent_unit_rows(Y, s, self.scaling, -1.0)

    @property
    def doc_vectors(self) -> np.ndarray:
        """Rows of ``U Σ^p``, unit length, float32 (C order): what queries are scored against."""
        return self._snapshot().doc_vectors

    def term_vectors(self) -> np.ndarray:
        """Rows of ``V Σ``, unit length (terms compared as Deerwester et al. do)."""
        with self._state_lock:
            V, s = self.V, self.s
        return _unit_rows(V * s, _vector_scale(s, 1.0))

    # ------------------------------------------------------------------ queries
    def search(self, text: str, n: int = 10) -> list[Hit]:
        """The ``n`` documents closest to ``text`` by cosine, best first.

        None (``[]``) when the query's latent vector is zero (no term the index
        weighs, or only terms outside its ``k`` dimensions): its cosine with every
        document is 0, and the first ``n`` rows scored 0 would not be an answer. Nor is
        a document whose latent vector is zero ever a hit (empty, stop words only, or
        all of its weight outside the ``k`` dimensions; ``svd["empty_documents"]``
        counts those without a weighted term): fewer than ``n`` hits then, where fewer
        documents have a direction.
        """
        return self.search_batch([text], n)[0]

    def search_batch(self, texts: list[str], n: int = 10) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (one matrix product per block)."""
        from svdkit.lsi.query import check_n, rank_rows

        n = check_n(n)
        state = self._snapshot()
        Q = self._query_vectors(texts, state.V, state.s).astype(np.float32)
        found = Q.any(axis=1)
        zero = self._zero_rows(state.doc_vectors)  # (never ranked: never a hit)
        return [
            _hits(state, rows, scores) if hit else []
            for hit, (rows, scores) in zip(
                found, rank_rows(state.doc_vectors, Q, n, exclude=zero), strict=True)
        ]

    def _zero_documents(self, doc_vectors: np.ndarray) -> np.ndarray:
        """Mask of the documents whose latent vector is zero (no term the index weighs:
        empty, stop words only, unknown or pruned terms), cached per ``doc_vectors``.

        Such a document has cosine 0 with every query: it is never a hit (ranked above
        the documents of negative cosine, it would look like an answer).
        """
        return self._zero_cached(doc_vectors)[0]

    def _zero_rows(self, doc_vectors: np.ndarray) -> np.ndarray:
        """The rows of the documents whose latent vector is zero (:meth:`_zero_documents`),
        ascending, cached with the mask."""
        return self._zero_cached(doc_vectors)[1]

    def _zero_cached(self, doc_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cached = getattr(self, "_zero_cache", None)
        if cached is not None and cached[0] is doc_vectors:
            return cached[1], cached[2]
        mask = ~np.asarray(doc_vectors).any(axis=1)
        rows = np.flatnonzero(mask)
        self._zero_cache = (doc_vectors, mask, rows)
        return mask, rows

    def scores(self, texts: list[str]) -> np.ndarray:
        """Cosine of every query (rows) with every document (columns).

        A single string is one query (a 1 × documents array), not one per letter.
        """
        state = self._snapshot()
        return self._query_vectors(texts, state.V, state.s).astype(np.float32) @ state.doc_vectors.T

    def row_of(self, doc: str | int) -> int:
        """The row of a document given by id (or by row number, an ``int``)."""
        return _row_of(self._snapshot(id_rows=True), doc)

    def similar_documents(self, doc: str | int, n: int = 10) -> list[Hit]:
        """The ``n`` documents closest to a document of the index (itself excluded);
        ``[]`` when its latent vector is zero (see :meth:`search`)."""
        from svdkit.lsi.query import check_n, rank_rows

        n = check_n(n)
        state = self._snapshot(id_rows=True)
        row = _row_of(state, doc)
        q = state.doc_vectors[row : row + 1]
        if not q.any():
            return []
        zero = self._zero_rows(state.doc_vectors)  # (never ranked: never a hit)
        rows, scores = next(iter(rank_rows(state.doc_vectors, q, n + 1, exclude=zero)))
        keep = rows != row
        return _hits(state, rows[keep][:n], scores[keep][:n])

    def similar_terms(self, term: str, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` terms closest to ``term`` (rows of ``V Σ`` by cosine); ``[]`` when
        its latent vector is zero (see :meth:`search`)."""
        from svdkit.lsi.query import check_n, rank_rows

        n = check_n(n)
        if not isinstance(term, str):
            raise SvdkitError(f"a term is a text (str); got {type(term).__name__}: {term!r:.60}")
        j = self._term_rows_map()[self.term_of(term)]
        T = self.term_vectors()
        if not T[j].any():
            return []
        rows, scores = next(iter(rank_rows(T, T[j : j + 1], n + 1)))
        return [(self.vocabulary[r], float(c)) for r, c in zip(rows, scores, strict=True)
                if r != j][:n]

    def _term_rows_map(self) -> dict[str, int]:
        if self._term_rows is None:
            self._term_rows = {t: j for j, t in enumerate(self.vocabulary)}
        return self._term_rows

    def term_of(self, term: str) -> str:
        """``term`` as the index's vocabulary spells it, tokenised as the corpus was.

        Lowercased and normalised as the corpus was (``"Été"`` → ``"été"``, or
        ``"ete"`` with ``strip_accents``); then, if that is not a term, tokenised:
        ``"l'été"`` and ``"été "`` are the term ``"été"``.

        Raises
        ------
        SvdkitError
            The term is not in the vocabulary, or is several tokens (named).

        Examples
        --------
        >>> from svdkit.lsi import TextOptions, build_index
        >>> ix = build_index(["l'été est chaud", "un été au marché"], k=1,
        ...                  options=TextOptions(stop_words=None))
        >>> ix.term_of("L'Été"), ix.term_of(" marché ")
        ('été', 'marché')
        """
        if not isinstance(term, str):
            raise SvdkitError(f"a term is a text (str); got {type(term).__name__}: {term!r:.60}")
        rows = self._term_rows_map()
        vectorizer = self.options.vectorizer()
        key = vectorizer.build_preprocessor()(term)
        if key in rows:
            return key
        tokens = list(dict.fromkeys(vectorizer.build_analyzer()(term)))
        if len(tokens) == 1 and tokens[0] in rows:
            return tokens[0]
        if len(tokens) > 1:
            shown = ", ".join(map(repr, tokens[:8])) + (", …" if len(tokens) > 8 else "")
            known = [t for t in tokens if t in rows][:3]
            hint = f"; did you mean {' or '.join(map(repr, known))}?" if known else ""
            raise SvdkitError(
                f"the term {term!r} is not in the index's vocabulary: {term!r} is tokenised "
                f"as [{shown}], {len(tokens)} terms{hint}"
            )
        if tokens:
            how = f" (tokenised as {tokens[0]!r})" if tokens[0] != key else ""
        else:
            how = " (it holds no token)"
            stop = vectorizer.get_stop_words() if self.options.analyzer == "word" else None
            dropped = list(dict.fromkeys(
                w for w in vectorizer.build_tokenizer()(key) if stop and w in stop))
            if dropped:  # "the": a word the index drops, not one its texts lack
                shown = " and ".join(map(repr, dropped[:3]))
                how = (f": {shown} {'is a stop word' if len(dropped) == 1 else 'are stop words'}"
                       ", dropped from every text and query (an index built without stop "
                       "words keeps it)")
        raise SvdkitError(f"the term {term!r} is not in the index's vocabulary{how}")

    def _hits(self, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
        return _hits(self._snapshot(), rows, scores)

    # ------------------------------------------------------------------ update / persist
    def add(self, docs: Iterable[Any], method: str = "auto", **kwargs: Any) -> Any:
        """Add documents (fold-in, SVD update, or ``auto``); see :mod:`svdkit.lsi.update`."""
        from svdkit.lsi.update import add_documents

        return add_documents(self, docs, method=method, **kwargs)

    def drift(self) -> Any:
        """How far fold-ins have taken the index from an SVD (:class:`~svdkit.lsi.update.Drift`)."""
        from svdkit.lsi.update import drift

        return drift(self)

    def save(self, path: Any) -> None:
        """Write the index to a directory, atomically (:mod:`svdkit.lsi.persist`)."""
        from svdkit.lsi.persist import save_index

        save_index(self, path)


def _hits(state: _State, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
    """Hits of the given rows of ``state`` (ids and snippets of the same state)."""
    ids, snippets = state.ids, state.snippets
    return [
        Hit(i + 1, ids[r], float(c), int(r), snippets[r] if snippets else "")
        for i, (r, c) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True))
    ]


def _row_of(state: _State, doc: Any) -> int:
    """The row of a document of ``state`` given by id or row number (``LsiIndex.row_of``)."""
    n_docs = len(state.ids)
    if isinstance(doc, int | np.integer) and not isinstance(doc, bool):
        if not 0 <= doc < n_docs:
            raise SvdkitError(f"document row {doc} out of range (0 … {n_docs - 1})")
        return int(doc)
    if not isinstance(doc, str):
        raise SvdkitError(
            "doc must be a document id (str) or a row number (int); got "
            f"{type(doc).__name__}: {doc!r:.60}"
        )
    rows = state.id_rows
    if rows is None:
        rows = {d: i for i, d in enumerate(state.ids)}
    if doc not in rows:
        # the same id in another Unicode form: a file name copied from macOS (NFD)
        # typed in a terminal (NFC)
        key = unicodedata.normalize("NFC", doc)
        same = [i for i, d in enumerate(state.ids) if unicodedata.normalize("NFC", d) == key]
        if len(same) == 1:
            return same[0]
    if doc not in rows:
        # a folder's ids are its files' relative paths: 'cats1' is 'cats1.txt'
        alike = [d for d in state.ids if d.rsplit(".", 1)[0] == doc][:3]
        hint = f" (did you mean {', '.join(map(repr, alike))}?)" if alike else ""
        raise SvdkitError(f"no document with id {doc!r} in the index{hint}")
    return rows[doc]


def _query_list(texts: Any) -> list[Any]:
    """Queries as a list; one string is one query (``list("abc")`` would make three).

    Anything not iterable (``None``, a number) is an SvdkitError naming ``texts``.
    """
    if isinstance(texts, str):
        return [texts]
    try:
        return list(texts)
    except TypeError:
        raise SvdkitError(
            f"texts must be a query (str) or an iterable of queries; got "
            f"{type(texts).__name__}: {texts!r:.60}"
        ) from None


def check_index(index: Any, name: str = "index") -> None:
    """An SvdkitError naming ``name`` unless ``index`` is an :class:`LsiIndex`.

    Examples
    --------
    >>> check_index(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: index must be an LsiIndex (...); got NoneType
    """
    require_instance(
        index, LsiIndex, name, "svdkit.lsi.build_index or load_index makes one", "an"
    )


def _vector_scale(s: np.ndarray, scaling: float) -> float:
    """``maxᵢ σᵢ^p``: the longest a latent vector of a unit-length document can be."""
    s = np.asarray(s, dtype=np.float64)
    return float(np.max(s**scaling, initial=0.0)) if s.size else 0.0


#: The largest ``|scaling|`` (``p``) an index takes. Beyond it every latent dimension but
#: one (the first, or the last for a negative ``p``) is below rounding: σ₂/σ₁ = 0.7 gives
#: 0.7¹⁰⁰ ≈ 3e-16.
MAX_SCALING = 100.0


def check_scaling(scaling: Any) -> float:
    """``scaling`` (``p``) as a float, or an SvdkitError naming it.

    Examples
    --------
    >>> check_scaling(0.5)
    0.5
    >>> check_scaling(1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: scaling must be a finite number from -100 to 100; got 1000...
    """
    if (isinstance(scaling, bool) or not isinstance(scaling, numbers.Real)
            or not math.isfinite(scaling) or abs(scaling) > MAX_SCALING):
        raise SvdkitError(
            f"{arg('scaling')} must be a finite number from {-MAX_SCALING:g} to "
            f"{MAX_SCALING:g}; got {got(scaling)} (p of U Σ^p: 1, the default, or 0 to 1 as "
            "in the literature)",
            param="scaling",
        )
    return float(scaling)


def _log_max(s: np.ndarray, q: float) -> float:
    """``maxᵢ q ln σᵢ`` (σ of 0 counted as the smallest positive double)."""
    logs = np.log(np.maximum(np.asarray(s, dtype=np.float64), np.finfo(np.float64).tiny))
    return float(np.max(q * logs, initial=-np.inf)) if logs.size else 0.0


def _powers(s: np.ndarray, q: float) -> np.ndarray:
    """``σᵢ^q / maxⱼ σⱼ^q``, in logarithms: at most 1, never an overflow, whatever ``q``
    (a large one only underflows the dimensions below rounding to 0).

    >>> _powers(np.array([4.0, 2.0]), 2.0).tolist(), _powers(np.array([1e10, 1e-10]), -40)
    ([1.0, 0.25], array([0., 1.]))
    """
    logs = np.log(np.maximum(np.asarray(s, dtype=np.float64), np.finfo(np.float64).tiny))
    if not logs.size:
        return logs
    e = q * logs
    return np.exp(e - e.max())


def _latent_unit_rows(Y: np.ndarray, s: np.ndarray, p: float, shift: float) -> np.ndarray:
    """Rows of ``Y Σ^(p + shift)`` at unit length: documents (``Y = U``, ``shift`` 0) or
    queries (``Y = Vᵀw``, ``shift`` −1), whatever ``p`` (:func:`_powers`, no overflow).

    A row is rounding noise, set to zero (:func:`_unit_rows`), as measured at
    ``q = min(p, 1)``: ``Y Σ^(q + shift)`` no longer than :data:`ZERO_VECTOR_FLOOR` times
    the longest such a row can be, ``maxᵢ σᵢ^q``. (For ``p`` ≤ 1 that is the row itself; a
    larger ``p`` would put a real document whose weight lies in the last dimensions, a
    factor ``(σₖ/σ₁)^p`` shorter, under the floor.)
    """
    q = min(p, 1.0)
    # One new array the size of Y (Y itself, a memory-mapped U, is never written), scaled
    # and divided in place: no second and third copy (np.where, the division's output).
    Z = Y * _powers(s, q + shift)
    scale = math.exp(_log_max(s, q) - _log_max(s, q + shift)) if np.size(s) else 0.0
    keep = np.linalg.norm(Z, axis=1) > ZERO_VECTOR_FLOOR * scale
    if q != p:  # p > 1: the rows to keep were measured at q = 1
        del Z
        Z = Y * _powers(s, p + shift)
    Z[~keep] = 0.0
    return _unit_rows(Z, 0.0)  # (the noise rows already zero)


def _unit_rows(Z: np.ndarray, scale: float) -> np.ndarray:
    """Rows of ``Z`` at unit length, in place (``Z`` is returned, changed: pass an array
    of the caller's own); rows no longer than rounding noise become zero.

    A row whose norm is at most :data:`ZERO_VECTOR_FLOOR` ``· scale`` (``scale``: the
    largest length a row can have, :func:`_vector_scale`) carries no direction, only
    rounding errors: it is set to zero rather than normalised.
    """
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    keep = norms > ZERO_VECTOR_FLOOR * scale
    keep &= norms > 0
    np.divide(Z, norms, out=Z, where=keep)
    Z[~keep[:, 0]] = 0.0
    return Z


def empty_rows(W: sp.spmatrix) -> np.ndarray:
    """Mask of the rows of a weighted matrix without a single non-zero entry.

    Explicit zeros count as empty (a term of global weight 0 leaves one in ``W``).
    """
    W = sp.csr_matrix(W)
    return np.asarray(abs(W).sum(axis=1)).ravel() == 0


def document_vectors(U: np.ndarray, s: np.ndarray, scaling: float) -> np.ndarray:
    """Rows of ``U Σ^p`` at unit length, float32, C order (noise-level rows: zero).

    ``Σ^p`` is taken up to a factor (:func:`_powers`, the largest power 1): the rows
    point the same way, and no ``p`` overflows.
    """
    return np.ascontiguousarray(_latent_unit_rows(np.asarray(U), s, scaling, 0.0),
                                dtype=np.float32)


def checked_counts(corpus: Any) -> CorpusCounts:
    """``corpus`` checked and made canonical: a new :class:`CorpusCounts` whose counts
    are an int32 CSR matrix (duplicate entries summed, explicit zeros dropped, on a copy:
    the matrix given is never changed), ids and vocabulary lists of ``str``.

    Ids are made text as :func:`svdkit.lsi.corpus.read_iterable` makes them (``1`` and
    ``1.0`` are ``"1"``; ``None``, NaN, a bool or another float is refused).

    ``snippets`` may be ``None`` (no snippets, as ``[]``). Ids, vocabulary and snippets
    are lists, tuples, iterators or 1-D arrays (a pandas Series or Index too), or an
    (n, 1) column (``df[["id"]]``), flattened; the vocabulary may also be a mapping term
    → column, as scikit-learn's ``CountVectorizer.vocabulary_`` (:func:`_field_list`).

    Raises
    ------
    SvdkitError
        ``corpus`` is not a ``CorpusCounts``; its ids, vocabulary or snippets are a
        ``str``, not iterable, a set (no order) or a sparse matrix, ids or snippets a
        mapping, a vocabulary mapping's columns are not ``0 … n-1`` each once (the field
        named); a count is negative, not a whole number or
        not finite (its row and column named); an id or a term is refused, or a term
        occurs twice.
    ShapeError
        The counts are not a 2-D matrix, or their rows and columns do not match the ids
        and the vocabulary (or the snippets, when there are any); ids, vocabulary or
        snippets are an array neither 1-D nor (n, 1).
    """
    from svdkit.lsi.corpus import document_id

    require_instance(corpus, CorpusCounts, "corpus",
                     "svdkit.lsi.count_corpus makes one, or CorpusCounts(counts, vocabulary, "
                     "ids)")
    counts = corpus.counts
    array = None
    try:
        if not sp.issparse(counts):
            array = np.asarray(counts)
            if array.ndim == 2:
                counts = sp.csr_matrix(array)
        else:
            counts = sp.csr_matrix(counts, copy=True)
    except (TypeError, ValueError) as err:
        raise SvdkitError(
            "corpus.counts must be a documents × terms matrix of counts (SciPy sparse or "
            f"array-like); got {type(corpus.counts).__name__}: {err}",
            param="counts",
        ) from None
    if array is not None and array.ndim != 2:
        raise ShapeError(
            f"corpus.counts must be a 2-D matrix (documents × terms); got "
            f"{type(corpus.counts).__name__} of shape {array.shape}",
            param="counts",
        )
    if counts.dtype.kind not in "biuf":
        raise SvdkitError(
            f"corpus.counts must hold numbers (counts); got dtype {counts.dtype}",
            param="counts",
        )
    counts.sum_duplicates()  # a legal CSR may store one entry twice: one count, not two
    data = counts.data
    bad = ~np.isfinite(data) if data.dtype.kind == "f" else np.zeros(data.shape, bool)
    for what, mask in (("finite", bad), ("non-negative", ~bad & (data < 0)),
                       ("whole numbers", ~bad & (data != np.round(data)))):
        if mask.any():
            at = int(np.flatnonzero(mask)[0])
            row = int(np.searchsorted(counts.indptr, at, side="right") - 1)
            raise SvdkitError(
                f"corpus.counts must be counts (finite, non-negative whole numbers); "
                f"not {what}: {data[at].item()!r} at row {row}, column {int(counts.indices[at])}",
                param="counts",
            )
    if data.size and data.max() > np.iinfo(np.int32).max:
        raise SvdkitError(
            f"corpus.counts has a count of {data.max():g}, above the int32 range of counts",
            param="counts",
        )
    counts = counts.astype(np.int32)
    counts.eliminate_zeros()
    n_docs, n_terms = counts.shape
    ids, vocabulary = _field_list(corpus.ids, "ids"), _field_list(corpus.vocabulary, "vocabulary")
    for name, size, wanted in (("rows", n_docs, (len(ids), "ids")),
                               ("columns", n_terms, (len(vocabulary), "terms in the vocabulary"))):
        if size != wanted[0]:
            raise ShapeError(
                f"corpus.counts has {size} {name} but there are {wanted[0]} {wanted[1]}: one "
                f"{'row per document' if name == 'rows' else 'column per term'}",
                param="counts",
            )
    snippets = [] if corpus.snippets is None else _field_list(corpus.snippets, "snippets")
    if snippets and len(snippets) != n_docs:
        raise ShapeError(
            f"corpus.snippets has {len(snippets)} texts for {n_docs} documents (leave it "
            "empty, or one per document)",
            param="snippets",
        )
    if not all(isinstance(t, str) for t in snippets):
        raise SvdkitError("corpus.snippets must be texts (str)", param="snippets")
    snippets = [str(t) for t in snippets]  # (NumPy's str_ as str)
    ids = [document_id(d, f"document {i}") for i, d in enumerate(ids)]
    seen: set[str] = set()
    for j, term in enumerate(vocabulary):
        if not isinstance(term, str):
            raise SvdkitError(
                f"corpus.vocabulary must be terms (str); term {j} is "
                f"{type(term).__name__}: {term!r:.60}",
                param="vocabulary",
            )
        if term in seen:
            raise SvdkitError(
                f"corpus.vocabulary holds the term {term!r} more than once; each column is "
                "one term",
                param="vocabulary",
            )
        seen.add(term)
    vocabulary = [str(term) for term in vocabulary]  # (NumPy's str_ as str)
    return CorpusCounts(counts=counts, vocabulary=vocabulary, ids=ids, snippets=snippets)


_FIELD_ITEMS = {"ids": "document ids, one per row", "vocabulary": "terms, one per column",
                "snippets": "texts, one per document (None or [] for none)"}


def _field_list(values: Any, name: str) -> list[Any]:
    """``corpus.<name>`` as a list in row (or column) order, or an SvdkitError naming it.

    A list, tuple, iterator or 1-D array (NumPy, a pandas Series or Index) is taken in
    its order, and an (n, 1) column (``df[["id"]]``, ``df[["id"]].values``) flattened.
    The vocabulary may also be a mapping term → column (scikit-learn's
    ``CountVectorizer.vocabulary_``), ordered by column once its columns are checked to
    be ``0 … n-1``, each once. Refused: a ``str`` (whose characters ``list`` would take
    for the items), anything not iterable, a set (no order), any other mapping (for ids
    and snippets), a sparse matrix and an array of any other shape (a ShapeError).
    """
    shown = f"got {type(values).__name__}: {values!r:.60}"
    items = _FIELD_ITEMS[name]
    if isinstance(values, AbstractSet):
        raise SvdkitError(f"corpus.{name} is a set, which has no order; give a list of "
                          f"{items}; {shown}", param=name)
    if isinstance(values, Mapping):
        if name == "vocabulary":
            return _vocabulary_by_column(values)
        raise SvdkitError(f"corpus.{name} is a mapping; give a list of {items}; {shown}",
                          param=name)
    if sp.issparse(values):
        raise SvdkitError(f"corpus.{name} must be a list of {items}; {shown}", param=name)
    if getattr(values, "ndim", None) is not None and not isinstance(values, str | bytes):
        try:
            array = np.asarray(values)
        except (TypeError, ValueError) as err:
            raise SvdkitError(f"corpus.{name} must be a list of {items}; "
                              f"got {type(values).__name__}: {err}", param=name) from None
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ShapeError(
                f"corpus.{name} must be one-dimensional (a list of {items}, or a column of "
                f"shape (n, 1)); got {type(values).__name__} of shape {array.shape}",
                param=name,
            )
        return list(array)
    if not isinstance(values, str | bytes):
        try:
            return list(values)
        except TypeError:
            pass
    raise SvdkitError(f"corpus.{name} must be a list of {items}; {shown}", param=name)


def _vocabulary_by_column(mapping: Mapping[Any, Any]) -> list[Any]:
    """The terms of a mapping term → column (``CountVectorizer.vocabulary_``) in column
    order; an SvdkitError unless its columns are the whole numbers ``0 … n-1``, each once."""
    n = len(mapping)
    terms: list[Any] = [None] * n
    taken = [False] * n
    for term, column in mapping.items():
        if (not isinstance(column, numbers.Integral) or isinstance(column, bool)
                or type(column).__name__ == "bool_"):
            raise SvdkitError(
                f"corpus.vocabulary is a mapping, taken as term → column (as scikit-learn's "
                f"vocabulary_); the column of {term!r:.60} is {type(column).__name__}: "
                f"{column!r:.40}, not a column number",
                param="vocabulary",
            )
        at = int(column)
        if not 0 <= at < n or taken[at]:
            why = (f"outside 0 … {n - 1}" if not 0 <= at < n
                   else "given to two terms")
            raise SvdkitError(
                f"corpus.vocabulary is a mapping, taken as term → column (as scikit-learn's "
                f"vocabulary_); its {n} columns must be 0 … {n - 1}, each once: column {at} "
                f"(of {term!r:.60}) is {why}",
                param="vocabulary",
            )
        terms[at], taken[at] = term, True
    return terms


def check_unique_ids(ids: list[str]) -> None:
    """Refuse a list of document ids in which one occurs twice (naming the first)."""
    seen: set[str] = set()
    for d in ids:
        if d in seen:
            raise SvdkitError(
                f"document id {d!r} is given to more than one document; ids must be unique"
            )
        seen.add(d)


# ---------------------------------------------------------------------- building


def check_build_arguments(
    k: Any = None,
    *,
    weighting: Any = "log_entropy",
    scaling: Any = 1.0,
    tol: Any = DEFAULT_TOL,
    rank_tol: Any = None,
    method: Any = "auto",
    chunk_size: Any = 2000,
    on_chunk: Any = None,
    normalize: Any = True,
    progress: Any = False,
) -> None:
    """Check the arguments of an indexing before the corpus is read.

    Counting a large corpus takes minutes: a ``tol`` of 0, an unknown weighting or
    a ``chunk_size`` of 2.5 is refused first, not after the counting (the SVD's own
    checks, and ``k``'s upper limit, which needs the counted matrix, come later).

    Raises
    ------
    ShapeError
        ``k`` is not a positive integer.
    SvdkitError
        Any other argument out of its range; ``normalize`` or ``progress`` not a bool.
    """
    from svdkit.lowrank import METHODS
    from svdkit.lsi.corpus import check_chunk_size

    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        raise ShapeError(f"{arg('k')} must be a positive integer; got {got(k)}", param="k")
    if weighting not in SCHEMES:
        raise SvdkitError(f"weighting must be one of {SCHEMES}; got {weighting!r}")
    check_scaling(scaling)
    for name, value in (("tol", tol), ("rank_tol", rank_tol)):
        if value is None and name == "rank_tol":
            continue
        check_real(value, name, 1e-14, 1.0)  # the range of svdkit.lowrank.truncated_svd
    if method not in METHODS:
        raise SvdkitError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    check_chunk_size(chunk_size)
    check_on_chunk(on_chunk)
    check_bool(normalize, "normalize")
    check_bool(progress, "progress")


def _choose_k(k: int | None, rank_tol: float | None, shape: tuple[int, int]) -> int:
    limit = min(shape)
    if k is None:
        return min(DEFAULT_K, limit) if rank_tol is None else limit
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ShapeError(f"{arg('k')} must be a positive integer; got {got(k)}", param="k")
    if k > limit:
        raise ShapeError(
            f"{arg('k')} = {k} is more than the matrix allows: {shape[0]} documents × "
            f"{shape[1]} terms has at most {limit} singular values",
            param="k",
        )
    return int(k)


def index_from_counts(
    corpus: CorpusCounts,
    k: int | None = None,
    *,
    weighting: str = "log_entropy",
    normalize: bool = True,
    scaling: float = 1.0,
    options: TextOptions | None = None,
    rank_tol: float | None = None,
    tol: float = DEFAULT_TOL,
    method: str = "auto",
    progress: bool = False,
    svd_input: Any = None,
    check_terms: bool = True,
) -> LsiIndex:
    """An index from counts already made (the second half of :func:`build_index`).

    ``svd_input`` replaces the weighted matrix as the input of the SVD (the dask
    path passes its distributed operator here); it must equal the weighted matrix.

    ``options`` must be the tokenising that made the counts: queries are tokenised with
    it (default ``TextOptions()``: lowercase, English stop words, single words). With
    ``check_terms`` (the default) every term of the vocabulary is tokenised with it, and
    terms it can never make (``"York"``, ``"the"``, ``"new york"`` from a
    ``CountVectorizer(lowercase=False, stop_words=None, ngram_range=(1, 2))``), which no
    query could match, are named in a ``UserWarning`` and in ``svd["notes"]``.
    ``svd["notes"]`` also says where ``k`` is the full rank (no latent reduction) and how
    many documents have no weighted term (never a search hit).

    Examples
    --------
    Count once, then index the counts with two weightings (no second pass over the
    text); the ``log_entropy`` index answers as :func:`build_index` does.

    >>> import numpy as np
    >>> from svdkit.lsi import build_index, count_corpus, demo_data, index_from_counts
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> counts = count_corpus(docs)
    >>> index = index_from_counts(counts, k=4)
    >>> tfidf = index_from_counts(counts, k=4, weighting="tfidf")
    >>> index.ids == tfidf.ids == counts.ids, tfidf.weighting
    (True, 'tfidf')
    >>> queries = ["sick dog", "interest rates"]
    >>> bool(np.allclose(index.scores(queries), build_index(docs, k=4).scores(queries),
    ...                  atol=1e-5))
    True
    >>> [tfidf.search(q, n=1)[0].id for q in queries]
    ['vet', 'bank']
    """
    import time

    if weighting not in SCHEMES:
        raise SvdkitError(f"weighting must be one of {SCHEMES}; got {weighting!r}")
    check_scaling(scaling)
    normalize = check_bool(normalize, "normalize")
    progress = check_bool(progress, "progress")
    check_terms = check_bool(check_terms, "check_terms")
    if options is not None and not isinstance(options, TextOptions):
        raise SvdkitError(
            f"options must be a TextOptions (svdkit.lsi.TextOptions(min_df=2, …)); got "
            f"{type(options).__name__}"
        )
    pruned = getattr(corpus, "pruned", None)
    corpus = checked_counts(corpus)
    check_unique_ids(corpus.ids)
    unreachable: list[str] = []
    if check_terms:
        lost = unreachable_terms(corpus.vocabulary, options or TextOptions())
        if lost:
            unreachable.append(unreachable_note(lost, len(corpus.vocabulary),
                                                options is not None))
            warnings.warn(unreachable[0], UserWarning, stacklevel=2)
    g = global_weights(weighting, TermStats.of(corpus.counts))
    W = weigh(corpus.counts, weighting, g, normalize)
    if corpus.counts.count_nonzero() == 0:
        raise EmptyInputError("every document is empty after tokenising: nothing to index")
    W.eliminate_zeros()  # terms of global weight 0 leave explicit zeros
    if W.nnz == 0:
        raise EmptyInputError(
            f"every term has global weight 0 under {weighting} weighting: each term occurs "
            f"equally often in all {W.shape[0]} documents (identical documents), so no term "
            "tells them apart: nothing to index; index documents that differ, or use "
            "weighting='tfidf' or 'count'"
        )
    kk = _choose_k(k, rank_tol, W.shape)
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"tol": tol, "method": method, "progress": progress}
    if rank_tol is not None:
        kwargs.update(rank_tol=rank_tol, rank_norm="energy")
    r, rank_tol_met = _svd_capped(W if svd_input is None else svd_input, kk, kwargs)
    seconds = time.perf_counter() - started
    s = np.asarray(r.s, dtype=np.float64)
    keep = s > RELATIVE_FLOOR * (s[0] if s.size else 0.0)
    U = np.array(np.asarray(r.U)[:, keep], order="C")
    empty = empty_rows(W)
    U[empty] = 0.0  # exactly: W V = U Σ, so an empty row of W has u = 0
    V = np.ascontiguousarray(np.asarray(r.Vh)[keep].T)
    s = s[keep]
    index = LsiIndex(
        U=U,
        s=s,
        V=V,
        counts=corpus.counts,
        vocabulary=corpus.vocabulary,
        ids=corpus.ids,
        snippets=corpus.snippets,
        global_weights=g,
        weighting=weighting,
        normalize=normalize,
        scaling=float(scaling),
        options=options or TextOptions(),
        n_svd_docs=W.shape[0],
    )
    index.svd = {
        "method": r.method,
        "tol": r.tol,
        # (capped at k: the k triplets are certified, only rank_tol is not met)
        "converged": bool(r.converged) or not rank_tol_met,
        "k_requested": kk,
        "rank_tol": None if rank_tol is None else float(rank_tol),  # JSON: not np.float32
        "rank_tol_met": rank_tol_met,
        "dropped_zero_singular_values": int((~keep).sum()),
        "worst_relative_residual": float(r.relative_residuals.max()) if r.k else 0.0,
        "seconds": seconds,
        "reconstruction_error": reconstruction_error(W, U, s, V),
        "built_on": W.shape[0],
    }
    if pruned is not None:  # what the build's own pruning left out (svdkit.lsi.drift)
        index.svd["pruned"] = dict(pruned)
    if not rank_tol_met:
        index.svd["note"] = rank_tol_note(
            float(rank_tol), int(s.size), index.svd["reconstruction_error"]  # type: ignore[arg-type]
        )
    empty_ids = [corpus.ids[i] for i in np.flatnonzero(empty)]
    index.svd["empty_documents"] = len(empty_ids)
    # full rank: every triplet of the smaller side computed, or the rank reached (the
    # singular values past it dropped as zero); the note names the k the index has
    index.svd["full_rank"] = bool(keep.size >= min(W.shape) or s.size < keep.size)
    notes = [
        *([full_rank_note(k, int(s.size), W.shape)] if index.svd["full_rank"] else []),
        *([empty_documents_note(empty_ids)] if empty_ids else []),
        *unreachable,
    ]
    if notes:
        index.svd["notes"] = notes
    return index


def full_rank_note(k: int | None, rank: int, shape: tuple[int, int]) -> str:
    """What an index of full rank says of itself: no latent reduction, and how to get
    one. ``rank``: the index's k, the smaller side of ``shape`` or, for a rank-deficient
    matrix (duplicate or dependent documents), its numerical rank; ``k``: the rank asked
    for.

    Examples
    --------
    >>> full_rank_note(None, 150, (150, 665))  # doctest: +ELLIPSIS
    'k = 150 is the full rank of the 150 documents × 665 terms (the default k = 200 ...'
    >>> full_rank_note(None, 3, (5, 6))  # doctest: +ELLIPSIS
    'k = 3 is the full rank of the 5 documents × 6 terms (their numerical rank: ...'
    """
    asked = (f" (the default k = {DEFAULT_K} clipped to it)" if k is None and rank < DEFAULT_K
             else "")
    if rank < min(shape):
        asked = (f" (their numerical rank: duplicate or dependent documents; the other "
                 f"singular values are zero){asked}")
    return (
        f"k = {rank} is the full rank of the {shape[0]} documents × {shape[1]} "
        f"terms{asked}: no latent reduction, so the index ranks as plain cosine of the "
        f"weighted terms (no synonymy effect); choose k well below {rank} (such as "
        f"{max(1, rank // 2)}) or rank_tol for a latent semantic index"
    )


def empty_documents_note(ids: list[str]) -> str:
    """What an index says of its documents without a weighted term (``ids``, not empty).

    Examples
    --------
    >>> empty_documents_note(["a", "b"])  # doctest: +ELLIPSIS
    "2 documents have no term the index weighs (...): they are never a search hit ('a', 'b')"
    """
    from svdkit._words import counted

    shown = ", ".join(map(repr, ids[:5])) + (", …" if len(ids) > 5 else "")
    verb = "has" if len(ids) == 1 else "have"
    pronoun = "it is" if len(ids) == 1 else "they are"
    return (
        f"{counted(len(ids), 'document')} {verb} no term the index weighs (empty, stop "
        f"words only, pruned terms or terms of weight 0): {pronoun} never a search hit "
        f"({shown})"
    )


def unreachable_terms(vocabulary: list[str], options: TextOptions) -> list[str]:
    """The terms of ``vocabulary`` that ``options`` never make of any text: a query
    tokenised with them cannot match such a term.

    A term is reachable when tokenising the term itself gives it back: ``"York"`` is not
    (lowercased), nor ``"the"`` (a stop word), nor ``"new york"`` with single words.

    Examples
    --------
    >>> from svdkit.lsi import TextOptions
    >>> unreachable_terms(["new", "new york", "York", "the", "x"], TextOptions())
    ['new york', 'York', 'the', 'x']
    >>> unreachable_terms(["new", "new york"], TextOptions(ngram_range=(1, 2)))
    []
    """
    analyze = options.vectorizer().build_analyzer()
    return [term for term in vocabulary if term not in analyze(term)]


def unreachable_note(terms: list[str], n_terms: int, given: bool) -> str:
    """What :func:`index_from_counts` says of vocabulary terms no query can match."""
    shown = ", ".join(map(repr, terms[:5])) + (", …" if len(terms) > 5 else "")
    how = ("the options given" if given else
           "the default TextOptions() (lowercase, English stop words, single words of "
           "two or more letters)")
    return (
        f"{len(terms)} of the {n_terms} terms of the vocabulary can never match a query "
        f"({shown}): queries are tokenised with {how}, which never make them; pass "
        "options=TextOptions(...) with the settings of the vectorizer that made the counts "
        "(lowercase, stop_words, ngram_range, token_pattern, strip_accents)"
    )


def rank_tol_note(rank_tol: float, k: int, error: float) -> str:
    """What an index capped at ``k`` before ``rank_tol`` was met says of it (``error``:
    its relative reconstruction error; ``svd["note"]``).

    Examples
    --------
    >>> rank_tol_note(0.1, 5, 0.8234)  # doctest: +ELLIPSIS
    'rank_tol 0.1 not met at k = 5: ...error 0.8234 (above 0.1); raise k or loosen rank_tol'
    """
    from svdkit._words import counted

    return (
        f"rank_tol {rank_tol:g} not met at k = {k}: the index keeps its "
        f"{counted(k, 'leading triplet')} (certified), with reconstruction error "
        f"{error:.4f} (above {rank_tol:g}); raise k or loosen rank_tol"
    )


def _svd_capped(A: Any, k: int, kwargs: dict[str, Any]) -> tuple[Any, bool]:
    """:func:`~svdkit.lowrank.truncated_svd` of ``A``; in rank mode ``k`` is a cap.

    Returns the result and whether ``rank_tol`` was met. Where it needs more than
    ``k`` triplets, the engine raises a :class:`ConvergenceError` that carries its
    ``k`` triplets; certified, they are the index (capped at ``k``, as documented),
    not an error. Any other failure (a triplet not certified) is raised as it is.
    """
    from svdkit.lowrank import truncated_svd

    try:
        return truncated_svd(A, k, **kwargs), True
    except ConvergenceError as err:
        r = getattr(err, "result", None)
        capped = (
            kwargs.get("rank_tol") is not None
            and getattr(err, "unconverged", None) is None  # the rank, not a residual
            and r is not None
            and r.k == k
            and bool(np.all(r.relative_residuals <= r.tol))
        )
        if not capped:
            raise
        return r, False


#: Below this multiple of ``eps·‖W‖²`` the expanded form of ``‖W − UΣVᵀ‖²`` is rounding
#: noise: :func:`reconstruction_error` computes it from the difference instead.
_CANCELLATION_LIMIT = 1e4
#: Entries of the dense row block of ``W − UΣVᵀ`` formed at a time.
_BLOCK_ENTRIES = 1 << 20


def reconstruction_error(W: sp.csr_matrix, U: np.ndarray, s: np.ndarray, V: np.ndarray) -> float:
    """``‖W − U Σ Vᵀ‖_F / ‖W‖_F`` without forming an m×n array (``V`` orthonormal).

    ``‖W − UΣVᵀ‖² = ‖W‖² − 2 tr(Σ Uᵀ W V) + ‖U Σ‖²``. That sum cancels where the
    error is small (at or near full rank): its rounding error, about ``eps·‖W‖²``,
    would give a relative error near ``√eps ≈ 1e-8`` for one that is ``1e-15``. Where
    it is within ``1e4·eps·‖W‖²`` of zero the difference ``W − UΣVᵀ`` is summed
    instead, by blocks of rows (dense, about 2²⁰ entries at a time), which has no
    cancellation: the error then comes out to the rounding of ``UΣVᵀ`` itself.
    """
    fro2 = float(W.multiply(W).sum())
    if fro2 == 0:
        return 0.0
    US = U * s
    WV = np.asarray(W @ V)
    cross = float(np.sum(US * WV))
    err2 = fro2 - 2.0 * cross + float(np.sum(US**2))
    if err2 <= _CANCELLATION_LIMIT * np.finfo(np.float64).eps * fro2:
        err2 = _difference_norm2(sp.csr_matrix(W), US, np.asarray(V))
    return math.sqrt(max(err2, 0.0) / fro2)


def _difference_norm2(W: sp.csr_matrix, US: np.ndarray, V: np.ndarray) -> float:
    """``‖W − (UΣ) Vᵀ‖_F²``, summed over dense blocks of rows."""
    m, n = W.shape
    rows = max(1, _BLOCK_ENTRIES // max(n, 1))
    total = 0.0
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        block = W[start:stop].toarray().astype(np.float64, copy=False)
        block -= US[start:stop] @ V.T
        total += float(np.einsum("ij,ij->", block, block))
    return total


def build_index(
    source: Any,
    k: int | None = None,
    *,
    weighting: str = "log_entropy",
    options: TextOptions | None = None,
    normalize: bool = True,
    scaling: float = 1.0,
    rank_tol: float | None = None,
    tol: float = DEFAULT_TOL,
    method: str = "auto",
    chunk_size: int = 2000,
    format: str = "auto",
    id_field: str | None = None,
    text_field: str = "text",
    progress: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> LsiIndex:
    """Index a corpus: stream and count it, weigh the counts, truncated SVD.

    Parameters
    ----------
    source : path or iterable
        A folder of ``.txt`` files, a JSON-lines or CSV file, or an iterable of
        strings / ``(id, text)`` pairs (:func:`svdkit.lsi.corpus.open_corpus`).
    k : int, optional
        Dimension of the latent space (default :data:`DEFAULT_K`, clipped).
    weighting : {"tfidf", "log_entropy", "count"}
        Term weighting (:mod:`svdkit.lsi.weighting`).
    options : TextOptions
        Tokenisation (scikit-learn's ``CountVectorizer``) and vocabulary pruning.
    normalize : bool
        Weighted documents at unit length before the SVD.
    scaling : float
        ``p``: documents are compared as rows of ``U Σ^p`` (default 1).
    rank_tol : float, optional
        Choose ``k`` from the spectrum: the smallest rank whose relative
        Frobenius (energy) error is at most ``rank_tol``. ``k`` is then the most:
        where ``rank_tol`` needs more, the index has ``k`` dimensions (certified, as
        always), ``svd["rank_tol_met"]`` is ``False`` and ``svd["note"]`` says so
        (``svdkit lsi index`` and ``info`` print it), rather than an error.
    tol : float
        Certification tolerance of every singular triplet (relative to σ₁; default
        :data:`DEFAULT_TOL`, 1e-3 — see there).
    method : str
        Method of :func:`svdkit.lowrank.truncated_svd`.
    chunk_size : int
        Documents tokenised at once (the most raw text held in memory), from 1 to
        :data:`svdkit.lsi.corpus.MAX_CHUNK_SIZE` (``sys.maxsize``).
    format : {"auto", "folder", "jsonl", "csv", "smart"}
        Format of a path ``source`` (:func:`svdkit.lsi.corpus.open_corpus`).
    id_field : str, optional
        Field (JSON-lines) or column (CSV) of the document ids.
    text_field : str
        Field or column of the texts. Both are checked (strings) whatever the source.
    progress : bool
        Progress bars on standard error (documents counted, SVD).
    on_chunk : callable, optional
        Called with the number of documents of each chunk counted; checked to be
        callable before the corpus is read.

    Returns
    -------
    LsiIndex

    Examples
    --------
    >>> from svdkit.lsi import build_index, demo_data
    >>> docs = demo_data.pets_and_markets()  # six documents, two topics
    >>> index = build_index(docs, k=4)
    >>> index.k, index.n_docs, "the" in index.vocabulary  # English stop words dropped
    (4, 6, False)
    >>> index.search("sick dog", n=1)[0].id
    'vet'

    Search is by meaning: "rates" is found for "investors", a word it does not
    contain, through the words it shares with "market".

    >>> [hit.id for hit in index.search("investors", n=2)]
    ['market', 'rates']
    >>> "investors" in dict(docs)["rates"]
    False
    """
    from svdkit.lsi.corpus import open_corpus
    from svdkit.lsi.progress import counting_bar

    check_build_arguments(k, weighting=weighting, scaling=scaling, tol=tol, rank_tol=rank_tol,
                          method=method, chunk_size=chunk_size, on_chunk=on_chunk,
                          normalize=normalize, progress=progress)
    if options is not None and not isinstance(options, TextOptions):
        raise SvdkitError(
            f"options must be a TextOptions (svdkit.lsi.TextOptions(min_df=2, …)); got "
            f"{type(options).__name__}"
        )
    options = options or TextOptions()
    docs = open_corpus(source, format, id_field=id_field, text_field=text_field)
    with counting_bar(progress, on_chunk) as tick:
        corpus = count_corpus(docs, options, chunk_size=chunk_size, on_chunk=tick)
    return index_from_counts(
        corpus,
        k,
        weighting=weighting,
        normalize=normalize,
        scaling=scaling,
        options=options,
        rank_tol=rank_tol,
        tol=tol,
        method=method,
        progress=progress,
        check_terms=False,  # (its own options made the vocabulary)
    )
