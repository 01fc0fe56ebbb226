"""Review of c8dab68, second round (cli): ``svdkit svd``'s record of its input, taken
once when the file is read (1), the shapes of an earlier result read from its headers
(2), and the line naming the figures ``--figure-format`` removes (3)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
from cli_support import error_line, run_svdkit

import svdkit.lowrank
from svdkit.cli import svd_command


def _matrix(path: Path, seed: int = 0) -> np.ndarray:
    """A 300×200 sparse .mtx (its dense values returned), which one krylov iteration
    does not certify."""
    a = scipy.sparse.random(300, 200, density=0.2, random_state=seed, format="csr")
    scipy.io.mmwrite(path, a)
    return a.toarray()


def _args(matrix: Path, out: Path, *more: str) -> tuple:
    return ("svd", matrix, "-k", "5", "--method", "krylov", "-o", out, *more)


def _during_the_run(monkeypatch, action) -> None:
    """``action()`` runs while ``truncated_svd`` computes (after the input was read)."""
    real = svdkit.lowrank.truncated_svd

    def meanwhile(*args, **kwargs):
        action()
        return real(*args, **kwargs)

    monkeypatch.setattr(svdkit.lowrank, "truncated_svd", meanwhile)


def _replace(path: Path, seed: int) -> None:
    """Replace ``path`` atomically by another matrix, with another modification time."""
    fresh = path.with_name("fresh.mtx")
    _matrix(fresh, seed=seed)
    info = path.stat()
    os.utime(fresh, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    os.replace(fresh, path)


def _check_triplets(sibling: Path, a: np.ndarray) -> None:
    """The saved triplets are of ``a``: their residuals, recomputed, are the stored ones."""
    with np.load(sibling, allow_pickle=False) as z:
        u, s, vh = z["U"], z["s"], z["Vh"]
        right = np.linalg.norm(a @ vh.T - u * s, axis=0)
        np.testing.assert_allclose(right, z["residuals_right"], rtol=1e-6, atol=1e-10)


# --- 1. the input's identity: taken once, when it is read ------------------------------


def test_an_uncertified_result_is_saved_when_the_input_vanishes_meanwhile(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.mtx", tmp_path / "out.npz"
    a = _matrix(matrix)
    size, mtime = matrix.stat().st_size, matrix.stat().st_mtime_ns
    _during_the_run(monkeypatch, matrix.unlink)
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    line = error_line(code, err[err.find("error: "):])
    sibling = tmp_path / "out.uncertified.npz"
    assert f"saved to '{sibling}'" in line and "could not be saved" not in line
    assert not out.exists()
    with np.load(sibling, allow_pickle=False) as z:  # the version that was read
        assert not bool(z["converged"])
        assert str(z["input"]) == str(matrix.resolve())
        assert (int(z["input_size"]), int(z["input_mtime_ns"])) == (size, mtime)
    _check_triplets(sibling, a)


def test_a_certified_run_whose_input_vanishes_meanwhile_succeeds(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.mtx", tmp_path / "out.npz"
    a = _matrix(matrix)
    sibling = tmp_path / "out.uncertified.npz"
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))  # input kept: saved
    assert code == 2 and sibling.exists(), err
    _during_the_run(monkeypatch, matrix.unlink)
    code, stdout, err = run(*_args(matrix, out))
    assert code == 0, err
    assert "error" not in err and str(out) in stdout
    # the same version of the input as the failed run's: its triplets no longer apply
    assert not sibling.exists()
    assert f"removed '{sibling}'" in " ".join(err.split())
    with np.load(out, allow_pickle=False) as z:
        assert bool(z["converged"])
        np.testing.assert_allclose(z["s"], np.linalg.svd(a, compute_uv=False)[:5],
                                   rtol=1e-8)


def test_an_input_replaced_meanwhile_records_the_version_that_was_read(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.mtx", tmp_path / "out.npz"
    a = _matrix(matrix)
    size, mtime = matrix.stat().st_size, matrix.stat().st_mtime_ns
    sibling = tmp_path / "out.uncertified.npz"
    _during_the_run(monkeypatch, lambda: _replace(matrix, seed=1))
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    assert code == 2 and sibling.exists(), err
    with np.load(sibling, allow_pickle=False) as z:  # the old version's, not the new
        assert (int(z["input_size"]), int(z["input_mtime_ns"])) == (size, mtime)
    _check_triplets(sibling, a)
    before = sibling.read_bytes()
    monkeypatch.undo()  # (the real truncated_svd again)
    run = run_svdkit(capsys, monkeypatch)
    code, _, err = run(*_args(matrix, out))  # the new version, certified
    assert code == 0, err
    assert sibling.read_bytes() == before  # the old matrix's triplets are not lost
    assert "uncertified result of an earlier version of" in " ".join(err.split())


def test_a_npy_input_replaced_during_the_run_is_not_taken_for_the_same_input(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.npy", tmp_path / "out.npz"
    a = _matrix(tmp_path / "a.mtx")
    np.save(matrix, a)
    sibling = tmp_path / "out.uncertified.npz"
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    assert code == 2 and sibling.exists(), err
    before = sibling.read_bytes()

    def replaced() -> None:  # the same bytes, a new file: nobody can tell
        info = matrix.stat()
        os.utime(matrix, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))

    real = svdkit.lowrank.truncated_svd

    def then_replaced(*args, **kwargs):
        result = real(*args, **kwargs)
        replaced()
        return result

    monkeypatch.setattr(svdkit.lowrank, "truncated_svd", then_replaced)
    code, _, err = run(*_args(matrix, out))
    assert code == 0, err
    assert sibling.read_bytes() == before
    flat = " ".join(err.split())
    assert f"'{sibling}' is left as it is" in flat and "cannot be told" in flat


def test_an_unreadable_input_record_never_fails_a_certified_run(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.npy", tmp_path / "out.npz"
    np.save(matrix, _matrix(tmp_path / "a.mtx"))
    sibling = tmp_path / "out.uncertified.npz"
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    assert code == 2 and sibling.exists(), err
    real = svdkit.lowrank.truncated_svd

    def then_removed(*args, **kwargs):  # (a .npy is read during the run: then removed)
        result = real(*args, **kwargs)
        matrix.unlink()
        return result

    monkeypatch.setattr(svdkit.lowrank, "truncated_svd", then_removed)
    code, stdout, err = run(*_args(matrix, out))
    assert code == 0, err
    assert "error" not in err and str(out) in stdout
    assert sibling.exists()
    assert "cannot be told" in " ".join(err.split())


def test_input_identity_of_a_missing_file_is_none(tmp_path):
    assert svd_command._input_identity(tmp_path / "gone.mtx") is None


# --- 2. an earlier result's shapes come from its .npy headers --------------------------


def test_an_earlier_results_arrays_are_not_loaded_to_compare_shapes(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.mtx", tmp_path / "out.npz"
    _matrix(matrix)
    sibling = tmp_path / "out.uncertified.npz"
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    assert code == 2 and sibling.exists(), err
    read: list[tuple[str, str]] = []
    real_getitem = np.lib.npyio.NpzFile.__getitem__

    def spying(self, key):
        read.append((Path(self.fid.name).name if self.fid else "?", key))
        return real_getitem(self, key)

    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", spying)
    code, _, err = run(*_args(matrix, out))
    assert code == 0, err
    assert not sibling.exists()  # the same input and shape: removed
    of_sibling = {key for name, key in read if name == sibling.name}
    assert "converged" in of_sibling  # (the spy sees the reads)
    assert not of_sibling & {"U", "Vh", "s", "residuals_right", "residuals_left"}, read


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_shape_reads_the_header_alone(tmp_path, version):
    import io
    import zipfile

    path = tmp_path / "r.npz"
    with zipfile.ZipFile(path, "w") as archive:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ones((7, 3)), version=version)
        # the data cut off after the header: only the header may be read
        header_end = len(buffer.getvalue()) - 7 * 3 * 8
        archive.writestr("U.npy", buffer.getvalue()[:header_end])
    with zipfile.ZipFile(path) as archive:
        assert svd_command._npy_shape(archive, "U") == (7, 3)


def test_a_shape_mismatch_read_from_the_headers_keeps_the_file(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    matrix, out = tmp_path / "in.mtx", tmp_path / "out.npz"
    _matrix(matrix)
    sibling = tmp_path / "out.uncertified.npz"
    code, _, err = run(*_args(matrix, out, "--max-iter", "1"))
    assert code == 2, err
    with np.load(sibling, allow_pickle=False) as z:  # the same record, another shape
        fields = {key: z[key] for key in z.files}
    fields["U"] = fields["U"][:250]
    np.savez(sibling, **fields)
    before = sibling.read_bytes()
    code, _, err = run(*_args(matrix, out))
    assert code == 0, err
    assert sibling.read_bytes() == before
    assert "uncertified result of an earlier version of" in " ".join(err.split())


# --- 3. the line naming the figures removed for their format ---------------------------


def test_figure_format_names_the_other_formats_not_an_earlier_matrix(
    capsys, monkeypatch, tmp_path
):
    run = run_svdkit(capsys, monkeypatch)
    figs = tmp_path / "figs"
    code, _, err = run("explain", "1 2; 3 4", "-f", "json", "--figures", figs)
    assert code == 0, err
    code, _, err = run("explain", "1 2; 3 4", "-f", "json", "--figures", figs,
                       "--figure-format", "pdf")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "earlier matrix" not in flat
    assert "removed 4 figure files in other formats (png, svg) from" in flat
    assert sorted(p.name for p in figs.iterdir()) == ["spectrum.pdf", "svd_geometry.pdf"]
    code, _, err = run("explain", "1 2; 3 4", "-f", "json", "--figures", figs,
                       "--figure-format", "svg", "--lang", "fr")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "2 fichiers de figures dans d'autres formats (pdf) retirés de" in flat
    assert "matrice précédente" not in flat


def test_figure_format_still_names_an_earlier_matrixs_figures(capsys, monkeypatch, tmp_path):
    run = run_svdkit(capsys, monkeypatch)
    figs = tmp_path / "figs"
    code, _, err = run("explain", "2 1; 1 3", "-f", "json", "--figures", figs,
                       "--figure-format", "png")
    assert code == 0, err
    assert (figs / "quadratic_form.png").exists()
    code, _, err = run("explain", "1 2 3; 4 5 6; 7 8 10; 1 1 1", "-f", "json",
                       "--figures", figs, "--figure-format", "png")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "figure files of an earlier matrix" in flat and "quadratic_form.png" in flat
    assert "other formats" not in flat


def test_figure_format_help_says_other_formats_are_removed(capsys, monkeypatch):
    run = run_svdkit(capsys, monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run("explain", "--help")
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    assert "other formats are removed" in flat and "png,svg,pdf keeps all three" in flat


# --- 4. a named pipe with .npy, .npz or .mtx: copied, as one with a text extension -----


def _feed_bytes(fifo: Path, data: bytes):
    import threading

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(data)
        except BrokenPipeError:  # (the reader stopped: the writer is not left blocked)
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    return writer


def _bytes_of(suffix: str, a: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    if suffix == ".npy":
        np.save(buffer, a)
    elif suffix == ".npz":
        scipy.sparse.save_npz(buffer, scipy.sparse.csr_matrix(a))
    else:
        scipy.io.mmwrite(buffer, scipy.sparse.coo_matrix(a))
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".mtx"])
def test_explain_reads_a_named_pipe_of_a_binary_matrix_file(
    capsys, monkeypatch, tmp_path, suffix
):
    import json

    import svdkit.explain

    a = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    fifo = tmp_path / f"p{suffix}"
    os.mkfifo(fifo)
    writer = _feed_bytes(fifo, _bytes_of(suffix, a))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, out, err = run_svdkit(capsys, monkeypatch)("explain", fifo, "-f", "json",
                                                     "--no-steps")
    writer.join(timeout=10)
    assert code == 0, err
    assert not writer.is_alive()
    expected = svdkit.explain.render(svdkit.explain.explain(a, steps=False), "json")
    assert json.loads(out) == json.loads(expected)
    assert list((tmp_path / "tmp").iterdir()) == []  # the copy is removed


def test_a_too_large_npy_from_a_named_pipe_is_refused_by_its_header(
    capsys, monkeypatch, tmp_path
):
    import io

    fifo = tmp_path / "big.npy"
    os.mkfifo(fifo)
    buffer = io.BytesIO()  # 1001 rows: refused from the header, before it is loaded
    np.save(buffer, np.ones((1001, 1)))
    writer = _feed_bytes(fifo, buffer.getvalue())
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, _, err = run_svdkit(capsys, monkeypatch)("explain", fifo, "-f", "json")
    writer.join(timeout=10)
    line = error_line(code, err)
    assert "1001×1" in line and f"svdkit svd {fifo}" in line.replace("'", ""), line
    assert "svdkit-pipe-" not in line
    assert list((tmp_path / "tmp").iterdir()) == []
