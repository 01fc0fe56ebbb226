"""A new user's walk through README.md and docs/: what the commands did that the docs did not
say (or said otherwise), each fixed and pinned here.

Every test runs the real entry point (:func:`svdkit.cli.main.main`: an ``SvdkitError``
is one ``error: …`` line on standard error and exit code 2) in process, at the 80
columns rich assumes for a pipe.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_support import error_line as _error
from cli_support import run_svdkit

from svdkit.errors import FileFormatError
from svdkit.lora import save_safetensors
from svdkit.lsi import demo_data
from svdkit.lsi.corpus import open_corpus
from svdkit.lsi.evaluate import read_qrels


@pytest.fixture
def svdkit(capsys, monkeypatch):
    """``svdkit(*args) -> (exit code, stdout, stderr)`` (:func:`cli_support.run_svdkit`)."""
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture(scope="module")
def lsi_index(tmp_path_factory):
    """A small index of the generated topic corpus (folder of .txt files), k = 6."""
    root = tmp_path_factory.mktemp("walk_lsi")
    corpus = root / "corpus"
    corpus.mkdir()
    for doc_id, text in demo_data.topic_corpus(n_docs=60, seed=5).documents:
        (corpus / f"{doc_id}.txt").write_text(text + "\n")
    from svdkit.lsi import build_index

    build_index(str(corpus), 6).save(root / "idx")
    return root


# ------------------------------------------------------------------ lsi


def test_lsi_similar_refuses_a_document_id_and_a_term_together(svdkit, lsi_index):
    """``similar IDX DOC --term W`` answered for the term and silently dropped DOC."""
    doc = sorted((lsi_index / "corpus").iterdir())[0].name
    msg = _error(*svdkit("lsi", "similar", lsi_index / "idx", doc, "--term", "car")[::2])
    assert "not both" in msg and doc in msg


def test_lsi_similar_terms_title_is_not_wrapped(svdkit, lsi_index):
    """The terms table is narrow: its title wrapped as 'terms similar to' / "'car'"."""
    code, out, err = svdkit("lsi", "similar", lsi_index / "idx", "--term", "car", "-n", "3")
    assert code == 0, err
    assert "terms similar to 'car'" in out


def test_lsi_query_with_no_known_term_says_so(svdkit, lsi_index):
    """A query of unknown words listed the first n documents, every score 0.0000."""
    code, out, err = svdkit("lsi", "query", lsi_index / "idx", "zebra xylophone")
    assert code == 0, err
    assert "0.0000" not in out
    assert "note:" in err and "vocabulary" in err
    code, out, err = svdkit("lsi", "query", lsi_index / "idx", "car", "-n", "3")
    assert code == 0 and "note:" not in err and "LSI results" in out


def test_lsi_info_prints_the_settings(svdkit, lsi_index):
    """``info`` is documented as "settings, certificate, drift": the settings were missing."""
    code, out, err = svdkit("lsi", "info", lsi_index / "idx")
    assert code == 0, err
    assert "settings:" in out
    assert "stop words english" in out and "min_df 1" in out and "scaling p = 1" in out


def _smart_collection(root):
    """A SMART collection in MED's layout: .ALL documents, .QRY queries, .REL judgements."""
    truth = demo_data.topic_corpus(n_docs=60, seed=7)
    ids = {}
    with open(root / "MED.ALL", "w") as f:
        for i, (doc_id, text) in enumerate(truth.documents, 1):
            ids[doc_id] = i
            f.write(f".I {i:04d}\n.W\n{text}\n")
    from svdkit.lsi.demo import DEMO_QUERIES

    topics = list(DEMO_QUERIES)
    with open(root / "MED.QRY", "w") as f:
        for q, topic in enumerate(topics, 1):
            f.write(f".I {q}\n.W\n{DEMO_QUERIES[topic]}\n")
    with open(root / "MED.REL", "w") as f:
        for q, topic in enumerate(topics, 1):
            for d in sorted(truth.relevant(topic)):
                f.write(f"{q} 0 {ids[d]} 1\n")


def test_lsi_index_reads_a_smart_collection(svdkit, tmp_path):
    """``lsi eval --queries MED.QRY --qrels MED.REL`` needs an index of MED.ALL, which
    ``lsi index`` could not read ("cannot tell the format … or pass format=")."""
    _smart_collection(tmp_path)
    code, out, err = svdkit("lsi", "index", tmp_path / "MED.ALL", "-o", tmp_path / "med",
                            "-k", "6")  # fmt: skip
    assert code == 0, err
    assert "60 documents" in out
    code, out, err = svdkit("lsi", "eval", tmp_path / "med", "--queries", tmp_path / "MED.QRY",
                            "--qrels", tmp_path / "MED.REL", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["queries"] == 6 and result["lsi"]["AP"] > 0.5
    # the ids are the .I numbers without their leading zeros, as the .REL readers read them
    assert [d for d, _ in open_corpus(tmp_path / "MED.ALL")][:2] == ["1", "2"]


def test_lsi_corpus_format_mismatch_is_not_called_missing(tmp_path, svdkit):
    """``--format csv`` on an existing folder said "corpus file '…' does not exist"."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("some text")
    with pytest.raises(FileFormatError, match="is a folder"):
        open_corpus(tmp_path / "corpus", "csv")
    with pytest.raises(FileFormatError, match="is a file, not a folder"):
        open_corpus(tmp_path / "corpus" / "a.txt", "folder")
    (tmp_path / "notes.md").write_text("x")
    msg = _error(*svdkit("lsi", "index", tmp_path / "notes.md", "-o", tmp_path / "i")[::2])
    assert "--format" in msg and "SMART" in msg


def test_qrels_with_uneven_columns_names_the_line(tmp_path):
    """Passing a .QRY as qrels said "found [1, 2, 3, 4, 5]" (the widths seen), no line."""
    p = tmp_path / "q.rel"
    p.write_text("1 0 5 1\n1 0 6 1\n2 7\n")
    with pytest.raises(FileFormatError, match="line 3: 2 column"):
        read_qrels(p)


# ------------------------------------------------------------------ svd


def test_svd_rank_norm_without_rank_tol_is_an_error(svdkit, tmp_path):
    """``svd M -k 5 --rank-norm energy`` ignored the norm silently."""
    np.save(tmp_path / "m.npy", np.random.default_rng(0).standard_normal((60, 40)))
    msg = _error(*svdkit("svd", tmp_path / "m.npy", "-k", "5", "--rank-norm", "energy",
                         "-o", tmp_path / "o.npz")[::2])  # fmt: skip
    assert "--rank-tol" in msg
    assert not (tmp_path / "o.npz").exists()
    code, _out, err = svdkit("svd", tmp_path / "m.npy", "--rank-tol", "0.5", "--rank-norm",
                             "energy", "-o", tmp_path / "o.npz")  # fmt: skip
    assert code == 0, err


# ------------------------------------------------------------------ explain


def test_explain_output_extension_picks_the_format(svdkit, tmp_path):
    """``explain A -o report.json`` wrote the terminal's boxes into a .json file."""
    code, _out, err = svdkit("explain", "1 2; 3 4", "--no-steps", "-o", tmp_path / "r.json")
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == "svdkit.explain"
    code, _out, err = svdkit("explain", "1 2; 3 4", "--no-steps", "-o", tmp_path / "r.md")
    assert code == 0 and (tmp_path / "r.md").read_text().startswith("# svdkit explain")
    # an explicit --format wins, and other extensions keep the terminal text
    code, _out, err = svdkit("explain", "1 2; 3 4", "--no-steps", "-f", "markdown",
                             "-o", tmp_path / "x.json")  # fmt: skip
    assert code == 0 and (tmp_path / "x.json").read_text().startswith("# svdkit explain")
    code, _out, err = svdkit("explain", "1 2; 3 4", "--no-steps", "-o", tmp_path / "r.txt")
    assert code == 0 and "Matrix A" in (tmp_path / "r.txt").read_text()


def test_explain_a_directory_is_not_an_unknown_name(svdkit, tmp_path, monkeypatch):
    """``svdkit explain data`` on the folder data/ said "unknown name 'data'"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    msg = _error(*svdkit("explain", "data")[::2])
    assert "is a directory" in msg and "unknown name" not in msg


def test_explain_large_matrix_is_shown_in_part_on_the_terminal(svdkit, tmp_path):
    """A 300×300 file took minutes to draw every entry of a dozen 300×300 matrices, wrapped
    over thousands of lines; the terminal page now shows their corners, as NumPy does,
    and says so, while --format json keeps every entry."""
    a = np.random.default_rng(0).standard_normal((40, 30))
    np.save(tmp_path / "a.npy", a)
    code, out, err = svdkit("explain", tmp_path / "a.npy", "--no-steps")
    assert code == 0, err
    assert "⋯" in out and "⋮" in out and "shown in part" in out
    assert len(out.splitlines()) < 200
    code, out, err = svdkit("explain", tmp_path / "a.npy", "--no-steps", "-f", "json")
    facts = {s["id"]: s["facts"] for s in json.loads(out)["sections"]}
    assert np.array_equal(np.array(facts["input"]["matrix"]), a)
    assert len(facts["svd"]["U"]) == 40 and len(facts["svd"]["singular_values"]) == 30
    code, out, err = svdkit("explain", "1 2; 3 4", "--no-steps")
    assert code == 0 and "⋯" not in out and "shown in part" not in out


# ------------------------------------------------------------------ lora


def test_lora_tables_never_cut_module_names(svdkit, tmp_path):
    """At 80 columns every module of a BERT read ``encoder.la…``: the rows could not be
    told apart. Names are folded onto more lines instead, never cut."""
    rng = np.random.default_rng(0)
    names = [f"encoder.layer.{i}.attention.self.{p}.weight" for i in range(2)
             for p in ("query", "value")]  # fmt: skip
    base = {n: rng.standard_normal((48, 40)).astype(np.float32) for n in names}
    tuned = {n: w + (rng.standard_normal((48, 2)) @ rng.standard_normal((2, 40))).astype(
        np.float32) for n, w in base.items()}  # fmt: skip
    save_safetensors(tmp_path / "base.safetensors", base)
    save_safetensors(tmp_path / "tuned.safetensors", tuned)
    code, out, err = svdkit("lora", "extract", tmp_path / "base.safetensors",
                            tmp_path / "tuned.safetensors", "-o", tmp_path / "ad", "--rank", "2")
    assert code == 0, err
    assert "…" not in out
    first_column = "".join(line.split("│")[1].strip() for line in out.splitlines()
                           if line.startswith("│"))  # fmt: skip
    for n in names:
        assert n.removesuffix(".weight") in first_column
    for args in (("resize", tmp_path / "ad", "-o", tmp_path / "small", "--rank", "1"),
                 ("analyse", tmp_path / "base.safetensors", tmp_path / "tuned.safetensors")):
        code, out, err = svdkit("lora", *args)
        assert code == 0, err
        assert "…" not in out
