"""What the docs say, as the program does it: figures of an earlier matrix removed from a
reused ``--figures`` folder, one rule for a ``str`` that names a matrix file, JSON
matrix files holding numbers only, ``explain -o ""``, the top-level help, and the
examples of docs/explain-json.md."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.cli_support import error_line, run_svdkit

# -- 1. --figures: an earlier run's figures do not stay beside this matrix's -----------


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_save_figures_removes_own_figures_of_an_earlier_matrix(tmp_path):
    from svdkit.plot.save import FIGURE_MARK, FigureRemovedWarning, save_figures

    out = tmp_path / "figs"
    first = save_figures([[2, 1], [1, 2]], out)
    assert {p.name for p in first} == {
        f"{n}.{f}" for n in ("svd_geometry", "quadratic_form", "spectrum") for f in ("png", "svg")
    }
    (out / "notes.txt").write_text("mine")  # no figure name: never touched
    with pytest.warns(FigureRemovedWarning, match="quadratic_form.png, quadratic_form.svg"):
        second = save_figures([[1, 2], [3, 4]], out)  # not symmetric: no quadratic form
    assert [p.name for p in second.removed] == ["quadratic_form.png", "quadratic_form.svg"]
    assert {p.name for p in second} == {
        "svd_geometry.png", "svd_geometry.svg", "spectrum.png", "spectrum.svg"
    }
    assert _names(out) == {p.name for p in second} | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "mine"
    for p in second:
        assert FIGURE_MARK.encode() in p.read_bytes()
    with pytest.warns(FigureRemovedWarning, match="removed 1 figure file .*: svd_geometry.svg$"):
        third = save_figures([[1, 2, 3, 4]], out, formats="svg")  # only the spectrum applies
    assert [p.name for p in third] == ["spectrum.svg"]
    # the PNG files are of a format this call does not write: left as they are
    assert _names(out) == {"spectrum.svg", "svd_geometry.png", "spectrum.png", "notes.txt"}


@pytest.mark.parametrize(
    "second",
    [
        [[2e301, 1e301], [1e301, 2e301]],  # beyond MAX_ENTRY: geometry and form skipped
        [[2, 1j], [-1j, 2]],  # complex: the pictures of real space skipped
    ],
)
def test_save_figures_removes_figures_a_later_run_skips(tmp_path, second):
    from svdkit.plot.save import FigureSkippedWarning, save_figures

    save_figures([[2, 1], [1, 2]], tmp_path, formats=("png",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = save_figures(second, tmp_path, formats=("png",))
    assert [p.name for p in written] == ["spectrum.png"]
    assert _names(tmp_path) == {"spectrum.png"}
    skipped = [w for w in caught if issubclass(w.category, FigureSkippedWarning)]
    assert len(skipped) == 2, [str(w.message) for w in caught]


def test_save_figures_leaves_a_users_file_and_says_so(tmp_path):
    from svdkit.plot.save import StaleFigureWarning, save_figures

    mine = tmp_path / "quadratic_form.svg"
    mine.write_text("<svg>my own drawing</svg>")
    (tmp_path / "svd_geometry.svg").mkdir()  # not a file: left too
    with pytest.warns(StaleFigureWarning) as record:
        written = save_figures([[1, 2, 3, 4]], tmp_path, formats="svg")
    assert [p.name for p in written] == ["spectrum.svg"]
    assert mine.read_text() == "<svg>my own drawing</svg>"
    assert (tmp_path / "svd_geometry.svg").is_dir()
    messages = sorted(str(w.message) for w in record if w.category is StaleFigureWarning)
    assert len(messages) == 2
    assert str(mine) in messages[0] and "not a figure svdkit wrote" in messages[0]


def test_explain_figures_folder_reused_for_another_matrix(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    figs = tmp_path / "figs"
    code, _, err = run("explain", "2 1; 1 2", "--no-steps", "--figures", figs)
    assert code == 0, err
    assert {"quadratic_form.png", "quadratic_form.svg"} <= _names(figs)
    code, _, err = run("explain", "1 2; 3 4", "--no-steps", "--figures", figs)
    assert code == 0, err
    assert "4 figure files written" in " ".join(err.split())
    assert _names(figs) == {
        "svd_geometry.png", "svd_geometry.svg", "spectrum.png", "spectrum.svg"
    }


# -- 2. a one-line str ending in .npy, .npz or .mtx names a file, for every function ---


def _matrix_files(folder: Path) -> dict[str, Path]:
    import scipy.io
    import scipy.sparse

    A = np.array([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    np.save(folder / "B.npy", A)
    scipy.sparse.save_npz(folder / "s.npz", scipy.sparse.csr_matrix(A))
    scipy.io.mmwrite(folder / "m.mtx", scipy.sparse.coo_matrix(A))
    # the extension in any case
    (folder / "s.npz").rename(folder / "S.NPZ")
    (folder / "m.mtx").rename(folder / "M.Mtx")
    return {".npy": folder / "B.npy", ".npz": folder / "S.NPZ", ".mtx": folder / "M.Mtx"}


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".mtx"])
def test_str_file_name_is_read_by_every_function(tmp_path, monkeypatch, suffix):
    import svdkit

    path = _matrix_files(tmp_path)[suffix]
    A = np.load(tmp_path / "B.npy")
    monkeypatch.chdir(tmp_path)
    for text in (path.name, str(path)):  # relative and absolute
        a = svdkit.as_matrix(text)
        assert isinstance(a, np.ndarray) and np.array_equal(a, A)
        assert svdkit.rank(text) == 2 == np.linalg.matrix_rank(A)
        assert svdkit.norm(text, 2) == pytest.approx(np.linalg.norm(A, 2), rel=1e-15)
        assert svdkit.norm(text, "fro") == pytest.approx(np.sqrt(14.0), rel=1e-15)
        with pytest.raises(svdkit.SvdkitError):  # not square: det refuses the matrix read
            svdkit.det(text)
        r = svdkit.svd(text)
        assert np.allclose(r.U @ np.diag(r.s) @ r.Vh, A, atol=1e-14)
        assert r.s.tolist() == pytest.approx([np.sqrt(10.0), 2.0, 0.0], abs=1e-14)


def test_str_file_name_square_det_and_vector(tmp_path, monkeypatch):
    import svdkit

    monkeypatch.chdir(tmp_path)
    M = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.save("M.npy", M)
    np.save("v.npy", np.array([1.0, 2.0, 3.0]))
    assert svdkit.det("M.npy") == pytest.approx(5.0, rel=1e-15)
    assert svdkit.det("M.npy") == pytest.approx(np.linalg.det(M), rel=1e-14)
    assert svdkit.as_vector("v.npy").tolist() == [1.0, 2.0, 3.0]
    Path("M.npy").rename("M.NPY")
    assert svdkit.as_matrix("M.NPY").tolist() == M.tolist()


def test_str_npy_name_float32_keeps_its_rule_and_large_scale_route(tmp_path, monkeypatch):
    import svdkit

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    low = (rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40))).astype(np.float32)
    np.save("f32.npy", low)
    # the float32 rule, as for Path("f32.npy") and the array itself
    assert svdkit.rank("f32.npy") == svdkit.rank(Path("f32.npy")) == svdkit.rank(low) == 5
    r = svdkit.svd("f32.npy", k=3)  # the .npy route of svd with k
    ref = np.linalg.svd(low.astype(np.float64), compute_uv=False)[:3]
    assert np.allclose(r.s, ref, rtol=1e-8)


@pytest.mark.parametrize("name", ["missing.npy", "missing.NPZ", "gone/missing.mtx"])
def test_str_file_name_missing_is_a_clear_error(tmp_path, monkeypatch, name):
    import svdkit
    from svdkit.errors import MissingFileError

    monkeypatch.chdir(tmp_path)
    for f in (svdkit.as_matrix, svdkit.rank, svdkit.norm, svdkit.det, svdkit.svd):
        with pytest.raises(MissingFileError) as info:
            f(name)
        assert str(info.value) == f"no such file: '{name}'"  # docs/inputs.md's words


def test_other_str_stays_matrix_text_with_a_clear_parse_error(tmp_path, monkeypatch):
    import svdkit
    from svdkit.errors import ParseError

    monkeypatch.chdir(tmp_path)
    Path("data.csv").write_text("1,2\n3,4\n")
    with pytest.raises(ParseError) as info:
        svdkit.rank("data.csv")
    assert "Path(" in str(info.value) or "pathlib.Path" in str(info.value)
    assert "svdkit.load" in str(info.value)
    assert svdkit.rank(Path("data.csv")) == 2
    assert svdkit.as_matrix("1 2; 3 4").tolist() == [[1.0, 2.0], [3.0, 4.0]]
    # more than one line is matrix text, even when it ends like a file name
    with pytest.raises(ParseError, match="unknown name 'B'"):
        svdkit.as_matrix("1\nB.npy")


# -- 5. a .json matrix file holds numbers: true, false and null are refused -------------


@pytest.mark.parametrize(
    ("text", "word", "where"),
    [
        ("[[1, 2], [3, true]]", "true", "row 2, column 2"),
        ("[[1, false], [3, 4]]", "false", "row 1, column 2"),
        ("[[1, 2], [3, null]]", "null", "row 2, column 2"),
        ("[1, 2, true]", "true", "row 3, column 1"),  # a column vector
    ],
)
def test_json_literals_are_refused_as_the_file_spells_them(tmp_path, text, word, where):
    import svdkit
    from svdkit.errors import ParseError

    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        svdkit.load(path)
    message = str(info.value)
    assert message == f"'{path}': the entry at {where} is {word}, not a number"
    assert "None" not in message and "True" not in message
    row, column = (int(w.strip(",")) for w in where.split()[1::2])
    assert (info.value.row, info.value.column) == (row, column)


def test_json_numbers_still_read(tmp_path):
    import svdkit

    path = tmp_path / "m.json"
    path.write_text("[[1, 2.5], [-3, 4e-1]]")
    assert svdkit.load(path).tolist() == [[1.0, 2.5], [-3.0, 0.4]]


def test_explain_json_file_with_true_is_one_error_line(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    path = tmp_path / "t.json"
    path.write_text("[[1, 2], [3, true]]")
    line = error_line(*run("explain", path, "--no-steps")[::2])
    assert line == f"error: '{path}': the entry at row 2, column 2 is true, not a number"


# -- 6. explain -o "" is an empty path, as for every other command ----------------------


def test_explain_empty_output_is_an_empty_path_error(tmp_path, capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.chdir(tmp_path)
    for option in ("-o", "--output"):
        line = error_line(*run("explain", "1 2; 3 4", option, "")[::2])
        assert "Invalid value for '--output' / '-o': an empty path" in line
        assert "is a directory" not in line
    assert list(tmp_path.iterdir()) == []  # nothing written
    code, out, err = run("explain", "1 2; 3 4", "--no-steps", "-o", "-")  # still stdout
    assert code == 0, err
    assert out.startswith("svdkit explain")
    code, _, err = run("explain", "1 2; 3 4", "--no-steps", "-o", "r.json")
    assert code == 0, err
    assert (tmp_path / "r.json").read_text().lstrip().startswith('{\n  "schema": "svdkit.explain"')


# -- 8. the top-level help shows no value for its flags -------------------------------


def test_top_level_help_flags_take_no_value(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("--help")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "--version" in line or "--help" in line]
    assert len(rows) == 2, out
    for row in rows:
        assert "<bool>" not in row, row
    assert "Show the version." in out
    code, out, _ = run("explain", "--help")
    assert code == 0
    steps = next(line for line in out.splitlines() if "--no-steps" in line)
    assert "<bool>" not in steps
    assert "<float>" in out  # an option that takes a value keeps its type
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("svdkit ")


# -- 9. docs/explain-json.md's subnormal example is what the program prints ------------


def test_explain_json_doc_subnormal_example_matches(capsys, monkeypatch):
    import json
    import re

    doc = (Path(__file__).parents[1] / "docs" / "explain-json.md").read_text("utf-8")
    matrix = "[[5e-324, 0, 0], [0, 5e-324, 0], [0, 0, 1e-323]]"
    at = doc.index(f"`{matrix}`")
    claims = dict(re.findall(r'`"(norm_\w+)": ("?[^`]+)`', doc[at : at + 400]))
    assert set(claims) == {"norm_fro", "norm_2"}, claims
    run = run_svdkit(capsys, monkeypatch)
    code, out, err = run("explain", matrix, "--no-steps", "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    facts = {k: v for k, v in _walk(report) if k in claims}
    for key, text in claims.items():
        assert facts[key] == json.loads(text), (key, facts[key], text)
    # the identities behind them: σ₁ = 1e-323 exactly, ‖A‖_F = √6·2⁻¹⁰⁷⁴
    assert facts["norm_2"] == 2 * 2.0**-1074 == 1e-323
    from decimal import Decimal

    ratio = Decimal(facts["norm_fro"]) / Decimal(2.0**-1074)  # (exact: a power of two)
    assert abs(float(ratio) - 6**0.5) < 1e-5  # the string keeps the digits a float loses


def _walk(node):
    """Every (key, value) pair of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
