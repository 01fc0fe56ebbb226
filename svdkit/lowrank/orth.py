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

import itertools

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from svdkit.lowrank._threads import available_cores, parallel_map, single_blas_thread

__all__ = [
    "cholesky_qr2",
    "colnorms",
    "inner",
    "matmul",
    "matmul_in_place",
    "orthonormalize",
    "qr_robust",
    "random_block",
    "subtract_product",
]

#: A first Cholesky factor with diag ratio below this sends CholeskyQR2 to Householder.
CHOLQR_MIN_RATIO = 1e-5

#: Projection coefficients below this times the block's norm are rounding: left in.
NEGLIGIBLE = 100 * np.finfo(float).eps

#: Tall blocks of at least this many entries per core are split by rows across
#: cores (one BLAS thread each) for the products of the orthogonalisation;
#: smaller ones cost less than the hand-off (measured, two cores, ``Vᴴ W`` and
#: ``W −= V C`` with 8 columns in ``W``: 14072×100 ``V`` 1.4 ms split, 2.4 ms not;
#: 25000×48 2.0 and 3.0 ms; 2000×200 0.98 ms split, 0.61 not. Block Krylov to
#: 50 triplets at 1e-6, medians of interleaved runs: 0.51 s instead of 0.56 on
#: the term-document matrix of ``bench/lowrank.py``, 4.4 instead of 4.8 s on its
#: sparse_uniform at half scale, against a threshold of 2²⁰).
_ENTRIES_PER_LANE = 2**18

#: Blocks of at most this many entries are factored by Householder QR: below it
#: LAPACK's ``geqrf`` costs less than CholeskyQR2's two Gram products and
#: factorisations (one core, medians: 384×8 26 against 58 µs, 1536×8 66 against
#: 88 µs; even at 3000×8, 123 against 128 µs; 6000×8 236 against 210 µs).
_HOUSEHOLDER_ENTRIES = 3 * 2**12


def _row_lanes(n: int, width: int) -> list[tuple[int, int]]:
    lanes = (n * width) // _ENTRIES_PER_LANE
    if lanes < 2:  # (no affinity system call for the many small blocks)
        return [(0, n)]
    t = min(available_cores(), lanes)
    cuts = [n * i // t for i in range(t + 1)]  # (np.linspace costs 0.3 ms a call)
    return list(itertools.pairwise(cuts))


def inner(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``Xᴴ Y`` for tall ``X``, ``Y``: partial products on row ranges, summed in order."""
    lanes = _row_lanes(X.shape[0], X.shape[1] + Y.shape[1])
    if len(lanes) == 1:
        return X.conj().T @ Y
    with single_blas_thread():
        parts = parallel_map(lambda r: X[r[0] : r[1]].conj().T @ Y[r[0] : r[1]], lanes, len(lanes))
    out = parts[0]
    for p in parts[1:]:
        out += p
    return out


def matmul(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``X C`` for tall ``X`` and small ``C``, row ranges on separate cores."""
    lanes = _row_lanes(X.shape[0], X.shape[1] + C.shape[1])
    if len(lanes) == 1:
        return X @ C
    out = np.empty((X.shape[0], C.shape[1]), dtype=np.result_type(X.dtype, C.dtype), order="F")

    def work(r: tuple[int, int]) -> None:
        np.matmul(X[r[0] : r[1]], C, out=out[r[0] : r[1]])

    with single_blas_thread():
        parallel_map(work, lanes, len(lanes))
    return out


#: Rows per block of :func:`matmul_in_place`: a ``rows × k`` temporary per core.
_IN_PLACE_ROWS = 2048


def matmul_in_place(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``X C`` for tall ``X`` and square ``C``, written over ``X`` and returned.

    Block of rows by block of rows, each through a small temporary: no second
    ``m × k`` array (the certificate of a large ``k`` holds several at once).
    Row ranges run on separate cores like :func:`matmul`. ``X`` must be an array
    nothing else reads, of the result's dtype. Blocks of at most one row block
    are simply multiplied (a new array: the memory is nothing, the calls count).

    Examples
    --------
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> matmul_in_place(X.copy(), C).tolist()
    [[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]]
    """
    m, k = X.shape
    if C.shape != (k, k) or np.result_type(X.dtype, C.dtype) != X.dtype:
        raise ValueError(f"matmul_in_place needs a square {k}×{k} C of X's dtype")
    step = _IN_PLACE_ROWS
    if m <= step:
        return X @ C

    def work(r: tuple[int, int]) -> None:
        for i0 in range(r[0], r[1], step):
            i1 = min(i0 + step, r[1])
            X[i0:i1] = X[i0:i1] @ C

    lanes = _row_lanes(m, 2 * k)
    with single_blas_thread():
        parallel_map(work, lanes, len(lanes))
    return X


def project_off(W: np.ndarray, basis: np.ndarray) -> None:
    """``W -= basis (basisᴴ W)`` twice, in place: ``W`` orthogonal to the orthonormal
    ``basis`` to working precision (Gram–Schmidt twice is enough)."""
    for _ in range(2):
        subtract_product(W, basis, inner(basis, W))


def subtract_product(W: np.ndarray, X: np.ndarray, C: np.ndarray) -> None:
    """``W -= X C`` in place, row ranges on separate cores."""
    lanes = _row_lanes(W.shape[0], X.shape[1] + W.shape[1])
    if len(lanes) == 1:
        W -= X @ C
        return

    def work(r: tuple[int, int]) -> None:
        W[r[0] : r[1]] -= X[r[0] : r[1]] @ C

    with single_blas_thread():
        parallel_map(work, lanes, len(lanes))


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


def _chol_step(W: np.ndarray, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    G = inner(W, W)
    G = (G + G.conj().T) / 2
    if not np.isfinite(G).all():
        return None
    # LAPACK's potrf and trtri directly: SciPy's cholesky and solve_triangular
    # wrappers cost more than the factorisation of a small block (measured: 1.5 ms
    # of a 7 ms block-Krylov run on a 384×384 matrix)
    potrf, trtri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "trtri"), (G,))
    R, info = potrf(G, lower=False, clean=True, overwrite_a=True)
    if info != 0:
        return None
    d = np.abs(np.diag(R))
    if not np.all(np.isfinite(d)) or d.min() <= CHOLQR_MIN_RATIO * d.max():
        return None
    # Q = W R⁻¹ with the small triangular inverse: one BLAS-3 product (the second
    # CholeskyQR step repairs what the inverse loses, as it does for the Gram matrix)
    Rinv, info = trtri(R, lower=False)
    if info != 0:
        return None
    return (matmul_in_place(W, Rinv) if in_place else matmul(W, Rinv)), R


def cholesky_qr2(W: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``W = Q R`` by CholeskyQR2, or ``None`` when ``W`` is too ill-conditioned for it."""
    first = _chol_step(W)
    if first is None:
        return None
    Q1, R1 = first
    # Q₁ is ours: the second step overwrites it (one m×k temporary, not two)
    second = _chol_step(Q1, in_place=True)
    if second is None:
        return None
    Q, R2 = second
    return Q, R2 @ R1


def qr_robust(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin ``W = Q R`` with orthonormal ``Q``: CholeskyQR2 when stable, else Householder.

    Small blocks (at most ``_HOUSEHOLDER_ENTRIES`` entries) always go to Householder.
    """
    if W.shape[1] == 0:
        return W.copy(), np.zeros((0, 0), dtype=W.dtype)
    with single_blas_thread():
        if W.shape[0] >= W.shape[1] and W.size > _HOUSEHOLDER_ENTRIES:
            out = cholesky_qr2(W)
            if out is not None:
                return out
        Q, R = np.linalg.qr(W)
    return Q, R


def _project(V: np.ndarray | None, W: np.ndarray, coef: np.ndarray | None) -> np.ndarray | None:
    if V is None or V.shape[1] == 0:
        return coef
    c = inner(V, W)
    subtract_product(W, V, c)
    return c if coef is None else coef + c


def orthonormalize(
    W: np.ndarray,
    V: np.ndarray | None,
    *,
    rng: np.random.Generator,
    drop: float,
    local: np.ndarray | None = None,
    lock: np.ndarray | None = None,
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
    lock : ndarray, shape (n, l), optional
        Orthonormal columns, orthogonal to ``V``, that ``Q`` must also be
        orthogonal to (a deflated operator's locked vectors): projected off
        ``W`` first, twice, and off any replacement direction; no coefficients.

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
        return _orthonormalize(W, V, rng, drop, local, lock)


def _orthonormalize(
    W: np.ndarray,
    V: np.ndarray | None,
    rng: np.random.Generator,
    drop: float,
    local: np.ndarray | None,
    lock: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if lock is not None and lock.shape[1]:
        project_off(W, lock)
    coef_local = None
    if local is not None and local.shape[1]:
        coef_local = inner(local, W)
        subtract_product(W, local, coef_local)
    before = colnorms(W)
    coef = None
    if V is not None and V.shape[1]:
        coef = _subtract_significant(W, V, inner(V, W), before)
    for _ in range(2):
        if coef is None:
            break
        after = colnorms(W)
        if np.all(after >= 0.5 * before):
            break
        before = after
        coef = _project(V, W, coef)
    if lock is not None and lock.shape[1]:
        # once more after the passes against V: they subtract V c, which is
        # orthogonal to lock only to eps·|c|, and where they cancelled most of W (a
        # nearly invariant space) that is no longer small beside what is left (the
        # copies of a repeated value found off lock came back 2e-7 inside it, and
        # the next round's Rayleigh–Ritz on a non-orthonormal basis read σ₁ as 1.16)
        subtract_product(W, lock, inner(lock, W))
    Q, R = qr_robust(W)
    if V is not None and V.shape[1]:
        Q, R, coef = _reorthogonalize_weak(W, Q, R, V, coef, drop, lock)
    if np.any(np.abs(np.diag(R)) <= drop):
        Q, R = _replace_weak(W, Q, R, V, rng, drop, lock)
    return Q, R, coef, coef_local


#: A direction of the block whose ``|Rᵢᵢ|`` is below this share of the block's
#: largest column was cancelled inside the block's own QR, and comes out of it
#: with ``eps ‖W‖ / |Rᵢᵢ|`` of ``V`` in it: projected off ``V`` once more.
WEAK_DIRECTION = 1e-2


def _reorthogonalize_weak(
    W: np.ndarray,
    Q: np.ndarray,
    R: np.ndarray,
    V: np.ndarray,
    coef: np.ndarray | None,
    drop: float,
    lock: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``Q`` projected off ``V`` (and ``lock``) again where the block's QR cancelled
    a direction to a small ``|Rᵢᵢ|`` (above ``drop``): a block that is nearly
    rank-deficient in itself — a cluster of nearly equal singular values, which
    Krylov finds as a nearly invariant subspace. Gram–Schmidt against ``V``
    leaves ``eps ‖W‖`` of ``V`` in ``W``, and the QR divides it by ``|Rᵢᵢ|``:
    σ = 1 ×3, 0.9 ×30 and 400 − 33 values 0.2 (1 + 1e-9 uᵢ) lost 4e-6 of
    orthogonality at the second step, all of it by the tenth, and the run its
    leading triplets (σ₁ read as 0.75, residuals ≈ σ₁) — never certified.
    ``W_projected = Q R = V c₂ R + Q₂ (R₂ R)``: the coefficients ``c₂ R`` (rounding)
    join ``coef``, so the recurrence stays exact.
    """
    d = np.abs(np.diag(R))
    weak = (d > drop) & (d < WEAK_DIRECTION * float(colnorms(W).max(initial=0.0)))
    if not weak.any():
        return Q, R, coef
    Q = np.array(Q, order="F")  # (ours to overwrite)
    if lock is not None and lock.shape[1]:
        project_off(Q, lock)
    c2 = inner(V, Q)
    subtract_product(Q, V, c2)
    Q2, R2 = qr_robust(Q)
    extra = c2 @ R
    return Q2, R2 @ R, extra if coef is None else coef + extra


def _subtract_significant(
    W: np.ndarray, V: np.ndarray, c: np.ndarray, before: np.ndarray
) -> np.ndarray | None:
    """``W -= V c`` for the basis vectors whose coefficients are above rounding.

    After the local pass the rest of ``c = Vᴴ W`` is mostly rounding
    (``|c| ~ eps‖W‖`` on flat spectra), and what is not sits on a few basis
    vectors: Lanczos loses orthogonality towards its converged Ritz vectors
    (Paige), the first columns after a thick restart. Counted at commit 08fdb9b
    on ``bench/lowrank.py``'s sparse_uniform to 50 triplets at 1e-6: 28 basis
    vectors of ~140 a step on average (a full pass at 54 of 174 steps), all of
    them between 100 and 1000 eps (at 1000 eps: 0.1 a step — and no run got
    faster, nor fewer steps: ``docs/benchmarks.md``). Subtracting those columns
    only spares part of a second read of the basis.
    A coefficient is rounding when it is below ``NEGLIGIBLE`` times its column's
    norm (a column that the local pass nearly cancelled — a nearly invariant
    space — is all rounding, and its ``|c|`` is large beside it).

    Returns the coefficients subtracted (zero rows for the vectors left alone),
    or None when nothing was.
    """
    rows = np.flatnonzero((np.abs(c) > NEGLIGIBLE * before).any(axis=1))
    if rows.size == 0:
        return None
    if 4 * rows.size > c.shape[0]:
        # a gathered copy of more than a quarter of the basis, written and read
        # again, costs about what one pass over all of it does
        # (LSI's 18821×800 basis at 1e-3: a third to a half of it a step)
        subtract_product(W, V, c)
        return c
    kept = np.zeros_like(c)
    kept[rows] = c[rows]
    subtract_product(W, V[:, rows], c[rows])
    return kept


def _replace_weak(
    W: np.ndarray,
    Q: np.ndarray,
    R: np.ndarray,
    V: np.ndarray | None,
    rng: np.random.Generator,
    drop: float,
    lock: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank-revealing repair: keep the directions of ``W`` above ``drop``, fill up at random
    (orthogonal to ``V``, the kept directions and ``lock``)."""
    n, b = W.shape
    X, s, Yh = np.linalg.svd(R)
    r = int(np.count_nonzero(s > drop))
    kept = Q @ X[:, :r]
    R_new = np.zeros_like(R)
    R_new[:r] = s[:r, None] * Yh[:r]
    fill = random_block(rng, n, b - r, W.dtype)
    for _ in range(2):
        for basis in (lock, V, kept):
            if basis is not None and basis.shape[1]:
                fill -= basis @ (basis.conj().T @ fill)
        fill, _ = np.linalg.qr(fill)
    return np.concatenate([kept, fill], axis=1), R_new
