"""Review h10, defects 5–10: the front door's messages and the str rule of as_operator.

5. A matrix-text parse error names the argument (``b: row 1, column 2: …``).
6. A string entry of a ``.json`` file is called a JSON string, with JSON's advice.
7. The JSON reader names the first fault in reading order, whatever its kind.
8. A ``None`` or text row among lists is described as what it is.
9. ``as_operator``/``truncated_svd`` read a ``str`` as ``as_matrix`` does: file names
   stripped, other ``str`` matrix text.
10. A huge number in a range error is clipped to 40 characters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import svdkit
from svdkit.errors import (
    EmptyInputError,
    FileFormatError,
    NonFiniteError,
    ParseError,
    RaggedError,
    ShapeError,
)
from svdkit.lowrank import truncated_svd
from svdkit.lowrank.operators import as_operator

M = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]])


# ----------------------------------------------------------------- 5. text errors name the argument


def test_lstsq_text_parse_error_names_b() -> None:
    with pytest.raises(ParseError) as info:
        svdkit.lstsq("1 0; 0 1", "1 x")
    first = str(info.value).splitlines()[0]
    assert first.startswith("b: row 1, column 2: unknown name 'x'")
    assert (info.value.row, info.value.column, info.value.offset) == (1, 2, 2)


def test_lstsq_text_parse_error_names_A() -> None:
    with pytest.raises(ParseError) as info:
        svdkit.lstsq("1 0; 0 x", "1; 2")
    assert str(info.value).startswith("A: row 2, column 2: unknown name 'x'")
    assert (info.value.row, info.value.column) == (2, 2)


def test_lstsq_of_text_still_solves() -> None:
    x = svdkit.lstsq("1 0; 0 2", "1; 4").x
    np.testing.assert_allclose(np.array([[1.0, 0.0], [0.0, 2.0]]) @ x, [1.0, 4.0], atol=1e-14)


def test_text_ragged_and_nonfinite_errors_name_the_argument() -> None:
    with pytest.raises(RaggedError, match=r"^B: row 2 has 1 entry but row 1 has 2 entries"):
        svdkit.as_matrix("1 2; 3", name="B")
    with pytest.raises(ParseError) as info:
        svdkit.as_vector("1 nan", name="b")
    assert str(info.value).startswith("b: row 1, column 2: 'nan'")
    with pytest.raises(ParseError, match=r"^A: ") as info:
        svdkit.as_matrix("data.csv")  # the hint about files is kept
    assert "pass a pathlib.Path or call svdkit.load" in str(info.value)


# ----------------------------------------------------------------- 6–8. JSON files


def _load_json(tmp_path: Path, text: str) -> np.ndarray:
    p = tmp_path / "m.json"
    p.write_text(text)
    return svdkit.load(p)


def test_json_string_entry_gets_json_advice(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as info:
        _load_json(tmp_path, '[[1, "1e3"], [3, 4]]')
    message = str(info.value)
    assert 'row 1, column 2 is the string "1e3", not a number' in message
    assert "JSON numbers are written without quotes" in message
    assert "whole matrix as one string" not in message
    assert (info.value.row, info.value.column) == (1, 2)


def test_json_string_entry_of_a_vector(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r'row 2, column 1 is the string "x", not a number'):
        _load_json(tmp_path, '[1, "x", 3]')


@pytest.mark.parametrize(
    ("text", "error", "expected"),
    [
        ("[[1, 2], [3], [null, 1]]", RaggedError, "row 2 has 1 entry but row 1 has 2 entries"),
        ('[[1, 2], [3], ["x", 1]]', RaggedError, "row 2 has 1 entry but row 1 has 2 entries"),
        ('[[1, "x"], [3]]', ParseError, 'row 1, column 2 is the string "x"'),
        ("[[1, null], [3]]", ParseError, "row 1, column 2 is null"),
        ("[[1, 2], [3, [4]], [5]]", ShapeError, "row 2, column 2 is itself a list"),
        ("[[1, 2], [3]], [[5]]", FileFormatError, "Extra data"),
        ("[[1, 2], [3, 4, true]]", ParseError, "row 2, column 3 is true"),
        ("[[1, 2], [3, 4, 5], [null, 1]]", RaggedError, "row 2 has 3 entries"),
        ("[[1, 2], [3], [NaN, 1]]", RaggedError, "row 2 has 1 entry"),
        ("[[1, NaN], [3]]", NonFiniteError, "row 1, column 2 is NaN"),
        ('[[1, 2], [3], [{"a": 1}, 1]]', RaggedError, "row 2 has 1 entry"),
        ("[[1, 2], 5, [null, 1]]", RaggedError, "row 2 is a single number but row 1 is a list"),
        ("[1, [2], null]", RaggedError, "row 2 is a list but row 1 is a single number"),
        ("[1, null, [2]]", ParseError, "row 2, column 1 is null"),
        ("[[1, 2], [3, 1e999], [4]]", NonFiniteError, "row 2, column 2: '1e999'"),
    ],
)
def test_json_names_the_first_fault_in_reading_order(
    tmp_path: Path, text: str, error: type, expected: str
) -> None:
    with pytest.raises(error) as info:
        _load_json(tmp_path, text)
    assert expected in str(info.value)
    assert "m.json" in str(info.value)


def test_json_good_matrix_and_vector_still_read(tmp_path: Path) -> None:
    a = _load_json(tmp_path, json.dumps(M.tolist()))
    np.testing.assert_array_equal(a, M)
    v = _load_json(tmp_path, "[1, 2.5, -3]")
    np.testing.assert_array_equal(v, [[1.0], [2.5], [-3.0]])
    with pytest.raises(EmptyInputError):
        _load_json(tmp_path, "[[], []]")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[1, 2], None], "M: row 2 is None, not a list of numbers (row 1 is a list)"),
        ([[1, 2], "ab"], "M: row 2 is the text 'ab', not a list of numbers (row 1 is a list)"),
    ],
)
def test_none_or_text_row_among_lists_is_described(rows: list, expected: str) -> None:
    with pytest.raises(ParseError) as info:
        svdkit.as_matrix(rows, name="M")
    assert str(info.value) == expected
    assert "single number" not in str(info.value)


def test_list_row_after_a_text_row_describes_the_text() -> None:
    with pytest.raises(RaggedError) as info:
        svdkit.as_matrix(["12", [1, 2]], name="M")
    assert str(info.value) == "M: row 2 is a list but row 1 is the text '12'"


def test_number_row_among_lists_is_still_a_single_number() -> None:
    with pytest.raises(RaggedError, match=r"M: row 2 is a single number but row 1 is a list"):
        svdkit.as_matrix([[1, 2], 3], name="M")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[1, 2], "ab"]', 'row 2 is the string "ab", not a list of numbers'),
        ("[[1, 2], null]", "row 2 is null, not a list of numbers"),
        ("[[1, 2], false]", "row 2 is false, not a list of numbers"),
        ('[[1, 2], {"a": 1}]', "row 2 is a JSON object ({…}), not a list of numbers"),
    ],
)
def test_json_non_number_row_among_lists_is_described(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ParseError) as info:
        _load_json(tmp_path, text)
    assert expected in str(info.value)
    assert "single number" not in str(info.value)


# ----------------------------------------------------------------- 9. as_operator's str rule


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text("1,2,3\n4,5,6\n7,8,10\n")
    return tmp_path


@pytest.mark.parametrize("name", ["m.csv\n", " m.csv", "m.csv", "M.CSV\r\n"])
def test_truncated_svd_strips_any_file_name(in_tmp: Path, name: str) -> None:
    if name.strip() == "M.CSV":
        (in_tmp / "M.CSV").write_text((in_tmp / "m.csv").read_text())
    result = truncated_svd(name, 1)
    np.testing.assert_allclose(result.s, np.linalg.svd(M, compute_uv=False)[:1], rtol=1e-12)
    residual = M @ result.V[:, 0] - result.s[0] * result.U[:, 0]
    assert np.linalg.norm(residual) <= 1e-12 * result.s[0]


def test_as_operator_reads_matrix_text_as_as_matrix_does() -> None:
    text = "[[1,2],[3,4],[5,6]]"
    a = svdkit.as_matrix(text)
    op = as_operator(text)
    assert op.shape == (3, 2)
    X = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_array_equal(op.matmat(X), a @ X)
    s = truncated_svd(text, 1).s
    np.testing.assert_allclose(s, svdkit.svd(text, k=1).s, rtol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False)[:1], rtol=1e-12)


def test_as_operator_text_error_is_a_parse_error_not_an_extension() -> None:
    with pytest.raises(ParseError) as info:
        as_operator("1 2; 3 x")
    assert "extension" not in str(info.value)
    assert str(info.value).startswith("A: row 2, column 2: unknown name 'x'")


@pytest.mark.parametrize("name", ["data.bin", "out/x.h5"])
def test_unsupported_file_name_is_text_with_a_hint(name: str) -> None:
    for call in (as_operator, svdkit.as_matrix):
        with pytest.raises(ParseError) as info:
            call(name)
        assert str(info.value).startswith("A: row 1, column 1: unknown name")
        assert "not as a file: svdkit reads files ending in .npy, .npz, .csv" in str(info.value)


def test_as_operator_missing_npy_name_is_stripped(in_tmp: Path) -> None:
    with pytest.raises(svdkit.MissingFileError) as info:
        as_operator("absent.npy\n")
    assert "'absent.npy'" in str(info.value)


# ----------------------------------------------------------------- 10. long numbers clipped


def test_huge_int_tol_is_clipped_in_the_message() -> None:
    with pytest.raises(svdkit.SvdkitError) as info:
        svdkit.rank(np.eye(2), tol=10**400)
    message = str(info.value)
    assert message.startswith("tol must be a finite number >= 0; got 1000")
    assert message.endswith("…")
    assert len(message) < 100


def test_huge_int_tol_of_lowrank_is_clipped() -> None:
    with pytest.raises(svdkit.SvdkitError) as info:
        truncated_svd(np.eye(3), 1, tol=10**400)
    assert "got 1000" in str(info.value) and len(str(info.value)) < 100
