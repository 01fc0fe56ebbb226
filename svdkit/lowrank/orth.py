"""Orthonormalisation of tall blocks: Gram-based (CholeskyQR2) where stable, Householder where not.

Every iterative method of :mod:`svdkit.lowrank` spends its non-product time
here, so the kernels are BLAS-3 and run on one BLAS thread when small
(:mod:`svdkit.lowrank._threads`).

* :func:`cholesky_qr2` — Fukaya, Nakatsukasa et al. (2014): ``R₁ = chol(WᴴW)``,
  ``Q₁ = W R₁⁻¹``, once more on ``Q₁``. Two Gram products and two triangular
  solves: the cheapest orthonormalisation, stable to ``O(eps)`` when
  ``κ(W) ≲ eps^{-1/2}``. Used when the first Cholesky factor is well conditioned.
* Householder QR (``numpy.linalg.qr``) otherwise.
* :func:`orthonormalize` — the block Gram–Schmidt step of the Krylov methods:
  project ``W`` off an orthonormal basis ``V`` (classical Gram–Schmidt, repeated
  when a column loses more than half its norm — "twice is enough", Giraud et al.
  2005), then orthonormalise; directions that vanish (an invariant subspace, a
  rank-deficient matrix) are replaced by random directions orthogonal to
  everything kept, so that the basis keeps growing.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from svdkit.lowrank._threads import single_blas_thread

__all__ = ["cholesky_qr2", "colnorms", "orthonormalize", "qr_robust", "random_block"]

#: A first Cholesky factor with diag ratio below this sends CholeskyQR2 to Householder.
CHOLQR_MIN_RATIO = 1e-5


def colnorms(W: np.ndarray) -> np.ndarray:
    """Euclidean norm of each column (no m×k temporaries beyond one |W|²)."""
    if np.iscomplexobj(W):
        return np.sqrt(np.einsum("ij,ij->j", W.conj(), W).real)
    return np.sqrt(np.einsum("ij,ij->j", W, W))


def random_block(rng: np.random.Generator, n: int, b: int, dtype: np.dtype) -> np.ndarray:
    """A standard Gaussian n×b block (complex Gaussian for complex dtypes), Fortran order."""
    if np.dtype(dtype).kind == "c":
        z = rng.standard_normal((b, n)) + 1j * rng.standard_normal((b, n))
    else:
        z = rng.standard_normal((b, n))
    return np.asarray(z.T, dtype=dtype)  # Fortran-ordered columns, reproducible across b splits


def _chol_step(W: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    G = W.conj().T @ W
    try:
        R = scipy.linalg.cholesky(G, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    d = np.abs(np.diag(R))
    if not np.all(np.isfinite(d)) or d.min() <= CHOLQR_MIN_RATIO * d.max():
        return None
    # Q = W R⁻¹  ⇔  Rᵀ Qᵀ = Wᵀ (a transpose, not a conjugate, also for complex W)
    Q = scipy.linalg.solve_triangular(R, W.T, trans="T", lower=False, check_finite=False).T
    return Q, R


def cholesky_qr2(W: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``W = Q R`` by CholeskyQR2, or ``None`` when ``W`` is too ill-conditioned for it."""
    first = _chol_step(W)
    if first is None:
        return None
    Q1, R1 = first
    second = _chol_step(Q1)
    if second is None:
        return None
    Q, R2 = second
    return Q, R2 @ R1


def qr_robust(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin ``W = Q R`` with orthonormal ``Q``: CholeskyQR2 when stable, else Householder."""
    if W.shape[1] == 0:
        return W.copy(), np.zeros((0, 0), dtype=W.dtype)
    with single_blas_thread():
        if W.shape[0] >= W.shape[1]:
            out = cholesky_qr2(W)
            if out is not None:
                return out
        Q, R = np.linalg.qr(W)
    return Q, R


def _project(V: np.ndarray | None, W: np.ndarray, coef: np.ndarray | None) -> np.ndarray | None:
    if V is None or V.shape[1] == 0:
        return coef
    c = V.conj().T @ W
    W -= V @ c
    return c if coef is None else coef + c


def orthonormalize(
    W: np.ndarray,
    V: np.ndarray | None,
    *,
    rng: np.random.Generator,
    drop: float,
    local: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Project ``W`` off the orthonormal columns ``V`` and orthonormalise what is left.

    Parameters
    ----------
    W : ndarray, shape (n, b)
        The block; overwritten.
    V : ndarray, shape (n, p), or None
        Orthonormal basis to project off.
    rng : numpy.random.Generator
        Source of the replacement directions.
    drop : float
        Absolute norm below which a direction left in ``W`` counts as zero.
    local : ndarray, shape (n, q), optional
        The last columns of ``V`` that ``W`` is known to be mostly made of (the
        Lanczos recurrence): projected first, so that the full pass against
        ``V`` removes only rounding and is seldom repeated.

    Returns
    -------
    Q : ndarray, shape (n, b)
        Orthonormal, orthogonal to ``V``.
    R : ndarray, shape (b, b)
        ``W_projected = Q R`` (rows of replaced directions are zero).
    coef : ndarray, shape (p, b) or None
        ``Vᴴ W`` (the full pass, all repetitions summed).
    coef_local : ndarray, shape (q, b) or None
        ``localᴴ W`` from the local pass.
    """
    with single_blas_thread():
        return _orthonormalize(W, V, rng, drop, local)


def _orthonormalize(
    W: np.ndarray,
    V: np.ndarray | None,
    rng: np.random.Generator,
    drop: float,
    local: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    coef_local = None
    if local is not None and local.shape[1]:
        coef_local = local.conj().T @ W
        W -= local @ coef_local
    before = colnorms(W)
    coef = _project(V, W, None)
    for _ in range(2):
        if coef is None:
            break
        after = colnorms(W)
        if np.all(after >= 0.5 * before):
            break
        before = after
        coef = _project(V, W, coef)
    Q, R = qr_robust(W)
    if np.any(np.abs(np.diag(R)) <= drop):
        Q, R = _replace_weak(W, Q, R, V, rng, drop)
    return Q, R, coef, coef_local


def _replace_weak(
    W: np.ndarray,
    Q: np.ndarray,
    R: np.ndarray,
    V: np.ndarray | None,
    rng: np.random.Generator,
    drop: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-revealing repair: keep the directions of ``W`` above ``drop``, fill up at random."""
    n, b = W.shape
    X, s, Yh = np.linalg.svd(R)
    r = int(np.count_nonzero(s > drop))
    kept = Q @ X[:, :r]
    R_new = np.zeros_like(R)
    R_new[:r] = s[:r, None] * Yh[:r]
    fill = random_block(rng, n, b - r, W.dtype)
    for _ in range(2):
        for basis in (V, kept):
            if basis is not None and basis.shape[1]:
                fill -= basis @ (basis.conj().T @ fill)
        fill, _ = np.linalg.qr(fill)
    return np.concatenate([kept, fill], axis=1), R_new
