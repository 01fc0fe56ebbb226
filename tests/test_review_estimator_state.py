"""``svdkit.lowrank.TruncatedSVD``, review fixes: a fit that raises leaves the previous
fitted state (or none) intact; float32 convergence errors name the user's ``tol``;
``tol`` is checked alike for every dtype; ``random_state`` is checked by name; the
lapack advice never names lapack; warnings point at the user's line; a masked entry is
refused by ``inverse_transform`` as by ``fit``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from svdkit.errors import ConvergenceError, ShapeError, SvdkitError
from svdkit.lowrank import TruncatedSVD
from svdkit.lowrank._common import CLI_OPTIONS, advise
from svdkit.lowrank.api import _what_else
from svdkit.lowrank.estimator import InaccurateComponentsWarning

EPS32 = float(np.finfo(np.float32).eps)
FITTED = (
    "components_",
    "singular_values_",
    "explained_variance_",
    "explained_variance_ratio_",
    "residuals_right_",
    "residuals_left_",
    "tol_",
    "method_",
    "n_iter_",
    "n_features_in_",
)


def _data(m: int = 30, n: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((m, n))


def _snapshot(est: TruncatedSVD) -> dict:
    return {name: np.copy(getattr(est, name)) for name in FITTED}


def _assert_same(est: TruncatedSVD, before: dict) -> None:
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est, name), value, err_msg=name)


# ------------------------------------------------------------------------ failed fits


def test_failed_first_fit_leaves_the_estimator_unfitted():
    X = _data()
    est = TruncatedSVD(n_components=50)
    with pytest.raises(ShapeError, match="n_components=50"):
        est.fit(X)
    assert not hasattr(est, "n_features_in_")
    assert not hasattr(est, "feature_names_in_")
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.transform(X)
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()


def test_failed_first_fit_on_convergence_leaves_the_estimator_unfitted():
    X = _data(300, 200)
    est = TruncatedSVD(20, method="randomized", max_iter=1, tol=1e-10, random_state=0)
    with pytest.raises(ConvergenceError):
        est.fit_transform(X)
    assert not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.transform(X)


@pytest.mark.parametrize("bad", ["shape", "convergence", "tol", "random_state"])
def test_failed_refit_keeps_the_previous_fit(bad):
    X = _data()
    est = TruncatedSVD(3, random_state=0).fit(X)
    before = _snapshot(est)
    Z = est.transform(X)
    if bad == "shape":
        new, err = X[:2, :7], ShapeError
    elif bad == "convergence":
        new, err = _data(300, 200, seed=1), ConvergenceError
        est.set_params(method="randomized", max_iter=1, tol=1e-10)
    elif bad == "tol":
        new, err = X[:, :7], SvdkitError
        est.set_params(tol=1e-300)
    else:
        new, err = X[:, :7], SvdkitError
        est.set_params(random_state=-1)
    with pytest.raises(err):
        est.fit(new)
    _assert_same(est, before)
    # the old model still works on the width it was fitted on, and refuses the new one
    np.testing.assert_array_equal(est.transform(X), Z)
    with pytest.raises(ValueError, match="10 features"):
        est.transform(X[:, :7])


def test_failed_refit_keeps_the_feature_names():
    # (no DataFrame library here: the names a fit on a DataFrame leaves are set by hand)
    X = _data()
    names = np.asarray([f"f{j}" for j in range(10)], dtype=object)
    est = TruncatedSVD(3, random_state=0).fit(X)
    est.feature_names_in_ = names
    with pytest.raises(ShapeError):
        est.fit(X[:2])  # no names, and too few rows for 3 components
    assert est.feature_names_in_ is names
    assert est.get_feature_names_out().tolist() == [f"truncatedsvd{i}" for i in range(3)]
    # a refit that succeeds on data without names drops them
    est.fit(X)
    assert not hasattr(est, "feature_names_in_")


# ------------------------------------------------------------------ float32 tolerances


def test_float32_convergence_error_names_the_users_tol():
    X = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
    est = TruncatedSVD(20, tol=1e-5, max_iter=1, method="randomized", random_state=0)
    with pytest.raises(ConvergenceError) as info:
        est.fit(X)
    message = str(info.value)
    assert "tol=1e-05" in message
    internal = 1e-5 - 4 * EPS32
    assert f"tol={internal:g}" not in message.split("(")[0]  # (only in the explanation)
    assert "4·eps32" in message
    # the engine's result and the components not converged stay on it
    assert info.value.result.k == 20
    assert info.value.unconverged.size > 0
    assert not hasattr(est, "components_")


def test_float32_convergence_error_names_the_raised_tol():
    X = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
    est = TruncatedSVD(20, tol=1e-8, max_iter=1, method="randomized", random_state=0)
    with pytest.warns(UserWarning, match="below what float32"), pytest.raises(
        ConvergenceError
    ) as info:
        est.fit(X)
    message = str(info.value)
    assert f"tol_={8 * EPS32:g}" in message and "tol=1e-08" in message


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("tol", [1e-300, 1e-15, 0.0, -1e-6, 1.0, float("nan"), "1e-6", True])
def test_tol_domain_is_the_same_for_every_dtype(dtype, tol):
    X = _data().astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, not warned about
        with pytest.raises(SvdkitError, match="tol") as info:
            TruncatedSVD(2, tol=tol, random_state=0).fit(X)
    assert info.value.param == "tol"


def test_float32_tol_at_the_documented_minimum_is_raised_with_a_warning():
    X = _data().astype(np.float32)
    with pytest.warns(UserWarning, match="below what float32"):
        est = TruncatedSVD(2, tol=1e-14, random_state=0).fit(X)
    assert est.tol_ == 8 * EPS32
    worst = max(est.residuals_right_.max(), est.residuals_left_.max())
    assert worst <= est.tol_ * float(est.singular_values_[0])


# ---------------------------------------------------------------------- lapack advice


def test_lapack_advice_never_suggests_lapack_or_more_iterations():
    for options in (None, CLI_OPTIONS):
        text = advise(_what_else("lapack"), options)
        assert "lapack" not in text
        assert "max_iter" not in text and "max-iter" not in text
        assert "tol" in text and "krylov" in text


def test_lapack_at_the_minimum_tol_certifies_or_advises_without_lapack():
    X = np.random.default_rng(0).standard_normal((40, 12)) + 3
    est = TruncatedSVD(2, tol=1e-14, method="lapack", random_state=0)
    try:
        est.fit(X)
    except ConvergenceError as err:
        message = str(err)
        assert message.startswith("lapack did not certify")
        advice = message.split(". ", 1)[1]
        assert "lapack" not in advice and "max_iter" not in advice
        assert "tol" in advice
    else:
        worst = max(est.residuals_right_.max(), est.residuals_left_.max())
        assert worst <= 1e-14 * est.singular_values_[0]


# ----------------------------------------------------------------------- random_state


@pytest.mark.parametrize(
    "bad", [-1, 2**32, 1.5, "0", True, np.float64(3.0), object(), [1, 2]]
)
def test_invalid_random_state_is_refused_by_name(bad):
    X = _data()
    est = TruncatedSVD(2, random_state=bad)
    with pytest.raises(SvdkitError, match="random_state") as info:
        est.fit(X)
    assert info.value.param == "random_state"
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize(
    "good",
    [None, 0, 2**32 - 1, np.int64(7), np.uint32(7), "rs", "gen"],
)
def test_valid_random_state_fits(good):
    X = _data()
    if good == "rs":
        good = np.random.RandomState(0)
    elif good == "gen":
        good = np.random.default_rng(0)
    est = TruncatedSVD(3, random_state=good).fit(X)
    s = np.linalg.svd(X, compute_uv=False)[:3]
    assert np.all(np.abs(est.singular_values_ - s) <= est.tol_ * s[0])


def test_generator_random_state_draws_the_seed_from_it():
    X = _data(200, 80)
    fits = [
        TruncatedSVD(5, method="randomized", random_state=np.random.default_rng(4)).fit(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].components_, fits[1].components_)
    gen = np.random.default_rng(4)
    TruncatedSVD(5, method="randomized", random_state=gen).fit(X)
    assert gen.bit_generator.state != np.random.default_rng(4).bit_generator.state


def test_int_random_state_is_the_engine_seed():
    from svdkit.lowrank import truncated_svd

    X = _data(200, 80)
    est = TruncatedSVD(5, method="randomized", random_state=2**32 - 1).fit(X)
    r = truncated_svd(X, 5, method="randomized", seed=2**32 - 1)
    np.testing.assert_array_equal(est.components_, r.Vh)


# -------------------------------------------------------------------------- warnings


def _float32_tol_warning_origin(call):
    X = _data().astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(X)
    assert caught, "no warning"
    return {(w.filename, w.category) for w in caught}


@pytest.mark.parametrize("how", ["fit", "fit_transform", "set_output", "pipeline"])
def test_warnings_point_at_the_callers_line(how):
    def call(X):
        est = TruncatedSVD(2, tol=1e-8, random_state=0)
        if how == "fit":
            est.fit(X)
        elif how == "fit_transform":
            est.fit_transform(X)
        elif how == "set_output":
            est.set_output(transform="default").fit_transform(X)
        else:
            make_pipeline(est).fit_transform(X)

    assert _float32_tol_warning_origin(call) == {(__file__, UserWarning)}


@pytest.mark.parametrize("how", ["fit", "fit_transform"])
def test_inaccurate_components_warning_points_at_the_callers_line(how):
    X = 1e6 + 0.1 * _data(200, 30)
    est = TruncatedSVD(3, method="randomized", random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(est, how)(X)
    found = [w for w in caught if issubclass(w.category, InaccurateComponentsWarning)]
    assert found and all(w.filename == __file__ for w in found)


# ------------------------------------------------------------------- masked entries


def test_inverse_transform_refuses_masked_entries():
    X = _data()
    est = TruncatedSVD(2, random_state=0).fit(X)
    Z = np.ma.masked_array([[1.0, 2.0]], mask=[[True, False]])
    with pytest.raises(SvdkitError, match="mask"):
        est.inverse_transform(Z)
    # nothing masked: the data, as a plain array
    clear = np.ma.masked_array([[1.0, 2.0]], mask=[[False, False]])
    np.testing.assert_array_equal(
        est.inverse_transform(clear), np.array([[1.0, 2.0]]) @ est.components_
    )
