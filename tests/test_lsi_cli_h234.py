"""LSI fixes: counts from a user's own vectorizer (unreachable terms named), ``--json`` and
whole ids for ``lsi query`` / ``lsi similar``, the text options on the command line, notes
of a full-rank index and of documents with no weighted term (never a hit), and values a
build refuses refused on load too."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingFileError, SvdkitError
from svdkit.lsi import build_index, index_from_counts, load_index
from tests.cli_support import error_line, run_svdkit
from tests.lsi_support import rewritten

_BAND_DOCS = ["The Who played live", "New York is big", "new cars in York",
              "the band The Who", "big apple New York"]


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


# ------------------------------------------------------------------ 4: counts made elsewhere


def _band_counts():
    from sklearn.feature_extraction.text import CountVectorizer

    from svdkit.lsi import CorpusCounts  # exported, as docs/lsi.md names it

    cv = CountVectorizer(ngram_range=(1, 2), stop_words=None, lowercase=False)
    X = cv.fit_transform(_BAND_DOCS)
    return CorpusCounts(X, list(cv.get_feature_names_out()), [str(i) for i in range(5)])


def test_counts_whose_terms_no_query_can_match_are_named():
    with pytest.warns(UserWarning, match=r"can never match a query \('New', 'New York'") as w:
        ix = index_from_counts(_band_counts(), k=2)
    message = str(w[0].message)
    assert "of the 27 terms" in message and "options=TextOptions(" in message
    assert any("can never match a query" in note for note in ix.svd["notes"])


def test_counts_indexed_with_their_vectorizers_options_match_queries():
    from svdkit.lsi import TextOptions

    options = TextOptions(ngram_range=(1, 2), stop_words=None, lowercase=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ix = index_from_counts(_band_counts(), k=2, options=options)
    assert "notes" not in ix.svd or not any("never match" in n for n in ix.svd["notes"])
    assert {h.id for h in ix.search("The Who", 2)} == {"0", "3"}


def test_build_index_does_not_warn_of_its_own_vocabulary():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_index(_BAND_DOCS, k=2)


# ------------------------------------------------------------------ 5: --json, whole ids

_LONG = ("very_long_directory_name_for_reports/subdirectory_2024_quarterly/"
         "annual_financial_statement_document_{}.txt")


@pytest.fixture
def long_index(tmp_path):
    lines = [{"id": _LONG.format(i), "text": f"quarterly revenue report number {i} with growth"}
             for i in range(1, 4)]
    lines += [{"id": "pets", "text": "cats and dogs play in the garden"},
              {"id": "bank", "text": "interest rates and bonds at the bank"}]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in lines))
    index = tmp_path / "idx"
    ix = build_index(str(src), k=3)
    ix.save(index)
    return index, ix


def test_query_json_gives_rank_id_score_row_snippet(svdkit, long_index):
    index, ix = long_index
    code, out, err = svdkit("lsi", "query", index, "revenue growth", "-n", "2", "--json")
    assert code == 0, err
    got = json.loads(out)
    want = ix.search("revenue growth", 2)
    assert [(d["rank"], d["id"], d["row"], d["snippet"]) for d in got] == [
        (h.rank, h.id, h.row, h.snippet) for h in want]
    assert [d["score"] for d in got] == pytest.approx([h.score for h in want])


def test_similar_json_documents_and_terms(svdkit, long_index):
    index, ix = long_index
    code, out, err = svdkit("lsi", "similar", index, _LONG.format(1), "-n", "2", "--json")
    assert code == 0, err
    assert [d["id"] for d in json.loads(out)] == [
        h.id for h in ix.similar_documents(_LONG.format(1), 2)]
    code, out, err = svdkit("lsi", "similar", index, "--term", "revenue", "-n", "2", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert [(d["rank"], d["term"]) for d in got] == [
        (i, t) for i, (t, _) in enumerate(ix.similar_terms("revenue", 2), 1)]


def test_query_json_of_a_query_matching_nothing_is_an_empty_array(svdkit, long_index):
    index, _ = long_index
    code, out, err = svdkit("lsi", "query", index, "zzzz qqqq", "--json")
    assert code == 0 and json.loads(out) == []
    assert "note:" in err


def test_piped_tables_never_wrap_an_id(svdkit, long_index):
    index, _ = long_index
    code, out, err = svdkit("lsi", "query", index, "revenue growth", "-n", "3")
    assert code == 0, err
    for i in range(1, 4):
        assert _LONG.format(i) in out  # whole, on one line
    code, out, err = svdkit("lsi", "similar", index, _LONG.format(1), "-n", "2")
    assert code == 0, err
    assert _LONG.format(2) in out


# ------------------------------------------------------------------ 6: text options


@pytest.fixture
def french(tmp_path):
    lines = [
        {"id": "ecole", "text": "Les élèves de l'école étudient la géométrie"},
        {"id": "voiture", "text": "Les voitures électriques de la ville"},
        {"id": "cuisine", "text": "La cuisine française et le fromage"},
        {"id": "math", "text": "La géométrie des élèves et les mathématiques"},
    ]
    src = tmp_path / "fr.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines),
                   encoding="utf-8")
    stop = tmp_path / "stop_fr.txt"
    stop.write_text("# mots vides\nles\nla\nle\nde\ndes\net\nl\n\n", encoding="utf-8")
    return src, stop


def test_cli_strips_accents_and_reads_a_stop_word_file(svdkit, french, tmp_path):
    src, stop = french
    index = tmp_path / "idx"
    code, out, err = svdkit("lsi", "index", src, "-o", index, "-k", "2",
                            "--strip-accents", "unicode", "--stop-words-file", stop)
    assert code == 0, err
    ix = load_index(index)
    assert ix.options.strip_accents == "unicode"
    assert {"les", "la", "de"}.isdisjoint(ix.vocabulary) and "eleves" in ix.vocabulary
    code, out, err = svdkit("lsi", "query", index, "eleve geometrie", "-n", "2", "--json")
    assert code == 0, err
    assert {d["id"] for d in json.loads(out)} == {"ecole", "math"}


def test_cli_lowercase_scaling_normalize_and_method(svdkit, french, tmp_path):
    src, _ = french
    index = tmp_path / "idx"
    code, _out, err = svdkit("lsi", "index", src, "-o", index, "-k", "2", "--no-lowercase",
                            "--scaling", "0.5", "--no-normalize", "--method", "lapack",
                            "--stop-words", "none")
    assert code == 0, err
    ix = load_index(index)
    assert (ix.options.lowercase, ix.scaling, ix.normalize, ix.svd["method"]) == (
        False, 0.5, False, "lapack")
    assert "Les" in ix.vocabulary and ix.options.stop_words is None


@pytest.mark.parametrize(("args", "says"), [
    (["--stop-words", "french"], "--stop-words-file"),
    (["--stop-words-file", "nope.txt"], "nope.txt"),
    (["--stop-words", "none", "--stop-words-file", "STOP"], "not both"),
    (["--scaling", "1000"], "--scaling must be a finite number from -100 to 100; got 1000"),
])
def test_cli_text_option_errors_name_the_option(svdkit, french, tmp_path, args, says):
    src, stop = french
    args = [str(stop) if a == "STOP" else a for a in args]
    code, _out, err = svdkit("lsi", "index", src, "-o", tmp_path / "idx", *args)
    assert says in error_line(code, err)
    assert not (tmp_path / "idx").exists()


def test_an_empty_stop_word_file_is_an_error(svdkit, french, tmp_path):
    src, _ = french
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n")
    code, _out, err = svdkit("lsi", "index", src, "-o", tmp_path / "idx",
                            "--stop-words-file", empty)
    assert "holds no word" in error_line(code, err)


def test_stop_word_file_errors_are_svdkit_errors(tmp_path):
    from svdkit.cli.lsi_command import _stop_words_option

    bad = tmp_path / "latin1.txt"
    bad.write_bytes("élève\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="not UTF-8"):
        _stop_words_option("english", bad)
    with pytest.raises(MissingFileError):
        _stop_words_option("english", tmp_path / "missing.txt")
    with pytest.raises(SvdkitError, match="'english' or 'none'"):
        _stop_words_option("german", None)


# ------------------------------------------------------------------ 7 and 8: build notes


def test_full_rank_index_says_so(svdkit, tmp_path):
    src = tmp_path / "c.jsonl"
    from svdkit.lsi import demo_data

    docs = demo_data.topic_corpus(n_docs=40, seed=3).documents
    src.write_text("".join(json.dumps({"id": d, "text": t}) + "\n" for d, t in docs))
    index = tmp_path / "idx"
    code, out, err = svdkit("lsi", "index", src, "-o", index)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "note: k = 40 is the full rank" in flat and "the default k = 200 clipped" in flat
    assert "no latent reduction" in flat
    meta = json.loads((index / "meta.json").read_text())
    assert meta["svd"]["full_rank"] is True
    assert any("full rank" in n for n in meta["svd"]["notes"])
    code, out, err = svdkit("lsi", "info", index)
    assert "full rank" in " ".join(out.split())
    # a reduced index has no such note
    index2 = tmp_path / "idx2"
    code, out, err = svdkit("lsi", "index", src, "-o", index2, "-k", "5")
    assert code == 0 and "full rank" not in out
    assert json.loads((index2 / "meta.json").read_text())["svd"]["full_rank"] is False


_ZERO_DOCS = [("cats1", "cats purr and sleep"), ("cats2", "cats chase mice"),
              ("dogs1", "dogs bark at cats"), ("dogs2", "dogs fetch sticks"),
              ("birds", "birds sing songs"), ("empty", ""), ("stop", "the and of it")]


def test_documents_with_no_weighted_term_are_never_hits():
    ix = build_index(_ZERO_DOCS, k=3)
    hits = ix.search("dogs fetch sticks", n=7)
    assert {"empty", "stop"}.isdisjoint(h.id for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len(hits) == 5  # every real document, negative cosines included
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # n is still filled with real documents when the empty ones would have taken places
    assert len(ix.search("birds", n=5)) == 5
    assert {"empty", "stop"}.isdisjoint(h.id for h in ix.similar_documents("birds", 6))
    assert ix.svd["empty_documents"] == 2


def test_index_command_counts_the_documents_with_no_weighted_term(svdkit, tmp_path):
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps({"id": d, "text": t}) + "\n" for d, t in _ZERO_DOCS))
    code, out, err = svdkit("lsi", "index", src, "-o", tmp_path / "idx", "-k", "3")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "note: 2 documents have no term the index weighs" in flat
    assert "'empty', 'stop'" in flat


# ------------------------------------------------------------------ 11: load checks


@pytest.mark.parametrize(("change", "says"), [
    (lambda d, m: m.update(scaling=1e9), r"scaling 1000000000\.0"),
    (lambda d, m: np.save(d / "s.npy", -np.load(d / "s.npy")), r"s\.npy holds the singular"),
    (lambda d, m: np.save(d / "s.npy", np.load(d / "s.npy")[::-1].copy()),
     r"s\.npy is not in non-increasing order"),
    (lambda d, m: np.save(d / "global_weights.npy", -np.load(d / "global_weights.npy")),
     r"global_weights\.npy holds the negative weight"),
    (lambda d, m: np.save(d / "doc_vectors.npy", np.zeros_like(np.load(d / "doc_vectors.npy"))),
     r"doc_vectors\.npy is not the rows of U Σ\^p"),
])
def test_load_refuses_values_a_build_refuses(tmp_path, change, says):
    from svdkit.lsi import demo_data

    good = tmp_path / "good"
    build_index(demo_data.pets_and_markets(), k=3).save(good)
    load_index(good)  # the unchanged copy loads
    bad = rewritten(good, tmp_path / "bad", change)
    with pytest.raises(FileFormatError, match=says) as info:
        load_index(bad)
    assert str(bad) in str(info.value)


# ------------------------------------------------------------------ add: the reindex advice


def test_reindex_advice_says_how_on_the_command_line():
    from types import SimpleNamespace

    from svdkit.cli.lsi_command import _advice_note

    note = _advice_note(SimpleNamespace(advice="reindex"), "idx")
    assert note == "\nnote: to index the source again (a new vocabulary): svdkit lsi index " \
        "SOURCE -o 'idx'"
    assert _advice_note(SimpleNamespace(advice="ok"), "idx") == ""


def test_load_checks_the_document_vectors_block_by_block(tmp_path, monkeypatch):
    import svdkit.lsi.persist as persist
    from svdkit.lsi import demo_data

    good = tmp_path / "good"
    build_index(demo_data.topic_corpus(n_docs=60, seed=1).documents, k=5).save(good)
    monkeypatch.setattr(persist, "_CHECK_ENTRIES", 7)  # blocks of one row

    def last_row_flipped(d, m):
        dv = np.load(d / "doc_vectors.npy")
        dv[-1] = -dv[-1]
        np.save(d / "doc_vectors.npy", dv)

    load_index(good)
    bad = rewritten(good, tmp_path / "bad", last_row_flipped)
    with pytest.raises(FileFormatError, match=r"doc_vectors\.npy is not the rows"):
        load_index(bad)
    load_index(bad, verify=False)  # (unread without verify: memory-mapped, on demand)
