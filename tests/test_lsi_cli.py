"""``svdkit lsi …`` end to end: index, query, similar, add, info, eval, demo."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from svdkit.cli.main import app
from svdkit.errors import FileFormatError, SvdkitError
from svdkit.lsi import demo_data, load_index
from svdkit.lsi.demo import DEMO_QUERIES

runner = CliRunner()


def _ok(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("lsi_cli")
    truth = demo_data.topic_corpus(n_docs=240, seed=41)
    lines = [json.dumps({"doc": d, "body": t}) for d, t in truth.documents]
    (root / "corpus.jsonl").write_text("\n".join(lines[:200]) + "\n")
    (root / "more.jsonl").write_text("\n".join(lines[200:]) + "\n")
    (root / "queries.tsv").write_text(
        "".join(f"{t}\t{q}\n" for t, q in DEMO_QUERIES.items())
    )
    (root / "qrels.txt").write_text(
        "".join(f"{t} 0 {d} 1\n" for t in DEMO_QUERIES for d in sorted(truth.relevant(t)))
    )
    return root


def test_index_query_similar_add_info_eval(corpus_files):
    root = corpus_files
    index = root / "index"
    out = _ok(["lsi", "index", str(root / "corpus.jsonl"), "-o", str(index), "-k", "6",
               "--id-field", "doc", "--text-field", "body", "--min-df", "2"])  # fmt: skip
    assert "200 documents" in out and "certified" in out
    assert load_index(index).k == 6

    out = _ok(["lsi", "query", str(index), "automobile motor petrol", "-n", "5"])
    top = load_index(index).search("automobile motor petrol", 5)
    for hit in top:
        assert hit.id in out and f"{hit.score:.4f}" in out
    assert top[0].snippet.split()[0] in out

    out = _ok(["lsi", "similar", str(index), top[0].id, "-n", "3"])
    assert "documents similar to" in out
    out = _ok(["lsi", "similar", str(index), "--term", "car", "-n", "5"])
    assert "terms similar to" in out and "petrol" in out

    out = _ok(["lsi", "add", str(index), str(root / "more.jsonl"), "--id-field", "doc",
               "--text-field", "body", "--method", "update"])  # fmt: skip
    assert "240 documents (0 folded in, 40 added since the build)" in out
    assert load_index(index).n_docs == 240

    out = _ok(["lsi", "info", str(index)])
    assert "240 documents" in out and "advice" in out

    out = _ok(["lsi", "eval", str(index), "--queries", str(root / "queries.tsv"),
               "--qrels", str(root / "qrels.txt")])  # fmt: skip
    for measure in ("AP", "nDCG@10", "P@10", "R@100"):
        assert measure in out
    result = json.loads(_ok(["lsi", "eval", str(index), "--queries", str(root / "queries.tsv"),
                             "--qrels", str(root / "qrels.txt"), "--json"]))  # fmt: skip
    assert result["queries"] == 6 and result["lsi"]["AP"] > result["tfidf"]["AP"]


def test_errors_are_svdkit_errors(corpus_files, tmp_path):
    result = runner.invoke(app, ["lsi", "query", str(tmp_path), "text"])
    assert isinstance(result.exception, FileFormatError)
    assert "not an svdkit LSI index" in str(result.exception)
    result = runner.invoke(app, ["lsi", "similar", str(corpus_files / "index")])
    assert isinstance(result.exception, SvdkitError | FileFormatError)


def test_demo_runs_offline_with_no_arguments():
    out = _ok(["lsi", "demo"])
    assert "3.34, 2.54" in out and "c3" in out and "c5" in out
    assert "mean" in out
