"""The report as Markdown: tables of facts, matrices and formulas as LaTeX in ``$$…$$``.

Prose (labels, sentences, the values inside sentences) is Unicode text, so it
reads well where Markdown maths is not rendered; matrices and step formulas are
LaTeX (``bmatrix``), which GitHub, Jupyter and most Markdown viewers render.
"""

from __future__ import annotations

import numpy as np

from svdkit.explain.model import Report
from svdkit.explain.render_latex import latex_math, latex_matrix, latex_number, latex_value
from svdkit.explain.render_text import (
    criteria_rows,
    fact_format,
    fact_value_text,
    label,
    matrix_entries,
    matrix_name,
    message,
    number_format,
    section_title,
    step_text,
)

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    """Text made safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _latex_matrix(grid: list[list[str]]) -> str:
    return latex_matrix([[latex_number(c) for c in row] for row in grid])


def render_markdown(report: Report) -> str:
    """Markdown text of the report (GitHub-flavoured, math in ``$…$``)."""
    fmt = number_format(report)
    lang = report.lang
    lines = [f"# {message(lang, 'title')}", ""]
    for sec in report.sections:
        lines += [f"## {section_title(report, sec)}", ""]
        if not sec.applies:
            reason = message(lang, f"reason.{sec.reason}")
            lines += [f"*{message(lang, 'not_applicable', reason=reason)}*", ""]
            continue
        table, blocks = [], []
        for fact in sec.facts:
            ffmt = fact_format(report, fact.key)
            value = fact.value
            if isinstance(value, np.ndarray) and value.ndim == 2:
                blocks.append(
                    f"**{label(report, fact.key)}** = $${_latex_matrix(ffmt.grid(value))}$$"
                )
            elif fact.key == "criteria" and isinstance(value, dict):
                blocks.append(_criteria_lines(report, value))
            else:
                table.append(
                    f"| {_cell(label(report, fact.key))} "
                    f"| {_cell(fact_value_text(report, fact, ffmt))} |"
                )
        if table:
            lines += ["| | |", "|---|---|", *table, ""]
        for block in blocks:
            lines += [block, ""]
        for i, step in enumerate(sec.steps, start=1):
            lines += [f"{i}. {step_text(report, step, fmt)}"]
            if step.formula is not None:
                lines += ["", f"   $${latex_value(step.formula)}$$"]
            for name, m in step.matrices.items():
                grid = matrix_entries(m, latex_value, lambda v: latex_number(fmt.number(v)))
                named = latex_math(matrix_name(report, name))
                lines += ["", f"   $${named} = {latex_matrix(grid)}$$"]
            lines.append("")
    if report.notes:
        lines += [f"## {message(lang, 'section.notes')}", ""]
        for note in report.notes:
            lines += [f"> ⚠ {note.text}", ""]
    return "\n".join(lines)


def _criteria_lines(report: Report, criteria: dict[str, dict]) -> str:
    return "\n".join(
        f"- **{name}**: {kind}" + (f". {explanation}" if explanation else "")
        for name, kind, explanation in criteria_rows(report, criteria)
    )
