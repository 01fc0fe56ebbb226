"""Argument fuzzing review: bad arguments give svdkit errors naming the argument.

Each case raised a raw ``TypeError`` / ``ValueError`` / ``AttributeError`` /
``OverflowError`` from deep inside, or was silently accepted, before the fix.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import svdkit
import svdkit.explain as explain_mod
import svdkit.lowrank as lr
import svdkit.lsi as lsi
import svdkit.plot as plot
from svdkit.errors import SvdkitError
from svdkit.lsi.update import svd_update

A = np.random.default_rng(0).standard_normal((30, 20))
SQUARE = np.array([[3.0, 1.0], [1.0, 2.0]])
DOCS = [
    ("pets", "the cat chased the dog"),
    ("vet", "the vet saw a sick dog"),
    ("market", "stock prices fell"),
    ("rates", "interest rates rose"),
]


def _raises(match: str):
    return pytest.raises(SvdkitError, match=match)


@pytest.fixture(scope="module")
def index():
    return lsi.build_index(DOCS, k=2)


# ------------------------------------------------------------------ lowrank


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -1, 0, 2.5, True, "abc", [], {}, object()]
)
@pytest.mark.parametrize("name", ["memory_limit", "threads"])
def test_as_operator_checks_memory_limit_and_threads(name, value):
    with _raises(f"{name} must be an integer ≥ 1"):
        lr.as_operator(A, **{name: value})


def test_as_operator_keeps_good_memory_limit_and_threads():
    op = lr.as_operator(A, memory_limit=1, threads=np.int64(2))
    assert op.shape == (30, 20)


def test_as_operator_and_truncated_svd_share_one_message():
    messages = []
    for call in (lambda: lr.as_operator(A, threads=-1), lambda: lr.truncated_svd(A, 2, threads=-1)):
        with pytest.raises(SvdkitError) as err:
            call()
        messages.append(str(err.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize(
    ("k", "tol", "match"),
    [
        (-1, float("nan"), "k must be between 0"),
        ("abc", "abc", "k must be an integer"),
        (True, 1e-3, "k must be an integer"),
        (21, 1e-3, "k must be between 0"),
        (3, float("nan"), "tol must be a finite number"),
        (3, "abc", "tol must be a finite number"),
        (3, 0.0, r"tol must be in \[1e-14, 1\)"),
        (None, 2.0, r"tol must be in \[1e-14, 1\)"),
    ],
)
def test_choose_method_checks_k_and_tol(k, tol, match):
    with _raises(match):
        lr.choose_method(lr.as_operator(A), k, tol)


@pytest.mark.parametrize("op", [None, A, "A.npy", 5])
def test_choose_method_needs_an_operator(op):
    with _raises("op must be an Operator"):
        lr.choose_method(op, 3, 1e-6)


def test_choose_method_still_chooses():
    op = lr.as_operator(A)
    assert lr.choose_method(op, 3, 1e-6) == "lapack"
    assert lr.choose_method(op, None, 1e-6) == "lapack"
    assert lr.choose_method(op, np.int64(0), np.float32(1e-3)) == "lapack"


# ------------------------------------------------------------------ path arguments


@pytest.mark.parametrize("path", [None, 5, 2.5, b"a.npy", [], object()])
def test_load_needs_a_path(path):
    with _raises("path must be a path"):
        svdkit.load(path)


def test_load_of_an_empty_path_is_a_file_format_error():
    with pytest.raises(svdkit.FileFormatError, match="path is an empty path"):
        svdkit.load("")


@pytest.mark.parametrize("path", [None, 5, b"ix", object()])
def test_index_paths_are_checked(index, path, tmp_path):
    for call in (
        lambda: lsi.load_index(path),
        lambda: lsi.save_index(index, path),
        lambda: index.save(path),
    ):
        with _raises("path must be a path"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_save_index_needs_an_index(tmp_path):
    with _raises("index must be an LsiIndex"):
        lsi.save_index(None, tmp_path / "ix")
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("directory", [None, 5, b"out", object()])
def test_save_figures_needs_a_directory_path(directory):
    with _raises("directory must be a path"):
        plot.save_figures(SQUARE, directory, formats="svg")


def test_save_figures_refuses_an_empty_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(svdkit.FileFormatError, match="directory is an empty path"):
        plot.save_figures(SQUARE, "", formats="svg")
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


@pytest.mark.parametrize("formats", [None, -1, True, 2.5, object()])
def test_save_figures_checks_formats(formats, tmp_path):
    with _raises("formats must be a format name or a sequence of them"):
        plot.save_figures(SQUARE, tmp_path / "out", formats=formats)
    assert not (tmp_path / "out").exists()


def test_save_figures_still_takes_one_format_name(tmp_path):
    paths = plot.save_figures(SQUARE, tmp_path, formats=".SVG")
    assert [p.name for p in paths] == ["svd_geometry.svg", "quadratic_form.svg", "spectrum.svg"]


# ------------------------------------------------------------------ iterables, hashables


@pytest.mark.parametrize("method", ["search_batch", "scores", "query_vectors"])
@pytest.mark.parametrize("texts", [5, None, 2.5, object()])
def test_queries_must_be_iterable(index, method, texts):
    with _raises("texts must be a query"):
        getattr(index, method)(texts)


def test_one_query_string_still_works(index):
    assert index.scores("sick dog").shape == (1, 4)
    assert index.query_vectors(("sick dog", "stock")).shape == (2, 2)


@pytest.mark.parametrize("doc", [[], {}, set(), 2.5, None])
def test_a_document_is_an_id_or_a_row(index, doc):
    with _raises("doc must be a document id"):
        index.row_of(doc)
    with _raises("doc must be a document id"):
        index.similar_documents(doc)


def test_document_ids_and_rows_still_work(index):
    assert index.row_of("vet") == 1 and index.row_of(np.int64(2)) == 2


@pytest.mark.parametrize("docs", [5, None, 2.5])
def test_documents_must_be_iterable(docs):
    ix = lsi.build_index(DOCS, k=2)
    with _raises("docs must be a path or an iterable"):
        lsi.add_documents(ix, docs)
    with _raises("docs must be an iterable of strings or .*open_corpus reads a file"):
        lsi.count_corpus(docs)  # takes no path: the message does not offer one
    with _raises("source must be a path or an iterable"):
        list(lsi.open_corpus(docs))
    assert ix.n_docs == 4


@pytest.mark.parametrize("lang", [[], {}, set(), None, 5])
def test_an_unhashable_or_odd_language_is_refused(lang):
    with _raises("unknown language"):
        explain_mod.explain(SQUARE, lang=lang)
    for call in (
        lambda: plot.spectrum(SQUARE, lang=lang),
        lambda: plot.quadratic_form(SQUARE, lang=lang),
        lambda: plot.svd_geometry(SQUARE, lang=lang),
        lambda: plot.quadratic_form_gallery(lang=lang),
    ):
        with _raises("unknown language .* for a figure"):
            call()


# ------------------------------------------------------------------ object types


@pytest.mark.parametrize("value", [None, 5, "index"])
def test_index_functions_need_an_index(value):
    for call in (
        lambda: lsi.drift(value),
        lambda: lsi.add_documents(value, ["a text"]),
        lambda: lsi.rebuild(value),
    ):
        with _raises("index must be an LsiIndex"):
            call()


@pytest.mark.parametrize("report", [None, "report", {}])
def test_render_needs_a_report(report):
    with _raises("report must be a Report"):
        explain_mod.render(report)


def test_on_chunk_is_checked_before_the_corpus_is_read():
    def corpus():
        raise AssertionError("the corpus was read")
        yield  # pragma: no cover

    with _raises("on_chunk must be a callable"):
        lsi.build_index(corpus(), k=2, on_chunk=5)
    with _raises("on_chunk must be a callable"):
        lsi.count_corpus([("a", "cat dog")], on_chunk="abc")
    seen: list[int] = []
    lsi.build_index(DOCS, k=2, chunk_size=3, on_chunk=seen.append)
    assert seen == [3, 1]


# ------------------------------------------------------------------ chunk sizes, start, fields


def test_a_huge_chunk_size_is_refused():
    for call in (
        lambda: lsi.build_index(DOCS, k=2, chunk_size=10**30),
        lambda: lsi.count_corpus(DOCS, chunk_size=10**30),
        lambda: lsi.add_documents(lsi.build_index(DOCS, k=2), ["a cat"], chunk_size=10**30),
    ):
        with _raises("chunk_size must be a positive integer of at most"):
            call()


def test_the_largest_chunk_size_is_taken():
    import sys

    counts = lsi.count_corpus(DOCS, chunk_size=sys.maxsize)
    assert counts.ids == ["pets", "vet", "market", "rates"]


@pytest.mark.parametrize("start", ["abc", -5, 2.5, True, None])
def test_open_corpus_start_is_a_non_negative_integer(start):
    with _raises("start must be a non-negative integer"):
        lsi.open_corpus(["a b", "c d"], start=start)


def test_open_corpus_start_still_numbers():
    assert list(lsi.open_corpus(["a b", "c d"], start=np.int64(3))) == [("3", "a b"), ("4", "c d")]


@pytest.mark.parametrize(
    ("field", "value"), [("id_field", 5), ("id_field", []), ("text_field", None), ("text_field", 3)]
)
def test_field_names_are_checked_for_any_source(field, value, tmp_path):
    with _raises(f"{field} must be a field or column name"):
        lsi.build_index(DOCS, k=2, **{field: value})
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a", "text": "cat dog"}\n', encoding="utf-8")
    with _raises(f"{field} must be a field or column name"):
        lsi.open_corpus(os.fspath(path), **{field: value})


@pytest.mark.parametrize("pattern", [b"x", 5, None])
def test_token_pattern_is_a_str(pattern):
    with _raises("token_pattern must be a regular expression"):
        lsi.TextOptions(token_pattern=pattern)


@pytest.mark.parametrize("block", [0, -1, 2.5, True, "abc", None])
def test_svd_update_checks_block(block):
    idx = lsi.build_index(DOCS, k=2)
    idx.add([("new", "the dog saw the cat")], method="fold_in")
    with _raises("block must be an integer ≥ 1"):
        svd_update(idx, block=block)
    assert svd_update(idx, block=1) == 1  # nothing lost: the folded document merges


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(max_df=0), "max_df must be above 0"),
        (dict(max_df=0.0), "max_df must be above 0"),
        (dict(min_df=5, max_df=2), "min_df .5. is above max_df .2."),
        (dict(min_df=0.6, max_df=0.5), "is above max_df"),
    ],
)
def test_text_options_refuse_df_bounds_that_keep_no_term(options, message):
    with _raises(message):
        lsi.TextOptions(**options)


def test_text_options_keep_mixed_df_kinds():
    # a count and a fraction cannot be compared before the corpus is counted
    assert lsi.TextOptions(min_df=2, max_df=0.9).max_df == 0.9


def test_unknown_document_id_suggests_the_file_name():
    idx = lsi.build_index([("cats1.txt", "the cat sat"), ("dogs.txt", "the dog ran"),
                           ("fish.txt", "a fish swam")], k=2)
    with _raises(r"no document with id 'cats1' in the index \(did you mean 'cats1.txt'\?\)"):
        idx.similar_documents("cats1")
    with _raises(r"no document with id 'bird' in the index$"):
        idx.similar_documents("bird")
