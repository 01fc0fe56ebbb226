"""An LSI index on disk shared by processes, saved durably, read whole (review h9).

D1: two ``svdkit lsi add`` on one index both kept their documents' fate to the last
save (one addition lost); D3: ``load_index`` during a save failed with a raw
``FileNotFoundError`` or a false "damaged"; D7: no fsync, killed saves left siblings;
D8: the reconstruction error was rounding noise (1e-8) at full rank; D9: ``rebuild``
advised with no CLI command; D10: checksummed but inconsistent contents loaded.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import svdkit.lsi as lsi_module
import svdkit.lsi.persist as persist
from svdkit.errors import FileFormatError, MissingFileError, SvdkitError
from svdkit.lsi import build_index, demo_data, load_index
from svdkit.lsi.index import reconstruction_error
from tests.cli_support import run_svdkit

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def svdkit(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ix"
    build_index(demo_data.pets_and_markets(), k=3).save(path)
    return path


def _jsonl(path: Path, docs: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs))
    return path


# ---------------------------------------------------------------- D1: lost additions


def _cli_add_child(path: str, source: str, started, loaded, go) -> None:
    """``svdkit lsi add PATH SOURCE`` in a child process; says when it has loaded the
    index, then waits for ``go`` before it adds and saves."""
    import sys

    from svdkit.cli.main import main

    real_load = lsi_module.load_index

    def load_then_wait(*args, **kwargs):
        index = real_load(*args, **kwargs)
        loaded.set()
        go.wait(30)
        return index

    lsi_module.load_index = load_then_wait
    sys.argv = ["svdkit", "lsi", "add", path, source]
    started.set()
    try:
        main()
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    os._exit(0)


def test_two_cli_adds_on_one_index_keep_both_additions(saved, tmp_path):
    """The child's ``lsi add`` waits for the lock this process holds from its load to
    its save, then adds to what this process saved: both documents are kept."""
    source = _jsonl(tmp_path / "b.jsonl", [("b1", "a dog and a cat at the vet")])
    started, loaded, go = FORK.Event(), FORK.Event(), FORK.Event()
    with persist.index_lock(saved):
        mine = load_index(saved)
        child = FORK.Process(target=_cli_add_child,
                             args=(str(saved), str(source), started, loaded, go))
        child.start()
        assert started.wait(30)
        # the child cannot load the index while the lock is held (without the lock it
        # would load now, and its save would drop the document added below)
        assert not loaded.wait(1.0)
        mine.add([("a1", "interest rates at the bank")])
        mine.save(saved)
    go.set()
    child.join(60)
    assert child.exitcode == 0
    final = load_index(saved)
    assert final.ids[-2:] == ["a1", "b1"] and final.n_docs == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.jsonl", "ix"]  # lock removed


def _api_add_child(path: str) -> None:
    index = load_index(path)
    index.add([("b1", "a dog and a cat at the vet")])
    index.save(path)
    os._exit(0)


def test_a_save_over_an_index_another_process_changed_is_refused(saved):
    mine = load_index(saved)
    child = FORK.Process(target=_api_add_child, args=(str(saved),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    mine.add([("a1", "interest rates at the bank")])
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    with pytest.raises(SvdkitError, match=r"changed by another process since this index "
                       r"was loaded.*load it again and repeat the change"):
        mine.save(saved)
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before  # nothing written
    assert load_index(saved).ids[-1] == "b1"
    again = load_index(saved)  # loaded again: its own saves (twice) are fine
    again.add([("a1", "interest rates at the bank")])
    again.save(saved)
    again.add([("a2", "the bank raised its rates")])
    again.save(saved)
    assert load_index(saved).ids[-3:] == ["b1", "a1", "a2"]
    mine.save(saved.parent / "elsewhere")  # another path: no conflict
    assert load_index(saved.parent / "elsewhere").ids[-1] == "a1"


def test_the_lock_is_reentrant_and_serialises_threads(saved):
    import threading

    order = []

    def writer(name):
        with persist.index_lock(saved):
            order.append(f"{name} in")
            with persist.index_lock(saved):  # (reentrant: save_index takes it again)
                index = load_index(saved)
                index.add([(name, "a shop of cat food")])
                index.save(saved)
            order.append(f"{name} out")

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(order[i].split()[0] == order[i + 1].split()[0] for i in range(0, 6, 2))
    assert sorted(load_index(saved).ids[-3:]) == ["t0", "t1", "t2"]


# ---------------------------------------------------------------- D3: loads during saves


def test_a_save_swapping_the_index_during_a_load_gives_one_whole_version(saved, monkeypatch):
    newer = build_index([*demo_data.pets_and_markets(), ("x", "cat food for the dog")], k=3)
    real_map = persist._load_array
    swapped = []

    def load_array_then_save(d, name, mmap):
        if name == "V" and not swapped:  # midway through the first reading
            swapped.append(True)
            newer.save(saved)
        return real_map(d, name, mmap)

    monkeypatch.setattr(persist, "_load_array", load_array_then_save)
    for mmap in (True, False):
        swapped.clear()
        index = load_index(saved, mmap=mmap)
        assert swapped and index.n_docs == 7 and index.ids[-1] == "x"
        assert np.array_equal(index.scores(["cat"]), newer.scores(["cat"]))


def _save_in_a_loop(path: str, stop) -> None:
    # a new index each time: one object saved over what another saved is refused
    # (it would drop that one's changes), as another process's
    i = 0
    while not stop.is_set():
        build_index(demo_data.pets_and_markets()[:4 + i % 3], k=2).save(path)
        i += 1
    os._exit(0)


@pytest.mark.parametrize("mmap", [True, False])
def test_loads_while_another_process_saves_never_fail(saved, mmap):
    stop = FORK.Event()
    child = FORK.Process(target=_save_in_a_loop, args=(str(saved), stop))
    child.start()
    try:
        sizes = set()
        for _ in range(60):
            index = load_index(saved, mmap=mmap)  # no error: one whole version each time
            assert len(index.ids) == index.n_docs == index.U.shape[0]
            assert index.search("cat", n=1)
            sizes.add(index.n_docs)
    finally:
        stop.set()
        child.join(60)
    assert child.exitcode == 0 and sizes <= {4, 5, 6}


def test_an_index_left_aside_by_an_interrupted_save_is_named(saved, monkeypatch):
    monkeypatch.setattr(persist, "_SWAP_WAIT", 0.05)
    aside = saved.parent / ".ix.abcd1234.old"
    saved.rename(aside)
    with pytest.raises(MissingFileError, match=r"does not exist; a save of it was interrupted"
                       r".*\.ix\.abcd1234\.old'.*rename that to 'ix'"):
        load_index(saved)
    aside.rename(saved)
    assert load_index(saved).n_docs == 6


def test_a_file_and_a_missing_path_are_told_apart(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileFormatError, match="is a file; an LSI index is a directory"):
        load_index(tmp_path / "file")
    with pytest.raises(MissingFileError, match=r"does not exist$"):
        load_index(tmp_path / "file" / "ix")
    with pytest.raises(MissingFileError, match=r"does not exist$"):
        load_index(tmp_path / "none")


# ---------------------------------------------------------------- D7: durability


def test_a_save_flushes_files_and_directories_before_removing_the_old(saved, monkeypatch):
    events = []
    real_fsync, real_rmtree = os.fsync, shutil.rmtree

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def rmtree(path, *args, **kwargs):
        events.append(("rmtree", str(path)))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    load_index(saved).save(saved)
    synced = [Path(p) for kind, p in events if kind == "fsync"]
    names = {p.name for p in synced if p.parent.name.endswith(".tmp")}
    assert names == persist._index_files()  # every file, in the temporary directory
    assert any(p.name.endswith(".tmp") for p in synced)  # the directory itself
    parent = [i for i, (kind, p) in enumerate(events) if p == str(saved.parent)]
    removed = [i for i, (kind, p) in enumerate(events)
               if kind == "rmtree" and p.endswith(".old")]
    assert parent and removed and parent[-1] < removed[0]  # the rename on disk first


def test_what_killed_saves_left_beside_the_index_is_removed(saved):
    for name in (".ix.abcd1234.tmp", ".ix.efgh5678.old", ".other.abcd1234.tmp",
                 ".ix.toolong123.old"):
        (saved.parent / name).mkdir()
        (saved.parent / name / "U.npy").write_bytes(b"x")
    (saved.parent / ".ix.zzzz9999.tmp").write_text("a file, not a save's directory")
    load_index(saved).save(saved)
    assert sorted(p.name for p in saved.parent.iterdir()) == [
        ".ix.toolong123.old", ".ix.zzzz9999.tmp", ".other.abcd1234.tmp", "ix"]


# ---------------------------------------------------------------- D8: reconstruction error


@pytest.mark.parametrize("k", [None, 10, 39])
def test_the_reconstruction_error_is_exact_at_and_below_full_rank(k):
    index = build_index(demo_data.topic_corpus(n_docs=40, seed=1).documents, k=k, tol=1e-12)
    W = index.weigh(index.counts)
    U, s, V = np.asarray(index.U), np.asarray(index.s), np.asarray(index.V)
    dense = np.linalg.norm(W.toarray() - (U * s) @ V.T) / np.linalg.norm(W.toarray())
    got = reconstruction_error(W, U, s, V)
    if k is None:  # full rank: rounding only, not √eps
        assert index.k == 40 and got < 1e-13
        assert abs(got - dense) < 1e-14
    else:
        assert got == pytest.approx(dense, rel=1e-6)
    assert index.svd["reconstruction_error"] == pytest.approx(got, rel=1e-6, abs=1e-14)


# ---------------------------------------------------------------- D9: the CLI's rebuild


def test_the_cli_rebuilds_what_it_advises_to_rebuild(svdkit, tmp_path):
    index = tmp_path / "ix"
    build_index(demo_data.pets_and_markets()[:4], k=3).save(index)
    source = _jsonl(tmp_path / "new.jsonl",
                    [(f"n{i}", "cat food and dog toys at the shop") for i in range(3)])
    code, out, err = svdkit("lsi", "add", index, source, "--method", "fold_in")
    assert code == 0, err
    assert "advice: rebuild" in out and f"svdkit lsi rebuild '{index}'" in out
    code, out, err = svdkit("lsi", "info", index)
    assert code == 0 and f"svdkit lsi rebuild '{index}'" in out
    code, out, err = svdkit("lsi", "rebuild", index)
    assert code == 0, err
    assert out.startswith("LsiIndex(7 documents")
    fresh = load_index(index)
    assert fresh.n_docs == fresh.n_svd_docs == 7 and fresh.history == []
    assert fresh.drift().advice == "ok" and fresh.ids[-3:] == ["n0", "n1", "n2"]
    code, out, err = svdkit("lsi", "rebuild", index, "-k", "2")
    assert code == 0 and load_index(index).k == 2
    code, out, err = svdkit("lsi", "rebuild", index, "-k", "0")
    assert code == 2 and "-k must be at least 1" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix", "new.jsonl"]


def test_the_id_field_help_of_add_says_how_documents_are_numbered(svdkit):
    code, out, _ = svdkit("lsi", "add", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "numbered on from the index's size" in text
    assert "row number 0, 1" not in text


# ---------------------------------------------------------------- D10: content checks


def _resign(folder: Path) -> None:
    """Rewrite the checksums of ``folder`` for its present files (as a tool would)."""
    meta = json.loads((folder / "meta.json").read_text())
    meta["sha256"] = {f: persist._sha256(folder / f) for f in meta["sha256"]}
    meta["meta_sha256"] = persist._meta_digest(meta)
    (folder / "meta.json").write_text(json.dumps(meta))


def _edit_meta(key, value):
    def edit(folder):
        meta = json.loads((folder / "meta.json").read_text())
        meta[key] = value
        (folder / "meta.json").write_text(json.dumps(meta))
    return edit


def _edit_array(name, change):
    def edit(folder):
        np.save(folder / f"{name}.npy", change(np.load(folder / f"{name}.npy")))
    return edit


def _edit_json(name, change):
    def edit(folder):
        (folder / name).write_text(json.dumps(change(json.loads((folder / name).read_text()))))
    return edit


@pytest.mark.parametrize("edit, message", [
    (_edit_json("documents.json", lambda d: {**d, "ids": ["a"] * len(d["ids"])}),
     r"documents\.json holds the id 'a' more than once"),
    (_edit_json("vocabulary.json", lambda v: ["cat"] * len(v)),
     r"vocabulary\.json holds the term 'cat' more than once"),
    (_edit_array("U", lambda a: np.full_like(a, np.nan)), r"U\.npy holds NaN"),
    (_edit_array("s", lambda a: a * np.inf), r"s\.npy holds NaN or infinite"),
    (_edit_array("global_weights", lambda a: a * np.nan), r"global_weights\.npy holds NaN"),
    (_edit_array("counts_data", lambda a: -a), "negative counts"),
    (_edit_meta("n_svd_docs", 2.7), "n_svd_docs = 2.7, not a whole number"),
    (_edit_meta("n_docs", 6.0), "n_docs = 6.0, not a whole number"),
    (_edit_meta("history", "ab"), "history not a list of mappings"),
    (_edit_meta("normalize", "false"), "normalize = 'false', not true or false"),
    (_edit_meta("version", 2.0), r"format version 2\.0"),
], ids=["ids twice", "terms twice", "NaN in U", "inf in s", "NaN weights", "negative counts",
        "fractional n_svd_docs", "float n_docs", "history a string", "normalize a string",
        "version a float"])
def test_checksummed_but_inconsistent_contents_are_refused(saved, edit, message):
    edit(saved)
    _resign(saved)
    with pytest.raises(FileFormatError, match=message):
        load_index(saved)


def test_an_array_file_that_is_a_directory_is_an_svdkit_error(saved):
    (saved / "U.npy").unlink()
    (saved / "U.npy").mkdir()
    with pytest.raises(FileFormatError, match=r"U\.npy is a directory"):
        load_index(saved, verify=False, mmap=False)
    with pytest.raises(FileFormatError, match=r"U\.npy is a directory"):
        load_index(saved, verify=False)


def test_a_memory_mapped_load_reads_the_same_arrays(saved):
    mapped, read = load_index(saved), load_index(saved, mmap=False)
    for name in ("U", "V"):
        assert isinstance(getattr(mapped, name), np.memmap)
        assert np.array_equal(getattr(mapped, name), getattr(read, name))
    assert np.array_equal(mapped.scores(["cat dog"]), read.scores(["cat dog"]))
