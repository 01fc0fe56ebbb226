"""Regressions of f8cae56 found by review (/tmp/r_linalg2/REPORT.md 1–3): the norm of a long
1-D sparse array, rtol's name in messages and rtol=inf, NumPy's ways of passing hermitian."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import svdkit
import svdkit.inputs
from svdkit.errors import StructureError, SvdkitError

# --------------------------------------------------------------------------- 1. long sparse vector

_ORDS = (None, 2, 1, 3, 0.5, -1, -0.5, np.inf, -np.inf, 0, "inf")


def _sparse_vector(n, rows, values):
    return scipy.sparse.coo_array((np.asarray(values), (np.asarray(rows),)), shape=(n,))


@pytest.mark.parametrize("ord", _ORDS)
def test_norm_of_a_long_1d_sparse_array_is_not_densified(monkeypatch, ord):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 1000)
    n = 5000
    v = _sparse_vector(n, [5, 100, n - 1], [3.0, -4.0, 12.0])
    with np.errstate(divide="ignore"):  # (NumPy's 0⁻¹ on the implicit zeros)
        ref = float(np.linalg.norm(v.toarray(), np.inf if ord == "inf" else ord))
    assert svdkit.norm(v, ord) == pytest.approx(ref, rel=1e-14, abs=0)


@pytest.mark.parametrize("ord", _ORDS)
def test_norm_of_a_sparse_vector_with_no_implicit_zero(monkeypatch, ord):
    # every entry stored (one an explicit zero, two duplicates summed): no zero is added
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 3)
    rows = [0, 1, 2, 3, 3]
    values = [2.0 + 1j, -0.5, 0.0, 1.0, 2.0j]
    v = _sparse_vector(4, rows, values)
    before = (v.data.copy(), v.coords[0].copy())
    with np.errstate(divide="ignore"):  # (NumPy's 0⁻¹ on the explicit zero)
        ref = float(np.linalg.norm(v.toarray(), np.inf if ord == "inf" else ord))
    assert svdkit.norm(v, ord) == pytest.approx(ref, rel=1e-14, abs=0)
    # the caller's array is left as it was (duplicates not summed in place)
    assert np.array_equal(v.data, before[0]) and np.array_equal(v.coords[0], before[1])
    assert v.nnz == 5


def test_norm_of_a_full_sparse_vector_without_zeros_has_a_nonzero_minimum(monkeypatch):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 3)
    v = _sparse_vector(4, [0, 1, 2, 3], [2.0, -0.5, 3.0, 1.0])
    assert svdkit.norm(v, -np.inf) == 0.5
    assert svdkit.norm(v, 0) == 4.0
    assert svdkit.norm(v, -1) == pytest.approx(1 / (1 / 2 + 2 + 1 / 3 + 1), rel=1e-15)


def test_long_sparse_vector_refusals_name_the_vector(monkeypatch):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 10)
    v = _sparse_vector(50, [1], [1.0])
    with pytest.raises(SvdkitError, match="unknown vector norm 'fro'"):
        svdkit.norm(v, "fro")
    bad = _sparse_vector(50, [1, 7], [1.0, np.nan])
    with pytest.raises(SvdkitError, match="non-finite"):
        svdkit.norm(bad)
    assert svdkit.norm(_sparse_vector(50, [], [])) == 0.0


# --------------------------------------------------------------------------- 2. rtol's name, inf


def test_rtol_refusals_name_rtol():
    A = np.eye(3)
    for call in (lambda: svdkit.rank(A, rtol=-1), lambda: svdkit.pinv(A, rtol=np.nan)):
        with pytest.raises(SvdkitError, match=r"^rtol must be a number >= 0") as info:
            call()
        assert "rcond" not in str(info.value)
    for call in (lambda: svdkit.pinv(A, rtol=1e-3, tol=1), lambda: svdkit.rank(A, 1e-3, rtol=1e-3)):
        with pytest.raises(SvdkitError, match=r"give tol \(absolute, .*\) or rtol .*") as info:
            call()
        assert "rcond" not in str(info.value)
    with pytest.raises(SvdkitError, match=r"^rcond must be a number >= 0"):
        svdkit.rank(A, rcond=-np.inf)
    with pytest.raises(SvdkitError, match=r"or rcond .*not both"):
        svdkit.lstsq(A, [1, 2, 3], tol=1, rcond=1e-3)


@pytest.mark.parametrize("kw", ["rtol", "rcond"])
def test_an_infinite_relative_cutoff_is_rank_0_and_a_zero_pinv(kw):
    rng = np.random.default_rng(3)
    for A in (rng.standard_normal((4, 3)), np.zeros((2, 3)), np.full((2, 2), 1e308)):
        with np.errstate(invalid="ignore"):  # (NumPy's inf · 0 for the zero matrix)
            ref = np.linalg.matrix_rank(A, rtol=np.inf)
        assert svdkit.rank(A, **{kw: np.inf}) == 0 == ref
        P = svdkit.pinv(A, **{kw: np.inf})
        assert P.shape == A.shape[::-1] and not P.any()
        assert svdkit.svd(A).rank(rcond=np.inf) == 0
        assert not svdkit.svd(A).pinv(rcond=np.inf).any()
    assert svdkit.rank(np.eye(2), rcond=10**400) == 0  # an int past the largest float: inf
    r = svdkit.lstsq(np.eye(2), [1.0, 2.0], rcond=np.inf)
    assert r.rank == 0 and not r.x.any()


# --------------------------------------------------------------------------- 3. hermitian


def test_hermitian_is_rank_s_third_positional_parameter():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert svdkit.rank(H, None, True) == np.linalg.matrix_rank(H, None, True) == 2
    assert svdkit.rank(H, 1.5, True) == np.linalg.matrix_rank(H, 1.5, True) == 1
    N = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(StructureError, match="hermitian=True"):
        svdkit.rank(N, None, True)
    assert svdkit.rank(N, None, False) == 2


@pytest.mark.parametrize("flag, on", [(None, False), (0, False), (1, True), (np.int64(1), True),
                                      (np.bool_(True), True), (False, False)])
def test_hermitian_takes_none_0_and_1_as_numpy_does(flag, on):
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    N = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert svdkit.rank(H, hermitian=flag) == 2
    P = svdkit.pinv(H, hermitian=flag)
    np.testing.assert_allclose(P @ H, np.eye(2), rtol=0, atol=1e-15)
    for call in (lambda: svdkit.rank(N, hermitian=flag), lambda: svdkit.pinv(N, hermitian=flag)):
        if on:
            with pytest.raises(StructureError, match="hermitian=True"):
                call()
        else:
            call()


@pytest.mark.parametrize("flag", [2, -1, 0.5, 1.0, "yes", "False", [True]])
def test_hermitian_refuses_other_values(flag):
    H = np.eye(2)
    for call in (lambda: svdkit.rank(H, hermitian=flag), lambda: svdkit.pinv(H, hermitian=flag)):
        with pytest.raises(SvdkitError, match="hermitian must be True or False"):
            call()


def test_pinv_keeps_refusing_positional_arguments_and_says_hermitian_is_a_keyword():
    H = np.eye(2)
    with pytest.raises(SvdkitError, match=r"by position.*hermitian= is keyword-only"):
        svdkit.pinv(H, None, True)
    with pytest.raises(SvdkitError, match="by position"):
        svdkit.pinv(H, 1e-6)
