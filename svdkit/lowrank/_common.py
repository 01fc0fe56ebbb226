"""What every method shares: the stopping target, the progress hook, the run record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from svdkit._naming import PYTHON, arg, got, spell, spelled_as
from svdkit.errors import ShapeError
from svdkit.lowrank.rank import ENERGY_SLACK, energy_tail_rank

__all__ = [
    "API_OPTIONS",
    "CLI_OPTIONS",
    "ENERGY_SLACK",
    "Progress",
    "Run",
    "Target",
    "advise",
    "advised",
    "check_optional_int",
    "check_positive_int",
    "reworded",
]

#: ``progress(step, passes, converged, wanted, worst)``: ``worst`` is the largest
#: (residual / allowed residual) among the wanted triplets (≤ 1 means done).
Progress = Callable[[int, int, int, int, float], None]


#: Python's spelling of the options an error advises on (:data:`svdkit._naming.PYTHON`).
API_OPTIONS: Mapping[str, str] = PYTHON

#: The same options as ``svdkit svd`` spells them (what :func:`svdkit._naming.speaks_flags`
#: finds in the command's own options; kept for callers that spell them by hand).
CLI_OPTIONS: Mapping[str, str] = MappingProxyType({
    "k": "-k",
    "tol": "--tol",
    "max_iter": "--max-iter",
    "rank_tol": "--rank-tol",
    "method": "--method",
})

E = TypeVar("E", bound=Exception)


def advise(template: str, options: Mapping[str, str] | None = None) -> str:
    """``template`` with its options spelled as a caller names them
    (:func:`svdkit._naming.spell`): ``{max_iter}``, ``{method:lapack}``; by default as
    the running caller does (Python, or the command being run).

    Examples
    --------
    >>> advise("Raise {max_iter}, or use {method:lapack}")
    "Raise max_iter, or use method='lapack'"
    >>> advise("Raise {max_iter}, or use {method:lapack}", CLI_OPTIONS)
    'Raise --max-iter, or use --method lapack'
    """
    if options is None:
        return spell(template)
    with spelled_as(options):
        return spell(template)


def advised(kind: type[E], finding: str, template: str) -> E:
    """An error ``kind`` saying ``finding`` then the advice ``template`` (spelled as the
    running caller names the options: :func:`advise`), both kept on it (``finding``,
    ``advice``) so that another caller (:func:`svdkit.svd`) can say it in its own words
    (:func:`reworded`)."""
    err = kind(f"{finding}{advise(template)}")
    err.finding = finding  # type: ignore[attr-defined]
    err.advice = template  # type: ignore[attr-defined]
    return err


def reworded(err: E, options: Mapping[str, str], lead: str = "") -> E:
    """``err`` again, its advice spelled with ``options`` (after ``lead``); its other
    attributes (``result``, …) kept. An error without advice is returned as it is."""
    template = getattr(err, "advice", None)
    if template is None:
        return err
    advice = advise(template, options)
    if lead:  # (the advice goes on the lead's sentence)
        advice = advice[:1].lower() + advice[1:]
    new = type(err)(f"{err.finding}{lead}{advice}")  # type: ignore[attr-defined]
    new.__dict__.update(err.__dict__)
    return new


@dataclass
class Target:
    """How many triplets are wanted: a fixed ``k``, or the rank for a tolerance.

    Attributes
    ----------
    k : int
        Triplets wanted (the current guess in rank mode).
    limit : int
        How many leading values a method looks at. In rank mode it is given as the
        most triplets the result may have (then kept in ``cap``); for the spectral
        rule below ``full`` it becomes ``cap + 1``: ``k = cap`` is right when
        ``σ_{cap+1} ≤ ε σ₁``, which only the ``(cap + 1)``-th value tells. Once the
        rank is known to exceed ``cap`` it is set back to ``cap``.
    rank_tol : float or None
        Rank mode: the relative error ``ε`` the rank-``k`` approximation must meet.
    rank_norm : {"spectral", "energy"}
        ``σ_{k+1} ≤ ε σ₁`` (spectral) or ``sqrt(Σ_{i>k} σᵢ²) ≤ ε ‖A‖_F`` (energy); both
        count a tie as met, to ``ENERGY_SLACK`` (64 eps) relative rounding.
    fro : float or None
        ``‖c A‖_F`` (energy mode), ``c = fro_scale``.
    fro_scale : float
        The power of two ``c`` that ``fro`` was measured at: ``‖A‖_F`` itself may
        exceed the float64 maximum (:func:`svdkit.lowrank.operators.scaled_fro_norm`);
        the target decides on values of ``c A``.
    limited : bool
        Rank mode stopped at ``cap`` without meeting ``rank_tol`` (``cap < full``).
    full : int
        ``min(m, n)``: at that rank the error is zero (``0``: unknown, taken as
        ``limit``).
    cap : int or None
        Rank mode: the most triplets the result may have (set from ``limit``).
    """

    k: int
    limit: int
    rank_tol: float | None = None
    rank_norm: str = "spectral"
    fro: float | None = None
    limited: bool = False
    full: int = 0
    cap: int | None = None
    fro_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.full <= 0:
            self.full = self.limit
        if self.by_rank and self.cap is None:
            self.cap = self.limit
            if self.rank_norm == "spectral" and self.cap < self.full:
                self.limit = self.cap + 1  # σ_{cap+1} decides whether cap will do

    @property
    def by_rank(self) -> bool:
        return self.rank_tol is not None

    def decide(self, sigma: np.ndarray, converged: int) -> tuple[bool, int]:
        """``(done, k)`` from descending ``sigma`` whose first ``converged`` are certified.

        In rank mode ``k`` is the rank found when done (at most ``cap``), else the
        next guess. The rank is decided on certified values only: ``k = cap`` needs
        ``σ_{cap+1}`` certified (spectral), or ``σ₁ … σ_cap`` (energy).
        """
        if not self.by_rank:
            return converged >= self.k, self.k
        cap = int(self.cap)  # type: ignore[arg-type]
        if self.limited:  # the rank is known to exceed cap: cap triplets, certified
            return converged >= cap, cap
        good = np.asarray(sigma[:converged], dtype=float)
        found = self._smallest(good)
        if found is not None and found <= cap:
            return True, found
        # the rule is not met up to cap: known when σ_{cap+1} (spectral), or
        # σ₁ … σ_cap (energy) are among the certified values
        need = cap + (1 if self.rank_norm == "spectral" and cap < self.full else 0)
        if found is not None or good.size >= need:
            self.limited = cap < self.full
            if self.limited:
                self.limit = cap  # nothing beyond cap is wanted now
            return True, cap
        return False, min(cap, max(2 * self.k, good.size + 1))

    def probe(self, sigma: np.ndarray, converged: int) -> tuple[bool, int]:
        """:meth:`decide` on a copy: this target (``limit``, ``limited``) stays as it is."""
        return replace(self).decide(sigma, converged)

    def _smallest(self, good: np.ndarray) -> int | None:
        """The smallest ``k ≤ good.size`` whose error the certified ``good`` show ``≤ ε``."""
        eps = float(self.rank_tol)  # type: ignore[arg-type]
        c = good.size
        if self.rank_norm == "spectral":
            if c and good[0] == 0:
                return 0
            # σ_{k+1} ≤ ε σ₁ with the energy rule's slack: a tie at the threshold counts
            # as met also where the computed values round across it (diag(1, .5, .25) at
            # ε = .5: σ₂ = 0.5 + 1 ulp from one method, 0.5 from another, were 2 and 1);
            # _rank_undecided's note says when a value lies that close
            below = np.flatnonzero(good <= eps * (good[0] if c else 0.0) * (1.0 + ENERGY_SLACK))
            if below.size:
                return int(below[0])
            return c if c >= self.full else None  # every value seen: full rank, no error
        # the energy rule (svdkit.lowrank.rank.energy_tail_rank, shared with svdkit.lora):
        # the energy past the computed values is known to about eps·‖A‖_F² (the rounding
        # of ‖A‖_F² and of Σ σᵢ²): with every value computed, a remainder at that level
        # is rounding; else the values not computed may hold up to that much
        # (sqrt(eps) in the norm: a smaller ε waits for every value)
        fro2 = float(self.fro) ** 2  # type: ignore[arg-type]
        return energy_tail_rank(good, fro2, eps**2, complete=c >= self.full)


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
        raise ShapeError(
            f"{arg(name)} must be an integer ≥ {minimum}; got {got(value)}", param=name
        )
    return int(value)


def check_optional_int(value: Any, name: str, minimum: int = 1) -> int | None:
    """None, or an integer ≥ ``minimum`` (:func:`check_positive_int`).

    The one check of the optional integer arguments (``memory_limit``, ``threads``,
    ``block``, …) that :func:`svdkit.lowrank.truncated_svd` and
    :func:`svdkit.lowrank.as_operator` share.

    Examples
    --------
    >>> check_optional_int(None, "threads") is None, check_optional_int(2, "threads")
    (True, 2)
    >>> check_optional_int(-1, "threads")
    Traceback (most recent call last):
      ...
    svdkit.errors.ShapeError: threads must be an integer ≥ 1; got -1
    """
    return None if value is None else check_positive_int(value, name, minimum)
