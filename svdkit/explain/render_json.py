"""The report as JSON (schema ``svdkit.explain`` version 1, see docs/explain-json.md).

JSON is the report as data: unlike the pages for people, it keeps every entry of
every matrix. Arrays are converted by NumPy (``ndarray.tolist``) and written one
row at a time by C code (``float.__repr__``, ``str.join``), then set into the
indented document at their place: the text is the same as ``json.dumps(to_dict(report),
indent=2, ensure_ascii=False)``, but a 1000×1000 report (a dozen 1000×1000
matrices, 340 MB of JSON) no longer goes through Python's pure-Python indenting
encoder entry by entry, nor holds every entry as a Python float at once.
"""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from svdkit.explain.formatting import Scientific, Shown
from svdkit.explain.model import SCHEMA, SCHEMA_VERSION, Report
from svdkit.explain.render_text import is_sympy, number_format, step_text

__all__ = ["encode", "encode_exact", "encode_step", "iter_json", "render_json", "to_dict"]


def _real(x: float) -> float | str:
    if math.isfinite(x):
        return float(x)
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _is_real_array(a: np.ndarray) -> bool:
    """Whether ``a`` holds real numbers NumPy converts itself (booleans, integers, floats)."""
    return a.dtype.kind in "biuf"


def _real_list(a: np.ndarray) -> list:
    """A real array as nested lists of floats, as :func:`encode` writes them (∞ as ``"inf"``)."""
    values = a.astype(np.float64, copy=False)
    if np.isfinite(values).all():
        return values.tolist()
    if values.ndim > 1:
        return [_real_list(row) for row in values]
    return [_real(v) for v in values.tolist()]


def encode(value: Any) -> Any:
    """JSON-ready form: arrays to lists, complex to ``{"real", "imag"}``, ∞ to ``"inf"``.

    A number beyond float64's range (:class:`~svdkit.explain.formatting.Scientific`,
    det A = 1e+600) is ASCII decimal text, ``"1e+600"``, ``"-2e-600"``.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _real(float(value))
    if isinstance(value, complex | np.complexfloating):
        return {"real": _real(value.real), "imag": _real(value.imag)}
    if isinstance(value, Scientific):  # beyond float64: ASCII decimal text, "2e-600"
        text = value.ascii()
        return text if isinstance(text, str) else {"real": text[0], "imag": text[1]}
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"real": encode(value.real), "imag": encode(value.imag)}
        if _is_real_array(value) and value.ndim >= 1:
            return _real_list(value)
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
    """An exact (SymPy) value in SymPy syntax: ``sympy.sympify`` reads it back.

    An approximate value (a SymPy ``Float``) has the 15 significant digits that every
    other format prints (:data:`svdkit.exact.format.APPROXIMATE_DIGITS`). An integer of
    more than Python's 4300 digits (``10⁻⁴⁴⁰⁰``) is written whole
    (:func:`svdkit.exact.format.long_integers`).
    """
    import sympy

    from svdkit.exact.format import long_integers, rounded

    value = rounded(x)
    with long_integers(value):  # (the limit lifted only for such an integer)
        return sympy.sstr(value)


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
    if isinstance(value, Shown):  # a float shown as text: its value, as Python writes it
        return repr(value.value)
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
    return _document(report, encode)


def _document(report: Report, fact: Callable[[Any], Any]) -> dict[str, Any]:
    """The report's JSON document, with each fact's value made by ``fact``."""
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
                "facts": {f.key: fact(f.value) for f in s.facts},
                "steps": [encode_step(report, st) for st in s.steps],
            }
            for s in report.sections
        ],
        "notes": [
            {
                "id": n.id,
                "text": n.text,
                "values": {str(k): _value_string(v) for k, v in n.values.items()},
            }
            for n in report.notes
        ],
    }


_INDENT = "  "
"""The indentation of one level (``json.dumps(..., indent=2)``)."""

_SHORT = 64
"""Arrays of at most this many entries are encoded with the rest of the document."""


def render_json(report: Report) -> str:
    """The report as an indented JSON document (every entry of every matrix).

    The same text as ``json.dumps(to_dict(report), indent=2, ensure_ascii=False)``;
    :func:`iter_json` gives it in pieces.

    Examples
    --------
    >>> import json
    >>> from svdkit.explain import explain
    >>> data = json.loads(render_json(explain("[[3, 0], [0, -2]]", steps=False)))
    >>> data["schema"], data["sections"][0]["facts"]["matrix"]
    ('svdkit.explain', [[3.0, 0.0], [0.0, -2.0]])
    """
    return "".join(iter_json(report))


def iter_json(report: Report) -> Iterator[str]:
    """The text of :func:`render_json` in pieces (a row of a matrix at most), to write as they come.

    Joined, the pieces are the whole document; written to a file one by one, a
    1000×1000 report (about 330 MB of JSON) never has to be held as one string.
    """
    arrays: list[np.ndarray] = []
    mark = f"\x00{uuid.uuid4().hex}:"  # cannot occur in the report's own strings

    def hold(a: np.ndarray) -> str:
        arrays.append(a)
        return f"{mark}{len(arrays) - 1}"

    document = _document(report, lambda value: _skeleton(value, hold))
    text = json.dumps(document, indent=2, ensure_ascii=False)
    quoted = json.dumps(mark)[:-1]  # the opening quote and the mark as JSON writes them
    start = 0
    while arrays and (found := text.find(quoted, start)) >= 0:
        close = text.index('"', found + len(quoted))
        line = text[text.rfind("\n", 0, found) + 1 : found]
        indent = line[: len(line) - len(line.lstrip(" "))]
        yield text[start:found]
        yield from _array_json(arrays[int(text[found + len(quoted) : close])], indent)
        start = close + 1
    yield text[start:]


def _skeleton(value: Any, hold: Callable[[np.ndarray], str]) -> Any:
    """:func:`encode`, with each long real array replaced by the mark ``hold`` returns."""
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"real": _skeleton(value.real, hold), "imag": _skeleton(value.imag, hold)}
        if _is_real_array(value) and value.ndim >= 1 and value.size > _SHORT:
            return hold(value)
        return encode(value)
    if isinstance(value, dict):
        return {str(k): _skeleton(v, hold) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_skeleton(v, hold) for v in value]
    return encode(value)


def _array_json(a: np.ndarray, indent: str) -> Iterator[str]:
    """A real array as ``json.dumps(encode(a), indent=2)`` writes it at ``indent``, in pieces.

    The entries of each row are converted by NumPy (``tolist``) and written by
    ``float.__repr__`` (as :mod:`json` writes floats), joined by the indented
    layout's separator; a row with ∞ or NaN goes through :mod:`json`'s C encoder.
    """
    if a.shape[0] == 0:
        yield "[]"
        return
    inner = indent + _INDENT
    if a.ndim == 1:
        separator = ",\n" + inner
        values = a.astype(np.float64, copy=False)
        if np.isfinite(values).all():  # json writes a float as float.__repr__ does
            yield "[\n" + inner + separator.join(map(float.__repr__, values.tolist()))
        else:
            entries = [_real(v) for v in values.tolist()]
            yield "[\n" + inner + json.dumps(entries, separators=(separator, ": "))[1:-1]
    else:
        yield "[\n" + inner
        for i, row in enumerate(a):
            if i:
                yield ",\n" + inner
            yield from _array_json(row, inner)
    yield "\n" + indent + "]"
