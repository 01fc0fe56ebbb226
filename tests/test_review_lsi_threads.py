"""Review of ``svdkit.lsi`` from several threads: a search during ``add`` corrupted the index.

A search that filled the cold ``doc_vectors`` cache while ``fold_in`` was between
replacing ``U`` and appending to the cache left the cache with too few rows (the new
documents never found) or too many (appended twice: ``IndexError`` in ``_hits``, and a
saved index that ``load_index`` refused); ``svd_update`` replaced ``U``, ``s``, ``V``
before it dropped the cache, so a query in between was projected with the new ``V``
and scored against the old document vectors; ``save_index`` wrote whatever it found.

Every interleaving here is forced (a function used inside the change is patched to
wait on a ``threading.Event`` while the other thread runs), never left to luck. A
thread that does not finish in :data:`WAIT` seconds is a failure (a deadlock), not a
hang.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import svdkit.lsi.index as index_module
import svdkit.lsi.update as update_module
from svdkit.errors import ShapeError, SvdkitError
from svdkit.lsi import build_index, load_index
from svdkit.lsi.index import LsiIndex, document_vectors
from svdkit.lsi.update import fold_in, svd_update

#: Seconds a forced interleaving may wait for the other thread (only reached on failure).
WAIT = 10.0

_rng = random.Random(0)
_WORDS = [f"w{i}" for i in range(400)]


def _doc(i: int) -> tuple[str, str]:
    lo = (i % 5) * 80
    return f"d{i}", " ".join(_rng.choice(_WORDS[lo : lo + 100]) for _ in range(30))


BASE = [_doc(i) for i in range(600)]
NEW = [_doc(i) for i in range(600, 610)]
MORE = [_doc(i) for i in range(610, 620)]
QUERY = "w1 w2 w3 w85"


def _index() -> LsiIndex:
    return build_index(BASE, k=10)


class _Thread(threading.Thread):
    """A thread that keeps its function's result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as err:  # reported by finish()
            self.error = err

    def finish(self) -> Any:
        self.join(WAIT)
        assert not self.is_alive(), "the other thread is stuck (a deadlock)"
        if self.error is not None:
            raise self.error
        return self.result


def _pause_counts_vstack(monkeypatch, index: LsiIndex, meanwhile: Callable[[], None]) -> list:
    """Run ``meanwhile()`` when ``fold_in`` stacks the new counts under ``index.counts``:
    the new documents are counted and projected, not yet in place."""
    real = update_module.sp.vstack
    counts, ran = index.counts, []

    def vstack(blocks, *args, **kwargs):
        if not ran and blocks and blocks[0] is counts:
            ran.append(True)
            meanwhile()
        return real(blocks, *args, **kwargs)

    monkeypatch.setattr(update_module.sp, "vstack", vstack)
    return ran


def _hit_pairs(hits) -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in hits]


def _assert_same_hits(got, want) -> None:
    assert [h.id for h in got] == [h.id for h in want]
    np.testing.assert_allclose([h.score for h in got], [h.score for h in want],
                               rtol=0, atol=1e-6)


def _assert_consistent(index: LsiIndex, n_docs: int) -> None:
    """Every part of the index has ``n_docs`` documents, and the cached document
    vectors are those of its ``U`` and ``s``."""
    assert index.n_docs == len(index.ids) == len(index.snippets) == n_docs
    assert index.counts.shape[0] == n_docs
    assert index.doc_vectors.shape == (n_docs, index.k)
    np.testing.assert_allclose(index.doc_vectors,
                               document_vectors(index.U, index.s, index.scaling), atol=1e-6)


# ---------------------------------------------------------------- fold-in and search


def test_a_search_during_a_fold_in_leaves_the_cache_whole(monkeypatch):
    """The reviewer's race (3020 rows for 3010 documents): a search fills the cold cache
    while the fold-in is under way; the fold-in then appends its rows once."""
    index = _index()
    assert index.doc_vectors_cache is None  # cold, as in the report
    want = _index().search(QUERY, n=5)
    searcher = _Thread(lambda: index.search(QUERY, n=5))
    ran = _pause_counts_vstack(monkeypatch, index, lambda: (searcher.start(), searcher.finish()))

    assert fold_in(index, NEW) == len(NEW)

    assert ran
    _assert_same_hits(searcher.result, want)  # the index before the fold-in
    _assert_consistent(index, len(BASE) + len(NEW))
    similar = index.similar_documents("d605", n=3)  # the new documents are found
    assert len(similar) == 3 and all(h.id == index.ids[h.row] for h in similar)
    assert any(h.id == "d605" for h in index.search(dict(NEW)["d605"], n=3))


def test_a_save_during_a_fold_in_writes_one_state(monkeypatch, tmp_path):
    """A save while a fold-in is under way writes the index before it, loadable."""
    index = _index()
    before = tmp_path / "before"
    saver = _Thread(lambda: index.save(before))
    _pause_counts_vstack(monkeypatch, index, lambda: (saver.start(), saver.finish()))

    fold_in(index, NEW)

    loaded = load_index(before, mmap=False)
    _assert_consistent(loaded, len(BASE))
    assert loaded.ids == index.ids[: len(BASE)]
    index.save(tmp_path / "after")
    _assert_consistent(load_index(tmp_path / "after"), len(BASE) + len(NEW))


class _WatchedLock:
    """``index._update_lock``, which says when a thread other than the main one waits."""

    def __init__(self, lock: Any) -> None:
        self.lock, self.other_waits = lock, threading.Event()

    def __enter__(self) -> _WatchedLock:
        if threading.current_thread() is not threading.main_thread():
            self.other_waits.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_two_fold_ins_are_serialised(monkeypatch):
    """A second fold-in waits for the first: no document, count or row is lost."""
    index = _index()
    index.doc_vectors  # noqa: B018 (warm: both fold-ins extend the cache)
    watched = _WatchedLock(index._update_lock)
    monkeypatch.setattr(index, "_update_lock", watched)
    second = _Thread(lambda: fold_in(index, MORE))

    def meanwhile() -> None:
        second.start()
        assert watched.other_waits.wait(WAIT)  # it waits for this fold-in to end

    _pause_counts_vstack(monkeypatch, index, meanwhile)
    fold_in(index, NEW)
    assert second.finish() == len(MORE)

    reference = _index()
    fold_in(reference, NEW)
    fold_in(reference, MORE)
    assert index.ids == reference.ids
    _assert_consistent(index, len(BASE) + len(NEW) + len(MORE))
    assert (index.counts != reference.counts).nnz == 0
    np.testing.assert_allclose(index.U, reference.U, atol=1e-12)


# ---------------------------------------------------------------- SVD update and search


def test_a_search_sees_one_state_across_an_svd_update(monkeypatch):
    """A search whose query was projected before an SVD update is scored against the
    document vectors of the same state, not against the new ones."""
    index = _index()
    fold_in(index, NEW)
    index.doc_vectors  # noqa: B018 (warm)
    want = index.search(QUERY, n=5)
    real, paused, resume = index_module._unit_rows, threading.Event(), threading.Event()

    def unit_rows(Z, scale):  # the end of the query's projection, in the searching thread
        if threading.current_thread() is searcher and not paused.is_set():
            paused.set()
            assert resume.wait(WAIT)
        return real(Z, scale)

    monkeypatch.setattr(index_module, "_unit_rows", unit_rows)
    searcher = _Thread(lambda: index.search(QUERY, n=5))
    searcher.start()
    assert paused.wait(WAIT)
    assert svd_update(index) == len(NEW)  # the whole update, while the search waits
    resume.set()

    _assert_same_hits(searcher.finish(), want)
    after = index.search(QUERY, n=5)
    assert _hit_pairs(after) != _hit_pairs(want)  # the update did change the scores
    _assert_consistent(index, len(BASE) + len(NEW))


def test_a_search_does_not_wait_for_an_svd_update(monkeypatch):
    """Searches run during the SVD's computation, on the index before the update."""
    index = _index()
    index.add(NEW, method="fold_in")
    want = index.search(QUERY, n=5), index.similar_documents("d605", n=3)
    real = update_module._zha_simon_block
    during = []

    def zha_simon_block(*args):
        searcher = _Thread(lambda: (index.search(QUERY, n=5),
                                    index.similar_documents("d605", n=3)))
        searcher.start()
        during.append(searcher.finish())
        return real(*args)

    monkeypatch.setattr(update_module, "_zha_simon_block", zha_simon_block)
    report = index.add([], method="update")

    assert report.folded == 0 and len(during) == 1
    for got, expected in zip(during[0], want, strict=True):
        _assert_same_hits(got, expected)
    _assert_consistent(index, len(BASE) + len(NEW))


# ---------------------------------------------------------------- saving an inconsistent index


@pytest.mark.parametrize("extra", [10, -10], ids=["rows appended twice", "rows missing"])
def test_save_refuses_inconsistent_document_vectors(tmp_path, extra):
    index = _index()
    fold_in(index, NEW)
    D = index.doc_vectors
    index.doc_vectors_cache = np.vstack([D, D[:extra]]) if extra > 0 else D[:extra]
    target = tmp_path / "ix"
    with pytest.raises(ShapeError, match=r"not saved.*doc_vectors has shape"):
        index.save(target)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left


def test_save_refuses_ids_that_disagree_with_u(tmp_path):
    index = _index()
    index.ids = index.ids[:-1]
    with pytest.raises(SvdkitError, match=r"599 ids"):
        index.save(tmp_path / "ix")
    assert not (tmp_path / "ix").exists()


# ---------------------------------------------------------------- the locks are not the index


def test_the_locks_are_not_part_of_the_index(tmp_path):
    index = _index()
    names = {f.name for f in dataclasses.fields(LsiIndex)}
    assert not any("lock" in name for name in names)
    assert "lock" not in repr(index)
    assert not any("lock" in key for key in dataclasses.asdict(index))
    want = _hit_pairs(index.search(QUERY, n=5))
    copies = [copy.copy(index), copy.deepcopy(index), pickle.loads(pickle.dumps(index)),
              dataclasses.replace(index)]
    for other in copies:
        assert other._update_lock is not index._update_lock
        assert other._state_lock is not index._state_lock
        assert _hit_pairs(other.search(QUERY, n=5)) == want
    fold_in(copies[1], NEW)  # a copy is another index
    assert index.n_docs == len(BASE) and copies[1].n_docs == len(BASE) + len(NEW)
    index.save(tmp_path / "ix")
    assert sorted(p.name for p in Path(tmp_path / "ix").iterdir() if "lock" in p.name) == []
