"""Adversarial spectra for truncated_svd / svdkit.svd(A, k) / rank by tolerance.

Every number is checked against LAPACK (``np.linalg.svd``) and recomputed residuals,
on an exactly scaled copy (``2^e · A``) where ``A``'s own squares would overflow.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import svdkit
from svdkit.errors import ConvergenceError, SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank._common import API_OPTIONS, CLI_OPTIONS, advise, advised, reworded
from svdkit.lowrank.operators import as_operator, scaled_fro_norm
from tests.cli_support import error_line, run_svdkit

METHODS = ["auto", "krylov", "gram", "randomized", "dash", "lapack"]


def _matrix(m: int, n: int, s: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    return (U * s) @ V.T


def _times(x: np.ndarray, e: int) -> np.ndarray:
    """``2^e · x``, exact (in two steps: ``2^e`` itself may not be a float64)."""
    return (x * 2.0 ** (e // 2)) * 2.0 ** (e - e // 2)


def _check(A: np.ndarray, r, e: int = 0) -> None:
    """σ against LAPACK and both residuals recomputed, on ``2^e · A``."""
    B = _times(A, e)
    ref = np.linalg.svd(B, compute_uv=False)
    k = r.k
    if not k:
        return
    s = _times(r.s, e)
    assert np.all(np.isfinite(s))
    assert np.max(np.abs(s - ref[:k])) <= 10 * r.tol * ref[0]
    V = r.Vh.conj().T
    right = np.linalg.norm(B @ V - r.U * s, axis=0)
    left = np.linalg.norm(B.conj().T @ r.U - V * s, axis=0)
    assert np.max(np.maximum(right, left)) <= 2 * r.tol * ref[0]
    assert np.allclose(r.U.conj().T @ r.U, np.eye(k), atol=1e-10)
    assert np.allclose(r.Vh @ V, np.eye(k), atol=1e-10)


def _energy_rank(s: np.ndarray, eps: float) -> int:
    total = np.sum(s**2)
    return next(k for k in range(s.size + 1) if np.sum(s[k:] ** 2) <= eps**2 * total)


def _spectral_rank(s: np.ndarray, eps: float) -> int:
    return next(k for k in range(s.size + 1) if k == s.size or s[k] <= eps * s[0])


# ------------------------------------------------------------------ 1. ‖A‖_F overflows


@pytest.mark.parametrize("method", METHODS)
def test_energy_rank_when_frobenius_norm_overflows(method):
    """σ₁ = σ₂ = 1.41e308 (finite), ‖A‖_F = 2e308 (inf): the rank is 2, not 1."""
    A = np.array([[1e308, 1e308], [1e308, -1e308]])
    s = np.linalg.svd(_times(A, -1000), compute_uv=False)
    r = truncated_svd(A, rank_tol=0.5, rank_norm="energy", method=method)
    assert r.k == _energy_rank(s, 0.5) == 2
    assert r.converged and np.all(np.isfinite(r.s))
    _check(A, r, -1000)


@pytest.mark.parametrize("method", ["lapack", "krylov", "randomized", "dash", "gram"])
def test_energy_rank_of_a_huge_matrix(method):
    """σ = 1e308 … 5e307 (300×200): energy rank 96 (was 1 by LAPACK)."""
    s0 = np.linspace(2, 1, 200)
    A = _matrix(300, 200, s0, seed=1) * 5e307
    s = np.linalg.svd(_times(A, -1020), compute_uv=False)
    r = truncated_svd(A, rank_tol=0.6, rank_norm="energy", method=method)
    assert r.k == _energy_rank(s, 0.6)
    _check(A, r, -1020)


def test_scaled_frobenius_norm_is_finite():
    A = np.array([[1e308, 1e308], [1e308, -1e308]])
    for op in (as_operator(A), as_operator(sp.csr_array(A)), as_operator(np.asfortranarray(A))):
        value, c = scaled_fro_norm(op)
        assert np.isfinite(value)
        assert np.isclose(value, np.linalg.norm(A * c))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("k", [None, 1])
def test_overflowing_sigma_is_refused_never_certified(method, k):
    """σ₁ = 2e308 cannot be returned in float64: a clear error, never s = [inf]
    "certified" (inf ≤ tol·inf) nor k = 0 for a nonzero matrix."""
    B = np.full((2, 2), 1e308)
    kw = {"rank_tol": 0.5} if k is None else {}
    with pytest.raises(SvdkitError, match="beyond the largest float64"):
        truncated_svd(B, k, method=method, **kw)


# ------------------------------------------------------------------ 2 / 5. extreme scales


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("scale", "e"), [(1.7e308, -1024), (1e306, -1017), (1e-308, 1023), (2e-310, 1029)]
)
def test_any_scale_up_to_float_max_and_down_to_subnormal(method, scale, e):
    """σ₁ from 1.7e308 down to subnormal: the values LAPACK gives for the scaled copy
    (the subnormal entries are what they are: compared at their own precision)."""
    A = _matrix(300, 200, np.geomspace(1, 1e-3, 200), seed=2) * scale
    r = truncated_svd(A, 5, method=method, tol=1e-8)
    ref = np.linalg.svd(_times(A, e), compute_uv=False)
    s = _times(r.s, e)
    rel = 1e-8 if scale > 1e-300 else 1e-3  # subnormal entries carry fewer digits
    assert np.max(np.abs(s - ref[:5])) <= rel * ref[0]
    if scale > 1e-300:
        _check(A, r, e)


def test_svd_front_door_at_huge_and_subnormal_scales():
    """svdkit.svd(A, k) (1000×400: the large-scale engine) where NumPy succeeds."""
    base = _matrix(1000, 400, np.linspace(2, 1, 400), seed=0)
    for scale, e in ((5e305, -1015), (1e-310, 1030)):
        A = base * scale
        r = svdkit.svd(A, 10)
        ref = np.linalg.svd(_times(A, e), compute_uv=False)[:10]
        rel = 1e-9 if scale > 1 else 1e-3
        assert np.max(np.abs(_times(r.s, e) - ref)) <= rel * ref[0]
    r = truncated_svd(sp.csr_array(base * 5e305), 5)
    _check(base * 5e305, r, -1015)


# ------------------------------------------------------------------ 3. randomized, cap k


def _geo() -> np.ndarray:
    return _matrix(400, 300, np.geomspace(1, 1e-4, 300), seed=5)


@pytest.mark.parametrize("method", ["randomized", "dash", "krylov"])
def test_rank_cap_is_accepted_when_its_rule_holds(method):
    A = _geo()
    s = np.linalg.svd(A, compute_uv=False)
    assert _spectral_rank(s, 1e-2) == 150
    r = truncated_svd(A, 150, rank_tol=1e-2, method=method)
    assert r.k == 150 and r.converged
    _check(A, r)


@pytest.mark.parametrize("method", ["randomized", "dash", "krylov"])
def test_rank_cap_too_small_says_raise_k(method):
    with pytest.raises(ConvergenceError, match="raise k or loosen rank_tol") as info:
        truncated_svd(_geo(), 5, rank_tol=1e-2, method=method)
    assert "max_iter" not in str(info.value)


# ------------------------------------------------------------------ 4. zero LinearOperator


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("norm", ["energy", "spectral"])
def test_zero_linear_operator_rank_zero(method, norm):
    A = np.zeros((300, 260))
    L = spla.LinearOperator(A.shape, matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y)
    r = truncated_svd(L, rank_tol=0.1, rank_norm=norm, method=method)
    assert r.k == 0 and r.converged


def test_linear_operator_product_with_no_columns():
    A = np.ones((5, 3))
    L = spla.LinearOperator(A.shape, matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y)
    op = as_operator(L)
    assert op.matmat(np.zeros((3, 0))).shape == (5, 0)
    assert op.rmatmat(np.zeros((5, 0))).shape == (3, 0)


# ------------------------------------------------------------------ 6. advice in the caller's words


def test_advice_spelled_for_each_caller():
    err = advised(ConvergenceError, "it stopped. ", "Raise {max_iter}, or use {method:lapack}")
    err.result = "kept"
    assert str(err) == "it stopped. Raise max_iter, or use method='lapack'"
    cli = reworded(err, CLI_OPTIONS)
    assert str(cli) == "it stopped. Raise --max-iter, or use --method lapack"
    assert isinstance(cli, ConvergenceError) and cli.result == "kept"
    assert advise("{k} {tol} {rank_tol}", CLI_OPTIONS) == "-k --tol --rank-tol"
    assert advise("{method}", API_OPTIONS) == "method"
    plain = SvdkitError("no advice")
    assert reworded(plain, CLI_OPTIONS) is plain


def test_cli_advice_names_its_flags(tmp_path, capsys, monkeypatch):
    path = tmp_path / "geo.npy"
    np.save(path, _geo())
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("svd", path, "-o", tmp_path / "o.npz", "-k", "10", "--max-iter", "1",
                       "--tol", "1e-10")  # fmt: skip
    line = error_line(code, err[err.index("error: ") :])  # (after the progress bar)
    assert "--max-iter" in line and "--tol" in line and "--method lapack" in line
    assert "max_iter" not in line and "method='" not in line
    code, _, err = run("svd", path, "-o", tmp_path / "o.npz", "-k", "5", "--rank-tol",
                       "0.01", "--method", "randomized")  # fmt: skip
    line = error_line(code, err[err.index("error: ") :])
    assert "raise -k or loosen --rank-tol" in line


def test_svd_advice_names_truncated_svd(monkeypatch):
    A = _geo()
    L = spla.LinearOperator(A.shape, matvec=lambda x: A @ x, dtype=float)  # no rmatvec
    # (one that can be densified runs by LAPACK under method="auto": not this one)
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", A.size - 1)
    with pytest.raises(SvdkitError) as info:
        svdkit.svd(L, 5)
    msg = str(info.value)
    assert "svdkit.lowrank.truncated_svd(A, k" in msg and "method='lapack'" in msg
    assert msg.index("svdkit.lowrank.truncated_svd") < msg.index("method='lapack'")


# ------------------------------------------------------------------ 7. max_iter in rank mode


@pytest.mark.parametrize("method", ["randomized", "dash"])
@pytest.mark.parametrize("max_iter", [1, 3])
def test_max_iter_is_a_total_in_rank_mode(method, max_iter):
    A = _geo()
    try:
        r = truncated_svd(A, rank_tol=1e-2, method=method, max_iter=max_iter, tol=1e-3)
    except ConvergenceError as err:
        r = err.result
        assert "max_iter" in str(err)
    assert r.iterations <= max_iter


# ------------------------------------------------------------------ 8. spectral rank_tol < tol


@pytest.mark.parametrize("method", ["krylov", "gram", "randomized", "dash", "lapack", "auto"])
def test_spectral_rank_below_tol_is_the_same_for_every_method(method):
    """σ₁ = 1e10 over a tail 1 … 0.01, rank_tol = 5e-11 with the default tol = 1e-6:
    every method certifies to rank_tol / 10 and finds the true rank (was 1, 16, 20)."""
    s0 = np.concatenate([[1e10], np.geomspace(1, 0.01, 199)])
    A = _matrix(400, 200, s0, seed=2)
    s = np.linalg.svd(A, compute_uv=False)
    r = truncated_svd(A, rank_tol=5e-11, method=method)
    assert r.k == _spectral_rank(s, 5e-11)
    assert r.tol == pytest.approx(5e-12)
    assert any("tightened" in note for note in r.notes)
    _check(A, r)


def test_reconstruction_error_of_a_huge_matrix():
    """residuals().reconstruction = ‖A − U Σ Vᴴ‖_F / ‖A‖_F with ‖A‖_F = inf in float64."""
    A = _matrix(300, 200, np.linspace(2, 1, 200), seed=1) * 5e307
    r = truncated_svd(A, 20)
    B = _times(A, -1020)
    expected = np.linalg.norm(B - (r.U * _times(r.s, -1020)) @ r.Vh) / np.linalg.norm(B)
    assert r.residuals().reconstruction == pytest.approx(expected, rel=1e-6)
