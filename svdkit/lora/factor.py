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
>>> from svdkit.lora.rank import RankRule
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

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit.errors import SvdkitError
from svdkit.lora.rank import RankRule

__all__ = ["SPLITS", "Factored", "Quality", "factor_delta", "noise_floor", "split_factors"]

SPLITS = ("sqrt", "B", "A")

#: :attr:`Quality.excess` is reported only above this many rounding units of
#: ``‖ΔW‖_F`` (:func:`noise_floor`): the rounding then moves ``error / optimum`` by
#: at most about ``1 / (2 · 100²)`` = 0.005 %.
_ROUNDING_UNITS = 100.0


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
        ``Σ_{i≤r} σᵢ² / ‖ΔW‖_F²`` from the certified singular values.
    error : float
        ``‖ΔW − U Σ Vᴴ‖_F``, from ``‖ΔW‖_F²`` (summed over the entries) and the
        measured ``uᵢᴴ ΔW vᵢ`` (see :func:`approximation_error`), not estimated.
    optimum_lower : float
        A lower bound of the best rank-``r`` error ``sqrt(Σ_{i>r} σᵢ²)``: from
        ``σᵢ ≤ σ̃ᵢ + ρᵢ`` (each computed ``σ̃ᵢ`` is within its residual ``ρᵢ`` of a
        singular value; assumes the certified triplets are the leading ones,
        which LAPACK guarantees and Krylov's convergence test makes the case).
    floor : float, default 0.0
        :func:`noise_floor` of the computation: an ``optimum_lower`` at or below
        it is rounding, and :attr:`excess` is then ``None``.
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

    @property
    def excess(self) -> float | None:
        """Upper bound of ``error / optimum − 1``.

        ``None`` (shown "—", ``null`` in JSON reports) when the optimum's lower
        bound is at the rounding level, ``optimum_lower ≤ floor`` (or ≤ 1e-12 of
        ``‖ΔW‖_F``): the approximation is then exact to rounding — the relative
        error says how close — and a percentage of that rounding means nothing.
        """
        if self.optimum_lower <= max(self.floor, 1e-12 * self.fro):
            return None
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

    @property
    def rank(self) -> int:
        return int(self.s.size)


def frobenius2(delta: np.ndarray) -> float:
    """``‖ΔW‖_F²`` in float64: row blocks of at most 4 MiB widened into one buffer,
    each summed by a BLAS dot (4096×11008 float32: 27 ms against 84 ms for
    ``einsum`` on fresh float64 blocks). Exact squares: the error of
    :func:`approximation_error` is a difference of such sums."""
    n = max(1, delta.shape[1])
    step = max(1, (1 << 19) // n)
    buf = np.empty((min(step, delta.shape[0]), n), dtype=np.float64)
    total = 0.0
    for r0 in range(0, delta.shape[0], step):
        block = buf[: min(step, delta.shape[0] - r0)]
        np.copyto(block, delta[r0 : r0 + step], casting="unsafe")
        flat = block.reshape(-1)
        total += float(np.dot(flat, flat))
    return total


#: Below this fraction of ``‖ΔW‖_F`` the error is measured by a pass over ``ΔW``:
#: :func:`approximation_error`, a difference of sums, resolves ``√eps · ‖ΔW‖_F``.
_RESOLVED = 1e-6


def residual_norm(delta: np.ndarray, U: np.ndarray, s: np.ndarray, Vh: np.ndarray) -> float:
    """``‖ΔW − U Σ Vᴴ‖_F`` by a pass over ``ΔW`` in float64 row blocks.

    Examples
    --------
    >>> d = np.diag([3.0, 2.0, 1e-10])
    >>> U, s, Vh = np.linalg.svd(d)
    >>> float(residual_norm(d, U[:, :2], s[:2], Vh[:2]))
    1e-10
    """
    n = max(1, delta.shape[1])
    step = max(1, (1 << 19) // n)
    wide = np.complex128 if np.iscomplexobj(Vh) or np.iscomplexobj(delta) else np.float64
    right = np.asarray(s, dtype=np.float64)[:, None] * np.asarray(Vh, dtype=wide)
    total = 0.0
    for r0 in range(0, delta.shape[0], step):
        block = np.asarray(delta[r0 : r0 + step], dtype=right.dtype)
        block = block - np.asarray(U[r0 : r0 + step], dtype=right.dtype) @ right
        total += float(np.vdot(block, block).real)
    return math.sqrt(total)


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


def factor_delta(
    delta: Any,
    rule: RankRule | int,
    *,
    tol: float = 1e-3,
    method: str = "auto",
    seed: int = 0,
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
    """
    import time

    from svdkit.lowrank import truncated_svd

    started = time.perf_counter()
    if isinstance(rule, numbers.Integral) and not isinstance(rule, bool):
        rule = RankRule(rank=int(rule))
    if not isinstance(rule, RankRule):
        raise SvdkitError(
            f"rule must be a RankRule or an integer rank; got {type(rule).__name__}"
        )
    delta = np.asarray(delta)
    if delta.ndim != 2:
        raise SvdkitError(f"a LoRA delta must be 2-D; got shape {delta.shape}")
    fro2 = frobenius2(delta)
    p = min(delta.shape)
    cap = rule.cap(p)
    if fro2 == 0.0 or cap == 0:
        empty = Quality(0, math.sqrt(fro2), 1.0, math.sqrt(fro2), math.sqrt(fro2))
        return Factored(
            np.zeros((delta.shape[0], 0), delta.dtype),
            np.zeros(0, delta.dtype),
            np.zeros((0, delta.shape[1]), delta.dtype),
            empty,
            "none",
            time.perf_counter() - started,
        )
    tol_rank = rule.rank_tol
    if tol_rank is None or tol_rank <= 0.0 or cap < p:
        # fixed rank, energy 1 / error 0 (full rank), or a cap: `cap` triplets, then the rule
        r = truncated_svd(delta, cap, tol=tol, method=method, seed=seed)
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
    k = rule.select(r.s, fro2)
    U, s, Vh = r.U[:, :k], r.s[:k], r.Vh[:k]
    rho = np.maximum(r.residuals_right[:k], r.residuals_left[:k]).astype(np.float64)
    err = approximation_error(s, r.rayleigh[:k], fro2)
    if err < _RESOLVED * math.sqrt(fro2):
        err = residual_norm(delta, U, s, Vh)  # the difference of sums cannot tell
    upper_kept = float(np.sum((s.astype(np.float64) + rho) ** 2))
    quality = Quality(
        rank=k,
        fro=math.sqrt(fro2),
        energy_kept=float(np.sum(s.astype(np.float64) ** 2)) / fro2,
        error=err,
        optimum_lower=math.sqrt(max(0.0, fro2 - upper_kept)),
        floor=noise_floor(math.sqrt(fro2), delta.dtype),
    )
    return Factored(U, s, Vh, quality, r.method, time.perf_counter() - started)


def split_factors(
    U: np.ndarray, s: np.ndarray, Vh: np.ndarray, split: str = "sqrt", scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(B, A)`` with ``scale · B @ A = U diag(s) Vh``; see the module docs for ``split``."""
    if split not in SPLITS:
        raise SvdkitError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if not scale > 0:
        raise SvdkitError(f"the LoRA scale must be positive; got {scale!r}")
    if split == "sqrt":
        root = np.sqrt(s / scale)
        return U * root, root[:, None] * Vh
    if split == "B":
        return U * (s / scale), Vh.copy()
    return U.copy(), (s / scale)[:, None] * Vh
