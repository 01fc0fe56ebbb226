"""Review fixes of svdkit.lsi's text handling: query and qrels files (BEIR / TREC
conventions), stop words, Unicode ids, JSON arrays, snippets, term lookup, empty
corpora, character n-grams (unspaced scripts), the progress bar, ligatures."""

from __future__ import annotations

import json
import math
import unicodedata
import warnings

import numpy as np
import pytest

from svdkit.errors import EmptyInputError, FileFormatError, SvdkitError
from svdkit.lsi import TextOptions, build_index, load_index
from svdkit.lsi.counting import SNIPPET_CHARS, _snippet
from svdkit.lsi.evaluate import evaluate, read_qrels, read_queries
from tests.cli_support import error_line, run_svdkit

DOCS = [("d1", "matrices et vecteurs"), ("d2", "économie et budget"), ("d3", "café à Paris"),
        ("d4", "vecteurs propres des matrices"), ("d5", "budget de l'économie"),
        ("d6", "Paris café crème")]
QRELS = {"1": {"d1": 1, "d4": 1}, "3": {"d2": 1, "d5": 1}, "5": {"d3": 1, "d6": 1}}
QUERIES = {"1": "matrices vecteurs", "3": "économie budget", "5": "café Paris"}


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture(scope="module")
def index():
    return build_index(DOCS, k=3)


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------- 1. query ids of JSON lines


def test_beir_queries_keep_their_underscore_ids(tmp_path, index):
    path = _jsonl(tmp_path / "queries.jsonl",
                  [{"_id": q, "text": t, "metadata": {}} for q, t in QUERIES.items()])
    assert read_queries(path) == QUERIES  # was {'0': …, '1': …, '2': …}
    got = evaluate(index, read_queries(path), QRELS)
    right = evaluate(index, QUERIES, QRELS)
    assert got.n_queries == 3 and got.lsi == right.lsi and not got.notes


def test_queries_without_an_id_field_are_refused_not_renumbered(tmp_path):
    path = _jsonl(tmp_path / "q.jsonl", [{"key": "1", "text": "matrices"}])
    with pytest.raises(FileFormatError, match=r"q\.jsonl' line 1: no id field.*key, text"
                                              r".*name it: id_field"):
        # (Python's name: the command line says --query-id-field, test_review_cli_flags)
        read_queries(path)
    assert read_queries(path, id_field="key") == {"1": "matrices"}
    # a record of the same file without the id field the first one has: refused too
    mixed = _jsonl(tmp_path / "m.jsonl", [{"_id": "1", "text": "a"}, {"text": "b"}])
    with pytest.raises(FileFormatError, match=r"m\.jsonl' line 2: no id field '_id'"):
        read_queries(mixed)


def test_eval_command_takes_a_query_id_field(tmp_path, svdkit):
    build_index(DOCS, k=3).save(tmp_path / "idx")
    _jsonl(tmp_path / "q.jsonl", [{"key": q, "body": t} for q, t in QUERIES.items()])
    (tmp_path / "qrels.txt").write_text(
        "".join(f"{q} 0 {d} {g}\n" for q, ds in QRELS.items() for d, g in ds.items()))
    code, out, err = svdkit("lsi", "eval", tmp_path / "idx", "--queries", tmp_path / "q.jsonl",
                            "--qrels", tmp_path / "qrels.txt", "--json",
                            "--query-id-field", "key", "--query-text-field", "body")
    assert code == 0, err
    right = evaluate(build_index(DOCS, k=3), QUERIES, QRELS)
    assert json.loads(out)["queries"] == 3 and json.loads(out)["lsi"] == right.lsi
    code, _, err = svdkit("lsi", "eval", tmp_path / "idx", "--queries", tmp_path / "q.jsonl",
                          "--qrels", tmp_path / "qrels.txt")
    assert "its fields: key, body); --query-text-field" in error_line(code, err)
    code, _, err = svdkit("lsi", "eval", tmp_path / "idx", "--queries", tmp_path / "q.jsonl",
                          "--qrels", tmp_path / "qrels.txt", "--query-text-field", "body")
    assert "its fields: key, body); name it: --query-id-field" in error_line(code, err)


# ---------------------------------------------------------------- 2. three-column qrels


def test_beir_qrels_header_skipped_grade_zero_not_relevant_grades_kept(tmp_path, index):
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td3\t0\n3\td2\t2\n3\td4\t0\n"
                    "5\t0006\t1\n", encoding="utf-8")
    # ids kept verbatim; grade 0 kept: judged not relevant (ir-measures counts it so)
    expected = {"1": {"d1": 1, "d3": 0}, "3": {"d2": 2, "d4": 0}, "5": {"0006": 1}}
    assert read_qrels(path) == expected
    got = evaluate(index, QUERIES, read_qrels(path)).lsi
    assert got == evaluate(index, QUERIES, {"1": {"d1": 1}, "3": {"d2": 2}, "5": {"0006": 1}}).lsi


def test_graded_qrels_give_graded_ndcg(tmp_path):
    # one query, two relevant documents of grades 2 and 1: nDCG@10 by hand
    docs = [("a", "apple pie recipe"), ("b", "apple orchard trees"), ("c", "car engine oil")]
    ix = build_index(docs, k=2, weighting="tfidf")
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq\ta\t1\nq\tb\t2\nq\tc\t0\n")
    qrels = read_qrels(path)
    assert qrels == {"q": {"a": 1, "b": 2, "c": 0}}
    order = [h.id for h in ix.search("apple pie", n=3)]
    assert order[:2] == ["a", "b"]  # the grade-2 document second: a graded nDCG below 1
    gains = {"a": 1, "b": 2}
    # pytrec_eval's nDCG: the grade is the gain, discounted by log2(rank + 1)
    dcg = sum(gains.get(d, 0) / math.log2(r + 2) for r, d in enumerate(order))
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    got = evaluate(ix, {"q": "apple pie"}, qrels).lsi["nDCG@10"]
    assert got == pytest.approx(dcg / ideal, abs=1e-12) and got < 0.9
    # grades flattened to 1 (as the file was read before) would have made it 1.0
    assert evaluate(ix, {"q": "apple pie"}, {"q": {"a": 1, "b": 1}}).lsi["nDCG@10"] == 1.0


def test_cranfield_layout_still_counts_every_pair_but_minus_one(tmp_path):
    path = tmp_path / "cranqrel"
    path.write_text("1 184 2\n1 29 4\n1 31 -1\n2 12 3\n")
    assert read_qrels(path) == {"1": {"184": 1, "29": 1, "31": -1}, "2": {"12": 1}}


def test_qrels_with_a_non_numeric_grade_below_the_header_name_the_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\thigh\n")
    with pytest.raises(FileFormatError, match=r"bad\.tsv' line 3.*'high'"):
        read_qrels(path)


# ---------------------------------------------------------------- 3. duplicate query ids


@pytest.mark.parametrize("name, text, lines", [
    ("q.tsv", "q1\tpremière\nq2\tcafé\nq1\tParis\n", "lines 1 and 3"),
    ("q.jsonl", '{"id":"q1","text":"a"}\n{"id":"q1","text":"b"}\n', "lines 1 and 2"),
    ("Q.QRY", ".I 1\n.W\nfirst\n.I 001\n.W\nsecond\n", "records 1 and 2"),
])
def test_duplicate_query_ids_are_refused(tmp_path, name, text, lines):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileFormatError, match=rf"query id '(q1|1)' .*{lines}"):
        read_queries(path)


# ---------------------------------------------------------------- 4. stop words


@pytest.mark.parametrize("stop", [["le", "de", "au", "et", "été"],
                                  ["Le", "DE", "Au", "Et", unicodedata.normalize("NFD", "Été")]])
def test_stop_words_are_normalised_as_the_text(stop):
    docs = [("a", "Le chat et le chien"), ("b", "le marché de l'été"),
            ("c", "été chaud au marché"), ("d", "chien chat souris")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "stop_words may be inconsistent" warning
        ix = build_index(docs, k=2, options=TextOptions(stop_words=stop))
    assert ix.vocabulary == ["chat", "chaud", "chien", "marché", "souris"]


def test_stop_words_follow_strip_accents():
    docs = [("a", "le marché de l'été"), ("b", "été chaud au marché")]
    ix = build_index(docs, k=1, options=TextOptions(stop_words=["Été", "le", "de", "au"],
                                                     strip_accents="unicode"))
    assert ix.vocabulary == ["chaud", "marche"]


# ---------------------------------------------------------------- 5. NFD document ids


def test_nfd_file_names_are_found_by_their_nfc_ids(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    for name, text in [("élève.txt", "le chat noir dort"), ("bébé.txt", "le chien aboie"),
                       ("c.txt", "chat chien souris")]:
        (folder / unicodedata.normalize("NFD", name)).write_text(text, encoding="utf-8")
    ix = build_index(folder, k=2)
    nfd = unicodedata.normalize("NFD", "élève.txt")
    assert ix.row_of("élève.txt") == ix.row_of(nfd) == ix.ids.index(nfd)
    assert ix.similar_documents("élève.txt") == ix.similar_documents(nfd)
    nfc_ix = build_index([(unicodedata.normalize("NFC", i), t) for i, t in
                          zip(ix.ids, [*open_texts(folder, ix.ids)], strict=True)], k=2)
    qrels = {"q": {"élève": 1}}
    got = evaluate(ix, {"q": "chat"}, qrels)
    assert got.lsi == evaluate(nfc_ix, {"q": "chat"}, qrels).lsi
    assert got.lsi["AP"] > 0


def open_texts(folder, ids):
    for i in ids:
        yield (folder / i).read_text(encoding="utf-8")


# ---------------------------------------------------------------- 6. JSON arrays


def test_a_json_array_is_read(tmp_path):
    records = [{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}]
    (tmp_path / "one.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "pretty.json").write_text(json.dumps(records, indent=2), encoding="utf-8")
    for name in ("one.json", "pretty.json"):
        ix = build_index(tmp_path / name, k=1)
        assert ix.ids == ["a", "b"] and ix.vocabulary == ["bark", "cats", "dogs", "purr"]
    (tmp_path / "q.json").write_text(json.dumps([{"_id": "1", "text": "cats"}]))
    assert read_queries(tmp_path / "q.json") == {"1": "cats"}


def test_a_json_array_of_non_objects_is_named(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps(["cats purr", "dogs bark"]))
    with pytest.raises(FileFormatError, match=r"bad\.json' item 1: no text field 'text'"):
        build_index(tmp_path / "bad.json", k=1)
    (tmp_path / "broken.json").write_text('[{"id": "a", "text": "x"},\n')
    with pytest.raises(FileFormatError, match=r"broken\.json' is not a JSON array"):
        build_index(tmp_path / "broken.json", k=1)


# ---------------------------------------------------------------- 7. snippets


def test_snippet_of_a_document_opening_with_whitespace():
    text = "\n" * 400 + "Rapport   annuel\t2024 " + "mot " * 100
    s = _snippet(text)
    assert s.startswith("Rapport annuel 2024 mot") and len(s) == SNIPPET_CHARS
    assert s == " ".join(text.split())[:SNIPPET_CHARS]
    assert _snippet("a\udcff b") == "a\\udcff b"
    assert _snippet("x" * 100_000) == "x" * SNIPPET_CHARS


# ---------------------------------------------------------------- 8. term lookup


@pytest.fixture(scope="module")
def french():
    docs = [("a", "l'été est chaud"), ("b", "un été au marché"), ("c", "le marché du soir"),
            ("d", "chaud et soir")]
    return build_index(docs, k=2, options=TextOptions(stop_words=None))


@pytest.mark.parametrize("term", ["l'été", "été ", " ÉTÉ", "d'été"])
def test_similar_terms_tokenise_the_term(french, term):
    assert french.similar_terms(term) == french.similar_terms("été")


def test_a_term_of_several_tokens_is_refused_with_its_tokens(french):
    with pytest.raises(SvdkitError, match=r"'marché chaud' is tokenised as \['marché', 'chaud'\]"):
        french.similar_terms("marché chaud")


def test_similar_term_command_tokenises_the_term(tmp_path, svdkit, french):
    french.save(tmp_path / "idx")
    code, out, err = svdkit("lsi", "similar", tmp_path / "idx", "--term", "l'été")
    assert code == 0, err
    plain = svdkit("lsi", "similar", tmp_path / "idx", "--term", "été")[1]

    def rows(table):
        return [line.split() for line in table.splitlines() if line.startswith("│")]

    assert "terms similar to" in out and rows(out) == rows(plain) and rows(out)
    assert [r[1] for r in rows(out)] == [t for t, _ in french.similar_terms("été")]


# ---------------------------------------------------------------- 9. empty corpora


@pytest.mark.parametrize("docs", [["", "   ", "\n"], ["!!!", "...", "🍕 🍕"]])
def test_a_corpus_without_tokens_is_not_blamed_on_pruning(docs):
    with pytest.raises(EmptyInputError, match="no document has a term") as err:
        build_index(docs, k=1, options=TextOptions(stop_words=None))
    assert "pruning" not in str(err.value)


def test_pruning_is_still_named_when_it_removed_everything():
    with pytest.raises(EmptyInputError, match="no term is left after pruning"):
        build_index(["cats purr", "dogs bark"], k=1, options=TextOptions(min_df=2))


# ---------------------------------------------------------------- 10. character n-grams


CJK = [("1", "我喜欢吃苹果"), ("2", "苹果很好吃"), ("3", "今天天气很好")]


def test_word_analyzer_cannot_split_cjk_but_char_ngrams_can(tmp_path):
    assert build_index(CJK, k=2).search("苹果") == []  # the documented limitation
    options = TextOptions(analyzer="char_wb", ngram_range=(1, 2))
    ix = build_index(CJK, k=2, options=options)
    assert "苹果" in ix.vocabulary
    hits = ix.search("苹果", n=3)
    assert {h.id for h in hits[:2]} == {"1", "2"} and hits[0].score > hits[-1].score
    # the counts are those of scikit-learn's own char_wb analyzer
    from sklearn.feature_extraction.text import CountVectorizer

    cv = CountVectorizer(analyzer="char_wb", ngram_range=(1, 2))
    X = cv.fit_transform([t for _, t in CJK])
    assert ix.vocabulary == cv.get_feature_names_out().tolist()
    assert (ix.counts != X).nnz == 0
    ix.save(tmp_path / "idx")
    back = load_index(tmp_path / "idx")
    assert back.options == options and back.search("苹果", n=3) == hits


def test_analyzer_is_checked():
    with pytest.raises(SvdkitError, match="analyzer must be 'word', 'char' or 'char_wb'"):
        TextOptions(analyzer="chars")
    with pytest.raises(SvdkitError, match="stop_words apply to the word analyzer only"):
        TextOptions(analyzer="char", stop_words=["x"])
    with pytest.raises(SvdkitError, match="token_pattern applies to the word analyzer only"):
        TextOptions(analyzer="char_wb", token_pattern=r"\w+")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scikit-learn "will not be used" warning
        TextOptions(analyzer="char").vectorizer().fit(["abc"])


def test_index_command_takes_an_analyzer_and_ngram_range(tmp_path, svdkit):
    _jsonl(tmp_path / "c.jsonl", [{"id": i, "text": t} for i, t in CJK])
    code, _, err = svdkit("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "idx", "-k", "2",
                          "--analyzer", "char_wb", "--ngram-range", "1", "2")
    assert code == 0, err
    ix = load_index(tmp_path / "idx")
    assert ix.options.analyzer == "char_wb" and ix.options.ngram_range == (1, 2)
    code, out, err = svdkit("lsi", "query", tmp_path / "idx", "苹果")
    assert code == 0, err
    assert "│ 1 " in out and "│ 2 " in out
    code, _, err = svdkit("lsi", "info", tmp_path / "idx")
    code, _, err = svdkit("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "idx2",
                          "--ngram-range", "2", "1")
    assert "--ngram-range must be" in error_line(code, err)  # the option, as typed


# ---------------------------------------------------------------- minor: progress, ligatures


def test_no_progress_residue_on_a_redirected_stderr(tmp_path, svdkit):
    _jsonl(tmp_path / "c.jsonl", [{"id": i, "text": t} for i, t in DOCS])
    code, _, err = svdkit("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "idx", "-k", "2")
    assert code == 0, err
    assert "counting terms" not in err and "documents" not in err


def test_progress_callback_still_called_without_a_terminal():
    seen = []
    build_index(DOCS, k=2, progress=True, on_chunk=seen.append, chunk_size=4)
    assert seen == [4, 2]


def test_ascii_accent_stripping_spells_ligatures_out():
    docs = [("a", "le cœur de l'Œuvre"), ("b", "Straße et Æther"), ("c", "cœur et straße")]
    ix = build_index(docs, k=2, options=TextOptions(stop_words=None, strip_accents="ascii"))
    assert {"coeur", "oeuvre", "strasse", "aether"} <= set(ix.vocabulary)
    assert "cur" not in ix.vocabulary and "strae" not in ix.vocabulary
    assert {h.id for h in ix.search("cœur", n=2)} == {"a", "c"}
    assert np.allclose(ix.scores(["cœur"]), ix.scores(["coeur"]))


def test_a_beir_corpus_is_indexed_by_its_underscore_ids(tmp_path, index):
    path = _jsonl(tmp_path / "corpus.jsonl",
                  [{"_id": i, "title": "", "text": t} for i, t in DOCS])
    ix = build_index(path, k=3)
    assert ix.ids == [i for i, _ in DOCS]  # not 0, 1, 2, …
    assert evaluate(ix, QUERIES, QRELS).lsi == evaluate(index, QUERIES, QRELS).lsi
    # records with neither id are numbered as before
    plain = _jsonl(tmp_path / "plain.jsonl", [{"text": t} for _, t in DOCS])
    assert build_index(plain, k=3).ids == [str(i) for i in range(6)]


def test_index_command_takes_a_token_pattern(tmp_path, svdkit):
    _jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "x y cat"}, {"id": "b", "text": "x dog"}])
    code, _, err = svdkit("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "idx", "-k", "1",
                          "--token-pattern", r"(?u)\b\w+\b", "--stop-words", "none")
    assert code == 0, err
    assert load_index(tmp_path / "idx").vocabulary == ["cat", "dog", "x", "y"]
    code, _, err = svdkit("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "idx2",
                          "--token-pattern", r"\w+", "--analyzer", "char_wb")
    line = error_line(code, err)  # (the options as typed)
    assert "--token-pattern applies to the word analyzer only; --analyzer char_wb" in line
