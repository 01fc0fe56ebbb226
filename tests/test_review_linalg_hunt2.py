"""Regressions of 06d24f5 found by review (/tmp/r_linalg/REPORT.md 1–4, 6–9): paths that
are not .npy files, small orders below one, text read as the matrix it is, NumPy 2's rtol
and hermitian, messages, 1-D sparse arrays, cond's cost, huge rcond."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import svdkit
import svdkit.exact
import svdkit.linalg.measures as measures
from svdkit.errors import StructureError, SvdkitError

# --------------------------------------------------------------------------- 1. paths


def test_norm_of_a_path_to_a_file_that_is_no_npy_file(tmp_path):
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    ref = float(np.linalg.norm(A))
    (tmp_path / "A.txt").write_text("1 2\n3 4\n")
    (tmp_path / "A.csv").write_text("1,2\n3,4\n")
    np.savez(tmp_path / "A.npz", A=A)
    for name in ("A.txt", "A.csv", "A.npz"):
        path = tmp_path / name
        assert svdkit.norm(path) == pytest.approx(ref, rel=1e-15)
        assert svdkit.norm(path, 1) == 6.0  # the matrix's largest column sum
        assert svdkit.norm(path, -np.inf) == 3.0  # its least row sum
    with open(tmp_path / "V.NPY", "wb") as f:  # a 1-D .npy, any case: a vector
        np.save(f, np.array([3.0, 4.0]))
    assert svdkit.norm(tmp_path / "V.NPY", -1) == pytest.approx(12 / 7, rel=1e-15)


# --------------------------------------------------------------------------- 2. small p


@pytest.mark.parametrize("p", [1e-5, 1e-300])
def test_small_orders_past_the_largest_float_are_inf(p):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own overflow
        ref = np.linalg.norm(np.full(100, 2.0), p)
    assert ref == np.inf
    assert svdkit.norm(np.full(100, 2.0), p) == np.inf


def test_small_order_whose_sum_power_overflows_but_the_value_does_not():
    v = np.full(100, 1e-300)  # 1e-300 · 100^(1/0.005) = 1e-300 · 1e400 = 1e100
    value = svdkit.norm(v, 0.005)
    assert value == pytest.approx(1e100, rel=1e-10)
    assert value == pytest.approx(np.linalg.norm(v, 0.005), rel=1e-10)
    w = np.full(3, 2.0)  # 2 · 3^100: finite, NumPy's too
    assert svdkit.norm(w, 0.01) == pytest.approx(np.linalg.norm(w, 0.01), rel=1e-12)


# --------------------------------------------------------------------------- 3. text


@pytest.mark.parametrize("text", ["[3 4 12]", "3 4 12", "[3, 4, 12]", "[3,\n 4,\n 12]", "3; 4; 12"])
@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf, "fro", 2])
def test_text_is_the_matrix_as_matrix_reads(text, ord):
    a = svdkit.as_matrix(text)
    assert svdkit.norm(text, ord) == pytest.approx(np.linalg.norm(a, ord), rel=1e-15)
    if ord in (1, np.inf, "fro"):
        exact = float(svdkit.exact.norm(text, ord).value)
        assert svdkit.norm(text, ord) == pytest.approx(exact, rel=1e-15)


def test_matlab_row_is_a_row_and_a_column_is_a_column_whatever_the_line_breaks():
    assert svdkit.norm("[3 4 12]", 1) == 12.0  # 1×3: the largest column sum
    assert svdkit.norm("[3 4 12]", -1) == 3.0
    assert svdkit.norm("[3, 4, 12]", -1) == svdkit.norm("[3,\n 4,\n 12]", -1) == 19.0
    for text in ("[3 4 12]", "[3, 4, 12]"):
        with pytest.raises(SvdkitError, match=r"this text is a matrix.*1-D list or array"):
            svdkit.norm(text, 0.5)
    # the vector's norms come from a 1-D list or array
    assert svdkit.norm([3, 4, 12], -1) == pytest.approx(np.linalg.norm([3, 4, 12], -1))


# --------------------------------------------------------------------------- 4. rtol, hermitian


def _graded(rng, n=6, r=3):
    s = np.r_[np.logspace(0, -4, r), np.full(n - r, 1e-9)]
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q1 * s) @ Q2.T


def test_rtol_is_rcond_as_numpy_2_spells_it():
    rng = np.random.default_rng(11)
    for _ in range(20):
        A = _graded(rng)
        for rt in (1e-10, 1e-6, 1e-3):
            ref_rank = np.linalg.matrix_rank(A, rtol=rt)
            assert svdkit.rank(A, rtol=rt) == svdkit.rank(A, rcond=rt) == ref_rank
            P = svdkit.pinv(A, rtol=rt)
            assert np.array_equal(P, svdkit.pinv(A, rcond=rt))
            np.testing.assert_allclose(P, np.linalg.pinv(A, rtol=rt), atol=1e-9 * np.abs(P).max())
            # Penrose for the kept part: P A P = P
            np.testing.assert_allclose(P @ A @ P, P, rtol=0, atol=1e-5 * np.abs(P).max())
    A = np.diag([1.0, 1e-8])
    assert svdkit.rank(A, rcond=1e-6) == 1 and svdkit.rank(A) == 2
    assert svdkit.rank(A, tol=1e-9) == 2  # tol stays absolute


def test_rtol_with_rcond_or_tol_is_refused():
    A = np.eye(2)
    for call in (
        lambda: svdkit.pinv(A, rtol=1e-6, rcond=1e-6),
        lambda: svdkit.rank(A, rtol=1e-6, rcond=1e-6),
    ):
        with pytest.raises(SvdkitError, match=r"rcond.*rtol.*not both"):
            call()
    for call in (lambda: svdkit.pinv(A, rtol=1e-6, tol=1e-6), lambda: svdkit.rank(A, 1e-6, rtol=1)):
        with pytest.raises(SvdkitError, match="not both"):
            call()
    with pytest.raises(SvdkitError, match=r"^rtol must"):  # (the name given: hunt3)
        svdkit.rank(A, rtol=-1.0)


def test_hermitian_flag_is_checked():
    H = np.array([[2.0, 1j], [-1j, 2.0]])
    assert svdkit.rank(H, hermitian=True) == np.linalg.matrix_rank(H, hermitian=True) == 2
    P = svdkit.pinv(H, hermitian=True)
    np.testing.assert_allclose(P, np.linalg.pinv(H, hermitian=True), atol=1e-15)
    np.testing.assert_allclose(P @ H, np.eye(2), atol=1e-15)
    N = np.array([[1.0, 2.0], [3.0, 4.0]])
    for call in (lambda: svdkit.pinv(N, hermitian=True), lambda: svdkit.rank(N, hermitian=True)):
        with pytest.raises(StructureError, match=r"hermitian=True.*A\[0,1\] = 2"):
            call()
    with pytest.raises(SvdkitError, match="hermitian must be True or False"):
        svdkit.pinv(H, hermitian="yes")
    np.testing.assert_array_equal(svdkit.pinv(N, hermitian=False), svdkit.pinv(N))


# --------------------------------------------------------------------------- 6. messages


def test_a_matrix_file_is_not_called_text(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, np.eye(3))
    for x in (path, str(path)):
        with pytest.raises(SvdkitError) as info:
            svdkit.norm(x, 0.5)
        assert "the file holds a 2-D array" in str(info.value)
        assert "text" not in str(info.value)


def test_rank_and_cond_of_large_sparse_do_not_point_at_sigma_1(monkeypatch):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 100)
    S = scipy.sparse.random(20, 20, density=0.2, format="csr", random_state=0)
    for call, name in ((svdkit.rank, "rank"), (svdkit.cond, "cond")):
        with pytest.raises(SvdkitError) as info:
            call(S)
        message = str(info.value)
        assert f"{name} needs the smallest" in message and "‖A‖₂" not in message


# --------------------------------------------------------------------------- 7. 1-D sparse


@pytest.mark.parametrize("ord", [None, 1, 2, -1, -2, np.inf, -np.inf, 0, 0.5, 3])
def test_a_1d_sparse_array_is_a_vector(ord):
    dense = np.array([3.0, 0.0, 4.0, 12.0])
    S = scipy.sparse.coo_array(dense)
    assert S.ndim == 1
    assert svdkit.norm(S, ord) == svdkit.norm(dense, ord)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's 0⁻¹
        ref = np.linalg.norm(dense, ord)
    assert svdkit.norm(scipy.sparse.coo_array(dense), ord) == pytest.approx(ref, rel=1e-14)


# --------------------------------------------------------------------------- 8. cond's cost


def test_cond_of_a_clearly_full_rank_matrix_computes_no_singular_values(monkeypatch):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 40))
    refs = {o: np.linalg.cond(A, o) for o in (1, -1, np.inf, -np.inf, "fro", "nuc")}

    def no_svd(*args, **kwargs):
        raise AssertionError("singular values computed for a clearly full-rank matrix")

    monkeypatch.setattr(measures, "scaled_singular_values", no_svd)
    for o, ref in refs.items():
        assert svdkit.cond(A, o) == pytest.approx(ref, rel=1e-10)


def test_cond_still_decides_by_the_rank_rule_in_the_doubtful_band():
    rng = np.random.default_rng(8)
    n = 8
    for smallest in (1e-10, 1e-13, 3e-15, 1e-15, 5e-16, 1e-17, 0.0):
        Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
        Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q1 * np.r_[1.0, np.linspace(0.5, 0.3, n - 2), smallest]) @ Q2.T
        full = svdkit.rank(A) == n
        for o in (1, -1, np.inf, -np.inf, "fro", "nuc", 2):
            value = svdkit.cond(A, o)
            assert np.isfinite(value) == full, (smallest, o)
            if full:
                assert value == pytest.approx(np.linalg.cond(A, o), rel=1e-6)
    # a tol still decides by singular values: finite exactly where rank(A, tol) is full
    A = np.diag([1.0, 1e-3])
    assert svdkit.cond(A, 1, tol=1e-2) == np.inf and svdkit.rank(A, tol=1e-2) == 1
    assert svdkit.cond(A, 1, tol=1e-4) == pytest.approx(1e3, rel=1e-14)


def test_the_full_rank_bound_is_a_sufficient_condition():
    # n² · eps · ‖A‖₁‖A⁻¹‖₁ · 128 < 1 implies σ_min > n · eps · σ₁ (with room)
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        s = np.logspace(0, -rng.uniform(0, 16), n)
        Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
        Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q1 * s) @ Q2.T
        inverse = np.linalg.inv(A)
        if measures._clearly_of_full_rank(A, inverse, np.dtype(np.float64)):
            sv = np.linalg.svd(A, compute_uv=False)
            assert sv[-1] > 100 * n * np.finfo(float).eps * sv[0]


# --------------------------------------------------------------------------- 9. huge rcond


def test_huge_rcond_is_rank_zero_without_warnings():
    A = [[2.0, 0.0], [0.0, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(svdkit.pinv(A, rcond=1e308), np.zeros((2, 2)))
        assert svdkit.svd(A).rank(rcond=1e308) == 0
        assert svdkit.rank(A, rcond=1e308) == 0
        assert svdkit.lstsq(A, [1.0, 1.0], rcond=1e308).rank == 0
        assert np.array_equal(svdkit.pinv([[1e308, 0.0], [0.0, 1.0]], rcond=1e10), np.zeros((2, 2)))


def test_a_positional_none_is_called_the_default():
    with pytest.raises(SvdkitError, match="keyword-only; leave it out for the default") as info:
        svdkit.pinv(np.eye(2), None)
    assert "rcond=None" not in str(info.value)


def test_rank_and_pinv_refuse_a_positional_relative_meaning_as_before():
    with pytest.raises(SvdkitError, match="rcond=1e-06"):
        svdkit.pinv(np.eye(2), 1e-6)
    assert svdkit.rank(np.diag([1.0, 1e-8]), 1e-6) == 1  # matrix_rank's tol: absolute
