"""The dense SVD of a single-precision matrix (``method="lapack"`` and its hand-over).

1. ``_lapack_svd`` keeps float32 / complex64 in single precision (SciPy's
   ``gesdd``): the factors satisfy ``A = U Σ Vᴴ`` and are orthonormal to float32
   rounding, in the input's precision.
2. ``truncated_svd`` factors a float32 / complex64 array in single precision where
   ``tol ≥ 1e-4`` and the rank rule allow it, and certifies the result in float64 on
   the matrix: the residuals are recomputed here, independently, and meet ``tol``.
   Tighter tolerances, energy rank rules below 1e-3 and float64 inputs run in double.
3. A single-precision SVD whose residuals miss ``tol`` is replaced by the
   double-precision one (``_lapack_svd`` is wrapped to spoil its result).

The checks are on what ran (the notes) and on residuals and identities, never on timings.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lowrank import assert_certified, independent_residuals, matrix

from svdkit.lora.factor import frobenius2
from svdkit.lowrank import truncated_svd

# (``svdkit.linalg.svd`` the module: the package exports a function of that name)
svd_module = importlib.import_module("svdkit.linalg.svd")

SINGLE_NOTE = "single-precision gesdd"


def _matrix(m: int, n: int, dtype, spectrum: str, seed: int) -> np.ndarray:
    """:func:`test_lowrank.matrix` with a named spectrum, in ``dtype``."""
    p = min(m, n)
    i = np.arange(1, p + 1, dtype=float)
    s = {
        "power": 1.0 / i,
        "decay": 0.85**i + 0.01,
        "deficient": np.where(i <= p // 3, 1.0 / i, 0.0),
        "ill": np.logspace(0, -6, p),
    }[spectrum]
    return matrix(m, n, s, seed=seed, complex_=np.dtype(dtype).kind == "c").astype(dtype)


def _notes(r) -> str:
    return " ".join(r.notes)


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 70),
    n=st.integers(1, 70),
    dtype=st.sampled_from([np.float32, np.complex64]),
    full=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_single_precision_lapack_svd_keeps_its_precision(m, n, dtype, full, seed):
    A = _matrix(m, n, dtype, "power", seed)
    U, s, Vh, driver = svd_module._lapack_svd(A, full)
    assert driver == "gesdd"
    assert U.dtype == np.dtype(dtype) and Vh.dtype == np.dtype(dtype)
    assert s.dtype == np.dtype(np.float32)
    p = min(m, n)
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)
    eps = float(np.finfo(np.float32).eps)
    A64 = A.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    rebuilt = (U[:, :p].astype(A64.dtype) * s) @ Vh[:p].astype(A64.dtype)
    assert np.linalg.norm(rebuilt - A64) <= 50 * eps * max(m, n) * max(float(s[0]), 1e-30)
    for Q in (U, Vh.conj().T):
        gram = Q.conj().T.astype(A64.dtype) @ Q.astype(A64.dtype)
        assert np.abs(gram - np.eye(Q.shape[1])).max() <= 50 * eps * max(m, n)
    exact = np.linalg.svd(A64, compute_uv=False)
    assert np.abs(s - exact).max() <= 50 * eps * max(m, n) * max(float(exact[0]), 1e-30)


@settings(max_examples=20, deadline=None)
@given(
    shape=st.sampled_from([(90, 90), (140, 60), (60, 140), (120, 80)]),
    dtype=st.sampled_from([np.float32, np.complex64]),
    spectrum=st.sampled_from(["power", "decay", "deficient", "ill"]),
    fortran=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_float32_lapack_is_single_precision_and_certified(shape, dtype, spectrum, fortran, seed):
    m, n = shape
    A = _matrix(m, n, dtype, spectrum, seed)
    if fortran:
        A = np.asfortranarray(A)
    k = min(m, n) // 2 + 5  # more than half the triplets: method="auto" picks LAPACK
    tol = 1e-3
    r = truncated_svd(A, k, tol=tol)
    assert r.method == "lapack"
    assert SINGLE_NOTE in _notes(r)
    # residuals recomputed in float64 and equal to those returned, orthonormal to
    # float64 rounding, the sign rule
    assert_certified(A, r, tol, k)
    A64 = A.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    exact = np.linalg.svd(A64, compute_uv=False)[:k]
    assert np.abs(r.s - exact).max() <= 1e-5 * exact[0]
    # Eckart–Young: the rank-k error is the optimum's, to single-precision rounding
    err = np.linalg.norm(A64 - (r.U * r.s) @ r.Vh)
    opt = np.sqrt(np.sum(np.linalg.svd(A64, compute_uv=False)[k:] ** 2))
    assert err <= opt + 1e-5 * np.linalg.norm(A64)
    # the Rayleigh quotients uᵢᴴ A vᵢ are measured in float64 (not sgesdd's float32 σ
    # taken for them), so the error from sums — ‖A‖_F² − 2 Σ σᵢ ρᵢ + Σ σᵢ², what LoRA
    # extraction reports — is the error measured above, to float64 rounding
    V64, U64 = r.Vh.conj().T.astype(A64.dtype), r.U.astype(A64.dtype)
    rho = np.real(np.einsum("ij,ij->j", U64.conj(), A64 @ V64))
    assert np.abs(r.rayleigh - rho).max() <= 1e-12 * exact[0]
    fro2 = np.linalg.norm(A64) ** 2
    from_sums = fro2 - 2 * float(r.s @ r.rayleigh) + float(r.s @ r.s)
    assert abs(from_sums - err**2) <= 1e-12 * fro2


@pytest.mark.parametrize(
    ("dtype", "tol"),
    [(np.float32, 1e-6), (np.float32, 1e-5), (np.float64, 1e-3), (np.complex128, 1e-3)],
)
def test_tight_tolerances_and_double_inputs_run_in_double(dtype, tol):
    A = _matrix(80, 60, dtype, "decay", 3)
    r = truncated_svd(A, 40, tol=tol)
    assert r.method == "lapack"
    assert SINGLE_NOTE not in _notes(r) and "gesdd" in _notes(r)
    A64 = A.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    right, left = independent_residuals(A64, r)
    assert max(right.max(), left.max()) <= 1e-12 * float(r.s[0])


@pytest.mark.parametrize(("rank_tol", "single"), [(0.1, True), (1e-3, True), (1e-4, False)])
def test_energy_rank_mode_uses_single_precision_only_for_loose_rules(rank_tol, single):
    A = _matrix(60, 50, np.float32, "decay", 5)  # 3000 entries: "auto" is LAPACK
    r = truncated_svd(A, None, tol=1e-3, rank_tol=rank_tol, rank_norm="energy")
    assert r.method == "lapack"
    assert (SINGLE_NOTE in _notes(r)) is single
    s = np.linalg.svd(A.astype(np.float64), compute_uv=False)
    left = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])  # left[k]: Σ_{i>k} σᵢ²
    k = r.s.size
    assert left[k] <= rank_tol**2 * np.sum(s**2) * (1 + 1e-5)
    assert k == 0 or left[k - 1] > rank_tol**2 * np.sum(s**2) * (1 - 1e-5)


def test_a_single_precision_svd_that_misses_tol_is_redone_in_double(monkeypatch):
    real = svd_module._lapack_svd
    spoiled = []

    def spoil(a, full):
        U, s, Vh, driver = real(a, full)
        if a.dtype == np.float32:
            spoiled.append(a.shape)
            # u₁, u₂ turned by 0.05 rad (still orthonormal): residuals ≈ 5e-2 σ₁, above
            # tol, whatever σ the certificate takes (it measures uᵢᴴ A vᵢ in float64)
            c, t = np.float32(np.cos(0.05)), np.float32(np.sin(0.05))
            U = U.copy()
            U[:, 0], U[:, 1] = c * U[:, 0] - t * U[:, 1], t * U[:, 0] + c * U[:, 1]
        return U, s, Vh, driver

    monkeypatch.setattr(svd_module, "_lapack_svd", spoil)
    A = _matrix(70, 50, np.float32, "power", 9)
    r = truncated_svd(A, 40, tol=1e-3)
    assert spoiled == [(70, 50)]
    assert SINGLE_NOTE not in _notes(r)
    right, left = independent_residuals(A, r)
    assert max(right.max(), left.max()) <= 1e-12 * float(r.s[0])
    np.testing.assert_allclose(r.s, np.linalg.svd(A.astype(np.float64), compute_uv=False)[:40])


@settings(max_examples=20, deadline=None)
@given(
    m=st.integers(0, 300),
    n=st.integers(0, 40),
    dtype=st.sampled_from([np.float32, np.float64, np.float16]),
    seed=st.integers(0, 2**16),
)
def test_frobenius2_is_the_float64_sum_of_squares(m, n, dtype, seed):
    d = (np.random.default_rng(seed).standard_normal((m, n)) * 3).astype(dtype)
    exact = float(np.sum(d.astype(np.float64) ** 2))
    assert frobenius2(d) == pytest.approx(exact, rel=1e-12, abs=0.0)


def test_lapack_counts_its_read_of_the_matrix(tmp_path):
    # ``passes`` is the reads of A: the dense SVD reads it once (an in-memory array or
    # sparse matrix said 0, the CLI "1 iteration, 0 passes"; a .npy file said 1)
    import scipy.sparse as sp

    A = _matrix(60, 40, np.float64, "decay", 1)
    np.save(tmp_path / "a.npy", A)
    for source in (A, np.asfortranarray(A), A.astype(np.float32), sp.csr_matrix(A),
                   sp.csc_matrix(A).T, str(tmp_path / "a.npy")):
        r = truncated_svd(source, 3, method="lapack")
        assert r.method == "lapack" and r.passes == 1, type(source)
