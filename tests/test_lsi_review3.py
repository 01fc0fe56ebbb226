"""Third review of svdkit.lsi: documents without ids numbered onto ids already in use,
``rank_tol`` with ``k`` as a cap, terminal control characters in the CLI's tables, a
lone ``(id, text)`` pair read as two documents, and ``-0.0000`` scores (each test
failed before its fix)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from svdkit.errors import ConvergenceError, SvdkitError
from svdkit.lsi import build_index, count_corpus, demo_data, load_index
from svdkit.lsi.index import Hit, LsiIndex
from tests.cli_support import run_svdkit

# ------------------------------------------------ 6. numbering of documents without ids


def _small():
    return build_index(["cats and dogs", "dogs bark", "stocks fell", "stocks rose"], k=2)


@pytest.mark.parametrize("method", ["fold_in", "update"])
def test_a_document_without_id_skips_an_id_added_before(method):
    index = _small()  # ids '0' … '3'
    index.add([("5", "cats and birds")], method=method)
    index.add(["birds sing", "dogs sing"], method=method)  # numbered from the size 5: '5' is taken
    # (review 4: only the clashing one moves, past the batch's places 5 and 6)
    assert index.ids == ["0", "1", "2", "3", "5", "7", "6"]
    assert index.snippets[-2:] == ["birds sing", "dogs sing"]
    assert len(set(index.ids)) == index.n_docs == index.U.shape[0]


def test_numbering_skips_every_id_of_the_index_and_of_the_batch():
    index = _small()
    index.add([("4", "cats purr"), ("6", "dogs run")], method="fold_in")
    # the first is numbered 6 (the size), taken by the index: it moves past the batch's
    # places 6 … 8 to 9; the pair '8' of the same batch (after it) is kept, so the one
    # numbered 8 clashes with it too and takes 10 (review 4: places are never taken)
    index.add(["birds sing", ("8", "fish swim"), "bees hum"], method="fold_in")
    assert index.ids[-3:] == ["9", "8", "10"]


def test_mixed_strings_and_pairs_at_build_time():
    docs = ["cats and dogs", ("0", "dogs bark at cats"), "stocks fell", ("x", "stocks rose")]
    index = build_index(docs, k=1)
    # '0' is the pair's own id; the clashing text moves past the places 0 … 3 (review 4)
    assert index.ids == ["4", "0", "2", "x"]
    assert index.snippets[:3] == ["cats and dogs", "dogs bark at cats", "stocks fell"]
    assert count_corpus(docs).ids == index.ids
    # numbering is deterministic, and plain strings alone keep their places
    assert build_index(docs, k=1).ids == index.ids
    texts = ["cats purr", "dogs bark", "birds sing"]
    assert build_index(texts, k=1).ids == ["0", "1", "2"]
    assert build_index([texts[0], ("q", texts[1]), texts[2]], k=1).ids == ["0", "q", "2"]


def test_jsonl_records_with_and_without_ids(tmp_path):
    path = tmp_path / "c.jsonl"
    records = [{"text": "cats and dogs"}, {"id": 0, "text": "dogs bark"},
               {"text": "stocks fell"}, {"id": "2", "text": "stocks rose"}]
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    index = build_index(path, k=1)
    assert index.ids == ["4", "0", "5", "2"]
    assert [index.snippets[index.row_of(d)] for d in ("0", "2", "4", "5")] == [
        "dogs bark", "stocks rose", "cats and dogs", "stocks fell"]


def test_dask_build_numbers_as_build_index():
    import dask.bag as db

    from svdkit.lsi.dask_path import build_index_dask

    docs = ["cats and dogs", ("0", "dogs bark at cats"), "stocks fell", ("x", "stocks rose")]
    index = build_index_dask(db.from_sequence(docs, npartitions=2), k=1)
    assert index.ids == build_index(docs, k=1).ids == ["4", "0", "2", "x"]


def test_cli_add_without_ids_skips_ids_in_use(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    first = tmp_path / "a.jsonl"
    first.write_text('{"id": "1", "text": "cats and dogs"}\n{"text": "stocks fell"}\n'
                     '{"text": "dogs bark"}\n', encoding="utf-8")
    code, _, err = run("lsi", "index", first, "-o", tmp_path / "ix", "-k", "1")
    assert code == 0, err
    more = tmp_path / "b.jsonl"
    more.write_text('{"text": "birds sing"}\n{"id": "4", "text": "fish swim"}\n',
                    encoding="utf-8")
    # by place; '1' is taken: that one moves past the places 0 … 2 (review 4)
    assert load_index(tmp_path / "ix").ids == ["1", "3", "2"]
    code, _, err = run("lsi", "add", tmp_path / "ix", more, "--method", "fold_in")
    assert code == 0, err
    # numbered from the size, 3: taken by the index, and 4 by the batch
    assert load_index(tmp_path / "ix").ids == ["1", "3", "2", "5", "4"]


def test_an_explicit_id_clash_is_still_refused():
    index = _small()
    with pytest.raises(SvdkitError, match="'2' is already in the index"):
        index.add([("2", "birds sing")], method="fold_in")
    with pytest.raises(SvdkitError, match="'a' is given to more than one document"):
        build_index([("a", "cats"), "dogs", ("a", "birds")], k=1)
    assert index.n_docs == 4


# ------------------------------------------------------------- 7. rank_tol capped at k


@pytest.fixture(scope="module")
def random_docs():
    rng = np.random.default_rng(0)
    words = [f"w{i}x" for i in range(300)]
    return [" ".join(rng.choice(words, rng.integers(5, 40))) for _ in range(200)]


def test_rank_tol_with_a_smaller_k_is_capped_at_k(random_docs):
    free = build_index(random_docs, rank_tol=0.3)
    assert free.k > 50 and free.svd["rank_tol_met"] is True
    assert free.svd["reconstruction_error"] <= 0.3
    capped = build_index(random_docs, rank_tol=0.3, k=50)
    assert capped.k == 50
    assert capped.svd["rank_tol_met"] is False
    assert capped.svd["converged"] is True
    assert capped.svd["worst_relative_residual"] <= capped.svd["tol"]
    # honest: the error at k = 50 is above rank_tol, and the values are the leading 50
    assert capped.svd["reconstruction_error"] > 0.3
    plain = build_index(random_docs, k=50)
    assert np.allclose(capped.s, plain.s, rtol=0, atol=2 * plain.svd["tol"] * plain.s[0])
    note = capped.svd["note"]
    assert "rank_tol 0.3 not met at k = 50" in note
    assert f"{capped.svd['reconstruction_error']:.4f}" in note


def test_rank_tol_cap_survives_save_and_load(tmp_path, random_docs):
    capped = build_index(random_docs, rank_tol=0.3, k=40)
    capped.save(tmp_path / "ix")
    loaded = load_index(tmp_path / "ix")
    assert loaded.svd["rank_tol_met"] is False and loaded.k == 40


def test_rank_tol_cap_other_convergence_errors_still_raise(random_docs):
    # a tolerance no run can meet in one iteration is still a ConvergenceError
    with pytest.raises(ConvergenceError):
        build_index(random_docs, rank_tol=0.3, k=50, method="randomized", tol=1e-14)


def test_cli_rank_tol_capped_at_k(tmp_path, capsys, monkeypatch, random_docs):
    run = run_svdkit(capsys, monkeypatch)
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}) for t in random_docs), encoding="utf-8")
    code, out, err = run("lsi", "index", path, "-o", tmp_path / "ix", "-k", "5",
                         "--rank-tol", "0.1")
    assert code == 0, err
    text = " ".join(out.split())
    assert "k=5" in text and "note: --rank-tol 0.1 not met at -k 5" in text, text
    assert "raise -k or loosen --rank-tol" in text
    code, out, err = run("lsi", "info", tmp_path / "ix")
    assert code == 0, err
    text = " ".join(out.split())
    assert "k 5 (rank_tol 0.1 not met at k = 5)" in text, text
    assert "note: --rank-tol 0.1 not met at -k 5" in text


# ------------------------------------------------- 8. control characters in the tables


@pytest.fixture
def ansi_index(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ansi.jsonl"
    path.write_text(
        '{"id": "a\\u001b]0;pwned\\u0007", "text": "cats dogs \\u001b[2J\\u001b[31m red\\u009b"}\n'
        '{"id": "b", "text": "dogs bark cats"}\n{"id": "c", "text": "stock markets fell"}\n',
        encoding="utf-8",
    )
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("lsi", "index", path, "-o", tmp_path / "ix", "-k", "2")
    assert code == 0, err
    return run, tmp_path / "ix"


def _no_controls(text):
    return not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text)


def test_query_table_shows_no_control_characters(ansi_index):
    run, ix = ansi_index
    code, out, err = run("lsi", "query", ix, "cats")
    assert code == 0, err
    assert _no_controls(out), repr(out)
    assert "pwned" in out and "red" in out
    # display only: the stored id and snippet keep their characters
    index = load_index(ix)
    assert index.ids[0] == "a\x1b]0;pwned\x07"
    assert "\x1b[2J" in index.snippets[0]


def test_similar_table_shows_no_control_characters(ansi_index):
    run, ix = ansi_index
    code, out, err = run("lsi", "similar", ix, "b")
    assert code == 0, err
    assert _no_controls(out), repr(out)
    assert "pwned" in out
    code, out, err = run("lsi", "similar", ix, "a\x1b]0;pwned\x07")
    assert code == 0, err
    assert _no_controls(out), repr(out)


# ------------------------------------------------------ 9. a lone (id, text) pair


def test_a_lone_pair_is_refused_by_build_index():
    with pytest.raises(SvdkitError, match=r"\[\(id, text\)\]"):
        build_index(("doc1", "cats chase dogs and birds"), k=1)
    with pytest.raises(SvdkitError, match=r"\[\(id, text\)\]"):
        count_corpus(("doc1", "cats chase dogs and birds"))


@pytest.mark.parametrize("method", ["fold_in", "update", "auto"])
def test_a_lone_pair_is_refused_by_add(method):
    index = build_index(demo_data.pets_and_markets(), k=3)
    ids = list(index.ids)
    with pytest.raises(SvdkitError, match=r"\[\(id, text\)\]"):
        index.add(("x1", "cats chase dogs"), method=method)
    assert index.ids == ids
    # a list of pairs, or a tuple of pairs, is fine
    index.add([("x1", "cats chase dogs")], method=method)
    index.add((("x2", "dogs chase cats"),), method=method)
    assert index.ids == [*ids, "x1", "x2"]


# ------------------------------------------------------------------ -0.0000 scores


def test_scores_of_minus_zero_are_shown_as_zero(tmp_path, capsys, monkeypatch):
    index = build_index(demo_data.pets_and_markets(), k=3)
    index.save(tmp_path / "ix")
    run = run_svdkit(capsys, monkeypatch)

    def tiny(self, query, n=10, **kwargs):
        return [Hit(1, self.ids[0], 1e-17, 0, self.snippets[0]),
                Hit(2, self.ids[1], -1e-17, 1, self.snippets[1]),
                Hit(3, self.ids[2], -0.25, 2, self.snippets[2])]

    monkeypatch.setattr(LsiIndex, "search", tiny)
    code, out, err = run("lsi", "query", tmp_path / "ix", "cat")
    assert code == 0, err
    assert "-0.0000" not in out, out
    assert out.count("0.0000") == 2 and "-0.2500" in out

