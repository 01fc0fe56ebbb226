"""Defects of the linalg hunt (/tmp/h_linalg/REPORT.md 1–6, 8–10): cond against the rank
rule, NumPy's positional rcond, NumPy's other norm orders, ord names, vectors in files
(text stays a matrix: /tmp/r_linalg/REPORT.md 3), large sparse matrices, distance's
overflow warning, eigh's tol, exact pivots."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import svdkit
from svdkit.errors import ShapeError, SvdkitError


def _near_singular(rng: np.random.Generator, n: int, smallest: float) -> np.ndarray:
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.r_[1.0, np.linspace(0.5, 0.3, n - 2), smallest]
    return (Q1 * s) @ Q2.T


# --------------------------------------------------------------------------- 1. cond


def _full_rank_refused_by_inv(rng):
    """4×4 matrices whose rank is 4 (σ₄ a few eps) that svdkit.inv refuses by gecon."""
    found = []
    for _ in range(3000):
        A = _near_singular(rng, 4, rng.uniform(1, 40) * np.finfo(float).eps)
        if svdkit.rank(A) < 4:
            continue
        try:
            svdkit.inv(A)
        except svdkit.SingularMatrixError:
            found.append(A)
            if len(found) == 5:
                break
    return found


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, np.inf, -1, -np.inf])
def test_cond_is_finite_in_every_norm_where_the_rank_is_full(ord):
    cases = _full_rank_refused_by_inv(np.random.default_rng(7))
    assert cases, "no matrix of full rank refused by inv was found"
    for A in cases:
        assert np.isfinite(svdkit.cond(A))  # the 2-norm's: full rank
        got = svdkit.cond(A, ord)
        ref = np.linalg.cond(A, ord)
        assert np.isfinite(got)
        assert got == pytest.approx(ref, rel=1e-6)  # κ ≈ 1e15: A⁻¹ carries ~eps·κ noise


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, np.inf, -1, -np.inf])
def test_cond_with_tol_is_inf_exactly_when_rank_with_tol_is_short(ord):
    rng = np.random.default_rng(3)
    for smallest in (1e-20, 1e-17, 1e-14, 1e-9, 1e-4):
        A = _near_singular(rng, 4, smallest)
        for tol in (0.0, 1e-30, 1e-16, 1e-12, 1e-6):
            full = svdkit.rank(A, tol=tol) == 4
            assert np.isfinite(svdkit.cond(A, ord, tol=tol)) == full, (smallest, tol)


def test_cond_other_norms_agree_with_numpy_on_ordinary_matrices():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
        for ord in ("fro", "nuc", 1, np.inf, -1, -np.inf):
            assert svdkit.cond(A, ord) == pytest.approx(np.linalg.cond(A, ord), rel=1e-12)


# --------------------------------------------------------------------------- 2. rcond


def test_pinv_refuses_a_positional_threshold_naming_tol_and_rcond():
    A = np.diag([1e6, 1e-3])
    for call in (
        lambda: svdkit.pinv(A, 1e-6),
        lambda: svdkit.lstsq(A, [1.0, 1.0], 1e-6),
        lambda: svdkit.left_inverse(A, 1e-6),
        lambda: svdkit.right_inverse(A, 1e-6),
    ):
        with pytest.raises(SvdkitError, match=r"absolute.*keyword-only.*rcond") as info:
            call()
        assert "rcond=1e-06" in str(info.value)


def test_rcond_is_numpys_relative_cutoff():
    rng = np.random.default_rng(1)
    A = np.diag([1e6, 1e-3])
    b = np.array([1.0, 1.0])
    assert np.array_equal(svdkit.pinv(A, rcond=1e-6), np.linalg.pinv(A, 1e-6))
    r = svdkit.lstsq(A, b, rcond=1e-6)
    x, _, rank, _ = np.linalg.lstsq(A, b, rcond=1e-6)
    assert r.rank == rank == 1
    np.testing.assert_allclose(r.x, x, rtol=1e-15)
    # the absolute tol keeps both singular values: another answer, by design
    assert svdkit.lstsq(A, b, tol=1e-6).rank == 2
    # random rank-deficient systems: rank, x and the Penrose conditions as NumPy's
    for _ in range(30):
        M = rng.standard_normal((7, 3)) @ np.diag([1.0, 1e-4, 1e-9]) @ rng.standard_normal((3, 5))
        for rc in (1e-12, 1e-6, 1e-2):
            P = svdkit.pinv(M, rcond=rc)
            np.testing.assert_allclose(P, np.linalg.pinv(M, rc), atol=1e-9 * np.abs(P).max())
            np.testing.assert_allclose(P @ M @ P, P, atol=1e-8 * np.abs(P).max())
            rhs = rng.standard_normal(7)
            got = svdkit.lstsq(M, rhs, rcond=rc)
            ref = np.linalg.lstsq(M, rhs, rcond=rc)
            assert got.rank == ref[2]
            np.testing.assert_allclose(got.x, ref[0], atol=1e-9 * np.abs(ref[0]).max())
            assert got.residuals == pytest.approx(np.linalg.norm(M @ got.x - rhs), rel=1e-9)


def test_rcond_and_tol_together_or_invalid_are_refused():
    with pytest.raises(SvdkitError, match="not both"):
        svdkit.pinv(np.eye(2), tol=1e-3, rcond=1e-3)
    with pytest.raises(SvdkitError, match="rcond"):
        svdkit.lstsq(np.eye(2), [1, 1], rcond=-1)
    with pytest.raises(SvdkitError, match="rcond"):
        svdkit.pinv(np.eye(2), rcond=float("nan"))


def test_rcond_is_scale_free_at_the_ends_of_the_range():
    A = np.diag([1.5e308, 1.5e308, 1e300])  # σ₁ fine, the relative cut at 1e-7
    assert svdkit.svd(A).rank(rcond=1e-7) == 2
    assert svdkit.lstsq(A, np.ones(3), rcond=1e-7).rank == 2
    B = np.array([[1e308, 1e308], [1e308, 1e308]])  # σ₁ = 2e308 overflows
    P = svdkit.pinv(B, rcond=0.5)
    np.testing.assert_allclose(P, np.full((2, 2), 2.5e-309), rtol=1e-12)


# --------------------------------------------------------------------------- 3. ords


@pytest.mark.parametrize("ord", [-1, -2, -np.inf, 1, 2, np.inf, "fro", "nuc", None])
def test_matrix_norms_match_numpy(ord):
    rng = np.random.default_rng(2)
    for shape in ((3, 3), (4, 2), (2, 5)):
        for A in (rng.standard_normal(shape), rng.standard_normal(shape) * (1 + 1j)):
            assert svdkit.norm(A, ord) == pytest.approx(np.linalg.norm(A, ord), rel=1e-14)


def test_negative_matrix_norms_keep_sparse_input_and_scale():
    S = scipy.sparse.random(6, 5, density=0.5, format="csr", random_state=4)
    D = S.toarray()
    for ord in (-1, -np.inf):
        assert svdkit.norm(S, ord) == pytest.approx(np.linalg.norm(D, ord), rel=1e-14)
    tiny = np.diag([3e-310, 5e-310])  # σ_min of subnormal entries is kept
    assert svdkit.norm(tiny, -2) == pytest.approx(3e-310, rel=1e-3)


@pytest.mark.parametrize("ord", [0, -np.inf, 0.5, 0.25, -1, -2, -0.5, 3, 1.5])
def test_vector_orders_match_numpy(ord):
    rng = np.random.default_rng(5)
    for v in (
        rng.standard_normal(9),
        rng.standard_normal(6) + 1j * rng.standard_normal(6),
        np.array([3.0, 0.0, -4.0, 12.0]),
        np.array([7.0]),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's 0⁻¹
            ref = np.linalg.norm(v, ord)
        assert svdkit.norm(v, ord) == pytest.approx(ref, rel=1e-13, abs=0.0)


def test_vector_orders_below_one_do_not_under_or_overflow():
    v = np.array([1e-200, 2e-200, 4e-200])
    for p in (0.5, -1, -2, -np.inf):
        ref = 1e-200 * np.linalg.norm(v / 1e-200, p)
        assert svdkit.norm(v, p) == pytest.approx(ref, rel=1e-13)
    w = np.array([1.0, 1e-300])  # |x|⁻² of the small one is past the largest float
    assert svdkit.norm(w, -2) == pytest.approx(1e-300, rel=1e-13)
    assert svdkit.norm([1e200] * 4, 0.5) == pytest.approx(16e200, rel=1e-13)


def test_unknown_orders_are_still_refused():
    with pytest.raises(SvdkitError, match="unknown matrix norm 3"):
        svdkit.norm(np.eye(2), 3)
    with pytest.raises(SvdkitError, match="unknown vector norm 'fro'"):
        svdkit.norm([1.0, 2.0], "fro")
    with pytest.raises(SvdkitError, match="unknown vector norm"):
        svdkit.norm([1.0, 2.0], float("nan"))
    with pytest.raises(SvdkitError, match="unknown norm True"):
        svdkit.norm([1.0, 2.0], True)


# --------------------------------------------------------------------------- 5. names


@pytest.mark.parametrize("name", ["Inf", "INF", "+inf", "infinity", " inf ", "∞"])
def test_names_of_infinity_are_read_alike_for_vectors_and_matrices(name):
    assert svdkit.norm([3.0, -4.0], name) == 4.0
    assert svdkit.norm([[1.0, -2.0], [3.0, 4.0]], name) == 7.0
    neg = "-" + name.strip().lstrip("+")
    assert svdkit.norm([3.0, -4.0], neg) == 3.0
    assert svdkit.norm([[1.0, -2.0], [3.0, 4.0]], neg) == 3.0


def test_numbers_as_text_are_orders():
    assert svdkit.norm([3.0, 4.0], "2") == 5.0
    assert svdkit.norm([[1.0, -2.0], [3.0, 4.0]], "-1") == 4.0
    assert svdkit.norm([3.0, 0.0, 4.0], "0") == 2.0


# --------------------------------------------------------------------------- 6. vector inputs


def test_a_vector_in_a_npy_file_is_a_vector_and_text_is_a_matrix(tmp_path):
    v = np.array([3.0, 4.0, 12.0])
    path = tmp_path / "v.npy"
    np.save(path, v)
    ref = np.linalg.norm(v, 3)
    assert svdkit.norm(str(path), 3) == pytest.approx(ref, rel=1e-15)
    assert svdkit.norm(path, 3) == pytest.approx(ref, rel=1e-15)
    assert svdkit.norm(str(path), -np.inf) == 3.0
    assert svdkit.norm(path, -1) == pytest.approx(np.linalg.norm(v, -1), rel=1e-15)
    np.save(tmp_path / "m.npy", np.array([[3.0], [4.0], [12.0]]))
    assert svdkit.norm(tmp_path / "m.npy", 1) == 19.0  # an n×1 matrix: its column sum
    with pytest.raises(SvdkitError, match="unknown matrix norm 3"):
        svdkit.norm(tmp_path / "m.npy", 3)
    # text is the matrix svdkit.as_matrix reads (as svdkit.exact.norm reads it): "3 4 12"
    # and MATLAB's "[3 4 12]" a 1×3 row, "[3, 4, 12]" a 3×1 column; the -1 and -inf
    # orders tell a column from a vector (the vector's would be 1.714… and 3)
    assert svdkit.norm("3 4 12", 1) == svdkit.norm("[3 4 12]", 1) == 12.0
    assert svdkit.norm("[3 4 12]", -1) == 3.0
    assert svdkit.norm("[3, 4, 12]", -1) == 19.0
    assert svdkit.norm("[3, 4, 12]", -np.inf) == 3.0
    with pytest.raises(SvdkitError, match=r"unknown matrix norm 3.*this text is a matrix"):
        svdkit.norm("[3, 4, 12]", 3)


# --------------------------------------------------------------------------- 4. large sparse


def test_large_sparse_refusal_names_what_works(monkeypatch):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 100)
    S = scipy.sparse.random(20, 20, density=0.2, format="csr", random_state=0)
    for call in (lambda: svdkit.norm(S, 2), lambda: svdkit.norm(S, "nuc")):
        with pytest.raises(ShapeError) as info:
            call()
        message = str(info.value)
        assert "svdkit.svd(A, 1)" in message and "sparse=True" not in message
    # rank and cond need the smallest σ, which σ₁ does not give (/tmp/r_linalg 6b)
    for call in (lambda: svdkit.cond(S), lambda: svdkit.rank(S), lambda: svdkit.norm(S, -2)):
        with pytest.raises(ShapeError) as info:
            call()
        message = str(info.value)
        assert "svdkit.svd(A, k)" in message and "the smallest" in message
        assert "‖A‖₂" not in message and "sparse=True" not in message
    # the norms that keep it sparse still work, past the limit
    assert svdkit.norm(S, 1) == pytest.approx(np.linalg.norm(S.toarray(), 1), rel=1e-14)
    assert svdkit.norm(S, -1) == pytest.approx(np.linalg.norm(S.toarray(), -1), rel=1e-14)


# --------------------------------------------------------------------------- 8. distance


def test_distance_past_the_largest_float_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert svdkit.distance([1.7e308, 0.0], [-1.7e308, 0.0]) == np.inf
        assert svdkit.distance([1.7e308], [-1.7e308], "chebyshev") == np.inf
    assert svdkit.distance([1e308, 0.0], [-5e307, 0.0], "manhattan") == pytest.approx(1.5e308)


# --------------------------------------------------------------------------- 9. eigh tol


@pytest.mark.parametrize("tol", [-1, float("nan"), "1e-3", True])
def test_eigh_refuses_an_invalid_tol_with_check_false_too(tol):
    for check in (True, False):
        with pytest.raises(SvdkitError, match="tol"):
            svdkit.eigh(np.eye(2), check=check, tol=tol)
    assert svdkit.eigh(np.eye(2), check=False, tol=1e-3).values.tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- 10. pivots


def _pivot_values(vectors: np.ndarray) -> np.ndarray:
    mags = np.abs(vectors)
    rows = np.argmax(mags >= mags.max(axis=0) * (1 - 1e-10), axis=0)
    return vectors[rows, np.arange(vectors.shape[1])]


def test_complex_pivots_are_exactly_real_and_positive():
    rng = np.random.default_rng(11)
    for _ in range(20):
        A = rng.standard_normal((5, 4)) + 1j * rng.standard_normal((5, 4))
        full = svdkit.svd(A, full=True)  # U's fifth column: the completion
        wide = svdkit.svd(A.T, full=True)  # Vᴴ's fifth row: unpaired
        for vectors in (full.U, wide.U, wide.Vh[4:].conj().T):
            p = _pivot_values(vectors)
            assert np.all(p.imag == 0) and np.all(p.real > 0)
        # the factorisation still holds
        thin = svdkit.svd(A)
        np.testing.assert_allclose((thin.U * thin.s) @ thin.Vh, A, atol=1e-13)
        H = A[:4] @ A[:4].conj().T
        eh = svdkit.eigh(H)
        p = _pivot_values(eh.vectors)
        assert np.all(p.imag == 0) and np.all(p.real > 0)
        np.testing.assert_allclose(
            eh.vectors @ np.diag(eh.values) @ eh.vectors.conj().T, H, atol=1e-12 * np.abs(H).max()
        )
        B = A[:4]
        e = svdkit.eig(B)
        p = _pivot_values(e.vectors)
        assert np.all(p.imag == 0) and np.all(p.real > 0)
        np.testing.assert_allclose(B @ e.vectors, e.vectors * e.values, atol=1e-12)
        sub = svdkit.subspaces(A.T)  # 4×5 of rank 4: a null space of dimension 1
        assert sub.null.shape == (5, 1)
        p = _pivot_values(sub.null)
        assert np.all(p.imag == 0) and np.all(p.real > 0)
        np.testing.assert_allclose(A.T @ sub.null, 0, atol=1e-13)
