"""Randomized range finder with normalised power iterations, certified at every iteration.

Halko, Martinsson & Tropp (2011), Algorithms 4.4 (randomized subspace
iteration) and 5.1 (direct SVD), as in scikit-learn's ``randomized_svd``, with
two changes that make it certifiable and no slower:

* **Rayleigh–Ritz every iteration, on a product that is needed anyway.** With
  ``Q`` an orthonormal basis of the current range: ``Z = Aᴴ Q`` (one pass) gives
  ``B = Qᴴ A = Zᴴ`` and its SVD ``B = Ũ Σ Wᴴ``; ``U = Q Ũ``, ``V = W``. Then
  ``Aᴴ U − V Σ = Z Ũ − W Σ`` is zero up to rounding (measured from ``Z``), and
  ``Y = A V`` (the next pass) gives the other residual ``‖Y − U Σ‖`` — and is the
  next power iterate, since ``span(V) = span(Aᴴ Q)``. Two passes per iteration,
  as in the unverified algorithm, and the iteration stops as soon as every
  wanted triplet meets ``tol`` instead of after a fixed count.
* **Normalisation of both sides** each half-step (CholeskyQR2 / Householder:
  :mod:`svdkit.lowrank.orth`), which keeps singular values below
  ``sqrt(eps) · σ₁`` from drowning (Halko et al. §4.5).

Subspace iteration converges at the rate ``σ_{l+1} / σᵢ`` per pass (``l = k + p``):
fast for decaying spectra, slow for flat ones, where :mod:`svdkit.lowrank.krylov`
is the better choice.
"""

from __future__ import annotations

import numpy as np

from svdkit.lowrank._common import Progress, Run, Target
from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.certify import Certificate, rayleigh_ritz, residual_bound
from svdkit.lowrank.operators import Operator
from svdkit.lowrank.orth import colnorms, qr_robust, random_block

__all__ = ["subspace_iteration"]


def subspace_iteration(
    op: Operator,
    target: Target,
    *,
    tol: float,
    rng: np.random.Generator,
    oversample: int = 10,
    max_iter: int | None = None,
    progress: Progress | None = None,
    start: np.ndarray | None = None,
) -> tuple[Certificate, int, Run]:
    """Leading triplets by randomized subspace iteration (see the module doc).

    Parameters
    ----------
    op : Operator
        The matrix.
    target : Target
        Triplets wanted.
    tol : float
        Both residuals of each wanted triplet must end ``≤ tol · σ₁``.
    rng : numpy.random.Generator
        The Gaussian test matrix.
    oversample : int
        ``p``: the subspace has ``l = k + p`` columns.
    max_iter : int, optional
        The most power iterations (two passes each); default 100.
    progress : callable, optional
        Called after every iteration.
    start : ndarray, shape (n, j), optional
        Columns to start from (a warm start); completed with Gaussian ones.

    Returns
    -------
    cert, k, run
        As :func:`svdkit.lowrank.krylov.block_lanczos`.
    """
    m, n = op.shape
    k = target.k
    # rank mode looks at one value past its guess at least (σ_{k+1} decides k)
    l_ = min(n, m, k + max(oversample, 1 if target.by_rank else 0))
    iters = 100 if max_iter is None else int(max_iter)
    run = Run("randomized")
    omega = random_block(rng, n, l_, op.dtype)
    if start is not None and start.shape[1]:
        j = min(start.shape[1], l_)
        omega[:, :j] = start[:, :j]
    Y = op.matmat(omega)
    cert: Certificate | None = None
    done = False
    zero_fix = False
    for it in range(1, iters + 1):
        Q, _ = op.tall_qr(Y)
        Z = op.rmatmat(Q)  # Aᴴ Q = Bᴴ
        with single_blas_thread():
            Wq, Rz = qr_robust(Z)
            X, sig, Th = np.linalg.svd(Rz)  # Z = Wq X Σ Th  ⇒  B = Zᴴ = Thᴴ Σ (Wq X)ᴴ
            Ut = Th.conj().T
            V = Wq @ X
            left = colnorms(Z @ Ut - V * sig)
        U = op.tall_matmul(Q, Ut)
        Y = op.matmat(V)
        right = op.tall_colnorms(op.tall_combine(Y, U, sig))
        cert = Certificate(U=U, s=sig, V=V, right=right, left=left, AhU=Z @ Ut)
        bound = residual_bound(sig, tol)
        ok = cert.worst <= bound
        prefix = int(np.argmin(ok)) if not ok.all() else ok.size
        fin, k = target.decide(sig, prefix)
        run.iterations = it
        if progress is not None:
            worst = float(cert.worst[:k].max() / bound) if k and bound > 0 else 0.0
            progress(it, op.passes, min(prefix, k), k, worst)
        if fin:
            done = True
            break
        zero = max(m, n) * np.finfo(float).eps * (sig[0] if sig.size else 0.0)
        # the values the decision needs: the k wanted, and in rank mode with the
        # spectral rule σ_{k+1} too (k = cap is right only when σ_{cap+1} ≤ ε σ₁)
        want = k
        if target.by_rank and target.rank_norm == "spectral" and k < min(m, n):
            want = min(k + 1, sig.size)
        if k and np.all(ok[:want] | (sig[:want] <= zero)):
            zero_fix = True  # only null directions fail: complete them properly
            break
        if target.by_rank and k > target.k and k > l_ - 2 and l_ < min(m, n):
            break  # rank mode needs a wider subspace: the caller restarts wider
    if zero_fix or (cert is not None and not done):
        # (rank mode: every column, whose values past the guess decide the rank)
        width = cert.V.shape[1] if target.by_rank else max(k, 1)
        cert = rayleigh_ritz(op, cert.V[:, :width], rng, tol)
        if target.by_rank:
            # a rank never counts as found unless the rule is met on certified values
            fin, k = target.decide(cert.s, cert.met_prefix(tol))
            done = fin and bool(cert.met(tol, k).all())
        else:
            done = bool(cert.met(tol, k).all()) if k else True
    run.extra["converged"] = done
    run.extra["oversample"] = l_ - target.k
    assert cert is not None
    return cert, k, run
