"""Does the front door cost anything? ``svdkit.svd`` against ``numpy.linalg.svd``.

Same 2000×2000 matrix, same process, interleaved repetitions; prints the median
time of each and their ratio. Goal: svdkit within 5% of NumPy.

Run: ``.venv/bin/python bench/front_door.py [n] [repeats]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _machine import describe

import svdkit


def main(n: int = 2000, repeats: int = 5) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n))
    runners = {
        "numpy.linalg.svd(full_matrices=False)": lambda: np.linalg.svd(a, full_matrices=False),
        "svdkit.svd": lambda: svdkit.svd(a),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up
        run()
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    print(describe())
    print(f"dense {n}×{n} float64, thin SVD, median of {repeats} interleaved runs")
    base = statistics.median(times["numpy.linalg.svd(full_matrices=False)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:40s} {med:8.3f} s   ratio to NumPy {med / base:6.3f}")


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog="Same matrix, same process, interleaved repetitions; prints the median "
        "time of each and their ratio.",
    )
    parser.add_argument(
        "n", nargs="?", type=int, default=2000, help="size of the random n×n matrix (default 2000)"
    )
    parser.add_argument(
        "repeats",
        nargs="?",
        type=int,
        default=5,
        help="interleaved timed runs of each, after one warm-up (default 5)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse_args()
    main(args.n, args.repeats)
