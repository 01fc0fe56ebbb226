"""Review of the exact engine's norms, trace and printing (h4): defects 1–9."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import svdkit.exact as ex
from svdkit.errors import SvdkitError
from svdkit.exact._convert import NotAlgebraicError
from svdkit.exact.format import step_text, to_latex, to_mathml, to_text

SQRT_I = sp.sqrt(sp.I)


def _numeric(A) -> np.ndarray:
    return np.array(sp.Matrix(A).evalf(30).tolist(), dtype=complex)


# ----------------------------------------------------------------- 1: |x| of √i, √(1 + i)


@pytest.mark.parametrize(
    "A",
    [
        [[SQRT_I, 1], [1, 2]],
        [[sp.sqrt(1 + sp.I), 1], [0, 1]],
        [[1 + SQRT_I, sp.I], [sp.sqrt(2) * SQRT_I, -3]],
    ],
)
@pytest.mark.parametrize("ord", [1, "inf", None])
def test_norms_of_complex_radical_entries_are_exact_and_right(A, ord):
    r = ex.norm(A, ord)
    assert r.exact
    want = np.linalg.norm(_numeric(A), {1: 1, "inf": np.inf, None: "fro"}[ord])
    assert abs(complex(sp.N(r.value, 30)) - want) < 1e-12 * max(1, want)
    assert sp.N(sp.im(r.value), 30) == 0
    assert "√ii" not in to_text(r.value) and not r.value.has(sp.conjugate)


def test_sqrt_i_norms_are_simplified():
    A = [[SQRT_I, 1], [1, 2]]
    assert ex.norm(A, 1).value == 3
    assert ex.norm(A, "inf").value == 3
    assert ex.norm(A).value == sp.sqrt(7)  # |√i|² + 1 + 1 + 4
    assert ex.norm([SQRT_I, 1], "inf").value == 1
    assert ex.norm([SQRT_I, 1], 1).value == 2
    assert ex.norm([SQRT_I, 1]).value == sp.sqrt(2)
    assert ex.norm([[sp.sqrt(1 + sp.I), 1], [0, 1]], 1).value == 2
    assert ex.norm([[sp.sqrt(1 + sp.I), 1], [0, 1]], "inf").value == 1 + sp.root(2, 4)


def test_norm_steps_of_sqrt_i_print_plainly():
    r = ex.norm([[SQRT_I, 1], [1, 2]], steps=True)
    assert [to_text(v) for v in r.steps[-1].values.values()] == ["7", "√7"]


# ---------------------------------------------------------- 2: nuclear norm of A ⪰ 0 or ⪯ 0


def test_nuclear_norm_of_semidefinite_matrices_is_the_trace_exactly():
    A = sp.Matrix([[2, 1, 0], [1, 2, 1], [0, 1, 1]])  # eigenvalues: an irreducible cubic
    r = ex.norm(A, "nuc")
    assert r.exact and r.value == 5
    r = ex.norm(-A, "nuc")
    assert r.exact and r.value == 5
    # positive semidefinite and singular: σ = eigenvalues of a cubic, and 0
    B = sp.Matrix([[2, 1, 0, 3], [1, 2, 1, 4], [0, 1, 1, 2], [3, 4, 2, 9]])
    assert B.det() == 0
    r = ex.norm(B, "nuc")
    assert r.exact and r.value == 14
    want = np.linalg.norm(np.array(B.tolist(), dtype=float), "nuc")
    assert abs(float(r.value) - want) < 1e-12
    # Hermitian positive definite with complex entries
    H = sp.Matrix([[3, 1 + sp.I, 0], [1 - sp.I, 3, sp.I], [0, -sp.I, 2]])
    r = ex.norm(H, "nuc")
    assert r.exact and r.value == 8
    assert abs(float(r.value) - np.linalg.norm(_numeric(H), "nuc")) < 1e-12


def test_nuclear_norm_of_indefinite_matrix_stays_approximate():
    A = [[2, 1, 0], [1, -2, 1], [0, 1, 1]]  # indefinite: Σσ ≠ |Tr A|
    r = ex.norm(A, "nuc")
    assert not r.exact
    want = np.linalg.norm(np.array(A, dtype=float), "nuc")
    assert abs(float(r.value) - want) < 1e-12


# ------------------------------------------------------------- 3: sums expanded, exactly equal


def test_trace_and_sums_are_expanded():
    A = [[(1 + sp.sqrt(2)) ** 2, 1], [1, -2 * sp.sqrt(2)]]
    r = ex.trace(A, steps=True)
    assert r.value == 3 and to_text(r.value) == "3"
    assert "Tr A" in str(r.steps[-1].formula) or r.steps[-1].values["value"] == 3
    assert ex.trace([[1 / (1 + sp.sqrt(2)), 0], [0, 1]]).value == sp.sqrt(2)
    assert ex.norm(A, 1).value == 4 + 2 * sp.sqrt(2)
    assert ex.norm(A, "inf").value == 4 + 2 * sp.sqrt(2)
    assert ex.norm([(1 + sp.sqrt(2)) ** 2, -2 * sp.sqrt(2)], 1).value == 3 + 4 * sp.sqrt(2)


# ------------------------------------------------------------- 4: refusal of algebraic entries


def test_refusal_names_the_entry_and_not_pi():
    A = [[sp.sqrt(2 + sp.I), sp.I], [sp.sqrt(3), 1]]
    for call in (lambda: ex.rank(A), lambda: ex.norm(A, 2), lambda: ex.norm(A, "nuc")):
        try:
            call()
        except NotAlgebraicError as e:
            msg = str(e)
            assert "π" not in msg and "transcendental" not in msg
            assert "needs algebraic" not in msg
            assert "√(2 + i)" in msg or "sqrt(2 + I)" in msg
        else:  # computed instead: then it must be right
            pass
    with pytest.raises(NotAlgebraicError, match=r"mix π with radicals \(the entry √3·π\)"):
        ex.norm([[sp.pi, sp.sqrt(2)], [1, sp.pi * sp.sqrt(3)]], 2)
    with pytest.raises(NotAlgebraicError, match=r"the entry 1 \+ √\(2 \+ i\) holds √\(2 \+ i\)"):
        ex.rank([[1 + sp.sqrt(2 + sp.I)]])


def test_algebraic_complex_radicals_compute_or_refuse_honestly():
    A = sp.Matrix([[sp.sqrt(2 + sp.I), sp.I], [sp.sqrt(3), 1]])
    try:
        r = ex.rank(A)
    except NotAlgebraicError:
        return
    assert int(r.value if hasattr(r, "value") else r) == 2


# ------------------------------------------------------------------------- 5: to_text products


@pytest.mark.parametrize(
    "expr, text",
    [
        (sp.Mul(SQRT_I, sp.I, evaluate=False), "i√i"),
        (sp.sqrt(2) * SQRT_I * sp.I / 2, "i√2√i/2"),
        (sp.root(2, 4) * sp.I, "i·2^(1/4)"),
        (sp.pi**2, "π²"),
        (sp.pi**3 / 2, "π³/2"),
        (-2 + sp.pi**2, "−2 + π²"),
        (sp.I * sp.sqrt(1 + sp.I), "i√(1 + i)"),
        (sp.sqrt(3) * SQRT_I, "√3√i"),
        (sp.sqrt(2) * sp.I / 2, "i√2/2"),
        (sp.sqrt(2) * sp.pi, "√2·π"),
        (sp.root(2, 4) * sp.Symbol("x"), "2^(1/4)·x"),
        (3 * sp.root(2, 4) * sp.I, "3i·2^(1/4)"),
        (sp.sqrt(3) * sp.sqrt(5), "√15"),
        (sp.sqrt(2) * sp.sqrt(sp.pi), "√2√π"),
    ],
)
def test_to_text_products_read_unambiguously(expr, text):
    assert to_text(expr) == text


# --------------------------------------------------------------------- 6: fractional p-norm step


def test_fractional_p_norm_step_brackets_p():
    r = ex.norm([1, 2, 3], Fraction(3, 2), steps=True)
    s = r.steps[-1]
    template = "{p}-norm: (Σ|xᵢ|^{p})^(1/{p}) = {value}."
    text = step_text(s, template)
    assert text.startswith("(3/2)-norm: (Σ|xᵢ|^(3/2))^(1/(3/2)) = ")
    latex = step_text(s, template, to_latex)
    assert r"\left(\frac{3}{2}\right)" in latex and r"^\frac" not in latex
    assert "<mo>(</mo>" in step_text(s, template, to_mathml)
    assert step_text(ex.norm([1, 2, 3], 3, steps=True).steps[-1], template).startswith(
        "3-norm: (Σ|xᵢ|^3)^(1/3)"
    )
    assert sp.sympify(str(s.values["p"])) == sp.Rational(3, 2)


def test_fractional_p_norm_step_in_explain_renderers():
    from svdkit.explain.render_json import _value_string
    from svdkit.explain.render_latex import latex_value
    from svdkit.explain.render_text import exact_text

    # p is the number itself (a Rational); sentences group it (format.grouped_values)
    r = ex.norm([1, 2, 3], Fraction(3, 2), steps=True)
    p = r.steps[-1].values["p"]
    assert exact_text(p) == "3/2"
    assert latex_value(p) == r"\frac{3}{2}"
    assert sp.sympify(_value_string(p)) == sp.Rational(3, 2)  # JSON: read back as p


# ------------------------------------------------------------------------------ 7: odd ords


@pytest.mark.parametrize("ord", [[1], {}, np.array([1, 2]), {1: 2}])
def test_unhashable_matrix_ord_is_an_svdkit_error(ord):
    with pytest.raises(SvdkitError, match="unknown matrix norm"):
        ex.norm([[1, 2], [3, 4]], ord)


@pytest.mark.parametrize(
    "ord, value",
    [(np.array(2), sp.sqrt(15 + sp.sqrt(221))), (np.array(1), 6), (np.array(np.inf), 7)],
)
def test_zero_d_array_ords_are_their_scalar(ord, value):
    assert ex.norm([[1, 2], [3, 4]], ord).value == value


# ---------------------------------------------------------------- 8: vector ords of all kinds


@pytest.mark.parametrize(
    "ord, value",
    [
        (np.int64(3), sp.cbrt(91)),
        (sp.Integer(3), sp.cbrt(91)),
        (sp.Rational(3, 2), (3 * sp.sqrt(3) + 8) ** sp.Rational(2, 3)),
        (Fraction(3, 2), (3 * sp.sqrt(3) + 8) ** sp.Rational(2, 3)),
        (np.array(3), sp.cbrt(91)),
        ("Inf", 4),
        ("INF", 4),
        (np.float64(np.inf), 4),
        (np.int64(1), 7),
        (sp.Integer(2), 5),
    ],
)
def test_vector_ords_of_every_numeric_kind(ord, value):
    r = ex.norm([3, 4], ord)
    assert sp.simplify(r.value - value) == 0
    p = {np.inf: np.inf}.get(float(ord) if not isinstance(ord, str) else np.inf, None)
    want = np.linalg.norm([3.0, 4.0], p if p is not None else float(ord))
    assert abs(float(r.value) - want) < 1e-12


@pytest.mark.parametrize("ord", [sp.Rational(1, 2), np.int64(0), sp.pi, True, "nuc"])
def test_vector_ords_refused_clearly(ord):
    with pytest.raises(SvdkitError, match="unknown vector norm"):
        ex.norm([3, 4], ord)


# ------------------------------------------------------------------ 9: NumPy values in format


def test_to_text_of_numpy_scalars_and_floats():
    assert to_text(np.int64(-3)) == "−3"
    assert to_text(np.bool_(True)) == "True"
    assert to_text(np.float64(0.5)) == "≈0.5"
    assert to_text(0.1) == "≈0.1"
    assert to_text(-0.0) == "≈0.0"
    assert to_text(-1.5) == "≈−1.5"
    assert to_text(1 - 2j) == "≈1.0 − 2.0i"
    assert to_text(np.array([-1, 2])) == "[[−1, 2]]"


def test_to_mathml_and_latex_of_numpy_arrays():
    m = to_mathml(np.array([-1, 2]))
    assert "immutabledensendimarray" not in m.lower()
    assert m == to_mathml(sp.Matrix([[-1, 2]]))
    assert to_mathml(np.array([[1, 0], [0, 1]])) == to_mathml(sp.eye(2))
    assert to_latex(np.array([[1, 0], [0, 1]])) == to_latex(sp.eye(2))
    assert to_mathml(np.int64(-3)) == to_mathml(sp.Integer(-3))
