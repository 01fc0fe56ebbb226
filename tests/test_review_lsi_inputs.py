"""Review of svdkit.lsi's inputs: counts given to ``index_from_counts``, words of
scripts with combining vowel signs, the Turkish dotted İ, missing texts and ids in
``(id, text)`` pairs, ``run_demo``'s arguments, extreme ``scaling``, progress bars in
notebooks, and the log-entropy docstring (each test failed before its fix)."""

from __future__ import annotations

import builtins
import importlib.machinery
import sys
import types
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import ShapeError, SvdkitError
from svdkit.lsi import TextOptions, build_index, count_corpus, index_from_counts
from svdkit.lsi.counting import CorpusCounts
from svdkit.lsi.weighting import TermStats, weigh

# ---------------------------------------------- 1. index_from_counts checks its counts

_C = np.array([[1, 0, 2], [0, 1, 1], [3, 0, 0]])
_VOCAB = ["apple", "bread", "cheese"]
_IDS = ["x", "y", "z"]


def _counts(counts=None, vocabulary=None, ids=None) -> CorpusCounts:
    return CorpusCounts(sp.csr_matrix(_C) if counts is None else counts,
                        _VOCAB if vocabulary is None else vocabulary,
                        _IDS if ids is None else ids)


def test_counts_columns_must_match_the_vocabulary():
    with pytest.raises(ShapeError, match=r"3 columns .* 2 terms.*vocabulary"):
        index_from_counts(_counts(vocabulary=["apple", "bread"]), k=2)


def test_counts_rows_must_match_the_ids():
    with pytest.raises(ShapeError, match=r"3 rows .* 2 ids"):
        index_from_counts(_counts(ids=["x", "y"]), k=2)


def test_snippets_if_given_must_match_the_ids():
    c = _counts()
    c.snippets = ["only one"]
    with pytest.raises(ShapeError, match=r"snippets"):
        index_from_counts(c, k=2)


def test_corpus_must_be_corpus_counts():
    with pytest.raises(SvdkitError, match=r"corpus must be a CorpusCounts.*got list"):
        index_from_counts(["apple bread"], k=2)


def test_dense_counts_and_lists_are_taken():
    ref = index_from_counts(_counts(), k=2)
    for counts in (_C, _C.tolist(), sp.coo_matrix(_C), sp.csc_array(_C)):
        ix = index_from_counts(_counts(counts=counts), k=2)
        assert sp.isspmatrix_csr(ix.counts)
        assert (ix.counts != ref.counts).nnz == 0
        np.testing.assert_allclose(ix.s, ref.s, rtol=1e-12)
        assert [h.id for h in ix.search("apple")] == [h.id for h in ref.search("apple")]


def test_counts_that_are_no_matrix_are_refused():
    with pytest.raises(SvdkitError, match=r"counts"):
        index_from_counts(_counts(counts="apple"), k=2)
    with pytest.raises(ShapeError, match=r"counts must be a 2-D"):
        index_from_counts(_counts(counts=np.ones(3)), k=2)


@pytest.mark.parametrize(("value", "what"), [(-2, "negative"), (1.5, "whole"),
                                             (np.nan, "finite"), (np.inf, "finite")])
def test_bad_count_values_are_refused_naming_the_entry(value, what):
    C = _C.astype(float)
    C[0, 2] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SvdkitError, match=rf"counts.*{what}.*row 0, column 2"):
            index_from_counts(_counts(counts=sp.csr_matrix(C)), k=2)


def test_duplicate_sparse_entries_are_summed_without_changing_the_input():
    # a legal CSR holding (0, 0) twice: one document with "apple" twice, not two documents
    dup = sp.csr_matrix((np.array([1, 1, 1, 2]), np.array([0, 0, 1, 2]), np.array([0, 2, 3, 4])),
                        shape=(3, 3))
    summed = sp.csr_matrix(np.array([[2, 0, 0], [0, 1, 0], [0, 0, 2]]))
    assert TermStats.of(dup).df.tolist() == [1, 1, 1]
    g = np.ones(3)
    assert abs(weigh(dup, "count", g) - weigh(summed, "count", g)).max() < 1e-15
    before = dup.data.copy(), dup.indices.copy()
    a = index_from_counts(_counts(counts=dup), k=2, weighting="tfidf")
    b = index_from_counts(_counts(counts=summed), k=2, weighting="tfidf")
    np.testing.assert_array_equal(dup.data, before[0])  # the user's matrix is untouched
    np.testing.assert_array_equal(dup.indices, before[1])
    np.testing.assert_allclose(a.global_weights, b.global_weights, rtol=0, atol=1e-15)
    np.testing.assert_allclose(a.s, b.s, rtol=1e-12)


def test_ids_become_strings_as_read_iterable_makes_them():
    ix = index_from_counts(_counts(ids=[1, 2, 3]), k=2)
    assert ix.ids == ["1", "2", "3"]
    assert isinstance(ix.search("apple")[0].id, str)
    with pytest.raises(SvdkitError, match=r"id .*None"):
        index_from_counts(_counts(ids=["x", None, "z"]), k=2)


def test_vocabulary_must_be_unique_strings():
    with pytest.raises(SvdkitError, match=r"vocabulary.*'apple'.*more than once"):
        index_from_counts(_counts(vocabulary=["apple", "apple", "cheese"]), k=2)
    with pytest.raises(SvdkitError, match=r"vocabulary.*str"):
        index_from_counts(_counts(vocabulary=["apple", 2, "cheese"]), k=2)


# ------------------------------------------------ 2. words with combining vowel signs

_HINDI = [("h1", "भारत की राजधानी नई दिल्ली है"), ("h2", "हिन्दी भारत की भाषा है"),
          ("h3", "दिल्ली में बहुत गर्मी है")]


def test_devanagari_words_keep_their_vowel_signs():
    ix = build_index(_HINDI, k=2, options=TextOptions(stop_words=None))
    assert {"भारत", "राजधानी", "दिल्ली", "हिन्दी", "गर्मी"} <= set(ix.vocabulary)
    assert "रत" not in ix.vocabulary and "जध" not in ix.vocabulary
    assert {h.id for h in ix.search("दिल्ली")[:2]} == {"h1", "h3"}
    assert ix.search("हिन्दी")[0].id == "h2"


@pytest.mark.parametrize("docs", [
    [("b1", "আমি বাংলায় গান গাই"), ("b2", "বাংলা ভাষা সুন্দর")],  # Bengali
    [("t1", "தமிழ் மொழி அழகானது"), ("t2", "சென்னை தமிழ்நாட்டின் தலைநகரம்")],  # Tamil
])
def test_other_indic_scripts_keep_whole_words(docs):
    c = count_corpus(docs, TextOptions(stop_words=None))
    words = {w for _, text in docs for w in text.split()}
    assert set(c.vocabulary) == words


def test_stop_words_with_vowel_signs_remove_whole_words():
    ix = build_index(_HINDI, k=2, options=TextOptions(stop_words=["की", "है", "में"]))
    assert not {"की", "है", "में"} & set(ix.vocabulary)
    assert "भारत" in ix.vocabulary


def test_latin_words_are_scikit_learns():
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    docs = ["Zürich café naïve résumé über", "The cat's café — 2024 prices_up",
            "Ærø, œuvre; straße! x y zz", "déjà vu: l'été à Zürich"]
    ours = build_index(docs, k=2, weighting="tfidf", normalize=True,
                       options=TextOptions(stop_words=None))
    cv = CountVectorizer().fit(docs)
    assert ours.vocabulary == cv.get_feature_names_out().tolist()
    expected = TfidfVectorizer().fit_transform(docs)
    W = ours.weigh(ours.counts)
    assert abs(W - expected).max() < 1e-12


def test_old_indexes_keep_their_tokenising():
    # an index saved before marks were part of words has combining_marks False
    o = TextOptions.from_json({k: v for k, v in TextOptions().to_json().items()
                               if k != "combining_marks"})
    assert o.combining_marks is False
    assert TextOptions().combining_marks is True
    assert TextOptions.from_json(TextOptions().to_json()) == TextOptions()


# ------------------------------------------------------------- 3. the Turkish dotted İ

_TR = [("t1", "İstanbul ve Ankara"), ("t2", "İstanbul büyük şehir"), ("t3", "İzmir sahil")]


@pytest.mark.parametrize("query", ["İstanbul", "istanbul", "Istanbul", "ISTANBUL"])
def test_dotted_capital_i_is_lowercased_to_i(query):
    ix = build_index(_TR, k=2, options=TextOptions(stop_words=None))
    assert "istanbul" in ix.vocabulary and "izmir" in ix.vocabulary
    assert "stanbul" not in ix.vocabulary
    assert {h.id for h in ix.search(query)[:2]} == {"t1", "t2"}


def test_dotted_capital_i_in_stop_words():
    ix = build_index(_TR, k=2, options=TextOptions(stop_words=["İzmir"]))
    assert "izmir" not in ix.vocabulary


def test_dotted_i_kept_when_not_lowercasing():
    c = count_corpus(_TR, TextOptions(stop_words=None, lowercase=False))
    assert "İstanbul" in c.vocabulary


# ------------------------------------------------- 4. missing texts and ids in pairs

_NAN = float("nan")


@pytest.mark.parametrize(("docs", "shown"), [
    ({"a": "cats purr", "b": _NAN, "c": "dogs bark"}, r"document 1 \(id 'b'\).*float \(nan\)"),
    ([("a", "cats purr"), ("b", None)], r"document 1 \(id 'b'\).*None"),
])
def test_a_pair_without_text_says_so(docs, shown):
    with pytest.raises(SvdkitError, match=shown + r".*not a string"):
        build_index(docs, k=1)


@pytest.mark.parametrize("bad", [None, _NAN, True, 1.5, float("inf")])
def test_missing_or_odd_ids_are_refused(bad):
    with pytest.raises(SvdkitError, match=r"document 1's id"):
        count_corpus([("a", "cats purr"), (bad, "dogs bark")])


def test_whole_float_ids_are_integers():
    assert count_corpus([(1.0, "cats purr"), (np.float64(2.0), "dogs bark"),
                         (np.int64(3), "fish swim")]).ids == ["1", "2", "3"]


# ---------------------------------------------------------------- 5. run_demo's arguments

def test_run_demo_checks_its_arguments():
    from svdkit.lsi.demo import run_demo

    for bad in (2.5, "100", True, -3, 0):
        with pytest.raises(SvdkitError, match=r"n_docs"):
            run_demo(n_docs=bad)
    for bad in (0, 1.5, None):
        with pytest.raises(SvdkitError, match=r"\bk\b"):
            run_demo(n_docs=300, k=bad)
    with pytest.raises(SvdkitError, match=r"n_docs"):
        run_demo(n_docs=12)


def test_run_demo_on_a_small_corpus():
    from svdkit.lsi.demo import run_demo

    r = run_demo(n_docs=60, k=3)
    assert set(r.topic_queries) | set(r.topics_without_documents) == {
        "motoring", "medicine", "finance", "cooking", "astronomy", "music"}
    for p_lsi, p_base in r.topic_queries.values():
        assert 0.0 <= p_lsi <= 1.0 and 0.0 <= p_base <= 1.0
    assert r.k == 3


def test_run_demo_leaves_out_a_topic_without_documents(monkeypatch):
    from svdkit.lsi import demo, demo_data

    make = demo_data.topic_corpus

    def without_music(n_docs=600, seed=0, words=24):
        c = make(n_docs, seed, words)
        kept = [(d, t) for d, t in zip(c.documents, c.topics, strict=True) if t != "music"]
        return demo_data.TopicCorpus([d for d, _ in kept], [t for _, t in kept])

    monkeypatch.setattr(demo_data, "topic_corpus", without_music)
    r = demo.run_demo(n_docs=300, k=5)
    assert r.topics_without_documents == ["music"]
    assert "music" not in r.topic_queries and len(r.topic_queries) == 5
    assert r.lsi_precision == pytest.approx(np.mean([v[0] for v in r.topic_queries.values()]))
    assert 0.0 < r.lsi_precision <= 1.0


# ------------------------------------------------------------------ 6. extreme scaling

_DOCS = ["cats purr cats cats", "dogs bark", "cats dogs", "fish swim"] * 20


@pytest.mark.parametrize("p", [50.0, -50.0, 100, -100, 20, -3.5])
def test_extreme_scaling_is_computed_without_overflow(p):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ix = build_index(_DOCS, k=3, scaling=p)
        ref = build_index(_DOCS, k=3)
        hits = ix.search("cats")
        assert hits and hits[0].id in {str(i) for i in range(0, 80, 4)}
        scores = ix.scores(["cats", "fish"])
    # the cosine of the convention, computed in float64 from U, s, V (scale-free)
    s = ref.s / ref.s[0]
    D = ref.U * s**p
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.asarray(ref.weigh(ref.count(["cats", "fish"])) @ ref.V) * s ** (p - 1.0)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    # (at |p| = 100, (σ₂/σ₁)^100 makes the rounding errors of U comparable to a row's own
    # weight off the first dimension: cosines of 0 in exact arithmetic come out ~1e-5)
    np.testing.assert_allclose(scores, Z @ D.T, atol=2e-6 if abs(p) < 100 else 1e-4)


@pytest.mark.parametrize("p", [1000.0, -1000.0, 1e300])
def test_unrepresentable_scaling_is_refused_naming_it(p):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SvdkitError, match=r"scaling"):
            build_index(_DOCS, k=3, scaling=p)
        c = count_corpus(_DOCS)
        with pytest.raises(SvdkitError, match=r"scaling"):
            index_from_counts(c, k=3, scaling=p)


# ------------------------------------------------------------- 7. progress in notebooks

class ZMQInteractiveShell:  # what a notebook kernel's get_ipython() returns
    pass


class _Output:  # ipywidgets.Output, as rich uses it
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def clear_output(self, wait=False):
        pass


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    return module


@pytest.fixture
def notebook(monkeypatch):
    """A notebook kernel with ipywidgets (faked: rich draws its widget through them)."""
    monkeypatch.setattr(builtins, "get_ipython", lambda: ZMQInteractiveShell(), raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setitem(sys.modules, "ipywidgets", _module("ipywidgets", Output=_Output))
    monkeypatch.setitem(sys.modules, "IPython", _module("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display",
                        _module("IPython.display", display=lambda *a, **k: None))


def test_no_bar_in_a_notebook_without_ipywidgets(monkeypatch):
    from svdkit.lsi.progress import counting_bar

    monkeypatch.setattr(builtins, "get_ipython", lambda: ZMQInteractiveShell(), raising=False)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed: rich cannot draw
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with counting_bar(True) as tick:
            assert tick is None


def test_counting_bar_in_a_notebook(notebook):
    from svdkit.lsi.progress import counting_bar

    seen = []
    with counting_bar(True, seen.append) as tick:
        assert tick is not None and tick != seen.append
        tick(3)
    assert seen == [3]


def test_engine_and_lora_bars_in_a_notebook(notebook):
    from svdkit.lora.extract import module_progress
    from svdkit.lowrank.api import _progress_bar

    with _progress_bar(True, "svd") as update:
        assert update is not None
        update(1, 2, 1, 2, 0.5)
    with module_progress(True, 2, "modules") as advance:
        advance("a")
        advance("b")


def test_no_bar_off_a_terminal_and_outside_a_notebook(monkeypatch):
    from svdkit.lsi.progress import counting_bar

    monkeypatch.delattr(builtins, "get_ipython", raising=False)
    with counting_bar(True) as tick:  # pytest captures stderr: no terminal
        assert tick is None


# ------------------------------------------------------- 8. the log-entropy docstring

def test_log_entropy_docstring_tells_gensim_apart():
    import svdkit.lsi.weighting as w

    assert "ln(N + 1)" in w.__doc__ or "ln(N+1)" in w.__doc__

