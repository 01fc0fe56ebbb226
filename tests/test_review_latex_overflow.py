"""Review of the LaTeX report: long inline formulas in step sentences and the displays of
steps stay within the page.

A formula inside a sentence (``‖w‖ = 2√(…)`` of a 2×3 matrix with radicals) is one box
that TeX cannot break; a step's display (the product ``A A⁻¹`` of a complex 4×4 matrix)
was written without ``\\svdfit``. Each test checks pdflatex's log, not a stored copy of
the output.
"""

from __future__ import annotations

import re

import pytest
from latex_support import compile_latex

from svdkit.explain import explain, render
from svdkit.explain.render_latex import _unboxed, _widest_box

WIDE = {
    "radicals": "[[-sqrt(3),2*sqrt(2),1/2],[2*sqrt(2),2*sqrt(2),sqrt(2)]]",
    "radicals_small": "[[sqrt(2),-sqrt(3),1/2],[1/2,1/2,1/2]]",
    "complex_inverse": "[[2j,1,-1+1j,-1],[1+3j,2j,1j,-2],[1j,3,-2+2j,1],[-2,0+3j,2+3j,-1]]",
}


def _overfull(log: str) -> list[float]:
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]


@pytest.mark.parametrize("name", list(WIDE))
def test_latex_step_formulas_stay_within_the_page(name, tmp_path):
    tex = render(explain(WIDE[name]), "latex")
    _, log = compile_latex(tex, tmp_path, name)
    widths = _overfull(log)
    assert max(widths, default=0.0) <= 1.0, (name, len(widths), max(widths, default=0.0))


def test_every_step_display_is_fitted_to_the_line():
    tex = render(explain(WIDE["complex_inverse"]), "latex")
    assert "\\[" not in tex.splitlines()  # each display goes through \svdfit
    assert tex.count("\\svdfit{$\\displaystyle") >= tex.count("\\begin{center}")


def test_long_unbreakable_inline_formula_goes_to_a_fitted_display():
    tex = render(explain(WIDE["radicals"]), "latex")
    item = next(line for line in tex.splitlines() if "is the eigenvector" in line)
    assert "\\|w\\|" not in item  # the norm's formula left the sentence
    norm = next(line for line in tex.splitlines() if "\\|w\\| = 2 \\sqrt{" in line)
    assert norm.startswith("\\svdfit{$\\displaystyle") and norm.endswith(".$}")


def test_short_and_breakable_inline_formulas_stay_inline():
    assert _unboxed(r"with $\sigma_{1} = \sqrt{2}$.") == r"with $\sigma_{1} = \sqrt{2}$."
    breakable = "$" + r"1 + \sqrt{2},\allowbreak " * 60 + "$"
    assert _unboxed(breakable) == breakable  # exact_latex's values break across lines
    long_but_open = "$" + " + ".join([r"\sqrt{2}"] * 80) + "$"
    assert _unboxed(long_but_open) == long_but_open  # TeX breaks it after a +


def test_widest_box_measures_groups_and_delimiters():
    assert _widest_box(r"x + y") == 0
    assert _widest_box(r"\frac{1}{2} + \sqrt{3}") == len("{1}{2}")
    assert _widest_box(r"\left(a + b\right) \to c") == len("(a + b\\right)")
    assert _widest_box(r"\{ a \} \sqrt{1}") == len("{1}")
