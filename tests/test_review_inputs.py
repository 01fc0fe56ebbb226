"""Review of the inputs front door: notations a learner types, files, pathological text."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from svdkit.errors import FileFormatError, ParseError
from svdkit.inputs import as_matrix, as_vector, load, parse_matrix_text


def test_byte_order_mark_and_zero_width_space_are_whitespace() -> None:
    # text read with encoding="utf-8" (not "utf-8-sig") keeps the BOM; files already drop it
    np.testing.assert_array_equal(as_matrix("\ufeff1 2\n3 4"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(as_matrix("\ufeff[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(as_matrix("\u200b1 2\u200b"), [[1, 2]])
    np.testing.assert_array_equal(as_vector("\ufeff1; 2"), [1, 2])
    assert parse_matrix_text("\ufeff1/3")[0][0].rational() == Fraction(1, 3)


def test_unicode_minus_in_an_exponent() -> None:
    np.testing.assert_array_equal(as_matrix("1e−3 2.5E−1"), [[0.001, 0.25]])
    assert parse_matrix_text("2.5e−1")[0][0].rational() == Fraction(1, 4)
    np.testing.assert_array_equal(as_matrix("1e−3,−2"), [[0.001, -2]])


def test_json_nested_too_deeply_is_a_file_format_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileFormatError, match=r"deep\.json.*nested too deeply"):
        load(path)


def test_json_integer_too_long_is_a_file_format_error(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps([[1, 2]]).replace("2", "9" * 5000))
    with pytest.raises(FileFormatError, match=r"long\.json.*too long"):
        load(path)


@pytest.mark.parametrize(
    "text",
    [
        "-" * 3000 + "1 )",  # MATLAB / plain text
        "[" + "(" * 3000 + "]",  # inside a group
        r"\begin{bmatrix}" + "-" * 3000 + r"1 & 2 \\ 3 \end{bmatrix}",  # LaTeX, ragged
    ],
)
def test_an_overlong_entry_is_refused_where_it_becomes_too_long(text: str) -> None:
    # the entry is refused at its 1001st symbol, before the rest of the text is read
    with pytest.raises(ParseError, match="entry too long") as info:
        as_matrix(text)
    assert (info.value.row, info.value.column) == (1, 1)
    assert "^" in str(info.value)


def test_an_overlong_csv_entry_is_refused_where_it_becomes_too_long(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("1," + "-" * 3000 + "1\n2,)\n")
    with pytest.raises(ParseError, match=r"row 1, column 2: entry too long"):
        load(path)


def test_torch_tensors_are_read_detached_on_the_cpu_and_widened():
    # np.asarray of a tensor that requires grad raised torch's RuntimeError, and a
    # bfloat16 one came out as "cannot be read as an array: unsupported ScalarType"
    import torch

    from svdkit import svd
    from svdkit.lowrank import truncated_svd

    w = torch.tensor([[3.0, 0.0], [0.0, -2.0]], requires_grad=True)
    assert as_matrix(w).tolist() == [[3.0, 0.0], [0.0, -2.0]]
    assert svd(w).s.tolist() == [3.0, 2.0]
    b = torch.tensor([[1.5, -0.25], [2.0, 3.0]], dtype=torch.bfloat16)
    assert as_matrix(b).tolist() == [[1.5, -0.25], [2.0, 3.0]]  # exact in bf16
    r = truncated_svd(torch.randn(30, 20, generator=torch.Generator().manual_seed(0),
                                  requires_grad=True), 2)
    assert r.s.shape == (2,)
    z = torch.tensor([[1 + 2j, 3j]]).conj()  # a lazily conjugated view
    assert as_matrix(z).tolist() == [[1 - 2j, -3j]]
