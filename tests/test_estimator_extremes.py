"""``TruncatedSVD`` at the edges of the floating-point range and on awkward inputs.

* float32 data whose σ₁ or variances are beyond float32's range: an svdkit error that
  says to pass float64, never ``inf`` (or 0) returned as certified;
* float64 data at scales where ``Σ X²`` overflows or underflows: the variances are
  summed on ``2^p · X`` (exact), so the ratio is right and ``explained_variance_``
  either right or an error, never the all-zeros "no variance" signal;
* CSR/CSC input with duplicate entries: read as SciPy reads it (summed), the user's
  matrix untouched;
* real variance under a large column mean: kept (the centring error is measured,
  not bounded by the worst case), while constant columns still give zeros;
* components whose ``σᵢ ≪ σ₁`` and that the certificate ``tol · σ₁`` leaves loose:
  an :class:`InaccurateComponentsWarning`, and none on ordinary data.

References: float64 LAPACK (``numpy.linalg.svd``) and ``numpy.var``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import ConvergenceError, SvdkitError
from svdkit.lowrank import TruncatedSVD
from svdkit.lowrank import estimator as estimator_module
from svdkit.lowrank.estimator import InaccurateComponentsWarning


def _gaussian(m: int = 100, n: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((m, n))


def _reference(A: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ, explained variances and their ratios from float64 LAPACK and ``numpy.var``
    (of ``A`` at a harmless scale)."""
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    exp_var = np.var(A @ Vt[:k].T, axis=0)
    return s[:k], exp_var, exp_var / np.var(A, axis=0).sum()


# ------------------------------------------------------------------------ 1. float32 range


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float32_sigma_beyond_float32_is_an_error_naming_float64(fmt):
    A = (_gaussian() * 3e37).astype(np.float32)  # finite; σ₁ ≈ 4e38 > 3.4e38
    assert np.isfinite(A).all()
    X = sp.csr_matrix(A) if fmt == "csr" else A
    for call in ("fit", "fit_transform"):
        with pytest.raises(SvdkitError, match=r"largest float32.*float64") as err:
            getattr(TruncatedSVD(2, random_state=0), call)(X)
        assert "inf" not in str(err.value)
    # float64 input: fine, and right
    est = TruncatedSVD(2, random_state=0).fit(A.astype(np.float64))
    s, exp_var, ratio = _reference(A.astype(np.float64) / 2.0**120, 2)
    np.testing.assert_allclose(est.singular_values_, s * 2.0**120, rtol=1e-10)
    np.testing.assert_allclose(est.explained_variance_, exp_var * 2.0**240, rtol=1e-8)
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-8)


@pytest.mark.parametrize("scale", [1e30, 1e-20])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float32_variances_beyond_float32_are_an_error_not_inf_or_zero(scale, fmt):
    """σ fits in float32, the variance (≈ σ²/m) does not: not inf, not a subnormal with
    five digits left, not 0 beside a non-zero ratio."""
    A = (_gaussian() * scale).astype(np.float32)
    X = sp.csr_matrix(A) if fmt == "csr" else A
    with pytest.raises(SvdkitError, match=r"explained_variance_.*float32.*pass X as float64"):
        TruncatedSVD(2, random_state=0).fit(X)
    est = TruncatedSVD(2, random_state=0).fit(A.astype(np.float64))
    _, exp_var, ratio = _reference(A.astype(np.float64) / scale, 2)
    np.testing.assert_allclose(est.explained_variance_, exp_var * scale**2, rtol=1e-8)
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-8)


def test_float32_1e_38_variances_never_zero_beside_a_nonzero_ratio():
    A = (_gaussian() * 1e-37).astype(np.float32)
    with pytest.raises(SvdkitError, match=r"float32"):
        TruncatedSVD(2, random_state=0).fit(A)


@pytest.mark.parametrize("scale", [1e15, 1e-15])
def test_float32_large_and_small_but_representable_scales_are_right(scale):
    A = (_gaussian() * scale).astype(np.float32)
    est = TruncatedSVD(2, random_state=0).fit(A)
    assert est.singular_values_.dtype == np.float32
    s, exp_var, ratio = _reference(A.astype(np.float64) / scale, 2)
    np.testing.assert_allclose(est.singular_values_, s * scale, rtol=2e-6)
    np.testing.assert_allclose(est.explained_variance_, exp_var * scale**2, rtol=1e-5)
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-5)
    assert est.residuals_right_.max() <= est.tol_ * float(est.singular_values_[0])


def test_float32_certificate_check_fails_on_non_finite_values():
    check = estimator_module._check_float32_certificate
    with pytest.raises(ConvergenceError):
        check(np.array([np.inf, 1.0]), np.array([1.0, 1.0]), float("inf"), 1e-6)
    with pytest.raises(ConvergenceError):
        check(np.array([np.nan]), np.array([0.0]), 1.0, 1e-6)
    with pytest.raises(ConvergenceError):
        check(np.array([0.0]), np.array([0.0]), float("nan"), 1e-6)
    check(np.array([1e-7]), np.array([1e-7]), 1.0, 1e-6)  # met: no error


# ----------------------------------------------------------------- 2. float64 at extreme scales


@pytest.mark.parametrize("exponent", [505, -500, 0])
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
def test_float64_variances_at_extreme_scales(exponent, fmt):
    """At 2^505 ≈ 1e152, ``Σ X²`` (≈ 4e308) overflows while every variance (≈ 1e304)
    is finite; at 2^-500 the squares are near the bottom of the normal range."""
    A0 = _gaussian(2000, 20, seed=1) + 0.5
    A = A0 * 2.0**exponent
    X = {"dense": A, "csr": sp.csr_matrix(A), "csc": sp.csc_matrix(A)}[fmt]
    est = TruncatedSVD(3, random_state=0).fit(X)
    s, exp_var, ratio = _reference(A0, 3)
    np.testing.assert_allclose(est.singular_values_ * 2.0**-exponent, s, rtol=1e-10)
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-8)
    np.testing.assert_allclose(est.explained_variance_ * 2.0 ** (-2 * exponent), exp_var, rtol=1e-8)
    assert np.isfinite(est.explained_variance_).all()


@pytest.mark.parametrize("exponent", [540, -540])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float64_variances_beyond_float64_are_an_error_not_zeros(exponent, fmt):
    """σ is returned (the engine handles these scales) but σ²/m is beyond float64:
    an error that says how to scale, never the "no variance" zeros."""
    A = _gaussian(100, 20) * 2.0**exponent
    X = sp.csr_matrix(A) if fmt == "csr" else A
    with pytest.raises(SvdkitError, match=r"explained_variance_.*float64.*scale X by a power"):
        TruncatedSVD(2, random_state=0).fit(X)
    # what the message suggests works
    shift = -exponent
    est = TruncatedSVD(2, random_state=0).fit(A * 2.0**shift)
    _, _, ratio = _reference(_gaussian(100, 20), 2)
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-8)


# ------------------------------------------------------------------------ 3. duplicates


def _duplicated(D: np.ndarray, fmt: str, halves: int | None = None):
    """``D`` as a CSR (CSC) matrix storing entries as two halves (the first ``halves``
    of them, or all): not canonical, equal to ``D``."""
    rows, cols = np.nonzero(D)
    data = D[rows, cols]
    pick = np.arange(rows.size if halves is None else halves)
    data = data.copy()
    data[pick] /= 2
    r, c, d = np.r_[rows, rows[pick]], np.r_[cols, cols[pick]], np.r_[data, data[pick]]
    if fmt == "csc":
        r, c = c, r
    order = np.lexsort((c, r))
    r, c, d = r[order], c[order], d[order]
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=D.shape[0 if fmt == "csr" else 1]))]
    if fmt == "csr":
        return sp.csr_matrix((d, c, indptr), shape=D.shape)
    return sp.csc_matrix((d, c, indptr), shape=D.shape)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("halves", [None, 10])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_duplicate_entries_are_summed_on_a_copy(fmt, halves, dtype):
    rng = np.random.default_rng(0)
    D = (rng.standard_normal((200, 30)) * (rng.random((200, 30)) < 0.3) + 0.0).astype(dtype)
    X = _duplicated(D, fmt, halves)
    assert not X.has_canonical_format
    assert np.array_equal(X.toarray(), D)
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    est = TruncatedSVD(3, random_state=0).fit(X)
    ref = TruncatedSVD(3, random_state=0).fit(D)
    _, exp_var, ratio = _reference(D.astype(np.float64), 3)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=rtol)
    np.testing.assert_allclose(est.explained_variance_, exp_var, rtol=rtol)
    np.testing.assert_allclose(est.explained_variance_, ref.explained_variance_, rtol=rtol)
    # the user's matrix is untouched
    for was, now in zip(before, (X.data, X.indices, X.indptr), strict=True):
        assert np.array_equal(was, now)
    assert X.data.shape[0] > np.count_nonzero(D)
    np.testing.assert_allclose(
        est.transform(X),
        D.astype(np.float64) @ est.components_.T,
        rtol=1e-5,
        atol=1e-5 * np.abs(D).max(),
    )


# ------------------------------------------------------------- 4. variance under a large mean


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("m", [2000, 100_000])
def test_real_variance_under_a_large_mean_is_kept(fmt, m):
    rng = np.random.default_rng(0)
    n = 10 if m == 2000 else 3
    N = rng.standard_normal((m, n)) * 0.1
    X0 = 1e12 + N  # X0 − 1e12 is exact (Sterbenz): the reference is centred exactly
    X = sp.csr_matrix(X0) if fmt == "csr" else X0
    with warnings.catch_warnings():  # (σ₂/σ₁ ≈ 1e-13: components 2… are loose, warned)
        warnings.simplefilter("ignore", InaccurateComponentsWarning)
        est = TruncatedSVD(3, random_state=0).fit(X)
    exact_total = np.var(X0 - 1e12, axis=0).sum()
    total = est.explained_variance_ / est.explained_variance_ratio_
    np.testing.assert_allclose(total, exact_total, rtol=1e-6)
    # the explained variances of the components returned, measured exactly
    V = est.components_.T
    np.testing.assert_allclose(
        est.explained_variance_, np.var((X0 - 1e12) @ V, axis=0), rtol=1e-4, atol=1e-9
    )
    assert est.explained_variance_[1:].min() > 1e-3  # not the "no variance" zeros


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "float32"])
@pytest.mark.parametrize("m", [1, 5, 3001])
def test_constant_data_still_gives_exact_zeros(fmt, m):
    """Constant columns (one of them all zero: implicit zeros in sparse form) and
    identical rows: no variance, exactly."""
    row = np.array([1e12 / 3, 0.0, -2.7, 1e-9 / 3, 0.1])
    A = np.tile(row, (m, 1))
    X = {
        "dense": A,
        "csr": sp.csr_matrix(A),
        "csc": sp.csc_matrix(A),
        "float32": A.astype(np.float32),
    }[fmt]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = TruncatedSVD(1, random_state=0).fit(X)
    assert est.explained_variance_.tolist() == [0.0]
    assert est.explained_variance_ratio_.tolist() == [0.0]


def test_one_varying_column_beside_constant_ones():
    rng = np.random.default_rng(2)
    A = np.tile([1e8 / 7, 5.0, 0.0], (500, 1))
    A[:, 1] += 1e-3 * rng.standard_normal(500)
    for X in (A, sp.csr_matrix(A)):
        est = TruncatedSVD(2, tol=1e-12, random_state=0).fit(X)
        total = np.var(A[:, 1])
        np.testing.assert_allclose(est.explained_variance_.sum(), total, rtol=1e-6)
        np.testing.assert_allclose(est.explained_variance_ratio_.sum(), 1.0, rtol=1e-6)


# ---------------------------------------------------------------- 5. loose trailing components


def test_loose_trailing_components_are_warned_about():
    rng = np.random.default_rng(0)
    X = 1e6 + 0.1 * rng.standard_normal((1000, 100))
    with pytest.warns(InaccurateComponentsWarning, match=r"components \[1, 2, 3\].*tol ≤") as rec:
        est = TruncatedSVD(4, random_state=0).fit(X)
    assert issubclass(rec[0].category, UserWarning)
    assert rec[0].filename == __file__  # points at the caller
    s = np.linalg.svd(X, compute_uv=False)[:4]
    rel = np.abs(est.singular_values_ - s) / s
    worst = np.maximum(est.residuals_right_, est.residuals_left_)
    # the warning was right: the bound residual/σᵢ is above 1e-3 ...
    assert (worst[1:] / est.singular_values_[1:] > 1e-3).all()
    # ... and honest: the actual errors are within it
    assert (rel <= worst / est.singular_values_ + 1e-12).all()
    # with the tol it suggests: no warning, and σ to 1e-3
    need = 1e-3 * s[3] / s[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", InaccurateComponentsWarning)
        tight = TruncatedSVD(4, tol=max(need, 1e-14), random_state=0).fit(X)
    np.testing.assert_allclose(tight.singular_values_, s, rtol=1e-3)


@pytest.mark.parametrize("method", ["auto", "krylov", "randomized", "gram", "lapack"])
def test_no_warning_on_ordinary_data(method):
    rng = np.random.default_rng(5)
    dense = rng.standard_normal((300, 80)) / np.arange(1, 81) + 0.3
    sparse = sp.random(400, 120, density=0.05, random_state=1, format="csr")
    sparse.data += 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for X in (dense, sparse, dense.astype(np.float32)):
            TruncatedSVD(10, method=method, random_state=0).fit(X)
        # rank-deficient: the trailing σᵢ are X's rounding (float32: its entries'), no warning
        TruncatedSVD(3, method=method, random_state=0).fit(np.ones((20, 5)))
        low = rng.standard_normal((2000, 2)) @ rng.standard_normal((2, 300))
        for X in (low, low.astype(np.float32)):
            TruncatedSVD(6, method=method, random_state=0).fit(X)


def test_float32_loose_components_suggest_float64():
    rng = np.random.default_rng(0)
    X = (1e4 + 0.1 * rng.standard_normal((500, 50))).astype(np.float32)
    with pytest.warns(InaccurateComponentsWarning, match=r"float64"):
        TruncatedSVD(3, random_state=0).fit(X)
