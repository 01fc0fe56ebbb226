"""Every output format of the explain report, in English and French, with derivation steps.

LaTeX is compiled with pdflatex, HTML is parsed, French output is checked for
English sentences, and steps (built by hand, SymPy values, formula and
matrices) are rendered in every format.
"""

from __future__ import annotations

import json
import re
import string
import xml.etree.ElementTree as ET
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from latex_support import compile_latex

from svdkit.errors import SvdkitError
from svdkit.explain import FORMATS, explain, render
from svdkit.explain.messages import LANGUAGES, catalogue
from svdkit.explain.model import Fact, Note, Report, Section, Step
from svdkit.explain.render_html import mathml_number
from svdkit.explain.render_latex import (
    MATH_SYMBOLS,
    SUBSCRIPTS,
    SUPERSCRIPTS,
    TEXT_SYMBOLS,
    latex_math,
    latex_text,
)
from svdkit.explain.render_terminal import render_terminal
from svdkit.explain.render_text import exact_text, fill

LOCALES = Path(__file__).resolve().parents[1] / "svdkit" / "explain" / "locales"

CASES = {
    "notes_A": [[1, 2, 3], [4, 5, 6]],
    "tridiagonal": [[2, -1], [-1, 2]],
    "complex_hermitian": np.array([[2, 1j], [-1j, 2]]),
    "nilpotent": [[0, 1], [0, 0]],
    "sylvester_trap": [[0, 0], [0, -1]],
    "one_by_one": [[5]],
    "zero": [[0, 0], [0, 0]],
}
TEXT_FORMATS = ("terminal", "markdown", "latex", "html")
LANGS = ("en", "fr")



def _report(name: str, lang: str) -> Report:
    report = explain(CASES[name], lang=lang)
    report.lang = lang  # the language flows into the report; make sure of it
    return report


@pytest.fixture(scope="module")
def reports() -> dict[tuple[str, str], Report]:
    return {(name, lang): _report(name, lang) for name in CASES for lang in LANGS}


# ---------------------------------------------------------------- helpers


class _Collector(HTMLParser):
    """Tags and text of an HTML page (text of ``<style>`` left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def _parse_html(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def _compile(tex: str, tmp_path: Path, name: str) -> Path:
    """Compile ``tex`` with pdflatex; fail with the log's error lines when it does not."""
    return compile_latex(tex, tmp_path, name)[0]


def _visible_text(fmt: str, output: str) -> str:
    """The text a reader sees: for HTML the parsed text content, else the output itself."""
    if fmt == "html":
        return " ".join(_parse_html(output).text)
    return output


def _english_patterns(fmt: str) -> list[tuple[str, re.Pattern]]:
    """A pattern per English message whose French translation differs.

    Each message contributes its longest literal stretch between placeholders
    (at least two words of three letters or more) that its French translation
    does not contain: searched as plain text, so the check stays linear in the
    size of the output whatever the size of the catalogue.
    """
    en, fr = catalogue("en"), catalogue("fr")
    patterns = []
    for key, text in en.items():
        if fr.get(key) == text:
            continue
        chunks = [lit for lit, _, _, _ in string.Formatter().parse(text) if lit]
        chunks = [c.strip() for c in chunks if len(re.findall(r"[A-Za-z]{3,}", c)) >= 2]
        chunks = [c for c in chunks if c not in fr.get(key, "")]
        if not chunks:
            continue
        chunk = max(chunks, key=len)
        shown = latex_text(chunk) if fmt == "latex" else chunk
        patterns.append((key, re.compile(re.escape(shown))))
    return patterns


def _step_report(lang: str) -> Report:
    """A report built by hand whose SVD section holds derivation steps with SymPy objects."""
    lam = sp.Symbol("lambda")
    half = sp.sqrt(2) / 2
    a = np.array([[2.0, -1.0], [-1.0, 2.0]])
    steps = [
        # a catalogue sentence with a placeholder filled by an exact value
        Step(
            "note.reflection",
            {"det": -half},
            formula=sp.Eq(lam**2 - 4 * lam + 3, 0),
            matrices={
                "AᵀA": sp.Matrix([[5, -4], [-4, 5]]),
                "V": sp.Matrix([[half, -half], [half, half]]),
            },
        ),
        # a text placeholder, an integer formula, a floating-point matrix
        Step(
            "not_applicable",
            {"reason": "A"},
            formula=sp.Integer(3) / 7,
            matrices={"Σ": np.array([[3.0, 0.0], [0.0, 1.0]])},
        ),
        # a fraction and a tuple of exact values as placeholders
        Step("note.trace_eigenvalues", {"trace": Fraction(-1, 3), "sum": (1, sp.sqrt(2))}),
        # a key the catalogue does not have: shown as the key itself
        Step("svd.no_such_message", {"x": sp.Rational(1, 3)}),
    ]
    sections = [
        Section("input", facts=[Fact("shape", [2, 2]), Fact("field", "real"), Fact("matrix", a)]),
        Section("svd", facts=[Fact("singular_values", np.array([3.0, 1.0]))], steps=steps),
    ]
    return Report(matrix=a, tolerance=1e-15, sections=sections, lang=lang)


# ---------------------------------------------------------------- catalogues


def test_french_is_a_language_with_exactly_the_english_keys():
    assert "fr" in LANGUAGES
    en = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    fr = json.loads((LOCALES / "fr.json").read_text(encoding="utf-8"))
    assert set(fr) == set(en), {
        "missing": sorted(set(en) - set(fr)),
        "extra": sorted(set(fr) - set(en)),
    }
    for key, text in fr.items():
        assert isinstance(text, str) and text.strip(), key
        names = {n for _, n, _, _ in string.Formatter().parse(text) if n is not None}
        en_names = {n for _, n, _, _ in string.Formatter().parse(en[key]) if n is not None}
        assert names == en_names, f"{key}: placeholders {names} ≠ {en_names}"
    translated = [k for k in en if fr[k] != en[k]]
    assert len(translated) > 0.75 * len(en)


def test_every_catalogue_character_has_a_latex_form():
    known = set(MATH_SYMBOLS) | set(SUPERSCRIPTS) | set(SUBSCRIPTS) | set(TEXT_SYMBOLS)
    for lang in LANGUAGES:
        for key, text in catalogue(lang).items():
            for c in text:
                latin = ord(c) < 0x180 and c.isalpha()
                assert c.isascii() or latin or c in known, f"{lang} {key}: {c!r} ({ord(c):X})"


def test_every_catalogue_message_compiles_in_latex(tmp_path):
    """All messages of both languages, as prose with placeholders filled, in one document."""
    sample = {
        "shape": "2×3",
        "field": "x",
        "tol": "1e-15",
        "reason": "A",
        "rank": 2,
        "nonzero": 1,
        "kind": "négative",
        "m": 3,
        "n": 2,
        "det": "−2",
        "diag": "2, 3",
        "sigmas": "3, 2",
        "trace": "3",
        "sum": "3",
        "value": "−1",
    }
    for lang in LANGUAGES:
        notes = [Note(key, fill(text, sample, str, str)) for key, text in catalogue(lang).items()]
        notes.append(Note("specials", "50% & $5 # _x {y} ~z ^w \\ «guillemets» — “quotes”"))
        report = _step_report(lang)
        report.notes = notes
        tex = render(report, "latex")
        _compile(tex, tmp_path, f"catalogue_{lang}")
        assert r"50\%" in tex and r"\&" in tex and r"\$5" in tex and r"\#" in tex


# ---------------------------------------------------------------- the table of matrices


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(CASES))
def test_latex_document_compiles(name, lang, reports, tmp_path):
    report = reports[name, lang]
    tex = render(report, "latex")
    assert tex.startswith(r"\documentclass")
    for package in ("amsmath", "amssymb", "[T1]{fontenc}", "[utf8]{inputenc}", "babel"):
        assert package in tex
    assert {"en": "english", "fr": "french"}[lang] in tex
    assert r"\begin{bmatrix}" in tex and tex.rstrip().endswith(r"\end{document}")
    # maths is ASCII LaTeX: the only non-ASCII characters left are Latin letters (é, à, ç)
    odd = {c for c in tex if not (c.isascii() or (ord(c) < 0x180 and c.isalpha()))}
    assert not odd, f"{sorted(odd)} left in the LaTeX"
    assert tex.count(r"\svdremark{") == len(report.notes)
    _compile(tex, tmp_path, f"{name}_{lang}")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(CASES))
def test_html_page_is_self_contained_mathml(name, lang, reports):
    report = reports[name, lang]
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    parsed = _parse_html(page)
    tags = [tag for tag, _ in parsed.tags]
    html_attrs = dict(parsed.tags[0][1]) if parsed.tags[0][0] == "html" else {}
    assert html_attrs.get("lang") == lang
    assert "math" in tags and "mtable" in tags
    assert "<script" not in page.lower() and "script" not in tags
    assert "http" not in page.lower()
    assert not {"link", "img", "iframe", "object", "embed"} & set(tags)
    assert "src=" not in page and "url(" not in page
    # also well-formed XML (after the doctype), with one <math> per matrix fact at least
    root = ET.fromstring(page.split("\n", 1)[1])
    matrices = sum(
        isinstance(f.value, np.ndarray) and f.value.ndim == 2
        for s in report.sections
        for f in s.facts
    )
    assert len(root.findall(".//math")) >= matrices
    text = " ".join(parsed.text)
    for sec in report.sections:
        assert catalogue(lang)[f"section.{sec.id}"] in text
    for note in report.notes:
        assert note.text in text


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("name", list(CASES))
def test_french_output_has_no_english_message(name, fmt, reports):
    report = reports[name, "fr"]
    output = render_terminal(report, width=2000) if fmt == "terminal" else render(report, fmt)
    text = _visible_text(fmt, output)
    for key, pattern in _english_patterns(fmt):
        found = pattern.search(text)
        assert not found, f"English {key!r} in French {fmt}: {found.group()[:80]!r}"
    # and the French words are there
    fr = catalogue("fr")
    expected = fr["section.svd"] if fmt != "latex" else latex_text(fr["section.svd"])
    assert expected in text
    assert fr["yes"] in text or fr["no"] in text


def test_the_english_check_can_fail():
    """The French check finds an English sentence when there is one."""
    report = _report("nilpotent", "fr")
    report.lang = "en"  # English words in what should be French
    for fmt in TEXT_FORMATS:
        output = render_terminal(report, width=2000) if fmt == "terminal" else render(report, fmt)
        text = _visible_text(fmt, output)
        assert any(p.search(text) for _, p in _english_patterns(fmt)), fmt


@pytest.mark.parametrize("lang", LANGS)
def test_every_format_for_the_notes_example(lang, reports):
    report = reports["notes_A", lang]
    cat = catalogue(lang)
    for fmt in FORMATS:
        out = render(report, fmt)
        if fmt == "json":
            data = json.loads(out)
            assert data["lang"] == lang
            assert [s["id"] for s in data["sections"]] == [s.id for s in report.sections]
            assert [n["text"] for n in data["notes"]] == [n.text for n in report.notes]
        elif fmt in ("terminal", "markdown"):
            assert cat["section.svd"] in out
            assert "9.50803" in out  # σ₁ = √90.40267253
        elif fmt == "html":
            assert "<mn>9.50803</mn>" in out
        else:
            assert "9.50803" in out


def test_unknown_format_is_a_clear_error():
    with pytest.raises(SvdkitError, match="latex"):
        render(_report("one_by_one", "en"), "pdf")
    assert set(FORMATS) == {"terminal", "markdown", "json", "latex", "html"}


# ---------------------------------------------------------------- steps


@pytest.mark.parametrize("lang", LANGS)
def test_steps_render_in_every_format(lang, tmp_path):
    report = _step_report(lang)
    cat = catalogue(lang)
    half = sp.sqrt(2) / 2
    before, after = cat["note.reflection"].split("{det}")
    sentence = before + exact_text(-half) + after

    terminal = render_terminal(report, width=2000)
    assert sentence in terminal
    assert "svd.no_such_message" in terminal  # a missing key renders as the key
    rows = [line for line in terminal.splitlines() if exact_text(half) in line]
    assert any("V = ⎡" in row for row in rows) and any("⎣" in row for row in rows)
    assert "AᵀA = ⎡" in terminal and "Σ = ⎡" in terminal and "λ" in terminal

    markdown = render(report, "markdown")
    assert sentence in markdown
    assert (
        f"$${sp.latex(sp.Eq(sp.Symbol('lambda') ** 2 - 4 * sp.Symbol('lambda') + 3, 0))}$$"
        in markdown
    )
    assert r"A^{\mathsf{T}}A = \begin{bmatrix}5 & -4 \\ -4 & 5\end{bmatrix}" in markdown
    assert r"\frac{\sqrt{2}}{2}" in markdown and r"\Sigma = \begin{bmatrix}3 & 0" in markdown

    tex = render(report, "latex")
    assert latex_text(" ".join(before.split()[:5])) in tex
    assert r"- \frac{\sqrt{2}}{2}" in tex and r"\lambda^{2} - 4 \lambda + 3 = 0" in tex
    assert r"\begin{enumerate}" in tex and "svd.no\\_such\\_message" in tex
    _compile(tex, tmp_path, f"steps_{lang}")

    page = render(report, "html")
    parsed = _parse_html(page)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("math") >= 6  # value, 2 formulas, 3 matrices (+ the input matrix)
    assert "msqrt" in tags and "mtable" in tags and "mfrac" in tags
    text = " ".join(parsed.text)
    assert before.strip() in text and after.strip() in text
    ET.fromstring(page.split("\n", 1)[1])  # well-formed

    data = json.loads(render(report, "json"))
    step = next(s for s in data["sections"] if s["id"] == "svd")["steps"][0]
    assert step["key"] == "note.reflection" and step["text"] == sentence
    assert sp.sympify(step["values"]["det"]) == -half
    assert step["formula"] == sp.latex(
        sp.Eq(sp.Symbol("lambda") ** 2 - 4 * sp.Symbol("lambda") + 3, 0)
    )
    assert sp.Matrix(sp.sympify(step["matrices"]["V"])) == sp.Matrix([[half, -half], [half, half]])
    floats = next(s for s in data["sections"] if s["id"] == "svd")["steps"][1]
    assert floats["matrices"]["Σ"] == [[3.0, 0.0], [0.0, 1.0]]
    assert floats["values"] == {"reason": "A"} and floats["formula"] == r"\frac{3}{7}"
    mixed = next(s for s in data["sections"] if s["id"] == "svd")["steps"][2]
    assert mixed["values"] == {"trace": "-1/3", "sum": "(1, sqrt(2))"}
    assert "−1/3" in mixed["text"] and "(1, √2)" in mixed["text"]
    missing = next(s for s in data["sections"] if s["id"] == "svd")["steps"][3]
    assert missing["text"] == "svd.no_such_message" and missing["values"] == {"x": "1/3"}


def test_step_sentence_placeholders_never_crash():
    assert fill("{a} and {b}", {"a": 1}, str, str) == "1 and {b}"
    assert fill("unbalanced {", {}, str, str) == "unbalanced {"
    assert fill("{x:>5}", {}, str, str) == "{x:>5}"


# ---------------------------------------------------------------- printers


def test_unicode_text_of_exact_values():
    lam = sp.Symbol("lambda")
    assert exact_text(sp.sqrt(2) / 2) == "√2/2"
    assert exact_text(sp.Eq(lam**2 - 4 * lam + 3, 0)) == "λ² − 4λ + 3 = 0"
    assert exact_text(2 - sp.I) == "2 − i"
    assert exact_text(sp.Symbol("sigma_1") ** 2) == "σ₁²"
    assert exact_text(sp.sqrt(lam + 1)) == "√(λ + 1)"

    class Unprintable:
        def __str__(self) -> str:
            return "as it is"

    assert exact_text(Unprintable()) == "as it is"  # a report never fails on a value


def test_unicode_maths_becomes_latex():
    assert latex_math("‖A‖_F") == r"\|A\|_{F}"
    assert latex_math("σ₁/σ_min") == r"\sigma_{1}/\sigma_{\min}"
    assert latex_math("A⁻¹") == "A^{-1}"
    assert latex_math("Σᵢ≤ₖ σᵢ²") == r"\Sigma _{i\le k} \sigma _{i}^{2}"
    assert latex_text("over ℂ") == r"over $\mathbb{C}$"
    assert latex_text("a_b 100% {x}") == r"$a_{b}$ 100\% \{x\}"
    assert latex_text("Moore–Penrose") == "Moore--Penrose"
    assert latex_text("rank (n − rank)") == r"rank $(n - \operatorname{rank})$"


def test_numbers_become_mathml():
    assert mathml_number("2 − i") == "<mrow><mn>2</mn><mo>−</mo><mi>i</mi></mrow>"
    assert mathml_number("∞") == "<mrow><mi>∞</mi></mrow>"
