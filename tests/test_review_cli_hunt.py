"""Review of the command line and its file readers after a defect hunt: matrix text that
starts with a minus sign, Matrix Market entries that are no numbers, a named pipe with a
matrix extension, a ``.npz`` member that is no array, ``svd --tol 1e400``, a stale
uncertified result, an invalid ``MPLBACKEND``, ``--figure-format`` and the advice for an
empty file path."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from cli_support import error_line, run_svdkit

import svdkit
from svdkit.errors import FileFormatError

# --- matrix text that starts with a minus sign ----------------------------------------


@pytest.mark.parametrize(
    "text",
    ["-i 2; 3 i", "-pi 1; 1 pi", "-√2 1; 1 2", "-sqrt(2) 1; 1 2", r"-\frac12 1; 1 2",
     "-(1+2) 1; 1 2", "-pi", "-√2"],
)
@pytest.mark.parametrize("where", ["first", "last"])
def test_explain_reads_matrix_text_that_starts_with_a_minus_sign(
    capsys, monkeypatch, text, where
):
    # was "No such option: -i" (-p, -√, -s, -\, -(): only a minus and a digit was seen
    options = ["-f", "json", "--no-steps", "--lang", "en"]
    args = [text, *options] if where == "first" else [*options, text]
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", *args)
    assert code == 0, err
    report = json.loads(out)
    expected = json.loads(svdkit.explain.render(svdkit.explain.explain(text, steps=False),
                                                "json"))
    assert report == expected  # the same report as the text gives in Python
    a = svdkit.as_matrix(text)
    assert a.real[0, 0] < 0 or a.imag[0, 0] < 0  # the minus sign was kept


def test_a_mistyped_option_of_explain_is_still_named(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    for bogus in ("-x", "--bogus", "-fxyz"):
        code, _, err = run("explain", bogus, "1 2")
        line = error_line(code, err)
        assert "No such option" in line or "'xyz' is not one of" in line, line


# --- Matrix Market entries that are no numbers ----------------------------------------

_HEAD = "%%MatrixMarket matrix coordinate real general\n2 2 2\n"


@pytest.mark.parametrize(
    "body, words",
    [
        ("1 1 1,5\n2 2 3\n", ["line 3", "'1,5'", "1.5"]),  # was read as 1
        ("1 1 1\n2 2 0x10\n", ["line 4", "'0x10'"]),  # was read as 0
        ("1 1 1.5.3\n2 2 3\n", ["line 3", "'1.5.3'"]),
        ("1 1 1 5\n2 2 3\n", ["line 3", "more than 3 fields"]),  # the 5 was dropped
        ("1 1 1e5e3\n2 2 3\n", ["line 3", "'1e5e3'"]),  # was 1e5
        ("1 1 2\n2 2 5-\n", ["line 4", "'5-'"]),  # was 5
        ("1 1 1-2\n2 2 3\n", ["line 3", "'1-2'"]),  # was 1
        ("1 1 NaN5\n2 2 3\n", ["line 3", "'NaN5'"]),
    ],
)
def test_mtx_entries_that_are_no_numbers_are_refused(tmp_path, body, words):
    path = tmp_path / "bad.mtx"
    path.write_text(_HEAD + body)
    with pytest.raises(FileFormatError) as info:
        svdkit.load(path)
    message = str(info.value)
    assert f"'{path}' is not a valid .mtx file" in message
    for word in words:
        assert word in message, message


def test_mtx_faults_are_found_across_chunks_at_their_line(tmp_path, monkeypatch):
    import svdkit.inputs.files as files

    monkeypatch.setattr(files, "_MTX_CHUNK", 16)  # many chunks of whole lines
    rows = "".join(f"{i} 1 {i}.5e-1\n" for i in range(1, 41))
    path = tmp_path / "long.mtx"
    path.write_text("%%MatrixMarket matrix coordinate real general\n40 1 40\n" + rows)
    a = svdkit.load(path)
    np.testing.assert_array_equal(a[:, 0], [float(f"{i}.5e-1") for i in range(1, 41)])
    path.write_text(path.read_text().replace("37 1 37.5e-1", "37 1 37,5"))
    with pytest.raises(FileFormatError, match=r"line 39: '37,5' is not a number"):
        svdkit.load(path)
    path.write_text(path.read_text().replace("37 1 37,5", "37 1 3 7"))
    with pytest.raises(FileFormatError, match=r"line 39 has more than 3 fields"):
        svdkit.load(path)


@pytest.mark.parametrize(
    "text",
    [
        _HEAD + "1 1 nan\n2 2 -Inf\n",
        _HEAD + "1 1 1e+3\n2 2 -.5 \n\n",
        "%%MatrixMarket matrix coordinate real general\r\n% a comment\r\n\r\n2 2 2\r\n"
        "1 1 1.5E-3\r\n2 2 7\r\n",
        "%%MatrixMarket matrix array complex general\n2 1\n1 2\n3 -4\n",
        "%%MatrixMarket matrix coordinate pattern symmetric\n2 2 2\n1 1\n2 1\n",
        "%%MatrixMarket matrix coordinate complex hermitian\n2 2 2\n1 1 2 0\n2 1 1 -1\n",
        "%%MatrixMarket matrix array integer general\n2 2\n1\n-2\n3\n4\n",
    ],
)
def test_valid_mtx_files_read_as_scipy_reads_them(tmp_path, text):
    path = tmp_path / "ok.mtx"
    path.write_bytes(text.encode())
    expected = scipy.io.mmread(path)
    expected = expected.toarray() if scipy.sparse.issparse(expected) else expected
    got = svdkit.inputs.read_matrix_file(path)
    got = got.toarray() if scipy.sparse.issparse(got) else got
    np.testing.assert_array_equal(got, expected)


# --- a named pipe with a matrix extension ---------------------------------------------


def test_explain_reads_a_named_pipe_with_a_text_extension(capsys, monkeypatch, tmp_path):
    # was "no such file: 'ff.csv'": only a regular file with a suffix was a file
    fifo = tmp_path / "ff.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w") as f:
            f.write("1,2\n3,4\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", fifo, "-f", "json", "--no-steps")
    writer.join(timeout=10)
    assert code == 0, err
    expected = svdkit.explain.render(svdkit.explain.explain("1 2; 3 4", steps=False), "json")
    assert json.loads(out) == json.loads(expected)


def test_explain_reads_a_named_pipe_with_a_binary_extension(capsys, monkeypatch, tmp_path):
    # was refused ("save it to one first"), leaving the writer blocked; now copied
    # (review of c8dab68, second round, point 4: tests/test_review_cli_hunt3.py)
    fifo = tmp_path / "ff.npy"
    os.mkfifo(fifo)
    data = io.BytesIO()
    np.save(data, np.array([[1.0, 2.0], [3.0, 4.0]]))

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data.getvalue())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", fifo, "-f", "json", "--no-steps")
    writer.join(timeout=10)
    assert code == 0, err
    assert not writer.is_alive()
    expected = svdkit.explain.render(svdkit.explain.explain("1 2; 3 4", steps=False), "json")
    assert json.loads(out) == json.loads(expected)


# --- a .npz whose member is no .npy array ---------------------------------------------


def test_npz_member_that_is_no_array_is_named(tmp_path):
    path = tmp_path / "txtmember.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", "1 2 3")
    with pytest.raises(FileFormatError) as info:
        svdkit.load(path)
    message = str(info.value)
    assert "its member 'a.txt' is not a NumPy array (.npy)" in message
    assert "AttributeError" not in message and "dtype" not in message


# --- svdkit svd --tol 1e400 -----------------------------------------------------------


@pytest.mark.parametrize("option, value", [("--tol", "1e400"), ("--rank-tol", "1e999")])
def test_svd_tolerance_that_overflows_is_named_as_typed(
    capsys, monkeypatch, tmp_path, option, value
):
    np.save(tmp_path / "a.npy", np.eye(4))
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "a.npy", "-k", "1", option, value, "-o", tmp_path / "o.npz"
    )
    line = error_line(code, err)
    assert option in line and f"{value} overflows float64" in line, line
    assert "got inf" not in line
    assert not (tmp_path / "o.npz").exists()


# --- a stale uncertified result -------------------------------------------------------


def test_certified_svd_removes_the_stale_uncertified_result(capsys, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((400, 60)))
    v, _ = np.linalg.qr(rng.standard_normal((120, 60)))
    a = (u / np.arange(1, 61) ** 0.1) @ v.T
    np.save(tmp_path / "hard.npy", a)
    out, sibling = tmp_path / "o.npz", tmp_path / "o.uncertified.npz"
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("svd", tmp_path / "hard.npy", "-k", "10", "--method", "randomized",
                       "--max-iter", "1", "-o", out)
    assert code == 2 and sibling.exists() and not out.exists(), err
    with np.load(sibling) as z:
        assert not bool(z["converged"])
    code, stdout, err = run("svd", tmp_path / "hard.npy", "-k", "10", "-o", out)
    assert code == 0, err
    assert f"→ {out}" in stdout
    assert not sibling.exists()  # the earlier failure no longer applies
    assert f"removed '{sibling}'" in " ".join(err.split())
    with np.load(out) as z:
        assert bool(z["converged"])
        s_ref = np.linalg.svd(a, compute_uv=False)[:10]
        np.testing.assert_allclose(z["s"], s_ref, rtol=1e-10)
        r = a @ z["Vh"].T - z["U"] * z["s"]
        assert np.linalg.norm(r) <= 1e-5 * s_ref[0]
    # a certified run with no sibling says nothing of one
    code, _, err = run("svd", tmp_path / "hard.npy", "-k", "10", "-o", out)
    assert code == 0 and "removed" not in err


# --- matplotlib that cannot start -----------------------------------------------------


def test_explain_figures_with_an_invalid_mplbackend_is_an_error_line(tmp_path):
    env = {**os.environ, "MPLBACKEND": "nonsense", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "svdkit", "explain", "1 2; 3 4", "-f", "json",
         "--figures", str(tmp_path / "figs")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --figures: matplotlib cannot start")
    assert "MPLBACKEND" in done.stderr
    assert done.stdout == "" and not (tmp_path / "figs").exists()


# --- explain --figure-format ----------------------------------------------------------


def test_explain_writes_pdf_figures_again_byte_identical(capsys, monkeypatch, tmp_path):
    figs = tmp_path / "figs"
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "2 1; 1 3", "-f", "json", "--figures", figs,
                       "--figure-format", "pdf,png")
    assert code == 0, err
    names = sorted(p.name for p in figs.iterdir())
    assert names == sorted(f"{n}.{f}" for n in ("svd_geometry", "quadratic_form", "spectrum")
                           for f in ("pdf", "png"))
    first = {p.name: p.read_bytes() for p in figs.iterdir()}
    assert all(first[n].startswith(b"%PDF") for n in first if n.endswith(".pdf"))
    code, _, err = run("explain", "2 1; 1 3", "-f", "json", "--figures", figs,
                       "--figure-format", "pdf,png")
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in figs.iterdir()} == first


def test_explain_figure_format_default_and_refusals(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run("explain", "1 2 3", "-f", "json", "--figures", tmp_path / "a")
    assert code == 0, err
    assert {p.suffix for p in (tmp_path / "a").iterdir()} == {".png", ".svg"}
    for bad in ("jpg", "png,bmp", ""):
        code, _, err = run("explain", "1 2", "-f", "json", "--figures", tmp_path / "b",
                           "--figure-format", bad)
        line = error_line(code, err)
        assert "--figure-format" in line and "png, svg, pdf" in line, line
    assert not (tmp_path / "b").exists()
    code, out, err = run("explain", "1 2", "-f", "json", "--figure-format", "pdf")
    assert "--figure-format applies to --figures" in error_line(code, err) and out == ""
    # a user's spectrum.pdf is refused as the PNG of that name is
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "spectrum.pdf").write_bytes(b"%PDF-1.4 mine")
    code, _, err = run("explain", "1 2", "-f", "json", "--figures", tmp_path / "c",
                       "--figure-format", "pdf")
    assert "is not a figure svdkit wrote" in error_line(code, err)
    assert (tmp_path / "c" / "spectrum.pdf").read_bytes() == b"%PDF-1.4 mine"


# --- the advice for an empty file path ------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["svd", "m.npy", "-k", "1", "-o", ""],
        ["svd", "", "-k", "1", "-o", "o.npz"],
        ["explain", "1 2", "-o", ""],
    ],
)
def test_empty_file_path_advice_names_a_file(capsys, monkeypatch, tmp_path, args):
    monkeypatch.chdir(tmp_path)
    np.save(Path("m.npy"), np.eye(3))
    code, _, err = run_svdkit(capsys, monkeypatch)(*args)
    line = error_line(code, err)
    assert "an empty path; name a file" in line
    assert "'.'" not in line and "folder" not in line  # '.' is a folder these refuse
    assert not Path("o.npz").exists()
