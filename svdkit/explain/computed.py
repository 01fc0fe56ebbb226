"""What one report computes from its matrix: every decomposition and test at most once.

:func:`svdkit.explain.explain` makes one :class:`Computed` per report, for the
report's matrix and ``tol``; its sections and the checks of
:mod:`svdkit.explain.notes` ask it for the SVD, the eigendecomposition, the
structure tests, det A, A⁻¹, A⁺ and the definiteness analysis instead of
calling the engine again. Each is computed the first time it is asked for (a
rectangular matrix never gets an eigendecomposition), then kept: one LAPACK
``gesdd``, one ``geev``, one inversion, … per report, however many sections
and notes use the result. The object lives as long as its report's build; there
is no cache shared between reports.

Examples
--------
>>> import numpy as np
>>> c = Computed(np.array([[2.0, 1.0], [0.0, 3.0]]), tol=None)
>>> c.eig is c.eig, c.diagonalizable, c.normal
(True, True, False)
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from svdkit import linalg
from svdkit.errors import SingularMatrixError
from svdkit.explain.formatting import scientific
from svdkit.linalg.tolerance import rule_dtype

__all__ = ["Computed", "determinant"]

class Computed:
    """The engine's results for one matrix and ``tol``, each computed once, when first needed.

    Parameters
    ----------
    a : ndarray
        The validated matrix of the report (:func:`svdkit.as_matrix`'s result).
    tol : float, optional
        The report's absolute zero threshold (``None``: the tolerance rule).
    source : object, optional
        The matrix as the user gave it (text, lists, an array, a path…), for the
        questions floating point cannot settle (:attr:`diagonalizable`), and for the
        precision it was stored in.
    precision : dtype, optional
        Whose ``eps`` the tolerance rule uses: by default
        :func:`svdkit.linalg.tolerance.rule_dtype` of ``source`` (float32 data, or a
        float32 ``.npy`` file: float32's), else ``a``'s own. Every test and
        decomposition of the report then decides as :func:`svdkit.rank`,
        :func:`svdkit.is_normal`, … decide on the same input.
    """

    def __init__(
        self,
        a: np.ndarray,
        tol: float | None,
        source: object = None,
        precision: np.dtype | None = None,
    ) -> None:
        self.matrix = a
        self.tol = tol
        self.source = source
        if precision is None:
            precision = rule_dtype(source, a.dtype) if source is not None else a.dtype
        self.stored = _as_stored(a, rule_dtype(precision, a.dtype))
        self.precision = self.stored.dtype  # (a's own where a is no exact widening)

    @property
    def single(self) -> bool:
        """Whether the data was stored in a precision coarser than the working one."""
        return self.precision != self.matrix.dtype

    @property
    def square(self) -> bool:
        return self.matrix.shape[0] == self.matrix.shape[1]

    # -- decompositions -------------------------------------------------------

    @cached_property
    def svd(self) -> linalg.SVD:
        """The full SVD (``U`` m×m, ``Vh`` n×n)."""
        return linalg.svd(self.stored, full=True)

    @property
    def scaled_sigma(self) -> tuple[np.ndarray, int]:
        """``(2^−e·σ, e)``: the SVD's :attr:`~svdkit.linalg.SVD.scaled` σ. ``e = 0``
        unless ``max |aᵢⱼ|`` lies outside ``[2^−400, 2^400]``; then the SVD was computed
        on ``A·2^−e`` (``2^e`` just above ``max |aᵢⱼ|``), whose σ neither overflow
        (entries near 1e308) nor underflow (``σ₁ = √6·2^−1074`` of ``[[5e−324, 5e−324,
        1e−323]]``, computed unscaled, came out ``2·2^−1074``). The rank, cond and A⁺
        of the report are decided on these, as :func:`svdkit.rank` and
        :func:`svdkit.cond` decide."""
        return self.svd.scaled

    @cached_property
    def rank(self) -> int:
        """The SVD's rank at the report's ``tol`` (decided on :attr:`scaled_sigma`)."""
        return self.svd.rank(self.tol)

    @cached_property
    def pinv(self) -> np.ndarray:
        """A⁺ from the SVD."""
        return self.svd.pinv(self.tol)

    @cached_property
    def eig(self) -> linalg.Eig:
        """Eigenvalues and unit eigenvectors (square matrices only)."""
        return linalg.eig(self.stored)

    @cached_property
    def eigh(self) -> linalg.Eigh:
        """The spectral decomposition, without the symmetry check (Hermitian matrices only)."""
        return linalg.eigh(self.stored, check=False)

    @cached_property
    def inverse(self) -> np.ndarray | None:
        """A⁻¹, or ``None`` when A is singular (square matrices only): singular as the
        report's rank says, at its ``--tol`` (``--tol 0.5`` on diag(1, 0.1) gave rank 1
        and "invertible: yes" in one report). Where the rank is full at a ``--tol``
        below LAPACK's own rule (``rcond ≤ n·eps``), the SVD's inverse ``V Σ⁻¹ Uᴴ``."""
        if self.rank < self.matrix.shape[0]:
            return None
        try:
            return linalg.inv(self.stored)
        except SingularMatrixError:
            return self.pinv  # (A⁺ = A⁻¹ at full rank)

    @cached_property
    def definiteness(self):
        """:func:`svdkit.definiteness` of A (Hermitian matrices only)."""
        return linalg.definiteness(self.stored, tol=self.tol)

    @cached_property
    def slogdet(self) -> tuple:
        """:func:`svdkit.slogdet` of A: ``(sign, log|det A|)`` (square matrices only)."""
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            return tuple(linalg.slogdet(self.matrix))

    @cached_property
    def determinant(self) -> float | complex | str:
        """det A, as :func:`determinant` gives it (square matrices only)."""
        return determinant(self.matrix, lambda: self.slogdet)

    # -- structure --------------------------------------------------------------

    @cached_property
    def symmetric(self) -> bool:
        return linalg.is_symmetric(self.stored, self.tol)

    @cached_property
    def hermitian(self) -> bool:
        return linalg.is_hermitian(self.stored, self.tol)

    @cached_property
    def normal(self) -> bool:
        """:func:`svdkit.is_normal`; exact for a (Gaussian) rational matrix as typed
        (:attr:`exact_structure`), unless A passes as Hermitian or, square, as
        orthonormal (unitary): it is then normal to within the same rounding, and its
        report is built on that verdict (A⁻¹ = Aᴴ), so "normal" is the tolerance's "yes"
        too, never a "no" beside "orthonormal: yes" (``[[0, 1], [−1, 1e−17]]``).

        The floating-point test compares ``AAᴴ`` with ``AᴴA``, quadratic in A: the
        Jordan block ``[[1, 1e−10], [0, 1]]`` passes it (a gap of 1e−20) and is no
        normal matrix.
        """
        numeric = self.numeric_normal
        exact = self.exact_structure
        passes = self.hermitian or (self.square and self.orthonormal)
        if numeric and exact is not None and not exact["normal"] and not passes:
            return False
        return numeric

    @cached_property
    def numeric_normal(self) -> bool:
        """:func:`svdkit.is_normal` at the report's tolerance, whatever the entries as typed."""
        return linalg.is_normal(self.stored, self.tol)

    @property
    def exact_possible(self) -> bool:
        """Whether the questions of structure are decided on the entries as typed: the
        source is known, at most :data:`~svdkit.explain.exact_steps.MAX_ORDER` rows and
        columns, not stored in float32 (its rounding decides then, as in
        :func:`svdkit.is_diagonalizable` on the same array), and no ``tol`` given (the
        answers are then the numerical ones, at that resolution)."""
        from svdkit.explain.exact_steps import MAX_ORDER

        return (
            self.source is not None
            and max(self.matrix.shape) <= MAX_ORDER
            and not self.single
            and self.tol is None
        )

    @cached_property
    def exact_structure(self) -> dict[str, bool] | None:
        """:func:`~svdkit.explain.exact_steps.exact_structure` of the matrix as typed,
        where :attr:`exact_possible` (else None, as for entries that are no (Gaussian)
        rationals, or without SymPy)."""
        if not self.exact_possible:
            return None
        from svdkit.explain.exact_steps import exact_structure

        return exact_structure(self.source, self.matrix.shape)

    @cached_property
    def orthonormal(self) -> bool:
        return linalg.is_orthonormal(self.stored, self.tol)

    @cached_property
    def diagonal(self) -> bool:
        return linalg.is_diagonal(self.stored, self.tol)

    @cached_property
    def diagonalizable(self) -> bool:
        """:func:`svdkit.is_diagonalizable`, on the eigendecomposition :attr:`eig`; exact
        for a (Gaussian) rational matrix as typed whose floating-point answer is in doubt.

        In doubt: "no", or "yes" for a non-normal matrix with two eigenvalues within
        ``2 (n·eps)^(1/n) ‖A‖_F``, how far rounding splits an eigenvalue of a Jordan
        block of order n (``[[0, 0, 1], [0, 0, 1], [−1, 1, 0]]``, with A³ = 0, has
        three eigenvalues 1e−6 apart and independent eigenvectors in floating point).
        A normal matrix is diagonalisable: where the entries as typed decide
        :attr:`normal`, a matrix normal only to within the tolerance (the Jordan block
        ``[[1, 1e−10], [0, 1]]``) is in doubt too. With ``tol`` given the answer is the
        numerical one, at that resolution.
        """
        if not self.square:
            return False
        numeric = self.numeric_diagonalizable
        # (self.normal is decided on the entries as typed where they are exact: a Jordan
        # block with a coupling of 1e−10 is normal only to within the tolerance)
        if not self.exact_possible or (numeric and self.normal):
            return numeric
        if numeric and not _close_eigenvalues(self.eig.values, self.matrix):
            return numeric
        return self.exact_diagonalizable(numeric)

    @cached_property
    def numeric_diagonalizable(self) -> bool:
        """:func:`svdkit.is_diagonalizable` at the report's tolerance (square A only)."""
        return linalg.is_diagonalizable(self.stored, self.tol, eig=self.eig)

    def exact_diagonalizable(self, default: bool) -> bool:
        """Whether A as typed is diagonalisable, exactly; ``default`` where that cannot
        be decided (:func:`~svdkit.explain.exact_steps.exact_diagonalizable`)."""
        from svdkit.explain.exact_steps import exact_diagonalizable

        exact = exact_diagonalizable(self.source, self.matrix.shape)
        return default if exact is None else exact


def _as_stored(a: np.ndarray, precision: np.dtype) -> np.ndarray:
    """``a`` in the coarser ``precision`` its entries were stored in (float32 data widened
    to float64 goes back exactly), so that every engine call on it takes that precision's
    ``eps`` (:func:`svdkit.linalg.tolerance.rule_dtype`) and computes on the same float64
    values; ``a`` itself where it is not such a widening."""
    if precision == a.dtype or np.dtype(precision).kind != a.dtype.kind:
        return a
    narrow = a.astype(precision)
    return narrow if np.array_equal(narrow, a) else a


def _close_eigenvalues(values: np.ndarray, a: np.ndarray) -> bool:
    """Whether two eigenvalues are within ``2 (n·eps)^(1/n) ‖A‖_F`` of each other."""
    n = values.size
    if n < 2:
        return False
    # A and its eigenvalues scaled by one power of two 2^−e (exact), so that neither
    # ‖A‖_F nor a gap overflows (entries near 1e300) or loses digits (near 5e−324)
    from svdkit.linalg.measures import _exponent, times_power_of_two

    top = float(np.max(np.abs(a)))
    if top == 0 or not np.isfinite(top) or not np.isfinite(values).all():
        return True  # (in doubt: the exact answer, where there is one, decides)
    e = _exponent(top)
    with np.errstate(under="ignore"):
        scaled_a, scaled = times_power_of_two(a, -e), times_power_of_two(values, -e)
        radius = 2 * (n * np.finfo(np.float64).eps) ** (1 / n) * np.linalg.norm(scaled_a)
        gaps = np.abs(scaled[:, None] - scaled[None, :]) + np.diag(np.full(n, np.inf))
    return bool(np.min(gaps) <= radius)


def determinant(a: np.ndarray, slogdet=None) -> float | complex | str:
    """det A; as text (``"1e+400"``) when it is non-zero but outside float64's range.

    A determinant that overflows to ±∞ or underflows to 0 while A is non-singular
    is rebuilt from ``log|det A|`` (:func:`numpy.linalg.slogdet`) as a mantissa and
    a decimal exponent, so that the report never says ``det A = ∞`` (or 0) for a
    matrix of finite entries and full rank. ``slogdet``, when given, is a
    callable that returns ``numpy.linalg.slogdet(a)`` (a report's, computed once).
    """
    with np.errstate(over="ignore", under="ignore"):
        value = linalg.det(a)
    if value != 0 and np.isfinite(value):
        return value
    if slogdet is None:
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            sign, logabs = linalg.slogdet(a)
    else:
        sign, logabs = slogdet()
    if sign == 0 or not np.isfinite(logabs):
        return value
    return scientific(complex(sign), float(logabs))
