"""The report as a terminal page (rich): a panel per section, tables and bracketed matrices."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from svdkit.explain.model import Report
from svdkit.explain.render_text import (
    bracket_lines,
    criteria_rows,
    exact_text,
    fact_format,
    fact_value_text,
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

#: A matrix (or vector) with more rows or columns than this is shown in part on the
#: terminal: its first and last ``_EDGE`` rows and columns, as NumPy prints large
#: arrays. A 300×300 report drew every entry of a dozen 300×300 matrices (minutes of
#: rendering, a wall of wrapped numbers); ``--format json`` keeps every entry.
_LIMIT = 10
_EDGE = 3


def _kept(n: int) -> list[int | None]:
    """Indices shown of ``n``: all, or the first and last ``_EDGE`` around a gap (None)."""
    if n <= _LIMIT:
        return list(range(n))
    return [*range(_EDGE), None, *range(n - _EDGE, n)]


def _grid(fmt, a) -> list[list[str]]:
    """``fmt.grid(a)``, elided to the first and last rows and columns of a large matrix."""
    a = np.atleast_1d(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] <= _LIMIT and a.shape[1] <= _LIMIT:
        return fmt.grid(a)
    cols = _kept(a.shape[1])
    grid = []
    for i in _kept(a.shape[0]):
        if i is None:
            grid.append(["⋮" if j is not None else "⋱" for j in cols])
        else:
            grid.append([fmt.number(a[i, j]) if j is not None else "⋯" for j in cols])
    return grid


def _is_elided(value) -> bool:
    return isinstance(value, np.ndarray) and value.ndim in (1, 2) and max(value.shape) > _LIMIT


def _vector_text(fmt, v: np.ndarray) -> str:
    """A long vector as ``(v₁, v₂, v₃, …, vₙ₋₂, vₙ₋₁, vₙ)``: its first and last entries."""
    return "(" + ", ".join("…" if i is None else fmt.number(v[i]) for i in _kept(v.size)) + ")"


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


def _section_body(report: Report, sec, fmt):
    lang = report.lang
    if not sec.applies:
        reason = message(lang, f"reason.{sec.reason}")
        return Text(message(lang, "not_applicable", reason=reason), style="italic dim")
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for fact in sec.facts:
        ffmt = fact_format(report, fact.key)
        value = fact.value
        if isinstance(value, np.ndarray) and value.ndim == 2:
            table.add_row(label(report, fact.key), "\n".join(bracket_lines(_grid(ffmt, value))))
        elif isinstance(value, np.ndarray) and value.ndim == 1 and _is_elided(value):
            table.add_row(label(report, fact.key), _vector_text(ffmt, value))
        elif fact.key == "criteria" and isinstance(value, dict):
            for name, kind, explanation in criteria_rows(report, value):
                table.add_row(name, f"{kind}. {explanation}" if explanation else kind)
        else:
            table.add_row(label(report, fact.key), fact_value_text(report, fact, ffmt))
    parts = [table] if sec.facts else []
    for step in sec.steps:
        parts.append(Text("\n".join(step_lines(report, step, fmt))))
    return Group(*parts)


def print_terminal(report: Report, console: Console) -> None:
    """Print the report on ``console``."""
    fmt = number_format(report)
    lang = report.lang
    a = report.matrix
    heading, tolerance = heading_lines(report, str, str, lambda t: f"{t:.3g}")
    console.print(Text(message(lang, "title"), style="bold"))
    console.print(
        Panel(
            Text("\n".join(bracket_lines(_grid(fmt, a)))),
            title=heading,
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
                _section_body(report, sec, fmt),
                title=section_title(report, sec),
                title_align="left",
            )
        )
    if _is_elided(a):
        console.print(Text(message(lang, "elided", limit=_LIMIT, edge=_EDGE), style="dim"))
    if report.notes:
        body = Group(*(Text(f"⚠ {n.text}") for n in report.notes))
        console.print(
            Panel(
                body,
                title=message(lang, "section.notes"),
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
