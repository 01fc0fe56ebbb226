"""Review fixes of :mod:`svdkit.lsi.evaluate`: zero-score documents are not retrieved,
queries judged only not-relevant are kept, graded qrels keep their grades, and the
arguments of :func:`evaluate` are checked."""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import SvdkitError
from svdkit.lsi import build_index
from svdkit.lsi.evaluate import _run, evaluate, read_qrels
from tests.cli_support import run_svdkit

DOCS = [("d1", "cat dog pet"), ("d2", "cat kitten"), ("d3", "dog puppy pet"),
        ("d4", "stock market bank"), ("d5", "bank interest rate"),
        ("d6", "market price stock"), ("d7", "pet food cat"), ("d8", "interest loan bank")]
QUERIES = {"q1": "cat pet", "q2": "bank loan"}


@pytest.fixture(scope="module")
def index():
    return build_index(DOCS, k=3)


# --- D2: documents scored exactly 0 are not retrieved --------------------------------


def test_run_keeps_only_documents_with_a_score():
    scores = np.array([[0.5, 0.0, 0.2, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, -0.1, 0.0, 0.3]])
    run = _run(scores, ["a", "b", "c"], ["w", "x", "y", "z"], depth=4)
    assert run == {"a": {"w": 2.0, "y": 1.0}, "b": {}, "c": {"z": 2.0, "x": 1.0}}
    # depth still cuts the ranking of the documents that have a score
    assert _run(scores, ["a", "b", "c"], ["w", "x", "y", "z"], depth=1)["a"] == {"w": 1.0}


def test_baseline_does_not_depend_on_the_order_of_the_documents():
    topic = ([(f"a{i}", "cat dog pet") for i in range(5)]
             + [(f"b{i}", "feline kitten whiskers") for i in range(5)])
    filler = [(f"f{i}", f"stock market bank filler{i}") for i in range(200)]
    qrels = {"q": {f"{t}{i}": 1 for t in "ab" for i in range(5)}}
    first = evaluate(build_index(topic + filler, k=4), {"q": "cat"}, qrels)
    last = evaluate(build_index(filler + topic, k=4), {"q": "cat"}, qrels)
    # tf-idf retrieves the five a* (ranks 1-5) and nothing else: AP = 5/10, R@100 = 5/10
    for result in (first, last):
        assert result.baseline["AP"] == pytest.approx(0.5, abs=1e-12)
        assert result.baseline["R@100"] == pytest.approx(0.5, abs=1e-12)
        assert result.baseline["P@10"] == pytest.approx(0.5, abs=1e-12)
    assert first.baseline == last.baseline


# --- D4: queries judged, with no relevant document ----------------------------------


def test_queries_judged_not_relevant_count_from_a_file_as_from_a_dict(index, tmp_path):
    qrels = {"q1": {"d1": -1, "d2": 1}, "q2": {"d4": 0, "d6": 0}}
    path = tmp_path / "qrels.trec"
    path.write_text("".join(f"{q} 0 {d} {g}\n" for q, ds in qrels.items()
                            for d, g in ds.items()))
    assert read_qrels(path) == qrels  # grades 0 and -1 kept: judged not relevant
    from_dict = evaluate(index, QUERIES, qrels)
    from_file = evaluate(index, QUERIES, read_qrels(path))
    assert from_file.lsi == from_dict.lsi and from_file.baseline == from_dict.baseline
    assert from_file.n_queries == from_dict.n_queries == 2
    # q2 counts 0: every mean is half q1's own
    alone = evaluate(index, {"q1": QUERIES["q1"]}, {"q1": qrels["q1"]})
    for m, value in alone.lsi.items():
        assert from_file.lsi[m] == pytest.approx(value / 2, abs=1e-12)
    assert not any("no relevance judgements" in n for n in from_file.notes)
    assert any("judged, with no relevant document" in n for n in from_file.notes)


def test_trec_graded_and_two_column_files_keep_judged_queries(tmp_path):
    path = tmp_path / "graded.tsv"
    path.write_text("q1\td1\t2\nq2\td2\t0\n")
    assert read_qrels(path) == {"q1": {"d1": 2}, "q2": {"d2": 0}}
    path = tmp_path / "none.trec"
    path.write_text("q1 0 d1 0\nq2 0 d2 -1\n")
    with pytest.raises(SvdkitError, match="judges no document relevant"):
        read_qrels(path)


def test_judged_queries_that_are_not_asked_are_noted(index):
    result = evaluate(index, QUERIES, {"q1": {"d1": 1}, "q3": {"d4": 1}, "q4": {"d6": 1}})
    assert result.n_queries == 1
    assert "2 of 3 judged queries are not among the queries: left out" in result.notes


# --- D5: the Cranfield reading only on evidence, and said ---------------------------


def test_space_separated_graded_qrels_keep_their_grades(tmp_path):
    a, b = tmp_path / "graded.txt", tmp_path / "graded_with_zero.txt"
    a.write_text("q1 d1 2\nq1 d2 1\nq2 d05 2\n")
    b.write_text("q1 d1 2\nq1 d2 1\nq2 d05 2\nq2 d9 0\n")
    assert read_qrels(a) == {"q1": {"d1": 2, "d2": 1}, "q2": {"d05": 2}}
    assert read_qrels(b) == {"q1": {"d1": 2, "d2": 1}, "q2": {"d05": 2, "d9": 0}}
    a.write_text("1 007 2\n1 010 1\n")
    assert read_qrels(a) == {"1": {"007": 2, "010": 1}}
    # the ambiguous file says how it was read
    assert any("grades kept" in n and "cranqrel" in n for n in read_qrels(a).notes)
    assert read_qrels(b).notes == ()  # a grade 0: no Cranfield file, nothing to say
    a.write_text("q1 d1 2\nq1 d02 -1\n")  # a -1, but ids that are not Cranfield's numbers
    assert read_qrels(a) == {"q1": {"d1": 2, "d02": -1}}
    assert any("grades kept" in n for n in read_qrels(a).notes)


@pytest.mark.parametrize("name, text, expected", [
    ("cranqrel", "1 184 2\n1 029 4\n2 12 3\n", {"1": {"184": 1, "29": 1}, "2": {"12": 1}}),
    ("rel.txt", "1 184 2\n1 029 -1\n2 12 3\n", {"1": {"184": 1, "29": -1}, "2": {"12": 1}}),
])
def test_cranfield_reading_is_taken_on_evidence_and_noted(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    qrels = read_qrels(path)
    assert qrels == expected
    assert len(qrels.notes) == 1 and "cranqrel" in qrels.notes[0]
    assert "read as 1" in qrels.notes[0] and "leading zeros" in qrels.notes[0]


def test_the_reading_note_reaches_evaluate_and_the_cli(index, tmp_path, capsys, monkeypatch):
    path = tmp_path / "cranqrel"
    path.write_text("1 1 2\n1 2 4\n2 8 1\n")
    ix = build_index([(str(i), text) for i, (_, text) in enumerate(DOCS, 1)], k=3)
    queries = {"1": QUERIES["q1"], "2": QUERIES["q2"]}
    result = evaluate(ix, queries, read_qrels(path))
    assert any("cranqrel" in n for n in result.notes)
    # a plain dict has no notes
    assert not any("cranqrel" in n for n in evaluate(ix, queries, dict(read_qrels(path))).notes)
    ix.save(tmp_path / "ix")
    (tmp_path / "q.tsv").write_text("1\tcat pet\n2\tbank loan\n")
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "lsi", "eval", tmp_path / "ix", "--queries", tmp_path / "q.tsv", "--qrels", path)
    assert code == 0, err
    assert "cranqrel" in " ".join((out + err).split())


# --- D6: the arguments of evaluate ----------------------------------------------------


def test_integral_float_and_numpy_grades_are_accepted(index):
    expected = evaluate(index, QUERIES, {"q1": {"d1": 1, "d7": 2}})
    for grades in ({"d1": 1.0, "d7": 2.0}, {"d1": np.int64(1), "d7": np.float32(2)}):
        got = evaluate(index, QUERIES, {"q1": grades})
        assert got.lsi == expected.lsi and got.baseline == expected.baseline


@pytest.mark.parametrize("qrels, words", [
    ({"q1": {"d1": "1"}}, ["qrels", "'q1'", "'d1'", "'1'"]),
    ({"q1": {"d1": 1.5}}, ["qrels", "'d1'", "1.5"]),
    ({"q1": {"d1": float("nan")}}, ["qrels", "'d1'", "nan"]),
    ({"q1": {"d1": True}}, ["qrels", "'d1'", "True"]),
    ({"q1": ["d1"]}, ["qrels", "'q1'", "list"]),
    ({1: {"d1": 1}}, ["qrels", "query id", "1"]),
    ({"q1": {7: 1}}, ["qrels", "document id", "7"]),
    ([("q1", {"d1": 1})], ["qrels", "list"]),
    (None, ["qrels", "NoneType"]),
])
def test_bad_qrels_are_svdkit_errors_naming_qrels(index, qrels, words):
    with pytest.raises(SvdkitError) as err:
        evaluate(index, QUERIES, qrels)
    assert err.value.param == "qrels"
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("queries, words", [
    ([("q1", "cat pet")], ["queries", "list", "dict("]),
    ({"q1": 3}, ["queries", "'q1'", "int"]),
    ({1: "cat pet"}, ["queries", "query id", "1"]),
    ("cat pet", ["queries", "str"]),
])
def test_bad_queries_are_svdkit_errors_naming_queries(index, queries, words):
    with pytest.raises(SvdkitError) as err:
        evaluate(index, queries, {"q1": {"d1": 1}})
    assert err.value.param == "queries"
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("depth", [0, -3, "100", None, 2.0, True])
def test_bad_depth_is_an_svdkit_error_naming_depth(index, depth):
    with pytest.raises(SvdkitError, match=r"^depth must be a positive integer") as err:
        evaluate(index, QUERIES, {"q1": {"d1": 1}}, depth=depth)
    assert err.value.param == "depth"


def test_depth_cuts_the_ranking(index):
    one = evaluate(index, QUERIES, {"q1": {"d1": 1, "d7": 1}}, depth=np.int64(1))
    assert one.lsi["R@100"] == pytest.approx(0.5, abs=1e-12)  # one of two retrieved
