"""Second review of the input-parsing hunt (b29f674): wrapped NumPy printouts of 1-D
arrays are refused, never read as a matrix of another shape; typed MATLAB rows with
complex entries (``[1.5 -2.5j]``) and statements read again; DIA offsets that are not
integers are named; ``...`` in a comment is the comment's; ``, ...`` is MATLAB's
continuation; a Markdown table is rewritten before it is read; errors quote the text as
typed.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from svdkit.errors import EmptyInputError, ParseError
from svdkit.inputs import as_matrix, parse_matrix_text
from svdkit.inputs import text as text_module

_RNG = np.random.default_rng(7)


def _vectors():
    yield _RNG.standard_normal(12) + 1j * _RNG.standard_normal(12)  # 4 lines of 3
    yield _RNG.standard_normal(30)  # 5 lines of 6
    yield np.arange(40.0)
    yield np.arange(60)
    yield _RNG.standard_normal(8) * 1e-5  # exponent notation
    yield np.array([1 + 1j, 10 + 1j, 0.5 + 2j, 3 - 1j] * 3)  # padded real parts
    yield _RNG.standard_normal(6) + 1j * _RNG.standard_normal(6)


# ----------------------------------------------------------------- 1. wrapped 1-D printouts


@pytest.mark.parametrize("x", list(_vectors()))
def test_wrapped_1d_printout_is_refused_not_read_as_a_matrix(x):
    text = str(x)
    assert "\n" in text  # NumPy wrapped it
    for read in (as_matrix, parse_matrix_text):
        with pytest.raises(ParseError, match="NumPy's printout of a 1-D array wrapped") as info:
            read(text)
        assert info.value.offset == text.index("\n")
    # repr() has commas: a vector, read as the column it is
    a = as_matrix(repr(x))
    assert a.shape == (x.size, 1)
    assert np.max(np.abs(a[:, 0] - x)) <= 1e-7 * max(1.0, np.max(np.abs(x)))


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("[1.5 2.5\n 3.5 4.5]", (2, 2)),  # typed rows: short lines
        ("[1 2 3\n 4 5 6]", (2, 3)),
        ("[" + " ".join(["1.25"] * 14) + "\n " + " ".join(["1.25"] * 14) + "]", None),
        ("A = [" + " ".join(["1.25"] * 14) + "\n " + " ".join(["1.25"] * 14) + "];", (2, 14)),
        ("[" + " ".join(["1.25"] * 14) + ";\n " + " ".join(["1.25"] * 14) + "]", (2, 14)),
    ],
)
def test_typed_rows_near_numpy_layout(text, shape):
    if shape is None:  # laid out exactly as NumPy wraps a 28-vector: refused
        with pytest.raises(ParseError, match="wrapped over 2 lines of 14 entries"):
            as_matrix(text)
        return
    a = as_matrix(text)  # a statement or a ';' is MATLAB's for certain
    assert a.shape == shape


def test_wrapped_2d_printouts_still_read():
    x = _RNG.standard_normal((3, 9))
    a = as_matrix(str(x))
    assert a.shape == x.shape and np.max(np.abs(a - x)) <= 1e-7 * np.max(np.abs(x))


# ----------------------------------------------------------------- 2. typed MATLAB complex


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("[1.5 -2.5j]", [[1.5, -2.5j]]),
        ("[2. -1.j]", [[2, -1j]]),
        ("[-1.  -1.j]", [[-1, -1j]]),
        ("[1e0 -2e0j]", [[1, -2j]]),
        ("[2.e+00 -1.e+00j]", [[2, -1j]]),
        ("[1.5 -2.5j\n 3 4]", [[1.5, -2.5j], [3, 4]]),
        ("A = [1.5 -2.5j];", [[1.5, -2.5j]]),
        ("A = [1.  +1.j 0.25+1.j];", [[1, 1j, 0.25 + 1j]]),  # a statement: MATLAB's rule
    ],
)
def test_typed_matlab_complex_rows_read(text, want):
    a = as_matrix(text)
    assert a.shape == np.shape(want) and np.array_equal(a, np.array(want, dtype=complex))


@pytest.mark.parametrize("text", ["[1.  +1.j 0.25+1.j]", "[0.5-2.j 10. +3.j]"])
def test_padded_numpy_complex_vector_still_refused(text):
    with pytest.raises(ParseError, match="one complex entry as NumPy prints a vector"):
        as_matrix(text)


# ----------------------------------------------------------------- 3. DIA offsets


@pytest.mark.parametrize("sparse", [False, True])
def test_dia_offsets_not_integers_are_named(sparse):
    d = sp.dia_matrix(np.diag([1.0, 2, 3]) + np.diag([5.0, 6], 1))
    d.offsets = d.offsets.astype(np.float64) + 0.5
    with pytest.raises(ParseError, match=r"DIA .* offsets array is float64, not integers"):
        as_matrix(d, sparse=sparse)
    d.offsets = np.array([0, 1], dtype=np.int16)  # a narrow integer dtype still reads
    want = np.diag([1.0, 2, 3]) + np.diag([5.0, 6], 1)
    got = as_matrix(d, sparse=sparse)
    assert np.array_equal(got.toarray() if sp.issparse(got) else got, want)


# ----------------------------------------------------------------- 4. '...' in a comment


@pytest.mark.parametrize(
    ("text", "row"),
    [("# measured values ...\n[1 2 x]", 1), ("1 2 3  # first row ...\n4 5 x", 2)],
)
def test_ellipsis_in_a_comment_does_not_hide_the_error(text, row):
    with pytest.raises(ParseError, match=f"row {row}, column 3: unknown name 'x'"):
        as_matrix(text)


def test_ellipsis_in_a_comment_is_the_comments():
    assert as_matrix("% data follows ...\n1 2 3\n4 5 6").shape == (2, 3)


# ----------------------------------------------------------------- 5. Markdown tables


def test_markdown_table_is_rewritten_before_it_is_read():
    table = "| 1 | 2 |\n|---|---|\n| 3 | 4 |\n| 5 | 6 |"
    seen = []

    def read(text):
        seen.append(text)
        return text_module.text_to_array(text)

    a = text_module._or_pasted(read, "| a | b |\n" + table.split("\n", 1)[1])
    assert len(seen) == 1 and "|" not in seen[0]  # one pass, on the rewritten text
    assert np.array_equal(a, [[3, 4], [5, 6]])
    with pytest.raises(ParseError, match="row 2, column 1: empty entry"):
        as_matrix("| 1 | 2 |\n|   | 4 |")


# ----------------------------------------------------------------- 6. advice for commas


def test_padded_complex_in_a_comma_list_gets_its_own_advice():
    with pytest.raises(ParseError, match=r"complex number in a Python list.*\(1\.\+2\.j\)"):
        as_matrix("[1. +2.j, 3]")
    with pytest.raises(ParseError, match="unknown name 'J'"):  # J is no imaginary unit
        as_matrix("[1. +3.J]")


# ----------------------------------------------------------------- 7. ', ...' and quoting


def test_comma_ellipsis_is_matlab_continuation():
    assert np.array_equal(as_matrix("[1, 2, ...\n 3, 4]"), [[1, 2, 3, 4]])


def test_empty_statement_is_quoted_as_typed():
    with pytest.raises(EmptyInputError, match=r"'A = \[\.\.\. \];' has no entries"):
        as_matrix("A = [...\n];")
