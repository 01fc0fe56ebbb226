"""The four fundamental subspaces of a matrix, as orthonormal bases from its SVD.

For ``A = U Σ Vᴴ`` of rank r (``m × n``):

=============  ====================  ================  ===========
name           space                 basis             dimension
=============  ====================  ================  ===========
``column``     R(A), image           U[:, :r]          r
``left_null``  N(Aᴴ), co-kernel      U[:, r:]          m − r
``row``        R(Aᴴ), co-image       V[:, :r]          r
``null``       N(A), kernel          V[:, r:]          n − r
=============  ====================  ================  ===========

For real matrices Aᴴ = Aᵀ, the course notes' notation. R(A) ⊥ N(Aᴴ) in ℂᵐ and
R(Aᴴ) ⊥ N(A) in ℂⁿ; r + (n − r) = n is the rank–nullity theorem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from svdkit.linalg.svd import SVD, svd

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["Subspaces", "subspaces", "subspaces_from_svd"]


@dataclass(frozen=True, eq=False)
class Subspaces:
    """Orthonormal bases (as columns) of the four fundamental subspaces.

    Attributes
    ----------
    column, left_null : ndarray
        Bases of R(A) (m×r) and N(Aᴴ) (m×(m−r)).
    row, null : ndarray
        Bases of R(Aᴴ) (n×r) and N(A) (n×(n−r)).
    rank : int
        r, the numerical rank used to split U and V.
    decomposition : SVD
        The full SVD the bases come from.
    """

    column: np.ndarray
    null: np.ndarray
    row: np.ndarray
    left_null: np.ndarray
    rank: int
    decomposition: SVD

    @property
    def dimensions(self) -> dict[str, int]:
        """``{"column": r, "null": n − r, "row": r, "left_null": m − r}``."""
        return {
            "column": self.column.shape[1],
            "null": self.null.shape[1],
            "row": self.row.shape[1],
            "left_null": self.left_null.shape[1],
        }


def subspaces(A: MatrixLike, tol: float | None = None) -> Subspaces:
    """The four fundamental subspaces of ``A`` from its full SVD.

    Parameters
    ----------
    A : array_like, str or path
        Any m×n matrix.
    tol : float, optional
        Absolute threshold for the rank (default: the tolerance rule).

    Returns
    -------
    Subspaces

    Examples
    --------
    >>> import svdkit
    >>> sub = svdkit.subspaces([[1, 2, 3], [4, 5, 6]])
    >>> sub.dimensions
    {'column': 2, 'null': 1, 'row': 2, 'left_null': 0}
    >>> [round(float(x), 6) for x in sub.null[:, 0]]  # sign rule: the pivot -0.816… → +
    [-0.408248, 0.816497, -0.408248]
    """
    return subspaces_from_svd(svd(A, full=True), tol)


def subspaces_from_svd(dec: SVD, tol: float | None = None) -> Subspaces:
    """The four subspaces from an existing full SVD (``svd(A, full=True)``)."""
    r = dec.rank(tol)
    V = dec.V
    return Subspaces(
        column=dec.U[:, :r],
        null=V[:, r:],
        row=V[:, :r],
        left_null=dec.U[:, r:],
        rank=r,
        decomposition=dec,
    )
