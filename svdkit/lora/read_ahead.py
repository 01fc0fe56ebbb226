"""Read the next module while this one is factored: one reader thread, a bounded budget.

A whole extraction alternates reading a module's two tensors (``W_tuned − W_base``
from memory-mapped safetensors, widened from bfloat16 to float32, checked for
non-finite entries) with factoring it. With the factoring on a GPU the host sits idle
while the device works: on an H100 two bf16 Llama-7B layers took 1.01 s to read in one
thread (0.18 s in eight: :func:`svdkit.lora.extract.read_delta`) beside 0.5–0.8 s of
factoring (``docs/benchmarks.md``). :func:`read_ahead` overlaps the two: while the
caller works on item ``k``, one thread loads item ``k + 1`` (0.92 → 0.69 s at rank 8).

Memory stays bounded: at most two loaded items are alive at once (the one being
worked on and the next), and an item whose load would exceed ``budget`` bytes is
not read ahead but loaded when it is reached, as without this module. NumPy's casts
and arithmetic, and torch's kernels, release the GIL, so the reader and the caller
run side by side.

Errors keep their order: an error of loading item ``k + 1`` is raised when the
caller reaches it, after item ``k`` is done, exactly as a loop without read-ahead
would raise it. If the caller stops early (an error of its own, a ``break``), the
load in flight is finished or cancelled before :func:`read_ahead` returns, so no
thread outlives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["READ_AHEAD_BYTES", "read_ahead"]

T = TypeVar("T")
L = TypeVar("L")

#: The largest load (in bytes, as the caller's ``nbytes`` counts it) read ahead: two
#: Llama-7B MLP deltas of 11008×4096 in float32 are 180 MiB each; an embedding table
#: of a 128k vocabulary (2 GiB) is loaded when it is reached, not beside another one.
READ_AHEAD_BYTES = 1 << 30


def read_ahead(
    items: Sequence[T],
    load: Callable[[T], L],
    *,
    nbytes: Callable[[T], int],
    budget: int | None = None,
) -> Iterator[tuple[T, L]]:
    """``(item, load(item))`` for each of ``items`` in order, loading the next item in
    a reader thread while the caller works on the current one.

    Parameters
    ----------
    items : sequence
        What to load, in order.
    load : callable
        ``load(item)``: the loaded item (run in the reader thread for every item but
        the first, and for those over ``budget``, which are loaded in the caller's).
    nbytes : callable
        ``nbytes(item)``: the memory its load takes, compared with ``budget``.
    budget : int, optional
        The largest ``nbytes`` read ahead (default :data:`READ_AHEAD_BYTES`, read at
        call time); ``0`` turns read-ahead off.

    Yields
    ------
    tuple
        ``(item, loaded)``. The generator keeps no reference to ``loaded`` once the
        caller asks for the next item, so a caller that drops its own keeps at most
        two loads alive.

    Examples
    --------
    >>> order = []
    >>> def load(k):
    ...     order.append(k)
    ...     return k * k
    >>> [(k, v) for k, v in read_ahead([1, 2, 3], load, nbytes=lambda k: 8)]
    [(1, 1), (2, 4), (3, 9)]
    >>> sorted(order)
    [1, 2, 3]
    """
    if budget is None:
        budget = READ_AHEAD_BYTES
    if not items:
        return
    pending: Future[L] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="svdkit-read-ahead") as pool:
        try:
            for k, item in enumerate(items):
                loaded = load(item) if pending is None else pending.result()
                pending = None
                if budget > 0 and k + 1 < len(items) and nbytes(items[k + 1]) <= budget:
                    pending = pool.submit(load, items[k + 1])
                yield item, loaded
                del loaded  # (the caller's reference is the last one)
        finally:
            # the caller stopped early: a load not started is dropped, one running ends
            # before the pool's exit returns (its result, or error, is discarded)
            if pending is not None:
                pending.cancel()
