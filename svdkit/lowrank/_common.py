"""What every method shares: the stopping target, the progress hook, the run record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svdkit.errors import ShapeError

__all__ = ["Progress", "Run", "Target"]

#: ``progress(step, passes, converged, wanted, worst)``: ``worst`` is the largest
#: (residual / allowed residual) among the wanted triplets (≤ 1 means done).
Progress = Callable[[int, int, int, int, float], None]


@dataclass
class Target:
    """How many triplets are wanted: a fixed ``k``, or the rank for a tolerance.

    Attributes
    ----------
    k : int
        Triplets wanted (the current guess in rank mode).
    limit : int
        The most there can be (``min(m, n)``).
    rank_tol : float or None
        Rank mode: the relative error ``ε`` the rank-``k`` approximation must meet.
    rank_norm : {"spectral", "energy"}
        ``σ_{k+1} ≤ ε σ₁`` (spectral) or ``sqrt(Σ_{i>k} σᵢ²) ≤ ε ‖A‖_F`` (energy).
    fro : float or None
        ``‖A‖_F`` (energy mode).
    """

    k: int
    limit: int
    rank_tol: float | None = None
    rank_norm: str = "spectral"
    fro: float | None = None
    #: Rank mode stopped at ``limit`` without meeting ``rank_tol`` (limit < min(m, n)).
    limited: bool = False
    #: ``min(m, n)``: at that rank the error is zero.
    full: int = 0

    @property
    def by_rank(self) -> bool:
        return self.rank_tol is not None

    def decide(self, sigma: np.ndarray, converged: int) -> tuple[bool, int]:
        """``(done, k)`` from descending ``sigma`` whose first ``converged`` are certified.

        In rank mode ``k`` is the rank found when done, else the next guess.
        """
        if not self.by_rank:
            return converged >= self.k, self.k
        eps = float(self.rank_tol)  # type: ignore[arg-type]
        good = sigma[:converged]
        found: int | None = None
        if self.rank_norm == "spectral":
            if good.size and good[0] == 0:
                found = 0
            else:
                below = np.flatnonzero(good <= eps * (good[0] if good.size else 0.0))
                if below.size:
                    found = int(below[0])
        else:
            fro2 = float(self.fro) ** 2  # type: ignore[arg-type]
            tail2 = fro2 - np.concatenate([[0.0], np.cumsum(good**2)])
            ok = np.flatnonzero(tail2 <= (eps**2) * fro2)
            if ok.size:
                found = int(ok[0])
        if found is not None and found <= self.limit:
            return True, found
        if (found is not None and found > self.limit) or converged >= self.limit:
            self.limited = self.limit < self.full
            return True, self.limit
        return False, min(self.limit, max(2 * self.k, converged + 1))


@dataclass
class Run:
    """What a method did: steps, passes over ``A``, and notes for the result."""

    method: str
    iterations: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` or a ShapeError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ShapeError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    return int(value)
