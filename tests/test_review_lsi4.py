"""Review of ``svdkit.lsi`` (fourth round): judgements, saving, notes and options.

Qrels were read as Latin-1 (a UTF-8 ``élève`` never met the index's id, and a
byte-order mark became part of the first query id); a save through a symbolic link
replaced the link and left a hidden ``.link.….old`` behind; ``"."`` as the index
passed the up-front check and failed after the work with a raw ``OSError``; the
CLI said a term of weight 0 lies "outside the k latent dimensions"; a numpy
``rank_tol`` made ``save()`` fail with a ``TypeError``; and ``TextOptions`` let
``ngram_range=(1.5, 2)`` or ``lowercase="no"`` through to scikit-learn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_support import error_line, run_svdkit
from test_review_lsi3 import DOCS

from svdkit._files import make_temp_dir, replace_directory
from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lsi import TextOptions, build_index, demo_data, load_index
from svdkit.lsi.evaluate import evaluate, read_qrels, read_smart_rel


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


def _hidden(*folders):
    return sorted(p.name for f in folders for p in f.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- 1. qrels decoding

ACCENTED = [("élève", "graph trees minors"), ("d2", "graph minors survey"),
            ("d3", "human computer interface"), ("d4", "user system response time"),
            ("d5", "trees paths intersection")]
QUERIES = {"1": "graph trees", "2": "computer user"}


def test_qrels_in_utf8_meet_the_index_ids(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_bytes("1 0 élève 1\n1 0 d5 1\n2 0 d3 1\n2 0 d4 1\n".encode())
    expected = {"1": {"élève": 1, "d5": 1}, "2": {"d3": 1, "d4": 1}}
    assert read_qrels(path) == expected
    index = build_index(ACCENTED, k=3)
    assert evaluate(index, QUERIES, read_qrels(path)).lsi == \
        evaluate(index, QUERIES, expected).lsi


@pytest.mark.parametrize("text, expected", [
    ("1 0 d2 1\n1 0 d5 1\n2 0 d3 1\n", {"1": {"d2": 1, "d5": 1}, "2": {"d3": 1}}),  # TREC
    ("1 2 0 0.0\n1 5 0 0.0\n2 3 0 0.0\n", {"1": {"2": 1, "5": 1}, "2": {"3": 1}}),  # CISI
    ("001 0002\n001 5\n", {"1": {"2": 1, "5": 1}}),  # two columns
])
def test_a_byte_order_mark_is_no_part_of_the_first_query_id(tmp_path, text, expected):
    path = tmp_path / "qrels.txt"
    path.write_text(text, encoding="utf-8-sig")  # as Windows editors and Excel write it
    assert read_smart_rel(path) == expected


def test_qrels_in_another_encoding_are_an_error_naming_the_file(tmp_path):
    path = tmp_path / "latin.rel"
    path.write_bytes("1 0 élève 1\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"latin\.rel.*not utf-8"):
        read_qrels(path)


def test_eval_command_reads_utf8_qrels_with_a_bom(tmp_path, svdkit):
    build_index(ACCENTED, k=3).save(tmp_path / "idx")
    (tmp_path / "q.tsv").write_text("1\tgraph trees\n2\tcomputer user\n", encoding="utf-8")
    (tmp_path / "qrels.txt").write_text("1 0 élève 1\n1 0 d5 1\n2 0 d3 1\n2 0 d4 1\n",
                                        encoding="utf-8-sig")
    code, out, err = svdkit("lsi", "eval", tmp_path / "idx", "--queries", tmp_path / "q.tsv",
                            "--qrels", tmp_path / "qrels.txt", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["queries"] == 2 and report["notes"] == []
    expected = {"1": {"élève": 1, "d5": 1}, "2": {"d3": 1, "d4": 1}}
    assert report["lsi"] == evaluate(build_index(ACCENTED, k=3), QUERIES, expected).lsi


# ---------------------------------------------------------------- 2. a save through a link


def _linked_index(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    build_index(DOCS[:4], k=2).save(store / "real")
    link = tmp_path / "link"
    link.symlink_to(store / "real", target_is_directory=True)
    return store, link


def test_saving_through_a_symlink_updates_the_directory_it_points_to(tmp_path):
    store, link = _linked_index(tmp_path)
    index = load_index(link, mmap=False)
    index.add(DOCS[4:], method="fold_in")
    index.save(link)
    assert link.is_symlink() and link.resolve() == (store / "real").resolve()
    assert load_index(store / "real").n_docs == 5 and load_index(link).n_docs == 5
    assert _hidden(tmp_path, store) == []  # no .link.….old, no .real.….tmp


def test_add_command_through_a_symlink_updates_the_linked_index(tmp_path, svdkit):
    store, link = _linked_index(tmp_path)
    (tmp_path / "new.jsonl").write_text(json.dumps({"id": "e", "text": DOCS[4][1]}) + "\n",
                                        encoding="utf-8")
    code, _, err = svdkit("lsi", "add", link, tmp_path / "new.jsonl", "--method", "fold_in")
    assert code == 0, err
    assert link.is_symlink() and load_index(store / "real").ids[-1] == "e"
    assert _hidden(tmp_path, store) == []


def test_replace_directory_through_a_link_from_a_temporary_made_beside_the_link(tmp_path):
    # as the LoRA writers call it: the temporary directory is made beside the target's
    # name (here the link), not beside the directory it points to
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "real").mkdir(parents=True)
    (tmp_path / "b" / "real" / "old.txt").write_text("old")
    link = tmp_path / "a" / "out"
    link.symlink_to(tmp_path / "b" / "real", target_is_directory=True)
    tmp = make_temp_dir(tmp_path / "a", prefix=".out.")
    (tmp / "new.txt").write_text("new")
    replace_directory(tmp, link)
    assert link.is_symlink()
    assert sorted(os.listdir(tmp_path / "b" / "real")) == ["new.txt"]
    assert _hidden(tmp_path / "a", tmp_path / "b") == []
    assert not tmp.exists()


def test_replace_directory_still_replaces_a_plain_directory(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    tmp = make_temp_dir(tmp_path, prefix=".out.")
    (tmp / "new.txt").write_text("new")
    replace_directory(tmp, target)
    assert not target.is_symlink() and os.listdir(target) == ["new.txt"]
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------- 3. "." as the index


@pytest.fixture
def in_index(tmp_path, monkeypatch):
    folder = tmp_path / "idx"
    build_index(DOCS[:4], k=2).save(folder)
    monkeypatch.chdir(folder)
    return folder


def test_saving_to_the_current_directory_is_refused_before_anything_is_written(in_index):
    index = load_index(".", mmap=False)
    index.add(DOCS[4:], method="fold_in")
    for path in (".", in_index, "../idx"):
        with pytest.raises(FileFormatError, match="is the current directory"):
            index.save(path)
    assert load_index(in_index).n_docs == 4  # the old index untouched
    assert _hidden(in_index, in_index.parent) == []


def test_saving_to_a_directory_that_holds_the_current_one_is_refused(tmp_path, monkeypatch):
    (tmp_path / "out" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "out" / "sub")
    with pytest.raises(FileFormatError, match="holds the current one"):
        build_index(DOCS, k=2).save("..")
    assert os.listdir(tmp_path / "out") == ["sub"]


def test_replace_directory_refuses_a_target_holding_its_temporary(in_index):
    tmp = make_temp_dir(".", prefix=".x.")  # what "." as an output made before
    for target in (Path("."), in_index):
        with pytest.raises(FileFormatError, match="lies inside it"):
            replace_directory(tmp, target)
    assert tmp.is_dir() and load_index(in_index).n_docs == 4  # nothing moved


def test_cli_refuses_the_current_directory_before_the_work(in_index, svdkit):
    # the sources do not exist: the refusal comes before they are read
    for args in (("lsi", "add", ".", "missing.jsonl"),
                 ("lsi", "index", "missing-corpus", "-o", ".", "-k", "1")):
        code, _, err = svdkit(*args)
        assert "is the current directory" in error_line(code, err)
    assert load_index(in_index).n_docs == 4
    assert _hidden(in_index, in_index.parent) == []


# ---------------------------------------------------------------- 4. weight-0 notes


@pytest.fixture
def common_index(tmp_path):
    # log-entropy: "common" occurs once in every document, so its global weight is 0
    docs = [("a", "common alpha"), ("b", "common beta"), ("c", "common gamma"),
            ("d", "common alpha beta"), ("e", "common")]
    index = build_index(docs, k=2)
    assert index.global_weights[index.vocabulary.index("common")] == 0.0
    index.save(tmp_path / "idx")
    return tmp_path / "idx"


@pytest.mark.parametrize("args, note", [
    (("similar", "--term", "common"), "the term 'common' has weight 0 in every document"),
    (("query", "common"), "no term of the query 'common' is in the index's vocabulary with "
                          "a non-zero weight"),
    (("similar", "e"), "the document 'e' has no term the index weighs"),
])
def test_a_term_of_weight_0_is_named_so_not_outside_the_latent_dimensions(
        common_index, svdkit, args, note):
    code, out, err = svdkit("lsi", args[0], common_index, *args[1:])
    assert code == 0, err
    text = " ".join(err.split())
    assert text.startswith("note: ") and note in text
    assert "latent dimensions" not in text and out == ""


# ---------------------------------------------------------------- 5. a numpy rank_tol


def test_a_numpy_rank_tol_is_stored_as_a_float_and_the_index_saves(tmp_path):
    docs = demo_data.topic_corpus(n_docs=60, seed=1).documents
    index = build_index(docs, rank_tol=np.float32(0.5))
    assert type(index.svd["rank_tol"]) is float
    assert index.svd["rank_tol"] == float(np.float32(0.5))
    index.save(tmp_path / "idx")
    assert load_index(tmp_path / "idx").svd == index.svd


# ---------------------------------------------------------------- 6. TextOptions up front


@pytest.mark.parametrize("kwargs, option", [
    ({"ngram_range": (1.5, 2)}, "ngram_range"),
    ({"ngram_range": (True, 2)}, "ngram_range"),
    ({"ngram_range": (1,)}, "ngram_range"),
    ({"ngram_range": (1, 2, 3)}, "ngram_range"),
    ({"ngram_range": 2}, "ngram_range"),
    ({"ngram_range": "12"}, "ngram_range"),
    ({"ngram_range": None}, "ngram_range"),
    ({"ngram_range": (2, 1)}, "ngram_range"),
    ({"ngram_range": (0, 1)}, "ngram_range"),
    ({"lowercase": "no"}, "lowercase"),
    ({"lowercase": 0}, "lowercase"),
    ({"lowercase": None}, "lowercase"),
])
def test_text_options_are_checked_before_the_corpus_is_read(kwargs, option):
    def corpus():
        raise AssertionError("the corpus was read")
        yield  # (a generator)

    with pytest.raises(SvdkitError, match=option):
        build_index(corpus(), k=1, options=TextOptions(**kwargs))


def test_numpy_text_options_become_plain_values():
    options = TextOptions(ngram_range=[np.int64(1), np.int32(2)], lowercase=np.bool_(False))
    assert options.ngram_range == (1, 2) and options.lowercase is False
    assert all(type(n) is int for n in options.ngram_range)
    assert json.loads(json.dumps(options.to_json()))["ngram_range"] == [1, 2]
    index = build_index(["Graph Minors survey", "graph trees"], k=1, options=options)
    assert "Graph Minors" in index.vocabulary
