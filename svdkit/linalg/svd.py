"""The singular value decomposition on LAPACK: thin, full and truncated.

``svd(A)`` returns ``SVD(U, s, Vh)`` with ``A = U @ diag(s) @ Vh``:

* thin (default): ``U`` is m×p, ``s`` has p = min(m, n) entries, ``Vh`` is p×n;
* ``full=True``: ``U`` is m×m and ``Vh`` n×n (the notes' ``A = U Σ V*``), refused
  where they would hold more than :data:`svdkit.inputs.DENSIFY_LIMIT` entries beyond
  the thin ones (:func:`check_full_size`; never for a square matrix);
* ``k``: the ``k`` leading triplets (the best rank-``k`` approximation).

Singular values are in descending order and the vectors follow the sign rule of
:mod:`svdkit.linalg.signs`. The divide-and-conquer driver (``gesdd``, the one
``numpy.linalg.svd`` uses) runs first; if it fails to converge, the QR-iteration
driver (``gesvd``) takes over instead of raising.

A matrix whose largest entry lies outside ``[2^−400, 2^400]`` is factored as
``A · 2^−e`` (``2^e`` the power of two just above ``max |aᵢⱼ|``, an exact scaling)
and its σ multiplied back by ``2^e``: the σ are A's own (``0`` or subnormal where
they underflow in A's units, ``inf`` where they overflow), and the scaled ones are
kept (:attr:`SVD.scaled_s`), so that the rank, ``A⁺`` and the null space are decided
on them, as :func:`svdkit.rank` and :func:`svdkit.cond` decide: ``A`` and ``A · 2^k``
get the same rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.sparse.linalg import LinearOperator

from svdkit import inputs as _inputs
from svdkit.errors import ShapeError, check_bool
from svdkit.inputs import as_matrix
from svdkit.inputs.files import matrix_file_name
from svdkit.linalg._results import Unpackable
from svdkit.linalg.measures import svd_scaling, times_power_of_two
from svdkit.linalg.residuals import orthogonality_loss, relative_residual, triplet_residuals
from svdkit.linalg.signs import apply_sign_rule
from svdkit.linalg.tolerance import (
    relative_cutoff,
    relative_threshold,
    rule_dtype,
    zero_threshold,
)

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["SVD", "SVDResiduals", "svd"]


@dataclass(frozen=True)
class SVDResiduals:
    """How exact a computed SVD is.

    Attributes
    ----------
    reconstruction : float
        ``‖A − U Σ Vᴴ‖_F / ‖A‖_F``. For a truncated SVD this is the relative
        approximation error ``sqrt(Σ_{i>k} σᵢ²) / ‖A‖_F``, not a rounding error.
    orthogonality_u, orthogonality_v : float
        ``‖UᴴU − I‖_F`` and ``‖VᴴV − I‖_F``.
    right, left : ndarray
        Per triplet, ``‖A vᵢ − σᵢ uᵢ‖₂`` and ``‖Aᴴ uᵢ − σᵢ vᵢ‖₂``.
    """

    reconstruction: float
    orthogonality_u: float
    orthogonality_v: float
    right: np.ndarray
    left: np.ndarray

    @property
    def max_triplet(self) -> float:
        """The largest one-sided triplet residual (absolute)."""
        both = np.concatenate([self.right, self.left])
        return float(both.max()) if both.size else 0.0


@dataclass(frozen=True, eq=False)
class SVD(Unpackable):
    """``A = U @ diag(s) @ Vh``; unpacks as ``U, s, Vh``.

    Attributes
    ----------
    U : ndarray, shape (m, p) or (m, m)
        Left singular vectors (columns).
    s : ndarray, shape (p,)
        Singular values, descending, non-negative; also :attr:`S`, NumPy 2's name
        (``numpy.linalg.svd`` returns ``SVDResult(U, S, Vh)``).
    Vh : ndarray, shape (p, n) or (n, n)
        Right singular vectors, conjugate-transposed (rows).
    matrix : ndarray
        The decomposed matrix (a reference, not a copy), used by ``residuals``.
    driver : str
        The LAPACK driver that produced it (``"gesdd"`` or ``"gesvd"``), or the
        method of another engine.
    precision : numpy.dtype, optional
        The precision the input was stored in, where coarser than the working
        float64 (float32 data): the tolerance rule of :meth:`rank` uses its
        ``eps`` (:func:`svdkit.linalg.tolerance.rule_dtype`).
    exponent : int
        ``e`` where the SVD was computed on ``A · 2^−e`` (``max |aᵢⱼ|`` outside
        ``[2^−400, 2^400]``), else 0.
    scaled_s : ndarray, optional
        ``2^−e · σ``, the singular values of ``A · 2^−e`` (where ``exponent ≠ 0``):
        finite, and not underflowed. :meth:`rank`, :meth:`pinv` and the null space
        decide on these; ``s = 2^e · scaled_s`` may hold ``0`` or ``inf``.

    Examples
    --------
    >>> import svdkit
    >>> U, s, Vh = svdkit.svd([[3, 0], [0, -2]])
    >>> s.tolist(), Vh.tolist()
    ([3.0, 2.0], [[1.0, 0.0], [0.0, -1.0]])
    """

    U: np.ndarray
    s: np.ndarray
    Vh: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)
    driver: str = "gesdd"
    precision: np.dtype | None = field(default=None, repr=False)
    exponent: int = field(default=0, repr=False)
    scaled_s: np.ndarray | None = field(default=None, repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("U", "s", "Vh")

    @property
    def S(self) -> np.ndarray:
        """The singular values :attr:`s` under NumPy 2's name (``SVDResult(U, S, Vh)``),
        read-only; not Σ, the matrix (that is :attr:`Sigma`)."""
        return self.s

    @property
    def V(self) -> np.ndarray:
        """Right singular vectors as columns, ``Vh.conj().T``."""
        return self.Vh.conj().T

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(m, n)`` of the decomposed matrix."""
        return (self.U.shape[0], self.Vh.shape[1])

    @property
    def Sigma(self) -> np.ndarray:
        """Σ as a matrix of shape ``(U.shape[1], Vh.shape[0])`` (m×n for a full SVD)."""
        sigma = np.zeros((self.U.shape[1], self.Vh.shape[0]), dtype=self.s.dtype)
        k = self.s.shape[0]
        sigma[np.arange(k), np.arange(k)] = self.s
        return sigma

    @property
    def scaled(self) -> tuple[np.ndarray, int]:
        """``(2^−e · σ, e)``: :attr:`scaled_s` and :attr:`exponent`, or ``(s, 0)``."""
        if self.exponent and self.scaled_s is not None:
            return self.scaled_s, self.exponent
        return self.s, 0

    def rank(self, tol: float | None = None, *, rcond: float | None = None) -> int:
        """Numerical rank: the number of ``σᵢ`` above the tolerance rule's threshold.

        Decided on :attr:`scaled` (``2^−e·σ`` against ``2^−e`` times the threshold),
        as :func:`svdkit.rank` decides: scale-free.

        Parameters
        ----------
        tol : float, optional
            Absolute threshold; default ``max(m, n) · eps · σ₁`` (``eps`` of the
            coarser of the working precision and :attr:`precision`).
        rcond : float, optional, keyword-only
            Relative threshold, NumPy's: ``σᵢ <= rcond · σ₁`` counts as zero (not with
            ``tol``).
        """
        relative = relative_threshold(rcond, tol)
        s, e = self.scaled
        if s.size == 0:
            return 0
        if relative is not None:  # scale-free: on 2^−e·σ (σ₁ may have overflowed)
            if e == 0 and np.isposinf(s[0]) and isinstance(self.matrix, np.ndarray):
                from svdkit.linalg.measures import scaled_singular_values

                if np.isfinite(self.matrix).all():
                    s = scaled_singular_values(self.matrix)[0][: s.shape[0]]
            # (a cutoff past the largest float, or rcond = inf: rank 0)
            return int(np.count_nonzero(s > relative_cutoff(relative, s[0])))
        dtype = rule_dtype(self.precision, self.s.dtype)
        if e == 0 and np.isposinf(s[0]) and self.matrix is not None:
            # (an SVD built elsewhere whose σ₁ overflowed: count on A · 2^−e)
            from svdkit.linalg.measures import rank_of

            if isinstance(self.matrix, np.ndarray) and np.isfinite(self.matrix).all():
                return rank_of(self.matrix, tol, dtype)
        if tol is None:
            thr = zero_threshold(self.shape, s[0], dtype)
        else:  # tol is in A's units: 2^−e · tol in the scaled ones
            with np.errstate(over="ignore", under="ignore"):  # (past every 2^−e·σ: inf)
                thr = float(np.ldexp(zero_threshold(self.shape, 0.0, dtype, tol), -e))
        return int(np.count_nonzero(s > thr))

    def approx(self, k: int) -> np.ndarray:
        """The best rank-``k`` approximation ``Σ_{i≤k} σᵢ uᵢ vᵢᴴ`` (Eckart–Young).

        Examples
        --------
        >>> import numpy as np, svdkit
        >>> A = np.array([[1.0, 2, 3], [4, 5, 6]])
        >>> E = A - svdkit.svd(A).approx(1)
        >>> bool(np.isclose(np.linalg.norm(E, 2), svdkit.svd(A).s[1]))
        True
        """
        k = _check_k(k, self.s.shape[0], "approx")
        s, e = self.scaled
        approx = (self.U[:, :k] * s[:k]) @ self.Vh[:k]
        if not e:
            return approx
        # 2^e · (U Σ' Vᴴ) from the scaled σ' = 2^−e·σ: σ itself may be 0 or subnormal
        # (precision lost) or inf (inf · 0 = NaN); an entry past the largest float is ±inf
        with np.errstate(over="ignore", under="ignore"):
            return times_power_of_two(approx, e)

    def truncate(self, k: int) -> SVD:
        """The ``k`` leading triplets as an ``SVD``."""
        k = _check_k(k, self.s.shape[0], "truncate")
        scaled_s = None if self.scaled_s is None else self.scaled_s[:k]
        return SVD(
            self.U[:, :k], self.s[:k], self.Vh[:k], self.matrix, self.driver, self.precision,
            self.exponent, scaled_s,
        )  # fmt: skip

    def reconstruct(self) -> np.ndarray:
        """``U Σ Vᴴ``, in A's units; for an SVD computed on ``A · 2^−e``
        (:attr:`exponent`), ``2^e · (U Σ' Vᴴ)`` with ``Σ'`` of :attr:`scaled_s` (finite
        wherever A's entries are, ``±inf`` only where an entry is past the largest float)."""
        return self.approx(self.s.shape[0])

    def pinv(self, tol: float | None = None, *, rcond: float | None = None) -> np.ndarray:
        """Moore–Penrose pseudo-inverse ``V Σ⁺ Uᴴ`` (``1/σ`` for σ above the threshold, else 0).

        ``tol`` is absolute (``σ <= tol`` counts as zero), ``rcond`` relative, NumPy's
        (``σ <= rcond · σ₁``); at most one; neither: the tolerance rule.

        Examples
        --------
        >>> import svdkit
        >>> svdkit.svd([[2, 0], [0, 0]]).pinv().tolist()
        [[0.5, 0.0], [0.0, 0.0]]
        """
        # σ₁ overflowed, or 1/σ does: computed scaled, exactly (svdkit.linalg.inverses)
        from svdkit.linalg.inverses import _pseudo_inverse

        return _pseudo_inverse(self, tol, rcond)

    def residuals(self) -> SVDResiduals:
        """Reconstruction, orthogonality and per-triplet residuals (needs ``matrix``).

        For an SVD computed on ``A · 2^−e`` (:attr:`exponent`) they are computed there,
        with :attr:`scaled_s`: the relative reconstruction is scale-free, and the
        triplet residuals are multiplied back by ``2^e`` (A's units; ``σ`` in A's units
        may have underflowed or overflowed, and the residuals on it would not say how
        exact the SVD is).
        """
        if self.matrix is None:
            raise ShapeError("this SVD does not hold its matrix; residuals need it")
        p = self.s.shape[0]
        s, e = self.scaled
        matrix = _times_power_of_two(self.matrix, -e) if e else self.matrix
        right, left = triplet_residuals(matrix, self.U[:, :p], s, self.Vh[:p])
        approx = (self.U[:, :p] * s) @ self.Vh[:p]
        if e:
            with np.errstate(over="ignore", under="ignore"):  # (A's units: may be 0 or inf)
                right, left = np.ldexp(right, e), np.ldexp(left, e)
        return SVDResiduals(
            reconstruction=relative_residual(matrix, approx),
            orthogonality_u=orthogonality_loss(self.U),
            orthogonality_v=orthogonality_loss(self.Vh.conj().T),
            right=right,
            left=left,
        )


def _times_power_of_two(a, e: int):
    """``a · 2^e``, exactly, for a dense or a SciPy sparse ``a``."""
    if not scipy.sparse.issparse(a):
        return times_power_of_two(np.asarray(a), e)
    b = a.copy()
    b.data = times_power_of_two(b.data, e)
    return b


def _check_k(k: int, available: int, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ShapeError(f"{what}: k must be an integer; got {k!r}")
    if not 0 <= k <= available:
        raise ShapeError(f"{what}: k must be between 0 and {available}; got {k}")
    return int(k)


def _scaled_lapack_svd(
    a: np.ndarray, full: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, int, np.ndarray | None]:
    """:func:`_lapack_svd` of ``a · 2^−e`` (:func:`svd_scaling`): ``(U, s, Vh, driver,
    e, scaled_s)``, ``s = 2^e · scaled_s``; ``e = 0`` and ``scaled_s = None`` for an
    ordinary matrix, factored as it is."""
    e = svd_scaling(a)
    if not e:
        return (*_lapack_svd(a, full), 0, None)
    U, scaled_s, Vh, driver = _lapack_svd(times_power_of_two(a, -e), full)
    with np.errstate(over="ignore", under="ignore"):  # σ past float64's range: inf or 0
        s = np.ldexp(scaled_s, e)
    return U, s, Vh, driver, e, scaled_s


def _lapack_svd(a: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """gesdd (NumPy's for real float64, SciPy's otherwise); SciPy's gesvd when gesdd
    does not converge.

    NumPy's bundled OpenBLAS runs single precision and complex ``gesdd`` no faster
    than double (measured, two cores, NumPy 2.4 / SciPy 1.17, thin SVDs: float32
    384×384 27 ms against SciPy's 17, 2000×2000 1.75 against 0.75 s, 2000×500
    106 against 61 ms; complex128 384×384 71 against 46 ms). In real double the two
    take the same time, and NumPy's call costs 8 µs less on the tiny matrices of
    ``svdkit explain``.
    """
    try:
        if a.dtype == np.float64:
            U, s, Vh = np.linalg.svd(a, full_matrices=full)
        else:
            U, s, Vh = scipy.linalg.svd(
                a, full_matrices=full, lapack_driver="gesdd", check_finite=False
            )
        return U, s, Vh, "gesdd"
    except np.linalg.LinAlgError:
        U, s, Vh = scipy.linalg.svd(
            a, full_matrices=full, lapack_driver="gesvd", check_finite=False
        )
        return U, s, Vh, "gesvd"


#: Truncated SVDs that svd() hands to the large-scale engine (svdkit.lowrank) are
#: certified to this tolerance: both residuals of every triplet ≤ 1e-10 · σ₁.
_LOWRANK_TOL = 1e-10

#: Sparse matrices with at most this many entries (m·n) are densified (80 KB at
#: most) and factored by LAPACK, exactly; larger ones go to svdkit.lowrank.
_DENSIFY_MAX_ENTRIES = 10_000


def _truncated(A: object, k: int):
    """:func:`svdkit.lowrank.truncated_svd` of ``A`` at :data:`_LOWRANK_TOL`, its errors'
    advice addressed to a caller of :func:`svd` (which has no ``max_iter`` or ``method``:
    the advice names :func:`~svdkit.lowrank.truncated_svd`, where they are)."""
    from svdkit._naming import PYTHON, spelled_as
    from svdkit.errors import SvdkitError
    from svdkit.lowrank import truncated_svd
    from svdkit.lowrank._common import API_OPTIONS, reworded

    try:
        with spelled_as(PYTHON):  # (its arguments, not those of a command that calls svd)
            return truncated_svd(A, k, tol=_LOWRANK_TOL)
    except SvdkitError as err:
        lead = (
            f"svdkit.svd(A, k) ran svdkit.lowrank.truncated_svd(A, k, tol={_LOWRANK_TOL:g}), "
            "which takes the options svd does not: "
        )
        raise reworded(err, API_OPTIONS, lead) from None


def _sparse_svd(a, k: int):
    """Leading ``k`` triplets of a sparse matrix, without densifying a large one.

    Tiny matrices (``m·n ≤ 10⁴``) are densified and factored by LAPACK:
    ``(U, s, Vh, driver, e, scaled_s)`` (:func:`_scaled_lapack_svd`). (ARPACK,
    before, had no certificate and no way to find every copy of a repeated value:
    σ = 1 ten times came out seven times, the next three from below, each triplet
    with a residual of 1e-15.) Larger ones
    return the certified :class:`~svdkit.lowrank.LowRankSVD` of
    :func:`svdkit.lowrank.truncated_svd` (``tol = 1e-10``).
    """
    if a.shape[0] * a.shape[1] > _DENSIFY_MAX_ENTRIES:
        return _truncated(a, k)
    return _kept(*_scaled_lapack_svd(a.toarray(), False), k)


def _kept(U, s, Vh, driver, e, scaled_s, k: int | None):
    """The ``k`` leading triplets of a :func:`_scaled_lapack_svd` result (all: ``None``)."""
    if k is None:
        return U, s, Vh, driver, e, scaled_s
    scaled_s = None if scaled_s is None else scaled_s[:k].copy()
    return U[:, :k].copy(), s[:k].copy(), Vh[:k].copy(), driver, e, scaled_s


def svd(A: MatrixLike | LinearOperator, k: int | None = None, *, full: bool = False) -> SVD:
    """Singular value decomposition ``A = U Σ Vᴴ``.

    Parameters
    ----------
    A : array_like, str, path or sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; real or complex, m×n. A ``str``
        ending in ``.npy``, ``.npz`` or ``.mtx`` is a file name (read as a path is,
        with or without ``k``); any other ``str`` is matrix text.
    k : int, optional
        Keep the ``k`` leading triplets (``0 ≤ k ≤ min(m, n)``). For a SciPy sparse
        matrix of more than 10⁴ entries, ``k`` triplets are computed without
        densifying it (:func:`svdkit.lowrank.truncated_svd`, certified to 1e-10);
        a smaller one is densified and factored exactly. So are a ``np.memmap``, a
        ``.npy`` path, a dask array and a ``LinearOperator`` (which needs ``rmatvec``
        or ``rmatmat`` there); a dense array with ``k`` well below ``min(m, n)`` may be
        too, falling back to LAPACK where that cannot be certified. Errors from
        ``truncated_svd`` name its options (``max_iter``, ``method``), which
        :func:`svd` does not take.
    full : bool, default False
        Return square ``U`` (m×m) and ``Vh`` (n×n), as in the notes' ``A = U Σ V*``.
        Refused (:class:`~svdkit.errors.ShapeError`) where the square factor holds
        more than :data:`svdkit.inputs.DENSIFY_LIMIT` (2²⁷, 1 GiB of float64) entries
        beyond the thin SVD's, ``max(m, n) · (max(m, n) − min(m, n))``: a 100000×2
        matrix would need a 74.5 GiB ``U``. Never for a square matrix (its full SVD is
        the thin one). The limit is read at each call: ``svdkit.inputs.DENSIFY_LIMIT =
        2**30`` allows 8 GiB more.

    Returns
    -------
    SVD
        ``U``, ``s`` (descending), ``Vh``, with the sign rule applied.

    Raises
    ------
    SvdkitError
        For invalid input (see :func:`svdkit.as_matrix`) or an invalid ``k``.
    ShapeError
        For ``k`` with ``full=True``, a full SVD past the size above, or a
        ``LinearOperator`` without ``k``.

    Examples
    --------
    >>> import numpy as np, svdkit
    >>> A = [[0, 3], [-2, 0], [0, 0]]
    >>> r = svdkit.svd(A, full=True)
    >>> r.U.tolist(), r.s.tolist(), r.Vh.tolist()
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [3.0, 2.0], [[0.0, 1.0], [-1.0, 0.0]])
    >>> bool(np.allclose(r.U @ r.Sigma @ r.Vh, A))
    True
    """
    return _svd(A, k, full=full)


def _svd(
    A: MatrixLike | LinearOperator,
    k: int | None = None,
    *,
    full: bool = False,
    caller: str | None = None,
) -> SVD:
    """:func:`svd`; ``caller`` (``"svdkit.subspaces"``) names the public function that
    asked for the full SVD in the errors that refuse one (a ``LinearOperator``, a
    size past :data:`~svdkit.inputs.DENSIFY_LIMIT`)."""
    full = check_bool(full, "full")
    if k is not None and full:
        raise ShapeError("choose either a truncated SVD (k) or a full one (full=True)")
    source = type(A).__module__
    # a one-line str ending in .npy, .npz or .mtx names a file, as for as_matrix
    named = isinstance(A, str) and matrix_file_name(A) is not None
    if named:
        A = matrix_file_name(A)  # (without the newline of a name read by readline())
    matrix_free = isinstance(A, LinearOperator)  # SciPy's or a subclass in the user's code
    if (
        isinstance(A, np.memmap)
        or matrix_free
        or source.startswith("dask.")
        or ((named or isinstance(A, os.PathLike)) and os.fspath(A).lower().endswith(".npy"))
    ):
        # out of core, distributed or matrix-free: the large-scale engine reads these
        if k is None and matrix_free and caller is not None:
            raise ShapeError(
                f"{caller} needs an explicit matrix (an array, a sparse matrix, text or a "
                f"file): a {type(A).__name__} has no full SVD here (A @ np.eye(n) makes one "
                "of it, where it fits in memory)"
            )
        if k is None and matrix_free:
            raise ShapeError(
                f"a {type(A).__name__} has no full SVD here: pass k for its k leading "
                "triplets (svdkit.lowrank.truncated_svd)"
            )
        if k is not None:
            return _truncated(A, k)
    a = as_matrix(A, sparse=k is not None)
    if k is not None:
        _check_k(k, min(a.shape), "svd")
    if full:
        check_full_size(a.shape, caller)
    if not isinstance(a, np.ndarray):
        out = _sparse_svd(a, k)
        if not isinstance(out, tuple):
            return replace(out, precision=_stored_precision(A, a))
        U, s, Vh, driver, e, scaled_s = out
    else:
        if k and min(a.shape) > 200 and 4 * k < min(a.shape):
            from svdkit.errors import ConvergenceError
            from svdkit.lowrank import as_operator, choose_method, truncated_svd

            if choose_method(as_operator(a), k, _LOWRANK_TOL) != "lapack":
                try:
                    out = truncated_svd(a, k, tol=_LOWRANK_TOL)
                    return replace(out, precision=_stored_precision(A, a))
                except ConvergenceError:
                    pass  # (in memory: LAPACK's SVD below, exact, as NumPy's)
        U, s, Vh, driver, e, scaled_s = _kept(*_scaled_lapack_svd(a, full), k)
    U, Vh = apply_sign_rule(U, Vh)
    return SVD(U, s, Vh, a, driver, _stored_precision(A, a), e, scaled_s)


def check_full_size(shape: tuple[int, int], caller: str | None = None) -> None:
    """Refuse a full SVD whose square ``U`` (m×m) or ``Vh`` (n×n) would hold more than
    :data:`svdkit.inputs.DENSIFY_LIMIT` entries beyond the thin SVD's: ``max(m, n) ·
    (max(m, n) − min(m, n))`` (a 100000×2 matrix would need 9,999,800,000 more, 74.5 GiB
    of float64). A square matrix's full SVD is its thin one, never refused. The limit is
    read at each call: raise ``svdkit.inputs.DENSIFY_LIMIT`` to allow a larger one.

    Raises
    ------
    ShapeError
        Naming the shape, the entries needed, how to raise the limit and what to use
        instead; ``caller`` (``"svdkit.subspaces"``) is the public function that asked.
    """
    limit = _inputs.DENSIFY_LIMIT  # (as it is now: a user may have raised it)
    m, n = shape
    big, small = max(m, n), min(m, n)
    extra = big * (big - small)  # entries of U (m×m) or Vᴴ (n×n) beyond the thin U, Vᴴ
    if extra <= limit:
        return
    factor = "U" if m >= n else "Vᴴ"
    if caller is None:
        needs = f"svdkit.svd(A, full=True) of a {m}×{n} matrix needs a {big}×{big} {factor}"
    else:
        needs = f"{caller} of a {m}×{n} matrix needs its full SVD, with a {big}×{big} {factor}"
    gib = extra * 8 / 2**30
    raise ShapeError(
        f"{needs}: {extra:,} entries more than the thin SVD's (≥ {gib:.1f} GiB), past "
        f"svdkit.inputs.DENSIFY_LIMIT = {limit:,} (set it higher to allow this); the thin "
        "svdkit.svd(A) gives bases of R(A) and R(Aᴴ) (U[:, :r], Vᴴ[:r]), and "
        "scipy.linalg.orth / scipy.linalg.null_space the bases one at a time"
    )


def _stored_precision(source: object, a: np.ndarray) -> np.dtype | None:
    """The input's precision where coarser than the working one (float32 data), else None."""
    dtype = rule_dtype(source, a.dtype)
    return dtype if dtype != a.dtype else None
