"""Second review of svdkit.lsi, as a data scientist uses it: outputs that must not wipe
user files, tampered indexes, Cranfield numbering, SMART encodings, ``auto`` updates,
arguments checked before the corpus is read, odd sources, and the CLI's ``similar`` /
``info`` (each test failed before its fix)."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from svdkit.errors import EmptyInputError, FileFormatError, ShapeError, SvdkitError
from svdkit.lsi import TextOptions, build_index, demo_data, load_index, rebuild
from svdkit.lsi.demo import DEMO_QUERIES
from svdkit.lsi.evaluate import evaluate, read_qrels, read_queries, read_smart
from tests.cli_support import error_line, run_svdkit


@pytest.fixture(scope="module")
def topics():
    truth = demo_data.topic_corpus(n_docs=120, seed=5)
    return truth, build_index(truth.documents, k=6)


@pytest.fixture
def saved(tmp_path, topics):
    _, index = topics
    path = tmp_path / "idx"
    index.save(path)
    return index, path


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _rewrite(folder, name, write):
    """Rewrite ``name`` in an index and its checksum in meta.json (a consistent edit)."""
    write(folder / name)
    meta = json.loads((folder / "meta.json").read_text())
    meta["sha256"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    meta.pop("meta_sha256", None)
    (folder / "meta.json").write_text(json.dumps(meta))


# ---------------------------------------------------------------- outputs


def test_save_refuses_a_directory_whose_meta_json_is_not_an_index(tmp_path, topics):
    _, index = topics
    project = tmp_path / "project"
    project.mkdir()
    (project / "meta.json").write_text('{"name": "my project"}')
    (project / "notes.txt").write_text("precious")
    before = _files(project)
    with pytest.raises(FileFormatError, match="not a svdkit LSI index: refusing"):
        index.save(project)
    assert _files(project) == before


def test_save_and_cli_add_refuse_an_index_holding_files_of_its_own(
    saved, tmp_path, capsys, monkeypatch
):
    index, path = saved
    (path / "NOTES.md").write_text("how I built it")
    before = _files(path)
    with pytest.raises(FileFormatError, match=r"also holds 'NOTES\.md'.*delete it"):
        index.save(path)
    (tmp_path / "new.jsonl").write_text('{"id": "n1", "text": "automobile motor"}\n')
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lsi", "add", path, tmp_path / "new.jsonl")
    assert "NOTES.md" in error_line(code, err)
    assert _files(path) == before
    (path / "NOTES.md").unlink()
    index.save(path)  # an index alone is still replaced
    assert load_index(path).ids == index.ids


# ---------------------------------------------------------------- tampered indexes


def test_an_edited_meta_json_is_refused(saved):
    index, path = saved
    meta = json.loads((path / "meta.json").read_text())
    assert "meta_sha256" in meta
    meta["weighting"] = "count"  # valid, but the arrays were weighted by log-entropy
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(FileFormatError, match=r"meta\.json does not match its checksum"):
        load_index(path)
    meta["weighting"] = index.weighting
    (path / "meta.json").write_text(json.dumps(meta, indent=1))  # layout is not content
    assert load_index(path).search("automobile", 3) == index.search("automobile", 3)
    del meta["meta_sha256"]  # an index written before the digest existed
    (path / "meta.json").write_text(json.dumps(meta))
    assert load_index(path).ids == index.ids


@pytest.mark.parametrize("name, write, match", [
    ("s.npy", lambda p: np.save(p, np.array(["a"] * 6)), r"s\.npy holds <U1 values"),
    ("counts_indices.npy",
     lambda p: np.save(p, np.where(np.arange(np.load(p).size) == 0, 10**6, np.load(p))),
     "not a valid sparse matrix"),
    ("documents.json",
     lambda p: p.write_text(json.dumps({"ids": list(range(120)), "snippets": []})),
     r"documents\.json \(ids\) is not a list of strings"),
])  # fmt: skip
def test_values_of_the_wrong_kind_are_refused(saved, name, write, match):
    _, path = saved
    _rewrite(path, name, write)
    with pytest.raises(FileFormatError, match=match):
        load_index(path)


# ---------------------------------------------------------------- evaluation


def test_cranfield_query_numbering_when_some_ids_meet(topics, tmp_path):
    truth, index = topics
    numbers = [1, 2, 4, 6, 7, 9]  # cran.qry: 001, 002, 004, …; cranqrel: 1, 2, 3, …
    (tmp_path / "cran.qry").write_text("".join(
        f".I {n:03d}\n.W\n{q}\n" for n, q in zip(numbers, DEMO_QUERIES.values(), strict=True)))
    (tmp_path / "cranqrel").write_text("".join(
        f"{i} {d} 2\n" for i, t in enumerate(DEMO_QUERIES, 1) for d in sorted(truth.relevant(t))))
    result = evaluate(index, read_queries(tmp_path / "cran.qry"), read_qrels(tmp_path / "cranqrel"))
    right = evaluate(index, {str(i): q for i, q in enumerate(DEMO_QUERIES.values(), 1)},
                     read_qrels(tmp_path / "cranqrel"))
    assert result.n_queries == 6 and result.lsi == right.lsi
    note = next(n for n in result.notes if "numbered by position" in n)  # after the reading's
    assert "4 have the id" in note


def test_queries_without_judgements_are_noted(topics):
    truth, index = topics
    qrels = {"motoring": {d: 1 for d in truth.relevant("motoring")}}
    result = evaluate(index, {"motoring": "automobile motor", "other": "melody"}, qrels)
    assert result.n_queries == 1
    assert any("1 of 2 queries have no relevance judgements" in n for n in result.notes)


def test_eval_of_a_folder_index_matches_ids_without_txt(topics, tmp_path):
    truth, _ = topics
    folder = tmp_path / "docs"
    folder.mkdir()
    number = {}
    for i, (d, t) in enumerate(truth.documents[:60], 1):
        (folder / f"{i:03d}.txt").write_text(t)
        number[d] = str(i)
    index = build_index(folder, k=6)
    qrels = {"1": {number[d]: 1 for d in truth.relevant("music") if d in number}}
    result = evaluate(index, {"1": DEMO_QUERIES["music"]}, qrels)
    assert result.lsi["AP"] > 0.5
    assert result.notes == ("document ids matched to the qrels without their .txt extension "
                            "and leading zeros",)


def test_smart_files_in_utf8_are_not_read_as_latin1(tmp_path):
    (tmp_path / "FR.ALL").write_text(".I 1\n.W\nCafé crème à Paris\n.I 2\n.W\nthé vert\n",
                                     encoding="utf-8")
    index = build_index(tmp_path / "FR.ALL", k=1, options=TextOptions(stop_words=None))
    assert "café" in index.vocabulary and index.snippets[0] == "Café crème à Paris"
    (tmp_path / "OLD.ALL").write_bytes(b".I 1\r\n.W\r\ncaf\xe9 au lait\r\n")  # Latin-1, CRLF
    assert list(read_smart(tmp_path / "OLD.ALL")) == [("1", "café au lait")]


# ---------------------------------------------------------------- updates


def test_auto_updates_when_the_advice_is_rebuild():
    docs = demo_data.topic_corpus(n_docs=200, seed=8).documents
    index = build_index(docs[:120], k=6)
    report = index.add(docs[120:], method="auto")  # 80 added to 120: rebuild advised
    assert report.advice == "rebuild"
    assert report.folded == 0 and report.orthogonality_loss < 1e-10


def test_rebuild_refuses_k_above_the_limit(topics):
    _, index = topics
    with pytest.raises(ShapeError, match="at most 102 singular values"):
        rebuild(index, k=500)
    assert rebuild(index).k == index.k


# ---------------------------------------------------------------- arguments and sources


def _unread():
    raise AssertionError("the corpus was read before the arguments were checked")
    yield


@pytest.mark.parametrize("kwargs, match", [
    ({"tol": 0.0}, r"tol must be in \[1e-14, 1\)"),
    ({"rank_tol": 2.0}, r"rank_tol must be in"),
    ({"weighting": "bm25"}, "weighting must be one of"),
    ({"method": "svd"}, "method must be one of"),
    ({"chunk_size": 2.5}, "chunk_size must be a positive integer"),
    ({"chunk_size": True}, "chunk_size must be a positive integer"),
    ({"k": 0}, "k must be a positive integer"),
    ({"options": {"min_df": 2}}, "options must be a TextOptions"),
])  # fmt: skip
def test_arguments_are_checked_before_the_corpus_is_read(kwargs, match):
    with pytest.raises(SvdkitError, match=match):
        build_index(_unread(), **kwargs)


def test_cli_tol_is_checked_before_counting(tmp_path, capsys, monkeypatch):
    (tmp_path / "c.jsonl").write_text('{"id": "a", "text": "apple banana"}\n')
    def not_counted(*args, **kwargs):
        raise AssertionError("the corpus was counted before the arguments were checked")

    monkeypatch.setattr("svdkit.lsi.index.count_corpus", not_counted)
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lsi", "index", tmp_path / "c.jsonl", "-o", tmp_path / "i", "--tol", "0")
    assert "tol must be in" in error_line(code, err)
    assert not (tmp_path / "i").exists()


def test_a_dict_source_gives_its_items():
    index = build_index({"a": "apple banana split", "b": "banana cherry pie"}, k=1)
    assert index.ids == ["a", "b"] and "cherry" in index.vocabulary


def test_text_options_take_numpy_numbers_as_scikit_learn_does():
    docs = ["aa bb cc", "aa bb", "aa dd", "ee ff aa"]
    half = build_index(docs, options=TextOptions(max_df=0.5, stop_words=None)).vocabulary
    opts = TextOptions(max_df=np.float32(0.5), min_df=np.int64(1), max_features=np.int64(10),
                       stop_words=None)
    assert build_index(docs, options=opts).vocabulary == half  # was: 0.5 of one document
    assert opts.to_json()["max_features"] == 10


def test_folder_reads_upper_case_txt_skips_folders_and_names_an_empty_one(tmp_path):
    (tmp_path / "c" / "sub.txt").mkdir(parents=True)  # a folder, not a file
    (tmp_path / "c" / "A.TXT").write_text("alpha beta gamma")
    (tmp_path / "c" / "b.txt").write_text("beta delta")
    (tmp_path / "c" / "sub.txt" / "c.txt").write_text("gamma zeta")
    assert build_index(tmp_path / "c", k=2).ids == ["A.TXT", "b.txt", "sub.txt/c.txt"]
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "a.md").write_text("alpha beta")
    with pytest.raises(EmptyInputError, match=r"folder '.*md' has no \.txt files.*'a\.md'"):
        build_index(tmp_path / "md")


def test_scores_and_search_batch_take_one_string_as_one_query(topics):
    _, index = topics
    text = "automobile motor petrol"
    assert index.scores(text).shape == (1, index.n_docs)
    np.testing.assert_array_equal(index.scores(text), index.scores([text]))
    assert index.search_batch(text, 5) == [index.search(text, 5)]


def test_dask_path_refuses_a_list_before_any_work():
    from svdkit.lsi.dask_path import build_index_dask

    with pytest.raises(SvdkitError, match=r"takes a dask\.bag"):
        build_index_dask(["apple banana", "banana cherry"], k=1)
    with pytest.raises(SvdkitError, match="weighting must be one of"):
        build_index_dask(None, k=1, weighting="bm25")


# ---------------------------------------------------------------- the CLI


def test_cli_similar_says_when_nothing_can_be_similar(tmp_path, capsys, monkeypatch):
    docs = [("e", ""), ("a", "alpha beta"), ("b", "beta gamma"), ("c", "gamma delta"),
            ("d", "delta alpha")]
    index = build_index(docs, k=2, weighting="tfidf")
    index.save(tmp_path / "i")
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lsi", "similar", tmp_path / "i", "e")
    assert code == 0 and out == "" and "no document is similar to it" in " ".join(err.split())
    code, out, _ = run("lsi", "similar", tmp_path / "i", "a", "-n", "2")
    assert code == 0 and "delta alpha" in out
    # a term of weight 0 everywhere (log-entropy: in every document equally)
    flat = build_index(["common alpha", "common beta", "common gamma"], k=2)
    flat.save(tmp_path / "flat")
    code, out, err = run("lsi", "similar", tmp_path / "flat", "--term", "Common")
    assert code == 0 and out == "" and "no term is similar to it" in " ".join(err.split())


def test_cli_info_says_what_happened_since_the_build(saved, tmp_path, capsys, monkeypatch):
    _, path = saved
    (tmp_path / "new.jsonl").write_text('{"id": "n1", "text": "automobile motor"}\n')
    run = run_svdkit(capsys, monkeypatch)
    assert run("lsi", "add", path, tmp_path / "new.jsonl", "--method", "fold_in")[0] == 0
    code, out, _ = run("lsi", "info", path)
    assert code == 0 and "SVD at the build:" in out
    assert "since the build: fold-in of 1 documents" in out
    (tmp_path / "more.jsonl").write_text('{"id": "n2", "text": "motor engine"}\n')
    assert run("lsi", "add", path, tmp_path / "more.jsonl", "--method", "update")[0] == 0
    code, out, _ = run("lsi", "info", path)
    assert code == 0 and "SVD update (Zha–Simon) of 2 documents" in " ".join(out.split())
    from types import SimpleNamespace

    from svdkit.cli.lsi_command import _history

    many = SimpleNamespace(history=[{"kind": "update", "documents": 900, "method": "krylov"}])
    assert _history(many) == "SVD update (certified truncated SVD) of 900 documents"
    shutil.rmtree(path)


@pytest.mark.parametrize("source", ["strings", "csv", "jsonl"])
def test_documents_added_without_ids_are_numbered_on_from_the_index(
    source, tmp_path, capsys, monkeypatch
):
    # an index built from plain strings numbers them "0", "1", …; adding plain strings
    # (or rows / records without ids) numbered them "0", … again: "document id '0' is
    # already in the index", in Python and in `svdkit lsi add`, every time
    first = ["cats chase mice", "dogs chase cats", "stocks and bonds", "bonds and rates"]
    more = ["mice eat cheese", "rates of bonds"]
    if source == "strings":
        index = build_index(first, k=2)
        index.add(more, method="update")
    else:
        for name, texts in (("a", first), ("b", more)):
            path = tmp_path / f"{name}.{source}"
            if source == "csv":
                path.write_text("text\n" + "".join(f"{t}\n" for t in texts))
            else:
                path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        run = run_svdkit(capsys, monkeypatch)
        code, _, err = run("lsi", "index", tmp_path / f"a.{source}", "-o", tmp_path / "i",
                           "-k", "2")
        assert code == 0, err
        code, _, err = run("lsi", "add", tmp_path / "i", tmp_path / f"b.{source}")
        assert code == 0, err
        index = load_index(tmp_path / "i")
    assert index.ids == ["0", "1", "2", "3", "4", "5"]
    # the added documents are found under their new ids, by the words the index knows
    hits = {h.id: h.score for h in index.search("mice", n=6)}
    assert hits.get("4", 0.0) > 0.5
    # and a third addition goes on numbering
    index.add(["cheese and mice"], method="fold_in")
    assert index.ids[-1] == "6"


def test_decomposed_unicode_is_the_same_text_as_composed():
    # "café" typed as e + U+0301 (NFD: macOS, text from PDFs) was split at the mark and
    # never matched "café" (NFC): a query scored 0, "Zürich" became "zu" and "rich"
    import unicodedata

    docs = ["Café au lait in Zürich", "très bon café", "the bank of the river",
            "a café in Zürich again", "river banks and bonds"]
    nfd = [unicodedata.normalize("NFD", d) for d in docs]
    assert nfd[0] != docs[0]
    composed, decomposed = build_index(docs, k=2), build_index(nfd, k=2)
    assert composed.vocabulary == decomposed.vocabulary
    assert "zürich" in composed.vocabulary and "rich" not in composed.vocabulary
    np.testing.assert_allclose(composed.s, decomposed.s, rtol=1e-12)
    for index in (composed, decomposed):
        for query in ("café", unicodedata.normalize("NFD", "café")):
            hits = index.search(query, n=5)
            assert {h.id for h in hits if h.score > 0.5} >= {"0", "1", "3"}
    # strip_accents normalises by itself, NFD or not
    ascii_ = build_index(nfd, k=2, options=TextOptions(strip_accents="ascii"))
    assert "cafe" in ascii_.vocabulary and "zurich" in ascii_.vocabulary


def test_notes_tell_a_term_outside_the_latent_dimensions_from_an_unknown_one(
    tmp_path, capsys, monkeypatch
):
    # a document on its own words, outside the k = 2 latent dimensions: its words are
    # in the vocabulary with weight 1, but the notes said they were unknown / stop words
    docs = [("a1", "cats chase mice"), ("a2", "cats and mice"), ("a3", "mice chase cats"),
            ("b1", "stocks and bonds"), ("b2", "bonds and stocks rise"),
            ("b3", "stocks fall bonds rise"), ("t", "東京 大阪")]
    index = build_index(docs, k=2)
    assert "東京" in index.vocabulary and not index.doc_vectors[index.row_of("t")].any()
    index.save(tmp_path / "i")
    run = run_svdkit(capsys, monkeypatch)
    outside = "outside the index's k = 2 latent dimensions"
    for args in (("query", "東京"), ("similar", "t"), ("similar", "--term", "東京")):
        code, out, err = run("lsi", args[0], tmp_path / "i", *args[1:])
        text = " ".join(err.split())
        assert code == 0 and out == "" and outside in text, (args, text)
        assert "stop words" not in text and "weight 0" not in text
    # the unknown word still gets the first note
    code, out, err = run("lsi", "query", tmp_path / "i", "zebra")
    assert code == 0 and out == "" and "non-zero weight" in " ".join(err.split())
