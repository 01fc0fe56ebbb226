"""Review round 3 of svdkit.linalg: eigenpair refusals of a zero matrix and of pairs
whose λ·2^−e overflows, DENSIFY_LIMIT read at call time by svdkit.lowrank, the rank/cond
tie window, cond of tiny matrices and its negative norms, strict NumPy error modes, and
subspaces_from_svd's triple checks."""

from __future__ import annotations

import dataclasses
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import svdkit
import svdkit.inputs
from svdkit.errors import ParseError, ShapeError, SvdkitError
from svdkit.linalg import measures
from svdkit.linalg.subspaces import subspaces_from_svd
from svdkit.lowrank import api as lowrank_api
from svdkit.lowrank import as_operator

# ----------------------------------------------------------------- 1: A = 0, wrong pairs


@pytest.mark.parametrize(
    "zeros",
    [np.zeros((2, 2)), np.zeros((1, 1)), np.zeros((2, 2), np.float32), np.zeros((2, 2), complex)],
)
def test_wrong_pairs_of_the_zero_matrix_are_a_clear_refusal(zeros):
    n = zeros.shape[0]
    with pytest.raises(SvdkitError, match=r"not eigenpairs of A: .* = inf for pair 0") as info:
        svdkit.is_diagonalizable(zeros, eig=(np.ones(n), np.eye(n)))
    assert "scipy" not in str(info.value)  # (no advice about SciPy's range for A = 0)
    assert "nan" not in str(info.value)


def test_eig_reconstruct_of_the_zero_matrix_with_wrong_values_is_a_clear_refusal():
    e = svdkit.eig(np.zeros((2, 2)))
    assert np.array_equal(e.reconstruct(), np.zeros((2, 2)))  # its own pairs: fine
    wrong = dataclasses.replace(e, values=np.array([1.0, 1.0]))
    with pytest.raises(SvdkitError, match=r"Eig\.reconstruct: the pairs of this Eig are not"):
        wrong.reconstruct()


def test_right_pairs_of_the_zero_matrix_are_accepted():
    assert svdkit.is_diagonalizable(np.zeros((2, 2)), eig=(np.zeros(2), np.eye(2)))


# ------------------------------------------------------------ 2: λ·2^−e past the largest float


@pytest.mark.parametrize("lam", [1e300, 1.5e308 + 1.5e308j, -1.7e308])
def test_pairs_whose_scaled_eigenvalue_overflows_are_refused_without_a_warning(lam):
    A = np.array([[1e-300, 0.0], [0.0, 2e-300]])  # e ≈ −996: λ·2^996 > 1.8e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SvdkitError, match="not eigenpairs of A") as info:
            svdkit.is_diagonalizable(A, eig=(np.array([lam, 2e-300]), np.eye(2)))
    # the quoted residual ‖A v − λ v‖/‖A‖_F ≈ |λ|/‖A‖_F is finite in log10 (past 1e308)
    message = str(info.value)
    assert "= inf" not in message and "nan" not in message
    lam = complex(lam)
    log10_abs = np.log10(np.hypot(lam.real / 4, lam.imag / 4)) + np.log10(4.0)
    expected_log10 = log10_abs - np.log10(np.hypot(1e-300, 2e-300))
    quoted = message.split("‖ / (‖A‖_F ‖vᵢ‖) = ")[1].split(" ")[0]
    mantissa, exponent = quoted.split("e")
    assert abs(np.log10(float(mantissa)) + int(exponent) - expected_log10) < 0.01


# ------------------------------------------------------------- 3: DENSIFY_LIMIT at call time


def test_lowrank_reads_densify_limit_at_each_call(monkeypatch):
    S = sp.random(20, 20, density=0.3, random_state=0, format="csr")
    op = as_operator(S)
    assert lowrank_api._densify_refusal(op) is None
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 100)
    why, need = lowrank_api._densify_refusal(op)
    assert "400 entries are more than the 100" in why and need is None
    with pytest.raises(ShapeError, match="too large to densify"):
        svdkit.svd(S)  # svdkit.svd agrees
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 400)
    assert lowrank_api._densify_refusal(op) is None


# ------------------------------------------------------------------------ 4: the tie window


def test_the_tie_window_grows_with_the_size_and_stays_below_the_threshold():
    assert measures._tie_window((5, 5)) == 64.0
    assert measures._tie_window((2000, 30)) == 250.0  # measured differences: up to ~35 ulps
    for n in (512, 1500, 4096, 100_000):
        # an eighth of the default threshold max(m, n)·eps·σ₁: noise σ stay outside it
        assert measures._tie_window((n, n)) == n / 8


def test_rank_at_a_tol_read_off_the_svd_agrees_with_svd_rank():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 300))
    dec = svdkit.svd(a)
    for i in (0, 1, 150, 298, 299):
        tol = float(dec.s[i])
        assert svdkit.rank(a, tol) == dec.rank(tol) == i
        assert (svdkit.cond(a, tol=tol) == np.inf) == (dec.rank(tol) < 300)


def test_rank_of_a_large_rank_deficient_matrix_stays_on_the_fast_path(monkeypatch):
    # its noise σ (a few eps·σ₁) lie far outside the window around 1000·eps·σ₁: no SVD
    # with vectors is computed
    svd_module = sys.modules["svdkit.linalg.svd"]  # (svdkit.linalg.svd is the function)

    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 500)) @ rng.standard_normal((500, 1000))

    def refuse(*args, **kwargs):
        raise AssertionError("the slow path (an SVD with vectors) was taken")

    monkeypatch.setattr(svd_module, "_scaled_lapack_svd", refuse)
    assert svdkit.rank(a) == 500
    assert svdkit.cond(a) == np.inf


# ------------------------------------------------------------------ 5: cond of tiny matrices


@pytest.mark.parametrize(
    ("ord", "expected"),
    [
        (None, 2.0),
        (1, 2.0),
        (np.inf, 2.0),
        ("fro", 2.5),
        ("nuc", 4.5),
        (-1, 0.5),
        (-np.inf, 0.5),
        (-2, 0.5),
    ],
)
@pytest.mark.parametrize("scale", [1e-310, 1e-200, 1.0, 1e300])
def test_cond_does_not_depend_on_the_scale(ord, expected, scale):
    A = np.diag([1.0, 2.0]) * scale  # cond = 2 (fro: √5·√1.25, nuc: 3·1.5)
    assert svdkit.cond(A, ord) == pytest.approx(expected, rel=1e-14)


def test_cond_of_a_tiny_general_matrix_matches_numpy_scaled():
    # entries of modulus in [1/2, 4], times 2^−1018: all normal (exact), A⁻¹ past 2^1018
    rng = np.random.default_rng(1)
    B = rng.uniform(0.5, 4.0, (6, 6)) * rng.choice([-1.0, 1.0], (6, 6))
    for ord in (1, np.inf, "fro", "nuc", -1, -np.inf, 2, -2):
        expected = np.linalg.cond(B, ord)
        assert svdkit.cond(B * 2.0**-1018, ord) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------- 6: strict error modes


def test_rank_and_cond_with_tol_under_errstate_raise():
    B = np.diag([1e300, 1e299])
    with np.errstate(all="raise"):
        assert svdkit.svd(B).rank(1e-10) == 2
        assert svdkit.rank(B, tol=1e-10) == 2
        assert svdkit.cond(B, tol=1e-10) == pytest.approx(10.0, rel=1e-14)
        assert svdkit.rank(B, tol=1e299) == 1


# -------------------------------------------------------------- 7: subspaces_from_svd triples


def _thin(shape=(5, 3), seed=2):
    A = np.random.default_rng(seed).standard_normal(shape)
    return A, np.linalg.svd(A, full_matrices=False)


def test_a_longdouble_triple_is_copied_to_float64():
    A, (U, s, Vh) = _thin()
    ld = [x.astype(np.longdouble) for x in (U, s, Vh)]
    sub = subspaces_from_svd(tuple(ld))
    for basis in (sub.column, sub.row, sub.null, sub.left_null, sub.decomposition.s):
        assert basis.dtype == np.float64
    assert np.allclose(sub.decomposition.reconstruct(), A, atol=1e-13)
    cl = [x.astype(np.clongdouble) for x in (U, Vh)]
    assert subspaces_from_svd((cl[0], s, cl[1])).column.dtype == np.complex128


@pytest.mark.parametrize("dec", ["abc", "x", b"abc", ""])
def test_a_string_is_not_an_svd(dec):
    with pytest.raises(ShapeError, match=r"dec must be an SVD .*; got (str|bytes)"):
        subspaces_from_svd(dec)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_sparse_factors_are_refused_by_name(which):
    _, parts = _thin()
    parts = list(parts)
    parts[which] = sp.csr_matrix(np.atleast_2d(parts[which]))
    name = ("U", "s", "Vh")[which]
    with pytest.raises(ParseError, match=f"dec: {name} is a SciPy sparse matrix"):
        subspaces_from_svd(tuple(parts))


@pytest.mark.parametrize(
    ("s", "rank"),
    [(np.array([True, True, False]), 2), (np.array([3, 2, 1], np.uint8), 3)],
)
def test_bool_and_unsigned_singular_values_in_descending_order_are_accepted(s, rank):
    _, (U, _, Vh) = _thin()
    sub = subspaces_from_svd((U, s, Vh))
    assert sub.rank == rank
    assert sub.decomposition.s.dtype == np.float64


def test_an_ascending_unsigned_sigma_is_still_refused():
    _, (U, _, Vh) = _thin()
    with pytest.raises(SvdkitError, match="non-negative and descending"):
        subspaces_from_svd((U, np.array([1, 2, 3], np.uint8), Vh))


def test_thin_null_bases_span_the_subspaces_of_subspaces():
    # as the docstring now says: column and row bases equal, null bases other bases of
    # the same subspaces (equal projectors)
    A, thin = _thin((6, 3))
    mine, ref = subspaces_from_svd(thin), svdkit.subspaces(A)
    assert np.allclose(mine.column, ref.column, atol=1e-13)
    assert np.allclose(mine.row, ref.row, atol=1e-13)
    for a, b in ((mine.left_null, ref.left_null), (mine.null, ref.null)):
        assert np.allclose(a @ a.T, b @ b.T, atol=1e-13)
        assert np.allclose(a.T @ a, np.eye(a.shape[1]), atol=1e-13)
    full = subspaces_from_svd(np.linalg.svd(A))
    assert np.allclose(full.left_null, ref.left_null, atol=1e-13)


# ---------------------------------------------------------------- 8: cond's negative norms


@pytest.mark.parametrize("ord", [-1, -2, -np.inf, "-inf", "-1", "-2", -1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_cond_negative_norms_match_numpy(ord, dtype):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5)).astype(dtype)
    if np.iscomplexobj(A):
        A = A + 1j * rng.standard_normal((5, 5))
    numeric = {"-inf": -np.inf, "-1": -1, "-2": -2}.get(ord, ord)
    expected = np.linalg.cond(A.astype(np.result_type(A, np.float64)), numeric)
    rel = 1e-5 if dtype == np.float32 else 1e-12
    assert svdkit.cond(A, ord) == pytest.approx(expected, rel=rel)


def test_cond_minus_two_takes_any_shape_and_is_the_reciprocal_of_the_two_norm():
    rng = np.random.default_rng(4)
    for shape in ((7, 3), (3, 7), (4, 4)):
        A = rng.standard_normal(shape)
        assert svdkit.cond(A, -2) == pytest.approx(np.linalg.cond(A, -2), rel=1e-13)
        assert svdkit.cond(A, -2) * svdkit.cond(A) == pytest.approx(1.0, rel=1e-14)


def test_cond_negative_norms_of_a_singular_matrix():
    S = [[1.0, 2.0], [2.0, 4.0]]
    assert svdkit.cond(S, -2) == 0.0
    assert svdkit.cond(S, -1) == np.inf
    assert svdkit.cond(S, -np.inf) == np.inf
    assert svdkit.cond(np.diag([1.0, 1e-3]), -2, tol=1e-2) == 0.0
    assert svdkit.cond(np.diag([1.0, 1e-3]), -1, tol=1e-2) == np.inf


@pytest.mark.parametrize("ord", [-3, 3, "bogus", True, [1], 0])
def test_cond_refuses_other_norms_by_listing_its_own(ord):
    with pytest.raises(SvdkitError, match=r"unknown matrix norm .* for cond: use 2, .*-2 or -inf"):
        svdkit.cond([[1.0, 0.0], [0.0, 2.0]], ord)


def test_cond_negative_one_or_inf_needs_a_square_matrix():
    with pytest.raises(ShapeError):
        svdkit.cond(np.ones((3, 2)), -1)
