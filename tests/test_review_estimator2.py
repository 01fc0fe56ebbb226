"""``svdkit.lowrank.TruncatedSVD``, review fixes: the certificate of float32 results is
that of the float32 values returned (recomputed here in float64), and the explained
variance ratios are zeros without variance, non-negative and sum to at most 1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD

from svdkit.errors import ConvergenceError, SvdkitError
from svdkit.lowrank import TruncatedSVD, truncated_svd

EPS32 = float(np.finfo(np.float32).eps)


def _float32_data(fmt: str) -> np.ndarray | sp.csr_matrix:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 120)) / np.arange(1, 121)
    if fmt == "csr":
        A = A * (rng.random(A.shape) < 0.3)
        return sp.csr_matrix(A, dtype=np.float32)
    return A.astype(np.float32)


def _residuals(X, est: TruncatedSVD, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both residuals of the returned (σᵢ, uᵢ = Zᵢ / σᵢ, vᵢ), exactly in float64."""
    X64 = X.astype(np.float64)
    s = est.singular_values_.astype(np.float64)
    V = est.components_.T.astype(np.float64)
    U = Z.astype(np.float64) / s
    right = np.linalg.norm(X64 @ V - U * s, axis=0)
    left = np.linalg.norm(np.asarray(X64.T @ U) - V * s, axis=0)
    return right, left


# ------------------------------------------------------------------------------ A: float32


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize(("method", "tol"), [("auto", 1e-6), ("krylov", 1e-6), ("lapack", 1e-5)])
def test_float32_certificate_is_that_of_the_returned_values(fmt, method, tol):
    X = _float32_data(fmt)
    est = TruncatedSVD(5, tol=tol, method=method, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = est.fit_transform(X)
    assert Z.dtype == est.components_.dtype == est.singular_values_.dtype == np.float32
    assert est.tol_ == tol
    right, left = _residuals(X, est, Z)
    s1 = float(est.singular_values_[0])
    # the reported residuals are those of the float32 results (float32 rounding shows)
    np.testing.assert_allclose(est.residuals_right_, right, rtol=1e-9, atol=1e-14 * s1)
    np.testing.assert_allclose(est.residuals_left_, left, rtol=1e-9, atol=1e-14 * s1)
    assert max(right.max(), left.max()) <= tol * s1
    assert est.residuals_right_.dtype == est.residuals_left_.dtype == np.float64


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("tol", [1e-10, 1e-7])
def test_float32_tol_below_the_float32_limit_is_raised_to_it_with_a_warning(fmt, tol):
    X = _float32_data(fmt)
    est = TruncatedSVD(5, tol=tol, random_state=0)
    with pytest.warns(UserWarning, match=r"certified at tol_ = 8·eps32 = 9\.54e-07"):
        Z = est.fit_transform(X)
    assert est.tol_ == 8 * EPS32
    assert est.tol == tol  # the parameter is left as given
    right, left = _residuals(X, est, Z)
    s1 = float(est.singular_values_[0])
    assert max(right.max(), left.max()) <= est.tol_ * s1
    np.testing.assert_allclose(est.residuals_right_, right, rtol=1e-9, atol=1e-14 * s1)
    np.testing.assert_allclose(est.residuals_left_, left, rtol=1e-9, atol=1e-14 * s1)


def test_float32_at_the_limit_and_float64_below_it_give_no_warning():
    X = _float32_data("dense")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        at = TruncatedSVD(3, tol=8 * EPS32, random_state=0).fit(X)
        f64 = TruncatedSVD(3, tol=1e-10, random_state=0).fit(X.astype(np.float64))
    assert at.tol_ == 8 * EPS32
    assert f64.tol_ == 1e-10
    s1 = f64.singular_values_[0]
    assert max(f64.residuals_right_.max(), f64.residuals_left_.max()) <= 1e-10 * s1


@pytest.mark.parametrize(
    ("tol", "match"),
    [(0.0, "tol must be in"), (1.5, "tol must be in"), ("small", "tol must be a finite")],
)
def test_float32_bad_tol_keeps_the_engines_message(tol, match):
    with pytest.raises(SvdkitError, match=match):
        TruncatedSVD(2, tol=tol).fit(_float32_data("dense"))


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float32_transform_and_fit_transform_within_the_documented_bound(fmt):
    """``‖transform(X)ᵢ − fit_transform(X)ᵢ‖ ≤ residuals_right_[i] + γₙ ‖|X| |vᵢ|‖``."""
    X = _float32_data(fmt)
    est = TruncatedSVD(5, random_state=0)
    Z = est.fit_transform(X)
    T = est.transform(X)
    assert T.dtype == np.float32
    diff = np.linalg.norm(T.astype(np.float64) - Z, axis=0)
    n = X.shape[1]
    u = 2.0**-24
    gamma = n * u / (1 - n * u)
    absX = abs(X).astype(np.float64)
    rounding = gamma * np.linalg.norm(absX @ np.abs(est.components_.T.astype(np.float64)), axis=0)
    assert (diff <= est.residuals_right_ + rounding).all()


# ------------------------------------------------------------------------------ B: variance


def _constant_columns(m: int) -> np.ndarray:
    return np.full((m, 4), 0.1)


def _identical_rows(m: int) -> np.ndarray:
    return np.tile(np.random.default_rng(1).standard_normal(5), (m, 1))


def _shifted_constant_columns(m: int) -> np.ndarray:
    return np.ones((m, 6)) * np.array([0.1, 1 / 3, 1e8 / 7, -2.7, 1e-9 / 3, 0.7])


@pytest.mark.parametrize("m", [3, 7, 30, 101])
@pytest.mark.parametrize("make", [_constant_columns, _identical_rows, _shifted_constant_columns])
@pytest.mark.parametrize("fmt", ["dense", "csr", "float32"])
def test_no_variance_gives_zero_ratios(m, make, fmt):
    A = make(m)
    X = {"dense": A, "csr": sp.csr_matrix(A), "float32": A.astype(np.float32)}[fmt]
    est = TruncatedSVD(2, random_state=0).fit(X)
    assert est.explained_variance_ratio_.tolist() == [0.0, 0.0]
    assert est.explained_variance_.tolist() == [0.0, 0.0]
    # the fit itself is the rank-one matrix's
    np.testing.assert_allclose(
        est.singular_values_[0], np.linalg.norm(A), rtol=1e-6 if fmt == "float32" else 1e-12
    )


def _well_separated(m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)) * np.linspace(3.0, 0.2, n) + rng.standard_normal(n)


@pytest.mark.parametrize(("m", "n", "k"), [(60, 20, 5), (40, 12, 12), (9, 30, 9), (200, 8, 3)])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_ratios_are_non_negative_sum_to_at_most_one_and_match_scikit_learn(m, n, k, fmt):
    A = _well_separated(m, n, seed=m + n)
    X = sp.csr_matrix(A) if fmt == "csr" else A
    est = TruncatedSVD(k, tol=1e-12, random_state=0).fit(X)
    ratio = est.explained_variance_ratio_
    assert (ratio >= 0).all()
    assert ratio.sum() <= 1 + 1e-12
    # against the definition, from the exact SVD: var(X V) / Σⱼ var(X[:, j])
    _, _, Vt = scipy.linalg.svd(A, full_matrices=False)
    total = np.var(A, axis=0).sum()
    exact = np.var(A @ Vt[:k].T, axis=0) / total
    np.testing.assert_allclose(ratio, exact, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(est.explained_variance_, exact * total, rtol=1e-10, atol=1e-14)
    if k == min(m, n):  # every component: all the variance
        np.testing.assert_allclose(ratio.sum(), 1.0, rtol=1e-12)
    if k < min(m, n):  # (ARPACK needs k < min(m, n))
        sk = SkTruncatedSVD(k, algorithm="arpack", tol=0.0, random_state=0).fit(X)
        np.testing.assert_allclose(ratio, sk.explained_variance_ratio_, rtol=1e-10, atol=1e-14)


def test_tiny_variance_under_a_large_mean_is_kept():
    """Variance far above the rounding of the centring, far below the mean²: kept, and
    measured on the centred data (``X V``), not on ``U Σ`` and its residual."""
    rng = np.random.default_rng(3)
    A = 1e3 + 1e-3 * rng.standard_normal((200, 10)) * np.linspace(2.0, 0.5, 10)
    est = TruncatedSVD(4, tol=1e-12, method="krylov", random_state=0).fit(A)
    _, _, Vt = scipy.linalg.svd(A, full_matrices=False)
    exact = np.var(A @ Vt[:4].T, axis=0) / np.var(A, axis=0).sum()
    assert exact[1:].min() > 1e-2  # real variance, 1e-12 of the mean²
    np.testing.assert_allclose(est.explained_variance_ratio_, exact, rtol=1e-6, atol=1e-12)
    assert 0 <= est.explained_variance_ratio_.sum() <= 1 + 1e-12


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float32_ratios_sum_to_at_most_one(fmt):
    X = _float32_data(fmt)
    est = TruncatedSVD(120, random_state=0).fit(X)  # every component
    ratio = est.explained_variance_ratio_.astype(np.float64)
    assert (ratio >= 0).all()
    assert ratio.sum() <= 1 + 1e-6
    np.testing.assert_allclose(ratio.sum(), 1.0, rtol=1e-6)


def test_float32_results_that_miss_tol_raise(monkeypatch):
    """The residuals are measured again on the float32 results, not taken from the
    engine: components moved after the engine certified them are caught."""
    import svdkit.lowrank.estimator as estimator

    def moved(*args, **kwargs):
        r = truncated_svd(*args, **kwargs)
        r.Vh[0] += 1e-4 * np.roll(r.Vh[0], 1)
        return r

    monkeypatch.setattr(estimator, "truncated_svd", moved)
    with pytest.raises(ConvergenceError, match=r"float32 results did not certify tol=1e-06"):
        TruncatedSVD(3, random_state=0).fit(_float32_data("dense"))
