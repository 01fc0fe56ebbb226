"""Fourth review of svdkit.lsi: one given id no longer shifts the ids of every later
document without one, a tuple of two texts is two documents (not a lone ``(id, text)``
pair), and the tables tell an escaped control character from a literal backslash
(each test failed before its fix)."""

from __future__ import annotations

import json

import pytest

from svdkit.errors import SvdkitError
from svdkit.lsi import build_index, count_corpus, demo_data, load_index
from svdkit.lsi.corpus import NumberedId, looks_like_pair, settle_ids
from tests.cli_support import run_svdkit

# ------------------------------------------- 4. one given id shifts no other document

_FOUR = ["alpha text", "beta text", "gamma text", "delta text"]


def test_one_given_id_moves_only_the_document_it_clashes_with():
    docs = [*_FOUR, ("0", "given id zero")]
    ids = count_corpus(docs).ids
    # place 0 clashes with the id '0': it moves past the places 0 … 4; the others keep theirs
    assert ids == ["5", "1", "2", "3", "0"]
    assert build_index(docs, k=1).ids == ids
    assert count_corpus(docs).ids == ids  # deterministic


def test_rows_after_a_given_id_keep_their_line_numbers(tmp_path):
    # a JSON-lines corpus of 50 rows, one of which carries "id": 0
    rows = [{"text": f"word{i} common text"} for i in range(50)]
    rows[10] = {"id": 0, "text": "given zero common text"}
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    index = build_index(path, k=1)
    for line, doc_id in enumerate(index.ids):
        if line == 0:
            assert doc_id == "50"  # the one clash: past every place
        elif line == 10:
            assert doc_id == "0"
        else:
            assert doc_id == str(line), (line, doc_id)
    assert index.snippets[index.row_of("50")] == "word0 common text"


def test_settle_ids_moves_duplicates_and_never_takes_a_place():
    numbered = [NumberedId(i) for i in range(6)]
    # '3' given by the index, '1' given in the batch: only those two move, in stream order
    ids = settle_ids([numbered[0], "1", numbered[2], numbered[3], numbered[4], "7"],
                     taken=["3", "6"])
    assert ids == ["0", "1", "2", "8", "4", "7"]
    assert settle_ids([numbered[1], numbered[1], numbered[2]], start=1) == ["1", "4", "2"]
    # a long run of clashes: each moved number is new, and no two ids agree
    many = settle_ids([NumberedId(i) for i in range(1000)], taken=[str(i) for i in range(500)])
    assert many[500:] == [str(i) for i in range(500, 1000)]
    assert many[:500] == [str(i) for i in range(1000, 1500)]


@pytest.mark.parametrize("method", ["fold_in", "update"])
def test_add_moves_only_the_clashing_document(method):
    index = build_index(_FOUR, k=2)  # ids '0' … '3'
    index.add([("5", "cats and birds")], method=method)  # size 5
    index.add(["birds sing", "dogs sing", "cats sing"], method=method)  # places 5, 6, 7
    assert index.ids[-3:] == ["8", "6", "7"]
    assert len(set(index.ids)) == index.n_docs == index.U.shape[0]


def test_dask_build_numbers_as_build_index():
    import dask.bag as db

    from svdkit.lsi.dask_path import build_index_dask

    docs = [*_FOUR, ("0", "given id zero")]
    for parts in (1, 2, 3):
        index = build_index_dask(db.from_sequence(docs, npartitions=parts), k=1)
        assert index.ids == ["5", "1", "2", "3", "0"]


def test_cli_add_moves_only_the_clashing_row(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join(json.dumps({"text": t}) for t in _FOUR), encoding="utf-8")
    code, _, err = run("lsi", "index", first, "-o", tmp_path / "ix", "-k", "1")
    assert code == 0, err
    more = tmp_path / "b.jsonl"
    more.write_text('{"text": "birds sing"}\n{"text": "fish swim"}\n{"id": "4", "text": "x y"}\n',
                    encoding="utf-8")
    code, _, err = run("lsi", "add", tmp_path / "ix", more, "--method", "fold_in")
    assert code == 0, err
    # places 4, 5, 6: the row at 4 clashes with the id '4' given after it, and moves to 7
    assert load_index(tmp_path / "ix").ids == ["0", "1", "2", "3", "7", "5", "4"]


# ----------------------------------------------- 5. a tuple of two texts is two documents


def test_a_tuple_of_two_texts_is_two_documents():
    texts = ("cats purr at dogs", "dogs bark at cats")
    assert build_index(texts, k=1).ids == ["0", "1"]
    assert count_corpus(texts).ids == ["0", "1"]
    records = [("d1", "cats purr at dogs"), ("d2", "dogs bark at cats")]
    ids, bodies = zip(*records, strict=True)  # two tuples of two strings
    assert build_index(bodies, k=1).snippets == list(bodies)
    assert count_corpus(ids).ids == ["0", "1"]  # one-word texts of the same length
    index = build_index(demo_data.pets_and_markets(), k=3)
    n = index.n_docs
    index.add(("birds sing at dawn", "fish swim in rivers"), method="fold_in")
    assert index.ids[-2:] == [str(n), str(n + 1)]


def test_an_id_text_pair_is_still_refused():
    for pair in [("doc1", "cats chase dogs and birds"), ("x" * 64, "a text"),
                 ("cat", "dogs")]:
        assert looks_like_pair(pair)
        with pytest.raises(SvdkitError, match=r"single \(id, text\) pair.*\[\(id, text\)\]"):
            build_index(pair, k=1)
    # an id too long, or with a space, or a second element no text: two documents
    for texts in [("x" * 65, "a text"), ("a b", "cats"), ("abcd", "dogs"), ("dogs", "cat")]:
        assert not looks_like_pair(texts)
        assert count_corpus(texts).ids == ["0", "1"]


# --------------------------------- 7. escaped control characters vs literal backslashes


@pytest.fixture
def lookalike_index(tmp_path):
    docs = [("a\x1b", "cats purr at dogs"), ("a\\x1b", "cats purr at birds"),
            ("b\\c", "cats and 🐈‍⬛ مرحبا e\u0301"), ("z", "stocks fell")]
    build_index(docs, k=2).save(tmp_path / "ix")
    return tmp_path / "ix"


def _id_cells(out):
    return [line.split("│")[3].strip() for line in out.splitlines() if line.startswith("│")]


def test_query_table_tells_an_escape_from_a_backslash(lookalike_index, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lsi", "query", lookalike_index, "cats", "-n", "3")
    assert code == 0, err
    cells = _id_cells(out)
    assert sorted(cells) == sorted(["a\\x1b", "a\\\\x1b", "b\\c"]), out
    assert len(set(cells)) == 3
    # a text with neither a control character nor an escape-like backslash is unchanged
    assert "🐈‍⬛ مرحبا e\u0301" in out
    assert "\x1b" not in out


def test_similar_table_tells_an_escape_from_a_backslash(lookalike_index, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("lsi", "similar", lookalike_index, "z", "-n", "3")
    assert code == 0, err
    cells = _id_cells(out)
    assert "a\\x1b" in cells and "a\\\\x1b" in cells, out
    # the title quotes the id with repr: its backslashes are not doubled again
    code, out, err = run("lsi", "similar", lookalike_index, "a\\x1b", "-n", "1")
    assert code == 0, err
    assert "documents similar to 'a\\\\x1b'" in out, out
