"""The tolerance rule at the input's stored precision, where the stored dtype used to be lost.

float32 (float16, complex64) data is computed in float64 but decided with its own
``eps`` (docs/conventions.md). These are the places that still used float64's:
a ``.npy``/``.npz`` file given by its path, ``explain``, ``inv`` and ``cond``
(norms other than 2), ``truncated_svd`` of float16 data or a torch tensor,
``is_diagonalizable``'s normality test, ``plot.spectrum`` and ``Eig.reconstruct``.
The matrix ``B`` of most tests is the float32 product of two float32 factors of
rank 5 (NumPy's ``matrix_rank`` says 5; in float64 terms its noise is rank 8).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import scipy.sparse as sp

import svdkit
from svdkit.errors import RankError, SingularMatrixError
from svdkit.inputs import stored_dtype
from svdkit.linalg.tolerance import rule_dtype, zero_threshold

EPS32 = float(np.finfo(np.float32).eps)


def _b32() -> np.ndarray:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 5)).astype(np.float32)
    Y = rng.standard_normal((5, 8)).astype(np.float32)
    return X @ Y


def _q32() -> np.ndarray:
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 4)).astype(np.float32))
    assert Q.dtype == np.float32
    return Q


def test_the_example_matrix_is_of_rank_5_in_float32_and_8_in_float64():
    B = _b32()
    assert np.linalg.matrix_rank(B) == 5
    assert svdkit.rank(B) == 5
    assert svdkit.rank(B.astype(np.float64)) == 8


# ----------------------------------------------------------------- 1. file paths


def test_stored_dtype_reads_npy_and_npz_headers(tmp_path: pathlib.Path):
    B = _b32()
    np.save(tmp_path / "b.npy", B)
    np.savez(tmp_path / "one.npz", B)
    np.savez_compressed(tmp_path / "packed.npz", B.astype(np.complex64))
    sp.save_npz(tmp_path / "sparse.npz", sp.csr_matrix(B))
    np.savez(tmp_path / "two.npz", B, B)
    np.save(tmp_path / "b64.npy", B.astype(np.float64))
    assert stored_dtype(tmp_path / "b.npy") == np.float32
    assert stored_dtype(str(tmp_path / "b.npy")) == np.float32
    assert stored_dtype(tmp_path / "one.npz") == np.float32
    assert stored_dtype(tmp_path / "packed.npz") == np.complex64
    assert stored_dtype(str(tmp_path / "sparse.npz")) == np.float32
    assert stored_dtype(tmp_path / "two.npz") is None  # (load refuses it anyway)
    assert stored_dtype(tmp_path / "b64.npy") == np.float64
    assert stored_dtype(tmp_path / "missing.npy") is None
    (tmp_path / "bad.npy").write_bytes(b"not a header")
    assert stored_dtype(tmp_path / "bad.npy") is None
    assert rule_dtype(tmp_path / "b.npy") == np.float32
    assert rule_dtype(tmp_path / "b64.npy") == np.float64


def test_matrix_text_is_never_taken_for_a_path(tmp_path: pathlib.Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "1 2; 3 4.npy", np.eye(2, dtype=np.float32))  # a name like text
    assert stored_dtype("1 2; 3 4") is None
    assert rule_dtype("1 2; 3 4") == np.float64
    assert rule_dtype("[[1, 2],\n [3, 4]]") == np.float64
    assert rule_dtype("missing.npy") == np.float64  # no such file: the working precision
    assert svdkit.rank("1 2; 3 4") == 2
    assert svdkit.svd("1 2; 2 4").rank() == 1
    assert svdkit.svd("1 2; 2 4").precision is None


@pytest.mark.parametrize("as_str", [False, True])
def test_a_float32_npy_path_is_decided_as_the_array_is(tmp_path: pathlib.Path, as_str: bool):
    B, Q = _b32(), _q32()
    rng = np.random.default_rng(1)
    G = B @ B.T
    G = (G + G.T) / 2
    T = rng.standard_normal((10, 3)).astype(np.float32) @ rng.standard_normal((3, 4)).astype(
        np.float32
    )
    paths = {}
    for name, x in {"B": B, "Q": Q, "G": G, "T": T}.items():
        np.save(tmp_path / f"{name}.npy", x)
        paths[name] = tmp_path / f"{name}.npy"
    pB = str(paths["B"]) if as_str else paths["B"]
    # svd reads a str ending in .npy as a file name; the others take a Path
    assert svdkit.svd(pB).rank() == 5
    assert svdkit.svd(pB).precision == np.float32
    assert svdkit.svd(pB, 6).rank() == 5
    if as_str:
        return
    assert svdkit.rank(pB) == 5
    assert svdkit.subspaces(pB).dimensions["null"] == 3
    assert svdkit.lstsq(pB, np.ones(8)).rank == 5
    assert np.allclose(svdkit.pinv(pB), svdkit.pinv(B), atol=1e-6)
    assert svdkit.cond(pB) == np.inf
    with pytest.raises(SingularMatrixError):
        svdkit.inv(pB)
    assert svdkit.is_orthonormal(paths["Q"])
    assert svdkit.is_symmetric(paths["G"])
    assert str(svdkit.definiteness(paths["G"]).kind) == "positive semidefinite"
    assert svdkit.eigh(paths["G"]).values.size == 8
    assert svdkit.linalg.cholesky(paths["G"], semidefinite=True).shape == (8, 8)
    with pytest.raises(RankError):
        svdkit.left_inverse(paths["T"])


def test_a_float32_npz_path_is_decided_as_the_array_is(tmp_path: pathlib.Path):
    B = _b32()
    sp.save_npz(tmp_path / "B.npz", sp.csr_matrix(B))
    np.savez(tmp_path / "D.npz", B)
    assert svdkit.svd(str(tmp_path / "B.npz"), 6).rank() == 5
    assert svdkit.svd(tmp_path / "B.npz").rank() == 5
    assert svdkit.rank(tmp_path / "D.npz") == 5
    assert svdkit.rank(tmp_path / "B.npz") == 5


# ----------------------------------------------------------------- 2. explain


def test_explain_decides_in_the_stored_precision(tmp_path: pathlib.Path):
    from svdkit.explain import explain

    B = _b32()
    np.save(tmp_path / "B.npy", B)
    for source in (B, tmp_path / "B.npy"):
        report = explain(source, steps=False)
        assert report.section("measures").fact("rank") == svdkit.rank(B) == 5
        assert report.section("measures").fact("cond") == np.inf
        assert report.section("inverse").fact("invertible") is False
        assert report.section("subspaces").fact("rank") == 5
        assert report.tolerance == pytest.approx(
            zero_threshold(B.shape, float(np.linalg.norm(B.astype(float), 2)), np.float32)
        )
    report64 = explain(B.astype(np.float64), steps=False)  # float64 data: float64's rule
    assert report64.section("measures").fact("rank") == 8
    assert report64.section("inverse").fact("invertible") is True
    Q = _q32()
    structure = explain(Q, steps=False).section("structure")
    assert structure.fact("orthonormal") is svdkit.is_orthonormal(Q) is True
    Qs = Q[:4]  # square, float32 rounding
    Qs, _ = np.linalg.qr(Qs)
    structure = explain(Qs, steps=False).section("structure")
    assert structure.fact("normal") is svdkit.is_normal(Qs) is True
    assert structure.fact("orthonormal") is svdkit.is_orthonormal(Qs) is True


def test_explain_of_a_float32_matrix_agrees_with_is_diagonalizable():
    from svdkit.explain import explain

    A = np.array([[1.0, 1.0], [0.0, 1.0 + 2 * EPS32]], dtype=np.float32)
    assert not svdkit.is_diagonalizable(A)
    assert explain(A, steps=False).section("structure").fact("diagonalizable") is False
    N = np.array([[1.0, 3e-7], [0.0, 1.0]], dtype=np.float32)
    assert explain(N, steps=False).section("structure").fact("diagonalizable") is True


# ----------------------------------------------------------------- 3. inv and cond


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float16])
def test_inv_and_cond_refuse_numerically_singular_stored_data(dtype):
    B = _b32() / 4
    B = B.astype(dtype)
    assert svdkit.rank(B) < 8
    with pytest.raises(SingularMatrixError):
        svdkit.inv(B)
    for order in (None, 1, np.inf, "fro"):
        assert svdkit.cond(B, order) == np.inf
    wide = B.astype(np.complex128 if np.iscomplexobj(B) else np.float64)
    assert np.isfinite(svdkit.inv(wide)).all()  # in float64 terms it is invertible
    assert np.isfinite(svdkit.cond(wide, 1))


def test_inv_of_well_conditioned_float32_data_still_works():
    A = np.array([[2, 1], [1, 3]], dtype=np.float32)
    assert np.allclose(svdkit.inv(A) @ A, np.eye(2))
    assert svdkit.cond(A, 1) == pytest.approx(np.linalg.cond(A.astype(float), 1))


# ----------------------------------------------------------------- 4. truncated_svd


def _low_rank_300() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.standard_normal((300, 5)) @ rng.standard_normal((5, 260)) / 8


def test_truncated_svd_of_float16_data_ranks_with_float16_eps():
    from svdkit.lowrank import truncated_svd

    X16 = _low_rank_300().astype(np.float16)
    assert svdkit.rank(X16) == 5
    dec = truncated_svd(X16, 10)
    assert dec.rank() == 5
    assert dec.precision == np.float16
    assert truncated_svd(np.asfortranarray(X16), 10).rank() == 5
    assert truncated_svd(X16.astype(np.float64), 10).rank() == 10  # float64: noise is data


def test_truncated_svd_of_a_float32_tensor_ranks_with_float32_eps():
    import torch

    from svdkit.lowrank import truncated_svd

    X = _low_rank_300().astype(np.float32)
    T = torch.from_numpy(X)
    assert svdkit.rank(T) == 5
    dec = truncated_svd(T, 10)
    assert dec.rank() == 5
    assert dec.precision == np.float32
    assert np.allclose(dec.s[:5], truncated_svd(X, 10).s[:5], rtol=1e-6)


# ----------------------------------------------------------------- 5. is_diagonalizable


def test_is_diagonalizable_of_a_float32_normal_matrix():
    A = np.array([[1.0, 3e-7], [0.0, 1.0]], dtype=np.float32)
    assert svdkit.is_normal(A)
    assert svdkit.is_diagonalizable(A)
    assert svdkit.is_diagonalizable(A, eig=svdkit.eig(A))
    assert not svdkit.is_diagonalizable(A.astype(np.float64))  # float64: a Jordan block


# ----------------------------------------------------------------- 6. plot.spectrum


def test_spectrum_states_the_rank_and_threshold_of_float32_data(tmp_path: pathlib.Path):
    from svdkit.plot.spectrum import _values

    B = _b32()
    np.save(tmp_path / "B.npy", B)
    expected = zero_threshold(B.shape, float(svdkit.svd(B).s[0]), np.float32)
    for source in (B, svdkit.svd(B), tmp_path / "B.npy"):
        _, shape, rank, thr = _values(source)
        assert shape == (8, 8)
        assert rank == svdkit.rank(B) == 5
        assert thr == pytest.approx(expected)
    _, _, rank64, thr64 = _values(B.astype(np.float64))
    assert rank64 == 8
    assert thr64 == pytest.approx(expected * np.finfo(np.float64).eps / EPS32)
    assert _values("1 2; 2 4")[2] == 1  # text stays text


# ----------------------------------------------------------------- 7. Eig.reconstruct


def test_eig_reconstruct_follows_is_diagonalizable_on_float32_data():
    A = np.array([[1.0, 1.0], [0.0, 1.0 + 2 * EPS32]], dtype=np.float32)
    dec = svdkit.eig(A)
    assert dec.precision == np.float32
    assert not svdkit.is_diagonalizable(A)
    with pytest.raises(SingularMatrixError):
        dec.reconstruct()
    wide = A.astype(np.float64)  # float64: two distinct eigenvalues, V invertible
    assert svdkit.eig(wide).precision is None
    assert svdkit.is_diagonalizable(wide)
    assert np.allclose(svdkit.eig(wide).reconstruct(), wide)
