"""End-to-end sweep fixes: an empty-matching ``token_pattern`` refused (and no raw
scikit-learn warning), ``svdkit svd`` refusing empty paths and a nameless ``.npz``,
progress bars drawn on a terminal only, ``lsi info`` / ``similar --term`` showing the
text settings and quoted n-grams, and the docs' examples."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from svdkit.errors import SvdkitError
from svdkit.lsi import TextOptions, build_index, count_corpus, load_index
from tests.cli_support import error_line, run_svdkit

DOCS_MD = Path(__file__).resolve().parents[1] / "docs" / "lsi.md"

TITLES = {
    "c1": "Human machine interface for ABC computer applications",
    "c2": "A survey of user opinion of computer system response time",
    "c3": "The EPS user interface management system",
    "c4": "System and human system engineering testing of EPS",
    "c5": "Relation of user perceived response time to error measurement",
    "m1": "The generation of random, binary, ordered trees",
    "m2": "The intersection graph of paths in trees",
    "m3": "Graph minors IV: Widths of trees and well-quasi-ordering",
    "m4": "Graph minors: A survey",
}
CJK = ["我喜欢吃苹果", "苹果很好吃", "今天天气很好"]


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture
def folder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TITLES.items():
        (corpus / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return corpus


# ------------------------------------------------------- #3 token_pattern and the empty string


@pytest.mark.parametrize(
    "pattern", ["", r"\w*", r"(\w*)", r"(?u)\b\w*\b", "a?", "x|", r"x(\w*)", r"(\w+)|,"]
)
def test_a_token_pattern_that_matches_the_empty_string_is_refused(pattern):
    with pytest.raises(SvdkitError, match="matches the empty string") as err:
        TextOptions(token_pattern=pattern)
    assert err.value.param == "token_pattern"
    assert str(err.value).startswith(f"token_pattern {pattern!r} matches the empty string")


def test_the_command_refuses_it_naming_the_option_and_writes_nothing(folder, tmp_path, svdkit):
    for pattern in ("", r"\w*"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code, out, err = svdkit("lsi", "index", folder, "-o", tmp_path / "idx",
                                    "--token-pattern", pattern)
        assert [str(w.message) for w in caught] == []
        line = error_line(code, err)
        assert line.startswith(f"error: --token-pattern '{pattern}' matches the empty string")
        assert "UserWarning" not in err and "stop_words" not in err and out == ""
        assert not (tmp_path / "idx").exists()


def test_an_invalid_regular_expression_is_a_clear_error(folder, tmp_path, svdkit):
    with pytest.raises(SvdkitError, match=r"^token_pattern '\(' is not a regular expression"):
        TextOptions(token_pattern="(")
    code, _, err = svdkit("lsi", "index", folder, "-o", tmp_path / "idx", "--token-pattern", "(")
    assert error_line(code, err).startswith(
        "error: --token-pattern '(' is not a regular expression: missing )")


def test_a_pattern_finer_than_the_stop_words_gives_no_raw_warning():
    # scikit-learn warned "Your stop_words may be inconsistent with your preprocessing"
    # on every chunk and every query; a stop word is still removed where a token is one
    docs = ["be a bad cab", "the ace had a deed", "add a bead"]
    # (recorded, not raised: scikit-learn catches any exception of its own check)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = TextOptions(token_pattern=r"[a-h]+")
        counts = count_corpus(docs, options)
        ix = build_index(docs, k=2, options=options)
        hits = ix.search("bad bead")
        ix.term_of("bead")
    assert [str(w.message) for w in caught] == []
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert "be" in ENGLISH_STOP_WORDS and "had" in ENGLISH_STOP_WORDS
    assert "be" not in counts.vocabulary and "had" not in counts.vocabulary
    for row, text in enumerate(docs):  # every other token of [a-h]+ counted
        tokens = [t for t in re.findall(r"[a-h]+", text) if t not in ENGLISH_STOP_WORDS]
        assert tokens and set(tokens) <= set(counts.vocabulary)
        expected = np.zeros(len(counts.vocabulary), dtype=int)
        for t in tokens:
            expected[counts.vocabulary.index(t)] += 1
        np.testing.assert_array_equal(counts.counts[row].toarray().ravel(), expected)
    assert hits and hits[0].id in {"0", "2"}


def test_a_group_that_matches_nothing_gives_no_empty_term():
    # "k(\w*)" cannot match "" as a whole, but its token (the group) is empty on "k";
    # the probes of TextOptions do not meet a "k": the tokenizer drops such tokens
    counts = count_corpus(["kq k kz", "k kq"], TextOptions(token_pattern=r"k(\w*)"))
    assert counts.vocabulary == ["q", "z"]
    np.testing.assert_array_equal(counts.counts.toarray(), [[1, 1], [1, 0]])


# --------------------------------------------------------------- #5 svdkit svd's paths


def test_svd_refuses_an_empty_path_as_the_other_commands_do(tmp_path, svdkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("m.npy", np.eye(4))
    advice = "an empty path; name a file (is a shell variable unset?)"
    code, _, err = svdkit("svd", "", "-k", "1", "-o", "o.npz")
    line = error_line(code, err)
    # a file parameter: no advice to use '.', a folder, which svd refuses
    assert f"Invalid value for 'file': {advice}" in line and "'.'" not in line
    code, _, err = svdkit("svd", "m.npy", "-k", "1", "-o", "")
    assert f"Invalid value for '--output' / '-o': {advice}" in error_line(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]
    # the other commands: the same words for a file parameter, '.' for a folder's
    code, _, err = svdkit("lsi", "eval", "idx", "--queries", "", "--qrels", "q.tsv")
    assert f"Invalid value for '--queries': {advice}" in error_line(code, err)
    code, _, err = svdkit("lsi", "index", "", "-o", "idx")
    line = error_line(code, err)
    assert "Invalid value for 'source': an empty path; name a file or folder" in line
    assert "'.'" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]


def test_svd_output_named_only_npz_asks_for_a_name(tmp_path, svdkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("m.npy", np.eye(4))
    code, _, err = svdkit("svd", "m.npy", "-k", "1", "-o", ".npz")
    line = error_line(code, err)
    assert line == "error: --output '.npz' has no name before .npz: name the file (e.g. out.npz)"
    code, _, err = svdkit("svd", "m.npy", "-k", "1", "-o", "sub/.NPZ")
    assert error_line(code, err) == (
        "error: --output 'sub/.NPZ' has no name before .npz: name the file (e.g. out.npz)")
    code, _, err = svdkit("svd", ".npy", "-k", "1", "-o", "o.npz")
    assert "'.npy' has no name before .npy" in error_line(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]
    code, _, err = svdkit("svd", "m.npy", "-k", "1", "-o", "out.npz")  # a name: fine
    assert code == 0, err
    with np.load(tmp_path / "out.npz", allow_pickle=False) as z:
        assert z["s"][0] == pytest.approx(1.0)


# ------------------------------------------------------- #6 progress bars on a terminal only


def _console_into(buf, terminal):
    import rich.console

    class Captured(rich.console.Console):
        def __init__(self, *args, **kwargs):
            kwargs.pop("stderr", None)
            super().__init__(*args, file=buf, width=160, force_terminal=terminal, **kwargs)

    return Captured


@pytest.mark.parametrize("terminal", [False, True])
def test_the_engine_bar_is_drawn_on_a_terminal_only(monkeypatch, terminal):
    import rich.console

    from svdkit.lowrank import truncated_svd

    A = np.random.default_rng(0).standard_normal((300, 120))
    buf = io.StringIO()
    monkeypatch.setattr(rich.console, "Console", _console_into(buf, terminal))
    r = truncated_svd(A, 5, method="krylov", progress=True)
    s = np.linalg.svd(A, compute_uv=False)
    assert np.allclose(r.s, s[:5], rtol=1e-8)
    assert np.linalg.norm(A @ r.Vh.T - r.U * r.s) <= 1e-5 * s[0]
    if terminal:
        assert "5/5 certified" in buf.getvalue()
    else:  # redirected: no last frame cut at 80 columns ("worst residual 0.2…")
        assert buf.getvalue() == ""


def test_commands_leave_nothing_on_a_redirected_stderr(folder, tmp_path, svdkit):
    # under pytest standard error is not a terminal, as in a CI log
    np.save(tmp_path / "m.npy", np.random.default_rng(0).standard_normal((300, 120)))
    code, out, err = svdkit("svd", tmp_path / "m.npy", "-k", "5", "--method", "krylov",
                            "-o", tmp_path / "o.npz")
    assert code == 0 and err == "" and out.startswith("5 triplets by krylov: certified")
    code, out, err = svdkit("lsi", "index", folder, "-o", tmp_path / "idx", "-k", "2")
    assert code == 0 and err == "" and "certified" in out
    (tmp_path / "new.jsonl").write_text('{"id": "n1", "text": "graph of trees"}\n')
    code, out, err = svdkit("lsi", "add", tmp_path / "idx", tmp_path / "new.jsonl",
                            "--method", "update")
    assert code == 0 and err == "" and "1 added" in out, (out, err)


# ------------------------------------------------------------- #7 lsi info, similar --term


def _settings_line(svdkit, index):
    code, out, err = svdkit("lsi", "info", index)
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("settings: ")]
    return line


def test_info_shows_the_token_pattern_and_the_analyzer(folder, tmp_path, svdkit):
    assert svdkit("lsi", "index", folder, "-o", tmp_path / "d", "-k", "2")[0] == 0
    default = _settings_line(svdkit, tmp_path / "d")
    assert "analyzer word" in default and "stop words english" in default
    assert "token_pattern" not in default  # the default is not spelt out
    code, _, err = svdkit("lsi", "index", folder, "-o", tmp_path / "w", "-k", "2",
                          "--token-pattern", r"(?u)\b\w+\b", "--ngram-range", "1", "2")
    assert code == 0, err
    line = _settings_line(svdkit, tmp_path / "w")
    assert r"token_pattern '(?u)\b\w+\b'" in line and "ngram_range (1, 2)" in line
    assert "iv" in load_index(tmp_path / "w").vocabulary  # the pattern took effect


def test_info_of_a_character_index_shows_no_stop_words(tmp_path, svdkit):
    source = tmp_path / "zh.jsonl"
    source.write_text("".join(f'{{"id": "{i}", "text": "{t}"}}\n' for i, t in enumerate(CJK)),
                      encoding="utf-8")
    code, _, err = svdkit("lsi", "index", source, "-o", tmp_path / "c", "-k", "2",
                          "--analyzer", "char_wb", "--ngram-range", "1", "2")
    assert code == 0, err
    line = _settings_line(svdkit, tmp_path / "c")
    assert "analyzer char_wb" in line and "ngram_range (1, 2)" in line
    assert "stop words" not in line and "token_pattern" not in line


def test_similar_terms_of_a_character_index_are_quoted(tmp_path, svdkit):
    ix = build_index(CJK, k=2, options=TextOptions(analyzer="char_wb", ngram_range=(1, 2)))
    ix.save(tmp_path / "c")
    code, out, err = svdkit("lsi", "similar", tmp_path / "c", "--term", "苹果", "-n", "40")
    assert code == 0, err
    expected = [t for t, _ in ix.similar_terms("苹果", 40)]
    assert " 吃" in expected or "吃 " in expected  # padded n-grams are among them
    shown = [row.split("│")[1].strip() for row in out.splitlines() if row.startswith("│")]
    assert shown == [repr(t) for t in expected]
    assert len(set(shown)) == len(shown)  # no two rows print alike
    # a word index keeps its terms plain
    words = build_index(list(TITLES.values()), k=2)
    words.save(tmp_path / "w")
    code, out, err = svdkit("lsi", "similar", tmp_path / "w", "--term", "graph", "-n", "3")
    shown = [row.split("│")[1].strip() for row in out.splitlines() if row.startswith("│")]
    assert code == 0 and shown == [t for t, _ in words.similar_terms("graph", 3)]


# ----------------------------------------------------------------------------------- docs


def test_the_python_example_of_lsi_md_names_a_folder_document_by_its_path(folder):
    text = DOCS_MD.read_text(encoding="utf-8")
    called = re.findall(r'index\.similar_documents\("([^"]+)"\)', text)
    assert called == ["c3.txt"]
    index = build_index(str(folder), k=2, options=TextOptions(min_df=2))
    hits = index.similar_documents(called[0])
    assert hits and "c3.txt" not in [h.id for h in hits]
    assert {h.id for h in hits} <= {f"{name}.txt" for name in TITLES}


def test_lsi_md_says_one_text_field_is_indexed_for_beir():
    text = " ".join(DOCS_MD.read_text(encoding="utf-8").split())
    assert "one text field is indexed" in text and "published baselines" in text
    assert """jq -c '{_id, text: (.title + " " + .text)}'""" in text
