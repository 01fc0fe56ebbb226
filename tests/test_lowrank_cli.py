"""``svdkit svd FILE -k K -o out.npz``: files in, certified factors and residuals out."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import typer
from typer.testing import CliRunner

from svdkit.cli.svd_command import FORMAT, register
from svdkit.errors import FileFormatError, ShapeError


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """svdkit (test app)."""

    register(app)
    return app


def _check(out, A: np.ndarray, k: int, tol: float = 1e-6) -> None:
    with np.load(out, allow_pickle=False) as z:
        assert set(z.files) >= {
            "U", "s", "Vh", "residuals_right", "residuals_left", "tol", "method",
            "seed", "iterations", "passes", "converged", "format",
        }  # fmt: skip
        U, s, Vh = z["U"], z["s"], z["Vh"]
        assert str(z["format"]) == FORMAT and bool(z["converged"]) and float(z["tol"]) == tol
        right = np.linalg.norm(A @ Vh.T - U * s, axis=0)
        left = np.linalg.norm(A.T @ U - Vh.T * s, axis=0)
        assert U.shape == (A.shape[0], k) and s.shape == (k,)
        assert np.all(np.maximum(right, left) <= tol * s[0] + 1e-12)
        np.testing.assert_allclose(z["residuals_right"], right, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(z["residuals_left"], left, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False)[:k], atol=2e-6 * s[0])


def test_npy_npz_and_mtx(app, tmp_path):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((700, 300)) / np.arange(1, 301)
    np.save(tmp_path / "a.npy", A)
    S = sp.random(800, 400, density=0.02, random_state=1, format="csr")
    sp.save_npz(tmp_path / "s.npz", S)
    scipy.io.mmwrite(tmp_path / "s.mtx", S)
    runner = CliRunner()
    for name, ref in (("a.npy", A), ("s.npz", S.toarray()), ("s.mtx", S.toarray())):
        out = tmp_path / f"{name}.out.npz"
        res = runner.invoke(
            app, ["svd", str(tmp_path / name), "-k", "6", "-o", str(out), "--memory-limit", "200K"]
        )
        assert res.exit_code == 0, res.output
        assert "6 triplets by" in res.stdout and "certified" in res.stdout
        _check(out, ref, 6)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic


def test_options_and_rank_mode(app, tmp_path):
    A = np.diag(np.r_[10.0, 5.0, 1.0, 1e-3 * np.ones(297)])
    A = np.vstack([A, np.zeros((100, 300))])
    np.save(tmp_path / "a.npy", A)
    out = tmp_path / "r.npz"
    res = CliRunner().invoke(
        app,
        [
            *("svd", str(tmp_path / "a.npy"), "--rank-tol", "0.01", "-o", str(out)),
            *("--tol", "1e-8", "--method", "krylov", "--seed", "3"),
        ],
    )
    assert res.exit_code == 0, res.output
    with np.load(out) as z:
        assert z["s"].size == 3 and str(z["method"]) == "krylov" and int(z["seed"]) == 3
    _check(out, A, 3, tol=1e-8)


def test_errors(app, tmp_path):
    np.save(tmp_path / "a.npy", np.eye(3))
    runner = CliRunner()
    res = runner.invoke(app, ["svd", str(tmp_path / "a.csv"), "-k", "1", "-o", "x.npz"])
    assert isinstance(res.exception, FileFormatError)
    res = runner.invoke(app, ["svd", str(tmp_path / "a.npy"), "-k", "1", "-o", "x.txt"])
    assert isinstance(res.exception, FileFormatError)
    res = runner.invoke(app, ["svd", str(tmp_path / "a.npy"), "-o", str(tmp_path / "x.npz")])
    assert isinstance(res.exception, ShapeError)
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("folder", ["/proc", "/sys"])
def test_an_output_folder_that_takes_no_file_is_refused_before_the_work(
    app, tmp_path, monkeypatch, folder
):
    # the run went to its end before "cannot write '/sys/x.npz'": the output is now
    # probed first (root passes every permission check, but not these folders)
    import svdkit.lowrank

    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((60, 40)))
    ran = []
    monkeypatch.setattr(svdkit.lowrank, "truncated_svd", lambda *a, **k: ran.append(a))
    res = CliRunner().invoke(app, ["svd", str(tmp_path / "a.npy"), "-k", "2", "-o",
                                   f"{folder}/x.npz"])
    assert isinstance(res.exception, FileFormatError) and not ran
    assert f"cannot write '{folder}/x.npz'" in str(res.exception)
    assert "takes no new file" in str(res.exception)


def test_the_writability_probe_leaves_nothing_behind(tmp_path):
    from svdkit._files import check_directory_output, check_file_output

    check_file_output(tmp_path / "x.npz")
    check_directory_output(tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []
