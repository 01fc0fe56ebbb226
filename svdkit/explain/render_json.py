"""The report as JSON (schema ``svdkit.explain`` version 1, see docs/explain-json.md)."""

from __future__ import annotations

import enum
import json
import math
from fractions import Fraction
from typing import Any

import numpy as np

from svdkit.explain.model import SCHEMA, SCHEMA_VERSION, Report
from svdkit.explain.render_text import is_sympy, number_format, step_text

__all__ = ["encode", "encode_exact", "encode_step", "render_json", "to_dict"]


def _real(x: float) -> float | str:
    if math.isfinite(x):
        return float(x)
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def encode(value: Any) -> Any:
    """JSON-ready form: arrays to lists, complex to ``{"real", "imag"}``, ∞ to ``"inf"``."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _real(float(value))
    if isinstance(value, complex | np.complexfloating):
        return {"real": _real(value.real), "imag": _real(value.imag)}
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"real": encode(value.real), "imag": encode(value.imag)}
        return [encode(v) for v in value] if value.ndim > 1 else [_real(float(v)) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    if is_sympy(value):
        return encode_exact(value)
    raise TypeError(f"cannot encode {type(value).__name__} in the report")


def _exact(x: Any) -> str:
    """An exact (SymPy) value in SymPy syntax: ``sympy.sympify`` reads it back."""
    import sympy

    return sympy.sstr(x)


def encode_exact(value: Any) -> Any:
    """Like :func:`encode`, with exact (SymPy) numbers as strings in SymPy syntax.

    A SymPy matrix becomes a list of row lists of such strings (``"sqrt(2)/2"``,
    ``"1/3"``, ``"2 + I"``); a NumPy array of SymPy objects likewise.
    """
    if is_sympy(value):
        if hasattr(value, "tolist") and getattr(value, "is_Matrix", False):
            return [[_exact(v) for v in row] for row in value.tolist()]
        return _exact(value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        return encode_exact(value.tolist())
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, list | tuple):
        return [encode_exact(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_exact(v) for k, v in value.items()}
    return encode(value)


def _value_string(value: Any) -> str:
    """A placeholder value as a string: SymPy syntax for exact numbers, else as Python writes it."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if is_sympy(value):
        return _exact(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value_string(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_value_string(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


def encode_step(report: Report, step: Any) -> dict[str, Any]:
    """A derivation step as JSON (see docs/explain-json.md, "Steps")."""
    from svdkit.explain.render_latex import latex_value

    fmt = number_format(report)
    return {
        "key": step.key,
        "text": step_text(report, step, fmt),
        "values": {str(k): _value_string(v) for k, v in step.values.items()},
        "formula": None if step.formula is None else latex_value(step.formula, fmt),
        "matrices": {str(k): encode_exact(v) for k, v in step.matrices.items()},
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain Python data following the documented schema."""
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "lang": report.lang,
        "tolerance": encode(report.tolerance),
        "sections": [
            {
                "id": s.id,
                "applies": s.applies,
                "reason": s.reason,
                "facts": {f.key: encode(f.value) for f in s.facts},
                "steps": [encode_step(report, st) for st in s.steps],
            }
            for s in report.sections
        ],
        "notes": [{"id": n.id, "text": n.text} for n in report.notes],
    }


def render_json(report: Report) -> str:
    """The report as an indented JSON document."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)
