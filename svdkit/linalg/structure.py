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

Sparse input (SciPy) is accepted, and never densified, by :func:`is_symmetric`,
:func:`is_hermitian` and :func:`is_diagonal`.

Examples
--------
>>> from svdkit.linalg.structure import is_normal, is_symmetric
>>> is_symmetric([[1, 2], [2, 3]]), is_normal([[1, 1], [0, 2]])
(True, False)
>>> is_symmetric([[1, 2], [2.001, 3]], tol=0.01)  # an absolute threshold instead
True
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from svdkit.errors import StructureError
from svdkit.inputs import as_matrix
from svdkit.linalg._geev import eig_scaled
from svdkit.linalg.tolerance import zero_threshold

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
    """The front door with ``sparse=True``; SciPy sparse input comes back as CSR."""
    a = as_matrix(A, sparse=True, name=name)
    return a.tocsr() if sp.issparse(a) else a


def _fro(X) -> float:
    """Frobenius norm of a dense or sparse matrix (scaled: no overflow for huge entries)."""
    data = X.tocsr().data if sp.issparse(X) else np.asarray(X)
    return float(scipy.linalg.norm(data.ravel())) if data.size else 0.0


def _identity_holds(
    X, Y, shape: tuple[int, int], dtype, tol: float | None, terms: float = 0.0
) -> bool:
    """The identity rule: ``‖X − Y‖_F ≤ max(m, n)·eps·(‖X‖_F + ‖Y‖_F + T)`` or ``≤ tol``."""
    defect = _fro(X - Y)
    thr = zero_threshold(shape, _fro(X) + _fro(Y) + terms, dtype, tol)
    return bool(defect <= thr)


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
        ``‖A − Aᴴ‖_F``.
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
    diff = a - a.conj().T
    defect = _fro(diff)
    thr = zero_threshold(a.shape, 2 * _fro(a), a.dtype, tol)
    i, j = np.unravel_index(int(np.argmax(np.abs(np.triu(diff)))), a.shape)
    return defect, thr, (int(i), int(j))


def require_hermitian(
    a: np.ndarray, what: str, name: str = "A", tol: float | None = None, hint: str = ""
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

    Examples
    --------
    >>> import numpy as np
    >>> try:
    ...     require_hermitian(np.array([[1.0, 2.0], [3.0, 4.0]]), "cholesky")
    ... except StructureError as err:
    ...     print(err)
    cholesky needs a symmetric matrix; A[0,1] = 2 but A[1,0] = 3
    """
    defect, thr, (i, j) = hermitian_defect(a, tol)
    if defect <= thr:
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


def is_symmetric(A, tol: float | None = None) -> bool:
    """Whether ``A = Aᵀ`` (transpose, no conjugation).

    For a complex matrix this is *complex symmetry*; use :func:`is_hermitian`
    for ``A = Aᴴ``. A non-square matrix is not symmetric.

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on ``‖A − Aᵀ‖_F``; default ``max(m, n)·eps·2‖A‖_F``.

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
    return _identity_holds(a, a.T, a.shape, a.dtype, tol)


def is_hermitian(A, tol: float | None = None) -> bool:
    """Whether ``A = Aᴴ`` (conjugate transpose); for real A the same as symmetric.

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on ``‖A − Aᴴ‖_F``; default ``max(m, n)·eps·2‖A‖_F``.

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
    return _identity_holds(a, a.conj().T, a.shape, a.dtype, tol)


def is_normal(A, tol: float | None = None) -> bool:
    """Whether ``A Aᴴ = Aᴴ A`` (a normal matrix is unitarily diagonalisable).

    A non-square matrix is not normal.

    Parameters
    ----------
    A : array_like, str or path
        Anything :func:`svdkit.as_matrix` accepts.
    tol : float, optional
        Absolute threshold on ``‖AAᴴ − AᴴA‖_F``; default
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
    """
    a = as_matrix(A)
    if a.shape[0] != a.shape[1]:
        return False
    top = float(np.max(np.abs(a)))
    if tol is None and top > 0:
        a = a / top  # normality does not depend on the scale; this keeps AAᴴ finite
    ah = a.conj().T
    return _identity_holds(a @ ah, ah @ a, a.shape, a.dtype, tol, _product_terms(a))


def is_orthonormal(A, tol: float | None = None) -> bool:
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
        Absolute threshold on ``‖AᴴA − I‖_F``; default
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
    if tol is None and float(np.max(np.abs(a))) > 2:
        return False  # entries of orthonormal columns are at most 1 in modulus
    gram = a.conj().T @ a
    eye = np.eye(n, dtype=gram.dtype)
    return _identity_holds(gram, eye, a.shape, a.dtype, tol, _product_terms(a))


def is_diagonal(A, tol: float | None = None) -> bool:
    """Whether every off-diagonal entry of ``A`` is zero.

    Rectangular matrices are allowed: the ``Σ`` of an SVD is an ``m × n``
    diagonal matrix (its only non-zeros are ``σᵢ`` at ``(i, i)``).

    Parameters
    ----------
    A : array_like, str, path or SciPy sparse matrix
        Anything :func:`svdkit.as_matrix` accepts; sparse input stays sparse.
    tol : float, optional
        Absolute threshold on the Frobenius norm of the off-diagonal part;
        default ``max(m, n)·eps·(‖A‖_F + ‖diag(A)‖_F)``.

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
    if sp.issparse(a):
        coo = a.tocoo()
        off = coo.row != coo.col
        off_norm = _fro(coo.data[off])
        diag_norm = _fro(a.diagonal())
    else:
        diag_norm = _fro(np.diagonal(a))
        off_part = a.copy()
        off_part[np.arange(k), np.arange(k)] = 0
        off_norm = _fro(off_part)
    thr = zero_threshold(a.shape, _fro(a) + diag_norm, a.dtype, tol)
    return bool(off_norm <= thr)


def is_diagonalizable(A, tol: float | None = None) -> bool:
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

    Returns
    -------
    bool

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
    """
    a = as_matrix(A)
    m, n = a.shape
    if m != n:
        return False
    if is_normal(a):
        return True
    scale = _fro(a)
    thr = zero_threshold(a.shape, scale, a.dtype)
    if tol is None:
        radius = 2 * float(np.sqrt(thr) * np.sqrt(scale))  # thr · scale over/underflows at 1e±200
    else:
        radius = zero_threshold(a.shape, scale, a.dtype, tol)  # validates and returns tol
    values, vectors = eig_scaled(a)
    # single-linkage clusters of eigenvalues closer than the radius
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
    for c in range(n_clusters):
        members = np.flatnonzero(labels == c)
        if members.size == 1:
            continue
        lam = values[members].mean()
        s = scipy.linalg.svdvals(a - lam * np.eye(n), check_finite=False)
        geometric = int(np.count_nonzero(s <= radius))
        if geometric < members.size:
            return False
    vectors = vectors / np.linalg.norm(vectors, axis=0)
    sv = scipy.linalg.svdvals(vectors, check_finite=False)
    return bool(sv[-1] > zero_threshold(vectors.shape, sv[0], a.dtype))
