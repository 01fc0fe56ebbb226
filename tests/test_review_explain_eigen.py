"""Review of the exact eigenvalues of ``svdkit explain`` (non-Hermitian, small, rational).

The table keeps LAPACK's eigenpairs as computed, so ``eigen_residual`` checks them
(rounding level again) and the pairs and the ascending order are LAPACK's; the exact
roots are a separate fact, ``eigenvalues_exact``, shown where readable; a defective
eigenvalue whose computed values are off gets the step ``eigen.perturbed``; the notes
count and sum by the exact values. Each test pins one reproducer of the review.
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pytest

from svdkit.explain import explain, render
from svdkit.explain.render_terminal import render_terminal
from tests.cli_support import run_svdkit

EPS = np.finfo(float).eps
NILPOTENT = "[[3, 9], [-1, -3]]"  # A² = 0
NILPOTENT3 = "[[2, 2, -2], [5, 1, -3], [1, 5, -3]]"  # A³ = 0, A² ≠ 0: one Jordan block
PAIRING = "[[3, 9, 0], [-1, -3, 0], [0, 0, -1e-9]]"
SNAP = "[[3, 9, 0, 0], [-1, -3, 0, 0], [0, 0, 1e-9, 0], [0, 0, 0, 5]]"


@cache
def report(matrix: str, steps: bool = True, lang: str = "en"):
    return explain(matrix, steps=steps, lang=lang)


def facts(rep) -> dict:
    return {f.key: f.value for f in rep.section("eigen").facts}


def step_keys(rep) -> list[str]:
    return [s.key for s in rep.section("eigen").steps]


def notes(rep) -> dict:
    return {n.id: n for n in rep.notes}


def matrix(text: str) -> np.ndarray:
    return np.array(json.loads(text), dtype=float)


def assert_pairs(rep, a: np.ndarray) -> None:
    """Each shown (λ, v) is an eigenpair to rounding, and the residual fact says so."""
    f = facts(rep)
    lam = np.asarray(f["eigenvalues"])
    vecs = np.asarray(f["eigenvectors"])
    norm2 = np.linalg.norm(a, 2)
    per_pair = np.linalg.norm(a @ vecs - vecs * lam, axis=0) / norm2
    assert np.max(per_pair) < 1e-14
    assert f["eigen_residual"] == pytest.approx(np.max(per_pair), rel=1e-6, abs=1e-18)
    assert f["eigen_residual"] < 1e-14
    # ascending by real then imaginary part, the documented order
    order = sorted(range(lam.size), key=lambda i: (lam[i].real, lam[i].imag))
    assert order == list(range(lam.size))


# --------------------------------------------------- 1. pairs and order are LAPACK's


@pytest.mark.parametrize("sign", [-1, 1])
def test_eigenvalues_keep_their_eigenvectors_and_order(sign):
    text = PAIRING.replace("-1e-9", f"{sign}e-9")
    a = matrix(text)
    rep = report(text)
    assert_pairs(rep, a)
    f = facts(rep)
    lam, vecs = np.asarray(f["eigenvalues"]), np.asarray(f["eigenvectors"])
    # e₃ is the eigenvector of sign·1e−9 and of no other value shown
    k = int(np.argmax(np.abs(vecs[2])))
    assert np.allclose(np.abs(vecs[:, k]), [0, 0, 1])
    assert lam[k] == sign * 1e-9
    assert np.allclose(np.sort(lam), np.sort(np.linalg.eigvals(a).real), rtol=0, atol=1e-20)
    expected = "(−1/1000000000, 0, 0)" if sign < 0 else "(0, 0, 1/1000000000)"
    assert f["eigenvalues_exact"] == expected  # ascending too


# ---------------------------------------- 2. no value of least modulus is set to 0


@pytest.mark.parametrize("steps", [True, False])
def test_a_true_small_eigenvalue_is_never_zeroed(steps):
    a = matrix(SNAP)
    rep = report(SNAP, steps)
    assert_pairs(rep, a)
    lam = np.asarray(facts(rep)["eigenvalues"])
    assert np.min(np.abs(lam - 1e-9)) < 1e-20  # the eigenvalue 1e−9 is shown
    assert not np.any(lam == 0)  # LAPACK's cluster ±2e−8 stays as computed
    assert np.array_equal(lam, np.asarray(facts(report(SNAP, not steps))["eigenvalues"]))
    # the note counts exactly: rank 3, the eigenvalue 0 twice (p(λ) = λ²(λ − 1e−9)(λ − 5))
    assert notes(rep)["rank_eigenvalues"].values == {"rank": 3, "nonzero": 2}


# -------------------------------- 3. the residual is a real check; defective: a step


@pytest.mark.parametrize("text", [NILPOTENT, NILPOTENT3, PAIRING,
                                  "[[-2, 3, -2, -2], [-7, 9, -7, -6], [2, -2, 1, 1],"
                                  " [-12, 13, -10, -8]]"])
def test_residual_of_defective_matrices_is_at_rounding_level(text):
    a = matrix(text)
    assert_pairs(report(text), a)
    assert np.isrealobj(a)


@pytest.mark.parametrize(("text", "m", "exact"), [(NILPOTENT, 2, "(0, 0)"),
                                                  (NILPOTENT3, 3, "(0, 0, 0)")])
def test_defective_eigenvalue_gets_the_perturbation_step(text, m, exact):
    a = matrix(text)
    assert np.array_equal(np.linalg.matrix_power(a, m), np.zeros_like(a))
    rep = report(text)
    assert facts(rep)["eigenvalues_exact"] == exact
    step = next(s for s in rep.section("eigen").steps if s.key == "eigen.perturbed")
    assert step.values["value"] == "0" and step.values["multiplicity"] == m
    lam = np.asarray(facts(rep)["eigenvalues"])
    # off by about eps^(1/m)·‖A‖, far above the zero threshold
    assert np.max(np.abs(lam)) > 1e3 * rep.tolerance
    assert np.max(np.abs(lam)) < 100 * EPS ** (1 / m) * np.linalg.norm(a, 2)
    assert float(step.values["error"].replace("−", "-")) == pytest.approx(
        np.max(np.abs(lam)), rel=1e-5)
    en = " ".join(render_terminal(rep, width=100).replace("│", " ").split())
    assert "perturbed by about eps^(1/m)·‖A‖" in en
    assert f"multiplicity {m}" in en
    fr = " ".join(render_terminal(report(text, True, "fr"), width=100).replace("│", " ").split())
    assert "perturbées d'environ eps^(1/m)·‖A‖" in fr
    doc = json.loads(render(rep, "json"), parse_constant=lambda c: pytest.fail(c))
    eigen = next(s for s in doc["sections"] if s["id"] == "eigen")
    assert "eigen.perturbed" in [s["key"] for s in eigen["steps"]]


@pytest.mark.parametrize("text", [
    "[[4, 2], [3, 4]]",  # simple roots
    "[[0, -1], [1, 0]]",  # complex pair
    "[[2, 0, 1], [0, 2, 0], [0, 0, 3]]",  # a double eigenvalue, not defective
    "[[2, 1], [0, 2]]",  # defective, but LAPACK's values are exact (triangular)
    "[[1, 1], [-1, -1]]",  # defective, LAPACK's values within the threshold
])
def test_no_perturbation_step_where_the_values_are_not_off(text):
    rep = report(text)
    assert "eigenvalues_exact" in facts(rep)
    assert "eigen.perturbed" not in step_keys(rep)
    assert_pairs(rep, matrix(text))


# ----------------------------------------- 4. and 5. no crash, no warning, far ranges


@pytest.mark.parametrize("text", ["[[1e-320, 1], [0, 0]]",
                                  "[[1e-310, 2e-310], [3e-310, 4e-310]]",
                                  "[[1e308, 1e308], [1.5e308, 1e308]]"])
def test_extreme_entries_neither_crash_nor_warn(text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = explain(text)
        render(rep, "json")
    assert rep.section("eigen").applies


def test_subnormal_eigenvalues_on_the_command_line(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", "[[1e-320, 1], [0, 0]]")
    assert code == 0, err
    assert "Traceback" not in err and "OverflowError" not in err
    assert "Eigendecomposition" in out


def test_exact_roots_are_ordered_exactly():
    rep = report("[[1e-20, 0, 1], [0, 3e-21, 0], [0, 0, 2]]")
    assert facts(rep)["eigenvalues_exact"] == "(3/10²¹, 1/10²⁰, 2)"
    assert np.array_equal(np.asarray(facts(rep)["eigenvalues"]), [3e-21, 1e-20, 2.0])
    tiny = report("[[1e-320, 1], [0, 1e-321]]")  # (subnormal roots: no float scaling)
    assert np.array_equal(np.asarray(facts(tiny)["eigenvalues"]), [1e-321, 1e-320])


# -------------------------------------------------- 6. steps and --no-steps agree


def test_steps_and_no_steps_show_the_same_values_and_notes():
    text = "[[1, 1], [-1, -1]]"
    with_steps, without = report(text, True), report(text, False)
    assert np.array_equal(np.asarray(facts(with_steps)["eigenvalues"]),
                          np.asarray(facts(without)["eigenvalues"]))
    for note_id in ("rank_eigenvalues", "trace_eigenvalues"):
        assert notes(with_steps)[note_id].values == notes(without)[note_id].values
    assert notes(with_steps)["rank_eigenvalues"].values == {"rank": 1, "nonzero": 0}
    assert notes(with_steps)["trace_eigenvalues"].values == {"trace": "0", "sum": "0"}

    def json_eigenvalues(rep):
        doc = json.loads(render(rep, "json"), parse_constant=lambda c: pytest.fail(c))
        return next(s for s in doc["sections"] if s["id"] == "eigen")["facts"]["eigenvalues"]

    assert json_eigenvalues(with_steps) == json_eigenvalues(without)


@pytest.mark.parametrize("seed", range(6))
def test_trace_note_never_differs_by_rounding(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-9, 10, size=(5, 5)).astype(float)  # (5×5: no exact eigenvalues)
    a[0, 1] += 1  # (not symmetric)
    lam = np.linalg.eigvals(a)
    assert abs(np.sum(lam) - np.trace(a)) < 1e-12 * max(1.0, np.max(np.abs(lam)))
    rep = explain(a.tolist())
    found = notes(rep)["trace_eigenvalues"].values
    assert found["sum"] == found["trace"]
    assert float(found["trace"].replace("−", "-")) == np.trace(a)


def test_notes_agree_with_the_exact_eigenvalues():
    rep = report(NILPOTENT3)
    assert facts(rep)["eigenvalues_exact"] == "(0, 0, 0)"
    assert notes(rep)["rank_eigenvalues"].values == {"rank": 2, "nonzero": 0}
    assert notes(rep)["trace_eigenvalues"].values == {"trace": "0", "sum": "0"}


# ------------------------------------------------- 7. exact values only where readable


def test_exact_eigenvalues_are_absent_where_unreadable():
    gaussian = "[[3-1j, 1-1j, 1+2j], [3+2j, 1-2j, 2], [2+2j, -2-2j, -3+1j]]"
    assert "eigenvalues_exact" not in facts(report(gaussian))
    assert "eigenvalues_exact" not in facts(report("[[1e-200, 1], [-1e-200, 0]]"))


def test_complex_quadratic_roots_are_written_as_a_plus_ib():
    rep = report("[[1, 2j], [3, 1]]")
    f = facts(rep)
    assert f["eigenvalues_exact"] == "(1 − √3 − i√3, 1 + √3 + i√3)"
    r3 = np.sqrt(3)
    exact = np.array([1 - r3 - 1j * r3, 1 + r3 + 1j * r3])
    a = np.array([[1, 2j], [3, 1]])
    assert np.allclose(np.linalg.det(a[None] - exact[:, None, None] * np.eye(2)), 0, atol=1e-13)
    assert np.allclose(np.sort_complex(np.asarray(f["eigenvalues"])), np.sort_complex(exact),
                       rtol=0, atol=1e-14)
    assert_pairs(rep, a)


@pytest.mark.parametrize("text", ["[[4, 2], [3, 4]]", "[[1, 2, 0], [3, 1, 0], [0, 0, 7]]",
                                  "[[0, -1], [1, 0]]", NILPOTENT3])
def test_shown_roots_are_short(text):
    exact = facts(report(text))["eigenvalues_exact"]
    assert all(len(root) <= 80 for root in exact.strip("()").split(", "))
