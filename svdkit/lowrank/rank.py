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
``tol · σ₁`` of the threshold — where one does, ``notes`` says so (a
``rank_tol`` below ``tol`` cannot tell the values near its threshold apart).
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

from typing import Any

__all__ = ["rank_by_tolerance"]


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
        an upper bound, …).

    Returns
    -------
    LowRankSVD
        ``k = s.size`` is the rank found.
    """
    from svdkit.lowrank.api import truncated_svd

    return truncated_svd(A, kwargs.pop("k", None), rank_tol=eps, rank_norm=norm, **kwargs)
