"""Eigendecompositions: general (``eig``) and Hermitian / spectral theorem (``eigh``).

Eigenvalues come in ascending order (by real part, then imaginary part), as
NumPy's ``eigh`` and the course notes print them; eigenvectors have unit norm and
follow the sign rule of :mod:`svdkit.linalg.signs`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.linalg

from svdkit.errors import NonFiniteError, SingularMatrixError, SvdkitError, check_bool
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import require_square
from svdkit.linalg._geev import eig_scaled
from svdkit.linalg._results import Unpackable
from svdkit.linalg.measures import entry_exponent, times_power_of_two
from svdkit.linalg.residuals import orthogonality_loss, relative_residual
from svdkit.linalg.signs import with_sign_rule
from svdkit.linalg.structure import (
    _eigenpairs,
    _full_eigenspaces,
    _independent_columns,
    _normal,
    hermitian_part,
    require_hermitian,
)
from svdkit.linalg.tolerance import rule_dtype, zero_threshold

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike

__all__ = ["Eig", "Eigh", "eig", "eigh"]


class _NumpyNames:
    """NumPy 2's names (``EigResult``, ``EighResult``) for ``values`` and ``vectors``."""

    values: np.ndarray
    vectors: np.ndarray

    @property
    def eigenvalues(self) -> np.ndarray:
        """:attr:`values`, by the name of NumPy 2's ``EigResult``/``EighResult`` (read-only)."""
        return self.values

    @property
    def eigenvectors(self) -> np.ndarray:
        """:attr:`vectors`, by the name of NumPy 2's ``EigResult``/``EighResult`` (read-only)."""
        return self.vectors


@dataclass(frozen=True, eq=False)
class Eig(_NumpyNames, Unpackable):
    """``A V = V diag(values)``; unpacks as ``values, vectors``.

    Attributes
    ----------
    values : ndarray, shape (n,)
        Eigenvalues, ascending by (real part, imaginary part); complex dtype when
        any is complex.
    vectors : ndarray, shape (n, n)
        Unit eigenvectors as columns (sign rule applied).
    matrix : ndarray
        The decomposed matrix; :meth:`residual` and :meth:`reconstruct` need it
        (an ``Eig`` built without it refuses them).
    precision : numpy.dtype, optional
        The precision the input was stored in, where coarser than the working
        one (float32 data, decomposed in float64), as :attr:`SVD.precision
        <svdkit.linalg.svd.SVD.precision>`: :meth:`reconstruct` decides with its
        ``eps`` (:func:`svdkit.linalg.tolerance.rule_dtype`), as
        :func:`svdkit.is_diagonalizable` does on the same input.
    """

    values: np.ndarray
    vectors: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)
    precision: np.dtype | None = field(default=None, repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("values", "vectors")

    def residual(self, norm2: float | None = None) -> float:
        """``max_i ‖A vᵢ − λᵢ vᵢ‖₂ / ‖A‖₂`` (absolute when A is zero).

        The ratio does not change when A and the λᵢ are scaled together, so both
        are first scaled (exactly, by a power of two) to ``max |aᵢⱼ| ≈ 1``: entries
        of size ``1e200`` or ``1e-200`` neither overflow nor underflow. Where an
        eigenvalue itself lies past the largest float (``inf``) the residual is ``inf``.

        Parameters
        ----------
        norm2 : float, optional
            ``‖A‖₂ = σ₁`` where it is known already (from an SVD of A): not computed
            again (it is an SVD of A's own cost). A number ``>= 0``; ``0`` or ``inf``
            (an overflowed σ₁) are not used, and ``‖A‖₂`` is computed.
        """
        if norm2 is not None and (
            isinstance(norm2, bool | np.bool_)
            or not isinstance(norm2, numbers.Real)
            or not norm2 >= 0  # (NaN too)
        ):
            raise SvdkitError(f"norm2 must be ‖A‖₂, a number >= 0, or None; got {norm2!r}")
        a = _decomposed(self, "residual")
        if not np.any(a):
            return 0.0  # A = 0: every λᵢ is 0 and every residual is exactly 0
        if not np.isfinite(self.values).all():
            return float("inf")  # an eigenvalue past the largest float: no finite residual
        e = entry_exponent(a)  # (finite where a complex |aᵢⱼ| overflows)
        a = times_power_of_two(a, -e)
        values = times_power_of_two(self.values, -e)
        res = np.linalg.norm(a @ self.vectors - self.vectors * values, axis=0)
        if norm2 is not None and 0.0 < norm2 < np.inf:
            scale = float(np.ldexp(norm2, -e))
        else:
            scale = float(np.linalg.norm(a, 2))
        worst = float(res.max()) if res.size else 0.0
        return worst / scale

    def reconstruct(self) -> np.ndarray:
        """``V Λ V⁻¹``, for a diagonalisable A.

        Decided by the rule of :func:`svdkit.is_diagonalizable` (its own helpers,
        on :attr:`matrix` with these eigenpairs; ``eps`` that of :attr:`precision`
        where coarser than float64's; the normality test runs only where the
        other two rules do not already say "yes"), so the two never disagree: a defective A,
        a near-Jordan block included, raises instead of returning a matrix off by
        ``κ(V) · eps``.

        The product is formed with ``Λ · 2^−e`` (``2^e`` the power of two just above
        ``max |λᵢ|``) and scaled back, exactly: eigenvalues near ``1e308`` or among the
        subnormals neither overflow nor lose digits on the way.

        Raises
        ------
        SingularMatrixError
            A is not diagonalisable by that rule, or (a normal A, rule 1) its
            computed eigenvectors are numerically dependent, so ``V⁻¹`` does not
            exist (σ_min of V at most ``n · eps · σ₁``).
        NonFiniteError
            An eigenvalue lies past the largest float (``±inf``: ``‖A‖`` near
            ``1e308``), so ``V Λ V⁻¹`` cannot be formed in float64, or the product
            itself overflows.
        SvdkitError
            The result was built without ``matrix``, or its pairs are not
            eigenpairs of ``matrix`` (as :func:`svdkit.is_diagonalizable` checks
            its ``eig``).

        Examples
        --------
        >>> import svdkit
        >>> R = svdkit.eig([[2.0, 1.0], [0.0, 3.0]]).reconstruct()
        >>> bool(np.allclose(R, [[2.0, 1.0], [0.0, 3.0]], rtol=0, atol=1e-15))
        True
        >>> try:
        ...     svdkit.eig([[1.0, 1e-7], [0.0, 1.0]]).reconstruct()
        ... except SingularMatrixError as err:
        ...     print(str(err)[:23])
        A is not diagonalisable
        """
        a = _decomposed(self, "reconstruct")
        _require_finite_values(self.values, "Eig.reconstruct", "V Λ V⁻¹")
        V = self.vectors
        dtype = rule_dtype(self.precision, V.dtype)
        values, vectors = _eigenpairs(
            a, (self.values, V), dtype, what="Eig.reconstruct", name="this Eig"
        )
        # The rule of is_diagonalizable, in the order that costs least here: rule 3
        # (independent eigenvectors, one SVD of V) is needed on every path, normal A or
        # not; rule 2 (full eigenspaces) is cheap when no eigenvalues cluster, and when it
        # holds the verdict is "yes" whether or not A is normal (rule 1), so the normality
        # test (two n × n products) runs only when rule 2 fails or V is dependent.
        independent = _independent_columns(vectors, dtype)
        if independent:
            diagonalizable = _full_eigenspaces(a, dtype, None, values, vectors) or _normal(
                a, dtype, None
            )
        else:  # rule 3 fails: diagonalisable only by rule 1, and then V⁻¹ does not exist
            diagonalizable = _normal(a, dtype, None)
        if not diagonalizable:
            raise SingularMatrixError(
                "A is not diagonalisable (svdkit.is_diagonalizable: a cluster of eigenvalues "
                "lacks a full eigenspace, or the eigenvectors are dependent): V⁻¹ Λ V would "
                "not reproduce A"
            )
        if not independent:
            raise SingularMatrixError(
                "the eigenvectors are linearly dependent (A is not diagonalisable): V⁻¹ does not"
                " exist"
            )
        e = entry_exponent(self.values)
        # with the unit columns _eigenpairs returns (V Λ V⁻¹ does not depend on the columns'
        # lengths; subnormal or huge ones would make the solve overflow)
        scaled = np.linalg.solve(
            vectors.T, (vectors * times_power_of_two(self.values, -e)).T
        ).T
        return _scaled_back(scaled, e, "Eig.reconstruct", "V Λ V⁻¹")


@dataclass(frozen=True, eq=False)
class Eigh(_NumpyNames, Unpackable):
    """Spectral theorem ``A = Q Λ Qᴴ``; unpacks as ``values, vectors``.

    Attributes
    ----------
    values : ndarray, shape (n,)
        Real eigenvalues, ascending.
    vectors : ndarray, shape (n, n)
        Orthonormal eigenvectors ``Q`` as columns (sign rule applied).
    matrix : ndarray
        The decomposed matrix, Hermitian: with ``eigh(A, check=False)`` the one
        LAPACK read, ``A``'s lower triangle mirrored (see :func:`eigh`).
        :meth:`residual` needs it (an ``Eigh`` built without it refuses it).
    """

    values: np.ndarray
    vectors: np.ndarray
    matrix: np.ndarray | None = field(default=None, repr=False)

    _unpack: ClassVar[tuple[str, ...]] = ("values", "vectors")

    def reconstruct(self) -> np.ndarray:
        """``Q Λ Qᴴ``, formed with ``Λ · 2^−e`` and scaled back exactly (``2^e`` the power
        of two just above ``max |λᵢ|``): no overflow or loss of digits on the way.

        Raises
        ------
        NonFiniteError
            An eigenvalue lies past the largest float (``±inf``), or the product
            itself overflows.
        """
        _require_finite_values(self.values, "Eigh.reconstruct", "Q Λ Qᴴ")
        e = entry_exponent(self.values)
        return _scaled_back(
            _spectral(self.vectors, self.values, e), e, "Eigh.reconstruct", "Q Λ Qᴴ"
        )

    def residual(self) -> float:
        """``‖A − Q Λ Qᴴ‖_F / ‖A‖_F`` (``inf`` where an eigenvalue lies past the largest
        float: ``Q Λ Qᴴ`` is not finite), computed on ``A · 2^−e`` and ``Λ · 2^−e``
        (the same ratio, no overflow)."""
        a = _decomposed(self, "residual")
        if not np.isfinite(self.values).all():
            return float("inf")
        e = entry_exponent(a)
        return relative_residual(times_power_of_two(a, -e), _spectral(self.vectors, self.values, e))

    def orthogonality(self) -> float:
        """``‖QᴴQ − I‖_F``."""
        return orthogonality_loss(self.vectors)


def _decomposed(result: Eig | Eigh, method: str) -> np.ndarray:
    """``result.matrix``, or an :class:`SvdkitError` saying that ``method`` needs it."""
    if result.matrix is None:
        name = type(result).__name__
        raise SvdkitError(
            f"{name}.{method} needs the decomposed matrix: construct with matrix=A "
            f"({name}(values, vectors, matrix=A)), as svdkit.{name.lower()}(A) does"
        )
    return result.matrix


def _require_finite_values(values: np.ndarray, what: str, product: str) -> None:
    """Raise :class:`NonFiniteError` where an eigenvalue is ``±inf`` (past the largest float)."""
    if not np.isfinite(values).all():
        raise NonFiniteError(
            f"{what}: an eigenvalue lies past the largest float (inf; ‖A‖ near 1e308), so "
            f"{product} cannot be formed in float64; scale A down by a power of two first"
        )


def _spectral(Q: np.ndarray, values: np.ndarray, e: int) -> np.ndarray:
    """``Q (Λ · 2^−e) Qᴴ``."""
    return (Q * times_power_of_two(values, -e)) @ Q.conj().T


def _scaled_back(x: np.ndarray, e: int, what: str, product: str) -> np.ndarray:
    """``x · 2^e``, or a :class:`NonFiniteError` where that overflows."""
    with np.errstate(over="ignore"):
        out = times_power_of_two(x, e)
    if not np.isfinite(out).all():
        raise NonFiniteError(f"{what}: {product} overflows (entries past the largest float)")
    return out


def eig(A: MatrixLike) -> Eig:
    """Eigenvalues and eigenvectors of a square matrix, ``A = V Λ V⁻¹`` when diagonalisable.

    Parameters
    ----------
    A : array_like, str or path
        A square matrix (anything :func:`svdkit.as_matrix` accepts).

    Returns
    -------
    Eig
        ``values`` ascending by (real, imaginary) part, unit ``vectors``.

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.eig([[2, 1], [0, 3]])
    >>> r.values.tolist()
    [2.0, 3.0]
    >>> r.residual() < 1e-15
    True
    """
    a = as_matrix(A)
    require_square(a, "eig")
    values, vectors = eig_scaled(a)  # geev on a power-of-two scaling of A
    if np.isrealobj(a) and np.all(values.imag == 0):
        values, vectors = values.real, vectors.real
    order = np.lexsort((values.imag, values.real))
    values, vectors = values[order], vectors[:, order]
    vectors = vectors / np.linalg.norm(vectors, axis=0)
    vectors = with_sign_rule(vectors)
    precision = rule_dtype(A, a.dtype)  # float32 data: float32's eps in reconstruct
    return Eig(values + 0.0, vectors + 0.0, a, precision if precision != a.dtype else None)


def eigh(A: MatrixLike, *, check: bool = True, tol: float | None = None) -> Eigh:
    """Spectral decomposition of a symmetric (Hermitian) matrix, ``A = Q Λ Qᴴ``.

    Parameters
    ----------
    A : array_like, str or path
        A real symmetric or complex Hermitian matrix.
    check : bool, default True
        Refuse a matrix that is not Hermitian (per the tolerance rule). ``False``:
        LAPACK's contract, the lower triangle is A (the upper one is not read, nor
        the imaginary part of the diagonal): the result's ``matrix`` is that
        Hermitian matrix, ``tril(A) + tril(A, −1)ᴴ`` with a real diagonal, so that
        ``residual()`` and ``reconstruct()`` measure what was decomposed.
    tol : float, optional
        Absolute threshold for that check; a finite number ``>= 0`` (checked with
        ``check=False`` too, where it decides nothing).

    Returns
    -------
    Eigh
        Real ``values`` ascending, orthonormal ``vectors``. A that the check lets
        pass (within the rule or ``tol``) but is not exactly Hermitian is
        decomposed by its Hermitian part ``(A + Aᴴ)/2`` — the matrix
        :func:`svdkit.definiteness` and :func:`svdkit.cholesky` use, and ``matrix``
        of the result — not by its lower triangle.

    Examples
    --------
    >>> import svdkit
    >>> r = svdkit.eigh([[17, 22, 27], [22, 29, 36], [27, 36, 45]])
    >>> [round(float(x), 6) for x in r.values[1:]]
    [0.597327, 90.402673]
    """
    check = check_bool(check, "check")
    if tol is not None:  # (checked with check=False too, where it decides nothing)
        zero_threshold((1,), 0.0, np.float64, tol)
    a = as_matrix(A)
    require_square(a, "eigh")
    if check:
        require_hermitian(a, "eigh", tol=tol, precision=rule_dtype(A, a.dtype))
        a = hermitian_part(a)
    else:
        a = _lower_hermitian(a)
    # Divide and conquer (syevd/heevd, NumPy's choice), not SciPy's default MRRR
    # (syevr), whose eigenvectors can lose orthogonality to hundreds of eps for
    # close eigenvalues even at n = 8; the spectral theorem needs Q orthogonal.
    with np.errstate(over="ignore", invalid="ignore"):
        values, vectors = scipy.linalg.eigh(a, check_finite=False, driver="evd")
    if not (np.isfinite(values).all() and np.isfinite(vectors).all()):
        # entries near the largest float (a complex |aᵢⱼ| past it: LAPACK's own scaling
        # gave NaN): on A·2^−e, exactly scaled; an eigenvalue past the largest float is ±inf
        e = entry_exponent(a)
        values, vectors = scipy.linalg.eigh(
            times_power_of_two(a, -e), check_finite=False, driver="evd"
        )
        with np.errstate(over="ignore"):
            values = np.ldexp(values, e)
    vectors = with_sign_rule(vectors)
    return Eigh(values, vectors + 0.0, a)


def _lower_hermitian(a: np.ndarray) -> np.ndarray:
    """The Hermitian matrix LAPACK's ``syevd``/``heevd`` read from ``a``'s lower triangle
    (``tril(a) + tril(a, −1)ᴴ``, the diagonal's real part); ``a`` itself where it is that.

    Examples
    --------
    >>> _lower_hermitian(np.array([[1.0, 5.0], [2.0, 3.0]])).tolist()
    [[1.0, 2.0], [2.0, 3.0]]
    """
    low = np.tril(a, -1)
    used = low + low.conj().T
    used[np.diag_indices_from(used)] = a.diagonal().real
    return a if np.array_equal(used, a) else used
