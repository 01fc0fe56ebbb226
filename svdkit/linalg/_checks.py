"""Shape checks shared by the numeric engine (messages name the function and the shape),
and the one way it takes a sparse input it will compute on (:func:`canonical`)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from svdkit.errors import ShapeError

__all__ = [
    "canonical",
    "check_hermitian_flag",
    "hermitian_flag",
    "require_square",
    "shape_text",
]


def canonical(a: Any) -> Any:
    """A dense ``a`` as it is; a SciPy sparse ``a`` in canonical format (sorted indices,
    duplicates summed), on a copy where it is not already: never the caller's.

    SciPy canonicalises a matrix in place on its way to many results — ``abs(a)``,
    ``a.max()``, ``scipy.sparse.linalg.norm(a)`` call ``a.sum_duplicates()`` — which
    rewrote the caller's own ``data``, ``indices`` and ``indptr`` (or failed with a
    raw ``ValueError`` on read-only ones, such as memory-mapped buffers);
    :func:`svdkit.as_matrix` with ``sparse=True`` returns the caller's matrix itself
    when it already is CSR/CSC of the working dtype.
    """
    if not hasattr(a, "has_canonical_format"):
        return a
    from svdkit.lowrank.operators import deduplicated

    return deduplicated(a)


def shape_text(shape: tuple[int, ...]) -> str:
    """``(2, 3)`` → ``'2×3'``."""
    return "×".join(str(d) for d in shape)


def require_square(a: np.ndarray, what: str, name: str = "A") -> int:
    """Raise ``ShapeError`` unless ``a`` is square; return its order."""
    m, n = a.shape
    if m != n:
        raise ShapeError(f"{what} needs a square matrix; {name} is {shape_text(a.shape)}")
    return m


def hermitian_flag(hermitian: object) -> bool:
    """NumPy's ``hermitian=`` as a bool: ``True`` / ``False`` (NumPy's too), and the
    values NumPy's truth test reads without doubt, ``1`` / ``0`` (a flag from a config
    file or argparse) and ``None`` (False).

    Raises
    ------
    SvdkitError
        Any other value (``2``, ``0.5``, ``"yes"``…), which is no flag.

    Examples
    --------
    >>> hermitian_flag(True), hermitian_flag(0), hermitian_flag(None)
    (True, False, False)
    """
    if hermitian is None:
        return False
    if isinstance(hermitian, bool | np.bool_):
        return bool(hermitian)
    if isinstance(hermitian, numbers.Integral) and hermitian in (0, 1):
        return bool(hermitian)
    from svdkit.errors import SvdkitError

    raise SvdkitError(
        f"hermitian must be True or False (or 1, 0, None, as NumPy reads them), "
        f"got {hermitian!r}",
        param="hermitian",
    )


def check_hermitian_flag(a: np.ndarray, hermitian: object, what: str, precision=None) -> None:
    """NumPy's ``hermitian=`` (``pinv``, ``matrix_rank``), taken as a promise that is
    checked: ``False`` asks nothing; ``True`` refuses a matrix that is not Hermitian
    (by the tolerance rule, :func:`svdkit.linalg.structure.require_hermitian`), where
    NumPy would silently answer for its Hermitian part. The result is the same either
    way (svdkit computes the SVD of A, whose σ are the ``|λᵢ|`` of a Hermitian A).
    ``1``, ``0`` and ``None`` are taken as NumPy takes them (:func:`hermitian_flag`).

    Raises
    ------
    SvdkitError
        ``hermitian`` is no flag (:func:`hermitian_flag`).
    StructureError
        ``hermitian=True`` and ``a`` is not square or not Hermitian.
    """
    if not hermitian_flag(hermitian):
        return
    from svdkit.linalg.structure import require_hermitian

    require_square(a, f"{what} with hermitian=True")
    require_hermitian(a, f"{what} with hermitian=True", precision=precision)
