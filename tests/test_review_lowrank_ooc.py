"""Out-of-core `.npy` files and memmaps whose stored rows are the long side (a wide
C-ordered or a tall Fortran-ordered matrix): the Gram matrix of the short side only,
a Krylov basis on the short side when the long one would cost more than memory_limit,
no MemoryError traceback from the CLI; float16 through ``TruncatedSVD.transform``; an
``svdkit.SVD`` passed to the geometry pictures."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import svdkit
from svdkit.errors import SvdkitError
from svdkit.lowrank import truncated_svd
from tests.cli_support import error_line, run_svdkit

MIB = 1 << 20


def _matrix(m: int, n: int, seed: int = 0) -> np.ndarray:
    """``m × n`` with singular values ``1/(i+1)`` (a clear gap for every k)."""
    rng = np.random.default_rng(seed)
    p = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, p)))
    V, _ = np.linalg.qr(rng.standard_normal((n, p)))
    return (U * (1.0 / np.arange(1, p + 1))) @ V.T


def _check(A: np.ndarray, r, k: int, tol: float = 1e-8) -> None:
    """Residuals of the result measured here, and its values against LAPACK's."""
    s_ref = np.linalg.svd(A, compute_uv=False)[:k]
    assert r.s.shape == (k,)
    np.testing.assert_allclose(r.s, s_ref, rtol=0, atol=tol * s_ref[0] * 10)
    U, s, Vh = np.asarray(r.U), np.asarray(r.s), np.asarray(r.Vh)
    right = np.linalg.norm(A @ Vh.T - U * s, axis=0)
    left = np.linalg.norm(A.T @ U - Vh.T * s, axis=0)
    assert right.max() <= tol * s[0] * 10
    assert left.max() <= tol * s[0] * 10
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(k), atol=1e-10)


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def _inputs(tmp_path, A: np.ndarray, order: str):
    """The same matrix as a `.npy` file and as a read-only memmap of it, in ``order``."""
    path = tmp_path / f"a_{order}.npy"
    np.save(path, np.asarray(A, order=order))
    mm = np.load(path, mmap_mode="r")
    assert mm.flags.f_contiguous == (order == "F")
    return path, mm


# ------------------------------------------------------------ defect 1: Gram side


@pytest.mark.parametrize("method", ["auto", "krylov", "gram"])
@pytest.mark.parametrize("case", ["wide_C", "tall_F", "tall_F_memmap"])
def test_gram_of_the_short_side_for_long_stored_rows(tmp_path, method, case):
    # 2000 long, 40 short: a 2000×2000 Gram matrix is 30.5 MiB, the matrix 0.6 MiB
    long, short, k = 2000, 40, 8
    if case == "wide_C":
        A = _matrix(short, long)
        path, mm = _inputs(tmp_path, A, "C")
    else:
        A = _matrix(long, short)
        path, mm = _inputs(tmp_path, A, "F")
    src = mm if case.endswith("memmap") else str(path)
    r, peak = _peak(
        lambda: truncated_svd(src, k, method=method, tol=1e-8, memory_limit=MIB // 4, seed=1)
    )
    _check(A, r, k)
    # the long side's Gram matrix alone would be long²·8 bytes
    assert peak < long * long * 8 / 8, f"{peak / MIB:.1f} MiB traced"
    assert not any("Gram matrix AᴴA was formed" in note and f"{long}" in note for note in r.notes)


def test_gram_method_refusal_counts_the_short_side(tmp_path):
    # a wide file whose long side is past GRAM_MAX_SIDE: its short side is small, so
    # method='gram' is taken (it was refused, naming the long side as "n")
    A = _matrix(12, 9000, seed=3)
    path, _ = _inputs(tmp_path, A, "C")
    r = truncated_svd(str(path), 4, method="gram", tol=1e-8, memory_limit=MIB // 2, seed=0)
    _check(A, r, 4)
    assert any("m×m Gram matrix AAᴴ" in note for note in r.notes)


def test_gram_route_rank_mode_on_long_stored_rows(tmp_path):
    # rank mode through the Gram route of the short side: an exact rank of 5
    rng = np.random.default_rng(7)
    A = rng.standard_normal((30, 5)) @ rng.standard_normal((5, 1500))
    path, _ = _inputs(tmp_path, A.T, "F")  # 1500×30 tall, Fortran order
    r = truncated_svd(str(path), None, rank_tol=1e-10, tol=1e-12, memory_limit=MIB // 4)
    assert r.s.size == 5
    _check(A.T, r, 5, tol=1e-12)


def test_dense_wide_gram_route_unchanged_numbers():
    # a dense wide array kept wide (n ≤ 2m) on the Gram route: AAᴴ now, same triplets
    A = _matrix(150, 280, seed=5)
    r = truncated_svd(A, 20, method="gram", tol=1e-10, seed=0)
    _check(A, r, 20, tol=1e-10)


# ------------------------------------------------------- defect 2: basis side


@pytest.mark.parametrize("case", ["tall_F", "wide_C", "tall_F_memmap"])
def test_krylov_basis_not_on_the_long_side_past_memory_limit(tmp_path, case):
    # 20000×200 (30.5 MiB), k = 10, memory_limit 1 MiB: a basis of 96 columns of the
    # long side is 14.6 MiB (the run held 29.8 MiB), on the short side 0.15 MiB
    rng = np.random.default_rng(11)
    long, short, k = 20000, 200, 10
    A = rng.standard_normal((long, short))
    if case == "wide_C":
        A = A.T.copy()
        path, mm = _inputs(tmp_path, A, "C")
    else:
        path, mm = _inputs(tmp_path, A, "F")
    src = mm if case.endswith("memmap") else str(path)
    r, peak = _peak(lambda: truncated_svd(src, k, tol=1e-8, memory_limit=MIB, seed=0))
    _check(A, r, k)
    # U (or Vᴴ) of the long side is 1.5 MiB, a block 1 MiB, a product A X 2.4 MiB
    assert peak < 12 * MIB, f"{peak / MIB:.1f} MiB traced"
    assert any(note.startswith("Krylov basis on the short side (200)") for note in r.notes)


def test_long_fused_side_kept_when_its_basis_fits_memory_limit(tmp_path):
    # the same file with memory_limit 64 MiB: the basis fits, one read a step is kept
    rng = np.random.default_rng(12)
    A = rng.standard_normal((3000, 200))
    path, _ = _inputs(tmp_path, A, "F")
    r = truncated_svd(str(path), 10, tol=1e-8, memory_limit=64 * MIB, seed=0)
    _check(A, r, 10)
    assert any(note.startswith("worked on Aᴴ") for note in r.notes)
    assert not any(note.startswith("Krylov basis on the short side") for note in r.notes)


# --------------------------------------------------- MemoryError: no traceback


def _no_memory(*args, **kwargs):
    raise MemoryError(
        "Unable to allocate 47.7 GiB for an array with shape (80000, 80000) and data type "
        "float64"
    )


def test_memory_error_becomes_an_svdkit_error(tmp_path, monkeypatch):
    import svdkit.lowrank.krylov as krylov

    A = _matrix(40, 600)
    path, _ = _inputs(tmp_path, A, "C")
    monkeypatch.setattr(krylov, "gram_eigen", _no_memory)
    with pytest.raises(SvdkitError, match=r"not enough memory .* 40×600 matrix: Unable") as e:
        truncated_svd(str(path), 5, memory_limit=MIB // 4)
    assert isinstance(e.value.__cause__, MemoryError)


def test_cli_memory_error_is_an_error_line(tmp_path, capsys, monkeypatch):
    import svdkit.lowrank.krylov as krylov

    A = _matrix(40, 600)
    path, _ = _inputs(tmp_path, A, "C")
    monkeypatch.setattr(krylov, "gram_eigen", _no_memory)
    run = run_svdkit(capsys, monkeypatch)
    out_file = tmp_path / "r.npz"
    code, _, err = run("svd", path, "-k", "5", "-o", out_file, "--memory-limit", "256K")
    line = error_line(code, err)
    assert "not enough memory" in line and "47.7 GiB" in line
    assert not out_file.exists()


# ------------------------------------------------- defect 3: float16 transform


def test_transform_of_float16_keeps_the_models_precision():
    from svdkit.lowrank.estimator import TruncatedSVD

    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 12))
    X16 = X.astype(np.float16)
    for fit_dtype, want in ((np.float32, np.float32), (np.float64, np.float64)):
        est = TruncatedSVD(3, random_state=0).fit(X.astype(fit_dtype))
        T = est.transform(X16)
        assert T.dtype == want
        # the same numbers as the float16 values widened by hand
        ref = X16.astype(np.float64) @ est.components_.astype(np.float64).T
        np.testing.assert_allclose(T, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
        back = est.inverse_transform(T.astype(np.float16))
        assert back.dtype == want
        ref_back = T.astype(np.float16).astype(np.float64) @ est.components_.astype(float)
        np.testing.assert_allclose(back, ref_back, rtol=0, atol=1e-5 * np.abs(ref_back).max())
    est = TruncatedSVD(3, random_state=0).fit(X.astype(np.float32))
    assert est.transform(X.astype(np.int64)).dtype == np.float64  # (unchanged)


# ------------------------------------- h_plot defect 6: an SVD given to a picture


def _image_points(fig) -> np.ndarray:
    """The points of the image of the unit circle in the last panel (A·S)."""
    ax = fig.axes[3]
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "svdkit:image"]
    assert lines
    return np.concatenate([np.asarray(ln.get_xydata()) for ln in lines])


def test_svd_geometry_of_an_svd_result_draws_its_matrix():
    from svdkit.plot import svd_geometry

    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    fig_svd = svd_geometry(svdkit.svd(A))
    fig_a = svd_geometry(A)
    pts = _image_points(fig_svd)
    np.testing.assert_array_equal(pts, _image_points(fig_a))
    # the image of the unit circle: ‖A⁻¹ y‖ = 1 for every point drawn
    np.testing.assert_allclose(np.linalg.norm(np.linalg.solve(A, pts.T), axis=0), 1, atol=1e-12)


def test_quadratic_form_and_save_figures_of_an_svd_result(tmp_path):
    import warnings

    from svdkit.plot import quadratic_form, save_figures
    from svdkit.plot.save import applicable_figures

    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    r = svdkit.svd(A)
    assert applicable_figures(r) == applicable_figures(A)
    fig = quadratic_form(r)
    assert fig.axes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        written = save_figures(r, tmp_path / "figs", formats=("svg",))
    assert sorted(p.name for p in written) == sorted(
        f"{name}.svg" for name in applicable_figures(A)
    )


def test_svd_result_without_its_matrix_is_refused_by_name():
    from svdkit.plot import quadratic_form, svd_geometry

    r = svdkit.svd(np.array([[2.0, 1.0], [1.0, 3.0]]))
    bare = type(r)(r.U, r.s, r.Vh)
    assert bare.matrix is None
    for draw, name in ((svd_geometry, "svd_geometry"), (quadratic_form, "quadratic_form")):
        with pytest.raises(SvdkitError, match=rf"^{name}: A is an svdkit.SVD result that does"):
            draw(bare)


def test_float32_svd_result_keeps_its_precision():
    from svdkit.plot._common import matrix_of

    A = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    held = matrix_of(svdkit.svd(A), "svd_geometry")
    assert held.dtype == np.float32
    np.testing.assert_array_equal(held, A)


def test_wide_gram_route_with_zero_singular_values(tmp_path):
    # rank 5, k = 8 on a wide C-ordered file: σ₆..σ₈ = 0, every triplet still certified
    rng = np.random.default_rng(9)
    A = rng.standard_normal((20, 5)) @ rng.standard_normal((5, 1000))
    path, _ = _inputs(tmp_path, A, "C")
    r = truncated_svd(str(path), 8, method="gram", tol=1e-10, memory_limit=MIB // 8, seed=2)
    assert np.all(r.s[5:] <= 1e-12 * r.s[0])
    _check(A, r, 8, tol=1e-10)
