"""Review of the inputs front door: brackets and LaTeX of plain numbers take a fast path.

Nested lists, MATLAB brackets, ``;`` rows and LaTeX matrices whose entries are
all plain numbers are read at C speed (``svdkit.inputs.markup``); anything
else goes to the full parser. No timings here: the tests check that the full
parser is not called (nor the tokenizer run over the body), and that the fast
path returns what the full parser returns, value for value, sign of zero
included, on many generated texts. Then ``-0`` on every path, and the
4000-digit rule in JSON files.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parse_support import CountingPattern

import svdkit.inputs.expr as expr
import svdkit.inputs.markup as markup
import svdkit.inputs.plain as plain
import svdkit.inputs.text as text_module
from svdkit.errors import FileFormatError, ParseError, SvdkitError
from svdkit.inputs import as_matrix, load
from svdkit.inputs.text import _evaluate_grid, _parse_grid, text_to_array


def _full(text: str, delimiter: str | None = None, document: bool = False) -> np.ndarray:
    """What the full parser alone reads (pasted forms, ``A = [...];``, as text_to_array
    reads them: the rewritten text where the text as given fails)."""
    if delimiter is not None or document:
        return _evaluate_grid(text, _parse_grid(text, delimiter, document))
    return text_module._or_pasted(lambda t: _evaluate_grid(t, _parse_grid(t)), text)


_PARSE_ROWS = text_module._parse_rows


class _Spy:
    """Counts the calls of the full parser's entry parsing (whole texts and stretches alike)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return _PARSE_ROWS(*args, **kwargs)


@pytest.fixture
def full_parser(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    spy = _Spy()
    monkeypatch.setattr(text_module, "_parse_rows", spy)
    return spy


# --------------------------------------------------------------------------- the notations

M = np.array([[1.0, -2.5, 0.5], [300.0, 0.75, -1e-3]])
_ROWS = [["1", "-2.5", ".5"], ["3e2", "3/4", "-1e-3"]]


def _join(rows: list[list[str]], cell: str, row: str) -> str:
    return row.join(cell.join(r) for r in rows)


_LATEX = _join(_ROWS, " & ", r" \\ ")


def _env(name: str, body: str = _LATEX) -> str:
    return rf"\begin{{{name}}}{body}\end{{{name}}}"


FORMS = {
    "nested": "[" + _join(_ROWS, ", ", "], [").join(["[", "]"]) + "]",
    "numpy repr": "array([" + _join(_ROWS, ", ", "],\n       [").join(["[", "]"]) + "])",
    "numpy str": "[" + _join(_ROWS, " ", "]\n [").join(["[", "]"]) + "]",
    "np.array, trailing comma": "np.array([" + _join(_ROWS, ",", "],[").join(["[", "]"]) + ",])",
    "nested, ';' between rows": "[" + _join(_ROWS, ",", "];[").join(["[", "]"]) + "]",
    "matlab": "[" + _join(_ROWS, " ", "; ") + "]",
    "matlab, lines": "[" + _join(_ROWS, ", ", "\n") + "\n]",
    "matlab, no brackets": _join(_ROWS, " ", "; "),
    "bmatrix": _env("bmatrix"),
    "pmatrix, lines": _env("pmatrix", "\n" + _join(_ROWS, " & ", " \\\\\n") + "\\\\\n"),
    "array, left/right": r"\left[" + _env("array", "{ccc}" + _join(_ROWS, "&", r"\\")) + r"\right]",
    "bmatrix*": "$$" + _env("bmatrix*", "[r]" + _LATEX) + "$$",
    "bare": _LATEX,
    "bare, left/right": r"\left(" + _LATEX + r"\right)",
    "bare, display math": r"\[ " + _LATEX + r" \]",
    "unicode minus": _env("matrix", _LATEX.replace("-", "−")),
}


@pytest.mark.parametrize("form", FORMS)
def test_plain_brackets_and_latex_never_reach_the_full_parser(form: str, full_parser: _Spy) -> None:
    np.testing.assert_array_equal(as_matrix(FORMS[form]), M)
    assert full_parser.calls == 0


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("[1, 2, 3]", (3, 1)),  # a Python list is a vector: a column
        ("[1 ,2 ,3]", (3, 1)),  # blanks before commas split nothing
        ("[\n1, 2, 3\n]", (3, 1)),
        ("[1 2 3]", (1, 3)),  # MATLAB's row
        ("[1, 2 3]", (1, 3)),  # one blank split makes it MATLAB's
        ("[1, 2, 3;]", (1, 3)),  # so does a ';'
        ("[[1, 2, 3]]", (1, 3)),
        ("[[1], [2], [3]]", (3, 1)),
        ("[7]", (1, 1)),
    ],
)
def test_vectors_and_rows_keep_their_shape_on_the_fast_path(
    text: str, shape: tuple[int, int], full_parser: _Spy
) -> None:
    a = as_matrix(text)
    assert a.shape == shape
    assert full_parser.calls == 0
    np.testing.assert_array_equal(a, _full(text))


def test_a_latex_document_of_plain_numbers_takes_the_fast_path(
    tmp_path: Path, full_parser: _Spy
) -> None:
    path = tmp_path / "m.tex"
    body = _join(_ROWS, " & ", " \\\\\n")
    path.write_text(
        "\\documentclass{article}\n\\begin{document}\nSee $x^2$ below.\n"
        f"\\[\\begin{{bmatrix}}\n{body}\n\\end{{bmatrix}}\\]\n\\end{{document}}\n"
    )
    np.testing.assert_array_equal(load(path), M)
    assert full_parser.calls == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda rows: "[" + ",\n".join("[" + ", ".join(r) + "]" for r in rows) + "]",
        lambda rows: "[" + ";\n".join(" ".join(r) for r in rows) + "]",
        lambda rows: _env("bmatrix", " \\\\\n".join(" & ".join(r) for r in rows)),
        lambda rows: r"\left[" + r" \\ ".join(" & ".join(r) for r in rows) + r"\right]",
    ],
    ids=["nested", "matlab", "bmatrix", "left/right"],
)
def test_the_body_of_a_big_plain_matrix_is_never_tokenised(
    make: Callable[[list[list[str]]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = np.random.default_rng(1).standard_normal((300, 40))
    text = make([[repr(float(x)) for x in row] for row in a])
    tokens = CountingPattern(expr._TOKEN_RE)
    monkeypatch.setattr(expr, "_TOKEN_RE", tokens)
    np.testing.assert_array_equal(as_matrix(text), a)
    assert tokens.matches < 300  # the full parser reads 24 000 entries, twice as many tokens


# --------------------------------------------------------------------------- fast = full


_NUMBERS = [
    *["1", "-2.5", "3e2", "+4", ".5", "6.", "1/2", "-3/4", "0", "1e-3", "2E+05"],
    *["-0", "-0.0", "+0", "-0e5", "-1e-400", "1e-400", "−7", "1e−3", "12345678901234567890"],
]
_FAULTS = [
    *["x", "- 2", "* 3", "1e999", "1/0", ",", ";", "(1+2)", "2i", "--1", "]", "[", "nan"],
    *["&", "\\\\", "# c", "% c", "\t", "  ", "\n", "\r\n", "(", ")", "9" * 4001, "1e-99999"],
    *["0." + "1" * 3999, "sqrt(2)", r"\sqrt{2}", r"\frac{1}{2}", r"\hline", "$", r"\]"],
    *[r"\)", r"\left[", r"\right]", r"\begin{bmatrix}", r"\end{bmatrix}", "−", "0e99999"],
    *[", dtype=float", "array(", r"\\[2pt]", "\u00a0", "i", "π", "1,\n", ",\n", "\ufeff"],
    *["1 - 2", "1 -2", "{", "}", "/", "e", "."],
]


@st.composite
def _grid(draw: st.DrawFn) -> list[list[str]]:
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    number = st.sampled_from(_NUMBERS)
    return [[draw(number) for _ in range(n)] for _ in range(m)]


@st.composite
def _nested(draw: st.DrawFn) -> str:
    rows = draw(_grid())
    cell = draw(st.sampled_from([", ", ",", " ", "  ", "\t", ",\n  ", "\n", " , "]))
    gap = draw(st.sampled_from([", ", ",", "; ", "", "\n ", ",\n  ", " ;"]))
    last = draw(st.sampled_from(["", ",", ";", "\n", ",\n"]))
    text = "[" + gap.join("[" + cell.join(r) + "]" for r in rows) + last + "]"
    call = draw(st.sampled_from(["", "array(", "np.array(", "numpy.asarray( ", "matrix(\n"]))
    return f"{call}{text})" if call else text


@st.composite
def _matlab(draw: st.DrawFn) -> str:
    rows = draw(_grid())
    cell = draw(st.sampled_from([" ", ", ", ",", "\t", "  ", " ,"]))
    row = draw(st.sampled_from(["; ", ";", "\n", ";\n", "\r\n", " ;\n\n", "\r"]))
    text = draw(st.sampled_from(["", " ", "\n"])) + _join(rows, cell, row)
    text += draw(st.sampled_from(["", ";", "\n", "; "]))
    return f"[{text}]" if draw(st.booleans()) or ";" not in text else text


_ENVIRONMENTS = [
    (r"\begin{bmatrix}", r"\end{bmatrix}"),
    (r"\begin{pmatrix}", r"\end{pmatrix}"),
    (r"\begin{array}{cc}", r"\end{array}"),
    (r"\begin{vmatrix*}[r]", r"\end{vmatrix*}"),
    (r"\begin{smallmatrix}", r"\end{smallmatrix}"),
    ("", ""),  # bare
]
_AROUND = [("", ""), ("$", "$"), ("$$ ", " $$"), (r"\[", r"\]"), (r"\left[", r"\right]")]


@st.composite
def _latex(draw: st.DrawFn) -> str:
    rows = draw(_grid())
    cell = draw(st.sampled_from([" & ", "&", " &\n ", "\t&\t"]))
    row = draw(st.sampled_from([r" \\ ", "\\\\\n", " \\\\\n  ", r"\\"]))
    body = _join(rows, cell, row) + draw(st.sampled_from(["", r"\\", " \\\\\n", r" \\ \\"]))
    begin, end = draw(st.sampled_from(_ENVIRONMENTS))
    left, right = draw(st.sampled_from(_AROUND))
    return f"{left}{begin}{body}{end}{right}"


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, bool]:
    """A text of one notation, maybe with faults inserted, and whether it is all plain."""
    text = draw(st.one_of(_nested(), _matlab(), _latex()))
    faults = draw(st.integers(0, 2))
    for _ in range(faults):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_FAULTS)) + text[at:]
    return text, faults == 0


def _outcome(read: Callable[[], np.ndarray]) -> tuple[Any, ...]:
    try:
        a = read()
    except SvdkitError as err:
        where = (err.__dict__.get("row"), err.__dict__.get("column"), err.__dict__.get("offset"))
        return ("error", type(err).__name__, str(err), where)
    signs = np.signbit(a.real).tolist(), np.signbit(a.imag).tolist()  # -0.0 is not 0.0 here
    return ("array", a.dtype.str, a.shape, a.tolist(), signs)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_case())
def test_the_fast_path_and_the_full_parser_agree_on_brackets_and_latex(
    case: tuple[str, bool],
) -> None:
    text, plain_only = case
    full = _outcome(lambda: _full(text))
    _check_fast(full, plain_only, lambda: text_to_array(text))


def _check_fast(full: tuple[Any, ...], plain_only: bool, read: Callable[[], np.ndarray]) -> None:
    """``read`` gives the outcome ``full``; without the full parser if the text is all plain."""
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy()
        mp.setattr(text_module, "_parse_rows", spy)
        assert _outcome(read) == full
    if plain_only and full[0] == "array":  # ("$5$" is no LaTeX: the full parser refuses it)
        assert spy.calls == 0, "plain numbers in a supported form: the fast path reads them"


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_case())
def test_a_tex_document_agrees_with_the_full_parser(case: tuple[str, bool]) -> None:
    text = "\\documentclass{article}\n\\begin{document}\n" + case[0] + "\n\\end{document}\n"
    full = _outcome(lambda: _full(text, document=True))
    _check_fast(full, case[1], lambda: text_to_array(text, document=True))


def test_the_markup_and_plain_docstring_examples_run() -> None:
    for module in (markup, plain):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- -0


_ZEROS = [
    ("1 -0", None),  # plain lines, read one by one
    ("\n".join(["1 -0 -0.0 -0e3 -.0"] * 300), None),  # plain lines, read in bulk
    ("1,-0\n-0.0,2", ","),
    ("1\t-0", "\t"),
    ("1 2 3 4\n-0 5 6 sqrt(4)", None),  # the fast path reads "-0 5", the full parser the rest
]


@pytest.mark.parametrize(("text", "delimiter"), _ZEROS)
def test_minus_zero_reads_as_zero_on_the_plain_fast_path(text: str, delimiter: str | None) -> None:
    # -0 is the exact rational 0, which has no sign: the full parser (and the exact engine)
    # read 0; the fast path read -0.0 from float("-0")
    a = text_to_array(text, delimiter=delimiter)
    assert not np.signbit(a).any()
    assert a.tolist() == _full(text, delimiter).tolist()


@pytest.mark.parametrize(
    "text",
    ["-0; 1", "[[1, -0]]", "[1 -0; -0.0 2]", r"\begin{bmatrix} 1 & -0 \\ −0 & 2 \end{bmatrix}"],
)
def test_minus_zero_reads_as_zero_on_the_markup_fast_path(text: str, full_parser: _Spy) -> None:
    a = text_to_array(text)
    assert full_parser.calls == 0
    assert not np.signbit(a).any()
    assert a.tolist() == _full(text).tolist()


def test_a_tiny_negative_number_keeps_its_sign_on_every_path() -> None:
    # -1e-400 is not zero: it rounds to -0.0, on both paths (and the -0 rule does not touch it)
    for text in ("1 -1e-400 -0", "\n".join(["1 -1e-400 -0"] * 300), "[[1, -1e-400, -0]]"):
        for a in (text_to_array(text), _full(text)):
            assert np.signbit(a[:, 1]).all() and not np.signbit(a[:, [0, 2]]).any()


# --------------------------------------------------------------------------- 4000 digits, JSON


LONG = "0." + "1" * 4999  # 5000 digits


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (f"[[1, {LONG}]]", "row 1, column 2"),
        (f"[[1, 2], [-{LONG}, 4]]", "row 2, column 1"),
        (f"[1, {LONG}]", "row 2, column 1"),  # a vector is a column
        ("[[1, " + "9" * 5000 + "]]", "row 1, column 2"),  # an integer
    ],
)
def test_a_json_number_of_more_than_4000_digits_is_refused(
    tmp_path: Path, content: str, where: str
) -> None:
    path = tmp_path / "long.json"
    path.write_text(content)
    with pytest.raises(ParseError) as info:
        load(path)
    assert str(info.value) == f"'{path}': {where}: number too long (5000 digits; at most 4000)"
    assert isinstance(info.value, FileFormatError)  # as every fault of a JSON file is
    row, column = (int(x.split()[1]) for x in where.split(", "))
    assert (info.value.row, info.value.column) == (row, column)


def test_every_text_reader_refuses_a_long_number_with_one_message(tmp_path: Path) -> None:
    for name, content in (
        ("m.csv", f"1,{LONG}\n"),
        ("m.txt", f"1 {LONG}\n"),
        ("m.tex", rf"\begin{{bmatrix}}1 & {LONG}\end{{bmatrix}}"),
        ("m.json", f"[[1, {LONG}]]"),
    ):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(ParseError, match=r"row 1, column 2: number too long") as info:
            load(path)
        assert "(5000 digits; at most 4000)" in str(info.value), name
        path.write_text(content.replace(LONG, LONG[:4001]))  # 4000 digits: read by all
        assert load(path)[0, 1] == float(LONG[:4001]), name


def test_a_json_exponent_out_of_range_is_refused_as_in_text(tmp_path: Path) -> None:
    # 1e-99999 read as 0.0 from JSON, while every text reader refuses its exponent
    path = tmp_path / "e.json"
    path.write_text("[[1, 1e-99999]]")
    with pytest.raises(ParseError, match=r"row 1, column 2: exponent out of range in '1e-99999'"):
        load(path)
    with pytest.raises(ParseError, match=r"row 1, column 2: exponent out of range in '1e-99999'"):
        as_matrix("1 1e-99999")
    path.write_text("[[1, 1e-300, 2.5e10000]]")  # in range: read (2.5e10000 overflows)
    with pytest.raises(SvdkitError, match="row 1, column 3"):
        load(path)


def test_a_binary_or_non_utf8_json_file_says_so(tmp_path: Path) -> None:
    # these were reported as "an integer too long to read (more than 4300 digits)"
    for content, words in ((b"[[1,\x00 2]]", "binary data"), (b"[[1, 2]]\xff", "not UTF-8")):
        path = tmp_path / "m.json"
        path.write_bytes(content)
        with pytest.raises(FileFormatError, match=words) as info:
            load(path)
        assert "too long" not in str(info.value)
