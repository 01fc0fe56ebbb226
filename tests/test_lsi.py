"""svdkit.lsi: counting, weighting, the index and its convention, queries, real data.

Every numerical result is checked by an identity (singular-triplet residuals,
``Vᵀw = Σu``, equality with scikit-learn's own transformers) or against
published data: Deerwester et al. (1990) and the Lee corpus shipped in gensim's
wheel (gensim's own test requires a Pearson correlation above 0.6).
"""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from svdkit.errors import EmptyInputError, FileFormatError, MissingFileError, SvdkitError
from svdkit.lsi import TextOptions, build_index, count_corpus, demo_data, open_corpus
from svdkit.lsi.query import top_n
from svdkit.lsi.weighting import TermStats, global_weights, weigh

# The paper's table 2: terms (rows, in the index's sorted order) × titles c1…m4.
DEERWESTER_COUNTS = np.array([
    # c1 c2 c3 c4 c5 m1 m2 m3 m4
    [1, 1, 0, 0, 0, 0, 0, 0, 0],  # computer
    [0, 0, 1, 1, 0, 0, 0, 0, 0],  # eps
    [0, 0, 0, 0, 0, 0, 1, 1, 1],  # graph
    [1, 0, 0, 1, 0, 0, 0, 0, 0],  # human
    [1, 0, 1, 0, 0, 0, 0, 0, 0],  # interface
    [0, 0, 0, 0, 0, 0, 0, 1, 1],  # minors
    [0, 1, 0, 0, 1, 0, 0, 0, 0],  # response
    [0, 1, 0, 0, 0, 0, 0, 0, 1],  # survey
    [0, 1, 1, 2, 0, 0, 0, 0, 0],  # system
    [0, 1, 0, 0, 1, 0, 0, 0, 0],  # time
    [0, 0, 0, 0, 0, 1, 1, 1, 0],  # trees
    [0, 1, 1, 0, 1, 0, 0, 0, 0],  # user
])  # fmt: skip


@pytest.fixture(scope="module")
def deerwester():
    return build_index(demo_data.deerwester_titles(), k=2, weighting="count", normalize=False,
                       options=demo_data.DEERWESTER_OPTIONS)


@pytest.fixture(scope="module")
def topics():
    return demo_data.topic_corpus(n_docs=300, seed=5)


@pytest.fixture(scope="module")
def topic_index(topics):
    return build_index(topics.documents, k=8, method="krylov")  # certified to the default tol


def _certified(index, W, tol=None):
    """Both residuals of every triplet, computed here from the weighted matrix."""
    tol = index.svd["tol"] if tol is None else tol
    U, s, V = np.asarray(index.U), np.asarray(index.s), np.asarray(index.V)
    right = np.linalg.norm(W @ V - U * s, axis=0)
    left = np.linalg.norm(W.T @ U - V * s, axis=0)
    assert np.all(np.maximum(right, left) <= tol * s[0] * 1.01)


# ---------------------------------------------------------------- Deerwester et al. 1990


def test_deerwester_terms_and_counts_are_the_papers(deerwester):
    assert tuple(deerwester.vocabulary) == demo_data.DEERWESTER_TERMS
    assert deerwester.ids == ["c1", "c2", "c3", "c4", "c5", "m1", "m2", "m3", "m4"]
    np.testing.assert_array_equal(deerwester.counts.toarray().T, DEERWESTER_COUNTS)


def test_deerwester_k2_singular_values_and_certificate(deerwester):
    # the paper prints S = diag(3.34, 2.54, 2.35, …)
    np.testing.assert_allclose(deerwester.s, [3.34, 2.54], atol=0.005)
    exact = np.linalg.svd(DEERWESTER_COUNTS.astype(float), compute_uv=False)[:2]
    np.testing.assert_allclose(deerwester.s, exact, rtol=1e-9)
    _certified(deerwester, DEERWESTER_COUNTS.T.astype(float))


def test_deerwester_query_retrieves_c1_to_c5_including_c3_and_c5(deerwester):
    hits = deerwester.search("human computer interaction", n=9)
    assert {h.id for h in hits[:5]} == {"c1", "c2", "c3", "c4", "c5"}
    # c3 and c5 share no word with the query, yet are close to it
    assert {h.id: h.score for h in hits}["c3"] > 0.9
    assert {h.id: h.score for h in hits}["c5"] > 0.9
    assert all(h.score < 0.1 for h in hits[5:])
    # scores are the cosines of Vᵀq with the rows of UΣ, recomputed here
    q = np.zeros(12)
    q[[0, 3]] = 1.0  # computer, human ("interaction" is not an index term)
    z = deerwester.V.T @ q
    D = deerwester.U * deerwester.s
    cos = D @ z / np.linalg.norm(D, axis=1) / np.linalg.norm(z)
    np.testing.assert_allclose([h.score for h in hits], cos[[h.row for h in hits]], atol=1e-6)


def test_deerwester_similar_terms_and_documents(deerwester):
    terms = dict(deerwester.similar_terms("human", n=11))
    assert "human" not in terms and set(terms) == set(demo_data.DEERWESTER_TERMS) - {"human"}
    assert terms["interface"] > 0.9 > 0 > terms["graph"]
    similar = deerwester.similar_documents("m1", n=3)
    assert [h.id for h in similar] != [] and {h.id for h in similar} == {"m2", "m3", "m4"}
    with pytest.raises(SvdkitError, match="'zebra'"):
        deerwester.similar_terms("zebra")
    with pytest.raises(SvdkitError, match="no document with id 'x9'"):
        deerwester.similar_documents("x9")


# ---------------------------------------------------------------- the Lee corpus (gensim wheel)


def _lee_file(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    assert spec is not None and spec.origin is not None, "gensim (extra 'testdata') is required"
    path = Path(spec.origin).parent / "test" / "test_data" / name
    assert path.is_file(), f"{path} missing from the gensim wheel"
    return path


@pytest.fixture(scope="module")
def lee():
    def lines(name):
        with _lee_file(name).open("rb") as f:
            return [line.decode("latin1") for line in f]

    sim = np.loadtxt(_lee_file("similarities0-1.txt"))
    return lines("lee_background.cor"), lines("lee.cor"), sim[np.triu_indices(50, 1)]


def _lee_correlation(index, docs, human):
    Q = index.query_vectors(docs)
    return float(np.corrcoef((Q @ Q.T)[np.triu_indices(50, 1)], human)[0, 1])


def test_lee_correlation_with_human_judgements(lee):
    """gensim's test_lee: its preprocessing, log-entropy, k = 200, folded-in documents."""
    from gensim.parsing.preprocessing import preprocess_string

    background, docs, human = lee
    assert (len(background), len(docs), len(human)) == (300, 50, 1225)
    prep = TextOptions(stop_words=None, token_pattern=r"\S+")
    index = build_index([" ".join(preprocess_string(t)) for t in background], k=200,
                        weighting="log_entropy", options=prep)
    assert index.k == 200 and index.svd["converged"]
    r = _lee_correlation(index, [" ".join(preprocess_string(t)) for t in docs], human)
    assert r > 0.6


def test_lee_with_scikit_learn_tokenisation(lee):
    """Without stemming (scikit-learn's tokeniser): measured 0.596; log-entropy beats tf-idf."""
    background, docs, human = lee
    r = {w: _lee_correlation(build_index(background, k=200, weighting=w), docs, human)
         for w in ("log_entropy", "tfidf")}  # fmt: skip
    assert r["log_entropy"] > 0.58 and r["log_entropy"] > r["tfidf"]


# ---------------------------------------------------------------- weighting


counts_matrices = st.builds(
    lambda seed, m, n, density: sp.random(
        m, n, density=density, format="csr", random_state=seed,
        data_rvs=lambda size: np.random.default_rng(seed).integers(1, 6, size),
    ).astype(np.int32),
    st.integers(0, 2**16), st.integers(1, 12), st.integers(1, 9), st.floats(0.05, 1.0),
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(X=counts_matrices)
def test_tfidf_equals_scikit_learn(X):
    from sklearn.feature_extraction.text import TfidfTransformer

    W = weigh(X, "tfidf", global_weights("tfidf", TermStats.of(X)))
    expected = TfidfTransformer().fit_transform(X)
    assert abs(W - expected).max() <= 1e-12 if X.nnz else W.nnz == 0


@settings(max_examples=40, deadline=None)
@given(X=counts_matrices)
def test_log_entropy_equals_its_formula(X):
    A = X.toarray().astype(float)
    N = A.shape[0]
    gf = A.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(A > 0, A / gf, 0.0)
        plogp = np.where(P > 0, P * np.log(P), 0.0).sum(axis=0)
    g = 1 + plogp / np.log(N) if N > 1 else np.ones(A.shape[1])
    g[np.abs(g) < 1e-12] = 0.0  # evenly spread terms: exactly zero (documented rule)
    L = np.log1p(A) * g
    norms = np.linalg.norm(L, axis=1, keepdims=True)
    expected = np.divide(L, norms, out=np.zeros_like(L), where=norms > 0)
    W = weigh(X, "log_entropy", global_weights("log_entropy", TermStats.of(X)))
    np.testing.assert_allclose(W.toarray(), expected, atol=1e-12)
    # the stats of two halves add up to those of the whole (chunks, dask partitions)
    half = X.shape[0] // 2
    both = TermStats.of(X[:half]) + TermStats.of(X[half:])
    np.testing.assert_allclose(both.tf_log_tf, TermStats.of(X).tf_log_tf)
    np.testing.assert_array_equal(both.df, TermStats.of(X).df)


def test_weighting_errors():
    X = sp.csr_matrix(np.ones((2, 3)))
    with pytest.raises(SvdkitError, match="weighting must be one of"):
        global_weights("bm25", TermStats.of(X))
    with pytest.raises(SvdkitError, match="3 terms in the counts but 2 global weights"):
        weigh(X, "tfidf", np.ones(2))


# ---------------------------------------------------------------- the index and its convention


@pytest.mark.parametrize("scaling", [1.0, 0.5, 0.0])
def test_a_document_as_a_query_is_its_own_vector(topics, scaling):
    index = build_index(topics.documents[:120], k=6, scaling=scaling)
    texts = [t for _, t in topics.documents[:120]]
    Q = index.query_vectors(texts)
    cos = np.sum(Q * index.doc_vectors, axis=1)
    assert np.all(cos > 1 - 1e-5)
    # and its own row is the best hit
    assert [index.search(t, n=1)[0].row for t in texts[:20]] == list(range(20))


def test_topic_index_is_certified_and_its_error_is_right(topic_index):
    W = topic_index.weigh(topic_index.counts).toarray()
    _certified(topic_index, W)
    U, s, V = topic_index.U, topic_index.s, topic_index.V
    err = np.linalg.norm(W - (U * s) @ V.T) / np.linalg.norm(W)
    assert abs(topic_index.svd["reconstruction_error"] - err) < 1e-9


def test_batch_queries_equal_single_queries(topic_index):
    from svdkit.lsi.demo import DEMO_QUERIES

    texts = list(DEMO_QUERIES.values())
    batch = topic_index.search_batch(texts, n=7)
    single = [topic_index.search(t, n=7) for t in texts]
    for b, s in zip(batch, single, strict=True):
        assert len(b) == len(s) == 7
        np.testing.assert_allclose([h.score for h in b], [h.score for h in s], atol=1e-6)
        full = topic_index.scores([texts[0]])  # every hit's score is the cosine of its row
    for h in batch[0]:
        assert abs(full[0, h.row] - h.score) < 1e-6
    assert all(h.score >= batch[0][-1].score - 1e-6 for h in batch[0])


def test_rank_chosen_from_the_spectrum(topics):
    index = build_index(topics.documents, rank_tol=0.8)
    W = index.weigh(index.counts).toarray()
    s = np.linalg.svd(W, compute_uv=False)
    tail = np.sqrt(np.cumsum((s**2)[::-1])[::-1]) / np.linalg.norm(s)  # error of rank i
    k = index.k
    assert tail[k] <= 0.8 < tail[k - 1]


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0]), min_size=1, max_size=30),
    n=st.integers(1, 40),
)
def test_top_n_is_a_stable_sort_prefix(scores, n):
    a = np.array(scores, dtype=np.float32)
    expected = sorted(range(a.size), key=lambda i: (-a[i], i))[:n]
    assert top_n(a, n).tolist() == expected


def test_bad_arguments_are_named():
    docs = demo_data.deerwester_titles()
    with pytest.raises(SvdkitError, match="k = 50 is more than"):
        build_index(docs, k=50)
    with pytest.raises(SvdkitError, match="weighting must be one of"):
        build_index(docs, weighting="bm25")
    with pytest.raises(EmptyInputError, match="no term is left after pruning"):
        build_index(docs, options=TextOptions(min_df=20))
    with pytest.raises(EmptyInputError, match="no documents"):
        build_index([])
    with pytest.raises(SvdkitError, match="max_df as a fraction"):
        TextOptions(max_df=1.5)
    with pytest.raises(SvdkitError, match="expected a string or an"):
        build_index([1, 2])


# ---------------------------------------------------------------- counting and sources


def _texts():
    return [t for _, t in demo_data.topic_corpus(n_docs=40, seed=9).documents] + ["", "the a"]


@settings(max_examples=15, deadline=None)
@given(chunk=st.integers(1, 50))
def test_counts_do_not_depend_on_the_chunk_size(chunk):
    whole = count_corpus(_texts(), chunk_size=1000)
    part = count_corpus(_texts(), chunk_size=chunk)
    assert part.vocabulary == whole.vocabulary
    assert (part.counts != whole.counts).nnz == 0


@pytest.mark.parametrize("min_df, max_df", [(1, 1.0), (2, 0.5), (0.1, 30), (3, 0.9)])
def test_vocabulary_pruning_equals_scikit_learn(min_df, max_df):
    from sklearn.feature_extraction.text import CountVectorizer

    texts = _texts()
    mine = count_corpus(texts, TextOptions(min_df=min_df, max_df=max_df), chunk_size=7)
    cv = CountVectorizer(stop_words="english", min_df=min_df, max_df=max_df)
    X = cv.fit_transform(texts)
    assert mine.vocabulary == cv.get_feature_names_out().tolist()
    assert (mine.counts != X).nnz == 0


def test_max_features_keeps_the_most_frequent():
    texts = _texts()
    full = count_corpus(texts)
    kept = count_corpus(texts, TextOptions(max_features=10))
    totals = dict(zip(full.vocabulary, np.asarray(full.counts.sum(axis=0)).ravel(), strict=True))
    dropped = set(full.vocabulary) - set(kept.vocabulary)
    assert len(kept.vocabulary) == 10
    assert min(totals[t] for t in kept.vocabulary) >= max(totals[t] for t in dropped)


def test_streaming_holds_less_than_the_corpus():
    """A generated corpus of 10.8 MB is counted within a memory cap of a third of its size."""
    words = [f"w{i:04d}" for i in range(800)]
    n_docs, length = 750, 2400

    def corpus():
        rng = np.random.default_rng(0)
        for i in range(n_docs):
            own = rng.choice(800, 40, replace=False)  # each document: 40 distinct words
            yield f"d{i}", " ".join([words[j] for j in rng.choice(own, length)])

    raw = n_docs * (length * 5 + length - 1)  # characters of text, never held at once
    count_corpus(["warm up the imports and caches"])
    tracemalloc.start()
    try:
        c = count_corpus(corpus(), chunk_size=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert c.counts.shape == (n_docs, 800) and int(c.counts.sum()) == n_docs * length
    assert c.counts.nnz == n_docs * 40
    assert raw > 10e6 and peak < raw / 3, (raw, peak)


def test_sources_folder_jsonl_csv_and_iterable(tmp_path):
    docs = demo_data.deerwester_titles()
    folder = tmp_path / "titles"
    (folder / "sub").mkdir(parents=True)
    for doc_id, text in docs:
        (folder / ("sub" if doc_id[0] == "m" else "") / f"{doc_id}.txt").write_text(text)
    (folder / "ignored.md").write_text("not a text file")
    jsonl = tmp_path / "titles.jsonl"
    jsonl.write_text("\n".join(json.dumps({"key": d, "body": t}) for d, t in docs) + "\n\n")
    csv_path = tmp_path / "titles.csv"
    csv_path.write_text("name,body\n" + "".join(f'{d},"{t}"\n' for d, t in docs))
    texts = [t for _, t in docs]
    assert [t for _, t in open_corpus(folder)] == texts
    assert [d for d, _ in open_corpus(folder)][-1] == "sub/m4.txt"
    assert list(open_corpus(jsonl, id_field="key", text_field="body")) == docs
    assert list(open_corpus(csv_path, id_field="name", text_field="body")) == docs
    assert list(open_corpus(iter(texts)))[2] == ("2", texts[2])


def test_source_errors_name_the_problem(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        list(open_corpus(tmp_path / "nothing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": \n')
    with pytest.raises(FileFormatError, match="line 2: not JSON"):
        list(open_corpus(bad))
    bad.write_text('{"body": "no text field"}\n')
    with pytest.raises(FileFormatError, match="no text field 'text'"):
        list(open_corpus(bad))
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="no column 'text'"):
        list(open_corpus(table))
    odd = tmp_path / "corpus.bin"
    odd.write_bytes(b"\x00")
    with pytest.raises(FileFormatError, match="cannot tell the format"):
        open_corpus(odd)
    assert os.path.exists(odd)
