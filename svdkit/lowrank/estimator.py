"""``TruncatedSVD``: scikit-learn's transformer on svdkit's certified engine.

A drop-in for :class:`sklearn.decomposition.TruncatedSVD` (same constructor
defaults where the concepts are shared, same fitted attributes, same
``get_feature_names_out``), computed by :func:`svdkit.lowrank.truncated_svd`:
every component comes with its two residuals, each at most ``tol · σ₁``, or
:class:`~svdkit.ConvergenceError` says which did not converge. scikit-learn's
``algorithm``, ``n_iter``, ``n_oversamples`` and ``power_iteration_normalizer``
do not exist here: the engine runs until the certificate holds, with the method
``method`` names.

scikit-learn is needed (``pip install 'svdkit[sklearn]'``); the class is exported
lazily by :mod:`svdkit.lowrank`, so ``import svdkit.lowrank`` never imports it.

Examples
--------
>>> import numpy as np
>>> from svdkit.lowrank import TruncatedSVD
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((100, 30)) / np.arange(1, 31)
>>> svd = TruncatedSVD(n_components=5, random_state=0).fit(X)
>>> svd.components_.shape, svd.transform(X).shape
((5, 30), (100, 5))
>>> bool(np.allclose(svd.singular_values_, np.linalg.svd(X, compute_uv=False)[:5]))
True
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from svdkit._naming import check_real, got
from svdkit.errors import ConvergenceError, MissingDependencyError, ShapeError, SvdkitError

try:
    from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
    from sklearn.utils import check_array, check_random_state
    from sklearn.utils.extmath import safe_sparse_dot
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as err:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise MissingDependencyError(
        "svdkit.lowrank.TruncatedSVD needs scikit-learn ≥ 1.6: pip install 'svdkit[sklearn]'"
        f" ({err})"
    ) from err

from svdkit.lowrank.api import MIN_TOL, truncated_svd
from svdkit.lowrank.operators import scale_for

__all__ = ["InaccurateComponentsWarning", "TruncatedSVD"]

#: Rows per block when the total variance of a dense ``X`` is summed (``2²⁰`` entries
#: of float64 at most beside ``X``: no centred copy of ``X`` is formed).
_VARIANCE_BLOCK_ENTRIES = 2**20

#: Stored entries per block (at least) when the statistics of a sparse ``X`` are summed,
#: and entries of its ``m × k`` scores per block: each block is widened to float64 on its
#: own, with a few arrays of its size beside it (about 4 MiB), never the whole of ``X``.
_SPARSE_BLOCK_ENTRIES = 2**17

#: float32 input: the engine runs at ``tol`` less this margin, which covers the float32
#: rounding of the returned vectors (``u = eps32 / 2`` per entry, relative): with
#: ``v̂ = fl(v)``, ``ŝ = fl(σ)`` and ``z = fl(fl(u)·ŝ)`` (a column of ``fit_transform``),
#: ``‖X v̂ − z‖ ≤ r + ‖X‖·u + 3u·σ`` and, with ``û = z / ŝ``,
#: ``‖Xᵀ û − ŝ v̂‖ ≤ r + ‖X‖·4u + 2u·σ``: at most ``3·eps32·σ₁`` beyond the engine's ``r``.
_FLOAT32_MARGIN = 4 * float(np.finfo(np.float32).eps)

#: The smallest ``tol`` certified for float32 input (``8·eps32 ≈ 9.5e-7``; a smaller
#: one is raised to it, with a warning): the engine then runs at ``tol / 2`` or more.
_FLOAT32_TOL_MIN = 8 * float(np.finfo(np.float32).eps)

#: The dtypes the estimator computes in (others, e.g. integers, become float64).
_FLOATS = [np.float64, np.float32]

#: The dtypes ``transform`` and ``inverse_transform`` take as they are: float16 too, as
#: scikit-learn's do — the product with the components is then in the model's precision
#: (float32 for a float32 model, not float64).
_PROJECT_FLOATS = [np.float64, np.float32, np.float16]

#: A fitted component whose residual exceeds this fraction of its own ``σᵢ`` is warned
#: about (:class:`InaccurateComponentsWarning`): ``residual / σᵢ`` bounds the relative
#: error of ``σᵢ`` (and, over the gap to its neighbours, the angle of its vectors).
_LOOSE_RELATIVE = 1e-3

#: ... unless its ``σᵢ`` is below this fraction of ``σ₁``: no ``tol`` (``≥ 1e-14``) can
#: bring such a component to :data:`_LOOSE_RELATIVE` (``1e-14 / 1e-3``); it is the
#: rounding level of a rank-deficient ``X``, known only to ``tol · σ₁`` absolutely. For
#: float32 ``X`` the floor is :data:`_FLOAT32_TOL_MIN` instead (``8·eps32 ≈ 9.5e-7``):
#: below it lie the singular values that the float32 rounding of ``X``'s own entries
#: makes (about ``eps32 · σ₁ / √min(m, n)`` for a rank-deficient ``X``).
_RESOLVABLE = 1e-11


class InaccurateComponentsWarning(UserWarning):
    """Some fitted components of :class:`TruncatedSVD` are certified only absolutely.

    The certificate bounds every residual by ``tol · σ₁``; a component whose ``σᵢ``
    is far below ``σ₁`` (the trailing components of uncentred data with a large mean)
    may then be off by more than ``1e-3`` of itself. The message names those
    components and the ``tol`` that would bring them to ``1e-3``.
    """


MatrixLike = npt.ArrayLike | sp.spmatrix | sp.sparray


class TruncatedSVD(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Dimensionality reduction by certified truncated SVD (LSA), scikit-learn compatible.

    Fits ``X ≈ U Σ Vᵀ`` with the ``n_components`` leading singular triplets of ``X``
    (not centred, so sparse matrices stay sparse) by :func:`svdkit.lowrank.truncated_svd`,
    and projects data on ``V``. Unlike :class:`sklearn.decomposition.TruncatedSVD`,
    whose randomized solver runs a fixed number of iterations whatever the spectrum,
    every fitted component is certified: ``‖X vᵢ − σᵢ uᵢ‖`` and ``‖Xᵀ uᵢ − σᵢ vᵢ‖``
    are computed and both are at most ``tol · σ₁`` (``residuals_right_``,
    ``residuals_left_``), or :class:`~svdkit.ConvergenceError` is raised.

    **The certificate is absolute, relative to σ₁**: every component carries an error
    of up to ``tol · σ₁``, whatever its own ``σᵢ``. A component with ``σᵢ ≪ σ₁`` may be
    off by ``tol · σ₁ / σᵢ`` of itself — on uncentred data with a large mean (``X =
    10⁶ + noise``: ``σ₂ / σ₁ ≈ 10⁻⁸``) the default ``tol`` leaves components 2… 20 %
    wrong. Pass ``tol ≤ 1e-3 · σₖ / σ₁`` for them to ``1e-3``; :meth:`fit` warns
    (:class:`InaccurateComponentsWarning`, a ``UserWarning``) when a residual exceeds
    ``1e-3 · σᵢ``, naming the components and that ``tol``.

    Parameters
    ----------
    n_components : int, default 2
        Number of components, ``1 ≤ n_components ≤ min(n_samples, n_features)``
        (a matrix has no more singular triplets). 100 is a usual value for LSA.
    tol : float, default 1e-6
        The certificate: both residuals of every component are at most
        ``tol · σ₁``, so each ``singular_values_[i]`` is within ``tol · σ₁`` of a
        singular value of ``X`` — an absolute error: components with ``σᵢ ≪ σ₁`` need
        ``tol ≤ 1e-3 · σᵢ / σ₁`` to be right to ``1e-3`` of themselves (see above).
        In ``[1e-14, 1)`` whatever the dtype of ``X`` (anything else is a
        :class:`~svdkit.SvdkitError` naming ``tol``). (scikit-learn's ``tol`` is
        ARPACK's stopping rule; this one is a guarantee.) With float32 input the
        guarantee is about the float32 results the estimator returns, whose rounding
        alone moves the residuals by up to ``3·eps32·σ₁``: a ``tol`` below
        ``8·eps32 ≈ 9.5e-7`` is raised to it, with a ``UserWarning`` (``tol_``).
    method : {"auto", "krylov", "gram", "randomized", "dash", "lapack"}, default "auto"
        The engine's method (see :func:`svdkit.lowrank.choose_method`): ``"auto"``
        takes a dense LAPACK SVD for small inputs, the Gram matrix for dense inputs
        with a short side of at most 256, block Krylov otherwise.
    max_iter : int, optional
        Most iterations of the method (Lanczos steps, power iterations); default:
        the method's own. A fit that needs more raises
        :class:`~svdkit.ConvergenceError`.
    random_state : int, RandomState or Generator instance, or None, default None
        The random start. An int in ``[0, 2³²)`` (scikit-learn's range) is the engine's
        ``seed`` (the same fit bit for bit, and the same as ``truncated_svd(X, k,
        seed=random_state)``, from the main thread; see "Determinism" in
        ``docs/lowrank.md`` for other threads); ``None`` (NumPy's global
        ``RandomState``), a ``numpy.random.RandomState`` or a ``numpy.random.Generator``
        draws the seed from it, as scikit-learn's estimators do with a ``RandomState``
        (they refuse a ``Generator``). Anything else (a negative int, a float, a string)
        is a :class:`~svdkit.SvdkitError` naming ``random_state``. Whatever the seed,
        the results agree to ``tol``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The right singular vectors ``Vᵀ`` of ``X``, orthonormal rows.
    singular_values_ : ndarray of shape (n_components,)
        ``σ₁ ≥ σ₂ ≥ …``: the 2-norms of the columns of ``fit_transform(X)``.
    explained_variance_ : ndarray of shape (n_components,)
        Variance of each column of ``X V`` (``transform(X)``, as scikit-learn's
        randomized solver), computed in float64 from the centred data; it differs
        from the variance of ``fit_transform(X)`` by the residual at most. A variance
        beyond the range of ``X``'s dtype (it would be ``inf``, or 0 beside a non-zero
        ratio) is an error (see Raises).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` over the total variance of the columns of ``X``
        (computed without densifying or centring a copy of ``X``, on ``2^p · X`` with
        ``2^p`` bringing its largest entry near 1, so at any scale): non-negative,
        summing to at most 1 up to rounding (``V`` orthonormal). Each column is centred
        on its computed mean and its variance corrected by that mean's rounding as
        measured (Chan, Golub & LeVeque), so variance far below the mean² is kept (as
        ``numpy.var`` resolves it). Both are zeros when ``X`` has no variance: every
        column constant (a single sample, constant columns, identical rows).
    residuals_right_, residuals_left_ : ndarray of shape (n_components,)
        The certificate: ``‖X vᵢ − σᵢ uᵢ‖₂`` and ``‖Xᵀ uᵢ − σᵢ vᵢ‖₂``, computed from
        products with ``X`` (never estimated), each ``≤ tol_ · singular_values_[0]``,
        with ``vᵢ`` the rows of ``components_``, ``σᵢ`` = ``singular_values_`` and
        ``uᵢ`` the columns of ``fit_transform(X) / σ`` — for float32 input those
        float32 values, taken exactly into float64. Always float64.
    tol_ : float
        The tolerance certified: ``tol``, or ``8·eps32 ≈ 9.5e-7`` for float32 input
        where ``tol`` is smaller.
    method_ : str
        The method that ran (what ``method="auto"`` chose).
    n_iter_ : int
        Iterations of that method (1 for ``"lapack"`` and ``"gram"``).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when ``X`` has string column names
        (a DataFrame).

    Raises
    ------
    ConvergenceError
        From :meth:`fit` / :meth:`fit_transform`: some component did not meet
        ``tol`` within ``max_iter``. For float32 input the message names the ``tol``
        asked for (the engine runs ``4·eps32`` below it, which it says too).
    SvdkitError
        From :meth:`fit` / :meth:`fit_transform`: a result beyond the range of
        ``X``'s dtype — for float32 ``X``, ``σ₁`` above the largest float32 (3.4e38)
        or an ``explained_variance_`` outside float32's normal range (pass float64
        data); for float64, an ``explained_variance_`` (about ``σᵢ² / n_samples``)
        beyond 1.8e308 or below 2.2e-308 (scale ``X`` by a power of two; the message
        says which). Nothing is returned as ``inf``, or as 0 in place of a value.
        Also a ``tol`` or ``random_state`` out of its domain, named.

    Warns
    -----
    UserWarning
        From :meth:`fit` / :meth:`fit_transform`: float32 input with ``tol`` below
        ``8·eps32`` (raised to it). Every warning names the line that called ``fit``,
        ``fit_transform`` (or a Pipeline's, ``cross_validate``'s…), not a line inside
        svdkit, scikit-learn or joblib.
    InaccurateComponentsWarning
        From :meth:`fit` / :meth:`fit_transform`: some component's residual exceeds
        ``1e-3`` of its own ``σᵢ`` (the bound on its relative error), its ``σᵢ`` above
        the rounding level of a rank-deficient ``X`` (``1e-11 · σ₁``; for float32
        ``X`` ``8·eps32 · σ₁``). The message names the components and the ``tol``
        that would bring them to ``1e-3``. Never on a residual within ``1e-3 · σᵢ``.

    See Also
    --------
    svdkit.lowrank.truncated_svd : the engine, with ``U`` and every diagnostic.
    sklearn.decomposition.TruncatedSVD : the estimator this one stands in for.

    Notes
    -----
    **Signs.** Singular vectors are defined up to sign. svdkit's rule
    (:mod:`svdkit.linalg.signs`, the same for every method) makes the entry of
    largest magnitude of each left singular vector ``uᵢ`` positive — that is, in
    each column of ``fit_transform(X)`` the sample with the largest score (first
    of ties) scores positively. scikit-learn's ``svd_flip(U, Vt,
    u_based_decision=False)`` makes the largest-magnitude entry of each row of
    ``components_`` positive instead. The two estimators therefore agree up to one
    sign per component; to get scikit-learn's signs, multiply ``components_`` row
    ``i`` (and the transformed column ``i``) by the sign of
    ``components_[i, argmax(abs(components_[i]))]``.

    **A failed fit.** A fit that raises (whatever the reason) sets nothing: the
    estimator keeps its previous fit, every fitted attribute (``n_features_in_`` and
    ``feature_names_in_`` included) as it was, or stays unfitted (``NotFittedError``).

    **fit_transform.** It returns ``U Σ`` from the fit itself, without a second
    pass over ``X``; it differs from ``X V`` by the certified residual
    ``residuals_right_[i] ≤ tol_ · σ₁`` per column. ``transform(X)`` is ``X V``
    computed in ``X``'s dtype, so the two differ by at most ``residuals_right_[i]``
    plus the rounding of that product: ``n·u / (1 − n·u) · ‖|X| |vᵢ|‖`` at most
    (``n`` features, ``u`` the unit roundoff: ``2⁻⁵³``, or ``2⁻²⁴`` for float32).

    **dtype.** float32 input (dense or sparse) gives float32 ``components_``,
    ``singular_values_``, explained variances and transformed data, as
    scikit-learn; the certificate is always measured with float64 products, and for
    float32 input on the float32 results themselves: the engine runs at
    ``tol_ − 4·eps32``, leaving room for their rounding (``3·eps32·σ₁`` at most), and
    the residuals are then measured again (one more product with ``X`` and one with
    ``Xᵀ``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from svdkit.lowrank import TruncatedSVD
    >>> docs = ["the cat sat", "the dog sat", "a cat and a dog", "stocks fell", "stocks rose"]
    >>> lsa = make_pipeline(TfidfVectorizer(), TruncatedSVD(n_components=2, random_state=0))
    >>> lsa.fit_transform(docs).shape
    (5, 2)
    >>> svd = lsa[-1]
    >>> svd.get_feature_names_out().tolist()
    ['truncatedsvd0', 'truncatedsvd1']
    >>> bool(max(svd.residuals_right_.max(), svd.residuals_left_.max())
    ...      <= svd.tol * svd.singular_values_[0])
    True

    float32 data gives float32 results, certified as they are returned:

    >>> X = np.random.default_rng(0).standard_normal((50, 20)).astype(np.float32)
    >>> svd32 = TruncatedSVD(3, random_state=0)
    >>> Z = svd32.fit_transform(X)
    >>> Z.dtype, svd32.tol_
    (dtype('float32'), 1e-06)
    >>> V = svd32.components_.T.astype(np.float64)
    >>> right = np.linalg.norm(X.astype(np.float64) @ V - Z, axis=0)
    >>> bool(np.allclose(right, svd32.residuals_right_, rtol=1e-6, atol=0))
    True
    >>> bool(right.max() <= svd32.tol_ * svd32.singular_values_[0])
    True
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        tol: float = 1e-6,
        method: str = "auto",
        max_iter: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.method = method
        self.max_iter = max_iter
        self.random_state = random_state

    # ------------------------------------------------------------------------------ fitting

    def fit(self, X: MatrixLike, y: Any = None) -> Self:
        """Fit the model on the training data ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: dense float64/float32 (other numbers become float64), or
            sparse CSR/CSC (other formats become CSR), never densified; duplicate
            entries are summed on a copy (the matrix given is not changed).
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        TruncatedSVD
            ``self``, fitted.
        """
        self._fit(X)
        return self

    def fit_transform(self, X: MatrixLike, y: Any = None) -> np.ndarray:
        """Fit the model on ``X`` and return ``X`` reduced: ``U Σ``, from the same pass.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (as in :meth:`fit`).
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            ``U Σ``, dense, in ``X``'s float dtype.
        """
        return self._fit(X)

    def _fit(self, X: MatrixLike) -> np.ndarray:
        # Nothing is set on self until every check and computation has passed: a fit that
        # raises leaves the previous fit (or none) as it was. validate_data sets
        # n_features_in_ / feature_names_in_ itself: they are taken off again at once.
        before = _input_attributes(self)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # (its finiteness check's sum)
                X = validate_data(
                    self, _unmasked(X), accept_sparse=("csr", "csc"), dtype=_FLOATS
                )
            seen = _input_attributes(self)
        finally:
            _set_input_attributes(self, before)
        if sp.issparse(X) and not X.has_canonical_format:
            # duplicates are summed (as SciPy reads them), on a copy: the statistics
            # count each stored entry of a column as one of its values
            X = X.copy()
            X.sum_duplicates()
        k = self._check_n_components(X.shape)
        tol = check_real(self.tol, "tol", MIN_TOL, 1.0)  # (the same domain for every dtype)
        seed = _seed(self.random_state)
        dtype = X.dtype
        single = dtype == np.float32
        # float32: the engine leaves room for the rounding of its vectors to float32
        tol, engine_tol = _float32_tols(tol) if single else (tol, tol)
        try:
            r = truncated_svd(
                X, k, tol=engine_tol, method=self.method, seed=seed, max_iter=self.max_iter
            )
        except ConvergenceError as err:
            if engine_tol == tol:
                raise
            raise _in_users_tol(err, self.tol, tol, engine_tol) from err
        if single:
            _check_float32_range(r.s)
        s = r.s.astype(dtype)
        Xt = r.U.astype(dtype, copy=single)  # (float32: r.U is kept for _left_vectors)
        Xt *= s  # U Σ in place
        components = r.Vh.astype(dtype, copy=False)
        if single:
            if not np.isfinite(Xt).all():  # (|uᵢ| σᵢ rounded up past the float32 maximum)
                _check_float32_range(r.s, force=True)
            # the certificate of what is returned: the float32 vectors, not the engine's
            stats = _fitted_statistics(X, components, (Xt, r.U, s))
            right, left = stats.right, stats.left
            _check_float32_certificate(right, left, float(s[0]), tol)
        else:
            stats = _fitted_statistics(X, components)
            right, left = r.residuals_right, r.residuals_left
        _check_variances_fit(stats, dtype)
        # (set only now: a fit that raised leaves no half-fitted attributes)
        _set_input_attributes(self, seen)
        self.components_ = components
        self.singular_values_ = s
        self.explained_variance_ = stats.exp_var.astype(dtype)
        self.explained_variance_ratio_ = stats.ratio.astype(dtype)
        self.residuals_right_ = np.asarray(right, dtype=np.float64)
        self.residuals_left_ = np.asarray(left, dtype=np.float64)
        self.tol_ = float(tol)
        self.method_ = r.method
        self.n_iter_ = int(r.iterations)
        _warn_inaccurate(r.s, self.residuals_right_, self.residuals_left_, self.tol_, single)
        return Xt

    def _check_n_components(self, shape: tuple[int, int]) -> int:
        m, n = shape
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise ShapeError(f"n_components must be an integer ≥ 1; got {k!r}")
        p = min(m, n)
        if not 1 <= k <= p:
            raise ShapeError(
                f"n_components={k} must be between 1 and min(n_samples, n_features) = {p}: "
                f"the data has n_samples = {m}, n_features = {n}"
            )
        return int(k)

    # ------------------------------------------------------------------------------ using

    def transform(self, X: MatrixLike) -> np.ndarray:
        """Project ``X`` on the components: ``X @ components_.T``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data, dense or sparse (never densified).

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The reduced data, dense: float64 for a float64 fit; for a float32 fit,
            float32 from float32 or float16 ``X`` (as scikit-learn's), float64 from
            float64 or integer ``X``.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):  # (its finiteness check's sum)
            X = validate_data(
                self, _unmasked(X), accept_sparse=("csr", "csc"), dtype=_PROJECT_FLOATS, reset=False
            )
        return np.asarray(safe_sparse_dot(X, self.components_.T))

    def inverse_transform(self, X: npt.ArrayLike) -> np.ndarray:
        """Map reduced data back to the feature space: ``X @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Reduced data (a masked entry is an error, as in :meth:`fit`).

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Its image in the original space (dense): the rank-``n_components``
            approximation of the data whose transform ``X`` is.
        """
        check_is_fitted(self)
        X = check_array(_unmasked(X), dtype=_PROJECT_FLOATS)
        k = self.components_.shape[0]
        if X.shape[1] != k:
            raise ShapeError(
                f"inverse_transform needs {k} columns (n_components); got an array of "
                f"shape {X.shape[0]}×{X.shape[1]}"
            )
        return X @ self.components_

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted: a fit has completed (``components_`` is set only then)."""
        return hasattr(self, "components_")

    @property
    def _n_features_out(self) -> int:
        """Number of output features (``get_feature_names_out``)."""
        return int(self.components_.shape[0])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


#: The attributes that scikit-learn's ``validate_data`` sets on a fit.
_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")


def _input_attributes(est: TruncatedSVD) -> dict[str, Any]:
    """The :data:`_INPUT_ATTRIBUTES` that ``est`` has, by name."""
    return {name: getattr(est, name) for name in _INPUT_ATTRIBUTES if hasattr(est, name)}


def _set_input_attributes(est: TruncatedSVD, values: dict[str, Any]) -> None:
    """Give ``est`` exactly the :data:`_INPUT_ATTRIBUTES` of ``values`` (others deleted)."""
    for name in _INPUT_ATTRIBUTES:
        if name in values:
            setattr(est, name, values[name])
        elif hasattr(est, name):
            delattr(est, name)


def _seed(random_state: Any) -> int:
    """The engine's seed for ``random_state``: an int in ``[0, 2³²)`` as is (scikit-learn's
    range), else drawn from NumPy's global ``RandomState`` (None), the ``RandomState`` or
    the ``Generator`` given; anything else is a :class:`~svdkit.SvdkitError` naming
    ``random_state`` (scikit-learn's ``check_random_state`` refuses a ``Generator``; the
    engine takes the seed drawn from one as from a ``RandomState``)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if 0 <= random_state < 2**32:
            return int(random_state)
    elif random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    elif isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    raise SvdkitError(
        "random_state must be None, an integer in [0, 2**32), a numpy.random.RandomState "
        f"or a numpy.random.Generator; got {got(random_state)}",
        param="random_state",
    )


def _in_users_tol(
    err: ConvergenceError, asked: float, tol: float, engine_tol: float
) -> ConvergenceError:
    """The engine's ``err`` for float32 input (run at ``engine_tol``), saying the ``tol``
    the user asked for (``asked``, raised to ``tol``) instead; its other attributes
    (``result``, ``unconverged``, the advice) kept."""
    finding = getattr(err, "finding", None)
    inner = f"tol={engine_tol:g}"
    if finding is None or inner not in finding:
        return err
    if tol == asked:
        said = f"tol={tol:g}"
    else:
        said = f"tol_={tol:g} (tol={asked:g} raised to 8·eps32 for float32 input)"
    why = (
        f" (for float32 input the engine runs at tol − 4·eps32 = {engine_tol:g}, leaving "
        "room for the float32 rounding of the results)"
    )
    text = finding.replace(inner, said, 1)
    end = len(text.rstrip(". "))  # (the note goes before the finding's closing ". ")
    text = f"{text[:end]}{why}{text[end:]}"
    new = err.with_message(text + str(err)[len(finding) :])
    new.finding = text  # type: ignore[attr-defined]
    return new  # type: ignore[return-value]


class _Statistics(NamedTuple):
    """What one float64 pass over ``X`` gives :meth:`TruncatedSVD._fit`."""

    full_var: float  # Σⱼ var(X[:, j]) (inf or 0 where it is beyond float64's range)
    exp_var: np.ndarray  # var((X V)[:, i]), shape (k,) (likewise)
    ratio: np.ndarray  # exp_var / full_var, from the scaled sums; zeros if full_var is 0
    exponent: int  # the sums are those of 2^exponent · X (exact)
    scaled_exp_var: np.ndarray  # exp_var · 4^exponent: finite and normal
    right: np.ndarray | None  # ‖X vᵢ − zᵢ‖, with certify
    left: np.ndarray | None  # ‖Xᵀ uᵢ − σᵢ vᵢ‖, with certify


def _float32_tols(tol: Any) -> tuple[Any, Any]:
    """For float32 input: the tolerance certified, ``tol`` raised to
    :data:`_FLOAT32_TOL_MIN` (with a warning) where float32 results cannot meet it, and
    the engine's, less :data:`_FLOAT32_MARGIN`. What is not a number in ``(0, 1)`` goes
    on as is, for the engine's message."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        return tol, tol
    if tol < _FLOAT32_TOL_MIN:
        warnings.warn(
            f"tol={tol!r} is below what float32 results can be certified to: the float32 "
            "rounding of components_ and fit_transform(X) alone moves the residuals by up "
            f"to 3·eps32·σ₁; certified at tol_ = 8·eps32 = {_FLOAT32_TOL_MIN:.3g} instead "
            "(pass float64 data for a tighter tol)",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )
        tol = _FLOAT32_TOL_MIN
    return float(tol), float(tol) - _FLOAT32_MARGIN


#: The packages whose frames a warning skips: svdkit's and scikit-learn's own
#: (``fit_transform`` is wrapped by scikit-learn's ``set_output``; a Pipeline calls it),
#: and joblib's, through which scikit-learn dispatches (a Pipeline fits every step but the
#: last through ``memory.cache``; ``cross_validate`` and ``GridSearchCV`` through
#: ``joblib.Parallel``), with threadpoolctl's, which scikit-learn wraps calls in.
_LIBRARY_PACKAGES = ("svdkit", "sklearn", "joblib", "threadpoolctl")


def _library_frame(frame: Any) -> bool:
    """Whether ``frame`` runs code of a module of :data:`_LIBRARY_PACKAGES` (by its
    module name: ``svdkit.lowrank.estimator``, ``joblib.memory``…)."""
    name = frame.f_globals.get("__name__") or ""
    return name.partition(".")[0] in _LIBRARY_PACKAGES


def _user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` in the caller of this function that names
    the first frame outside svdkit, scikit-learn and the libraries it dispatches through
    (:data:`_LIBRARY_PACKAGES`): the user's call of ``fit``, ``fit_transform``, a
    Pipeline's, ``cross_validate``'s (``warn(skip_file_prefixes=…)`` is Python 3.12's)."""
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame.f_back is not None and _library_frame(frame):
        frame = frame.f_back
        level += 1
    return level


def _left_vectors(Z: np.ndarray, s: np.ndarray, U: np.ndarray) -> np.ndarray:
    """The left singular vectors that float32 results stand for, in float64:
    ``fit_transform(X) / σ`` (``U`` rounded to float32 where ``σᵢ = 0``)."""
    s64 = s.astype(np.float64)
    zero = s64 == 0
    out = Z.astype(np.float64)
    out[:, ~zero] /= s64[~zero]
    out[:, zero] = U[:, zero].astype(np.float32)
    return out


def _check_float32_certificate(right: np.ndarray, left: np.ndarray, s1: float, tol: float) -> None:
    """Raise :class:`~svdkit.ConvergenceError` if the float32 results miss ``tol`` (the
    engine's margin covers their rounding: seen only if its ``σ₁`` is not ``‖X‖₂``)."""
    worst = np.maximum(right, left)
    # (a residual or σ₁ that is not finite never counts as met: inf > tol·inf is False)
    bad = np.flatnonzero(~(worst <= tol * s1) | ~np.isfinite(worst) | (not math.isfinite(s1)))
    if bad.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = float(worst.max() / s1)
        raise ConvergenceError(
            f"the float32 results did not certify tol={tol:g}: components {bad.tolist()} have "
            f"residuals up to {relative:.2e}·σ₁ (fit float64 data for results "
            "certified in float64)"
        )


def _check_float32_range(s: np.ndarray, *, force: bool = False) -> None:
    """Raise :class:`~svdkit.SvdkitError` if the engine's (float64) singular values ``s``
    do not fit in float32 (or, with ``force``, their ``U Σ`` did not)."""
    big = float(np.finfo(np.float32).max)
    with np.errstate(over="ignore"):
        fits = bool(np.isfinite(s.astype(np.float32)).all())
    if fits and not force:
        return
    raise SvdkitError(
        f"σ₁ of X is {float(s[0]):.4g}, at or beyond the largest float32 ({big:.4g}): "
        "float32 results (singular_values_, fit_transform(X)) cannot hold it; pass X as "
        "float64 (X.astype(np.float64)) for float64 results"
    )


def _check_variances_fit(stats: _Statistics, dtype: np.dtype) -> None:
    """Raise :class:`~svdkit.SvdkitError` if a non-negligible ``explained_variance_``
    (its ratio above ``eps``) is beyond the normal range of ``dtype``: it would overflow
    to ``inf`` or flush to 0 (or to a subnormal, losing digits)."""
    info = np.finfo(dtype)
    exp_var = stats.exp_var
    over = ~(exp_var <= float(info.max))
    under = (exp_var < float(info.tiny)) & (stats.ratio > float(info.eps))
    bad = np.flatnonzero(over | under)
    if not bad.size:
        return
    i = int(bad[0])
    log2 = float(np.log2(stats.scaled_exp_var[i])) - 2 * stats.exponent
    wide = np.finfo(np.float64)
    if dtype == np.float32 and math.log2(wide.tiny) < log2 < math.log2(wide.max):
        advice = "pass X as float64 (X.astype(np.float64)) for float64 results"
    else:
        shift = -round(log2 / 2)
        advice = (
            f"scale X by a power of two (X * 2.0**{shift}): components_ and "
            f"explained_variance_ratio_ do not change, explained_variance_ is "
            f"multiplied by 2.0**{2 * shift}"
        )
    raise SvdkitError(
        f"explained_variance_[{i}] of X is about 2^{log2:.1f}, beyond the range of "
        f"{np.dtype(dtype).name} ({float(info.tiny):.3g} to {float(info.max):.3g}): it "
        f"cannot be returned; {advice}"
    )


def _warn_inaccurate(
    s: np.ndarray, right: np.ndarray, left: np.ndarray, tol: float, single: bool
) -> None:
    """Warn (:class:`InaccurateComponentsWarning`) about the components whose residual
    exceeds :data:`_LOOSE_RELATIVE` of their own ``σᵢ`` (those above
    :data:`_RESOLVABLE` ``· σ₁``, :data:`_FLOAT32_TOL_MIN` ``· σ₁`` for float32 input),
    naming the ``tol`` that would bring them to it."""
    s = np.asarray(s, dtype=np.float64)
    if not s.size or not s[0] > 0:
        return
    worst = np.maximum(right, left)
    floor = (_FLOAT32_TOL_MIN if single else _RESOLVABLE) * s[0]
    loose = np.flatnonzero((worst > _LOOSE_RELATIVE * s) & (s > floor))
    if not loose.size:
        return
    lowest = float(s[loose].min() / s[0])
    need = _LOOSE_RELATIVE * lowest  # tol·σ₁ ≤ 1e-3·σᵢ for each of them
    if single and need < _FLOAT32_TOL_MIN:
        advice = f"fit float64 data (X.astype(np.float64)) with tol ≤ {need:.1e}"
    else:
        advice = f"fit with tol ≤ {need:.1e}"
    warnings.warn(
        f"components {loose.tolist()} (rows of components_) are certified only to "
        f"tol_·σ₁ = {tol * s[0]:.3g} absolutely, and their σᵢ are far below σ₁ (down to "
        f"{lowest:.2e}·σ₁): their singular values, vectors and explained variances may be "
        f"off by up to {float((worst[loose] / s[loose]).max()):.2e} of themselves "
        f"(residual / σᵢ); {advice} to bring them within {_LOOSE_RELATIVE:g}",
        InaccurateComponentsWarning,
        stacklevel=_user_stacklevel(),
    )


def _major_blocks(indptr: np.ndarray, entries: int, length: int) -> Iterator[tuple[int, int]]:
    """Consecutive ranges ``[lo, hi)`` of a compressed matrix's major axis (the rows of a
    CSR matrix, the columns of a CSC one): at most ``length`` of them and at most
    ``entries`` stored entries each, unless one row (column) alone holds more."""
    count = indptr.shape[0] - 1
    lo = 0
    while lo < count:
        hi = int(np.searchsorted(indptr, int(indptr[lo]) + entries, side="right")) - 1
        hi = min(max(hi, lo + 1), lo + length, count)
        yield lo, hi
        lo = hi


def _score_sums(P: np.ndarray, shift: np.ndarray, Z: np.ndarray | None) -> np.ndarray:
    """For rows ``P`` of ``X V``: the column sums of the centred scores ``P − shift``
    (``shift = μᵀ V``, ``μ`` the column means of ``X``), of their squares and, with
    ``Z`` (the same rows of ``fit_transform(X)``), of ``(P − Z)²``; shape ``(3, k)``.
    ``P`` is centred in place."""
    out = np.zeros((3, P.shape[1]))
    if Z is not None:
        D = P - Z
        out[2] = np.einsum("ij,ij->j", D, D)
        del D
    P -= shift
    out[0] = P.sum(axis=0)
    out[1] = np.einsum("ij,ij->j", P, P)
    return out


def _unmasked(X: Any) -> Any:
    """A NumPy masked ``X`` as its data when nothing is masked; a masked entry is an error
    (:func:`svdkit.inputs.shape.unmasked`), where scikit-learn reads the value under it."""
    if not isinstance(X, np.ma.MaskedArray):
        return X
    from svdkit.inputs import _matrix_pos
    from svdkit.inputs.shape import unmasked

    return unmasked(X, "X", _matrix_pos)


def _scale_of_entries(hi: float, lo: float) -> tuple[float, int]:
    """The power of two ``c = 2^p`` (and ``p``) that brings the largest entry ``max(|hi|,
    |lo|)`` of ``X`` near 1 (:func:`~svdkit.lowrank.operators.scale_for`; 1 for data
    within ``2^±32``): the statistics of ``c·X`` neither overflow nor underflow."""
    c = scale_for(max(abs(hi), abs(lo)))
    return c, math.frexp(c)[1] - 1


def _sparse_statistics(
    X: sp.spmatrix | sp.sparray,
    V: np.ndarray,
    certify: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    c: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For a CSR or CSC ``X`` (no duplicate entries) and ``c`` a power of two: the column
    variances of ``c·X``, the :func:`_score_sums` of ``c·X V`` and, with ``certify``,
    ``c·Xᵀ U`` — all in float64, from blocks of the major axis (rows of a CSR ``X``,
    columns of a CSC one) widened one at a time, of at most ``max(2¹⁷, n)`` (CSR) or
    ``max(2¹⁷, m)`` (CSC) stored entries: never a float64 copy of the whole of ``X``. A
    CSR ``X`` streams ``X V`` by rows; a CSC one sums it into one ``m × k`` array (and
    forms the ``m × k`` left vectors once).

    The column variances are the corrected two-pass sums of
    :func:`sklearn.utils.sparsefuncs.mean_variance_axis` (Chan, Golub & LeVeque):
    ``(Σ (x − μⱼ)² + zⱼ μⱼ² − (Σ (x − μⱼ) − zⱼ μⱼ)² / m) / m`` over the stored entries
    of column ``j``, ``zⱼ`` its implicit zeros; a constant column (its largest value its
    smallest, implicit zeros included) is centred on that value, exactly: variance 0.
    """
    m, n = X.shape
    k = V.shape[1]
    csr = X.format == "csr"
    indptr = X.indptr
    # enough entries a block that its length-n sums and n × k (m × k) products do not
    # outweigh its own; a CSR block's scores of at most 2¹⁷ entries
    entries = max(_SPARSE_BLOCK_ENTRIES, n if csr else m)
    length = max(1, _SPARSE_BLOCK_ENTRIES // k) if csr else n
    blocks = list(_major_blocks(indptr, entries, length))

    def widened(lo: int, hi: int) -> tuple[int, np.ndarray, np.ndarray, slice]:
        """The block's first entry, its values times ``c`` in float64, the column of each
        (counted from the start of ``cols``) and the columns ``cols`` it spans."""
        a, b = int(indptr[lo]), int(indptr[hi])
        data = np.asarray(X.data[a:b], dtype=np.float64)
        if c != 1.0:
            data = data * c  # (never in place: X's own float64 data)
        if csr:
            return a, data, X.indices[a:b], slice(0, n)
        return a, data, np.repeat(np.arange(hi - lo), np.diff(indptr[lo : hi + 1])), slice(lo, hi)

    count, col_sum = np.zeros(n), np.zeros(n)
    col_max, col_min = np.full(n, -np.inf), np.full(n, np.inf)
    for lo, hi in blocks:
        _, data, ids, cols = widened(lo, hi)
        width = cols.stop - cols.start
        col_sum[cols] += np.bincount(ids, weights=data, minlength=width)
        count[cols] += np.bincount(ids, minlength=width)
        np.maximum.at(col_max[cols], ids, data)
        np.minimum.at(col_min[cols], ids, data)
    absent = m - count
    implicit = absent > 0
    col_max[implicit] = np.maximum(col_max[implicit], 0.0)
    col_min[implicit] = np.minimum(col_min[implicit], 0.0)
    mean = col_sum / m
    constant = col_max == col_min
    mean[constant] = col_max[constant]
    shift = mean @ V
    dev = np.zeros((2, n))  # Σ (x − μⱼ) and Σ (x − μⱼ)² over the stored entries
    sums = np.zeros((3, k))
    XtU = P = None
    if certify is not None:
        Z, U, s = certify
        XtU = np.zeros((n, k))
        if not csr:
            left = _left_vectors(Z, s, U)
    if not csr:
        P = np.zeros((m, k))
    for lo, hi in blocks:
        a, data, ids, cols = widened(lo, hi)
        width = cols.stop - cols.start
        d = mean[cols][ids]
        np.subtract(data, d, out=d)
        dev[0, cols] += np.bincount(ids, weights=d, minlength=width)
        d *= d
        dev[1, cols] += np.bincount(ids, weights=d, minlength=width)
        del d
        ptr = indptr[lo : hi + 1] - a
        if csr:
            B = sp.csr_matrix((data, X.indices[a : a + data.shape[0]], ptr), shape=(hi - lo, n))
            Zb = None if certify is None else _scaled(Z[lo:hi], c)
            sums += _score_sums(B @ V, shift, Zb)
            if certify is not None:
                XtU += B.T @ _left_vectors(Z[lo:hi], s, U[lo:hi])
        else:
            B = sp.csc_matrix((data, X.indices[a : a + data.shape[0]], ptr), shape=(m, hi - lo))
            P += B @ V[lo:hi]
            if certify is not None:
                XtU[lo:hi] = B.T @ left
        del B, data
    if P is not None:
        step = max(1, _SPARSE_BLOCK_ENTRIES // k)
        for r0 in range(0, m, step):
            Zb = None if certify is None else _scaled(Z[r0 : r0 + step], c)
            sums += _score_sums(P[r0 : r0 + step], shift, Zb)
    correction = dev[0] - absent * mean
    var = (dev[1] + absent * mean**2 - correction**2 / m) / m
    return np.maximum(var, 0.0), sums, XtU


def _scaled(Z: np.ndarray, c: float) -> np.ndarray:
    """``c · Z`` in float64 (exact: ``c`` a power of two)."""
    out = Z.astype(np.float64)
    if c != 1.0:
        out *= c
    return out


def _dense_statistics(
    X: np.ndarray,
    V: np.ndarray,
    certify: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    c: float,
    col_max: np.ndarray,
    col_min: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For a dense ``X`` and ``c`` a power of two: what :func:`_sparse_statistics` gives,
    from row blocks of at most 2²⁰ entries widened to float64 one at a time (never a
    centred copy of ``X``); ``col_max``, ``col_min`` are ``X``'s per column.

    Each column is centred on its computed mean and its variance corrected by the
    rounding of that mean as measured (Chan, Golub & LeVeque):
    ``(Σ (x − μⱼ)² − (Σ (x − μⱼ))² / m) / m``; a constant column is centred on its value,
    exactly: variance 0."""
    m, n = X.shape
    k = V.shape[1]
    step = max(1, _VARIANCE_BLOCK_ENTRIES // max(n, 1))

    def rows(r0: int) -> np.ndarray:
        B = X[r0 : r0 + step].astype(np.float64)
        if c != 1.0:
            B *= c
        return B

    if c == 1.0:
        mean = X.mean(axis=0, dtype=np.float64)
    else:  # c·X's (the sums of X itself may overflow, its squares underflow)
        mean = np.zeros(n)
        for r0 in range(0, m, step):
            mean += rows(r0).sum(axis=0)
        mean /= m
    constant = col_max == col_min
    mean[constant] = col_max[constant].astype(np.float64) * c
    dev = np.zeros((2, n))  # Σ (x − μⱼ) and Σ (x − μⱼ)²
    sums = np.zeros((3, k))
    XtU = None
    if certify is not None:
        Z, U, s = certify
        XtU = np.zeros((n, k))
    for r0 in range(0, m, step):
        B = rows(r0)
        if certify is not None:
            D = B @ V - _scaled(Z[r0 : r0 + step], c)
            sums[2] += np.einsum("ij,ij->j", D, D)
            XtU += B.T @ _left_vectors(Z[r0 : r0 + step], s, U[r0 : r0 + step])
        B -= mean
        dev[0] += B.sum(axis=0)
        dev[1] += np.einsum("ij,ij->j", B, B)
        C = B @ V  # centred scores
        sums[0] += C.sum(axis=0)
        sums[1] += np.einsum("ij,ij->j", C, C)
    var = (dev[1] - dev[0] ** 2 / m) / m
    return np.maximum(var, 0.0), sums, XtU


def _fitted_statistics(
    X: np.ndarray | sp.spmatrix | sp.sparray,
    components: np.ndarray,
    certify: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> _Statistics:
    """Total and explained variances in float64, and with ``certify = (Z, U, σ)``
    (``Z`` the float32 ``fit_transform(X)``, ``U`` the engine's left vectors) both
    residuals of the triplets ``(σᵢ, uᵢ, vᵢ)``, ``uᵢ`` the vectors of
    :func:`_left_vectors`, never densifying a sparse ``X``, widening the whole of a
    float32 one nor forming a centred copy of a dense one (blocks of at most 2²⁰ entries,
    or of ``max(2¹⁷, n)`` or ``max(2¹⁷, m)`` stored entries of a sparse ``X``:
    :func:`_dense_statistics`, :func:`_sparse_statistics`).

    The sums are those of ``c·X``, ``c`` a power of two that brings its largest entry
    near 1 (exact), so that no square overflows or underflows whatever ``X``'s scale;
    ``explained_variance_ratio_`` comes from them, the variances are scaled back by
    ``c⁻²`` (to ``inf`` or 0 where they are beyond float64's range). The explained
    variances are those of ``X V``, from the same centred data as the total: they sum
    to at most the total (``V`` orthonormal) up to rounding. A total of exactly 0 —
    every column constant (a single sample, constant columns, identical rows) — gives
    zeros.
    """
    V = np.ascontiguousarray(components.T, dtype=np.float64)
    k = V.shape[1]
    if certify is not None:
        certify = (certify[0], certify[1], certify[2].astype(np.float64))
    if sp.issparse(X):
        hi, lo = (float(X.data.max()), float(X.data.min())) if X.nnz else (0.0, 0.0)
        c, p = _scale_of_entries(hi, lo)
        var, sums, XtU = _sparse_statistics(X, V, certify, c)
    else:
        col_max, col_min = X.max(axis=0), X.min(axis=0)
        c, p = _scale_of_entries(float(col_max.max()), float(col_min.min()))
        var, sums, XtU = _dense_statistics(X, V, certify, c, col_max, col_min)
    m = X.shape[0]
    full_var = float(np.sum(var))
    if full_var > 0:
        scaled = np.maximum(sums[1] / m - (sums[0] / m) ** 2, 0.0)
        ratio = scaled / full_var
    else:  # every column constant: no variance at all
        scaled = ratio = np.zeros(k)
    with np.errstate(over="ignore", under="ignore"):
        exp_var = np.ldexp(scaled, -2 * p)
        total = float(np.ldexp(full_var, -2 * p))
    right = left = None
    if certify is not None:
        s = certify[2]
        right = np.ldexp(np.sqrt(sums[2]), -p)
        left = np.linalg.norm(np.ldexp(XtU, -p) - V * s, axis=0)
    return _Statistics(total, exp_var, ratio, p, scaled, right, left)
