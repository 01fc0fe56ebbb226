"""LSI edge cases: empty documents, degenerate corpora, ids, outputs, ``n``, odd text."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from svdkit.cli.main import app
from svdkit.errors import EmptyInputError, FileFormatError, SvdkitError
from svdkit.lsi import (
    TextOptions,
    build_index,
    count_corpus,
    demo_data,
    index_from_counts,
    load_index,
)
from svdkit.lsi.counting import CorpusCounts
from svdkit.lsi.index import document_vectors

runner = CliRunner()

EMPTY_DOCS = ["", "the of and", "apple banana", "banana cherry", "cherry date"]


# ---------------------------------------------------------------- empty documents


@pytest.mark.parametrize("weighting", ["log_entropy", "tfidf", "count"])
def test_empty_documents_get_zero_vectors_and_score_zero(weighting):
    ix = build_index(EMPTY_DOCS, k=2, weighting=weighting)
    assert np.all(ix.U[:2] == 0.0)
    assert np.all(ix.doc_vectors[:2] == 0.0)
    # cosine 0 with every query (scores), and never a search hit: listed with 0.0, they
    # ranked above the documents of negative cosine
    assert ix.scores(["cherry date"])[0, :2].tolist() == [0.0, 0.0]
    assert {"0", "1"}.isdisjoint(h.id for h in ix.search("cherry date", 5))
    assert [h.id for h in ix.search("cherry date", 2)] == ["4", "3"]
    assert ix.similar_documents("0", 4) == []  # a zero vector: nothing is similar to it


@pytest.mark.parametrize("k", [5, 20])
def test_empty_documents_rank_below_matches_in_a_real_corpus(k):
    docs = [("E1", ""), ("E2", "the and of"), *demo_data.topic_corpus(n_docs=150, seed=2).documents]
    ix = build_index(docs, k=k)
    assert np.all(ix.doc_vectors[:2] == 0.0)
    hits = ix.search("automobile motor petrol", 20)
    assert "E1" not in [h.id for h in hits] and "E2" not in [h.id for h in hits]


def test_rows_at_rounding_level_are_zero_not_unit_vectors():
    s = np.array([3.0, 1.0])
    U = np.array([[0.6, 0.8], [1e-17, -2e-17], [0.0, 0.0]])
    D = document_vectors(U, s, 1.0)
    assert np.allclose(np.linalg.norm(D[0]), 1.0)
    assert np.all(D[1:] == 0.0)


def test_fold_in_and_update_of_empty_documents_give_zero_vectors():
    ix = build_index(demo_data.topic_corpus(n_docs=80, seed=4).documents, k=4)
    ix.search("car")  # cache the document vectors first
    ix.add([("e", ""), ("s", "the of and"), ("u", "zzzz qqqq"), ("x", "car motor")],
           method="fold_in")  # fmt: skip
    rows = [ix.row_of(d) for d in ("e", "s", "u")]
    assert np.all(ix.U[rows] == 0.0) and np.all(ix.doc_vectors[rows] == 0.0)
    assert np.linalg.norm(ix.doc_vectors[ix.row_of("x")]) == pytest.approx(1.0, abs=1e-6)
    ix.add([], method="update")
    assert ix.n_svd_docs == ix.n_docs
    assert np.all(ix.U[rows] == 0.0) and np.all(ix.doc_vectors[rows] == 0.0)
    assert "e" not in [h.id for h in ix.search("automobile motor petrol", 30)]


# ---------------------------------------------------------------- degenerate corpora


def test_identical_documents_under_log_entropy_are_refused():
    with pytest.raises(EmptyInputError, match=r"global weight 0.*nothing to index"):
        build_index(["apple banana", "apple banana"])
    # tf-idf gives such terms a non-zero weight: an index with k ≥ 1
    assert build_index(["apple banana", "apple banana"], weighting="tfidf").k >= 1


def test_cli_index_of_identical_documents_fails(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "apple banana"}\n'
                                      '{"id": "b", "text": "apple banana"}\n')
    result = runner.invoke(app, ["lsi", "index", str(tmp_path / "c.jsonl"),
                                 "-o", str(tmp_path / "ix")])  # fmt: skip
    assert result.exit_code != 0
    assert isinstance(result.exception, EmptyInputError)
    assert not (tmp_path / "ix").exists()


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize("chunk_size", [1, 2, 2000])
def test_count_corpus_numbers_plain_strings_in_order(chunk_size):
    c = count_corpus(["apple banana", "banana cherry", "cherry date"], chunk_size=chunk_size)
    assert c.ids == ["0", "1", "2"]
    mixed = count_corpus(["apple banana", ("x", "banana cherry"), "cherry date"])
    assert mixed.ids == ["0", "x", "2"]
    ix = index_from_counts(c, k=2)
    assert ix.row_of("2") == 2


def test_build_index_refuses_duplicate_ids():
    with pytest.raises(SvdkitError, match=r"'a'.*unique"):
        build_index([("a", "apple banana"), ("b", "banana cherry"), ("a", "cherry date")])
    counts = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.int32))
    with pytest.raises(SvdkitError, match=r"'d'.*unique"):
        index_from_counts(CorpusCounts(counts, ["a", "b", "c"], ["d", "d"]), k=1)


def test_fold_in_still_refuses_duplicate_ids():
    ix = build_index(["apple banana", "banana cherry", "cherry date"], k=2)
    with pytest.raises(SvdkitError, match="'0' is already in the index"):
        ix.add([("0", "apple")], method="fold_in")
    with pytest.raises(SvdkitError, match=r"'n'.*unique"):
        ix.add([("n", "apple"), ("n", "cherry")], method="fold_in")
    assert ix.n_docs == 3


# ---------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def small_index():
    return build_index(["apple banana", "banana cherry", "cherry date"], k=2)


def test_save_under_a_file_is_refused(tmp_path, small_index):
    (tmp_path / "f").write_text("keep")
    with pytest.raises(FileFormatError, match="is a file"):
        small_index.save(tmp_path / "f" / "sub")
    with pytest.raises(FileFormatError, match="not a directory"):
        small_index.save(tmp_path / "f")
    assert (tmp_path / "f").read_text() == "keep"


def test_save_into_an_empty_directory(tmp_path, small_index):
    (tmp_path / "empty").mkdir()
    small_index.save(tmp_path / "empty")
    assert load_index(tmp_path / "empty").ids == small_index.ids
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(FileFormatError, match="not a svdkit LSI index"):
        small_index.save(tmp_path / "foreign")
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_cli_checks_the_output_before_indexing(tmp_path, monkeypatch):
    import svdkit.lsi

    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "apple banana"}\n')
    (tmp_path / "afile").write_text("keep")

    def not_called(*args, **kwargs):
        raise AssertionError("the corpus was indexed before the output was checked")

    monkeypatch.setattr(svdkit.lsi, "build_index", not_called)
    result = runner.invoke(app, ["lsi", "index", str(tmp_path / "c.jsonl"),
                                 "-o", str(tmp_path / "afile" / "sub")])  # fmt: skip
    assert result.exit_code != 0
    assert isinstance(result.exception, FileFormatError)
    assert "afile" in str(result.exception)


# ---------------------------------------------------------------- --min-df / --max-df


@pytest.fixture()
def df_corpus(tmp_path):
    docs = ["apple banana", "apple cherry", "apple date", "banana cherry"]
    (tmp_path / "c.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(docs))
    )
    return tmp_path


@pytest.mark.parametrize("option, value", [("--max-df", "1.5"), ("--min-df", "2.5"),
                                           ("--max-df", "nan"), ("--min-df", "inf")])  # fmt: skip
def test_cli_df_above_one_must_be_whole(df_corpus, option, value):
    result = runner.invoke(app, ["lsi", "index", str(df_corpus / "c.jsonl"),
                                 "-o", str(df_corpus / "ix"), option, value])  # fmt: skip
    assert result.exit_code != 0
    assert isinstance(result.exception, SvdkitError)
    assert option in str(result.exception)
    assert not (df_corpus / "ix").exists()


def test_cli_df_counts_and_fractions(df_corpus):
    source, out = str(df_corpus / "c.jsonl"), str(df_corpus / "ix")
    result = runner.invoke(app, ["lsi", "index", source, "-o", out, "--max-df", "2",
                                 "--min-df", "2"])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    ix = load_index(df_corpus / "ix")
    assert ix.options.max_df == 2 and isinstance(ix.options.max_df, int)
    assert ix.vocabulary == ["banana", "cherry"]  # apple is in 3 documents, date in 1
    result = runner.invoke(app, ["lsi", "index", str(df_corpus / "c.jsonl"), "-o",
                                 str(df_corpus / "ix"), "--max-df", "0.5"])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert load_index(df_corpus / "ix").vocabulary == ["banana", "cherry", "date"]


def test_text_options_refuse_non_finite_df():
    for bad in (float("nan"), float("inf")):
        with pytest.raises(SvdkitError, match="min_df"):
            TextOptions(min_df=bad)
        with pytest.raises(SvdkitError, match="max_df"):
            TextOptions(max_df=bad)


# ---------------------------------------------------------------- n


@pytest.mark.parametrize("n", [0, -1, 2.0, True, "3", None])
def test_n_must_be_a_positive_integer_everywhere(small_index, n):
    with pytest.raises(SvdkitError, match="positive integer"):
        small_index.search("apple", n)
    with pytest.raises(SvdkitError, match="positive integer"):
        small_index.search_batch(["apple"], n)
    with pytest.raises(SvdkitError, match="positive integer"):
        small_index.similar_documents("0", n)
    with pytest.raises(SvdkitError, match="positive integer"):
        small_index.similar_terms("apple", n)


def test_n_accepts_numpy_integers(small_index):
    assert len(small_index.search("apple", np.int64(2))) == 2
    assert len(small_index.similar_documents("0", np.int32(1))) == 1


# ---------------------------------------------------------------- odd text


def test_lone_surrogates_survive_save_and_load(tmp_path):
    docs = [("caf\udce9.txt", "caf\udce9 apple banana"), ("b", "apple cherry")]
    ix = build_index(docs, k=1)
    ix.save(tmp_path / "ix")
    loaded = load_index(tmp_path / "ix")
    assert loaded.ids == ix.ids  # ids (file names) come back exactly
    assert loaded.snippets == ix.snippets
    assert loaded.snippets[0].encode("utf-8")  # printable: the surrogate is escaped
    assert "\\udce9" in loaded.snippets[0]
    assert [h.id for h in loaded.search("apple", 2)] == [h.id for h in ix.search("apple", 2)]


@pytest.mark.parametrize("query", [None, 3, b"apple", ["apple"]])
def test_a_query_that_is_not_text_is_a_clear_error(query):
    ix = build_index(["apple banana", "banana cherry", "cherry date"], k=2)
    with pytest.raises(SvdkitError, match="a query is a text"):
        ix.search(query)
