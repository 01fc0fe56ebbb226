"""mpmath's working precision, shared safely by the exact engine's threads.

mpmath keeps its precision in one process-wide context (``mpmath.mp``), and SymPy's
numerics (``nroots``, ``evalf`` of functions) save and restore it too. A
``mpmath.workdps`` block in one thread therefore changes the precision under every
other thread, and its exit puts back whatever precision it found on entry: two
overlapping calls leave mpmath at 60 digits and compute part of a 50-digit value at 15.

Every use of that precision by :mod:`svdkit.exact` goes through this module and holds
one re-entrant lock, so exact computations run one at a time (they are SymPy work,
bound by the GIL anyway); a public entry point holds it for its whole call
(:func:`serialized`, or :func:`svdkit.exact.spectral.precise` with 60 digits).

While it is held, SymPy's factor cache keeps only prime factors
(:func:`primes_only_factor_cache`): SymPy 1.14's ``factorint(n, limit=…)``, which
``Pow`` runs on the radicand of every square root, hands the cache the cofactor its
limit left unfactored, and the cache raises ``ValueError: … is not a prime factor`` on
it (sympy/sympy#28621, fixed after 1.14): the exact SVD of ``[[1e300, 1], [0, 1e300]]``
failed that way.

Examples
--------
>>> import mpmath
>>> from svdkit.exact._precision import working_precision
>>> before = mpmath.mp.dps
>>> with working_precision(30):
...     print(mpmath.mp.dps, mpmath.nstr(mpmath.sqrt(2), 25))
30 1.414213562373095048801689
>>> mpmath.mp.dps == before
True
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import mpmath
from sympy.ntheory import factor_ as _sympy_factor

__all__ = ["ENGINE_LOCK", "primes_only_factor_cache", "serialized", "working_precision"]

#: Held by a thread while it uses mpmath's (process-wide) precision for the exact engine.
#: Re-entrant: public functions call one another, and each sets its own precision.
ENGINE_LOCK = threading.RLock()

_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def working_precision(dps: int) -> Iterator[None]:
    """Hold :data:`ENGINE_LOCK` and run the block with mpmath at ``dps`` decimal digits.

    The precision found on entry is put back on exit, exceptions included; no other
    thread of the exact engine can change it in between.

    Parameters
    ----------
    dps : int
        Decimal digits of mpmath's working precision inside the block.

    Examples
    --------
    >>> import mpmath
    >>> with working_precision(40):
    ...     with working_precision(20):
    ...         inner = mpmath.mp.dps
    ...     outer = mpmath.mp.dps
    >>> inner, outer
    (20, 40)
    """
    with ENGINE_LOCK, primes_only_factor_cache(), mpmath.workdps(dps):
        yield


@contextlib.contextmanager
def primes_only_factor_cache() -> Iterator[None]:
    """Within the block, SymPy's factor cache skips a factor that is not a prime.

    ``sympy.ntheory.factor_.factor_cache.add(n, factors)`` stores the largest prime
    factor of ``n`` for each of ``factors`` in turn and raises ``ValueError`` on one that
    is not prime; ``factorint(n, limit=…)`` passes it the composite cofactor its limit
    left (sympy/sympy#28621). Here the cache stops at such a factor, keeping what it
    stored before, as SymPy's fix does: nothing wrong is cached, nothing raises. The
    previous ``add`` is put back on exit (blocks nest).

    Examples
    --------
    >>> import sympy
    >>> with primes_only_factor_cache():  # SymPy 1.14 raises on this product outside
    ...     print(sympy.sqrt(989034254522489566) * sympy.sqrt(989034254830458946))
    2*sqrt(244547189230862234675059045569089359)
    """
    cache = _sympy_factor.factor_cache
    before = cache.__dict__.get("add")

    def add(n: int, factors: list[int]) -> None:
        for p in sorted(factors, reverse=True):
            if not _sympy_factor.isprime(p) or n % p:
                return  # a cofactor the limit left: not a prime factor, not cached
            cache[n] = p
            n, _ = _sympy_factor.remove(n, p)

    cache.add = add  # type: ignore[method-assign]
    try:
        yield
    finally:
        if before is None:
            del cache.add
        else:
            cache.add = before  # type: ignore[method-assign]


def serialized(fn: _F) -> _F:
    """Decorate ``fn`` to hold :data:`ENGINE_LOCK` for its whole call (precision unchanged).

    For the public functions that reach SymPy's numerics (``evalf`` in zero tests and
    signs) without a working precision of their own.

    Examples
    --------
    >>> @serialized
    ... def double(x):
    ...     return 2 * x
    >>> double(21), double.__name__
    (42, 'double')
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with ENGINE_LOCK, primes_only_factor_cache():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
