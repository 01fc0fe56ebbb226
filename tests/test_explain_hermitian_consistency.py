"""One report, one count: a Hermitian matrix's eigenvalues agree with its rank and inertia.

For a Hermitian A, ``σᵢ = |λᵢ|``: its rank is its number of non-zero eigenvalues,
always. :func:`svdkit.definiteness` counts exactly ``svdkit.rank(A)`` eigenvalues
non-zero (the threshold it applies, ``tol_used``, is moved by rounding where
``eigvalsh`` and ``svdvals`` straddle the rule's). The report shows those same real
eigenvalues (Hermitian solver), zero at that same threshold, so that its eigenvalue
table, the definiteness inertia and the rank say one thing, and it never tells a
learner that a Hermitian (or any normal) matrix has a defective eigenvalue 0.

Where Sylvester's criterion cannot decide at the threshold (``kind`` None, an
indefinite A whose eigenvalue at the threshold shows in no minor beyond it), the
report says so, in its own language, with the reason built from the minors.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import svdkit
from svdkit.explain import explain, render
from tests.cli_support import run_svdkit
from tests.test_definiteness_threshold_consistency import (
    INDEFINITE_AT_THE_THRESHOLD,
    STRADDLING,
)

#: Hermitian matrices with an eigenvalue within rounding of the zero threshold: the
#: general solver's |λ| and the Hermitian solver's land on either side of it
HERMITIAN = {
    "indefinite": INDEFINITE_AT_THE_THRESHOLD,  # λ = (−1, 2.5e−16, 7e−16), rank 2
    **{f"straddling{k}": np.array(S) for k, S in enumerate(STRADDLING)},
}

def _label(lang: str, key: str) -> str:
    from svdkit.explain.messages import t

    return t(key, lang)


def _counts(A: np.ndarray) -> tuple[int, int, np.ndarray, float]:
    """``(rank, n − n_zero of the definiteness inertia, λ, tol_used)``."""
    d = svdkit.definiteness(A)
    return svdkit.rank(A), A.shape[0] - d.inertia[1], d.eigenvalues.values, d.tol_used


def _shown(cell: str) -> list[str]:
    """The entries of a vector cell ``(−1, 0, 7.02815e−16)``."""
    inner = cell.strip()
    assert inner.startswith("(") and inner.endswith(")"), cell
    return [x.strip() for x in inner[1:-1].split(",")]


def _markdown_row(md: str, label: str) -> str:
    """The value cell of the facts table row ``| label | value |``."""
    for line in md.splitlines():
        if line.startswith(f"| {label} |"):
            return line.split("|")[2]
    raise AssertionError(f"no row {label!r} in\n{md}")


@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_eigen_section_counts_the_rank_and_the_inertia(name):
    A = HERMITIAN[name]
    rank, nonzero_inertia, values, thr = _counts(A)
    assert rank == nonzero_inertia  # the engine's promise this report relies on
    report = explain(A, steps=False)
    eigen = report.section("eigen")
    lam = np.asarray(eigen.fact("eigenvalues"))
    # real, the Hermitian solver's, ascending: those definiteness counted
    assert np.isrealobj(lam) and np.all(np.diff(lam) >= 0)
    np.testing.assert_array_equal(lam, values)
    assert report.eigen_tolerance == thr
    assert int(np.count_nonzero(np.abs(lam) > report.eigen_tolerance)) == rank
    assert report.section("measures").fact("rank") == rank
    crit = report.section("definiteness").fact("criteria")["eigenvalues"]
    assert crit["inertia"][0] + crit["inertia"][2] == rank
    assert crit["threshold"] == thr
    # the eigenvectors shown go with these values: A V = V Λ to rounding
    V = np.asarray(eigen.fact("eigenvectors"))
    scale = float(np.linalg.norm(A, 2))
    assert np.linalg.norm(A @ V - V * lam) <= 64 * np.finfo(float).eps * scale
    assert eigen.fact("eigen_residual") <= 64 * np.finfo(float).eps
    np.testing.assert_array_equal(eigen.fact("spectral_values"), lam)
    assert eigen.fact("spectral_residual") <= 64 * np.finfo(float).eps


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_markdown_shows_as_many_nonzero_eigenvalues_as_the_rank(name, lang):
    A = HERMITIAN[name]
    rank, _, _, _ = _counts(A)
    report = explain(A, lang=lang, steps=False)
    md = render(report, "markdown")
    for key in ("fact.eigenvalues", "fact.spectral_values"):
        shown = _shown(_markdown_row(md, _label(lang, key)))
        assert sum(x != "0" for x in shown) == rank, (key, shown)
    assert int(_markdown_row(md, _label(lang, "fact.rank")).strip()) == rank
    # the definiteness sentence writes the same zeros
    crit = report.section("definiteness").fact("criteria")["eigenvalues"]
    match = re.search(r"\(([^()]*)\)", crit["explanation"])
    assert match is not None, crit["explanation"]
    assert sum(x.strip() != "0" for x in match.group(1).split(",")) == rank
    assert rank == crit["inertia"][0] + crit["inertia"][2]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_no_defective_eigenvalue_claim_for_a_hermitian_matrix(name, lang):
    report = explain(HERMITIAN[name], lang=lang, steps=False)
    assert "rank_eigenvalues" not in [n.id for n in report.notes]
    md = render(report, "markdown")
    assert "Annexe C.4" not in md
    assert "defective" not in md and "défectueuse" not in md


@pytest.mark.parametrize("phase", [1j, np.exp(0.7j)])
@pytest.mark.parametrize("name", ["indefinite", "straddling3"])
def test_no_defective_eigenvalue_claim_for_a_normal_matrix(name, phase):
    # e^{iθ}·H is normal, not Hermitian: |λᵢ| = σᵢ still, so rank = number of non-zero
    # eigenvalues; rounding may put one on either side, but no eigenvalue is defective
    A = phase * HERMITIAN[name]
    report = explain(A, steps=False)
    assert report.section("structure").fact("normal")
    assert not report.section("structure").fact("hermitian")
    # where the table's count differs from the rank, the note says rounding, not defective
    notes = {n.id: n for n in report.notes}
    lam = report.section("eigen").fact("eigenvalues")
    rank = report.section("measures").fact("rank")
    differs = sum(abs(x) > report.tolerance for x in lam) != rank
    assert ("rank_eigenvalues" in notes) == differs
    if differs:
        assert notes["rank_eigenvalues"].values["case"] == "normal"
        assert "is not defective (its" not in notes["rank_eigenvalues"].text


def test_a_defective_matrix_keeps_its_note():
    # the note stands where it is true: nilpotent [[3, 9], [−1, −3]], rank 1, λ = 0 twice
    report = explain("3 9; -1 -3")
    notes = {n.id: n for n in report.notes}
    assert notes["rank_eigenvalues"].values == {"rank": 1, "nonzero": 0}


def test_exact_eigenvalues_of_a_small_hermitian_matrix_stay():
    # exact input: Λ (exact) is still shown, and agrees with the numeric count and the rank
    report = explain("[[1, 2], [2, 4]]")
    eigen = report.section("eigen")
    assert eigen.fact("spectral_values_exact") == "(0, 5)"
    lam = np.asarray(eigen.fact("eigenvalues"))
    assert int(np.count_nonzero(np.abs(lam) > report.eigen_tolerance)) == 1
    assert report.section("measures").fact("rank") == 1
    md = render(report, "markdown")
    assert _shown(_markdown_row(md, _label("en", "fact.eigenvalues"))) == ["0", "5"]
    assert _shown(_markdown_row(md, _label("en", "fact.spectral_values_exact"))) == ["0", "5"]
    assert "rank_eigenvalues" not in [n.id for n in report.notes]


# ---------------------------------------------------------------- Sylvester, undecided


def _sylvester(report) -> dict:
    return report.section("definiteness").fact("criteria")["sylvester"]


def test_undecided_sylvester_says_so_with_the_reason_in_english():
    report = explain(INDEFINITE_AT_THE_THRESHOLD, steps=False)
    s = _sylvester(report)
    assert s["kind"] is None
    text = s["explanation"]
    assert "at this tolerance, by its principal minors" in text
    # the reason, from the minors' data: what the minors say, what the eigenvalues say
    assert "negative semidefinite" in text and "indefinite" in text
    assert s["minors_kind"] == "negative semidefinite"
    assert s["reason"] and s["reason"] in text
    # the minor that refutes PSD is still shown
    assert "{1}" in text
    md = render(report, "markdown")
    title = _label("en", "criterion.sylvester")
    line = next(x for x in md.splitlines() if title in x)
    assert "undecided" in line and ": —." not in line, line


def test_undecided_sylvester_in_french_is_french():
    report = explain(INDEFINITE_AT_THE_THRESHOLD, lang="fr", steps=False)
    s = _sylvester(report)
    assert s["kind"] is None
    text = s["explanation"]
    assert "à cette tolérance, d'après ses mineurs" in text
    assert "semi-définie négative" in text and "indéfinie" in text
    # not the engine's English reason pasted in
    assert "the principal minors say" not in text and "undecided" not in text
    assert s["reason"] in text
    md = render(report, "markdown")
    line = next(x for x in md.splitlines() if _label("fr", "criterion.sylvester") in x)
    assert "non décidé" in line and ": —." not in line, line


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_cli_json_and_markdown_agree_on_counts_and_sylvester(tmp_path, capsys, monkeypatch, lang):
    path = tmp_path / "h.npy"
    np.save(path, INDEFINITE_AT_THE_THRESHOLD)
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", path, "-f", "json", "--lang", lang)
    assert code == 0, err
    doc = json.loads(out)
    sections = {s["id"]: s for s in doc["sections"]}
    rank = sections["measures"]["facts"]["rank"]
    crit = sections["definiteness"]["facts"]["criteria"]
    lam = sections["eigen"]["facts"]["eigenvalues"]
    assert all(isinstance(x, float | int) for x in lam), lam  # real, not complex
    thr = crit["eigenvalues"]["threshold"]
    assert sum(abs(x) > thr for x in lam) == rank == 2
    inertia = crit["eigenvalues"]["inertia"]
    assert inertia[0] + inertia[2] == rank
    assert "rank_eigenvalues" not in [n["id"] for n in doc["notes"]]
    syl = crit["sylvester"]
    assert syl["kind"] is None
    assert syl["minors_kind"] == "negative semidefinite"
    assert isinstance(syl["reason"], str) and syl["reason"] in syl["explanation"]
    code, md, err = run("explain", path, "-f", "markdown", "--lang", lang)
    assert code == 0, err
    shown = _shown(_markdown_row(md, _label(lang, "fact.eigenvalues")))
    assert sum(x != "0" for x in shown) == rank
    undecided = ("at this tolerance, by its principal minors" if lang == "en"
                 else "à cette tolérance, d'après ses mineurs")
    assert undecided in md
    assert "Annexe C.4" not in md


def test_decided_sylvester_has_no_reason():
    report = explain("[[2, -1], [-1, 2]]", steps=False)
    s = _sylvester(report)
    assert s["kind"] == "positive definite" and s["reason"] is None and s["minors_kind"] is None


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "not all 2ⁿ − 1 principal minors were computed"),
     ("fr", "les 2ⁿ − 1 mineurs principaux n'ont pas tous été calculés")],
)
def test_sylvester_undecided_for_want_of_minors_says_that(lang, words):
    # 13×13 PSD, singular: the leading minors (1, …, 1, 0) decide nothing, and its
    # 8191 principal minors are not computed (n > 12)
    report = explain(np.diag([1.0] * 12 + [0.0]), lang=lang, steps=False)
    s = _sylvester(report)
    assert s["kind"] is None and s["minors_kind"] is None
    assert s["reason"].startswith(words) and s["explanation"].endswith(s["reason"])
    assert "tolerance" not in s["explanation"] and "tolérance" not in s["explanation"]
    undecided = {"en": "undecided", "fr": "non décidé"}[lang]
    md = render(report, "markdown")
    line = next(x for x in md.splitlines() if _label(lang, "criterion.sylvester") in x)
    assert f" {undecided}." in line, line
