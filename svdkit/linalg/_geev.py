"""The general eigensolver (LAPACK ``geev``) on a matrix scaled to ``max |aᵢⱼ| ≈ 1``.

``geev`` scales a matrix whose norm lies outside about ``[1e-138, 1e138]`` into
that range itself, and the LAPACK that SciPy ships (SciPy 1.17) then returns the
eigenvalues *of the scaled matrix*: ``scipy.linalg.eig(1e200 * [[2, 1], [1, 3]])``
gives ``6.9e137`` and ``1.8e138`` instead of ``1.38e200`` and ``3.62e200``.
Scaling by a power of two first is exact, keeps ``geev`` away from its own
scaling, and changes neither the eigenvectors nor (after scaling back) the
eigenvalues.

Examples
--------
>>> import numpy as np
>>> values, _ = eig_scaled(np.array([[2.0, 1.0], [1.0, 3.0]]) * 1e200)
>>> sorted(np.round(values.real / 1e200, 8).tolist())
[1.38196601, 3.61803399]
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from svdkit.linalg.measures import entry_exponent, times_power_of_two

__all__ = ["eig_scaled"]


def eig_scaled(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.linalg.eig(a)`` computed on ``a · 2^−e`` (``2^e`` just above ``max |aᵢⱼ|``).

    Parameters
    ----------
    a : ndarray, shape (n, n)
        A validated (finite) square matrix.

    Returns
    -------
    values : ndarray, shape (n,)
        Eigenvalues (complex), in LAPACK's order.
    vectors : ndarray, shape (n, n)
        Right eigenvectors as columns, as LAPACK returns them.
    """
    e = entry_exponent(a)  # (finite where a complex |aᵢⱼ| overflows)
    values, vectors = scipy.linalg.eig(times_power_of_two(a, -e), check_finite=False)
    with np.errstate(over="ignore"):  # an eigenvalue past the largest float is inf, as it is
        return times_power_of_two(values, e), vectors
