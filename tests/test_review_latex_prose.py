"""Formulas in the LaTeX steps stay whole.

``LL{T}`` was typeset ``$A =$ LL${}^{\\mathsf{T}}$`` (the factor in text, its
transpose mark apart), ``Ax = 0`` as ``Ax $= 0$``, ``xᵀAx = 2 > 0.`` left the 0 in
text, a sign ``+1`` placeholder stayed out of its formula, ``‖A‖∞`` lost its
subscript and Leibniz's ``a₁,σ(1)`` had only ``1`` as its index.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from latex_support import compile_latex

from svdkit.explain import explain, render
from svdkit.explain.render_latex import latex_math, latex_text


@pytest.fixture(scope="module")
def tex() -> str:
    return render(explain("2 1; 1 2"), "latex")


def test_cholesky_factor_and_its_transpose_are_one_formula(tex):
    assert r"try $A = LL^{\mathsf{T}}$ with" in tex
    assert r"exists, and $LL^{\mathsf{T}} = A$ holds" in tex
    assert "LL${}" not in tex


def test_products_before_a_relation_are_maths(tex):
    assert "free variable of $Ax = 0$" in tex
    assert latex_text("the system Ax = b has") == "the system $Ax = b$ has"
    assert latex_text("Le rang est 2") == "Le rang est 2"  # a capitalised word is no product


def test_numbers_closing_a_sentence_join_the_relation(tex):
    assert r"$x^{\mathsf{T}}Ax = 2 > 0$." in tex


def test_a_signed_number_placeholder_is_maths(tex):
    assert r"$\operatorname{sgn}(\sigma) = +1$;" in tex
    assert r"$\operatorname{sgn}(\sigma) = -1$;" in tex


def test_infinity_norm_subscript_and_leibniz_indices(tex):
    assert r"$\|A\|_{\infty} = 3$" in tex
    assert r"a_{1,\sigma(1)} \cdots a_{n,\sigma(n)}" in tex
    assert latex_math("‖x‖∞") == r"\|x\|_{\infty}"
    assert latex_math("∞") == r"\infty"


def test_terminal_text_is_unchanged_by_the_transpose_marks():
    text = " ".join(render(explain("2 1; 1 2"), "terminal").split())
    assert "try A = LLᵀ with L lower triangular" in text
    assert "gives xᵀAx = " in text
    text = " ".join(render(explain("2 1j; -1j 2"), "terminal").split())
    assert "try A = LLᴴ with L lower triangular" in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reports_compile(tmp_path, lang):
    for k, matrix in enumerate(["2 1; 1 2", "0 0; 0 0", "1 2 3; 4 5 6"]):
        compile_latex(render(explain(matrix, lang=lang), "latex"), tmp_path, f"r{k}")


def test_a_12x12_report_stays_within_the_page(tmp_path):
    """Its complex eigenvalues (a vector in a table cell, one unbreakable \\left( … \\right)
    box) ran 351 pt into the margin, its eigenvector matrix (7 complex columns, not
    scaled below 9 columns) 262 pt."""
    A = np.random.default_rng(0).standard_normal((12, 12))
    tex = render(explain(A), "latex")
    _, log = compile_latex(tex, tmp_path, "twelve")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox \((.*?)\)", log)
    assert r"\svdfit{$\displaystyle" in tex
