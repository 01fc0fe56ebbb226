"""Review of what ``svdkit explain`` shows a learner: layout at 80 columns and true notes.

Each test pins one fix: bracketed matrices never wrapped at 80 columns (the width of
a pipe), exact eigenvalues of a defective matrix (next to LAPACK's ±2e−8 for a
nilpotent one), notes true of the matrix as typed (diag(1e−20, 1) is no projection),
the trace note for a Hermitian matrix, the pseudo-inverse note's S* and an overflowing
``--tol``.
"""

from __future__ import annotations

import json
import re
from functools import cache

import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.render_terminal import render_terminal
from tests.cli_support import error_line, run_svdkit

R5 = np.array([
    [1.764, 0.4, 0.979, 2.241, 1.868],
    [-0.977, 0.95, -0.151, -0.103, 0.411],
    [0.144, 1.454, 0.761, 0.122, 0.444],
    [0.334, 1.494, -0.205, 0.313, -0.854],
    [-2.553, 0.654, 0.864, -0.742, 2.27],
])
NILPOTENT = "[[3, 9], [-1, -3]]"  # A² = 0: p(λ) = λ²
TINY_DIAG = "[[1e-20, 0], [0, 1]]"
HERMITIAN = "[[2, 1j], [-1j, 2]]"


@cache
def report(matrix, lang: str = "en", steps: bool = True):
    return explain(matrix, lang=lang, steps=steps)


def inner_lines(text: str) -> list[str]:
    """The page's lines, the panels' borders stripped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("│") and line.endswith("│"):
            line = line[1:-1]
        out.append(line.strip())
    return out


def assert_brackets_whole(text: str, width: int) -> int:
    """Every drawn matrix line opens and closes its bracket on the same line."""
    count = 0
    for raw in text.splitlines():
        assert len(raw) <= width, raw
    for line in inner_lines(text):
        if any(c in line for c in "⎡⎢⎣"):
            count += 1
            assert line[-1:] in "⎤⎥⎦", line
        if line[-1:] in "⎤⎥⎦":
            assert any(c in line for c in "⎡⎢⎣"), line
    return count


# ------------------------------------------------------------ 1. matrices at 80 columns


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_float_matrices_are_not_wrapped_at_80_columns(lang):
    text = render_terminal(report(R5.tolist().__repr__(), lang), width=80)
    # A⁻¹, A⁺, U, Σ, Vᴴ, the eigenvectors and the bases: many bracketed lines, all whole
    assert assert_brackets_whole(text, 80) >= 40
    # the inverse drawn is the inverse: its entries, read back, satisfy A A⁻¹ = I
    lines = inner_lines(text)
    start = next(i for i, line in enumerate(lines) if line.startswith("A⁻¹"))
    rows = [line for line in lines[start + 1:] if line[:1] in "⎡⎢⎣"][:5]
    inv = np.array([[float(x.replace("−", "-")) for x in row[1:-1].split()] for row in rows])
    assert np.linalg.norm(R5 @ inv - np.eye(5)) < 1e-4


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_elided_wide_matrix_reads_in_blocks_at_80_columns(lang):
    a = np.add.outer(np.arange(30), np.arange(12)) % 7 / 7.0 + np.eye(30, 12) / 3
    text = render_terminal(explain(a, lang=lang, steps=False), width=80)
    assert assert_brackets_whole(text, 80) >= 30
    caption = "columns" if lang == "en" else "colonnes"
    assert caption in text  # a matrix wider than the panel is drawn in column blocks


def test_wide_input_matrix_at_80_columns_and_steps():
    a = np.round(np.random.default_rng(3).standard_normal((10, 10)), 6)
    text = render_terminal(explain(a, steps=False), width=80)
    assert_brackets_whole(text, 80)
    exact = render_terminal(report("[[12345, 67891, 23456], [34567, 78912, 45678], "
                                   "[56789, 89123, 67890]]"), width=80)
    assert_brackets_whole(exact, 80)


def test_wide_terminal_is_unchanged_in_shape():
    # at 200 columns the matrices fit their table cell: no column blocks, no own rows
    text = render_terminal(explain(R5, steps=False), width=200)
    assert not re.search(r"columns? \d", text)
    line = next(line for line in text.splitlines() if "A⁻¹  " in line)
    assert "⎡" in line


# ------------------------------------------------ 2. exact eigenvalues of a defective A


def eigen_facts(rep) -> dict:
    return {f.key: f.value for f in rep.section("eigen").facts}


def note(rep, note_id):
    return next((n for n in rep.notes if n.id == note_id), None)


@pytest.mark.parametrize("steps", [True, False])
def test_nilpotent_eigenvalues_are_zero_and_the_notes_agree(steps):
    rep = report(NILPOTENT, "en", steps)
    a = np.array([[3.0, 9.0], [-1.0, -3.0]])
    assert np.array_equal(a @ a, np.zeros((2, 2)))  # p(λ) = λ²: both eigenvalues are 0
    facts = eigen_facts(rep)
    # the table keeps LAPACK's pairs (the cluster ±2.0007e−8), the exact values are a
    # fact of their own, and a step says why they differ
    lam = np.asarray(facts["eigenvalues"])
    assert np.allclose(lam, [-2.0007e-8, 2.0007e-8], rtol=1e-4, atol=0)
    vecs = np.asarray(facts["eigenvectors"])
    residual = np.max(np.linalg.norm(a @ vecs - vecs * lam, axis=0)) / np.linalg.norm(a, 2)
    assert facts["eigen_residual"] == pytest.approx(residual, rel=1e-6, abs=1e-18)
    assert facts["eigen_residual"] < 1e-15
    assert ("eigenvalues_exact" in facts) is steps
    steps_shown = [s.key for s in rep.section("eigen").steps]
    assert ("eigen.perturbed" in steps_shown) is steps
    if steps:
        assert facts["eigenvalues_exact"] == "(0, 0)"
    rank_note = note(rep, "rank_eigenvalues")
    assert rank_note is not None and rank_note.values == {"rank": 1, "nonzero": 0}
    trace = note(rep, "trace_eigenvalues")
    assert trace.values["trace"] == trace.values["sum"] == "0"
    text = " ".join(render_terminal(rep, width=120).replace("│", " ").split())
    assert ("eigenvalues λ (exact) (0, 0)" in text) is steps
    assert "Tr A = 0, Σλᵢ = 0" in text


def test_exact_eigenvalues_of_a_non_symmetric_matrix():
    rep = report("[[4, 2], [3, 4]]")  # λ = 4 ± √6, Tr A = 8 = Σλ (SEEDS)
    facts = eigen_facts(rep)
    assert facts["eigenvalues_exact"] == "(4 − √6, 4 + √6)"
    lam = np.asarray(facts["eigenvalues"])
    assert np.allclose(lam, [4 - np.sqrt(6), 4 + np.sqrt(6)], rtol=0, atol=1e-15)
    a = np.array([[4.0, 2.0], [3.0, 4.0]])
    vecs = np.asarray(facts["eigenvectors"])
    assert np.linalg.norm(a @ vecs - vecs * lam) < 1e-14
    keys = [f.key for f in rep.section("eigen").facts]
    assert keys.index("eigenvalues_exact") == keys.index("eigenvalues") + 1
    doc = json.loads(render(rep, "json"), parse_constant=lambda c: pytest.fail(c))
    eigen = next(s for s in doc["sections"] if s["id"] == "eigen")["facts"]
    assert eigen["eigenvalues_exact"] == "(4 − √6, 4 + √6)"
    trace = note(rep, "trace_eigenvalues")
    assert trace.values["trace"] == trace.values["sum"] == "8"
    fr = render_terminal(report("[[4, 2], [3, 4]]", "fr"), width=100)
    assert "valeurs propres λ (exactes)" in fr


def test_complex_and_irreducible_cubic_eigenvalues():
    rot = eigen_facts(report("[[0, -1], [1, 0]]"))
    assert rot["eigenvalues_exact"] == "(−i, i)"
    # (LAPACK's values, as computed: ±i to rounding)
    assert np.allclose(np.asarray(rot["eigenvalues"]), [-1j, 1j], rtol=0, atol=1e-15)
    # three real roots written only with i (casus irreducibilis): the LAPACK values, no text
    cubic = eigen_facts(report("[[1, 2, 3], [4, 5, 6], [7, 8, 10]]"))
    assert "eigenvalues_exact" not in cubic
    lam = np.asarray(cubic["eigenvalues"])
    assert np.allclose(np.sort(lam.real), np.sort(np.linalg.eigvals(
        np.array([[1, 2, 3], [4, 5, 6], [7, 8, 10]], float)).real))


# ------------------------------------------ 3. notes true of the matrix as typed


def test_identity_note_decides_on_the_exact_entries():
    rep = report(TINY_DIAG)
    ids = [n.id for n in rep.notes]
    assert "identity_definition" not in ids  # A e₁ = 1e−20 e₁ ≠ 0, A² ≠ A
    a = np.diag([1e-20, 1.0])
    assert not np.array_equal(a @ a, a) and np.any(a @ np.eye(2)[:, 0])
    sigma = note(rep, "sigma_order")  # the claim fails: σ = (1, 1e−20) is A's diagonal reversed
    assert sigma.values["diag"] == "1e−20, 1" and sigma.values["sigmas"] == "1, 1e−20"
    text = " ".join(render_terminal(rep, width=100).replace("│", " ").split())
    assert "projection" not in text and "Ae₁ = 0" not in text
    assert "(diagonal 1e−20, 1) has singular values 1, 1e−20" in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_identity_note_within_rounding_says_so(lang):
    # an array of floats (no exact reading): 1e−20 is 0 only to within rounding
    rep = explain(np.diag([1e-20, 1.0]), lang=lang)
    found = note(rep, "identity_definition")
    assert found.values == {"case": "rounding", "diag": "1e−20, 1", "e": "e₁"}
    assert ("to within rounding" if lang == "en" else "aux arrondis près") in found.text
    assert "1e−20" in found.text and "(0, 1)" not in found.text


@pytest.mark.parametrize("source", ["[[1, 0], [0, 0]]", np.diag([1.0, 0.0])])
def test_identity_note_of_a_true_projection_is_plain(source):
    rep = explain(source)
    found = note(rep, "identity_definition")
    assert found.values == {"diag": "1, 0", "e": "e₂"}
    a = np.diag([1.0, 0.0])
    assert np.array_equal(a @ a, a) and not np.any(a @ np.eye(2)[:, 1])


# ------------------------------------------------- 5. trace note, Hermitian matrix


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_trace_note_calls_a_hermitian_matrix_non_symmetric(lang):
    rep = report(HERMITIAN, lang)
    a = np.array([[2, 1j], [-1j, 2]])
    assert np.array_equal(a, a.conj().T)
    assert note(rep, "trace_eigenvalues") is None
    assert "non-symmetric" not in render(rep, "json")
    assert "pas symétrique" not in render(rep, "json")
    # a non-Hermitian complex matrix still gets it, and its sums agree
    other = explain("[[1, 2j], [3, 4]]", lang=lang)
    assert note(other, "trace_eigenvalues").values == {"trace": "5", "sum": "5"}


# --------------------------------------------- 6. S* named, --tol that overflows


@pytest.mark.parametrize(("lang", "phrase"), [("en", "S* is its name for S⁺"),
                                               ("fr", "S* est son nom pour S⁺")])
def test_pinv_note_links_s_star_to_s_plus(lang, phrase):
    for matrix in ("[[1, 2, 3], [4, 5, 6]]", "[[1, 2], [3, 4]]"):
        found = note(report(matrix, lang), "pinv_order")
        assert phrase in found.text
        assert found.text.index("S*") < found.text.index("S⁺")


@pytest.mark.parametrize("value", ["1e400", "-1e400"])
def test_tol_that_overflows_is_named(capsys, monkeypatch, value):
    run = run_svdkit(capsys, monkeypatch)
    line = error_line(*run("explain", f"--tol={value}", "[[1, 2], [3, 4]]")[::2])
    assert "--tol" in line and value in line and "overflows" in line
    assert "got inf" not in line


def test_tol_inf_and_text_keep_their_messages(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    line = error_line(*run("explain", "--tol=inf", "[[1]]")[::2])
    assert "--tol must be a finite number >= 0; got inf" in line
    line = error_line(*run("explain", "--tol=abc", "[[1]]")[::2])
    assert "'abc' is not a number" in line
    code, out, _ = run("explain", "--tol=1e-3", "-f", "json", "[[1, 2], [3, 4]]")
    assert code == 0 and json.loads(out)["tolerance"] == 1e-3
