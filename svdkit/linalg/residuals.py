"""Residual checks: how far a computed factorisation is from exact.

Every decomposition in svdkit can report its own accuracy with these helpers,
so that the SVD, the eigendecompositions and (later) the large-scale engine all
measure it the same way: relative Frobenius norms, ``‖A − UΣVᴴ‖_F / ‖A‖_F``
and ``‖QᴴQ − I‖_F``.

Examples
--------
>>> import numpy as np
>>> from svdkit.linalg.residuals import orthogonality_loss
>>> float(orthogonality_loss(np.eye(3)))
0.0
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from svdkit.linalg.measures import entry_exponent, scaled_norm, times_power_of_two

__all__ = ["column_norms", "orthogonality_loss", "relative_residual", "triplet_residuals"]


def relative_residual(target: np.ndarray, approx: np.ndarray) -> float:
    """``‖target − approx‖_F / ‖target‖_F`` (absolute when ``target`` is zero).

    ``target`` may be a SciPy sparse matrix (the SVD of a sparse matrix keeps it).
    """
    err = _fro(np.asarray(target - approx) if scipy.sparse.issparse(target) else target - approx)
    scale = _fro(target)
    return err / scale if scale > 0 else err


def _fro(x) -> float:
    """``‖x‖_F``: NumPy's (SciPy's for sparse ``x``) where its sum of squares stays in
    range, else :func:`~svdkit.linalg.measures.scaled_norm` (no overflow, no underflow).

    Examples
    --------
    >>> _fro(np.array([3e200, 4e200])) / 1e200
    5.0
    """
    norm = scipy.sparse.linalg.norm if scipy.sparse.issparse(x) else np.linalg.norm
    with np.errstate(over="ignore", under="ignore"):
        plain = float(norm(x))
    if math.isfinite(plain) and plain > 1e-150:
        return plain
    return scaled_norm(x)


def column_norms(x: np.ndarray) -> np.ndarray:
    """``‖x[:, j]‖₂`` for every column, without overflow or underflow.

    Each column is scaled by the power of two just above its largest magnitude
    before its squares are summed (exact: where NumPy's sum of squares stays in
    range the result is NumPy's), so columns of size ``1e200`` or ``1e-200`` keep
    finite, non-zero norms.

    Examples
    --------
    >>> column_norms(np.array([[3e200, 0.0], [4e200, 1e-200]])) / [1e200, 1e-200]
    array([5., 1.])
    """
    x = np.asarray(x)
    if x.size == 0:
        return np.zeros(x.shape[1:], dtype=np.float64)
    e = entry_exponent(x, axis=0)  # (finite where a complex |xᵢⱼ| overflows)
    with np.errstate(over="ignore"):  # a norm past the largest float is inf, as it is
        return np.ldexp(np.linalg.norm(times_power_of_two(x, -e), axis=0), e)


def orthogonality_loss(Q: np.ndarray) -> float:
    """``‖QᴴQ − I‖_F`` for a matrix whose columns should be orthonormal."""
    k = Q.shape[1]
    if k == 0:
        return 0.0
    gram = Q.conj().T @ Q
    gram[np.diag_indices(k)] -= 1.0
    return float(np.linalg.norm(gram))


def triplet_residuals(
    A, U: np.ndarray, s: np.ndarray, Vh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both one-sided residuals of each singular triplet.

    Parameters
    ----------
    A : ndarray or sparse matrix or LinearOperator, shape (m, n)
        The matrix (anything supporting ``@`` with dense blocks, and ``.conj().T``
        or ``.H``/``rmatmat``).
    U, s, Vh : ndarray
        ``k`` triplets: ``U`` (m, k), ``s`` (k,), ``Vh`` (k, n).

    Returns
    -------
    right, left : ndarray, shape (k,)
        ``‖A vᵢ − σᵢ uᵢ‖₂`` and ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂``.
    """
    k = s.shape[0]
    V = Vh[:k].conj().T
    Uk = U[:, :k]
    AV = A @ V
    if hasattr(A, "rmatmat"):
        AhU = A.rmatmat(Uk)
    else:
        AhU = A.conj().T @ Uk
    right = column_norms(np.asarray(AV) - Uk * s)
    left = column_norms(np.asarray(AhU) - V * s)
    return right, left
