"""``svdkit explain``: everything the notes say about one matrix, as a report.

Build a :class:`~svdkit.explain.model.Report` with :func:`explain`, then render it
as a terminal page, Markdown, JSON, LaTeX or HTML with :func:`render`. A report is
for a person to read: matrices of more than :data:`MAX_DIMENSION` rows or columns
are refused before any computation (use :func:`svdkit.svd` with ``k`` for those).

Examples
--------
>>> from svdkit.explain import explain, render
>>> text = render(explain("[[3, 0], [0, -2]]"), "markdown")
>>> "## Singular value decomposition" in text
True
"""

from __future__ import annotations

from svdkit.errors import SvdkitError, require_instance
from svdkit.explain.build import MAX_DIMENSION, explain
from svdkit.explain.model import Report

__all__ = ["FORMATS", "MAX_DIMENSION", "explain", "render"]

FORMATS = ("terminal", "markdown", "json", "latex", "html")


def render(report: Report, format: str = "terminal") -> str:
    r"""The report as text in ``format``: one of :data:`FORMATS`.

    ``"terminal"`` (plain text of the rich page), ``"markdown"``, ``"json"``
    (docs/explain-json.md), ``"latex"`` (a standalone document for pdflatex) or
    ``"html"`` (one self-contained HTML5 page with MathML).

    Examples
    --------
    One report of a rank-1 matrix, rendered in each format; the JSON carries the
    numbers (and their exact forms) the other formats write out:

    >>> import json
    >>> from svdkit.explain import explain
    >>> report = explain("[[1, 2], [2, 4]]")
    >>> doc = json.loads(render(report, "json"))
    >>> facts = {section["id"]: section["facts"] for section in doc["sections"]}
    >>> facts["measures"]["rank"], facts["measures"]["determinant_exact"]
    (1, '0')
    >>> facts["svd"]["singular_values_exact"], facts["inverse"]["pseudo_inverse_exact"]
    ('(5, 0)', '[[1/25, 2/25], [2/25, 4/25]]')
    >>> render(report, "latex").startswith(r"\documentclass")
    True
    >>> render(report, "html").startswith("<!DOCTYPE html>")
    True
    >>> render(report, "pdf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: unknown format 'pdf': use one of terminal, markdown, json, ...
    >>> render(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    svdkit.errors.SvdkitError: report must be a Report (...); got NoneType
    """
    require_instance(report, Report, "report", "svdkit.explain.explain(A) makes one")
    if format == "terminal":
        from svdkit.explain.render_terminal import render_terminal

        return render_terminal(report)
    if format == "markdown":
        from svdkit.explain.render_markdown import render_markdown

        return render_markdown(report)
    if format == "json":
        from svdkit.explain.render_json import render_json

        return render_json(report)
    if format == "latex":
        from svdkit.explain.render_latex import render_latex

        return render_latex(report)
    if format == "html":
        from svdkit.explain.render_html import render_html

        return render_html(report)
    raise SvdkitError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
