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

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
import scipy.sparse

from svdkit.errors import (
    EmptyInputError,
    NonFiniteError,
    ParseError,
    ShapeError,
    SvdkitError,
)
from svdkit.linalg.signs import apply_sign_rule, with_sign_rule
from svdkit.linalg.svd import SVD, _svd, check_full_size

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
        The full SVD the bases come from (a thin one given to
        :func:`subspaces_from_svd`, completed).
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
        Any m×n matrix (not a ``LinearOperator``: the null spaces need every
        singular vector).
    tol : float, optional
        Absolute threshold for the rank (default: the tolerance rule).

    Returns
    -------
    Subspaces

    Raises
    ------
    ShapeError
        For a ``LinearOperator``, or where the full SVD's ``U`` (m×m) or ``Vᴴ``
        (n×n) would hold more than :data:`svdkit.inputs.DENSIFY_LIMIT` entries
        (2²⁷, read at each call: raise it to allow more) beyond the thin SVD's (a
        100000×2 matrix needs a 74.5 GiB ``U``; the left null basis alone is
        m×(m − r)). Never for a square matrix.

    Examples
    --------
    >>> import svdkit
    >>> sub = svdkit.subspaces([[1, 2, 3], [4, 5, 6]])
    >>> sub.dimensions
    {'column': 2, 'null': 1, 'row': 2, 'left_null': 0}
    >>> [round(float(x), 6) for x in sub.null[:, 0]]  # sign rule: the pivot -0.816… → +
    [-0.408248, 0.816497, -0.408248]
    """
    return subspaces_from_svd(_svd(A, full=True, caller="svdkit.subspaces"), tol)


def subspaces_from_svd(
    dec: SVD | tuple[np.ndarray, np.ndarray, np.ndarray], tol: float | None = None
) -> Subspaces:
    """The four subspaces from an existing SVD, full (``svd(A, full=True)``) or thin.

    A thin SVD (``svdkit.svd(A)``, the default: ``U`` m×p, ``Vᴴ`` p×n, p = min(m, n))
    holds every singular value, and so the rank and all four subspaces: its ``U`` and
    ``V`` are completed to square ones by the orthogonal complement of their columns
    (a QR factorisation; the new columns follow the sign rule on their own), and
    :attr:`Subspaces.decomposition` is that full SVD. A truncated one (fewer than
    min(m, n) singular values: ``svd(A, k)``, ``SVD.truncate``, ``svdkit.lowrank``)
    cannot tell the rank or the null spaces, and is refused.

    NumPy's ``numpy.linalg.svd(A)`` (an ``SVDResult``, full by default, or thin with
    ``full_matrices=False``) and any ``(U, s, Vh)`` triple with ``A = U diag(s) Vh``
    are accepted too, taken as an SVD as given (not checked against ``A``, which they
    do not hold: :meth:`SVD.residuals` of the :attr:`Subspaces.decomposition` is then
    refused). Their vectors are copied (as float64 or complex128, whatever precision
    they came in) and put under svdkit's sign rule. Where the σ are distinct, the
    column and row bases are then those :func:`subspaces` gives, and so are the null
    bases of a full SVD; the null bases completed from a thin one span the same
    subspaces (their projectors agree) but are other bases of them, as a null space
    of dimension two or more has no one basis the SVD singles out. Their σ must be
    finite, non-negative and descending; an input stored in float32 (NumPy's SVD of
    a float32 array) has float32's ``eps`` in the rank rule, as in :func:`svdkit.svd`.

    Parameters
    ----------
    dec : SVD or (U, s, Vh)
        An SVD of an m×n matrix with all min(m, n) singular values: svdkit's, NumPy's
        ``SVDResult`` or a triple of arrays (``U`` m×m or m×p, ``s`` of length
        p = min(m, n), ``Vh`` n×n or p×n).
    tol : float, optional
        Absolute threshold for the rank (default: the tolerance rule).

    Returns
    -------
    Subspaces

    Raises
    ------
    ShapeError
        For a truncated SVD, or a thin one whose completion would pass the size
        :func:`subspaces` allows; for ``dec`` neither an SVD nor a triple of 2-D,
        1-D and 2-D arrays of matching shapes (a string included).
    ParseError
        For a triple that holds something other than numbers, or SciPy sparse
        matrices (an SVD's factors are dense).
    NonFiniteError
        For a triple whose σ or vectors are not finite (``numpy.linalg.svd`` of a
        matrix whose σ overflow: :func:`svdkit.svd` scales it and keeps them).
    SvdkitError
        For a triple whose σ are negative or not descending.

    Examples
    --------
    >>> import svdkit
    >>> subspaces_from_svd(svdkit.svd([[1, 2, 3], [4, 5, 6]])).dimensions
    {'column': 2, 'null': 1, 'row': 2, 'left_null': 0}
    >>> import numpy as np
    >>> subspaces_from_svd(np.linalg.svd([[1.0, 2.0], [2.0, 4.0]])).dimensions
    {'column': 1, 'null': 1, 'row': 1, 'left_null': 1}
    """
    dec = _as_svd(dec)
    m, n = dec.shape
    p = dec.s.shape[0]
    if p != min(m, n) or dec.U.shape[1] not in (p, m) or dec.Vh.shape[0] not in (p, n):
        raise ShapeError(
            f"subspaces_from_svd needs every singular value of the {m}×{n} matrix: this SVD "
            f"holds {p} of its {min(m, n)} (U {dec.U.shape[0]}×{dec.U.shape[1]}, Vᴴ "
            f"{dec.Vh.shape[0]}×{dec.Vh.shape[1]}), truncated, and cannot tell the rank or "
            "the null spaces; pass svdkit.svd(A, full=True) (or the thin svdkit.svd(A))"
        )
    if dec.U.shape[1] != m or dec.Vh.shape[0] != n:
        check_full_size((m, n), "svdkit.linalg.subspaces.subspaces_from_svd")
        dec = replace(dec, U=_completed(dec.U), Vh=_completed(dec.Vh.conj().T).conj().T)
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


def _as_svd(dec: object) -> SVD:
    """``dec`` as an :class:`SVD`: svdkit's as it is; a ``(U, s, Vh)`` triple (NumPy's
    ``SVDResult``) checked for shapes, numbers, finite descending non-negative σ, copied
    to float64/complex128 under the sign rule."""
    if isinstance(dec, SVD):
        return dec
    what = "subspaces_from_svd: dec"
    try:
        if isinstance(dec, str | bytes):  # ("abc" would unpack into three characters)
            raise TypeError
        U, s, Vh = dec  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ShapeError(
            f"{what} must be an SVD (svdkit.svd(A), numpy.linalg.svd(A) or a (U, s, Vh) "
            f"triple); got {type(dec).__name__}"
        ) from None
    parts = []
    for part, name in ((U, "U"), (s, "s"), (Vh, "Vh")):
        if scipy.sparse.issparse(part):
            raise ParseError(
                f"{what}: {name} is a SciPy sparse matrix; an SVD's factors are dense arrays "
                f"(pass {name}.toarray())"
            )
        try:
            arr = np.asarray(part)
        except (TypeError, ValueError):
            arr = np.asarray(None, dtype=object)
        if arr.dtype.kind not in "biufc":
            raise ParseError(f"{what}: {name} is not an array of numbers ({arr.dtype})")
        parts.append(arr)
    U, s, Vh = parts
    if U.ndim != 2 or s.ndim != 1 or Vh.ndim != 2:
        raise ShapeError(
            f"{what}: (U, s, Vh) must be a 2-D, a 1-D and a 2-D array (one matrix's SVD, "
            f"not a stack); got {U.ndim}-D, {s.ndim}-D and {Vh.ndim}-D"
        )
    m, n, p = U.shape[0], Vh.shape[1], s.shape[0]
    if m == 0 or n == 0:
        raise EmptyInputError(f"{what}: the SVD is of an empty {m}×{n} matrix")
    if U.shape[1] not in (p, m) or Vh.shape[0] not in (p, n) or p > min(m, n):
        raise ShapeError(
            f"{what}: the shapes U {U.shape[0]}×{U.shape[1]}, s ({p},), Vh "
            f"{Vh.shape[0]}×{Vh.shape[1]} are not those of an SVD of an m×n matrix (U m×m "
            "or m×p, s (p,), Vh n×n or p×n)"
        )
    if s.dtype.kind == "c":
        raise SvdkitError(f"{what}: the singular values are complex (σ are real)")
    single = max(x.dtype.itemsize // (2 if x.dtype.kind == "c" else 1) for x in (U, Vh)) < 8
    # float64 or complex128 (a longdouble input too, as the docstring says); σ as float64
    # before they are compared (np.diff of bools is XOR, of unsigned ints wraps around)
    dtype = np.complex128 if np.iscomplexobj(U) or np.iscomplexobj(Vh) else np.float64
    with np.errstate(over="ignore"):  # (a longdouble past float64's range: inf, refused)
        U, s, Vh = U.astype(dtype), s.astype(np.float64), Vh.astype(dtype)
    if not all(np.isfinite(x).all() for x in (U, s, Vh)):
        raise NonFiniteError(
            f"{what}: the singular values and vectors must be finite (for a matrix whose σ "
            "overflow, svdkit.svd(A) scales A and keeps them)"
        )
    if (s < 0).any() or (np.diff(s) > 0).any():
        raise SvdkitError(
            f"{what}: the singular values must be non-negative and descending, as "
            "numpy.linalg.svd and svdkit.svd return them"
        )
    U, Vh = apply_sign_rule(U, Vh)  # (on the copies made above: the caller's stay)
    precision = np.dtype(np.float32) if single else None
    return SVD(U, s, Vh, None, "numpy", precision)


def _completed(Q: np.ndarray) -> np.ndarray:
    """``[Q | Q⊥]``: the m×p orthonormal ``Q`` completed to an m×m unitary matrix, the new
    columns (an orthonormal basis of the complement of Q's span, from a full QR of
    ``Q``) under the sign rule."""
    m, p = Q.shape
    if p == m:
        return Q
    extra = scipy.linalg.qr(Q, mode="full", check_finite=False)[0][:, p:]
    extra = with_sign_rule(extra)
    extra += 0.0  # (no −0.0: printed bases carry no spurious signs)
    return np.hstack([Q, extra])
