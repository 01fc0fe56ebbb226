"""Review of svdkit.lowrank: rank by tolerance below √eps, dashSVD's stopping rule."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.lowrank import truncated_svd


def _matrix(m: int, n: int, s: np.ndarray, sparse: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, s.size)))
    V, _ = np.linalg.qr(rng.standard_normal((n, s.size)))
    A = (U * s) @ V.T
    return sp.csr_matrix(A) if sparse else A


def _dense(A) -> np.ndarray:
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def _check_triplets(A, r, tol: float) -> None:
    """Both residuals measured here, against tol·σ₁; σ against LAPACK's."""
    D = _dense(A)
    V = r.Vh.conj().T
    s1 = np.linalg.svd(D, compute_uv=False)
    right = np.linalg.norm(D @ V - r.U * r.s, axis=0)
    left = np.linalg.norm(D.conj().T @ r.U - V * r.s, axis=0)
    assert right.max(initial=0) <= 2 * tol * s1[0]
    assert left.max(initial=0) <= 2 * tol * s1[0]
    assert np.abs(r.s - s1[: r.k]).max(initial=0) <= 2 * tol * s1[0]


def _spectral_rank(s: np.ndarray, eps: float) -> int:
    below = np.flatnonzero(s <= eps * s[0])
    return int(below[0]) if below.size else s.size


def _energy_left(s: np.ndarray, k: int) -> float:
    """‖A − A_k‖_F / ‖A‖_F from the singular values."""
    return float(np.sqrt(np.sum(s[k:] ** 2)) / np.sqrt(np.sum(s**2)))


GEOM = 0.7 ** np.arange(200)
CLUSTER = np.concatenate([0.8 ** np.arange(30), 1e-9 * (1 + 0.01 * np.arange(170))])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    ("spectrum", "eps", "tol"),
    [(GEOM, 1e-8, 1e-10), (GEOM, 1e-10, 1e-12), (CLUSTER, 1e-8, 1e-10)],
)
def test_krylov_spectral_rank_below_sqrt_eps(sparse, spectrum, eps, tol):
    """σ_{k+1} ≤ ε σ₁ < σ_k with a tol far below ε: the exact rank (Ritz values √θ of
    AᴴA, known to √eps·σ₁, once decided it: 48 / 60 / 31 instead of 52 / 65 / 30)."""
    A = _matrix(600, 200, spectrum, sparse)
    s = np.linalg.svd(_dense(A), compute_uv=False)
    want = _spectral_rank(s, eps)
    # the threshold is well away from every singular value (more than tol·σ₁)
    assert np.abs(s - eps * s[0]).min() > 10 * tol * s[0]
    r = truncated_svd(A, None, rank_tol=eps, rank_norm="spectral", tol=tol, method="krylov")
    assert r.k == want
    assert s[r.k] <= eps * s[0] < s[r.k - 1]
    _check_triplets(A, r, tol)


@pytest.mark.parametrize("method", ["krylov", "gram"])
@pytest.mark.parametrize("eps", [1e-8, 1e-10])
def test_energy_rank_below_sqrt_eps(method, eps):
    """‖A − A_k‖_F ≤ ε ‖A‖_F decided on A's singular values, not on √θ of AᴴA (whose
    rounding, ≈ √eps·σ₁ a value, summed to more than ε²‖A‖_F²: 94 / 124 for 52 / 65)."""
    A = _matrix(600, 200, GEOM)
    s = np.linalg.svd(A, compute_uv=False)
    r = truncated_svd(A, None, rank_tol=eps, rank_norm="energy", tol=eps / 100, method=method)
    assert _energy_left(s, r.k) <= eps < _energy_left(s, r.k - 1)
    _check_triplets(A, r, eps / 100)


def test_gram_spectral_rank_below_sqrt_eps():
    """method="gram" decided on √θ too: rank 125 for 65 at ε = 1e-10."""
    A = _matrix(600, 200, GEOM)
    s = np.linalg.svd(A, compute_uv=False)
    r = truncated_svd(A, None, rank_tol=1e-10, tol=1e-12, method="gram")
    assert s[r.k] <= 1e-10 * s[0] < s[r.k - 1]


@pytest.mark.parametrize("sparse", [False, True])
def test_rank_undecidable_at_tol_is_noted(sparse):
    """tol = 1e-6 cannot place values against a threshold of 1e-8·σ₁ (before: rank 46
    returned with σ₄₆ = 2.8e-9 < 1e-8, and no word): the spectral rule now certifies
    to rank_tol / 10 and says so; a tol below the gap needs no note at all."""
    A = _matrix(600, 400, 0.7 ** np.arange(400), sparse)
    s = np.linalg.svd(_dense(A), compute_uv=False)
    # (since tests/test_review_spectra.py: the spectral rule certifies to rank_tol / 10,
    # so tol = 1e-6 is tightened to 1e-9, and the rank is exact)
    r = truncated_svd(A, None, rank_tol=1e-8, tol=1e-6, method="krylov")
    assert r.s[-1] > 1e-8 * r.s[0] and r.tol == pytest.approx(1e-9)
    assert any("tol=1e-06 tightened" in note for note in r.notes)
    assert r.k == _spectral_rank(s, 1e-8)
    _check_triplets(A, r, 1e-9)
    # with tol below the gap to the threshold: exact, and no such note
    r = truncated_svd(A, None, rank_tol=1e-8, tol=1e-10, method="krylov")
    assert r.k == _spectral_rank(s, 1e-8)
    assert not any("rank_tol" in note for note in r.notes)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("tol", [1e-4, 1e-6])
def test_dash_stops_once_certified(sparse, tol):
    """σ = 0.3ⁱ, k = 10: σ₁₀/σ₁ = 2e-5, and σ from the Gram matrix of AᴴA V stalls at
    1e-6..1e-5·σ₁ — never below tol², so dashSVD ran its 200 iterations (and then
    missed tol = 1e-6 by a hair) though every triplet met tol after five."""
    A = _matrix(1000, 300, 0.3 ** np.arange(300), sparse)
    r = truncated_svd(A, 10, tol=tol, method="dash")
    assert r.converged and r.iterations <= 20
    assert r.relative_residuals.max() <= tol
    _check_triplets(A, r, tol)


def test_dash_rank_mode_stops_once_certified():
    """Rank mode with a tight tol: the same stall ran 200 iterations (3 s)."""
    A = _matrix(600, 200, GEOM)
    s = np.linalg.svd(A, compute_uv=False)
    r = truncated_svd(A, None, rank_tol=1e-8, rank_norm="energy", tol=1e-10, method="dash")
    assert r.iterations <= 60
    assert _energy_left(s, r.k) <= 1e-8 < _energy_left(s, r.k - 1)
    _check_triplets(A, r, 1e-10)


# ------------------------------------------------ rank mode on files, progress, summary


def test_rank_mode_on_a_file_is_not_densified(tmp_path):
    # a 3000×2000 .npy file at rank_tol 0.1 went to LAPACK (densified: 30 s) because
    # rank mode counted every triplet as wanted; it starts at 16 like the iterative methods
    from svdkit.lowrank.api import RANK_MODE_START, choose_method
    from svdkit.lowrank.operators import as_operator

    rng = np.random.default_rng(3)
    A = rng.standard_normal((1500, 40)) @ rng.standard_normal((40, 1000))
    path = tmp_path / "big.npy"
    np.save(path, A)
    op = as_operator(str(path))
    assert choose_method(op, None, 1e-6) == "krylov"
    assert choose_method(op, 1000, 1e-6) == "lapack"  # many triplets: still dense
    tiny = as_operator(sp.random(40, 30, density=0.3, random_state=0, format="csr"))
    assert choose_method(tiny, None, 1e-6) == "lapack"
    assert RANK_MODE_START == 16
    r = truncated_svd(str(path), None, rank_tol=0.1)
    s = np.linalg.svd(A, compute_uv=False)
    assert r.method == "krylov" and r.k == _spectral_rank(s, 0.1)
    _check_triplets(A, r, 1e-6)


def test_progress_bar_ends_on_the_certificate(monkeypatch):
    # the bar's last line showed the Ritz estimate (1.1×tol) while the summary said
    # certified at 0.27×tol: the last update is now the certificate itself
    import io

    import rich.console

    from svdkit.lowrank import api

    class Terminal(rich.console.Console):  # (the bar is drawn on a terminal only)
        def __init__(self, *args, **kwargs):
            kwargs.pop("stderr", None)
            super().__init__(*args, file=io.StringIO(), force_terminal=True, **kwargs)

    monkeypatch.setattr(rich.console, "Console", Terminal)

    A = sp.random(500, 400, density=0.02, random_state=0, format="csr")
    calls = []

    cert_like = []
    orig = api._show_certificate

    def spy(cb, cert, k, run, passes, tol):
        cert_like.append((k, float(cert.worst[:k].max()) / (tol * float(cert.s[0]))))
        return orig(lambda *a: calls.append(a), cert, k, run, passes, tol)

    api._show_certificate = spy
    try:
        r = truncated_svd(A, 10, tol=1e-6, progress=True)
    finally:
        api._show_certificate = orig
    _step, _passes, met, want, worst = calls[-1]
    assert met == want == r.k == 10
    assert worst == pytest.approx(float(r.relative_residuals.max()) / 1e-6, rel=1e-9)
    assert worst == pytest.approx(cert_like[-1][1])


def test_summary_counts_in_the_singular():
    A = np.diag([3.0, 2.0, 1.0] + [0.0] * 40)
    r = truncated_svd(A, 1, tol=1e-6, method="krylov")
    text = r.summary()
    assert text.startswith("1 triplet by ")
    assert ("1 iteration," in text) == (r.iterations == 1)
    assert ("1 pass," in text) == (r.passes == 1)
    assert "1 iterations" not in text and "1 passes" not in text.replace("11 passes", "")
