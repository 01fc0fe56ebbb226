"""Shared by the text renderers: labels, values and matrices as strings."""

from __future__ import annotations

from typing import Any

import numpy as np

from svdkit.explain.formatting import NumberFormat
from svdkit.explain.messages import t
from svdkit.explain.model import Report, Section

__all__ = ["bracket_lines", "label", "number_format", "scalar_text", "section_title"]


def number_format(report: Report) -> NumberFormat:
    """The report's number format (zero threshold = the report's tolerance)."""
    return NumberFormat(zero=report.tolerance)


def section_title(report: Report, section: Section) -> str:
    return t(f"section.{section.id}", report.lang)


def label(report: Report, key: str) -> str:
    return t(f"fact.{key}", report.lang)


def scalar_text(report: Report, value: Any, fmt: NumberFormat) -> str:
    """Text of a non-matrix value (numbers, booleans, vectors shown inline, dicts)."""
    if isinstance(value, bool | np.bool_):
        return t("yes" if value else "no", report.lang)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k} {scalar_text(report, v, fmt)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return "(" + ", ".join(fmt.number(v) for v in value) + ")"
    return fmt.number(value)


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
