"""The report as Markdown: tables of facts, matrices as LaTeX ``bmatrix``."""

from __future__ import annotations

import numpy as np

from svdkit.explain.messages import t
from svdkit.explain.model import Report
from svdkit.explain.render_text import label, number_format, scalar_text, section_title

__all__ = ["render_markdown"]


def _latex_matrix(grid: list[list[str]]) -> str:
    if not grid or not grid[0]:
        return r"\begin{bmatrix}\end{bmatrix}"
    body = r" \\ ".join(" & ".join(c.replace("−", "-") for c in row) for row in grid)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"


def render_markdown(report: Report) -> str:
    """Markdown text of the report (GitHub-flavoured, math in ``$…$``)."""
    fmt = number_format(report)
    lines = [f"# {t('title', report.lang)}", ""]
    for sec in report.sections:
        lines += [f"## {section_title(report, sec)}", ""]
        if not sec.applies:
            reason = t(f"reason.{sec.reason}", report.lang)
            lines += [f"*{t('not_applicable', report.lang, reason=reason)}*", ""]
            continue
        table, blocks = [], []
        for fact in sec.facts:
            value = fact.value
            if isinstance(value, np.ndarray) and value.ndim == 2:
                blocks.append(f"**{label(report, fact.key)}** = "
                              f"$${_latex_matrix(fmt.grid(value))}$$")
            elif fact.key == "criteria":
                blocks.append(_criteria_lines(value))
            else:
                table.append(f"| {label(report, fact.key)} | {scalar_text(report, value, fmt)} |")
        if table:
            lines += ["| | |", "|---|---|", *table, ""]
        for block in blocks:
            lines += [block, ""]
        for step in sec.steps:
            lines += [f"- {step.text}" + (f" ${step.formula}$" if step.formula else "")]
    if report.notes:
        lines += [f"## {t('section.notes', report.lang)}", ""]
        lines += [f"> **Note.** {note.text}" for note in report.notes]
        lines.append("")
    return "\n".join(lines)


def _criteria_lines(criteria: dict[str, dict]) -> str:
    return "\n".join(
        f"- **{name.replace('_', ' ')}**: {c['kind'] or '—'}. {c['explanation']}"
        for name, c in criteria.items()
    )
