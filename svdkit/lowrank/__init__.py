"""The large-scale engine: certified truncated SVD of any matrix, however it is stored.

:func:`truncated_svd` computes the leading singular triplets of dense,
sparse, out-of-core (``.npy`` files, ``np.memmap``), ``LinearOperator`` and dask
matrices with block Krylov, randomized subspace iteration or dashSVD, and
certifies each triplet: both residuals are computed and returned, and every
one meets ``tol`` (relative to σ₁) or a :class:`~svdkit.ConvergenceError` says
which did not. :func:`rank_by_tolerance` finds the smallest rank whose
approximation error is within a tolerance. :class:`TruncatedSVD` is the
scikit-learn transformer on the same engine (exported lazily: it needs
scikit-learn, ``pip install 'svdkit[sklearn]'``, and only when it is used).

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> from svdkit.lowrank import truncated_svd
>>> A = sp.random(2000, 1000, density=0.01, format="csr", random_state=0)
>>> r = truncated_svd(A, 10)
>>> r.converged, r.U.shape, r.Vh.shape
(True, (2000, 10), (10, 1000))
>>> bool(max(r.residuals_right.max(), r.residuals_left.max()) <= 1e-6 * r.s[0])
True
"""

from typing import TYPE_CHECKING, Any

from svdkit.lowrank.api import METHODS, LowRankSVD, choose_method, truncated_svd
from svdkit.lowrank.operators import Operator, as_operator
from svdkit.lowrank.rank import rank_by_tolerance

__all__ = [
    "METHODS",
    "LowRankSVD",
    "Operator",
    "as_operator",
    "choose_method",
    "rank_by_tolerance",
    "truncated_svd",
]

if TYPE_CHECKING:
    from svdkit.lowrank.estimator import InaccurateComponentsWarning as InaccurateComponentsWarning
    from svdkit.lowrank.estimator import TruncatedSVD as TruncatedSVD


def __getattr__(name: str) -> Any:
    """Lazy export of :class:`TruncatedSVD` and its :class:`InaccurateComponentsWarning`:
    scikit-learn is imported on first use only (without it, :class:`~svdkit.SvdkitError`
    names the extra to install)."""
    if name in ("TruncatedSVD", "InaccurateComponentsWarning"):
        import importlib

        return getattr(importlib.import_module("svdkit.lowrank.estimator"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
