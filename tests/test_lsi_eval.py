"""svdkit.lsi.evaluate: SMART and TREC readers, measures by ir-measures, the tf-idf baseline.

The real MED/CRAN/CISI files are not shipped; the readers are tested on small
files written here in those exact layouts.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingFileError, SvdkitError
from svdkit.lsi import build_index, demo_data
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.evaluate import (
    evaluate,
    read_qrels,
    read_queries,
    read_smart,
    read_trec_qrels,
    tfidf_baseline_scores,
)

MED_ALL = """.I 1
.W
correlation between maternal and fetal plasma levels of glucose
and free fatty acids .
.I 2
.W
changes of the nucleic acid and phospholipid levels of the livers
"""

CRAN_ALL = """.I 1
.T
experimental investigation of the aerodynamics of a
wing in a slipstream .
.A
brenckman,m.
.B
j. ae. scs. 25, 1958, 324.
.W
experimental investigation of the aerodynamics of a
wing in a slipstream .
.I 2
.T
simple shear flow past a flat plate
.A
ting-yili
.W
simple shear flow past a flat plate in an incompressible fluid .
"""

CISI_REL = """     1     28	0	0.000000
     1     35	0	0.000000
     2      2	0	0.000000
"""
MED_REL = "1 0 13 1\n1 0 14 1\n2 0 2 1\n"
CRAN_REL = "1 184 2\n1 29 2\n2 12 3\n"


def test_smart_records(tmp_path):
    (tmp_path / "MED.ALL").write_text(MED_ALL)
    (tmp_path / "cran.all.1400").write_text(CRAN_ALL)
    med = list(read_smart(tmp_path / "MED.ALL"))
    assert med[0] == ("1", "correlation between maternal and fetal plasma levels of glucose "
                           "and free fatty acids .")  # fmt: skip
    assert [d for d, _ in med] == ["1", "2"]
    cran = dict(read_smart(tmp_path / "cran.all.1400"))
    assert "brenckman" not in cran["1"] and cran["1"].startswith("experimental investigation")
    assert cran["2"].count("simple shear flow") == 2  # title and text


def test_relevance_layouts(tmp_path):
    for name, text in (("CISI.REL", CISI_REL), ("MED.REL", MED_REL), ("cranqrel", CRAN_REL)):
        (tmp_path / name).write_text(text)
    assert read_qrels(tmp_path / "CISI.REL") == {"1": {"28": 1, "35": 1}, "2": {"2": 1}}
    assert read_qrels(tmp_path / "MED.REL") == {"1": {"13": 1, "14": 1}, "2": {"2": 1}}
    assert read_qrels(tmp_path / "cranqrel") == {"1": {"184": 1, "29": 1}, "2": {"12": 1}}
    trec = tmp_path / "qrels.trec"
    trec.write_text("q1 0 d1 2\nq1 0 d2 0\nq2 Q0 d3 1\n")
    assert read_trec_qrels(trec) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}}


def test_queries_formats(tmp_path):
    (tmp_path / "q.tsv").write_text("a\tfirst query\nb\tsecond\n")
    (tmp_path / "q.jsonl").write_text('{"id": "a", "text": "first query"}\n')
    (tmp_path / "MED.QRY").write_text(".I 1\n.W\nthe crystalline lens\n.I 2\n.W\nbrain\n")
    assert read_queries(tmp_path / "q.tsv") == {"a": "first query", "b": "second"}
    assert read_queries(tmp_path / "q.jsonl") == {"a": "first query"}
    assert read_queries(tmp_path / "MED.QRY") == {"1": "the crystalline lens", "2": "brain"}


def test_reader_errors(tmp_path):
    with pytest.raises(MissingFileError):
        read_qrels(tmp_path / "none.rel")
    (tmp_path / "bad.ALL").write_text("just text\n")
    with pytest.raises(FileFormatError, match="not a SMART file"):
        list(read_smart(tmp_path / "bad.ALL"))
    (tmp_path / "bad.rel").write_text("1 2 3 4 5\n")
    with pytest.raises(FileFormatError, match="2, 3 or 4 columns"):
        read_qrels(tmp_path / "bad.rel")
    (tmp_path / "bad.tsv").write_text("no tab here\n")
    with pytest.raises(FileFormatError, match="line 1: expected 'id<TAB>text'"):
        read_queries(tmp_path / "bad.tsv")


@pytest.fixture(scope="module")
def collection():
    truth = demo_data.topic_corpus(n_docs=240, seed=21)
    index = build_index(truth.documents, k=6)
    queries = {f"q{i}": text for i, text in enumerate(DEMO_QUERIES.values(), 1)}
    qrels = {f"q{i}": {d: 1 for d in truth.relevant(t)} for i, t in enumerate(DEMO_QUERIES, 1)}
    return index, queries, qrels


def _retrieved(scores):
    """The documents a query retrieves: those scored other than 0 (as an inverted index)."""
    return [j for j in range(len(scores)) if scores[j] != 0]


def _precision_at_10(scores, ids, relevant):
    order = sorted(_retrieved(scores), key=lambda j: (-scores[j], j))[:10]
    return sum(ids[j] in relevant for j in order) / 10


def _average_precision(scores, ids, relevant):
    order = sorted(_retrieved(scores), key=lambda j: (-scores[j], ids[j]))
    hits, total = 0, 0.0
    for rank, j in enumerate(order, 1):
        if ids[j] in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def test_measures_match_a_direct_computation(collection):
    index, queries, qrels = collection
    result = evaluate(index, queries, qrels)
    assert result.n_queries == 6
    lsi = index.scores(list(queries.values()))
    base = tfidf_baseline_scores(index, list(queries.values()))
    for name, scores, measured in (("lsi", lsi, result.lsi), ("tfidf", base, result.baseline)):
        p10 = np.mean([_precision_at_10(s, index.ids, qrels[q])
                       for q, s in zip(queries, scores, strict=True)])  # fmt: skip
        ap = np.mean([_average_precision(s, index.ids, qrels[q])
                      for q, s in zip(queries, scores, strict=True)])  # fmt: skip
        assert abs(measured["P@10"] - p10) < 1e-9, name
        assert abs(measured["AP"] - ap) < 0.02, name  # ties ordered differently
        assert all(0 <= v <= 1 for v in measured.values())
    # synonyms: LSI finds what word matching cannot
    assert result.lsi["AP"] > result.baseline["AP"] + 0.1
    assert result.lsi["R@100"] > result.baseline["R@100"]


def test_baseline_is_tfidf_cosine(collection):
    from sklearn.feature_extraction.text import TfidfTransformer

    index, queries, _ = collection
    t = TfidfTransformer().fit(index.counts)
    D = t.transform(index.counts)
    Q = t.transform(index.count(list(queries.values())))
    np.testing.assert_allclose(tfidf_baseline_scores(index, list(queries.values())),
                               (Q @ D.T).toarray(), atol=1e-12)  # fmt: skip


def test_cranfield_positional_query_ids_and_mismatches(collection):
    index, queries, qrels = collection
    numbered = {str(i): qrels[q] for i, q in enumerate(queries, 1)}
    odd_ids = {f"{3 * i:03d}": t for i, t in enumerate(queries.values(), 1)}
    result = evaluate(index, odd_ids, numbered)
    assert result.n_queries == 6 and "numbered by position" in result.notes[0]
    assert result.lsi == evaluate(index, queries, qrels).lsi
    with pytest.raises(SvdkitError, match="no query has relevance judgements"):
        evaluate(index, {"zz": "text"}, {"q1": {"d0001": 1}})
    with pytest.raises(SvdkitError, match="no judged document is in the index"):
        evaluate(index, queries, {"q1": {"nope": 1}})
