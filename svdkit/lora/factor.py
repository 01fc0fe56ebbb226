"""One weight delta → its certified truncated SVD, the rank the rule picks, and its quality.

:func:`factor_delta` is the per-module step of extraction: ``svdkit.lowrank``'s
:func:`~svdkit.lowrank.truncated_svd` (LAPACK for tiny modules or large ranks, the
Gram matrix for a short side ≤ 256, block Krylov otherwise, every triplet certified to
``tol · σ₁``), the rank chosen by a
:class:`~svdkit.lora.rank.RankRule` against the exact ``‖ΔW‖_F²``, and a
:class:`Quality` record: the error actually reached, computed from the entries,
and a certified lower bound of the optimum (Eckart–Young) error.

:func:`split_factors` turns ``U Σ Vᴴ`` into PEFT's ``lora_B`` ``[out, r]`` and
``lora_A`` ``[r, in]`` with ``scale · B A = U Σ Vᴴ``:

``"sqrt"`` (default)
    ``B = U √Σ``, ``A = √Σ Vᴴ`` — both factors of the same size, what PiSSA
    and training from the extracted adapter want.
``"B"``
    ``B = U Σ``, ``A = Vᴴ`` (kohya and mergekit put σ in the up-projection).
``"A"``
    ``B = U``, ``A = Σ Vᴴ``.

The scale ``α / r`` (or ``α / √r``, rsLoRA) is divided out evenly (``"sqrt"``) or
from the side that holds ``Σ``.

Examples
--------
>>> import numpy as np
>>> from svdkit.lora.rank import RankRule, as_rank_rule
>>> rng = np.random.default_rng(0)
>>> d = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 40))   # rank 3
>>> f = factor_delta(d, RankRule(energy=0.999))
>>> f.rank, f.quality.relative_error < 1e-6
(3, True)
>>> B, A = split_factors(f.U, f.s, f.Vh, "sqrt", scale=0.5)
>>> bool(np.allclose(0.5 * B @ A, d))
True
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit._naming import arg, check_real, got
from svdkit.errors import SvdkitError
from svdkit.linalg.measures import times_power_of_two
from svdkit.lora.rank import RankRule, as_rank_rule
from svdkit.lowrank._threads import single_blas_thread

__all__ = [
    "SPLITS",
    "Factored",
    "Quality",
    "check_tol",
    "factor_delta",
    "gap_lower_bound",
    "noise_floor",
    "split_factors",
    "unbounded_norm",
    "wants_tighter_tol",
]

SPLITS = ("sqrt", "B", "A")

#: :attr:`Quality.excess` is reported only above this many rounding units of
#: ``‖ΔW‖_F`` (:func:`noise_floor`): the rounding then moves ``error / optimum`` by
#: at most about ``1 / (2 · 100²)`` = 0.005 %.
_ROUNDING_UNITS = 100.0

#: An excess bound above this (or none, ``inf``) says little about the fit: the rank
#: reaches into a tail that ``tol`` does not resolve, and :func:`factor_delta`
#: tightens ``tol`` (10 %; on the real fine-tune of the test suite no module is
#: above 1 % at ``tol = 1e-3``, so it costs nothing there).
TIGHTEN_ABOVE = 0.1


def check_tol(tol: Any) -> float:
    """``tol`` as a float in ``[1e-14, 1)``, the range :func:`svdkit.lowrank.truncated_svd`
    accepts — checked before any checkpoint is read, with the option's name."""
    from svdkit.lowrank.api import MIN_TOL

    return check_real(tol, "tol", MIN_TOL, 1.0)


def noise_floor(fro: float, dtype: Any) -> float:
    """The optimum error below which :attr:`Quality.excess` means nothing.

    ``_ROUNDING_UNITS · max(eps, √eps₆₄) · ‖ΔW‖_F``, ``eps`` the machine epsilon of
    ``dtype``, the precision of the delta:

    * the error of a delta and factors held in ``dtype`` is only resolved to about
      ``eps · ‖ΔW‖_F`` (their rounding; float32: 1.2e-7 of ``‖ΔW‖_F``), so an
      optimum at that level — a delta of exact rank 4 asked at rank 16, whose
      "tail" is float32 noise — gives an excess of rounding against rounding;
    * the optimum's lower bound ``√(‖ΔW‖_F² − Σ (σ̃ᵢ + ρᵢ)²)`` is a float64
      difference of sums, resolved to about ``√eps₆₄ · ‖ΔW‖_F`` (1.5e-8), which
      dominates for float64 deltas.

    Parameters
    ----------
    fro : float
        ``‖ΔW‖_F``.
    dtype : dtype
        Precision of the delta (integers count as float64): a float32 delta is
        rounded to float32, and so are the factors of its adapter.

    Examples
    --------
    >>> f"{noise_floor(1.0, np.float32):.2e}", f"{noise_floor(1.0, np.float64):.2e}"
    ('1.19e-05', '1.49e-06')
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(np.float64)
    eps = float(np.finfo(dtype).eps)
    return _ROUNDING_UNITS * max(eps, math.sqrt(float(np.finfo(np.float64).eps))) * fro


@dataclass(frozen=True)
class Quality:
    """How good a rank-``r`` approximation of ``ΔW`` is.

    Attributes
    ----------
    rank : int
    fro : float
        ``‖ΔW‖_F`` (exact).
    energy_kept : float
        The energy the factors keep, ``1 − (error / ‖ΔW‖_F)²`` (:func:`kept_energy`):
        ``Σ_{i≤r} σᵢ² / ‖ΔW‖_F²`` for the values the factors hold when they are
        Rayleigh quotients (the CPU path's), and the factors' own where values are
        not (a loose ``tol``'s float32 Ritz values).
    error : float
        ``‖ΔW − U Σ Vᴴ‖_F``, from ``‖ΔW‖_F²`` (summed over the entries) and the
        measured ``uᵢᴴ ΔW vᵢ`` (see :func:`approximation_error`), not estimated.
    optimum_lower : float
        A lower bound of the best rank-``r`` error ``sqrt(Σ_{i>r} σᵢ²)``: from
        ``σᵢ ≤ σ̃ᵢ + ρᵢ`` (each computed ``σ̃ᵢ`` is within its residual ``ρᵢ`` of a
        singular value; assumes the certified triplets are the leading ones,
        which LAPACK guarantees and Krylov's convergence test makes the case;
        void where a triplet has ``ρᵢ ≥ σ̃ᵢ``, :func:`first_order_lower`), or,
        where that one leaves the excess above 0.1 % or unbounded,
        :func:`gap_lower_bound` when larger (second order in the residuals, no
        such assumption, needs a gap in the spectrum at the rank).
    floor : float, default 0.0
        :func:`noise_floor` of the computation: an ``error`` at or below it is
        rounding, and :attr:`excess` is then ``None``.
    """

    rank: int
    fro: float
    energy_kept: float
    error: float
    optimum_lower: float
    floor: float = 0.0

    @property
    def relative_error(self) -> float:
        """``error / ‖ΔW‖_F``."""
        return self.error / self.fro if self.fro > 0 else 0.0

    def with_error(self, error: float) -> Quality:
        """This quality with the error of other factors of the same rank (the stored
        ones, after a cast), and the energy they keep, ``1 − (error / ‖ΔW‖_F)²``.

        Examples
        --------
        >>> q = Quality(4, 2.0, 1.0, 0.0, 0.0).with_error(0.2)
        >>> q.error, round(q.energy_kept, 12)
        (0.2, 0.99)
        """
        rel = error / self.fro if self.fro > 0 else 0.0
        return dataclasses.replace(
            self, error=error, energy_kept=min(1.0, max(0.0, 1.0 - rel * rel))
        )

    def scaled(self, e: int) -> Quality:
        """This quality of ``2^e · ΔW`` (exact, but for subnormal results): the factors of
        a delta scaled by ``2^−e`` to keep its squares in range, scaled back. Refused
        where ``‖ΔW‖_F`` is beyond float64's range (entries near float64's largest):
        neither it nor ``σ₁`` can be held.

        Examples
        --------
        >>> q = Quality(4, 0.75, 0.99, 0.075, 0.07).scaled(-1000)
        >>> q.fro, q.relative_error == 0.075 / 0.75
        (6.999477138774142e-302, True)
        """
        try:
            fro = math.ldexp(self.fro, e)
        except OverflowError:
            raise SvdkitError(
                f"a delta has ‖ΔW‖_F = {self.fro:.6g}·2^{e}, beyond float64's range (its "
                f"largest entry is about 2^{e}): its singular values cannot be held; check "
                "the checkpoints (a diverged fine-tune, a bad conversion)"
            ) from None
        return dataclasses.replace(
            self, fro=fro, error=math.ldexp(self.error, e),
            optimum_lower=math.ldexp(self.optimum_lower, e), floor=math.ldexp(self.floor, e),
        )

    @property
    def rounding(self) -> float:
        """``max(floor, 1e-12 · ‖ΔW‖_F)``: errors and bounds at or below it are rounding."""
        return max(self.floor, 1e-12 * self.fro)

    @property
    def loose(self) -> bool:
        """Whether :attr:`excess` is ``inf`` or above :data:`TIGHTEN_ABOVE` (10 %):
        :func:`factor_delta` then factors again at a tighter ``tol``."""
        excess = self.excess
        return excess is not None and excess > TIGHTEN_ABOVE

    @property
    def excess(self) -> float | None:
        """Upper bound of ``error / optimum − 1``, or ``None``, or ``inf``.

        ``None`` (shown "—", ``null`` in JSON reports) when the error itself is at
        the rounding level, ``error ≤ floor`` (or ≤ 1e-12 of ``‖ΔW‖_F``): the
        approximation is then exact to rounding — the relative error says how
        close — and a percentage of that rounding means nothing (a delta of
        exact rank 4 asked at rank 16).

        ``inf`` (shown "∞", ``"inf"`` in JSON reports) when the error is above
        rounding but the lower bound of the optimum is not: nothing bounds the
        excess — the certified residuals are too large to bound the optimum
        away from 0 (:func:`factor_delta` then tightens ``tol``), or the optimum
        is rounding and the error is not (factors cast to float16).

        Examples
        --------
        >>> Quality(16, 1.0, 1.0, 1e-7, 0.0, 1.2e-5).excess is None
        True
        >>> Quality(8, 1.0, 0.99, 0.0098, 0.0, 1.2e-5).excess
        inf
        >>> round(Quality(8, 1.0, 0.99, 0.011, 0.01, 1.2e-5).excess, 6)
        0.1
        """
        if self.error <= self.rounding:
            return None
        if self.optimum_lower <= self.rounding:
            return math.inf
        return max(0.0, self.error / self.optimum_lower - 1.0)


@dataclass(frozen=True)
class Factored:
    """A truncated SVD ``U Σ Vᴴ`` of one delta, its rank, quality and how it was computed."""

    U: np.ndarray
    s: np.ndarray
    Vh: np.ndarray
    quality: Quality
    method: str
    seconds: float
    #: The residual certificate the triplets meet, relative to σ₁: the ``tol`` asked
    #: for, or the tighter one :func:`factor_delta` went to (:attr:`Quality.loose`).
    tol: float | None = None

    @property
    def rank(self) -> int:
        return int(self.s.size)


#: A delta whose largest entry is within ``2^±SAFE_EXPONENT`` is taken as it is; one
#: beyond is scaled by a power of two first (:func:`pow2_exponent`), so that no sum of
#: squares (``‖ΔW‖_F²``, the energies, the error) underflows or overflows, and no
#: single-precision step loses its squares below float32's range.
SAFE_EXPONENT = 40


def pow2_exponent(a: np.ndarray) -> int:
    """The power of two that brings ``a``'s largest entry to order 1: ``e`` with
    ``2^(e−1) ≤ max |aᵢⱼ| < 2^e`` where that is beyond ``2^±SAFE_EXPONENT``, else 0 —
    also 0 for zeros and non-finite entries (refused elsewhere, by name).

    Scaling by ``2^−e`` is exact (but for entries that become subnormal, below
    ``2^−1021`` of the largest: far below any rounding of the results), and keeps
    every square of float64 sums in range: a float64 delta of entries ~1e-300 had
    ``‖ΔW‖_F² = 0`` (taken for a delta of zeros, rank 0), one of ~1e200 an infinite one.

    Examples
    --------
    >>> pow2_exponent(np.array([[3e-300, -1.0e-299]])), pow2_exponent(np.array([[0.5, 2.0]]))
    (-993, 0)
    """
    if a.size == 0:
        return 0
    top = 0.0
    flat = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    step = max(1, (1 << 22) // max(1, flat.shape[1]))
    with np.errstate(invalid="ignore"):
        for r0 in range(0, flat.shape[0], step):
            block = flat[r0 : r0 + step]
            if np.iscomplexobj(block):
                # |x| of the larger part: within a factor √2 of |x|, enough for a scale
                part = max(float(np.max(np.abs(block.real))), float(np.max(np.abs(block.imag))))
            else:
                part = max(abs(float(np.max(block))), abs(float(np.min(block))))
            top = max(top, part) if not math.isnan(part) else math.nan
            if not math.isfinite(top):
                return 0
    if top == 0.0:
        return 0
    e = math.frexp(top)[1]
    return e if abs(e) > SAFE_EXPONENT else 0


def pow2_scaled(a: np.ndarray, e: int) -> np.ndarray:
    """``a · 2^−e`` in ``a``'s dtype (exact; ``a`` itself for ``e = 0``)."""
    return a if e == 0 else times_power_of_two(a, -e)


def unbounded_norm(a: np.ndarray) -> tuple[float, int] | None:
    """``(f, e)`` with ``‖a‖_F = f · 2^e`` where that norm is beyond float64's range (so
    is ``σ₁``: no singular value of ``a`` can be held), else ``None``.

    For the callers to refuse such a matrix by name, before it is factored (``extract``
    a delta, ``pissa`` a weight): the factoring itself can only say that "a delta" is
    unbounded. Only float64 entries can be (a float32 matrix's norm is below
    ``2^145``); finite entries are assumed (NaN and infinities are refused first).

    Examples
    --------
    >>> a = np.full((4, 4), 1.5e308)
    >>> f, e = unbounded_norm(a)
    >>> e, round(f, 4), unbounded_norm(np.ones((4, 4)))
    (1024, 3.3376, None)
    """
    a = np.asarray(a)
    if a.dtype.itemsize < 8:
        return None
    e = pow2_exponent(a)
    if e < 1000:
        return None
    fro = math.sqrt(frobenius2(pow2_scaled(a, e)))
    try:
        math.ldexp(fro, e)
    except OverflowError:
        return fro, e
    return None


def frobenius2(delta: np.ndarray) -> float:
    """``‖ΔW‖_F²`` in float64: row blocks of at most 4 MiB widened into one buffer,
    each summed by a BLAS dot (4096×11008 float32: 27 ms against 84 ms for
    ``einsum`` on fresh float64 blocks). Exact squares: the error of
    :func:`approximation_error` is a difference of such sums.

    On one BLAS thread: the dot is bound by the copy beside it (4096×11008: 14 against
    20–25 ms on two threads), and NumPy's OpenBLAS threads, once woken, spin for a
    while on the cores that SciPy's LAPACK (a small module's SVD) runs on next: a
    192×576 float32 ``gesdd`` took 17–22 ms after a two-thread dot, 8.3 ms alone.

    The square of the entries as they are: it underflows for a float64 delta of entries
    below ~1e-162 and overflows above ~1e154 — :func:`factor_delta` takes it of the delta
    scaled by a power of two (:func:`pow2_exponent`)."""
    if delta.size == 0:
        return 0.0
    n = delta.shape[1]
    step = max(1, (1 << 19) // n)
    # a complex delta's |x|² (a float64 buffer kept its real part only: a purely
    # imaginary delta was a zero one)
    wide = np.complex128 if np.iscomplexobj(delta) else np.float64
    buf = np.empty((min(step, delta.shape[0]), n), dtype=wide)
    total = 0.0
    with single_blas_thread():
        for r0 in range(0, delta.shape[0], step):
            block = buf[: min(step, delta.shape[0] - r0)]
            np.copyto(block, delta[r0 : r0 + step], casting="unsafe")
            flat = block.reshape(-1)
            total += float(np.vdot(flat, flat).real)
    return total


#: Below this fraction of ``‖ΔW‖_F`` the error is measured by a pass over ``ΔW``:
#: :func:`approximation_error`, a difference of sums, resolves ``√eps · ‖ΔW‖_F``.
_RESOLVED = 1e-6


def residual_norm(delta: np.ndarray, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
    """``‖ΔW − U Σ Vᴴ‖_F`` by a pass over ``ΔW`` in float64 row blocks.

    Scale-safe: a delta whose largest entry is beyond ``2^±SAFE_EXPONENT`` and the
    product are summed scaled by a power of two (:func:`pow2_exponent`), so that the
    squares neither underflow nor overflow (the error of factors of a delta of
    entries ~1e200 was ``inf``).

    Examples
    --------
    >>> d = np.diag([3.0, 2.0, 1e-10])
    >>> U, s, Vh = np.linalg.svd(d)
    >>> float(residual_norm(d, U[:, :2], s[:2], Vh[:2]))
    1e-10
    """
    if delta.size == 0:
        return 0.0
    n = delta.shape[1]
    step = max(1, (1 << 19) // n)
    wide = np.complex128 if np.iscomplexobj(Vh) or np.iscomplexobj(delta) else np.float64
    e = pow2_exponent(delta)
    right = np.ldexp(np.asarray(s, dtype=np.float64), -e)[:, None] * np.asarray(Vh, dtype=wide)
    total = 0.0
    for r0 in range(0, delta.shape[0], step):
        block = pow2_scaled(np.asarray(delta[r0 : r0 + step], dtype=right.dtype), e)
        block = block - np.asarray(U[r0 : r0 + step], dtype=right.dtype) @ right
        total += float(np.vdot(block, block).real)
    return math.ldexp(math.sqrt(total), e)


def approximation_error(s: np.ndarray, rayleigh: np.ndarray, fro2: float) -> float:
    """``‖ΔW − U Σ Vᴴ‖_F`` for orthonormal ``U``, ``V``, with no pass over ``ΔW``.

    ``‖ΔW − U Σ Vᴴ‖_F² = ‖ΔW‖_F² − 2 Σ σᵢ uᵢᴴ ΔW vᵢ + Σ σᵢ²``, where
    ``uᵢᴴ ΔW vᵢ`` (``rayleigh``) was measured by the certificate's product
    ``ΔWᴴ U`` (:attr:`svdkit.lowrank.LowRankSVD.rayleigh`).
    """
    if s.size == 0:
        return math.sqrt(fro2)
    s64 = s.astype(np.float64)
    cross = float(s64 @ np.asarray(rayleigh, dtype=np.float64))
    return math.sqrt(max(0.0, fro2 - 2.0 * cross + float(s64 @ s64)))


def gap_lower_bound(delta: np.ndarray, Vh: np.ndarray, fro2: float) -> float:
    """A lower bound of the best rank-``r`` error ``sqrt(Σ_{i>r} σᵢ²)`` from any ``r`` rows ``Vh``.

    With ``H = ΔWᴴΔW``, ``V`` an orthonormal basis of the rows of ``Vh`` (float64
    QR), ``A = Vᴴ H V``, ``c = ‖ΔW‖_F² − tr A`` (the energy outside ``span V``,
    at least the largest eigenvalue of ``H`` there) and
    ``b = ‖(I − V Vᴴ) H V‖_F``: when ``δ = λ_min(A) − c > 0``,

        ``Σ_{i≤r} σᵢ² ≤ tr A + b² / δ``,  so  ``Σ_{i>r} σᵢ² ≥ c − b² / δ``.

    Proof: any orthonormal ``Y`` (``n × r``) is ``V Y₁ + V⊥ Y₂``; with
    ``s = ‖Y₂‖_F²``, ``tr(YᴴHY) ≤ (tr A − s λ_min(A)) + 2 b √s + s c``, whose
    maximum over ``s ≥ 0`` is ``tr A + b² / δ``; Ky Fan: ``Σ_{i≤r} σᵢ²`` is the
    maximum of ``tr(YᴴHY)``. No assumption on which singular vectors ``Vh``
    approximates, and second order in the residual ``b`` where ``σ̃ᵢ + ρᵢ`` is
    first order: the bound for a rank at a gap of the spectrum, whose tail is
    below what ``tol · σ₁`` resolves. ``0.0`` when there is no such gap
    (``δ ≤ 0``: the rank reaches into a tail). One pass over ``ΔW`` in float64
    row blocks (``4 m n r`` flops).

    Examples
    --------
    >>> d = np.diag([3.0, 2.0, 1e-3])
    >>> Vh = np.array([[1.0, 1e-4, 0.0], [0.0, 1.0, 0.0]])   # near the top 2
    >>> round(gap_lower_bound(d, Vh, float(np.sum(d**2))) / 1e-3, 6)
    1.0
    """
    r = Vh.shape[0]
    if r == 0:
        return math.sqrt(max(0.0, fro2))
    wide = np.complex128 if np.iscomplexobj(Vh) or np.iscomplexobj(delta) else np.float64
    V, _ = np.linalg.qr(np.asarray(Vh, dtype=wide).conj().T)
    gram = np.zeros((r, r), dtype=wide)
    HV = np.zeros_like(V)
    if delta.size == 0:
        return 0.0
    n = delta.shape[1]
    step = max(1, (1 << 19) // n)
    for r0 in range(0, delta.shape[0], step):
        block = np.asarray(delta[r0 : r0 + step], dtype=wide)
        X = block @ V
        gram += X.conj().T @ X
        HV += block.conj().T @ X
    # rounding of the float64 sums ‖ΔW‖_F² and tr A, taken against the bound
    slack = 64 * float(np.finfo(np.float64).eps) * fro2
    outside = fro2 - float(np.trace(gram).real)
    gap = float(np.linalg.eigvalsh(gram)[0]) - (outside + slack)
    if gap <= 0.0:
        return 0.0
    b2 = float(np.linalg.norm(HV - V @ (V.conj().T @ HV)) ** 2)
    return math.sqrt(max(0.0, outside - slack - b2 / gap))


#: A module whose excess is unbounded or bounded only above :data:`TIGHTEN_ABOVE`
#: at ``tol`` (:attr:`Quality.loose`) is factored again at ``tol`` times this, at
#: most :data:`_TIGHTEN_STEPS` times (not below :data:`_TIGHTEST`):
#: ``1e-3 → 1e-6 → 1e-9``.
_TIGHTEN = 1e-3
_TIGHTEN_STEPS = 2
_TIGHTEST = 1e-12


def factor_delta(
    delta: Any,
    rule: RankRule | int,
    *,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int = 0,
    tighten: bool = True,
) -> Factored:
    """The truncated SVD of ``delta`` at the rank ``rule`` chooses, certified to ``tol · σ₁``.

    Parameters
    ----------
    delta : ndarray, shape (m, n)
        ``W_tuned − W_base`` (float32 or float64).
    rule : RankRule or int
        How the rank is chosen; an integer is a fixed rank (``RankRule(rank=r)``).
    tol : float, default 1e-3
        Residual certificate of every triplet, relative to σ₁ (``bench/lora.py``
        measured the excess error over the optimum it gives).
    method : str
        Passed to :func:`svdkit.lowrank.truncated_svd` (``"auto"``: LAPACK for
        tiny modules or large ranks, the Gram matrix for a short side ≤ 256, block
        Krylov otherwise).
    seed : int
        Seed of the random start.
    tighten : bool, default True
        When the excess over the optimum error cannot be bounded at ``tol``, or
        only above 10 % (:attr:`Quality.loose`: the rank reaches into a tail
        that ``tol · σ₁`` does not resolve, and neither ``σ̃ᵢ + ρᵢ`` nor
        :func:`gap_lower_bound` bounds the optimum usefully), factor again at
        ``tol · 1e-3``, then ``tol · 1e-6`` (not below 1e-12), until it is not
        loose; :attr:`Factored.tol` says which ``tol`` the result meets (the
        tightest tried, or the last one met within the iteration limit). The same
        for an ``error`` rule (or ``energy``, with ``ε² = 1 − energy``) whose factors
        miss the bound where the optimum is not
        shown to (:attr:`Quality.optimum_lower` at most the bound), or whose error
        is below :attr:`Quality.floor` (no excess reported) with no lower bound of
        the optimum (a kept triplet with ``ρᵢ ≥ σ̃ᵢ``) when the bound is below the
        floor too: a bound that small needs triplets that ``tol · σ₁`` does not
        resolve.

    Notes
    -----
    A delta whose largest entry is beyond ``2^±SAFE_EXPONENT`` is factored scaled by a
    power of two (:func:`pow2_exponent`; exact), and its values and errors scaled back:
    the ranks, relative errors and energies are those of the delta scaled to 1 (a float64
    delta of entries ~1e-300 had ``‖ΔW‖_F² = 0``, rank 0; one of ~1e200 a NaN error).

    An ``error`` rule ``ε`` gives the smallest rank whose factors meet
    ``‖ΔW − U Σ Vᴴ‖_F ≤ ε ‖ΔW‖_F``, down to bounds far below ``√eps``: the rank is
    chosen on the energy left out, ``ε² ‖ΔW‖_F²`` (:meth:`RankRule.select`, told
    whether the computed values are the whole spectrum), and where that is within
    the rounding of the energies (``64 eps · ‖ΔW‖_F²``, ``ε ≲ 1.2e-7``) settled on
    the error of the factors measured by a pass over ``ΔW``
    (:meth:`RankRule.settle`), as are the ranks below it that the computed values,
    each known to its residual only, cannot rule out (float32 LAPACK values: ``--error
    0.01`` took 107–108 for 106 on a float32 delta whose rank reaches a floor).
    (Factoring again at a tighter ``tol`` wherever rank − 1 is within the residuals of
    meeting the rule, as the torch backend does for its loose Ritz values, was measured
    and left out here: 2048×2048 at ``--error 0.01`` took 9.0 s instead of 3.5 s, for
    ranks that are the smallest the stored factors meet already.) ``error=0``,
    ``energy=1`` and a fixed rank of ``min(m, n)`` factor a float32 delta in float64
    (:func:`_widened`), the first two also under a ``max_rank`` below ``min(m, n)``:
    their rank is then the numerical rank where that is below the cap (values at the
    rounding level ``min(m, n) · eps · σ₁`` are zeros, :meth:`RankRule.select`), never
    the cap.

    Examples
    --------
    A rank-8 delta with a tail of 0.1 % of ``‖ΔW‖_F``, below what ``tol = 1e-3``
    resolves, taken at rank 12 (into the tail): no bound at ``tol = 1e-3``, one of
    less than 0.1 % at ``tol = 1e-6`` (the fit itself gets better: 1.5 % over the
    optimum at ``1e-3``, 3e-7 at ``1e-6``).

    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((384, 8)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((384, 8)))
    >>> d = (U * 0.7 ** np.arange(8)) @ V.T
    >>> tail = rng.standard_normal((384, 384))
    >>> d += 1e-3 * np.linalg.norm(d) / np.linalg.norm(tail) * tail
    >>> f = factor_delta(d, 12)
    >>> f.tol, f.quality.excess < 1e-3
    (1e-06, True)
    >>> factor_delta(d, 12, tighten=False).quality.excess
    inf
    """
    import time

    from svdkit.errors import ConvergenceError

    started = time.perf_counter()
    rule = as_rank_rule(rule)
    delta = np.asarray(delta)
    if delta.ndim != 2:
        raise SvdkitError(f"a LoRA delta must be 2-D; got shape {delta.shape}")
    # the delta scaled by 2^-e (exact) where its squares would leave float64's range
    # (or a float32 step's): every sum of squares below is of order 1, and the values
    # and the errors are scaled back at the end (ranks and ratios do not change)
    e = pow2_exponent(delta)
    delta = pow2_scaled(delta, e)
    fro2 = frobenius2(delta)
    p = min(delta.shape)
    cap = rule.cap(p)
    if fro2 == 0.0 or cap == 0:
        fro = math.sqrt(fro2)
        empty = Quality(0, fro, 1.0, fro, fro).scaled(e)
        return Factored(
            np.zeros((delta.shape[0], 0), delta.dtype),
            np.zeros(0, delta.dtype),
            np.zeros((0, delta.shape[1]), delta.dtype),
            empty,
            "none",
            time.perf_counter() - started,
            tol,
        )
    found = _factor_at(delta, rule, cap, fro2, tol=tol, method=method, seed=seed)
    at = tol
    for _ in range(_TIGHTEN_STEPS if tighten else 0):
        if not wants_tighter_tol(found[3], rule) or at <= _TIGHTEST:
            break
        at = max(at * _TIGHTEN, _TIGHTEST)
        try:
            found = _factor_at(delta, rule, cap, fro2, tol=at, method=method, seed=seed)
        except ConvergenceError:  # not certified at the tighter tol: keep the last result
            at = found[5]
            break
    U, s, Vh, quality, how, at = found
    if e:
        quality = quality.scaled(e)  # (refused where ‖ΔW‖_F is beyond float64's range)
        values = np.ldexp(s.astype(np.float64), e)
        # σ beyond float32's range (a float32 delta of entries near it): float64 values
        with np.errstate(over="ignore"):
            fits = np.all(np.isfinite(values.astype(s.dtype)))
        s = values.astype(s.dtype) if fits else values
    return Factored(U, s, Vh, quality, how, time.perf_counter() - started, at)


def wants_tighter_tol(quality: Quality, rule: RankRule) -> bool:
    """Whether :func:`factor_delta` factors a result again at a tighter ``tol`` (and the
    stacked path hands a module back to it, :mod:`svdkit.lora.batched`).

    When :attr:`Quality.loose`, and for an ``error`` bound ``ε`` (or an ``energy``
    fraction, the same rule with ``ε² = 1 − energy``: float32 factors of an exactly
    rank-6 float32 delta missed ``energy=1 − 1e-14`` at rank 6 and took the cap, 16) —
    the smallest rank whose factors meet it, which triplets certified to ``tol · σ₁``
    may not resolve — when
    the factors miss the bound where the optimum is not shown to
    (:attr:`Quality.optimum_lower` at most the bound), or when the error is below the
    noise floor (no excess is reported, so ``loose`` says nothing), the kept triplets
    leave the optimum's lower bound void (some ``ρᵢ ≥ σ̃ᵢ``: the values decided on
    are unresolved) and the bound is below the floor too (an error at the floor meets
    a larger bound with room to spare: an exact rank-8 delta at ``--error 1e-2`` was
    factored three times).

    Examples
    --------
    >>> rule = RankRule(error=1e-7, max_rank=60)
    >>> wants_tighter_tol(Quality(56, 1.0, 1.0, 1.01e-7, 9.9e-8, 1.5e-6), rule)
    True
    >>> wants_tighter_tol(Quality(60, 1.0, 1.0, 4.3e-8, 3.9e-8, 1.5e-6),
    ...                   RankRule(error=3e-8, max_rank=60))
    False
    >>> wants_tighter_tol(Quality(56, 1.0, 1.0, 1.01e-7, 9.9e-8, 1.5e-6), RankRule(rank=56))
    False
    """
    if quality.loose:
        return True
    bound = rule.rank_tol  # ε, or √(1 − energy): an energy rule is the same promise
    if bound is None or not bound > 0.0:
        return False  # (ε = 0 is the whole spectrum: no tol changes that rank)
    bound *= quality.fro
    return quality.error > bound >= quality.optimum_lower or (
        quality.optimum_lower <= 1e-12 * quality.fro < quality.error <= quality.floor
        and bound <= quality.floor
    )


def _factor_at(
    delta: np.ndarray, rule: RankRule, cap: int, fro2: float, *, tol: float, method: str,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Quality, str, float]:
    """One certified truncated SVD at ``tol``: ``(U, s, Vh, quality, method, tol)``."""
    from svdkit.lowrank import truncated_svd
    from svdkit.lowrank.api import MIN_TOL

    p = min(delta.shape)
    tol_rank = rule.rank_tol
    # below truncated_svd's least tol (1e-14: error rules of ε < 1e-14), as for ε = 0
    if tol_rank is None or tol_rank < MIN_TOL or cap < p:
        # fixed rank, energy 1 / error 0 (full rank), or a cap: `cap` triplets, then the rule
        r = truncated_svd(_widened(delta, rule, cap), cap, tol=tol, method=method, seed=seed)
    else:
        r = truncated_svd(
            delta,
            None,
            tol=tol,
            method=method,
            seed=seed,
            rank_tol=tol_rank,
            rank_norm="energy",
        )
    # r.s is the whole spectrum only when all p values were computed: else the energy
    # past it is real, not rounding (RankRule.select)
    complete = r.s.size >= p
    # a whole spectrum holds all the energy: its values' own sum is the total they are
    # measured against (float32 LAPACK values summed 8e-7 short of ‖ΔW‖_F², which
    # --energy 0.999999 took for energy left out: rank 384 for 382)
    k = rule.select(r.s, float(np.sum(np.square(r.s, dtype=np.float64))) if complete else fro2,
                    complete=complete, size=p)

    @functools.cache
    def measure(j: int) -> float:
        err = approximation_error(r.s[:j], r.rayleigh[:j], fro2)
        if err < _RESOLVED * math.sqrt(fro2):  # the difference of sums cannot tell
            err = residual_norm(delta, r.U[:, :j], r.s[:j], r.Vh[:j])
        return err

    # an error bound below the rounding of the energies, or values known to their
    # residuals only (float32 LAPACK's, 1e-7 σ₁): the measured error decides
    residuals = np.maximum(r.residuals_right, r.residuals_left).astype(np.float64)
    k, err = rule.settle(r.s, fro2, k, measure, complete=complete, rho=residuals, size=p)
    U, s, Vh = r.U[:, :k], r.s[:k], r.Vh[:k]
    rho = residuals[:k]
    quality = Quality(
        rank=k,
        fro=math.sqrt(fro2),
        energy_kept=kept_energy(err, fro2),
        error=err,
        optimum_lower=first_order_lower(s, rho, fro2),
        floor=noise_floor(math.sqrt(fro2), delta.dtype),
    )
    return U, s, Vh, sharpen(quality, delta, s, rho, Vh, fro2), r.method, tol


def rank_decided(
    rule: RankRule,
    s: np.ndarray,
    fro2: float,
    k: int,
    measure: Callable[[int], float],
    rho: np.ndarray,
    *,
    complete: bool,
) -> bool:
    """Whether a tighter ``tol`` has nothing to add to the rank ``k`` chosen: it is shown
    the smallest (:meth:`RankRule.decided`), or the residuals ``rho`` of the values are
    already below ``_TIGHTEST · σ₁`` (a double-precision dense SVD's: no certificate
    gets them smaller). The torch backend factors again at a tighter ``tol`` where it
    is false (its float32 Ritz values at ``tol = 1e-2``: ``energy=0.9`` took 100 for
    97)."""
    if rule.decided(s, fro2, k, measure, rho=rho, complete=complete):
        return True
    top = float(s[0]) if np.size(s) else 0.0
    return bool(np.max(np.asarray(rho, dtype=np.float64)[:k]) <= _TIGHTEST * top)


def kept_energy(error: float, fro2: float) -> float:
    """The energy the factors keep, ``1 − error² / ‖ΔW‖_F²`` (their measured error).

    For Rayleigh quotients ``σᵢ = uᵢᴴ ΔW vᵢ`` of orthonormal vectors it is
    ``Σ σᵢ² / ‖ΔW‖_F²``; for values that are not (the torch backend's float32 Ritz
    values at ``tol = 1e-2`` were 0.2 % of ``‖ΔW‖_F²`` off) it is the energy of the
    factors returned all the same, and ``error = √(1 − energy kept) · ‖ΔW‖_F`` holds
    as for the exact SVD (Eckart–Young).

    Examples
    --------
    >>> kept_energy(0.1, 1.0)
    0.99
    """
    if not fro2 > 0.0:
        return 1.0
    return min(1.0, max(0.0, 1.0 - error * error / fro2))


def _widened(delta: np.ndarray, rule: RankRule, cap: int) -> np.ndarray:
    """``delta`` in double precision where the rule asks for more than a single-precision
    SVD of it can give, else ``delta`` itself.

    A float32 delta's ``cap`` triplets are computed in float32 by LAPACK where ``tol``
    allows (:func:`~svdkit.lowrank.krylov.single_precision_allowed`), whose factors are
    exact to about ``1e-6 · ‖ΔW‖_F`` only. That is not what a rule asking for the whole
    spectrum means (``error=0``, ``energy=1``, ``rank=p``: a 384×384 power-law delta
    came out at 7.3e-7 where ``error=1e-8`` at the same rank, by the rank-by-tolerance
    route in float64, gave 7.4e-15), and nothing else flags it: the optimum is 0, so the
    error is within the delta's noise floor and no excess is reported. The whole
    spectrum is a dense SVD, which takes a double-precision copy anyway. (A rank below
    ``p`` whose float32 factors are loose against the optimum is factored again at a
    tighter ``tol``, in float64: :func:`factor_delta`.)

    The same under a cap below ``p`` for a rule that leaves nothing out (``energy=1``,
    ``error=0``, ``error < 1e-14``): its rank is the numerical rank where that is below
    the cap, which single-precision values (rounding at ``1e-7 · σ₁``, not ``eps₆₄``) do
    not show — an exactly rank-4 float32 delta took ``max_rank=8`` for rank 8, where
    without the cap it is 4 (:meth:`RankRule.select`).
    """
    from svdkit.lowrank.api import MIN_TOL

    single = {np.dtype(np.float32): np.float64, np.dtype(np.complex64): np.complex128}
    wide = single.get(delta.dtype)
    tol_rank = rule.rank_tol
    whole = cap >= min(delta.shape) and tol_rank is None  # a fixed rank of p
    if wide is not None and (whole or (tol_rank is not None and tol_rank < MIN_TOL)):
        return delta.astype(wide)
    return delta


def first_order_lower(s: np.ndarray, rho: np.ndarray, fro2: float) -> float:
    """``sqrt(‖ΔW‖_F² − Σ (σ̃ᵢ + ρᵢ)²)``, the lower bound of the optimum error from
    ``σᵢ ≤ σ̃ᵢ + ρᵢ`` — ``0.0`` when some kept triplet has ``ρᵢ ≥ σ̃ᵢ``.

    The bound takes the certified triplets to be the leading ones. A triplet whose
    residual is not below its own singular value is not resolved by the certificate
    (its interval ``[σ̃ᵢ − ρᵢ, σ̃ᵢ + ρᵢ]`` holds 0): a rank reaching into a tail below
    ``tol · σ₁``, whose Ritz values can lie far below the singular values they stand
    for (measured: ``σ_32`` 4.4× above ``σ̃_32`` on a 384×384 delta with a tail of
    0.1 % at ``tol = 1e-3``, and a "bound" 1.7 % above the true optimum), so it is
    void there.

    Examples
    --------
    >>> round(first_order_lower(np.array([3.0, 2.0]), np.array([0.0, 0.0]), 14.0), 6)
    1.0
    >>> first_order_lower(np.array([3.0, 0.1]), np.array([0.0, 0.1]), 10.0)
    0.0
    """
    s64 = np.asarray(s, dtype=np.float64)
    rho = np.asarray(rho, dtype=np.float64)
    if np.any(rho >= s64):
        return 0.0
    return math.sqrt(max(0.0, fro2 - float(np.sum((s64 + rho) ** 2))))


#: :func:`sharpen` tries :func:`gap_lower_bound` (one pass over ``ΔW``) when the
#: first-order bound leaves the excess unbounded or above this.
_SHARPEN_ABOVE = 1e-3


def sharpen(
    quality: Quality,
    delta: np.ndarray | None,
    s: np.ndarray,
    rho: np.ndarray,
    Vh: np.ndarray,
    fro2: float,
    gap_bound: Callable[[], float] | None = None,
) -> Quality:
    """``quality`` with the larger of its ``optimum_lower`` and :func:`gap_lower_bound`,
    where the first gives no excess bound (``inf``) or one above 0.1 % and the
    certified triplets ``s`` (residuals ``rho``) leave room for a gap; unchanged
    otherwise (a pass over ``ΔW`` saved). ``gap_bound``, when given, computes the
    bound instead of :func:`gap_lower_bound` on ``delta`` (the torch backend's, on its device).

    No gap is possible when ``(σ̃ᵣ + ρᵣ)² ≤ ‖ΔW‖_F² − Σ (σ̃ᵢ + ρᵢ)²``: the left
    side is at least ``‖ΔW vᵣ‖² ≥ λ_min(A)``, the right side at most the energy
    outside ``span V`` (:func:`gap_lower_bound`'s ``c``), so ``δ ≤ 0`` — the pass
    is skipped (a rank reaching into a tail).
    """
    excess = quality.excess
    if excess is None or excess <= _SHARPEN_ABOVE or s.size == 0:
        return quality
    s64 = np.asarray(s, dtype=np.float64)
    up = s64 + np.asarray(rho, dtype=np.float64)
    if up[-1] ** 2 <= fro2 - float(np.sum(up**2)):
        return quality
    lower = gap_bound() if gap_bound is not None else gap_lower_bound(delta, Vh, fro2)
    if lower <= quality.optimum_lower:
        return quality
    return dataclasses.replace(quality, optimum_lower=lower)


def split_factors(
    U: np.ndarray, s: np.ndarray, Vh: np.ndarray, split: str = "sqrt", scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(B, A)`` with ``scale · B @ A = U diag(s) Vh``; see the module docs for ``split``."""
    if split not in SPLITS:
        raise SvdkitError(
            f"{arg('split')} must be one of {', '.join(SPLITS)}; got {got(split)}", param="split"
        )
    if not scale > 0:
        raise SvdkitError(f"the LoRA scale must be positive; got {scale!r}")
    if split == "sqrt":
        root = np.sqrt(s / scale)
        return U * root, root[:, None] * Vh
    if split == "B":
        return U * (s / scale), Vh.copy()
    return U.copy(), (s / scale)[:, None] * Vh
