"""Certificates: Rayleigh–Ritz on ``A`` and both residuals of every triplet, computed.

Every method of :mod:`svdkit.lowrank` ends here. Given an orthonormal ``n × k``
block ``V`` (approximate right singular vectors), :func:`rayleigh_ritz`

1. forms ``W = A V`` (one pass) and ``W = Q R`` (orthonormal ``Q``);
2. takes the SVD of the small ``R = Ũ Σ Zᴴ``: the Ritz triplets are
   ``U = Q Ũ``, ``σ = diag Σ``, ``V ← V Z`` — the best approximations to singular
   triplets that the subspaces allow, with ``A V = U Σ`` exactly (one residual is
   zero by construction, up to rounding);
3. computes **both** residuals ``‖A vᵢ − σᵢ uᵢ‖₂`` (from ``W``) and
   ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂`` — measured, not estimated.

``Aᴴ U`` costs one more pass over ``A``, unless the operator reads ``A`` once
for ``A V`` and ``Aᴴ(A V)`` (a fused ``gram``: dense arrays, CSR matrices).
Then, since ``U = W Z Σ⁻¹`` exactly (``W = Q R``, ``R = Ũ Σ Zᴴ``),
``Aᴴ uᵢ = (Aᴴ W) zᵢ / σᵢ``: the same products, grouped differently, with a
rounding error of about ``(√m + √n) · eps · σ₁² / σᵢ`` (Higham, *Accuracy and
Stability*, §3.5, for the products; the QR is backward stable). It is used for
the triplets where that error is below 1 % of the tolerance and within 100× the
direct product's (``σᵢ ≥ σ₁ · max(10⁻², 100 (√m + √n) eps / tol)``); the others
get ``Aᴴ uᵢ`` by a direct product. Measured on the dense 4000×3000 matrix of
``bench/lowrank.py`` (50 triplets, two cores): the certificate took 69 ms instead
of 93 ms.

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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.operators import Operator
from svdkit.lowrank.orth import colnorms, matmul_in_place

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

    def met_prefix(self, tol: float) -> int:
        """How many leading triplets meet ``tol`` (the rank rules decide on those)."""
        ok = self.met(tol, self.s.size)
        return int(np.argmin(ok)) if not ok.all() else ok.size


def residual_bound(s: np.ndarray, tol: float) -> float:
    """The absolute residual a triplet may have: ``tol · σ₁``."""
    return float(tol * (s[0] if s.size else 0.0))


def rayleigh_ritz(
    op: Operator,
    V: np.ndarray,
    rng: np.random.Generator,
    tol: float | None = None,
    *,
    products: tuple[np.ndarray, np.ndarray] | None = None,
) -> Certificate:
    """Ritz triplets of ``A`` from the right subspace ``span(V)``, with both residuals.

    Parameters
    ----------
    op : Operator
        The matrix.
    V : ndarray, shape (n, k)
        Orthonormal columns. More than ``m`` of them (a wide ``A`` with its long side
        as ``n``) give ``min(m, k)`` triplets: ``A V`` has rank ``m`` at most.
    rng : numpy.random.Generator
        For the left vectors of zero singular values.
    tol : float, optional
        The tolerance the residuals will be held to: with a fused ``gram``, the
        left residuals of the triplets well above the rounding level are computed
        from ``Aᴴ A V`` (see the module doc). ``None``: always ``Aᴴ U`` directly.
    products : (ndarray, ndarray), optional
        ``(A V, Aᴴ A V)`` already at hand — for instance combined from products
        of a basis that ``V`` is made of (``A (B Y) = (A B) Y``): no pass over
        ``A`` then, except the direct ``Aᴴ uᵢ`` of the triplets below the
        rounding rule (needs ``tol``).

    Returns
    -------
    Certificate
        ``min(m, k)`` triplets in descending order of ``σ``.
    """
    m, n = op.shape
    k = V.shape[1]
    G = None
    if products is not None:
        W, G = products
    elif tol is not None and k and op.fused == "gram" and not op.distributed:
        W, G = op.gram_pair(V)  # A V and Aᴴ A V in one read of A
    else:
        W = op.matmat(V)
    Q, R = op.tall_qr(W)
    with single_blas_thread():
        # (reduced: with more vectors than A has rows, min(m, k) triplets)
        Ut, s, Zh = np.linalg.svd(R, full_matrices=False)
    Z = Zh.conj().T
    # the long side holds two m×k blocks at most: W, and Q turned into U in place
    U = _times(op, Q, Ut, Q is not W)
    del Q
    zero = max(m, n) * np.finfo(float).eps * (s[0] if k else 0.0)
    null = np.flatnonzero(s <= zero)
    if null.size:
        U = _complete_left(op, U, null, rng)
    if isinstance(W, np.ndarray) and isinstance(U, np.ndarray):
        # (kept products may serve again; a LinearOperator's may be its own buffer)
        T = _times(op, W, Z, products is None and op.kind in _FRESH_PRODUCTS)
        del W
        # T − U Σ by blocks of rows: no further m×k temporary, and each block of
        # the C-ordered arrays read once (column by column strode over all of
        # them k times: 100000×50, 37 against 8 ms)
        step = max(1, (1 << 16) // max(k, 1))
        for i0 in range(0, m, step):
            T[i0 : i0 + step] -= U[i0 : i0 + step] * s
        right = colnorms(T)
        del T
    else:
        right = op.tall_colnorms(op.tall_combine(op.tall_matmul(W, Z), U, s))
    Vr = V @ Z  # (not before: the long side's blocks are gone)
    AhU = _adjoint_times_left(op, U, G, Z, s, null, tol)
    left = np.linalg.norm(AhU - Vr * s, axis=0)
    return Certificate(U=U, s=s, V=Vr, right=right, left=left, AhU=AhU)


#: Operators whose products are new arrays (a LinearOperator's may be its own buffer).
_FRESH_PRODUCTS = ("dense", "sparse", "row_blocks")


def _times(op: Operator, X: Any, C: np.ndarray, own: bool) -> Any:
    """``X C`` for a long block and a small ``C``: written over ``X`` when ``C`` is square
    and ``X`` a NumPy array of the result's dtype that nothing else holds (``own``), else
    a new block (``C`` is ``k × min(m, k)`` when there are more vectors than ``A`` has rows)."""
    square = C.shape[0] == C.shape[1]
    if (
        own
        and square
        and isinstance(X, np.ndarray)
        and X.flags.writeable
        and np.result_type(X, C) == X.dtype
    ):
        return matmul_in_place(X, C)
    return op.tall_matmul(X, C)


def _adjoint_times_left(
    op: Operator,
    U: Any,
    G: np.ndarray | None,
    Z: np.ndarray,
    s: np.ndarray,
    null: np.ndarray,
    tol: float | None,
) -> np.ndarray:
    """``Aᴴ U``: from ``G = Aᴴ A V`` as ``G zᵢ / σᵢ`` where that is accurate, else a product."""
    m, n = op.shape
    if s.size == 0:  # no triplets (a rank of 0): nothing to multiply
        return np.zeros((n, 0), dtype=G.dtype if G is not None else op.dtype)
    if G is None or tol is None:
        return np.asarray(op.rmatmat(U))
    # rounding of G zᵢ / σᵢ: about c·eps·σ₁²/σᵢ (c = √m + √n; measured: 0.15–0.33 of
    # eps·σ₁²/σᵢ): at most 1 % of the tolerance, and at most 100× the rounding of
    # the direct product (c·eps·σ₁), so that both ways agree to rounding.
    c = math.sqrt(m) + math.sqrt(n)
    floor = s[0] * max(1e-2, 100.0 * c * np.finfo(float).eps / tol)
    trusted = s >= floor
    trusted[null] = False
    AhU = np.empty((n, s.size), dtype=G.dtype)
    cols = np.flatnonzero(trusted)
    if cols.size:
        AhU[:, cols] = (G @ Z[:, cols]) / s[cols]
    rest = np.flatnonzero(~trusted)
    if rest.size:
        AhU[:, rest] = np.asarray(op.rmatmat(np.ascontiguousarray(U[:, rest])))
    return AhU


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
