"""The report as a terminal page (rich): a panel per section, tables and bracketed matrices.

A matrix or vector longer than :data:`~svdkit.explain.elision.LIMIT` is shown by
its corners (:mod:`~svdkit.explain.elision`, the rule of every page for people):
a 300×300 report drew every entry of a dozen 300×300 matrices (minutes of
rendering, a wall of wrapped numbers); the JSON format keeps every entry.

A drawn matrix is never wrapped (its brackets would land on lines of their own; at
80 columns, a pipe's width, every 5×5 matrix of floats was): one wider than its
table cell goes on rows of its own under its label, and one wider than the panel
is drawn in blocks of whole columns, each headed "columns j–k".
"""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from svdkit.exact.steps import matrix_relation
from svdkit.explain.elision import LIMIT, corner_grid, kept
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
    """A step's formula as text: drawn over several lines when it has fractions or matrices.

    Everything else is svdkit's one-line text (:func:`exact_text`), as in the sentences:
    SymPy's drawing writes the imaginary unit ``ⅈ`` and products ``2⋅√3⋅ⅈ`` where the
    rest of the report writes ``i`` and ``2i√3``. A drawing keeps SymPy's ``⋅`` between
    factors, and its ``ⅈ`` becomes ``i``.
    """
    if isinstance(formula, str):
        return formula
    if is_sympy(formula):
        import sympy

        if not _drawn(formula):
            return exact_text(formula)
        try:
            drawn = sympy.pretty(formula, use_unicode=True, wrap_line=False)
            # Unicode mode draws fraction bars with ─, and i as ⅈ
            return drawn.replace("-", "−").replace("ⅈ", "i")
        except Exception:
            return exact_text(formula)
    return str(formula)


def _drawn(expr) -> bool:
    """Whether a SymPy formula holds a matrix or a fraction (a root's ½ is no fraction)."""
    import sympy

    if isinstance(expr, sympy.MatrixBase):
        return True
    if isinstance(expr, sympy.Rational):
        return not expr.is_integer
    if isinstance(expr, sympy.Pow):
        exp = expr.exp
        if exp.is_number:
            return bool(exp.is_negative) or _drawn(expr.base)
    args = getattr(expr, "args", ())
    return any(_drawn(a) for a in args if isinstance(a, sympy.Basic))


def step_lines(report: Report, step, fmt, width: int | None = None) -> list[str]:
    """A derivation step as lines of text: ``• sentence``, its formula, its matrices.

    With ``width``, a matrix wider than ``width`` columns (after its ``name = ``) is
    drawn under its name, in blocks of columns that fit (:func:`matrix_blocks`).
    """
    lines = [f"• {step_text(report, step, fmt)}"]
    if step.formula is not None:
        drawn = _pretty_formula(step.formula).splitlines()
        if width is not None and len(drawn) > 1 and 4 + _drawn_width(drawn) > width:
            # a drawing wider than the page would wrap apart: the formula on one line
            # (as in the JSON), which wraps as text
            drawn = [exact_text(step.formula) if is_sympy(step.formula) else str(step.formula)]
        lines += ["    " + line for line in drawn]
    for name, m in step.matrices.items():
        grid = matrix_entries(m, lambda v: value_text(v, fmt, report.lang), fmt.number)
        drawn = bracket_lines(grid)
        subject, relation = matrix_relation(name)
        head = f"{matrix_name(report, subject)} {relation} "
        if width is not None and 4 + len(head) + _drawn_width(drawn) > width:
            lines.append("    " + head.rstrip())
            lines += ["      " + row for row in matrix_blocks(report, grid, width - 6, m)]
            continue
        pad = " " * len(head)
        middle = (len(drawn) - 1) // 2
        lines += ["    " + (head if i == middle else pad) + row for i, row in enumerate(drawn)]
    return lines


def _drawn_width(drawn: list[str]) -> int:
    return max((len(line) for line in drawn), default=0)


def _block_columns(grid: list[list[str]], width: int) -> list[list[int]]:
    """The grid's columns cut, in order, into runs whose bracketed drawing fits ``width``.

    A run holds at least one column (a single column wider than ``width`` is drawn
    whole, and is cropped by the console).
    """
    widths = [max(len(row[j]) for row in grid) for j in range(len(grid[0]))]
    runs: list[list[int]] = [[]]
    used = 2  # "⎡ " + the columns 2 apart + " ⎤": 2 + Σ (widthⱼ + 2)
    for j, w in enumerate(widths):
        if runs[-1] and used + w + 2 > width:
            runs.append([])
            used = 2
        runs[-1].append(j)
        used += w + 2
    return runs


def matrix_blocks(report: Report, grid: list[list[str]], width: int, value=None) -> list[str]:
    """A matrix's drawing in at most ``width`` columns: whole, or in blocks of columns.

    A bracketed matrix is never wrapped by the console (its brackets would land on
    lines of their own): one wider than ``width`` is drawn as consecutive blocks of
    whole columns, each headed "columns j–k" (numbered as in ``value``, whose shape
    says which columns an elided grid shows), as R and NumPy print wide arrays.
    """
    drawn = bracket_lines(grid) if grid and grid[0] else ["[ ]"]
    if _drawn_width(drawn) <= width or len(grid[0]) < 2:
        if _drawn_width(drawn) > width:  # one column wider than the page: as text, wrapping
            return ["[" + ", ".join("[" + ", ".join(row) + "]" for row in grid) + "]"]
        return drawn
    n = len(grid[0])
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] > LIMIT and n == len(kept(shape[1])):
        index = kept(shape[1])
    else:
        index = list(range(n))
    lines: list[str] = []
    runs = _block_columns(grid, width)
    if any(len(run) == 1 and _drawn_width(bracket_lines([[row[run[0]]] for row in grid])) > width
           for run in runs):  # a column wider than the page: the matrix as text, wrapping
        return ["[" + ", ".join("[" + ", ".join(row) + "]" for row in grid) + "]"]
    for run in runs:
        shown = [index[j] + 1 for j in run if index[j] is not None]
        first, last = (shown[0], shown[-1]) if shown else (None, None)
        if first is None:
            caption = message(report.lang, "columns_elided")
        elif first == last:
            caption = message(report.lang, "column_block_one", j=first)
        else:
            caption = message(report.lang, "column_block", j=first, k=last)
        lines.append(caption)
        lines += bracket_lines([[row[j] for j in run] for row in grid])
    return lines


#: Share of the console's width a fact's label may take; a longer label wraps. The
#: labels are not cut short: "U (exacte ; signes : le moins d'entrées négatives, comme
#: dans les notes)" took 73 of 80 columns and left none to the values.
_LABEL_SHARE = 0.45

#: Columns a panel takes from the console's width: its borders and its padding.
_PANEL_EDGES = 4

#: Columns between a fact's label and its value (the table's padding).
_GAP = 4


def _matrix_text(lines: list[str], width: int) -> Text:
    """A drawn matrix for rich: never wrapped (:func:`matrix_blocks` made it fit ``width``),
    unless it came back as one line of text (a column wider than the page)."""
    return Text("\n".join(lines), no_wrap=_drawn_width(lines) <= width, overflow="fold")


def _section_body(report: Report, sec, fmt, width: int = 100):
    """A section's facts (a table) and steps.

    Every piece of the report reaches rich as :class:`~rich.text.Text`, never as a
    string, which rich reads as markup: the exact inverse ``[[2/3, −i/3], [i/3, 2/3]]``
    lost its second row, ``[i/3, 2/3]`` taken for an italic tag.

    A bracketed matrix is never wrapped: one wider than the value column goes on
    rows of its own, its label above it, across the whole panel (in blocks of
    columns when wider than that, :func:`matrix_blocks`); the facts either side
    stay in tables whose label column has one width.
    """
    lang = report.lang
    if not sec.applies:
        reason = message(lang, f"reason.{sec.reason}")
        return Text(message(lang, "not_applicable", reason=reason), style="italic dim")
    inner = max(20, width - _PANEL_EDGES)
    rows: list[tuple[str, object]] = []  # (label, Text), or (label, list of drawn lines)
    for fact in sec.facts:
        ffmt = fact_format(report, fact.key)
        value = fact.value
        if isinstance(value, np.ndarray) and value.ndim == 2:
            rows.append((label(report, fact.key), (corner_grid(value, ffmt.number), value)))
        elif fact.key == "criteria" and isinstance(value, dict):
            for name, kind, explanation in criteria_rows(report, value):
                rows.append((name, Text(f"{kind}. {explanation}" if explanation else kind)))
        else:
            rows.append((label(report, fact.key), Text(fact_value_text(report, fact, ffmt))))
    cap = max(16, int(width * _LABEL_SHARE))
    label_width = min(cap, max((len(name) for name, _ in rows), default=0))
    value_width = inner - label_width - _GAP
    parts: list = []
    table = None
    for name, value in rows:
        if isinstance(value, tuple):
            grid, array = value
            drawn = bracket_lines(grid)
            if _drawn_width(drawn) > value_width:
                table = None
                parts.append(Text(name, style="bold cyan"))
                parts.append(_matrix_text(
                    ["  " + line for line in matrix_blocks(report, grid, inner - 2, array)],
                    inner))
                continue
            value = _matrix_text(drawn, value_width)
        if table is None:
            table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2))
            table.add_column(style="bold cyan", width=label_width)
            table.add_column()
            parts.append(table)
        table.add_row(Text(name), value)
    for step in sec.steps:
        parts.append(Text("\n".join(step_lines(report, step, fmt, inner))))
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
            _matrix_text(matrix_blocks(
                report, corner_grid(a, fact_format(report, "matrix").number),
                console.width - _PANEL_EDGES, a), console.width - _PANEL_EDGES),
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
