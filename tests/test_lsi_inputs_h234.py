"""Inputs of the LSI tools: query numbering in eval, CSV/TSV rows, JSON objects, added
documents outside the vocabulary, and single versus batched rankings."""

from __future__ import annotations

import json

import pytest

from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lsi import build_index, demo_data
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.evaluate import evaluate, read_queries


@pytest.fixture(scope="module")
def topics():
    truth = demo_data.topic_corpus(n_docs=150, seed=0)
    return truth, build_index(truth.documents, k=6)


# ---------------------------------------------------------------- #1 query ids in eval


def _qrels(truth, numbering):
    pairs = zip(numbering, DEMO_QUERIES, strict=False)
    return {str(n): {d: 1 for d in truth.relevant(t)} for n, t in pairs}


def test_eval_uses_query_ids_that_meet_and_never_renumbers_a_shifted_file(topics, tmp_path):
    truth, index = topics
    topics_list = list(DEMO_QUERIES)  # 6 topics
    qrels = _qrels(truth, range(1, 6))  # judged 1..5 = topics 0..4
    # the topics file: query 1 dropped, queries 2..5 as judged, and a query 6 unjudged
    lines = [f"{n}\t{DEMO_QUERIES[topics_list[n - 1]]}\n" for n in range(2, 7)]
    (tmp_path / "q.tsv").write_text("".join(lines))
    result = evaluate(index, read_queries(tmp_path / "q.tsv"), qrels)
    right = evaluate(index, {str(n): DEMO_QUERIES[topics_list[n - 1]] for n in range(2, 6)},
                     qrels)
    assert result.n_queries == 4
    assert result.lsi == right.lsi and result.lsi["AP"] > 0.5
    assert not any("position" in n for n in result.notes)


def test_eval_refuses_ids_that_do_not_meet_instead_of_pairing_by_position(topics, tmp_path):
    truth, index = topics
    qrels = _qrels(truth, range(1, 4))
    (tmp_path / "trec.tsv").write_text("".join(
        f"{n}\t{q}\n" for n, q in zip((51, 52, 53), DEMO_QUERIES.values(), strict=False)))
    with pytest.raises(SvdkitError, match=r"do not meet") as err:
        evaluate(index, read_queries(tmp_path / "trec.tsv"), qrels)
    assert "'51'" in str(err.value) and "'1'" in str(err.value)
    # the same, as a plain dict
    with pytest.raises(SvdkitError, match=r"'51', '52', '53'.*'1', '2', '3'"):
        evaluate(index, dict(zip(("51", "52", "53"), DEMO_QUERIES.values(), strict=False)), qrels)


def test_eval_gapped_ids_without_cranfield_evidence_are_kept(topics):
    truth, index = topics
    # ids 1, 2, 4 (a TSV, no leading zeros): query 4 is the judged "4", not the third
    qrels = _qrels(truth, (1, 2, 3))
    queries = dict(zip(("1", "2", "4"), DEMO_QUERIES.values(), strict=False))
    result = evaluate(index, queries, qrels)
    assert result.n_queries == 2
    assert not any("position" in n for n in result.notes)


def test_eval_still_renumbers_cranfield_smart_queries(topics, tmp_path):
    truth, index = topics
    numbers = [1, 2, 4, 6, 7, 9]
    (tmp_path / "cran.qry").write_text("".join(
        f".I {n:03d}\n.W\n{q}\n" for n, q in zip(numbers, DEMO_QUERIES.values(), strict=True)))
    qrels = _qrels(truth, range(1, 7))
    queries = read_queries(tmp_path / "cran.qry")
    assert queries.source == "smart" and list(queries) == ["1", "2", "4", "6", "7", "9"]
    result = evaluate(index, queries, qrels)
    assert result.n_queries == 6 and any("numbered by position" in n for n in result.notes)
    # the same ids from a TSV are used as they are
    result = evaluate(index, dict(queries), qrels)
    assert result.n_queries == 4


# ---------------------------------------------------------------- #2 CSV / TSV rows


def test_csv_row_with_an_unquoted_comma_is_an_error_naming_line_and_counts(tmp_path):
    path = tmp_path / "commas.csv"
    path.write_text('id,text\nb,"Quoted, as it should be"\na,Paris, the capital, is large\n')
    with pytest.raises(FileFormatError) as err:
        build_index(path, k=1, id_field="id")
    message = str(err.value)
    assert "commas.csv" in message and "line 3" in message
    assert "4 fields, the header has 2" in message and "double quotes" in message


def test_tsv_field_with_a_tab_is_an_error(tmp_path):
    path = tmp_path / "tabs.tsv"
    path.write_text("id\ttext\nt1\tfirst part\tsecond part\n")
    with pytest.raises(FileFormatError, match=r"tabs\.tsv' line 2: 3 fields, the header has 2"):
        build_index(path, k=1, id_field="id")


@pytest.mark.parametrize("name", ["short.csv", "short.tsv"])
def test_row_without_its_text_cell_is_an_error_not_an_empty_document(tmp_path, name):
    path = tmp_path / name
    sep = "\t" if name.endswith(".tsv") else ","
    path.write_text(f"id{sep}text\na{sep}cats purr\nb{sep}dogs bark\nd\n")
    with pytest.raises(FileFormatError, match=r"line 4: 1 field, the header has 2"):
        build_index(path, k=1, id_field="id")


def test_well_formed_csv_rows_still_read_whole(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text('id,text\na,"Paris, the capital of France, is large"\nb,"two\nlines"\n')
    index = build_index(path, k=1, id_field="id")
    assert list(index.ids) == ["a", "b"]
    assert "france" in index.vocabulary and "lines" in index.vocabulary


# ---------------------------------------------------------------- #10 JSON shapes


def test_json_object_of_id_to_text_says_which_shapes_are_read(tmp_path):
    path = tmp_path / "dict.json"
    path.write_text(json.dumps({"d1": "cats purr", "d2": "dogs bark"}))
    with pytest.raises(FileFormatError) as err:
        build_index(path, k=1)
    message = str(err.value)
    assert "one object {id: text}" in message and "JSON lines" in message
    assert "JSON array" in message and "'d1', 'd2'" in message
    assert build_index({"d1": "cats purr", "d2": "dogs bark"}, k=1).ids == ["d1", "d2"]


@pytest.mark.parametrize(("text", "said"), [
    ({"0": "cats purr"}, "is an object, not a string (columns, as pandas"),
    (None, "is null, not a string"),
    (42, "is a number, not a string"),
    (["cats"], "is an array, not a string"),
])
def test_json_text_field_of_another_kind_is_named_not_missing(tmp_path, text, said):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"id": "a", "text": text}) + "\n")
    with pytest.raises(FileFormatError, match=r"docs\.jsonl' line 1: its text field 'text' "
                       + said.replace("(", r"\(")):
        build_index(path, k=1)


# ---------------------------------------------------------------- #3 words outside the vocabulary


ENGLISH = [
    ("pets", "the cat chased the dog around the garden"),
    ("vet", "the vet treated the sick dog and the cat"),
    ("cats", "a cat sleeps in the garden near the dog"),
    ("market", "stock prices fell as investors sold shares"),
    ("bank", "the bank raised interest rates and stock prices fell"),
    ("rates", "higher interest rates hit stock prices and shares"),
]
FRENCH = [
    ("fr_a", "Le chat noir dort sur le canapé du salon."),
    ("fr_b", "Les voitures électriques consomment peu d énergie."),
]


def test_added_documents_without_a_known_word_are_reported_and_advise_reindex(tmp_path):
    from svdkit.lsi import load_index, save_index

    index = build_index(ENGLISH, k=3)
    report = index.add(FRENCH, method="update")
    assert report.added_now == 2 and report.unknown_only == 2
    assert report.unknown_token_share == 1.0 and report.advice == "reindex"
    assert "2 have no word of the vocabulary (never found)" in report.summary()
    assert "100.0% of their words are outside it" in report.summary()
    assert report.to_json()["unknown_only"] == 2
    assert not index.doc_vectors[-2:].any()  # indeed never found
    save_index(index, tmp_path / "ix")
    again = load_index(tmp_path / "ix").drift()  # the history keeps the measure
    assert (again.unknown_only, again.advice, again.added_now) == (2, "reindex", 0)


def test_same_words_added_are_no_vocabulary_drift():
    index = build_index(ENGLISH, k=3)
    report = index.add([("shop", "the cat and the dog in the garden")], method="update")
    assert report.unknown_only == 0 and report.unknown_token_share == 0.0
    assert report.advice == "ok" and "vocabulary" not in report.summary()
    report = index.add([], method="update")
    assert report.added_now == 0 and report.advice == "ok"


def test_a_large_share_of_unknown_tokens_advises_reindex_once_measured():
    index = build_index(ENGLISH, k=3)
    # every added document has a known word (so none is lost), but half its words are new
    new = [(f"n{i}", f"cat dog zebra{i} okapi{i}") for i in range(300)]
    report = index.add(new[:2], method="fold_in")  # 8 tokens: too few to judge a share
    assert report.unknown_token_share == 0.5 and report.advice != "reindex"
    report = index.add(new[2:], method="fold_in")  # 1200 tokens, half unknown
    assert report.unknown_only == 0 and report.unknown_token_share == 0.5
    assert report.advice == "reindex"
    assert report.added_now == 298


def test_unknown_words_of_an_ngram_index_are_counted_as_words():
    from svdkit.lsi import TextOptions

    index = build_index(ENGLISH, k=3, options=TextOptions(ngram_range=(1, 2)))
    report = index.add([("new", "the dog chased the cat")], method="update")  # new bigrams
    assert report.unknown_token_share == 0.0 and report.unknown_only == 0
