"""Rank per module: a fixed rank, an energy fraction, or a relative error bound.

Energy is counted over the **whole** spectrum: ``‖ΔW‖_F² = Σᵢ σᵢ²`` is known
exactly from the entries, so "keep 90 % of the energy" means
``Σ_{i≤k} σᵢ² ≥ 0.9 ‖ΔW‖_F²`` — not 90 % of the part that happened to be
computed. A relative error bound ``ε`` is the same rule with
``1 − ε²``: by Eckart–Young, ``‖ΔW − ΔW_k‖_F / ‖ΔW‖_F = sqrt(1 − energy kept)``.

The smallest ``k`` that meets the rule is returned; ties are decided with a
slack of a few rounding errors (``Σσᵢ² = 0.5 · total`` exactly counts as met),
so a spectrum ``[1, 1, 1, 1]`` at energy ``0.5`` gives ``k = 2``, not 3.

Examples
--------
>>> import numpy as np
>>> s = np.array([4.0, 2.0, 1.0, 1.0])        # energies 16, 4, 1, 1 of 22
>>> RankRule(energy=0.9).select(s, float(np.sum(s**2)))
2
>>> RankRule(error=0.25).select(s, float(np.sum(s**2)))   # needs energy ≥ 0.9375
3
>>> RankRule(rank=3).select(s, 22.0)
3
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from svdkit.errors import ShapeError, SvdkitError

__all__ = ["RankRule", "energy_rank"]

#: Slack on the energy comparison, in units of the total energy's rounding.
_SLACK = 64 * float(np.finfo(np.float64).eps)


def energy_rank(s: np.ndarray, total: float, fraction: float) -> int | None:
    """Smallest ``k`` with ``Σ_{i≤k} sᵢ² ≥ fraction · total``; ``None`` if ``s`` is too short."""
    if total <= 0:
        return 0
    need = fraction * total * (1.0 - _SLACK)
    cum = np.cumsum(np.asarray(s, dtype=np.float64) ** 2)
    hit = np.nonzero(cum >= need)[0]
    if fraction <= 0:
        return 0
    return int(hit[0]) + 1 if hit.size else None


@dataclass(frozen=True)
class RankRule:
    """How the rank of each module is chosen: exactly one of ``rank``, ``energy``, ``error``.

    Attributes
    ----------
    rank : int, optional
        A fixed rank (capped at ``min(m, n)``).
    energy : float, optional
        Fraction of ``‖ΔW‖_F²`` to keep, ``0 < energy ≤ 1``.
    error : float, optional
        Relative Frobenius error bound ``‖ΔW − B A‖_F ≤ error · ‖ΔW‖_F``, ``0 ≤ error < 1``.
    max_rank : int, optional
        A cap on the rank found by ``energy`` / ``error``.
    """

    rank: int | None = None
    energy: float | None = None
    error: float | None = None
    max_rank: int | None = None

    def __post_init__(self) -> None:
        given = [x is not None for x in (self.rank, self.energy, self.error)]
        if sum(given) != 1:
            raise SvdkitError("give exactly one of rank, energy, error")
        if self.rank is not None and (
            isinstance(self.rank, bool)
            or not isinstance(self.rank, numbers.Integral)
            or self.rank < 1
        ):
            raise ShapeError(f"rank must be an integer ≥ 1; got {self.rank!r}")
        if self.energy is not None and not (0 < float(self.energy) <= 1):
            raise SvdkitError(f"energy must be in (0, 1]; got {self.energy!r}")
        if self.error is not None and not (0 <= float(self.error) < 1):
            raise SvdkitError(f"error must be in [0, 1); got {self.error!r}")
        if self.max_rank is not None and (
            not isinstance(self.max_rank, numbers.Integral) or self.max_rank < 1
        ):
            raise ShapeError(f"max_rank must be an integer ≥ 1; got {self.max_rank!r}")

    @property
    def fraction(self) -> float | None:
        """Energy fraction to keep (``error`` → ``1 − error²``), ``None`` for a fixed rank."""
        if self.energy is not None:
            return float(self.energy)
        if self.error is not None:
            return 1.0 - float(self.error) ** 2
        return None

    @property
    def rank_tol(self) -> float | None:
        """The relative Frobenius error the rule allows (``sqrt(1 − energy)``)."""
        f = self.fraction
        return None if f is None else math.sqrt(max(0.0, 1.0 - f))

    def cap(self, p: int) -> int:
        """The most triplets this rule may need for a matrix with ``min(m, n) = p``."""
        if self.rank is not None:
            return min(int(self.rank), p)
        return min(int(self.max_rank), p) if self.max_rank is not None else p

    def select(self, s: np.ndarray, total: float) -> int:
        """The rank for descending singular values ``s`` of a matrix with ``‖·‖_F² = total``.

        ``s`` may be a leading part of the spectrum; if it does not reach the
        energy asked for, its length is returned (the caller widens or caps).
        """
        s = np.asarray(s, dtype=np.float64)
        if self.rank is not None:
            return min(int(self.rank), s.size)
        k = energy_rank(s, total, self.fraction)  # type: ignore[arg-type]
        k = s.size if k is None else k
        if self.max_rank is not None:
            k = min(k, int(self.max_rank))
        return k
