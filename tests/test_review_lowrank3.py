"""Truncated SVDs as a data scientist calls them: float32 data keeps its precision
whatever path ``svdkit.svd(A, k=...)`` takes, a user's own ``LinearOperator``
subclass is matrix-free, and the command line reads every size it documents and
refuses a seed it cannot store before doing the work.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from cli_support import error_line, run_svdkit
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import svdkit
from svdkit.lowrank import truncated_svd


@pytest.fixture(scope="module")
def rank3_float32() -> np.ndarray:
    rng = np.random.default_rng(12)
    return (rng.standard_normal((400, 3)) @ rng.standard_normal((3, 300))).astype(np.float32)


@pytest.mark.parametrize(
    "call",
    [
        lambda B: svdkit.svd(B, k=5),  # the large-scale engine, on the widened copy
        lambda B: svdkit.svd(B, k=50),
        lambda B: svdkit.svd(sp.csr_array(B), k=5),  # sparse: never densified
        lambda B: truncated_svd(B, 5),
        lambda B: svdkit.svd(B, k=2),
    ],
)
def test_truncated_svds_of_float32_data_use_its_eps(rank3_float32, call):
    """The rank-3 float32 product had rank 5 with k=5, 50 with k=50, and a
    pseudo-inverse of norm 1e5 built on float32's rounding noise."""
    B = rank3_float32
    assert np.linalg.matrix_rank(B) == 3
    r = call(B)
    assert r.precision == np.float32
    assert r.rank() == min(3, r.s.size)
    full = svdkit.svd(B)
    assert full.rank() == 3
    if r.s.size >= 3:
        P = r.pinv()
        assert np.linalg.norm(P - full.pinv()) <= 1e-8 * np.linalg.norm(full.pinv())
        assert np.linalg.norm(B @ P @ B - B) <= 1e-5 * np.linalg.norm(B)  # Penrose 1


def test_float64_data_keeps_the_float64_rule(rank3_float32):
    B = rank3_float32.astype(np.float64)
    for r in (svdkit.svd(B, k=5), truncated_svd(B, 5)):
        assert r.precision is None
        assert r.rank() == 5  # float64's rule: float32's rounding (σ₄ ≈ 1e−8·σ₁) is data


class ScaledIdentityPlus(LinearOperator):
    """A user's matrix-free operator: ``A x`` of a stored matrix, by subclassing."""

    def __init__(self, A: np.ndarray) -> None:
        super().__init__(dtype=A.dtype, shape=A.shape)
        self.A = A

    def _matvec(self, x):
        return self.A @ x

    def _rmatvec(self, y):
        return self.A.T @ y


def test_svd_accepts_a_linear_operator_subclass():
    A = np.random.default_rng(1).standard_normal((300, 250))
    r = svdkit.svd(ScaledIdentityPlus(A), k=5)
    ref = svdkit.svd(aslinearoperator(A), k=5)
    exact = np.linalg.svd(A, compute_uv=False)[:5]
    assert np.allclose(r.s, exact, rtol=1e-9) and np.allclose(ref.s, exact, rtol=1e-9)
    assert np.linalg.norm(A @ r.Vh.T - r.U * r.s) <= 1e-9 * r.s[0] * 5
    with pytest.raises(svdkit.SvdkitError, match="pass k"):
        svdkit.svd(ScaledIdentityPlus(A))


@pytest.fixture
def cli(capsys, monkeypatch):
    return run_svdkit(capsys, monkeypatch)


@pytest.fixture
def small_file(tmp_path):
    A = np.random.default_rng(0).standard_normal((80, 60))
    np.save(tmp_path / "A.npy", A)
    return tmp_path / "A.npy", A


@pytest.mark.parametrize("size", ["1000000B", "1000000b", "1000000", "977KiB", "977kb"])
def test_memory_limit_in_bytes_and_binary_units(cli, small_file, tmp_path, size):
    path, A = small_file
    out = tmp_path / "o.npz"
    code, _, err = cli("svd", path, "-k", "4", "-o", out, "--memory-limit", size)
    assert code == 0, err
    with np.load(out) as f:
        assert np.allclose(f["s"], np.linalg.svd(A, compute_uv=False)[:4])


@pytest.mark.parametrize("size", ["1000iB", "12 parsecs", "1i"])
def test_unreadable_memory_limit_is_a_clear_error(cli, small_file, tmp_path, size):
    path, _ = small_file
    msg = error_line(*cli("svd", path, "-k", "4", "-o", tmp_path / "o.npz",
                          "--memory-limit", size)[::2])
    assert "--memory-limit" in msg and repr(size) in msg


def test_seed_beyond_64_bits_is_refused_before_the_work(cli, small_file, tmp_path, monkeypatch):
    path, _ = small_file
    out = tmp_path / "o.npz"

    def no_work(*args, **kwargs):
        raise AssertionError("the SVD ran before the seed was checked")

    monkeypatch.setattr("svdkit.lowrank.truncated_svd", no_work)
    msg = error_line(*cli("svd", path, "-k", "4", "-o", out, "--seed", str(2**63))[::2])
    assert "--seed" in msg and str(2**63) in msg
    assert not out.exists()
    monkeypatch.undo()


def test_largest_seed_is_stored_and_read_back(cli, small_file, tmp_path):
    path, _ = small_file
    out = tmp_path / "o.npz"
    code, _, err = cli("svd", path, "-k", "4", "-o", out, "--seed", str(2**63 - 1))
    assert code == 0, err
    with np.load(out) as f:
        assert int(f["seed"]) == 2**63 - 1
