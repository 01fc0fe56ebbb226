"""Structure predicates: symmetric, Hermitian, normal, orthonormal, diagonal, diagonalisable.

Every predicate answers with a plain ``bool`` and decides by one rule, the
identity rule of :mod:`svdkit.linalg.tolerance`:

    an identity ``X = Y`` between two matrices computed from an ``m × n`` matrix
    holds when

        ‖X − Y‖_F  <=  max(m, n) · eps · (‖X‖_F + ‖Y‖_F + T)

    unless the caller passes ``tol``, an absolute threshold on ``‖X − Y‖_F``.

``T`` counts the terms of the products that the predicate forms itself (0
when it forms none):

==========================  ==============  ================  ================
predicate                   X               Y                 T
==========================  ==============  ================  ================
:func:`is_symmetric`        ``A``           ``Aᵀ``            0
:func:`is_hermitian`        ``A``           ``Aᴴ``            0
:func:`is_diagonal`         ``A``           its diagonal      0
:func:`is_normal`           ``A Aᴴ``        ``Aᴴ A``          ``2(m+n)‖A‖_F²``
:func:`is_orthonormal`      ``Aᴴ A``        ``I`` (n × n)     ``2(m+n)‖A‖_F²``
==========================  ==============  ================  ================

Why ``T``: each entry of ``AᴴA`` is a sum of products whose magnitudes add up
to at most ``‖A‖_F²`` in all, and ``A`` itself is usually the output of an
orthonormalisation or a product, rounded to the same order (Householder QR
gives ``‖Q̂ᴴQ̂ − I‖ <= c · mn · u``, Higham, *Accuracy and Stability*, Thm.
19.4). Without ``T`` the rule misses LAPACK's own output: the ``Q`` of a 1×1
complex QR has ``|q|² − 1`` up to ``5 eps``, above ``1 · eps · (1 + 1)``.

:func:`is_diagonalizable` is not an identity; its rule (eigenvalue clusters and
ranks, from the same threshold) is documented on the function.

Scale. The answers do not depend on the size of the entries: ``1e200 · A`` and
``1e-200 · A`` get the answers of ``A``, with no overflow (``AAᴴ`` of a
``1e200``-sized matrix is ``1e400``) and no underflow. Each predicate works on
``Ã = A · 2^−e``, ``2^e`` the power of two just above ``max |aᵢⱼ|``: the
scaling is exact (for every entry above ``max |aᵢⱼ| · 2^−1022``), and the
default rule is homogeneous, so its decision on ``Ã`` is its decision on ``A``.

An explicit ``tol`` keeps its meaning: it is an **absolute** threshold on the
defect ``‖X − Y‖_F`` of ``A`` as given, in the units of ``X`` (the units of
``A`` for :func:`is_symmetric`, :func:`is_hermitian`, :func:`is_diagonal`;
of ``A²`` for :func:`is_normal`; ``Aᴴ A − I`` is compared as it is for
:func:`is_orthonormal`), not a threshold relative to ``‖A‖``. The defect is
computed on ``Ã`` and compared with ``tol`` exactly, as ``‖X̃ − Ỹ‖_F · 2^(d·e)
<= tol`` (``d`` = 1 or 2 the degree of ``X`` in ``A``), even where
``‖X − Y‖_F`` itself lies outside float64's range: ``is_normal(1e-200 · N,
tol=0)`` is ``False`` for a non-normal ``N`` (its ``‖AAᴴ − AᴴA‖_F ≈ 1e-400``
is not zero), and ``is_normal(1e200 · R, tol=0)`` is ``True`` for the rotation
``R = [[0, −1], [1, 0]]`` (its two products are computed exactly). At such
scales a ``tol`` (at most ``1.8e308``) is far below the rounding of the
products (``eps · 1e400``): only the default rule, relative, absorbs it.

Sparse input (SciPy) is accepted, and never densified, by :func:`is_symmetric`,
:func:`is_hermitian` and :func:`is_diagonal`.

Examples
--------
>>> from svdkit.linalg.structure import is_normal, is_symmetric
>>> is_symmetric([[1, 2], [2, 3]]), is_normal([[1, 1], [0, 2]])
(True, False)
>>> is_symmetric([[1, 2], [2.001, 3]], tol=0.01)  # an absolute threshold instead
True
>>> N = [[1e-200, 1e-200], [0, 2e-200]]  # ‖AAᴴ − AᴴA‖_F ≈ 1.7e-400, not zero
>>> is_normal(N), is_normal(N, tol=0.0), is_normal(N, tol=1e-300)
(False, False, True)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from svdkit.errors import NonFiniteError, ParseError, ShapeError, StructureError, SvdkitError
from svdkit.inputs import as_matrix
from svdkit.linalg._checks import canonical
from svdkit.linalg._geev import eig_scaled
from svdkit.linalg.measures import decimal_parts, entry_exponent, times_power_of_two
from svdkit.linalg.tolerance import rule_dtype, zero_threshold

if TYPE_CHECKING:
    from svdkit.inputs import MatrixLike
    from svdkit.linalg.eigen import Eig

__all__ = [
    "hermitian_defect",
    "is_diagonal",
    "is_diagonalizable",
    "is_hermitian",
    "is_normal",
    "is_orthonormal",
    "is_symmetric",
    "require_hermitian",
]


# ----------------------------------------------------------------------------- input


def _as_matrix_keep_sparse(A, name: str = "A"):
    """The front door with ``sparse=True``; SciPy sparse input comes back as CSR, in
    canonical format (:func:`~svdkit.linalg._checks.canonical`: never the caller's
    matrix rewritten)."""
    a = as_matrix(A, sparse=True, name=name)
    return canonical(a.tocsr()) if sp.issparse(a) else a


def _fro(X) -> float:
    """Frobenius norm of a dense or sparse matrix (scaled: no overflow for huge entries)."""
    data = X.tocsr().data if sp.issparse(X) else np.asarray(X)
    return float(scipy.linalg.norm(data.ravel())) if data.size else 0.0


def _scale_exponent(a) -> int:
    """The ``e`` with ``2^(e−1) <= max |aᵢⱼ| < 2^e`` (0 for a zero or empty matrix)."""
    return entry_exponent(a)  # (finite where a complex |aᵢⱼ| overflows)


def _scaled(a, e: int):
    """``a · 2^−e``, exactly (dense or sparse; a sparse matrix is copied)."""
    if e == 0:
        return a
    if sp.issparse(a):
        y = a.tocsr(copy=True)
        y.data = times_power_of_two(y.data, -e)
        return y
    return times_power_of_two(a, -e)


def _at_most(x: float, k: int, y: float) -> bool:
    """``x · 2^k <= y`` for ``x, y >= 0``, decided exactly (no over- or underflow of ``x · 2^k``).

    Examples
    --------
    >>> _at_most(1.0, 2000, 1e300), _at_most(1.0, -2000, 0.0), _at_most(3.0, -1, 1.5)
    (False, False, True)
    """
    if not x <= math.inf:  # NaN: nothing holds
        return False
    if x == 0:
        return True
    if y == 0:
        return False
    if x == math.inf or y == math.inf:
        return y == math.inf
    mx, ex = math.frexp(x)
    my, ey = math.frexp(y)
    return (ex + k, mx) <= (ey, my)


def _checked_tol(tol) -> float:
    """``tol`` as a float, or the error :func:`zero_threshold` gives for a bad one."""
    return zero_threshold((1,), 0.0, np.float64, tol)


def _identity_holds(
    X, Y, shape: tuple[int, int], dtype, tol: float | None, terms: float = 0.0, unscale: int = 0
) -> bool:
    """The identity rule: ``‖X − Y‖_F ≤ max(m, n)·eps·(‖X‖_F + ‖Y‖_F + T)`` or ``≤ tol``.

    ``X`` and ``Y`` are the identity's two sides computed on ``Ã = A·2^−e`` and
    ``terms`` is ``T`` for ``Ã``; ``unscale`` is ``d·e`` for sides of degree ``d``
    in ``A``. The default rule is homogeneous, so it is decided on ``Ã``; ``tol``
    is compared with the defect of ``A``, ``‖X − Y‖_F · 2^unscale``, exactly.
    """
    defect = _fro(X - Y)
    if tol is None:
        return bool(defect <= zero_threshold(shape, _fro(X) + _fro(Y) + terms, dtype))
    return _at_most(defect, unscale, _checked_tol(tol))


def _product_terms(a: np.ndarray) -> float:
    """``T = 2(m + n)‖A‖_F²`` for the identities built from ``AᴴA`` and ``AAᴴ``."""
    m, n = a.shape
    return 2.0 * (m + n) * _fro(a) ** 2


# ----------------------------------------------------------------------------- Hermitian


def _fmt(z, digits: int = 6) -> str:
    """A number as a person writes it: ``2``, ``0.5``, ``1+2j``."""
    z = complex(z) + 0  # + 0 turns −0.0 into 0.0
    if z.imag == 0:
        return f"{z.real:.{digits}g}"
    if z.real == 0:
        return f"{z.imag:.{digits}g}j"
    return f"{z:.{digits}g}"


def hermitian_defect(
    a: np.ndarray, tol: float | None = None
) -> tuple[float, float, tuple[int, int]]:
    """How far a square dense matrix is from Hermitian, and where.

    Parameters
    ----------
    a : ndarray, shape (n, n)
        A validated square matrix.
    tol : float, optional
        Absolute threshold replacing the identity rule.

    Returns
    -------
    defect : float
        ``‖A − Aᴴ‖_F`` (``inf`` beyond float64's range: computed on ``A · 2^−e``).
    threshold : float
        ``n · eps · 2‖A‖_F`` (the identity rule for ``A = Aᴴ``), or ``tol``.
    worst : tuple of int
        0-based ``(i, j)`` with the largest ``|aᵢⱼ − conj(aⱼᵢ)|``, ``i <= j``.

    Examples
    --------
    >>> import numpy as np
    >>> defect, thr, worst = hermitian_defect(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> round(defect, 6), worst
    (1.414214, (0, 1))
    """
    _, defect, thr, worst = _hermitian_check(a, tol)
    return defect, thr, worst


def _hermitian_check(
    a: np.ndarray, tol: float | None, precision: np.dtype | None = None
) -> tuple[bool, float, float, tuple[int, int]]:
    """``(holds, defect, threshold, worst)``: the decision taken on ``A · 2^−e``.

    ``defect`` and ``threshold`` are in the units of ``A`` (for messages); the
    decision does not use them, so it stands where they over- or underflow.
    ``precision``: the dtype whose ``eps`` the rule uses (``a.dtype`` by default;
    :func:`svdkit.linalg.tolerance.rule_dtype` of the caller's input).
    """
    e = _scale_exponent(a)
    s = _scaled(a, e)
    diff = s - s.conj().T
    defect = _fro(diff)
    if tol is None:
        thr = zero_threshold(a.shape, 2 * _fro(s), a.dtype if precision is None else precision)
        holds = bool(defect <= thr)
        thr = float(np.ldexp(thr, e))
    else:
        thr = _checked_tol(tol)
        holds = _at_most(defect, e, thr)
    i, j = np.unravel_index(int(np.argmax(np.abs(np.triu(diff)))), a.shape)
    with np.errstate(over="ignore"):
        return holds, float(np.ldexp(defect, e)), thr, (int(i), int(j))


def hermitian_part(a: np.ndarray) -> np.ndarray:
    """``(a + aᴴ)/2``, computed as ``a/2 + aᴴ/2`` (``a + aᴴ`` could overflow for entries
    near ``1e308``); a Hermitian ``a`` itself (halving loses subnormals:
    ``diag(5e-324, 5e-324)`` became the zero matrix).

    Examples
    --------
    >>> hermitian_part(np.array([[1.0, 2.0], [0.0, 1.0]])).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    >>> float(hermitian_part(np.diag([5e-324, 5e-324]))[0, 0])
    5e-324
    """
    if np.array_equal(a, a.conj().T):
        return a
    return a / 2 + a.conj().T / 2


def require_hermitian(
    a: np.ndarray,
    what: str,
    name: str = "A",
    tol: float | None = None,
    hint: str = "",
    *,
    precision: np.dtype | None = None,
) -> None:
    """Raise :class:`StructureError` unless the square matrix ``a`` is Hermitian.

    The message names the largest asymmetric pair, e.g. ``A[0,1] = 2 but
    A[1,0] = 3`` (0-based indices, as NumPy writes them), or a diagonal entry
    that is not real.

    Parameters
    ----------
    a : ndarray, shape (n, n)
        A validated square matrix.
    what : str
        The function that needs the property (for the message).
    name : str
        The argument's name.
    tol : float, optional
        Absolute threshold on ``‖A − Aᴴ‖_F``.
    hint : str
        Appended to the message (e.g. a suggestion to pass ``symmetrize=True``).
    precision : dtype, optional
        Whose ``eps`` the rule uses: the precision the caller's data was stored in
        (:func:`svdkit.linalg.tolerance.rule_dtype`), ``a.dtype`` by default.

    Examples
    --------
    >>> import numpy as np
    >>> try:
    ...     require_hermitian(np.array([[1.0, 2.0], [3.0, 4.0]]), "cholesky")
    ... except StructureError as err:
    ...     print(err)
    cholesky needs a symmetric matrix; A[0,1] = 2 but A[1,0] = 3
    """
    holds, defect, thr, (i, j) = _hermitian_check(a, tol, precision)
    if holds:
        return
    complex_ = np.iscomplexobj(a)
    kind = "Hermitian" if complex_ else "symmetric"
    # 17 digits when 6 would print the two entries alike
    d = 6 if _fmt(a[i, j]) != _fmt(np.conj(a[j, i])) else 17
    if i == j:
        detail = f"the diagonal entry {name}[{i},{i}] = {_fmt(a[i, i], d)} is not real"
    elif complex_:
        detail = (
            f"{name}[{i},{j}] = {_fmt(a[i, j], d)} but {name}[{j},{i}] = {_fmt(a[j, i], d)}, "
            f"whose conjugate is {_fmt(np.conj(a[j, i]), d)}"
        )
    else:
        detail = f"{name}[{i},{j}] = {_fmt(a[i, j], d)} but {name}[{j},{i}] = {_fmt(a[j, i], d)}"
    message = f"{what} needs a {kind} matrix; {detail}"
    if tol is not None or defect <= 1e3 * thr:
        message += f" (‖{name} − {name}ᴴ‖_F = {defect:.3g} exceeds the tolerance {thr:.3g})"
    if hint:
        message += f". {hint}"
    raise StructureError(message)


# ----------------------------------------------------------------------------- predicates


def is_symmetric(A: MatrixLike, tol: float | None = None) -> bool:
    """Whether ``A = Aᵀ`` (transpose, no conjugation).

    For a complex matrix this is *complex symmetry*; use :func:`is_hermitian`
    for ``A = Aᴴ``. A non-square matrix is not symmetric.

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on ``‖A − Aᵀ‖_F`` (in the units of ``A``, not relative
        to ``‖A‖``); default ``max(m, n)·eps·2‖A‖_F``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_symmetric([[1, 2], [2, 3]])
    True
    >>> is_symmetric([[1, 1], [0, 2]])
    False
    >>> import scipy.sparse as sp
    >>> is_symmetric(sp.csr_array([[0.0, 1.0], [1.0, 0.0]]))
    True
    """
    a = _as_matrix_keep_sparse(A)
    if a.shape[0] != a.shape[1]:
        return False
    e = _scale_exponent(a)
    s = _scaled(a, e)
    return _identity_holds(s, s.T, a.shape, rule_dtype(A, a.dtype), tol, unscale=e)


def is_hermitian(A: MatrixLike, tol: float | None = None) -> bool:
    """Whether ``A = Aᴴ`` (conjugate transpose); for real A the same as symmetric.

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on ``‖A − Aᴴ‖_F`` (in the units of ``A``, not relative
        to ``‖A‖``); default ``max(m, n)·eps·2‖A‖_F``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_hermitian([[2, 1j], [-1j, 2]])
    True
    >>> is_hermitian([[2, 1j], [1j, 2]])  # complex symmetric, not Hermitian
    False
    """
    a = _as_matrix_keep_sparse(A)
    if a.shape[0] != a.shape[1]:
        return False
    e = _scale_exponent(a)
    s = _scaled(a, e)
    return _identity_holds(s, s.conj().T, a.shape, rule_dtype(A, a.dtype), tol, unscale=e)


def is_normal(A: MatrixLike, tol: float | None = None) -> bool:
    """Whether ``A Aᴴ = Aᴴ A`` (a normal matrix is unitarily diagonalisable).

    A non-square matrix is not normal.

    Parameters
    ----------
    A : array_like, str or path
        Anything :func:`svdkit.as_matrix` accepts.
    tol : float, optional
        Absolute threshold on ``‖AAᴴ − AᴴA‖_F`` of ``A`` as given (in the units
        of ``A²``, not relative to ``‖A‖_F²``), compared exactly even where that
        norm over- or underflows; default
        ``n·eps·(‖AAᴴ‖_F + ‖AᴴA‖_F + 4n‖A‖_F²)`` (module docstring).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_normal([[1, 2], [2, 3]]), is_normal([[1, 1], [0, 2]])
    (True, False)
    >>> is_normal([[0, -1], [1, 0]])  # a rotation
    True
    >>> is_normal([[0, -1e200], [1e200, 0]], tol=0.0)  # AAᴴ = 1e400 I, no overflow
    True
    """
    a = as_matrix(A)
    if a.shape[0] != a.shape[1]:
        return False
    return _normal(a, rule_dtype(A, a.dtype), tol)


def _normal(a: np.ndarray, dtype: np.dtype, tol: float | None) -> bool:
    """:func:`is_normal` of a validated square matrix, the rule's ``eps`` that of ``dtype``
    (:func:`svdkit.linalg.tolerance.rule_dtype` of the caller's input)."""
    # normality does not depend on the scale: Ã = A·2^−e keeps ÃÃᴴ finite and non-zero
    e = _scale_exponent(a)
    s = _scaled(a, e)
    sh = s.conj().T
    return _identity_holds(s @ sh, sh @ s, a.shape, dtype, tol, _product_terms(s), 2 * e)


def is_orthonormal(A: MatrixLike, tol: float | None = None) -> bool:
    """Whether the columns of ``A`` are orthonormal: ``Aᴴ A = I``.

    A tall ``m × n`` matrix (``m >= n``) can have orthonormal columns (the ``Q``
    of a thin QR); a wide one (``m < n``) cannot: more than ``m`` vectors in
    an ``m``-dimensional space are dependent, so it answers ``False``. For a
    square matrix this is "orthogonal" (real) or "unitary" (complex).

    Parameters
    ----------
    A : array_like, str or path
        Anything :func:`svdkit.as_matrix` accepts.
    tol : float, optional
        Absolute threshold on ``‖AᴴA − I‖_F``, compared exactly even where
        ``AᴴA`` would overflow; default
        ``max(m, n)·eps·(‖AᴴA‖_F + √n + 2(m+n)‖A‖_F²)`` (module docstring).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> r = 1 / np.sqrt(2)
    >>> is_orthonormal([[r, -r, 0], [r, r, 0], [0, 0, 1]])
    True
    >>> is_orthonormal([[1, 1], [1, 1]])
    False
    >>> Q, _ = np.linalg.qr(np.arange(12.0).reshape(4, 3) + np.eye(4, 3))
    >>> is_orthonormal(Q), is_orthonormal(Q.T)
    (True, False)
    """
    a = as_matrix(A)
    m, n = a.shape
    if m < n:
        return False
    e = _scale_exponent(a)
    if tol is None:
        if float(np.max(np.abs(a))) > 2:
            return False  # entries of orthonormal columns are at most 1 in modulus
        gram = a.conj().T @ a
        eye = np.eye(n, dtype=gram.dtype)
        dtype = rule_dtype(A, a.dtype)
        return _identity_holds(gram, eye, a.shape, dtype, None, _product_terms(a))
    tol = _checked_tol(tol)
    if e <= 0:  # max |aᵢⱼ| < 1: AᴴA cannot overflow, and what underflows is below I's rounding
        gram = a.conj().T @ a
        return _at_most(_fro(gram - np.eye(n, dtype=gram.dtype)), 0, tol)
    # AᴴA − I = 2^2e (ÃᴴÃ − 2^−2e I), with Ã = A·2^−e: finite for every finite A (for
    # max |aᵢⱼ| >= 2^537, 2^−2e I underflows to 0, by less than ÃᴴÃ's rounding)
    s = _scaled(a, e)
    gram = s.conj().T @ s
    with np.errstate(under="ignore"):
        eye = np.ldexp(np.eye(n), -2 * e).astype(gram.dtype)
    return _at_most(_fro(gram - eye), 2 * e, tol)


def is_diagonal(A: MatrixLike, tol: float | None = None) -> bool:
    """Whether every off-diagonal entry of ``A`` is zero.

    Rectangular matrices are allowed: the ``Σ`` of an SVD is an ``m × n``
    diagonal matrix (its only non-zeros are ``σᵢ`` at ``(i, i)``).

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on the Frobenius norm of the off-diagonal part (in
        the units of ``A``); default ``max(m, n)·eps·(‖A‖_F + ‖diag(A)‖_F)``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_diagonal([[1, 0, 0], [0, 2, 0], [0, 0, 3]])
    True
    >>> is_diagonal([[3, 0, 0], [0, 2, 0]])  # a 2×3 Σ
    True
    >>> is_diagonal([[1, 1e-3], [0, 1]]), is_diagonal([[1, 1e-3], [0, 1]], tol=1e-2)
    (False, True)
    """
    a = _as_matrix_keep_sparse(A)
    m, n = a.shape
    k = min(m, n)
    e = _scale_exponent(a)
    s = _scaled(a, e)  # ‖A‖_F + ‖diag(A)‖_F overflows for entries near 1e308
    if sp.issparse(s):
        coo = s.tocoo()
        off = coo.row != coo.col
        off_norm = _fro(coo.data[off])
        diag_norm = _fro(s.diagonal())
    else:
        diag_norm = _fro(np.diagonal(s))
        off_part = s.copy()
        off_part[np.arange(k), np.arange(k)] = 0
        off_norm = _fro(off_part)
    if tol is None:
        thr = zero_threshold(a.shape, _fro(s) + diag_norm, rule_dtype(A, a.dtype))
        return bool(off_norm <= thr)
    return _at_most(off_norm, e, _checked_tol(tol))


def is_diagonalizable(A: MatrixLike, tol: float | None = None, *, eig: Eig | None = None) -> bool:
    """Whether ``A = P D P⁻¹`` with ``D`` diagonal, over the complex numbers.

    Diagonalisability is decided over ℂ: the rotation ``[[0, -1], [1, 0]]`` has
    the complex eigenvalues ``±i`` and is diagonalisable (by a complex ``P``),
    although no real ``P`` exists. A non-square matrix answers ``False``.

    The rule, with ``thr = n · eps · ‖A‖_F`` (the tolerance rule) and
    ``r = 2 √(thr · ‖A‖_F)``:

    1. a normal matrix (:func:`is_normal`) is diagonalisable (spectral theorem);
    2. otherwise the eigenvalues are grouped into clusters of eigenvalues
       closer than ``r`` (chained); a cluster of ``m`` eigenvalues (the
       algebraic multiplicity) needs the geometric multiplicity ``m``: ``m``
       singular values of ``A − λ̄ I`` at most ``r`` (``λ̄`` the cluster's mean);
    3. and the matrix of unit eigenvectors must be numerically full rank (its
       smallest singular value above ``n · eps · σ₁``).

    The answer is "yes" when 1 holds, or 2 and 3 both do. It takes one
    eigendecomposition (none for a normal matrix, or none again when ``eig`` is
    given) and one SVD of the eigenvectors; 3 is checked first (dependent
    eigenvectors answer "no" at once), and 2 needs an SVD of ``A − λ̄ I`` only
    for a cluster whose own eigenvectors do not already show ``m`` singular
    values at most ``r`` (see :func:`_full_eigenspace`).

    Why ``r`` and not ``thr``: a perturbation of size ``ε`` (rounding in the
    eigensolver, ``ε ≈ thr``) splits a defective double eigenvalue with a
    Jordan coupling ``c`` into two eigenvalues ``2√(εc)`` apart, and
    ``c <= ‖A‖_F``. So ``[[3, 1], [-1, 1]]``, whose eigenvalue 2 is defective
    but computes as ``2 ± 2e-8``, is recognised; two distinct eigenvalues
    closer than ``r`` count as one, and then their matrix counts as
    diagonalisable when ``A − λ̄ I`` is that close to rank deficient.
    ``tol``, when given, replaces ``r`` in 2.

    Diagonalisability is not a continuous property (every matrix is within
    rounding of a diagonalisable one), so the answer is about the matrix as
    stored, at the resolution ``r`` (relative size ``2√(n · eps)`` ≈ 3e-8 for
    n = 2): a matrix within ``r`` of one with a repeated eigenvalue and a full
    eigenspace counts as diagonalisable. So a Jordan block of order 2 is
    detected unless a badly conditioned similarity ``P J P⁻¹`` shrinks its
    coupling below ``r``; larger blocks are detected when their eigenvalues
    come out (nearly) equal, as for triangular input, but a larger block
    hidden by a similarity splits its eigenvalue by about ``eps^(1/k)`` and
    may be missed.

    Parameters
    ----------
    A : array_like, str or path
        Anything :func:`svdkit.as_matrix` accepts.
    tol : float, optional
        Absolute threshold for "equal eigenvalues" and for the ranks.
    eig : (values, vectors), optional
        An eigendecomposition of ``A`` already computed, to use instead of
        calling the eigensolver again: :func:`svdkit.eig`'s result (it unpacks
        as ``values, vectors``), or the eigenvalues and right eigenvectors (as
        columns, in the same order) of ``scipy.linalg.eig``. Its order and the
        phases and lengths of its vectors do not matter: each is first scaled by a
        power of two (exactly) and then to unit length, so vectors of any finite
        length (``1e300 · v``, ``1e-300 · v``) are the same pairs (a vector
        stored among the subnormals, below ``2.2e-308``, keeps fewer digits, and
        may miss the check below by them). The pairs are checked
        (``O(n³)``, as the eigensolver it saves): each must satisfy
        ``‖A vᵢ − λᵢ vᵢ‖₂ <= 1e3 · n · eps · ‖A‖_F ‖vᵢ‖₂`` (decided on
        ``A · 2^−e``: at any scale), so that pairs of another matrix are refused
        rather than trusted. ``scipy.linalg.eig`` itself gives wrong eigenvalues
        where ``‖A‖`` lies outside about ``[1e-138, 1e138]`` (it returns those of
        the matrix its LAPACK rescales): such pairs are refused too, and the
        message says so; :func:`svdkit.eig` scales ``A`` first and is right there.
        Where an eigenvalue is ``±inf`` (past the largest float, as
        :func:`svdkit.eig` returns it for ``‖A‖`` near ``1e308``), the eigensolver
        runs again on ``A · 2^−e``.

    Returns
    -------
    bool

    Raises
    ------
    ShapeError
        ``eig`` is not a pair, or does not have ``n`` eigenvalues and ``n × n``
        eigenvectors.
    ParseError
        ``eig`` holds something that is not a number.
    NonFiniteError
        ``eig`` holds NaN (or an eigenvector holds ``inf``).
    SvdkitError
        An eigenvector of ``eig`` is zero, or its pairs are not eigenpairs of ``A``
        (the message gives the relative residual).

    Examples
    --------
    >>> is_diagonalizable([[1, 1], [0, 1]])  # a Jordan block
    False
    >>> is_diagonalizable([[3, 1], [-1, 1]])  # the same block, hidden by a similarity
    False
    >>> is_diagonalizable([[1, 1], [0, 2]])  # distinct eigenvalues
    True
    >>> is_diagonalizable([[0, -1], [1, 0]])  # over ℂ, eigenvalues ±i
    True
    >>> import svdkit
    >>> B = [[2, 1], [0, 3]]
    >>> is_diagonalizable(B, eig=svdkit.eig(B))  # reuses the eigendecomposition
    True
    """
    a = as_matrix(A)
    m, n = a.shape
    if m != n:
        return False
    dtype = rule_dtype(A, a.dtype)  # float32 data: float32's eps, in 1 as in 2 and 3
    given = _eigenpairs(a, eig, dtype) if eig is not None else None  # checked, A normal or not
    if given is not None and not np.isfinite(given[0]).all():
        given = None  # an eigenvalue past the largest float: no use on A·2^−e, solve again
    return _diagonalizable(a, dtype, tol, given)


def _diagonalizable(
    a: np.ndarray,
    dtype: np.dtype,
    tol: float | None,
    given: tuple[np.ndarray, np.ndarray] | None,
) -> bool:
    """The rule of :func:`is_diagonalizable` for a square ``a`` whose rule precision is
    ``dtype``; ``given``: its checked eigenpairs (:func:`_eigenpairs`), or None.
    :meth:`svdkit.linalg.eigen.Eig.reconstruct` decides by it too."""
    if _normal(a, dtype, None):
        return True
    # decided on Ã = A·2^−e (exactly: a power of two) and its eigenvalues λ·2^−e: the
    # eigenvalues of A near 1e308 (up to ‖A‖), their gaps and A − λ̄ I would overflow
    e = _scale_exponent(a)
    a = _scaled(a, e)
    if given is None:
        values, vectors = _eigenpairs(a, None)
    else:
        values, vectors = times_power_of_two(given[0], -e), given[1]
    # 3 first: it decides alone when the eigenvectors are dependent (a defective A,
    # as LAPACK returns it), and then no SVD of A − λ̄ I is needed
    if not _independent_columns(vectors, dtype):
        return False
    return _full_eigenspaces(a, dtype, tol, values, vectors, e)


def _full_eigenspaces(
    a: np.ndarray,
    dtype: np.dtype,
    tol: float | None,
    values: np.ndarray,
    vectors: np.ndarray,
    e: int = 0,
) -> bool:
    """Rule 2 of :func:`is_diagonalizable`: every cluster of eigenvalues closer than ``r``
    (or ``tol``) has a full eigenspace. ``values, vectors``: checked eigenpairs of ``a``.

    ``a`` and ``values`` are ``A·2^−e`` and its eigenvalues ``λ·2^−e``; the rule is
    decided on them scaled to ``max |ãᵢⱼ| < 1`` (exactly: powers of two), so that
    no gap of eigenvalues near 1e308 and no ``A − λ̄ I`` overflows. The default
    ``r`` is homogeneous in ``A``, so it is the same rule; ``tol``, in the units
    of ``A``, is scaled alike.
    """
    f = _scale_exponent(a)
    a = _scaled(a, f)
    values = times_power_of_two(values, -f)
    e += f
    scale = _fro(a)
    if tol is None:
        radius = 2 * float(np.sqrt(zero_threshold(a.shape, scale, dtype) * scale))
    else:  # validates tol; a radius below the smallest subnormal is 0, as gaps of Ã are
        with np.errstate(under="ignore"):
            radius = float(np.ldexp(zero_threshold(a.shape, scale, a.dtype, tol), -e))
    for members in _clusters(values, radius):
        if members.size > 1 and not _full_eigenspace(a, values, vectors, members, radius):
            return False
    return True


def _full_eigenspace(a, values, vectors, members, radius: float) -> bool:
    """Rule 2 for one cluster: ``m`` singular values of ``B = A − λ̄ I`` at most ``radius``.

    By the min-max theorem ``σ_(n−m+1)(B) <= ‖B Q‖₂`` for every ``n × m`` ``Q``
    with orthonormal columns. With ``Q`` a basis of the cluster's own
    eigenvectors, ``‖B Q‖₂ <= radius`` settles the rule in ``O(n²m)`` (the
    usual case: a repeated eigenvalue with a full eigenspace, whose
    eigenvectors LAPACK returns); otherwise the SVD of ``B`` decides, in
    ``O(n³)``. A report on a matrix with many repeated eigenvalues then takes
    no SVD per cluster.
    """
    n = a.shape[0]
    m = members.size
    lam = complex(values[members].mean())
    q, _ = np.linalg.qr(vectors[:, members])
    if np.linalg.norm(a @ q - lam * q, 2) <= radius:
        return True
    s = scipy.linalg.svdvals(a - lam * np.eye(n), check_finite=False)
    return int(np.count_nonzero(s <= radius)) >= m


# how far given eigenpairs may miss ``A v = λ v``: this many times the tolerance rule's
# ``n · eps · ‖A‖_F`` (a backward stable eigensolver's pairs miss by a small multiple of
# ``eps · ‖A‖``; pairs of another matrix miss by the distance between the two)
EIGENPAIR_SLACK = 1e3


def _eigenpairs(
    a: np.ndarray,
    eig,
    dtype: np.dtype | None = None,
    *,
    what: str = "is_diagonalizable",
    name: str = "eig",
) -> tuple[np.ndarray, np.ndarray]:
    """``(values, vectors)`` of ``a``: the given ``eig``'s, checked, or LAPACK's (geev).

    The given pairs are checked for what they are (a pair of numeric arrays of ``n``
    eigenvalues and ``n × n`` eigenvectors, finite, no zero eigenvector) and for being
    eigenpairs of ``a``: ``max ‖A vᵢ − λᵢ vᵢ‖₂ / (‖A‖_F ‖vᵢ‖₂)`` at most
    :data:`EIGENPAIR_SLACK` times ``n · eps`` (``eps`` that of ``dtype``), decided on
    ``A · 2^−e`` and ``λ · 2^−e`` (no overflow, the same ratio). An eigenvalue past the
    largest float (``±inf``, as :func:`svdkit.eig` returns it) is allowed where
    ``‖A‖_F`` itself is; its pair is not checked. ``what`` and ``name`` are the
    function and the argument the messages name. The vectors returned are the given
    ones scaled to unit length (:func:`_unit_columns`).
    """
    if eig is None:
        return eig_scaled(a)
    n = a.shape[0]
    try:
        values, vectors = eig
    except (TypeError, ValueError):
        raise ShapeError(
            f"{what}: {name} must be a pair (eigenvalues, eigenvectors), such as svdkit.eig's "
            f"result; got {_describe(eig)}",
            param=name,
        ) from None
    values = _numeric(values, "eigenvalues", what, name)
    vectors = _numeric(vectors, "eigenvectors", what, name)
    if values.shape != (n,) or vectors.shape != (n, n):
        raise ShapeError(
            f"{what}: {name} must hold {n} eigenvalues and {n}×{n} eigenvectors of "
            f"the {n}×{n} matrix; got {values.shape} and {vectors.shape}",
            param=name,
        )
    if np.isnan(values).any():
        raise NonFiniteError(f"{what}: {name}: the eigenvalues hold NaN", param=name)
    if not np.isfinite(vectors).all():
        raise NonFiniteError(
            f"{what}: {name}: the eigenvectors hold NaN or inf (column "
            f"{int(np.flatnonzero(~np.isfinite(vectors).all(axis=0))[0])})",
            param=name,
        )
    largest = np.abs(vectors).max(axis=0, initial=0.0)
    if n and not largest.all():
        raise SvdkitError(
            f"{what}: {name}: eigenvector {int(np.flatnonzero(largest == 0)[0])} is zero "
            "(an eigenvector is a non-zero vector)",
            param=name,
        )
    values = values.astype(complex)
    vectors = _unit_columns(vectors)  # lengths do not matter: none under/overflows below
    _check_eigenpairs(a, values, vectors, a.dtype if dtype is None else dtype, what, name)
    return values, vectors


def _unit_columns(vectors: np.ndarray) -> np.ndarray:
    """The non-zero finite columns of ``vectors`` scaled to unit 2-norm, with no overflow
    or underflow at any length: each first by the power of two just above its largest
    entry (exact, subnormal columns included), then by its norm (then in [1, √n])."""
    v = times_power_of_two(vectors, -entry_exponent(vectors, axis=0)[None, :])
    return v / np.linalg.norm(v, axis=0)


def _pair_residuals(s: np.ndarray, lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``‖S vᵢ − λᵢ vᵢ‖₂`` for the columns ``vᵢ`` of ``v`` normalised to unit length."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        v = v / np.abs(v).max(axis=0)  # (no overflow in the norms)
        v = v / np.linalg.norm(v, axis=0)
        return np.linalg.norm(s @ v - v * lam, axis=0)


def _describe(x) -> str:
    """A short description of a value for a message: its type, and its length if any."""
    try:
        return f"{type(x).__name__} of length {len(x)}"
    except TypeError:
        return f"{type(x).__name__} {x!r}"[:80]


def _numeric(x, what_part: str, what: str, name: str) -> np.ndarray:
    """``x`` as a float or complex ndarray, or a :class:`ParseError` naming ``name``."""
    error = ParseError(f"{what}: {name}: the {what_part} are not numbers", param=name)
    try:
        arr = np.asarray(x)
        if arr.dtype.kind == "O":
            arr = arr.astype(complex)
            if not arr.imag.any():
                arr = arr.real.copy()
    except (TypeError, ValueError, OverflowError):
        raise error from None
    if arr.dtype.kind not in "biufc":
        raise error
    return arr.astype(np.result_type(arr.dtype, np.float64))


def _check_eigenpairs(
    a: np.ndarray, values: np.ndarray, vectors: np.ndarray, dtype, what: str, name: str
) -> None:
    """Raise :class:`SvdkitError` unless ``(values, vectors)`` are eigenpairs of ``a``
    (the rule of :func:`_eigenpairs`)."""
    n = a.shape[0]
    if n == 0:
        return
    e = _scale_exponent(a)
    s = _scaled(a, e)
    norm = _fro(s)
    finite = np.isfinite(values)
    if not finite.all() and _at_most(norm, e, float(np.finfo(np.float64).max)):
        i = int(np.flatnonzero(~finite)[0])
        raise SvdkitError(
            f"{what}: the pairs of {name} are not eigenpairs of A: eigenvalue {i} is "
            f"{_fmt(values[i])}, but no eigenvalue of A exceeds ‖A‖_F, which is finite",
            param=name,
        )
    with np.errstate(over="ignore"):  # (λ·2^−e past the largest float: inf, refused below)
        lam = times_power_of_two(values[finite], -e)
    limit = EIGENPAIR_SLACK * zero_threshold(a.shape, 1.0, dtype)  # relative to ‖Ã‖_F
    # plus the rounding of λ itself to a float (2^−1075 absolute, in A's units) where it
    # lies among the subnormals and holds only a few digits
    with np.errstate(under="ignore"):
        floor = float(np.ldexp(1.0, -1074 - e))
    res = _pair_residuals(s, lam, vectors[:, finite])
    bad = ~(res <= limit * norm + floor)
    if bad.any():
        # LAPACK's geev balances first (B = T⁻¹ÃT, T a permutation times a diagonal of
        # powers of two): its pairs are backward stable for B, not for Ã, so for a graded
        # A their residual relative to ‖Ã‖ can be large. Judged on B, as geev made them.
        with np.errstate(invalid="ignore"):  # (SciPy casts gebal's scale factors to int too)
            b, t = scipy.linalg.matrix_balance(s)
        rows, cols = np.nonzero(t)
        v = vectors[:, finite][:, bad]
        w = np.empty_like(v)
        with np.errstate(over="ignore", under="ignore"):
            w[cols] = v[rows] / t[rows, cols][:, None]  # T⁻¹v, exactly where in range
        balanced = _pair_residuals(b, lam[bad], w)
        res[bad] = np.where(balanced <= limit * _fro(b) + floor, 0.0, res[bad])
        bad = ~(res <= limit * norm + floor)
    if bad.any():
        # the worst pair; where some residual overflowed (λ·2^−e past the largest float),
        # each refused pair's is measured without overflow to find it
        columns = np.flatnonzero(finite)
        if np.isfinite(res[bad]).all():
            j = int(columns[np.argmax(np.where(bad, res, -1.0))])
            log10_ratio = _log10_relative_residual(s, norm, e, values[j], vectors[:, j])
        else:
            logs = {
                int(k): _log10_relative_residual(s, norm, e, values[k], vectors[:, k])
                for k in columns[bad]
            }
            j = max(logs, key=lambda k: -math.inf if math.isnan(logs[k]) else logs[k])
            log10_ratio = logs[j]
        raise SvdkitError(
            f"{what}: the pairs of {name} are not eigenpairs of A: the relative residual "
            f"‖A vᵢ − λᵢ vᵢ‖ / (‖A‖_F ‖vᵢ‖) = {_fmt_log10(log10_ratio)} for pair {j} (λ = "
            f"{_fmt(values[j])}), above {limit:.3g}; "
            + _refusal_advice(_log10_norm(norm, e), log10_ratio),
            param=name,
        )


#: ``scipy.linalg.eig`` returns the eigenvalues of the matrix its LAPACK rescales where
#: ``‖A‖`` lies outside about ``[1e-138, 1e138]`` (:mod:`svdkit.linalg._geev`)
_SCIPY_EIG_LOG10_RANGE = (-138.0, 138.0)


def _log10_norm(norm: float, e: int) -> float:
    """``log10(‖A‖_F)`` for ``‖A·2^−e‖_F = norm``; ``-inf`` for A = 0."""
    if not norm > 0:
        return -math.inf
    return math.log10(norm) + e * math.log10(2.0)


def _refusal_advice(log10_norm: float, log10_ratio: float) -> str:
    """What to do about refused pairs: pass A's own; where ``‖A‖_F`` (``10^log10_norm``)
    is outside the range ``scipy.linalg.eig`` is right in and the pairs miss by far more
    than rounding, say that SciPy's pairs are wrong there and :func:`svdkit.eig` is not
    (not for A = 0, whose pairs SciPy gets right)."""
    low, high = _SCIPY_EIG_LOG10_RANGE
    if math.isfinite(log10_norm) and not low <= log10_norm <= high and log10_ratio > -6.0:
        return (
            f"‖A‖_F is {_fmt_log10(log10_norm)}, where scipy.linalg.eig loses accuracy (its "
            "LAPACK rescales a matrix whose norm is outside about [1e-138, 1e138] and "
            "returns the eigenvalues of the rescaled one): if the pairs come from it, pass "
            "svdkit.eig(A), which scales A first, or none"
        )
    return "pass the eigendecomposition of this A, or none"


def _log10_relative_residual(s: np.ndarray, norm: float, e: int, lam, v: np.ndarray) -> float:
    """``log10(‖A v − λ v‖₂ / ‖A‖_F)`` for the unit ``v``, ``s = A·2^−e`` (``‖s‖_F = norm``)
    and ``λ`` in A's units, without overflow: where ``λ·2^−e`` would pass the largest
    float (pairs of another scale), both terms are scaled by a further ``2^−g``. For
    A = 0 (``norm = 0``) a nonzero residual gives ``+inf``."""
    lam_e = entry_exponent(np.asarray([lam]))  # (λ = 0: exponent 0)
    g = max(lam_e - e, 0)  # λ·2^−e < 2^g
    with np.errstate(under="ignore"):  # (entries of s far below λ·2^−e: 0, as they are)
        lam_v = times_power_of_two(np.asarray(lam), -(e + g)) * v
        r = float(np.linalg.norm(times_power_of_two(s, -g) @ v - lam_v))
    if not r > 0:
        return -math.inf if r == 0 else math.nan
    if not norm > 0:
        return math.inf
    return math.log10(r) + g * math.log10(2.0) - math.log10(norm)


def _fmt_log10(log10_x: float) -> str:
    """``10^log10_x`` to 3 significant digits, also past float64's range (``2.04e+161``,
    ``3.1e+400``)."""
    if not math.isfinite(log10_x):
        return {-math.inf: "0", math.inf: "inf"}.get(log10_x, "nan")
    if -300.0 < log10_x < 300.0:
        return f"{10.0**log10_x:.3g}"
    mantissa, exponent = decimal_parts(log10_x * math.log(10.0), 3)
    return f"{mantissa:.3g}e{exponent:+d}"


def _clusters(values: np.ndarray, radius: float) -> list[np.ndarray]:
    """Single-linkage clusters of eigenvalues closer than ``radius`` (chained), as index arrays."""
    n = values.shape[0]
    labels = -np.ones(n, dtype=int)
    n_clusters = 0
    for i in np.lexsort((values.imag, values.real)):
        if labels[i] >= 0:
            continue
        stack = [int(i)]
        labels[i] = n_clusters
        while stack:
            j = stack.pop()
            near = np.flatnonzero((np.abs(values - values[j]) <= radius) & (labels < 0))
            labels[near] = n_clusters
            stack.extend(int(k) for k in near)
        n_clusters += 1
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(order, bounds)


def _independent_columns(vectors: np.ndarray, dtype) -> bool:
    """Whether the unit-normed ``vectors`` are numerically independent (σ_min > n·eps·σ₁);
    normed here without overflow or underflow (:func:`_unit_columns`)."""
    vectors = _unit_columns(vectors)
    sv = scipy.linalg.svdvals(vectors, check_finite=False)
    return bool(sv[-1] > zero_threshold(vectors.shape, sv[0], dtype))
