"""The report as one self-contained HTML5 page: inline CSS, MathML, no script, nothing external.

Prose is escaped text; matrices are MathML tables (``<mtable>``), step formulas
and exact values SymPy's presentation MathML. The page is also well-formed XML
(void elements closed, no named entities beyond XML's), so it can be checked
and transformed by any XML tool. A matrix or vector longer than
:data:`~svdkit.explain.elision.LIMIT` is shown by its corners, and a sentence
under the heading says where every entry is (the JSON report).
"""

from __future__ import annotations

import enum
import html
import re
from fractions import Fraction
from html.entities import html5
from typing import Any

import numpy as np

from svdkit.exact.steps import matrix_relation
from svdkit.explain.elision import Dots, corner_grid
from svdkit.explain.formatting import NumberFormat
from svdkit.explain.model import Report
from svdkit.explain.render_latex import MATH_SYMBOLS, SUBSCRIPTS, SUPERSCRIPTS
from svdkit.explain.render_text import (
    colon,
    criteria_rows,
    elision_note,
    fact_format,
    fact_value_text,
    fill,
    has_elided,
    heading_lines,
    is_sympy,
    label,
    matrix_entries,
    matrix_name,
    number_format,
    section_title,
    step_sentence,
    template,
    value_text,
)

__all__ = [
    "REPORT_MARK",
    "mathml_matrix",
    "mathml_name",
    "mathml_number",
    "mathml_value",
    "render_html",
]

_CSS = """
:root { color-scheme: light; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; line-height: 1.5;
       color: #1d232a; background: #fbfbfc; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .2rem;
     border-bottom: 2px solid #d5dbe3; }
p.lead { margin: .25rem 0; }
p.tolerance { color: #5b6673; font-size: .9rem; }
p.na { color: #5b6673; font-style: italic; }
table.facts { border-collapse: collapse; width: 100%; }
table.facts th, table.facts td { text-align: left; vertical-align: middle;
     padding: .3rem .6rem; border-bottom: 1px solid #e6eaef; }
table.facts th { font-weight: 600; color: #20466e; width: 38%; }
table.facts td { overflow-wrap: anywhere; }
math { font-size: 1.08em; }
math[display="block"] { margin: .4rem 0; overflow-x: auto; }
ul.criteria li { margin: .3rem 0; }
ol.steps li { margin: .6rem 0; }
ol.steps p { margin: .2rem 0; }
aside.note { background: #fff6e0; border-left: 5px solid #e8a317; border-radius: 4px;
     padding: .6rem .9rem; margin: .8rem 0; }
aside.note strong { color: #9a5b00; }
"""


def _escape(text: str) -> str:
    """Text for an element's content (quotes stay as they are: ``l'image``)."""
    return html.escape(text, quote=False)


def _attribute(text: str) -> str:
    return html.escape(text, quote=True)


def _xml_entities(markup: str) -> str:
    """Named HTML entities (SymPy writes ``&InvisibleTimes;``) as numeric ones (valid XML)."""

    def numeric(m: re.Match) -> str:
        name = m.group(1)
        if name in ("amp", "lt", "gt", "quot", "apos"):
            return m.group()
        chars = html5.get(name + ";")
        return "".join(f"&#{ord(c)};" for c in chars) if chars else "&amp;" + name + ";"

    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", numeric, markup)


def _math(body: str, block: bool = False) -> str:
    display = ' display="block"' if block else ""
    return f"<math{display}>{body}</math>"


# ---------------------------------------------------------------- MathML


_NUMBER_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(?:e([+\-−]?)0*(\d+))?|([A-Za-z]+)|(\S)")


def mathml_number(text: str) -> str:
    """A number printed by :class:`NumberFormat` (``"−2"``, ``"2 − i"``, ``"1e-15"``) as MathML.

    Examples
    --------
    >>> mathml_number("−1.5e-16")
    '<mrow><mo>−</mo><mn>1.5</mn><mo>×</mo><msup><mn>10</mn><mn>−16</mn></msup></mrow>'
    """
    out = []
    for m in _NUMBER_TOKEN.finditer(text):
        number, sign, exponent, word, other = m.groups()
        if number:
            out.append(f"<mn>{number}</mn>")
            if exponent:
                minus = "−" if sign in ("-", "−") and sign else ""
                out.append(f"<mo>×</mo><msup><mn>10</mn><mn>{minus}{exponent}</mn></msup>")
        elif word:
            out.append(f"<mi>{_escape(word)}</mi>")
        elif other in ("∞",):
            out.append("<mi>∞</mi>")
        else:
            out.append(f"<mo>{_escape(other)}</mo>")
    return "<mrow>" + "".join(out) + "</mrow>"


def mathml_name(text: str) -> str:
    """A short Unicode maths name (``"Σ"``, ``"AᵀA"``, ``"A − λI"``, ``"σ₁"``) as MathML.

    Single letters are variables (``<mi>A</mi>``); a run of lower-case letters is a
    word or an operator name (``rref``, ``basis``), one upright ``<mi>``.

    Examples
    --------
    >>> mathml_name("rref(Aᵀ)")
    '<mrow><mi>rref</mi><mo>(</mo><msup><mi>A</mi><mi>T</mi></msup><mo>)</mo></mrow>'
    """
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in SUPERSCRIPTS or c in SUBSCRIPTS:
            table, tag = (SUPERSCRIPTS, "msup") if c in SUPERSCRIPTS else (SUBSCRIPTS, "msub")
            j = i
            while j < n and text[j] in table:
                j += 1
            raised = "".join(_plain(table[ch]) for ch in text[i:j])
            base = items.pop() if items else "<mrow></mrow>"
            items.append(f"<{tag}>{base}<mi>{_escape(raised)}</mi></{tag}>")
            i = j
        elif c.isdigit():
            j = i
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            items.append(f"<mn>{text[i:j]}</mn>")
            i = j
        elif (
            c.isascii()
            and c.islower()
            and text[i + 1 : i + 2].isascii()
            and (text[i + 1 : i + 2].islower())
        ):  # a word ("rref", "basis"): one upright identifier, as LaTeX's \mathrm
            j = i
            while j < n and text[j].isascii() and text[j].islower():
                j += 1
            items.append(f"<mi>{text[i:j]}</mi>")
            i = j
        elif c.isalpha():
            items.append(f"<mi>{_escape(c)}</mi>")
            i += 1
        elif c.isspace():
            i += 1
        else:
            items.append(f"<mo>{_escape(c)}</mo>")
            i += 1
    return "<mrow>" + "".join(items) + "</mrow>"


def _plain(latexish: str) -> str:
    """``\\mathsf{T}`` → ``T`` (superscript tables are shared with the LaTeX renderer)."""
    return re.sub(r"\\mathsf\{(.)\}", r"\1", latexish)


def mathml_value(x: Any, fmt: NumberFormat | None = None) -> str:
    """A value (SymPy, integer, float, complex or text) as MathML (without ``<math>``)."""
    fmt = fmt or NumberFormat()
    if isinstance(x, enum.Enum):
        x = x.value
    if isinstance(x, Fraction):
        sign = "<mo>−</mo>" if x < 0 else ""
        fraction = f"<mfrac><mn>{abs(x.numerator)}</mn><mn>{x.denominator}</mn></mfrac>"
        return f"<mrow>{sign}{fraction}</mrow>" if x.denominator != 1 else mathml_number(str(x))
    if is_sympy(x):
        from svdkit.exact.format import to_mathml

        if getattr(x, "is_Matrix", False):
            grid = matrix_entries(
                x, lambda v: mathml_value(v, fmt), lambda v: mathml_number(fmt.number(v))
            )
            return mathml_matrix(grid)
        # i and − as the report's own MathML writes them; "≈" before an approximation
        return _xml_entities(to_mathml(x))
    if isinstance(x, bool | np.bool_):
        return f"<mtext>{str(bool(x)).lower()}</mtext>"
    if isinstance(x, int | np.integer):
        return mathml_number(str(int(x)).replace("-", "−"))
    if isinstance(x, float | complex | np.floating | np.complexfloating):
        return mathml_number(fmt.number(x))
    if isinstance(x, str):
        if all(
            ch in MATH_SYMBOLS or ch in SUPERSCRIPTS or ch in SUBSCRIPTS or ch.isascii() for ch in x
        ):
            return mathml_name(x)
        return f"<mtext>{_escape(x)}</mtext>"
    return f"<mtext>{_escape(str(x))}</mtext>"


def mathml_matrix(grid: list[list[str]]) -> str:
    """A bracketed ``<mtable>`` from rows of MathML entries (an empty basis is ``[ ]``)."""
    if not grid or not grid[0]:
        return '<mrow><mo>[</mo><mspace width="0.6em"></mspace><mo>]</mo></mrow>'
    rows = "".join("<mtr>" + "".join(f"<mtd>{c}</mtd>" for c in row) + "</mtr>" for row in grid)
    return f"<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>"


_MATHML_DOTS = Dots("<mo>⋯</mo>", "<mo>⋮</mo>", "<mo>⋱</mo>")
"""The gaps of a matrix shown in part (:mod:`~svdkit.explain.elision`), in MathML."""


def _number_matrix(a: np.ndarray, fmt: NumberFormat) -> str:
    """A MathML matrix of ``a``'s entries; of its corners when it is large."""
    return mathml_matrix(corner_grid(a, lambda v: mathml_number(fmt.number(v)), _MATHML_DOTS))


# ---------------------------------------------------------------- page


def _sentence_value(value: Any, fmt: NumberFormat, lang: str) -> str:
    """A placeholder value inside a sentence: exact values as MathML, the rest as text."""
    if is_sympy(value):
        return _math(mathml_value(value, fmt))
    return _escape(value_text(value, fmt, lang))


def _steps(report: Report, steps, fmt: NumberFormat) -> list[str]:
    out = ['<ol class="steps">']
    for step in steps:
        sentence = step_sentence(
            report, step, _escape, lambda v: _sentence_value(v, fmt, report.lang)
        )
        out.append(f"<li><p>{sentence}</p>")
        if step.formula is not None:
            out.append(_math(mathml_value(step.formula, fmt), block=True))
        for name, m in step.matrices.items():
            grid = matrix_entries(
                m, lambda v: mathml_value(v, fmt), lambda v: mathml_number(fmt.number(v))
            )
            subject, relation = matrix_relation(name)
            named = mathml_name(matrix_name(report, subject))
            drawn = f"<mrow>{named}<mo>{relation}</mo>{mathml_matrix(grid)}</mrow>"
            out.append(_math(drawn, block=True))
        out.append("</li>")
    out.append("</ol>")
    return out


def _section(report: Report, sec, fmt: NumberFormat) -> list[str]:
    lang = report.lang
    out = [
        f'<section id="{_attribute(sec.id)}">',
        f"<h2>{_escape(section_title(report, sec))}</h2>",
    ]
    if not sec.applies:
        reason = template(lang, f"reason.{sec.reason}")
        text = fill(template(lang, "not_applicable"), {"reason": reason}, _escape, _escape)
        return [*out, f'<p class="na">{text}</p>', "</section>"]
    rows = []
    for fact in sec.facts:
        ffmt = fact_format(report, fact.key)
        value = fact.value
        head = f'<th scope="row">{_escape(label(report, fact.key))}</th>'
        if isinstance(value, np.ndarray) and value.ndim == 2:
            rows.append(f"<tr>{head}<td>{_math(_number_matrix(value, ffmt))}</td></tr>")
        elif fact.key == "criteria" and isinstance(value, dict):
            items = "".join(
                f"<li><strong>{_escape(name)}</strong>{_escape(colon(lang))}{_escape(kind)}"
                + (f". {_escape(explanation)}" if explanation else "")
                + "</li>"
                for name, kind, explanation in criteria_rows(report, value)
            )
            rows.append(f'<tr>{head}<td><ul class="criteria">{items}</ul></td></tr>')
        else:
            rows.append(f"<tr>{head}<td>{_escape(fact_value_text(report, fact, ffmt))}</td></tr>")
    if rows:
        out += ['<table class="facts">', "<tbody>", *rows, "</tbody>", "</table>"]
    if sec.steps:
        out += _steps(report, sec.steps, fmt)
    return [*out, "</section>"]


#: The second line of every report (a comment): ``svdkit explain -o`` replaces an
#: existing ``.html`` file only when its first two lines are the doctype and this.
REPORT_MARK = "<!-- written by svdkit explain -->"


def render_html(report: Report) -> str:
    """The report as a complete HTML5 document (UTF-8)."""
    fmt = number_format(report)
    lang = report.lang
    threshold = NumberFormat(digits=3).number  # "1.33e−15", with the report's minus sign
    heading, tolerance = heading_lines(report, _escape, _escape, lambda t: _escape(threshold(t)))
    title = _escape(template(lang, "title"))
    lines = [
        "<!DOCTYPE html>",
        REPORT_MARK,
        f'<html lang="{_attribute(lang)}">',
        "<head>",
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{title}</h1>",
        f'<p class="lead">{heading}</p>',
        f'<p class="tolerance">{tolerance}</p>',
    ]
    if has_elided(report):
        lines.append(f'<p class="tolerance elided">{elision_note(lang, _escape, _escape)}</p>')
    for sec in report.sections:
        lines += _section(report, sec, fmt)
    if report.notes:
        lines += ['<section id="notes">', f"<h2>{_escape(template(lang, 'section.notes'))}</h2>"]
        for note in report.notes:
            lines.append(
                f'<aside class="note" id="note-{_attribute(note.id)}">'
                f"<p><strong>⚠</strong> {_escape(note.text)}</p></aside>"
            )
        lines.append("</section>")
    lines += ["</main>", "</body>", "</html>", ""]
    return "\n".join(lines)
