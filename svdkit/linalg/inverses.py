"""Inverses and solves: ``inv``, ``pinv``, ``lstsq``, one-sided inverses.

Square systems use LU (LAPACK ``getrf``/``gecon``/``getri``); everything else
goes through the SVD of :mod:`svdkit.linalg.svd`, so that ranks and pseudo-inverses
follow the one tolerance rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.linalg import lapack

from svdkit.errors import RankError, ShapeError, SingularMatrixError
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import require_square, shape_text
from svdkit.linalg._results import Unpackable
from svdkit.linalg.residuals import column_norms
from svdkit.linalg.svd import svd
from svdkit.linalg.tolerance import eps_of

__all__ = ["Lstsq", "inv", "left_inverse", "lstsq", "pinv", "right_inverse"]


def inv(A) -> np.ndarray:
    """Inverse of a square matrix, refusing singular and numerically singular ones.

    A matrix counts as numerically singular when LAPACK's estimate of its
    reciprocal condition number (1-norm) is at most ``n · eps`` — the tolerance
    rule with scale 1. Use :func:`pinv` for those.

    Parameters
    ----------
    A : array_like, str or path
        A square matrix.

    Returns
    -------
    ndarray
        ``A⁻¹`` with ``A A⁻¹ = A⁻¹ A = I``.

    Raises
    ------
    SingularMatrixError
        Naming the zero pivot, or the reciprocal condition number.

    Examples
    --------
    >>> import svdkit
    >>> svdkit.inv([[1, 1], [0, -1]]).tolist()
    [[1.0, 1.0], [0.0, -1.0]]
    """
    a = as_matrix(A)
    n = require_square(a, "inv")
    getrf, getri, gecon = lapack.get_lapack_funcs(("getrf", "getri", "gecon"), (a,))
    lu, piv, info = getrf(a)
    if info > 0:
        raise SingularMatrixError(
            f"A ({shape_text(a.shape)}) is singular: pivot {info} of its LU factorisation is "
            "zero, so A has no inverse (its pseudo-inverse is svdkit.pinv(A))"
        )
    anorm = np.linalg.norm(a, 1)
    rcond, _ = gecon(lu, anorm, norm="1")
    if rcond <= n * eps_of(a.dtype):
        raise SingularMatrixError(
            f"A ({shape_text(a.shape)}) is numerically singular: its reciprocal condition "
            f"number ≈ {rcond:.1e} is below n·eps = {n * eps_of(a.dtype):.1e}; use svdkit.pinv(A)"
        )
    lwork, _ = lapack.get_lapack_funcs(("getri_lwork",), (a,))[0](n)
    result, info = getri(lu, piv, lwork=int(np.real(lwork)))
    return result


def pinv(A, tol: float | None = None) -> np.ndarray:
    """Moore–Penrose pseudo-inverse ``A⁺ = V Σ⁺ Uᴴ``.

    ``Σ⁺`` holds ``1/σᵢ`` for the singular values above the tolerance rule's
    threshold and 0 for the others (the notes' "1/0 = 0" convention, made
    precise: 1/σ for tiny σ would amplify rounding noise).

    Parameters
    ----------
    A : array_like, str or path
        Any m×n matrix.
    tol : float, optional
        Absolute threshold under which a singular value counts as zero.

    Returns
    -------
    ndarray, shape (n, m)

    Examples
    --------
    >>> import svdkit
    >>> svdkit.pinv([[2, 0], [0, 0]]).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    return svd(A).pinv(tol)


@dataclass(frozen=True, eq=False)
class Lstsq(Unpackable):
    """Minimum-norm least-squares solution; unpacks as ``x, residuals, rank, s``.

    Attributes
    ----------
    x : ndarray
        The solution of minimal norm among the minimisers of ``‖Ax − b‖₂``.
    residuals : ndarray or float
        ``‖Ax − b‖₂`` (per column when ``b`` is a matrix).
    rank : int
        Numerical rank of ``A`` used.
    s : ndarray
        Singular values of ``A``.
    """

    x: np.ndarray
    residuals: np.ndarray | float
    rank: int
    s: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("x", "residuals", "rank", "s")


def lstsq(A, b, tol: float | None = None) -> Lstsq:
    """Solve ``min ‖Ax − b‖₂`` with the minimum-norm solution ``x = A⁺ b``.

    Parameters
    ----------
    A : array_like, str or path
        m×n matrix, any rank.
    b : array_like
        Right-hand side, shape (m,) or (m, k).
    tol : float, optional
        Absolute threshold for the rank decision (default: the tolerance rule).

    Returns
    -------
    Lstsq

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.lstsq([[1, 0], [0, 0]], [1, 0])
    >>> r.x.tolist(), r.rank
    ([1.0, 0.0], 1)
    """
    dec = svd(A)
    a = dec.matrix
    rhs = as_matrix(b, name="b")
    # A 1-D b gives a 1-D x; so does text that parses to one column ("[1, 2]", "1; 2"),
    # but text with several columns is several right-hand sides, as an array would be.
    vector = np.ndim(b) == 1 or (isinstance(b, str) and rhs.shape[1] == 1)
    if rhs.shape[0] != a.shape[0]:
        raise ShapeError(
            f"lstsq: b has {rhs.shape[0]} rows but A ({shape_text(a.shape)}) has {a.shape[0]}"
        )
    r = dec.rank(tol)
    coeffs = (dec.U[:, :r].conj().T @ rhs) / dec.s[:r, None]
    x = dec.Vh[:r].conj().T @ coeffs
    res = column_norms(a @ x - rhs)  # no overflow for entries of size 1e200
    if vector:
        return Lstsq(x[:, 0], float(res[0]), r, dec.s, a)
    return Lstsq(x, res, r, dec.s, a)


def left_inverse(A, tol: float | None = None) -> np.ndarray:
    """A left inverse ``L`` with ``L A = I``, for a matrix of full column rank.

    Left inverses of a tall matrix are not unique; this returns the
    Moore–Penrose one, ``(AᴴA)⁻¹Aᴴ = A⁺`` (computed from the SVD, never by
    forming AᴴA), the only one whose rows lie in the column space of A.

    Raises
    ------
    RankError
        When ``rank A < n`` (no left inverse exists).

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> M = [[1, 3], [1, 2], [3, 1]]
    >>> bool(np.allclose(svdkit.left_inverse(M) @ M, np.eye(2)))
    True
    """
    dec = svd(A)
    m, n = dec.shape
    r = dec.rank(tol)
    if r < n:
        raise RankError(
            f"A ({shape_text((m, n))}) has rank {r} < {n} columns: it has no left inverse"
            + (" (a wide matrix never has one)" if m < n else "")
        )
    return dec.pinv(tol)


def right_inverse(A, tol: float | None = None) -> np.ndarray:
    """A right inverse ``R`` with ``A R = I``, for a matrix of full row rank.

    Returns the Moore–Penrose one, ``Aᴴ(AAᴴ)⁻¹ = A⁺``.

    Raises
    ------
    RankError
        When ``rank A < m`` (no right inverse exists).

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> P = [[-2, 3, 0], [1, -1, 0]]
    >>> bool(np.allclose(P @ svdkit.right_inverse(P), np.eye(2)))
    True
    """
    dec = svd(A)
    m, n = dec.shape
    r = dec.rank(tol)
    if r < m:
        raise RankError(
            f"A ({shape_text((m, n))}) has rank {r} < {m} rows: it has no right inverse"
            + (" (a tall matrix never has one)" if m > n else "")
        )
    return dec.pinv(tol)
