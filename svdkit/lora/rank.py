"""Rank per module: a fixed rank, an energy fraction, or a relative error bound.

Energy is counted over the **whole** spectrum: ``‖ΔW‖_F² = Σᵢ σᵢ²`` is known
exactly from the entries, so "keep 90 % of the energy" means
``Σ_{i≤k} σᵢ² ≥ 0.9 ‖ΔW‖_F²`` — not 90 % of the part that happened to be
computed. A relative error bound ``ε`` is the same rule with
``1 − ε²``: by Eckart–Young, ``‖ΔW − ΔW_k‖_F / ‖ΔW‖_F = sqrt(1 − energy kept)``.

The smallest ``k`` that meets the rule is returned. What is compared is the
energy left out, ``Σ_{i>k} σᵢ²`` — summed from the small singular values
themselves, plus whatever ``‖ΔW‖_F²`` holds beyond the computed ones — against
the allowance ``(1 − energy) · total`` or ``ε² · total``: no ``total − Σ_{i≤k}``
cancellation, so an error bound far below ``√eps`` (``1e-9`` on a float64 delta) is
met, not rounded to ``1e-7``. An allowance below what the computed spectrum can
resolve gives the whole computed spectrum; values at the rounding level of σ₁
(``≤ len(s) · eps · σ₁``, a numerical rank's zeros) leave out nothing, so
``energy=1`` on an exactly low-rank float64 delta gives its rank. Ties are
decided with a slack of a few rounding errors of the allowance
(``Σσᵢ² = 0.5 · total`` exactly counts as met), so a spectrum ``[1, 1, 1, 1]``
at energy ``0.5`` gives ``k = 2``, not 3.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from svdkit._naming import arg, kw, spell
from svdkit.errors import SvdkitError
from svdkit.lora._args import check_count, check_fraction
from svdkit.lowrank.rank import ENERGY_SLACK, energy_tail_rank

__all__ = ["RankRule", "as_rank_rule", "energy_rank"]


def energy_rank(
    s: np.ndarray,
    total: float,
    fraction: float,
    *,
    tail: float | None = None,
    complete: bool = True,
    size: int | None = None,
) -> int | None:
    """Smallest ``k`` with ``Σ_{i≤k} sᵢ² ≥ fraction · total``; ``None`` if ``s`` is too short.

    Decided on the energy left out: ``Σ_{i>k} sᵢ² + (total − Σ sᵢ²) ≤ tail · total``
    with ``tail = 1 − fraction`` unless given (an error bound ``ε`` gives
    ``tail = ε²``, which ``1 − fraction`` loses below ``1e-8``). The rule is
    :func:`svdkit.lowrank.rank.energy_tail_rank` (the one ``truncated_svd``'s
    energy rank mode uses), with values at the rounding level of the largest
    (``≤ len(s) · eps · s₁``, a numerical rank's zeros) leaving out nothing.
    ``complete`` says whether ``s`` is the whole spectrum: then a remainder
    ``total − Σ sᵢ²`` at the rounding level of ``total`` (``64 eps``) is none;
    else it is energy past the values given, known to that rounding only, and a
    ``tail`` that the rounding does not resolve (below about ``64 eps``,
    ``ε ≲ 1.2e-7``) gives ``None`` — never a rank that drops real energy as
    rounding. ``fraction <= 0`` (or ``total <= 0``) gives 0; any ``fraction > 0``
    keeps some energy, so at least 1.

    ``size`` is the length of the whole spectrum, ``min(m, n)`` (default ``len(s)``):
    the rounding level is ``size · eps · s₁`` whether all the values or a leading part
    were computed. A leading part whose last value is at that level is the whole
    spectrum to rounding (the values past it are no larger: rounding too), and is
    taken as complete: a cap above a numerical rank (``energy=1, max_rank=8`` on an
    exactly rank-4 float64 delta) gives that rank, never the cap.

    Examples
    --------
    >>> s = 0.5 ** np.arange(60)
    >>> total = float(np.sum(s**2))
    >>> k = energy_rank(s, total, 1.0, tail=1e-18)          # relative error ≤ 1e-9
    >>> bool(np.sqrt(np.sum(s[k:] ** 2) / total) <= 1e-9), k
    (True, 30)
    """
    if total <= 0 or fraction <= 0:
        return 0
    s = np.asarray(s, dtype=np.float64)
    zero = rounding_level(s, size)
    if not complete and s.size and s[-1] <= zero:
        complete = True  # the values not computed are below s[-1]: rounding as well
    k = energy_tail_rank(
        s, total, 1.0 - fraction if tail is None else float(tail), zero=zero, complete=complete
    )
    if k == 0:  # the allowance is the whole total (1 − fraction rounds to 1)
        return 1 if s.size else None
    return k


def rounding_level(s: np.ndarray, size: int | None = None) -> float:
    """``size · eps · s₁`` (``size`` default ``len(s)``): descending singular values ``s``
    at or below it are a numerical rank's zeros, the rounding of a float64 SVD.

    Examples
    --------
    >>> bool(rounding_level(np.array([2.0, 1.0]), 48) == 96 * np.finfo(np.float64).eps)
    True
    """
    s = np.asarray(s, dtype=np.float64)
    if not s.size:
        return 0.0
    return (s.size if size is None else int(size)) * float(np.finfo(np.float64).eps) * float(s[0])


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
        A cap on the rank found by ``energy`` / ``error`` (not with ``rank``).
    """

    rank: int | None = None
    energy: float | None = None
    error: float | None = None
    max_rank: int | None = None

    def __post_init__(self) -> None:
        given = [x is not None for x in (self.rank, self.energy, self.error)]
        if sum(given) != 1:
            raise SvdkitError(spell("give exactly one of {rank}, {energy}, {error}"))
        # (a bool is no number here: energy=True is not 100 %, error=False not 0)
        if self.rank is not None:
            check_count(self.rank, "rank")
        if self.energy is not None:
            check_fraction(self.energy, "energy")
        if self.error is not None:
            check_fraction(self.error, "error", zero=True, one=False)
            if isinstance(self.error, float) and self.error == 0.0:
                object.__setattr__(self, "error", 0.0)  # -0.0 (as typed) is the bound 0
        if self.max_rank is not None:
            check_count(self.max_rank, "max_rank")
        if self.rank is not None and self.max_rank is not None:
            # it would be ignored: a fixed rank is the rank (capped at min(m, n) only)
            raise SvdkitError(
                spell("{max_rank} caps the rank that {energy} or {error} finds; with a fixed "
                      "rank give {rank} alone")
                + f" (got {kw('rank', self.rank)}, {kw('max_rank', self.max_rank)})",
                param="max_rank",
            )

    @property
    def fraction(self) -> float | None:
        """Energy fraction to keep (``error`` → ``1 − error²``), ``None`` for a fixed rank."""
        if self.energy is not None:
            return float(self.energy)
        if self.error is not None:
            return 1.0 - float(self.error) ** 2
        return None

    @property
    def tail(self) -> float | None:
        """Fraction of ``‖ΔW‖_F²`` the rule may leave out (``error²``, ``1 − energy``),
        ``None`` for a fixed rank."""
        if self.error is not None:
            return float(self.error) ** 2
        if self.energy is not None:
            return 1.0 - float(self.energy)
        return None

    @property
    def rank_tol(self) -> float | None:
        """The relative Frobenius error the rule allows: ``error`` itself, or
        ``sqrt(1 − energy)``; ``None`` for a fixed rank.

        From :attr:`tail`, not :attr:`fraction`: ``sqrt(1 − (1 − ε²))`` would round
        ``ε = 1e-8`` to ``1.05e-8`` (``1 − ε²`` keeps ``ε²`` to ``eps / ε²`` only),
        and ``truncated_svd`` would stop at the rank of that looser bound.

        Examples
        --------
        >>> RankRule(error=1e-8).rank_tol, RankRule(energy=0.99).rank_tol == math.sqrt(1 - 0.99)
        (1e-08, True)
        """
        tail = self.tail
        return None if tail is None else math.sqrt(max(0.0, tail))

    def missed(self, relative_error: float) -> bool:
        """Whether factors of this ``relative_error`` (as stored) miss the rule's bound:
        above ``error``, or keeping less than ``energy`` (``1 − relative_error²``, ties
        within :data:`~svdkit.lowrank.rank.ENERGY_SLACK` met, as the rank rules meet
        them). A fixed rank has no bound: ``False``.

        Examples
        --------
        >>> RankRule(error=0.01).missed(0.0101), RankRule(energy=0.9999999).missed(2.3e-3)
        (True, True)
        >>> RankRule(energy=0.99).missed(0.09), RankRule(rank=4).missed(1.0)
        (False, False)
        """
        if self.error is not None:
            return bool(relative_error > self.error)
        if self.energy is not None:
            kept = 1.0 - float(relative_error) ** 2
            return bool(kept < float(self.energy) - ENERGY_SLACK)
        return False

    def cap(self, p: int) -> int:
        """The most triplets this rule may need for a matrix with ``min(m, n) = p``."""
        if self.rank is not None:
            return min(int(self.rank), p)
        return min(int(self.max_rank), p) if self.max_rank is not None else p

    def select(
        self, s: np.ndarray, total: float, *, complete: bool = True, size: int | None = None
    ) -> int:
        """The rank for descending singular values ``s`` of a matrix with ``‖·‖_F² = total``.

        ``s`` may be a leading part of the spectrum (``complete=False``); if it does
        not reach the energy asked for, or the energy past it is not resolved
        against the allowance (:func:`energy_rank`), its length is returned (the
        caller widens, caps, or settles the rank by measured errors:
        :meth:`settle`). With ``complete=True`` (the default) ``s`` is taken for the
        whole spectrum, and a remainder ``total − Σ sᵢ²`` below ``64 eps · total``
        for rounding: given a leading part only, that drops real energy and
        returns too small a rank when the allowance is that small (``error``
        below about ``1.2e-7``). ``size`` is ``min(m, n)`` (default ``len(s)``): a
        leading part whose last value is at the rounding level ``size · eps · s₁`` is
        the whole spectrum to rounding (:func:`energy_rank`), so a cap never raises
        the rank the rule gives without it.
        """
        s = np.asarray(s, dtype=np.float64)
        if self.rank is not None:
            return min(int(self.rank), s.size)
        k = energy_rank(
            s, total, self.fraction, tail=self.tail, complete=complete,  # type: ignore[arg-type]
            size=size,
        )
        k = s.size if k is None else k
        if self.max_rank is not None:
            k = min(k, int(self.max_rank))
        return k

    def leaving_room(self, stored: float, exact: float) -> RankRule | None:
        """The tighter ``error`` rule that leaves room for the rounding of stored factors,
        or ``None`` when there is none to take.

        ``stored`` is the relative error of the factors as stored (rounded to F16 /
        BF16), ``exact`` that of the same triplets before the rounding. When ``stored``
        misses the rule (:meth:`missed`: above ``ε``, or keeping less than ``energy``,
        whose bound is ``ε = sqrt(1 − energy)``, :attr:`rank_tol`), the rounding's share
        ``stored² − exact²`` is taken from ``ε²`` (:attr:`tail`) and the rest, with a 3 %
        margin, is the new ``error`` bound (``max_rank`` kept): a higher rank, whose
        rounding costs about the same. An ``energy`` rule gets the room its ``error``
        twin gets. ``None`` when the rule is met, is a fixed rank, or the rounding alone
        leaves less than ``(0.05 ε)²`` (no rank can meet it: the caller notes the
        module). ``extract``, ``pissa`` and ``resize`` meet the rule through it, or by
        raising the rank while :meth:`missed`.

        Examples
        --------
        >>> round(RankRule(error=0.01).leaving_room(0.012, 0.009).error, 6)  # √(1e-4 − 6.3e-5)
        0.0059
        >>> round(RankRule(energy=0.9999, max_rank=8).leaving_room(0.012, 0.009).error, 6)
        0.0059
        >>> RankRule(energy=0.9999, max_rank=8).leaving_room(0.012, 0.009).max_rank
        8
        >>> RankRule(error=0.01).leaving_room(0.0125, 0.0075) is None  # rounding 1e-4: no room
        True
        >>> RankRule(error=0.01).leaving_room(0.009, 0.008) is None  # met
        True
        """
        tail = self.tail
        if tail is None or not self.missed(stored) or self.rounding_bars(stored, exact):
            return None
        room = tail - max(stored**2 - exact**2, 0.0)
        return RankRule(error=0.97 * math.sqrt(room), max_rank=self.max_rank)

    def rounding_bars(self, stored: float, exact: float) -> bool:
        """Whether the rounding of stored factors alone misses this rule at every rank:
        its share ``stored² − exact²`` (``stored`` the relative error of the factors as
        stored, ``exact`` that of the same triplets unrounded) leaves less than
        ``(0.05 ε)²`` of :attr:`tail` (``ε²``), which no higher rank (whose rounding
        costs about the same) wins back; always so for a bound of 0 (``error=0``,
        ``energy=1``). ``False`` for a fixed rank or a rule met.

        Where it holds, ``max_rank`` is not what misses the rule: raising it gives
        nothing (``extract`` and ``pissa`` mark such a module as not capped, and their
        note names the rounding, :func:`unmet_note`).

        Examples
        --------
        >>> RankRule(energy=0.999999, max_rank=10).rounding_bars(0.1, 0.0999)  # 2e-5 > 1e-6
        True
        >>> RankRule(error=0.01, max_rank=10).rounding_bars(0.1, 0.0999)  # 2e-5 of 1e-4
        False
        >>> RankRule(error=0.0).rounding_bars(1e-15, 1e-15), RankRule(rank=3).rounding_bars(1, 0)
        (True, False)
        """
        tail = self.tail
        if tail is None or not self.missed(stored):
            return False
        room = tail - max(stored**2 - exact**2, 0.0)
        return bool(room <= 0.05**2 * tail)

    def settle(
        self,
        s: np.ndarray,
        total: float,
        k: int,
        measure: Callable[[int], float],
        *,
        complete: bool = True,
        rho: np.ndarray | None = None,
        size: int | None = None,
    ) -> tuple[int, float]:
        """The rank :meth:`select` chose (``k``), settled by measured errors, and its error.

        An ``error`` bound ``ε`` is a promise on the factors: ``measure(j)``, the
        error ``‖ΔW − U_j Σ_j V_jᴴ‖_F`` of the first ``j`` triplets, at most
        ``ε · √total``, at the smallest such ``j``; an ``energy`` fraction ``f`` the
        same with ``ε² = 1 − f`` (the energy the factors keep,
        ``1 − measure(j)² / total``, at least ``f``). :meth:`select` decides on the
        values, which are known only so well:

        * the energies to about ``64 eps · total`` (the rounding of
          ``total − Σ sᵢ²``), which is the whole allowance ``ε² · total`` when
          ``ε ≲ 1.2e-7``;
        * each value to its residual ``ρᵢ`` (``rho``: a computed ``σ̃ᵢ`` is within
          ``ρᵢ`` of a singular value) — float32 LAPACK values to ``~1e-7 · σ₁``, which
          on a float32 delta of 384×384 whose rank reaches a floor of 1e-3 σ₁ gave
          ``--error 0.01`` ranks 107–108 for 106.

        There the measured error decides:

        * if ``measure(k) > ε √total``, ranks ``k + 1, …`` (up to ``len(s)`` and
          ``max_rank``) are measured until one meets the bound (or none is left:
          the last is returned, its error above the bound) — never past the
          numerical rank, the values above the rounding level ``size · eps · s₁``:
          the values at it lower the error by rounding only, so a bound below the
          rounding of the factors (``error=1e-16`` on a float64 delta of exact rank
          4: rank 48 for an error no better than rank 4's) gives the numerical rank,
          as ``error=0`` does;
        * else the ranks below ``k`` that the uncertainty of the values cannot rule
          out — energy left out ``Σ_{i>j} sᵢ² + (total − Σ sᵢ²)``, less its rounding
          ``64 eps · total`` and less ``Σ_{i≤j} (2 sᵢ ρᵢ + ρᵢ²)`` (the values raised by
          their residuals), at most ``ε² · total`` — are bisected on the measured
          error (which does not grow with the rank): the smallest that meets the
          bound is returned. A rank that meets it measured is no smaller than the
          optimum allows (Eckart–Young: no rank-``j`` error is below the optimum).

        Other rules (fixed rank, ``energy=1``, ``error=0``) return ``k`` and
        ``measure(k)``.

        Parameters
        ----------
        s : ndarray
            Descending singular values (the computed ones, ``len(s) ≥ k``).
        total : float
            ``‖ΔW‖_F²``.
        k : int
            The rank :meth:`select` chose.
        measure : callable
            ``j ↦`` the error of the first ``j`` triplets (``1 ≤ j ≤ len(s)``).
        complete : bool, default True
            Whether ``s`` is the whole spectrum (as for :meth:`select`).
        rho : ndarray, optional
            The residuals of (at least) the first ``k`` values; none: exact values.
        size : int, optional
            ``min(m, n)``, the length of the whole spectrum (default ``len(s)``): its
            rounding level is ``size · eps · s₁`` (:func:`rounding_level`).

        Returns
        -------
        (int, float)
            The rank and its measured error.

        Examples
        --------
        Exact tails as the measure: a rank that rounding put one too low is raised.

        >>> s = np.array([1.0, 1e-7, 1e-7])
        >>> tails = [float(np.sqrt(np.sum(s[j:] ** 2))) for j in range(4)]
        >>> RankRule(error=1e-7).settle(s, 1.0 + 2e-14, 1, tails.__getitem__)
        (2, 1e-07)

        Values known to ``1e-3`` only (the last computed 0.0999 for 0.0997): the measured
        errors find the smaller rank.

        >>> sigma, s = np.array([1.0, 0.1, 0.1, 0.0997]), np.array([1.0, 0.1, 0.1, 0.0999])
        >>> tails = [float(np.sqrt(np.sum(sigma[j:] ** 2))) for j in range(5)]
        >>> total = float(np.sum(sigma**2))
        >>> rule = RankRule(error=0.0998 / math.sqrt(total))
        >>> rule.select(s, total), rule.settle(s, total, 4, tails.__getitem__)[0]
        (4, 4)
        >>> rule.settle(s, total, 4, tails.__getitem__, rho=np.full(4, 1e-3))
        (3, 0.0997)

        A bound below the rounding: the walk stops at the numerical rank (2 here).

        >>> s = np.array([1.0, 0.5, 1e-17, 1e-17])
        >>> errors = [1.1, 0.5, 3e-16, 2.9e-16, 2.9e-16]
        >>> RankRule(error=1e-17).settle(s, 1.25, 2, errors.__getitem__)
        (2, 3e-16)
        """
        err = measure(k)
        tail = self.tail
        if tail is None or not tail > 0.0 or k <= 0:
            return k, err
        s = np.asarray(s, dtype=np.float64)
        bound = math.sqrt(tail * float(total))
        top = s.size if self.max_rank is None else min(s.size, int(self.max_rank))
        errors = {k: err}

        def at(j: int) -> float:
            if j not in errors:
                errors[j] = measure(j)
            return errors[j]

        if err > bound:
            # not past the numerical rank: values at the rounding level lower the
            # error by rounding only (a looser bound never takes more rank for that)
            top = min(top, max(k, int(np.count_nonzero(s > rounding_level(s, size)))))
            while k < top and errors[k] > bound:
                k += 1
                at(k)
            return k, errors[k]
        # the ranks below k that the uncertainty of the values cannot rule out
        allowance = tail * float(total) * (1.0 + ENERGY_SLACK)
        maybe = np.flatnonzero(_left_out_lower(s, total, k, rho, complete) <= allowance)
        miss = int(maybe[0]) if maybe.size else k - 1  # ranks ≤ miss miss the bound
        while k - miss > 1:
            mid = (k + miss) // 2
            if at(mid) <= bound:
                k = mid
            else:
                miss = mid
        return k, errors[k]


    def decided(
        self,
        s: np.ndarray,
        total: float,
        k: int,
        measure: Callable[[int], float],
        *,
        rho: np.ndarray | None = None,
        complete: bool = True,
    ) -> bool:
        """Whether rank ``k`` (from :meth:`settle`) is shown the smallest: no factors more
        exact than these could meet the rule at rank ``k − 1``.

        The best rank-``(k − 1)`` error is at least ``√(total − Σ_{i<k} (sᵢ + ρᵢ)²)``
        (each value within its residual ``ρᵢ`` of a singular value): from the values'
        energies (as :meth:`settle` counts them), or, where their rounding leaves it
        open, from the factors' measured error ``e = measure(k − 1)`` as
        ``e² − Σ_{i<k} (2 sᵢ ρᵢ + ρᵢ²)``. False where that bound is within the
        allowance: only a tighter certificate (smaller residuals) can tell. Always true
        for a fixed rank, ``energy=1``, ``error=0``, ``k ≤ 1`` and exact values (no
        ``rho``).

        Examples
        --------
        >>> sigma, s = np.array([1.0, 0.1, 0.1, 0.0997]), np.array([1.0, 0.1, 0.1, 0.0999])
        >>> tails = [float(np.sqrt(np.sum(sigma[j:] ** 2))) for j in range(5)]
        >>> total = float(np.sum(sigma**2))
        >>> rule = RankRule(error=0.0996 / math.sqrt(total))  # rank 4: σ₄ misses it
        >>> rule.decided(s, total, 4, tails.__getitem__, rho=np.full(4, 1e-6))
        True
        >>> rule.decided(s, total, 4, tails.__getitem__, rho=np.full(4, 1e-3))
        False
        """
        tail = self.tail
        if tail is None or not tail > 0.0 or k <= 1 or rho is None:
            return True
        s = np.asarray(s, dtype=np.float64)
        allowance = tail * float(total) * (1.0 + ENERGY_SLACK)
        if _left_out_lower(s, total, k, rho, complete)[k - 2] > allowance:
            return True
        r = np.asarray(rho, dtype=np.float64)[: k - 1]
        widen = float(np.sum(2.0 * s[: k - 1] * r + r * r))
        return measure(k - 1) ** 2 - widen > allowance


def _left_out_lower(
    s: np.ndarray, total: float, k: int, rho: np.ndarray | None, complete: bool
) -> np.ndarray:
    """A lower bound of the energy left out by the best rank ``j`` (entry ``j − 1``),
    ``j ≤ k``, from the values ``s`` (and their residuals ``rho``): see
    :meth:`RankRule.settle`."""
    sq = s**2
    # (a whole spectrum leaves nothing out: its sum's distance to total is rounding)
    rest = 0.0 if complete else max(0.0, float(total) - float(np.sum(sq)))
    left = np.concatenate([np.cumsum(sq[::-1])[::-1][1:], [0.0]])  # left[j-1]: rank j
    # Σ sᵢ² is known to the values' own rounding too, about p·eps·s₁ each (LAPACK's):
    # 106 eps of ‖ΔW‖_F² for an exact rank-8 float32 delta of 1024×768, which ruled
    # out ranks 8–10 unmeasured (12 was given for 8 at ε = 1e-7, 768 at 5e-8)
    eps = float(np.finfo(np.float64).eps)
    slack = max(ENERGY_SLACK * float(total),
                2.0 * s.size * eps * float(s[0]) * float(np.sum(s)) if s.size else 0.0)
    lower = left[:k] + rest - slack
    if rho is not None:
        # each value may lie up to its residual below the singular value it stands for
        r = np.asarray(rho, dtype=np.float64)[:k]
        lower = lower - np.cumsum(2.0 * s[:k] * r + r * r)
    return lower


def as_rank_rule(rule: Any) -> RankRule:
    """``rule`` as a :class:`RankRule`: an integer is a fixed rank.

    Examples
    --------
    >>> as_rank_rule(8)
    RankRule(rank=8, energy=None, error=None, max_rank=None)
    """
    if isinstance(rule, numbers.Integral) and not isinstance(rule, bool):
        return RankRule(rank=int(rule))
    if not isinstance(rule, RankRule):
        raise SvdkitError(
            f"rule must be a RankRule or an integer rank; got {type(rule).__name__}"
        )
    return rule


#: Factor dtypes narrower than float32, and the wider one that holds what they round.
_WIDER = {"F8_E4M3": "F32", "F8_E5M2": "F32", "F16": "F32", "BF16": "F32", "F32": "F64"}

#: Below this relative error no float64 factors meet a bound: float64's eps (the product
#: ``B A`` rounds each entry; measured floors run from 1 eps for a rank-1 4×4 delta to
#: 14 eps for a full 1024×768 one).
_F64_FLOOR = float(np.finfo(np.float64).eps)
_F32_EPS = float(np.finfo(np.float32).eps)


def unmet_note(
    error: float,
    errors: dict[str, float],
    total: int,
    *,
    max_rank: int | None,
    capped: list[str],
    codes: dict[str, str],
    energy: float | None = None,
) -> str:
    """The note of ``extract`` and ``resize`` (one wording) on an ``error`` bound missed,
    or an ``energy`` target (``energy`` given: ``error`` is then its ``sqrt(1 − energy)``).

    Parameters
    ----------
    error : float
        The bound asked for.
    errors : dict
        Module name → relative error of its factors as stored, for each module that
        misses the bound (the table marks them ``!``).
    total : int
        How many modules there are in all.
    max_rank : int or None
        The cap of the rule.
    capped : list of str
        The modules of ``errors`` whose rank ``max_rank`` stopped where raising it could
        meet the bound: not those whose rounding to their dtype alone misses it
        (:meth:`RankRule.rounding_bars`, which the callers test). Under a bound of 0
        (``error=0``, ``energy=1``), which no rank meets, none is blamed on the cap.
    codes : dict
        Module name → the safetensors code of its stored factors (``"BF16"``).
    energy : float, optional
        The ``energy`` target missed, when the rule is one: the note names it, and the
        least energy kept (``1 − error²``) rather than the worst error.

    Returns
    -------
    str
        The note without its ``note:`` prefix; the options named as the caller spells
        them (``--error`` on the command line, ``error=`` in Python). The cause named
        is the actual one: the cap for a capped module, else the rounding to the
        stored dtype, with a wider dtype advised only where one exists; for a bound
        no float64 factors meet (``error=0``, below float64's ``eps``, or missed by
        F64 factors at float64's rounding, below float32's ``eps``) the SVD's own
        rounding, with no dtype advised (no floating-point factors are exact, in any
        dtype).

    Examples
    --------
    >>> unmet_note(0.001, {"q": 0.6, "k": 0.2}, 4, max_rank=2, capped=["q", "k"],
    ...            codes={"q": "F32", "k": "F32"})
    "error=0.001 is not met by the factors as stored for 2 of 4 modules (marked '!', \
worst 0.6): q, k; max_rank=2 caps their rank: raise max_rank or ask a looser error"
    >>> unmet_note(0.0, {"q": 4.7e-15}, 1, max_rank=None, capped=[], codes={"q": "F64"})
    "error=0 is not met by the factors as stored for 1 of 1 modules (marked '!', \
worst 4.7e-15): q; no floating-point SVD is exact: its own rounding (and that of storing \
them) is above 0: ask a positive error"
    >>> unmet_note(1e-16, {"q": 6.2e-16}, 1, max_rank=None, capped=[], codes={"q": "F32"})
    "error=1e-16 is not met by the factors as stored for 1 of 1 modules (marked '!', \
worst 6.2e-16): q; no floating-point SVD meets it: its own rounding (and that of storing \
them) is above the bound: ask a looser error"
    >>> unmet_note(math.sqrt(1e-7), {"q": 2.3e-3}, 2, max_rank=None, capped=[],
    ...            codes={"q": "BF16"}, energy=0.9999999)
    "energy=0.9999999 is not met by the factors as stored for 1 of 2 modules (marked '!', \
least kept 1 − 5.30e-06): q; rounding them to BF16 alone costs more than the bound: store \
them in a wider dtype (dtype='F32') or ask a lower energy"
    """
    names = list(errors)
    more = " …" if len(names) > 6 else ""
    worst = max(errors.values())
    if not error > 0.0:
        capped = []  # no rank meets a bound of 0: raising max_rank gives nothing
    rounded = [n for n in names if n not in capped]
    causes, remedies = [], []
    if capped:
        which = "their rank" if not rounded else f"the rank of {len(capped)} of them"
        causes.append(f"{kw('max_rank', max_rank)} caps {which}")
        remedies.append(f"raise {arg('max_rank')}")
    # the SVD's own rounding is the cause where float64 factors cannot meet the bound:
    # below eps64 (error=0 too: no float64 factors of a nonzero delta come closer, their
    # product rounds each entry), or already missed by F64 factors at float64's rounding
    # (below float32's eps: a float64 SVD's own; nothing is rounded to F64, and no
    # dtype is wider)
    own = [n for n in rounded if not error >= _F64_FLOOR
           or (codes[n] == "F64" and errors[n] < _F32_EPS)]
    stored = [n for n in rounded if n not in own]
    if own:
        # no wider dtype helps: the SVD's own rounding (float64 factors of a float32
        # delta: 5e-15) misses the bound in any dtype
        what = "is exact" if not error > 0.0 else "meets it"
        part = "" if len(own) == len(names) else f" for {len(own)} of them"
        causes.append(f"no floating-point SVD {what}{part}: its own rounding (and that of "
                      f"storing {'them' if not part else 'those'}) is above "
                      f"{'0' if not error > 0.0 else 'the bound'}")
    if stored:
        kinds = sorted({codes[n] for n in stored})
        which = "them" if len(stored) == len(names) else f"the other {len(stored)}"
        causes.append(f"rounding {which} to {'/'.join(kinds)} alone costs more than the bound")
        wider = {_WIDER.get(c) for c in kinds}
        if None not in wider:  # a wider dtype holds the factors more exactly
            wide = "F64" if "F64" in wider else "F32"
            remedies.append(f"store them in a wider dtype ({kw('dtype', wide)})")
    if energy is not None:
        remedies.append(f"ask a lower {arg('energy')}")
        from svdkit.lora._cells import energy_cell

        least = energy_cell(1.0 - worst * worst, missed=True)
        bound, how = kw("energy", energy), f"least kept {least}"
    else:
        remedies.append(f"ask a {'positive' if not error > 0.0 else 'looser'} {arg('error')}")
        error = 0.0 if error == 0 else error  # (-0.0, as typed, is the bound 0)
        bound, how = kw("error", error, "g"), f"worst {worst:.4g}"
    return (
        f"{bound} is not met by the factors as stored for {len(names)} of "
        f"{total} modules (marked '!', {how}): {', '.join(names[:6])}{more}; "
        f"{', and '.join(causes)}: {', '.join(remedies[:-1])}"
        f"{' or ' if len(remedies) > 1 else ''}{remedies[-1]}"
    )
