r"""The report as Markdown: tables of facts, matrices and formulas as LaTeX in ``$$…$$``.

Prose (labels, sentences, the values inside sentences) is Unicode text, so it
reads well where Markdown maths is not rendered; matrices and step formulas are
LaTeX (``bmatrix``), which GitHub, Jupyter and most Markdown viewers render.
A matrix or vector longer than :data:`~svdkit.explain.elision.LIMIT` is shown by
its corners (``\cdots``, ``\vdots``, ``\ddots`` in the gaps) and a sentence under
the title says where every entry is (the JSON report).
"""

from __future__ import annotations

import numpy as np

from svdkit.exact.steps import ROW_EQUIVALENT, matrix_relation
from svdkit.explain.elision import corner_grid
from svdkit.explain.formatting import NumberFormat
from svdkit.explain.model import Report
from svdkit.explain.render_latex import (
    LATEX_DOTS,
    latex_math,
    latex_matrix,
    latex_number,
    latex_value,
)
from svdkit.explain.render_text import (
    colon,
    criteria_rows,
    elision_note,
    fact_format,
    fact_value_text,
    has_elided,
    heading_lines,
    label,
    matrix_entries,
    matrix_name,
    message,
    number_format,
    section_title,
    step_text,
)

__all__ = ["REPORT_MARK", "render_markdown"]


def _cell(text: str) -> str:
    """Text made safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _latex_matrix(a: np.ndarray, fmt) -> str:
    """A ``bmatrix`` of ``a``'s entries; of its corners when it is large."""
    return latex_matrix(corner_grid(a, lambda v: latex_number(fmt.number(v)), LATEX_DOTS))


#: The second line of every report (an HTML comment: not shown): ``svdkit explain -o``
#: replaces an existing ``.md`` file only when its first two lines are the title and this.
REPORT_MARK = "<!-- written by svdkit explain -->"


def render_markdown(report: Report) -> str:
    """Markdown text of the report (GitHub-flavoured, math in ``$…$``)."""
    fmt = number_format(report)
    lang = report.lang
    lines = [f"# {message(lang, 'title')}", REPORT_MARK, ""]
    if has_elided(report):
        lines += [f"*{elision_note(lang)}*", ""]
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
                blocks.append(f"**{label(report, fact.key)}** = $${_latex_matrix(value, ffmt)}$$")
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
        if sec.id == "input":  # the threshold behind every "is it zero?" of the report
            tolerance = heading_lines(report, str, str, NumberFormat(digits=3).number)[1]
            lines += [f"*{tolerance}*", ""]
        for i, step in enumerate(sec.steps, start=1):
            lines += [*_step_lines(report, step, fmt, f"{i}. "), ""]
    if report.notes:
        lines += [f"## {message(lang, 'section.notes')}", ""]
        for note in report.notes:
            lines += [f"> ⚠ {note.text}", ""]
    return "\n".join(lines)


def _step_lines(report: Report, step, fmt: NumberFormat, marker: str) -> list[str]:
    """One step as an ordered-list item: its sentence after ``marker``, then its formulas.

    Every continuation line is indented by the marker's width (``"10. "`` is 4
    characters), which CommonMark requires for it to stay inside the item.
    """
    indent = " " * len(marker)
    lines = [marker + step_text(report, step, fmt)]
    if step.formula is not None:
        lines += ["", f"{indent}$${latex_value(step.formula)}$$"]
    for name, m in step.matrices.items():
        grid = matrix_entries(m, latex_value, lambda v: latex_number(fmt.number(v)))
        subject, relation = matrix_relation(name)
        named = latex_math(matrix_name(report, subject))
        sign = r"\sim" if relation == ROW_EQUIVALENT else relation
        lines += ["", f"{indent}$${named} {sign} {latex_matrix(grid)}$$"]
    return lines


def _criteria_lines(report: Report, criteria: dict[str, dict]) -> str:
    sep = colon(report.lang)
    return "\n".join(
        f"- **{name}**{sep}{kind}" + (f". {explanation}" if explanation else "")
        for name, kind, explanation in criteria_rows(report, criteria)
    )
