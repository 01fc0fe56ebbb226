"""The report as JSON (schema ``svdkit.explain`` version 1, see docs/explain-json.md)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from svdkit.explain.model import SCHEMA, SCHEMA_VERSION, Report

__all__ = ["encode", "render_json", "to_dict"]


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
    raise TypeError(f"cannot encode {type(value).__name__} in the report")


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
                "steps": [
                    {
                        "text": st.text,
                        "formula": st.formula,
                        "matrices": {k: encode(v) for k, v in st.matrices.items()},
                    }
                    for st in s.steps
                ],
            }
            for s in report.sections
        ],
        "notes": [{"id": n.id, "text": n.text} for n in report.notes],
    }


def render_json(report: Report) -> str:
    """The report as an indented JSON document."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)
