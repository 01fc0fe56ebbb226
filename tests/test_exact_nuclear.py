"""The exact nuclear norm in its shortest exact form, checked against 40-digit SVDs."""

from __future__ import annotations

import mpmath
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit.exact as E


def _nuclear_40_digits(rows: list[list[int]]) -> mpmath.mpf:
    with mpmath.workdps(60):
        return mpmath.fsum(mpmath.svd_r(mpmath.matrix(rows), compute_uv=False))


def _agrees(value: sp.Expr, rows: list[list[int]]) -> bool:
    with mpmath.workdps(60):
        error = abs(mpmath.mpf(str(sp.N(value, 50))) - _nuclear_40_digits(rows))
        return error < mpmath.mpf(10) ** -40


def test_two_by_two_is_the_root_of_frobenius_squared_plus_twice_the_determinant():
    # σ₁ + σ₂ = √(15 − √221) + √(15 + √221) before; (σ₁ + σ₂)² = ‖A‖_F² + 2|det A| = 30 + 4
    assert E.norm([[1, 2], [3, 4]], "nuc").value == sp.sqrt(34)
    assert E.norm([[1, 1], [0, 1]], "nuc").value == sp.sqrt(5)
    assert E.norm([[1, 2, 3], [4, 5, 6]], "nuc").value == sp.sqrt(91 + 6 * sp.sqrt(6))


def test_positive_definite_matrix_nuclear_norm_is_its_trace():
    # σᵢ = λᵢ = (5 ± √5)/2 and 1: the roots √(15/2 ∓ 5√5/2) denest and sum to 6
    assert E.norm([[1, 0, 0], [0, 2, 1], [0, 1, 3]], "nuc").value == 6


def test_complex_and_radical_entries():
    assert E.norm("[[1, i], [2, 3]]", "nuc").value == sp.sqrt(15 + 2 * sp.sqrt(13))
    assert E.norm("[[1, sqrt(2)], [0, 1]]", "nuc").value == sp.sqrt(6)


def test_not_exact_spectrum_keeps_its_approximation():
    r = E.norm([[1, 2, 3], [4, 5, 6], [7, 8, 10]], "nuc")
    assert not r.exact
    assert _agrees(r.value, [[1, 2, 3], [4, 5, 6], [7, 8, 10]])


def test_step_states_the_simplified_value():
    r = E.norm([[1, 2], [3, 4]], "nuc", steps=True)
    step = next(s for s in r.steps if s.key == "norm.nuclear")
    assert step.values["value"] == sp.sqrt(34)
    assert len(step.values["sigmas"]) == 2


small = st.integers(-6, 6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(small, min_size=2, max_size=2), min_size=2, max_size=2))
def test_random_two_by_two_identity_and_value(rows):
    r = E.norm(rows, "nuc")
    M = sp.Matrix(rows)
    frob2 = sum(a * a for a in M)
    assert sp.expand(r.value**2 - (frob2 + 2 * abs(M.det()))) == 0
    assert _agrees(r.value, rows)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 3).flatmap(
        lambda m: st.integers(2, 3).flatmap(
            lambda n: st.lists(st.lists(small, min_size=n, max_size=n), min_size=m, max_size=m)
        )
    )
)
def test_random_small_matrices_agree_with_a_40_digit_svd(rows):
    r = E.norm(rows, "nuc", steps=True)
    assert _agrees(r.value, rows)
    plain = sp.Add(*next(s for s in r.steps if s.key == "norm.nuclear").values["sigmas"])
    assert sp.count_ops(r.value) <= sp.count_ops(plain)


def _measures(text: str, lang: str = "en") -> dict:
    import json

    from svdkit.explain import explain, render

    doc = json.loads(render(explain(text, lang=lang), "json"))
    return {section["id"]: section["facts"] for section in doc["sections"]}["measures"]


def test_explain_states_the_exact_spectral_and_nuclear_norms():
    facts = _measures("[[1, 2], [3, 4]]")
    assert facts["spectral_norm_exact"] == "√(15 + √221)"
    assert facts["nuclear_norm_exact"] == "√34"
    # rank 1: σ = (5, 0), both norms are 5
    facts = _measures("[[1, 2], [2, 4]]", "fr")
    assert facts["spectral_norm_exact"] == facts["nuclear_norm_exact"] == "5"
    assert _measures("[[0, 0], [0, 0]]")["nuclear_norm_exact"] == "0"


def test_explain_leaves_out_norms_without_closed_form():
    facts = _measures("[[1, 2, 3], [4, 5, 6], [7, 8, 10]]")
    assert "spectral_norm_exact" not in facts and "nuclear_norm_exact" not in facts
