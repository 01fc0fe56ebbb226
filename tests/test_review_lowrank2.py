"""Second review of ``svdkit.lowrank`` as a data scientist uses it: the bugs found.

* block Krylov lost orthogonality on clusters of nearly equal singular values (a
  block nearly rank-deficient in itself: its QR divided the rounding left by
  Gram–Schmidt by a tiny ``|Rᵢᵢ|``) and ended in a ConvergenceError with σ₁ read
  as 0.75 where randomized iteration certified in 6 steps;
* the search for missed copies of a repeated value came back non-orthogonal to
  the vectors it was deflated by (the lock was not projected off again after the
  passes against the basis);
* with float32 steps (``tol ≥ 1e-4``) the Rayleigh–Ritz merging those copies took
  float32 products: reported residuals of 1e-15·σ₁ where the matrix's own are 3e-7;
* dashSVD ran all its 200 iterations on a zero matrix;
* a dask matrix of rank below the block (TSQR fall-back) made the distributed
  scheduler warn about "different `run_spec`" keys (dask/dask#9888);
* a LinearOperator whose matvec returns the wrong length was SciPy's bare
  "cannot reshape" ValueError;
* a truncated ``.npy`` file named every row of its first block as unreadable;
* ``svdkit svd`` named its options as the API does (``seed … or None``,
  ``max_iter``) and its help said ``--rank-tol`` takes no ``-k``.

Every certificate is checked here independently: residuals recomputed from the
matrix in float64.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from cli_support import error_line, run_svdkit

from svdkit.errors import ConvergenceError, FileFormatError, ShapeError, SvdkitError
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.orth import orthonormalize

EPS = float(np.finfo(float).eps)


def _orthonormal(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.linalg.qr(rng.standard_normal((n, k)))[0]


def _matrix(sv: np.ndarray, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = sv.size
    return (_orthonormal(rng, m, n) * sv) @ _orthonormal(rng, n, n).T


def _residuals(A, r) -> tuple[np.ndarray, np.ndarray]:
    """Both residuals of every triplet, recomputed from ``A`` in float64 (complex128)."""
    D = np.asarray(A).astype(np.complex128 if np.iscomplexobj(A) else np.float64)
    right = np.linalg.norm(D @ r.Vh.conj().T - r.U * r.s, axis=0)
    left = np.linalg.norm(D.conj().T @ r.U - r.Vh.conj().T * r.s, axis=0)
    return right, left


def _certified(A, r, k: int, sv: np.ndarray) -> None:
    """``k`` triplets, converged, both recomputed residuals within ``tol·σ₁`` and equal
    to the reported ones, σ the known ``sv`` to ``tol·σ₁`` (plus ``A``'s rounding)."""
    assert r.converged and r.k == k
    right, left = _residuals(A, r)
    bound = r.tol * r.s[0]
    assert right.max() <= 1.001 * bound and left.max() <= 1.001 * bound
    floor = 1e3 * EPS * r.s[0]
    np.testing.assert_allclose(r.residuals_right, right, rtol=0.05, atol=floor)
    np.testing.assert_allclose(r.residuals_left, left, rtol=0.05, atol=floor)
    rounding = 1e-6 if np.asarray(A).dtype == np.float32 else 0.0
    assert np.abs(np.sort(sv)[::-1][:k] - r.s).max() <= 2 * bound + rounding


# ------------------------------------------------------------------ Krylov orthogonality


def _cluster(spread: float, seed: int = 0, m: int = 900, n: int = 400) -> tuple:
    """σ = 1 ×3, 0.9 ×30, then n − 33 values 0.2 (1 + spread·uᵢ): ``(A, σ)``, m×n."""
    rng = np.random.default_rng(seed + 100)
    sv = np.r_[np.ones(3), 0.9 * np.ones(30), 0.2 * (1 + spread * rng.random(n - 33))]
    return _matrix(sv, m, seed), sv


@pytest.mark.parametrize("spread", [1e-12, 1e-9])
@pytest.mark.parametrize("k", [34, 40])
def test_krylov_certifies_into_a_cluster_of_nearly_equal_values(spread, k):
    """k reaching into a cluster of nearly equal values (1e-12 to 1e-9 apart): the
    Krylov basis lost 4e-6 of orthogonality at its second step and all of it by
    the tenth; after 2500 steps, a ConvergenceError with σ₁ read as 0.75 and
    residuals ≈ σ₁ (randomized iteration certified the same in 6 iterations)."""
    A, sv = _cluster(spread, m=500, n=240)
    _certified(A, truncated_svd(A, k, method="krylov", tol=1e-6, max_iter=300), k, sv)


def test_krylov_certifies_a_float32_matrix_with_a_repeated_value():
    """The same cluster made by float32 rounding of an exactly repeated value (what a
    float32 array of `I + low rank` or a saved model holds): never certified."""
    sv = np.r_[np.ones(3), 0.9 * np.ones(30), 0.2 * np.ones(207)]
    A32 = _matrix(sv, 500, 2).astype(np.float32)
    for k in (34, 40):
        r = truncated_svd(A32, k, method="krylov", tol=1e-6, max_iter=300)
        _certified(A32, r, k, sv)


def test_a_block_nearly_rank_deficient_in_itself_stays_orthogonal_to_the_basis():
    """Gram–Schmidt against the basis leaves ``eps ‖W‖`` of it in the block; a
    direction that the block's own QR then cancels to ``|Rᵢᵢ| = 1e-10`` came out
    with 1e-6 of the basis in it."""
    rng = np.random.default_rng(1)
    n = 400
    V = _orthonormal(rng, n, 16)
    X = rng.standard_normal((n, 3))
    X -= V @ (V.T @ X)
    U = rng.standard_normal((n, 5))
    U -= V @ (V.T @ U)
    W0 = V @ rng.standard_normal((16, 8)) + np.c_[X, X @ rng.standard_normal((3, 5)) + 1e-10 * U]
    W = W0.copy()
    Q, R, coef, _ = orthonormalize(W, V, rng=rng, drop=n * EPS * np.abs(W0).max())
    assert np.abs(V.T @ Q).max() < 1e-12
    assert np.abs(Q.T @ Q - np.eye(8)).max() < 1e-12
    # the recurrence stays exact: W = V coef + Q R
    assert np.linalg.norm(W0 - V @ coef - Q @ R) < 1e-13 * np.linalg.norm(W0)


def test_a_deflated_block_stays_orthogonal_to_the_locked_vectors():
    """The search for missed copies of a repeated value runs Lanczos off the vectors
    found (``lock``): they were projected off the block before the passes against
    the basis only, whose ``V c`` is orthogonal to them to ``eps |c|`` — 1e-7 of
    the lock in what is left of a nearly invariant block (1e-9 of it)."""
    rng = np.random.default_rng(2)
    n = 400
    both = _orthonormal(rng, n, 24)
    V, lock = both[:, :16], both[:, 16:]
    Y = rng.standard_normal((n, 8))
    Y -= both @ (both.T @ Y)
    W = V @ rng.standard_normal((16, 8)) + lock @ rng.standard_normal((8, 8)) + 1e-9 * Y
    Q, _, _, _ = orthonormalize(W, V, rng=rng, drop=n * EPS, lock=lock)
    assert np.abs(lock.T @ Q).max() < 1e-12
    assert np.abs(V.T @ Q).max() < 1e-12


def test_missed_copies_are_merged_from_an_orthonormal_basis():
    """Copies of a cluster searched for off the found ones and merged by Rayleigh–Ritz
    (which takes its basis as orthonormal): the merged bases were 2e-7, then 0.06,
    then 0.6 off orthonormal, and σ₁ came out as 1.16 (true: 1)."""
    for seed in (0, 3):
        A, sv = _cluster(1e-5, seed)
        r = truncated_svd(A, 34, method="krylov", tol=1e-6)
        _certified(A, r, 34, sv)
        assert np.abs(r.Vh @ r.Vh.T - np.eye(34)).max() < 1e-12


def test_float32_steps_certify_merged_copies_with_float64_products():
    """At tol ≥ 1e-4 the steps on a float32 matrix multiply in float32, the certificate
    in float64 — except the Rayleigh–Ritz that merges the missed copies of a repeated
    value: right residuals of 1e-15·σ₁ reported, 3e-7·σ₁ measured on A."""
    sv = np.r_[np.ones(20), 0.5 * np.ones(280)]
    A = _matrix(sv, 700, 1).astype(np.float32)
    r = truncated_svd(A, 12, method="krylov", tol=1e-3)
    assert any("repeated" in note for note in r.notes)
    _certified(A, r, 12, sv)
    D = A.astype(np.float64)
    rayleigh = np.einsum("ij,ij->j", r.U, D @ r.Vh.T)
    np.testing.assert_allclose(r.rayleigh, rayleigh, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ dash, dask


def test_dash_on_a_zero_matrix_stops_at_once():
    """σ₁ = 0 left dashSVD's per-vector error undefined (infinite): it ran its 200
    iterations, 204 passes over A, to certify zeros at the end."""
    import scipy.sparse as sp

    for A in (np.zeros((300, 200)), sp.csr_matrix((3000, 2000))):
        r = truncated_svd(A, 5, method="dash")
        assert r.converged and r.passes <= 10 and not r.s.any()
        e = truncated_svd(A, None, rank_tol=0.1, rank_norm="energy", method="dash")
        assert e.k == 0 and e.passes <= 10


class _RunSpecWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "run_spec" in record.getMessage():
            self.messages.append(record.getMessage().splitlines()[0])


def test_dask_matrix_of_low_rank_sends_each_task_once(dask_client):
    """A dask matrix of rank below the block: CholeskyQR fails, TSQR orthonormalises,
    and its Q was persisted and its R computed in two graphs sharing TSQR's tasks,
    fused differently: "Detected different `run_spec` for key ('qr-…-qr2', 0, 0)"
    at every such block (dask/dask#9888: "can cause failures and deadlocks")."""
    import dask.array as da

    rng = np.random.default_rng(0)
    A = rng.standard_normal((600, 3)) @ rng.standard_normal((3, 80))
    X = da.from_array(A, chunks=(100, -1))
    handler = _RunSpecWarnings()
    logger = logging.getLogger("distributed.scheduler")
    logger.addHandler(handler)
    try:
        results = [truncated_svd(X, 6, method=m) for m in ("krylov", "randomized")]
    finally:
        logger.removeHandler(handler)
    assert handler.messages == []
    for r in results:
        assert r.converged and np.allclose(r.s[:3], np.linalg.svd(A, compute_uv=False)[:3])
        right, left = _residuals(A, r)
        assert max(right.max(), left.max()) <= r.tol * r.s[0]


# ------------------------------------------------------------------ inputs


@pytest.mark.parametrize("method", ["krylov", "lapack"])
def test_linear_operator_returning_the_wrong_length(method):
    """SciPy reshapes what matvec returns: a wrong length was its bare ValueError
    "cannot reshape array of size 299 into shape (300,1)"."""
    A = np.random.default_rng(0).standard_normal((300, 200))
    L = sla.LinearOperator(
        (300, 200), matvec=lambda x: np.ones(299), rmatvec=lambda y: A.T @ y, dtype=float
    )
    with pytest.raises(ShapeError, match=r"300×200 LinearOperator's matmat failed.*300 rows"):
        truncated_svd(L, 3, method=method)
    L = sla.LinearOperator((300, 200), matvec=lambda x: A @ x, rmatvec=lambda y: y[:5])
    with pytest.raises(ShapeError, match=r"rmatmat failed.*must return 200 rows"):
        truncated_svd(L, 3, method="krylov")


@pytest.mark.parametrize("order", ["C", "F"])
def test_truncated_npy_file_names_the_missing_rows(tmp_path, order):
    """A .npy file cut short: "rows 1–4000 could not be read" of a file holding its
    first 2000 rows whole (the whole first block was named), and only once the
    steps had started."""
    A = np.arange(40.0 * 30).reshape(40, 30)
    path = tmp_path / "a.npy"
    np.save(path, np.asarray(A, order=order))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 17 * 30 * 8 - 5])  # 17 rows and 5 bytes short
    # C order: 22 rows of 30 whole; Fortran order (stored by columns of 40): 17 columns
    missing = "rows 23–40 are missing" if order == "C" else "columns 18–30 are missing"
    for method in ("krylov", "lapack"):
        with pytest.raises(FileFormatError, match=rf"is truncated: .* 40×30 float64 .*{missing}"):
            truncated_svd(path, 2, method=method)


# ------------------------------------------------------------------ the command


def test_cli_names_its_options_as_typed(tmp_path, capsys, monkeypatch):
    """The engine's messages named ``max_iter`` and a seed that 'may be None'."""
    run = run_svdkit(capsys, monkeypatch)
    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((60, 40)))
    out = tmp_path / "out.npz"
    for args, says in (
        (["--seed", "-1"], "--seed must be a non-negative integer below 2^63; got -1"),
        # (the engine's own checks, in this command's words: svdkit._naming)
        (["--max-iter", "0"], "--max-iter must be an integer ≥ 1; got 0"),
        (["--tol", "0"], "--tol must be in [1e-14, 1); got 0"),
        (["--tol", "nan"], "--tol must be a finite number; got nan"),
        (["--rank-tol", "1.5"], "--rank-tol must be in [1e-14, 1); got 1.5"),
    ):
        code, _, err = run("svd", tmp_path / "a.npy", "-k", 3, *args, "-o", out)
        assert says in error_line(code, err)
        assert not out.exists()


def test_cli_rank_tol_with_k_caps_the_rank_as_its_help_says(tmp_path, capsys, monkeypatch):
    """The help said '--rank-tol … (no -k)'; -k with --rank-tol is the most k may be."""
    run = run_svdkit(capsys, monkeypatch)
    A = _matrix(1.0 / np.arange(1, 41), 60, 4)
    np.save(tmp_path / "a.npy", A)
    out = tmp_path / "out.npz"
    code, shown, _ = run("svd", "--help")
    assert code == 0
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", shown).split())  # rich's box, wrapped lines
    assert "(no -k)" not in shown and "(-k, if given, is the most it may be)" in shown
    code, _, err = run("svd", tmp_path / "a.npy", "-k", 20, "--rank-tol", 0.15, "-o", out)
    assert code == 0, err
    with np.load(out, allow_pickle=False) as z:
        assert z["s"].size == 6  # σ₇ = 1/7 ≤ 0.15 σ₁ < σ₆
        # the rule that chose k is in the file (it was not)
        assert float(z["rank_tol"]) == 0.15 and str(z["rank_norm"]) == "spectral"
    code, _, err = run("svd", tmp_path / "a.npy", "-k", 5, "--rank-tol", 0.15, "-o", out)
    assert "needs more than the -k 5 triplets allowed" in error_line(code, err)


def test_cli_npz_output_reads_back_without_pickle(tmp_path, capsys, monkeypatch):
    """What the docs promise of the output, read back and checked against the matrix."""
    run = run_svdkit(capsys, monkeypatch)
    A = _matrix(1.0 / np.arange(1, 41), 60, 5).astype(np.float32)
    np.save(tmp_path / "a.npy", A)
    out = tmp_path / "out.npz"
    code, stdout, err = run("svd", tmp_path / "a.npy", "-k", 4, "--tol", 1e-5, "-o", out)
    assert code == 0, err
    assert stdout.count("\n") == 1 and "certified" in stdout
    with np.load(out, allow_pickle=False) as z:
        assert {"U", "s", "Vh", "residuals_right", "residuals_left", "tol", "method", "seed",
                "iterations", "passes", "converged", "format"} <= set(z.files)  # fmt: skip
        U, s, Vh = z["U"], z["s"], z["Vh"]
        assert U.shape == (60, 4) and Vh.shape == (4, 40) and bool(z["converged"])
        D = A.astype(np.float64)
        right = np.linalg.norm(D @ Vh.T - U * s, axis=0)
        np.testing.assert_allclose(z["residuals_right"], right, rtol=0.05, atol=1e-13)
        assert right.max() <= float(z["tol"]) * s[0]
    with pytest.raises(SvdkitError):
        truncated_svd(np.zeros((2, 2)), 1, seed=-1)


def test_convergence_error_counts_in_the_singular():
    """'… after 1 iterations (2 passes)': the counts now agree with their nouns."""
    S = sp.random(3000, 800, density=0.01, format="csr", random_state=0)
    with pytest.raises(ConvergenceError, match=r"after 1 iteration \(2 passes\)"):
        truncated_svd(S, 10, method="krylov", max_iter=1)


def test_an_operator_used_twice_counts_each_runs_passes(tmp_path):
    """``as_operator``'s result given to two runs (what the CLI builds, then solves):
    the second result said 56 passes for a run of 28, the first run's added in."""
    from svdkit.lowrank import as_operator

    S = sp.random(3000, 800, density=0.01, format="csr", random_state=0)
    np.save(tmp_path / "a.npy", S[:400].toarray())
    for given in (S, tmp_path / "a.npy"):
        op = as_operator(given)
        first, second = truncated_svd(op, 5), truncated_svd(op, 5)
        assert first.passes == second.passes == truncated_svd(given, 5).passes > 0
        assert np.array_equal(first.s, second.s)
