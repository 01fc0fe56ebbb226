"""``svdkit svd`` keeps an uncertified result: ``out.npz`` with ``converged = False``.

A run that does not certify every triplet (``--max-iter`` too low, a ``-k`` that caps
the rank ``--rank-tol`` needs) used to write nothing: the triplets computed (hours of
an out-of-core run) were lost and the documented ``converged`` field could never be
False. The command now writes ``err.result`` (atomically, as a certified one) beside
the output, to ``out.uncertified.npz`` (``out.npz`` only ever holds a certified
result), says where in its ``error: …`` line, and still exits with status 2.
"""

from __future__ import annotations

import numpy as np
import pytest

from svdkit.errors import ConvergenceError
from svdkit.lowrank import truncated_svd
from tests.cli_support import error_line, run_svdkit


def _two_then_flat() -> np.ndarray:
    """σ = 1000, 500, then 58 values in [0.9, 1]: two power iterations certify the
    first two triplets to 1e-6, never the 3rd and 4th."""
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((120, 60)))
    V, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    s = np.r_[1e3, 5e2, np.linspace(1, 0.9, 58)]
    return (U * s) @ V.T


def _load(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def test_uncertified_triplets_are_written_with_converged_false(tmp_path, capsys, monkeypatch):
    A = _two_then_flat()
    np.save(tmp_path / "A.npy", A)
    out = tmp_path / "out.npz"
    run = run_svdkit(capsys, monkeypatch)
    code, stdout, err = run(
        "svd", tmp_path / "A.npy", "-k", "4", "--method", "randomized", "--max-iter", "2",
        "-o", out,
    )
    line = error_line(code, err)  # exit 2, one error line, as before
    assert "did not certify 2 of 4" in line
    saved = tmp_path / "out.uncertified.npz"
    assert f"saved to '{saved}'" in line and "converged = False" in line
    assert "--max-iter" in line and "max_iter" not in line.replace("--max-iter", "")
    assert stdout == ""
    assert saved.is_file() and not out.exists()

    z = _load(saved)
    assert bool(z["converged"]) is False
    assert str(z["format"]) == "svdkit.lowrank.svd/1"
    m, n = A.shape
    assert z["U"].shape == (m, 4) and z["s"].shape == (4,) and z["Vh"].shape == (4, n)
    for name in ("residuals_right", "residuals_left", "rayleigh"):
        assert z[name].shape == (4,), name
    # which triplets missed --tol: their indices, and the residuals that say so
    assert z["unconverged"].dtype == np.int64
    assert z["unconverged"].tolist() == [2, 3]
    worst = np.maximum(z["residuals_right"], z["residuals_left"]) / z["s"][0]
    assert (worst[[0, 1]] <= 1e-6).all() and (worst[[2, 3]] > 1e-6).all()
    assert "did not certify 2 of 4" in str(z["error"])

    # the triplets are the API's err.result, and their residuals are the true ones
    with pytest.raises(ConvergenceError) as info:
        truncated_svd(A, 4, method="randomized", max_iter=2, seed=0)
    r = info.value.result
    np.testing.assert_array_equal(z["s"], r.s)
    np.testing.assert_array_equal(z["U"], r.U)
    np.testing.assert_array_equal(z["Vh"], r.Vh)
    np.testing.assert_array_equal(z["unconverged"], info.value.unconverged)
    V = z["Vh"].conj().T
    right = np.linalg.norm(A @ V - z["U"] * z["s"], axis=0)
    left = np.linalg.norm(A.T @ z["U"] - V * z["s"], axis=0)
    np.testing.assert_allclose(right, z["residuals_right"], rtol=1e-6, atol=1e-12 * z["s"][0])
    np.testing.assert_allclose(left, z["residuals_left"], rtol=1e-6, atol=1e-12 * z["s"][0])


def test_a_rank_capped_by_k_is_saved_uncertified(tmp_path, capsys, monkeypatch):
    """Every triplet certified, but -k caps the rank --rank-tol needs: not a result
    that meets the request, so converged = False, with no triplet listed."""
    np.save(tmp_path / "A.npy", np.diag(1.0 / np.arange(1, 31)))
    out = tmp_path / "out.npz"
    code, stdout, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "A.npy", "-k", "2", "--rank-tol", "0.01", "-o", out
    )
    assert stdout == ""
    line = error_line(code, err)
    assert "needs more than the -k 2 triplets allowed" in line, line
    saved = tmp_path / "out.uncertified.npz"
    assert f"saved to '{saved}'" in line and not out.exists()
    z = _load(saved)
    assert bool(z["converged"]) is False
    assert z["s"].shape == (2,) and z["U"].shape == (30, 2) and z["Vh"].shape == (2, 30)
    np.testing.assert_allclose(z["s"], [1.0, 0.5], rtol=1e-12)
    assert z["unconverged"].shape == (0,) and z["unconverged"].dtype == np.int64
    assert float(z["rank_tol"]) == 0.01 and str(z["rank_norm"]) == "spectral"
    assert "needs more than" in str(z["error"])


def test_a_certified_result_has_the_same_fields(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "A.npy", _two_then_flat())
    out = tmp_path / "out.npz"
    code, stdout, err = run_svdkit(capsys, monkeypatch)("svd", tmp_path / "A.npy", "-k", "2",
                                                        "-o", out)
    assert code == 0, err
    assert "certified" in stdout and err == ""
    z = _load(out)
    assert bool(z["converged"]) is True
    assert z["unconverged"].shape == (0,) and z["unconverged"].dtype == np.int64
    assert str(z["error"]) == ""


def test_an_uncertified_result_never_replaces_a_certified_one(tmp_path, capsys, monkeypatch):
    """A failed run leaves an earlier certified ``out.npz`` as it was (bytes and
    modification time: make does not take it for up to date) and saves its triplets
    beside it, to ``out.uncertified.npz``; a second failed run replaces that one."""
    import os

    np.save(tmp_path / "A.npy", _two_then_flat())
    out = tmp_path / "out.npz"
    saved = tmp_path / "out.uncertified.npz"
    run = run_svdkit(capsys, monkeypatch)
    assert run("svd", tmp_path / "A.npy", "-k", "2", "-o", out)[0] == 0
    assert bool(_load(out)["converged"]) is True
    os.utime(out, (1_000_000, 1_000_000))  # (an old target: a rewrite would show)
    before = out.read_bytes()
    for max_iter, k in (("1", "4"), ("2", "3")):
        code, _, err = run(
            "svd", tmp_path / "A.npy", "-k", k, "--method", "randomized", "--max-iter",
            max_iter, "-o", out,
        )
        line = error_line(code, err)
        assert f"saved to '{saved}'" in line and f"'{out}' was left as it was" in line
        assert out.read_bytes() == before and out.stat().st_mtime == 1_000_000
        z = _load(saved)
        assert bool(z["converged"]) is False and z["s"].shape == (int(k),)
    assert bool(_load(out)["converged"]) is True
    # no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "A.npy", "out.npz", "out.uncertified.npz"
    ]


def test_a_foreign_file_where_the_uncertified_result_goes_is_refused_first(
    tmp_path, capsys, monkeypatch
):
    """``out.uncertified.npz`` obeys the rule of ``-o``: a file that is not an earlier
    result is never replaced, and that is said before any work."""
    import scipy.sparse as sp

    np.save(tmp_path / "A.npy", _two_then_flat())
    foreign = tmp_path / "out.uncertified.npz"
    sp.save_npz(foreign, sp.eye(3, format="csr"))
    before = foreign.read_bytes()
    code, stdout, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "A.npy", "-k", "2", "-o", tmp_path / "out.npz"
    )
    line = error_line(code, err)
    assert f"'{foreign}' (where an uncertified result would go) exists" in line, line
    assert "not an svdkit svd result" in line
    assert stdout == "" and foreign.read_bytes() == before
    assert not (tmp_path / "out.npz").exists()


def test_an_uncertified_result_that_cannot_be_written_says_so(tmp_path, capsys, monkeypatch):
    """The save failing (a full disk) is said along with the convergence failure."""
    import svdkit._files as files

    np.save(tmp_path / "A.npy", _two_then_flat())
    out = tmp_path / "out.npz"

    def full(path, write, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_file", full)
    code, _, err = run_svdkit(capsys, monkeypatch)(
        "svd", tmp_path / "A.npy", "-k", "4", "--method", "randomized", "--max-iter", "1",
        "-o", out,
    )
    line = error_line(code, err)
    assert "did not certify" in line
    saved = tmp_path / "out.uncertified.npz"
    assert f"could not be saved to '{saved}': No space left on device" in line
    assert not out.exists() and not saved.exists()
