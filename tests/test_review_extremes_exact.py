"""Extremes found by a sweep of ``svdkit explain`` under ``python -W error``.

* ``is_diagonalizable`` of a 3×3 matrix with entries near 1e308: its eigenvalue gaps
  overflowed (now decided on ``A·2^−e``, as on the scaled matrix);
* the exact engine's sign of a number of size 1e-300 (an absolute threshold: it could
  not decide ``(√221 + 23)/10³⁰⁰``), and ``is_zero_expr`` of a zero written with
  terms of size 1e300 (it answered "non-zero");
* ``√2/2·10³²³`` for ``√2/(2·10³²³)``: a compact integer in a denominator.
"""

from __future__ import annotations

import ast
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from svdkit.exact._field import is_zero_expr, numeric_sign
from svdkit.exact.format import to_latex, to_mathml, to_text
from svdkit.linalg.structure import is_diagonalizable
from tests.cli_support import run_svdkit

BIG = [[1e308, -1e308, 1e308], [1e308, 1e308, 0], [0, 1e308, 1e308]]


# ----------------------------------------------------------------------------- 1


@pytest.mark.parametrize(
    ("pattern", "exact"),
    [
        ([[1, -1, 1], [1, 1, 0], [0, 1, 1]], [[1, -1, 1], [1, 1, 0], [0, 1, 1]]),
        ([[1, 1, 0], [0, 1, 0], [0, 0, -1]], [[1, 1, 0], [0, 1, 0], [0, 0, -1]]),  # Jordan
        ([[1, 0, 1], [0, -1, 0], [0, 0, -1]], [[1, 0, 1], [0, -1, 0], [0, 0, -1]]),
    ],
)
def test_diagonalizable_near_overflow_is_the_scaled_decision(pattern, exact):
    a = np.array(pattern, dtype=float)
    expected = sp.Matrix(exact).is_diagonalizable()  # exact arithmetic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for c in (1e308, -1e308, 1.7e308, 2.0**-1030, 1.0):
            assert is_diagonalizable(c * a) == expected, c


def test_diagonalizable_of_the_sweep_matrix_without_overflow():
    a = np.array(BIG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = is_diagonalizable(a)
        assert got == is_diagonalizable(np.ldexp(a, -1024))  # the same matrix, scaled
    # the pattern [[1, −1, 1], [1, 1, 0], [0, 1, 1]] has three distinct eigenvalues
    assert got is True
    assert len(set(sp.Matrix(np.sign(a).astype(int)).eigenvals())) == 3


def test_diagonalizable_tol_near_overflow_is_absolute():
    # eigenvalues 1e300 and 1e300 + 2^966 (≈ 1e290) apart by about 1e290: one cluster
    # within tol 1e292 (and then A − λ̄I has one singular value ≈ 1e299 > tol: no full
    # eigenspace), two clusters within tol 1e289; the same as A·2^−997 with tol·2^−997
    a = np.array([[1e300, 1e299], [0, 1e300 + 2.0**966]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert is_diagonalizable(a, tol=1e292) is False
        assert is_diagonalizable(a, tol=1e289) is True
        assert is_diagonalizable(a) is False  # r ≈ 6e292 > the gap
        for tol in (1e292, 1e289):
            assert is_diagonalizable(np.ldexp(a, -997), tol=np.ldexp(tol, -997)) == (
                is_diagonalizable(a, tol=tol)
            )


def test_explain_near_overflow_without_warning_from_structure(capsys, monkeypatch):
    # only svdkit.linalg.structure's warnings here: np.trace in svdkit/explain/notes.py
    # (trace_eigenvalues) overflows for this matrix too, a separate defect
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", module=r"svdkit\.linalg\.structure")
        code, _out, err = run_svdkit(capsys, monkeypatch)("explain", str(BIG).replace(" ", ""))
    assert code == 0, err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- 2


def _mp_sign(e: sp.Expr) -> int:
    with mpmath.workdps(200):
        v = mpmath.mpf(sp.N(e, 200)._to_mpmath(mpmath.mp.prec))
    return int(mpmath.sign(v))


@pytest.mark.parametrize("k", [0, 300, 308, 323, 600, 2000])
@pytest.mark.parametrize(
    "e",
    [
        sp.sqrt(221) + 23,
        sp.sqrt(221) - 15,
        14 - sp.sqrt(221) + sp.Rational(1, 10**20),
        sp.sqrt(2) - sp.Rational(14142135623730950488016887242097, 10**31),  # 31 digits cancel
        -((sp.sqrt(3) + sp.sqrt(2)) ** 2) + 5 + 2 * sp.sqrt(6) + sp.Rational(1, 10**40),
    ],
)
def test_numeric_sign_at_any_magnitude(e, k):
    for scale in (sp.Integer(10) ** k, sp.Rational(1, 10**k)):
        x = e * scale
        assert numeric_sign(x) == _mp_sign(x) != 0


def test_numeric_sign_with_an_imaginary_part_that_cancels():
    i = sp.I
    x = (sp.sqrt(2) + i * sp.sqrt(3)) * (sp.sqrt(2) - i * sp.sqrt(3)) - 5
    assert numeric_sign(x + sp.Rational(1, 10**500)) == 1
    assert numeric_sign(x - sp.Rational(1, 10**500)) == -1


@pytest.mark.parametrize("k", [0, 300, -300, 1000, -1000])
def test_is_zero_expr_is_relative(k):
    zero = sp.sqrt(5 + 2 * sp.sqrt(6)) - sp.sqrt(2) - sp.sqrt(3)  # √(5 + 2√6) = √2 + √3
    scale = sp.Integer(10) ** k if k >= 0 else sp.Rational(1, 10**-k)
    assert is_zero_expr(sp.expand(zero * scale))
    tiny = sp.expand((zero + sp.Rational(1, 10**40)) * scale)
    assert not is_zero_expr(tiny)
    assert _mp_sign(tiny) == numeric_sign(tiny) == 1


@pytest.mark.parametrize(
    ("matrix", "k"),
    [
        ("[[1e-300,2e-300],[3e-300,4e-300]]", 300),
        ("[[1e-308,2e-308],[3e-308,4e-308]]", 308),
    ],
)
def test_exact_engine_at_tiny_scale(matrix, k):
    import svdkit.exact as ex

    s = ex.svd(matrix).s
    scale = sp.Rational(1, 10**k)
    expected = [sp.sqrt(15 + sp.sqrt(221)) * scale, sp.sqrt(15 - sp.sqrt(221)) * scale]
    assert all(is_zero_expr(a - b) for a, b in zip(s, expected, strict=True))
    with mpmath.workdps(50):  # against mpmath's SVD of the decimal matrix
        mp = mpmath.svd_r(mpmath.matrix([[1, 2], [3, 4]]), compute_uv=False)
        for a, b in zip(s, sorted(mp, reverse=True), strict=True):
            assert abs(sp.N(a / scale, 40) - sp.Float(str(b), 40)) < sp.Float("1e-35")


def test_exact_engine_at_the_smallest_subnormals():
    import svdkit.exact as ex

    s = ex.svd("[[5e-324,1e-323],[1.5e-323,2e-323]]").s
    scale = sp.Rational(1, 2 * 10**323)  # 5e-324 read as 5·10⁻³²⁴
    expected = [sp.sqrt(15 + sp.sqrt(221)) * scale, sp.sqrt(15 - sp.sqrt(221)) * scale]
    assert all(is_zero_expr(a - b) for a, b in zip(s, expected, strict=True))


def test_explain_tiny_matrix_has_its_exact_part(capsys, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run_svdkit(capsys, monkeypatch)(
            "explain", "[[1e-300,2e-300],[3e-300,4e-300]]"
        )
    assert code == 0, err
    assert "please report" not in out + err
    assert "cannot decide" not in out + err
    assert "√(15 + √221)/10³⁰⁰" in out  # ‖A‖₂, exact
    assert "det A (exact)" in out and "−1/(5·10⁵⁹⁹)" in out  # det = −2·10⁻⁶⁰⁰


# ----------------------------------------------------------------------------- 3


_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _read(text: str) -> sp.Expr:
    """The value a reader takes from ``text`` (``√n``, ``π``, ``·``, ``/``, ``10ᵏ``), read
    with Python's precedence (``/`` and ``·`` alike, left to right), without eval."""
    s = text.replace("−", "-").replace("·", "*").replace("π", "pi")
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "√":
            if out and (out[-1][-1].isdigit() or out[-1][-1] == ")"):
                out.append("*")  # juxtaposition: 2√3, (…)√2
            j = i + 1
            while j < len(s) and s[j].isdigit():
                j += 1
            out.append(f"sqrt({s[i + 1 : j]})")
            i = j
        elif c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻":
            j = i
            while j < len(s) and s[j] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻":
                j += 1
            out.append(f"**({s[i:j].translate(_SUP)})")
            i = j
        else:
            out.append(c)
            i += 1
    return _value(ast.parse("".join(out), mode="eval").body)


def _value(node: ast.AST) -> sp.Expr:
    if isinstance(node, ast.Constant):
        return sp.Integer(node.value)
    if isinstance(node, ast.Name) and node.id == "pi":
        return sp.pi
    if isinstance(node, ast.Call) and node.func.id == "sqrt":
        return sp.sqrt(_value(node.args[0]))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _value(node.left), _value(node.right)
        ops = {ast.Mult: sp.Mul, ast.Div: lambda x, y: x / y, ast.Pow: sp.Pow, ast.Add: sp.Add}
        return ops[type(node.op)](a, b)
    raise AssertionError(ast.dump(node))


def test_frobenius_norm_of_smallest_subnormals_reads_right():
    import svdkit.exact as ex

    value = ex.norm("[[5e-324,0],[0,5e-324]]", "fro").value
    with mpmath.workdps(30):
        expected = mpmath.sqrt(2) * mpmath.mpf("5e-324")
        assert abs(sp.N(value, 30) - sp.Float(str(expected), 30)) < sp.Float("1e-350")
    text = to_text(value)
    assert text == "√2/(2·10³²³)"
    assert _read(text) == value  # not (√2/2)·10³²³
    assert to_latex(value) == r"\frac{\sqrt{2}}{2 \cdot 10^{323}}"
    assert "<mfrac>" in to_mathml(value)


@pytest.mark.parametrize(
    "x",
    [
        sp.sqrt(2) / (2 * sp.Integer(10) ** 323),
        sp.pi / (7 * sp.Integer(10) ** 40),
        -sp.sqrt(3) / (3 * sp.Integer(10) ** 300),
        sp.Rational(3, 2 * 10**600),
        sp.sqrt(5) / sp.Integer(10) ** 162,
        sp.sqrt(2) * 2 * sp.Integer(10) ** 300 / 3,
        2 * sp.Integer(10) ** 300 * sp.sqrt(2),
        sp.sqrt(2) / (3 * sp.Integer(10) ** 300) + sp.Rational(1, 2 * 10**300),
    ],
)
def test_compact_integers_read_as_their_value(x):
    text = to_text(x)
    assert "·10" in text or "10" in text
    assert is_zero_expr(_read(text) - x), text


@pytest.mark.parametrize(("scale", "shown"), [(1e308, "Tr A = 3e+308, Σλᵢ = 3e+308"),
                                              (1e-300, "Tr A = 3e−300, Σλᵢ = 3e−300")])
def test_trace_note_sums_scaled(scale, shown):
    # the note on Tr A = Σλᵢ summed the diagonal unscaled: ∞ (with numpy's overflow
    # warning) near 1e308, and 0 near 1e-300 (a fixed 1e-12 zero)
    import warnings

    from svdkit.explain import explain, render

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]) * scale
        text = render(explain(A), "markdown")
    note = next(line for line in text.splitlines() if "Note 000 (6.2)" in line)
    assert shown in note


def test_numeric_sign_of_a_cancellation_past_the_first_digits():
    # √2 − p/10⁴⁵⁰ (p = ⌊√2·10⁴⁵⁰⌋) cancels to 450 digits, past the first 400 tried: a
    # number known to be non-zero gets more digits (the exact SVD of a 1e300 matrix
    # raised "cannot decide the sign" on such a difference)
    from math import isqrt

    p = isqrt(2 * 10**900)
    for scale in (sp.Integer(1), sp.Integer(10) ** 700, sp.Integer(10) ** -700):
        e = scale * (sp.sqrt(2) - sp.Rational(p, 10**450))
        assert numeric_sign(e) == 1 and numeric_sign(-e) == -1
