"""Thread control: one BLAS thread for small dense kernels, a few Python threads for sparse ones.

OpenBLAS splits even tiny LAPACK calls (the eigendecomposition of a 200×200
projected matrix, the QR factorisation of an n×8 block) across every core. On a
machine whose other cores are busy, each such call then waits for a time slice:
measured on a shared 2-core machine, a block Lanczos run spent 90 % of its time
in 100 ms ``eigh`` calls that take 1 ms on one thread. The kernels of the
large-scale engine that are small run inside :func:`single_blas_thread`; the
large products keep every BLAS thread.

SciPy's sparse kernels release the GIL, so a sparse product split into row
chunks runs on several cores with plain Python threads (:func:`parallel_map`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["available_cores", "parallel_map", "single_blas_thread"]

_controller: Any = None
_depth = 0  # nesting of single_blas_thread on the main thread (the limit is set once)
_controller_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _get_controller() -> Any:
    global _controller
    if _controller is None:
        with _controller_lock:
            if _controller is None:
                try:
                    from threadpoolctl import ThreadpoolController

                    _controller = ThreadpoolController()
                except Exception:  # threadpoolctl missing or broken: no control
                    _controller = False
    return _controller


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread (no-op without threadpoolctl, or off the main thread)."""
    global _depth
    if _depth or threading.current_thread() is not threading.main_thread():
        yield  # already limited (setting the limit costs ~20 µs a call), or a worker thread
        return
    ctl = _get_controller()
    if not ctl:
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1


def _forget_threads_after_fork() -> None:
    """In a forked child: drop the pool and the locks inherited from the parent.

    The child inherits the executor object but none of its worker threads, and the
    executor believes its idle workers still exist, so work submitted to it would
    wait forever (``multiprocessing`` with ``fork``, joblib's "multiprocessing"
    backend). A lock held by a parent thread at the fork would never be released.
    """
    global _pool, _pool_lock, _controller_lock
    _pool = None
    _pool_lock = threading.Lock()
    _controller_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads_after_fork)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=min(8, available_cores()), thread_name_prefix="svdkit-lowrank"
                )
    return _pool


def parallel_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[Any]:
    """``[fn(x) for x in items]``, on up to ``workers`` threads, results in order."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    return list(_get_pool().map(fn, items))
