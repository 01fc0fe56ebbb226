"""Follow-ups to the review of the linalg results, eig= checks, subspaces and full-SVD cap.

1. rank() of a rank-deficient matrix stays on the values-only SVD (no vectors);
2. cond(A, tol=t) and rank(A, tol=t) decide by one rule;
3. the full-SVD cap: square never refused, the limit read at call time, named in the message;
4. is_diagonalizable(eig=): the lengths of the given vectors do not matter;
5. the refusal of wrong pairs: no ``inf`` for a finite residual, SciPy's scale limits named;
6. subspaces_from_svd accepts NumPy's SVDResult and (U, s, Vh) triples.
"""

import importlib
import re
import warnings

import numpy as np
import pytest
import scipy.linalg

import svdkit
import svdkit.inputs
from svdkit.errors import (
    EmptyInputError,
    NonFiniteError,
    ParseError,
    ShapeError,
    SvdkitError,
)
from svdkit.linalg.subspaces import subspaces_from_svd

RNG = np.random.default_rng(20261124)
# (the module: ``svdkit.linalg.svd`` as an attribute is the function)
svd_module = importlib.import_module("svdkit.linalg.svd")


def _low_rank(m, n, r, rng=RNG):
    return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))


# ------------------------------------------------- 1. rank of a rank-deficient matrix


@pytest.fixture
def vector_svds(monkeypatch):
    """Counts the SVDs with vectors (``_scaled_lapack_svd``) that rank/cond take."""
    calls = []
    inner = svd_module._scaled_lapack_svd

    def counting(a, full):
        calls.append(a.shape)
        return inner(a, full)

    monkeypatch.setattr(svd_module, "_scaled_lapack_svd", counting)
    return calls


@pytest.mark.parametrize("m, n, r", [(300, 300, 150), (300, 300, 299), (2000, 100, 50)])
def test_rank_of_a_rank_deficient_matrix_computes_no_singular_vectors(vector_svds, m, n, r):
    A = _low_rank(m, n, r)
    assert svdkit.rank(A) == r
    assert svdkit.cond(A) == np.inf
    assert vector_svds == []  # rounding-noise σ are far below the threshold: svdvals decides


def test_rank_of_a_small_rank_deficient_matrix_is_still_right():
    A = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert svdkit.rank(A) == 2 == svdkit.svd(A).rank()
    assert svdkit.cond(A) == np.inf


def test_rank_at_a_tol_read_off_svd_agrees_with_svd_and_subspaces():
    rng = np.random.default_rng(5)
    for _ in range(40):
        m, n = (int(x) for x in rng.integers(2, 40, size=2))
        A = _low_rank(m, n, int(rng.integers(1, min(m, n) + 1)), rng)
        s = svdkit.svd(A).s
        for k in range(s.size):
            t = float(s[k])
            assert svdkit.rank(A, t) == svdkit.svd(A).rank(t) == svdkit.subspaces(A, t).rank


# ------------------------------------------------- 2. cond and rank: one rule


def test_cond_is_inf_exactly_when_rank_is_deficient_at_a_tol_read_off_svd():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(3, 40))
        A = rng.standard_normal((n, n))
        s = svdkit.svd(A).s
        for t in (float(s[-1]), float(s[n // 2])):
            r, c = svdkit.rank(A, tol=t), svdkit.cond(A, tol=t)
            assert (r < n) == np.isinf(c), (n, t, r, c)
            if np.isfinite(c):
                assert c == pytest.approx(s[0] / s[-1], rel=1e-12)


def test_cond_of_a_rectangular_matrix_at_its_smallest_sigma_agrees_with_rank():
    rng = np.random.default_rng(3)
    for _ in range(60):
        A = rng.standard_normal((int(rng.integers(3, 30)), int(rng.integers(3, 30))))
        t = float(svdkit.svd(A).s[-1])
        assert (svdkit.rank(A, tol=t) < min(A.shape)) == np.isinf(svdkit.cond(A, tol=t))


# ------------------------------------------------- 3. the full-SVD cap


def test_a_square_matrix_past_the_limit_still_has_a_full_svd(monkeypatch):
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 100)  # 20² = 400 entries: past it
    A = RNG.standard_normal((20, 20))
    r = svdkit.svd(A, full=True)
    assert r.U.shape == r.Vh.shape == (20, 20)
    assert np.linalg.norm(r.U @ r.Sigma @ r.Vh - A) <= 1e-13 * np.linalg.norm(A)
    assert svdkit.subspaces(A).dimensions == {"column": 20, "null": 0, "row": 20, "left_null": 0}


def test_the_limit_is_read_at_each_call_and_named_in_the_refusal(monkeypatch):
    A = RNG.standard_normal((30, 3))  # the full U holds 30·27 = 810 entries more
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 800)
    with pytest.raises(ShapeError) as err:
        svdkit.svd(A, full=True)
    text = str(err.value)
    assert "30×3" in text and "810" in text and "svdkit.inputs.DENSIFY_LIMIT = 800" in text
    assert "set it higher" in text
    with pytest.raises(ShapeError, match=r"svdkit\.subspaces"):
        svdkit.subspaces(A)
    with pytest.raises(ShapeError, match=r"subspaces_from_svd"):
        subspaces_from_svd(svdkit.svd(A))  # completing the thin one needs as much
    monkeypatch.setattr(svdkit.inputs, "DENSIFY_LIMIT", 810)  # raised: allowed
    r = svdkit.svd(A, full=True)
    assert np.linalg.norm(r.U.T @ r.U - np.eye(30)) <= 1e-13
    assert np.linalg.norm(r.U @ r.Sigma @ r.Vh - A) <= 1e-13 * np.linalg.norm(A)
    sub = svdkit.subspaces(A)
    assert sub.left_null.shape == (30, 27)
    assert np.linalg.norm(A.T @ sub.left_null) <= 1e-13 * np.linalg.norm(A)


@pytest.mark.parametrize("shape", [(100_000, 2), (2, 100_000)])
def test_the_huge_full_svd_is_still_refused_at_the_default_limit(shape):
    A = np.ones(shape)
    with pytest.raises(ShapeError, match=r"74\.5 GiB.*svdkit\.inputs\.DENSIFY_LIMIT"):
        svdkit.svd(A, full=True)


# ------------------------------------------------- 4. lengths of the given eigenvectors


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-310, 1.2e308, 2.0**-1000])
def test_is_diagonalizable_does_not_depend_on_the_lengths_of_the_vectors(scale, capfd):
    A = np.random.default_rng(0).standard_normal((5, 5))
    w, V = np.linalg.eig(A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert svdkit.is_diagonalizable(A, eig=(w, V * scale)) is True
        # per column, too
        lengths = np.array([1e300, 1e-300, 1.0, 1e-200, 1e150])
        assert svdkit.is_diagonalizable(A, eig=(w, V * lengths)) is True
    assert "DLASCL" not in capfd.readouterr().err


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_a_defective_matrix_stays_defective_with_scaled_vectors(scale):
    J = np.array([[2.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 2.0]])
    w, V = np.linalg.eig(J)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert svdkit.is_diagonalizable(J, eig=(w, V * scale)) is False


def test_vectors_of_another_matrix_are_refused_at_any_length():
    A = np.random.default_rng(1).standard_normal((4, 4))
    w, V = np.linalg.eig(A + 0.1 * np.eye(4))  # the same vectors, eigenvalues moved by 0.1
    for scale in (1.0, 1e300, 1e-300):
        with pytest.raises(SvdkitError, match="not eigenpairs"):
            svdkit.is_diagonalizable(A, eig=(w, V * scale))


# ------------------------------------------------- 5. the refusal message


def _quoted_ratio(text):
    return re.search(r"\(‖A‖_F ‖vᵢ‖\) = (\S+) for pair", text).group(1)


def test_the_refusal_quotes_a_finite_residual_past_the_float_range_and_names_scipy():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((3, 3))
    A = B * 1e-300
    # what scipy.linalg.eig returns at that scale: the eigenpairs of its rescaled matrix
    w, V = scipy.linalg.eig(B)
    with pytest.raises(SvdkitError) as err:
        svdkit.is_diagonalizable(A, eig=(w, V))
    text = str(err.value)
    assert "inf" not in _quoted_ratio(text) and "nan" not in text
    # the residual ‖A v − λ v‖ / ‖A‖_F = 1e300 · ‖A v − λ v‖ / ‖B‖_F, A v = 1e-300 · B v
    v = V / np.linalg.norm(V, axis=0)
    below = np.linalg.norm(1e-300 * (B @ v) - v * w, axis=0) / np.linalg.norm(B)  # ratio/1e300
    i = int(re.search(r"for pair (\d)", text).group(1))
    assert i == int(np.argmax(below))
    quoted = _quoted_ratio(text)
    mantissa, exponent = (float(x) for x in quoted.split("e"))
    assert exponent == 300 + np.floor(np.log10(below[i]))  # about 1e300, written out
    assert mantissa * 10.0 ** (exponent - 300) == pytest.approx(below[i], rel=1e-2)
    assert "scipy.linalg.eig loses accuracy" in text and "svdkit.eig(A)" in text
    assert "pass the eigendecomposition of this A" not in text


def test_scipy_pairs_at_a_huge_scale_are_refused_with_the_advice():
    B = np.array([[2.0, 1.0], [1.0, 3.0]])
    w, V = scipy.linalg.eig(B)
    A = B * 1e200
    # SciPy's own answer at that scale is the eigenvalues of B·1e200 rescaled below 1e138
    with pytest.raises(SvdkitError, match=r"scipy\.linalg\.eig loses accuracy.*svdkit\.eig"):
        svdkit.is_diagonalizable(A, eig=(w * 1e138, V))
    assert svdkit.is_diagonalizable(A, eig=svdkit.eig(A)) is True


def test_pairs_of_another_matrix_at_an_ordinary_scale_get_the_plain_advice():
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    with pytest.raises(SvdkitError) as err:
        svdkit.is_diagonalizable(A, eig=([1.0, 5.0], np.eye(2)))
    text = str(err.value)
    assert "pass the eigendecomposition of this A, or none" in text
    assert "scipy" not in text
    assert float(_quoted_ratio(text)) == pytest.approx(
        np.linalg.norm(A @ [0.0, 1.0] - 5.0 * np.array([0.0, 1.0])) / np.linalg.norm(A),
        rel=1e-2,
    )


# ------------------------------------------------- 6. NumPy's SVD in subspaces_from_svd


def _projector(Q):
    return Q @ Q.conj().T


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize(
    "A",
    [
        np.array([[1.0, 2.0], [2.0, 4.0]]),
        _low_rank(6, 4, 2),
        _low_rank(3, 7, 2) + 1j * _low_rank(3, 7, 2),
    ],
)
def test_subspaces_from_numpys_svd_equal_subspaces(A, full):
    res = np.linalg.svd(A, full_matrices=full)
    kept = [x.copy() for x in res]
    got = subspaces_from_svd(res)
    want = svdkit.subspaces(A)
    assert got.dimensions == want.dimensions
    for name in ("column", "null", "row", "left_null"):
        Q = getattr(got, name)
        assert np.linalg.norm(Q.conj().T @ Q - np.eye(Q.shape[1])) <= 1e-13
        assert np.linalg.norm(_projector(Q) - _projector(getattr(want, name))) <= 1e-12
    scale = np.linalg.norm(A)
    assert np.linalg.norm(A @ got.null) <= 1e-13 * scale
    assert np.linalg.norm(A.conj().T @ got.left_null) <= 1e-13 * scale
    # the caller's arrays stay as they were
    assert all(np.array_equal(x, y) for x, y in zip(res, kept, strict=True))
    U, _, Vh = got.decomposition
    assert np.linalg.norm(U @ got.decomposition.Sigma @ Vh - A) <= 1e-13 * scale


def test_a_plain_triple_is_accepted_and_tol_applies():
    A = np.diag([3.0, 1e-3, 0.0])
    U, s, Vh = np.linalg.svd(A)
    assert subspaces_from_svd((U, s, Vh)).rank == 2
    assert subspaces_from_svd((U, s, Vh), tol=1e-2).rank == 1


def test_numpys_float32_svd_has_float32s_rule():
    A = _low_rank(40, 30, 5).astype(np.float32)
    assert subspaces_from_svd(np.linalg.svd(A)).rank == 5 == svdkit.subspaces(A).rank


@pytest.mark.parametrize(
    "dec, error, pattern",
    [
        ("x", ShapeError, "must be an SVD"),
        (np.eye(3), ShapeError, "2-D, a 1-D and a 2-D"),
        ((np.eye(2), [1.0, 0.5]), ShapeError, "must be an SVD"),
        (np.linalg.svd(np.ones((2, 3, 3))), ShapeError, "not a stack"),
        ((np.eye(3), [1.0, 0.5], np.eye(4)[:3]), ShapeError, "not those of an SVD"),
        ((np.eye(2), [1.0, 0.5, 0.1], np.eye(2)), ShapeError, "not those of an SVD"),
        ((np.eye(2), ["a", "b"], np.eye(2)), ParseError, "not an array of numbers"),
        ((np.eye(2), [1.0, np.nan], np.eye(2)), NonFiniteError, "finite"),
        ((np.eye(2), [np.inf, 1.0], np.eye(2)), NonFiniteError, r"svdkit\.svd"),
        ((np.eye(2), [1.0, 2.0], np.eye(2)), SvdkitError, "descending"),
        ((np.eye(2), [1.0, -2.0], np.eye(2)), SvdkitError, "non-negative"),
        ((np.eye(2), [1.0 + 1j, 0.5], np.eye(2)), SvdkitError, "complex"),
        ((np.zeros((0, 0)), np.zeros(0), np.zeros((0, 2))), EmptyInputError, "empty"),
    ],
)
def test_what_is_not_an_svd_is_refused_clearly(dec, error, pattern):
    with pytest.raises(error, match=pattern):
        subspaces_from_svd(dec)


@pytest.mark.parametrize("scale", [1e-310, 1e-300, 1e300, 1.2e308])
def test_eig_reconstruct_does_not_depend_on_the_lengths_of_the_vectors(scale):
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    e = svdkit.eig(a)
    r = svdkit.Eig(e.values, e.vectors * scale, matrix=a).reconstruct()
    assert np.abs(r - a).max() <= 1e-13 * np.abs(a).max()
