"""Review fixes: corrupt ``.npy`` headers, ``str`` paths, the notes of ``svdkit svd``,
the summary's tolerance, the lapack refusal for a file, spectral rank ties and long
doubles read out of core."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from cli_support import error_line, run_svdkit

from svdkit.errors import (
    FileFormatError,
    MissingFileError,
    NonFiniteError,
    ShapeError,
    SvdkitError,
)
from svdkit.lowrank import truncated_svd


def _npy(path, header: bytes, *, magic: bytes = b"\x93NUMPY\x01\x00", data: bytes = b"\0" * 48):
    """A ``.npy`` file with the header dict ``header`` as written (padded to 128 bytes)."""
    h = header + b" " * (118 - len(header)) + b"\n"
    with open(path, "wb") as f:
        f.write(magic + len(h).to_bytes(2, "little") + h + data)
    return str(path)


# ----------------------------------------------------------------- 1, 2: corrupt headers

CORRUPT = {
    "short": None,  # the header length points past the end of the file
    "extra_key": b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), 'extra': 1}",
    "fortran_not_bool": b"{'descr': '<f8', 'fortran_order': 'yes', 'shape': (3, 2), }",
    "not_a_literal": b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), oops}",
    # NumPy's header filter raises tokenize.TokenError on a dict cut short
    "cut_short": b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2",
    "negative": b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3, 2), }",
    "negative_fortran": b"{'descr': '<f8', 'fortran_order': True, 'shape': (2, -3), }",
    "overflowing": b"{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 8), }",
}


def _corrupt(tmp_path, which: str) -> str:
    path = tmp_path / f"{which}.npy"
    if CORRUPT[which] is None:
        path.write_bytes(b"\x93NUMPY\x01\x00garbage")
        return str(path)
    return _npy(path, CORRUPT[which])


@pytest.mark.parametrize("which", sorted(CORRUPT))
@pytest.mark.parametrize("rank_tol", [None, 0.1])
def test_corrupt_npy_header_is_a_file_format_error(tmp_path, which, rank_tol):
    path = _corrupt(tmp_path, which)
    kwargs = {"rank_tol": rank_tol} if rank_tol else {"k": 1}
    with pytest.raises(FileFormatError, match=r"is not a valid \.npy file: ") as info:
        truncated_svd(path, **kwargs)
    assert f"'{path}'" in str(info.value)
    if which.startswith("negative"):
        assert "cannot be negative" in str(info.value)
        assert "-k" not in str(info.value) and "min(m, n)" not in str(info.value)


@pytest.mark.parametrize("which", sorted(CORRUPT))
@pytest.mark.parametrize("mode", [["-k", "1"], ["--rank-tol", "0.1"]])
def test_cli_corrupt_npy_header_is_one_error_line(tmp_path, capsys, monkeypatch, which, mode):
    path = _corrupt(tmp_path, which)
    out = tmp_path / "out.npz"
    code, _, err = run_svdkit(capsys, monkeypatch)("svd", path, *mode, "-o", out)
    line = error_line(code, err)
    assert f"'{path}' is not a valid .npy file" in line
    assert not out.exists()


def test_truncated_file_is_named_before_the_memory_limit(tmp_path):
    # a header announcing far more rows than the file holds: the truncation is the
    # problem, whatever memory_limit is (it used to say memory_limit cannot hold a row)
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 10000000000), }"
    path = _npy(tmp_path / "t.npy", header)
    with pytest.raises(FileFormatError, match="is truncated"):
        truncated_svd(path, 1)


def test_valid_npy_still_certified(tmp_path):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((60, 20))
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "f.npy", np.asfortranarray(A))
    for name in ("a.npy", "f.npy"):
        r = truncated_svd(str(tmp_path / name), 3, method="krylov", memory_limit=8 * 20 * 16)
        right = np.linalg.norm(A @ r.Vh.conj().T - r.U * r.s, axis=0)
        assert np.all(right <= r.tol * r.s[0] + 1e-12)
        np.testing.assert_allclose(r.s, np.linalg.svd(A, compute_uv=False)[:3], rtol=1e-9)


# ----------------------------------------------------------------- 7: long double overflow


@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("complex_", [False, True])
def test_long_double_npy_beyond_float64_is_an_overflow(tmp_path, fortran, complex_):
    A = np.eye(3, dtype=np.clongdouble if complex_ else np.longdouble)
    A[1, 2] = np.longdouble("1e400")
    path = tmp_path / "big.npy"
    np.save(path, np.asfortranarray(A) if fortran else A)
    for source in (str(path), np.load(path, mmap_mode="r")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(NonFiniteError, match=r"row 2, column 3 .*overflows") as info:
                truncated_svd(source, 1, method="krylov")
        assert "non-finite" not in str(info.value)


def test_long_double_npy_with_inf_is_still_non_finite(tmp_path):
    A = np.eye(3, dtype=np.longdouble)
    A[2, 0] = np.inf
    np.save(tmp_path / "inf.npy", A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError, match=r"non-finite entry at row 3, column 1: inf"):
            truncated_svd(str(tmp_path / "inf.npy"), 1, method="krylov")


# ----------------------------------------------------------------- 3: notes of svdkit svd


def test_cli_prints_and_stores_the_rank_notes(tmp_path, capsys, monkeypatch):
    # σᵢ = 1/i in random bases: σ₂ lies on rank_tol·σ₁ = 0.5, within its residual
    rng = np.random.default_rng(0)
    U0, _ = np.linalg.qr(rng.standard_normal((200, 50)))
    V0, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    A = (U0 / np.arange(1, 51)) @ V0.T
    np.save(tmp_path / "a.npy", A)
    out = tmp_path / "out.npz"
    code, stdout, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "a.npy", "--rank-tol", "0.5", "--method", "krylov", "-o", out
    )
    assert code == 0, err
    assert stdout.startswith("1 triplet by krylov: certified") and "→" in stdout
    notes = [line[len("note: "):] for line in err.splitlines()]
    assert err.splitlines() and all(line.startswith("note: ") for line in err.splitlines())
    assert any("within its certified residual of the threshold" in n for n in notes), err
    with np.load(out, allow_pickle=False) as z:
        assert z["notes"].dtype.kind == "U"
        # the caveats are printed; every note, these too, is in the file
        assert list(z["caveats"]) == notes and set(notes) <= set(z["notes"])
        U, s, Vh, rayleigh = z["U"], z["s"], z["Vh"], z["rayleigh"]
    # what the docs promise from the file: ‖A − UΣVᴴ‖_F² = ‖A‖_F² − 2Σσρ + Σσ²
    fro2 = float(np.sum(A * A))
    from_file = fro2 - 2 * float(s @ rayleigh) + float(s @ s)
    exact = float(np.linalg.norm(A - (U * s) @ Vh) ** 2)
    assert from_file == pytest.approx(exact, rel=1e-12)
    assert exact == pytest.approx(float(np.sum(1.0 / np.arange(2, 51) ** 2)), rel=1e-12)


def test_cli_energy_note_reaches_stderr_handover_the_file(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((200, 50))
    np.save(tmp_path / "g.npy", A)
    out = tmp_path / "out.npz"
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "g.npy", "--rank-tol", "1e-7", "--rank-norm", "energy", "-o", out
    )
    assert code == 0, err
    with np.load(out, allow_pickle=False) as z:
        stored, caveats = list(z["notes"]), list(z["caveats"])
        U, s, Vh = z["U"], z["s"], z["Vh"]
    # (the notes on how the result was computed are kept in the file only)
    assert err.splitlines() == [f"note: {n}" for n in caveats]
    assert any("may differ from the exact one" in n for n in caveats)
    assert len(stored) > len(caveats) and set(caveats) <= set(stored)
    right = np.linalg.norm(A @ Vh.T - U * s, axis=0)
    assert np.all(right <= 1e-6 * s[0])


def test_cli_without_notes_writes_an_empty_str_array(tmp_path, capsys, monkeypatch):
    import scipy.sparse as sp

    S = sp.random(300, 200, density=0.05, format="csr", random_state=1)
    sp.save_npz(tmp_path / "s.npz", S)
    out = tmp_path / "out.npz"
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "s.npz", "-k", "2", "--method", "randomized", "-o", out
    )
    assert code == 0, err
    assert err == ""
    with np.load(out, allow_pickle=False) as z:
        for key in ("notes", "caveats"):
            assert z[key].dtype.kind == "U" and z[key].shape == (0,)


# ----------------------------------------------------------------- 4: summary's tol


@pytest.mark.parametrize("tol", [1.4e-3, 1.5e-6, 2.5e-4, 1e-6, 0.0123456])
def test_summary_shows_tol_faithfully(tol):
    A = np.diag([3.0, 2.0, 1.0, 0.5])
    r = truncated_svd(A, 2, tol=tol, method="lapack")
    text = r.summary()
    shown = text.split("(tol ")[1].split(")")[0]
    assert float(shown) == tol, text


def test_cli_summary_shows_tol_faithfully(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "a.npy", np.diag([3.0, 2.0, 1.0]))
    code, stdout, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "a.npy", "-k", "2", "--tol", "1.4e-3", "-o", tmp_path / "o.npz"
    )
    assert code == 0, err
    assert "(tol 0.0014)" in stdout


# ----------------------------------------------------------------- 6: spectral ties

METHODS = ["lapack", "gram", "krylov", "randomized", "dash"]


@pytest.mark.parametrize("method", METHODS)
def test_spectral_tie_at_the_threshold_counts_as_met(method):
    # σ₂ = 0.5 σ₁ exactly: k = 1 meets σ₂ ≤ 0.5 σ₁ (as the energy rule counts ties)
    A = np.diag([1.0, 0.5, 0.25])
    r = truncated_svd(A, rank_tol=0.5, method=method)
    assert r.k == 1, (method, r.s, r.notes)
    assert r.s[0] == pytest.approx(1.0, rel=1e-14)
    assert np.linalg.norm(A @ r.Vh[0] - r.s[0] * r.U[:, 0]) <= r.tol * r.s[0]
    # any note on the decision is the undecided one, never a contradiction of k = 1
    for note in r.notes:
        if "rank_tol" in note:
            assert "rank is 1 only to within" in note and "may be larger" in note


@pytest.mark.parametrize("method", METHODS)
def test_spectral_just_above_the_threshold_is_not_a_tie(method):
    # σ₂ = 0.5 (1 + 1e-6): far beyond rounding, the rank is 2 by every method
    A = np.diag([1.0, 0.5 * (1 + 1e-6), 0.25])
    r = truncated_svd(A, rank_tol=0.5, tol=1e-10, method=method)
    assert r.k == 2, (method, r.s)
    np.testing.assert_allclose(r.s, [1.0, 0.5 * (1 + 1e-6)], rtol=1e-12)


# ----------------------------------------------------------------- 5: lapack on a file


def test_lapack_on_a_file_names_the_memory_limit(tmp_path):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((400, 100))
    path = str(tmp_path / "a.npy")
    np.save(path, A)
    need = 400 * 100 * 16
    with pytest.raises(ShapeError) as info:
        truncated_svd(path, 3, method="lapack", memory_limit=need - 1)
    text = str(info.value)
    assert f"{need:,} bytes" in text and f"memory_limit={need - 1}" in text
    assert f"raise memory_limit to at least {need} bytes" in text
    assert "134,217,728" not in text and "method='krylov'" in text
    # the bytes it names are enough: certified by LAPACK
    r = truncated_svd(path, 3, method="lapack", memory_limit=need)
    assert r.method == "lapack"
    np.testing.assert_allclose(r.s, np.linalg.svd(A, compute_uv=False)[:3], rtol=1e-12)
    assert np.all(np.linalg.norm(A @ r.Vh.T - r.U * r.s, axis=0) <= r.tol * r.s[0])


def test_lapack_on_a_complex_file_counts_complex_bytes(tmp_path):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((50, 20)) + 1j * rng.standard_normal((50, 20))
    path = str(tmp_path / "c.npy")
    np.save(path, A)
    with pytest.raises(ShapeError, match=f"at least {50 * 20 * 32} bytes"):
        truncated_svd(path, 2, method="lapack", memory_limit=50 * 20 * 16)
    r = truncated_svd(path, 2, method="lapack", memory_limit=50 * 20 * 32)
    assert np.all(np.linalg.norm(A @ r.Vh.conj().T - r.U * r.s, axis=0) <= r.tol * r.s[0])


def test_cli_lapack_on_a_file_names_the_option(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "a.npy", np.random.default_rng(6).standard_normal((2000, 500)))
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "a.npy", "-k", "2", "--method", "lapack", "--memory-limit", "10M",
        "-o", tmp_path / "o.npz",
    )
    line = error_line(code, err)
    assert "16,000,000 bytes" in line and "raise --memory-limit to at least" in line
    assert "(15.3 MiB)" in line and "--method krylov" in line and "memory_limit" not in line
    code, out, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "a.npy", "-k", "2", "--method", "lapack", "--memory-limit", "15.3M",
        "-o", tmp_path / "o.npz",
    )
    assert code == 0, err
    assert out.startswith("2 triplets by lapack: certified")


# ----------------------------------------------------------------- 8: str paths


@pytest.mark.parametrize("name", ["folder", "folder/", " folder/\n", "folder.npy", "folder.npy/"])
def test_str_naming_a_folder_is_not_matrix_text(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name.strip().rstrip("/")).mkdir()
    with pytest.raises(FileFormatError, match="is a directory, not a") as info:
        truncated_svd(name, 1)
    assert "unknown name" not in str(info.value)


def test_str_ending_in_a_separator_names_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileFormatError, match="'nowhere/' names a folder, not a matrix file"):
        truncated_svd("nowhere/", 1)


def test_matrix_text_keeps_priority_over_a_folder_of_its_name(tmp_path, monkeypatch):
    # "2" is the 1×1 matrix [2] even where a folder named "2" exists
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2").mkdir()
    r = truncated_svd("2", 1)
    assert r.s.tolist() == [2.0] and abs(abs(r.U[0, 0] * r.Vh[0, 0]) - 1) < 1e-15


def test_missing_npy_str_is_a_missing_file_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingFileError) as info:
        truncated_svd("nofile.npy", 1)
    assert info.value.filename == "nofile.npy" and isinstance(info.value, FileNotFoundError)
    assert str(info.value) == "no such file: 'nofile.npy'"  # as docs/inputs.md says, no [Errno 2]


@pytest.mark.parametrize("ext", ["npy", "npz"])
def test_text_array_in_a_binary_file_gets_file_advice(tmp_path, ext):
    path = tmp_path / f"t.{ext}"
    text = np.array([["1", "2"], ["3", "4"]])
    np.save(path, text) if ext == "npy" else np.savez(path, a=text)
    with pytest.raises(SvdkitError) as info:
        truncated_svd(str(path), 1)
    message = str(info.value)
    assert f"'{path}'" in message and "whole matrix as one string" not in message
    assert "not numeric" in message or "holds text (dtype <U1" in message
