"""Command-line options fed bad values: empty paths, ignored field options, a huge
``explain --tol``, a directory where a file is expected (the options hunt, #1 #3 #5 #7)."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from svdkit.errors import FileFormatError, MissingFileError, SvdkitError
from svdkit.inputs.files import cli_path
from svdkit.lsi import load_index, open_corpus
from svdkit.lsi.corpus import read_jsonl
from svdkit.lsi.evaluate import read_qrels, read_queries
from tests.cli_support import error_line, run_svdkit

DOCS = {
    "d0.txt": "cats purr and cats sleep",
    "d1.txt": "dogs bark at cats",
    "d2.txt": "graph trees and minors",
    "d3.txt": "the graph of paths in trees",
}


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture
def work(tmp_path, monkeypatch, svdkit):
    """A working directory with a corpus folder, a JSON-lines corpus, queries and
    judgements, an index ``idx`` of the folder, and a stray ``notes.txt`` in the
    current directory (which an empty path would read)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (tmp_path / "more.jsonl").write_text(
        '{"id": "n0", "text": "cats and dogs"}\n{"id": "n1", "text": "graph paths"}\n',
        encoding="utf-8",
    )
    (tmp_path / "q.tsv").write_text("q1\tcats\n", encoding="utf-8")
    (tmp_path / "qrels.txt").write_text("q1 0 d0.txt 1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("private notes about cats", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = svdkit("lsi", "index", "corpus", "-o", "idx", "-k", "2")
    assert code == 0, err
    return tmp_path


def _tree(path) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(d, f), path): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(path)
        for f in files
    }


# --- #1: an empty path is an error naming the argument, never the current directory ---


def test_cli_path_refuses_the_empty_path_and_keeps_others():
    with pytest.raises(FileFormatError, match="empty path"):
        cli_path("")
    assert cli_path("corpus/").name == "corpus"
    assert str(cli_path(".")) == "."  # typed on purpose: the current directory


def test_lsi_add_with_an_empty_source_changes_nothing(work, svdkit):
    before = _tree(work / "idx")
    line = error_line(*svdkit("lsi", "add", "idx", "")[::2])
    assert "'source'" in line and "empty path" in line
    assert _tree(work / "idx") == before
    assert load_index(work / "idx").ids == sorted(DOCS)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("lsi", "index", "", "-o", "ix2"), "'source'"),
        (("lsi", "index", "corpus", "-o", ""), "'--output'"),
        (("lsi", "query", "", "cats"), "'index'"),
        (("lsi", "similar", "", "d0.txt"), "'index'"),
        (("lsi", "info", ""), "'index'"),
        (("lsi", "add", "", "more.jsonl"), "'index'"),
        (("lsi", "eval", "idx", "--queries", "", "--qrels", "qrels.txt"), "'--queries'"),
        (("lsi", "eval", "idx", "--queries", "q.tsv", "--qrels", ""), "'--qrels'"),
        (("explain", "1 2; 3 4", "--figures", ""), "'--figures'"),
    ],
)
def test_an_empty_path_option_is_an_error_naming_it(work, svdkit, args, named):
    line = error_line(*svdkit(*args)[::2])
    assert named in line and "an empty path" in line, line
    assert "'.'" not in line.split("(")[0]  # not quoted as the current directory
    assert not (work / "ix2").exists()
    assert not any(p.suffix in (".png", ".svg") for p in work.iterdir())


def test_open_corpus_refuses_an_empty_path(work):
    with pytest.raises(FileFormatError, match="source is an empty path"):
        open_corpus("")


# --- #3: a field option that no record has, or that the source kind has not ---


def test_a_named_jsonl_id_field_that_records_lack_is_an_error(work, svdkit):
    line = error_line(*svdkit("lsi", "index", "more.jsonl", "-o", "ixj", "--id-field", "nope")[::2])
    assert "no id field 'nope'" in line and "'id', 'text'" in line and "--id-field" in line
    assert not (work / "ixj").exists()
    with pytest.raises(FileFormatError, match=r"line 1: no id field 'nope' \(its fields: 'id'"):
        list(open_corpus(work / "more.jsonl", id_field="nope"))


def test_lsi_add_with_a_misspelt_id_field_leaves_the_index(work, svdkit):
    before = _tree(work / "idx")
    line = error_line(*svdkit("lsi", "add", "idx", "more.jsonl", "--id-field", "doc_id")[::2])
    assert "no id field 'doc_id'" in line
    assert _tree(work / "idx") == before


def test_jsonl_ids_by_default_and_by_name(work):
    assert [d for d, _ in open_corpus(work / "more.jsonl")] == ["n0", "n1"]
    assert [d for d, _ in read_jsonl(work / "more.jsonl", "id")] == ["n0", "n1"]
    beir = work / "beir.jsonl"
    beir.write_text('{"_id": "b1", "text": "x y"}\n{"text": "z w"}\n', encoding="utf-8")
    assert [d for d, _ in open_corpus(beir)] == ["b1", "1"]  # default: _id, else the number
    with pytest.raises(FileFormatError, match=r"line 2: no id field '_id'"):
        list(open_corpus(beir, id_field="_id"))  # named: every record must have it


@pytest.mark.parametrize(("option", "value"), [("--id-field", "nope"), ("--text-field", "body")])
def test_a_field_option_for_a_folder_is_an_error(work, svdkit, option, value):
    line = error_line(*svdkit("lsi", "index", "corpus", "-o", "ixf", option, value)[::2])
    assert f"{option} '{value}'" in line and "folder of .txt files" in line
    assert not (work / "ixf").exists()


def test_a_field_for_a_smart_file_or_an_iterable_is_an_error(work):
    smart = work / "MED.ALL"
    smart.write_text(".I 1\n.W\ncats purr\n", encoding="utf-8")
    with pytest.raises(SvdkitError, match="SMART file"):
        open_corpus(smart, id_field="id")
    assert [d for d, _ in open_corpus(smart)] == ["1"]
    with pytest.raises(SvdkitError, match=r"text_field= in Python.*Python strings"):
        open_corpus(["cats purr"], text_field="body")
    assert list(open_corpus(["cats purr"])) == [("0", "cats purr")]


def test_query_field_options_for_a_tsv_are_an_error(work, svdkit):
    line = error_line(*svdkit(
        "lsi", "eval", "idx", "--queries", "q.tsv", "--qrels", "qrels.txt",
        "--query-id-field", "qid",
    )[::2])  # fmt: skip
    assert "--query-id-field 'qid'" in line and "'q.tsv'" in line
    # (Python's spelling from Python; the command says --query-text-field 'body')
    with pytest.raises(SvdkitError, match="text_field='body' names a field of JSON queries"):
        read_queries(work / "q.tsv", text_field="body")
    assert read_queries(work / "q.tsv") == {"q1": "cats"}
    code, out, err = svdkit(
        "lsi", "eval", "idx", "--queries", "q.tsv", "--qrels", "qrels.txt", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["queries"] == 1


# --- #7: a directory or a missing file where a file is expected ---


@pytest.mark.parametrize(
    ("queries", "qrels", "expected"),
    [
        ("corpus", "qrels.txt", "the queries file 'corpus' is a directory"),
        ("q.tsv", "corpus", "the qrels file 'corpus' is a directory"),
        ("nope.tsv", "qrels.txt", "no such queries file: 'nope.tsv'"),
        ("q.tsv", "nope", "no such qrels file: 'nope'"),
    ],
)
def test_eval_tells_a_directory_from_a_missing_file(work, svdkit, queries, qrels, expected):
    line = error_line(*svdkit("lsi", "eval", "idx", "--queries", queries, "--qrels", qrels)[::2])
    assert expected in line, line
    assert "does not exist" not in line


def test_readers_raise_the_right_kinds(work):
    with pytest.raises(FileFormatError, match="is a directory"):
        read_queries(work / "corpus")
    with pytest.raises(MissingFileError):
        read_qrels(work / "nope.txt")
    with pytest.raises(FileFormatError, match="empty path"):
        read_qrels("")


# --- #5: a huge explain --tol: no overflow warning, the right verdicts ---


@pytest.mark.parametrize("tol", [1e155, 1e200, 1e300, float(np.finfo(float).max)])
def test_explain_with_a_huge_tol_warns_nothing(svdkit, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = svdkit("explain", "2 1; 1 2", "--tol", repr(tol), "-f", "json")
    assert code == 0 and err == "", err
    report = json.loads(out)
    assert report["sections"][0]["id"] == "input"


@pytest.mark.parametrize("tol", [1e155, 1e300, float(np.finfo(float).max)])
def test_semidefinite_cholesky_under_a_huge_tol_is_the_zero_factor(tol):
    from svdkit.linalg.cholesky import cholesky_attempt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for a in ([[0.0, 1.0], [1.0, 0.0]], [[2.0, 1.0], [1.0, 2.0]], [[1.0, 3.0], [3.0, -4.0]]):
            r = cholesky_attempt(a, semidefinite=True, tol=tol)
            assert r.pivot is None and r.factor is not None
            # every pivot is "zero" under the threshold: L = 0, and ‖A − LLᴴ‖ ≤ tol
            assert not r.factor.any()
            assert np.abs(np.asarray(a) - r.factor @ r.factor.T).max() <= tol


@pytest.mark.parametrize("scale", [1.0, 2.0**600, 2.0**-600])
def test_zero_pivot_test_keeps_its_boundary(scale):
    """|c|² against (|d| + thr)(|s| + thr): [[0, c], [c, 1]] with thr = 1/2 is PSD to
    within thr when c² ≤ 3/4, not when c² > 3/4, at any scale."""
    from svdkit.linalg.cholesky import cholesky_attempt

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = cholesky_attempt(
            np.array([[0.0, 0.8], [0.8, 1.0]]) * scale, semidefinite=True, tol=0.5 * scale
        )
        refused = cholesky_attempt(
            np.array([[0.0, 0.9], [0.9, 1.0]]) * scale, semidefinite=True, tol=0.5 * scale
        )
    assert kept.factor is not None and kept.pivot is None
    assert refused.factor is None and refused.pivot == 1
    assert "row 2" in refused.reason
