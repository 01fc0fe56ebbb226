"""Review of ``svdkit.lsi`` as a search user meets it (third round).

A CSV corpus with a quote left open lost every later row into one document, a
TSV corpus lost the quotes of its text, and ``search`` answered a query of
unknown words with the first rows of the index, scored 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingFileError
from svdkit.lsi import build_index
from svdkit.lsi.corpus import open_corpus, read_csv

DOCS = [
    ("a", "the cat sat on the mat"),
    ("b", "dogs chase cats in the park"),
    ("c", "stock markets fell sharply"),
    ("d", "investors sold stocks and bonds"),
    ("e", "the cat and the dog play"),
]


def test_a_tsv_corpus_is_tab_separated_text_its_quotes_kept(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text(
        'id\ttext\n1\tcats purr\n2\t"Quoted title" and more\n'
        '3\t"unbalanced opening quote here\n4\tdogs bark\n5\tstocks fell\n',
        encoding="utf-8",
    )
    docs = list(read_csv(path, id_column="id"))
    assert [d for d, _ in docs] == ["1", "2", "3", "4", "5"]
    assert docs[1][1] == '"Quoted title" and more'
    assert docs[2][1] == '"unbalanced opening quote here'
    assert len(list(open_corpus(path, id_field="id"))) == 5


def test_a_csv_quote_left_open_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,text\n1,cats purr\n2,"cat sat\n3,dogs\n4,birds\n', encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"q\.csv.*line 3.*quote"):
        list(read_csv(path, id_column="id"))
    with pytest.raises(FileFormatError, match="line 3"):
        build_index(path, k=1)


def test_csv_quoted_fields_still_hold_commas_line_breaks_and_doubled_quotes(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(
        'id,text\n1,"a, b"\n2,"two\nlines"\n3,"say ""hi"""\n', encoding="utf-8"
    )
    assert list(read_csv(path, id_column="id")) == [
        ("1", "a, b"), ("2", "two\nlines"), ("3", 'say "hi"')
    ]


@pytest.mark.parametrize("query", ["zzzz qqqq", "", "the and of"])
def test_a_query_with_a_zero_latent_vector_finds_nothing(query):
    ix = build_index(DOCS, k=2)
    assert not ix.query_vectors(query).any()
    assert ix.search(query, 3) == []
    found = ix.search_batch([query, "cat on a mat"], 3)
    assert found[0] == []
    # the other query of the batch is answered as on its own, by cosine
    assert [h.id for h in found[1]] == [h.id for h in ix.search("cat on a mat", 3)]
    q = ix.query_vectors("cat on a mat")[0]
    D = ix.doc_vectors
    with np.errstate(invalid="ignore"):  # documents with a zero vector: cosine 0
        cos = np.nan_to_num(D @ q / (np.linalg.norm(D, axis=1) * np.linalg.norm(q)))
    np.testing.assert_allclose([h.score for h in found[1]], np.sort(cos)[::-1][:3], atol=1e-6)


def test_a_document_or_term_with_a_zero_latent_vector_has_nothing_similar():
    ix = build_index([*DOCS, ("empty", "the of and")], k=2)
    assert not ix.doc_vectors[ix.row_of("empty")].any()
    assert ix.similar_documents("empty", 3) == []
    # "b" and "d" lie outside the k = 2 dimensions (zero latent vectors, as "empty"):
    # cosine 0 with everything, never a hit (they ranked above negative cosines)
    assert not ix.doc_vectors[[ix.row_of("b"), ix.row_of("d")]].any()
    assert [h.id for h in ix.similar_documents("a", 3)] == ["e", "c"]


def test_a_text_given_where_a_corpus_path_is_expected_says_to_pass_a_list():
    ix = build_index(DOCS, k=2)
    with pytest.raises(MissingFileError, match=r"pass a list: \['car engine'\]"):
        ix.add("car engine")
    with pytest.raises(MissingFileError) as err:
        build_index("no_such_corpus_dir", k=2)  # a name, not a text: no hint
    assert "pass a list" not in str(err.value)
    assert ix.n_docs == len(DOCS)  # nothing added


def test_evaluate_scores_a_query_of_unknown_words_zero():
    """It ranked every document in row order for such a query: the first rows (here
    the relevant "a") earned it credit that ``search`` (which returns ``[]``) never gives."""
    from svdkit.lsi.evaluate import evaluate

    ix = build_index(DOCS, k=2)
    qrels = {"known": {"e": 1}, "unknown": {"a": 1}}
    both = evaluate(ix, {"known": "cat", "unknown": "zzzz qqqq"}, qrels)
    alone = evaluate(ix, {"known": "cat"}, {"known": {"e": 1}})
    for measures, single in ((both.lsi, alone.lsi), (both.baseline, alone.baseline)):
        for name, value in measures.items():
            assert value == pytest.approx(single[name] / 2), name  # the unknown query: 0
    assert alone.lsi["AP"] > 0
    assert any("1 query with no word the index knows" in n for n in both.notes)
    assert not any("no word" in n for n in alone.notes)
