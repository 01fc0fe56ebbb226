"""Review of file inputs: comments and dates in delimited files, JSON overflow, .npy edges."""

from __future__ import annotations

import json

import numpy as np
import pytest

import svdkit
from svdkit.errors import EmptyInputError, NonFiniteError, ParseError
from svdkit.lowrank import truncated_svd


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# D1: a '%' or '#' after an entry no longer cuts the row


@pytest.mark.parametrize(
    ("name", "text", "where", "mark"),
    [
        ("x.csv", "50%,2\n25%,3\n", "row 1, column 1", "%"),
        ("x.csv", "1,2%\n", "row 1, column 2", "%"),
        ("x.csv", "% note\n1,2\n\n  # note\n3,4 # x\n", "row 2, column 2", "#"),
        ("x.tsv", "1\t2%\n", "row 1, column 2", "%"),
    ],
)
def test_comment_after_entry_is_refused(tmp_path, name, text, where, mark):
    with pytest.raises(ParseError, match=rf"{where}: '{mark}' after an entry") as info:
        svdkit.load(_write(tmp_path, name, text))
    assert ("percentage" in str(info.value)) == (mark == "%")


def test_whole_line_comments_still_allowed(tmp_path):
    p = _write(tmp_path, "x.csv", "% a title\n1,2\n  # more\n3,4\n")
    np.testing.assert_array_equal(svdkit.load(p), [[1, 2], [3, 4]])


# D2: dates are refused; expressions are not


@pytest.mark.parametrize(
    ("text", "where", "cell"),
    [
        ("2020-01-05,1.5\n2020-01-06,2.5\n", "row 1, column 1", "2020-01-05"),
        ("1,2\n10/12/2020,1\n", "row 2, column 1", "10/12/2020"),
        ("1,2\n# c\n3, 05-01-2020 \n", "row 2, column 2", "05-01-2020"),
        ("1,2020-01-05 12:30:00\n", "row 1, column 2", "2020-01-05 12:30:00"),
    ],
)
def test_date_cells_are_refused(tmp_path, text, where, cell):
    with pytest.raises(ParseError, match=rf"{where}: '{cell}' looks like a date"):
        svdkit.load(_write(tmp_path, "x.csv", text))


def test_tsv_date_refused(tmp_path):
    with pytest.raises(ParseError, match=r"row 1, column 2: '2020/1/5' looks like a date"):
        svdkit.load(_write(tmp_path, "x.tsv", "1\t2020/1/5\n"))


def test_expressions_still_read(tmp_path):
    p = _write(tmp_path, "x.csv", "1/3,sqrt(2)\n2*pi,-1.5e-3\n1e-05/3,-2\n")
    np.testing.assert_allclose(
        svdkit.load(p), [[1 / 3, 2**0.5], [2 * np.pi, -1.5e-3], [1e-05 / 3, -2]]
    )


# D4: overflow in JSON says what the text readers say


@pytest.mark.parametrize("number", ["1e309", "1" + "0" * 400, "1" + "0" * 400 + ".5"])
def test_json_overflow_message(tmp_path, number):
    p = _write(tmp_path, "x.json", f"[[1e308, {number}]]")
    with pytest.raises(NonFiniteError, match=r"row 1, column 2: '1.*' is too large for a float"):
        svdkit.load(p)
    with pytest.raises(NonFiniteError, match=r"too large for a floating-point number"):
        svdkit.load(_write(tmp_path, "x.csv", f"1e308,{number}\n"))


def test_json_ordinary_numbers_unchanged(tmp_path):
    p = _write(tmp_path, "x.json", json.dumps([[1e308, -2.5], [3, 1e-300]]))
    np.testing.assert_array_equal(svdkit.load(p), [[1e308, -2.5], [3, 1e-300]])


# D6: the out-of-core .npy path agrees with load


def test_npy_scalar_is_one_by_one(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.array(3.0))
    np.testing.assert_array_equal(svdkit.load(p), [[3.0]])
    res = truncated_svd(str(p), 1)
    np.testing.assert_allclose(res.s, [3.0])


def test_npy_empty_names_the_file(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.zeros((0, 3)))
    with pytest.raises(EmptyInputError, match=r"x\.npy' is empty \(shape \(0, 3\)\)"):
        truncated_svd(str(p), 1)


# D7: pandas' to_csv default gets a hint


def test_pandas_index_header_hint(tmp_path):
    p = _write(tmp_path, "x.csv", ",0,1\n0,1.5,2.5\n1,3.5,4.5\n")
    with pytest.raises(ParseError, match=r"row 1, column 1: empty entry \(a pandas index"):
        svdkit.load(p)


def test_no_hint_for_later_empty_entry(tmp_path):
    p = _write(tmp_path, "x.csv", "1,2\n,3\n")
    with pytest.raises(ParseError, match=r"row 2, column 1: empty entry at") as info:
        svdkit.load(p)
    assert "pandas" not in str(info.value)


# D3: the first fault in file order


@pytest.mark.parametrize(
    "text",
    ['"1,000",2\n3,4\n', "1,2\n@,2\n3,4,5\n", "1,2\n" * 50 + "3,@\n" + "3,4,5\n"],
)
def test_token_fault_before_ragged_row(tmp_path, text):
    with pytest.raises(ParseError, match=r"row (1|2|51), column (1|2): unexpected") as info:
        svdkit.load(_write(tmp_path, "x.csv", text))
    assert not isinstance(info.value, svdkit.errors.RaggedError)


def test_ragged_row_still_reported(tmp_path):
    with pytest.raises(svdkit.errors.RaggedError, match=r"row 2 has"):
        svdkit.load(_write(tmp_path, "x.csv", "1,2,3\n3,4\n"))


def test_plain_number_csv_skips_the_date_scan(tmp_path, monkeypatch):
    """A CSV of plain numbers (read at C speed) holds no date: the regular expression
    over the whole text, a quarter of the reading time, is not run."""
    import svdkit.inputs.text as text_module

    calls = []
    real = text_module._MAYBE_DATE

    class Spy:
        def search(self, text):
            calls.append(len(text))
            return real.search(text)

    monkeypatch.setattr(text_module, "_MAYBE_DATE", Spy())
    path = tmp_path / "m.csv"
    path.write_text("1.5e-01,-2,3\n4,5,6.25\n")
    assert svdkit.load(path).shape == (2, 3)
    assert calls == []
    (tmp_path / "d.csv").write_text("2020-01-05,1\n")
    with pytest.raises(svdkit.ParseError, match="looks like a date"):
        svdkit.load(tmp_path / "d.csv")
    assert calls
