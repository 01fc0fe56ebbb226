"""The report as a terminal page (rich): a panel per section, tables and bracketed matrices.

A matrix or vector longer than :data:`~svdkit.explain.elision.LIMIT` is shown by
its corners (:mod:`~svdkit.explain.elision`, the rule of every page for people):
a 300×300 report drew every entry of a dozen 300×300 matrices (minutes of
rendering, a wall of wrapped numbers); the JSON format keeps every entry.
"""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from svdkit.explain.elision import corner_grid
from svdkit.explain.formatting import NumberFormat
from svdkit.explain.model import Report
from svdkit.explain.render_text import (
    bracket_lines,
    criteria_rows,
    elision_note,
    exact_text,
    fact_format,
    fact_value_text,
    has_elided,
    heading_lines,
    is_sympy,
    label,
    matrix_entries,
    matrix_name,
    message,
    number_format,
    section_title,
    step_text,
    value_text,
)

__all__ = ["print_terminal", "render_terminal", "step_lines"]

def _pretty_formula(formula) -> str:
    """A step's formula drawn over several lines when it has fractions, roots or matrices."""
    if isinstance(formula, str):
        return formula
    if is_sympy(formula):
        import sympy

        try:
            drawn = sympy.pretty(formula, use_unicode=True, wrap_line=False)
            return drawn.replace("-", "−")  # Unicode mode draws fraction bars with ─
        except Exception:
            return exact_text(formula)
    return str(formula)


def step_lines(report: Report, step, fmt) -> list[str]:
    """A derivation step as lines of text: ``• sentence``, its formula, its matrices."""
    lines = [f"• {step_text(report, step, fmt)}"]
    if step.formula is not None:
        lines += ["    " + line for line in _pretty_formula(step.formula).splitlines()]
    for name, m in step.matrices.items():
        grid = matrix_entries(m, lambda v: value_text(v, fmt, report.lang), fmt.number)
        drawn = bracket_lines(grid)
        head = f"{matrix_name(report, name)} = "
        pad = " " * len(head)
        middle = (len(drawn) - 1) // 2
        lines += ["    " + (head if i == middle else pad) + row for i, row in enumerate(drawn)]
    return lines


#: Share of the console's width a fact's label may take; a longer label wraps. The
#: labels are not cut short: "U (exacte ; signes : le moins d'entrées négatives, comme
#: dans les notes)" took 73 of 80 columns and left none to the values, and wider
#: matrices had their brackets broken across lines.
_LABEL_SHARE = 0.45


def _section_body(report: Report, sec, fmt, width: int = 100):
    """A section's facts (a table) and steps.

    Every piece of the report reaches rich as :class:`~rich.text.Text`, never as a
    string, which rich reads as markup: the exact inverse ``[[2/3, −i/3], [i/3, 2/3]]``
    lost its second row, ``[i/3, 2/3]`` taken for an italic tag.
    """
    lang = report.lang
    if not sec.applies:
        reason = message(lang, f"reason.{sec.reason}")
        return Text(message(lang, "not_applicable", reason=reason), style="italic dim")
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column(style="bold cyan", max_width=max(16, int(width * _LABEL_SHARE)))
    table.add_column()
    for fact in sec.facts:
        ffmt = fact_format(report, fact.key)
        value = fact.value
        if isinstance(value, np.ndarray) and value.ndim == 2:
            drawn = bracket_lines(corner_grid(value, ffmt.number))
            table.add_row(Text(label(report, fact.key)), Text("\n".join(drawn)))
        elif fact.key == "criteria" and isinstance(value, dict):
            for name, kind, explanation in criteria_rows(report, value):
                table.add_row(Text(name), Text(f"{kind}. {explanation}" if explanation else kind))
        else:
            table.add_row(Text(label(report, fact.key)), Text(fact_value_text(report, fact, ffmt)))
    parts = [table] if sec.facts else []
    for step in sec.steps:
        parts.append(Text("\n".join(step_lines(report, step, fmt))))
    return Group(*parts)


def print_terminal(report: Report, console: Console) -> None:
    """Print the report on ``console``."""
    fmt = number_format(report)
    lang = report.lang
    a = report.matrix
    heading, tolerance = heading_lines(report, str, str, NumberFormat(digits=3).number)
    console.print(Text(message(lang, "title"), style="bold"))
    console.print(
        Panel(
            Text("\n".join(bracket_lines(corner_grid(a, fact_format(report, "matrix").number)))),
            title=Text(heading),
            title_align="left",
            expand=False,
        )
    )
    console.print(Text(tolerance, style="dim"))
    for sec in report.sections:
        if sec.id == "input" and not sec.steps:
            continue  # shown above
        console.print(
            Panel(
                _section_body(report, sec, fmt, console.width),
                title=Text(section_title(report, sec)),
                title_align="left",
            )
        )
    if has_elided(report):
        console.print(Text(elision_note(lang), style="dim"))
    if report.notes:
        body = Group(*(Text(f"⚠ {n.text}") for n in report.notes))
        console.print(
            Panel(
                body,
                title=Text(message(lang, "section.notes")),
                border_style="yellow",
                title_align="left",
            )
        )


def render_terminal(report: Report, width: int = 100) -> str:
    """The terminal page as plain text (no colours)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    print_terminal(report, console)
    return buffer.getvalue()
