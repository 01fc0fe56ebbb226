"""Rank mode (``rank_tol``) at large ranks, the advice of a ConvergenceError, the k range.

1. Rank mode with ``method="auto"`` on a matrix that can be held densely hands
   over from the Krylov steps to one dense SVD (LAPACK) as soon as the certified
   values show that many triplets remain; elsewhere Krylov grows its target
   geometrically (never one triplet at a time, which took hundreds of steps).
2. A ConvergenceError never advises the method that just failed.
3. ``k``: the API takes ``0 ≤ k ≤ min(m, n)``, the CLI ``1 ≤ -k ≤ min(m, n)``, and
   each says exactly that.

The checks are on the mechanism (which method ran, how many steps, what the notes
say), never on timings.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import typer
from typer.testing import CliRunner

import svdkit.inputs
import svdkit.lowrank.api as api
from svdkit.cli.svd_command import register
from svdkit.errors import ConvergenceError, ShapeError
from svdkit.lowrank import as_operator, rank_by_tolerance, truncated_svd
from svdkit.lowrank._common import Target
from svdkit.lowrank.krylov import block_lanczos
from svdkit.lowrank.rank import rank_lower_bound


def _exact_rank(s: np.ndarray, eps: float, norm: str) -> int:
    """The smallest k with relative error ≤ eps, from the whole spectrum ``s``."""
    if norm == "spectral":
        return int(np.sum(s > eps * s[0]))
    fro2 = float(np.sum(s**2))
    left = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])  # left[k]: Σ_{i>k}
    return int(np.flatnonzero(left <= eps**2 * fro2)[0])


def _certified(r, A: np.ndarray, tol: float = 1e-6) -> None:
    assert r.converged
    right = np.linalg.norm(A @ r.Vh.conj().T - r.U * r.s, axis=0)
    left = np.linalg.norm(A.conj().T @ r.U - r.Vh.conj().T * r.s, axis=0)
    assert np.all(np.maximum(right, left) <= tol * r.s[0] * (1 + 1e-6))
    np.testing.assert_allclose(r.residuals_right, right, rtol=1e-5, atol=1e-12 * r.s[0])


@pytest.fixture(scope="module")
def flat() -> np.ndarray:
    """A Gaussian 600×300 matrix: a flat spectrum, its rank at 5 % energy is 293."""
    return np.random.default_rng(1).standard_normal((600, 300))


# ------------------------------------------------------------------ 1. hand-over to LAPACK


@pytest.mark.parametrize("norm", ["energy", "spectral"])
def test_dense_rank_mode_hands_over_to_lapack(flat, norm):
    s = np.linalg.svd(flat, compute_uv=False)
    r = rank_by_tolerance(flat, 0.05, norm)
    assert r.k == _exact_rank(s, 0.05, norm) and r.k > 0.9 * 300
    assert r.method == "lapack"
    assert r.notes[0] == "method auto → krylov"
    assert any("certified values and ‖A‖_F put the rank at" in note for note in r.notes)
    assert any("then a dense SVD" in note for note in r.notes)
    assert any(note.startswith("dense SVD by LAPACK") for note in r.notes)
    # a few Krylov steps, then one SVD (the Krylov run alone took 117 steps here)
    assert r.iterations <= 40
    assert r.rank_tol == 0.05 and r.rank_norm == norm
    _certified(r, flat)
    np.testing.assert_allclose(r.s, s[: r.k], rtol=1e-10)


def test_hand_over_on_a_wide_matrix():
    # wide: the Krylov steps run on Aᴴ; LAPACK on A itself (no note on Aᴴ left)
    A = np.random.default_rng(2).standard_normal((300, 700))
    r = truncated_svd(A, rank_tol=0.1, rank_norm="energy")
    assert r.method == "lapack" and r.U.shape == (300, r.k) and r.Vh.shape == (r.k, 700)
    assert not any("worked on Aᴴ" in note for note in r.notes)
    assert r.k == _exact_rank(np.linalg.svd(A, compute_uv=False), 0.1, "energy")
    _certified(r, A)


def test_no_hand_over_when_asked_for_krylov_or_when_k_caps_the_rank(flat):
    r = truncated_svd(flat, rank_tol=0.05, rank_norm="energy", method="krylov")
    assert r.method == "krylov" and r.k == 293
    assert not any("then a dense SVD" in note for note in r.notes)
    # k caps the rank well below a large share: Krylov, and the cap is reported
    with pytest.raises(ConvergenceError, match="needs more than the k=20 triplets") as info:
        truncated_svd(flat, 20, rank_tol=0.05, rank_norm="energy")
    assert info.value.result.method == "krylov"
    # a cap above the share: LAPACK, and the same report
    with pytest.raises(ConvergenceError, match="needs more than the k=200 triplets") as info:
        truncated_svd(flat, 200, rank_tol=0.05, rank_norm="energy")
    assert info.value.result.method == "lapack" and info.value.result.k == 200


def test_small_rank_stays_on_krylov(flat):
    # the rank is a small share: no hand-over, the Krylov result as before
    A = flat * (0.7 ** np.arange(300))
    r = rank_by_tolerance(A, 1e-3, "energy")
    assert r.method == "krylov" and r.k == _exact_rank(np.linalg.svd(A, compute_uv=False),
                                                       1e-3, "energy")  # fmt: skip
    _certified(r, A)


def test_the_cli_hands_over_on_a_npy_file(flat, tmp_path):
    np.save(tmp_path / "a.npy", flat)
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """svdkit (test app)."""

    register(app)
    out = tmp_path / "out.npz"
    res = CliRunner().invoke(
        app,
        ["svd", str(tmp_path / "a.npy"), "--rank-tol", "0.05", "--rank-norm", "energy",
         "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with np.load(out, allow_pickle=False) as z:
        assert str(z["method"]) == "lapack" and bool(z["converged"])
        assert z["s"].size == 293 and int(z["iterations"]) <= 40


# ------------------------------------------------------------------ 1. geometric growth


def test_krylov_rank_guess_grows_geometrically(flat):
    """The triplets wanted step by step: doubled each time, never converged + 1."""
    op = as_operator(flat)
    fro = float(np.linalg.norm(flat))
    target = Target(16, 300, 0.05, "energy", fro, full=300)
    wanted: list[int] = []
    _, k, _ = block_lanczos(
        op, target, tol=1e-6, rng=np.random.default_rng(0),
        progress=lambda step, passes, conv, want, worst: wanted.append(want),
    )  # fmt: skip
    assert k == 293
    guesses = [w for i, w in enumerate(wanted) if i == 0 or w != wanted[i - 1]]
    # before the Gram matrix takes over: each new guess at least doubles the last
    steps = guesses[:-1]
    assert len(steps) >= 2
    assert all(b >= 2 * a for a, b in itertools.pairwise(steps)), guesses
    assert len(guesses) <= 6, guesses


@pytest.mark.parametrize("densify", [True, False])
def test_sparse_stays_on_krylov_and_grows_geometrically(monkeypatch, densify):
    """Sparse products cost far less than a dense matrix's: no hand-over, even where
    the matrix could be densified; the Krylov target grows geometrically."""
    if not densify:
        # as if too large to densify (svdkit.lowrank reads the limit at each call)
        monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 10_000)
    S = sp.random(3000, 400, density=0.02, random_state=4, format="csr")
    r = truncated_svd(S, rank_tol=0.5, rank_norm="energy")
    D = S.toarray()
    assert r.method == "krylov"
    assert not any("then a dense SVD" in note for note in r.notes)
    assert r.k == _exact_rank(np.linalg.svd(D, compute_uv=False), 0.5, "energy") == 236
    _certified(r, D)
    # (growing one triplet at a time, this took 309 steps)
    assert r.iterations <= 150


def test_rank_lower_bound_never_exceeds_the_rank():
    rng = np.random.default_rng(5)
    for _ in range(200):
        p = int(rng.integers(5, 60))
        s = np.sort(rng.random(p) ** rng.uniform(0.2, 6))[::-1]
        fro2 = float(np.sum(s**2))
        for norm in ("spectral", "energy"):
            eps = float(rng.uniform(0.01, 0.9))
            rank = _exact_rank(s, eps, norm)
            for c in range(rank + 1):  # the rule is not met by the c leading values
                least = rank_lower_bound(s[:c], fro2, eps, norm, p)
                assert c <= least <= rank, (norm, eps, c, least, rank)
    # flat: the bound is the rank from the first value on
    assert rank_lower_bound(np.ones(1), 100.0, 0.1, "energy", 100) == 99


# ------------------------------------------------------------------ 2. the advice


def test_krylov_failure_does_not_advise_krylov(flat):
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(flat, 20, method="krylov", max_iter=2)
    msg = str(info.value)
    assert msg.startswith("krylov ")
    assert "method='krylov'" not in msg
    assert "method='lapack'" in msg and "max_iter" in msg


def test_randomized_failure_advises_krylov(flat):
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(flat, 20, method="randomized", max_iter=1)
    msg = str(info.value)
    assert msg.startswith("randomized ") and "method='krylov'" in msg
    assert "method='randomized'" not in msg


@pytest.mark.parametrize("method", ["krylov", "gram", "randomized", "dash"])
def test_advice_never_names_the_method_that_ran(method):
    assert f"method='{method}'" not in api._what_else(method)


# ------------------------------------------------------------------ 3. the range of k


def test_api_k_range_message_and_k_zero():
    A = np.random.default_rng(6).standard_normal((60, 40))
    with pytest.raises(ShapeError, match=r"k must be between 0 and min\(m, n\) = 40 "):
        truncated_svd(A, 41)
    with pytest.raises(ShapeError, match="between 0 and"):
        truncated_svd(A, -1)
    assert truncated_svd(A, 0).k == 0  # 0 is taken: no triplets
    with pytest.raises(ConvergenceError):  # with rank_tol, k = 0 caps the rank at 0
        truncated_svd(A, 0, rank_tol=0.5)
    assert truncated_svd(np.zeros((60, 40)), 0, rank_tol=0.5).k == 0


def test_cli_k_range_message(tmp_path):
    np.save(tmp_path / "a.npy", np.random.default_rng(7).standard_normal((60, 40)))
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """svdkit (test app)."""

    register(app)
    runner = CliRunner()
    out = str(tmp_path / "o.npz")
    res = runner.invoke(app, ["svd", str(tmp_path / "a.npy"), "-k", "41", "-o", out])
    assert isinstance(res.exception, ShapeError)
    msg = str(res.exception)
    assert "-k must be between 1 and min(m, n) = 40" in msg and "60×40" in msg
    assert "between 0" not in msg
    res = runner.invoke(app, ["svd", str(tmp_path / "a.npy"), "-k", "0", "-o", out])
    assert isinstance(res.exception, ShapeError) and "-k must be at least 1" in str(res.exception)
    res = runner.invoke(app, ["svd", str(tmp_path / "a.npy"), "-k", "40", "-o", out])
    assert res.exit_code == 0, res.output


def test_rank_mode_short_of_the_rank_says_so():
    """Every triplet computed certified, the rule not met: it said 'did not certify 0
    of 349 singular triplets'."""
    from svdkit.lowrank._common import Run
    from svdkit.lowrank.api import LowRankSVD, _convergence_error

    A = np.random.default_rng(8).standard_normal((50, 30))
    U, s, Vh = np.linalg.svd(A, full_matrices=False)
    k = 5
    result = LowRankSVD(
        U[:, :k], s[:k], Vh[:k], A, "krylov", residuals_right=np.zeros(k),
        residuals_left=np.zeros(k), rayleigh=s[:k], tol=1e-6, method="krylov",
        iterations=7, passes=8, converged=False, rank_tol=0.05, rank_norm="energy",
    )  # fmt: skip
    err = _convergence_error(result, np.ones(k, dtype=bool), Run("krylov"), None)
    msg = str(err)
    assert "did not certify 0" not in msg
    assert "did not reach the rank for rank_tol=0.05 (energy)" in msg
    assert "the 5 triplets it certified" in msg and "method='krylov'" not in msg
    assert err.result is result
