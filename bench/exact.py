"""Does python-flint pay? ``svdkit.exact`` against SymPy on integer and rational matrices.

Two measurements, in one process (SymPy's slow rank in a child process that is
stopped at a time limit), median of interleaved repetitions:

* ``det`` of a 20×20 integer matrix (entries −9..9): ``svdkit.exact.det``
  (python-flint ``fmpz_mat``) against SymPy's ``Matrix.det()``;
* ``rank`` of a 60×60 rational matrix of rank 45 (a product ``C·D`` of 60×45 and
  45×60 matrices with entries p/q, |p| ≤ 9, 1 ≤ q ≤ 9): ``svdkit.exact.rank``
  (``fmpq_mat`` reduced echelon form) against SymPy's ``Matrix.rank()``, and,
  for reference, against SymPy's lower-level ``DomainMatrix.rank()`` over ``QQ``.

Both sides read the same ``sympy.Matrix`` and must agree on the answer; the
time of ``svdkit.exact`` includes its front door (``as_exact``).

Run: ``.venv/bin/python bench/exact.py [repeats] [sympy_rank_limit_seconds]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import time

import sympy as sp
from _machine import describe
from sympy.polys.matrices import DomainMatrix

import svdkit.exact as ex


def _integer_matrix(n: int, rng: random.Random) -> sp.Matrix:
    return sp.Matrix(n, n, lambda i, j: rng.randint(-9, 9))


def _rational_matrix(n: int, rank: int, rng: random.Random) -> sp.Matrix:
    def frac() -> sp.Rational:
        return sp.Rational(rng.randint(-9, 9), rng.randint(1, 9))

    C = sp.Matrix(n, rank, lambda i, j: frac())
    D = sp.Matrix(rank, n, lambda i, j: frac())
    return C * D


def _median_times(runners: dict, repeats: int) -> tuple[dict[str, float], dict[str, object]]:
    times: dict[str, list[float]] = {name: [] for name in runners}
    answers: dict[str, object] = {}
    for run in runners.values():  # warm-up (imports, caches)
        run()
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            answers[name] = run()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}, answers


def _in_child(conn, M: sp.Matrix) -> None:
    start = time.perf_counter()
    r = M.rank()
    conn.send((time.perf_counter() - start, r))


def _sympy_rank_with_limit(M: sp.Matrix, limit: float) -> tuple[float | None, int | None]:
    """``M.rank()`` in a child process; ``(None, None)`` when it runs past ``limit`` seconds."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_in_child, args=(child, M), daemon=True)
    proc.start()
    if parent.poll(limit):
        seconds, r = parent.recv()
        proc.join()
        return seconds, r
    proc.terminate()
    proc.join()
    return None, None


def _line(
    name: str, seconds: float, base: float | None, *, at_least: bool = False, bound: bool = False
) -> str:
    """One result: ``at_least`` for a run stopped at its limit, ``bound`` for a ratio to one."""
    mark = ">" if at_least else " "
    rel = "<" if bound else " "
    ratio = "" if base is None else f"   ratio to SymPy {rel}{seconds / base:9.5f}"
    return f"  {name:44s} {mark}{seconds * 1e3:11.2f} ms{ratio}"


def main(repeats: int = 5, limit: float = 120.0) -> None:
    rng = random.Random(20250915)
    A = _integer_matrix(20, rng)
    B = _rational_matrix(60, 45, rng)
    import flint

    print(describe())
    print(f"SymPy {sp.__version__}; python-flint {flint.__version__}; median of {repeats} runs")

    t, ans = _median_times(
        {"sympy Matrix.det()": lambda: A.det(), "svdkit.exact.det": lambda: ex.det(A).value},
        repeats,
    )
    assert len(set(ans.values())) == 1, ans
    print("det of a 20×20 integer matrix (entries −9..9)")
    base = t["sympy Matrix.det()"]
    for name, sec in t.items():
        print(_line(name, sec, base))
    print(f"  det = {ans['svdkit.exact.det']}")

    t, ans = _median_times(
        {
            "svdkit.exact.rank": lambda: ex.rank(B).value,
            "sympy DomainMatrix.rank() over QQ": lambda: (
                DomainMatrix.from_Matrix(B).convert_to(sp.QQ).rank()
            ),
        },
        repeats,
    )
    seconds, r = _sympy_rank_with_limit(B, limit)
    print("rank of a 60×60 rational matrix of rank 45")
    if seconds is None:
        stopped = f"   (stopped at {limit:g} s)"
        print(_line("sympy Matrix.rank()", limit, None, at_least=True) + stopped)
        for name, sec in t.items():
            print(_line(name, sec, limit, bound=True))
    else:
        assert r == ans["svdkit.exact.rank"], (r, ans)
        print(_line("sympy Matrix.rank()", seconds, seconds) + "   (one run)")
        for name, sec in t.items():
            print(_line(name, sec, seconds))
    assert len(set(ans.values())) == 1 and ans["svdkit.exact.rank"] == 45, ans
    print(f"  rank = {ans['svdkit.exact.rank']}")


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument(
        "repeats",
        nargs="?",
        type=int,
        default=5,
        help="interleaved timed runs of each svdkit/SymPy measurement (default 5)",
    )
    parser.add_argument(
        "sympy_rank_limit_seconds",
        nargs="?",
        type=float,
        default=120.0,
        help="time limit for SymPy's Matrix.rank(), run once in a child process; "
        "if it is stopped, its time is reported as at least this (default 120)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse_args()
    main(args.repeats, args.sympy_rank_limit_seconds)
