"""Review r5 of svdkit.lsi's inputs: ``CorpusCounts`` fields given as a mapping, a set
or a 2-D array (scikit-learn's ``vocabulary_``, ``df[["id"]].values``), ids that are
containers, and JSON-lines ids that are ``null`` under a named id field or objects and
arrays (each test failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from cli_support import error_line, run_svdkit

from svdkit.errors import FileFormatError, ShapeError, SvdkitError
from svdkit.lsi import build_index, index_from_counts
from svdkit.lsi.corpus import read_jsonl
from svdkit.lsi.counting import CorpusCounts

_TEXTS = ["zebra zebra stripes", "apple banana fruit", "zebra savanna stripes", "apple fruit pie"]
_IDS = ["d1", "d2", "d3", "d4"]
_TERMS = ["apple", "banana", "fruit", "pie", "savanna", "stripes", "zebra"]  # column order
# scikit-learn's CountVectorizer.vocabulary_: term -> column, in order of first occurrence,
# with NumPy integers as the columns
_SKLEARN_VOCAB = {t: np.int64(_TERMS.index(t)) for t in
                  ["zebra", "stripes", "apple", "banana", "fruit", "savanna", "pie"]}


def _counts() -> sp.csr_matrix:
    rows = [[text.split().count(t) for t in _TERMS] for text in _TEXTS]
    return sp.csr_matrix(np.array(rows))


# ------------------------------------------------ 1. vocabulary as term -> column


def test_a_term_to_column_mapping_labels_each_column_with_its_term():
    ix = index_from_counts(CorpusCounts(_counts(), _SKLEARN_VOCAB, _IDS), k=2)
    right = index_from_counts(CorpusCounts(_counts(), _TERMS, _IDS), k=2)
    assert ix.vocabulary == _TERMS
    assert all(type(t) is str for t in ix.vocabulary)
    assert {h.id for h in ix.search("zebra", n=2)} == {"d1", "d3"}
    assert [(h.id, h.score) for h in ix.search("apple fruit", n=4)] == \
        [(h.id, h.score) for h in right.search("apple fruit", n=4)]
    # the same factorisation: each column is where the list puts it
    assert np.allclose(np.abs(ix.V), np.abs(right.V)) and np.allclose(ix.s, right.s)


@pytest.mark.parametrize(("mapping", "what"), [
    ({"a": 0, "b": 2, "c": 1, "d": 5}, "column 5"),          # not 0..n-1
    ({"a": 0, "b": 0, "c": 1, "d": 2}, "column 0"),          # one column twice
    ({"a": 0, "b": "1", "c": 2, "d": 3}, "'b'"),             # not a column number
    ({"a": 0, "b": 1.0, "c": 2, "d": 3}, "'b'"),
    ({"a": 0, "b": True, "c": 2, "d": 3}, "'b'"),
    ({0: "a", 1: "b", 2: "c", 3: "d"}, "column"),            # column -> term, the wrong way
])
def test_a_vocabulary_mapping_that_is_not_a_column_permutation_is_refused(mapping, what):
    counts = sp.csr_matrix(np.eye(4, dtype=int))
    with pytest.raises(SvdkitError, match=r"corpus\.vocabulary") as err:
        index_from_counts(CorpusCounts(counts, mapping, ["w", "x", "y", "z"]), k=2)
    assert err.value.param == "vocabulary" and what in str(err.value)


# ------------------------------------------------ 1. sets, other mappings, 2-D arrays


@pytest.mark.parametrize(("field", "value"), [
    ("ids", set(_IDS)), ("ids", frozenset(_IDS)), ("ids", dict.fromkeys(_IDS).keys()),
    ("vocabulary", set(_TERMS)), ("vocabulary", dict(_SKLEARN_VOCAB).keys()),
    ("snippets", set(_TEXTS)),
])
def test_a_set_has_no_order_and_is_refused(field, value):
    kwargs = {"counts": _counts(), "vocabulary": _TERMS, "ids": _IDS, "snippets": []}
    kwargs[field] = value
    with pytest.raises(SvdkitError, match=rf"corpus\.{field} .*no order") as err:
        index_from_counts(CorpusCounts(**kwargs), k=2)
    assert err.value.param == field


@pytest.mark.parametrize(("field", "value"), [
    ("ids", {d: i for i, d in enumerate(_IDS)}), ("snippets", dict(enumerate(_TEXTS))),
])
def test_a_mapping_of_ids_or_snippets_is_refused(field, value):
    kwargs = {"counts": _counts(), "vocabulary": _TERMS, "ids": _IDS, "snippets": []}
    kwargs[field] = value
    with pytest.raises(SvdkitError, match=rf"corpus\.{field} .*mapping") as err:
        index_from_counts(CorpusCounts(**kwargs), k=2)
    assert err.value.param == field


class _FrameLike:
    """A stand-in for a one-column pandas DataFrame: it iterates its column names (as a
    DataFrame does) and gives its values, an (n, 1) array, to NumPy."""

    ndim = 2

    def __init__(self, column: str, values: list[str]) -> None:
        self.column, self.values = column, values
        self.shape = (len(values), 1)

    def __iter__(self):
        return iter([self.column])

    def __array__(self, dtype=None, copy=None):
        return np.array([[v] for v in self.values], dtype=dtype)


@pytest.mark.parametrize("ids", [
    np.array([["d1"], ["d2"], ["d3"], ["d4"]]),                     # df[["id"]].values
    np.array([["d1"], ["d2"], ["d3"], ["d4"]], dtype=object),
    _FrameLike("id", _IDS),                                         # df[["id"]]
])
def test_an_n_by_1_column_of_ids_is_flattened(ids):
    ix = index_from_counts(CorpusCounts(_counts(), _TERMS, ids), k=2)
    assert ix.ids == _IDS and all(type(d) is str for d in ix.ids)


def test_an_n_by_1_column_of_terms_and_snippets_is_flattened():
    ix = index_from_counts(CorpusCounts(_counts(), np.array(_TERMS)[:, None], _IDS,
                                        snippets=np.array(_TEXTS)[:, None]), k=2)
    assert ix.vocabulary == _TERMS and ix.snippets == _TEXTS
    assert all(type(t) is str for t in ix.vocabulary + ix.snippets)


@pytest.mark.parametrize(("field", "value", "shape"), [
    ("ids", np.array([["d1", "x"], ["d2", "x"], ["d3", "x"], ["d4", "x"]]), "(4, 2)"),
    ("ids", np.array([["d1", "d2", "d3", "d4"]]), "(1, 4)"),
    ("ids", np.array("d1"), "()"),
    ("ids", np.zeros((4, 1, 1)), "(4, 1, 1)"),
    ("vocabulary", np.array(_TERMS).reshape(7, 1, 1), "(7, 1, 1)"),
    ("snippets", np.array(_TEXTS * 2).reshape(4, 2), "(4, 2)"),
])
def test_other_shapes_than_a_row_or_a_column_are_refused(field, value, shape):
    kwargs = {"counts": _counts(), "vocabulary": _TERMS, "ids": _IDS, "snippets": []}
    kwargs[field] = value
    with pytest.raises(ShapeError, match=rf"corpus\.{field} .*{shape}") as err:
        index_from_counts(CorpusCounts(**kwargs), k=2)
    assert err.value.param == field


def test_one_dimensional_arrays_of_text_and_numbers_are_taken():
    ix = index_from_counts(CorpusCounts(_counts(), np.array(_TERMS), np.arange(1, 5),
                                        snippets=np.array(_TEXTS, dtype=object)), k=2)
    assert ix.vocabulary == _TERMS and ix.ids == ["1", "2", "3", "4"]
    assert ix.snippets == _TEXTS
    assert all(type(t) is str for t in ix.vocabulary + ix.ids + ix.snippets)


def test_a_sparse_matrix_as_a_field_is_refused():
    with pytest.raises(SvdkitError, match=r"corpus\.ids") as err:
        index_from_counts(CorpusCounts(_counts(), _TERMS, sp.csr_matrix(np.ones((4, 1)))), k=2)
    assert err.value.param == "ids"


# ------------------------------------------------ 1. an id that is a container


@pytest.mark.parametrize("bad", [np.array(["a"]), ["a"], ("a", 1), {"a": 1}, {"a"}, b"a"])
def test_an_id_that_is_a_container_is_refused(bad):
    with pytest.raises(SvdkitError, match=r"document 1's id is .*not an id"):
        build_index([("x", "cats purr"), (bad, "dogs bark"), ("z", "cats and dogs")], k=1)
    ids = np.empty(3, dtype=object)  # a 1-D array of objects, one of them the container
    for i, d in enumerate(["x", bad, "z"]):
        ids[i] = d
    with pytest.raises(SvdkitError, match=r"document 1's id is .*not an id"):
        index_from_counts(CorpusCounts(sp.csr_matrix(np.eye(3, dtype=int)), ["p", "q", "r"],
                                       ids), k=1)


# ------------------------------------------------ 3. a null id under a named field


def test_a_null_id_under_a_named_field_advises_dropping_the_field_option(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"doc": "a", "text": "cats purr"}\n{"doc": null, "text": "dogs bark"}\n')
    with pytest.raises(FileFormatError, match=r"line 2.*'doc' is null") as err:
        list(read_jsonl(path, id_field="doc"))
    assert "drop --id-field" in str(err.value) and "id_field=" in str(err.value)


def test_a_null_id_under_the_default_field_keeps_its_advice(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "cats purr"}\n{"id": null, "text": "dogs bark"}\n')
    with pytest.raises(FileFormatError, match=r"line 2.*'id' is null") as err:
        list(read_jsonl(path))
    assert "leave the field out of every record" in str(err.value)
    assert "--id-field" not in str(err.value)


def test_the_cli_null_id_advice_can_be_followed(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    path = tmp_path / "c.jsonl"
    path.write_text('{"doc": "a", "text": "cats purr"}\n{"doc": null, "text": "dogs bark"}\n')
    code, _, err = run("lsi", "index", str(path), "-o", str(tmp_path / "ix"),
                       "--id-field", "doc", "-k", "1")
    line = error_line(code, err)
    assert "line 2" in line and "drop --id-field" in line
    # follow it: no --id-field, no field: numbered by place
    path.write_text('{"text": "cats purr"}\n{"text": "dogs bark"}\n')
    code, _, err = run("lsi", "index", str(path), "-o", str(tmp_path / "ix"), "-k", "1")
    assert code == 0, err


# ------------------------------------------------ 4. JSON-lines ids that are objects/arrays


@pytest.mark.parametrize(("value", "what"), [
    ('{"a": 1}', "an object"), ("[1, 2]", "an array"), ("[]", "an array"), ("{}", "an object"),
])
def test_a_jsonl_id_that_is_an_object_or_array_is_refused_by_line(tmp_path, value, what):
    path = tmp_path / "o.jsonl"
    path.write_text(f'{{"id": "a", "text": "cats"}}\n{{"id": {value}, "text": "dogs"}}\n')
    with pytest.raises(FileFormatError, match=rf"line 2: its id field 'id' is {what}") as err:
        list(read_jsonl(path))
    assert "not an id" in str(err.value)


def test_jsonl_ids_that_are_strings_and_numbers_still_read(tmp_path):
    path = tmp_path / "o.jsonl"
    path.write_text('{"id": "a", "text": "cats"}\n{"id": 7, "text": "dogs"}\n'
                    '{"id": 1.5, "text": "fish"}\n')
    assert [i for i, _ in read_jsonl(path)] == ["a", "7", "1.5"]
