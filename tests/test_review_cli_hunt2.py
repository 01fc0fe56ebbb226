"""Second review of the command line and its file readers (after b8e7a34): a certified
``svd`` removes only its own stale uncertified result, a named pipe's text is read as
its file would be, Matrix Market integer fields and the cost of the .mtx check, matrix
text with a mistake after a minus sign, ``--figure-format`` leaving no figure of an
earlier matrix, standard input decoded as bytes, empty paths advised alike, and a
``MemoryError`` as an error line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from cli_support import error_line, run_svdkit

import svdkit
from svdkit.errors import FileFormatError
from svdkit.inputs import files


def _hard(n_rows: int = 400, n_cols: int = 120, seed: int = 0) -> np.ndarray:
    """A matrix whose top triplets a single randomized iteration does not certify."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n_rows, 60)))
    v, _ = np.linalg.qr(rng.standard_normal((n_cols, 60)))
    return (u / np.arange(1, 61) ** 0.1) @ v.T


def _fail(run, matrix: Path, out: Path) -> None:
    code, _, err = run("svd", matrix, "-k", "10", "--method", "randomized",
                       "--max-iter", "1", "-o", out)
    assert code == 2 and "uncertified" in err, err


# --- 1. a certified svd removes only its own stale uncertified result -------------------


def test_certified_svd_leaves_a_certified_result_under_the_uncertified_name(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    np.save(tmp_path / "A.npy", np.diag([3.0, 2.0, 1.0, 0.5]))
    np.save(tmp_path / "B.npy", np.diag([5.0, 4.0, 1.0]))
    kept = tmp_path / "run.uncertified.npz"
    code, _, err = run("svd", tmp_path / "B.npy", "-k", "2", "-o", kept)  # certified, B's
    assert code == 0, err
    before = kept.read_bytes()
    code, _, err = run("svd", tmp_path / "A.npy", "-k", "3", "-o", tmp_path / "run.npz")
    assert code == 0, err
    assert kept.read_bytes() == before  # B's certified result is kept
    flat = " ".join(err.split())
    assert f"'{kept}' is left as it is: it holds a certified result" in flat
    assert "removed" not in flat
    with np.load(tmp_path / "run.npz") as z:
        np.testing.assert_allclose(z["s"], [3.0, 2.0, 1.0], rtol=1e-12)


def test_certified_svd_leaves_another_inputs_uncertified_result(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    h = _hard()
    np.save(tmp_path / "H.npy", h)
    out, sibling = tmp_path / "o.npz", tmp_path / "o.uncertified.npz"
    _fail(run, tmp_path / "H.npy", out)
    with np.load(sibling) as z:  # what identifies the input is recorded
        assert not bool(z["converged"])
        assert str(z["input"]) == str((tmp_path / "H.npy").resolve())
        assert int(z["input_size"]) == (tmp_path / "H.npy").stat().st_size
        assert z["U"].shape == (400, 10) and z["Vh"].shape == (10, 120)
    before = sibling.read_bytes()
    np.save(tmp_path / "E.npy", np.diag([5.0, 4.0, 3.0, 2.0, 1.0]))
    code, _, err = run("svd", tmp_path / "E.npy", "-k", "2", "-o", out)
    assert code == 0, err
    assert sibling.read_bytes() == before  # H's 400×120 triplets are not lost
    flat = " ".join(err.split())
    assert "is left as it is: it is the uncertified result of another input" in flat
    assert str((tmp_path / "H.npy").resolve()) in flat


def test_certified_svd_leaves_the_result_of_an_earlier_version_of_the_file(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    matrix = tmp_path / "H.npy"
    np.save(matrix, _hard())
    out, sibling = tmp_path / "o.npz", tmp_path / "o.uncertified.npz"
    _fail(run, matrix, out)
    np.save(matrix, _hard(seed=1))  # the file changed since: another matrix
    info = matrix.stat()
    os.utime(matrix, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    code, _, err = run("svd", matrix, "-k", "10", "-o", out)
    assert code == 0, err
    assert sibling.exists()
    assert "uncertified result of an earlier version of" in " ".join(err.split())
    # the same, unchanged input: its stale uncertified result goes, named
    _fail(run, matrix, out)
    code, _, err = run("svd", matrix, "-k", "10", "-o", out)
    assert code == 0, err
    assert not sibling.exists()
    assert f"removed '{sibling}'" in " ".join(err.split())


# --- 2. a named pipe with a text extension: the same report as its file ----------------


def _feed(fifo: Path, text: str) -> threading.Thread:
    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    return writer


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("m.txt", "1/3 1/2\n1 1/4\n"),
        ("m.csv", "1/3,1/2\n1,1/4\n"),
        ("m.tex", "\\begin{pmatrix}\\frac{1}{3} & \\frac12 \\\\ 1 & \\frac14\\end{pmatrix}\n"),
    ],
)
def test_explain_reads_a_named_pipe_as_its_file(capsys, monkeypatch, tmp_path, name, text):
    run = run_svdkit(capsys, monkeypatch)
    (tmp_path / "reg").mkdir()
    (tmp_path / "pipe").mkdir()
    (tmp_path / "reg" / name).write_text(text, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe" / name)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.chdir(tmp_path / "reg")
    code, expected, err = run("explain", name, "-f", "markdown")
    assert code == 0, err
    monkeypatch.chdir(tmp_path / "pipe")
    writer = _feed(tmp_path / "pipe" / name, text)
    code, out, err = run("explain", name, "-f", "markdown")
    writer.join(timeout=10)
    assert code == 0, err
    assert out == expected
    assert "det A (exact) | −5/12" in out  # 1/3·1/4 − 1/2: exact, not 0.08333
    assert list(temp.iterdir()) == []  # the copy is removed


def test_a_named_pipe_error_names_the_pipe_and_leaves_no_copy(capsys, monkeypatch, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    fifo = tmp_path / "bad.csv"
    os.mkfifo(fifo)
    writer = _feed(fifo, "1,2\n3,x\n")
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", fifo, "-f", "json")
    writer.join(timeout=10)
    line = error_line(code, err)
    assert f"'{fifo}'" in line and "unknown name 'x'" in line, line
    assert str(temp) not in line
    assert list(temp.iterdir()) == []


# --- 3. Matrix Market integer fields --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "word", "line"),
    [
        ("coordinate integer general\n2 2 1\n1 1 1e3\n", "1e3", 3),
        ("coordinate integer general\n2 2 2\n1 1 4\n2 2 1.5\n", "1.5", 4),
        ("array integer general\n1 2\n1\n2.7\n", "2.7", 4),
        ("coordinate integer general\n2 2 1\n1 1 nan\n", "nan", 3),
        ("coordinate integer general\n2 2 1\n1 1 5-\n", "5-", 3),
        ("coordinate integer general\n2 2 1\n1 1 1-2\n", "1-2", 3),
    ],
)
def test_an_integer_mtx_refuses_a_value_that_is_no_integer(tmp_path, body, word, line):
    path = tmp_path / "m.mtx"
    path.write_text("%%MatrixMarket matrix " + body)
    with pytest.raises(FileFormatError) as info:
        svdkit.load(path)
    assert str(info.value) == (
        f"'{path}' is not a valid .mtx file: line {line}: '{word}' is not an integer "
        "(the header says integer)"
    )


def test_an_integer_mtx_with_signed_integers_reads_exactly(tmp_path):
    path = tmp_path / "m.mtx"
    path.write_text(
        "%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 -7\n2 1 3\n2 2 12\n"
    )
    np.testing.assert_array_equal(svdkit.load(path), [[-7.0, 0.0], [3.0, 12.0]])


def test_mtx_messages_escape_bytes_and_use_the_right_article(tmp_path):
    path = tmp_path / "m.mtx"
    path.write_bytes(b"%%MatrixMarket matrix array real general\n2 1\n1\xa0\n2\n")
    with pytest.raises(FileFormatError, match=r"line 3: '1\\xa0' is not a number$"):
        svdkit.load(path)
    path.write_text("%%MatrixMarket matrix array real general\n2 1\n1 2\n3\n")
    with pytest.raises(FileFormatError, match="which an array real file's entry lines have"):
        svdkit.load(path)


# --- 5. the cost of the .mtx check ----------------------------------------------------


def test_the_mtx_check_maps_the_file_and_takes_the_quick_path(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    a = scipy.sparse.random(300, 200, density=0.2, format="coo", random_state=rng)
    a.data = rng.standard_normal(a.nnz) * 10.0 ** rng.integers(-200, 200, a.nnz)
    path = tmp_path / "big.mtx"
    scipy.io.mmwrite(path, a)
    monkeypatch.setattr(files, "_MTX_CHUNK", 1 << 12)  # many chunks

    def no_copy(self):
        raise AssertionError(f"read whole: {self}")

    def no_exact(*args):
        raise AssertionError("a file mmwrite wrote went to the exact (slow) test")

    monkeypatch.setattr(Path, "read_bytes", no_copy)
    monkeypatch.setattr(files, "_mtx_chunk_fault", no_exact)
    got = svdkit.load(path, sparse=True)
    assert abs(got - a.tocsr()).max() == 0  # read exactly as written (repr round trip)


@pytest.mark.parametrize(
    ("entry", "word"),
    [("1.5.3", "1.5.3"), ("1e5.3", "1e5.3"), ("1e5e3", "1e5e3"), ("1.0000000000000000000000000"
      "000000000005.5", "1.0000000000000000000000000000000000005.…"), ("-1e-5-3", "-1e-5-3")],
)
def test_the_quick_mtx_path_never_passes_a_wrong_word(tmp_path, monkeypatch, entry, word):
    # the quick test may only pass what the exact one passes; here it must hand over
    monkeypatch.setattr(files, "_MTX_CHUNK", 1 << 12)
    lines = "".join(f"{i} 1 1.0338848445967919E-1\n" for i in range(1, 400))
    path = tmp_path / "m.mtx"
    path.write_text(
        "%%MatrixMarket matrix coordinate real general\n400 1 400\n" + lines + f"400 1 {entry}\n"
    )
    with pytest.raises(FileFormatError) as info:
        svdkit.load(path)
    assert f"line 402: '{word[:40]}" in str(info.value) and "is not a number" in str(info.value)


def test_a_nan_heavy_mtx_reaches_its_error_quickly(tmp_path):
    import time

    n = 200_000
    body = "".join(f"{i % 1000 + 1} {i // 1000 + 1} NaN\n" for i in range(n))
    path = tmp_path / "nan.mtx"
    path.write_text(f"%%MatrixMarket matrix coordinate real general\n1000 200 {n}\n{body}")
    start = time.perf_counter()
    with pytest.raises(svdkit.NonFiniteError):
        svdkit.load(path, sparse=True)
    # (was a Python loop over every byte of every NaN: about 1 s per 500 000 words)
    assert time.perf_counter() - start < 20


def test_a_memory_error_while_loading_is_an_error_line(capsys, monkeypatch, tmp_path):
    path = tmp_path / "m.mtx"
    scipy.io.mmwrite(path, scipy.sparse.coo_matrix(np.eye(3)))

    def full(*args):
        raise MemoryError

    monkeypatch.setattr(files, "_check_mtx_entries", full)
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", path, "-f", "json")
    assert "not enough memory" in error_line(code, err)
    code, _, err = run_svdkit(capsys, monkeypatch)("svd", path, "-k", "1",
                                                   "-o", tmp_path / "o.npz")
    assert "not enough memory" in error_line(code, err)


# --- 6. matrix text with a mistake after a minus sign ------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-[1e400]", "A: unexpected '[' inside the matrix at offset 1"),
        ("-\\frac{1}{", "unbalanced brackets"),
        ("-sqrt(", "A:"),
        ("-[[1,2],[3", "A:"),
        ("-{1 2", "A:"),
    ],
)
def test_a_mistyped_matrix_after_a_minus_gets_its_parse_error(capsys, monkeypatch, text,
                                                             expected):
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", text)
    line = error_line(code, err)
    assert "No such option" not in line and expected in line, line
    # (the parser's own error: without the minus, "[1e400]" is another mistake)
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", text[1:])
    assert "A:" in error_line(code, err)


@pytest.mark.parametrize("option", ["-x", "--bogus", "-qz"])
def test_a_mistyped_option_is_still_named(capsys, monkeypatch, option):
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", option, "1 2; 3 4")
    assert "No such option" in error_line(code, err)


# --- 4. --figure-format leaves no figure of an earlier matrix ---------------------------


def test_figure_format_removes_an_earlier_matrixs_figures_of_other_formats(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    figs = tmp_path / "figs"
    code, _, err = run("explain", "2 1; 1 3", "-f", "json", "--figures", figs)
    assert code == 0, err
    assert (figs / "spectrum.png").exists() and (figs / "quadratic_form.svg").exists()
    (figs / "notes.png").write_bytes(b"mine")  # a user's file: never touched
    code, _, err = run("explain", "1 2 3; 4 5 6; 7 8 10; 1 1 1", "-f", "json",
                       "--figures", figs, "--figure-format", "pdf")
    assert code == 0, err
    assert sorted(p.name for p in figs.iterdir()) == ["notes.png", "spectrum.pdf"]
    flat = " ".join(err.split())
    for gone in ("spectrum.png", "spectrum.svg", "svd_geometry.png", "quadratic_form.svg"):
        assert gone in flat.split("removed", 1)[1], flat


def test_figure_format_leaves_a_users_file_of_a_figure_name_in_another_format(
    capsys, monkeypatch, tmp_path
):
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "spectrum.png").write_bytes(b"a user's picture")
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "explain", "2 1; 1 3", "-f", "json", "--figures", figs, "--figure-format", "svg"
    )
    assert code == 0, err
    assert (figs / "spectrum.png").read_bytes() == b"a user's picture"
    assert "removed" not in err and "Warning" not in err


# --- (b) standard input and extensionless files, decoded as bytes ----------------------


def test_a_non_utf8_byte_on_standard_input_is_an_error_line(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "svdkit", "explain", "-", "-f", "json"],
        input=b"1 2; 3 \xe9\n", capture_output=True, env=env, check=False,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: standard input is not UTF-8 text (byte 7)"), err
    done = subprocess.run(
        [sys.executable, "-m", "svdkit", "explain", "-", "-f", "json"],
        input=b"1 2; 3 4\n", capture_output=True, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()


def test_standard_input_without_a_byte_buffer_is_read_as_text(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("2 0; 0 3\n"))
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", "-", "-f", "json")
    assert code == 0, err
    expected = svdkit.explain.render(svdkit.explain.explain("2 0; 0 3"), "json")
    assert out.strip() == expected.strip()


def test_a_npy_file_on_standard_input_is_named(capsys, monkeypatch):
    buf = io.BytesIO()
    np.save(buf, np.eye(2))

    class Stdin(io.TextIOWrapper):
        pass

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(buf.getvalue())))
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", "-")
    assert "standard input holds a .npy file, not matrix text" in error_line(code, err)


def test_an_extensionless_file_with_a_stray_byte_is_an_error_line(capsys, monkeypatch,
                                                                 tmp_path):
    path = tmp_path / "mymatrix"
    path.write_bytes(b"1 2\n3 \xff\n")
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", path)
    line = error_line(code, err)
    assert f"'{path}' is not UTF-8 text (byte 6)" in line, line
    path.write_bytes(b"1 2\n3 4\n")
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", path, "-f", "json")
    assert code == 0, err


# --- (c) empty paths: a file parameter's advice, a folder's -------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("svd", "", "-k", "1", "-o", "o.npz"), "'file'"),
        (("lsi", "eval", "idx", "--queries", "q.tsv", "--qrels", ""), "'--qrels'"),
        (("lsi", "index", "c", "-o", "ix", "--stop-words-file", ""), "'--stop-words-file'"),
        (("lora", "analyse", "A", "--json", ""), "'--json'"),
        (("lora", "analyse", "A", "--figure", ""), "'--figure'"),
    ],
)
def test_an_empty_file_path_gets_the_same_advice_everywhere(capsys, monkeypatch, tmp_path,
                                                           args, named):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_svdkit(capsys, monkeypatch)(*args)
    line = error_line(code, err)
    assert f"{named}: an empty path; name a file (is a shell variable unset?)" in line, line


# --- (d) a MemoryError anywhere ------------------------------------------------------


def test_a_memory_error_in_a_command_is_an_error_line(capsys, monkeypatch):
    def full(*args, **kwargs):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (100000, 100000)")

    monkeypatch.setattr("svdkit.explain.explain", full)
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", "1 2; 3 4")
    line = error_line(code, err)
    assert line.startswith("error: not enough memory for this command (Unable to allocate")
