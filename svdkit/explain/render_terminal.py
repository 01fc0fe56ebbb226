"""The report as a terminal page (rich): a panel per section, tables and bracketed matrices."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from svdkit.explain.messages import t
from svdkit.explain.model import Report
from svdkit.explain.render_text import (
    bracket_lines,
    label,
    number_format,
    scalar_text,
    section_title,
)

__all__ = ["print_terminal", "render_terminal"]


def _section_body(report: Report, sec, fmt):
    if not sec.applies:
        reason = t(f"reason.{sec.reason}", report.lang)
        return Text(t("not_applicable", report.lang, reason=reason), style="italic dim")
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for fact in sec.facts:
        value = fact.value
        if isinstance(value, np.ndarray) and value.ndim == 2:
            table.add_row(label(report, fact.key), "\n".join(bracket_lines(fmt.grid(value))))
        elif fact.key == "criteria":
            for name, c in value.items():
                table.add_row(name.replace("_", " "), f"{c['kind'] or '—'}. {c['explanation']}")
        else:
            table.add_row(label(report, fact.key), scalar_text(report, value, fmt))
    parts = [table]
    parts += [Text(f"• {step.text}") for step in sec.steps]
    return Group(*parts)


def print_terminal(report: Report, console: Console) -> None:
    """Print the report on ``console``."""
    fmt = number_format(report)
    a = report.matrix
    field = t(f"field.{'complex' if np.iscomplexobj(a) else 'real'}", report.lang)
    heading = t("matrix_heading", report.lang, shape=f"{a.shape[0]}×{a.shape[1]}", field=field)
    console.print(Text(t("title", report.lang), style="bold"))
    console.print(Panel(Text("\n".join(bracket_lines(fmt.grid(a)))), title=heading,
                        title_align="left", expand=False))
    console.print(Text(t("tolerance_line", report.lang, tol=f"{report.tolerance:.3g}"),
                       style="dim"))
    for sec in report.sections[1:]:
        console.print(Panel(_section_body(report, sec, fmt), title=section_title(report, sec),
                            title_align="left"))
    if report.notes:
        body = Group(*(Text(f"Note. {n.text}") for n in report.notes))
        console.print(Panel(body, title=t("section.notes", report.lang), border_style="yellow",
                            title_align="left"))


def render_terminal(report: Report, width: int = 100) -> str:
    """The terminal page as plain text (no colours)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    print_terminal(report, console)
    return buffer.getvalue()
