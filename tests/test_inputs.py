"""The front door: ``as_matrix``, ``as_vector``, ``load`` and the matrix-text parser."""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import svdkit
import svdkit.inputs
import svdkit.inputs.expr
import svdkit.inputs.files
import svdkit.inputs.text
from svdkit import (
    EmptyInputError,
    FileFormatError,
    MissingFileError,
    NonFiniteError,
    ParseError,
    RaggedError,
    ShapeError,
    SvdkitError,
    as_matrix,
    as_vector,
    load,
)
from svdkit.inputs import parse_matrix_text
from svdkit.inputs.expr import (
    BinOp,
    Expr,
    ImaginaryUnit,
    Neg,
    Number,
    Pi,
    Sqrt,
    evaluate,
    parse_expr,
)
from svdkit.inputs.text import text_to_array

R2 = math.sqrt(2)


def _np_matrix(rows: list) -> np.ndarray:
    """An ``np.matrix`` (deprecated by NumPy, still met in the wild)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(rows)


# --------------------------------------------------------------------------- notations

NOTATIONS = [
    # Python / JSON / NumPy
    ("[[1,2],[3,4]]", [[1, 2], [3, 4]]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("[\n  [1, 2],\n  [3, 4],\n]", [[1, 2], [3, 4]]),
    ("[[1 2 3]\n [4 5 6]]", [[1, 2, 3], [4, 5, 6]]),
    ("[[ 1.5 -2. ]\n [ 0.   3. ]]", [[1.5, -2], [0, 3]]),
    ("array([[1, 2], [3, 4]])", [[1, 2], [3, 4]]),
    ("np.array([[1., 2.],\n          [3., 4.]])", [[1, 2], [3, 4]]),
    ("numpy.array([[1, 2]], dtype=float)", [[1, 2]]),
    ("[[1, 2]]", [[1, 2]]),
    ("[1, 2, 3]", [[1], [2], [3]]),
    ("array([1, 2, 3])", [[1], [2], [3]]),
    ("[1,\n 2,\n 3]", [[1], [2], [3]]),
    # MATLAB
    ("1 2; 3 4", [[1, 2], [3, 4]]),
    ("[1 2; 3 4]", [[1, 2], [3, 4]]),
    ("[1, 2; 3, 4]", [[1, 2], [3, 4]]),
    ("[1 2\n 3 4]", [[1, 2], [3, 4]]),
    ("[1 2 3]", [[1, 2, 3]]),
    ("[1; 2; 3]", [[1], [2], [3]]),
    ("[1 2; 3 4;]", [[1, 2], [3, 4]]),
    ("[1 -2; 3 4]", [[1, -2], [3, 4]]),
    ("[1 - 2; 3]", [[-1], [3]]),
    ("[1-2; 3]", [[-1], [3]]),
    ("[1 -2]", [[1, -2]]),
    ("[1 +2i]", [[1, 2j]]),
    ("[1 + 2i]", [[1 + 2j]]),
    ("[(1 -2) 3]", [[-1, 3]]),
    ("[2 * 3 1]", [[6, 1]]),
    ("[\\frac{1}{2} \\sqrt {4}]", [[0.5, 2]]),
    ("1 2\n3 4\n", [[1, 2], [3, 4]]),
    ("  1 2 \n\n 3 4  ", [[1, 2], [3, 4]]),
    # LaTeX
    ("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{Bmatrix}1&2\\\\3&4\\end{Bmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{vmatrix}1&2\\\\3&4\\end{vmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{Vmatrix}1&2\\\\3&4\\end{Vmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{matrix}1&2\\\\3&4\\end{matrix}", [[1, 2], [3, 4]]),
    ("\\begin{smallmatrix}1&2\\\\3&4\\end{smallmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{bmatrix*}[r]1&-2\\\\3&4\\end{bmatrix*}", [[1, -2], [3, 4]]),
    ("\\begin{bmatrix}1&2\\\\3&4\\\\\\end{bmatrix}", [[1, 2], [3, 4]]),
    ("\\begin{bmatrix}1\\\\2\\\\3\\end{bmatrix}", [[1], [2], [3]]),
    ("\\begin{bmatrix}1&2\\\\[2pt]3&4\\end{bmatrix}", [[1, 2], [3, 4]]),
    (
        "\\left [ \\begin{array}{cc}1 & 3 \\\\ 1 & 2 \\\\ 3 & 1\\end{array}\\right ]",
        [[1, 3], [1, 2], [3, 1]],
    ),
    (
        "\\left [ \\begin{array}{cc}\n1 & 3\\\\\n1 & 2 \\\\\n3 & 1\n\\end{array}\\right ]",
        [[1, 3], [1, 2], [3, 1]],
    ),
    ("\\left [ \\begin{array}{c}1 \\\\ 2 \\\\ 1\\end{array} \\right ].", [[1], [2], [1]]),
    ("\\left( \\begin{array}{cc} 1 & −2 \\\\ 0 & 3 \\end{array} \\right)", [[1, -2], [0, 3]]),
    (
        "\\begin{array}{c|c}\\hline 1 & 2 \\\\ \\hline 3 & 4 \\\\ \\hline\\end{array}",
        [[1, 2], [3, 4]],
    ),
    ("$\\begin{bmatrix}1&2\\end{bmatrix}$", [[1, 2]]),
    ("\\[ \\begin{pmatrix}1\\\\2\\end{pmatrix} \\]", [[1], [2]]),
    ("1 & 2 \\\\ 3 & 4", [[1, 2], [3, 4]]),
    ("\\left[ 1 & 2 \\\\ 3 & 4 \\right]", [[1, 2], [3, 4]]),
    (
        "\\begin{bmatrix}\\frac{1}{\\sqrt{2}} & -\\frac{1}{\\sqrt{2}}\\\\ "
        "\\dfrac{1}{2} & 2\\sqrt{2}\\end{bmatrix}",
        [[1 / R2, -1 / R2], [0.5, 2 * R2]],
    ),
    # CSV / TSV-like
    ("1,2,3\n4,5,6", [[1, 2, 3], [4, 5, 6]]),
    ("1, 2, 3\n4, 5, 6\n", [[1, 2, 3], [4, 5, 6]]),
    ("1\t2\n3\t4", [[1, 2], [3, 4]]),
    ("1/2,-3/4\n1+2i,0", [[0.5, -0.75], [1 + 2j, 0]]),
    # the notes' unicode minus
    ("[[1, −2, −3], [4, 5, 6]]", [[1, -2, -3], [4, 5, 6]]),
    ("[2,5]", [[2], [5]]),  # a decimal comma is just two entries
]


@pytest.mark.parametrize(("text", "expected"), NOTATIONS)
def test_notations(text: str, expected: list) -> None:
    a = as_matrix(text)
    want = np.array(expected)
    assert a.shape == want.shape
    assert a.dtype == (np.complex128 if np.iscomplexobj(want) else np.float64)
    np.testing.assert_allclose(a, want, rtol=1e-15, atol=0)


ENTRIES = [
    ("7", 7),
    ("2.5", 2.5),
    (".5", 0.5),
    ("5.", 5),
    ("1e-3", 1e-3),
    ("1E+3", 1000),
    ("1/2", 0.5),
    ("-3/4", -0.75),
    ("−2", -2),
    ("+3", 3),
    ("0.1+0.2", 0.3),  # exact: 3/10, rounded once (not 0.30000000000000004)
    ("1/3", 1 / 3),
    ("1+2i", 1 + 2j),
    ("1-2j", 1 - 2j),
    ("2i", 2j),
    ("i", 1j),
    ("-i", -1j),
    ("j", 1j),
    ("(1+2j)", 1 + 2j),
    ("3.5e2j", 350j),
    ("1/2i", -0.5j),  # 2i is one literal, as in Python and MATLAB
    ("i^2", -1),
    ("(1+i)(1-i)", 2),
    ("sqrt(2)", R2),
    ("√2", R2),
    ("√(1+1)", R2),
    ("\\sqrt{2}", R2),
    ("\\sqrt 2", R2),
    ("\\sqrt2", R2),
    ("\\frac{1}{\\sqrt{2}}", 1 / R2),
    ("\\dfrac{1}{2}", 0.5),
    ("\\tfrac{3}{4}", 0.75),
    ("\\frac12", 0.5),
    ("\\frac{-1}{2}", -0.5),
    ("1/\\sqrt{2}", 1 / R2),
    ("sqrt(4)", 2),
    ("sqrt(-4)", 2j),
    ("sqrt(1/4)", 0.5),
    ("pi", math.pi),
    ("π", math.pi),
    ("\\pi", math.pi),
    ("2^3", 8),
    ("2**3", 8),
    ("2^-1", 0.5),
    ("2^{1/2}", R2),
    ("2^3^2", 512),
    ("-2^2", -4),
    ("2\\cdot 3", 6),
    ("2\\times3", 6),
    ("2×3", 6),
    ("2*3/4", 1.5),
    ("2\\sqrt{2}", 2 * R2),
    ("3π", 3 * math.pi),
    ("2(1+i)", 2 + 2j),
    ("{1+2}*3", 9),
    ("1 - 2 + 3", 2),
    ("((((1))))", 1),
    ("1e-400", 0),
]


@pytest.mark.parametrize(("entry", "value"), ENTRIES)
def test_entry_expressions(entry: str, value: complex) -> None:
    got = parse_expr(entry).to_complex()
    assert got == pytest.approx(complex(value), rel=1e-15, abs=0)
    # the same entry as a 1×1 matrix, in brackets and in LaTeX
    assert as_matrix(f"[{entry}]")[0, 0] == pytest.approx(value, rel=1e-15, abs=0)
    latex = as_matrix(f"\\begin{{bmatrix}}{entry}\\end{{bmatrix}}")
    assert latex[0, 0] == pytest.approx(value, rel=1e-15, abs=0)


def test_exact_values_are_rounded_once() -> None:
    assert as_matrix("0.1+0.2")[0, 0] == 0.3
    assert as_matrix("1/3")[0, 0] == 1 / 3
    assert as_matrix("1/10 * 3")[0, 0] == 0.3
    assert as_matrix("123456789012345678901234567890")[0, 0] == 1.2345678901234568e29


def test_complex_dtype_follows_the_imaginary_unit() -> None:
    assert as_matrix("1 2").dtype == np.float64
    assert as_matrix("1 0i").dtype == np.complex128  # i is written: a complex matrix
    assert as_matrix("1 sqrt(-1)").dtype == np.complex128
    assert as_matrix("1 i*i").dtype == np.complex128
    assert as_matrix("1 i*i")[0, 1] == -1


# --------------------------------------------------------------------------- the tree


def test_ast_nodes_are_small_frozen_dataclasses() -> None:
    e = parse_expr("\\frac{1}{\\sqrt{2}} - 3π i")
    assert e == BinOp(
        "-",
        BinOp("/", Number(Fraction(1)), Sqrt(Number(Fraction(2)))),
        BinOp("*", BinOp("*", Number(Fraction(3)), Pi()), ImaginaryUnit()),
    )
    assert parse_expr("-2") == Neg(Number(Fraction(2)))
    assert parse_expr("0.1") == Number(Fraction(1, 10))
    assert parse_expr("2.5e-3") == Number(Fraction(1, 400))
    assert parse_expr("2i") == BinOp("*", Number(Fraction(2)), ImaginaryUnit())
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_expr("1").value = Fraction(2)  # type: ignore[misc]
    for cls in (Number, ImaginaryUnit, Pi, Sqrt, Neg, BinOp):
        assert issubclass(cls, Expr) and dataclasses.is_dataclass(cls)


def test_rational_and_evaluate() -> None:
    assert parse_expr("0.1 + 1/5").rational() == Fraction(3, 10)
    assert parse_expr("(2/3)^2").rational() == Fraction(4, 9)
    assert parse_expr("2^-2").rational() == Fraction(1, 4)
    assert parse_expr("sqrt(9/4)").rational() == Fraction(3, 2)
    assert parse_expr("sqrt(2)").rational() is None
    assert parse_expr("1+i").rational() is None
    assert evaluate(parse_expr("3/4")) == 0.75 and isinstance(evaluate(parse_expr("3/4")), float)
    assert evaluate(parse_expr("2i")) == 2j
    assert parse_expr("1+2i").has_imaginary_unit() and not parse_expr("pi").has_imaginary_unit()


def test_parse_matrix_text_returns_rows_of_expressions() -> None:
    rows = parse_matrix_text("[[1/2, -3/4], [0.1, 2i]]")
    assert len(rows) == 2 and all(len(r) == 2 for r in rows)
    assert all(isinstance(e, Expr) for r in rows for e in r)
    assert rows[0][0] == BinOp("/", Number(Fraction(1)), Number(Fraction(2)))
    assert rows[1][0].rational() == Fraction(1, 10)
    assert parse_matrix_text("[1, 2, 3]") == [[Number(Fraction(k))] for k in (1, 2, 3)]


# --------------------------------------------------------------------------- round trips


def _fmt_real(x: int | Fraction | float, style: str) -> str:
    if isinstance(x, Fraction) and x.denominator != 1:
        if style == "latex":
            sign = "-" if x < 0 else ""
            return f"{sign}\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"
        return f"{x.numerator}/{x.denominator}"
    if isinstance(x, Fraction):
        return str(x.numerator)
    return repr(x)


def _fmt(x: object, style: str) -> str:
    if isinstance(x, complex):
        unit = "j" if style == "python" else "i"
        re, im = x.real, x.imag
        sign = "-" if math.copysign(1, im) < 0 else "+"
        return f"{_fmt_real(re, style)}{sign}{_fmt_real(abs(im), style)}{unit}"
    return _fmt_real(x, style)


def _format(rows: list[list[object]], style: str) -> str:
    cells = [[_fmt(x, style) for x in row] for row in rows]
    if style == "python":
        return "[" + ", ".join("[" + ", ".join(r) + "]" for r in cells) + "]"
    if style == "matlab":
        return "[" + "; ".join(" ".join(r) for r in cells) + "]"
    if style == "latex":
        body = " \\\\\n".join(" & ".join(r) for r in cells)
        return f"\\begin{{bmatrix}}\n{body}\n\\end{{bmatrix}}"
    return "\n".join(",".join(r) for r in cells)  # csv


_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
_ENTRY_KINDS = {
    "int": st.integers(-(10**12), 10**12),
    "fraction": st.fractions(max_denominator=10**6).filter(lambda q: abs(q) < 10**9),
    "float": _finite,
    "complex": st.builds(
        complex, st.integers(-1000, 1000) | _finite, st.integers(-1000, 1000) | _finite
    ),
}


@st.composite
def _matrices(draw: st.DrawFn) -> tuple[list[list[object]], np.ndarray]:
    kind = draw(st.sampled_from(sorted(_ENTRY_KINDS)))
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rows = draw(
        st.lists(st.lists(_ENTRY_KINDS[kind], min_size=n, max_size=n), min_size=m, max_size=m)
    )
    if kind == "complex":
        expected = np.array(rows, dtype=np.complex128)
    else:
        expected = np.array([[float(x) for x in r] for r in rows], dtype=np.float64)
    return rows, expected


@pytest.mark.parametrize("style", ["python", "matlab", "latex", "csv"])
@settings(max_examples=60, deadline=None)
@given(case=_matrices())
def test_round_trip(style: str, case: tuple[list[list[object]], np.ndarray]) -> None:
    rows, expected = case
    text = _format(rows, style)
    got = as_matrix(text)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # exact: every entry rounded once


@settings(max_examples=40, deadline=None)
@given(case=_matrices())
def test_fast_path_agrees_with_the_full_parser(case: tuple[list[list[object]], np.ndarray]) -> None:
    rows, _ = case
    for style, delimiter in (("csv", ","), ("csv", None), ("matlab", None)):
        text = _format(rows, style)
        if style == "matlab":
            text = text.strip("[]").replace("; ", "\n")
        grid = svdkit.inputs.text._parse_grid(text, delimiter)
        slow = svdkit.inputs.text._evaluate_grid(text, grid)
        np.testing.assert_array_equal(text_to_array(text, delimiter=delimiter), slow)


@settings(max_examples=40, deadline=None)
@given(case=_matrices())
def test_lists_of_python_numbers(case: tuple[list[list[object]], np.ndarray]) -> None:
    rows, expected = case
    np.testing.assert_array_equal(as_matrix(rows), expected)


# --------------------------------------------------------------------------- bad text

BAD_TEXT = [
    ("abc", ParseError, ["'abc'", "row 1, column 1", "offset 0"]),
    ("1 2; 3 x", ParseError, ["'x'", "row 2, column 2", "offset 7"]),
    ("[[1, 2], [3, y]]", ParseError, ["'y'", "row 2, column 2", "offset 13"]),
    ("1 2\n3 abc", ParseError, ["'abc'", "row 2, column 2", "line 2"]),
    ("\\begin{bmatrix}1&z\\end{bmatrix}", ParseError, ["'z'", "row 1, column 2"]),
    ("nan", ParseError, ["'nan'", "finite", "row 1, column 1"]),
    ("[1, inf]", ParseError, ["'inf'", "finite", "row 2, column 1"]),
    ("1..2", ParseError, ["'.2'", "offset 2"]),
    ("1 2 3\n4 5 @", ParseError, ["'@'", "row 2, column 3"]),
    ("[1, 2,, 3]", ParseError, ["empty entry", "column 3"]),
    ("e", ParseError, ["'e'"]),
    ("2 +", ParseError, ["missing a number"]),
    ("\\foo{1}", ParseError, ["'\\foo'"]),
    ("\\sqrt 12", ParseError, ["'2'", "braces"]),
    ("1/0", ParseError, ["division by zero", "'1/0'", "row 1, column 1"]),
    ("[1 2; 3 (4-4)^-1]", ParseError, ["division by zero", "row 2, column 2"]),
    ("\\frac{1}{0}", ParseError, ["division by zero"]),
    ("10^400", NonFiniteError, ["'10^400'", "too large", "row 1, column 1"]),
    ("1e400 1", NonFiniteError, ["'1e400'", "row 1, column 1"]),
    ("1e99999", ParseError, ["exponent"]),
    ("[[1,2],[3,4]", ParseError, ["never closed", "offset 0"]),
    ("[1,2]]", ParseError, ["']'", "offset 5"]),
    ("(1+2", ParseError, ["'('", "never closed", "offset 0"]),
    ("1+2)", ParseError, ["')'", "offset 3"]),
    ("[(1+2]", ParseError, ["'('", "never closed"]),
    ("\\begin{bmatrix}1&2", ParseError, ["no \\end{bmatrix}"]),
    ("\\begin{bmatrix}\\frac{1}{2\\end{bmatrix}", ParseError, ["'{'"]),
    ("1 2; 3", RaggedError, ["row 2", "1 entry", "2 entries"]),
    ("[[1, 2], [3]]", RaggedError, ["row 2", "1 entry", "2 entries"]),
    ("[[1, 2], 3]", RaggedError, ["row 2"]),
    ("\\begin{bmatrix}1&2\\\\3\\end{bmatrix}", RaggedError, ["row 2", "1 entry"]),
    ("1,2,3\n4,5", RaggedError, ["row 2", "2 entries", "3 entries"]),
    ("\\begin{bmatrix}1&\\end{bmatrix}", ParseError, ["empty entry", "row 1, column 2"]),
    ("\\begin{foo}1\\end{foo}", ParseError, ["'foo'", "bmatrix"]),
    ("A \\begin{bmatrix}1\\end{bmatrix}", ParseError, ["'A'", "before the matrix"]),
    ("\\begin{bmatrix}1\\end{bmatrix} x", ParseError, ["'x'", "after the matrix"]),
    ("", EmptyInputError, ["empty"]),
    ("   \n  ", EmptyInputError, ["no entries"]),
    ("[]", EmptyInputError, ["'[]'"]),
    ("[[]]", EmptyInputError, ["'[[]]'"]),
    ("\\begin{bmatrix}\\end{bmatrix}", EmptyInputError, ["no entries"]),
    ("[[[1]]]", ShapeError, ["third level", "offset 2"]),
    ("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]", ShapeError, ["third level"]),
    ("data.csv", ParseError, ["'data'", "svdkit.load"]),
]


@pytest.mark.parametrize(("text", "error", "words"), BAD_TEXT)
def test_bad_text(text: str, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        as_matrix(text)
    assert isinstance(info.value, SvdkitError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_parse_error_carries_its_position() -> None:
    with pytest.raises(ParseError) as info:
        as_matrix("1 2\n3 abc")
    err = info.value
    assert (err.row, err.column, err.offset) == (2, 2, 6)
    assert "^^^" in str(err)  # the spot is shown under the line


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "[[__import__('os').system('echo hi')]]",
        "eval('1+1')",
        "().__class__.__bases__[0].__subclasses__()",
        "lambda: 1",
        "open('/etc/passwd').read()",
        "\\begin{bmatrix}__import__('os')\\end{bmatrix}",
    ],
)
def test_text_is_never_evaluated(text: str, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ParseError) as info:
        as_matrix(text)
    assert "unknown name" in str(info.value) or "unexpected" in str(info.value)
    assert "hi" not in capfd.readouterr().out


_FUZZ_PIECES = [
    *"0123456789.eEij+-*/^()[]{},;& \t\n\\|$%#π√−'\"x",
    "\\\\",
    "\\begin{bmatrix}",
    "\\end{bmatrix}",
    "\\begin{array}{cc}",
    "\\end{array}",
    "\\frac",
    "\\sqrt",
    "\\left[",
    "\\right]",
    "\\hline",
    "array(",
    "np.",
    "pi",
    "sqrt",
    "nan",
    "**",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(_FUZZ_PIECES), max_size=25).map("".join) | st.text(max_size=25)
)
def test_any_text_gives_a_matrix_or_an_svdkit_error(text: str) -> None:
    for read in (
        as_matrix,
        as_vector,
        lambda t: text_to_array(t, delimiter=","),
        lambda t: text_to_array(t, document=True),
    ):
        try:
            a = read(text)
        except SvdkitError:
            continue
        assert a.ndim in (1, 2) and a.size and np.isfinite(a).all()


def test_deep_nesting_and_long_entries_are_refused_cleanly() -> None:
    with pytest.raises(ParseError, match="nested more than"):
        as_matrix("(" * 300 + "1" + ")" * 300)
    with pytest.raises(ParseError, match="too long"):
        as_matrix("+".join(["1"] * 2000))
    with pytest.raises(ParseError, match="too long"):
        as_matrix("1" * 5000)


# --------------------------------------------------------------------------- arrays and lists


def test_no_copy_for_float64_and_complex128() -> None:
    a = np.random.default_rng(0).standard_normal((200, 300))
    assert as_matrix(a) is a
    assert as_matrix(a, dtype=np.float64) is a
    assert as_matrix(a[:, ::2]).base is a  # a strided view: still no copy
    f = np.asfortranarray(a)
    assert as_matrix(f) is f
    c = a + 1j
    assert as_matrix(c) is c
    v = np.arange(4.0)
    assert as_matrix(v).base is v  # a column view of the vector
    assert as_vector(v) is v


@pytest.mark.parametrize(
    ("obj", "dtype", "shape"),
    [
        (np.arange(6).reshape(2, 3), np.float64, (2, 3)),
        (np.array([[True, False]]), np.float64, (1, 2)),
        (np.ones((2, 2), dtype=np.float32), np.float64, (2, 2)),
        (np.ones((2, 2), dtype=np.float16), np.float64, (2, 2)),
        (np.ones((2, 2), dtype=np.complex64), np.complex128, (2, 2)),
        (np.ones((2, 2), dtype=np.uint8), np.float64, (2, 2)),
        (_np_matrix([[1, 2], [3, 4]]), np.float64, (2, 2)),
        ([[1, 2.5], [3, 4]], np.float64, (2, 2)),
        (((1, 2), (3, 4)), np.float64, (2, 2)),
        ([[1, Fraction(1, 3)], [True, 2]], np.float64, (2, 2)),
        ([[1, 2j], [3, 4]], np.complex128, (2, 2)),
        ([[1, Fraction(1, 2)], [1j, 0]], np.complex128, (2, 2)),
        ([1, 2, 3], np.float64, (3, 1)),
        (np.arange(3), np.float64, (3, 1)),
        (5, np.float64, (1, 1)),
        (2.5, np.float64, (1, 1)),
        (1 + 1j, np.complex128, (1, 1)),
        (Fraction(1, 3), np.float64, (1, 1)),
        (np.float32(2), np.float64, (1, 1)),
        (np.array(3.0), np.float64, (1, 1)),
        ([np.array([1, 2]), np.array([3, 4])], np.float64, (2, 2)),
    ],
)
def test_dense_inputs(obj: object, dtype: type, shape: tuple[int, int]) -> None:
    a = as_matrix(obj)
    assert type(a) is np.ndarray
    assert a.dtype == dtype and a.shape == shape


def test_values_of_dense_inputs() -> None:
    np.testing.assert_array_equal(as_matrix([[1, Fraction(1, 3)]]), [[1.0, 1 / 3]])
    np.testing.assert_array_equal(as_matrix([1, 2]), [[1.0], [2.0]])
    np.testing.assert_array_equal(as_matrix(_np_matrix([[1, 2]])), [[1.0, 2.0]])


def test_objects_with_array_protocol() -> None:
    class Wrapper:
        def __array__(self, dtype=None, copy=None):
            return np.array([[1, 2], [3, 4]], dtype=dtype)

    np.testing.assert_array_equal(as_matrix(Wrapper()), [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.complex64, np.complex64),
        (np.complex128, np.complex128),
        ("float32", np.float32),
    ],
)
def test_requested_dtype(dtype: object, expected: type) -> None:
    assert as_matrix([[1, 2], [3, 4]], dtype=dtype).dtype == expected
    assert as_matrix("1 2; 3 4", dtype=dtype).dtype == expected


def test_complex_to_real_dtype_is_refused() -> None:
    with pytest.raises(SvdkitError, match=r"complex.*row 1, column 2.*\(1\+2j\).*float64"):
        as_matrix(np.array([[1, 1 + 2j]]), dtype=np.float64)
    with pytest.raises(SvdkitError, match="complex"):
        as_matrix("1 2i", dtype=np.float32)
    with pytest.raises(SvdkitError, match="complex"):
        as_matrix(sp.csr_matrix(np.array([[1j]])), dtype=np.float64, sparse=True)


def test_unsupported_dtype() -> None:
    with pytest.raises(SvdkitError, match="int32"):
        as_matrix([[1]], dtype=np.int32)
    with pytest.raises(SvdkitError, match="dtype"):
        as_matrix([[1]], dtype="not a dtype")


def test_overflow_when_narrowing() -> None:
    with pytest.raises(NonFiniteError, match=r"row 1, column 2.*overflows float32"):
        as_matrix(np.array([[1.0, 1e300]]), dtype=np.float32)
    with pytest.raises(NonFiniteError, match=r"row 1, column 1.*too large"):
        as_matrix([[10**400]])


@pytest.mark.parametrize(
    ("obj", "where", "value"),
    [
        (np.array([[1.0, 2.0], [3.0, np.nan]]), "row 2, column 2", "nan"),
        (np.array([[1.0, np.inf]]), "row 1, column 2", "inf"),
        (np.array([[1.0], [-np.inf]]), "row 2, column 1", "-inf"),
        (np.array([[1, complex(0, np.nan)]]), "row 1, column 2", "nanj"),
        ([[1, 2], [float("nan"), 4]], "row 2, column 1", "nan"),
        ([[1, float("inf")]], "row 1, column 2", "inf"),
        ([1, 2, float("-inf")], "row 3, column 1", "-inf"),
        (np.array([[np.nan]], dtype=np.float32), "row 1, column 1", "nan"),
    ],
)
def test_non_finite_arrays_and_lists(obj: object, where: str, value: str) -> None:
    with pytest.raises(NonFiniteError) as info:
        as_matrix(obj)
    assert where in str(info.value) and value in str(info.value)


@pytest.mark.parametrize(
    ("obj", "error", "words"),
    [
        (np.zeros((2, 2, 2)), ShapeError, ["(2, 2, 2)", "2-D"]),
        (np.zeros((1, 1, 1, 1)), ShapeError, ["(1, 1, 1, 1)"]),
        ([[[1, 2]], [[3, 4]]], ShapeError, ["row 1, column 1", "3-D"]),
        ([[1, 2], [3, [4, 5]]], ShapeError, ["row 2, column 2"]),
        (np.zeros((0, 3)), EmptyInputError, ["(0, 3)"]),
        (np.zeros((3, 0)), EmptyInputError, ["(3, 0)"]),
        ([], EmptyInputError, ["empty"]),
        ([[]], EmptyInputError, ["empty"]),
        (np.array([]), EmptyInputError, ["(0,)"]),
        ([[1, 2], [3]], RaggedError, ["row 2", "1 entry", "2 entries"]),
        ([[1, 2], [3, 4], [5, 6, 7]], RaggedError, ["row 3", "3 entries", "2 entries"]),
        ([[1, 2], 3], RaggedError, ["row 2", "single number"]),
        ([[1, "a"], [3, 4]], ParseError, ["row 1, column 2", "'a'"]),
        ([[1, 2], [None, 4]], ParseError, ["row 2, column 1", "None"]),
        ([[1, {}]], ParseError, ["row 1, column 2", "{}"]),
        (np.array([["1", "2"]]), ParseError, ["row 1, column 1", "'1'"]),
        (np.array([[1, object()]], dtype=object), ParseError, ["row 1, column 2", "object"]),
        (np.zeros(2, dtype=[("a", float)]), ParseError, ["dtype"]),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), ParseError, ["dtype"]),
        (None, ParseError, ["None"]),
        ({"a": 1}, ParseError, ["'a'"]),
    ],
)
def test_bad_arrays_and_lists(obj: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        as_matrix(obj)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_name_appears_in_messages() -> None:
    with pytest.raises(NonFiniteError, match=r"^weights has a non-finite entry"):
        as_matrix([[np.nan]], name="weights")


# --------------------------------------------------------------------------- sparse


def test_sparse_kept_sparse() -> None:
    csr = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    assert as_matrix(csr, sparse=True) is csr
    csc = sp.csc_array(np.eye(3))
    assert as_matrix(csc, sparse=True) is csc
    coo = sp.coo_matrix(np.eye(3, dtype=int))
    out = as_matrix(coo, sparse=True)
    assert sp.issparse(out) and out.format == "csr" and out.dtype == np.float64
    np.testing.assert_array_equal(out.toarray(), np.eye(3))
    cplx = as_matrix(sp.lil_matrix(np.array([[1j, 0]])), sparse=True)
    assert cplx.format == "csr" and cplx.dtype == np.complex128
    f32 = as_matrix(csr, sparse=True, dtype=np.float32)
    assert sp.issparse(f32) and f32.dtype == np.float32


def test_sparse_densified_by_default() -> None:
    csr = sp.csr_matrix(np.array([[1, 0], [0, 2]]))
    out = as_matrix(csr)
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1, 0], [0, 2]])
    assert type(as_matrix(np.eye(2), sparse=True)) is np.ndarray  # dense stays dense


def test_sparse_too_large_to_densify() -> None:
    n = 10**6
    huge = sp.csr_matrix(([1.0, 2.0], ([0, n - 1], [3, n - 2])), shape=(n, n))
    with pytest.raises(ShapeError) as info:
        as_matrix(huge)
    msg = str(info.value)
    assert "1000000×1000000" in msg and "svdkit.lowrank" in msg and "sparse=True" in msg
    assert as_matrix(huge, sparse=True) is huge


def test_sparse_errors() -> None:
    bad = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, np.nan]]))
    with pytest.raises(NonFiniteError, match="row 2, column 2: nan"):
        as_matrix(bad, sparse=True)
    with pytest.raises(NonFiniteError, match="row 2, column 2"):
        as_matrix(bad.tocsc(), sparse=True)
    with pytest.raises(NonFiniteError, match="row 2, column 2"):
        as_matrix(bad)
    with pytest.raises(EmptyInputError, match=r"\(0, 3\)"):
        as_matrix(sp.csr_matrix((0, 3)), sparse=True)


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize(
    "obj",
    [
        [1, 2, 3],
        (1, 2, 3),
        np.array([1, 2, 3]),
        np.array([[1], [2], [3]]),
        np.array([[1, 2, 3]]),
        [[1], [2], [3]],
        "[1, 2, 3]",
        "1 2 3",
        "1; 2; 3",
        "1\n2\n3",
        "\\begin{bmatrix}1\\\\2\\\\3\\end{bmatrix}",
        "\\left [ \\begin{array}{c}1 \\\\ 2 \\\\ 3\\end{array} \\right ]",
        sp.csr_matrix(np.array([[1.0], [2.0], [3.0]])),
    ],
)
def test_as_vector(obj: object) -> None:
    v = as_vector(obj)
    assert v.ndim == 1 and v.dtype == np.float64
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])


def test_as_vector_scalar_and_complex() -> None:
    np.testing.assert_array_equal(as_vector(5), [5.0])
    assert as_vector("1 2i").dtype == np.complex128


@pytest.mark.parametrize(
    ("obj", "error", "words"),
    [
        ([[1, 2], [3, 4]], ShapeError, ["(2, 2)", "vector"]),
        ("1 2; 3 4", ShapeError, ["(2, 2)"]),
        (np.zeros((2, 2, 1)), ShapeError, ["(2, 2, 1)"]),
        ([], EmptyInputError, ["empty"]),
        ("", EmptyInputError, ["empty"]),
        ([1, float("nan"), 3], NonFiniteError, ["position 2", "index 1", "nan"]),
        (np.array([1.0, 2.0, np.inf]), NonFiniteError, ["position 3", "inf"]),
        ([1, "x"], ParseError, ["position 2", "'x'"]),
        ("1 2 x", ParseError, ["'x'", "column 3"]),
    ],
)
def test_bad_vectors(obj: object, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        as_vector(obj)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# --------------------------------------------------------------------------- files

M = np.array([[1.0, -2.5], [3.0, 0.125], [1e-3, 7.0]])


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_load_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", M)
    np.testing.assert_array_equal(load(tmp_path / "a.npy"), M)
    np.testing.assert_array_equal(load(str(tmp_path / "a.npy")), M)
    np.testing.assert_array_equal(as_matrix(tmp_path / "a.npy"), M)
    np.save(tmp_path / "v.npy", np.arange(3))
    assert load(tmp_path / "v.npy").shape == (3, 1)
    np.save(tmp_path / "c.npy", M * 1j)
    assert load(tmp_path / "c.npy").dtype == np.complex128
    assert load(tmp_path / "a.npy", dtype=np.float32).dtype == np.float32


def test_load_npz(tmp_path: Path) -> None:
    s = sp.csr_matrix(M)
    sp.save_npz(tmp_path / "s.npz", s)
    kept = load(tmp_path / "s.npz", sparse=True)
    assert sp.issparse(kept) and kept.format == "csr"
    np.testing.assert_array_equal(kept.toarray(), M)
    dense = load(tmp_path / "s.npz")
    assert type(dense) is np.ndarray
    np.testing.assert_array_equal(dense, M)
    sp.save_npz(tmp_path / "coo.npz", sp.coo_matrix(M))
    assert load(tmp_path / "coo.npz", sparse=True).format == "csr"
    np.savez(tmp_path / "one.npz", weights=M)
    np.testing.assert_array_equal(load(tmp_path / "one.npz"), M)


def test_load_csv_tsv_txt(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "a.csv", M, delimiter=",")
    np.testing.assert_array_equal(load(tmp_path / "a.csv"), M)
    np.savetxt(tmp_path / "a.tsv", M, delimiter="\t")
    np.testing.assert_array_equal(load(tmp_path / "a.tsv"), M)
    np.savetxt(tmp_path / "a.txt", M, header="a header comment")
    np.testing.assert_array_equal(load(tmp_path / "a.txt"), M)
    _write(tmp_path / "b.csv", "1/2, 1+2i\r\n−3, \\sqrt{4}\r\n")
    np.testing.assert_array_equal(load(tmp_path / "b.csv"), [[0.5, 1 + 2j], [-3, 2]])
    _write(tmp_path / "b.tsv", "1 + 1\t2\n3\t(4)\n")
    np.testing.assert_array_equal(load(tmp_path / "b.tsv"), [[2, 2], [3, 4]])
    _write(tmp_path / "m.txt", "[1 2; 3 4]")
    np.testing.assert_array_equal(load(tmp_path / "m.txt"), [[1, 2], [3, 4]])
    _write(tmp_path / "l.txt", "\\begin{pmatrix}1 & 2\\end{pmatrix}")
    np.testing.assert_array_equal(load(tmp_path / "l.txt"), [[1, 2]])
    _write(tmp_path / "bom.csv", "\ufeff1,2\n3,4\n")
    np.testing.assert_array_equal(load(tmp_path / "bom.csv"), [[1, 2], [3, 4]])


def test_load_json(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", json.dumps(M.tolist()))
    np.testing.assert_array_equal(load(tmp_path / "a.json"), M)
    _write(tmp_path / "v.json", "[1, 2, 3]")
    assert load(tmp_path / "v.json").shape == (3, 1)


def test_load_tex(tmp_path: Path) -> None:
    doc = (
        "\\documentclass{article}\n\\begin{document}\n"
        "Soit $A = \\left [ \\begin{array}{cc}1 & 3 \\\\ 1 & −2\\end{array}\\right ]$.\n"
        "\\end{document}\n"
    )
    _write(tmp_path / "a.tex", doc)
    np.testing.assert_array_equal(load(tmp_path / "a.tex"), [[1, 3], [1, -2]])
    _write(tmp_path / "b.tex", "1 & 2 \\\\ 3 & 4")
    np.testing.assert_array_equal(load(tmp_path / "b.tex"), [[1, 2], [3, 4]])


def test_load_mtx(tmp_path: Path) -> None:
    s = sp.csr_matrix(M)
    scipy.io.mmwrite(tmp_path / "s.mtx", s)
    kept = load(tmp_path / "s.mtx", sparse=True)
    assert sp.issparse(kept) and kept.format == "csr" and kept.dtype == np.float64
    np.testing.assert_array_equal(kept.toarray(), M)
    dense = load(tmp_path / "s.mtx")
    assert type(dense) is np.ndarray
    np.testing.assert_array_equal(dense, M)
    scipy.io.mmwrite(tmp_path / "d.mtx", M)
    np.testing.assert_array_equal(load(tmp_path / "d.mtx"), M)


BAD_FILES = [
    ("a.npy", "1,2\n3,4\n", FileFormatError, ["a.npy", "NumPy header"]),
    ("a.npy", b"\x93NUMPY\x01\x00garbage", FileFormatError, ["a.npy"]),
    ("a.npz", "not a zip", FileFormatError, ["a.npz", "zip"]),
    ("a.npz", b"PK\x03\x04garbage", FileFormatError, ["a.npz"]),
    ("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00", FileFormatError, ["a.csv", "binary"]),
    ("a.csv", b"1,2\n\xff\xfe,3\n", FileFormatError, ["a.csv", "UTF-8"]),
    ("a.tsv", b"\x00\x01\x02", FileFormatError, ["a.tsv", "binary"]),
    ("a.txt", b"\x00\x01\x02", FileFormatError, ["a.txt", "binary"]),
    ("a.json", "[[1, 2], [3, 4]", FileFormatError, ["a.json", "line 1"]),
    ("a.json", "hello", FileFormatError, ["a.json"]),
    ("a.json", '{"a": [[1, 2]]}', FileFormatError, ["a.json", "list of rows", "dict"]),
    ("a.tex", "just some words", FileFormatError, ["a.tex", "no LaTeX matrix"]),
    ("a.mtx", "garbage\n1 2 3\n", FileFormatError, ["a.mtx", "%%MatrixMarket"]),
    (
        "a.mtx",
        "%%MatrixMarket matrix coordinate real general\n2 2 1\nxx yy zz\n",
        FileFormatError,
        ["a.mtx"],
    ),
    ("a.csv", "a,b\n1,2\n", ParseError, ["a.csv", "'a'", "row 1, column 1"]),
    ("a.csv", "1,2\n3,nan\n", ParseError, ["a.csv", "'nan'", "row 2, column 2"]),
    ("a.csv", "1,2\n3,inf\n", ParseError, ["a.csv", "'inf'", "row 2, column 2"]),
    ("a.csv", "1,2\n3,\n", ParseError, ["a.csv", "empty entry", "row 2, column 2"]),
    ("a.csv", "1,2,3\n4,5\n", RaggedError, ["a.csv", "row 2", "2 entries", "3 entries"]),
    ("a.tsv", "1\t2\n3\n", RaggedError, ["a.tsv", "row 2"]),
    ("a.txt", "1 2\n3 x\n", ParseError, ["a.txt", "'x'", "row 2, column 2"]),
    ("a.csv", "", EmptyInputError, ["a.csv"]),
    ("a.json", "[]", EmptyInputError, ["a.json"]),
    ("a.json", "[[1, 2], [3]]", RaggedError, ["a.json", "row 2"]),
    ("a.json", "[[1, NaN]]", NonFiniteError, ["a.json", "row 1, column 2", "NaN"]),
    ("a.json", "[[1], [-Infinity]]", NonFiniteError, ["a.json", "row 2, column 1", "-Infinity"]),
    ("a.json", '[[1, "2"]]', ParseError, ["a.json", "row 1, column 2", 'the string "2"']),
    ("a.json", "[[[1]]]", ShapeError, ["a.json"]),
    (
        "a.tex",
        "\\begin{bmatrix}1\\end{bmatrix} and \\begin{bmatrix}2\\end{bmatrix}",
        ParseError,
        ["a.tex", "2 matrix environments"],
    ),
]


@pytest.mark.parametrize(("name", "content", "error", "words"), BAD_FILES)
def test_bad_files(
    tmp_path: Path, name: str, content: str | bytes, error: type[Exception], words: list[str]
) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(error) as info:
        load(path)
    assert isinstance(info.value, SvdkitError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_binary_files(tmp_path: Path) -> None:
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(NonFiniteError, match=r"nan\.npy.*row 1, column 2"):
        load(tmp_path / "nan.npy")
    np.save(tmp_path / "obj.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match=r"obj\.npy.*Python objects"):
        load(tmp_path / "obj.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ShapeError, match=r"cube\.npy.*\(2, 2, 2\)"):
        load(tmp_path / "cube.npy")
    np.savez(tmp_path / "two.npz", a=M, b=M)
    with pytest.raises(FileFormatError, match=r"two\.npz.*2 arrays \(a, b\)"):
        load(tmp_path / "two.npz")
    np.savez(tmp_path / "none.npz")
    with pytest.raises(FileFormatError, match=r"none\.npz.*0 arrays"):
        load(tmp_path / "none.npz")
    inf = sp.csr_matrix(np.array([[0.0, np.inf]]))
    sp.save_npz(tmp_path / "inf.npz", inf)
    with pytest.raises(NonFiniteError, match="row 1, column 2"):
        load(tmp_path / "inf.npz", sparse=True)


def test_load_sparse_too_large_to_densify(tmp_path: Path) -> None:
    n = 10**6
    huge = sp.coo_matrix(([1.0], ([0], [n - 1])), shape=(n, n))
    scipy.io.mmwrite(tmp_path / "huge.mtx", huge)
    with pytest.raises(ShapeError, match=r"svdkit\.lowrank"):
        load(tmp_path / "huge.mtx")
    assert load(tmp_path / "huge.mtx", sparse=True).shape == (n, n)


def test_unknown_extension(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.xlsx", "1,2")
    with pytest.raises(FileFormatError) as info:
        load(path)
    msg = str(info.value)
    assert "'.xlsx'" in msg
    for ext in (".npy", ".npz", ".csv", ".tsv", ".txt", ".json", ".tex", ".mtx"):
        assert ext in msg
    with pytest.raises(FileFormatError, match="none"):
        load(_write(tmp_path / "noext", "1"))


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(MissingFileError) as info:
        load(path)
    err = info.value
    assert isinstance(err, SvdkitError) and isinstance(err, FileNotFoundError)
    assert isinstance(err, ValueError) and str(path) in str(err)
    assert err.filename == str(path)
    with pytest.raises(FileNotFoundError):
        as_matrix(path)
    assert svdkit.MissingFileError is MissingFileError


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(FileFormatError, match="directory"):
        load(tmp_path / "d.csv")


def test_big_csv_round_trips_exactly(tmp_path: Path) -> None:
    # Speed of this path is measured in bench/, not asserted here.
    a = np.random.default_rng(1).standard_normal((300, 300))
    np.savetxt(tmp_path / "big.csv", a, delimiter=",", fmt="%.17g")
    np.testing.assert_array_equal(load(tmp_path / "big.csv"), a)


def test_text_fallback_for_unusual_csv(tmp_path: Path) -> None:
    rows = [[f"{i}/{j + 1}" for j in range(50)] for i in range(50)]
    _write(tmp_path / "q.csv", "\n".join(",".join(r) for r in rows))
    want = np.array([[i / (j + 1) for j in range(50)] for i in range(50)])
    np.testing.assert_array_equal(load(tmp_path / "q.csv"), want)


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize(
    "module",
    [svdkit.inputs, svdkit.inputs.expr, svdkit.inputs.text, svdkit.inputs.files],
)
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_a_lone_decimal_point_in_a_tex_argument_is_a_parse_error() -> None:
    # Found by the fuzz test: "\frac0." reads "." as the second argument.
    with pytest.raises(ParseError, match="no digits"):
        as_matrix(r"\frac0.")


def test_tuple_text_says_rows_are_brackets():
    # "((1,2),(3,4))" gave only "missing ')' … found ','": the hint names the fix
    with pytest.raises(ParseError, match=r"rows are written in brackets, \[\[1, 2\], \[3, 4\]\]"):
        as_matrix("((1,2),(3,4))")
    assert as_matrix("[[(1+1), 2], [3, 4]]").tolist() == [[2.0, 2.0], [3.0, 4.0]]
