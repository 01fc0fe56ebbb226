"""Follow-ups of the review of the exact engine's sums, norms and printing."""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.errors import SvdkitError
from svdkit.exact._field import exact_sum
from svdkit.exact.format import grouped_values, step_text, to_latex, to_mathml, to_text

# ------------------------------------------------------------ 1: exact_sum is linear in terms


def _radical_denominators(n: int) -> list[sp.Expr]:
    return [1 / (k + sp.sqrt(k + 1)) for k in range(1, n + 1)]


def test_trace_with_many_radical_denominators_is_fast_and_exact():
    entries = _radical_denominators(24)
    start = time.perf_counter()
    value = ex.trace(sp.diag(*entries)).value
    elapsed = time.perf_counter() - start
    assert elapsed < 20  # (the whole sum's radsimp: > 200 s; term by term: 0.5 s)
    assert not any(p.exp.is_negative and not p.base.is_Rational for p in value.atoms(sp.Pow))
    assert abs(sp.N(value - sp.Add(*entries), 60)) < 1e-50
    assert abs(float(value) - sum(1 / (k + np.sqrt(k + 1)) for k in range(1, 25))) < 1e-12


def test_vector_one_norm_with_many_radical_denominators_is_fast():
    v = _radical_denominators(30)
    start = time.perf_counter()
    value = ex.norm(v, 1).value
    assert time.perf_counter() - start < 20
    assert abs(float(value) - np.linalg.norm([float(x) for x in v], 1)) < 1e-12


def test_exact_sum_still_canonical():
    r2 = sp.sqrt(2)
    assert ex.trace([[(1 + r2) ** 2, 1], [1, -2 * r2]]).value == 3
    assert exact_sum([1 / (1 + r2), sp.Integer(1)]) == r2
    assert exact_sum([1 / (1 + r2), 1 / (1 - r2)]) == -2
    assert exact_sum([1 / (r2 + sp.sqrt(3)), sp.sqrt(2)]) == sp.sqrt(3)


# ------------------------------------------------------ 2: p of a p-norm step is a number


def test_fractional_p_step_value_is_a_rational():
    s = ex.norm([1, 2, 3], Fraction(3, 2), steps=True).steps[-1]
    p = s.values["p"]
    assert p == sp.Rational(3, 2) and isinstance(p, sp.Rational)
    assert float(p) == 1.5 and p + 1 == sp.Rational(5, 2)
    template = "{p}-norm: (Σ|xᵢ|^{p})^(1/{p}) = {value}."
    assert step_text(s, template).startswith("(3/2)-norm: (Σ|xᵢ|^(3/2))^(1/(3/2)) = ")
    latex = step_text(s, template, to_latex)
    assert r"^\left(\frac{3}{2}\right)" in latex and r"^\frac" not in latex
    assert step_text(s, template, to_mathml).startswith(
        "<mrow><mo>(</mo><mfrac><mn>3</mn><mn>2</mn></mfrac><mo>)</mo></mrow>-norm"
    )
    assert to_text(p) == "3/2"  # the value alone, bare


def test_grouped_values_only_where_a_fraction_runs_into_its_neighbours():
    values = {"p": sp.Rational(3, 2), "value": sp.Rational(1, 2), "n": sp.Integer(3)}
    g = grouped_values("{p}-norm, {value}, x^{n}", values)
    assert isinstance(g["p"], sp.UnevaluatedExpr) and g["value"] is values["value"]
    assert g["n"] is values["n"]
    assert values["p"] == sp.Rational(3, 2)  # the step's own values untouched


# ----------------------------------------------------------- 3: every root form reads right


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (sp.cbrt(2) * sp.I, "i∛2"),
        (sp.cbrt(2) * sp.Symbol("lamda"), "∛2·λ"),
        (sp.cbrt(3) * sp.pi, "∛3·π"),
        (sp.cbrt(2) * sp.E, "∛2·e"),
        (sp.cbrt(2) * sp.sqrt(3) * sp.I, "i∛2√3"),
        (sp.cbrt(1 + sp.I) * sp.I, "i∛(1 + i)"),
        (sp.root(2, 5) * sp.I, "i·2^(1/5)"),
        (sp.root(2, 4) * sp.sqrt(3) * sp.I, "i·2^(1/4)√3"),
        (sp.I * sp.cbrt(2) * sp.Symbol("x_2"), "i∛2·x₂"),
        (sp.Symbol("lamda") ** 2 - 2 * sp.cbrt(3) * sp.Symbol("lamda"), "λ² − 2∛3·λ"),
        (2 * sp.cbrt(3), "2∛3"),
        (sp.sqrt(2) * sp.I, "i√2"),
    ],
)
def test_root_products_read_unambiguously(expr, text):
    assert to_text(expr) == text


# -------------------------------------------------------------- 4, 5: floats and arrays


def test_infinities_print_as_infinity_signs():
    assert to_text(float("inf")) == "∞" and to_text(-np.inf) == "−∞"
    assert to_text(np.array([1.0, np.inf])) == "[[≈1.0, ∞]]"
    assert "oo" not in to_text(complex(1, float("inf")))
    assert to_latex(float("inf")) == r"\infty"


def test_three_dimensional_arrays_print_as_lists_of_matrices():
    a = np.arange(8).reshape(2, 2, 2)
    assert to_text(a) == "[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]"
    latex = to_latex(a)
    assert latex.count(r"\begin{matrix}") == 2 and "4 & 5" in latex
    assert to_mathml(a).count("<mtable>") == 2


def test_numpy_scalars_print_with_their_own_precision():
    assert to_text(np.float32(0.1)) == "≈0.1" and to_latex(np.float32(0.1)) == r"\approx 0.1"
    assert to_text(np.float16(0.1)) == "≈0.1"
    assert to_text(np.array([np.float32(0.1)], dtype=np.float32)) == "[[≈0.1]]"
    assert to_text(np.complex64(0.1 + 0.2j)) == "≈0.1 + 0.2i"
    assert to_text(np.longdouble("0.1")) == "≈0.1"
    assert to_text(np.float32(-0.0)) == "≈0.0"
    assert to_text(np.float64(0.1)) == "≈0.1" and to_text(np.int64(-3)) == "−3"


def test_zero_dimensional_arrays_are_numbers():
    assert to_text(np.array(5)) == "5" and to_latex(np.array(5)) == "5"
    assert to_text(np.array(2.5)) == "≈2.5" and to_mathml(np.array(5)) == "<mn>5</mn>"


def test_complex_nan_keeps_its_imaginary_part():
    assert to_text(complex(float("nan"), 1)) == "≈nan + 1.0i"
    assert to_text(complex(1, float("nan"))) == "≈1.0 + nan·i"
    assert to_text(complex(1, -float("inf"))) == "≈1.0 − ∞·i"
    assert to_text(np.array([complex(float("nan"), 1)])) == "[[≈nan + 1.0i]]"
    assert "NaN" in to_latex(complex(float("nan"), 1)) and "1.0 i" in to_latex(
        complex(float("nan"), 1)
    )


# ------------------------------------------------------------------------- 6: ords


@pytest.mark.parametrize("ord", [Decimal(2), 2 + 0j, np.complex128(2), Decimal("2.0")])
def test_ords_numpy_accepts(ord):
    x = [1, -2, 3]
    assert ex.norm(x, ord).value == sp.sqrt(14)
    assert abs(float(ex.norm(x, ord).value) - np.linalg.norm(x, ord)) < 1e-12


def test_decimal_infinity_and_fraction_ords():
    assert ex.norm([1, -2, 3], Decimal("Infinity")).value == 3
    assert ex.norm([[1, 2], [3, 4]], Decimal(1)).value == 6
    v = ex.norm([1, 2, 3], Decimal("1.5")).value
    assert abs(float(v) - np.linalg.norm([1, 2, 3], 1.5)) < 1e-12


@pytest.mark.parametrize(
    ("x", "ord", "shown"),
    [
        ([1, 2], "FRO", "'FRO'"),
        ([1, 2], sp.Rational(301, 3), "301/3"),
        ([1, 2], np.array(0.5), "array(0.5)"),
        ([1, 2], 1 + 1j, "(1+1j)"),
        ([[1, 2], [3, 4]], Decimal("1.5"), "Decimal('1.5')"),
    ],
)
def test_ord_errors_echo_the_ord_as_given(x, ord, shown):
    with pytest.raises(SvdkitError) as info:
        ex.norm(x, ord)
    assert shown in str(info.value)
    assert "Fraction" not in str(info.value).split(":")[0]


# ------------------------------------------------- 8: |x| of π with a root of a complex number


@pytest.mark.parametrize(
    "v",
    [
        [sp.pi + sp.sqrt(sp.I), 1],
        [sp.pi + sp.cbrt(sp.I), 2],
        [sp.E * sp.sqrt(1 + sp.I)],
        [(2 + 3 * sp.I) ** sp.Rational(1, 3), sp.pi],
    ],
)
@pytest.mark.parametrize("ord", [1, 2, "inf"])
def test_magnitudes_of_transcendental_complex_radicals_are_real(v, ord):
    r = ex.norm(v, ord)
    assert r.exact and r.value.is_real and not r.value.has(sp.I)
    expected = np.linalg.norm([complex(sp.N(x, 30)) for x in v], np.inf if ord == "inf" else ord)
    assert abs(float(r.value) - expected) < 1e-12 * expected
