"""``svdkit.lowrank.TruncatedSVD``: scikit-learn's own estimator checks, equality with
scikit-learn's ``TruncatedSVD`` and SciPy's exact SVD up to signs, the certificate
recomputed here, pipelines, determinism, dtypes and errors."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

import svdkit.lowrank
from svdkit.errors import ConvergenceError, MissingDependencyError, ShapeError, SvdkitError
from svdkit.lowrank import TruncatedSVD, truncated_svd

# ------------------------------------------------------------------------------ data


def _dense() -> np.ndarray:
    """60×20, distinct singular values (gaps ≥ 1 % of σ₁ among the leading ones)."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((60, 20)) * np.linspace(3.0, 0.2, 20)


def _sparse() -> sp.csr_matrix:
    return sp.random(200, 80, density=0.1, format="csr", random_state=2)


def _big_sparse() -> sp.csr_matrix:
    """Large enough that ``method="auto"`` runs block Krylov (a random start)."""
    return sp.random(600, 400, density=0.02, format="csr", random_state=3)


def _aligned(C: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows of ``C`` with the sign that makes each agree with the same row of ``ref``."""
    signs = np.sign(np.einsum("ij,ij->i", C, ref))
    return C * signs[:, None]


def _dense_of(X: np.ndarray | sp.spmatrix) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else np.asarray(X)


# ------------------------------------------------------------------------------ sklearn's checks


@parametrize_with_checks(
    [
        TruncatedSVD(),
        TruncatedSVD(n_components=1, method="krylov"),
        TruncatedSVD(method="randomized", tol=1e-8),
    ]
)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # check_array_api_input (for an estimator without array API support: array API
    # dispatch on, NumPy inputs, the same results) runs only when SCIPY_ARRAY_API is
    # set; SciPy reads it at import, which NumPy inputs do not need (the check in a
    # process started with it: test_array_api_check_with_scipy_array_api_from_start)
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_array_api_check_with_scipy_array_api_from_start():
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from svdkit.lowrank import TruncatedSVD\n"
        "for est in (TruncatedSVD(), TruncatedSVD(n_components=1, method='krylov')):\n"
        "    check_array_api_input('TruncatedSVD', est, array_namespace='numpy',\n"
        "                          expect_only_array_outputs=False)\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, env=env)


@pytest.mark.parametrize(
    "check", ["check_transformer_get_feature_names_out", "check_set_output_transform"]
)
def test_sklearn_transformer_checks_beyond_the_default_set(check):
    """Two of scikit-learn's checks that its own test suite runs on its transformers
    but ``parametrize_with_checks`` does not yield."""
    getattr(estimator_checks, check)("TruncatedSVD", TruncatedSVD())


# ------------------------------------------------------------------------------ equivalence


@pytest.mark.parametrize("make", [_dense, _sparse], ids=["dense", "sparse"])
@pytest.mark.parametrize("method", ["auto", "krylov", "randomized"])
def test_matches_scipy_exact_svd(make, method):
    X = make()
    k = 5
    est = TruncatedSVD(k, tol=1e-12, method=method, random_state=0).fit(X)
    A = _dense_of(X)
    _, s, Vt = scipy.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(est.singular_values_, s[:k], rtol=0, atol=1e-10 * s[0])
    np.testing.assert_allclose(_aligned(est.components_, Vt[:k]), Vt[:k], rtol=0, atol=1e-8)
    total = np.var(A, axis=0).sum()
    ratio = np.var(A @ Vt[:k].T, axis=0) / total
    np.testing.assert_allclose(est.explained_variance_ratio_, ratio, rtol=1e-8, atol=0)


@pytest.mark.parametrize("make", [_dense, _sparse], ids=["dense", "sparse"])
@pytest.mark.parametrize(
    "sk_params",
    [
        {"algorithm": "arpack", "tol": 0.0},
        {"algorithm": "randomized", "n_iter": 30, "n_oversamples": 40},
    ],
    ids=["arpack", "randomized-30-iterations"],
)
def test_matches_scikit_learn(make, sk_params):
    X = make()
    k = 5
    ours = TruncatedSVD(k, tol=1e-12, random_state=0).fit(X)
    sk = SkTruncatedSVD(k, random_state=0, **sk_params).fit(X)
    np.testing.assert_allclose(ours.singular_values_, sk.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(
        _aligned(ours.components_, sk.components_), sk.components_, rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(ours.explained_variance_, sk.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, sk.explained_variance_ratio_, rtol=1e-8
    )
    # the same projection of new data, up to the sign of each column
    new = np.random.default_rng(5).standard_normal((7, X.shape[1]))
    signs = np.sign(np.einsum("ij,ij->i", ours.components_, sk.components_))
    np.testing.assert_allclose(ours.transform(new) * signs, sk.transform(new), rtol=0, atol=1e-8)
    assert ours.get_feature_names_out().tolist() == sk.get_feature_names_out().tolist()


def test_sign_recipe_of_the_docstring_gives_scikit_learns_signs():
    """``svd_flip(u_based_decision=False)``: the largest loading of each component > 0."""
    X = _sparse()
    ours = TruncatedSVD(5, tol=1e-12).fit(X)
    sk = SkTruncatedSVD(5, algorithm="arpack", tol=0.0).fit(X)
    C = ours.components_
    signs = np.sign(C[np.arange(C.shape[0]), np.abs(C).argmax(axis=1)])
    np.testing.assert_allclose(C * signs[:, None], sk.components_, rtol=0, atol=1e-8)


def test_svdkit_sign_rule():
    """svdkit's rule: in each column of ``fit_transform(X)`` (``U Σ``) the entry of
    largest magnitude, first of ties, is positive — the same as the engine's."""
    X = _big_sparse()
    Xt = TruncatedSVD(6, random_state=0).fit_transform(X)
    cols = np.arange(Xt.shape[1])
    pivots = Xt[np.abs(Xt).argmax(axis=0), cols]
    assert (pivots > 0).all()
    r = truncated_svd(X, 6, seed=0)
    np.testing.assert_allclose(Xt, r.U * r.s, rtol=0, atol=1e-12 * r.s[0])


# ------------------------------------------------------------------------------ certificate


@pytest.mark.parametrize(
    ("make", "method", "tol"),
    [(_big_sparse, "randomized", 1e-4), (_big_sparse, "auto", 1e-6), (_dense, "auto", 1e-6)],
    ids=["sparse-randomized", "sparse-krylov", "dense-lapack"],
)
def test_certificate_holds(make, method, tol):
    """Both residuals recomputed here from ``X``: ``‖X vᵢ − σᵢ uᵢ‖`` and
    ``‖Xᵀ uᵢ − σᵢ vᵢ‖``, with ``uᵢ`` the columns of ``fit_transform(X) / σ``."""
    X = make()
    est = TruncatedSVD(6, tol=tol, method=method, random_state=0)
    Xt = est.fit_transform(X)
    s = est.singular_values_
    U = Xt / s
    V = est.components_.T
    right = np.linalg.norm(X @ V - U * s, axis=0)
    left = np.linalg.norm(X.T @ U - V * s, axis=0)
    bound = tol * s[0]
    rounding = 1e-13 * s[0]
    assert right.max() <= bound + rounding
    assert left.max() <= bound + rounding
    np.testing.assert_allclose(right, est.residuals_right_, rtol=1e-6, atol=rounding)
    np.testing.assert_allclose(left, est.residuals_left_, rtol=1e-6, atol=rounding)
    assert max(est.residuals_right_.max(), est.residuals_left_.max()) <= bound
    # orthonormal components; σ are the norms of the transformed columns
    np.testing.assert_allclose(V.T @ V, np.eye(6), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(Xt, axis=0), s, rtol=1e-12)
    # fit_transform (U Σ) and transform (X V) differ by the right residual at most
    diff = np.linalg.norm(est.transform(X) - Xt, axis=0)
    assert (diff <= est.residuals_right_ + rounding).all()
    if method == "auto" and sp.issparse(X):
        assert est.method_ == "krylov" and est.n_iter_ >= 1


def test_not_converged_raises_with_the_residuals():
    X = _big_sparse()
    with pytest.raises(ConvergenceError, match="did not certify"):
        TruncatedSVD(10, method="krylov", max_iter=1, tol=1e-10, random_state=0).fit(X)


# ------------------------------------------------------------------------------ pipeline

DOCS = [
    "the cat sat on the mat",
    "the cat chased the dog",
    "dogs and cats are pets",
    "stock markets fell sharply today",
    "investors sold stock as markets fell",
    "the central bank raised interest rates",
]


def test_pipeline_with_tfidf():
    lsa = Pipeline(
        [("tfidf", TfidfVectorizer()), ("svd", TruncatedSVD(n_components=2, random_state=0))]
    )
    Z = lsa.fit_transform(DOCS)
    assert Z.shape == (6, 2) and Z.dtype == np.float64
    assert lsa.get_feature_names_out().tolist() == ["truncatedsvd0", "truncatedsvd1"]
    ref = Pipeline(
        [("tfidf", TfidfVectorizer()), ("svd", SkTruncatedSVD(2, algorithm="arpack", tol=0.0))]
    )
    Zref = ref.fit_transform(DOCS)
    ours, theirs = lsa["svd"], ref["svd"]
    assert ours.n_features_in_ == theirs.n_features_in_ == len(lsa["tfidf"].vocabulary_)
    np.testing.assert_allclose(ours.singular_values_, theirs.singular_values_, rtol=1e-10)
    signs = np.sign(np.einsum("ij,ij->i", ours.components_, theirs.components_))
    np.testing.assert_allclose(Z * signs, Zref, rtol=0, atol=1e-8)
    new = ["a dog and a cat", "markets and stock"]
    np.testing.assert_allclose(lsa.transform(new) * signs, ref.transform(new), atol=1e-8)
    # the two topics: pets load on one component, finance on the other
    assert np.argmax(np.abs(Z[0])) != np.argmax(np.abs(Z[4]))


# ------------------------------------------------------------------------------ random_state


def test_random_state_gives_the_same_fit_bit_for_bit():
    X = _big_sparse()
    a = TruncatedSVD(8, random_state=7).fit(X)
    b = TruncatedSVD(8, random_state=7).fit(X)
    assert a.method_ == "krylov"
    for name in ("components_", "singular_values_", "residuals_right_", "residuals_left_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # a non-negative int is the engine's seed
    r = truncated_svd(X, 8, seed=7)
    np.testing.assert_array_equal(a.components_, r.Vh)
    # another seed: another start, the same triplets to tol
    c = TruncatedSVD(8, random_state=8).fit(X)
    s1 = a.singular_values_[0]
    np.testing.assert_allclose(c.singular_values_, a.singular_values_, rtol=0, atol=2e-6 * s1)


def test_random_state_none_and_instances_follow_scikit_learn():
    X = _big_sparse()
    np.random.seed(3)  # noqa: NPY002 (None means NumPy's global RandomState)
    a = TruncatedSVD(4).fit(X)
    np.random.seed(3)  # noqa: NPY002 (None means NumPy's global RandomState)
    b = TruncatedSVD(4).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    c = TruncatedSVD(4, random_state=np.random.RandomState(11)).fit(X)
    d = TruncatedSVD(4, random_state=np.random.RandomState(11)).fit(X)
    np.testing.assert_array_equal(c.components_, d.components_)
    with pytest.raises(ValueError):
        TruncatedSVD(4, random_state="seed").fit(X)
    with pytest.raises(ValueError):
        TruncatedSVD(4, random_state=-1).fit(X)


# ------------------------------------------------------------------------------ params


def test_params_clone_and_pickle_round_trip():
    est = TruncatedSVD(3, tol=1e-8, method="krylov", max_iter=500, random_state=4)
    params = est.get_params()
    assert params == {
        "n_components": 3,
        "tol": 1e-8,
        "method": "krylov",
        "max_iter": 500,
        "random_state": 4,
    }
    default = TruncatedSVD().get_params()
    assert default == {
        "n_components": 2,
        "tol": 1e-6,
        "method": "auto",
        "max_iter": None,
        "random_state": None,
    }
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert not hasattr(twin, "components_")
    other = TruncatedSVD().set_params(**params)
    assert other.get_params() == params
    X = _sparse()
    a, b = est.fit(X), twin.fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert est.set_params(n_components=4) is est
    assert est.fit(X).components_.shape == (4, X.shape[1])
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.transform(X), est.transform(X))
    assert " ".join(repr(est).split()) == (  # (scikit-learn's repr wraps long lines)
        "TruncatedSVD(max_iter=500, method='krylov', n_components=4, random_state=4, tol=1e-08)"
    )


# ------------------------------------------------------------------------------ dtypes


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
def test_float32_in_float32_out(fmt):
    A = _dense_of(_sparse())
    X = {"dense": A, "csr": sp.csr_matrix(A), "csc": sp.csc_matrix(A)}[fmt].astype(np.float32)
    est = TruncatedSVD(4, tol=1e-4, random_state=0)
    Xt = est.fit_transform(X)
    for value in (
        Xt,
        est.components_,
        est.singular_values_,
        est.explained_variance_,
        est.explained_variance_ratio_,
        est.transform(X),
        est.inverse_transform(Xt),
    ):
        assert value.dtype == np.float32
    ref = TruncatedSVD(4, tol=1e-12, random_state=0).fit(A)
    np.testing.assert_allclose(est.singular_values_, ref.singular_values_, rtol=1e-5)
    np.testing.assert_allclose(
        _aligned(est.components_, ref.components_), ref.components_, rtol=0, atol=1e-4
    )
    np.testing.assert_allclose(
        est.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4
    )
    assert est.residuals_right_.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_other_numbers_become_float64(dtype):
    X = (np.arange(60).reshape(12, 5) % 7).astype(dtype)
    est = TruncatedSVD(2).fit(X)
    assert est.components_.dtype == np.float64
    assert est.transform(X).dtype == np.float64


def test_sparse_formats_are_never_densified(monkeypatch):
    """Fit and transform of COO (made CSR by validation), CSR and CSC inputs, matrices
    and arrays, run with densification refused; the variance ratio equals the dense
    computation's."""
    A = _dense_of(_big_sparse())
    ref = TruncatedSVD(5, random_state=0).fit(A)
    kinds = (sp.coo_matrix, sp.csr_matrix, sp.csc_matrix, sp.coo_array, sp.csr_array, sp.csc_array)
    inputs = [kind(A) for kind in kinds]

    def refuse(*args, **kwargs):
        raise AssertionError("densified")

    for kind in kinds:
        monkeypatch.setattr(kind, "toarray", refuse)
        monkeypatch.setattr(kind, "todense", refuse)
    for X in inputs:
        est = TruncatedSVD(5, random_state=0).fit(X)
        Z = est.transform(X)
        assert est.method_ == "krylov"
        assert isinstance(Z, np.ndarray) and Z.shape == (A.shape[0], 5)
        np.testing.assert_allclose(
            est.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-8
        )
        np.testing.assert_allclose(est.singular_values_, ref.singular_values_, rtol=1e-10)
    with pytest.raises(AssertionError, match="densified"):  # the guard is live
        inputs[1].toarray()


def test_total_variance_in_row_blocks(monkeypatch):
    import svdkit.lowrank.estimator as estimator

    X = _dense()
    whole = TruncatedSVD(3).fit(X).explained_variance_ratio_
    monkeypatch.setattr(estimator, "_VARIANCE_BLOCK_ENTRIES", 7 * X.shape[1])  # 9 blocks
    blocks = TruncatedSVD(3).fit(X).explained_variance_ratio_
    np.testing.assert_allclose(blocks, whole, rtol=1e-13)
    expected = np.var(X @ TruncatedSVD(3).fit(X).components_.T, axis=0) / np.var(X, 0).sum()
    np.testing.assert_allclose(blocks, expected, rtol=1e-10)


def test_no_variance_gives_zero_ratios_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = TruncatedSVD(1).fit(np.arange(1.0, 6.0)[None, :])
        zero = TruncatedSVD(2).fit(sp.csr_matrix((30, 10)))
    assert one.explained_variance_ratio_.tolist() == [0.0]
    np.testing.assert_allclose(one.singular_values_, [np.sqrt(55.0)])
    assert zero.explained_variance_ratio_.tolist() == [0.0, 0.0]
    assert zero.singular_values_.tolist() == [0.0, 0.0]


def test_inverse_transform():
    X = _dense()
    full = TruncatedSVD(20).fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-12)
    est = TruncatedSVD(4).fit(X)
    U, s, Vt = scipy.linalg.svd(X, full_matrices=False)
    best = (U[:, :4] * s[:4]) @ Vt[:4]  # Eckart–Young
    np.testing.assert_allclose(est.inverse_transform(est.fit_transform(X)), best, atol=1e-10)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None, np.float64(2.0)])
def test_bad_n_components(bad):
    with pytest.raises(ShapeError, match="n_components"):
        TruncatedSVD(bad).fit(_dense())


def test_too_many_components_names_the_shape():
    X = _dense()  # 60×20
    msg = r"n_components=21 must be between 1 and min\(n_samples, n_features\) = 20"
    with pytest.raises(ShapeError, match=msg):
        TruncatedSVD(21).fit(X)
    with pytest.raises(ShapeError, match="n_samples = 3, n_features = 20"):
        TruncatedSVD(4).fit(X[:3])
    assert TruncatedSVD(20).fit(X).components_.shape == (20, 20)  # at the bound: fine
    assert TruncatedSVD(np.int64(3)).fit(X).components_.shape == (3, 20)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"tol": 0.0}, "tol must be in"),
        ({"tol": 1.5}, "tol must be in"),
        ({"tol": "small"}, "tol must be a finite number"),
        ({"method": "arpack"}, "method must be one of"),
        ({"max_iter": 0}, "max_iter must be an integer"),
    ],
)
def test_bad_engine_parameters(params, match):
    with pytest.raises(SvdkitError, match=match):
        TruncatedSVD(**params).fit(_dense())


def test_unfitted_and_mismatched_inputs():
    est = TruncatedSVD(3)
    with pytest.raises(NotFittedError):
        est.transform(_dense())
    with pytest.raises(NotFittedError):
        est.inverse_transform(np.zeros((2, 3)))
    est.fit(_dense())
    with pytest.raises(ValueError, match="20 features"):
        est.transform(np.zeros((4, 19)))
    with pytest.raises(ShapeError, match="needs 3 columns"):
        est.inverse_transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.full((5, 5), np.nan))
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(np.ones((5, 5), dtype=complex))


# ------------------------------------------------------------------------------ lazy export


def test_import_svdkit_lowrank_does_not_import_scikit_learn():
    code = (
        "import sys, svdkit, svdkit.lowrank\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn'], 'sklearn'\n"
        "from svdkit.lowrank import TruncatedSVD\n"
        "assert 'sklearn' in sys.modules\n"
        "assert TruncatedSVD.__module__ == 'svdkit.lowrank.estimator'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_clear_error_without_scikit_learn(monkeypatch):
    for name in list(sys.modules):
        if name == "sklearn" or name.startswith("sklearn."):
            monkeypatch.setitem(sys.modules, name, None)  # import of sklearn fails
    monkeypatch.delitem(sys.modules, "svdkit.lowrank.estimator")
    with pytest.raises(MissingDependencyError, match=r"pip install 'svdkit\[sklearn\]'"):
        _ = svdkit.lowrank.TruncatedSVD
    # an ImportError too, as Python's own message for a missing package would be
    with pytest.raises(ImportError, match="needs scikit-learn"):
        from svdkit.lowrank import TruncatedSVD as _  # noqa: F401


def test_other_missing_attributes_stay_attribute_errors():
    with pytest.raises(AttributeError, match="no attribute 'PCA'"):
        _ = svdkit.lowrank.PCA
    assert svdkit.lowrank.TruncatedSVD is TruncatedSVD
