"""dashSVD: shifted power iteration with Gram-matrix orthonormalisation and per-vector stopping.

Feng, Yu, Xie & Li, "Algorithm 1043: Faster randomized SVD with dynamic shifts",
ACM TOMS 50(2), 2024 (Algorithm 3 there), on the Gram side:

1. ``V = eigSVD(AᴴA Ω)``, ``α = 0``;
2. repeat: ``[V, Ŝ] = eigSVD(AᴴA V − α V)``; if ``Ŝ_l > α`` then
   ``α ← (α + Ŝ_l) / 2`` (the dynamic shift: the filter ``λ − α`` damps the
   unwanted part of the spectrum more than ``λ`` does, at no cost);
3. stop when the per-vector error ``PVE = max_{i≤k} |σᵢ − σᵢ_prev| / σᵢ``
   (with ``σᵢ = sqrt(Ŝᵢ + α)``) falls below ``tol``.

``eigSVD(W)`` orthonormalises through the eigendecomposition of ``WᴴW`` (the
paper's choice: one Gram product and one small ``eigh``; faster than QR, and
it also gives the singular values that drive the shift).

The per-vector error is a heuristic: here it only decides *when to certify*.
The result goes through :func:`svdkit.lowrank.certify.rayleigh_ritz` on the
whole subspace (all ``k + oversample`` columns); if a residual is still above
``tol · σ₁`` the iteration continues.

Why the whole subspace: ``eigSVD`` takes the square root of the eigenvalues of
``WᴴW``, ``W = AᴴA V``, whose values are ``σᵢ⁴``; below ``σᵢ / σ₁ ≈ 1e-4`` they
are rounding (``eps · σ₁⁴``), and the order of ``V``'s columns within the
subspace is arbitrary there. The *span* still converges (a power iteration
needs nothing else), but its first ``k`` columns are not its ``k`` leading
directions: Rayleigh–Ritz on those alone stalled at ``3e-6 · σ₁`` for ever on
``σᵢ = 10^(−0.1 i)``, ``k = 40`` (600×400), where Rayleigh–Ritz on all of them
certifies to ``1e-14 · σ₁`` in 7 iterations.
"""

from __future__ import annotations

import numpy as np

from svdkit.lowrank._common import Progress, Run, Target
from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.certify import Certificate, rayleigh_ritz
from svdkit.lowrank.operators import Operator
from svdkit.lowrank.orth import qr_robust, random_block

__all__ = ["dash_svd", "eig_svd"]


def eig_svd(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W = V S Xᴴ`` through ``eigh(WᴴW)``: returns ``V`` (orthonormal) and ``S`` (descending).

    Directions with ``S`` at rounding level are orthonormalised by Householder
    QR instead (the Gram matrix squares the condition number).
    """
    with single_blas_thread():
        C = W.conj().T @ W
        d, X = np.linalg.eigh((C + C.conj().T) / 2)
        d, X = d[::-1], X[:, ::-1]
        S = np.sqrt(np.maximum(d, 0.0))
        if S.size == 0:
            return W.copy(), S
        good = S > 1e-6 * S[0]
        if good.all():
            return (W @ X) / S, S
        V, _ = qr_robust(W @ X)
        return V, S


def dash_svd(
    op: Operator,
    target: Target,
    *,
    tol: float,
    rng: np.random.Generator,
    oversample: int = 10,
    max_iter: int | None = None,
    progress: Progress | None = None,
) -> tuple[Certificate, int, Run]:
    """Leading triplets by dashSVD (see the module doc), certified at the end.

    Parameters and returns as :func:`svdkit.lowrank.range_finder.subspace_iteration`;
    ``max_iter`` counts shifted power iterations (default 200).
    """
    m, n = op.shape
    k = target.k
    # rank mode looks at one value past its guess at least (σ_{k+1} decides k)
    l_ = min(n, m, k + max(oversample, 1 if target.by_rank else 0))
    iters = 200 if max_iter is None else int(max_iter)
    run = Run("dash")
    V, S = eig_svd(op.gram(random_block(rng, n, l_, op.dtype)))
    alpha = 0.0
    shifting = True
    prev: np.ndarray | None = None
    cert: Certificate | None = None
    done = False
    wider = False
    next_check = 1
    best = np.inf  # the smallest per-vector error so far
    since_best = 0  # iterations since it was reached
    for it in range(1, iters + 1):
        W = op.gram(V)
        if alpha:
            W -= alpha * V
        V, S = eig_svd(W)
        used = alpha
        if shifting and S[-1] > alpha:
            alpha = (alpha + S[-1]) / 2.0
        sigma = np.sqrt(np.maximum(S + used, 0.0))
        run.iterations = it
        pve = np.inf
        if prev is not None and sigma[0] > 0:
            kk = max(1, min(k, l_))
            # per-vector error, relative to σ₁ as the tolerance is
            pve = float(np.max(np.abs(sigma[:kk] - prev[:kk]))) / sigma[0]
        elif prev is not None and prev[0] == 0:
            # A V = 0 twice: a zero matrix, whose values are settled (it ran all
            # max_iter iterations, 200 passes over A, to certify zeros at the end)
            pve = 0.0
        prev = sigma
        if pve < best:
            best, since_best = pve, 0
        elif np.isfinite(pve):
            since_best += 1
        if progress is not None:
            progress(it, op.passes, 0, k, pve / tol if np.isfinite(pve) else float("inf"))
        # A Ritz value's error is about its residual squared over the gap: certify
        # when the per-vector error is well below tol, and keep iterating if the
        # certificate disagrees.
        # (σ cannot settle below rounding: tol² under eps would never trigger)
        settled = pve <= max(0.1 * tol * tol, 8 * np.finfo(float).eps)
        # σ computed from the Gram matrix of AᴴA V carries a rounding of about
        # eps·σ₁⁴/σᵢ³: with a wide range among the k values the per-vector error
        # stops falling at that level, however far above eps·σ₁ (0.3ⁱ, k = 10:
        # 1e-6..1e-5·σ₁ from the second iteration on) — it ran to max_iter though
        # every triplet met tol. Two iterations without a new smallest error: the
        # values have settled as far as they can, so the certificate decides.
        stalled = since_best >= 2
        if (settled or stalled) and it >= next_check:
            cert = _certify(op, V, l_, rng, tol)
            fin, k2 = target.decide(cert.s, cert.met_prefix(tol))
            if fin:
                k, done = k2, True
                break
            if target.by_rank:
                if k2 > target.k and k2 > l_ - 2 and l_ < min(m, n):
                    # the rank is past what this subspace can certify: the caller
                    # restarts wider (not converged, with k the next guess)
                    k, wider = k2, True
                    break
                k = min(k2, l_)
            next_check = it + max(2, it // 4)
            if not settled:
                continue  # (stalled at rounding: the shift is not what holds it back)
            # σ settled but the residuals did not: the subspace is inside a cluster
            # of singular values wider than itself, where the shift (≈ λ_l / 2)
            # slows the damping of the spectrum's bottom (|λ − α| / |λ_k − α| → 1)
            # instead of speeding the top: go on unshifted.
            alpha = 0.0
            shifting = False
    if not done and not wider:
        cert = _certify(op, V, l_, rng, tol)
        fin, k2 = target.decide(cert.s, cert.met_prefix(tol))
        if target.by_rank:
            # a rank never counts as found unless the rule is met on certified values
            k = k2
            done = fin and bool(cert.met(tol, k).all())
        else:
            done = bool(cert.met(tol, k).all())
    run.extra["converged"] = done
    run.extra["shift"] = alpha
    assert cert is not None
    return cert, k, run


def _certify(
    op: Operator, V: np.ndarray, l_: int, rng: np.random.Generator, tol: float
) -> Certificate:
    """Rayleigh–Ritz on all ``l_`` columns of ``V``: the ``k`` best triplets of the
    subspace lead the certificate (rank mode also decides on the values past its
    guess). Never on the first ``k`` columns alone: :func:`eig_svd` leaves the
    directions below ``σ₁ · 1e-4`` in no particular order (see the module doc)."""
    with single_blas_thread():
        Vo, _ = qr_robust(V)
    return rayleigh_ritz(op, Vo[:, :l_], rng, tol)
