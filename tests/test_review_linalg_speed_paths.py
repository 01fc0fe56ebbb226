"""Review fixes: the cheap paths of cholesky, Eig.reconstruct and norm.

* ``cholesky`` with ``tol`` forms no ``L⁻¹`` (no ``solve_triangular``), and a positive
  definite A whose Frobenius bound ``1/‖L⁻¹‖_F²`` misses is proved definite by a shifted
  ``potrf`` instead of ``eigvalsh``; the verdicts stay those of ``definiteness``.
* ``Eig.reconstruct`` runs the normality test only where the other rules do not settle
  it, and one SVD of the eigenvectors, not two.
* ``norm(x, p)`` with an integer ``p`` past the float range is the ∞-norm.
"""

from __future__ import annotations

import importlib
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg

import svdkit
from svdkit.errors import NotPositiveDefiniteError, SingularMatrixError

chol = importlib.import_module("svdkit.linalg.cholesky")
eigen = importlib.import_module("svdkit.linalg.eigen")
structure = importlib.import_module("svdkit.linalg.structure")


def _counted(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` by a wrapper that records its calls' arguments."""
    calls: list = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _potrf_calls(monkeypatch) -> list:
    """Count the ``potrf`` calls of the cholesky module (through get_lapack_funcs)."""
    calls: list = []
    original = chol.get_lapack_funcs

    def lapack(names, arrays):
        funcs = original(names, arrays)
        out = []
        for name, f in zip(names, funcs, strict=True):
            if name == "potrf":

                def counted(*args, _f=f, **kwargs):
                    calls.append(args)
                    return _f(*args, **kwargs)

                out.append(counted)
            else:
                out.append(f)
        return tuple(out)

    monkeypatch.setattr(chol, "get_lapack_funcs", lapack)
    return calls


def _with_spectrum(values: np.ndarray, seed: int = 0) -> np.ndarray:
    n = values.shape[0]
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    A = (Q * values) @ Q.T
    return A / 2 + A.T / 2


@pytest.fixture
def well_conditioned() -> np.ndarray:
    X = np.random.default_rng(3).standard_normal((80, 80))
    return X @ X.T + 80 * np.eye(80)


def test_cholesky_with_tol_forms_no_inverse_and_no_eigenvalues(monkeypatch, well_conditioned):
    solves = _counted(monkeypatch, chol, "solve_triangular")
    eigs = _counted(monkeypatch, scipy.linalg, "eigvalsh")
    L = svdkit.cholesky(well_conditioned, tol=1e-10)
    assert np.allclose(L @ L.T, well_conditioned, rtol=0, atol=1e-10)
    assert solves == [] and eigs == []


def test_cholesky_without_tol_still_settles_a_well_conditioned_matrix_cheaply(
    monkeypatch, well_conditioned
):
    eigs = _counted(monkeypatch, scipy.linalg, "eigvalsh")
    potrfs = _potrf_calls(monkeypatch)
    svdkit.cholesky(well_conditioned)
    assert eigs == [] and len(potrfs) == 1  # the Frobenius bound clears: no shifted potrf


def _many_small_eigenvalues() -> np.ndarray:
    # half the spectrum at 1e-10: 1/‖L⁻¹‖_F² ≈ 1e-10/60 is below 16·n·eps·‖A‖_F ≈ 3e-12,
    # λ_min = 1e-10 is far above it
    return _with_spectrum(np.concatenate([np.ones(60), np.full(60, 1e-10)]))


def test_frobenius_bound_misses_but_the_shifted_factorisation_proves_definite(monkeypatch):
    A = _many_small_eigenvalues()
    h = A / 2 + A.T / 2
    k = chol._quarter_exponent(h)
    hs = chol.times_power_of_two(h, -2 * k)
    limit = 16 * chol.zero_threshold(hs.shape, float(np.linalg.norm(hs)), hs.dtype, None)
    Linv = np.linalg.inv(np.linalg.cholesky(hs))
    assert 1 / np.sum(Linv**2) <= limit < chol._shift_for(hs, limit) < 1e-10 * 4.0**-k
    eigs = _counted(monkeypatch, scipy.linalg, "eigvalsh")
    potrfs = _potrf_calls(monkeypatch)
    L = svdkit.cholesky(A)
    assert eigs == []  # HEAD computed the eigenvalues here
    assert len(potrfs) == 2  # A, then A − s·I
    assert np.allclose(L @ L.T, A, rtol=0, atol=1e-14)
    monkeypatch.undo()
    assert svdkit.definiteness(A).is_positive_definite


def test_shifted_factorisation_also_serves_the_tol_path(monkeypatch):
    A = _many_small_eigenvalues()
    eigs = _counted(monkeypatch, scipy.linalg, "eigvalsh")
    solves = _counted(monkeypatch, chol, "solve_triangular")
    assert chol.cholesky_attempt(A, tol=1e-13).succeeded
    assert eigs == [] and solves == []


def test_no_shifted_factorisation_where_it_cannot_succeed(monkeypatch):
    # λ_min = 1e-12: definite by the eigenvalue rule (thr ≈ 2.7e-14), below the shift
    A = _with_spectrum(np.concatenate([np.ones(119), [1e-12]]), seed=1)
    eigs = _counted(monkeypatch, scipy.linalg, "eigvalsh")
    potrfs = _potrf_calls(monkeypatch)
    attempt = chol.cholesky_attempt(A)
    assert attempt.succeeded
    assert len(potrfs) == 1 and len(eigs) == 1  # the estimate spared the shifted potrf


@pytest.mark.parametrize("tol", [None, 1e-13])
@pytest.mark.parametrize("smallest", [-1e-9, 0.0, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9])
def test_verdicts_still_follow_the_eigenvalue_rule(smallest, tol):
    A = _with_spectrum(np.concatenate([np.ones(30), np.full(10, 1e-9), [smallest]]), seed=2)
    definite = svdkit.definiteness(A, tol=tol).is_positive_definite
    attempt = chol.cholesky_attempt(A, tol=tol)
    assert attempt.succeeded == definite
    if not definite:
        with pytest.raises(NotPositiveDefiniteError):
            svdkit.cholesky(A, tol=tol)


def test_shifted_bound_exceeds_the_limit_by_the_rounding_of_potrf():
    h = np.eye(50) * 1.5
    s = chol._shift_for(h, 1e-12)
    u = float(np.finfo(float).eps) / 2
    assert s > 1e-12 + 51 * u * 75  # γₙ₊₁ · tr(A), tr(A) = 75
    hc = h.astype(complex)
    assert chol._shift_for(hc, 1e-12) > s  # complex arithmetic: a larger u


def test_reconstruct_skips_the_normality_test_and_the_second_svd(monkeypatch):
    A = np.random.default_rng(5).standard_normal((40, 40))
    e = svdkit.eig(A)
    normal = _counted(monkeypatch, structure, "_normal")
    normal_here = []
    if hasattr(eigen, "_normal"):
        normal_here = _counted(monkeypatch, eigen, "_normal")
    independent = _counted(monkeypatch, structure, "_independent_columns")
    if hasattr(eigen, "_independent_columns"):
        independent_here = _counted(monkeypatch, eigen, "_independent_columns")
    else:  # pragma: no cover - the module imports it
        independent_here = []
    R = e.reconstruct()
    assert np.allclose(R, A, rtol=0, atol=1e-10)
    assert normal == [] and normal_here == []
    assert len(independent) + len(independent_here) == 1


@pytest.mark.parametrize(
    "A",
    [
        [[1.0, 1.0], [0.0, 1.0]],  # Jordan block: dependent eigenvectors, not normal
        [[3.0, 1.0], [-1.0, 1.0]],  # hidden Jordan block
        [[1.0, 1e-7], [0.0, 1.0]],
        [[2.0, 1.0], [0.0, 3.0]],
        [[0.0, -1.0], [1.0, 0.0]],  # normal, complex eigenvalues
        np.eye(3),  # normal, repeated eigenvalue
        [[1.0, 2.0], [2.0, 1.0]],
    ],
)
def test_reconstruct_verdict_is_still_is_diagonalizable(A):
    diagonalizable = svdkit.is_diagonalizable(A)
    try:
        R = svdkit.eig(A).reconstruct()
    except SingularMatrixError:
        assert not diagonalizable
    else:
        assert diagonalizable
        assert np.allclose(R, A, rtol=0, atol=1e-12)


def test_reconstruct_of_a_normal_matrix_with_dependent_vectors_names_the_vectors(monkeypatch):
    e = svdkit.eig(np.eye(2))
    forced = eigen.Eig(e.values, np.array([[1.0, 1.0], [0.0, 1e-300]]), np.eye(2))
    with pytest.raises(SingularMatrixError, match="eigenvectors are linearly dependent"):
        forced.reconstruct()
    defective = eigen.Eig(e.values, forced.vectors, np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(SingularMatrixError, match="A is not diagonalisable"):
        defective.reconstruct()


@pytest.mark.parametrize(
    "p",
    [10**400, 10**400 + 1, Fraction(10**400), 10**309],
    ids=["1e400", "odd", "Fraction", "1e309"],
)
def test_norm_with_an_integer_p_past_the_float_range_is_the_max_norm(p):
    assert svdkit.norm([3.0, -4.0], p) == 4.0


def test_norm_with_ordinary_p_unchanged():
    assert svdkit.norm([3.0, 4.0], 10**30) == 4.0
    assert svdkit.norm([3.0, 4.0], 3) == pytest.approx((27 + 64) ** (1 / 3))
    assert svdkit.norm([3.0, 4.0], 1) == 7.0
