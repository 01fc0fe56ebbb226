"""Review h6 of svdkit.linalg's result objects: lstsq's residuals against NumPy's, the
eigenpairs given to is_diagonalizable, eigh(check=False)'s matrix, slicing, results built
without their matrix, eigenvalues past the largest float, NumPy 2's attribute names."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

import svdkit
from svdkit.errors import NonFiniteError, ParseError, ShapeError, SvdkitError

JORDAN = np.array([[1.0, 1.0], [0.0, 1.0]])


# ----------------------------------------------------------------------------- 1. lstsq


def test_lstsq_residuals_are_the_norm_whose_square_is_numpys():
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([1.0, 2.0, 4.0])
    x, res, rank, s = svdkit.lstsq(A, b)
    _, np_res, np_rank, np_s = np.linalg.lstsq(A, b)
    assert res == pytest.approx(float(np.linalg.norm(A @ x - b)), rel=1e-14)
    assert res**2 == pytest.approx(float(np_res[0]), rel=1e-14)
    assert rank == np_rank
    np.testing.assert_allclose(s, np_s, rtol=1e-14)
    B = np.column_stack([b, 2 * b + 1])
    res2 = svdkit.lstsq(A, B).residuals
    np.testing.assert_allclose(res2**2, np.linalg.lstsq(A, B)[1], rtol=1e-13)


@pytest.mark.parametrize(
    "A",
    [[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]],
    ids=["rank-deficient", "wide"],
)
def test_lstsq_residuals_where_numpy_gives_none(A):
    a = np.array(A)
    b = np.arange(1.0, a.shape[0] + 1) ** 2
    r = svdkit.lstsq(a, b)
    assert np.linalg.lstsq(a, b)[1].size == 0  # the documented difference
    assert r.residuals == pytest.approx(float(np.linalg.norm(a @ r.x - b)), abs=1e-13)


def test_lstsq_docstring_and_conventions_say_not_squared():
    assert "not squared" in svdkit.Lstsq.__doc__
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
    assert "not squared" in text and "lstsq" in text


# ----------------------------------------------------------------------------- 2. eig=


@pytest.mark.parametrize(
    ("eig", "error", "match"),
    [
        (5, ShapeError, "eig must be a pair"),
        ((1, 2, 3), ShapeError, "eig must be a pair"),
        ((["a", "b"], np.eye(2)), ParseError, "eig: the eigenvalues are not numbers"),
        (([1, 1], [["a", "b"], ["c", "d"]]), ParseError, "eig: the eigenvectors are not num"),
        (([1, 1], [[1, np.nan], [0, 1]]), NonFiniteError, "eig: the eigenvectors"),
        (([np.nan, 1], np.eye(2)), NonFiniteError, "eig: the eigenvalues"),
        (([1, 1], np.zeros((2, 2))), SvdkitError, "eig: eigenvector 0 is zero"),
        (([1, 2], np.eye(3)), ShapeError, "eig must hold 2 eigenvalues"),
    ],
)
def test_malformed_eig_gets_a_clear_error_naming_eig(eig, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            svdkit.is_diagonalizable(JORDAN, eig=eig)


def test_eigenpairs_of_another_matrix_are_refused():
    assert svdkit.is_diagonalizable(JORDAN) is False
    with pytest.raises(SvdkitError, match="not eigenpairs of A") as info:
        svdkit.is_diagonalizable(JORDAN, eig=([1.0, 2.0], np.eye(2)))
    assert "residual" in str(info.value)
    B = [[2.0, 1.0], [0.0, 3.0]]
    with pytest.raises(SvdkitError, match="not eigenpairs of A"):
        svdkit.is_diagonalizable(B, eig=svdkit.eig([[2.0, 0.0], [1.0, 3.0]]))


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e300])
def test_true_eigenpairs_pass_the_check_at_any_scale(scale):
    rng = np.random.default_rng(6)
    for n in (1, 3, 8, 30):
        B = rng.standard_normal((n, n))
        A = B * scale
        w, v = scipy.linalg.eig(B)  # (not of A: LAPACK's geev scales 1e300·B wrongly)
        w = w * scale
        # scipy's own pairs, in any order and with any phases, and svdkit's
        perm = rng.permutation(n)
        phases = np.exp(1j * rng.uniform(0, 2 * np.pi, n))
        assert svdkit.is_diagonalizable(A, eig=(w[perm], v[:, perm] * phases * 3.0))
        assert svdkit.is_diagonalizable(A, eig=svdkit.eig(A)) == svdkit.is_diagonalizable(A)
    J = JORDAN * scale
    assert svdkit.is_diagonalizable(J, eig=svdkit.eig(J)) is False


def test_float32_eigenpairs_of_float32_data_pass():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 20)).astype(np.float32)
    w, v = scipy.linalg.eig(A)  # complex64: float32's rounding
    assert w.dtype == np.complex64
    assert svdkit.is_diagonalizable(A, eig=(w, v))


def test_reconstruct_with_values_not_of_its_matrix_is_refused():
    e = svdkit.Eig(np.array([1.0, 2.0]), np.eye(2), JORDAN)
    with pytest.raises(SvdkitError, match="not eigenpairs of A"):
        e.reconstruct()
    R = svdkit.eig([[2.0, 1.0], [0.0, 3.0]]).reconstruct()
    np.testing.assert_allclose(R, [[2.0, 1.0], [0.0, 3.0]], rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- 3. eigh check=False


@pytest.mark.parametrize(
    "A",
    [
        [[1.0, 5.0], [0.0, 1.0]],
        [[2.0, 7.0, -1.0], [3.0, 1.0, 4.0], [0.5, 2.0, 6.0]],
        [[1.0 + 2j, 5.0], [3.0 - 1j, 2.0 - 4j]],
    ],
    ids=["2x2", "3x3", "complex"],
)
def test_eigh_unchecked_keeps_the_matrix_lapack_decomposed(A):
    a = np.array(A)
    low = np.tril(a, -1)
    used = low + low.conj().T + np.diag(a.diagonal().real)
    H = svdkit.eigh(a, check=False)
    np.testing.assert_array_equal(H.matrix, used)
    np.testing.assert_allclose(H.values, np.linalg.eigvalsh(used), rtol=1e-14, atol=1e-14)
    assert H.residual() < 1e-14
    np.testing.assert_allclose(H.reconstruct(), used, rtol=0, atol=1e-13)


def test_eigh_unchecked_of_a_hermitian_matrix_keeps_it():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    H = svdkit.eigh(a, check=False)
    np.testing.assert_array_equal(H.matrix, a)
    np.testing.assert_array_equal(H.matrix, svdkit.eigh(a).matrix)


# ----------------------------------------------------------------------------- 4. slicing


def _results():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    return [
        svdkit.eig(A),
        svdkit.eigh(A),
        svdkit.svd(A),
        svdkit.slogdet(A),
        svdkit.lstsq(A, [1.0, 2.0]),
    ]


@pytest.mark.parametrize("r", _results(), ids=lambda r: type(r).__name__)
def test_results_slice_like_tuples(r):
    whole = tuple(r)
    for key in (slice(None, 2), slice(1, None), slice(None, None, -1), slice(5, 9)):
        got = r[key]
        want = whole[key]
        assert isinstance(got, tuple) and len(got) == len(want)
        assert all(g is w for g, w in zip(got, want, strict=True))
    assert r[-1] is whole[-1] and r[np.int64(0)] is whole[0]
    with pytest.raises(IndexError, match="index out of range"):
        r[len(whole)]
    with pytest.raises(IndexError, match="index out of range"):
        r[-len(whole) - 1]
    for key in ("values", 1.0, None, (0, 1)):
        with pytest.raises(TypeError, match="indices must be integers or slices, not"):
            r[key]


def test_numpy_results_slice_alike():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    U, s, Vh = svdkit.svd(A)[:]
    assert [x.shape for x in svdkit.svd(A)[1:]] == [x.shape for x in np.linalg.svd(A)[1:]]
    np.testing.assert_allclose(U @ np.diag(s) @ Vh, A, atol=1e-14)


# ----------------------------------------------------------------------------- 5. no matrix


def test_eig_without_matrix_refuses_residual_and_reconstruct():
    e = svdkit.Eig(np.array([1.0, 2.0]), np.eye(2))
    with pytest.raises(SvdkitError, match="construct with matrix=A"):
        e.residual()
    with pytest.raises(SvdkitError, match="construct with matrix=A"):
        e.reconstruct()
    assert svdkit.Eig(np.array([0.0, 0.0]), np.eye(2), np.zeros((2, 2))).residual() == 0.0


def test_eigh_without_matrix_refuses_residual_but_reconstructs():
    h = svdkit.Eigh(np.array([1.0, 2.0]), np.eye(2))
    with pytest.raises(SvdkitError, match="construct with matrix=A"):
        h.residual()
    np.testing.assert_array_equal(h.reconstruct(), np.diag([1.0, 2.0]))


# ----------------------------------------------------------------------------- 6. overflow


def test_reconstruct_with_an_overflowed_eigenvalue_raises_cleanly():
    A = [[1e308, 1e308], [1e308, 1e308]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E = svdkit.eig(A)
        assert np.isinf(E.values).any()
        with pytest.raises(NonFiniteError, match="past the largest float"):
            E.reconstruct()
        H = svdkit.eigh(A)
        with pytest.raises(NonFiniteError, match="past the largest float"):
            H.reconstruct()
        assert H.residual() == np.inf
        # the pairs are A's: is_diagonalizable answers as without them
        assert svdkit.is_diagonalizable(A, eig=E) is svdkit.is_diagonalizable(A) is True


@pytest.mark.parametrize("scale", [2.0**-1070, 1e-200, 1e200, 2.0**1020])
def test_reconstruct_is_scale_free(scale):
    B = np.array([[2.0, 1.0], [1.0, 3.0]]) / 4
    A = B * scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R = svdkit.eig(A).reconstruct()
        Rh = svdkit.eigh(A).reconstruct()
        residual = svdkit.eigh(A).residual()
    if scale > 1e-300:  # (subnormal eigenvalues hold a few bits: residuals of a few %)
        assert residual < 1e-15
        np.testing.assert_allclose(R / scale, B, rtol=0, atol=1e-15)
        np.testing.assert_allclose(Rh / scale, B, rtol=0, atol=1e-15)
    else:
        assert np.abs(R - A).max() <= 2.0**-1074 * 4
        assert np.abs(Rh - A).max() <= 2.0**-1074 * 4


# ----------------------------------------------------------------------------- 8. names


@pytest.mark.parametrize("fn", [svdkit.eig, svdkit.eigh])
def test_numpy2_names_alias_values_and_vectors(fn):
    r = fn([[2.0, 1.0], [1.0, 3.0]])
    assert r.eigenvalues is r.values and r.eigenvectors is r.vectors
    with pytest.raises(AttributeError):
        r.eigenvalues = np.zeros(2)
    n = np.linalg.eigh([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(r.eigenvalues, n.eigenvalues, rtol=1e-14)


def test_an_infinite_eigenvalue_of_a_small_matrix_is_refused():
    with pytest.raises(SvdkitError, match="not eigenpairs of A: eigenvalue 0 is inf"):
        svdkit.is_diagonalizable(JORDAN, eig=([np.inf, 1.0], np.eye(2)))


def test_graded_matrices_keep_their_own_eigenpairs():
    """geev balances: its pairs of a graded A are judged on the balanced matrix."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(3, 30))
        d1, d2 = 10.0 ** rng.uniform(-150, 150, (2, n))
        A = np.diag(d1) @ rng.standard_normal((n, n)) @ np.diag(d2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert svdkit.is_diagonalizable(A, eig=svdkit.eig(A)) == svdkit.is_diagonalizable(A)
