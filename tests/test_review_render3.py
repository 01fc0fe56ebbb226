"""Review of the explain renderers (third round): Markdown list items, approximate values,
determinants beyond float64, SymPy's MathML notation, long exact values in LaTeX and
scripts in SymPy's LaTeX.

Each test checks a property (the CommonMark structure, the digits of every number,
parsing of the JSON, pdflatex's log), not a stored copy of the output.
"""

from __future__ import annotations

import decimal
import json
import re
import xml.dom.minidom

import pytest
from latex_support import compile_latex
from markdown_it import MarkdownIt

from svdkit.explain import explain, render

FORMATS = ("terminal", "markdown", "html", "latex", "json")

#: Matrices whose characteristic polynomials have no radical roots: SymPy Floats.
APPROXIMATE = ("[[2,1,0],[1,3,1],[0,1,1]]", "[[2,1-1j,0],[1+1j,3,1j],[0,-1j,1]]")

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def sym2_markdown() -> str:
    return render(explain("[[2,1],[1,2]]"), "markdown")


# ---------------------------------------------------------------- 1. Markdown list items


def _section_html(markdown: str) -> list[str]:
    html = MarkdownIt("commonmark").render(markdown)
    return html.split("<h2>")[1:]


def test_markdown_steps_of_a_section_form_one_list_with_every_formula_inside(sym2_markdown):
    """From step 10 on the marker ``10. `` is 4 wide: a 3-space indent left the formula out."""
    counts = [len(re.findall(r"^\d+\. ", part, re.M)) for part in sym2_markdown.split("\n## ")]
    assert max(counts) >= 10  # the case of the defect is there
    for part in _section_html(sym2_markdown):
        if "<ol" not in part:
            continue
        assert part.count("<ol") == 1
        inside = part[part.index("<ol") : part.index("</ol>")]
        after = part[part.index("</ol>") :]
        assert "$$" not in after  # every step formula stays in its item
        for item in inside.split("<li>")[1:]:
            assert item.count("$$") % 2 == 0


def test_markdown_step_continuations_are_indented_by_their_marker(sym2_markdown):
    marker = ""
    for line in sym2_markdown.splitlines():
        if m := re.match(r"^(\d+\. )", line):
            marker = m.group(1)
        elif line.lstrip().startswith("$$") and marker:
            assert len(line) - len(line.lstrip()) == len(marker)
        elif line.startswith("#"):
            marker = ""


# ---------------------------------------------------------------- 2. approximate values


@pytest.fixture(scope="module")
def approximate_outputs() -> dict[tuple[str, str], str]:
    reports = {text: explain(text) for text in APPROXIMATE}
    return {(text, f): render(r, f) for text, r in reports.items() for f in FORMATS}


def _significant(number: str) -> int:
    return len(number.replace(".", "").lstrip("0"))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", APPROXIMATE)
def test_approximate_values_have_at_most_17_significant_digits(approximate_outputs, text, fmt):
    out = approximate_outputs[text, fmt]
    assert "≈" in out or r"\approx" in out  # approximate values are there
    longest = max(_significant(n) for n in _NUMBER.findall(out))
    assert longest <= 17, fmt


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "json"])
def test_approximate_text_has_one_mark_per_value(approximate_outputs, fmt):
    out = approximate_outputs[APPROXIMATE[1], fmt]
    assert "−≈" not in out and "+ ≈" not in out and "− ≈" not in out
    assert "≈−0.707106781186548 + 0.707106781186548i" in out  # one mark, the whole value


def test_approximate_latex_has_one_mark_per_value(approximate_outputs):
    out = approximate_outputs[APPROXIMATE[1], "latex"]
    assert not re.search(r"[-+] *\\approx", out)
    assert r"\approx -0.707106781186548 + 0.707106781186548 i" in out


def test_approximate_html_marks_complex_values_too(approximate_outputs):
    out = approximate_outputs[APPROXIMATE[1], "html"]
    dom = xml.dom.minidom.parseString(out.removeprefix("<!DOCTYPE html>\n"))
    for mtd in dom.getElementsByTagName("mtd"):
        text = "".join(n.toxml() for n in mtd.childNodes)
        if re.search(r"<mn>\d\.\d{10,}</mn>", text):  # an approximation in a step matrix
            assert text.startswith("<mrow><mo>≈</mo>") and text.count("≈") == 1, text
    assert "≈</mo><mrow><mrow><mo>−</mo><mn>0.707106781186548</mn>" in out


def test_approximate_json_values_parse_with_sympy_at_15_digits(approximate_outputs):
    import sympy

    data = json.loads(approximate_outputs[APPROXIMATE[0], "json"])
    eigen = next(s for s in data["sections"] if s["id"] == "eigen")
    values = [v for st in eigen["steps"] for v in st["values"].values() if "." in v]
    assert values
    for v in values:
        x = sympy.sympify(v)
        assert all(_significant(n) <= 15 for n in _NUMBER.findall(v)), v
        assert x.has(sympy.Float)


# ---------------------------------------------------------------- 3. det A beyond float64


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("[[1e-300,0],[0,2e-300]]", decimal.Decimal("2e-600")),
        ("[[1e300,0],[0,1e300]]", decimal.Decimal("1e600")),
        ("[[-1e300,0],[0,1e300]]", decimal.Decimal("-1e600")),
    ],
)
def test_determinant_beyond_float64_is_ascii_decimal_in_json(text, exact):
    data = json.loads(render(explain(text, steps=False), "json"))
    det = next(s for s in data["sections"] if s["id"] == "measures")["facts"]["determinant"]
    assert isinstance(det, str) and det.isascii()
    assert decimal.Decimal(det) == exact
    float(det)  # Python reads it (as 0 or ±inf) without error


def test_complex_determinant_beyond_float64_has_parts():
    data = json.loads(render(explain("[[1e300j,0],[0,1e300]]", steps=False), "json"))
    det = next(s for s in data["sections"] if s["id"] == "measures")["facts"]["determinant"]
    assert decimal.Decimal(det["real"]) == 0
    assert decimal.Decimal(det["imag"]) == decimal.Decimal("1e600")


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("[[1e-300,0],[0,2e-300]]", r"2 \cdot 10^{-600}"),
        ("[[1e300,0],[0,1e300]]", r"1 \cdot 10^{600}"),
    ],
)
def test_determinant_beyond_float64_in_latex_is_a_power_of_ten(text, latex):
    tex = render(explain(text, steps=False), "latex")
    row = next(line for line in tex.splitlines() if line.startswith("determinant"))
    assert f"${latex}$" in row
    assert not re.search(r"\de[+-]", tex)  # no e-notation anywhere, as the trace


def test_determinant_beyond_float64_stays_readable_for_people():
    report = explain("[[1e-300,0],[0,2e-300]]", steps=False)
    for fmt in ("terminal", "markdown", "html"):
        assert "2e−600" in render(report, fmt)


# ---------------------------------------------------------------- 4. MathML notation


@pytest.mark.parametrize("text", ["[[2, 1j], [-1j, 2]]", "[[-3]]"])
def test_html_mathml_uses_the_reports_i_and_minus(text):
    out = render(explain(text), "html")
    xml.dom.minidom.parseString(out.removeprefix("<!DOCTYPE html>\n"))  # well-formed
    assert "&#8520;" not in out and "ⅈ" not in out and "&ImaginaryI;" not in out
    assert "<mn>-" not in out and "<mo>-</mo>" not in out
    assert "<mo>−</mo>" in out


def test_html_mathml_of_complex_exact_values_uses_i():
    out = render(explain("[[2, 1j], [-1j, 2]]"), "html")
    assert "<mi>i</mi>" in out


# ---------------------------------------------------------------- 5. long values in LaTeX

LONG = {
    "big20": "[[1e20,1],[1,1]]",
    "huge": "[[1e300,0],[0,1e300]]",
    "tiny": "[[1e-300,0],[0,2e-300]]",
    "small20": "[[1e-20,0],[0,1]]",
}


@pytest.mark.parametrize("name", list(LONG))
def test_latex_long_exact_values_stay_within_the_page(name, tmp_path):
    tex = render(explain(LONG[name]), "latex")
    _, log = compile_latex(tex, tmp_path, name)
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert max(widths, default=0.0) <= 1.0, (name, len(widths), max(widths, default=0.0))
    assert "Overfull \\vbox" not in log  # no table row taller than the page either


def test_exact_powers_of_ten_print_compactly_and_exactly():
    import sympy as sp

    from svdkit.exact.format import to_latex, to_text

    big = sp.Integer(10) ** 600
    assert to_text(2 * big) == "2·10⁶⁰⁰" and to_latex(2 * big) == r"2 \cdot 10^{600}"
    assert to_text(1 / (2 * big)) == "1/(2·10⁶⁰⁰)"
    assert to_text(sp.Integer(10**20 + 1)) == str(10**20 + 1)  # no zeros at its end
    report = explain(LONG["huge"])
    assert report.section("measures").fact("determinant_exact") == "10⁶⁰⁰"


def test_html_fact_cells_break_long_values():
    out = render(explain("[[1, 2], [3, 4]]", steps=False), "html")
    assert re.search(r"table\.facts td \{[^}]*overflow-wrap: anywhere", out)


# ---------------------------------------------------------------- 6. scripts in SymPy LaTeX


def test_markdown_scripts_attach_to_their_letter(sym2_markdown):
    assert "{{}_" not in sym2_markdown and "{{}^" not in sym2_markdown
    assert r"u_{1} = Av_{1}/" in sym2_markdown
    html = MarkdownIt("commonmark").render(sym2_markdown)
    for block in re.findall(r"\$\$(.*?)\$\$", html, re.S):
        assert "<em>" not in block and "</em>" not in block


def test_latex_scripts_attach_to_their_letter():
    from svdkit.explain.render_latex import _ascii_latex

    assert _ascii_latex("u₁ = Av₁/σ₁") == r"u_{1} = Av_{1}/{\sigma_{1}}"
    assert _ascii_latex("UΣVᴴ") == r"U{\Sigma}V^{\mathsf{H}}"
    assert _ascii_latex("Vᴴ^{2}") == r"V^{\mathsf{H}}{}^{2}"  # no double superscript
    tex = render(explain("[[2,1],[1,2]]"), "latex")
    assert "{{}_" not in tex and "{{}^" not in tex
