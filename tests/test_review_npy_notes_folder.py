"""Review fixes: a ``.npy`` header cut short, a header announcing more data than the
file holds (``svdkit.load``), the notes ``svdkit svd`` prints (only its caveats), and
folders named as text at every entry point."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

import svdkit
from svdkit.errors import FileFormatError, ParseError
from svdkit.inputs.files import folder_error, names_folder, read_npy_header, stored_dtype
from svdkit.lowrank import truncated_svd


def _npy(path, header: bytes, data: bytes = b"\0" * 64) -> str:
    """A version 1.0 ``.npy`` file with the header dict ``header`` as written."""
    h = header + b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data)
    return str(path)


CUT_SHORT = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4"


# ------------------------------------------------------- 1: a header dict cut short


@pytest.mark.parametrize(
    "header",
    [
        CUT_SHORT,
        b"{'descr': '<f8', 'fortran_order': False, 'shape': [",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': ('",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), 'x': \"\"\"",
    ],
)
def test_cut_short_header_is_a_file_format_error_everywhere(tmp_path, header):
    path = _npy(tmp_path / "syn.npy", header)
    expected = f"'{path}' is not a valid .npy file: "
    for call in (
        lambda: truncated_svd(path, k=1),
        lambda: truncated_svd(path, rank_tol=0.1),
        lambda: svdkit.load(path),
        lambda: svdkit.as_matrix(path),
        lambda: svdkit.svd(path),
        lambda: read_npy_header(path),
    ):
        with pytest.raises(FileFormatError) as info:
            call()
        assert str(info.value).startswith(expected), str(info.value)
    assert stored_dtype(path) is None  # (the header is load's business: no raise here)


def test_cut_short_header_names_what_is_wrong(tmp_path):
    path = _npy(tmp_path / "syn.npy", CUT_SHORT)
    with pytest.raises(FileFormatError, match=r"its header dict is cut short \(EOF"):
        svdkit.load(path)


@pytest.mark.parametrize("command", [["svd", "-k", "1", "-o", "OUT"], ["explain"]])
def test_cli_cut_short_header_is_one_error_line(tmp_path, capsys, monkeypatch, command):
    path = _npy(tmp_path / "syn.npy", CUT_SHORT)
    out = tmp_path / "out.npz"
    args = [command[0], path, *(str(out) if a == "OUT" else a for a in command[1:])]
    code, _, err = run_svdkit(capsys, monkeypatch)(*args)
    assert f"'{path}' is not a valid .npy file" in error_line(code, err)
    assert not out.exists()


# ------------------------------------------------------- 2: load reads the header first


def test_load_of_a_header_announcing_too_much_is_truncated_before_allocating(tmp_path):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    path = _npy(tmp_path / "big.npy", header)
    for call in (lambda: svdkit.load(path), lambda: svdkit.as_matrix(path)):
        with pytest.raises(FileFormatError) as info:
            call()
        text = str(info.value)
        assert text.startswith(f"'{path}' is truncated: its header announces a (100000, 100000)")
        assert "80,000,000,000 bytes of data" in text and "the file holds 64" in text


def test_load_of_a_file_a_few_bytes_short_is_truncated(tmp_path):
    A = np.arange(6.0).reshape(3, 2)
    path = tmp_path / "t.npy"
    np.save(path, A)
    whole = path.read_bytes()
    path.write_bytes(whole[:-8])  # one entry short
    _, _, _, offset = read_npy_header(path)
    with pytest.raises(FileFormatError, match=r"is truncated: .* \(48 bytes of data\) .* holds 40"):
        svdkit.load(path)
    assert len(whole) - offset == 48


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (b"(-2, 4)", "cannot be negative"),
        (b"(4611686018427387904, 8)", "more than any array can hold"),
        (b"(4294967296, 4294967296)", "more than any array can hold"),
    ],
)
def test_load_and_truncated_svd_refuse_bad_shapes_alike(tmp_path, shape, message):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + b", }"
    path = _npy(tmp_path / "bad.npy", header)
    messages = []
    for call in (lambda: svdkit.load(path), lambda: truncated_svd(path, k=1)):
        with pytest.raises(FileFormatError, match=message) as info:
            call()
        messages.append(str(info.value))
        assert "elements" not in str(info.value)
    assert messages[0] == messages[1]  # one header checker, one message


def test_cli_explain_of_a_header_announcing_too_much(tmp_path, capsys, monkeypatch):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
    path = _npy(tmp_path / "big.npy", header)
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", path)
    assert f"'{path}' is truncated" in error_line(code, err)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(3, dtype=np.float32),
        np.array(2.5),
        (np.arange(6) + 1j).reshape(2, 3),
        np.arange(6, dtype=np.int16).reshape(3, 2),
    ],
)
def test_valid_npy_files_still_load_exactly(tmp_path, array):
    path = tmp_path / "a.npy"
    np.save(path, array)
    shape, fortran, dtype, offset = read_npy_header(path)
    assert shape == array.shape and dtype == array.dtype
    assert fortran == (array.flags.f_contiguous and not array.flags.c_contiguous)
    assert os.path.getsize(path) - offset == array.nbytes
    got = svdkit.load(path)
    expected = array.reshape(-1, 1) if array.ndim == 1 else array.reshape(array.shape or (1, 1))
    np.testing.assert_array_equal(got, expected)


def test_object_npy_is_still_refused_without_unpickling(tmp_path):
    path = tmp_path / "o.npy"
    np.save(path, np.array([[1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="Python objects; svdkit never unpickles"):
        svdkit.load(path)


# ------------------------------------------------------- 3: the notes svdkit svd prints


def _gaussian(tmp_path) -> tuple[np.ndarray, str]:
    A = np.random.default_rng(0).standard_normal((300, 200))
    np.save(tmp_path / "a.npy", A)
    return A, str(tmp_path / "a.npy")


@pytest.mark.parametrize(
    "options",
    [
        ["-k", "5"],
        ["-k", "5", "--method", "lapack"],
        ["-k", "5", "--method", "gram"],
        ["--rank-tol", "0.5"],
    ],
)
def test_ordinary_runs_print_no_note(tmp_path, capsys, monkeypatch, options):
    A, path = _gaussian(tmp_path)
    out = tmp_path / "out.npz"
    code, stdout, err = run_svdkit(capsys, monkeypatch)("svd", path, *options, "-o", out)
    assert code == 0, err
    assert err == ""  # no progress bar either: standard error is no terminal
    assert "certified" in stdout
    with np.load(out, allow_pickle=False) as z:
        notes, caveats = list(z["notes"]), list(z["caveats"])
        U, s, Vh = z["U"], z["s"], z["Vh"]
    assert notes and caveats == []  # every note kept, none of them a caveat
    assert z_kind_is_str(out)
    right = np.linalg.norm(A @ Vh.T - U * s, axis=0)
    assert np.all(right <= 1e-6 * s[0])
    np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False)[: s.size], rtol=1e-9)


def z_kind_is_str(out) -> bool:
    with np.load(out, allow_pickle=False) as z:
        return z["notes"].dtype.kind == "U" and z["caveats"].dtype.kind == "U"


def _uncertain_rank_matrix(tmp_path) -> tuple[np.ndarray, str]:
    # σᵢ = 1/i in random bases: σ₂ lies on rank_tol·σ₁ = 0.5, within its residual
    rng = np.random.default_rng(0)
    U0, _ = np.linalg.qr(rng.standard_normal((200, 50)))
    V0, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    A = (U0 / np.arange(1, 51)) @ V0.T
    np.save(tmp_path / "u.npy", A)
    return A, str(tmp_path / "u.npy")


def test_uncertain_rank_is_the_one_note_printed(tmp_path, capsys, monkeypatch):
    _, path = _uncertain_rank_matrix(tmp_path)
    out = tmp_path / "out.npz"
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", path, "--rank-tol", "0.5", "--method", "krylov", "-o", out
    )
    assert code == 0, err
    printed = [line[len("note: "):] for line in err.splitlines()]
    assert len(printed) == 1 and all(line.startswith("note: ") for line in err.splitlines())
    assert "within its certified residual of the threshold" in printed[0]
    with np.load(out, allow_pickle=False) as z:
        assert list(z["caveats"]) == printed
        notes = list(z["notes"])
    assert printed[0] in notes


def test_caveats_are_the_qualifying_notes_in_python(tmp_path):
    A, _ = _uncertain_rank_matrix(tmp_path)
    r = truncated_svd(A, rank_tol=0.5, method="krylov")
    assert len(r.caveats) == 1 and "within its certified residual" in r.caveats[0]
    assert set(r.caveats) <= set(r.notes) and len(r.notes) > len(r.caveats)
    # the rank it qualifies: 1, σ₂ = 0.5 σ₁ (a tie counts as met), certified to tol
    assert r.k == 1 and abs(r.s[0] - 1) <= r.tol
    assert np.linalg.norm(A @ r.Vh[0] - r.s[0] * r.U[:, 0]) <= r.tol * r.s[0]
    # an ordinary run: notes, no caveat; a truncation keeps them
    plain = truncated_svd(A, 3)
    assert plain.notes and plain.caveats == ()
    assert r.truncate(1).caveats == r.caveats


def test_tightened_tol_is_a_caveat(tmp_path):
    A = np.diag(0.5 ** np.arange(30))
    r = truncated_svd(A, rank_tol=1e-6)  # tol 1e-6 > rank_tol / 10
    assert r.tol == pytest.approx(1e-7)
    assert any("tightened to 1e-07" in c for c in r.caveats)
    assert r.k == 20  # σ₂₁ = 2^-20 ≈ 9.5e-7 ≤ 1e-6, σ₂₀ = 1.9e-6 above it
    np.testing.assert_allclose(r.s, 0.5 ** np.arange(20), rtol=1e-12)


def test_energy_caveat_printed_handover_kept_in_the_file(tmp_path, capsys, monkeypatch):
    _, path = _gaussian(tmp_path)
    out = tmp_path / "out.npz"
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", path, "--rank-tol", "1e-7", "--rank-norm", "energy", "-o", out
    )
    assert code == 0, err
    with np.load(out, allow_pickle=False) as z:
        notes, caveats, method = list(z["notes"]), list(z["caveats"]), str(z["method"])
    assert err.splitlines() == [f"note: {c}" for c in caveats]
    assert len(caveats) == 1 and "may differ from the exact one" in caveats[0]
    assert method == "lapack" and any(n.startswith("rank mode: ") for n in notes)
    assert not any("Krylov step" in c for c in caveats)


# ------------------------------------------------------- 4: folders, at every entry point


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.mark.parametrize("text", ["data/", "data", " data/\n"])
@pytest.mark.parametrize(
    "call",
    [svdkit.as_matrix, svdkit.svd, svdkit.rank, lambda a: truncated_svd(a, 1)],
    ids=["as_matrix", "svd", "rank", "truncated_svd"],
)
def test_a_folder_is_named_as_one_everywhere(in_tmp, text, call):
    with pytest.raises(FileFormatError) as info:
        call(text)
    assert f"'{text.strip()}' is a directory, not a matrix file" in str(info.value)
    assert "unknown name" not in str(info.value)


def test_a_missing_folder_ending_in_a_separator(in_tmp):
    for call in (svdkit.as_matrix, lambda a: truncated_svd(a, 1)):
        with pytest.raises(FileFormatError, match="'out/run-2/' names a folder, not a matrix"):
            call("out/run-2/")


@pytest.mark.parametrize("text", ["[1 2; 3 4]/", "[1 2; 3 4] /", "[1, 2]/", "(1+2)/"])
def test_matrix_text_with_a_stray_slash_keeps_its_parse_error(in_tmp, text):
    assert names_folder(text) is None
    for call in (svdkit.as_matrix, svdkit.svd, lambda a: truncated_svd(a, 1)):
        with pytest.raises(ParseError) as info:
            call(text)
        assert "folder" not in str(info.value)
    with pytest.raises(ParseError, match=r"unexpected '/' after the closing '\]' at offset 10"):
        svdkit.as_matrix("[1 2; 3 4]/")


def test_names_folder_rule(in_tmp):
    assert names_folder("data") == "data"  # an existing directory
    assert names_folder("results/\n") == "results/"
    assert names_folder("out/run-2/") == "out/run-2/"
    assert names_folder("a b/") is None and names_folder("1;2/") is None
    assert names_folder("missing") is None  # no separator, no directory
    assert names_folder("1 2\n3 4/") is None


def test_matrix_text_keeps_priority_over_a_folder(in_tmp):
    (in_tmp / "2").mkdir()
    np.testing.assert_array_equal(svdkit.as_matrix("2"), [[2.0]])
    assert svdkit.rank("2") == 1
    assert svdkit.svd("1 2; 3 4").s == pytest.approx(np.linalg.svd([[1, 2], [3, 4]])[1])


@pytest.mark.parametrize("name", ["data", "data/", "folder.npy"])
def test_cli_svd_of_a_folder(in_tmp, capsys, monkeypatch, name):
    (in_tmp / "folder.npy").mkdir()
    code, _, err = run_svdkit(capsys, monkeypatch)("svd", name, "-o", "o.npz", "-k", "1")
    line = error_line(code, err)
    what = "a .npy file" if name.endswith(".npy") else "a matrix file"
    assert f"'{name.rstrip('/')}' is a directory, not {what}" in line
    assert "extension" not in line and not (in_tmp / "o.npz").exists()


def test_folder_error_message_matches_load(in_tmp):
    with pytest.raises(FileFormatError) as info:
        svdkit.load("data")
    assert str(info.value) == str(folder_error("data"))
