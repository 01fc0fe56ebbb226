"""Defects of the input front door found by the CLI/inputs and linalg hunts.

A corrupt sparse matrix is refused by name before SciPy reads out of bounds; NumPy's
complex printout keeps ``1.  +1.j`` one entry; Matrix Market text that arrives
without a ``.mtx`` name, and lines that all end in a comma, are refused instead of
silently read as other matrices; bytes from standard input decode to svdkit errors;
pasted ``A = [...];``, MATLAB's ``...`` and Markdown tables are read; a torch meta
tensor is a ParseError.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import scipy.sparse

import svdkit
from svdkit.errors import ParseError
from svdkit.inputs import as_matrix, decode_matrix_text, load, parse_matrix_text
from tests.cli_support import error_line, run_svdkit

# ----------------------------------------------------------------- 1. corrupt sparse


def _csr(indices, indptr):
    """A CSR matrix with the index arrays given, built as ``load_npz`` builds it (unchecked)."""
    data = np.array([1.0, 2.0, 3.0])
    return scipy.sparse.csr_matrix((data, np.array(indices), np.array(indptr)), shape=(3, 3))


def _save_corrupt(path, indices, indptr):
    np.savez(
        path,
        format=np.array("csr"),
        shape=np.array([3, 3]),
        data=np.array([1.0, 2.0, 3.0]),
        indices=np.array(indices),
        indptr=np.array(indptr),
    )


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    ("indices", "indptr", "words"),
    [
        ([0, 1, 7], [0, 1, 2, 3], "column index 7 is out of range for shape (3, 3)"),
        ([0, 1, -1], [0, 1, 2, 3], "column index -1 is out of range"),
        ([0, 1, 2], [0, 1, 5, 3], "its indptr decreases from 5 to 3"),
    ],
)
def test_corrupt_csr_npz_is_refused_by_name(tmp_path, indices, indptr, words, sparse):
    path = tmp_path / "bad.npz"
    _save_corrupt(path, indices, indptr)
    with pytest.raises(ParseError) as info:
        load(path, sparse=sparse)
    message = str(info.value)
    assert f"'{path}' is not a valid CSR sparse matrix" in message
    assert words in message


@pytest.mark.parametrize("fmt", ["csc", "coo", "bsr"])
def test_corrupt_index_arrays_of_other_formats(fmt):
    good = scipy.sparse.random(4, 4, density=0.5, format=fmt, random_state=0)
    if fmt == "coo":
        good.col[0] = 4
    else:
        good.indices[0] = 9
    for keep in (False, True):
        with pytest.raises(ParseError, match=rf"A is not a valid {fmt.upper()} sparse matrix"):
            as_matrix(good, sparse=keep)


def test_valid_sparse_still_reads_exactly():
    s = scipy.sparse.random(30, 20, density=0.2, format="csr", random_state=1)
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "lil", "dok"):
        m = s.asformat(fmt)
        assert np.array_equal(as_matrix(m), s.toarray())
        assert np.array_equal(as_matrix(m, sparse=True).toarray(), s.toarray())


def test_corrupt_npz_explain_is_an_error_not_a_crash(tmp_path, capsys, monkeypatch):
    path = tmp_path / "badptr.npz"
    _save_corrupt(path, [0, 1, 2], [0, 1, 5, 3])
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", path)
    assert "is not a valid CSR sparse matrix: its indptr decreases" in error_line(code, err)


def test_corrupt_in_memory_csr_is_refused():
    with pytest.raises(ParseError, match="column index 7"):
        svdkit.svd(_csr([0, 1, 7], [0, 1, 2, 3]))
    for indptr, words in (
        ([0, 1, 2, 9], "its indptr ends at 9 but only 3 entries are stored"),
        ([1, 1, 2, 3], "its indptr starts at 1, not 0"),
        ([0, 1, 3], "its indptr has 3 entries; shape (3, 3) needs 4"),
    ):
        m = _csr([0, 1, 2], [0, 1, 2, 3])
        m.indptr = np.array(indptr)  # set by hand after construction: never checked
        for keep in (False, True):
            with pytest.raises(ParseError, match=words.replace("(", r"\(").replace(")", r"\)")):
                as_matrix(m, sparse=keep)


# ----------------------------------------------------------------- 2. complex printout


def _complex_matrices():
    rng = np.random.default_rng(12)
    out = [
        np.array([[1 + 1j, 0.25 + 1j], [2 + 1j, 0.75 + 1j]]),
        np.array([[1 + 1j, 0.5 + 1j], [2 + 1j, 1.25 + 1j]]),
        np.array([[-1 - 10j, 0.5 + 1j], [2 - 1j, -1.25 + 0j]]),
    ]
    for k in range(40):
        m, n = rng.integers(1, 8, 2)
        a = rng.standard_normal((m, n)) * 10.0 ** rng.integers(-3, 4)
        b = rng.standard_normal((m, n)) * 10.0 ** rng.integers(-3, 4)
        c = a + 1j * b
        out.append(np.round(c, 2) if k % 2 else c)
    return out


@pytest.mark.parametrize("a", _complex_matrices())
def test_complex_printout_round_trips(a):
    with np.printoptions(floatmode="unique"):
        for text in (str(a), repr(a), repr(a.ravel())):
            b = as_matrix(text)
            want = a if text.startswith(("[[", "array([[")) else a.reshape(-1, 1)
            assert b.shape == want.shape, text
            assert np.array_equal(b, want), text


def test_matlab_whitespace_rule_unchanged_outside_numpy_lists():
    assert as_matrix("[1 +2j]").tolist() == [[1, 2j]]  # MATLAB: two entries
    assert as_matrix("1 -2").tolist() == [[1, -2]]


# ----------------------------------------------------------------- 3. Matrix Market text

_MTX = "%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 3\n2 2 -4\n"


@pytest.mark.parametrize(
    "text", [_MTX, "\ufeff" + _MTX, "\n  %%matrixmarket matrix array real general\n1 1\n5\n"]
)
def test_matrix_market_text_is_refused(text):
    for read in (as_matrix, parse_matrix_text):
        with pytest.raises(ParseError, match=r"Matrix Market file .* \.mtx"):
            read(text)


def test_matrix_market_in_txt_file_and_stdin(tmp_path, capsys, monkeypatch):
    path = tmp_path / "diag.txt"
    path.write_text(_MTX)
    with pytest.raises(ParseError, match=r"diag\.txt'.*Matrix Market"):
        load(path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(_MTX))
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", "-")
    assert "Matrix Market file" in error_line(code, err)


def test_a_percent_comment_is_still_a_comment():
    assert as_matrix("% MatrixMarket-like note\n1 2\n3 4").tolist() == [[1, 2], [3, 4]]


# ----------------------------------------------------------------- 4. stdin bytes


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"1 2\n3 \xe9\n", "standard input is not UTF-8 text (byte 6)"),
        (b"\x93NUMPY\x01\x00v\x00{}", "holds a .npy file"),
        (b"PK\x03\x04rest", "holds a zip archive (an .npz file?)"),
        (b"1 2\x00", "binary data (byte 3 is NUL)"),
    ],
)
def test_decode_matrix_text_refuses(data, words):
    with pytest.raises(ParseError) as info:
        decode_matrix_text(data)
    assert words in str(info.value)


def test_decode_matrix_text_reads_utf8():
    assert decode_matrix_text("\ufeff1 −2\n".encode()) == "1 −2\n"
    assert np.array_equal(as_matrix(decode_matrix_text(b"1 2\n3 4\n")), [[1, 2], [3, 4]])


# ----------------------------------------------------------------- 6. trailing commas


@pytest.mark.parametrize("text", ["1,2,3,\n4,5,6,\n", "% note\n1, 2,\r\n3, 4,\r\n", "1,2,\n\n3,4,"])
def test_every_line_ending_in_a_comma_is_refused(text):
    with pytest.raises(ParseError, match="every line ends with a comma"):
        as_matrix(text)
    with pytest.raises(ParseError, match="every line ends with a comma"):
        parse_matrix_text(text)


def test_trailing_comma_txt_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("1,2,3,\n4,5,6,\n")
    with pytest.raises(ParseError, match=r"t\.txt'.*every line ends with a comma"):
        load(path)


def test_continuation_rule_still_holds():
    assert as_matrix("1, 2,\n3, 4").tolist() == [[1, 2, 3, 4]]
    assert as_matrix("1, 2, 3,").tolist() == [[1, 2, 3]]
    assert as_matrix("[1, 2,\n 3]").shape == (3, 1)


# ----------------------------------------------------------------- 12. pasted forms


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("[1 2; 3 4];", [[1, 2], [3, 4]]),
        ("A = [1 2; 3 4];", [[1, 2], [3, 4]]),
        ("  B2=[1, 2; 3, 4] ;\n", [[1, 2], [3, 4]]),
        ("A = np.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]]),
        ("A = [1 2 ...\n 3 4];", [[1, 2, 3, 4]]),  # (bare '[1 2 ...\n 3 4]': see hunt2)
        ("[1 2 ... % more\r\n 3 4; 5 6 7 8]", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ("| 1 | 2 |\n| 3 | -4 |", [[1, 2], [3, -4]]),
        ("| a | b |\n|---|:---:|\n| 1 | 1/2 |\n| 3 | 4 |\n", [[1, 0.5], [3, 4]]),
        ("**A** = $$\\begin{bmatrix}1 & 2\\\\ 3 & 4\\end{bmatrix}$$", [[1, 2], [3, 4]]),
    ],
)
def test_pasted_forms_are_read(text, want):
    assert np.array_equal(as_matrix(text), want)
    rows = parse_matrix_text(text)
    assert [[e.to_complex() for e in row] for row in rows] == want


def test_markdown_header_of_numbers_is_refused_not_dropped():
    with pytest.raises(ParseError, match="header row holds numbers"):
        as_matrix("| 1 | 2 |\n|---|---|\n| 3 | 4 |")


@pytest.mark.parametrize(
    "text", ["[[0 1 2 ... 7 8 9]]", "[[1, 2],\n ...\n [3, 4]]", "A == [1 2]", "[1 2];;"]
)
def test_still_refused(text):
    with pytest.raises(svdkit.SvdkitError):
        as_matrix(text)


# ----------------------------------------------------------------- 7. meta tensor


def test_meta_tensor_is_a_parse_error():
    import torch

    t = torch.ones(2, 2, device="meta")
    with pytest.raises(ParseError, match="torch tensor on device 'meta'"):
        as_matrix(t)
    with pytest.raises(ParseError, match="B is a torch tensor on device 'meta'"):
        as_matrix(t, name="B")
