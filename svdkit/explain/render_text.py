"""Shared by every renderer: catalogue lookups, labels, values, steps and matrices as text.

The renderers differ only in how they print a piece of text, a value, a formula
or a matrix; what to print (which sentence, which placeholders, which facts in
which words) is decided here once. SymPy is imported only when a value is a
SymPy object, so a report without derivation steps renders without it.
"""

from __future__ import annotations

import enum
import math
import re
import string
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from svdkit.explain.elision import EDGE, LIMIT, is_elided, vector_text
from svdkit.explain.formatting import NumberFormat, Scientific, threshold_text
from svdkit.explain.messages import catalogue
from svdkit.explain.model import Fact, Report, Section

__all__ = [
    "DIMENSION_SYMBOLS",
    "bracket_lines",
    "colon",
    "criteria_rows",
    "elision_note",
    "exact_text",
    "fact_format",
    "fact_value_text",
    "fill",
    "formula_text",
    "has_elided",
    "has_message",
    "heading_lines",
    "is_sympy",
    "label",
    "matrix_entries",
    "matrix_name",
    "message",
    "number_format",
    "optional_message",
    "scalar_text",
    "section_title",
    "step_sentence",
    "step_text",
    "template",
    "value_text",
]

#: Language-neutral names of the four fundamental subspaces (keys of the ``dimensions`` fact).
DIMENSION_SYMBOLS = {"column": "R(A)", "null": "N(A)", "row": "R(Aᴴ)", "left_null": "N(Aᴴ)"}


# ---------------------------------------------------------------- catalogue


def template(lang: str, key: str) -> str:
    """The catalogue text of ``key`` in ``lang``, or ``key`` itself when it is missing."""
    try:
        return catalogue(lang).get(key, key)
    except Exception:  # an unknown language must not stop a report from rendering
        return key


def has_message(lang: str, key: str) -> bool:
    """Whether the catalogue of ``lang`` has ``key``."""
    return template(lang, key) != key


def optional_message(lang: str, key: str, default: str) -> str:
    """The catalogue text of ``key``, or ``default`` when the catalogue lacks the key."""
    text = template(lang, key)
    return default if text == key else text


def fill(
    text: str,
    values: Mapping[str, Any],
    literal: Callable[[str], str],
    value: Callable[[Any], str],
) -> str:
    """``text`` with its ``{placeholders}`` filled: ``literal`` prints words, ``value`` values.

    A placeholder without a value is printed as written (``{name}``), and text
    that is not a valid template is printed as it is: a report never fails on
    a catalogue message.

    Examples
    --------
    >>> fill("rank {r} of {n}", {"r": 2}, str.upper, lambda v: f"<{v}>")
    'RANK <2> OF {N}'
    """
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return literal(text)
    out = []
    for before, name, spec, conversion in parts:
        out.append(literal(before))
        if name is None:
            continue
        if name in values:
            out.append(value(values[name]))
        else:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            out.append(literal(shown + (f":{spec}" if spec else "") + "}"))
    return "".join(out)


def message(lang: str, key: str, **values: object) -> str:
    """Like :func:`~svdkit.explain.messages.t`, but never raises (missing key: the key)."""
    return fill(template(lang, key), values, str, str)


def has_elided(report: Report) -> bool:
    """Whether the report shows a matrix or vector in part (:mod:`~svdkit.explain.elision`)."""
    if is_elided(report.matrix):
        return True
    return any(is_elided(f.value) for s in report.sections for f in s.facts)


def elision_note(
    lang: str, literal: Callable[[str], str] = str, value: Callable[[Any], str] = str
) -> str:
    """The sentence that says large matrices are shown in part, and where every entry is.

    ``literal`` and ``value`` print words and values, as in :func:`fill`.

    Examples
    --------
    >>> "shown in part" in elision_note("en"), "-o report.json" in elision_note("en")
    (True, True)
    """
    values = {"limit": str(LIMIT), "edge": str(EDGE)}
    return fill(template(lang, "elided"), values, literal, value)


def heading_lines(
    report: Report,
    literal: Callable[[str], str],
    value: Callable[[Any], str],
    tolerance: Callable[[float], str],
) -> tuple[str, str]:
    """The report's heading (shape and field of A) and its zero-threshold line.

    ``literal`` and ``value`` print words and values (as in :func:`fill`),
    ``tolerance`` the threshold: each renderer brings its own escaping.
    """
    lang = report.lang
    a = report.matrix
    field = template(lang, f"field.{'complex' if np.iscomplexobj(a) else 'real'}")
    heading = fill(
        template(lang, "matrix_heading"),
        {"shape": f"{a.shape[0]}×{a.shape[1]}", "field": field},
        literal,
        value,
    )
    key = "tolerance_line_given" if report.tol_given else "tolerance_line"
    line = fill(template(lang, key), {"tol": report.tolerance}, literal, tolerance)
    moved = moved_eigen_threshold(report)
    if moved is not None:  # (Hermitian A: the threshold that counted the eigenvalues shown)
        rank = report.section("measures").fact("rank")
        eig = threshold_text(moved, report.section("eigen").fact("eigenvalues"))
        line += fill(template(lang, "tolerance_line_eigen"), {"eig": eig, "rank": str(rank)},
                     literal, value)
    return heading, line


def moved_eigen_threshold(report: Report) -> float | None:
    """``report.eigen_tolerance`` where it counts other eigenvalues as zero than the
    report's tolerance would (the threshold :func:`svdkit.definiteness` moved by
    rounding so that as many are non-zero as the rank); else None (not moved, or by
    rounding that changes no count)."""
    thr = report.eigen_tolerance
    if thr is None or thr == report.tolerance:
        return None
    try:
        values = report.section("eigen").fact("eigenvalues")
    except KeyError:
        return None
    mags = np.abs(np.asarray(values, dtype=complex))
    return thr if np.any((mags > thr) != (mags > report.tolerance)) else None


# ---------------------------------------------------------------- numbers and exact values

_SUPERSCRIPT_DIGITS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def number_format(report: Report) -> NumberFormat:
    """The report's number format (zero threshold = the report's tolerance)."""
    return NumberFormat(zero=report.tolerance)


_UNITS_OF_A = frozenset({
    "norm_fro", "norm_2", "norm_nuc", "norm_1", "norm_inf", "trace",
    "eigenvalues", "spectral_values", "singular_values", "Sigma",
})
"""Facts measured in the units of A's entries: zero below the report's tolerance."""

_EIGENVALUES = frozenset({"eigenvalues", "spectral_values"})
"""Facts zero below :attr:`Report.eigen_tolerance <svdkit.explain.model.Report.eigen_tolerance>`
where the report has one (Hermitian A)."""

_UNITS_OF_INVERSE = frozenset({"inverse", "pseudo_inverse", "left_inverse", "right_inverse"})
"""Facts in the units of 1/A."""


def fact_format(report: Report, key: str) -> NumberFormat:
    """The number format of fact ``key``: its zero threshold scaled to the fact's units.

    The report's tolerance ``τ = max(m, n)·ε·σ₁`` is a threshold for quantities
    in A's units (entries, norms, eigen- and singular values). A quantity that
    scales like ``σ₁ᵖ`` is zero below ``τ·σ₁ᵖ⁻¹``: ``p = 0`` for ratios,
    residuals and the orthonormal factors U, V, Q; ``p = −1`` for inverses. det A,
    ``Π σᵢ``, is zero below ``τ·Π_{i<n} σᵢ`` (:func:`_log_det_zero`). Where
    ``σ₁ ≈ 1`` every threshold is ``τ``; for ``A = 10²⁰⁰·I`` the rank and
    ``U = I`` no longer print as 0. The eigenvalues of a Hermitian A are zero below
    the threshold :func:`svdkit.definiteness` applies (``Report.eigen_tolerance``):
    as many print non-zero as the rank counts.
    """
    tau = report.tolerance
    if key == "matrix":  # A as it was given: an entry of 1e−20 is not shown as 0
        return NumberFormat()
    if key in _EIGENVALUES and report.eigen_tolerance is not None:
        # Hermitian A: zero as svdkit.definiteness counts them, as many non-zero as the rank
        return NumberFormat(zero=report.eigen_tolerance)
    if key in _UNITS_OF_A:
        return NumberFormat(zero=tau)
    try:
        sigma = _as_float(report.section("measures").fact("norm_2"))
    except KeyError:
        return NumberFormat(zero=tau)
    if tau <= 0 or not (sigma > 0 and math.isfinite(tau)):
        return NumberFormat(zero=tau)
    if key in _UNITS_OF_INVERSE:
        power = -1
    elif key == "determinant":
        log_zero = _log_det_zero(report, tau)
        if log_zero is not None:
            return NumberFormat(zero=math.exp(min(log_zero, 709.0)))
        power = report.matrix.shape[0]
    else:
        power = 0
    log_sigma1 = math.log(sigma) if math.isfinite(sigma) else report.log_sigma1
    if log_sigma1 is None:
        return NumberFormat(zero=tau)
    log_zero = math.log(tau) + (power - 1) * log_sigma1
    return NumberFormat(zero=math.exp(min(log_zero, 709.0)))


def _as_float(x: Any) -> float:
    """A fact as a float: a :class:`~svdkit.explain.formatting.Scientific` beyond float64's
    range as ``∞``, one in the subnormal range as its rounded float."""
    if isinstance(x, Scientific):
        return math.inf if x.log_abs > 709.0 else math.exp(x.log_abs)
    return float(x)


def _log_det_zero(report: Report, tau: float) -> float | None:
    """``log(τ · Π_{i<n} max(σᵢ, τ))``: the size of det A with its least σ at the
    threshold, below which det A prints as 0 (None without finite σ).

    ``|det A| = Π σᵢ``; the bound ``τ·σ₁ⁿ⁻¹`` of the other facts is far above it
    for a full-rank A whose σ spread (a Gaussian 30×30: |det| = 1.8e14, the bound
    1e22), and such a det printed 0 beside "rank 30, invertible: yes".
    """
    try:
        s = np.asarray(report.section("svd").fact("singular_values"), dtype=float)
    except (KeyError, TypeError, ValueError):
        return None
    n = report.matrix.shape[0]
    if s.size != n or not np.isfinite(s).all():
        return None
    return math.log(tau) + float(np.sum(np.log(np.maximum(s[: n - 1], tau))))


def is_sympy(x: Any) -> bool:
    """Whether ``x`` is a SymPy object (checked without importing SymPy)."""
    return type(x).__module__.split(".")[0] == "sympy"


def exact_text(x: Any) -> str:
    """Unicode text of an exact (SymPy) value on one line (:func:`svdkit.exact.format.to_text`).

    A value that printer cannot take is written with ``str``: a report never
    fails on a value.
    """
    try:
        from svdkit.exact.format import to_text

        return str(to_text(x))
    except Exception:  # SymPy missing (the exact extra), or an object it cannot print
        return str(x)


def value_text(x: Any, fmt: NumberFormat, lang: str = "en") -> str:
    """Unicode text of a placeholder value: text, integer, fraction, float, complex or SymPy."""
    if isinstance(x, enum.Enum):  # e.g. a definiteness Kind: its word in ``lang``
        key = "kind." + str(x.value).replace(" ", "_")
        return template(lang, key) if has_message(lang, key) else value_text(x.value, fmt, lang)
    if isinstance(x, str):
        return x
    if isinstance(x, bool | np.bool_):
        return template(lang, "yes" if x else "no")
    if isinstance(x, float | complex | np.floating | np.complexfloating):
        return fmt.number(x)
    if isinstance(x, np.integer):
        x = int(x)
    if isinstance(x, np.ndarray) and x.ndim == 1:
        x = list(x)
    if isinstance(x, list | tuple):
        return "(" + ", ".join(value_text(v, fmt, lang) for v in x) + ")"
    if is_sympy(x) or isinstance(x, int | Fraction):
        return exact_text(x)
    return str(x)


def formula_text(formula: Any) -> str:
    """Unicode text of a step's formula (a SymPy expression or relation, or text)."""
    return formula if isinstance(formula, str) else exact_text(formula)


def matrix_entries(m: Any, entry: Callable[[Any], str], number: Callable[[Any], str]) -> list:
    """Rows of printed entries of a SymPy matrix, a NumPy array or nested lists.

    ``entry`` prints exact (SymPy) entries and ``number`` floating-point ones; a
    vector becomes one column.
    """
    if is_sympy(m) and hasattr(m, "tolist"):
        rows = m.tolist()
    else:
        a = np.asarray(m, dtype=object if _has_exact(m) else None)
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a[:, None]
        rows = a.tolist()

    def one(v: Any) -> str:
        if is_sympy(v) or isinstance(v, str):
            return entry(v)
        if isinstance(v, int | np.integer) and not isinstance(v, bool):
            return entry(v)
        return number(v)

    return [[one(v) for v in row] for row in rows]


def _has_exact(m: Any) -> bool:
    if isinstance(m, np.ndarray):
        return m.dtype == object
    return any(is_sympy(v) for v in np.ravel(np.asarray(m, dtype=object)))


# ---------------------------------------------------------------- labels and facts


def section_title(report: Report, section: Section) -> str:
    return template(report.lang, f"section.{section.id}")


def label(report: Report, key: str) -> str:
    """The row label of fact ``key``; a complex A's own where the catalogue has one
    (``fact.U_exact.complex``: the freedom in U is a phase, not a sign).

    Complex as the exact engine decides between the sign rule and the phase rule: an
    entry that is not real (``1+0j 2; 3 4``, stored as complex, gets signs).
    """
    m = report.matrix
    if (np.iscomplexobj(m) and np.any(np.imag(m) != 0)
            and has_message(report.lang, f"fact.{key}.complex")):
        return template(report.lang, f"fact.{key}.complex")
    return template(report.lang, f"fact.{key}")


def matrix_name(report: Report, name: Any) -> str:
    """The name of a step's matrix in the report's language (``basis`` is ``base`` in French).

    Names that are formulas (``AᵀA − λI``, ``R(A)``) are the same in every
    language and stay as they are; a word has a ``matrix.<name>`` catalogue key.
    """
    return optional_message(report.lang, f"matrix.{name}", str(name))


def scalar_text(report: Report, value: Any, fmt: NumberFormat) -> str:
    """Text of a non-matrix value (numbers, booleans, vectors shown inline, dicts)."""
    if isinstance(value, bool | np.bool_):
        return template(report.lang, "yes" if value else "no")
    if isinstance(value, str):
        # a definiteness kind is stored in English (stable JSON); shown in the report's language
        kind_key = "kind." + value.replace(" ", "_")
        return template(report.lang, kind_key) if has_message(report.lang, kind_key) else value
    if isinstance(value, dict):
        return ", ".join(f"{k} {scalar_text(report, v, fmt)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return vector_text(value, fmt.number)  # a long one by its ends, as the matrices
    if is_sympy(value):
        return exact_text(value)
    return fmt.number(value)


_EMPTY_EXACT_BASIS = re.compile(r"^\[(?:\[\], )*\[\]\]$")


def fact_value_text(report: Report, fact: Fact, fmt: NumberFormat) -> str:
    """Text of a fact's (non-matrix) value, in the report's language where it is a word.

    An empty exact basis (``"[[], []]"``, the m×0 matrix of the JSON) reads ``[ ]``,
    as the numerical one is drawn.
    """
    value, lang = fact.value, report.lang
    if isinstance(value, str) and fact.key.endswith("_exact") and _EMPTY_EXACT_BASIS.match(value):
        return "[ ]"
    if fact.key == "field" and isinstance(value, str):
        return template(lang, f"field.{value}")
    if fact.key == "kind" and isinstance(value, str):
        return kind_text(lang, value)
    if fact.key == "dimensions" and isinstance(value, dict):
        return ", ".join(
            f"dim {DIMENSION_SYMBOLS.get(k, k)} = {scalar_text(report, v, fmt)}"
            for k, v in value.items()
        )
    return scalar_text(report, value, fmt)


def kind_text(lang: str, kind: str | None) -> str:
    """A definiteness kind (``"positive semidefinite"``) in ``lang`` (key ``kind.<kind>``);
    ``None``, a criterion's verdict where it does not decide: ``kind.undecided``."""
    if kind is None:
        return optional_message(lang, "kind.undecided", "undecided")
    return optional_message(lang, "kind." + kind.replace(" ", "_"), kind)


def criteria_rows(report: Report, criteria: Mapping[str, Mapping]) -> list[tuple[str, str, str]]:
    """``(criterion, verdict, explanation)`` for each definiteness criterion.

    The explanations are built from the catalogue in the report's language.
    """
    lang = report.lang
    rows = []
    for name, c in criteria.items():
        title = optional_message(lang, f"criterion.{name}", name.replace("_", " "))
        explanation = c.get("explanation") or ""
        # shown after the verdict and a full stop ("indefinite. On the unit sphere …")
        explanation = explanation[:1].upper() + explanation[1:]
        rows.append((title, kind_text(lang, c.get("kind")), explanation))
    return rows


def colon(lang: str) -> str:
    """``": "`` between a label and its text; in French with a no-break space before it."""
    return "\u00a0: " if lang == "fr" else ": "


# ---------------------------------------------------------------- steps


_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

#: An index written after a symbol (``σ{index}``, ``D{k}``, ``R{row}``) prints as a
#: subscript, and the dimension of ``{field}^{m}`` as an exponent, as in the rest of the
#: report (``σ₁ = √λ`` and ``ℝ²``, not ``σ1`` and ``ℝ^2`` beside ``(u₁, v₁)``).
_INDEX_AFTER_SYMBOL = re.compile(r"(?<=[σuvDRL])\{(index|k|row|row_a|row_b|pivot_row)\}")
_DIMENSION_EXPONENT = re.compile(r"(?<=\{field\})\^\{(m|n)\}")

#: A transpose mark (``{T}``: ``ᵀ`` or ``ᴴ``) is part of the word it follows (``LL{T}``,
#: ``x{T}Ax``): written into the sentence's text, so that a renderer sees ``LLᵀ`` whole.
_MARK_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MARKS = frozenset({"ᵀ", "ᴴ"})

#: Placeholders holding a sign ±1, written ``+1`` / ``−1`` (``the sign +1``, not ``the sign 1``).
_SIGN_PLACEHOLDERS = frozenset({"sign", "signature"})


def _natural(value: Any) -> int | None:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        return None
    return int(value) if value >= 0 else None


def _step_template(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with its symbol indices as subscripts and its dimensions as exponents."""

    def index(m: re.Match) -> str:
        v = _natural(values.get(m.group(1)))
        return m.group(0) if v is None else str(v).translate(_SUBSCRIPT_DIGITS)

    def exponent(m: re.Match) -> str:
        v = _natural(values.get(m.group(1)))
        return m.group(0) if v is None else str(v).translate(_SUPERSCRIPT_DIGITS)

    def mark(m: re.Match) -> str:
        v = values.get(m.group(1))
        return v if isinstance(v, str) and v in _MARKS else m.group(0)

    text = _DIMENSION_EXPONENT.sub(exponent, _INDEX_AFTER_SYMBOL.sub(index, text))
    return _MARK_PLACEHOLDER.sub(mark, text)


def _step_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a step, a sign ±1 as ``+1`` or ``−1``."""
    out = dict(values)
    for name in _SIGN_PLACEHOLDERS & out.keys():
        v = out[name]
        if not isinstance(v, bool | np.bool_) and isinstance(v, int | np.integer) and abs(v) == 1:
            out[name] = "+1" if v > 0 else "−1"
    return out


def step_sentence(
    report: Report,
    step: Any,
    literal: Callable[[str], str],
    value: Callable[[Any], str],
) -> str:
    """The sentence of ``step`` in the report's language, printed by ``literal`` and ``value``.

    Indices after a symbol print as subscripts (``σ₁``, ``D₂``, ``R₁ ← R₁ − (4)·R₂``),
    the dimension in ``ℝ^{m}`` as an exponent (``ℝ³``), and a sign ±1 as ``+1``/``−1``.
    """
    values = _step_values(step.values)
    return fill(_step_template(template(report.lang, step.key), values), values, literal, value)


def step_text(report: Report, step: Any, fmt: NumberFormat) -> str:
    """The sentence of ``step`` as Unicode text."""
    return step_sentence(report, step, str, lambda v: value_text(v, fmt, report.lang))


# ---------------------------------------------------------------- layout


def bracket_lines(grid: list[list[str]]) -> list[str]:
    """A matrix drawn with tall brackets, columns right-aligned."""
    if not grid or not grid[0]:
        return ["[ ]"]
    widths = [max(len(row[j]) for row in grid) for j in range(len(grid[0]))]
    rows = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in grid]
    if len(rows) == 1:
        return [f"[ {rows[0]} ]"]
    out = []
    for i, row in enumerate(rows):
        left, right = ("⎡", "⎤") if i == 0 else ("⎣", "⎦") if i == len(rows) - 1 else ("⎢", "⎥")
        out.append(f"{left} {row} {right}")
    return out
