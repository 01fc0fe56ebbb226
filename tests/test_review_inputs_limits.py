"""Review of the inputs front door: bad input is refused for about what reading costs.

No timings here: each test checks the mechanism instead. The tokenizer's regular
expression is wrapped to count the tokens it produces; a refusal must come after
a bounded number of them (an over-long entry) or after the tail of the text only
(a fault after many plain numbers, which the fast path reads at C speed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parse_support import CountingPattern

import svdkit.inputs.expr as expr
from svdkit.errors import NonFiniteError, ParseError, RaggedError, SvdkitError
from svdkit.exact import as_exact
from svdkit.inputs import as_matrix, load, parse_matrix_text
from svdkit.inputs.expr import MAX_TOKENS
from svdkit.inputs.text import _evaluate_grid, _parse_grid, text_to_array

N = 200_000  # symbols in a pathological entry


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> CountingPattern:
    counter = CountingPattern(expr._TOKEN_RE)
    monkeypatch.setattr(expr, "_TOKEN_RE", counter)
    return counter


def _plain(m: int, n: int, sep: str = " ") -> str:
    rng = np.random.default_rng(0)
    return "\n".join(sep.join(repr(float(x)) for x in row) for row in rng.standard_normal((m, n)))


# --------------------------------------------------------------------------- over-long entries


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("-" * N + "1", MAX_TOKENS),  # plain / MATLAB
        ("(" + " 1" * N + ")", 2 * MAX_TOKENS),  # inside a group, whitespace never splits
        ("[[" + "-" * N + "1, 2]]", 2 + MAX_TOKENS),  # nested lists
        (r"\begin{bmatrix}" + "-" * N + r"1 & 2 \end{bmatrix}", 15 + MAX_TOKENS),  # LaTeX
        (r"\left[" + "-" * N + r"1 & 2 \right]", 6 + MAX_TOKENS),  # LaTeX, no environment
        ("-" * N + r"1 & 2 \\ 3 & 4", MAX_TOKENS),  # LaTeX, bare
    ],
)
def test_an_overlong_entry_is_refused_before_the_text_is_tokenised(
    tokens: CountingPattern, text: str, offset: int
) -> None:
    with pytest.raises(ParseError, match="entry too long") as info:
        as_matrix(text)
    assert (info.value.row, info.value.column, info.value.offset) == (1, 1, offset)
    assert tokens.matches < 20 * MAX_TOKENS < N


def test_an_overlong_entry_is_refused_early_by_the_exact_engine_and_in_csv(
    tokens: CountingPattern,
) -> None:
    with pytest.raises(ParseError, match="row 1, column 1: entry too long"):
        as_exact("-" * N + "1")
    with pytest.raises(ParseError, match="row 1, column 2: entry too long"):
        text_to_array("1," + "-" * N + "1\n2,3", delimiter=",")
    with pytest.raises(ParseError, match="row 1, column 1: entry too long"):
        parse_matrix_text("(" * N)
    assert tokens.matches < 60 * MAX_TOKENS


def test_a_huge_environment_name_is_refused_early(tokens: CountingPattern) -> None:
    with pytest.raises(ParseError, match="unsupported environment") as info:
        as_matrix(r"\begin{" + "-" * N + r"}1\end{x}")
    assert len(str(info.value)) < 500
    assert tokens.matches < 20 * MAX_TOKENS


# --------------------------------------------------------------------------- a fault at the end


def _refused(text: str, **kw: Any) -> SvdkitError:
    with pytest.raises(SvdkitError) as info:
        text_to_array(text, **kw)
    return info.value


def test_a_bad_entry_after_many_plain_numbers_is_found_by_the_fast_path(
    tokens: CountingPattern,
) -> None:
    text = _plain(200, 200)
    err = _refused(text + "x")  # the last entry is '…x'
    assert isinstance(err, ParseError)
    assert (err.row, err.column) == (200, 200)
    assert "unknown name 'x'" in str(err) and "line 200" in str(err)
    assert tokens.matches < 50  # the full parser read the last entries only


@pytest.mark.parametrize(
    ("tail", "kind", "words"),
    [
        ("\n1 2", RaggedError, "row 201 has 2 entries but row 1 has 200 entries"),
        (" 7", RaggedError, "row 200 has 201 entries but row 1 has 200 entries"),
        (" )", ParseError, "')' has no opener"),
        (" ]", ParseError, "']' has no matching '['"),
        ("e999", NonFiniteError, "row 200, column 200: "),
        ("/0", ParseError, "row 200, column 200: division by zero"),
        (" - ", ParseError, "row 200, column 200: missing a number after '-'"),
        (",,", ParseError, "row 200, column 201: empty entry"),
    ],
)
def test_every_fault_at_the_end_costs_only_the_tail(
    tokens: CountingPattern, tail: str, kind: type[Exception], words: str
) -> None:
    err = _refused(_plain(200, 200) + tail)
    assert type(err) is kind and words in str(err)
    assert tokens.matches < 50


def test_a_fault_at_the_end_of_one_long_row_or_column(tokens: CountingPattern) -> None:
    row = " ".join(["1.5"] * 50_000)
    err = _refused(row + " x")
    assert (err.row, err.column) == (1, 50_001)
    column = "\n".join(["-2"] * 50_000)
    err = _refused(column + "\n3 x")
    assert isinstance(err, RaggedError) and "row 50001 has 2 entries" in str(err)
    assert tokens.matches < 50


def test_a_header_row_or_a_fault_midway_costs_only_its_line(tokens: CountingPattern) -> None:
    csv = _plain(200, 200, ",")
    err = _refused("a," * 199 + "a\n" + csv, delimiter=",")  # a CSV file with a header row
    assert isinstance(err, ParseError) and (err.row, err.column) == (1, 1)
    assert "unknown name 'a'" in str(err)
    lines = _plain(200, 200).split("\n")
    lines[100] = lines[100].replace(" ", " x ", 1)
    err = _refused("\n".join(lines))
    assert isinstance(err, RaggedError) and "row 101 has 201 entries" in str(err)
    lines[100] = lines[100].replace(" x ", " 2 * ", 1)  # a valid entry: "… 2 * 0.3 …"
    assert text_to_array("\n".join(lines)).shape == (200, 200)
    assert tokens.matches < 5_000  # the header and the faulty line (the text has 120 000)


def test_a_fault_at_the_end_of_a_csv_file(tmp_path: Path, tokens: CountingPattern) -> None:
    path = tmp_path / "big.csv"
    path.write_text(_plain(200, 200, ",") + "+\n")
    with pytest.raises(ParseError, match=r"big\.csv.*row 200, column 200: missing a number"):
        load(path)
    assert tokens.matches < 50


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3\n4 5 6\n7 8 9i", [[1, 2, 3], [4, 5, 6], [7, 8, 9j]]),
        ("1 2 3\n4 5 6\n7 8 1 - 2", [[1, 2, 3], [4, 5, 6], [7, 8, -1]]),  # "1 - 2" is one entry
        ("1 2 3\n4 5 6 * 2\n", [[1, 2, 3], [4, 5, 12]]),
        ("1 2\n3 4; 5 6", [[1, 2], [3, 4], [5, 6]]),
        ("1, 2, 3,\n4, 5, 6", [[1, 2, 3, 4, 5, 6]]),  # a trailing comma continues the row
        ("1 2 # note\n3 sqrt(16)", [[1, 2], [3, 4]]),
    ],
)
def test_a_valid_tail_continues_the_plain_rows(text: str, expected: list[list[complex]]) -> None:
    np.testing.assert_array_equal(text_to_array(text), expected)


_NUMBERS = st.sampled_from(["1", "-2.5", "3e2", "+4", ".5", "6.", "1/2", "-3/4", "0", "1e-3"])
_PIECES = st.sampled_from(
    [
        *["x", "- 2", "* 3", "1e999", "1/0", ",", ";", "(1+2)", "2i", "--1", "]", "[", "nan"],
        *["&", "\\\\", "# c", "\t", "  ", "1,", ",1", "\n", "\r\n", "(", "9" * 4001],
        "0." + "1" * 3999,
    ]
)


@st.composite
def _plain_with_faults(draw: st.DrawFn) -> tuple[str, str | None]:
    delimiter = draw(st.sampled_from([None, ",", "\t"]))
    seps = {None: [" ", "\t", ", "], ",": [",", ", "], "\t": ["\t"]}[delimiter]
    sep, newline = draw(st.sampled_from(seps)), draw(st.sampled_from(["\n", "\r\n", "\r"]))
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    text = newline.join(sep.join(draw(_NUMBERS) for _ in range(n)) for _ in range(m))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(_PIECES) + text[at:]
    return text, delimiter


def _outcome(read: Any) -> tuple[Any, ...]:
    try:
        a = read()
    except SvdkitError as err:
        where = (err.__dict__.get("row"), err.__dict__.get("column"), err.__dict__.get("offset"))
        return (type(err).__name__, str(err), where)
    return (a.dtype.str, a.shape, a.tolist())


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_plain_with_faults())
def test_the_fast_path_and_the_full_parser_agree_on_values_and_messages(
    case: tuple[str, str | None],
) -> None:
    text, delimiter = case
    fast = _outcome(lambda: text_to_array(text, delimiter=delimiter))
    full = _outcome(lambda: _evaluate_grid(text, _parse_grid(text, delimiter)))
    assert fast == full


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=_plain_with_faults(), chunk=st.integers(1, 8))
def test_the_fast_path_agrees_wherever_its_chunks_end(
    case: tuple[str, str | None], chunk: int
) -> None:
    # the fast path splits big texts in chunks; tiny ones put a boundary everywhere, \r\n too
    import svdkit.inputs.plain as plain

    text, delimiter = case
    full = _outcome(lambda: _evaluate_grid(text, _parse_grid(text, delimiter)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plain, "_FIRST_CHUNK", chunk)
        assert _outcome(lambda: text_to_array(text, delimiter=delimiter)) == full


# --------------------------------------------------------------------------- long numbers


LONG = "0." + "1" * 4001  # 4002 digits


@pytest.mark.parametrize(
    "read",
    [as_matrix, as_exact, parse_matrix_text, lambda t: text_to_array(t, delimiter=",")],
)
def test_a_number_of_more_than_4000_digits_is_refused_by_every_reader(read: Any) -> None:
    for text, column in ((LONG, 1), (f"1, {LONG}", 2), (f"1/3, {LONG}", 2)):
        with pytest.raises(ParseError, match=r"too long \(4002 digits; at most 4000\)") as info:
            read(text)
        assert (info.value.row, info.value.column) == (1, column)
        assert len(str(info.value)) < 400  # the number is not printed whole


def test_a_number_of_4000_digits_is_read_by_both_engines() -> None:
    text = "0." + "1" * 3999  # 4000 digits
    assert as_matrix(text)[0, 0] == float(text)
    assert as_exact(text)[0, 0] == as_exact(f"[[{text}]]")[0, 0] > 0


def test_a_long_number_in_a_csv_file_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(f"1,2\n3,{LONG}\n")
    with pytest.raises(ParseError, match=r"long\.csv.*row 2, column 2: number too long"):
        load(path)
    with pytest.raises(ParseError, match=r"row 2, column 2: number too long"):
        as_exact(path)


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("1e" + "5" * 5000, ParseError, "exponent out of range"),  # a raw ValueError before
        ("1e9991", NonFiniteError, "too large for a floating-point number"),  # ValueError too
        ("1e9000/0", ParseError, "division by zero"),
        ("1 1e-99999", ParseError, "row 1, column 2: exponent out of range"),  # 0.0 before
        ("0e99999\n1", ParseError, "row 1, column 1: exponent out of range"),  # 0.0 before
    ],
)
def test_huge_exponents_are_svdkit_errors(text: str, kind: type[Exception], words: str) -> None:
    with pytest.raises(kind, match=words) as info:
        as_matrix(text)
    assert len(str(info.value)) < 400


def test_a_ratio_beyond_the_float_range_is_a_non_finite_error() -> None:
    # float(Fraction) raised a bare OverflowError on the fast path
    with pytest.raises(NonFiniteError, match=r"row 1, column 2: '9+…' is too large"):
        as_matrix("1 " + "9" * 400 + "/2")


def test_huge_exponents_are_svdkit_errors_in_the_exact_engine() -> None:
    with pytest.raises(ParseError, match="row 1, column 2: exponent out of range"):
        as_exact("1 1e-99999")
    with pytest.raises(ParseError, match="exponent out of range"):
        as_exact("1e" + "5" * 5000)
    with pytest.raises(ParseError, match="division by zero"):
        as_exact("1e9000/0")


# --------------------------------------------------------------------------- messages stay short


def test_a_long_unknown_word_is_clipped_in_the_message() -> None:
    with pytest.raises(ParseError, match=r"unknown name 'x{39}…'") as info:
        as_matrix("x" * N)
    assert len(str(info.value)) < 400


def test_a_tab_only_line_in_tsv_is_an_empty_entry_on_both_paths() -> None:
    # the fast path skipped it as blank while the full parser refused it
    with pytest.raises(ParseError, match=r"row 2, column 1: empty entry"):
        text_to_array("1\t2\n\t\n3\t4", delimiter="\t")
    with pytest.raises(ParseError, match=r"row 2, column 1: empty entry"):
        text_to_array("1\t2\n\t\n3\t4i", delimiter="\t")
