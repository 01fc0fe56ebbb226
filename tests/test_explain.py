"""The explain report: right facts, every format, the documented JSON schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import svdkit
from svdkit.explain import FORMATS, explain, render
from svdkit.explain.messages import LANGUAGES, catalogue
from svdkit.explain.render_json import to_dict
from svdkit.explain.render_latex import latex_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "explain-json.md"

CASES = {
    "notes_A": [[1, 2, 3], [4, 5, 6]],
    "invertible": [[2, 1], [1, 3]],
    "singular": [[1, 2], [2, 4]],
    "tall": [[1, 3], [1, 2], [3, 1]],
    "complex_hermitian": np.array([[2, 1j], [-1j, 2]]),
    "complex_general": np.array([[1 + 1j, 2], [0, 3 - 2j], [1j, 1]]),
    "indefinite": [[1, 2], [2, 1]],
    "nilpotent": [[0, 1], [0, 0]],
    "sylvester_trap": [[0, 0], [0, -1]],
    "one_by_one": [[5]],
    "row": [[1, 2, 3]],
    "zero": [[0, 0], [0, 0]],
}


def _decode(value):
    if isinstance(value, dict) and set(value) == {"real", "imag"}:
        return np.asarray(value["real"], dtype=float) + 1j * np.asarray(value["imag"], dtype=float)
    return np.asarray(value, dtype=float)


@pytest.mark.parametrize("name", list(CASES))
def test_report_facts_are_consistent_with_the_engine(name):
    A = svdkit.as_matrix(CASES[name])
    report = explain(A)
    m, n = A.shape
    measures = report.section("measures")
    assert measures.fact("rank") == svdkit.rank(A)
    assert measures.fact("nullity") == n - svdkit.rank(A)
    assert np.isclose(measures.fact("norm_2"), np.linalg.norm(A, 2))
    assert np.isclose(measures.fact("norm_fro"), np.linalg.norm(A))
    assert np.isclose(measures.fact("norm_nuc"), np.linalg.norm(A, "nuc"))
    svd = report.section("svd")
    U, S, Vh = svd.fact("U"), svd.fact("Sigma"), svd.fact("Vh")
    assert U.shape == (m, m) and Vh.shape == (n, n)
    np.testing.assert_allclose(U @ S @ Vh, A, atol=1e-12 * max(1.0, np.linalg.norm(A)))
    assert svd.fact("reconstruction") < 1e-14
    inverse = report.section("inverse")
    P = inverse.fact("pseudo_inverse")
    np.testing.assert_allclose(A @ P @ A, A, atol=1e-12 * max(1.0, np.linalg.norm(A)))
    if m == n:
        assert np.isclose(measures.fact("determinant"), np.linalg.det(A), atol=1e-12)
        if inverse.fact("invertible"):
            np.testing.assert_allclose(inverse.fact("inverse") @ A, np.eye(n), atol=1e-12)
    sub = report.section("subspaces")
    dims = sub.fact("dimensions")
    assert dims["column"] + dims["null"] == n and dims["row"] + dims["left_null"] == m
    assert np.linalg.norm(A @ sub.fact("null")) < 1e-12 * max(1.0, np.linalg.norm(A))
    eigen, definite = report.section("eigen"), report.section("definiteness")
    assert eigen.applies == (m == n)
    assert definite.applies == (m == n and svdkit.is_hermitian(A))
    if definite.applies:
        assert definite.fact("kind") == str(svdkit.definiteness(A).kind)


NOTE_CASES = [
    ([[0, 1], [0, 0]], "rank_eigenvalues"),
    ([[0, 0], [0, -1]], "sylvester_psd"),
    ([[1, 2, 3], [4, 5, 6]], "pinv_order"),
    ([[1, 2], [3, 4]], "pinv_order"),
    ([[1, 2], [3, 4]], "reflection"),
    ([[2, 0], [0, 3]], "sigma_order"),
    ([[1, 1], [0, 2]], "orthogonal_eigenvectors"),
    ([[1, 1], [0, 2]], "trace_eigenvalues"),
    ([[1, 0], [0, 1], [0, 0]], "orthonormal_inverse"),
    ([[1, 2], [2, 1]], "hermitian_positive"),
]


@pytest.mark.parametrize(("matrix", "note"), NOTE_CASES)
def test_notes_errors_are_flagged_where_the_matrix_shows_them(matrix, note):
    report = explain(matrix)
    assert note in [n.id for n in report.notes]
    A = np.asarray(matrix, dtype=float)
    # Each note is a real counterexample: re-check the claim it refutes.
    if note == "rank_eigenvalues":
        assert np.count_nonzero(np.abs(np.linalg.eigvals(A)) > 1e-12) != svdkit.rank(A)
    elif note == "sylvester_psd":
        assert all(np.linalg.det(A[:k, :k]) >= 0 for k in range(1, A.shape[0] + 1))
        assert np.linalg.eigvalsh(A).min() < 0
    elif note == "pinv_order" and A.shape[0] == A.shape[1]:
        U, s, Vh = svdkit.svd(A)
        assert not np.allclose(U @ np.diag(1 / s) @ Vh, svdkit.pinv(A))
        np.testing.assert_allclose(U @ np.diag(1 / s) @ Vh, svdkit.pinv(A).T)
    elif note == "reflection":
        U, _, Vh = svdkit.svd(A)
        assert np.linalg.det(U) * np.linalg.det(Vh) < 0
    elif note == "sigma_order":
        assert not np.all(np.diff(np.abs(np.diag(A))) <= 0)
    elif note == "orthogonal_eigenvectors":
        V = svdkit.eig(A).vectors
        assert abs(V[:, 0] @ V[:, 1]) > 1e-3
    elif note == "trace_eigenvalues":
        assert not svdkit.is_symmetric(A)
        assert np.isclose(np.trace(A), np.sum(np.linalg.eigvals(A)))
    elif note == "orthonormal_inverse":
        assert np.allclose(A.T @ A, np.eye(A.shape[1]))
        assert not np.allclose(A @ A.T, np.eye(A.shape[0]))
    elif note == "hermitian_positive":
        assert np.linalg.eigvalsh(A).min() < 0


def test_a_matrix_that_refutes_nothing_gets_no_note():
    assert explain([[2, 1], [1, 3]]).notes == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["notes_A", "complex_general", "nilpotent", "sylvester_trap"])
def test_every_format_renders_every_section(fmt, name):
    report = explain(CASES[name])
    text = render(report, fmt)
    cat = catalogue("en")
    if fmt == "json":
        data = json.loads(text)
        assert [s["id"] for s in data["sections"]] == [s.id for s in report.sections]
    else:
        show = latex_text if fmt == "latex" else (lambda x: x)
        flat = " ".join(text.split())
        for sec in report.sections[1:]:
            assert show(cat[f"section.{sec.id}"]) in text
        for note in report.notes:
            assert " ".join(show(note.text)[:40].split()) in flat


def test_json_round_trip_reconstructs_the_matrix():
    A = CASES["complex_general"]
    data = json.loads(render(explain(A), "json"))
    assert data["schema"] == "svdkit.explain" and data["version"] == 1
    facts = {s["id"]: s["facts"] for s in data["sections"]}
    U, S, Vh = (_decode(facts["svd"][k]) for k in ("U", "Sigma", "Vh"))
    np.testing.assert_allclose(U @ S @ Vh, A, atol=1e-12)
    np.testing.assert_allclose(_decode(facts["input"]["matrix"]), A)


def test_json_infinity_is_a_string():
    data = to_dict(explain([[1, 2], [2, 4]]))
    cond = next(s for s in data["sections"] if s["id"] == "measures")["facts"]["cond"]
    assert cond == "inf"


def test_every_emitted_key_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_A-Z0-9]+)`", doc))
    for name in CASES:
        for sec in explain(CASES[name]).sections:
            assert sec.id in documented, f"section {sec.id} missing from {DOC.name}"
            for fact in sec.facts:
                assert fact.key in documented, f"fact {sec.id}.{fact.key} missing from {DOC.name}"


def test_every_label_exists_in_every_language():
    keys = set()
    for name in CASES:
        for sec in explain(CASES[name]).sections:
            keys.add(f"section.{sec.id}")
            keys |= {f"fact.{f.key}" for f in sec.facts}
            if sec.reason:
                keys.add(f"reason.{sec.reason}")
    for lang in LANGUAGES:
        missing = keys - set(catalogue(lang))
        assert not missing, f"{lang}: {sorted(missing)}"


def test_numbers_print_cleanly():
    text = render(explain([[1, 2], [3, 4]]), "terminal")
    assert "−2" in text and "2.0000000000000004" not in text
