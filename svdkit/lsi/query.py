"""Top-n ranking by cosine: one matrix product per block of queries, then a partial sort.

Vectors are unit length (:meth:`~svdkit.lsi.index.LsiIndex.query_vectors`), so
the cosine is a dot product. ``np.argpartition`` selects the ``n`` best in
linear time (``np.partition``); only those ``n`` are sorted, by score then by row,
so ties come out in a fixed order — the lowest rows among equal scores.

Examples
--------
>>> import numpy as np
>>> D = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
>>> rows, scores = next(rank_rows(D, np.array([[0.0, 1.0]], dtype=np.float32), 2))
>>> rows.tolist(), [round(float(c), 2) for c in scores]
([2, 1], [1.0, 0.8])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from svdkit._naming import arg, got
from svdkit.errors import SvdkitError

__all__ = ["QUERY_BLOCK", "check_n", "rank_rows", "top_n"]

#: Queries scored per matrix product (bounds the block × documents score matrix).
QUERY_BLOCK = 256


def check_n(n: object) -> int:
    """``n``, the number of results asked for, as an ``int``: a positive integer.

    One rule for every ranking (search, similar documents, similar terms):
    ``bool``, floats (``2.0`` included), and ``n < 1`` are refused.

    Raises
    ------
    SvdkitError
        ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SvdkitError(
            f"{arg('n')} (the number of results) must be a positive integer; got {got(n)}",
            param="n",
        )
    return int(n)


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest entries of a 1-D ``scores``, largest first."""
    n = min(check_n(n), scores.shape[0])
    if n < scores.shape[0]:
        neg = -scores
        threshold = np.partition(neg, n - 1)[n - 1]  # the n-th best score (negated)
        better = np.flatnonzero(neg < threshold)
        ties = np.flatnonzero(neg == threshold)[: n - better.size]  # lowest rows first
        best = np.concatenate([better, ties])
    else:
        best = np.arange(scores.shape[0])
    order = np.lexsort((best, -scores[best]))
    return best[order]


def rank_rows(
    D: np.ndarray,
    Q: np.ndarray,
    n: int,
    block: int = QUERY_BLOCK,
    exclude: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each row of ``Q``: the rows of ``D`` with the ``n`` largest dot products, and those.

    ``exclude``: rows of ``D`` never ranked (their scores are set to ``-inf`` before the
    partial sort, at a cost of one write per excluded row and query); fewer than ``n``
    rows come back where fewer are left.

    Examples
    --------
    >>> D = np.array([[1.0, 0.0], [0.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    >>> rows, _ = next(rank_rows(D, np.array([[0.0, -1.0]], dtype=np.float32), 3,
    ...                          exclude=np.array([1])))
    >>> rows.tolist()
    [0, 2]
    """
    n = check_n(n)
    if Q.ndim != 2 or Q.shape[1] != D.shape[1]:
        raise SvdkitError(f"query vectors of shape {Q.shape} do not match dimension {D.shape[1]}")
    excluded = exclude is not None and len(exclude) > 0
    if excluded:
        n = min(n, D.shape[0] - len(exclude)) or 1
    for b0 in range(0, Q.shape[0], block):
        S = Q[b0 : b0 + block] @ D.T
        if excluded:
            S[:, exclude] = -np.inf
        for scores in S:
            rows = top_n(scores, n)
            if excluded:
                rows = rows[scores[rows] != -np.inf]
            yield rows, scores[rows]
