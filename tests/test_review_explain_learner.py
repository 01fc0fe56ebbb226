"""Review of ``svdkit explain`` as a learner (and a maths teacher) reads it.

Each test pins one fix: the seeds' worked examples (INSA [[3, 0], [0, −2]], note
003's diag(1, 0), the trace of [[4, 2], [3, 4]], the Frobenius norm of
[[1, 0], [1, 1], [3, 2]]) and the edge cases a learner types (a complex matrix, a
Jordan block, a matrix within rounding of a singular one), in English and French,
on the terminal page, in Markdown, HTML and LaTeX.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache

import pytest

from svdkit.explain import explain, render
from svdkit.explain.render_terminal import render_terminal

INSA1 = "[[3, 0], [0, -2]]"
JORDAN = "[[2, 1], [0, 2]]"
NEAR_SINGULAR = "[[1, 1], [1, 1.00000000000000001]]"  # float64 rounds the last entry to 1


@cache
def report(matrix: str, lang: str = "en"):
    return explain(matrix, lang=lang)


@cache
def page(matrix: str, lang: str, fmt: str) -> str:
    return render(report(matrix, lang), fmt)


def flat(text: str) -> str:
    """The text on one line, the terminal's frames and wrapping removed."""
    text = re.sub(r"[│╭╮╰╯─]", " ", text)
    return " ".join(text.split())


def steps(matrix: str, section: str, lang: str = "en") -> list:
    return report(matrix, lang).section(section).steps


# ---------------------------------------------------------------- terminal layout


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_terminal_long_labels_leave_room_for_the_values(lang):
    # the exact U's label (73 characters in French) took the whole 80 columns: the
    # SVD section printed its labels with no value at all
    text = render_terminal(report(INSA1, lang), width=80)
    svd = text[text.index("Σ Vᴴ ─"):]
    svd = svd[: svd.index("╰")]
    first = next(line for line in svd.splitlines() if "σ " in line and "(3, 2)" in line)
    assert first
    for line in svd.splitlines():  # no matrix broken across lines
        if "⎡" in line:
            assert "⎤" in line, line


def test_terminal_matrices_of_a_complex_report_keep_their_brackets():
    text = render_terminal(report("[[1, 2j], [3, 4]]"), width=100)
    svd = text[text.index("Σ Vᴴ ─"):]
    for line in svd[: svd.index("σ (exact)")].splitlines():
        if "⎡" in line or "⎣" in line:
            assert "⎤" in line or "⎦" in line, line


# ---------------------------------------------------------------- the steps' sentences


def test_row_scaling_factor_is_parenthesised():
    # "R2 ← 1/13 + 3i/26·R2" read as 1/13 + (3i/26)·R2
    text = flat(page("[[1, 2j], [3, 4]]", "en", "terminal"))
    assert "R₂ ← (1/13 + 3i/26)·R₂" in text
    assert "← 1/13 + 3i/26·R" not in text
    assert "L₁ ← (1/3)·L₁" in flat(page(INSA1, "fr", "terminal"))


@pytest.mark.parametrize("fmt", ["terminal", "markdown"])
def test_indices_after_a_symbol_are_subscripts(fmt):
    text = flat(page(INSA1, "en", fmt))
    for good in ("σ₁ = √λ", "v₁ is the eigenvector", "u₁ = Av₁/σ₁", "D₁ = 3", "in ℝ²"):
        assert good in text, good
    for bad in ("σ1 ", "u1 = Av1", "D1 = ", "ℝ^2"):
        assert bad not in text, bad


def test_leibniz_formula_reads_in_every_format():
    text = flat(page(INSA1, "en", "terminal"))
    assert "det A = Σ sgn(σ) a₁,σ(1) ⋯ aₙ,σ(n)" in text and "here n = 2, so 2 term(s)" in text
    assert "a2,σ(2)" not in text and "{1, …, 2}" not in text
    latex = page(INSA1, "fr", "latex")
    assert "a$2" not in latex and r"a_{n,\sigma(n)}" in latex  # the pair is the index


def test_latex_square_root_of_a_value_wraps_the_value():
    # "σ₁ = √λ = √(9) = 3" came out as "\surd9$)"
    latex = page(INSA1, "en", "latex")
    assert r"\sqrt{9}" in latex and r"\surd9" not in latex and r"\surd 9" not in latex


@pytest.mark.parametrize("lang, plus", [("en", "the sign +1 leaves"), ("fr", "le signe +1 laisse")])
def test_a_sign_is_written_plus_one(lang, plus):
    text = flat(page(INSA1, lang, "terminal"))
    assert plus in text and "sgn(σ) = +1" in text
    assert "sign 1 " not in text and "signe 1 " not in text


def test_sign_ties_and_counts_are_grammatical():
    en, fr = flat(page(INSA1, "en", "terminal")), flat(page(INSA1, "fr", "terminal"))
    assert "both choices leave the same number of negative entries (1)" in en
    assert "1 negative entries" not in en
    assert "les deux choix laissent autant de coefficients négatifs (1)" in fr
    assert "1 coefficients" not in fr and "dont 1 non nuls" not in fr
    assert "(1 non nul(s))" in fr


# ---------------------------------------------------------------- definiteness criteria


def test_criteria_explanations_start_a_sentence_and_french_colons_have_a_space():
    assert "indefinite. On the unit sphere" in page(INSA1, "en", "markdown")
    md = page(INSA1, "fr", "markdown")
    assert "- **forme quadratique xᴴAx**\u00a0: indéfinie. Sur la sphère unité" in md
    assert "**: " not in md
    html = page(INSA1, "fr", "html")
    assert "</strong>\u00a0: indéfinie" in html and "</strong>: " not in html
    assert "indéfinie. Sur la sphère" in flat(page(INSA1, "fr", "terminal"))


# ---------------------------------------------------------------- exact and numeric


@pytest.mark.parametrize("lang, words", [
    ("en", "The rank of A is therefore numerically ill-determined"),
    ("fr", "Le rang de A est donc numériquement mal déterminé"),
])
def test_exact_and_numerical_ranks_that_differ_are_explained(lang, words):
    # typed: rank 2 (det 10⁻¹⁷); float64: [[1, 1], [1, 1]], rank 1. The report said
    # both, and "invertible: no" beside an exact A⁻¹, without a word
    rep = report(NEAR_SINGULAR, lang)
    measures = rep.section("measures")
    assert measures.fact("rank") == 1 and measures.fact("rank_exact") == "2"
    assert "exact.rank_differs" in [s.key for s in measures.steps]
    text = flat(render_terminal(rep, width=200))
    assert words in text
    assert re.search(r"(zero threshold|seuil de nullité) 8\.88e−16", text)
    assert "exact.rank_differs" not in [s.key for s in steps(INSA1, "measures")]


def test_trace_and_norms_are_derived_exactly_as_in_the_notes():
    # note 000: Tr [[4, 2], [3, 4]] = 4 + 4 = 8; note 003: ‖[[1, 0], [1, 1], [3, 2]]‖ = 4
    trace = flat(page("[[4, 2], [3, 4]]", "en", "terminal"))
    assert "The trace is the sum of the diagonal entries (4, 4): Tr A = 8." in trace
    fro = flat(page("[[1, 0], [1, 1], [3, 2]]", "fr", "terminal"))
    assert "Norme de Frobenius : ‖A‖_F = √(Σ|aᵢⱼ|²) = √(16) = 4." in fro
    assert "parmi (5, 3) : ‖A‖₁ = 5" in fro and "parmi (1, 2, 5) : ‖A‖∞ = 5" in fro


@pytest.mark.parametrize("lang, words", [
    ("en", "the eigenvector columns above are not a basis"),
    ("fr", "ne forment donc pas une base"),
])
def test_a_defective_matrix_says_its_eigenvectors_are_no_basis(lang, words):
    # [[2, 1], [0, 2]] printed the eigenvectors (1, 0) and (1, −4e−16) as if a basis
    assert "eigen.defective" in [s.key for s in steps(JORDAN, "eigen", lang)]
    assert words in flat(page(JORDAN, lang, "terminal"))
    assert "eigen.defective" not in [s.key for s in steps("[[2, 1], [1, 2]]", "eigen")]


# ---------------------------------------------------------------- notes on the notes


@pytest.mark.parametrize("lang, words", [
    ("en", "I · diag(3, 2) · diag(1, −1)"),
    ("fr", "le signe (la phase) de chaque coefficient doit passer dans U ou V"),
])
def test_note_003_diagonal_svd_with_a_negative_entry(lang, words):
    # the INSA example is diagonal, yet its SVD is not I · diag · I (note 003's claim)
    notes = {n.id: n.text for n in report(INSA1, lang).notes}
    assert words in notes["sigma_order"]
    assert "sigma_order" not in {n.id for n in report("[[3, 0], [0, 2]]").notes}


@pytest.mark.parametrize("lang, words", [
    ("en", "is not the identity: its diagonal (1, 0) has zeros, so Ae₂ = 0 ≠ e₂"),
    ("fr", "n'est pas l'identité : sa diagonale (1, 0) contient des zéros, donc Ae₂ = 0 ≠ e₂"),
])
def test_note_003_identity_definition(lang, words):
    # note 003: "diagonal with every non-zero entry equal to 1: an identity matrix"
    notes = {n.id: n.text for n in report("[[1, 0], [0, 0]]", lang).notes}
    assert words in notes["identity_definition"]
    for other in ("[[1, 0], [0, 1]]", "[[0, 0], [0, 0]]", "[[2, 0], [0, 0]]"):
        assert "identity_definition" not in {n.id for n in report(other).notes}


def test_french_wording():
    text = page(INSA1, "fr", "markdown")
    assert "U (exacte ; signes : le moins de coefficients négatifs, comme dans le cours)" in text
    assert "entrées négatives" not in text
    note = {n.id: n.text for n in report("[[0, 0], [0, -1]]", "fr").notes}["sylvester_psd"]
    assert "semi-définie positivité" not in note
    assert "doit avoir tous ses mineurs principaux ≥ 0" in note


def test_french_quadratic_form_figure_separates_decimal_eigenvalues():
    from svdkit.plot import quadratic_form

    fig = quadratic_form([[2, 1], [1, 1]], lang="fr")  # λ = (3 ± √5)/2: 2,618 and 0,382
    texts = [t.get_text() for t in fig.texts] + [ax.get_title() for ax in fig.axes]
    line = next(t for t in texts if "λ₂" in t)
    assert " ; λ₂ = " in line and "," in line


def test_latex_of_the_new_sentences_compiles(tmp_path):
    pdflatex = shutil.which("pdflatex")
    assert pdflatex, "pdflatex is needed"
    body = []
    for matrix in (INSA1, JORDAN, NEAR_SINGULAR, "[[1, 0], [0, 0]]"):
        tex = page(matrix, "fr", "latex")
        start = tex.index(r"\maketitle") + len(r"\maketitle")
        body.append(tex[start: tex.index(r"\end{document}")])
    tex = page(INSA1, "fr", "latex")
    head = tex[: tex.index(r"\maketitle") + len(r"\maketitle")]
    (tmp_path / "r.tex").write_text(head + "\n".join(body) + "\\end{document}\n", "utf-8")
    proc = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "r.tex"],
        cwd=tmp_path, capture_output=True, text=True, errors="replace", timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_latex_formulas_write_det_and_trace_upright_and_inverse_exponents_whole():
    import sympy as sp

    from svdkit.explain.render_latex import latex_value

    assert "$$\\det(A) = -6 + 0$$" in page(INSA1, "en", "markdown")
    assert "\\operatorname{Tr}(A) = 8" in page("[[4, 2], [3, 4]]", "en", "latex")
    gram = latex_value(sp.Eq(sp.Symbol("A⁺"), sp.Symbol("Fᴴ(FFᴴ)⁻¹(CᴴC)⁻¹Cᴴ")))
    assert "^{-1}" in gram and "^{-}" not in gram


@pytest.mark.parametrize("lang, words", [
    ("en", "*Zero threshold (tolerance rule max(m, n)·eps·σ₁): 1.33e−15*"),
    ("fr", "*Seuil de nullité (règle de tolérance max(m, n)·eps·σ₁) : 1.33e−15*"),
])
def test_markdown_states_the_zero_threshold_like_the_other_pages(lang, words):
    # the terminal, HTML and LaTeX pages said which threshold decides every "is it 0?";
    # the Markdown page did not, and the others wrote its exponent with "-", not "−"
    assert words in page(INSA1, lang, "markdown")
    assert "1.33e−15" in page(INSA1, lang, "terminal")
    assert "1.33e-15" not in page(INSA1, lang, "html")


def test_french_input_table_agrees_in_gender():
    assert "| type de matrice | réelle |" in page(INSA1, "fr", "markdown")
    assert "| corps | réelle |" not in page(INSA1, "fr", "markdown")


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "html"])
def test_an_empty_exact_basis_reads_like_the_numerical_one(fmt):
    # "N(A), orthonormal basis (exact)  [[], []]" beside the numerical "[ ]"
    text = page(INSA1, "en", fmt)
    assert "[[], []]" not in text
    assert report(INSA1).section("subspaces").fact("null_exact") == "[[], []]"  # JSON: m×0


@pytest.mark.parametrize("lang, wrong, right", [
    ("en", "holds for diagonalisable matrices only", "the eigenvalue 0 is not defective"),
    ("fr", "Ce n'est vrai que pour les matrices diagonalisables", "0 n'est pas défective"),
])
def test_rank_note_does_not_say_only_diagonalisable_matrices(lang, wrong, right):
    # [[1, 1], [0, 1]] is not diagonalisable, yet rank 2 = its 2 non-zero eigenvalues:
    # "only for diagonalisable matrices" was false; the condition is on the eigenvalue 0
    text = {n.id: n.text for n in report("[[0, 1], [0, 0]]", lang).notes}["rank_eigenvalues"]
    assert wrong not in text and right in text
    assert "rank_eigenvalues" not in {n.id for n in report("[[1, 1], [0, 1]]").notes}
