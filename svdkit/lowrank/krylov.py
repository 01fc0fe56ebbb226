"""Block Krylov: block Lanczos on the Gram operator with full reorthogonalisation and thick restart.

The Krylov subspace of Musco & Musco (2015, "Randomized block Krylov methods
for stronger and faster approximate singular value decomposition"),
``span{X, (AᴴA) X, (AᴴA)² X, …}``, built one block at a time with the
Lanczos recurrence instead of stacked powers, so that it stays orthonormal to
working precision however many steps it takes (Golub & Underwood 1977; the
block Lanczos of Golub & Van Loan §10.3.6):

1. ``V₁ = orth(Ω)``, ``Ω`` an ``n × b`` Gaussian block (``seed``).
2. Step ``j``: ``W = AᴴA Vⱼ`` (``gram``: one pass for an out-of-core matrix,
   two products otherwise), projected first off the blocks it is known to be
   made of (``Vⱼ₋₁``, ``Vⱼ``), then once off the whole basis (full
   reorthogonalisation: a second pass only when a column loses half its norm),
   then ``W = Vⱼ₊₁ Lⱼ`` (CholeskyQR2). The projection coefficients fill the
   projected matrix ``H = Vᴴ AᴴA V``.
3. Ritz pairs ``H = Y Θ Yᴴ``; the residual of pair ``i`` is
   ``‖AᴴA V yᵢ − θᵢ V yᵢ‖ = ‖Lⱼ yᵢ[last block]‖`` — no extra product.
   After the final Rayleigh–Ritz on ``A`` (:mod:`svdkit.lowrank.certify`) the
   left residual is this over ``σᵢ``: pair ``i`` is taken as converged when it is
   below ``safety · tol · σ₁ · σᵢ``, and the certificate then measures both
   residuals; if one is still above ``tol · σ₁`` the iteration goes on with a
   smaller ``safety``.
4. When the basis reaches ``max_basis`` columns it restarts thick (Wu & Simon
   2000; Baglama & Reichel's IRLBA for the SVD): the leading Ritz vectors are
   kept with ``H = Θ``, and the last residual block continues the recurrence.
   Memory stays ``O(n · max_basis)``.
5. A block of ``b`` holds at most ``b`` directions of a singular subspace: when
   ``b`` certified values agree within their residuals and a smaller one follows,
   the copies a repeated value may still have are looked for on the operator
   deflated by the vectors found (:func:`_missed_copies`).

Why a Gram operator and small blocks: the Krylov space on ``AᴴA`` is the right
half of the Golub–Kahan bidiagonalisation's, so convergence is the same, but
only the short side (``n ≤ m``) is stored and orthogonalised, and an
out-of-core matrix is read once per step. Small blocks (8) raise the
polynomial degree per product: on the flat spectrum of a random sparse
matrix, block 8 needs 18 % fewer products than block 16 and 40 % fewer than
block 32 to certify 50 triplets at 1e-6.

Precision: ``AᴴA`` is never formed, but the Ritz vectors it yields are accurate
to about ``eps · σ₁² / (σᵢ · gap)``; for ``σᵢ / σ₁`` below ``eps / tol`` the
certificate may not be reachable this way, and :func:`block_lanczos` says so
(the caller then polishes with two-sided subspace iteration). From
``tol ≥ STORED_PRECISION_TOL`` the steps on a float32 dense matrix multiply in
float32 (``eps`` ≈ 6e-8 then; a step's products cost half); the certificate is
measured in float64 all the same, and a rounding floor ends the same way.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import scipy.linalg

from svdkit.lowrank._common import Progress, Run, Target
from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.certify import Certificate, rayleigh_ritz, residual_bound
from svdkit.lowrank.operators import Operator
from svdkit.lowrank.orth import (
    colnorms,
    matmul,
    orthonormalize,
    project_off,
    qr_robust,
    random_block,
)
from svdkit.lowrank.rank import rank_lower_bound

__all__ = ["block_lanczos", "default_block", "default_max_basis", "gram_eigen"]

#: Fraction of the basis kept (as Ritz vectors) at a thick restart, at least k + 2b.
KEEP_FRACTION = 0.45

#: From this tolerance on, the steps on a float32 (complex64) dense matrix multiply
#: in single precision (``Operator.stored_precision``): its rounding, about
#: ``√n · 6e-8 · ‖A‖``, stays far below ``tol · σ₁``, and the final certificate
#: is measured in float64 all the same.
STORED_PRECISION_TOL = 1e-4

#: Rank mode decides on the energy left out, ``‖A‖_F² − Σ σᵢ²``: from single-
#: precision steps that is known to about ``1e-9 · ‖A‖_F²`` (measured, a float32
#: 600×400 matrix with σᵢ = 0.9ⁱ: ε = 1e-4 found the right rank, ε = 1e-5 stopped at
#: 87 of the 112 needed), so smaller energy tolerances run in float64.
STORED_PRECISION_RANK_TOL = 1e-3


def single_precision_allowed(target: Target, tol: float) -> bool:
    """Whether ``tol`` and the rank rule of ``target`` leave room for single-precision
    rounding (about ``√n · 6e-8 · ‖A‖`` on the values, ``1e-9 · ‖A‖_F²`` on the energy)."""
    if tol < STORED_PRECISION_TOL:
        return False
    if target.by_rank and target.rank_norm == "energy":
        return target.rank_tol is not None and target.rank_tol >= STORED_PRECISION_RANK_TOL
    return not (target.by_rank and (target.rank_tol or 0.0) < STORED_PRECISION_TOL)


def _single_precision(op: Operator, target: Target, tol: float) -> bool:
    """Whether the steps may multiply in the operator's stored single precision."""
    return single_precision_allowed(target, tol) and op.stored_precision(True)


def default_block(op: Operator, k: int) -> int:
    """Block size of the Krylov method for this operator.

    8 for sparse and matrix-free operators (a small block raises the polynomial
    degree per product: fewer products in all), growing as ``k / 12`` past
    ``k = 96`` (the basis, and so each step's reorthogonalisation, grows with
    ``k``: measured on the 18 821 × 55 202 tf-idf of 20 Newsgroups, ``k = 200``,
    tol 1e-3: 4.7 s with blocks of 8, 3.8 s with 16, 4.2 s with 32); 12 for dense arrays, whose
    products are BLAS-3 and cost less per column in wider blocks (two cores,
    ``k = 50``, tol 1e-6, medians of 5: 0.21 s with blocks of 8 or 12, 0.24 s with
    16 on the 5000×2000 low-rank-plus-noise matrix of ``bench/lowrank.py``; 0.27,
    0.27 and 0.28 s on its 4000×3000, ``σⱼ = 1/j``), but 8 for dense arrays of at
    most 2²¹ entries, whose products run from cache (one core, tol 1e-3,
    ``σᵢ = 1/i``, ``k = 32``: 7.1 ms against 8.1 ms with 16 at 384×384, 14.3
    against 16.6 ms at 1536×384); up to 32 for
    files and dask arrays, where every pass has a fixed cost (I/O, scheduling).
    """
    m, n = op.shape
    if op.kind == "dense":
        b = 8 if m * n <= 2**21 else 12
    elif op.kind in ("row_blocks", "dask"):
        b = max(8, min(32, k // 2 + 1))
    else:
        b = max(8, min(32, k // 12))
    return max(1, min(b, n))


def default_max_basis(k: int, b: int) -> int:
    """Largest Krylov basis before a thick restart: ``max(2k + 6b, 4k)`` columns."""
    return max(2 * k + 6 * b, 4 * k, 12 * b)


def _ritz(H: np.ndarray, e: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the Hermitian matrix held in the upper block triangle of ``H[:e, :e]``."""
    U = np.triu(H[:e, :e])
    Hs = U + np.triu(U, 1).conj().T
    with single_blas_thread():
        theta, Y = np.linalg.eigh(Hs)
    return theta[::-1], Y[:, ::-1]


class _RitzSchedule:
    """When to compute the Ritz pairs next.

    They cost an ``e × e`` eigendecomposition (0.8 ms at ``e = 112``, 2.7 ms at
    200 on this project's machines): next to nothing beside a dense matrix's
    products, as much as a step on a small or very sparse one. A check skipped
    saves that; a check late by a step costs a step. From the last two checks
    the steps still needed are predicted (the worst ratio of estimated residual
    to bound falls about geometrically, often faster); the next check comes after
    the gap ``g`` that balances the two costs over those steps,
    ``g = √(2 · needed · cost(eigh) / cost(step))``, and at most half of them.
    The costs are flop counts, not timings, so that a seed gives the same steps;
    each also has a fixed part, the Python and LAPACK overhead of a call in flops'
    time (measured at about 25 Gflop/s: an eigendecomposition costs 0.1 ms plus
    ``10 e³`` flops, a step 0.2 ms plus its products — what decides on small
    matrices, where ``e = 40`` already costs a third of a step).
    """

    #: Fixed costs, in flops' time: one eigendecomposition, one step.
    EIGH_OVERHEAD = 2.5e6
    STEP_OVERHEAD = 5.0e6

    def __init__(self, op: Operator, b: int) -> None:
        m, n = op.shape
        # a sparse product costs about 4 flops' time per stored entry and column
        work = 4 * getattr(op, "nnz", 0) if op.kind == "sparse" else m * n
        self._product = 4.0 * b * work + self.STEP_OVERHEAD
        self._n_b = 4.0 * n * b
        self.next_step = 0
        self._last: tuple[int, float] | None = None

    def observe(self, step: int, ratio: float, e: int) -> None:
        last, self._last = self._last, (step, ratio)
        self.next_step = step + 1
        if last is None or not (1.0 < ratio < last[1]) or not math.isfinite(ratio):
            return
        rate = math.log(last[1] / ratio) / (step - last[0])  # log-decrease per step
        needed = math.log(ratio) / rate
        relative = (10.0 * e**3 + self.EIGH_OVERHEAD) / (self._product + self._n_b * e)
        gap = min(0.5 * needed, math.sqrt(2.0 * needed * relative))
        self.next_step = step + max(1, int(gap))


class _BasisProducts:
    """``A V`` and ``Aᴴ A V`` for the columns of the Krylov basis, kept as they come.

    Every step computes ``Aᴴ A Vⱼ`` anyway, and a fused ``gram`` has ``A Vⱼ`` in
    hand on the way; keeping both (``(m + n) · b`` numbers a step) turns the
    certificate's pass over ``A`` for the Ritz vectors ``V Y`` into two small
    products, ``(A V) Y`` and ``(Aᴴ A V) Y`` — the same products grouped
    differently, so the residuals stay measured. Kept only where that is cheaper
    than the pass it replaces: a column of ``A``'s products costs ``work`` flops,
    combining one from the basis ``(m + n) · cap``. A thick restart rotates the
    kept products with the basis under the same rule.
    """

    def __init__(self, op: Operator, cap: int) -> None:
        m, n = op.shape
        self.AV = np.empty((m, cap), dtype=op.dtype, order="F")
        self.G = np.empty((n, cap), dtype=op.dtype, order="F")

    @staticmethod
    def worth(op: Operator, cap: int) -> bool:
        """Whether ``op`` is cheaper to certify from kept products at basis size ``cap``."""
        if op.fused != "gram" or op.distributed or op.kind not in ("dense", "sparse"):
            return False
        m, n = op.shape
        work = 4 * getattr(op, "nnz", 0) if op.kind == "sparse" else m * n
        return (m + n) * cap < work

    def put(self, s: int, e: int, AV: np.ndarray, G: np.ndarray) -> None:
        self.AV[:, s:e] = AV
        self.G[:, s:e] = G

    def pair(self, e: int, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(A V Y, Aᴴ A V Y)`` for the basis columns ``:e``."""
        return matmul(self.AV[:, :e], Y), matmul(self.G[:, :e], Y)

    def rotate(self, e: int, Y: np.ndarray) -> None:
        """The products of the restarted basis ``V[:, :e] Y``."""
        keep = Y.shape[1]
        self.AV[:, :keep] = matmul(self.AV[:, :e], Y)
        self.G[:, :keep] = matmul(self.G[:, :e], Y)

    def grown(self, op: Operator, cap: int, e: int) -> _BasisProducts:
        bigger = _BasisProducts(op, cap)
        bigger.put(0, e, self.AV[:, :e], self.G[:, :e])
        return bigger


def gram_eigen(
    op: Operator,
    target: Target,
    *,
    tol: float,
    rng: np.random.Generator,
    method: str = "krylov",
    progress: Progress | None = None,
) -> tuple[Certificate, int, Run]:
    """The Gram matrix of the short side formed, its leading eigenvectors, Rayleigh–Ritz on ``A``.

    ``AᴴA`` (``n × n``) when ``n ≤ m``; for a wide operator (``n > m``, the long side
    as the Gram side: a wide C-ordered file, a tall Fortran-ordered one) ``A Aᴴ``
    (``m × m``) instead, whatever side the caller oriented the operator on — its
    leading eigenvectors ``U₀`` give the right subspace ``span(Aᴴ U₀)`` (one more
    product), on which Rayleigh–Ritz runs as usual. An ``n × n`` matrix of the long
    side is never formed (60×80000: 47.7 GiB).

    From ``tol ≥ STORED_PRECISION_TOL`` a float32 dense matrix's Gram matrix is
    formed and decomposed in float32 (the eigenvectors are accurate to about
    ``6e-8 · σ₁² / (σᵢ · gap)``); the certificate is measured in float64 all the
    same, and if it misses ``tol`` the whole is redone in float64. For a fixed
    ``k`` only the ``k`` leading eigenpairs are computed (LAPACK ``syevr``).
    ``method`` is the name the run carries (``"gram"`` when asked for by name,
    ``"krylov"`` when :func:`block_lanczos` hands over to it).
    """
    m, n_cols = op.shape
    wide = n_cols > m
    n = min(m, n_cols)  # the order of the Gram matrix formed: the short side
    run = Run(method, iterations=1)
    if wide:
        run.notes.append(f"m = {n} is small: the m×m Gram matrix AAᴴ was formed")
    else:
        run.notes.append(f"n = {n} is small: the n×n Gram matrix AᴴA was formed")
    single = _single_precision(op, target, tol)
    while True:
        try:
            G = op.cogram_matrix() if wide else op.gram_matrix()
        finally:
            op.stored_precision(False)
        k = target.k
        with single_blas_thread():
            if target.by_rank or 4 * k > n or k == 0:
                # all eigenpairs: divide and conquer (384×384 float32, 128 leading
                # pairs: 7.8 ms against 10.2 ms by syevr; 32 pairs: 7.8 against 4.5)
                theta, Y = scipy.linalg.eigh(G, driver="evd", overwrite_a=True, check_finite=False)
            else:
                theta, Y = scipy.linalg.eigh(
                    G,
                    subset_by_index=[n - k, n - 1],
                    driver="evr",
                    overwrite_a=True,
                    check_finite=False,
                )
        del G
        theta, Y = theta[::-1].astype(float), Y[:, ::-1].astype(op.dtype)
        sigma = np.sqrt(np.maximum(theta, 0))
        if target.by_rank:
            _, k = target.probe(sigma, sigma.size)
        else:
            _, k = target.decide(sigma, sigma.size)
        # rank mode, spectral rule: σ_{k+1} decides k, so it is certified too
        width = k + 1 if _decisive_next(target, k, n) else k
        Yk = np.ascontiguousarray(Y[:, :width]) if width else Y[:, :0]
        if single and width:  # float32 eigenvectors: orthonormal to float64 precision first
            with single_blas_thread():
                Yk, _ = qr_robust(Yk)
        cert = rayleigh_ritz(op, _right_subspace(op, Yk) if wide else Yk, rng, tol)
        if target.by_rank:
            # √θ is known to about √eps·σ₁ only: the rank is decided on the
            # certificate's σ (to about eps·σ₁); where those put it elsewhere, on
            # Rayleigh–Ritz over every eigenvector — A's singular values themselves
            fin, k_cert = target.probe(cert.s, cert.met_prefix(tol))
            if not fin or k_cert > k:
                # (at most min(m, n) of them: past the short side AᴴA's eigenvectors are
                # its null space, and a wide A's n of them broke Rayleigh–Ritz's shapes)
                full = np.ascontiguousarray(Y[:, : min(op.shape)])
                if single:
                    with single_blas_thread():
                        full, _ = qr_robust(full)
                cert = rayleigh_ritz(op, _right_subspace(op, full) if wide else full, rng, tol)
                gram = "AAᴴ" if wide else "AᴴA"
                run.notes.append(
                    f"rank decided on Rayleigh–Ritz over all {n} eigenvectors: {gram}'s "
                    "eigenvalues do not resolve singular values near the threshold"
                )
            _, k = target.decide(cert.s, cert.met_prefix(tol))
        if not single or k == 0 or cert.met(tol, k).all():
            break
        run.notes.append("the float32 Gram matrix missed tol: formed again in float64")
        single = False
    met = cert.met(tol, k)
    run.extra["converged"] = bool(met.all())
    if progress is not None:
        worst = float(cert.worst[:k].max(initial=0.0)) / max(residual_bound(cert.s, tol), 1e-300)
        progress(1, op.passes, int(met.sum()), k, worst)
    if not run.extra["converged"]:
        # eigenvectors of AᴴA are accurate to about eps·σ₁²/σᵢ: below that the
        # caller polishes with two-sided subspace iteration, as after Lanczos
        run.extra["floor"] = True
    return cert, k, run


def _right_subspace(op: Operator, U0: np.ndarray) -> np.ndarray:
    """An orthonormal basis of ``span(Aᴴ U₀)`` for leading eigenvectors ``U₀`` of ``A Aᴴ``.

    ``Aᴴ uᵢ = σᵢ vᵢ``: the right singular subspace, one product with ``Aᴴ``. Its error
    is that of ``U₀`` times ``σ_{k+1} / σ_k`` at most (one step of subspace iteration).
    Columns of zero singular values give rounding-level columns: the Householder QR
    still returns orthonormal directions, which Rayleigh–Ritz then measures.
    """
    if U0.shape[1] == 0:
        return np.zeros((op.shape[1], 0), dtype=op.dtype)
    W = np.ascontiguousarray(op.rmatmat(np.asarray(U0, dtype=op.dtype)), dtype=op.dtype)
    # columns of norm σᵢ: scaled to 1 (the same span), W is then nearly orthonormal and
    # CholeskyQR2 keeps its accuracy; a σ₁/σₖ of 1e10 would send it to Householder
    norms = np.linalg.norm(W, axis=0)
    W /= np.where(norms > 0, norms, 1.0)
    with single_blas_thread():
        Q, _ = qr_robust(W)
    return Q


def block_lanczos(
    op: Operator,
    target: Target,
    *,
    tol: float,
    rng: np.random.Generator,
    block: int | None = None,
    max_basis: int | None = None,
    max_iter: int | None = None,
    progress: Progress | None = None,
    safety: float = 0.5,
    handover: int | None = None,
) -> tuple[Certificate, int, Run]:
    """Leading singular triplets of ``op`` by block Lanczos on ``AᴴA`` (see the module doc).

    Parameters
    ----------
    op : Operator
        The matrix; ``n`` is its Gram side, chosen by the caller: the short side, or
        the long one of a dense wide array up to ``n = 2m`` (streamed once per product
        that way). No more than ``min(m, n)`` triplets are ever certified together.
    target : Target
        Triplets wanted (fixed ``k`` or rank by tolerance).
    tol : float
        Both residuals of every wanted triplet must end ``≤ tol · σ₁``.
    rng : numpy.random.Generator
        Starting block and replacement directions.
    block, max_basis, max_iter : int, optional
        Block size, basis size before a restart, and the most steps.
    progress : callable, optional
        Called after every step.
    safety : float
        Converged when the estimated residual is below ``safety`` times the bound.
    handover : int, optional
        Rank mode with ``target.fro`` known: stop as soon as the certified values
        and ``‖A‖_F`` show at least this many triplets to remain past those certified
        (:func:`svdkit.lowrank.rank.rank_lower_bound`) — the caller has a cheaper way
        to them (a dense SVD). The run then has ``extra["handover"]`` (the rank's
        lower bound) and an empty certificate.

    Returns
    -------
    cert : Certificate
        The final Rayleigh–Ritz triplets (``target.k`` or the rank found, at least
        the wanted ones) and their measured residuals.
    k : int
        Triplets wanted at the end (the rank, in rank mode).
    run : Run
        ``iterations`` (steps), ``extra["converged"]``.
    """
    n = op.shape[1]
    k = target.k
    b = default_block(op, max(k, 1)) if block is None else max(1, min(int(block), n))
    cap = default_max_basis(max(k, 1), b) if max_basis is None else int(max_basis)
    cap = max(cap, k + 3 * b)
    # (against min(m, n), not n: on a wide A kept as it is, AᴴA's Krylov space holds
    # no more than m + b directions, the rest is its null space)
    if cap >= min(op.shape) - b or (not target.by_rank and 9 * k >= 2 * n and max_basis is None):
        # the basis would cover nearly all of n, or k ≥ 0.22 n, where forming AᴴA
        # is cheaper than the steps (two cores, σᵢ = i^-0.8, k = 128, 1e-3 / 1e-6:
        # 576×1536 48 / 73 ms against 62 / 97 ms; at k = 96 49 / 59 against 48 / 59)
        return gram_eigen(op, target, tol=tol, rng=rng, progress=progress)
    # loose tolerances on single-precision entries: the steps' products run in
    # float32; the certificate always measures in float64
    single = _single_precision(op, target, tol)
    try:
        cert, k, run = _iterate(
            op, target, tol, rng, b, cap, max_iter, progress, safety, single, handover=handover
        )
        if run.extra["converged"] and not run.extra.get("floor"):
            cert, k = _missed_copies(op, target, cert, k, run, tol, rng, b, safety, single)
        return cert, k, run
    finally:
        op.stored_precision(False)


def cluster_end(
    cert: Certificate, k: int, b: int, by_rank: bool, resolved: float = 0.0
) -> int | None:
    """Where block Krylov may have missed copies of a repeated singular value.

    A Krylov space grown from a block of ``b`` holds at most ``b`` directions of
    each singular subspace (exactly so in exact arithmetic; rounding adds more
    only slowly): a value repeated more than ``b`` times is found ``b`` times,
    and values below it take the places of the missing copies — with residuals
    as small as any, since they are true singular triplets, only not the
    leading ones. The sign is a run of at least ``b`` values equal within their
    errors (the measured residuals bound each Ritz value's distance to a
    singular value) followed by a clearly smaller one among the first ``k``
    (in rank mode, also one that ends the rank). Returns the index after the
    run, or None.

    Outside rank mode, runs of values at or below ``resolved`` (the residual the
    certificate allows, ``tol · σ₁``) are not looked into: a missed copy there moves
    the values it displaces by no more than the certificate allows them anyway. (A
    merged LoRA's float32 delta asked at rank 64 has 48 values of float32 rounding,
    all "equal within their errors" at ``tol = 1e-3``: the search for their copies
    took 2 s of a 1024×384 delta, against 5 ms for its rank 16.)
    """
    s, err = cert.s[:k], cert.worst[:k]
    if k < b or not s.size:
        return None
    floor = 1e3 * np.finfo(float).eps * s[0]
    i = 0
    while i + b <= k and (by_rank or s[i] > resolved):
        j = i
        while j + 1 < k and s[i] - s[j + 1] <= 2.0 * err[i : j + 2].max() + floor:
            j += 1
        if j - i + 1 >= b and (j + 1 < k or by_rank):
            return j + 1
        i = j + 1
    return None


def _missed_copies(
    op: Operator,
    target: Target,
    cert: Certificate,
    k: int,
    run: Run,
    tol: float,
    rng: np.random.Generator,
    b: int,
    safety: float,
    single: bool,
) -> tuple[Certificate, int]:
    """Look for the copies of a repeated singular value that the blocks could not hold.

    Only where :func:`cluster_end` sees a run of ``b`` equal values: Lanczos on the
    deflated operator ``A P`` (``P`` projects off the ``k`` Ritz vectors found)
    from a fresh random block, for up to ``b`` triplets. If its leading value
    would enter the top ``k`` (or change the rank), Rayleigh–Ritz on ``A`` over
    both sets of vectors gives the new triplets, certified as before, and the
    check repeats (``b`` more copies each round). ``single``: the steps multiply in
    the stored float32 (the operator is left so); the certificates never do.

    The vectors found and searched for together stay within ``min(m, n)``: ``A`` has
    no more singular triplets than that, and the ``k`` found then span all of them (a
    wide dense matrix keeps its long side as ``n``: its 300×320 float32 of rank 4 added
    a block of 8 to 296 vectors, more than ``A`` has rows).
    """
    n = op.shape[1]
    full = min(op.shape)

    def certify(V: np.ndarray) -> Certificate:
        # measured with float64 products, as every certificate (with single-precision
        # steps on, this Rayleigh–Ritz took float32 products: a right residual of
        # 1e-15·σ₁ reported where A's own was 3e-7·σ₁)
        if single:
            op.stored_precision(False)
        try:
            return rayleigh_ritz(op, V, rng, tol)
        finally:
            if single:
                op.stored_precision(True)

    for _ in range(-(-n // b) + 1):  # each round finds at least one more
        end = cluster_end(cert, k, b, target.by_rank, residual_bound(cert.s, tol))
        if end is None:
            break
        lock = np.ascontiguousarray(cert.V[:, :k])
        k2 = min(b, k - end) if not target.by_rank else b
        k2 = min(k2, full - k)
        if k2 <= 0:
            break
        cap = max(default_max_basis(k2, b), k2 + 3 * b)
        if cap >= n - k - b:
            # the complement of the found vectors is small: all of it at once
            fill = random_block(rng, n, n - k, op.dtype)
            with single_blas_thread():
                project_off(fill, lock)
                comp, _ = qr_robust(fill)
                _, _, Zh = np.linalg.svd(np.asarray(op.matmat(comp)), full_matrices=False)
            extra = certify(comp @ Zh[:k2].conj().T)
        else:
            extra, _, run2 = _iterate(
                op, Target(k2, limit=n - k), tol, rng, b, cap, None, None, safety, single, lock
            )
            run.iterations += run2.iterations
        found = extra.s[:k2]
        if target.by_rank:
            both = np.sort(np.concatenate([cert.s[:k], found]))[::-1]
            _, k_new = replace(target).decide(both, both.size)
            missed = k_new != k
        else:
            k_new = k
            missed = bool(found.size and found[0] > cert.s[k - 1] + tol * cert.s[0])
        if not missed:
            break
        V = np.concatenate([cert.V[:, :k], extra.V[:, :k2]], axis=1)
        cert = certify(V)
        k = min(max(k_new, 1), cert.s.size)
        run.notes.append(
            f"a singular value repeated more than the block size ({b}): "
            f"{k2} more triplets searched for off the {lock.shape[1]} found"
        )
    return cert, k


def _empty_certificate(op: Operator) -> Certificate:
    """No triplets (a run handed over to another method)."""
    m, n = op.shape
    z = np.zeros(0)
    return Certificate(
        U=np.zeros((m, 0), op.dtype), s=z, V=np.zeros((n, 0), op.dtype), right=z, left=z,
        AhU=np.zeros((n, 0), op.dtype),
    )  # fmt: skip


def _decisive_next(target: Target, k: int, e: int) -> bool:
    """Whether rank mode's decision at ``k`` rests on ``σ_{k+1}`` (the spectral rule,
    below the full rank, with the basis holding that value)."""
    return (
        target.by_rank
        and target.rank_norm == "spectral"
        and not target.limited
        and k < min(e, target.full)
    )


def _offset(progress: Progress | None, steps: int) -> Progress | None:
    """``progress`` with its step count shifted by ``steps`` (a run handed over mid-way
    to another method goes on counting instead of starting again at step 1)."""
    if progress is None:
        return None

    def shifted(step: int, passes: int, met: int, want: int, ratio: float) -> None:
        progress(steps + step, passes, met, want, ratio)

    return shifted


def _iterate(
    op: Operator,
    target: Target,
    tol: float,
    rng: np.random.Generator,
    b: int,
    cap: int,
    max_iter: int | None,
    progress: Progress | None,
    safety: float,
    single: bool,
    lock: np.ndarray | None = None,
    handover: int | None = None,
) -> tuple[Certificate, int, Run]:
    """The steps of :func:`block_lanczos`: blocks of ``b``, a basis of at most ``cap``
    columns; ``single``: the operator multiplies in float32 (not the certificate);
    ``lock``: orthonormal columns the basis stays orthogonal to (Lanczos on
    ``P AᴴA P``, ``P = I − lock lockᴴ``); ``handover``: see :func:`block_lanczos`."""
    n = op.shape[1]
    dtype = op.dtype
    k = target.k
    # default: up to max(20000, 200 k) columns of AᴴA products
    steps_allowed = max_iter if max_iter is not None else math.ceil(max(20_000, 200 * k) / b)
    run = Run("krylov")
    eps = np.finfo(float).eps

    V = np.empty((n, cap), dtype=dtype, order="F")
    H = np.zeros((cap, cap), dtype=dtype)
    with single_blas_thread():
        start = random_block(rng, n, b, dtype)
        if lock is not None:
            project_off(start, lock)
        V[:, :b], _ = qr_robust(start)
    s, e, ls = 0, b, 0
    scale = 0.0
    theta = np.zeros(0)
    Y = np.zeros((0, 0), dtype=dtype)
    est = np.zeros(0)
    cert: Certificate | None = None
    converged_all = False
    certified_tries = 0
    recertify = True  # (False: the last certificate stands as it is)
    last_worst = np.inf
    schedule = _RitzSchedule(op, b)
    # (products kept from single-precision steps could not certify)
    worth = not single and _BasisProducts.worth(op, cap)
    kept = _BasisProducts(op, cap) if worth else None
    prefix = 0
    ratio = np.inf
    guess = 0  # rank mode: the triplets aimed at (see below)
    decided = k  # rank mode: what the certified values alone ask for

    def certify(e: int, Yk: np.ndarray) -> Certificate:
        Vk = matmul(V[:, :e], Yk)
        if single:
            op.stored_precision(False)
            try:
                return rayleigh_ritz(op, Vk, rng, tol)
            finally:
                op.stored_precision(True)
        products = kept.pair(e, Yk) if kept is not None else None
        return rayleigh_ritz(op, Vk, rng, tol, products=products)

    for step in range(1, steps_allowed + 1):
        Vj = np.ascontiguousarray(V[:, s:e])
        if kept is not None:
            AVj, W = op.gram_pair(Vj)
            kept.put(s, e, AVj, W)
        else:
            W = op.gram(Vj)
        scale = max(scale, float(colnorms(W).max(initial=0.0)))
        drop = n * eps * scale
        Q, L, cg, cl = orthonormalize(
            W, V[:, :e], rng=rng, drop=drop, local=V[:, ls:e], lock=lock
        )
        col = cg if cg is not None else np.zeros((e, e - s), dtype=dtype)
        if cl is not None:
            col[ls:e] += cl
        H[:e, s:e] = col
        # (rank mode too: its k is the guess it heads for, and the checks follow the
        # schedule — an e×e eigendecomposition every step cost more than the steps
        # on a flat spectrum, the sparse 20000×2000 at rank 231: 4.4 → 2.5 s)
        must = step == steps_allowed or e + b > cap
        if not must and (e < k or step < schedule.next_step):
            # the Ritz pairs (an e×e eigendecomposition) cannot conclude yet
            run.iterations = step
            if progress is not None:
                progress(step, op.passes, min(prefix, k), k, ratio / safety)
            V[:, e : e + b] = Q
            s, e, ls = e, e + b, s
            continue
        theta, Y = _ritz(H, e)
        with single_blas_thread():
            est = colnorms(L @ Y[s:e, :])
        sigma = np.sqrt(np.maximum(theta, 0.0))
        s1 = sigma[0] if sigma.size else 0.0
        floor = tol * s1
        bound = safety * tol * s1 * np.maximum(sigma, floor)
        ok = est <= bound
        prefix = int(np.argmin(ok)) if not ok.all() else ok.size
        limit_here = min(e, target.limit)
        done, k = target.decide(sigma[:limit_here], min(prefix, limit_here))
        decided = k
        if target.by_rank and not done:
            # rank mode: the guess grows geometrically, doubled each time the
            # certified values reach it (Target.decide alone follows them one by
            # one, k = converged + 1, and the basis sized on k stays crowded with
            # converged vectors: on a flat spectrum, hundreds of steps)
            if k > guess:
                guess = min(int(target.cap), max(k, 2 * guess))  # type: ignore[arg-type]
            k = guess
            if handover is not None and target.fro is not None:
                conv = min(prefix, limit_here)
                least = rank_lower_bound(
                    sigma[:conv], target.fro**2, float(target.rank_tol), target.rank_norm,
                    target.full,
                )  # fmt: skip
                # (the triplets still to certify: near the end, Krylov finishes)
                if min(least, int(target.cap)) - conv >= handover:  # type: ignore[arg-type]
                    run.iterations = step
                    run.extra["handover"] = least
                    run.notes.append(
                        f"step {step}: the {conv} certified values and ‖A‖_F put the rank "
                        f"at {least} or more of min(m, n) = {target.full}"
                    )
                    recertify = False
                    cert = _empty_certificate(op)
                    break
        run.iterations = step
        ratio = float(np.max(est[:k] / np.maximum(bound[:k], 1e-300))) if k else 0.0
        schedule.observe(step, ratio, e)
        if progress is not None:
            progress(step, op.passes, min(prefix, k), k, ratio / safety)
        if done and k <= e:
            # rank mode, spectral rule: σ_{k+1} decides k, so it is certified too
            width = k + 1 if _decisive_next(target, k, e) else k
            cert = certify(e, Y[:, :width] if width else Y[:, :0])
            certified_tries += 1
            met = cert.met(tol, width)
            if width == 0 or met.all():
                if target.by_rank and not target.limited:
                    # decided again on the certificate's σ (Rayleigh–Ritz on A, to
                    # about eps·σ₁): the Ritz values √θ of AᴴA are known only to
                    # about √eps·σ₁, and a rank_tol below ~1e-7 sits in that noise
                    # (σᵢ = 0.7ⁱ, rank_tol 1e-8: rank 46 where σ₄₇ = 7.5e-8)
                    fin, k_cert = target.probe(cert.s, cert.met_prefix(tol))
                    if not fin or k_cert > k:
                        # the rank is past what √θ resolves: the caller finishes by
                        # two-sided subspace iteration in rank mode, from these vectors
                        run.notes.append(
                            f"step {step}: the certified σ put the rank past the {k} "
                            "that AᴴA's Ritz values resolve"
                        )
                        run.extra["floor"] = True
                        k = min(max(k_cert, k + 1), int(target.cap or k + 1))
                        recertify = False
                        break
                    k = k_cert
                converged_all = True
                break
            worst = float(cert.worst[:width].max())
            safety /= 4.0
            run.notes.append(
                f"step {step}: certificate above tol for "
                f"{int((~met).sum())} triplet(s); iterating with safety {safety:g}"
            )
            if worst > 0.5 * last_worst or certified_tries >= 6:
                # no progress between two certificates: AᴴA's rounding floor
                run.extra["floor"] = True  # the caller polishes two-sided
                break
            last_worst = worst
        if step == steps_allowed:
            break  # keep V[:, :e] and Y consistent for the last certificate
        if k + 3 * b > cap:  # rank mode wants more: grow the basis
            full = min(op.shape)  # (a wide A's Krylov space: m + b directions at most)
            cap = min(full - b, max(default_max_basis(k, b), k + 3 * b))
            if cap >= full - b:
                run.notes.append("the basis would cover nearly all of n: Gram matrix instead")
                cert, k, run2 = gram_eigen(
                    op, target, tol=tol, rng=rng, progress=_offset(progress, run.iterations)
                )
                run.iterations += run2.iterations
                run.notes += run2.notes
                if run2.extra.get("floor"):
                    run.extra["floor"] = True  # the caller polishes two-sided
                converged_all = True
                break
            V2 = np.empty((n, cap), dtype=dtype, order="F")
            V2[:, :e] = V[:, :e]
            H2 = np.zeros((cap, cap), dtype=dtype)
            H2[:e, :e] = H[:e, :e]
            V, H = V2, H2
            if kept is not None:
                kept = kept.grown(op, cap, e) if _BasisProducts.worth(op, cap) else None
        if e + b > cap:
            keep = min(e - b, max(k + 2 * b, int(KEEP_FRACTION * e)))
            V[:, :keep] = matmul(V[:, :e], Y[:, :keep])
            if kept is not None:
                kept.rotate(e, Y[:, :keep])
            H[:] = 0
            H[np.arange(keep), np.arange(keep)] = theta[:keep]
            V[:, keep : keep + b] = Q
            s, e, ls = keep, keep + b, 0
        else:
            V[:, e : e + b] = Q
            s, e, ls = e, e + b, s
    if not converged_all and recertify:
        if target.by_rank and not target.limited:
            k = min(k, decided)  # (not the guess: the triplets the rule still needs)
        kk = max(1, min(k, e))
        cert = certify(e, Y[:, :kk])
        k = kk
    run.extra["converged"] = converged_all
    run.extra["block"] = b
    run.extra["max_basis"] = cap
    assert cert is not None
    return cert, k, run
