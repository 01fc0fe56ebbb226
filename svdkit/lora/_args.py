"""Checks of the arguments of :mod:`svdkit.lora`'s functions, in one place.

Each check takes the value and the name of the argument, and either returns the
value in the form the caller uses (a float, an int, a :class:`~pathlib.Path`, a
NumPy dtype, a list of targets) or raises an :class:`~svdkit.errors.SvdkitError`
that names the argument and says what it must be — never a raw ``TypeError``
from deep inside, and never a silent reading of nonsense (a bool as a number, a
string's characters as targets, an integer dtype for factors).

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
>>> try:
...     check_path(None, "output")
... except SvdkitError as err:
...     print(err)
output must be a path (str or os.PathLike); got None
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from svdkit.errors import ShapeError, SvdkitError

__all__ = [
    "FLOAT_CODES",
    "check_count",
    "check_float_dtype",
    "check_fraction",
    "check_metadata",
    "check_optional_str",
    "check_path",
    "check_real",
    "check_targets",
]

#: The safetensors codes of the floating-point dtypes LoRA factors are stored in.
FLOAT_CODES = ("F32", "F16", "BF16", "F64")
_FLOAT_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}


def _got(value: Any) -> str:
    """``value`` for an error message: its repr, or its type when the repr is long."""
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def check_path(value: Any, name: str) -> Path:
    """``value`` as a :class:`~pathlib.Path` when it is a non-empty ``str`` or ``os.PathLike``.

    Raises
    ------
    SvdkitError
        Anything else (``None``, a number, ``bytes``) or the empty string, which
        would silently mean the current directory.
    """
    if isinstance(value, str) or (
        isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)
    ):
        if os.fspath(value) == "":
            raise SvdkitError(f"{name} must be a path; got the empty string")
        return Path(value)
    raise SvdkitError(f"{name} must be a path (str or os.PathLike); got {_got(value)}")


def check_real(value: Any, name: str) -> float:
    """``value`` as a float when it is a finite real number (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SvdkitError(f"{name} must be a finite number; got {_got(value)}")
    if not math.isfinite(float(value)):
        raise SvdkitError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def check_fraction(value: Any, name: str, *, zero: bool = False, one: bool = True) -> float:
    """``value`` as a float in ``(0, 1]`` (``zero``: ``0`` allowed; not ``one``: ``1`` refused).

    >>> check_fraction(0.0, "error", zero=True, one=False)
    0.0
    """
    low, high = "[0" if zero else "(0", "1]" if one else "1)"
    what = f"{name} must be a number in {low}, {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SvdkitError(f"{what}; got {_got(value)}")
    v = float(value)
    if not ((0 <= v if zero else 0 < v) and (v <= 1 if one else v < 1)):
        raise SvdkitError(f"{what}; got {value!r}")
    return v


def check_count(value: Any, name: str, *, least: int = 1) -> int:
    """``value`` as an int when it is an integer ``≥ least`` (a bool is not one).

    Raises
    ------
    ShapeError
        Not an integer, or below ``least``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ShapeError(f"{name} must be an integer ≥ {least}; got {_got(value)}")
    return int(value)


def check_optional_str(value: Any, name: str) -> str | None:
    """``value`` when it is a ``str`` or ``None``."""
    if value is not None and not isinstance(value, str):
        raise SvdkitError(f"{name} must be a string or None; got {_got(value)}")
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
            f"{name} must be a module name or a list of module names, suffixes or regular "
            f"expressions; got {_got(value)}"
        )
    items = list(value)
    bad = [t for t in items if not isinstance(t, str)]
    if bad:
        raise SvdkitError(f"{name} must hold strings (module names); got {_got(bad[0])}")
    return items


def check_float_dtype(
    value: Any, name: str = "dtype", codes: tuple[str, ...] = FLOAT_CODES
) -> np.dtype:
    """The NumPy dtype of ``value`` when it is one of the floating-point ``codes``.

    ``value`` is a NumPy dtype, a scalar type (``np.float16``,
    ``ml_dtypes.bfloat16``), or a name (``"float16"``, ``"bf16"``, ``"BF16"``,
    ``"<f4"``) — not a scalar (``np.int64(-1)`` is not the dtype int64) and not an
    integer dtype, which would store every factor as zeros.
    """
    from svdkit.lora.safetensors_io import dtype_code

    names = [_FLOAT_NAMES[c] for c in codes]
    allowed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    code = None
    if isinstance(value, str):
        code = _ALIASES.get(value.upper().replace("-", ""), value.upper())
    if code not in codes and isinstance(value, (str, np.dtype, type)):
        try:
            code = dtype_code(np.dtype(value))
        except (TypeError, ValueError):  # not a dtype, or one without a safetensors code
            code = None
    if code not in codes:
        raise SvdkitError(f"{name} must be a floating-point dtype: {allowed}; got {_got(value)}")
    return _float_dtype(code)


_ALIASES = {
    "BFLOAT16": "BF16",
    "FLOAT32": "F32",
    "FLOAT16": "F16",
    "FLOAT64": "F64",
    "FP16": "F16",
    "FP32": "F32",
    "FP64": "F64",
    "HALF": "F16",
    "DOUBLE": "F64",
}


def _float_dtype(code: str) -> np.dtype:
    from svdkit.lora.safetensors_io import numpy_dtype

    return numpy_dtype(code)


def check_metadata(value: Any, name: str = "metadata") -> Mapping | None:
    """``value`` when it is a mapping (of ``str`` to ``str``) or ``None``."""
    if value is not None and not isinstance(value, Mapping):
        raise SvdkitError(
            f"{name} must be a mapping of strings to strings (or None); got {_got(value)}"
        )
    return value
