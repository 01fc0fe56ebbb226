"""Learner review of ``svdkit explain``: exact values in LaTeX, rich markup in the terminal.

1. The LaTeX fact tables printed the exact values through the prose converter,
   which split them at spaces: ``√(3/2 + √5/2)`` became ``$\\sqrt{3/2}$ +
   $\\sqrt{5}/2)$`` (σ₁ read √(3/2) + √5/2 ≈ 2.34 instead of ≈ 1.618). The exact σ,
   U and Vᴴ are read back from the LaTeX here and checked against NumPy.
2. The terminal page handed report text to rich as markup: ``[i/3, 2/3]``, a row
   of an exact complex inverse, was taken for an italic tag and vanished.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from latex_support import compile_latex
from sympy.parsing.sympy_parser import parse_expr

from svdkit.explain import explain, render
from svdkit.explain.model import Fact, Note
from svdkit.explain.render_latex import exact_latex
from svdkit.explain.render_terminal import render_terminal

MATRICES = {
    "shear": [[1, 1], [0, 1]],
    "rank2": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    "symmetric": [[2, 1], [1, 2]],
    "tall": [[1, 2], [3, 4], [5, 6]],
    "radicals": [[1, 0, 1], [0, 2, 0], [1, 0, 1]],
}


# ---------------------------------------------------------------- LaTeX → SymPy


def _balanced(tex: str) -> bool:
    depth = {"{": 0, "(": 0, "[": 0}
    close = {"}": "{", ")": "(", "]": "["}
    for k, c in enumerate(tex):
        if k and tex[k - 1] == "\\":
            continue
        if c in depth:
            depth[c] += 1
        elif c in close:
            depth[close[c]] -= 1
            if depth[close[c]] < 0:
                return False
    return not any(depth.values())


def _from_latex(tex: str):
    """The exact value of the LaTeX :func:`exact_latex` writes (radicals, i, fractions)."""
    body = tex.replace(r"\allowbreak", " ").replace(r"\sqrt{", "sqrt{")
    body = body.replace("{", "(").replace("}", ")")
    assert "\\" not in body, f"unexpected LaTeX command in {tex!r}"
    body = re.sub(r"(?<=[0-9)i])\s*(?=sqrt|\(|i\b|i(?=sqrt))", "*", body)  # 2√5, )√(, i√2
    return parse_expr(body, local_dict={"i": sp.I, "sqrt": sp.sqrt})


def _latex_fact(tex: str, label_text: str) -> str:
    """The maths of the table row whose label cell is ``label_text``."""
    for line in tex.splitlines():
        if line.startswith(label_text + " & "):
            cell = line[len(label_text) + 3 :].removesuffix(r" \\")
            assert cell.startswith("$") and cell.endswith("$"), cell
            assert cell.count("$") == 2, f"the value is cut into several formulas: {cell}"
            return cell[1:-1]
    raise AssertionError(f"no row {label_text!r} in the LaTeX")


def _numbers(value) -> np.ndarray:
    return np.array(sp.Matrix(value).evalf(30).tolist(), dtype=complex)


@pytest.fixture(scope="module")
def latex_reports() -> dict[str, tuple[np.ndarray, str]]:
    return {
        name: (np.array(a, dtype=float), render(explain(a, steps=True), "latex"))
        for name, a in MATRICES.items()
    }


@pytest.mark.parametrize("name", list(MATRICES))
def test_latex_exact_singular_values_are_the_singular_values(latex_reports, name):
    a, tex = latex_reports[name]
    cell = _latex_fact(tex, r"$\sigma$ (exact)")
    assert _balanced(cell), cell
    s = _numbers(list(_from_latex(cell))).ravel()
    np.testing.assert_allclose(s.imag, 0, atol=1e-12)
    np.testing.assert_allclose(s.real, np.linalg.svd(a, compute_uv=False), atol=1e-10)


@pytest.mark.parametrize("name", list(MATRICES))
def test_latex_exact_svd_rebuilds_the_matrix(latex_reports, name):
    a, tex = latex_reports[name]
    s = _numbers(list(_from_latex(_latex_fact(tex, r"$\sigma$ (exact)")))).ravel()
    cells = [
        line.split(" & ", 1)[1].removesuffix(r" \\")[1:-1]
        for line in tex.splitlines()
        if line.startswith(("$U$ (exact", r"$V^{\mathsf{H}}$ (exact"))
    ]
    assert len(cells) == 2
    for cell in cells:
        assert _balanced(cell), cell
    u, vh = (_numbers(_from_latex(c)) for c in cells)
    k = len(s)
    np.testing.assert_allclose((u[:, :k] * s) @ vh[:k], a, atol=1e-9)
    np.testing.assert_allclose(u.conj().T @ u, np.eye(u.shape[1]), atol=1e-9)


def test_latex_radical_keeps_its_whole_argument(latex_reports):
    _, tex = latex_reports["shear"]
    cell = _latex_fact(tex, r"$\sigma$ (exact)")
    assert r"\sqrt{3/2 + \sqrt{5}/2}" in cell
    assert r"\sqrt{3/2 - \sqrt{5}/2}" in cell
    assert "))" not in cell
    # the value is no longer printed as prose: no formula closes inside it
    assert r"$\sqrt{3/2}$" not in tex


@pytest.mark.parametrize("name", list(MATRICES))
def test_latex_every_exact_cell_is_one_balanced_formula(latex_reports, name):
    _, tex = latex_reports[name]
    rows = [line for line in tex.splitlines() if "(exact" in line.split(" & ")[0] and " & " in line]
    assert rows
    for row in rows:
        cell = row.split(" & ", 1)[1].removesuffix(r" \\")
        if cell == "[ ]":  # an empty basis
            continue
        assert cell.count("$") == 2 and cell.startswith("$") and cell.endswith("$"), row
        assert _balanced(cell[1:-1]), row
        _from_latex(cell[1:-1])  # a well-formed value


def test_exact_latex_breaks_only_outside_radicals():
    tex = exact_latex("(√(3/2 + √5/2), √(3/2 − √5/2))")
    assert tex == r"(\sqrt{3/2 + \sqrt{5}/2},\allowbreak \sqrt{3/2 - \sqrt{5}/2})"
    tex = exact_latex("[[(1 + √5)/√(10 − 2√5), √(a, b)]]")
    assert r"\sqrt{a, b}" in tex  # no break inside a radical
    assert r")/\allowbreak\sqrt{10 - 2\sqrt{5}}" in tex
    assert exact_latex("∛(2 + √3)") == r"\sqrt[3]{2 + \sqrt{3}}"
    assert exact_latex("−i√2/2") == r"-i\sqrt{2}/2"


def test_latex_with_long_exact_values_compiles_without_overfull_lines(latex_reports, tmp_path):
    for name in ("shear", "rank2"):
        _, tex = latex_reports[name]
        _, log = compile_latex(tex, tmp_path, name)
        assert "Overfull \\hbox" not in log, name  # long values break, none runs off the page


# ---------------------------------------------------------------- terminal


def test_terminal_keeps_every_row_of_exact_complex_matrices():
    report = explain("[[2, 1j], [-1j, 2]]")
    inverse = report.section("inverse").fact("inverse_exact")
    q = report.section("eigen").fact("spectral_Q_exact")
    assert inverse == "[[2/3, −i/3], [i/3, 2/3]]"
    assert q == "[[√2/2, √2/2], [i√2/2, −i√2/2]]"
    text = render(report, "terminal")
    flat = re.sub(r"\s+", " ", text)
    for value in (inverse, q):
        assert value in flat
    for sec in report.sections:  # every exact value, whole
        for fact in sec.facts:
            if fact.key.endswith("_exact") and fact.value != "[[], []]":
                assert str(fact.value) in flat, fact.key
    assert "], ]" not in text


def test_terminal_does_not_read_report_text_as_markup():
    report = explain("[[2, 1j], [-1j, 2]]")
    tricky = "[b]bold[/b] [/] [i]x[/i] [red]y [link=z]w :smile:"
    report.section("svd").facts.append(Fact("exact_error", tricky))
    report.notes.append(Note("custom", f"note {tricky}"))
    text = render_terminal(report, width=200)
    assert tricky in text
    assert f"⚠ note {tricky}" in text


def test_terminal_section_titles_and_labels_are_literal(monkeypatch):
    import svdkit.explain.render_terminal as rt

    assert rt.render_terminal is render_terminal
    report = explain("[[1, 2], [3, 4]]", steps=False)
    monkeypatch.setattr(rt, "section_title", lambda report, sec: f"[b]{sec.id}[/b]")
    monkeypatch.setattr(rt, "label", lambda report, key: f"[i]{key}[/i]")
    text = rt.render_terminal(report, width=200)
    assert "[b]svd[/b]" in text
    assert "[i]singular_values[/i]" in text
