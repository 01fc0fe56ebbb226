"""Review of the input-parsing hunt (a0b66e3): its regressions and gaps.

A 1-D SciPy CSR array reads again; NumPy's summarised printout (``...`` ending a line)
and a padded 1-D complex printout are refused, never read as other data; MATLAB's
``[1 2; ...`` and ``A = [..]; % c`` read; an empty Markdown cell is named; errors quote
the text as typed; index arrays of a wrong dtype or rank are named; decode_matrix_text
names UTF-16 and zip archives.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import svdkit
from svdkit.errors import ParseError, SvdkitError
from svdkit.inputs import as_matrix, as_vector, decode_matrix_text, load, parse_matrix_text
from tests.cli_support import run_svdkit

# ----------------------------------------------------------------- 1. 1-D CSR array


def test_1d_csr_array_reads_as_a_column(tmp_path, capsys, monkeypatch):
    x = sp.csr_array(np.array([1.0, 0.0, 2.0]))
    assert x.shape == (3,)
    assert as_matrix(x).tolist() == [[1.0], [0.0], [2.0]]
    kept = as_matrix(x, sparse=True)
    assert kept.shape == (3, 1) and kept.toarray().tolist() == [[1.0], [0.0], [2.0]]
    assert as_vector(x).tolist() == [1.0, 0.0, 2.0]
    assert svdkit.rank(x) == 1
    assert svdkit.norm(x) == pytest.approx(np.sqrt(5.0), rel=1e-15)
    path = tmp_path / "v1d.npz"
    sp.save_npz(path, x)
    assert np.array_equal(np.asarray(load(path)).reshape(-1), [1.0, 0.0, 2.0])
    code, _out, err = run_svdkit(capsys, monkeypatch)("explain", path)
    assert code == 0 and "Traceback" not in err, err


def test_corrupt_1d_csr_array_is_still_refused():
    x = sp.csr_array(np.array([1.0, 0.0, 2.0]))
    x.indices = np.array([0, 7], dtype=x.indices.dtype)
    with pytest.raises(ParseError, match="column index 7 is out of range"):
        as_matrix(x)


# ----------------------------------------------------------------- 2. NumPy's "..." wrap


def _summaries():
    yield str(np.arange(2000) * (1 + 0.5j))
    yield str(np.arange(4000).reshape(2, 2000) * (1 + 0.5j))
    with np.printoptions(linewidth=42):
        yield str(-100000000 - 1000003 * np.arange(2000))


@pytest.mark.parametrize("text", list(_summaries()))
def test_numpy_summary_wrapping_after_ellipsis_is_refused(text):
    assert "...\n" in text  # the form that was read as a truncated matrix
    with pytest.raises(ParseError, match=r"MATLAB's continuation .* NumPy's summarised"):
        as_matrix(text)
    with pytest.raises(ParseError):
        parse_matrix_text(text)


@pytest.mark.parametrize("text", ["[1 2 ...\n 3 4]", "1 2 ...\n3 4"])  # ', ...': hunt3
def test_ellipsis_without_matlab_evidence_is_refused(text):
    with pytest.raises(ParseError, match=r"'\.\.\.' at the end of a line") as info:
        as_matrix(text)
    assert info.value.offset == text.index("...")


# ----------------------------------------------------------------- 3. Markdown empty cells


@pytest.mark.parametrize(
    ("text", "row", "col", "offset"),
    [
        ("| 1 | |\n| 3 | 4 |", 1, 2, 4),
        ("| 1 | 2 |\n| 3 | |\n| 5 | 6 |", 2, 2, 14),
        ("| 1 | 2 |\n| 3 | |", 2, 2, 14),
        ("| 1 | |\n| 3 | |", 1, 2, 4),
        ("| a | b |\n|---|---|\n| 1 | |\n| 3 | 4 |", 1, 2, 24),
        ("| 1 || 2 |", 1, 2, 4),
    ],
)
def test_markdown_empty_cell_is_named(text, row, col, offset):
    with pytest.raises(ParseError) as info:
        as_matrix(text)
    assert "empty entry" in str(info.value)
    assert (info.value.row, info.value.column, info.value.offset) == (row, col, offset)
    assert text.splitlines()[text.count("\n", 0, offset)] in str(info.value)  # as typed


def test_markdown_table_still_reads():
    a = as_matrix("| 1 | 2 |\n| 3 | -4 |")
    assert a.tolist() == [[1, 2], [3, -4]]


# ----------------------------------------------------------------- 4. / 7. MATLAB's "..."


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("A = [1 2 3; ...\n     4 5 6; ...\n     7 8 9];", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ("[1 2; ...\n 3 4]", [[1, 2], [3, 4]]),
        ("A = [1, 2, ...\n 3, 4];", [[1, 2, 3, 4]]),  # MATLAB's row, not a Python column
        ("A = [1, 2 ...\n 3, 4];", [[1, 2, 3, 4]]),
        ("[1 2 ... % more\n 3 4]", [[1, 2, 3, 4]]),
        ("A = [ ...\n 1 2 3];", [[1, 2, 3]]),
        ("[1; ...\n 2];", [[1], [2]]),
    ],
)
def test_matlab_continuation_is_read(text, want):
    a = as_matrix(text)
    assert a.shape == np.shape(want) and np.array_equal(a, want)
    rows = parse_matrix_text(text)
    assert [[e.to_complex() for e in row] for row in rows] == want


def test_python_list_of_commas_is_still_a_column():
    assert as_matrix("[1, 2, 3]").shape == (3, 1)
    assert as_matrix("[1, 2,\n 3, 4]").shape == (4, 1)


# ----------------------------------------------------------------- 5. / 6. complex padding


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("[[1 -2j]\n [3 -4j]]", [[1, -2j], [3, -4j]]),
        ("[[1.5 -2j 3]]", [[1.5, -2j, 3]]),
        ("[[1 -2j]]", [[1, -2j]]),
        ("[1 -2j]", [[1, -2j]]),
        ("[1.5 -2.5j; 3 4]", [[1.5, -2.5j], [3, 4]]),  # a ';': MATLAB for certain
    ],
)
def test_typed_complex_keeps_matlab_whitespace_rule(text, want):
    a = as_matrix(text)
    assert a.shape == np.shape(want) and np.array_equal(a, want)


@pytest.mark.parametrize(
    "x",
    [
        np.array([[1 + 1j, 0.25 + 1j]]),
        np.array([[0.5 - 2j, 10 + 3j, 1 + 0j], [1e-3 + 1j, -2.5 - 0.5j, 3j]]),
        np.array([[1e10 + 1j, 1 - 1e-10j]]),
    ],
)
def test_numpy_2d_complex_printout_still_round_trips(x):
    for text in (str(x), repr(x)):
        a = as_matrix(text)
        assert a.shape == x.shape
        assert np.max(np.abs(a - x)) <= 1e-7 * np.max(np.abs(x))  # printed to 8 digits


@pytest.mark.parametrize(
    "x", [np.array([1 + 1j, 0.25 + 1j]), np.array([0.5 - 2j, 10 + 3j, 1 + 0j])]
)
def test_numpy_1d_complex_printout_is_refused_not_misread(x):
    text = str(x)
    with pytest.raises(ParseError, match="one complex entry as NumPy prints") as info:
        as_matrix(text)
    assert text in str(info.value)
    # the unambiguous forms read it
    assert np.array_equal(as_matrix(repr(x)), x.reshape(-1, 1))
    assert np.allclose(as_matrix(str(x.reshape(1, -1))), x.reshape(1, -1))


# ----------------------------------------------------------------- 8. messages as typed


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("| 1 | x |\n| 3 | 4 |", "| 1 | x |"),
        ("A = [1 2; 3 x];", "A = [1 2; 3 x];"),
        ("A = [1 2 3; ...\n 4 x 6];", " 4 x 6];"),
    ],
)
def test_errors_quote_the_text_as_typed(text, line):
    with pytest.raises(ParseError, match="unknown name 'x'") as info:
        as_matrix(text)
    assert f"    {line}\n" in str(info.value)
    assert info.value.offset == text.index("x")


def test_ragged_markdown_counts_cells():
    with pytest.raises(svdkit.errors.RaggedError, match="row 2 has 1 entry but row 1 has 2"):
        as_matrix("| 1 | 2 |\n| 3 |")


# ----------------------------------------------------------------- 9. statement + comment


@pytest.mark.parametrize(
    "text",
    [
        "A = [1 2; 3 4]; % c",
        "[1 2; 3 4];  # note",
        "% my matrix\nA = [1 2; 3 4];",
        "# a\n\n% b\nA = [1 2; 3 4]; % c\n% d ]\n",
        "A = [1 2; 3 4];\r\n",
    ],
)
def test_statement_with_comments_is_read(text):
    assert as_matrix(text).tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("text", ["A = [1 2]; B = [3 4];", "[1 2]; [3 4]", "x = 1 2"])
def test_two_statements_still_refused(text):
    with pytest.raises(SvdkitError):
        as_matrix(text)


# ----------------------------------------------------------------- 10. sparse index dtypes


def _eye_csr():
    return sp.csr_matrix(np.eye(3))


def test_2d_indices_named():
    m = _eye_csr()
    m.indices = np.array([[0, 1, 2]])
    with pytest.raises(ParseError, match="its indices are a 2-D array, not 1-D"):
        as_matrix(m)


@pytest.mark.parametrize(
    ("attr", "dtype", "words"),
    [
        ("indices", np.float64, "its indices array is float64, not integers"),
        ("indptr", np.uint64, "its indptr array is uint64, which SciPy does not take"),
    ],
)
def test_index_dtype_named(attr, dtype, words):
    m = _eye_csr()
    setattr(m, attr, getattr(m, attr).astype(dtype))
    with pytest.raises(ParseError, match=words):
        as_matrix(m)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint8, np.uint32])
def test_narrow_index_dtypes_still_read(dtype):
    m = _eye_csr()
    m.indptr, m.indices = m.indptr.astype(dtype), m.indices.astype(dtype)
    assert np.array_equal(as_matrix(m), np.eye(3))


def test_coo_float_row_named():
    m = sp.coo_array(np.eye(3))
    m.coords = (m.coords[0].astype(np.float64), m.coords[1])
    with pytest.raises(ParseError, match="float64, not integers"):
        as_matrix(m)


# ----------------------------------------------------------------- 11. decode_matrix_text


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("1 2\n3 4\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
        ("1 2\n".encode("utf-16-be").join([b"\xfe\xff", b""]), "is UTF-16 text"),
        ("1 2\n".encode("utf-32"), "is UTF-32 text"),
        (b"PK\x03\x04[Content_Types].xml", "a zip archive (an .npz file?)"),
        (b"\x93NUMPY\x01\x00", "a .npy file"),
        (12, "takes bytes (or str), not int"),
    ],
)
def test_decode_matrix_text_names_what_it_got(data, words):
    with pytest.raises(ParseError) as info:
        decode_matrix_text(data)
    assert words in str(info.value)


def test_decode_matrix_text_takes_str_and_bytearray():
    assert decode_matrix_text("1 2") == "1 2"
    assert decode_matrix_text(bytearray(b"1 2\n")) == "1 2\n"
