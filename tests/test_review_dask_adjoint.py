"""A wide dask array (m < n) on a dask.distributed LocalCluster.

The engine keeps its Krylov basis on the short side, so a wide array runs through
``DaskOperator.adjoint()``. That adjoint built ``A.T`` (``A.conj().T``): a transpose
layer over the stored chunks whose keys every step submitted again, fused one way
in one graph and another way in the next, and the scheduler logged "Detected
different `run_spec` for key ('transpose-…', 1, 0)" (dask/dask#9888) — on about
one run in two of a float32 150×600 array, and 20–25 times in 15 rounds of
``matmat``/``gram``/``rmatmat`` on the adjoint. The adjoint now computes on the
stored array as it is (``Aᴴ Y`` is ``S Y``, ``Aᴴ X`` blockwise ``Sᴴ X`` on the
stored chunks).

The warnings are collected by a handler on the scheduler's logger itself, not
through the root logger: distributed's logging configuration may turn off the
propagation of the ``distributed`` logger (it does outside pytest).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import svdkit
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.operators import as_operator

#: Runs of the whole engine per case, and rounds of the three products per dtype:
#: the old adjoint warned in ~40 % of float32/float64 runs and ~1.4 times per round.
RUNS = 2
ROUNDS = 8


class _RunSpecWarnings(logging.Handler):
    """Collects the scheduler's "different `run_spec`" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "run_spec" in message:
            self.messages.append(message.splitlines()[0])


@pytest.fixture
def run_spec_warnings(dask_client):
    handler = _RunSpecWarnings()
    logger = logging.getLogger("distributed.scheduler")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _wide(dtype: str, m: int = 150, n: int = 600, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    if dtype.startswith("complex"):
        A = A + 1j * rng.standard_normal((m, n))
    return (A * 0.97 ** np.arange(m)[:, None]).astype(dtype)


CASES = [
    ("float32", (-1, 100), 1e-4),
    ("float64", (50, 200), 1e-8),
    ("complex128", (-1, 100), 1e-8),
    ("complex64", (50, 100), 1e-4),
]


def _certified(M: np.ndarray, r, tol: float) -> None:
    """Converged, residuals recomputed here within ``tol·σ₁``, σ as LAPACK's."""
    work = np.complex128 if M.dtype.kind == "c" else np.float64
    D = M.astype(work)
    s = np.linalg.svd(D, compute_uv=False)
    k = r.k
    assert r.converged and r.U.shape == (D.shape[0], k) and r.Vh.shape == (k, D.shape[1])
    V = r.Vh.conj().T
    right = np.linalg.norm(D @ V - r.U * r.s, axis=0)
    left = np.linalg.norm(D.conj().T @ r.U - V * r.s, axis=0)
    slack = 1e-12 * s[0]
    assert right.max() <= tol * s[0] + slack and left.max() <= tol * s[0] + slack
    assert np.abs(r.s - s[:k]).max() <= 2 * tol * s[0] + slack
    assert np.abs(r.U.conj().T @ r.U - np.eye(k)).max() <= 1e-10
    assert np.abs(r.Vh @ V - np.eye(k)).max() <= 1e-10


@pytest.mark.parametrize(("dtype", "chunks", "tol"), CASES, ids=[c[0] for c in CASES])
def test_wide_dask_runs_without_run_spec_warnings(run_spec_warnings, dtype, chunks, tol):
    import dask.array as da

    M = _wide(dtype)
    given = da.from_array(M, chunks=chunks)
    first = None
    for _ in range(RUNS):
        r = truncated_svd(given, 5, tol=tol, method="krylov")
        _certified(M, r, tol)
        if first is None:
            first = r
        else:  # the same run again: the same answer, bit for bit
            assert np.array_equal(r.s, first.s) and np.array_equal(r.U, first.U)
    assert not run_spec_warnings, run_spec_warnings


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_adjoint_products_repeat_without_run_spec_warnings(run_spec_warnings, dtype):
    """The three products of the adjoint, round after round, against NumPy's."""
    import dask.array as da

    M = _wide(dtype, seed=5)
    D = M.astype(np.complex128 if M.dtype.kind == "c" else np.float64)
    given = da.from_array(M, chunks=(-1, 100) if dtype != "float64" else (50, 200))
    op = as_operator(given)
    adj = op.adjoint()
    assert adj.shape == (600, 150) and adj.dtype == D.dtype
    assert adj.describe() == f"dask 600×150 {dtype}"
    rng = np.random.default_rng(0)
    for i in range(ROUNDS):
        x = rng.standard_normal((150, 4)).astype(D.dtype)
        if D.dtype.kind == "c":
            x = x + 1j * rng.standard_normal((150, 4))
        W = adj.matmat(x)  # Aᴴ x: the long side, chunked as the stored columns
        assert W.shape == (600, 4) and W.chunks[0] == given.chunks[1]
        G = adj.gram(x)  # A Aᴴ x
        back = adj.rmatmat(W)  # A (Aᴴ x)
        Q, R = adj.tall_qr(W)
        C = adj.tall_gram(Q, W)
        rtol = 1e-5 if dtype == "float32" else 1e-12
        ref = D.conj().T @ x
        np.testing.assert_allclose(adj.tall_to_numpy(W), ref, rtol=rtol, atol=rtol * 1e2)
        np.testing.assert_allclose(G, D @ ref, rtol=rtol, atol=rtol * 1e3)
        np.testing.assert_allclose(back, D @ ref, rtol=rtol, atol=rtol * 1e3)
        np.testing.assert_allclose(C, R, rtol=rtol, atol=rtol * 1e2)
        assert adj.passes == 3 * (i + 1) and op.passes == adj.passes
    assert adj.fro_norm() == pytest.approx(np.linalg.norm(D), rel=1e-12)
    assert adj.adjoint().shape == (150, 600)
    assert not run_spec_warnings, run_spec_warnings


def test_adjoint_of_a_wide_dask_array_checks_and_measures(dask_client):
    """NaN found on the first product of the adjoint; the dense copy of the adjoint
    and its reconstruction error are those of ``Aᴴ``."""
    import dask.array as da

    M = _wide("complex128", 40, 90, seed=8)
    bad = M.copy()
    bad[3, 70] = np.nan
    with pytest.raises(svdkit.NonFiniteError, match="dask array"):
        as_operator(da.from_array(bad, chunks=(20, 30))).adjoint().gram(np.ones((40, 1)))
    adj = as_operator(da.from_array(M, chunks=(20, 30))).adjoint()
    np.testing.assert_array_equal(np.asarray(adj.a.compute()), M.conj().T)
    U, s, Vh = np.linalg.svd(M.conj().T, full_matrices=False)
    k = 6
    err = adj.reconstruction_error(U[:, :k], s[:k], Vh[:k])
    assert err == pytest.approx(np.sqrt(np.sum(s[k:] ** 2)), rel=1e-10)
    r = truncated_svd(da.from_array(M, chunks=(20, 30)), 4, method="krylov", tol=1e-10)
    _certified(M, r, 1e-10)


def test_chunks_at_odd_byte_offsets_multiply_as_aligned_ones():
    """dask's transport hands arrays over at any byte offset; NumPy multiplies those
    without BLAS (other roundings): dashSVD on worker processes changed bits between
    runs. The operator's chunk products and results are aligned first."""
    from svdkit.lowrank.operators import _adjoint_block, _aligned

    rng = np.random.default_rng(5)
    s0, z0 = rng.standard_normal((150, 100)), rng.standard_normal((150, 16))

    def at_offset(a: np.ndarray, offset: int) -> np.ndarray:
        raw = bytearray(a.nbytes + 8)
        out = np.frombuffer(raw, dtype=a.dtype, count=a.size, offset=offset).reshape(a.shape)
        out[...] = a
        return out

    s, z = at_offset(s0, 3), at_offset(z0, 5)
    assert not s.flags.aligned and not z.flags.aligned
    assert _aligned(s).flags.aligned and np.array_equal(_aligned(s), s0)
    assert _aligned(s0) is s0  # aligned: no copy
    assert np.array_equal(_adjoint_block(s, z), _adjoint_block(s0, z0))
    assert np.array_equal(_adjoint_block(s0, z0)[0], s0.T @ z0)
