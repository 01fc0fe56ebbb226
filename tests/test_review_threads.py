"""Review: svdkit's thread pool after ``fork`` (multiprocessing, joblib's "multiprocessing")."""

import multiprocessing

import numpy as np
import scipy.sparse as sp

from svdkit.lowrank import _threads, truncated_svd


def _square_on_two_threads(x: int) -> list[int]:
    return _threads.parallel_map(lambda v: v * v, [x, x + 1, x + 2], workers=2)


def _leading_sigma(seed: int) -> float:
    X = sp.random(600, 400, density=0.02, format="csr", random_state=0)
    return float(truncated_svd(X, 3, seed=seed).s[0])


def _in_forked_pool(fn, items):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        result = pool.map_async(fn, items)
        try:
            return result.get(timeout=60)  # a hang fails the test instead of the suite
        except multiprocessing.TimeoutError:
            pool.terminate()
            raise AssertionError("the forked children never finished") from None


def test_thread_pool_works_in_a_child_forked_after_it_was_used():
    # the pool is started in the parent; a forked child inherits it without threads
    assert _square_on_two_threads(1) == [1, 4, 9]
    assert _threads._pool is not None
    assert _in_forked_pool(_square_on_two_threads, [2, 3]) == [[4, 9, 16], [9, 16, 25]]


def test_sparse_svd_in_forked_children_after_one_in_the_parent():
    expected = _leading_sigma(0)
    assert _threads.parallel_map(abs, [-1, -2], workers=2) == [1, 2]  # the pool exists
    got = _in_forked_pool(_leading_sigma, [1, 2])
    np.testing.assert_allclose(got, expected, rtol=1e-8)
