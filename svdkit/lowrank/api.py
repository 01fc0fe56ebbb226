"""``truncated_svd``: certified leading singular triplets of any large matrix.

One entry point over every operator (:mod:`svdkit.lowrank.operators`), four
methods, and a certificate on every call: both residuals of every triplet are
computed (never estimated) and returned, and the call either meets ``tol`` or
raises :class:`~svdkit.ConvergenceError` saying which triplets did not and by
how much.

=============  =====================================================================
method         what it does
=============  =====================================================================
``krylov``     block Lanczos on ``AᴴA`` with full reorthogonalisation and thick
               restart (:mod:`~svdkit.lowrank.krylov`) — the default
``randomized`` randomized subspace iteration with normalised power iterations,
               Rayleigh–Ritz each iteration (:mod:`~svdkit.lowrank.range_finder`)
``dash``       dashSVD: dynamically shifted power iteration, per-vector stopping
               (:mod:`~svdkit.lowrank.dash`)
``lapack``     a dense SVD (``gesdd``) for matrices small enough to hold densely
``auto``       ``lapack`` for small matrices (or when ``k`` is a large fraction of
               ``min(m, n)``), else ``krylov`` (see :func:`choose_method`); in rank
               mode, ``krylov`` hands over to ``lapack`` once the rank is seen to
               be a large share of ``min(m, n)`` (:func:`_lapack_handover`)
=============  =====================================================================
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from svdkit import inputs as _inputs
from svdkit._naming import arg, check_real, got, kw
from svdkit._words import counted
from svdkit.errors import (
    ConvergenceError,
    ShapeError,
    SvdkitError,
    check_bool,
    require_instance,
)
from svdkit.linalg.svd import SVD, SVDResiduals
from svdkit.linalg.tolerance import rule_dtype
from svdkit.lowrank._common import Progress, Run, Target, advised, check_optional_int
from svdkit.lowrank._threads import single_blas_thread
from svdkit.lowrank.certify import Certificate, residual_bound
from svdkit.lowrank.operators import (
    Operator,
    ScaledOperator,
    as_operator,
    scale_for,
    scaled_fro_norm,
)

__all__ = ["METHODS", "LowRankSVD", "choose_method", "truncated_svd"]

METHODS = ("auto", "krylov", "gram", "randomized", "dash", "lapack")

#: The smallest ``tol`` accepted: residuals are computed in float64, and their own
#: rounding is a few ``eps · ‖A‖``.
MIN_TOL = 1e-14

#: Matrices of at most this many entries run on one BLAS thread from start to end.
SMALL_ENTRIES = 2**21

#: ``method="auto"`` forms the Gram matrix of a dense array up to this short side.
GRAM_AUTO_SIDE = 256

#: Rank mode (``rank_tol`` without ``k``) starts with this many triplets and doubles.
RANK_MODE_START = 16

#: Rank mode with ``method="auto"`` on a matrix that can be held densely: the Krylov
#: run hands over to one dense SVD (``lapack``) as soon as the certified values show
#: that at least this share of ``min(m, n)`` triplets remain to be certified (see
#: :func:`_lapack_handover` for the measurements).
LAPACK_RANK_SHARE = 0.125

#: The largest short side ``method="gram"`` accepts (its Gram matrix: 512 MiB in float64).
GRAM_MAX_SIDE = 8192

#: ``method="lapack"`` measures the residuals on (a copy of) the matrix scaled by
#: a power of two when ``σ₁`` is beyond ``2^±LAPACK_SAFE_EXPONENT`` (``1e±120``):
#: LAPACK scales internally, but the residuals' sums of squares would over- or
#: underflow.
LAPACK_SAFE_EXPONENT = 400


@dataclass(frozen=True, eq=False)
class LowRankSVD(SVD):
    """Certified leading singular triplets; unpacks as ``U, s, Vh`` like :class:`~svdkit.SVD`.

    Attributes
    ----------
    U, s, Vh : ndarray
        ``k`` triplets: ``U`` (m, k), ``s`` (k,) descending, ``Vh`` (k, n); the sign
        rule of :mod:`svdkit.linalg.signs` applied.
    matrix : object
        The input (array, sparse matrix, LinearOperator, memmap, path, dask array).
    driver : str
        The method that produced it (same as ``method``).
    residuals_right, residuals_left : ndarray, shape (k,)
        ``‖A vᵢ − σᵢ uᵢ‖₂`` and ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂``, computed from products with ``A``.
    rayleigh : ndarray, shape (k,)
        ``Re(uᵢᴴ A vᵢ)``, from the same product as ``residuals_left`` (``σᵢ`` to
        within that residual). With orthonormal ``U`` and ``V`` it gives the
        approximation error with no further pass over ``A``:
        ``‖A − U Σ Vᴴ‖_F² = ‖A‖_F² − 2 Σ σᵢ rayleighᵢ + Σ σᵢ²``.
    tol : float
        The tolerance asked for: every residual is ``≤ tol · σ₁`` when ``converged``.
    method : str
        ``"krylov"``, ``"gram"``, ``"randomized"``, ``"dash"`` or ``"lapack"``.
    iterations : int
        Steps of the method (Lanczos steps, power iterations).
    passes : int
        Reads of ``A`` (products; a fused ``AᴴA`` block product on a file counts one).
    converged : bool
        Every triplet meets ``tol``.
    seed : int or None
        The seed of the random start.
    seconds : float
        Wall-clock time of the call.
    notes : tuple of str
        What the method chose or noticed (orientation, restarts, fall-backs), and
        the ``caveats``.
    caveats : tuple of str
        The notes that qualify the result, in their order among ``notes``: a rank
        left uncertain near ``rank_tol`` (a value within its certified residual of
        the threshold, or ``tol ≥ rank_tol`` with the energy rule), a ``tol``
        tightened for a spectral ``rank_tol``. Empty on an ordinary run; the other
        notes only say how the result was computed. ``svdkit svd`` prints these.
    rank_tol, rank_norm : float or None, str or None
        The rank-by-tolerance request, when ``k`` was found from it.
    """

    residuals_right: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    residuals_left: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    rayleigh: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    tol: float = 1e-6
    method: str = "krylov"
    iterations: int = 0
    passes: int = 0
    converged: bool = True
    seed: int | None = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    rank_tol: float | None = None
    rank_norm: str | None = None
    operator: Operator | None = field(default=None, repr=False)

    @property
    def k(self) -> int:
        """Number of triplets."""
        return int(self.s.shape[0])

    @property
    def bound(self) -> float:
        """The residual allowed to each triplet, ``tol · σ₁``."""
        return residual_bound(self.s, self.tol)

    @property
    def relative_residuals(self) -> np.ndarray:
        """``max(right, left) / σ₁`` per triplet (compare with ``tol``)."""
        if not self.k or self.s[0] == 0:
            return np.zeros(self.k)
        return np.maximum(self.residuals_right, self.residuals_left) / self.s[0]

    def truncate(self, k: int) -> LowRankSVD:
        """The ``k`` leading triplets, with their residuals."""
        base = super().truncate(k)
        return replace(
            self,
            U=base.U,
            s=base.s,
            Vh=base.Vh,
            residuals_right=self.residuals_right[:k],
            residuals_left=self.residuals_left[:k],
            rayleigh=self.rayleigh[:k],
        )

    def residuals(self) -> SVDResiduals:
        """Reconstruction error, orthogonality, and the certified per-triplet residuals.

        ``reconstruction = ‖A − U Σ Vᴴ‖_F / ‖A‖_F`` is computed block by block (one
        pass over ``A``; no m×n array is formed).
        """
        from svdkit.linalg.residuals import orthogonality_loss

        op = self.operator if self.operator is not None else as_operator(self.matrix)
        try:
            err = op.reconstruction_error(self.U, self.s, self.Vh)
            # (c‖A‖_F, c): ‖A‖_F itself may exceed the float64 maximum
            fro, c = scaled_fro_norm(op, probe=True)  # type: ignore[misc]
        finally:
            op.close()  # (a file's handle and row buffers: not held by the result)
        relative = (err * c) / fro if fro > 0 else err
        if not math.isfinite(err):
            # beyond the float64 maximum: from ‖A − U Σ Vᴴ‖_F² = ‖A‖_F² − 2 Σ σᵢ ρᵢ
            # + Σ σᵢ², at scale c (the error is then ≥ 1.8e308 / ‖A‖_F, no longer
            # small against ‖A‖_F: no cancellation to fear)
            cs, cr = self.s * c, self.rayleigh * c
            relative = math.sqrt(max(fro * fro - 2 * float(cs @ cr) + float(cs @ cs), 0.0)) / fro
        return SVDResiduals(
            reconstruction=relative,
            orthogonality_u=orthogonality_loss(self.U),
            orthogonality_v=orthogonality_loss(self.Vh.conj().T),
            right=self.residuals_right,
            left=self.residuals_left,
        )

    def summary(self) -> str:
        """One line: k, method, passes, worst residual against tol, time.

        ``tol`` is shown as the shortest text that reads back as it (``1e-06``,
        ``0.0014``): rounded to fewer digits it could claim a tighter certificate
        than the one computed (``1.4e-3`` shown as ``1e-03``).
        """
        worst = float(self.relative_residuals.max()) if self.k else 0.0
        state = "certified" if self.converged else "NOT certified"
        return (
            f"{counted(self.k, 'triplet')} by {self.method}: {state}, "
            f"worst residual {worst:.1e}·σ₁ (tol {float(self.tol)!r}), "
            f"{counted(self.iterations, 'iteration')}, "
            f"{counted(self.passes, 'pass', 'passes')}, "
            f"{self.seconds:.2f} s"
        )


# ------------------------------------------------------------------------------ checks


def _check_tol(tol: Any, name: str, low: float, high: float) -> float:
    return check_real(tol, name, low, high)


def _check_k(k: Any, p: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ShapeError(f"{arg(name)} must be an integer; got {got(k)}", param=name)
    if not 0 <= int(k) <= p:
        # (the CLI takes -k from 1: it checks that itself, in its own words)
        raise ShapeError(
            f"{arg(name)} must be between 0 and min(m, n) = {p} (0: no triplets); got {k}",
            param=name,
        )
    return int(k)


def check_seed(seed: Any) -> None:
    """Refuse a ``seed`` that is not None or a non-negative integer (what
    ``numpy.random.default_rng`` takes), naming it (also the torch backend's check).

    Examples
    --------
    >>> check_seed(3)
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    svdkit.errors.SvdkitError: seed must be a non-negative integer or None; got -1
    """
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SvdkitError(
            f"{arg('seed')} must be a non-negative integer or None; got {got(seed)}",
            param="seed",
        )
    if seed < 0:
        raise SvdkitError(
            f"{arg('seed')} must be a non-negative integer or None; got {seed}", param="seed"
        )


# ------------------------------------------------------------------------------ method choice


def _can_densify(op: Operator) -> bool:
    return _densify_refusal(op) is None


def _dense_bytes(op: Operator) -> int:
    """The bytes ``method="lapack"`` holds for ``op`` densified: the dense copy and
    LAPACK's working copy of it, each at least in float64 (16 bytes an entry for a
    real matrix, 32 for a complex128 one)."""
    m, n = op.shape
    return 2 * max(np.dtype(op.dtype).itemsize, 8) * m * n


def _size(nbytes: int) -> str:
    """``nbytes`` in KiB, MiB or GiB, rounded up to a tenth (``15.3 MiB`` for
    16,000,000): never below it, as ``--memory-limit 15.3M`` reads it."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if nbytes >= unit:
            return f"{math.ceil(nbytes * 10 / unit) / 10:g} {name}"
    return f"{nbytes} bytes"


def _densify_refusal(op: Operator) -> tuple[str, int | None] | None:
    """Why ``op`` cannot be held densely (:func:`_densify`), or ``None`` where it can:
    more entries than :data:`~svdkit.inputs.DENSIFY_LIMIT` (``(why, None)``), or, for a
    file or memmap read in row blocks, more bytes (:func:`_dense_bytes`) than its
    ``memory_limit`` (``(why, bytes needed)``)."""
    m, n = op.shape
    limit = _inputs.DENSIFY_LIMIT  # (as it is now: a user may have raised it)
    if m * n > limit:
        return f"its {m * n:,} entries are more than the {limit:,} svdkit densifies", None
    if op.kind == "row_blocks":
        limit = getattr(op, "memory_limit", None) or getattr(
            getattr(op, "inner", None), "memory_limit", 0
        )
        need = _dense_bytes(op)
        if need > limit:
            return (
                f"that takes {need:,} bytes (its dense copy and LAPACK's working copy, "
                f"{need // (m * n)} bytes an entry), more than the "
                f"{kw('memory_limit', limit)} bytes allowed for a file"
            ), need
    return None


def choose_method(op: Operator, k: int | None, tol: float) -> str:
    """What ``method="auto"`` picks for this operator, ``k`` and ``tol``.

    ``op`` is an :class:`~svdkit.lowrank.operators.Operator`
    (:func:`~svdkit.lowrank.operators.as_operator`), ``k`` an integer in
    ``[0, min(m, n)]`` or None (rank mode), ``tol`` in ``[1e-14, 1)``, as
    :func:`truncated_svd` takes them; anything else is refused with an
    :class:`~svdkit.errors.SvdkitError` naming the argument.

    * ``"lapack"`` for a dense array of at most 2¹⁴ entries, or whose wanted triplets
      are more than half of it (``2k > min(m, n)``): LAPACK's ``O(m n min(m, n))``
      then costs less than anything iterative, and it is exact.
    * ``"gram"`` for a dense array whose short side is at most
      :data:`GRAM_AUTO_SIDE` (256) at ``tol ≥ 1e-8``: the small Gram matrix
      ``AᴴA`` (one syrk), its ``k`` leading eigenvectors, Rayleigh–Ritz on ``A``
      (:func:`svdkit.lowrank.krylov.gram_eigen`). Its cost does not depend on the
      spectrum; the Krylov steps' does. Two cores, float32, tol 1e-3, best of 8,
      ``σᵢ = 1/i`` / Gaussian entries (flat spectrum), 8 and 32 triplets: 200×200
      1.6 / 1.7 and 3.0 / 3.2 ms against LAPACK's 6.3–6.8 ms and Krylov's 1.9 / 4.3
      and 4.5 / 9.6 ms; 192×576 2.0 / 1.9 and 3.6 / 3.6 ms against LAPACK's 15–16 ms
      and Krylov's 2.3 / 6.2 and 4.9 / 10.0 ms; 256×768 3.2 / 3.2 and 5.6 / 5.6 ms
      against Krylov's 2.8 / 8.9 and 7.0 / 13.2 ms. Below ``tol = 1e-8`` the
      eigenvectors of ``AᴴA`` would need polishing: LAPACK then.
    * Between a quarter and a half of the short side, the Krylov method forms the
      Gram matrix too (faster than LAPACK on every shape measured: two cores,
      ``σᵢ = i^-0.8``, at 1e-3 on float32 / 1e-6 on float64: 1536×384, ``k = 128``,
      30 / 37 ms against LAPACK's 74–140 ms; 384×384, ``k = 128``, 16 / 21 ms
      against 26–38 ms). Other inputs (sparse, files, LinearOperator, dask) are
      densified only when the dense copy is no larger than the vectors the
      iterative methods hold anyway, ``m n ≤ 4 (m + n)(k + 10)`` — never otherwise
      (in rank mode ``k`` is the :data:`RANK_MODE_START` triplets it starts with: a
      3000×2000 ``.npy`` file at ``rank_tol=0.1`` took 30 s densified for LAPACK,
      0.1 s by Krylov).
    * ``"lapack"`` for a LinearOperator without an adjoint product (no ``rmatvec``
      or ``rmatmat``) where a dense array of its size would take LAPACK (at most
      2¹⁴ entries, or ``2k > min(m, n)``): no other method runs without ``Aᴴ``.
      Larger, ``auto`` does not densify it by ``n`` products unasked (a 4000×3000
      operator, ``k = 5``: 3000 products and 32 s): the run is refused, naming
      ``method="lapack"``, which does.
    * ``"krylov"`` in every other case (a dense array whose short side is over 256,
      an input not densified), whatever ``tol``: on every matrix of
      ``bench/lowrank.py`` block Lanczos certified ``tol`` with fewer products than
      randomized subspace iteration and dashSVD — by 2× on fast-decaying spectra,
      by 10× or more on flat ones — and for loose tolerances (``1e-2``) it was
      not slower either (its convergence test stops it as early).
    * In rank mode the choice is made before the rank is known; a Krylov run on a
      dense array or ``.npy`` file that can be held densely hands over to
      ``"lapack"`` as soon as its certified values show that
      :data:`LAPACK_RANK_SHARE` of ``min(m, n)`` or more triplets remain
      (:func:`_lapack_handover`; the walkthrough's Gaussian 1000×500 at
      ``rank_tol = 0.05``, energy, rank 489: 508 Krylov steps and 3.6 s CPU
      before, 24 steps then LAPACK, 0.14 s, one thread).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from svdkit.lowrank import as_operator, truncated_svd
    >>> rng = np.random.default_rng(0)
    >>> choose_method(as_operator(rng.standard_normal((100, 100))), 5, 1e-3)  # 10⁴ entries
    'lapack'
    >>> tall = rng.standard_normal((2000, 200))
    >>> op = as_operator(tall)
    >>> choose_method(op, 10, 1e-3), choose_method(op, 10, 1e-10), choose_method(op, 150, 1e-3)
    ('gram', 'lapack', 'lapack')
    >>> choose_method(as_operator(rng.standard_normal((2000, 500))), 10, 1e-3)  # short side > 256
    'krylov'
    >>> S = sp.random(2000, 1000, density=0.001, format="csr", random_state=0)
    >>> choose_method(as_operator(S), 10, 1e-3)  # too large to densify
    'krylov'

    It is what ``method="auto"`` runs:

    >>> r = truncated_svd(tall, 10, tol=1e-3)
    >>> r.method, r.converged
    ('gram', True)

    The arguments are checked as :func:`truncated_svd` checks them:

    >>> choose_method(op, -1, 1e-3)
    Traceback (most recent call last):
      ...
    svdkit.errors.ShapeError: k must be between 0 and min(m, n) = 200 (0: no triplets); got -1
    >>> choose_method(tall, 10, 1e-3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: op must be an Operator (...); got ndarray
    """
    require_instance(op, Operator, "op", "svdkit.lowrank.as_operator(A) makes one", "an")
    m, n = op.shape
    p = min(m, n)
    if k is not None:
        k = _check_k(k, p)
    tol = _check_tol(tol, "tol", MIN_TOL, 1.0)
    if not _can_densify(op):
        return "krylov"  # (a LinearOperator with no adjoint is then refused, naming why)
    small = m * n <= 2**14 or (k is not None and 2 * k > p)  # (LAPACK for a dense array)
    if not getattr(op, "has_adjoint", True):
        # only the dense SVD runs without products with Aᴴ: taken where a dense array
        # of that size would take it anyway; elsewhere its n products (a simulation, a
        # solve each) are the caller's call, and the refusal names method='lapack'
        return "lapack" if small else "krylov"
    if op.kind == "dense":
        if small:
            return "lapack"
        if p <= GRAM_AUTO_SIDE:
            return "gram" if tol >= 1e-8 else "lapack"
        return "krylov"
    # rank mode (k None): the iterative methods start at RANK_MODE_START triplets
    kk = min(p, RANK_MODE_START) if k is None else k
    if m * n <= 4 * (m + n) * (kk + 10):
        return "lapack"
    return "krylov"


def _lapack_handover(
    op: Operator, method: str, chosen: str, k: int | None, rank_tol: float | None
) -> int | None:
    """How many triplets still to certify make rank mode's Krylov run hand over to LAPACK.

    Only for ``method="auto"`` (a method asked for by name runs as asked), in rank
    mode, on a dense array or a ``.npy`` file / memmap that can be held densely
    (:func:`_can_densify`); ``None`` elsewhere, and where ``k`` caps the rank below
    that many. Not for sparse matrices, even small enough to densify: their products
    cost far less than a dense matrix's, LAPACK's SVD of the dense copy as much
    (10000×2000 with 1 % entries, energy rule, one thread: rank 415, Krylov 4.3 s,
    LAPACK 10.7 s; rank 882, 6.0 against 11.6 s). The Krylov steps
    stop as soon as the certified values and ``‖A‖_F`` show that at least
    :data:`LAPACK_RANK_SHARE` ``· min(m, n)`` triplets remain past those certified
    (:func:`svdkit.lowrank.rank.rank_lower_bound`): one dense SVD, certified as
    ``method="lapack"`` is, then costs less than the steps still needed. Rank mode
    sizes its Krylov space on the rank it heads for, and on a flat spectrum each
    triplet costs more steps than the last; LAPACK's cost does not depend on the
    rank. Measured (one BLAS thread, CPU seconds, energy rule, the rank as a share
    of ``min(m, n)``, 3000×1500, LAPACK alone 2.2–2.7 s; the share that hands over
    in the columns):

    =================  =====  ============  ====  ===============  ====
    spectrum           share  Krylov alone  0.1   0.125 (chosen)   0.2
    =================  =====  ============  ====  ===============  ====
    Gaussian (flat)    0.15   2.07          2.49  2.02 (Krylov)    2.04
    Gaussian (flat)    0.20   2.87          2.60  2.54             2.81
    Gaussian (flat)    0.30   3.11          2.67  2.65             2.72
    Gaussian (flat)    0.50   3.76          2.87  2.91             2.74
    ``σᵢ = i^-0.5``    0.30   1.93          2.97  1.91 (Krylov)    1.93
    ``σᵢ = i^-0.5``    0.50   2.39          2.52  2.92             2.51
    ``σᵢ = 1/i``       0.50   2.45          3.04  2.57 (Krylov)    2.36
    =================  =====  ============  ====  ===============  ====

    (Gaussian 1000×500, share 0.2: Krylov alone 0.17 s, handed over 0.13 s, LAPACK
    alone 0.10 s. On a decaying spectrum the bound stays well below the rank, so
    the hand-over comes late or not at all; on more cores LAPACK's share of BLAS-3
    work gains more than the Krylov steps do.)
    """
    if method != "auto" or chosen != "krylov" or rank_tol is None:
        return None
    if op.kind not in ("dense", "row_blocks") or not _can_densify(op):
        return None
    share = max(1, math.ceil(LAPACK_RANK_SHARE * min(op.shape)))
    if k is not None and k < share:
        return None
    return share


# ------------------------------------------------------------------------------ running


def _orient(op: Operator, basis: int = 0, block: int = 0) -> tuple[Operator, bool, str | None]:
    """Choose the Gram side ``n`` (the Krylov basis lives there): flip to ``Aᴴ`` or not.

    A file is read once per ``AᴴA`` block product on its fused side (the length of
    its stored rows): that side, unless it is the long one (a wide C-ordered or a
    tall Fortran-ordered file) and a Krylov basis of ``basis`` columns there would
    take more than the operator's ``memory_limit`` — then the short side, at two
    reads of the file a step (60000×200 in Fortran order, ``k = 20``, 1 MiB: a
    basis of 137 MiB against 22 MiB). A dense array is streamed once on its fused
    side too, worth a basis up to twice as long. Otherwise the short side (the
    cheaper basis). The Gram matrix, when one is formed, is the short side's
    whatever this picks (:func:`svdkit.lowrank.krylov.gram_eigen`), and a basis of
    ``min(m, n) − block`` columns or more (``block``: the Krylov block) is such a Gram
    matrix, as :func:`~svdkit.lowrank.krylov.block_lanczos` decides: no steps, no
    note. Returns the operator, whether it is ``Aᴴ``, and a note when memory decided
    the side.
    """
    m, n = op.shape
    note = None
    if op.kind == "row_blocks" and op.fused is not None:
        flip = op.fused == "cogram"
        fused_side = m if flip else n
        limit = getattr(op, "memory_limit", None)
        if (
            fused_side > min(m, n)
            # (else block_lanczos forms the Gram matrix of the short side: no basis)
            and basis < min(m, n) - block
            and limit is not None
            and fused_side * basis * op.dtype.itemsize > limit
        ):
            flip = m < n  # the long side's basis would outgrow memory_limit
            note = (
                f"Krylov basis on the short side ({min(m, n)}): {basis} columns of the "
                f"{fused_side}-long side would take more than memory_limit; two reads of "
                "the file a step"
            )
    elif op.kind == "dense" and op.fused == "gram":
        flip = n > 2 * m
    elif op.kind == "dense" and op.fused == "cogram":
        flip = m <= 2 * n
    else:
        flip = m < n
    if flip:
        return op.adjoint(), True, note
    return op, False, note


def _basis_columns(
    op: Operator, target: Target, block: int | None, max_basis: int | None
) -> tuple[int, int]:
    """Columns of the Krylov basis :func:`~svdkit.lowrank.krylov.block_lanczos` starts
    with (rank mode may grow it), and its block: what :func:`_orient` weighs against
    ``memory_limit``."""
    from svdkit.lowrank.krylov import default_block, default_max_basis

    k = max(target.k, 1)
    b = default_block(op, k) if block is None else max(1, int(block))
    b = min(b, min(op.shape))  # (block_lanczos's, on either side)
    cap = default_max_basis(k, b) if max_basis is None else int(max_basis)
    return max(cap, k + 3 * b), b


def _densify(op: Operator) -> np.ndarray:
    from svdkit.inputs import as_matrix
    from svdkit.lowrank.dask_sparse import SparseBlocksOperator
    from svdkit.lowrank.operators import (
        AdjointOperator,
        DaskOperator,
        DenseOperator,
        RowBlockOperator,
        SparseOperator,
        TransposeOperator,
    )

    if isinstance(op, DenseOperator):
        return np.asarray(op.a, dtype=op.dtype)
    if isinstance(op, SparseOperator):
        d = op.csr.toarray().astype(op.dtype, copy=False)
        return d.T.copy() if op.transposed else d
    if isinstance(op, AdjointOperator):
        return _densify(op.inner).conj().T.copy()
    if isinstance(op, TransposeOperator):
        return _densify(op.inner).T.copy()
    if isinstance(op, RowBlockOperator):
        out = np.empty(op.shape, dtype=op.dtype)
        for r0, r1, B in op.blocks():
            out[r0:r1] = B
        op.passes += 1
        return out
    if isinstance(op, SparseBlocksOperator):  # CSR row blocks on the cluster (no .a)
        import dask
        import scipy.sparse as sp

        op.passes += 1
        with op.user_chunks():
            a = sp.vstack(dask.compute(*op.blocks), format="csr").toarray()
        if not op.validated:
            as_matrix(a)
            op.validated = True
        return a
    if isinstance(op, DaskOperator):
        op.passes += 1
        with op.user_chunks():  # (the dtype is numeric: as_operator checked it)
            a = np.asarray(op.a.compute(), dtype=op.dtype)
        if not op.validated:
            as_matrix(a)  # NaN and infinity named by row and column, as for NumPy input
            op.validated = True
        return a
    eye = np.eye(op.shape[1], dtype=op.dtype)
    return np.asarray(op.tall_to_numpy(op.matmat(eye)), dtype=op.dtype)


def _stored_single(op: Operator) -> np.ndarray | None:
    """The float32 / complex64 array a dense operator was built from, else None
    (a Fortran-ordered array is the transpose of a C-ordered one)."""
    from svdkit.lowrank.operators import DenseOperator, TransposeOperator

    single = (np.dtype(np.float32), np.dtype(np.complex64))
    if isinstance(op, TransposeOperator):
        inner = _stored_single(op.inner)
        return None if inner is None else inner.T
    if isinstance(op, DenseOperator) and op.stored_dtype in single:
        return np.asarray(op.stored)
    return None


def _lapack(
    a: np.ndarray, target: Target, tol: float, single: np.ndarray | None = None
) -> tuple[Certificate, int, Run, Target, float]:
    """Dense SVD of ``a``; the certificate is of ``scale · a`` (returned with its
    ``target``), ``scale`` a power of two where ``σ₁`` is so far from 1 that the
    residuals' sums of squares would over- or underflow.

    ``single``: ``a`` as stored in single precision, factored instead of ``a``
    where ``tol`` and the rank rule leave room for its rounding
    (:func:`~svdkit.lowrank.krylov.single_precision_allowed`); the certificate is
    measured in float64 on ``a`` all the same, and a triplet it does not certify
    sends the matrix to the double-precision SVD (two cores, float32, tol 1e-3,
    ``factor_delta``: 576×576 to the rank of 99 % of the energy, 299, 57 against
    84 ms; 1536×384, rank 109, 53 against 119 ms; 192×576 at rank 128, 13 against
    19 ms).
    """
    from svdkit.linalg.svd import _lapack_svd
    from svdkit.lowrank.krylov import single_precision_allowed

    if single is not None and single_precision_allowed(target, tol):
        decided = replace(target)
        U, s, Vh, driver = _lapack_svd(single, False)
        wide = np.result_type(a.dtype, U.dtype)
        U, s, Vh = U.astype(wide), s.astype(np.float64), Vh.astype(wide)
        out = _lapack_certified(
            a, decided, tol, U, s, Vh, f"single-precision {driver}", single=True
        )
        if out is not None:
            return out
    U, s, Vh, driver = _lapack_svd(a, False)  # (LAPACK scales internally)
    pre = 1.0
    if s.size and not np.isfinite(s[0]):
        # σ₁ beyond the float64 maximum (1.8e308) with finite entries: the SVD of
        # 2^-e·A (exact); _finish says that σ₁ itself cannot be returned
        pre = scale_for(float(np.max(np.abs(a))), 0)
        a = a * pre
        U, s, Vh, driver = _lapack_svd(a, False)
    out = _lapack_certified(a, target, tol, U, s, Vh, driver, single=False, pre=pre)
    assert out is not None
    return out


def _lapack_certified(
    a: np.ndarray,
    target: Target,
    tol: float,
    U: np.ndarray,
    s: np.ndarray,
    Vh: np.ndarray,
    driver: str,
    *,
    single: bool,
    pre: float = 1.0,
) -> tuple[Certificate, int, Run, Target, float] | None:
    """:func:`_lapack`'s certificate of a dense SVD of ``a`` (``a`` is ``pre · A``). A
    ``single``-precision SVD gets its vectors made orthonormal first, and ``None``
    where it cannot be certified here (a kept triplet's residual above ``tol · σ₁``,
    or an extreme scale). The scale returned is the whole factor on ``A``."""
    from svdkit.linalg.residuals import triplet_residuals

    scale = scale_for(float(s[0]) if s.size else 0.0, LAPACK_SAFE_EXPONENT)
    if scale != 1.0 and single:
        return None  # (single precision is not for such scales)
    if scale != 1.0:
        a, s = a * scale, s * scale  # a copy, for such extreme scales only
    scale *= pre
    target = _scaled_target(target, scale)
    _, k = target.decide(s, s.size)
    U, s, Vh = U[:, :k].copy(), s[:k].copy(), Vh[:k].copy()
    if single and k:
        # single-precision vectors are orthonormal to ~1e-7: one CholeskyQR step
        # each (R's diagonal positive: no column changes sign) makes them so to
        # float64 rounding, as every other method's are
        U, Vh = _orthonormal_columns(U), _orthonormal_columns(Vh.conj().T).conj().T
        if U is None or Vh is None:
            return None
    # a small matrix's residuals on one BLAS thread: NumPy's pool would wake beside
    # LAPACK's (SciPy's OpenBLAS), whose threads still spin after the SVD, and each
    # call would then wait on the other's (192×576 float32, rank 128, twenty calls
    # in a row: the SVD 21 instead of 8.3 ms, the residuals 9 instead of 1.4 ms)
    with single_blas_thread() if a.size <= SMALL_ENTRIES else contextlib.nullcontext():
        if single and k:
            s, right, left, AhU = _rayleigh_values(a, U, s, Vh)
        else:
            right, left = triplet_residuals(a, U, s, Vh)
            AhU = Vh.conj().T * s  # (uᵢᴴ A vᵢ = σᵢ to float64 rounding)
    if single and k and float(np.maximum(right, left).max()) > tol * float(s[0]):
        return None
    run = Run("lapack", iterations=1)
    run.notes.append(f"dense SVD by LAPACK ({driver}) of the {a.shape[0]}×{a.shape[1]} matrix")
    run.extra["converged"] = True
    V = Vh.conj().T
    return Certificate(U=U, s=s, V=V, right=right, left=left, AhU=AhU), k, run, target, scale


def _rayleigh_values(
    a: np.ndarray, U: np.ndarray, s: np.ndarray, Vh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A single-precision SVD's values as ``σᵢ = Re uᵢᴴ A vᵢ``, measured in float64.

    ``sgesdd``'s values are good to about ``6e-8 · σ₁``; the Rayleigh quotients of its
    (re-orthonormalised) vectors to float64 rounding, and they minimise both
    residuals. The error ``‖A − U Σ Vᴴ‖_F² = ‖A‖_F² − 2 Σ σᵢ ρᵢ + Σ σᵢ²`` that LoRA
    extraction reports from them (``ρᵢ`` the quotients) was off by ``σ₁ · 1e-7``
    relative to ``‖A‖_F²`` when ``ρᵢ`` were taken as the single-precision ``σᵢ``: 0.4 %
    of a 0.6 % relative error. Returns ``s, right, left, AhU`` (``AhU = Aᴴ U``);
    the values stay sorted (where the quotients would reorder nearly equal values,
    or one is not positive, ``sgesdd``'s are kept, with the quotients in ``AhU``).
    """
    from svdkit.linalg.residuals import column_norms

    V = Vh.conj().T
    AV = np.asarray(a @ V)
    AhU = np.asarray(a.conj().T @ U)
    rho = np.real(np.einsum("ij,ij->j", V.conj(), AhU))
    if rho[-1] > 0 and np.all(np.diff(rho) <= 0):
        s = rho
    right = column_norms(AV - U * s)
    left = column_norms(AhU - V * s)
    return s, right, left, AhU


def _orthonormal_columns(Q: np.ndarray) -> np.ndarray | None:
    """``Q R⁻¹`` from one CholeskyQR step (``Q`` nearly orthonormal), or None."""
    from svdkit.lowrank.orth import _chol_step

    with single_blas_thread() if Q.size <= SMALL_ENTRIES else contextlib.nullcontext():
        found = _chol_step(np.array(Q, order="F"), in_place=True)
    return None if found is None else found[0]


@contextlib.contextmanager
def _progress_bar(enabled: bool, label: str) -> Iterator[Progress | None]:
    """The engine's progress bar (rich, on standard error), or None.

    The bar is drawn only when standard error is a terminal, or in a Jupyter notebook
    (a live widget, where ipywidgets is installed): written to a file or a CI log,
    rich leaves its last frame behind, cut to 80 columns ("worst residual
    0.2…" for 0.2×tol), as the counting bar of :mod:`svdkit.lsi.progress` would.
    """
    if not enabled:
        yield None
        return
    import importlib.util

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    # (in a notebook, rich draws a live widget, with ipywidgets; its console is never
    # a terminal there)
    notebook = console.is_jupyter and importlib.util.find_spec("ipywidgets") is not None
    if not notebook and (not console.is_terminal or console.is_dumb_terminal):
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} certified"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=1, info="")

        def update(step: int, passes: int, conv: int, k: int, worst: float) -> None:
            info = f"step {step}, {passes} passes, worst residual {worst:.2g}×tol"
            bar.update(task, completed=conv, total=max(k, 1), info=info)

        yield update
        bar.refresh()


def _run_method(
    name: str,
    op: Operator,
    target: Target,
    *,
    tol: float,
    rng: np.random.Generator,
    oversample: int | None,
    max_iter: int | None,
    block: int | None,
    max_basis: int | None,
    progress: Progress | None,
    handover: int | None = None,
) -> tuple[Certificate, int, Run, Target]:
    if name in ("krylov", "gram"):
        from svdkit.lowrank.krylov import block_lanczos, gram_eigen
        from svdkit.lowrank.range_finder import subspace_iteration

        if name == "gram":
            if min(op.shape) > GRAM_MAX_SIDE:
                raise advised(
                    ShapeError,
                    f"the gram method forms the Gram matrix of the short side; min(m, n) = "
                    f"{min(op.shape)} is more than {GRAM_MAX_SIDE}: ",
                    "use {method:krylov}",
                )
            cert, k, run = gram_eigen(
                op, target, tol=tol, rng=rng, method="gram", progress=progress
            )
        else:
            cert, k, run = block_lanczos(
                op,
                target,
                tol=tol,
                rng=rng,
                block=block,
                max_basis=max_basis,
                max_iter=max_iter,
                progress=progress,
                handover=handover,
            )
        if run.extra.get("handover"):
            return cert, k, run, target  # the caller runs LAPACK
        if run.extra.get("floor") and k:
            # eigenvectors of AᴴA are accurate to about eps·σ₁²/σₖ: finish with
            # two-sided subspace iteration (floor eps·σ₁), started from them. In
            # rank mode it decides the rank too, on its σ (Rayleigh–Ritz on A):
            # AᴴA's Ritz values resolve σ to about √eps·σ₁ only.
            if target.by_rank:
                polish = replace(target, k=min(k, target.limit))
            else:
                polish = replace(target, k=k, rank_tol=None)
            cert2, k2, run2 = subspace_iteration(
                op, polish, tol=tol, rng=rng, oversample=10, max_iter=30, start=cert.V
            )
            iters = run2.iterations
            # rank mode: widen and restart warm until the rank is inside the subspace
            while polish.by_rank and not run2.extra.get("converged") and k2 > polish.k:
                polish = replace(polish, k=min(polish.limit, k2))
                cert2, k2, run2 = subspace_iteration(
                    op, polish, tol=tol, rng=rng, oversample=10, max_iter=30, start=cert2.V
                )
                iters += run2.iterations
            run.iterations += iters
            run.notes.append(
                f"AᴴA's rounding floor reached; {iters} two-sided "
                "subspace iterations from its Ritz vectors"
            )
            if run2.extra.get("converged"):
                cert = cert2
                run.extra["converged"] = True
                if polish.by_rank:
                    k, target = k2, polish
            elif polish.by_rank:
                run.extra["converged"] = False
        return cert, k, run, target
    p = 10 if oversample is None else oversample
    if name == "randomized":
        from svdkit.lowrank.range_finder import subspace_iteration

        fn = subspace_iteration
    else:
        from svdkit.lowrank.dash import dash_svd

        fn = dash_svd
    cert, k, run = fn(
        op, target, tol=tol, rng=rng, oversample=p, max_iter=max_iter, progress=progress
    )
    # rank mode: widen and restart warm until the rank is inside the subspace; a
    # max_iter given bounds the power iterations of all the runs together
    while target.by_rank and not run.extra.get("converged") and k > target.k:
        iters = run.iterations
        if max_iter is not None and iters >= max_iter:
            break  # (not converged: "raise max_iter")
        target = replace(target, k=min(target.limit, k))
        left = None if max_iter is None else max_iter - iters
        kwargs: dict[str, Any] = {"oversample": p, "max_iter": left, "progress": progress}
        if name == "randomized":
            kwargs["start"] = cert.V
        cert, k, run = fn(op, target, tol=tol, rng=rng, **kwargs)
        run.iterations += iters
    return cert, k, run, target


def truncated_svd(
    A: Any,
    k: int | None = None,
    *,
    tol: float = 1e-6,
    method: str = "auto",
    seed: int | None = 0,
    oversample: int | None = None,
    max_iter: int | None = None,
    rank_tol: float | None = None,
    rank_norm: str | None = None,
    block: int | None = None,
    max_basis: int | None = None,
    progress: bool = False,
    memory_limit: int | None = None,
    threads: int | None = None,
) -> LowRankSVD:
    """The ``k`` leading singular triplets of ``A``, each certified to ``tol``.

    Parameters
    ----------
    A : array_like, sparse matrix, LinearOperator, np.memmap, path, dask array or Operator
        Any matrix :func:`svdkit.lowrank.operators.as_operator` accepts: NumPy arrays
        (C or Fortran order, float32/float64/complex), SciPy sparse (CSR/CSC; other
        formats become CSR), ``scipy.sparse.linalg.LinearOperator``, ``np.memmap`` or
        a path to a ``.npy`` file (read in row blocks: out of core), a dask array.
        A LinearOperator needs ``rmatvec`` (or ``rmatmat``) for every method but
        ``"lapack"``. Any scale: where ``‖A‖`` is far from 1 (beyond ``2^±32``) the
        methods run on ``2^e · A`` (exact), so that ``AᴴA`` neither overflows nor
        underflows, and the result is scaled back — up to ``σ₁ = 1.8e308`` and down
        to subnormal entries (``‖A‖_F`` itself measured scaled where it overflows).
        A matrix whose ``σ₁`` exceeds the float64 maximum raises
        :class:`~svdkit.SvdkitError` (its values cannot be returned). An
        :class:`Operator` counts its ``passes`` from this call on.
    k : int, optional
        Number of triplets, ``0 ≤ k ≤ min(m, n)``. With ``rank_tol``: the most to
        look for.
    tol : float, default 1e-6
        Every returned triplet has ``‖A vᵢ − σᵢ uᵢ‖ ≤ tol · σ₁`` and
        ``‖Aᴴ uᵢ − σᵢ vᵢ‖ ≤ tol · σ₁``, or a ``ConvergenceError`` is raised.
        (Each ``σᵢ`` is then within ``tol · σ₁`` of a singular value of ``A``.)
    method : {"auto", "krylov", "gram", "randomized", "dash", "lapack"}
        See the module documentation and :func:`choose_method`. ``"gram"`` forms the
        ``n × n`` Gram matrix of the short side (``n ≤ 8192``) and certifies its
        leading eigenvectors by Rayleigh–Ritz on ``A``.
    seed : int or None, default 0
        Seed of the random start (a non-negative integer, as
        ``numpy.random.default_rng`` takes): the same seed gives the same result.
    oversample : int, optional
        Extra columns of the subspace (``randomized``, ``dash``; default 10).
    max_iter : int, optional
        Most iterations: Lanczos steps (``krylov``), power iterations
        (``randomized``, ``dash``; ``gram`` has none). In rank mode the
        ``randomized`` and ``dash`` runs restart wider as the rank grows; a
        ``max_iter`` given bounds their iterations all together (the total
        reported in ``iterations``), the default lets each run take its own
        (100 for ``randomized``, 200 for ``dash``).
    rank_tol : float, optional
        Rank by tolerance: return the smallest ``k`` with relative error
        ``≤ rank_tol`` (:mod:`svdkit.lowrank.rank`). With the spectral norm the
        values are certified to ``min(tol, rank_tol / 10)`` (at least ``1e-14``;
        the result's ``tol`` and ``notes`` say so where that is tighter than
        ``tol``): a threshold ``rank_tol · σ₁`` below the certified ``tol · σ₁``
        could not be decided, and every method gave a different rank.
    rank_norm : {"spectral", "energy"}, optional
        The norm of that error (default ``"spectral"``). ``"energy"`` only with
        ``rank_tol``: given without it, it is refused (:class:`~svdkit.SvdkitError`),
        not ignored; ``"spectral"``, the default, is taken with or without it.
    block : int, optional
        Block size of ``krylov`` (default 8; wider for out-of-core and dask).
    max_basis : int, optional
        Krylov basis columns before a thick restart (default ``max(2k + 6b, 4k)``).
    progress : bool, default False
        Show a progress bar (rich, on standard error), where standard error is a
        terminal: redirected to a file or a CI log, no bar is drawn.
    memory_limit : int, optional
        Bytes of matrix data an out-of-core input may hold at once (default 256 MiB).
    threads : int, optional
        Threads for sparse products (default: the usable cores).

    Returns
    -------
    LowRankSVD
        ``U, s, Vh`` plus ``residuals_right``, ``residuals_left``, ``tol``, ``method``,
        ``iterations``, ``passes``, ``converged``.

    Raises
    ------
    ConvergenceError
        Some triplet did not meet ``tol`` within ``max_iter``; the message names
        them with their residuals, and ``err.result`` holds the uncertified result.
    ShapeError, SvdkitError
        Invalid arguments or input; ``SvdkitError`` also when the machine runs out of
        memory during the run (NumPy's ``MemoryError`` is its cause).

    Examples
    --------
    >>> import numpy as np
    >>> from svdkit.lowrank import truncated_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((500, 300)) * (1.0 / np.arange(1, 301))
    >>> r = truncated_svd(A, 5, method="krylov")
    >>> r.converged, r.method, bool(r.relative_residuals.max() <= 1e-6)
    (True, 'krylov', True)
    >>> bool(np.allclose(r.s, np.linalg.svd(A, compute_uv=False)[:5]))
    True
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise SvdkitError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if rank_norm is not None and rank_norm not in ("spectral", "energy"):
        raise SvdkitError(
            f"{arg('rank_norm')} must be 'spectral' or 'energy'; got {got(rank_norm)}",
            param="rank_norm",
        )
    tol = _check_tol(tol, "tol", MIN_TOL, 1.0)
    if rank_tol is not None:
        rank_tol = _check_tol(rank_tol, "rank_tol", 1e-14, 1.0)
    elif rank_norm == "energy":
        # (it would be silently ignored: k alone decides how many triplets). "spectral",
        # the default, is taken: without rank_tol it means nothing, and a wrapper that
        # passes its own default on (rank_norm=rank_norm, rank_tol=None) keeps working
        raise SvdkitError(
            f"{kw('rank_norm', rank_norm)} needs {arg('rank_tol')} (the error that chooses "
            f"k); without it {arg('k')} alone says how many triplets",
            param="rank_norm",
        )
    rank_norm = "spectral" if rank_norm is None else rank_norm
    oversample = check_optional_int(oversample, "oversample", 0)
    max_iter = check_optional_int(max_iter, "max_iter", 1)
    block = check_optional_int(block, "block", 1)
    max_basis = check_optional_int(max_basis, "max_basis", 1)
    check_seed(seed)
    memory_limit = check_optional_int(memory_limit, "memory_limit", 1)
    threads = check_optional_int(threads, "threads", 1)
    progress = check_bool(progress, "progress")

    op: Operator | None = None
    state: dict[str, str] = {"method": method}  # (the method chosen, once _solve knows it)
    # the products open files and fill row buffers (np.memmap, .npy): released at the
    # end, so that the result holds no file and no block of A (they reopen on demand)
    try:
        op = as_operator(A, memory_limit=memory_limit, threads=threads)
        # ``passes`` counts this call's reads: an Operator given again (as_operator's, as
        # the CLI makes) carried the count of its earlier runs into the result (28, then 56)
        op.passes = 0
        return _solve(
            A, op, k, tol=tol, method=method, seed=seed, oversample=oversample,
            max_iter=max_iter, rank_tol=rank_tol, rank_norm=rank_norm, block=block,
            max_basis=max_basis, progress=progress, started=started, state=state,
        )  # fmt: skip
    except MemoryError as err:  # (NumPy's names the array it could not allocate)
        raise _out_of_memory(err, op, state["method"], by_rank=k is None) from err
    finally:
        if op is not None:
            op.close()


def _out_of_memory(err: MemoryError, op: Operator | None, method: str, *, by_rank: bool) -> Any:
    """The :class:`~svdkit.SvdkitError` of a ``MemoryError``, with the advice that fits:
    reading the input (``op`` is None), densifying it for LAPACK, or the steps of the
    other methods (fewer triplets: ``k``, or a larger ``rank_tol`` in rank mode;
    ``memory_limit`` only for an input read in row blocks)."""
    why = str(err) or "MemoryError"
    free = "or run where more memory is free"
    if op is None:
        return advised(
            SvdkitError,
            f"not enough memory to read the matrix: {why}; ",
            "give it as a .npy file or an np.memmap (read in row blocks within "
            f"{{memory_limit}}), sparse, or in float32, {free}",
        )
    m, n = op.shape
    finding = f"not enough memory for the truncated SVD of the {m}×{n} matrix: {why}; "
    if method == "lapack":
        return advised(
            SvdkitError,
            finding,
            f"the lapack method holds the whole matrix densely: use {{method:krylov}}, {free}",
        )
    fewer = "a larger {rank_tol} (fewer triplets)" if by_rank else "fewer triplets ({k})"
    limit = " or {memory_limit}" if op.kind == "row_blocks" else ""
    return advised(SvdkitError, finding, f"ask for {fewer}, a smaller {{max_basis}}{limit}, {free}")


def _solve(
    A: Any,
    op: Operator,
    k: int | None,
    *,
    tol: float,
    method: str,
    seed: int | None,
    oversample: int | None,
    max_iter: int | None,
    rank_tol: float | None,
    rank_norm: str,
    block: int | None,
    max_basis: int | None,
    progress: bool,
    started: float,
    state: dict[str, str] | None = None,
) -> LowRankSVD:
    """:func:`truncated_svd` on the operator ``op`` of ``A`` (the arguments checked);
    ``state["method"]`` is set to the method chosen."""
    m, n = op.shape
    p = min(m, n)
    if k is None and rank_tol is None:
        raise ShapeError(
            f"give {arg('k')} (the number of triplets) or {arg('rank_tol')} (to find k)"
        )
    if k is not None:
        k = _check_k(k, p)
    asked_tol = tol
    tol = _rank_tol_certified(tol, rank_tol, rank_norm)
    chosen = (
        choose_method(op, None if rank_tol is not None else k, tol) if method == "auto" else method
    )
    if state is not None:
        state["method"] = chosen
    op.require(chosen)
    handover = _lapack_handover(op, method, chosen, k, rank_tol)
    # ‖A‖_F as (c ‖A‖_F, c), c a power of two: ‖A‖_F itself may exceed the float64
    # maximum (σ₁ up to 1.8e308 is a valid matrix); every method decides on c·A
    fro: tuple[float, float] | None = None
    if rank_tol is not None and rank_norm == "energy":
        fro = scaled_fro_norm(op, probe=True)
    elif handover is not None:
        fro = scaled_fro_norm(op)  # (the rank's lower bound needs ‖A‖_F; one pass, never probed)
        if fro is None:
            handover = None
    fro_value, fro_scale = (None, 1.0) if fro is None else fro
    if rank_tol is not None:
        limit = p if k is None else k
        target = Target(
            min(limit, RANK_MODE_START), limit, rank_tol, rank_norm, fro_value, full=p,
            fro_scale=fro_scale,
        )  # fmt: skip
    else:
        target = Target(int(k), p, full=p)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    caveats: list[str] = []  # the notes that qualify the result (LowRankSVD.caveats)
    if method == "auto":
        notes.append(f"method auto → {chosen}")
    if tol != asked_tol:
        caveats.append(
            f"{kw('tol', asked_tol, 'g')} tightened to {tol:g}: a spectral "
            f"{kw('rank_tol', rank_tol, 'g')} is "
            "decided on values certified to a tenth of it"
        )
        notes.append(caveats[-1])

    if target.k == 0 and not target.by_rank:
        dt = op.dtype
        empty = LowRankSVD(
            np.zeros((m, 0), dt), np.zeros(0), np.zeros((0, n), dt), A, chosen,
            tol=tol, method=chosen, seed=seed, operator=op, notes=tuple(notes),
            caveats=tuple(caveats),
            precision=_stored_precision(op),
        )  # fmt: skip
        return empty

    if chosen == "lapack":
        refusal = _densify_refusal(op)
        if refusal is not None:
            why, need = refusal
            advice = "use {method:krylov}"
            if need is not None:  # memory_limit refused it, not the entry cap
                advice = (
                    f"raise {{memory_limit}} to at least {need} bytes ({_size(need)}), or "
                    + advice
                )
            raise advised(
                ShapeError,
                f"the lapack method needs the {m}×{n} matrix densely in memory: {why}; ",
                advice,
            )
        cert, k_found, run, target, scale = _lapack(
            _densify(op), target, tol, _stored_single(op)
        )
        # (in memory, the dense copy or the array itself is read without a product: one
        # pass all the same; a file or dask array counted its read while densified)
        op.passes = max(op.passes, 1)
        flipped = False
        oriented = op
    else:
        oriented, flipped, side_note = _orient(op, *_basis_columns(op, target, block, max_basis))
        if flipped:
            notes.append(f"worked on Aᴴ ({n}×{m}): its Gram side is the {m}-dimensional one")
        if side_note is not None and chosen == "krylov":
            notes.append(side_note)
        # the methods run on c·A, c a power of two that keeps AᴴA inside float64
        work = ScaledOperator(oriented, scale=None if fro is None else fro_scale)
        label = f"{chosen} {op.describe()}"
        # a small matrix: every kernel is small, so one BLAS thread throughout
        # (set once: limiting per kernel cost ~20 µs a call, a quarter of a
        # 384×384 run)
        small = m * n <= SMALL_ENTRIES
        start = replace(target)  # (for a hand-over to LAPACK: the target as asked)
        with _progress_bar(progress, label) as cb, (
            single_blas_thread() if small else contextlib.nullcontext()
        ):
            try:
                cert, k_found, run, target = _run_method(
                    chosen,
                    work,
                    _scaled_target(target, work.scale or 1.0),
                    tol=tol,
                    rng=rng,
                    oversample=oversample,
                    max_iter=max_iter,
                    block=block,
                    max_basis=max_basis,
                    progress=cb,
                    handover=handover,
                )
            except np.linalg.LinAlgError as err:  # a small dense eigh / SVD step
                raise advised(
                    ConvergenceError,
                    f"{chosen} could not go on with the {m}×{n} matrix: a small dense "
                    f"step of LAPACK failed ({err}). ",
                    _what_else(chosen),
                ) from err
            scale = work.scale or 1.0
            if run.extra.get("handover"):
                # the rank is a large share of min(m, n): one dense SVD costs less
                # than the Krylov steps still needed; certified as method='lapack' is
                steps, said = run.iterations, run.notes
                cert, k_found, run, target, scale = _lapack(
                    _densify(op), start, tol, _stored_single(op)
                )
                run.iterations += steps
                run.notes[:0] = [
                    *said,
                    f"rank mode: {counted(steps, 'Krylov step')}, then a dense SVD, cheaper "
                    f"once {LAPACK_RANK_SHARE:g}·min(m, n) or more triplets remain to certify",
                ]
                # (LAPACK ran on A itself: the note on Aᴴ is about the steps only)
                notes[:] = [note for note in notes if not note.startswith("worked on Aᴴ")]
                oriented, flipped = op, False
            if cb is not None:  # the bar ends on the certificate, not the last estimate
                _show_certificate(cb, cert, k_found, run, work.passes, tol)
    if scale != 1.0:
        notes.append(
            f"run on 2^{math.frexp(scale)[1] - 1}·A (exact): A's scale is so far from 1 "
            "that its squares (AᴴA, residual norms) could over- or underflow float64"
        )
    return _finish(
        A, op, oriented, flipped, cert, k_found, run, target, tol, seed, notes, started, scale,
        caveats=caveats,
    )


def _rank_tol_certified(tol: float, rank_tol: float | None, rank_norm: str) -> float:
    """The ``tol`` certified in spectral rank mode: at most ``rank_tol / 10`` (and at
    least :data:`MIN_TOL`).

    The spectral rule compares ``σ_{k+1}`` with ``rank_tol · σ₁``; values certified to
    ``tol · σ₁`` only, with ``tol`` above ``rank_tol``, cannot place themselves against
    that threshold, and each method then returned a different rank (σ₁ = 1e10 over a
    tail 1 … 0.01, ``rank_tol = 5e-11``, default ``tol``: 1, 16, 20, 31 and 31 where 31
    is right). A tenth leaves only the values within 10 % of the threshold undecided
    (``notes`` names them).
    """
    if rank_tol is None or rank_norm != "spectral" or tol <= rank_tol / 10:
        return tol
    return max(MIN_TOL, rank_tol / 10)


def _show_certificate(
    cb: Progress, cert: Certificate, k: int, run: Run, passes: int, tol: float
) -> None:
    """Last update of the progress bar: the certified triplets and the certified worst
    residual (the steps showed the method's own estimate, which may differ)."""
    k = min(k, cert.s.size)
    s1 = float(cert.s[0]) if cert.s.size else 0.0
    worst = float(cert.worst[:k].max()) / (tol * s1) if k and s1 > 0 else 0.0
    met = int(cert.met(tol, k).sum()) if k else 0
    cb(run.iterations, passes, met, k, worst)


def _scaled_target(target: Target, scale: float) -> Target:
    """``target`` for ``scale · A``: its ``‖A‖_F`` (energy rank mode, measured on
    ``target.fro_scale · A``) scaled to match (powers of two: exact)."""
    if scale == target.fro_scale or target.fro is None:
        return target
    shift = math.frexp(scale)[1] - math.frexp(target.fro_scale)[1]
    return replace(target, fro=math.ldexp(target.fro, shift), fro_scale=scale)


def _stored_precision(op: Operator) -> np.dtype | None:
    """The precision the data was stored in, where coarser than the working one
    (float32 data): :meth:`SVD.rank` and ``pinv`` then use its ``eps``, as
    :func:`svdkit.svd` does for a full SVD of the same array."""
    dtype = rule_dtype(getattr(op, "stored_dtype", op.dtype), op.dtype)
    return dtype if dtype != op.dtype else None


def _finish(
    A: Any,
    op: Operator,
    oriented: Operator,
    flipped: bool,
    cert: Certificate,
    k: int,
    run: Run,
    target: Target,
    tol: float,
    seed: int | None,
    notes: list[str],
    started: float,
    scale: float = 1.0,
    *,
    caveats: list[str] | None = None,
) -> LowRankSVD:
    """The result from the certificate of ``oriented`` (``Aᴴ`` when ``flipped``), run on
    ``scale · A``: ``σ``, residuals and Rayleigh quotients are divided by ``scale``.
    ``caveats``: the notes so far that qualify the result; an uncertain rank joins them."""
    from svdkit.linalg.signs import apply_sign_rule

    caveats = [] if caveats is None else caveats
    k = min(k, cert.s.size)
    if target.by_rank and not target.limited:
        undecided = _rank_undecided(cert, k, target, tol)
        if undecided:
            notes.append(undecided)
            caveats.append(undecided)
    tallU = np.array(oriented.tall_to_numpy(cert.U)[:, :k], dtype=op.dtype, order="C")
    V = np.array(cert.V[:, :k], dtype=op.dtype)
    right, left = cert.right[:k].copy(), cert.left[:k].copy()
    # Re vᵢᴴ (Aᴴ uᵢ): the same number for the flipped operator (Re uᵢᴴ A vᵢ)
    AhU = np.asarray(cert.AhU[:, :k])
    rayleigh = np.real(np.einsum("ij,ij->j", cert.V[:, :k].conj(), AhU)).astype(float)
    if flipped:  # oriented = Aᴴ = V Σ Uᴴ
        U, Vh = V, tallU.conj().T.copy()
        right, left = left, right
    else:
        U, Vh = tallU, V.conj().T.copy()
    U = np.ascontiguousarray(U)
    U, Vh = apply_sign_rule(U, Vh)
    s = np.array(cert.s[:k], dtype=float)
    if scale != 1.0:  # exact: a power of two
        with np.errstate(over="ignore"):
            s, right, left, rayleigh = s / scale, right / scale, left / scale, rayleigh / scale
    if k and not np.isfinite(s[0]) and np.isfinite(cert.s[0]):
        raise SvdkitError(
            f"σ₁ of the {op.shape[0]}×{op.shape[1]} matrix is about "
            f"2^{math.log2(float(cert.s[0])) - math.log2(scale):.1f}, beyond the largest "
            "float64 (1.8e308): its singular values cannot be returned; scale A down by "
            "a power of two (A * 2.0**-8) and the values returned up by the same"
        )
    bound = residual_bound(s, tol)
    # (a residual or σ that is not finite never counts as met: inf ≤ tol·inf holds)
    met = (np.maximum(right, left) <= bound) & np.isfinite(right) & np.isfinite(left)
    met &= bool(np.isfinite(bound))
    # a fixed k that the run's space was too small to hold (max_iter too low) is
    # not a success, however well the triplets it has are certified
    missing = 0 if target.by_rank else max(0, target.k - k)
    converged = bool(run.extra.get("converged", True)) and bool(met.all()) and not missing
    rank_note = None
    if target.by_rank and converged and target.limited:
        converged = False
        rank_note = (
            f"{kw('rank_tol', target.rank_tol, 'g')} ({target.rank_norm}) needs more than "
            f"the {kw('k', target.limit)} triplets allowed"
        )
    result = LowRankSVD(
        U,
        s,
        Vh,
        A,
        run.method,
        residuals_right=right,
        residuals_left=left,
        rayleigh=rayleigh,
        tol=tol,
        method=run.method,
        iterations=run.iterations,
        passes=op.passes,
        converged=converged,
        seed=seed,
        seconds=time.perf_counter() - started,
        notes=tuple(notes + run.notes),
        caveats=tuple(caveats),
        rank_tol=target.rank_tol,
        rank_norm=target.rank_norm if target.by_rank else None,
        operator=op,
        precision=_stored_precision(op),
    )
    if not converged:
        raise _convergence_error(result, met, run, rank_note, missing)
    return result


def _rank_undecided(cert: Certificate, k: int, target: Target, tol: float) -> str | None:
    """A note when the certified values cannot tell the rank found from its neighbours.

    Each ``σᵢ`` is within its residual of a singular value of ``A`` — no closer as far
    as the certificate shows. Spectral rule: ``k`` is certain when ``σₖ`` minus its
    residual stays above ``ε σ₁`` and ``σ_{k+1}`` plus its residual at or below it
    (where ``σ_{k+1}`` was computed). Energy rule: the energy left out is a sum of
    such values; with ``tol ≥ ε`` it is not resolved to ``ε``.
    """
    eps = float(target.rank_tol)  # type: ignore[arg-type]
    s, err = cert.s, cert.worst
    if not s.size or s[0] == 0:
        return None
    if target.rank_norm == "energy":
        if tol < eps:
            return None
        return (
            f"{kw('rank_tol', eps, 'g')} (energy) with {kw('tol', tol, 'g')}: the values are "
            "certified to "
            "tol·σ₁ only, so the rank found may differ from the exact one where the energy "
            f"left out lies near the threshold; use {arg('tol')} < {arg('rank_tol')} for an "
            "exact rank"
        )
    t = eps * s[0]
    low = k > 0 and s[k - 1] - err[k - 1] <= t
    high = k < s.size and s[k] + err[k] > t
    if not (low or high):
        return None
    return (
        f"{kw('rank_tol', eps, 'g')} (spectral): a singular value lies within its certified "
        f"residual of the threshold rank_tol·σ₁ = {t:.3g}, so the rank is {k} only to "
        f"within {kw('tol', tol, 'g')} (the exact rank may be {'smaller' if low else 'larger'}); "
        "a smaller tol decides it"
    )


def _what_else(method: str) -> str:
    """What may succeed where ``method`` stopped short (never ``method`` itself): an
    advice template (:func:`svdkit.lowrank._common.advise`)."""
    dense = "{method:lapack} (one dense SVD, exact) if the matrix fits in memory"
    if method == "krylov":
        # its failures: max_iter too low, or AᴴA's rounding floor (tiny σᵢ / σ₁)
        return "Raise {max_iter}, loosen {tol}, or use " + dense
    if method == "gram":
        # the eigenvectors of AᴴA are accurate to about eps·σ₁²/σᵢ only
        return "Loosen {tol}, or use " + dense + ": the Gram matrix AᴴA squares the conditioning"
    if method == "lapack":
        # one pass, no iterations to raise: its residuals are the dense SVD's own rounding
        # (a small multiple of eps·σ₁, growing with the size), the floor at tol near 1e-14
        return (
            "Loosen {tol} (one dense SVD has no iterations to add: its residuals are its "
            "own rounding, a small multiple of eps·σ₁, which a tol near the minimum 1e-14 "
            "may not leave room for), or try {method:krylov}"
        )
    # randomized, dash: power iterations, slow on flat spectra
    return (
        "Raise {max_iter}, loosen {tol}, or use {method:krylov} (converges on flat spectra) "
        "or " + dense
    )


def _convergence_error(
    result: LowRankSVD, met: np.ndarray, run: Run, rank_note: str | None, missing: int = 0
) -> ConvergenceError:
    if rank_note is not None:
        err = advised(ConvergenceError, rank_note + "; ", "raise {k} or loosen {rank_tol}")
        err.result = result  # type: ignore[attr-defined]
        return err
    bad = np.flatnonzero(~met)
    if result.k and result.s[0] == 0:
        # σ₁ = 0: a residual relative to it means nothing (relative_residuals shows 0);
        # an uncertified triplet is one with a residual above zero, shown as it is
        worst = np.maximum(result.residuals_right, result.residuals_left)
        shown = ", ".join(f"#{i + 1}: {worst[i]:.1e} (σ₁ = 0)" for i in bad[:10])
    else:
        rel = result.relative_residuals
        shown = ", ".join(f"#{i + 1}: {rel[i]:.1e}·σ₁" for i in bad[:10])
    more = f" and {bad.size - 10} more" if bad.size > 10 else ""
    m, n = result.shape
    asked = result.k + missing
    matrix = f"of the {m}×{n} matrix"
    if not missing:
        found = f"did not certify {bad.size} of {asked} singular triplets {matrix}"
    elif bad.size:  # the space held fewer triplets than asked (max_iter too low)
        found = (
            f"computed only {result.k} of the {asked} singular triplets asked {matrix}, "
            f"and did not certify {bad.size} of those"
        )
    else:
        found = f"computed only {result.k} of the {asked} singular triplets asked {matrix}"
    worst = f": worst residuals {shown}{more}" if bad.size else ""
    # (counted: "after 1 iteration (2 passes)", not "1 iterations")
    ran = (
        f"after {counted(result.iterations, 'iteration')} "
        f"({counted(result.passes, 'pass', 'passes')})"
    )
    msg = f"{run.method} {found} to {kw('tol', result.tol, 'g')} {ran}{worst}. "
    if not bad.size and not missing and result.rank_tol is not None:
        # rank mode: every triplet computed is certified, the rule is not met by them
        msg = (
            f"{run.method} did not reach the rank for {kw('rank_tol', result.rank_tol, 'g')} "
            f"({result.rank_norm}) {matrix} {ran}: the {counted(result.k, 'triplet')} it "
            f"certified to {kw('tol', result.tol, 'g')} do not meet it. "
        )
    err = advised(ConvergenceError, msg, _what_else(run.method))
    err.result = result  # type: ignore[attr-defined]
    err.unconverged = bad  # type: ignore[attr-defined]
    return err
