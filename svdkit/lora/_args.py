"""Checks of the arguments of :mod:`svdkit.lora`'s functions, in one place.

Each check takes the value and the name of the argument, and either returns the
value in the form the caller uses (a float, an int, a :class:`~pathlib.Path`, a
NumPy dtype, a list of targets) or raises an :class:`~svdkit.errors.SvdkitError`
that names the argument and says what it must be — never a raw ``TypeError``
from deep inside, and never a silent reading of nonsense (a bool as a number, a
string's characters as targets, an integer dtype for factors).

Paths, counts and flags are checked as everywhere else in svdkit: :func:`check_path`
is :func:`svdkit.inputs.files.check_path` (an empty path is a
:class:`~svdkit.errors.FileFormatError`), :func:`check_count` is
:func:`svdkit.lowrank._common.check_positive_int` (a
:class:`~svdkit.errors.ShapeError`) and :func:`check_bool` is
:func:`svdkit.errors.check_bool` (``True`` or ``False``, a NumPy bool too; ``"no"``
refused); they are imported here for the modules that check their arguments
through this one.

Examples
--------
>>> check_fraction(0.9, "energy"), check_count(4, "max_rank")
(0.9, 4)
>>> check_targets("q_proj"), check_targets(None)
(['q_proj'], None)
>>> check_float_dtype("bf16").name, check_float_dtype(np.float16).name
('bfloat16', 'float16')
>>> try:
...     check_float_dtype("int32")
... except SvdkitError as err:
...     print(err)
dtype must be a floating-point dtype: float32, float16, bfloat16 or float64; got 'int32'
>>> from svdkit.errors import FileFormatError
>>> try:
...     check_path("", "output")
... except FileFormatError as err:
...     print(err)
output is an empty path; name a file or folder ('.' is the current directory)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from svdkit._naming import arg, got
from svdkit.errors import SvdkitError, check_bool
from svdkit.inputs.files import check_path
from svdkit.lowrank._common import check_positive_int as check_count

__all__ = [
    "check_bool",
    "check_count",
    "check_float_dtype",
    "check_fraction",
    "check_metadata",
    "check_optional_str",
    "check_path",
    "check_real",
    "check_targets",
]

#: The names of the dtypes LoRA factors are stored in, for messages.
_FLOAT_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}


def _got(value: Any) -> str:
    """``value`` for an error message (:func:`svdkit._naming.got`: as typed on the
    command line), or its type when that is long."""
    text = got(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def check_real(value: Any, name: str) -> float:
    """``value`` as a float when it is a finite real number (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SvdkitError(f"{arg(name)} must be a finite number; got {_got(value)}", param=name)
    if not math.isfinite(float(value)):
        raise SvdkitError(f"{arg(name)} must be a finite number; got {got(value)}", param=name)
    return float(value)


def check_fraction(value: Any, name: str, *, zero: bool = False, one: bool = True) -> float:
    """``value`` as a float in ``(0, 1]`` (``zero``: ``0`` allowed; not ``one``: ``1`` refused).

    >>> check_fraction(0.0, "error", zero=True, one=False)
    0.0
    """
    low, high = "[0" if zero else "(0", "1]" if one else "1)"
    what = f"{arg(name)} must be a number in {low}, {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SvdkitError(f"{what}; got {_got(value)}", param=name)
    v = float(value)
    if not ((0 <= v if zero else 0 < v) and (v <= 1 if one else v < 1)):
        raise SvdkitError(f"{what}; got {got(value)}", param=name)
    return v


def check_optional_str(value: Any, name: str) -> str | None:
    """``value`` when it is a ``str`` or ``None``."""
    if value is not None and not isinstance(value, str):
        raise SvdkitError(f"{arg(name)} must be a string or None; got {_got(value)}", param=name)
    return value


def check_targets(value: Any, name: str = "targets") -> list[str] | None:
    """Target modules as a list of strings, or ``None`` (every module).

    A single string is one target (a module name, a suffix after a dot, or a
    regular expression matching the whole name) — not a sequence of one-letter
    targets. PEFT's ``target_modules`` given as a string is a regular expression;
    as one target here it matches the same modules, and its suffixes too.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise SvdkitError(
            f"{arg(name)} must be a module name or a list of module names, suffixes or "
            f"regular expressions; got {_got(value)}", param=name
        )
    items = list(value)
    bad = [t for t in items if not isinstance(t, str)]
    if bad:
        raise SvdkitError(
            f"{arg(name)} must hold strings (module names); got {_got(bad[0])}", param=name
        )
    return items


def check_float_dtype(
    value: Any, name: str = "dtype", codes: tuple[str, ...] | None = None
) -> np.dtype:
    """The NumPy dtype of ``value`` when it is one of the floating-point ``codes``.

    Parameters
    ----------
    value : object
        A NumPy dtype, a scalar type (``np.float16``, ``ml_dtypes.bfloat16``), or a
        name: a safetensors code (``"F16"``, ``"BF16"``, in capitals, as in a
        safetensors header), a dtype name (``"float16"``, ``"bfloat16"``, ``"bf16"``,
        ``"fp16"``, ``"half"``) or anything else :class:`numpy.dtype` reads
        (``"<f4"``, ``">f4"``). Names are matched as written: ``"f16"`` is NumPy's
        16-byte float (float128), not float16, so it is refused. Not a scalar
        (``np.int64(-1)`` is not the dtype int64) and not an integer dtype, which
        would store every factor as zeros.
    name : str
        The argument's name, for the message.
    codes : tuple of str, optional
        The safetensors codes allowed; by default
        :data:`~svdkit.lora.safetensors_io.FACTOR_CODES`.

    Returns
    -------
    numpy.dtype
        The dtype, in the machine's byte order (``">f4"`` gives float32).

    Raises
    ------
    SvdkitError
        ``value`` is not a dtype of ``codes``.

    Examples
    --------
    >>> check_float_dtype("F16"), check_float_dtype(">f4"), check_float_dtype("double")
    (dtype('float16'), dtype('float32'), dtype('float64'))
    >>> try:
    ...     check_float_dtype("f16")
    ... except SvdkitError as err:
    ...     print(err)  # doctest: +ELLIPSIS
    dtype must be a floating-point dtype: ...; got 'f16' (...the safetensors code is 'F16')
    """
    from svdkit.lora.safetensors_io import FACTOR_CODES, dtype_code

    codes = FACTOR_CODES if codes is None else codes
    names = [_FLOAT_NAMES.get(c, c) for c in codes]
    allowed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    code = DTYPE_ALIASES.get(value) if isinstance(value, str) else None
    dt = None
    if code is None and isinstance(value, (str, np.dtype, type)):
        try:
            dt = np.dtype(value)
            code = dtype_code(dt.newbyteorder("="))
        except (TypeError, ValueError):  # not a dtype, or one without a safetensors code
            code = None
    if code not in codes:
        hint = ""
        if isinstance(value, str) and value.upper() in codes and value != value.upper():
            numpy_name = f"NumPy reads it as {dt}; " if dt is not None else ""
            hint = f" ({numpy_name}the safetensors code is {value.upper()!r})"
        raise SvdkitError(
            f"{arg(name)} must be a floating-point dtype: {allowed}; got {_got(value)}{hint}",
            param=name,
        )
    return _float_dtype(code)


#: Names of the factor dtypes matched as written (before :class:`numpy.dtype`, which
#: does not know the safetensors codes or ``"bf16"``).
DTYPE_ALIASES = {
    **{code: code for code in _FLOAT_NAMES},
    **{name: code for code, name in _FLOAT_NAMES.items()},
    "bf16": "BF16",
    "fp16": "F16",
    "fp32": "F32",
    "fp64": "F64",
    "half": "F16",
    "double": "F64",
}


def _float_dtype(code: str) -> np.dtype:
    from svdkit.lora.safetensors_io import numpy_dtype

    return numpy_dtype(code)


def check_metadata(value: Any, name: str = "metadata") -> Mapping | None:
    """``value`` when it is a mapping (of ``str`` to ``str``) or ``None``."""
    if value is not None and not isinstance(value, Mapping):
        raise SvdkitError(
            f"{arg(name)} must be a mapping of strings to strings (or None); got {_got(value)}",
            param=name,
        )
    return value
