"""Certificates: Rayleigh–Ritz on ``A`` and both residuals of every triplet, computed.

Every method of :mod:`svdkit.lowrank` ends here. Given an orthonormal ``n × k``
block ``V`` (approximate right singular vectors), :func:`rayleigh_ritz`

1. forms ``W = A V`` (one pass) and ``W = Q R`` (orthonormal ``Q``);
2. takes the SVD of the small ``R = Ũ Σ Zᴴ``: the Ritz triplets are
   ``U = Q Ũ``, ``σ = diag Σ``, ``V ← V Z`` — the best approximations to singular
   triplets that the subspaces allow, with ``A V = U Σ`` exactly (one residual is
   zero by construction, up to rounding);
3. computes **both** residuals ``‖A vᵢ − σᵢ uᵢ‖₂`` (from ``W``) and
   ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂`` (one more pass, ``Aᴴ U``) — measured, not estimated.

Singular values at the tolerance rule's zero (``max(m, n) · eps · σ₁``) have no
left vector determined by ``A V``: theirs are completed with random directions
orthogonal to the others (then ``Aᴴ uᵢ ≈ 0`` for a matrix of lower rank, and the
residual says how nearly).

A triplet *meets* ``tol`` when both residuals are at most ``tol · σ₁``
(the tolerance is relative to the largest singular value, ``‖A‖₂``).

Examples
--------
>>> import numpy as np
>>> from svdkit.lowrank.operators import as_operator
>>> from svdkit.lowrank.certify import rayleigh_ritz
>>> A = np.diag([3.0, 2.0, 1.0])
>>> cert = rayleigh_ritz(as_operator(A), np.eye(3)[:, :2], np.random.default_rng(0))
>>> cert.s.tolist(), float(max(cert.left.max(), cert.right.max()))
([3.0, 2.0], 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.operators import Operator
from svdkit.lowrank.orth import colnorms

__all__ = ["Certificate", "rayleigh_ritz", "residual_bound"]


@dataclass
class Certificate:
    """Ritz triplets with their measured residuals.

    Attributes
    ----------
    U : ndarray or dask array, shape (m, k)
    s : ndarray, shape (k,)
    V : ndarray, shape (n, k)
    right, left : ndarray, shape (k,)
        ``‖A vᵢ − σᵢ uᵢ‖₂`` and ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂``.
    AhU : ndarray, shape (n, k)
        ``Aᴴ U`` (the product behind ``left``; reusable as the next iterate).
    """

    U: Any
    s: np.ndarray
    V: np.ndarray
    right: np.ndarray
    left: np.ndarray
    AhU: np.ndarray

    @property
    def worst(self) -> np.ndarray:
        """``max(right, left)`` per triplet."""
        return np.maximum(self.right, self.left)

    def met(self, tol: float, k: int) -> np.ndarray:
        """Which of the first ``k`` triplets meet ``tol`` (relative to σ₁)."""
        return self.worst[:k] <= residual_bound(self.s, tol)


def residual_bound(s: np.ndarray, tol: float) -> float:
    """The absolute residual a triplet may have: ``tol · σ₁``."""
    return float(tol * (s[0] if s.size else 0.0))


def rayleigh_ritz(op: Operator, V: np.ndarray, rng: np.random.Generator) -> Certificate:
    """Ritz triplets of ``A`` from the right subspace ``span(V)``, with both residuals.

    Parameters
    ----------
    op : Operator
        The matrix.
    V : ndarray, shape (n, k)
        Orthonormal columns.
    rng : numpy.random.Generator
        For the left vectors of zero singular values.

    Returns
    -------
    Certificate
        Triplets in descending order of ``σ``.
    """
    m, n = op.shape
    k = V.shape[1]
    W = op.matmat(V)
    Q, R = op.tall_qr(W)
    with single_blas_thread():
        Ut, s, Zh = np.linalg.svd(R)
    Z = Zh.conj().T
    U = op.tall_matmul(Q, Ut)
    del Q  # the long side holds W and U only from here (memory: a few m×k blocks)
    Vr = V @ Z
    zero = max(m, n) * np.finfo(float).eps * (s[0] if k else 0.0)
    null = np.flatnonzero(s <= zero)
    if null.size:
        U = _complete_left(op, U, null, rng)
    if isinstance(W, np.ndarray) and isinstance(U, np.ndarray):
        T = W @ Z
        del W
        for j in range(k):  # T − U Σ column by column: no further m×k temporary
            T[:, j] -= s[j] * U[:, j]
        right = colnorms(T)
        del T
    else:
        right = op.tall_colnorms(op.tall_combine(op.tall_matmul(W, Z), U, s))
    AhU = np.asarray(op.rmatmat(U))
    left = np.linalg.norm(AhU - Vr * s, axis=0)
    return Certificate(U=U, s=s, V=Vr, right=right, left=left, AhU=AhU)


def _complete_left(op: Operator, U: Any, null: np.ndarray, rng: np.random.Generator) -> Any:
    """Replace the columns ``null`` of ``U`` by random unit vectors orthogonal to the rest."""
    k = U.shape[1]
    keep = np.setdiff1d(np.arange(k), null)
    fill = op.tall_random(rng, null.size)
    kept = op.tall_columns(U, keep) if keep.size else None
    for _ in range(2):
        if kept is not None:
            fill = op.tall_combine(fill, op.tall_matmul(kept, op.tall_gram(kept, fill)), 1.0)
        fill, _ = op.tall_qr(fill)
    order = np.empty(k, dtype=int)
    order[keep] = np.arange(keep.size)
    order[null] = keep.size + np.arange(null.size)
    blocks = [kept, fill] if kept is not None else [fill]
    return op.tall_columns(op.tall_concat(blocks), order)
