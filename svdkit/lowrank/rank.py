"""Rank by tolerance: the smallest ``k`` whose best rank-``k`` approximation is within ``ε``.

By Eckart–Young–Mirsky, the best rank-``k`` approximation ``A_k = Σ_{i≤k} σᵢ uᵢ vᵢᴴ``
has errors

* spectral: ``‖A − A_k‖₂ / ‖A‖₂ = σ_{k+1} / σ₁``;
* energy (Frobenius): ``‖A − A_k‖_F / ‖A‖_F = sqrt(‖A‖_F² − Σ_{i≤k} σᵢ²) / ‖A‖_F``.

``truncated_svd(A, rank_tol=ε, rank_norm=...)`` finds the smallest ``k`` with an
error ``≤ ε`` without knowing it in advance: the Krylov method widens its target
as its certified singular values come in (no restart); the other iterative
methods double ``k`` and restart (warm for ``randomized``). The decision is taken
on certified values only: ``σ_{k+1}`` (spectral) or ``σ₁ … σ_k`` (energy) all meet
``tol``, so the ``k`` found is exact unless a singular value lies within
``tol · σ₁`` of the threshold — where one does, ``notes`` says so. The spectral
rule certifies to ``min(tol, rank_tol / 10)``: values known to ``tol · σ₁`` only
could not be placed against a threshold ``rank_tol · σ₁`` below it (each method
returned a different rank); the energy rule keeps ``tol``, and says when a
``rank_tol`` below it leaves the rank uncertain.
The values decided on are Rayleigh–Ritz values on ``A`` (accurate to about
``eps · σ₁``), never the Krylov method's Ritz values ``√θ`` of ``AᴴA``, known to
about ``√eps · σ₁`` only: a ``rank_tol`` below about ``1e-7`` lies in their noise.
A ``k`` given with ``rank_tol`` caps the rank
(``k = 0`` included): the cap itself is accepted when its rule holds there (the
spectral rule looks one value past the cap, at ``σ_{k+1}``); a rank above it
raises :class:`~svdkit.ConvergenceError`.

The energy norm needs ``‖A‖_F``: one pass for arrays, sparse matrices, files and
dask arrays; ``n`` products with unit vectors for a LinearOperator. The energy
left out by ``k`` is summed from the small computed values up, plus the remainder
``‖A‖_F² − Σ σᵢ²`` past the computed ones (``‖A‖_F² − Σ_{i≤k} σᵢ²`` would lose
every digit below ``eps · ‖A‖_F²``). That remainder is itself known only to
about ``64 eps · ‖A‖_F²``: an energy ``ε`` below about ``1.2e-7`` is decided once
every singular value has been computed (``min(m, n)`` of them), never by
taking an unresolved remainder for zero.

That energy rule is :func:`energy_tail_rank`, the one implementation of "the
smallest ``k`` leaving out at most a given part of ``‖A‖_F²``": the Krylov,
randomized and dash methods decide with it (tail ``ε²``), and so do the
rank rules of :mod:`svdkit.lora` (:func:`svdkit.lora.rank.energy_rank`).

Examples
--------
>>> import numpy as np
>>> from svdkit.lowrank import rank_by_tolerance
>>> A = np.diag([1.0, 0.5, 1e-3, 1e-4] + [0.0] * 196)
>>> r = rank_by_tolerance(A, 1e-2)
>>> r.s.size, r.s.round(6).tolist()
(2, [1.0, 0.5])
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

__all__ = ["ENERGY_SLACK", "energy_tail_rank", "rank_by_tolerance", "rank_lower_bound"]

#: Relative rounding of ``‖A‖_F² − Σ σᵢ²`` and slack on the comparison with the
#: allowance (ties count as met).
ENERGY_SLACK = 64 * float(np.finfo(np.float64).eps)


def energy_tail_rank(
    s: Any, total: float, tail: float, *, complete: bool = True, zero: float = 0.0
) -> int | None:
    """Smallest ``k`` whose best rank-``k`` approximation leaves out at most ``tail · total``.

    By Eckart–Young–Mirsky the energy left out by ``A_k`` is
    ``‖A − A_k‖_F² = Σ_{i>k} σᵢ²``; with a relative error ``ε`` the rule is
    ``tail = ε²`` (``‖A − A_k‖_F ≤ ε ‖A‖_F``), with an energy fraction ``f`` to
    keep it is ``tail = 1 − f``. The energy left out is summed from the small
    values up, plus the remainder ``total − Σ sᵢ²`` past the given values (never
    as ``total − Σ_{i≤k} sᵢ²``, which loses every digit below ``eps · total``):

    * ``k = 0`` leaves out exactly ``total``: it is the answer when ``tail >= 1``
      or ``total <= 0`` (a zero matrix), and never otherwise, whatever the
      rounding;
    * the remainder is known to about ``ENERGY_SLACK · total`` (64 eps): with the
      whole spectrum given (``complete``) a remainder that small is rounding and
      counts as 0; with a leading part only, the values not given may hold that
      much, and it is added (so an allowance below it gives ``None``);
    * values ``<= zero`` leave out nothing (their energy joins the remainder):
      a caller's zeros of a numerical rank, e.g. ``len(s) · eps · σ₁``;
    * the comparison is ``left <= tail · total · (1 + ENERGY_SLACK)``: a tie at
      the threshold counts as met, also when the sums round across it.

    Parameters
    ----------
    s : array_like, shape (c,)
        Singular values, descending (all of them, or the leading ``c``).
    total : float
        ``‖A‖_F²``.
    tail : float
        The part of ``total`` that may be left out (``ε²``, ``1 − f``).
    complete : bool, default True
        Whether ``s`` is the whole spectrum (``c = min(m, n)``).
    zero : float, default 0.0
        Values at or below it count as zero.

    Returns
    -------
    int or None
        ``k`` (``0 <= k <= c``), or ``None`` when the rule is not met by the
        ``c`` values given (more are needed, or ``total`` exceeds their energy).

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([4.0, 2.0, 1.0, 1.0])                  # energies 16, 4, 1, 1 of 22
    >>> energy_tail_rank(s, 22.0, 0.1), energy_tail_rank(s, 22.0, 0.25**2)
    (2, 3)
    >>> energy_tail_rank(np.array([1.0, 1.0, 1.0, 1.0]), 4.0, 0.5)  # a tie counts as met
    2
    >>> energy_tail_rank(s, 22.0, 0.0), energy_tail_rank(s, 22.0, 1.0)
    (4, 0)
    >>> energy_tail_rank(s[:2], 22.0, 0.01, complete=False) is None  # σ₃, σ₄ needed
    True
    """
    s = np.asarray(s, dtype=np.float64)
    total, tail = float(total), float(tail)
    if total <= 0 or tail >= 1:
        return 0
    sq = np.where(s > zero, s, 0.0) ** 2
    rest = total - float(np.sum(sq))  # energy past the given values
    rounding = ENERGY_SLACK * total
    if complete:
        unseen = rest if rest > rounding else 0.0
    else:
        unseen = max(rest, 0.0) + rounding
    # left[j] = energy left out by the first j + 1 values, summed from the smallest up
    left = unseen + np.concatenate([np.cumsum(sq[::-1])[::-1][1:], [0.0]])
    hit = np.flatnonzero(left <= tail * total * (1.0 + ENERGY_SLACK))
    return int(hit[0]) + 1 if hit.size else None


def rank_lower_bound(s: Any, total: float, eps: float, norm: str, full: int) -> int:
    """The least rank ``rank_tol = eps`` can ask for, from leading values and ``‖A‖_F²``.

    ``s`` holds the ``c`` leading singular values (descending) and the rule is not
    met by them, so the rank is at least ``c``; the energy past them,
    ``rest = total − Σ sᵢ²``, lies in values that are each at most ``s_c``. With
    rank ``r``:

    * energy: ``Σ_{i>r} σᵢ² ≤ ε² total``, so ``rest ≤ (r − c) s_c² + ε² total``;
    * spectral: ``σᵢ ≤ t = ε s₁`` past ``r``, so ``rest ≤ (r − c) s_c² + (full − r) t²``,
      i.e. ``r − c ≥ (rest − (full − c) t²) / (s_c² − t²)``.

    On a flat spectrum this tells from the first certified values that the rank is a
    large part of ``full = min(m, n)`` — before the values up to it are computed.

    Parameters
    ----------
    s : array_like, shape (c,)
        Leading singular values, descending; the rule is not met within them.
    total : float
        ``‖A‖_F²``.
    eps : float
        The relative error ``rank_tol``.
    norm : {"spectral", "energy"}
        The norm of that error.
    full : int
        ``min(m, n)``.

    Returns
    -------
    int
        ``c ≤ bound ≤ full``.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.ones(100)                                   # ‖A‖_F² = 100, flat
    >>> rank_lower_bound(s[:5], 100.0, 0.1, "energy", 100)  # 99 values hold 1 % each
    99
    >>> rank_lower_bound(s[:5], 100.0, 0.1, "spectral", 100)
    100
    """
    s = np.asarray(s, dtype=np.float64)
    c = int(s.size)
    if c == 0 or s[-1] <= 0:
        return c
    rest = float(total) - float(np.sum(s**2))
    last2 = float(s[-1]) ** 2
    if norm == "energy":
        excess, room = rest - eps * eps * float(total), last2
    else:
        t2 = (eps * float(s[0])) ** 2
        excess, room = rest - (full - c) * t2, last2 - t2
    if excess <= 0 or room <= 0:
        return c
    # (1e-9: a value at the bound by rounding stays at it)
    return min(int(full), c + max(0, math.ceil(excess / room - 1e-9)))


def rank_by_tolerance(A: Any, eps: float, norm: str = "spectral", **kwargs: Any) -> Any:
    """The certified leading triplets of ``A`` up to the smallest ``k`` with error ``≤ eps``.

    Parameters
    ----------
    A : matrix or operator
        Anything :func:`svdkit.lowrank.truncated_svd` accepts.
    eps : float
        Relative error, ``0 < eps < 1``.
    norm : {"spectral", "energy"}
        ``σ_{k+1} ≤ eps · σ₁``, or ``‖A − A_k‖_F ≤ eps · ‖A‖_F``.
    **kwargs
        Passed to :func:`svdkit.lowrank.truncated_svd` (``tol``, ``method``, ``k`` as
        an upper bound, …), except ``rank_tol`` and ``rank_norm``: ``eps`` and
        ``norm`` are they, and giving them again is refused.

    Returns
    -------
    LowRankSVD
        ``k = s.size`` is the rank found.

    Raises
    ------
    SvdkitError
        ``eps`` not in ``[1e-14, 1)``, ``norm`` neither ``"spectral"`` nor
        ``"energy"``, or ``rank_tol`` / ``rank_norm`` among ``kwargs``; and what
        :func:`~svdkit.lowrank.truncated_svd` raises (its advice names ``eps`` where
        it would name ``rank_tol``).

    Examples
    --------
    A 200×100 matrix of rank 10 with singular values ``1, 1/2, 1/4, …``:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((200, 10)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((100, 10)))
    >>> s = 2.0 ** -np.arange(10)
    >>> A = (U * s) @ V.T
    >>> r = rank_by_tolerance(A, 0.1)  # spectral: smallest k with σ_{k+1} ≤ 0.1 σ₁
    >>> r.s.size, r.s.round(4).tolist()
    (4, [1.0, 0.5, 0.25, 0.125])

    With ``norm="energy"`` the relative Frobenius error of the rank-``k``
    approximation is within ``eps``, and ``k − 1`` would not be:

    >>> r = rank_by_tolerance(A, 0.01, norm="energy")
    >>> k = r.s.size
    >>> err = np.linalg.norm(A - (r.U * r.s) @ r.Vh) / np.linalg.norm(A)
    >>> k, bool(err <= 0.01), bool(np.sqrt(np.sum(s[k - 1 :] ** 2) / np.sum(s**2)) > 0.01)
    (7, True, True)
    """
    from svdkit._naming import check_real
    from svdkit.errors import SvdkitError
    from svdkit.lowrank._common import reworded
    from svdkit.lowrank.api import truncated_svd

    for name, ours in (("rank_tol", "eps"), ("rank_norm", "norm")):
        if name in kwargs:
            raise SvdkitError(
                f"rank_by_tolerance takes the {name} of truncated_svd as {ours}; got "
                f"{name}={kwargs[name]!r} too: give {ours} only",
                param=name,
            )
    eps = check_real(eps, "eps", 1e-14, 1.0)
    if norm not in ("spectral", "energy"):
        raise SvdkitError(f"norm must be 'spectral' or 'energy'; got {norm!r}", param="norm")
    try:
        return truncated_svd(A, kwargs.pop("k", None), rank_tol=eps, rank_norm=norm, **kwargs)
    except SvdkitError as err:
        if "{rank_tol}" not in (getattr(err, "advice", None) or ""):
            raise
        # the finding too ("rank_tol=1e-06 (spectral) needs more than …" spelled
        # truncated_svd's name for eps): both halves in this function's names
        names = {"rank_tol": "eps", "rank_norm": "norm"}
        finding = getattr(err, "finding", "")
        for name, ours in names.items():
            finding = re.sub(rf"\b{name}=", f"{ours}=", finding)
        err.finding = finding  # type: ignore[attr-defined]
        raise reworded(err, names) from None
