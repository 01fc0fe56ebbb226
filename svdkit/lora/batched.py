"""Many small deltas of one shape → their certified truncated SVDs, in one stacked block Krylov.

A model holds dozens of modules of each shape (MiniLM: 24 attention matrices of
384×384; SmolLM2-135M: 60 of 576×576, 60 of 192×576…). One at a time, a small
module's truncated SVD is dominated by per-call costs — a few hundred NumPy and
LAPACK calls of a few microseconds each around products of a fraction of a
millisecond — while MKL's full SVD takes only 10–80 ms there.
:func:`factor_batch` runs block Lanczos on ``ΔWᴴΔW`` for the whole stack at
once, so that every small call serves all the modules:

* the products ``ΔWᴴΔW X`` module by module, split over the cores (Python
  threads, one BLAS thread each), each module read by row blocks that stay in
  the core's cache between ``ΔW X`` and ``ΔWᴴ (ΔW X)``;
* full reorthogonalisation (CGS2), CholeskyQR2 of the new blocks, the
  projected matrix from the projection coefficients and each Ritz pair's
  residual from the Krylov decomposition (no product), on the stacked arrays;
* the Ritz pairs only where the residuals' decay predicts convergence;
* then, per module, the certificate of :func:`svdkit.lora.factor.factor_delta`:
  Rayleigh–Ritz on ``ΔW`` in float64 (widened by blocks) and **both residuals
  of every triplet measured**, ``‖ΔW vᵢ − σᵢ uᵢ‖`` and ``‖ΔWᴴ uᵢ − σᵢ vᵢ‖ ≤
  tol · σ₁``, and the same :class:`~svdkit.lora.factor.Quality` record (the
  error from ``‖ΔW‖_F²`` and the measured ``uᵢᴴ ΔW vᵢ``, a certified lower bound
  of the optimum).

An ``error`` rule's rank is chosen as :func:`~svdkit.lora.factor.factor_delta`
chooses it: on the energy left out, the stack's values being a leading part of the
spectrum (:meth:`~svdkit.lora.rank.RankRule.select` with ``complete=False``), then,
for a bound within the rounding of the energies (``ε ≲ 1.2e-7``) or ranks within the
values' residuals, on the measured error of the factors
(:meth:`~svdkit.lora.rank.RankRule.settle`).

A module the stack does not certify — not converged within the basis where
the one-at-a-time method would restart, a run of ``b`` equal values (a block
may miss copies of a repeated singular value), an excess bound that
:func:`~svdkit.lora.factor.factor_delta` would tighten, an ``error`` bound the
factors miss where the optimum may meet it (or one below the noise floor that the
kept triplets do not resolve: :func:`~svdkit.lora.factor.wants_tighter_tol`) — is
factored again by
:func:`~svdkit.lora.factor.factor_delta` alone, with its restarts, missed-copies
search and tightening: the batch never certifies less than the one-at-a-time
path. Modules of zeros or with non-finite entries end there (the stack never
certifies them).

Measured (``bench/lora.py``, two cores, float32 power-law deltas, ``tol`` 1e-3,
per module; MiniLM's 24 attention matrices of 384×384): rank 8 1.16 ms against
2.93 ms one at a time and 12.2 ms for ``torch.linalg.svd``; rank 32 3.85 against
6.62 ms. All 210 linear modules of SmolLM2-135M at rank 8: 0.52 s against 1.12 s
one at a time and 8.8 s for the full SVDs (``docs/benchmarks.md``). The results
are the same triplets to within the certificate; which companions a module has
may change its last digits (the stack stops when all its modules have converged).

Which modules are batched (:func:`batchable`): real float32 / float64 deltas of
at most :data:`MAX_ENTRIES` entries and a short side of at least
:data:`MIN_SIDE`, at a fixed rank (or an energy / error rule with a
``max_rank`` cap) of at most a fifth of the short side — where
``method="auto"`` runs Krylov or the Gram matrix one module at a time; larger
modules amortise their own calls. A batch holds at most :data:`BATCH_BYTES` of
deltas (:func:`plan_batches`), plus ``O((m + n) · basis)`` per module; below
``tol = 1e-4``, or for a rule that leaves nothing out (``energy=1``, ``error=0``,
``error < 1e-14`` under a cap: its rank is a numerical rank, which float32 steps do not
show), the steps run in float64, on a float64 copy of each delta.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> deltas = [rng.standard_normal((96, 4)) @ rng.standard_normal((4, 80)) for _ in range(3)]
>>> found = factor_batch(deltas, 4)
>>> [f.rank for f in found], all(f.quality.relative_error < 1e-8 for f in found)
([4, 4, 4], True)
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg

from svdkit.errors import SvdkitError
from svdkit.lora.factor import (
    _RESOLVED,
    Factored,
    Quality,
    approximation_error,
    check_tol,
    factor_delta,
    first_order_lower,
    kept_energy,
    noise_floor,
    pow2_exponent,
    residual_norm,
    sharpen,
    wants_tighter_tol,
)
from svdkit.lora.rank import RankRule, as_rank_rule
from svdkit.lowrank._threads import available_cores, parallel_map, single_blas_thread
from svdkit.lowrank.api import MIN_TOL
from svdkit.lowrank.krylov import default_max_basis

__all__ = ["BATCH_BYTES", "MAX_ENTRIES", "batchable", "factor_batch", "plan_batches"]

#: Modules of more entries are factored one at a time: their products are large
#: enough to amortise the per-call costs (2²² = a 2048×2048 matrix).
MAX_ENTRIES = 1 << 22

#: The most bytes of deltas (in their working precision) one batch holds: the
#: size of one 2048×2048 float32 tensor. The Krylov bases come on top, and below
#: ``tol = 1e-4`` a float64 copy of float32 deltas (the certificate widens by blocks).
BATCH_BYTES = 16 << 20

#: The rank may be at most this fraction of the short side (beyond, ``method="auto"``
#: forms the Gram matrix or calls LAPACK, whose cost does not depend on the spectrum).
MAX_RANK_SHARE = 0.2

#: Short sides below this are left to ``method="auto"`` (LAPACK or the Gram matrix).
MIN_SIDE = 64

#: Steps multiply a float32 delta in float32 from this ``tol`` on, as
#: :data:`svdkit.lowrank.krylov.STORED_PRECISION_TOL`; the certificate is float64.
SINGLE_PRECISION_TOL = 1e-4

#: A Ritz pair is taken as converged when its estimated residual is below this
#: fraction of ``tol · σ₁`` (the certificate then measures both residuals).
SAFETY = 0.5


def batchable(shape: tuple[int, ...], dtype: Any, rule: RankRule | int) -> bool:
    """Whether a delta of this shape and dtype goes through :func:`factor_batch`'s stack.

    Examples
    --------
    >>> batchable((384, 384), np.float32, 8), batchable((384, 384), np.float32, 128)
    (True, False)
    >>> batchable((4096, 4096), np.float32, 8), batchable((384, 384), np.complex64, 8)
    (False, False)
    """
    rule = as_rank_rule(rule)
    if len(shape) != 2 or np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return False
    m, n = (int(x) for x in shape)
    p = min(m, n)
    if p < MIN_SIDE or m * n > MAX_ENTRIES:
        return False
    if rule.rank_tol is not None and rule.rank_tol > 0.0 and rule.cap(p) >= p:
        return False  # rank by tolerance over the whole spectrum: one at a time
    return rule.cap(p) <= MAX_RANK_SHARE * p


def plan_batches(
    items: Sequence[tuple[tuple[int, ...], Any]], rule: RankRule | int
) -> list[list[int]]:
    """Indices of ``items`` (``(shape, dtype)`` each) grouped into batches, in order.

    Batchable items of the same shape and dtype share a batch of at most
    :data:`BATCH_BYTES`; every other item is a batch of its own. Batches are
    ordered by their first item, and items keep their order inside a batch.

    Examples
    --------
    >>> f32 = np.float32
    >>> plan_batches([((384, 384), f32), ((1536, 384), f32), ((384, 384), f32),
    ...               ((8, 8), f32)], 8)
    [[0, 2], [1], [3]]
    """
    open_: dict[tuple[tuple[int, ...], str], list[int]] = {}
    sizes: dict[tuple[tuple[int, ...], str], int] = {}
    batches: list[list[int]] = []
    for i, (shape, dtype) in enumerate(items):
        shape = tuple(int(x) for x in shape)
        if not batchable(shape, dtype, rule):
            batches.append([i])
            continue
        key = (shape, np.dtype(dtype).str)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if key not in open_ or sizes[key] + nbytes > BATCH_BYTES:
            open_[key] = []
            sizes[key] = 0
            batches.append(open_[key])
        open_[key].append(i)
        sizes[key] += nbytes
    return batches


def factor_batch(
    deltas: Sequence[np.ndarray],
    rule: RankRule | int,
    *,
    tol: float = 1e-3,
    seed: int = 0,
    tighten: bool = True,
) -> list[Factored]:
    """:func:`~svdkit.lora.factor.factor_delta` of every delta, the small ones stacked.

    Parameters
    ----------
    deltas : sequence of ndarray, shape (m, n) each
        Weight deltas; those of one shape and dtype that :func:`batchable`
        accepts are factored together, the others one at a time.
    rule : RankRule or int
        How the rank is chosen (an integer is a fixed rank).
    tol : float, default 1e-3
        Both residuals of every triplet ``≤ tol · σ₁`` (of its own module).
    seed : int
        Seed of the random start, the same for every module (a module's triplets
        may still differ in their last digits with the company it keeps: the stack
        stops when all its modules have converged).
    tighten : bool, default True
        As :func:`~svdkit.lora.factor.factor_delta`: a module whose excess bound
        is loose is factored again, tighter, by itself.

    Returns
    -------
    list of Factored
        In the order of ``deltas``; :attr:`Factored.method` is ``"krylov-batch"``
        for the modules the stack certified, what ``factor_delta`` used otherwise,
        and :attr:`Factored.seconds` the module's share of its batch's time.
    """
    rule = as_rank_rule(rule)
    tol = check_tol(tol)
    arrays = [np.asarray(d) for d in deltas]
    for a in arrays:
        if a.ndim != 2:
            raise SvdkitError(f"a LoRA delta must be 2-D; got shape {a.shape}")
    out: list[Factored | None] = [None] * len(arrays)
    for batch in plan_batches([(a.shape, a.dtype) for a in arrays], rule):
        found = None
        # entries whose squares leave float64's range (or a float32 step's): alone, where
        # factor_delta scales the delta by a power of two (the stack's ‖ΔW‖_F² of a
        # delta of entries ~1e-300 was 0, of ~1e200 inf)
        for i in batch:
            if pow2_exponent(arrays[i]):
                out[i] = factor_delta(arrays[i], rule, tol=tol, seed=seed, tighten=tighten)
        batch = [i for i in batch if out[i] is None]
        while len(batch) > 1:
            with np.errstate(all="ignore"):  # a module of NaNs must not warn for the others
                try:
                    found = _factor_stack([arrays[i] for i in batch], rule, tol, seed)
                except _Unfit as unfit:
                    # zeros or non-finite products at the first step: those modules
                    # alone first (rank 0, or their error before the others' work),
                    # then the stack again without them
                    for j in unfit.modules:
                        out[batch[j]] = factor_delta(
                            arrays[batch[j]], rule, tol=tol, seed=seed, tighten=tighten
                        )
                    batch = [i for j, i in enumerate(batch) if j not in unfit.modules]
                    continue
                except (ValueError, np.linalg.LinAlgError):  # non-finite entries somewhere
                    found = None
            break
        for j, i in enumerate(batch):
            f = None if found is None else found[j]
            if f is None:
                # not certified in the stack (or zeros, or non-finite entries: the
                # one-at-a-time path returns rank 0, or says what is wrong): alone, in full
                f = factor_delta(arrays[i], rule, tol=tol, seed=seed, tighten=tighten)
            out[i] = f
    return out  # type: ignore[return-value]


class _Unfit(Exception):
    """Modules of a stack (their positions) whose first ``AᴴA X`` is zero or not
    finite: a delta of zeros (rank 0), or one with NaN or infinite entries, or so
    large that its products overflow. Factored alone, they cost nothing to the
    others: in the stack a zero block sent every module's QR to Householder, and a
    NaN ran the whole batch before its error came."""

    def __init__(self, modules: set[int]) -> None:
        super().__init__(sorted(modules))
        self.modules = modules


def _factor_stack(
    deltas: list[np.ndarray], rule: RankRule, tol: float, seed: int
) -> list[Factored | None]:
    """Deltas of one shape and dtype, all :func:`batchable`: one stacked run; ``None``
    for each module it does not certify. Raises :class:`_Unfit` at the first step for
    modules the stack cannot take."""
    started = time.perf_counter()
    m, n = deltas[0].shape
    dtype = deltas[0].dtype
    wide = m < n  # work on the Gram matrix of the short side: A is (long, short)
    k = rule.cap(min(m, n))
    # a rule that leaves nothing out (energy=1, error=0 under a cap) has the numerical
    # rank, which float32 steps do not show (their rounding: 1e-7 σ₁): float64 steps, as
    # factor_delta widens such a delta (svdkit.lora.factor._widened)
    fine = rule.rank_tol is not None and rule.rank_tol < MIN_TOL
    single = dtype == np.float32 and tol >= SINGLE_PRECISION_TOL and not fine
    with single_blas_thread():
        steps = deltas if single else [np.asarray(d, dtype=np.float64) for d in deltas]
        V = _krylov(steps, wide, k, tol, seed)
        del steps
        fro2, U, s, Vk, right, left, rayleigh = _certify(deltas, V, wide)
    _sign_rule(Vk if wide else U, Vk if not wide else U)
    seconds = (time.perf_counter() - started) / len(deltas)
    found: list[Factored | None] = []
    for j, delta in enumerate(deltas):
        f = _accept(
            delta, rule, tol, fro2[j], U[j], s[j], Vk[j], right[j], left[j], rayleigh[j],
            wide, seconds,
        )
        found.append(f)
    return found


def _block(k: int) -> int:
    """Block size: 8 columns, whatever ``k`` (small blocks raise the polynomial degree
    per product; measured per module, two cores, σᵢ = 1/i, 384×384 at rank 8 / 32:
    1.17 / 3.18 ms with blocks of 8, 1.10 / 4.26 ms with 12 / 16; 1536×384 2.86 /
    7.30 against 3.22 / 7.63 ms)."""
    return 8


def _start(n: int, b: int, count: int, seed: int, dtype: np.dtype) -> np.ndarray:
    """The same Gaussian start block for every module (``seed``), orthonormal."""
    X = np.random.default_rng(seed).standard_normal((n, b))
    Q, _ = np.linalg.qr(X)
    return np.broadcast_to(Q.astype(dtype), (count, n, b))


def _krylov(deltas: list[np.ndarray], wide: bool, k: int, tol: float, seed: int) -> np.ndarray:
    """Leading ``k`` Ritz vectors of ``AᴴA`` for every ``A`` (``Δ``, or ``Δᵀ`` when ``wide``).

    Block Lanczos with full reorthogonalisation (CGS2), no restart: the basis
    grows to at most the columns where the one-at-a-time Krylov method would
    restart (:func:`svdkit.lowrank.krylov.default_max_basis` with blocks of 8,
    and ``n − b``). The projection coefficients fill ``H = Vᴴ AᴴA V`` and the
    Krylov decomposition ``AᴴA V = V H + Q R Eᴴ`` (``Q R`` the orthogonalised last
    block) gives each Ritz pair's residual as ``‖R y[last block]‖`` with no product
    (:mod:`svdkit.lowrank.krylov`'s test). It stops when every module's ``k``
    Ritz pairs have ``‖AᴴA v − θ v‖ / σ ≤`` :data:`SAFETY` ``· tol · σ₁`` (the
    certificate then measures both residuals of ``A``), or when the basis is full.
    The Ritz pairs are computed from ``max(k + b, 4b)`` columns on, then where the
    residuals' decay predicts convergence (:func:`_next_check`). The products run
    module by module (:func:`_gram_products`), everything else on the stack.
    Returns the Ritz vectors, ``(count, n, k)``, in the deltas' precision.
    """
    count = len(deltas)
    n = deltas[0].shape[0] if wide else deltas[0].shape[1]
    b = _block(k)
    cap = min(n - b, default_max_basis(k, 8))
    cap = max(b, cap - cap % b)
    dt = deltas[0].dtype
    eps = float(np.finfo(dt).eps)
    V = np.empty((count, n, cap), dtype=dt)
    H = np.zeros((count, cap + b, cap), dtype=dt)
    V[:, :, :b] = _start(n, b, count, seed, dt)
    P = np.empty((count, n, b), dtype=dt)
    dropped = np.zeros(count)  # per module: the residual left out at refills (_block_qr)
    scales = _scales(deltas)
    d = b
    check = min(cap, max(k + b, 4 * b))
    history: list[tuple[int, float]] = []
    Y = None
    while True:
        _gram_products(deltas, wide, np.ascontiguousarray(V[:, :, d - b : d]), P, scales)
        if d == b:
            size = np.linalg.norm(P.reshape(count, -1), axis=1)
            unfit = np.flatnonzero(~np.isfinite(size) | (size == 0.0))
            if unfit.size:
                raise _Unfit({int(j) for j in unfit})
        Vd = V[:, :, :d]
        Vdt = Vd.transpose(0, 2, 1)
        C = np.matmul(Vdt, P)
        W = P - np.matmul(Vd, C)
        C2 = np.matmul(Vdt, W)  # CGS2: orthogonal to the basis to working precision
        W -= np.matmul(Vd, C2)
        C += C2
        H[:, :d, d - b : d] = C
        Q, R, lost = _block_qr(W, V[:, :, :d], seed + d)
        dropped += lost
        if d >= check or d + b > cap:
            theta, Y = _ritz(H[:, :d, :d], k)
            res = np.linalg.norm(np.matmul(R, Y[:, d - b : d, :]), axis=1) + dropped[:, None]
            sigma = np.sqrt(np.maximum(theta, 0.0))
            # a Ritz value at rounding (a delta of rank < k) has nothing to converge to
            small = sigma <= 1e3 * eps * sigma[:, :1]
            bound = np.maximum(SAFETY * tol * sigma[:, :1] * sigma, np.finfo(dt).tiny)
            ratio = np.where(small, 0.0, res / bound)
            worst = float(ratio.max())
            if worst <= 1.0 or d + b > cap:
                break
            history.append((d, worst))
            check = _next_check(history, b)
        H[:, d : d + b, d - b : d] = R
        V[:, :, d : d + b] = Q
        d += b
    return np.matmul(V[:, :, :d], Y)


def _scales(deltas: list[np.ndarray]) -> np.ndarray:
    """Per module, the power of two ``2⁻²ᵉ`` (``2ᵉ`` about its largest entry) that brings
    its ``AᴴA X`` to order 1: the steps (Ritz vectors, residual ratios) do not depend on
    a module's scale, but the squared column norms of a float32 block do — a delta of
    entries ~1e-10 (``AᴴA X`` ~1e-20) has them below float32's range, and its Krylov
    space was lost. Exact in binary floating point; 1 for zeros and non-finite entries
    (in the rows sampled).
    """
    out = np.ones(len(deltas))
    for j, d in enumerate(deltas):
        # a sample of rows is enough for a scale within a few powers of two (the whole
        # delta's two reductions cost 0.1-0.2 ms a module of 1536x384)
        rows = d[:: max(1, d.shape[0] // 64)]
        top = max(abs(float(rows.max(initial=0.0))), abs(float(rows.min(initial=0.0))))
        if math.isfinite(top) and top > 0.0:
            out[j] = math.ldexp(1.0, -2 * math.frexp(top)[1])
    return out


def _ritz(H: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenpairs of every (symmetrised) ``H`` of the stack,
    descending: LAPACK's ``syevd`` module by module (SciPy's wrapper: 13.6 against
    21.7 ms for NumPy's stacked ``eigh`` on 24 matrices of 112×112, one thread)."""
    count, d, _ = H.shape
    syevd = scipy.linalg.lapack.get_lapack_funcs("syevd", (H,))
    theta = np.empty((count, k), dtype=H.dtype)
    Y = np.empty((count, d, k), dtype=H.dtype)
    for j in range(count):
        w, v, info = syevd((H[j] + H[j].T) * 0.5, compute_v=1, lower=0)
        if info != 0:
            raise SvdkitError(f"LAPACK syevd failed (info={info}) on a projected matrix")
        theta[j] = w[::-1][:k]
        Y[j] = v[:, ::-1][:, :k]
    return theta, Y


def _next_check(history: list[tuple[int, float]], b: int) -> int:
    """Basis size at which to compute the Ritz pairs next, from the worst residual
    ratio (to its bound) at the checks so far: one block on after the first
    check; then the last whole block before the geometric decay between the
    last two checks reaches 1 (Krylov convergence speeds up: measured at rank
    32, the rounded-up prediction was a block late)."""
    d, worst = history[-1]
    if len(history) < 2:
        return d + b
    d0, worst0 = history[-2]
    if not 0.0 < worst < worst0:
        return d + b
    per_block = math.log(worst0 / worst) * b / (d - d0)
    return d + b * max(1, math.floor(math.log(worst) / per_block))


def _block_qr(
    W: np.ndarray, basis: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``W ≈ Q R`` (``Q`` orthonormal and orthogonal to ``basis``) for every block of the
    stack, and the norm of what ``Q R`` leaves out of ``W`` per module.

    CholeskyQR2 of the block with unit columns (:func:`_cholesky_qr`; a block whose
    columns differ in size but not in direction stays well conditioned). Where a
    block is nearly rank-deficient in itself (its Krylov space is exhausted: the
    delta's rank is below the basis), a column-pivoted QR of that module keeps
    the directions above rounding and completes them with random directions off
    ``basis``, ``R = Qᴴ W``; what that leaves out, ``‖W − Q R‖_F``, is returned
    (0 elsewhere) and added to the module's later residual estimates, so that no
    convergence is claimed from a dropped residual.
    """
    count, _, b = W.shape
    dropped = np.zeros(count)
    norms = np.sqrt(np.einsum("bij,bij->bj", W, W))
    unit = np.where(norms > 0, norms, 1.0)
    found = _cholesky_qr(W / unit[:, None, :]) if np.all(norms > 0) else None
    if found is not None:
        Q, R = found
        return Q, R * norms[:, None, :], dropped
    dt = W.dtype
    eps = float(np.finfo(dt).eps)
    Q = np.empty_like(W)
    R = np.empty((count, b, b), dtype=dt)
    for j in range(count):
        w = W[j] / unit[j]
        q, r, _ = scipy.linalg.qr(w, mode="economic", pivoting=True)
        d = np.abs(np.diagonal(r))
        keep = int(np.sum(d > 1e3 * eps * max(float(d[0]) if d.size else 0.0, 1.0)))
        if keep < b:
            known = np.concatenate([basis[j], q[:, :keep]], axis=1)
            q = np.concatenate([q[:, :keep], _fresh(known, b - keep, seed)], axis=1)
        Q[j] = q
        R[j] = q.T @ W[j]
        dropped[j] = float(np.linalg.norm(W[j] - q @ R[j])) if keep < b else 0.0
    return Q, R, dropped


#: Row (or column) blocks of the fused ``AᴴA X`` hold about this many bytes, so that
#: each stays in a core's L2 cache between its two products.
_BLOCK_BYTES = 1 << 18


def _gram_products(
    deltas: list[np.ndarray],
    wide: bool,
    X: np.ndarray,
    out: np.ndarray,
    scales: np.ndarray | None = None,
) -> None:
    """``out[j] = AⱼᴴAⱼ X[j]`` (``A = Δ``, or ``Δᵀ`` when ``wide``), the modules split
    over the cores (Python threads; NumPy releases the GIL in its products), each
    read once by blocks of :data:`_BLOCK_BYTES` (one BLAS thread: the caller's);
    times ``scales[j]`` where given (a power of two per module, see :func:`_scales`).
    """
    count = len(deltas)
    m, n = deltas[0].shape
    item = deltas[0].dtype.itemsize

    def one(j: int) -> None:
        d, x, o = deltas[j], X[j], out[j]
        if wide:  # Δ Δᵀ X = Σ over column blocks c: Δ[:, c] (Δ[:, c]ᵀ X)
            step = max(16, _BLOCK_BYTES // (m * item))
            if step >= n:
                np.matmul(d, d.T @ x, out=o)
                return
            o[...] = 0
            for c0 in range(0, n, step):
                blk = d[:, c0 : c0 + step]
                o += blk @ (blk.T @ x)
        else:  # Δᵀ Δ X = Σ over row blocks r: Δ[r]ᵀ (Δ[r] X)
            step = max(16, _BLOCK_BYTES // (n * item))
            if step >= m:
                np.matmul(d.T, d @ x, out=o)
                return
            o[...] = 0
            for r0 in range(0, m, step):
                blk = d[r0 : r0 + step]
                o += blk.T @ (blk @ x)

    def chunk(c: range) -> None:
        # np.errstate is per thread: the caller's does not reach the pool's threads, and
        # an overflowing module must not warn (or raise, under warnings as errors)
        with np.errstate(all="ignore"):
            for j in c:
                one(j)
                if scales is not None:
                    out[j] *= scales[j]

    workers = min(available_cores(), count)
    chunks = [range(w * count // workers, (w + 1) * count // workers) for w in range(workers)]
    parallel_map(chunk, chunks, workers)


#: CholeskyQR is taken when every block's Cholesky factor has a diagonal ratio
#: above this: the block's condition number is then below ~1/√eps of float32 ×
#: 10, where two passes give orthonormal columns to working precision
#: (Yamamoto et al., 2015); otherwise Householder QR.
_CHOLQR_MIN_RATIO = 1e-3

#: :func:`_cholesky_qr` takes one pass when ``max |WᴴW − I|`` is at most this.
_NEAR_ORTHONORMAL = 1e-4


def _cholesky_qr(W: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """CholeskyQR2 of every block of the stack, ``(Q, R)``, or ``None`` where a block
    is too ill-conditioned for it (the caller then takes Householder QR). One pass
    when every block is orthonormal to within :data:`_NEAR_ORTHONORMAL` already (the
    rounding of a pass grows with the square of the condition number, then
    ``1 + 2e-4``): the Ritz vectors of the float32 steps, widened to float64."""
    R = None
    for step in range(2):
        G = np.matmul(W.transpose(0, 2, 1), W)
        near = step == 0 and float(
            np.abs(G - np.eye(G.shape[1], dtype=G.dtype)).max(initial=0.0)
        ) <= _NEAR_ORTHONORMAL
        try:
            L = np.linalg.cholesky(G)
        except np.linalg.LinAlgError:
            return None
        diag = np.abs(np.diagonal(L, axis1=1, axis2=2))
        if not np.all(np.isfinite(diag)) or np.any(
            diag.min(axis=1) <= _CHOLQR_MIN_RATIO * diag.max(axis=1)
        ):
            return None
        W = np.matmul(W, np.linalg.inv(L).transpose(0, 2, 1))
        Lt = L.transpose(0, 2, 1)
        R = Lt if R is None else np.matmul(Lt, R)
        if near:
            break
    return W, R


def _fresh(basis: np.ndarray, b: int, seed: int) -> np.ndarray:
    """``b`` orthonormal random directions orthogonal to ``basis`` (``n × d``)."""
    X = np.random.default_rng(seed).standard_normal((basis.shape[0], b)).astype(basis.dtype)
    for _ in range(2):
        X -= basis @ (basis.T @ X)
    Q, _ = np.linalg.qr(X)
    return Q


#: ``Aᴴ uᵢ`` is taken as ``(AᴴA V) zᵢ / σᵢ`` (no second pass over ``A``) for the
#: triplets with ``σᵢ ≥`` this ``· σ₁``: the rounding of that grouping, about
#: ``(√m + √n) · eps · σ₁² / σᵢ`` (:mod:`svdkit.lowrank.certify`), is then below
#: ``1e-12 · σ₁``; the others get a direct product.
_GROUPED_MIN = 1e-2


def _certify(
    deltas: list[np.ndarray], V: np.ndarray, wide: bool
) -> tuple[list[float], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rayleigh–Ritz on each ``A`` (``Δ``, or ``Δᵀ`` when ``wide``) over ``span V``, in float64.

    ``V ← orth(V)``, ``A V = Q R``, ``R = Ũ Σ Zᴴ``: ``U = Q Ũ``, ``V ← V Z``. Each
    delta is widened once into a reused float64 buffer, which gives ``‖Δ‖_F²``,
    ``A V`` and ``Aᴴ (A V)``; then ``Aᴴ U = (Aᴴ A V) Z Σ⁻¹`` exactly (the
    products grouped differently), used where its rounding is negligible
    (:data:`_GROUPED_MIN`); the other triplets (a delta of lower rank than asked) get a
    direct product :func:`_adjoint_product`, the delta widened again by blocks into one
    reused buffer, never a float64 copy of it. Returns ``‖Δ‖_F²``, ``U`` (count, m, k), ``s``
    (count, k), ``V`` (count, n, k), ``‖A vᵢ − σᵢ uᵢ‖``, ``‖Aᴴ uᵢ − σᵢ vᵢ‖`` and
    ``vᵢᴴ Aᴴ uᵢ`` (count, k) each — of the oriented ``A``.
    """
    V = _orthonormal(V.astype(np.float64))
    fro2, AV, AhAV = _float64_products(deltas, wide, V)
    Q, R = _qr_columns(AV)
    Ur, s, Zh = np.linalg.svd(R)
    Z = Zh.transpose(0, 2, 1)
    U = np.matmul(Q, Ur)
    V = np.matmul(V, Z)
    E = np.matmul(AV, Z) - U * s[:, None, :]
    right = np.sqrt(np.einsum("bij,bij->bj", E, E))
    grouped = s >= _GROUPED_MIN * s[:, :1]
    AhU = np.matmul(AhAV, Z) / np.where(grouped, s, 1.0)[:, None, :]
    buf = None  # one float64 buffer for every module's blocks
    for j in np.flatnonzero(~grouped.all(axis=1)):
        direct = np.flatnonzero(~grouped[j])
        AhU[j][:, direct], buf = _adjoint_product(deltas[j], wide, U[j][:, direct], buf)
    rayleigh = np.einsum("bij,bij->bj", V, AhU)
    E = AhU - V * s[:, None, :]
    left = np.sqrt(np.einsum("bij,bij->bj", E, E))
    return fro2, U, s, V, right, left, rayleigh


def _adjoint_product(
    delta: np.ndarray, wide: bool, W: np.ndarray, buf: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``Aᴴ W`` in float64 (``A = Δ``, or ``Δᵀ`` when ``wide``), and the buffer to pass
    to the next call: a float64 ``Δ`` is multiplied as it is, another is widened by
    blocks of about :data:`_BLOCK_BYTES` into ``buf`` (allocated when ``None``), never
    into a float64 copy of the whole delta.

    Examples
    --------
    >>> d = np.arange(12, dtype=np.float32).reshape(4, 3)
    >>> W = np.ones((4, 2))
    >>> out, buf = _adjoint_product(d, False, W, None)
    >>> bool(np.array_equal(out, d.T.astype(np.float64) @ W)), buf.dtype
    (True, dtype('float64'))
    """
    if delta.dtype == np.float64:
        return (delta if wide else delta.T) @ W, buf
    m_, n_ = delta.shape
    width = m_ if wide else n_  # the length of the blocks' other side
    step = max(16, 2 * _BLOCK_BYTES // (8 * width))
    shape = (m_, min(step, n_)) if wide else (min(step, m_), n_)
    if buf is None or buf.shape != shape:
        buf = np.empty(shape, dtype=np.float64)
    out = np.zeros((width, W.shape[1]))
    size = n_ if wide else m_
    with np.errstate(all="ignore"):  # as _float64_products
        for s0 in range(0, size, step):
            part = delta[:, s0 : s0 + step] if wide else delta[s0 : s0 + step]
            blk = buf[:, : part.shape[1]] if wide else buf[: part.shape[0]]
            np.copyto(blk, part, casting="unsafe")
            out += (blk if wide else blk.T) @ W[s0 : s0 + step]
    return out, buf


def _float64_products(
    deltas: list[np.ndarray], wide: bool, V: np.ndarray
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """``‖Δⱼ‖_F²``, ``Aⱼ V[j]`` and ``AⱼᴴAⱼ V[j]`` in float64 (``A = Δ``, or ``Δᵀ`` when
    ``wide``): each delta read once, by blocks widened into a float64 buffer of
    :data:`_BLOCK_BYTES`, the modules split over the cores as :func:`_gram_products`.
    """
    count, n, k = V.shape
    m_, n_ = deltas[0].shape
    AV = np.empty((count, n_ if wide else m_, k))
    AhAV = np.empty((count, n, k))
    fro2 = [0.0] * count
    step = max(16, 2 * _BLOCK_BYTES // (8 * (m_ if wide else n_)))

    def one(j: int, buf: np.ndarray) -> None:
        d, v, av, o = deltas[j], V[j], AV[j], AhAV[j]
        total = 0.0
        o[...] = 0
        size = d.shape[1] if wide else d.shape[0]
        for s0 in range(0, size, step):
            part = d[:, s0 : s0 + step] if wide else d[s0 : s0 + step]
            blk = buf[:, : part.shape[1]] if wide else buf[: part.shape[0]]
            np.copyto(blk, part, casting="unsafe")
            total += float(np.vdot(blk, blk))
            if wide:  # A = Δᵀ: (A V)[c] = Δ[:, c]ᵀ V, AᴴA V = Σ Δ[:, c] (A V)[c]
                np.matmul(blk.T, v, out=av[s0 : s0 + step])
                o += blk @ av[s0 : s0 + step]
            else:
                np.matmul(blk, v, out=av[s0 : s0 + step])
                o += blk.T @ av[s0 : s0 + step]
        fro2[j] = total

    def chunk(c: range) -> None:
        shape = (m_, min(step, n_)) if wide else (min(step, m_), n_)
        buf = np.empty(shape, dtype=np.float64)
        with np.errstate(all="ignore"):  # per thread, as in _gram_products
            for j in c:
                one(j, buf)

    workers = min(available_cores(), count)
    chunks = [range(w * count // workers, (w + 1) * count // workers) for w in range(workers)]
    parallel_map(chunk, chunks, workers)
    return fro2, AV, AhAV


def _qr_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W = Q R`` for every matrix of the stack (float64): CholeskyQR2 of ``W`` with
    unit columns (``A V`` for Ritz vectors ``V`` has nearly orthogonal columns, so
    that is well conditioned whatever the spread of ``σ``), Householder where it is
    not (a zero column: a delta of lower rank than asked)."""
    norms = np.sqrt(np.einsum("bij,bij->bj", W, W))
    if np.all(norms > 0):
        found = _cholesky_qr(W / norms[:, None, :])
        if found is not None:
            return found[0], found[1] * norms[:, None, :]
    return np.linalg.qr(W)


def _orthonormal(W: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning each ``W`` of the stack: :func:`_cholesky_qr`,
    Householder QR where a block is too ill-conditioned for it."""
    found = _cholesky_qr(W)
    return found[0] if found is not None else np.linalg.qr(W)[0]


def _sign_rule(left: np.ndarray, right: np.ndarray) -> None:
    """:mod:`svdkit.linalg.signs`'s rule on every module of the stack, in place: each
    left singular vector's pivot (its first entry within ``PIVOT_SLACK`` of its
    largest magnitude) made positive, the right vector flipped with it.
    ``left`` (count, m, k) and ``right`` (count, n, k); one pass over the stack
    (the rule module by module cost 0.16 ms a module of 1536 rows)."""
    from svdkit.linalg.signs import PIVOT_SLACK

    mags = np.abs(left.transpose(0, 2, 1))  # (count, k, m), contiguous rows
    cut = mags.max(axis=2, keepdims=True) * (1.0 - PIVOT_SLACK)
    rows = np.argmax(mags >= cut, axis=2)  # (count, k): the pivot of each vector
    pivots = np.take_along_axis(left, rows[:, None, :], axis=1)[:, 0, :]
    phases = np.where(pivots < 0, -1.0, 1.0)
    left *= phases[:, None, :]
    right *= phases[:, None, :]
    left += 0.0  # -0.0 → 0.0, as the rule does
    right += 0.0


def _accept(
    delta: np.ndarray,
    rule: RankRule,
    tol: float,
    fro2: float,
    U: np.ndarray,
    s: np.ndarray,
    V: np.ndarray,
    right: np.ndarray,
    left: np.ndarray,
    rayleigh: np.ndarray,
    wide: bool,
    seconds: float,
) -> Factored | None:
    """One module's result from the stack, or ``None`` where the stack did not certify it."""
    from svdkit.lowrank.certify import Certificate
    from svdkit.lowrank.krylov import cluster_end

    if not (math.isfinite(fro2) and fro2 > 0.0) or not s.size or not s[0] > 0.0:
        return None
    worst = np.maximum(right, left)
    if not np.all(worst <= tol * s[0]):
        return None
    cert = Certificate(U, s, V, right, left, V)
    if cluster_end(cert, s.size, _block(s.size), False) is not None:
        return None  # a run of b equal values: copies may be missing
    if wide:  # the stack held Δᵀ: its left vectors are Δ's right ones
        U, V = V, U
        right, left = left, right
    # the stack computed the leading cap(p) values only: the energy past them is real,
    # not rounding (RankRule.select), unless they are the whole spectrum
    complete = s.size >= min(delta.shape)
    k = rule.select(s, fro2, complete=complete, size=min(delta.shape))

    @functools.cache
    def measure(j: int) -> float:
        err = approximation_error(s[:j], rayleigh[:j], fro2)
        if err < _RESOLVED * math.sqrt(fro2):  # the difference of sums cannot tell
            err = residual_norm(delta, U[:, :j], s[:j], V[:, :j].T)
        return err

    # an error bound below the rounding of the energies, or a rank within the values'
    # residuals: the measured error decides
    residuals = np.maximum(right, left)
    k, err = rule.settle(
        s, fro2, k, measure, complete=complete, rho=residuals, size=min(delta.shape)
    )
    U, s, Vh = U[:, :k], s[:k], V[:, :k].T
    rho = residuals[:k]
    quality = Quality(
        rank=k,
        fro=math.sqrt(fro2),
        energy_kept=kept_energy(err, fro2),
        error=err,
        optimum_lower=first_order_lower(s, rho, fro2),
        floor=noise_floor(math.sqrt(fro2), delta.dtype),
    )
    quality = sharpen(quality, delta, s, rho, Vh, fro2)
    if wants_tighter_tol(quality, rule):
        return None  # factor_delta tightens tol
    # the sign rule was applied to the whole stack (_sign_rule)
    U, Vh = np.ascontiguousarray(U), np.ascontiguousarray(Vh)
    return Factored(U, s, Vh, quality, "krylov-batch", seconds, tol)

