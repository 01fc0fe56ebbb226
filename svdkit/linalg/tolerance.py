"""The one tolerance rule behind every "is it zero?" decision.

A quantity ``x`` computed from an ``m × n`` matrix is treated as zero when

    |x| <= max(m, n) · eps · scale

where ``eps`` is the machine epsilon of the working precision (2.2e-16 for
float64 and complex128, 1.2e-7 for float32) — or of the input's own precision
where that is coarser (float32 data, computed in float64: :func:`rule_dtype`;
float16 9.8e-4, bfloat16 2⁻⁷ = 7.8e-3; float8 data has float16's rule) —
and ``scale`` is the size of the quantity ``x`` is compared with:

=====================================  ==================================
decision                               scale
=====================================  ==================================
numerical rank, pseudo-inverse         σ₁, the largest singular value
eigenvalue is zero (definiteness)      max |λᵢ|
identity holds (A = Aᵀ, AAᴴ = AᴴA, …)  the Frobenius norm of the terms
=====================================  ==================================

This is the rule of NumPy's ``matrix_rank`` and of Golub & Van Loan (§5.4.1),
applied uniformly. Every function that makes such a decision takes a ``tol``
argument: an absolute threshold that replaces the rule.

Examples
--------
>>> from svdkit.linalg.tolerance import zero_threshold
>>> float(zero_threshold((3, 2), scale=10.0))  # 3 · 2.22e-16 · 10
6.661338147750939e-15
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "eps_of",
    "is_zero",
    "rcond_alias",
    "relative_cutoff",
    "relative_threshold",
    "rule_dtype",
    "zero_threshold",
]

#: The floating-point formats NumPy has no type of its own for (``ml_dtypes`` gives
#: them one; torch has its own), by name, with their machine epsilon (``2^(1−p)``,
#: ``p`` the bits of the significand, as ``np.finfo(np.float16).eps = 2⁻¹⁰``; the
#: same as ``ml_dtypes.finfo``): the torch dtypes :func:`rule_dtype` recognises.
LOW_PRECISION_EPS = {
    "bfloat16": 2.0**-7,
    "float8_e4m3fn": 2.0**-3,
    "float8_e4m3fnuz": 2.0**-3,
    "float8_e4m3b11fnuz": 2.0**-3,
    "float8_e4m3": 2.0**-3,
    "float8_e5m2": 2.0**-2,
    "float8_e5m2fnuz": 2.0**-2,
}


def _float_eps(dtype: np.dtype) -> float | None:
    """Machine epsilon of a floating-point (or complex) ``dtype`` — NumPy's, or one of
    ``ml_dtypes`` (bfloat16, float8_*: NumPy sees a void or an opaque kind) — else None."""
    if np.issubdtype(dtype, np.inexact):
        return float(np.finfo(dtype).eps)
    if dtype.type.__module__.split(".")[0] != "ml_dtypes":
        return None
    import ml_dtypes  # (the dtype is one of its own: it is installed)

    try:
        return float(ml_dtypes.finfo(dtype).eps)
    except ValueError:  # int4, uint4: ml_dtypes' integers
        return None


def _stored_dtype_of(stored: object) -> np.dtype | None:
    """``stored`` (a NumPy dtype, a torch dtype, a name) as a NumPy dtype, or None.

    torch's ``bfloat16`` and ``float8_*`` become ``ml_dtypes``' dtypes of the same
    name; without ``ml_dtypes``, float16, the coarsest precision NumPy has (a rule
    up to 8 times stricter than bfloat16's own, never float64's).
    """
    try:
        return np.dtype(stored)
    except TypeError:  # a torch tensor's torch.float32, or no dtype at all
        pass
    name = str(stored).rpartition(".")[2]
    try:
        return np.dtype(name)
    except TypeError:
        pass
    if name not in LOW_PRECISION_EPS:
        return None
    try:
        import ml_dtypes
    except ImportError:
        return np.dtype(np.float16)
    kind = getattr(ml_dtypes, name, None)
    return np.dtype(kind) if kind is not None else np.dtype(np.float16)


def eps_of(dtype: np.dtype | type) -> float:
    """Machine epsilon of the working precision of ``dtype`` (float64 for integers);
    bfloat16 and the float8 formats of ``ml_dtypes`` have their own.

    Examples
    --------
    >>> eps_of(np.float32) == 2.0**-23, eps_of(np.int64) == 2.0**-52
    (True, True)
    """
    eps = _float_eps(np.dtype(dtype))
    return float(np.finfo(np.float64).eps) if eps is None else eps


def rule_dtype(source: object, working: np.dtype | type = np.float64) -> np.dtype:
    """The precision whose ``eps`` the rule uses: the working one, or the precision
    ``source`` (the caller's input, or its dtype) was stored in where that is coarser.

    svdkit computes in float64 (complex128); data stored in float32, float16,
    bfloat16, a float8 format or complex64 carries that precision's rounding, which a
    float64 rule would count as data: the rank-5 product of two float32 factors has
    σ₆ ≈ 1e−6·σ₁, and came out of rank 40 (NumPy's ``matrix_rank``, on the float32
    array, says 5). A torch ``bfloat16`` tensor and an array of ``ml_dtypes.bfloat16``
    give ``ml_dtypes``' bfloat16 (its ``eps`` is 2⁻⁷), or float16 where ``ml_dtypes``
    is not installed; the float8 (and float4) formats give float16, whose rule is
    the coarsest that stays useful (``max(m, n) · 2⁻³`` would reach 1 from 8 columns
    on, and call every matrix zero).

    ``source`` may be an array (NumPy, a torch tensor, a memmap, sparse…), a dtype,
    or a path (``str`` or ``os.PathLike``) to a ``.npy`` / ``.npz`` file, whose
    dtype is read from its header (:func:`svdkit.inputs.stored_dtype`): the file
    and the array loaded from it follow the same rule. Any other ``str`` is
    matrix text, and has the working precision.

    Examples
    --------
    >>> import numpy as np
    >>> rule_dtype(np.ones((2, 2), dtype=np.float32)), rule_dtype([[1, 2]])
    (dtype('float32'), dtype('float64'))
    """
    working = np.dtype(working)
    if isinstance(source, str | os.PathLike):
        # a .npy / .npz file keeps its dtype in its header: read that, not the array
        # (matrix text such as "1 2; 3 4" has none, and is never taken for a path)
        from svdkit.inputs.files import stored_dtype

        stored = stored_dtype(source)
    else:
        stored = source if isinstance(source, np.dtype) else getattr(source, "dtype", None)
    stored = _stored_dtype_of(stored) if stored is not None else None
    eps = _float_eps(stored) if stored is not None else None
    if eps is None:
        return working
    if eps > LOW_PRECISION_EPS["bfloat16"]:
        # float8 / float4: max(m, n) · eps reaches 1 from 8 columns on (eps 2⁻³), and
        # every matrix would be "zero": float16's rule, the coarsest that stays useful
        stored, eps = np.dtype(np.float16), eps_of(np.float16)
    return stored if eps > eps_of(working) else working


def zero_threshold(
    shape: tuple[int, ...],
    scale: float,
    dtype: np.dtype | type = np.float64,
    tol: float | None = None,
) -> float:
    """The threshold below which a quantity counts as zero.

    Parameters
    ----------
    shape : tuple of int
        Shape of the matrix the quantity comes from.
    scale : float
        Size of what the quantity is compared with (see the module docstring).
    dtype : dtype, optional
        Working precision; float64 by default.
    tol : float, optional
        Caller's absolute threshold; when given it is returned as it is.

    Returns
    -------
    float
        ``tol`` if given, else ``max(shape) * eps * scale``.

    Raises
    ------
    SvdkitError
        ``tol`` is not a finite number ``>= 0`` (negative, NaN, infinite, an int past
        the largest float such as ``10**400``, a bool, a string, a list…).
    """
    if tol is not None:
        try:
            # a bool is not a threshold (True would be taken as 1.0), nor is text
            refused = isinstance(tol, str | bytes | bool | np.bool_)
            value = float("nan") if refused else float(tol)
        except OverflowError:  # an int past the largest float (10**400): not finite
            value = float("inf")
        except (TypeError, ValueError):  # [1e-3], 1j: not a threshold
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            from svdkit._naming import range_error

            raise range_error(tol, "tol", 0.0)
        return value
    size = max(shape) if len(shape) else 1
    return float(max(size, 1) * eps_of(dtype) * abs(scale))


def relative_threshold(
    rcond: float | None, tol: float | None = None, name: str = "rcond"
) -> float | None:
    """NumPy's relative cutoff ``rcond`` (``σᵢ <= rcond · σ₁`` counts as zero), checked:
    ``None`` when not given; refused with ``tol`` (absolute) given too.

    ``inf`` is allowed, as NumPy 2 allows it: every ``σᵢ`` counts as zero (rank 0, a
    zero pseudo-inverse); so is an int past the largest float (``10**400``).

    Parameters
    ----------
    rcond : float or None
        The cutoff the caller gave.
    tol : float or None
        The absolute threshold the caller gave, if any.
    name : str, default "rcond"
        The name the caller gave ``rcond`` by (``"rtol"``, NumPy 2's: :func:`rcond_alias`),
        which the messages use.

    Raises
    ------
    SvdkitError
        ``rcond`` and ``tol`` both given, or ``rcond`` not a number ``>= 0`` (negative,
        NaN, a bool, text…).

    Examples
    --------
    >>> relative_threshold(1e-6), relative_threshold(None, 1e-3), relative_threshold(np.inf)
    (1e-06, None, inf)
    """
    if rcond is None:
        return None
    from svdkit._naming import arg, got
    from svdkit.errors import SvdkitError

    if tol is not None:
        raise SvdkitError(
            f"give tol (absolute, {tol!r}) or {arg(name)} (relative to σ₁, {rcond!r}), not both"
        )
    try:
        # a bool is not a cutoff (True would be taken as 1.0), nor is text
        refused = isinstance(rcond, str | bytes | bool | np.bool_)
        value = float("nan") if refused else float(rcond)
    except OverflowError:  # an int past the largest float (10**400): a cutoff past every σ
        value = float("inf")
    except (TypeError, ValueError):  # [1e-3], 1j: not a cutoff
        value = float("nan")
    if not value >= 0:  # (NaN too)
        raise SvdkitError(
            f"{arg(name)} must be a number >= 0 (inf: rank 0); got {got(rcond)}", param=name
        )
    return value


def relative_cutoff(rcond: float, s1: float) -> float:
    """``rcond · σ₁``, the threshold of a relative cutoff: ``inf`` (rank 0) for an infinite
    ``rcond`` whatever ``σ₁`` (``inf · 0`` would be NaN) and where the product is past the
    largest float.

    Examples
    --------
    >>> relative_cutoff(1e-3, 2.0), relative_cutoff(np.inf, 0.0), relative_cutoff(1e300, 1e10)
    (0.002, inf, inf)
    """
    if np.isposinf(rcond):
        return float("inf")
    with np.errstate(over="ignore"):
        return float(np.float64(rcond) * np.float64(s1))


def rcond_alias(rcond: float | None, rtol: float | None) -> tuple[float | None, str]:
    """``rcond``, or NumPy 2's name for it, ``rtol`` (``numpy.linalg.pinv(A, rtol=)``,
    ``matrix_rank(A, rtol=)``): the same relative cutoff; at most one of the two.

    Returns
    -------
    tuple
        The cutoff given (``None`` for neither) and the name it was given by, for the
        messages of :func:`relative_threshold`.

    Raises
    ------
    SvdkitError
        ``rcond`` and ``rtol`` both given.

    Examples
    --------
    >>> rcond_alias(None, 1e-6), rcond_alias(1e-3, None), rcond_alias(None, None)
    ((1e-06, 'rtol'), (0.001, 'rcond'), (None, 'rcond'))
    """
    if rtol is None:
        return rcond, "rcond"
    if rcond is not None:
        from svdkit.errors import SvdkitError

        raise SvdkitError(
            f"give rcond ({rcond!r}) or rtol ({rtol!r}), not both: rtol is NumPy 2's name "
            "for the same relative cutoff"
        )
    return rtol, "rtol"


def is_zero(x: float, threshold: float) -> bool:
    """``|x| <= threshold``: the single comparison every decision uses."""
    return bool(abs(x) <= threshold)
