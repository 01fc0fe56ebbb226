"""Review fixes: matrix text with a stray slash after a number or a name keeps its
parse error (only a word that is no matrix text names a folder, and its error keeps
the argument's name and shortens a long word); a ``.npz`` member whose header
announces more data than the archive holds is refused before any allocation."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

import svdkit
from svdkit.errors import FileFormatError, ParseError
from svdkit.inputs.files import names_folder
from svdkit.lowrank import truncated_svd

# ------------------------------------------------------- a stray slash after a number


@pytest.fixture
def in_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text", ["1/", "-1.5/", "1e3/", "pi/", "1//", "2.5e-3/", "1/2/"])
def test_a_number_with_a_stray_slash_keeps_its_parse_error(in_empty, text):
    assert names_folder(text) is None
    for call in (svdkit.as_matrix, svdkit.svd, lambda a: truncated_svd(a, 1)):
        with pytest.raises(ParseError) as info:
            call(text)
        assert "folder" not in str(info.value)
        assert not isinstance(info.value, FileFormatError)
    with pytest.raises(ParseError, match=r"^A: row 1, column 1: missing a number after '/'"):
        svdkit.as_matrix("1/")


def test_cli_explain_of_a_number_with_a_stray_slash(in_empty, capsys, monkeypatch):
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", "1/")
    line = error_line(code, err)
    assert "folder" not in line and "missing a number after '/'" in line


def test_a_folder_word_keeps_the_argument_name(in_empty):
    with pytest.raises(FileFormatError) as info:
        svdkit.lstsq("1 0; 0 1", "x/")
    assert str(info.value).startswith("b: 'x/' names a folder, not a matrix file")
    with pytest.raises(FileFormatError, match=r"^A: 'out/run-2/' names a folder"):
        svdkit.as_matrix("out/run-2/")
    (in_empty / "data").mkdir()
    with pytest.raises(FileFormatError, match=r"^v: 'data' is a directory, not a matrix file"):
        svdkit.as_vector("data", name="v")


def test_the_folder_error_is_a_parse_error_too(in_empty):
    # callers that caught ParseError for text that does not parse still catch it
    with pytest.raises(ParseError) as info:
        svdkit.as_matrix("results/")
    from svdkit.inputs.files import FolderTextError

    assert isinstance(info.value, FolderTextError)
    assert isinstance(info.value, FileFormatError)


def test_a_long_folder_word_is_shortened(in_empty):
    word = "d" * 5000 + "/"
    with pytest.raises(FileFormatError) as info:
        svdkit.as_matrix(word)
    message = str(info.value)
    assert len(message) < 300 and "…" in message and "names a folder" in message


def test_names_folder_after_the_fix(in_empty):
    assert names_folder("x/") == "x/" and names_folder("./out/") == "./out/"
    assert names_folder("../data/") == "../data/" and names_folder("runs/2024/") == "runs/2024/"
    assert names_folder("a b/") is None and names_folder("[1 2]/") is None
    (in_empty / "1").mkdir()
    assert names_folder("1/") == "1/"  # an existing directory: a folder all the same
    np.testing.assert_array_equal(svdkit.as_matrix("1"), [[1.0]])  # matrix text first


# ------------------------------------------------------- .npz: a huge header


def _member(shape, data: bytes, descr: str = "<f8") -> bytes:
    b = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(b, header)
    return b.getvalue() + data


def _npz(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> str:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return str(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_header_announcing_a_huge_array_is_refused_before_allocating(
    tmp_path, monkeypatch, compression
):
    path = _npz(tmp_path / "huge.npz", {"a.npy": _member((20000, 30000), b"\0" * 48)}, compression)

    def no_read(*args, **kwargs):
        raise AssertionError("read_array called on a truncated member")

    monkeypatch.setattr(np.lib.format, "read_array", no_read)
    with pytest.raises(FileFormatError) as info:
        svdkit.load(path)
    message = str(info.value)
    assert "is truncated" in message and "'a.npy'" in message
    assert "4,800,000,000 bytes" in message and "48" in message
    assert "MemoryError" not in message


def test_npz_sparse_member_announcing_a_huge_array_is_refused(tmp_path):
    import scipy.sparse

    good = tmp_path / "good.npz"
    scipy.sparse.save_npz(good, scipy.sparse.csr_matrix(np.eye(3)), compressed=False)
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["data.npy"] = _member((10**9,), b"\0" * 24)
    path = _npz(tmp_path / "bad.npz", members)
    with pytest.raises(FileFormatError, match=r"truncated: its member 'data.npy' announces"):
        svdkit.load(path, sparse=True)


def test_npz_member_with_a_corrupt_header_names_it(tmp_path):
    bad = b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'"
    path = _npz(tmp_path / "c.npz", {"a.npy": bad})
    with pytest.raises(FileFormatError, match=r"'a.npy' is not a valid .npy file"):
        svdkit.load(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_valid_npz_files_still_load(tmp_path, compressed):
    import scipy.sparse

    a = np.arange(12.0).reshape(3, 4) / 7
    dense = tmp_path / "d.npz"
    (np.savez_compressed if compressed else np.savez)(dense, a=a)
    np.testing.assert_array_equal(svdkit.load(dense), a)
    f = np.asfortranarray(a.astype(np.float32))
    (np.savez_compressed if compressed else np.savez)(tmp_path / "f.npz", f)
    np.testing.assert_array_equal(svdkit.load(tmp_path / "f.npz"), f.astype(np.float64))
    s = scipy.sparse.random(5, 4, density=0.5, random_state=0, format="csr")
    scipy.sparse.save_npz(tmp_path / "s.npz", s, compressed=compressed)
    back = svdkit.load(tmp_path / "s.npz", sparse=True)
    assert abs(back - s).max() == 0.0
    empty_member = tmp_path / "z.npz"
    np.savez(empty_member, a=np.zeros((0,)))
    with pytest.raises(svdkit.errors.EmptyInputError):
        svdkit.load(empty_member)
