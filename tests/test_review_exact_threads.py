"""Review: the exact engine called from several threads (mpmath's precision is process-wide).

``svdkit.exact`` ran its numeric fallbacks inside ``mpmath.workdps``, which sets the
one global ``mpmath.mp`` context. When two calls overlapped, the first one to finish
put back the precision it had found on entry while the other was still computing: a
50-digit eigenvalue right to 16 digits only, ``mpmath.mp.dps`` left at 60 for the
user's own mpmath code afterwards, once a ``NoConvergence`` from SymPy's ``nroots``.
Every use of that precision now holds one re-entrant lock
(:mod:`svdkit.exact._precision`), for the whole call of each public function.

The interleaving is forced, not left to luck: a first thread is paused inside the
engine (in ``_numeric_roots``, monkeypatched) while a second one starts. Before the
fix, the second thread entered too, waited there until the first had finished, and
then computed at the precision the first had restored; now it waits at the door.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import mpmath
import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.exact import _precision, spectral
from svdkit.explain import explain, render

#: A 5×5 integer symmetric matrix whose eigenvalues have no closed form (50-digit Floats).
A5 = [[2, 1, 0, 0, 1], [1, 3, 1, 0, 0], [0, 1, 4, 1, 0], [0, 0, 1, 5, 1], [1, 0, 0, 1, 6]]
#: σ² are the roots of an irreducible cubic: a numeric SVD (the reviewer's NoConvergence).
B3 = "[[1, 2, 3], [4, 5, 6], [7, 8, 10]]"

#: Seconds a thread may take to do what it must (generous: never reached when it works).
PATIENCE = 20.0
#: Seconds the second thread is given to get into the engine while the first is paused.
WINDOW = 0.3


def _repr(values: Any) -> list[str]:
    """Exact text of every entry, Floats with their precision (``srepr``)."""
    if isinstance(values, (sp.MatrixBase, list, tuple)):
        return [sp.srepr(x) for x in values]
    return [sp.srepr(values)]


def _eigh(A: Any) -> list[str]:
    r = ex.eigh(A)
    return _repr(r.values) + _repr(r.vectors)


def _svd(A: Any) -> list[str]:
    r = ex.svd(A)
    return _repr(r.s) + _repr(r.U) + _repr(r.Vh)


def _overlap(monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call`` in threads A and B, A paused inside the engine while B starts.

    Returns both results, whether B got into ``_numeric_roots`` while A was paused
    there, and the mpmath precision seen by each thread inside it.
    """
    inner = spectral._numeric_roots
    a_inside, release_a, a_done, b_early = (threading.Event() for _ in range(4))
    seen: dict[str, list[int]] = {"A": [], "B": []}

    def gate(poly):
        name = threading.current_thread().name
        seen[name].append(mpmath.mp.dps)
        if name == "A" and not a_inside.is_set():
            a_inside.set()
            assert release_a.wait(PATIENCE)
        elif name == "B" and not a_done.is_set():
            b_early.set()  # B inside while A is paused: make it resume after A's exit
            assert a_done.wait(PATIENCE)
        return inner(poly)

    monkeypatch.setattr(spectral, "_numeric_roots", gate)
    out: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            out[name] = call()
        except BaseException as err:  # reported by the test, not lost in the thread
            out[name] = err
        finally:
            if name == "A":
                a_done.set()

    a = threading.Thread(target=run, args=("A",), name="A")
    b = threading.Thread(target=run, args=("B",), name="B")
    a.start()
    assert a_inside.wait(PATIENCE)
    b.start()
    out["b_entered_while_a_paused"] = b_early.wait(WINDOW)
    release_a.set()
    a.join(PATIENCE)
    b.join(PATIENCE)
    assert not a.is_alive() and not b.is_alive()
    out["dps_seen"] = seen
    return out


def _check_overlap(out: dict[str, Any], expected: Any, before: int) -> None:
    for name in ("A", "B"):
        assert not isinstance(out[name], BaseException), out[name]
    assert out["b_entered_while_a_paused"] is False
    assert out["A"] == expected  # same Floats as a sequential call, precision included
    assert out["B"] == expected
    assert out["dps_seen"] == {"A": [60], "B": [60]}
    assert mpmath.mp.dps == before


def test_eigh_in_overlapping_threads_gives_the_sequential_50_digits(monkeypatch):
    expected = _eigh(A5)
    assert "Float" in expected[0]  # no closed form: the numeric fallback is exercised
    before = mpmath.mp.dps
    out = _overlap(monkeypatch, lambda: _eigh(A5))
    _check_overlap(out, expected, before)


def test_svd_in_overlapping_threads_gives_the_sequential_50_digits(monkeypatch):
    expected = _svd(B3)
    before = mpmath.mp.dps
    out = _overlap(monkeypatch, lambda: _svd(B3))
    _check_overlap(out, expected, before)


def test_explain_in_overlapping_threads_leaves_mpmath_alone(monkeypatch):
    def report() -> str:
        return render(explain(B3), "json")

    expected = report()
    before = mpmath.mp.dps
    out = _overlap(monkeypatch, report)
    _check_overlap(out, expected, before)


def test_user_precision_is_kept_across_overlapping_calls(monkeypatch):
    mpmath.mp.dps = 25
    try:
        expected = _eigh(A5)
        out = _overlap(monkeypatch, lambda: _eigh(A5))
        _check_overlap(out, expected, 25)
    finally:
        mpmath.mp.dps = 15


def test_working_precision_makes_another_thread_wait():
    before = mpmath.mp.dps
    inside, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def other() -> None:
        inside.set()
        with _precision.working_precision(40):
            seen.append(mpmath.mp.dps)
        done.set()

    t = threading.Thread(target=other)
    with _precision.working_precision(30):
        t.start()
        assert inside.wait(PATIENCE)
        assert not done.wait(WINDOW)  # blocked: the precision stays the holder's
        assert mpmath.mp.dps == 30
        assert seen == []
    t.join(PATIENCE)
    assert not t.is_alive()
    assert seen == [40]
    assert mpmath.mp.dps == before


def test_working_precision_restores_after_an_error():
    before = mpmath.mp.dps
    with pytest.raises(ZeroDivisionError), _precision.working_precision(45):
        assert mpmath.mp.dps == 45
        raise ZeroDivisionError
    assert mpmath.mp.dps == before
    # the lock was released: another thread can take it at once
    got: list[bool] = []

    def take() -> None:
        ok = _precision.ENGINE_LOCK.acquire(blocking=False)
        if ok:
            _precision.ENGINE_LOCK.release()
        got.append(ok)

    t = threading.Thread(target=take)
    t.start()
    t.join(PATIENCE)
    assert got == [True]


ENTRY_POINTS: dict[str, Callable[[], Any]] = {
    "as_exact": lambda: ex.as_exact("[[sqrt(2), 1], [1, 2]]"),
    "det": lambda: ex.det("[[sqrt(2), 1], [1, 2]]"),
    "trace": lambda: ex.trace([[1, 2], [3, 4]]),
    "rank": lambda: ex.rank("[[sqrt(2), 1], [2, sqrt(2)]]"),
    "rref": lambda: ex.rref([[1, 2], [2, 4]]),
    "inv": lambda: ex.inv("[[sqrt(2), 1], [1, 2]]"),
    "pinv": lambda: ex.pinv([[1, 2], [2, 4]]),
    "lstsq": lambda: ex.lstsq([[1, 0], [0, 1], [1, 1]], [1, 2, 3]),
    "subspaces": lambda: ex.subspaces([[1, 2], [2, 4]]),
    "eigh": lambda: ex.eigh([[2, 1], [1, 2]]),
    "svd": lambda: ex.svd([[3, 0], [0, -2]]),
    "definiteness": lambda: ex.definiteness([[2, 1], [1, 2]]),
    "norm": lambda: ex.norm([[1, 2], [3, 4]], 2),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_waits_while_another_thread_holds_the_engine(name):
    call = ENTRY_POINTS[name]
    expected = str(call())
    before = mpmath.mp.dps
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(str(call())))
    with _precision.ENGINE_LOCK:
        t.start()
        t.join(0.1)
        assert t.is_alive(), f"svdkit.exact.{name} ran while another thread held the engine"
        assert out == []
    t.join(PATIENCE)
    assert not t.is_alive()
    assert out == [expected]
    assert mpmath.mp.dps == before


def test_free_running_threads_match_sequential_calls():
    jobs: list[Callable[[], Any]] = [
        lambda: _eigh(A5),
        lambda: _svd(B3),
        lambda: str(ex.norm(B3, 2)),
        lambda: str(ex.det(B3)),
    ]
    expected = [job() for job in jobs]
    before = mpmath.mp.dps
    results: dict[tuple[int, int], Any] = {}
    start = threading.Barrier(len(jobs))

    def worker(k: int) -> None:
        start.wait(PATIENCE)
        for rep in range(2):
            results[k, rep] = jobs[(k + rep) % len(jobs)]()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)
    assert not any(t.is_alive() for t in threads)
    for (k, rep), value in results.items():
        assert value == expected[(k + rep) % len(jobs)]
    assert len(results) == 2 * len(jobs)
    assert mpmath.mp.dps == before
